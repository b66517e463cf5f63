// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReproMatrixUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"repro", "--matrix", "--table"}, "--matrix does not combine with --table"},
		{[]string{"repro", "--matrix", "--variant", "buggy"}, "--matrix takes no -variant"},
		{[]string{"repro", "--matrix", "--kernel", "v6.1,v9"}, `--kernel "v9": not a release`},
		{[]string{"repro", "--matrix", "node-reuse-no-gp"}, "not a bug fixed upstream"},
		{[]string{"repro", "--matrix", "--duration", "0s"}, "--duration 0s: must be positive"},
		{[]string{"repro", "--list", "--matrix"}, "--list takes no scenario"},
		{[]string{"repro", "b2-load-sibling", "--keep-going", "--table"}, "--keep-going does not combine with --table"},
		{[]string{"repro", "b2-load-sibling", "--keep-going", "--seeds", "0"}, "--seeds 0: must be at least 1"},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: exit %d, want 2 with %q; stderr:\n%s", c.args, code, c.want, errOut.String())
		}
	}
}

// The matrix of one bug over the release before its fix and the release
// with it: caught, then clean, and every cell agrees.
func TestReproMatrixOneBug(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"repro", "--matrix", "b2-load-sibling", "--kernel", "v6.6,v6.1", "--duration", "300ms"}, &out, &errOut)
	s := out.String()
	if code != 0 || !strings.Contains(s, "every cell agrees") {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, s, errOut.String())
	}
	v61, v66 := lineStarting(s, "v6.1 "), lineStarting(s, "v6.6 ")
	if !strings.Contains(v61, "caught") || !strings.Contains(v66, "clean") || strings.Index(s, "v6.1 ") > strings.Index(s, "v6.6 ") {
		t.Fatalf("want v6.1 caught, then v6.6 clean:\n%s", s)
	}
}

// --keep-going runs the whole duration and prints the violations by class.
func TestReproKeepGoing(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"repro", "b2-load-sibling", "--variant", "buggy", "--keep-going", "--duration", "300ms", "--seeds", "2"}, &out, &errOut)
	s := out.String()
	if code != 1 || !strings.Contains(s, "seeds 1..2") || !strings.Contains(s, "xa_load returned an internal entry") {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, s, errOut.String())
	}
	if line := lineStarting(s, "xa_load returned an internal entry"); !strings.Contains(line, "2/2") {
		t.Fatalf("the class line %q does not count both seeds:\n%s", line, s)
	}
}

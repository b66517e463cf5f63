// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/kernel"
)

// A scenario run as a release with its bug exits 1, and the replay line
// names the release so that it replays the same run.
func TestReproKernel(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var out, errOut bytes.Buffer
	code := run([]string{"repro", "--kernel", "v6.1", "b2-load-sibling", "--duration", "20s"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "VIOLATION in b2-load-sibling fixed as v6.1") ||
		!strings.Contains(out.String(), "replay: xabench repro b2-load-sibling --variant fixed --kernel v6.1 --seed 1") {
		t.Fatalf("--kernel v6.1: exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = run([]string{"repro", "b2-load-sibling", "--kernel", "mainline", "--duration", "200ms"}, &out, &errOut)
	if code != 0 || !strings.HasPrefix(out.String(), "clean: b2-load-sibling fixed as mainline ran") {
		t.Fatalf("--kernel mainline: exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}
}

func TestReproKernelUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"repro", "--kernel", "v9.9", "b2-load-sibling"}, "v6.1, v6.6, v6.10, v6.14, v6.15, mainline"},
		{[]string{"repro", "--kernel", "", "b2-load-sibling"}, "not a release"},
		{[]string{"repro", "--kernel", "v6.1", "--variant", "buggy", "b2-load-sibling"}, "--variant buggy"},
		{[]string{"repro", "--kernel", "v6.1", "--table"}, "--kernel does not combine with --table"},
		{[]string{"repro", "--kernels", "b2-load-sibling"}, "--kernels takes no scenario"},
		{[]string{"repro", "--list", "--kernel", "v6.1"}, "--list takes no scenario"},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: exit %d, want 2 with %q; stderr:\n%s", c.args, code, c.want, errOut.String())
		}
	}
}

func TestReproKernels(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"repro", "--kernels"}, &out, &errOut); code != 0 {
		t.Fatalf("repro --kernels: exit %d: %s", code, errOut.String())
	}
	if out.String() != kernel.Markdown() {
		t.Errorf("repro --kernels printed:\n%s\nwant kernel.Markdown()", out.String())
	}
}

// xabench stress --kernel runs every scenario as that release; an unknown
// release is a usage error.
func TestStressKernelUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"stress", "--kernel", "v9.9"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "not a release") {
		t.Fatalf("exit %d, want 2 naming the releases; stderr:\n%s", code, errOut.String())
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/xabench/xabench/internal/watchdog"
)

// scheduleLine finds the schedule string in a search's output.
var scheduleLine = regexp.MustCompile(`(?m)^schedule: (xs1:\S+)$`)

// timings are the parts of the output that change from run to run.
var timings = regexp.MustCompile(`in [0-9.]+(µs|ms|s)|xarray \d+:|node \d+|parent \d+`)

// A search prints the violation, the run that found it, the interleaving
// and a schedule string; replaying the string prints the same violation
// and the same interleaving every time, and exits 1 like the search.
func TestReproExploreAndReplay(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	rc, out, errOut := runArgs("repro", "b2-load-sibling", "--explore", "pct:2", "--seed", "1")
	if rc != 1 {
		t.Fatalf("search: exit %d; want 1\n%s%s", rc, out, errOut)
	}
	for _, want := range []string{
		"VIOLATION in b2-load-sibling buggy at run ",
		"xa_load returned an internal entry",
		"T1 writer", "T2 reader", "xas_descend: read the slot a sibling names",
		"» violation:",
		"replay:   xabench repro b2-load-sibling --schedule xs1:b2-load-sibling,buggy,small:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("search output lacks %q:\n%s", want, out)
		}
	}
	m := scheduleLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no schedule line:\n%s", out)
	}
	var first string
	for i := range 3 {
		rc, got, errOut := runArgs("repro", "b2-load-sibling", "--schedule", m[1])
		if rc != 1 || !strings.Contains(got, "exactly as recorded") || !strings.Contains(got, "VIOLATION: xa_load returned an internal entry") {
			t.Fatalf("replay %d: exit %d\n%s%s", i+1, rc, got, errOut)
		}
		got = timings.ReplaceAllString(got, "")
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("replay %d printed something else:\n%s\nthen:\n%s", i+1, first, got)
		}
	}
	// The interleaving the search printed is the one replayed.
	trace := out[strings.Index(out, "interleaving:"):strings.Index(out, "\nschedule: ")]
	if !strings.Contains(first, timings.ReplaceAllString(trace, "")) {
		t.Errorf("the replay's interleaving is not the search's:\n%s\nreplay:\n%s", trace, first)
	}
}

func TestReproExploreFixedIsClean(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, args := range [][]string{
		{"repro", "b2-load-sibling", "--variant", "fixed", "--explore", "random", "--runs", "200"},
		{"repro", "find-marked-sibling", "--kernel", "v6.14", "--explore", "pct:3", "--runs", "200"},
	} {
		rc, out, errOut := runArgs(args...)
		if rc != 0 || !strings.Contains(out, "clean: ") || !strings.Contains(out, ": 200 runs, ") {
			t.Errorf("%v: exit %d\n%s%s", args, rc, out, errOut)
		}
	}
}

func TestReproExploreErrors(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"repro", "b2-load-sibling", "--explore", "dfs:2"}, "want random, pct:D or pct:D:K"},
		{[]string{"repro", "b2-load-sibling", "--explore", "random", "--table"}, "--table does not combine"},
		{[]string{"repro", "b2-load-sibling", "--explore", "random", "--duration", "1s"}, "--duration does not combine"},
		{[]string{"repro", "b2-load-sibling", "--explore", "random", "--runs", "0"}, "--runs 0"},
		{[]string{"repro", "b2-load-sibling", "--explore", "random", "--kernel", "v6.1", "--variant", "buggy"}, "use one"},
		{[]string{"repro", "--explore", "random"}, "needs a scenario"},
		{[]string{"repro", "b3-folio-split", "--explore", "random"}, "no small configuration"},
		{[]string{"repro", "b2-load-sibling", "--runs", "5"}, "--runs needs --explore"},
		{[]string{"repro", "--schedule", "xs1:b2-load-sibling,buggy,small:00000000:ab", "--seed", "2"}, "the schedule says what to run"},
		{[]string{"repro", "--schedule", "xs1:b2-load-sibling,buggy,small:00000000:ab", "--explore", "random"}, "use one"},
		{[]string{"repro", "find-marked-sibling", "--schedule", "xs1:b2-load-sibling,buggy,small:00000000:ab"}, "not of find-marked-sibling"},
		{[]string{"repro", "--schedule", "garbage"}, "want xs1:LABEL:HASH:CHOICES"},
		// A schedule that the run leaves: a divergence naming the step.
		{[]string{"repro", "--schedule", "xs1:b2-load-sibling,buggy,small:00000000:ab"}, "replay diverged at step 2"},
	} {
		var out, errOut bytes.Buffer
		rc := run(tc.args, &out, &errOut)
		if rc != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d; want 2 and %q in:\n%s", tc.args, rc, tc.want, errOut.String())
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xabench/xabench/internal/sched"
	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/kernel"
)

// explorable returns the scenarios with a small configuration.
func explorable(t *testing.T) []*Scenario {
	var out []*Scenario
	for _, s := range Scenarios() {
		if _, _, ok := s.SmallConfig(); ok {
			out = append(out, s)
		}
	}
	for _, want := range []string{"b2-load-sibling", "find-marked-sibling"} {
		if !slices.ContainsFunc(out, func(s *Scenario) bool { return s.Name == want }) {
			t.Fatalf("%s has no small configuration", want)
		}
	}
	return out
}

func spec(t *testing.T, text string) sched.Spec {
	t.Helper()
	sp, err := sched.ParseSpec(text)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func explore(t *testing.T, s *Scenario, opt ExploreOptions) ExploreResult {
	t.Helper()
	res, err := s.Explore(opt)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return res
}

// A search of a buggy small configuration finds its bug within a bounded
// number of runs, and being seeded, finds it at the same run with the
// same schedule every time.
func TestExploreFindsTheBugDeterministically(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, s := range explorable(t) {
		for _, strategy := range []string{"random", "pct:2", "pct:3"} {
			opt := ExploreOptions{Variant: Buggy, Strategy: spec(t, strategy), Runs: 300, Seed: 1}
			a := explore(t, s, opt)
			if a.Clean() {
				t.Errorf("%s %s: %d runs found nothing", s.Name, strategy, a.Search.Runs)
				continue
			}
			b := explore(t, s, opt)
			if b.Clean() || b.Search.Runs != a.Search.Runs || b.Schedule != a.Schedule {
				t.Errorf("%s %s seed 1: found at run %d (%s), then at run %d (%s)",
					s.Name, strategy, a.Search.Runs, a.Schedule, b.Search.Runs, b.Schedule)
			}
			t.Logf("%s %s: run %d of %d steps, %v: %s", s.Name, strategy, a.Search.Runs,
				a.Search.First.Exec.Steps(), a.Search.Elapsed, a.Violation.Kind)
		}
	}
}

// Replaying a violating schedule gives the same violation, through the
// same points, 100 times out of 100.
func TestExploreReplayIsExact(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, s := range explorable(t) {
		found := explore(t, s, ExploreOptions{Variant: Buggy, Strategy: spec(t, "pct:2"), Runs: 300, Seed: 2})
		if found.Clean() {
			t.Fatalf("%s: nothing found to replay", s.Name)
		}
		want := found.Search.First.Exec
		for i := range 100 {
			got, err := ReplaySchedule(found.Schedule)
			if err != nil {
				t.Fatalf("%s: replay %d of %s: %v", s.Name, i+1, found.Schedule, err)
			}
			if got.Violation == nil || got.Violation.Kind != found.Violation.Kind || got.Violation.Step != found.Violation.Step {
				t.Fatalf("%s: replay %d gave %+v; the search found %q at step %d",
					s.Name, i+1, got.Violation, found.Violation.Kind, found.Violation.Step)
			}
			if !slices.Equal(got.Exec.Trace, want.Trace) || !slices.Equal(got.Exec.Choices, want.Choices) {
				t.Fatalf("%s: replay %d passed other points than the search's run", s.Name, i+1)
			}
		}
	}
}

// The fixed form's small configuration survives many runs of every
// strategy; run as a release, the configuration has the bug exactly in the
// releases before the fix.
func TestExploreFixedIsClean(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	runs := 300
	if testing.Short() {
		runs = 100
	}
	for _, s := range explorable(t) {
		for _, strategy := range []string{"random", "pct:2", "pct:3"} {
			res := explore(t, s, ExploreOptions{Variant: Fixed, Strategy: spec(t, strategy), Runs: runs, Seed: 1})
			if !res.Clean() || res.Search.Runs != runs {
				t.Errorf("%s fixed, %s: %v after %d runs\n%s", s.Name, strategy, res.Violation, res.Search.Runs, res.Schedule)
			}
		}
		for _, rel := range []struct {
			name  string
			buggy bool
		}{{s.LastBuggy, true}, {s.FirstFixed, false}} {
			p, err := kernel.Lookup(rel.name)
			if err != nil {
				t.Fatal(err)
			}
			res := explore(t, s, ExploreOptions{Variant: Fixed, Kernel: &p, Strategy: spec(t, "pct:2"), Runs: runs, Seed: 1})
			if res.Clean() == rel.buggy {
				t.Errorf("%s as %s (buggy: %v): %v after %d runs", s.Name, rel.name, rel.buggy, res.Violation, res.Search.Runs)
			}
			if !res.Clean() && !strings.Contains(res.Schedule, ",kernel="+rel.name+":") {
				t.Errorf("%s as %s: the schedule %s does not name the release", s.Name, rel.name, res.Schedule)
			}
		}
	}
}

// PCT finds b2 at depth 2 in at least 1/(n·k) of its runs (Burckhardt et
// al.'s bound for n goroutines and runs of k steps).
func TestExplorePCTHitRateMeetsItsBound(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		t.Fatal(err)
	}
	res := explore(t, s, ExploreOptions{Variant: Buggy, Strategy: spec(t, "pct:2"), Runs: 1000, Seed: 1, All: true})
	rate := float64(res.Search.Violations) / float64(res.Search.Runs)
	bound := sched.Bound(2, res.Search.K, 2)
	t.Logf("b2-load-sibling pct:2: %d of %d runs (%.3f), k=%d, bound 1/(2k) = %.4f, %v",
		res.Search.Violations, res.Search.Runs, rate, res.Search.K, bound, res.Search.Elapsed)
	if rate < bound {
		t.Fatalf("hit rate %.4f below PCT's bound %.4f", rate, bound)
	}
}

// The trace of a violating run names each step by its kernel code and
// shows where the violation was found.
func TestExploreTraceNamesKernelCode(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		t.Fatal(err)
	}
	res := explore(t, s, ExploreOptions{Variant: Buggy, Strategy: spec(t, "pct:2"), Runs: 300, Seed: 1})
	if res.Clean() {
		t.Fatal("nothing found")
	}
	var b strings.Builder
	res.Search.First.Exec.WriteTrace(&b)
	for _, want := range []string{"T1 writer", "T2 reader", "xa_load(191)", "xas_descend: read the slot a sibling names",
		"xa_store_range(188, 191)", "xa_lock", "xas_store: write a slot", "» violation: xa_load returned an internal entry"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the trace lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReplayScheduleRefusesWhatItCannotRun(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		t.Fatal(err)
	}
	res := explore(t, s, ExploreOptions{Variant: Buggy, Strategy: spec(t, "random"), Runs: 300, Seed: 1})
	if res.Clean() {
		t.Fatal("nothing found")
	}
	sc, err := sched.ParseSchedule(res.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	cut := sc
	cut.Choices = sc.Choices[:len(sc.Choices)/2]
	_, err = ReplaySchedule(cut.String())
	var d *sched.Divergence
	if !errors.As(err, &d) || d.Step != len(cut.Choices) {
		t.Errorf("a schedule cut in half: %v; want a divergence at step %d", err, len(cut.Choices))
	}
	for _, tc := range []struct {
		label []string
		want  string
	}{
		{[]string{"no-such-scenario", "buggy", "small"}, "no scenario"},
		{[]string{"b2-load-sibling", "buggy", "large"}, "configuration \"large\""},
		{[]string{"b2-load-sibling", "fixed", "small", "kernel=v0.1"}, "v0.1"},
		{[]string{"b2-load-sibling", "buggy", "small", "kernel=v6.1"}, "not with the buggy variant"},
		{[]string{"b3-folio-split", "buggy", "small"}, "no small configuration"},
		{[]string{"b2-load-sibling", "buggy"}, "want SCENARIO,VARIANT,CONFIG"},
	} {
		bad := sc
		bad.Label = tc.label
		if _, err := ReplaySchedule(bad.String()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("label %v: %v; want an error about %q", tc.label, err, tc.want)
		}
	}
}

// BenchmarkReplaySchedule is what replaying b2's small configuration
// costs: building the array, 24 steps of two goroutines handing control
// to each other, the checks and the teardown.
func BenchmarkReplaySchedule(b *testing.B) {
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		b.Fatal(err)
	}
	res, err := s.Explore(ExploreOptions{Variant: Buggy, Strategy: sched.Spec{Kind: "pct", Depth: 2}, Runs: 300, Seed: 1})
	if err != nil || res.Clean() {
		b.Fatalf("nothing to replay: %v", err)
	}
	b.ResetTimer()
	for range b.N {
		if r, err := ReplaySchedule(res.Schedule); err != nil || r.Violation == nil {
			b.Fatalf("replay: %v, %v", err, r.Violation)
		}
	}
}

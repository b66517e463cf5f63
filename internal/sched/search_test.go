// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xabench/xabench/internal/watchdog"
)

// lostUpdate is the smallest race: two goroutines each read a counter,
// reach a schedule point, and write back what they read plus one. Its
// bug has depth 2 (one goroutine's read before the other's write, and
// that write before the first goroutine's own); each goroutine passes
// extra points before it, so runs have some length.
func lostUpdate(prefix int) Program {
	return func() ([]Thread, func(*Execution) error) {
		x := 0
		body := func() {
			for i := range prefix {
				Yield(fmt.Sprint("before", i))
			}
			v := x
			Yield("between read and write")
			x = v + 1
		}
		return []Thread{{Name: "a", Body: body}, {Name: "b", Body: body}}, func(e *Execution) error {
			if e.Err != nil {
				return e.Err
			}
			if x != 2 {
				return fmt.Errorf("lost update: x = %d", x)
			}
			return nil
		}
	}
}

func TestSearchFindsALostUpdateDeterministically(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, text := range []string{"random", "pct:2", "pct:2:12"} {
		spec, err := ParseSpec(text)
		if err != nil {
			t.Fatal(err)
		}
		a := Search(spec, SearchOptions{Runs: 200, Seed: 1}, lostUpdate(4))
		b := Search(spec, SearchOptions{Runs: 200, Seed: 1}, lostUpdate(4))
		if a.First == nil {
			t.Fatalf("%s: 200 runs did not find the lost update", text)
		}
		if b.First == nil || a.First.Run != b.First.Run || a.First.Exec.Hash != b.First.Exec.Hash {
			t.Fatalf("%s: the same seed found it at run %d, then %v", text, a.First.Run, b.First)
		}
		// The finding replays.
		threads, check := lostUpdate(4)()
		e, err := Replay(a.First.Exec.Schedule("lost-update"), threads, Options{})
		if err != nil || check(e) == nil {
			t.Fatalf("%s: replaying the finding: %v, check %v", text, err, check(e))
		}
	}
}

func TestPCTHitRateIsAtLeastItsBound(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	const runs = 2000
	res := Search(Spec{Kind: "pct", Depth: 2}, SearchOptions{Runs: runs, Seed: 5, All: true}, lostUpdate(6))
	rate := float64(res.Violations) / float64(res.Runs)
	bound := Bound(2, res.K, 2)
	t.Logf("pct:2 on a lost update: %d/%d runs (%.3f), k=%d, bound 1/(n·k) = %.3f", res.Violations, res.Runs, rate, res.K, bound)
	if rate < bound {
		t.Fatalf("hit rate %.4f below PCT's bound %.4f", rate, bound)
	}
}

func TestSpecs(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Spec
	}{
		{"random", Spec{Kind: "random"}},
		{"pct:3", Spec{Kind: "pct", Depth: 3}},
		{"pct:2:40", Spec{Kind: "pct", Depth: 2, K: 40}},
	} {
		got, err := ParseSpec(tc.text)
		if err != nil || got != tc.want || got.String() != tc.text {
			t.Errorf("ParseSpec(%q) = %+v, %v (String %q)", tc.text, got, err, got.String())
		}
	}
	for _, bad := range []string{"", "dfs:2", "pct", "pct:0", "pct:x", "pct:2:0", "random:1"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q): no error", bad)
		}
	}
	if got := Bound(2, 10, 3); got != 1.0/200 {
		t.Errorf("Bound(2, 10, 3) = %v; want 1/200", got)
	}
}

func TestScheduleStrings(t *testing.T) {
	s := Schedule{Label: []string{"b2-load-sibling", "buggy", "kernel=v6.1"}, Hash: 0xdeadbeef,
		Choices: []int{0, 1, 1, 1, 0, 30, 30, 1}}
	text := s.String()
	if want := "xs1:b2-load-sibling,buggy,kernel=v6.1:deadbeef:ab3aE2b"; text != want {
		t.Fatalf("String() = %q; want %q", text, want)
	}
	back, err := ParseSchedule(" " + text + "\n")
	if err != nil || back.String() != text {
		t.Fatalf("ParseSchedule(String()) = %v, %v", back, err)
	}
	for _, bad := range []string{
		"", "xs1:a:deadbeef", "xs2:a:deadbeef:ab", "xs1:a:dead:ab", "xs1:a:deadbeef:a1",
		"xs1:a:deadbeef:7b", "xs1:a,,b:deadbeef:ab", "xs1:a b:deadbeef:ab",
	} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q): no error", bad)
		}
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "label field") {
			t.Errorf("a label with a colon: panic %v", p)
		}
	}()
	_ = Schedule{Label: []string{"a:b"}}.String()
}

func TestSearchReportsDeadlockToTheChecker(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	res := Search(Spec{Kind: "random"}, SearchOptions{Runs: 50, Seed: 1}, func() ([]Thread, func(*Execution) error) {
		var l spinLock
		return []Thread{{Body: func() { l.lock() }}, {Body: func() { l.lock() }}},
			func(e *Execution) error { return e.Err }
	})
	if res.First == nil || !errors.Is(res.First.Err, ErrDeadlock) || res.First.Run != 1 {
		t.Fatalf("two goroutines taking a lock that neither releases: %+v", res.First)
	}
}

func TestSearchStopsWhenItsContextIsDone(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	res := Search(Spec{Kind: "random"}, SearchOptions{Runs: 1000, Seed: 1, Context: ctx}, func() ([]Thread, func(*Execution) error) {
		if runs++; runs == 5 {
			cancel()
		}
		return []Thread{{Body: func() { Yield("p") }}}, func(*Execution) error { return nil }
	})
	if !res.Interrupted || res.Runs != 5 {
		t.Fatalf("cancelled during run 5: %d runs, interrupted %v", res.Runs, res.Interrupted)
	}
}

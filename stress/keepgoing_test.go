// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

// With KeepGoing a run does not stop at its first violation: it runs for
// its whole Duration and counts every report by class.
func TestKeepGoingCountsByClass(t *testing.T) {
	const d = 400 * time.Millisecond
	watchdog.Start(t, d+watchdog.Default)
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(Buggy, Config{Duration: d, Seed: 1, Inject: true, KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Clean() {
		t.Fatalf("b2's buggy form ran %v clean", res.Elapsed)
	}
	if res.Elapsed < d {
		t.Fatalf("the run stopped after %v, before its %v, although it was to keep going", res.Elapsed, d)
	}
	c, ok := res.ByClass["xa_load returned an internal entry"]
	if !ok || c.N < 2 {
		t.Fatalf("ByClass = %v; want the sibling loads counted, more than once", res.ByClass)
	}
	if c.First != res.First.After {
		t.Errorf("the class's first report at %v, the run's first violation at %v", c.First, res.First.After)
	}
	var sum int64
	for _, c := range res.ByClass {
		sum += c.N
	}
	if sum != res.Violations {
		t.Errorf("ByClass counts %d reports, Violations %d", sum, res.Violations)
	}
}

// Without KeepGoing the first violation ends the run and nothing is
// counted by class.
func TestFirstViolationStops(t *testing.T) {
	watchdog.Start(t, 10*time.Second+watchdog.Default)
	s, _ := Lookup("b2-load-sibling")
	res, err := s.Run(Buggy, Config{Duration: 10 * time.Second, Seed: 1, Inject: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Clean() || res.ByClass != nil || res.Elapsed > 5*time.Second {
		t.Fatalf("clean %v, ByClass %v, elapsed %v: want a violation that ends the run at once, uncounted",
			res.Clean(), res.ByClass, res.Elapsed)
	}
}

func TestViolationClass(t *testing.T) {
	for kind, want := range map[string]string{
		"page cache lookup found a movable_ops page (a stale page-cache entry, as in the 6.1 XFS report)": "movable_ops page found",
		"page cache lookup found a folio of another mapping":                                              "folio of another mapping",
		"VM_BUG_ON_FOLIO(!folio_contains(folio, index))":                                                  "!folio_contains",
		"invariant broken: node 3: count 5 but 4 slots":                                                   "validator",
		"bad_page: page still mapped":                                                                     "bad_page",
		"kernel BUG: xas_split: no preallocated node":                                                     "kernel BUG",
		"page cache holds a stale shadow entry (met by refault)":                                          "stale or lost shadow",
		"xa_load returned an internal entry: sibling (slot 60)":                                           "xa_load returned an internal entry",
	} {
		if got := ViolationClass(kind); got != want {
			t.Errorf("ViolationClass(%q) = %q, want %q", kind, got, want)
		}
	}
}

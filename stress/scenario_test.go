// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"testing"
	"time"
)

// buggySeeds is how many seeds each buggy variant runs with (one with
// -short); every one of them must catch the bug. The detection table
// (results/stress-detection.md) has 20 of 20 seeds caught for each, the
// slowest p90 under a second.
const buggySeeds = 3

// buggyBudget is how long a buggy variant may run before it is counted
// as missed: 60 s, or -stress.duration if that is longer. A caught run
// ends at the catch, so the budget costs time only on a miss. Under
// -race on a busy 2-CPU machine marks-after-null has taken 15.5 s to
// catch, and once ran 20 s without catching (beside a -race soak).
func buggyBudget() time.Duration { return max(60*time.Second, *runFor) }

// Every buggy variant is caught, with every seed tried, and every fixed
// variant runs clean: the harness is shown able to fail before its passes
// mean anything.
func TestScenarios(t *testing.T) {
	seeds := uint64(buggySeeds)
	if testing.Short() {
		seeds = 1
	}
	for _, s := range Scenarios() {
		t.Run(s.Name+"/buggy", func(t *testing.T) {
			budget := buggyBudget()
			for seed := uint64(1); seed <= seeds; seed++ {
				res, err := runWatched(t, s, Buggy, Config{Duration: budget, Seed: seed, Inject: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Clean() {
					t.Errorf("seed %d: buggy variant ran %v (%d ops) without a violation", seed, res.Elapsed.Round(time.Millisecond), res.Ops)
					continue
				}
				t.Logf("seed %d: caught after %v (%d ops): %s", seed, res.First.After.Round(time.Millisecond), res.Ops, res.First.Kind)
			}
		})
		t.Run(s.Name+"/fixed", func(t *testing.T) {
			res, err := runWatched(t, s, Fixed, Config{Duration: fixedDuration(), Seed: 1, Inject: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Clean() {
				t.Fatalf("fixed variant: %v", res.First)
			}
			if res.Ops == 0 {
				t.Fatal("fixed variant did no work")
			}
			t.Logf("clean for %v, %d ops", res.Elapsed.Round(time.Millisecond), res.Ops)
		})
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"testing"
	"time"
)

// Every buggy variant is caught, and every fixed variant runs clean: the
// harness is shown able to fail before its passes mean anything.
func TestScenarios(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name+"/buggy", func(t *testing.T) {
			for seed := uint64(1); ; seed++ {
				res, err := s.Run(Buggy, Config{Duration: 10 * time.Second, Seed: seed, Inject: true})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Clean() {
					t.Logf("seed %d: caught after %v (%d ops): %s", seed, res.First.After.Round(time.Millisecond), res.Ops, res.First.Kind)
					return
				}
				t.Errorf("seed %d: buggy variant ran %v (%d ops) without a violation", seed, res.Elapsed.Round(time.Millisecond), res.Ops)
				return
			}
		})
		t.Run(s.Name+"/fixed", func(t *testing.T) {
			res, err := s.Run(Fixed, Config{Duration: fixedDuration(), Seed: 1, Inject: true})
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

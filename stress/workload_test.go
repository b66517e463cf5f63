// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"testing"
	"time"

	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// Every plain workload runs clean, and has no buggy variant to run.
func TestWorkloads(t *testing.T) {
	for _, s := range Workloads() {
		t.Run(s.Name, func(t *testing.T) {
			if _, err := runWatched(t, s, Buggy, Config{Duration: time.Second}); err == nil {
				t.Error("a workload ran its buggy variant")
			}
			res, err := runWatched(t, s, Fixed, Config{Duration: fixedDuration(), Seed: 1, Inject: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Clean() {
				t.Fatalf("workload: %v", res.First)
			}
			if res.Ops == 0 {
				t.Fatal("workload did no work")
			}
			t.Logf("clean for %v, %d ops", res.Elapsed.Round(time.Millisecond), res.Ops)
		})
	}
}

// A workload's clean run means something only if the workload catches a
// bug it was not written for: each is run with the bugs of the scenarios
// and must report them.
func TestWorkloadsCatchKnownBugs(t *testing.T) {
	for _, c := range []struct {
		workload string
		bug      string
		xa       xarray.Variant
		fm       filemap.Variant
	}{
		{"xarray-mix", "b2-load-sibling", xarray.VariantSingleSiblingHop, 0},
		{"pagecache-mix", "b3-folio-split", 0, filemap.VariantSplitCurrentFolio},
		{"pagecache-mix", "split-no-freeze", 0, filemap.VariantSplitNoFreeze},
	} {
		t.Run(c.workload+"/"+c.bug, func(t *testing.T) {
			s, err := Lookup(c.workload)
			if err != nil {
				t.Fatal(err)
			}
			// Quiet, under -race, pagecache-mix catches b3's bug in a
			// median of 0.35 s and at worst 2.1 s of 12 runs; in CI,
			// beside the other packages' tests on two CPUs, it once took
			// over 10 s. The run ends at the catch, so a long limit costs
			// nothing when the bug is found.
			res, err := runWatched(t, s, Fixed, Config{Duration: 40 * time.Second, Seed: 1, Inject: true,
				XArrayVariant: c.xa, FilemapVariant: c.fm})
			if err != nil {
				t.Fatal(err)
			}
			if res.Clean() {
				t.Fatalf("%s with the bug of %s ran %v (%d ops) without a violation",
					c.workload, c.bug, res.Elapsed.Round(time.Millisecond), res.Ops)
			}
			t.Logf("caught after %v (%d ops): %s", res.First.After.Round(time.Millisecond), res.Ops, res.First.Kind)
		})
	}
}

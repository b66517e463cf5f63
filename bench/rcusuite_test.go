// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

// A cancelled context stops the rcu suite before its next measurement;
// it keeps the runs that finished whole.
func TestRunRCUCancelled(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	res := RunRCU(RCUOptions{Context: ctx, Benchtime: 10 * time.Millisecond, Count: 1000})
	if !res.Interrupted || res.Runs != 0 || res.Count != 1000 || len(res.CallsPerSec) != 0 {
		t.Errorf("cancelled before it started: interrupted %v, %d runs of %d, %d Call runs",
			res.Interrupted, res.Runs, res.Count, len(res.CallsPerSec))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancelled before it started, it ran %v", took)
	}

	// Cancelled in the middle of the second run.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	res = RunRCU(RCUOptions{Context: ctx, Benchtime: time.Millisecond, Count: 1000,
		Progress: func(run int, name string) {
			if run == 2 && name == "Synchronize latency" && cancelledAt.IsZero() {
				cancelledAt = time.Now()
				cancel()
			}
		}})
	if took := time.Since(cancelledAt); took > 5*time.Second {
		t.Errorf("RunRCU returned %v after its context was cancelled", took)
	}
	if !res.Interrupted || res.Runs != 1 {
		t.Fatalf("cancelled in run 2: interrupted %v, %d runs", res.Interrupted, res.Runs)
	}
	for _, s := range res.ReadSides {
		if len(s.Serial) != 1 || len(s.Parallel) != 1 {
			t.Errorf("%s: %d serial and %d parallel runs, want those of the one whole run", s.Name, len(s.Serial), len(s.Parallel))
		}
	}
	for _, s := range res.Synchronize {
		if len(s.PerRun) != 1 || s.N == 0 || s.N != s.PerRun[0].N {
			t.Errorf("Synchronize with %d readers: %d calls, runs %+v", s.Readers, s.N, s.PerRun)
		}
	}
	if len(res.CallsPerSec) != 1 {
		t.Errorf("%d Call runs, want 1", len(res.CallsPerSec))
	}
	for _, r := range res.Readers {
		if len(r.Alone) != 1 || len(r.WithSync) != 1 || len(r.GracePeriods) != 1 {
			t.Errorf("%d readers: %d, %d, %d runs, want 1", r.Readers, len(r.Alone), len(r.WithSync), len(r.GracePeriods))
		}
	}

	// Not cancelled: every run, none interrupted.
	res = RunRCU(RCUOptions{Context: context.Background(), Benchtime: time.Millisecond, Count: 2})
	if res.Interrupted || res.Runs != 2 || len(res.Synchronize[0].PerRun) != 2 || len(res.CallsPerSec) != 2 {
		t.Errorf("a whole suite: interrupted %v, %d runs, %d latency runs", res.Interrupted, res.Runs, len(res.Synchronize[0].PerRun))
	}
}

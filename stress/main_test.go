// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"flag"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xabench/xabench/internal/watchdog"
)

// runFor is how long each fixed variant runs clean, and the budget for
// detecting each buggy one: go test ./stress -args -stress.duration=10m
var runFor = flag.Duration("stress.duration", 0, "run each fixed variant this long (default 2 s)")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runWatched is s.Run under a watchdog, so that a run that hangs fails
// the test with every goroutine's stack. The bound is the run's Duration,
// plus the rcuDrainTimeout that Run may wait past its end for the run's
// callbacks before it reports a stalled grace period (a finding, not a
// hang: the watchdog must not cut it short), plus watchdog.Default.
func runWatched(t testing.TB, s *Scenario, variant string, cfg Config) (Result, error) {
	t.Helper()
	d := cfg.Duration
	if d <= 0 {
		d = 5 * time.Second // Run's default
	}
	stop := watchdog.Start(t, d+rcuDrainTimeout+watchdog.Default)
	defer stop()
	return s.Run(variant, cfg)
}

func fixedDuration() time.Duration {
	if *runFor > 0 {
		return *runFor
	}
	if testing.Short() {
		return 500 * time.Millisecond
	}
	return 2 * time.Second
}

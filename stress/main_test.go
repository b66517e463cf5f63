// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"flag"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// runFor is how long each fixed variant runs clean, and the budget for
// detecting each buggy one: go test ./stress -args -stress.duration=10m
var runFor = flag.Duration("stress.duration", 0, "run each fixed variant this long (default 2 s)")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/xarray"
)

// A lookup stuck on a folio that stays frozen gives up with Null once it
// has retried for longer than the timeout and at least livelockRetries
// times, and reports the index and the entry it is stuck on, once.
func TestLivelockDetectorReportsFrozenSlot(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	e := newEnv(t, 1<<12)
	var calls, retries int
	var index uint64
	var entry xarray.Entry
	const timeout = 20 * time.Millisecond
	as := e.file(64, WithLivelockTimeout(timeout, func(i uint64, en xarray.Entry, n int) {
		calls++
		index, entry, retries = i, en, n
	}))
	f := add(t, as, 0, 5)
	if !f.RefFreeze(1) {
		t.Fatalf("cannot freeze the folio: count %d", f.RefCount())
	}
	start := time.Now()
	got := as.GetEntry(5)
	took := time.Since(start)
	f.RefUnfreeze(1)
	if got != xarray.Null {
		t.Fatalf("GetEntry on a frozen folio = %v, want Null after giving up", got)
	}
	if calls != 1 || index != 5 || entry != f.Entry() {
		t.Fatalf("detector called %d times with index %d entry %v, want once with 5 and %v", calls, index, entry, f.Entry())
	}
	if retries < livelockRetries || took < timeout {
		t.Errorf("gave up after %d retries and %v, want at least %d and %v", retries, took, livelockRetries, timeout)
	}
	check(t, as)
	e.finish(0)
}

// A lookup that is starved rather than stuck, one that has waited longer
// than the timeout but retried only a few times because its process got
// little CPU, is not called a livelock; it is once it reaches
// livelockRetries.
func TestLivelockDetectorNeedsRetries(t *testing.T) {
	var reported int
	as := &AddressSpace{livelockAfter: time.Millisecond, onLivelock: func(uint64, xarray.Entry, int) { reported++ }}
	var r lookupRetries
	for range 128 {
		as.stuck(&r, 0, xarray.Null) // the 128th starts the clock
	}
	time.Sleep(5 * time.Millisecond)
	for r.n < livelockRetries-1 {
		if as.stuck(&r, 0, xarray.Null) {
			t.Fatalf("gave up after %d retries, fewer than %d", r.n, livelockRetries)
		}
	}
	if !as.stuck(&r, 0, xarray.Null) || reported != 1 {
		t.Fatalf("no livelock after %d retries and over the timeout (reported %d)", r.n, reported)
	}
}

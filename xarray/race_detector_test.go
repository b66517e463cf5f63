// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"os"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/xabench/xabench/internal/watchdog"
)

const plainNodeWriteEnv = "XARRAY_TEST_PLAIN_NODE_WRITE"

// The race detector sees every node. It watches only the Go heap, so a
// slab mapped outside it would hide every race on a node, plain or
// atomic; the race build keeps the slab on the heap. This test builds
// the package with -race and runs, in a child process, a test in which
// two goroutines write one slot of a node in a tree without atomics, and
// requires the detector's report: if nodes ever move out of its sight
// again, this fails.
func TestRaceDetectorSeesNodes(t *testing.T) {
	out := runChildTest(t, "TestPlainNodeWriteRaces", plainNodeWriteEnv+"=1", true)
	if !strings.Contains(out, "writing slot 63 of node") {
		t.Fatalf("child did not reach its racing writes:\n%s", out)
	}
	if !strings.Contains(out, "WARNING: DATA RACE") || !strings.Contains(out, "xarray.writeSlotPlainly") {
		t.Fatalf("two plain writes to a node went unreported by -race:\n%s", out)
	}
}

// TestPlainNodeWriteRaces is TestRaceDetectorSeesNodes's child: it races
// on purpose and is skipped unless that test runs it.
func TestPlainNodeWriteRaces(t *testing.T) {
	if os.Getenv(plainNodeWriteEnv) == "" {
		t.Skip("races on purpose; run by TestRaceDetectorSeesNodes")
	}
	watchdog.Start(t, watchdog.Default)
	xa := New(0)
	xa.Store(1, MkValue(1))
	h := handleOf(xa.Head())
	w := (*uint64)(unsafe.Pointer(&nodeAt(h).slots[63]))
	t.Logf("writing slot 63 of node %d at %p from two goroutines", h, w)
	var wg sync.WaitGroup
	for v := range uint64(2) {
		wg.Go(func() { writeSlotPlainly(w, v<<1|1) })
	}
	wg.Wait()
	nodeAt(h).slots[63].Store(0)
	xa.Destroy()
}

//go:noinline
func writeSlotPlainly(w *uint64, v uint64) { *w = v }

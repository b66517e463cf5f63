// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Helpers for the port of lib/test_xarray.c (kernel_*_test.go). The
// kernel's own helpers (xa_mk_index, xa_store_index, xa_erase_index,
// xa_store_order, ...) are in main_test.go; these add what a Go port
// needs around them. Every name starts with kt.

import (
	"iter"
	"math"
	"testing"
)

// ktMax is ULONG_MAX.
const ktMax = uint64(math.MaxUint64)

// ktNew returns a new array for one kernel check, with the variants of
// the release the tests run as (-xarray.variant) and then opts. If the
// check fails before it reaches finish, the array is destroyed anyway
// (and its lock released if a failed assertion left it held), so that
// one failure does not leave nodes in use and fail every later test's
// finish.
func ktNew(t testing.TB, flags Flags, opts ...Option) *XArray {
	t.Helper()
	xa := newRelease(flags, opts...)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		xa.mu.TryLock() // held either by us now, or by the failed check
		xa.Unlock()
		xa.Destroy()
		xa.Domain().Barrier()
	})
	return xa
}

// ktRCU runs fn inside a read-side section of xa's domain
// (rcu_read_lock ... rcu_read_unlock). The section ends even when fn
// stops on a failed assertion, so that grace periods still complete.
func ktRCU(xa *XArray, fn func()) {
	tok := xa.Domain().ReadLock()
	defer xa.Domain().ReadUnlock(tok)
	fn()
}

// ktLocked runs fn with xa's lock held (xa_lock ... xa_unlock, or
// xas_lock ... xas_unlock); the lock is released even when fn stops on a
// failed assertion.
func ktLocked(xa *XArray, fn func()) {
	xa.Lock()
	defer xa.Unlock()
	fn()
}

// ktNowait runs fn with every node allocation failing, under the lock
// and outside it: the GFP_NOWAIT (or gfp 0) of the kernel's userspace
// harness, where such allocations always fail. It returns the number of
// allocations that were attempted (and failed) meanwhile.
func ktNowait(f *Faults, fn func()) int64 {
	before := f.Injected()
	f.SetEverywhere(true)
	f.FailNext(math.MaxInt32)
	defer func() {
		f.FailNext(0)
		f.SetEverywhere(false)
	}()
	fn()
	return f.Injected() - before
}

// ktNoAlloc runs fn as ktNowait does and fails the test if fn tried to
// allocate a node at all: the kernel's "this cannot need memory" checks.
func ktNoAlloc(t testing.TB, f *Faults, what string, fn func()) {
	t.Helper()
	if n := ktNowait(f, fn); n != 0 {
		t.Fatalf("%s: tried to allocate %d node(s); it must need none", what, n)
	}
}

// ktCheck fails the test if xa's structure is broken.
func ktCheck(t testing.TB, xa *XArray, where string) {
	t.Helper()
	if err := xa.Check(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// ktSample yields the offsets in [0, n) that a check visits: the kernel
// visits every offset, but for the ranges of the larger orders (up to
// 2^19 indices) that takes too long under -race. ktSample(n) is
// ktSampleLimit(n, 4096).
func ktSample(n uint64) iter.Seq[uint64] { return ktSampleLimit(n, 4096) }

// ktSampleLimit yields every offset in [0, n) if n <= limit; above that,
// the first and last limit/4 offsets and about limit/4 spread between
// them, at an odd stride so that they land on varied slot offsets.
func ktSampleLimit(n, limit uint64) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		if n <= limit {
			for i := uint64(0); i < n; i++ {
				if !yield(i) {
					return
				}
			}
			return
		}
		edge := limit / 4
		for i := uint64(0); i < edge; i++ {
			if !yield(i) {
				return
			}
		}
		stride := (n-2*edge)/edge + 1
		if stride&1 == 0 {
			stride++
		}
		for i := edge; i < n-edge; i += stride {
			if !yield(i) {
				return
			}
		}
		for i := n - edge; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

// ktStoreLoop is the kernel's
//
//	do { xas_lock(&xas); xas_store(&xas, e); xas_unlock(&xas); } while (xas_nomem(&xas, GFP_KERNEL));
//
// It returns what the last Store returned.
func ktStoreLoop(xas *State, e Entry) Entry {
	var curr Entry
	for {
		ktLocked(xas.Array(), func() { curr = xas.Store(e) })
		if !xas.Nomem() {
			return curr
		}
	}
}

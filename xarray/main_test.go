// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xabench/xabench/rcu"
)

// long makes the multi-threaded tests run for longer than the default
// couple of seconds: go test ./xarray -args -xarray.long=30s
var long = flag.Duration("xarray.long", 0, "run each multi-threaded test for this long")

// stressFor returns how long a multi-threaded test runs.
func stressFor(short time.Duration) time.Duration {
	if *long > 0 {
		return *long
	}
	if testing.Short() {
		return short / 4
	}
	return short
}

// release is the kernel release that the port of test_xarray.c (ktNew),
// the ports of tools/testing/radix-tree (stress_test.go), the fuzz model
// (fuzzOps) and the linearizability checks (linTest) build their arrays
// as (newRelease): one kernel.Profile's XArray variants, for example
//
//	go test ./xarray -run 'TestCheck|FuzzOps' -args -xarray.variant=0x79
//
// for v6.1. Zero, the default, is mainline. This package cannot name the
// profiles (package kernel imports it); kernel/xarray_profiles_test.go
// runs these tests under every profile, with the profile's own value.
var release = flag.Uint("xarray.variant", 0, "run the kernel ports, the fuzz model and the linearizability checks as the release with these Variant bits (a kernel.Profile's XArray)")

// releaseVariants are the Variant bits that a release can have: the
// protocol breaks and the nr_values correction are no release's.
const releaseVariants = VariantSingleSiblingHop | VariantSplitMarksAllSlots | VariantSplitAllocLoose |
	VariantFindMarkedSiblings | VariantPauseUnmasked

// releaseVariant returns the release the tests run as.
func releaseVariant() Variant { return Variant(*release) }

// oldRelease reports whether the release the tests run as has the old
// form of behaviour v: whether it predates v's commit.
func oldRelease(v Variant) bool { return releaseVariant()&v != 0 }

// exactVariant is an Option that gives the array exactly v, whatever the
// release the tests run as: for the tests that compare variants.
func exactVariant(v Variant) Option { return func(xa *XArray) { xa.variant = v } }

// newRelease is New for the tests that run as the release: the
// release's variants, then opts.
func newRelease(flags Flags, opts ...Option) *XArray {
	return New(flags, append([]Option{WithVariant(releaseVariant())}, opts...)...)
}

func TestMain(m *testing.M) {
	flag.Parse()
	if *release&^uint(releaseVariants) != 0 {
		fmt.Fprintf(os.Stderr, "-xarray.variant=%#x: only release variants (%#x) are allowed\n", *release, uint32(releaseVariants))
		os.Exit(2)
	}
	slabAtStart = slabLimit.Load()
	if os.Getenv(refuseSlabEnv) != "" {
		cache.grow = refuseSlab
	}
	goleak.VerifyTestMain(m)
}

// finish destroys xa, waits for every node to come back through RCU and
// fails the test if any node is still in use: no test may leak a node.
// Nor may it take a path on which the kernel leaks preallocated nodes
// (XArray.PreallocLeaked), unless it says so with finishLeaked.
func finish(t testing.TB, xa *XArray) {
	t.Helper()
	finishLeaked(t, xa, 0)
}

// finishLeaked is finish for a test that expects its States to have
// dropped leaked preallocated nodes, as the kernel's would.
func finishLeaked(t testing.TB, xa *XArray, leaked int64) {
	t.Helper()
	if got := xa.PreallocLeaked(); got != leaked {
		t.Errorf("%d preallocated nodes dropped where the kernel leaks them, want %d", got, leaked)
	}
	if err := xa.Check(); err != nil {
		t.Errorf("before Destroy: %v", err)
	}
	xa.Destroy()
	if !xa.Empty() {
		t.Errorf("array not empty after Destroy")
	}
	xa.Domain().Barrier()
	rcu.Barrier()
	if s := NodeCacheStats(); s.InUse != 0 {
		t.Errorf("node cache: %d nodes still in use (%d waiting for a grace period) after Destroy and Barrier", s.InUse, s.Waiting)
	}
}

// mkIndex is xa_mk_index: the value entry the kernel's tests store at i.
func mkIndex(i uint64) Entry { return MkValue(i & (1<<63 - 1)) }

// storeIndex is xa_store_index.
func storeIndex(t testing.TB, xa *XArray, i uint64) Entry {
	t.Helper()
	old, err := xa.Store(i, mkIndex(i))
	if err != nil {
		t.Fatalf("Store(%#x): %v", i, err)
	}
	return old
}

// insertIndex is xa_insert_index.
func insertIndex(t testing.TB, xa *XArray, i uint64) {
	t.Helper()
	if err := xa.Insert(i, mkIndex(i)); err != nil {
		t.Fatalf("Insert(%#x): %v", i, err)
	}
}

// allocIndex is xa_alloc_index.
func allocIndex(t testing.TB, xa *XArray, i uint32) {
	t.Helper()
	id, err := xa.Alloc(mkIndex(uint64(i)), Limit32b)
	if err != nil || id != i {
		t.Fatalf("Alloc: id %d err %v, want id %d", id, err, i)
	}
}

// eraseIndex is xa_erase_index.
func eraseIndex(t testing.TB, xa *XArray, i uint64) {
	t.Helper()
	if e := xa.Erase(i); e != mkIndex(i) {
		t.Fatalf("Erase(%#x) = %v, want %v", i, e, mkIndex(i))
	}
	if e := xa.Load(i); e != Null {
		t.Fatalf("Load(%#x) after Erase = %v", i, e)
	}
}

// storeOrder is xa_store_order: an order store with the xas_nomem loop.
func storeOrder(t testing.TB, xa *XArray, index uint64, order uint, e Entry) Entry {
	t.Helper()
	xas := NewStateOrder(xa, index, order)
	var curr Entry
	for {
		xas.Lock()
		curr = xas.Store(e)
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		t.Fatalf("store order %d at %#x: %v", order, index, err)
	}
	return curr
}

// mustLoad fails the test unless index holds want.
func mustLoad(t testing.TB, xa *XArray, index uint64, want Entry) {
	t.Helper()
	if got := xa.Load(index); got != want {
		t.Fatalf("Load(%#x) = %v, want %v", index, got, want)
	}
}

// mustBeEmpty fails the test unless xa is empty.
func mustBeEmpty(t testing.TB, xa *XArray) {
	t.Helper()
	if !xa.Empty() {
		t.Fatalf("array not empty: head %v", xa.Head())
	}
}

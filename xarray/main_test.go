// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"flag"
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

func TestMain(m *testing.M) {
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

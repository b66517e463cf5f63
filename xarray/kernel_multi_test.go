// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// A port of lib/test_xarray.c, part 2: multi-index entries. T11-T14 and
// T26 of shared/kernel/test_xarray.md (check_multi_store,
// check_multi_store_advanced, check_get_order, check_xas_get_order,
// check_xas_conflict_get_order, check_account).

import (
	"testing"
)

// ktHeadCounts checks the head node's count and nr_values.
func ktHeadCounts(t *testing.T, xa *XArray, count, values int) {
	t.Helper()
	n := xa.HeadNode()
	if !n.Valid() {
		t.Fatalf("head %v is not a node", xa.Head())
	}
	if n.Count() != count || n.NrValues() != values {
		t.Fatalf("head node count %d nr_values %d, want %d and %d", n.Count(), n.NrValues(), count, values)
	}
}

// T11 check_multi_store: multi-index store semantics and node accounting.
func TestCheckMultiStore(t *testing.T) {
	xa := ktNew(t, 0)
	const maxOrder = 60

	// Loading from any position returns the same value.
	storeOrder(t, xa, 0, 1, MkValue(0))
	mustLoad(t, xa, 0, MkValue(0))
	mustLoad(t, xa, 1, MkValue(0))
	mustLoad(t, xa, 2, Null)
	// The sibling of a value counts as a value.
	ktHeadCounts(t, xa, 2, 2)

	// Storing adjacent to the value does not alter the value.
	xa.Store(3, ktXA)
	mustLoad(t, xa, 0, MkValue(0))
	mustLoad(t, xa, 1, MkValue(0))
	mustLoad(t, xa, 2, Null)
	ktHeadCounts(t, xa, 3, 2)

	// Overwriting multiple indexes works.
	storeOrder(t, xa, 0, 2, MkValue(1))
	for i := uint64(0); i < 4; i++ {
		mustLoad(t, xa, i, MkValue(1))
	}
	mustLoad(t, xa, 4, Null)
	ktHeadCounts(t, xa, 4, 4)
	ktCheck(t, xa, "after overwriting 0..3")

	// We can erase multiple values with a single store.
	storeOrder(t, xa, 0, 63, Null)
	mustBeEmpty(t, xa)

	// Even when the first slot is empty but the others aren't.
	storeIndex(t, xa, 1)
	storeIndex(t, xa, 2)
	storeOrder(t, xa, 0, 2, Null)
	mustBeEmpty(t, xa)

	for i := uint(0); i < maxOrder; i++ {
		for j := uint(0); j < maxOrder; j++ {
			storeOrder(t, xa, 0, i, mkIndex(uint64(i)))
			storeOrder(t, xa, 0, j, mkIndex(uint64(j)))

			// A smaller store into a bigger entry replaces the bigger
			// entry's value over its whole range.
			for k := uint(0); k < maxOrder; k++ {
				e := xa.Load(uint64(1)<<k - 1)
				if i < k && j < k {
					if e != Null {
						t.Fatalf("orders %d then %d: Load(2^%d-1) = %v, want null", i, j, k, e)
					}
				} else if e != mkIndex(uint64(j)) {
					t.Fatalf("orders %d then %d: Load(2^%d-1) = %v, want %v", i, j, k, e, mkIndex(uint64(j)))
				}
			}
			if i == j || i == 0 || j == 0 {
				ktCheck(t, xa, "after two order stores at 0")
			}

			xa.Erase(0)
			mustBeEmpty(t, xa)
		}
	}

	for i := uint(0); i < 20; i++ {
		ktCheckMultiStore1(t, xa, 200, i)
		ktCheckMultiStore1(t, xa, 0, i)
		ktCheckMultiStore1(t, xa, uint64(1)<<i+1, i)
	}
	ktCheckMultiStore2(t, xa, 4095, 9)

	for i := uint(1); i < 20; i++ {
		ktCheckMultiStore3(t, xa, 0, i)
		ktCheckMultiStore3(t, xa, uint64(1)<<i, i)
	}
	finish(t, xa)
}

// check_multi_store_1: an order-0 store into an order entry changes the
// whole entry.
func ktCheckMultiStore1(t *testing.T, xa *XArray, index uint64, order uint) {
	t.Helper()
	xas := NewState(xa, index)
	min := index &^ (uint64(1)<<order - 1)
	max := min + uint64(1)<<order

	storeOrder(t, xa, index, order, mkIndex(index))
	mustLoad(t, xa, min, mkIndex(index))
	mustLoad(t, xa, max-1, mkIndex(index))
	mustLoad(t, xa, max, Null)
	mustLoad(t, xa, min-1, Null)

	ktLocked(xa, func() {
		if old := xas.Store(mkIndex(min)); old != mkIndex(index) {
			t.Fatalf("index %d order %d: xas_store = %v, want %v", index, order, old, mkIndex(index))
		}
	})
	mustLoad(t, xa, min, mkIndex(min))
	mustLoad(t, xa, max-1, mkIndex(min))
	mustLoad(t, xa, max, Null)
	mustLoad(t, xa, min-1, Null)

	eraseIndex(t, xa, min)
	mustBeEmpty(t, xa)
}

// check_multi_store_2: a store through an unaligned index keeps the
// index.
func ktCheckMultiStore2(t *testing.T, xa *XArray, index uint64, order uint) {
	t.Helper()
	xas := NewState(xa, index)
	storeOrder(t, xa, index, order, MkValue(0))

	ktLocked(xa, func() {
		if old := xas.Store(MkValue(1)); old != MkValue(0) {
			t.Fatalf("xas_store(value 1) = %v, want value 0", old)
		}
		if xas.Index() != index {
			t.Fatalf("xas.xa_index = %d after the store, want %d", xas.Index(), index)
		}
		if old := xas.Store(Null); old != MkValue(1) {
			t.Fatalf("xas_store(NULL) = %v, want value 1", old)
		}
	})
	mustBeEmpty(t, xa)
}

// check_multi_store_3: iteration starting inside an entry returns it.
func ktCheckMultiStore3(t *testing.T, xa *XArray, index uint64, order uint) {
	t.Helper()
	xas := NewState(xa, 0)
	n := 0

	storeOrder(t, xa, index, order, mkIndex(index))

	ktLocked(xa, func() {
		for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			if e != mkIndex(index) {
				t.Fatalf("index %d order %d: xas_for_each from 0 = %v", index, order, e)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("index %d order %d: xas_for_each from 0 saw %d entries, want 1", index, order, n)
		}
		xas.Set(index + 1)
		for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			if e != mkIndex(index) {
				t.Fatalf("index %d order %d: xas_for_each from %d = %v", index, order, index+1, e)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("index %d order %d: xas_for_each from %d brings the total to %d, want 2", index, order, index+1, n)
		}
	})
	xa.Destroy()
}

// The two pointers of check_xa_multi_store_adv (&some_val, &some_val_2).
var (
	ktSomeVal  = MkPointer(0xdeadbeef)
	ktSomeVal2 = MkPointer(0xdeaddead)
)

// check_xa_multi_store_adv_add mimics __filemap_add_folio.
func ktMultiStoreAdvAdd(t *testing.T, xa *XArray, index uint64, order uint, p Entry) {
	t.Helper()
	xas := NewState(xa, index)
	nrpages := uint64(1) << order

	// Users are responsible for index alignment to the order when adding.
	if index&(nrpages-1) != 0 {
		t.Fatalf("add: index %#x not aligned to order %d", index, order)
	}
	xas.SetOrder(index, order)
	for {
		ktLocked(xa, func() { xas.Store(p) })
		// The only failure we can expect is running out of memory,
		// which xas_nomem cures.
		if err := xas.Error(); err != nil && err != ErrNoMemory {
			t.Fatalf("add %#x order %d: %v", index, order, err)
		}
		if !xas.Nomem() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		t.Fatalf("add %#x order %d: %v", index, order, err)
	}
	mustLoad(t, xa, index, p)
}

// check_xa_multi_store_adv_delete mimics page_cache_delete.
func ktMultiStoreAdvDelete(xa *XArray, index uint64, order uint) {
	ktLocked(xa, func() {
		xas := NewState(xa, index)
		xas.SetOrder(index, order)
		xas.Store(Null)
		xas.InitMarks()
	})
}

// test_get_entry mimics filemap_get_entry.
func ktGetEntry(xa *XArray, index uint64) Entry {
	xas := NewState(xa, index)
	var p Entry
	ktRCU(xa, func() {
		for {
			xas.Reset()
			p = xas.Load()
			if !xas.Retry(p) {
				break
			}
		}
	})
	return p
}

// ktGetEntries checks test_get_entry(xa, base + i) == want for i <
// nrpages: for every i up to order 10, for a sample above (ktSampleLimit).
func ktGetEntries(t *testing.T, xa *XArray, base, nrpages uint64, want Entry, what string) {
	t.Helper()
	for i := range ktSampleLimit(nrpages, 1024) {
		if e := ktGetEntry(xa, base+i); e != want {
			t.Fatalf("%s: test_get_entry(%#x) = %v, want %v", what, base+i, e, want)
		}
	}
}

// check_xa_multi_store_adv: page-cache style adds and deletes around
// pos.
func ktCheckMultiStoreAdv(t *testing.T, xa *XArray, pos uint64, order uint) {
	t.Helper()
	nrpages := uint64(1) << order
	index := pos >> 12 // PAGE_SHIFT
	base := index &^ (nrpages - 1)
	next := (base + nrpages) &^ (nrpages - 1)
	nextNext := (next + nrpages) &^ (nrpages - 1)

	ktMultiStoreAdvAdd(t, xa, base, order, ktSomeVal)
	ktCheck(t, xa, "after adding at base")
	ktGetEntries(t, xa, base, nrpages, ktSomeVal, "base")
	if e := ktGetEntry(xa, next); e != Null {
		t.Fatalf("test_get_entry(next %#x) = %v, want null", next, e)
	}

	// Use order 0 for the next item.
	ktMultiStoreAdvAdd(t, xa, next, 0, ktSomeVal2)
	if e := ktGetEntry(xa, next); e != ktSomeVal2 {
		t.Fatalf("test_get_entry(next %#x) = %v, want some_val_2", next, e)
	}

	// Remove the next item.
	ktMultiStoreAdvDelete(xa, next, 0)

	// Now use order for a new pointer.
	ktMultiStoreAdvAdd(t, xa, next, order, ktSomeVal2)
	ktGetEntries(t, xa, next, nrpages, ktSomeVal2, "next")

	ktMultiStoreAdvDelete(xa, next, order)
	ktMultiStoreAdvDelete(xa, base, order)
	mustBeEmpty(t, xa)

	// Starting fresh again; let's test some holes now.

	// Hole at base and next_next.
	ktMultiStoreAdvAdd(t, xa, next, order, ktSomeVal2)
	ktGetEntries(t, xa, base, nrpages, Null, "hole at base")
	ktGetEntries(t, xa, next, nrpages, ktSomeVal2, "next")
	ktGetEntries(t, xa, nextNext, nrpages, Null, "hole at next_next")
	ktMultiStoreAdvDelete(xa, next, order)
	mustBeEmpty(t, xa)

	// Hole at base and next.
	ktMultiStoreAdvAdd(t, xa, nextNext, order, ktSomeVal2)
	ktGetEntries(t, xa, base, nrpages, Null, "hole at base")
	ktGetEntries(t, xa, next, nrpages, Null, "hole at next")
	ktGetEntries(t, xa, nextNext, nrpages, ktSomeVal2, "next_next")
	ktMultiStoreAdvDelete(xa, nextNext, order)
	mustBeEmpty(t, xa)
}

// T12 check_multi_store_advanced: page-cache emulation.
//
// Shrunk: the kernel's positions are pos = 7, then pos = pos*pos + 564
// (wrapping, as unsigned long does) while pos < ULONG_MAX/2: seven
// positions, each also as pos+157, for orders 0..19, about 117 million
// lookups. This keeps all twenty orders but four positions: 7 (index
// pos>>12 = 0; the kernel's 613 gives the same index), 376333 (index
// 0x5b, unaligned for most orders), 141626527453 (index 0x20f9994, three
// levels deep) and 6462470273080061181 (the first wrapped one, index
// 0x59af4e7946756, nine levels deep); and the lookups of an order-n range
// visit a sample of its indices above order 10 (ktGetEntries).
func TestCheckMultiStoreAdvanced(t *testing.T) {
	xa := ktNew(t, 0)
	const maxOrder = 20
	kernel := map[uint64]bool{}
	end := ktMax / 2
	for pos := uint64(7); pos < end; pos = pos*pos + 564 {
		kernel[pos] = true
	}
	for _, pos := range []uint64{7, 376333, 141626527453, 6462470273080061181} {
		if !kernel[pos] {
			t.Fatalf("%d is not one of the kernel's positions", pos)
		}
		for i := uint(0); i < maxOrder; i++ {
			ktCheckMultiStoreAdv(t, xa, pos, i)
			ktCheckMultiStoreAdv(t, xa, pos+157, i)
		}
	}
	finish(t, xa)
}

// T13 check_get_order.
//
// Shrunk: for orders above 12 the xa_get_order calls cover a sample of
// the entry's indices (ktSample), not all 2^order of them.
func TestCheckGetOrder(t *testing.T) {
	xa := ktNew(t, 0)
	const maxOrder = 20

	for i := uint64(0); i < 3; i++ {
		if o := xa.GetOrder(i); o != 0 {
			t.Fatalf("empty array: xa_get_order(%d) = %d, want 0", i, o)
		}
	}

	for order := uint(0); order < maxOrder; order++ {
		for i := uint64(0); i < 10; i++ {
			storeOrder(t, xa, i<<order, order, mkIndex(i<<order))
			for j := range ktSample(uint64(1) << order) {
				if o := xa.GetOrder(i<<order + j); o != int(order) {
					t.Fatalf("xa_get_order(%d) = %d, want %d", i<<order+j, o, order)
				}
			}
			xa.Erase(i << order)
		}
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T13 check_xas_get_order: the same through xas_load + xas_get_order.
//
// Shrunk as TestCheckGetOrder. xas_get_order and this check came with
// a4864671ca0b (v6.10); State.GetOrder, as every function of the model,
// exists under every profile, and no release variant changes it.
func TestCheckXasGetOrder(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 0)
	const maxOrder = 20

	for order := uint(0); order < maxOrder; order++ {
		for i := uint64(0); i < 10; i++ {
			xas.SetOrder(i<<order, order)
			ktStoreLoop(&xas, MkValue(i))

			for j := range ktSample(uint64(1) << order) {
				xas.SetOrder(i<<order+j, 0)
				ktRCU(xa, func() {
					xas.Load()
					if o := xas.GetOrder(); o != int(order) {
						t.Fatalf("xas_get_order at %d = %d, want %d", i<<order+j, o, order)
					}
				})
			}

			ktLocked(xa, func() {
				xas.SetOrder(i<<order, order)
				xas.Store(Null)
			})
		}
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// ktConflictOnce runs xas_for_each_conflict under the lock and checks it
// yields want exactly once, with xas_get_order == order.
func ktConflictOnce(t *testing.T, xas *State, want Entry, order uint, what string) {
	t.Helper()
	onlyOnce := 0
	ktLocked(xas.Array(), func() {
		for e := xas.FindConflict(); e != Null; e = xas.FindConflict() {
			if e != want {
				t.Fatalf("%s: conflict %v, want %v", what, e, want)
			}
			if o := xas.GetOrder(); o != int(order) {
				t.Fatalf("%s: xas_get_order = %d, want %d", what, o, order)
			}
			onlyOnce++
			if onlyOnce > 1 {
				break
			}
		}
	})
	if onlyOnce != 1 {
		t.Fatalf("%s: %d conflicts, want exactly 1", what, onlyOnce)
	}
}

// T14 check_xas_conflict_get_order: xas_get_order inside
// xas_for_each_conflict, for sub-ranges and a super-range of an entry.
// Also from a4864671ca0b (v6.10); it runs under every profile, as
// TestCheckXasGetOrder does.
func TestCheckXasConflictGetOrder(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 0)
	const maxOrder = 20

	for order := uint(0); order < maxOrder; order++ {
		for i := uint64(0); i < 10; i++ {
			xas.SetOrder(i<<order, order)
			ktStoreLoop(&xas, MkValue(i))

			// Ensure xas_get_order works with xas_for_each_conflict.
			j := i << order
			for k := uint(0); k < order; k++ {
				xas.SetOrder(j+uint64(1)<<k, k)
				ktConflictOnce(t, &xas, MkValue(i), order, "sub-range")
			}

			if order < maxOrder-1 {
				xas.SetOrder((i&^1)<<order, order+1)
				ktConflictOnce(t, &xas, MkValue(i), order, "super-range")
			}

			xas.SetOrder(i<<order, order)
			ktLocked(xa, func() { xas.Store(Null) })
		}
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T26 check_account: pointer, value and sibling accounting.
func TestCheckAccount(t *testing.T) {
	xa := ktNew(t, 0)

	for order := uint(1); order < 12; order++ {
		xas := NewState(xa, uint64(1)<<order)

		storeOrder(t, xa, 0, order, ktXA)
		var node Node
		ktRCU(xa, func() {
			xas.Load()
			node = xas.Node()
			if !node.Valid() {
				t.Fatalf("order %d: xas_load(%d) is not in a node", order, uint64(1)<<order)
			}
			if node.Count() == 0 || node.Count() > 1<<order {
				t.Fatalf("order %d: count %d, want 1..%d", order, node.Count(), 1<<order)
			}
			if node.NrValues() != 0 {
				t.Fatalf("order %d: nr_values %d with only a pointer stored, want 0", order, node.NrValues())
			}
		})

		storeOrder(t, xa, uint64(1)<<order, order, mkIndex(uint64(1)<<order))
		if node.Count() != node.NrValues()*2 {
			t.Fatalf("order %d: count %d, nr_values %d; want count == 2 * nr_values", order, node.Count(), node.NrValues())
		}
		ktCheck(t, xa, "with a pointer entry and a value entry")

		xa.Erase(uint64(1) << order)
		if node.NrValues() != 0 {
			t.Fatalf("order %d: nr_values %d after erasing the value entry, want 0", order, node.NrValues())
		}

		xa.Erase(0)
		mustBeEmpty(t, xa)
	}
	finish(t, xa)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// A port of lib/test_xarray.c, part 1: T1-T10 of
// shared/kernel/test_xarray.md (check_xa_err through check_reserve).
// Each test is named after its kernel function; the comments quote the
// kernel's checks and the values they expect.

import (
	"testing"
)

// ktXA stands for the kernel tests' habit of storing the xarray's own
// address as "some pointer": xa_store(xa, i, xa, ...).
var ktXA = MkPointer(0x1234)

// T1 check_xa_err: errors through the normal API. The userspace harness
// fails every GFP_NOWAIT allocation; here Faults makes them fail.
func TestCheckXaErr(t *testing.T) {
	f := NewFaults(1)
	xa := ktNew(t, 0, WithFaults(f))

	// xa_err(xa_store_index(xa, 0, GFP_NOWAIT)) == 0: index 0 lives in
	// the head, so no node is needed.
	ktNoAlloc(t, f, "xa_store_index(0, GFP_NOWAIT)", func() {
		if _, err := xa.Store(0, mkIndex(0)); err != nil {
			t.Fatalf("Store(0) with GFP_NOWAIT: %v, want no error", err)
		}
	})
	// xa_err(xa_erase(xa, 0)) == 0
	if e := xa.Erase(0); e != mkIndex(0) {
		t.Fatalf("Erase(0) = %v, want %v", e, mkIndex(0))
	}

	// Userspace only: xa_err(xa_store_index(xa, 1, GFP_NOWAIT)) == -ENOMEM,
	// twice in a row: index 1 needs a node.
	for try := 1; try <= 2; try++ {
		var err error
		n := ktNowait(f, func() { _, err = xa.Store(1, mkIndex(1)) })
		if err != ErrNoMemory {
			t.Fatalf("Store(1) with GFP_NOWAIT, try %d: error %v, want ErrNoMemory", try, err)
		}
		if n == 0 {
			t.Fatalf("Store(1) with GFP_NOWAIT, try %d: failed without trying to allocate", try)
		}
		// The failed store leaves nothing behind.
		mustBeEmpty(t, xa)
		ktCheck(t, xa, "after a failed store")
	}

	// xa_err(xa_store_index(xa, 1, GFP_KERNEL)) == 0
	if old, err := xa.Store(1, mkIndex(1)); err != nil || old != Null {
		t.Fatalf("Store(1) with GFP_KERNEL = %v, %v; want null, no error", old, err)
	}
	// xa_err(xa_store(xa, 1, xa_mk_value(0), GFP_KERNEL)) == 0
	if old, err := xa.Store(1, MkValue(0)); err != nil || old != mkIndex(1) {
		t.Fatalf("Store(1, value 0) = %v, %v; want %v, no error", old, err, mkIndex(1))
	}
	// xa_err(xa_erase(xa, 1)) == 0
	if e := xa.Erase(1); e != MkValue(0) {
		t.Fatalf("Erase(1) = %v, want value 0", e)
	}

	// Commented out in the kernel ("kills the test-suite"), harmless in
	// Go: xa_store(xa, 0, xa_mk_internal(0), 0) gives -EINVAL.
	if _, err := xa.Store(0, mkInternal(0)); err != ErrInvalid {
		t.Fatalf("Store(0, internal 0): error %v, want ErrInvalid", err)
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T2 check_xas_retry: retry entries, xas_reload and xas_reset.
func TestCheckXasRetry(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 0)

	// Values 0 and 1 in one leaf node.
	storeIndex(t, xa, 0)
	storeIndex(t, xa, 1)

	ktRCU(xa, func() {
		// xas_find(&xas, ULONG_MAX) == xa_mk_value(0): xas is in the node.
		if e := xas.Find(ktMax); e != MkValue(0) {
			t.Fatalf("xas_find = %v, want value 0", e)
		}
		// Erasing 1 shrinks the tree to head = value 0; the old node's
		// slot 0 becomes RETRY.
		eraseIndex(t, xa, 1)
		if e := xas.Reload(); !e.IsRetry() {
			t.Fatalf("xas_reload after the shrink = %v, want retry", e)
		}
		if xas.Retry(Null) {
			t.Fatalf("xas_retry(NULL) = true")
		}
		if xas.Retry(MkValue(0)) {
			t.Fatalf("xas_retry(value 0) = true")
		}
		// xas_reset: xas.xa_node == XAS_RESTART.
		xas.Reset()
		if c := xas.Cursor(); c != CursorRestart {
			t.Fatalf("after xas_reset the cursor is %v, want restart", c)
		}
		// xas_next_entry == value 0, and xas.xa_node == NULL: the entry
		// is the head.
		if e := xas.NextEntry(ktMax); e != MkValue(0) {
			t.Fatalf("xas_next_entry = %v, want value 0", e)
		}
		if c := xas.Cursor(); c != CursorHead {
			t.Fatalf("cursor %v after finding the head entry, want head (xa_node == NULL)", c)
		}
	})

	// Re-store 1 (returns NULL): the head is a node again.
	if old := storeIndex(t, xa, 1); old != Null {
		t.Fatalf("xa_store_index(1) = %v, want null", old)
	}
	ktRCU(xa, func() {
		// xas_reload (on the head) now returns the node: internal.
		if e := xas.Reload(); !e.IsInternal() {
			t.Fatalf("xas_reload = %v, want an internal entry (the node)", e)
		}
		// xas.xa_node = XAS_RESTART (which is xas_reset).
		xas.Reset()
		if e := xas.NextEntry(ktMax); e != MkValue(0) {
			t.Fatalf("xas_next_entry after restart = %v, want value 0", e)
		}
	})

	// Make sure we can iterate through retry entries.
	ktLocked(xa, func() {
		xas.Set(0)
		xas.Store(RetryEntry)
		xas.Set(1)
		xas.Store(RetryEntry)

		xas.Set(0)
		seen := 0
		for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			if !e.IsRetry() {
				t.Fatalf("xas_for_each at %d: %v, want the retry entry stored there", xas.Index(), e)
			}
			xas.Store(mkIndex(xas.Index()))
			seen++
		}
		if seen != 2 {
			t.Fatalf("xas_for_each saw %d retry entries, want 2", seen)
		}
	})
	// Both were visited and replaced.
	eraseIndex(t, xa, 0)
	eraseIndex(t, xa, 1)
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T3 check_xa_load: dense load/store/erase over 0..1023.
func TestCheckXaLoad(t *testing.T) {
	xa := ktNew(t, 0)
	for i := uint64(0); i < 1024; i++ {
		for j := uint64(0); j < 1024; j++ {
			e := xa.Load(j)
			if j < i && e != mkIndex(j) {
				t.Fatalf("store phase %d: Load(%d) = %v, want %v", i, j, e, mkIndex(j))
			}
			if j >= i && e != Null {
				t.Fatalf("store phase %d: Load(%d) = %v, want null", i, j, e)
			}
		}
		if old := storeIndex(t, xa, i); old != Null {
			t.Fatalf("xa_store_index(%d) = %v, want null", i, old)
		}
	}
	ktCheck(t, xa, "after storing 0..1023")

	for i := uint64(0); i < 1024; i++ {
		for j := uint64(0); j < 1024; j++ {
			e := xa.Load(j)
			if j >= i && e != mkIndex(j) {
				t.Fatalf("erase phase %d: Load(%d) = %v, want %v", i, j, e, mkIndex(j))
			}
			if j < i && e != Null {
				t.Fatalf("erase phase %d: Load(%d) = %v, want null", i, j, e)
			}
		}
		eraseIndex(t, xa, i)
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T4 check_xa_mark: check_xa_mark_1 for index = 0, 4, ..., 16380, then
// check_xa_mark_2 and check_xa_mark_3, on one array.
//
// Shrunk: the kernel runs check_xa_mark_1 at all 4096 multiples of 4
// below 16384, which takes about 30 s under -race. This runs it at every
// multiple of 4 below 512 (the first leaves, and the step from a head
// entry to one and two levels), at every 37th multiple of 4 above that
// (varied slot offsets in every leaf), and at the last 16 (16320..16380,
// the top of the 3-level tree).
func TestCheckXaMark(t *testing.T) {
	xa := ktNew(t, 0)
	for _, index := range ktMarkIndices() {
		ktCheckXaMark1(t, xa, index)
	}
	ktCheckXaMark2(t, xa)
	ktCheckXaMark3(t, xa)
	finish(t, xa)
}

// ktMarkIndices lists the indices TestCheckXaMark runs check_xa_mark_1 at.
func ktMarkIndices() []uint64 {
	var list []uint64
	for index := uint64(0); index < 512; index += 4 {
		list = append(list, index)
	}
	for index := uint64(512); index < 16320; index += 4 * 37 {
		list = append(list, index)
	}
	for index := uint64(16320); index < 16384; index += 4 {
		list = append(list, index)
	}
	return list
}

func ktCheckXaMark1(t *testing.T, xa *XArray, index uint64) {
	t.Helper()
	// NULL elements have no marks set.
	if xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: mark 0 set on a null entry", index)
	}
	xa.SetMark(index, Mark0)
	if xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: xa_set_mark on a null entry stuck", index)
	}

	// Storing a pointer will not make a mark appear.
	if old := storeIndex(t, xa, index); old != Null {
		t.Fatalf("xa_store_index(%d) = %v, want null", index, old)
	}
	if xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: a fresh store has mark 0", index)
	}
	xa.SetMark(index, Mark0)
	if !xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: mark 0 not set by xa_set_mark", index)
	}

	// Setting one mark will not set another mark.
	if xa.GetMark(index+1, Mark0) {
		t.Fatalf("index %d: mark 0 set on the next index", index)
	}
	if xa.GetMark(index, Mark1) {
		t.Fatalf("index %d: mark 1 set along with mark 0", index)
	}

	// Storing NULL clears marks, and they can't be set again.
	eraseIndex(t, xa, index)
	mustBeEmpty(t, xa)
	if xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: mark 0 survives the erase", index)
	}
	xa.SetMark(index, Mark0)
	if xa.GetMark(index, Mark0) {
		t.Fatalf("index %d: mark 0 set on an erased index", index)
	}

	// Storing a multi-index entry over entries with marks gives the
	// entire entry the union of the marks.
	for order := uint(2); order < 8; order++ {
		base := index &^ (uint64(1)<<order - 1)
		next := base + uint64(1)<<order

		if old := storeIndex(t, xa, index+1); old != Null {
			t.Fatalf("xa_store_index(%d) = %v, want null", index+1, old)
		}
		xa.SetMark(index+1, Mark0)
		if old := storeIndex(t, xa, index+2); old != Null {
			t.Fatalf("xa_store_index(%d) = %v, want null", index+2, old)
		}
		xa.SetMark(index+2, Mark2)
		if old := storeIndex(t, xa, next); old != Null {
			t.Fatalf("xa_store_index(%d) = %v, want null", next, old)
		}
		storeOrder(t, xa, index, order, mkIndex(index))
		if index == 0 || index == 16380 {
			ktCheck(t, xa, "after the multi-index store")
		}

		for i := base; i < next; i++ {
			xas := NewState(xa, i)
			if !xa.GetMark(i, Mark0) || xa.GetMark(i, Mark1) || !xa.GetMark(i, Mark2) {
				t.Fatalf("index %d order %d: at %d marks 0,1,2 = %v,%v,%v; want true,false,true",
					index, order, i, xa.GetMark(i, Mark0), xa.GetMark(i, Mark1), xa.GetMark(i, Mark2))
			}

			// We should see two elements in the array.
			seen := 0
			ktRCU(xa, func() {
				for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
					seen++
				}
			})
			if seen != 2 {
				t.Fatalf("index %d order %d: xas_for_each from %d saw %d entries, want 2", index, order, i, seen)
			}

			// One of which is marked.
			xas.Set(0)
			seen = 0
			ktRCU(xa, func() {
				for e := xas.FindMarked(ktMax, Mark0); e != Null; e = xas.NextMarked(ktMax, Mark0) {
					seen++
				}
			})
			if seen != 1 {
				t.Fatalf("index %d order %d: xas_for_each_marked(0) saw %d entries, want 1", index, order, seen)
			}
		}
		if xa.GetMark(next, Mark0) || xa.GetMark(next, Mark1) || xa.GetMark(next, Mark2) {
			t.Fatalf("index %d order %d: next (%d) has a mark", index, order, next)
		}
		eraseIndex(t, xa, index)
		eraseIndex(t, xa, next)
		mustBeEmpty(t, xa)
	}
	mustBeEmpty(t, xa)
}

func ktCheckXaMark2(t *testing.T, xa *XArray) {
	t.Helper()
	xas := NewState(xa, 0)

	storeIndex(t, xa, 0)
	xa.SetMark(0, Mark0)
	ktLocked(xa, func() {
		xas.Load()
		xas.InitMarks()
	})
	// xas_init_marks cleared mark 0 (not an alloc array).
	if xa.GetMark(0, Mark0) {
		t.Fatalf("mark 0 still set after xas_init_marks")
	}

	for index := uint64(3500); index < 4500; index++ {
		storeIndex(t, xa, index)
		xa.SetMark(index, Mark0)
	}

	xas.Reset()
	count := 0
	ktRCU(xa, func() {
		for e := xas.FindMarked(ktMax, Mark0); e != Null; e = xas.NextMarked(ktMax, Mark0) {
			count++
		}
	})
	if count != 1000 {
		t.Fatalf("xas_for_each_marked saw %d entries, want 1000", count)
	}

	// The marked walk left the xas at XAS_BOUNDS, where xas_find returns
	// NULL at once: the kernel's following loop runs no iterations (its
	// assertions would fire if it did: entry 0 has no mark).
	if c := xas.Cursor(); c != CursorBounds {
		t.Fatalf("cursor after the marked walk is %v, want bounds", c)
	}
	iterations := 0
	ktLocked(xa, func() {
		for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			iterations++
			xas.InitMarks()
			if !xa.GetMark(xas.Index(), Mark0) {
				t.Fatalf("xa_get_mark(%d, 0) false", xas.Index())
			}
			if !xas.GetMark(Mark0) {
				t.Fatalf("xas_get_mark(0) false at %d", xas.Index())
			}
		}
	})
	if iterations != 0 {
		t.Fatalf("xas_for_each from bounds ran %d iterations, want 0", iterations)
	}
	ktCheck(t, xa, "check_xa_mark_2")
	xa.Destroy()
}

func ktCheckXaMark3(t *testing.T, xa *XArray) {
	t.Helper()
	xas := NewState(xa, 0x41)
	count := 0

	storeOrder(t, xa, 0x40, 2, mkIndex(0x40))
	// Set through a non-canonical index of the order-2 entry.
	xa.SetMark(0x41, Mark0)

	ktRCU(xa, func() {
		for e := xas.FindMarked(ktMax, Mark0); e != Null; e = xas.NextMarked(ktMax, Mark0) {
			count++
			if e != mkIndex(0x40) {
				t.Fatalf("xas_for_each_marked from 0x41: %v, want %v", e, mkIndex(0x40))
			}
		}
	})
	if count != 1 {
		t.Fatalf("xas_for_each_marked from 0x41 saw %d entries, want 1", count)
	}
	xa.Destroy()
}

// T5 check_xa_shrink: shrinking the tree, RETRY in the dead node, and
// the identity of the head.
func TestCheckXaShrink(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 1)

	mustBeEmpty(t, xa)
	if old := storeIndex(t, xa, 0); old != Null {
		t.Fatalf("xa_store_index(0) = %v", old)
	}
	if old := storeIndex(t, xa, 1); old != Null {
		t.Fatalf("xa_store_index(1) = %v", old)
	}

	// Check that erasing the entry at 1 shrinks the tree and properly
	// marks the node as being deleted.
	ktLocked(xa, func() {
		if e := xas.Load(); e != MkValue(1) {
			t.Fatalf("xas_load(1) = %v, want value 1", e)
		}
		node := xas.Node()
		if e := node.Slot(0); e != MkValue(0) {
			t.Fatalf("xa_entry_locked(node, 0) = %v, want value 0", e)
		}
		if e := xas.Store(Null); e != MkValue(1) {
			t.Fatalf("xas_store(NULL) = %v, want value 1", e)
		}
		mustLoad(t, xa, 1, Null)
		if c := xas.Cursor(); c != CursorBounds {
			t.Fatalf("cursor after the shrink is %v, want bounds", c)
		}
		if e := node.Slot(0); e != RetryEntry {
			t.Fatalf("dead node's slot 0 = %v, want retry", e)
		}
		if e := xas.Load(); e != Null {
			t.Fatalf("xas_load after the shrink = %v, want null", e)
		}
	})
	mustLoad(t, xa, 0, MkValue(0))
	eraseIndex(t, xa, 0)
	mustBeEmpty(t, xa)

	for order := uint(0); order < 15; order++ {
		max := uint64(1)<<order - 1
		storeOrder(t, xa, 0, order, MkValue(0))
		mustLoad(t, xa, max, MkValue(0))
		mustLoad(t, xa, max+1, Null)
		node := xa.Head()
		if old := storeIndex(t, xa, ktMax); old != Null {
			t.Fatalf("order %d: xa_store_index(ULONG_MAX) = %v", order, old)
		}
		if xa.Head() == node {
			t.Fatalf("order %d: the head did not change when the tree grew", order)
		}
		mustLoad(t, xa, max+1, Null)
		eraseIndex(t, xa, ktMax)
		// Shrinking makes the very same child the head again.
		if h := xa.Head(); h != node {
			t.Fatalf("order %d: head after the shrink is %v, want the old head %v", order, h, node)
		}
		ktCheck(t, xa, "after the shrink")
		eraseIndex(t, xa, 0)
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T6 check_xas_erase: deleting entries while iterating under the lock.
func TestCheckXasErase(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 0)

	for i := uint64(0); i < 200; i++ {
		for j := i; j < 2*i+17; j++ {
			xas.Set(j)
			ktStoreLoop(&xas, mkIndex(j))
		}

		xas.Set(ktMax)
		ktStoreLoop(&xas, MkValue(0))

		ktLocked(xa, func() {
			xas.Store(Null) // still at ULONG_MAX

			xas.Set(0)
			j := i
			for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
				if e != mkIndex(j) {
					t.Fatalf("i %d: xas_for_each at %d = %v, want %v", i, xas.Index(), e, mkIndex(j))
				}
				xas.Store(Null)
				j++
			}
		})
		mustBeEmpty(t, xa)
	}
	finish(t, xa)
}

// T7 check_insert.
func TestCheckInsert(t *testing.T) {
	xa := ktNew(t, 0)

	for i := uint64(0); i < 1024; i++ {
		insertIndex(t, xa, i)
		mustLoad(t, xa, i-1, Null) // i == 0: ULONG_MAX
		mustLoad(t, xa, i+1, Null)
		eraseIndex(t, xa, i)
	}

	for i := uint(10); i < 64; i++ {
		insertIndex(t, xa, 1<<i)
		mustLoad(t, xa, 1<<i-1, Null)
		mustLoad(t, xa, 1<<i+1, Null)
		eraseIndex(t, xa, 1<<i)

		insertIndex(t, xa, 1<<i-1)
		mustLoad(t, xa, 1<<i-2, Null)
		mustLoad(t, xa, 1<<i, Null)
		eraseIndex(t, xa, 1<<i-1)
	}

	insertIndex(t, xa, ^uint64(0))
	mustLoad(t, xa, 0, Null)
	mustLoad(t, xa, ^uint64(1), Null)
	eraseIndex(t, xa, ^uint64(0))

	mustBeEmpty(t, xa)
	finish(t, xa)
}

// ktCmpXchg checks xa_cmpxchg(xa, index, old, e) == want, with no error.
func ktCmpXchg(t *testing.T, xa *XArray, index uint64, old, e, want Entry) {
	t.Helper()
	got, err := xa.CmpXchg(index, old, e)
	if err != nil || got != want {
		t.Fatalf("xa_cmpxchg(%d, %v -> %v) = %v, %v; want %v", index, old, e, got, err, want)
	}
}

// T8 check_cmpxchg.
func TestCheckCmpxchg(t *testing.T) {
	xa := ktNew(t, 0)
	FIVE := MkValue(5)
	SIX := MkValue(6)
	LOTS := MkValue(12345678)

	mustBeEmpty(t, xa)
	if old := storeIndex(t, xa, 12345678); old != Null {
		t.Fatalf("xa_store_index(12345678) = %v", old)
	}
	if err := xa.Insert(12345678, ktXA); err != ErrBusy {
		t.Fatalf("xa_insert(12345678) over an entry: %v, want ErrBusy", err)
	}
	ktCmpXchg(t, xa, 12345678, SIX, FIVE, LOTS)  // fails
	ktCmpXchg(t, xa, 12345678, LOTS, FIVE, LOTS) // succeeds
	ktCmpXchg(t, xa, 12345678, FIVE, LOTS, FIVE) // succeeds
	ktCmpXchg(t, xa, 5, FIVE, Null, Null)        // nothing there
	ktCmpXchg(t, xa, 5, Null, FIVE, Null)        // succeeds
	if err := xa.Insert(5, FIVE); err != ErrBusy {
		t.Fatalf("xa_insert(5) over FIVE: %v, want ErrBusy", err)
	}
	ktCmpXchg(t, xa, 5, FIVE, Null, FIVE)
	if err := xa.Insert(5, FIVE); err == ErrBusy {
		t.Fatalf("xa_insert(5) after the cmpxchg emptied it: ErrBusy")
	} else if err != nil {
		t.Fatalf("xa_insert(5): %v", err)
	}
	eraseIndex(t, xa, 12345678)
	eraseIndex(t, xa, 5)
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T9 check_cmpxchg_order: cmpxchg on a multi-index entry.
func TestCheckCmpxchgOrder(t *testing.T) {
	xa := ktNew(t, 0)
	FIVE := MkValue(5)
	const order = 3

	if old := storeOrder(t, xa, 0, order, FIVE); old != Null {
		t.Fatalf("xa_store_order(0, 3) = %v, want null", old)
	}

	// Check entry FIVE has the order saved (the kernel passes
	// xa_to_value(FIVE) = 5 as an index).
	if o := xa.GetOrder(FIVE.ToValue()); o != order {
		t.Fatalf("xa_get_order(5) = %d, want %d", o, order)
	}

	// Check all the tied indexes have the same entry and order.
	for i := uint64(0); i < 1<<order; i++ {
		mustLoad(t, xa, i, FIVE)
		if o := xa.GetOrder(i); o != order {
			t.Fatalf("xa_get_order(%d) = %d, want %d", i, o, order)
		}
	}

	// Ensure that nothing is stored at index '1 << order'.
	mustLoad(t, xa, 1<<order, Null)

	// Additionally, keep the node information and the order at
	// '1 << order'.
	if old := storeOrder(t, xa, 1<<order, order, FIVE); old != Null {
		t.Fatalf("xa_store_order(8, 3) = %v, want null", old)
	}
	for i := uint64(1 << order); i < 1<<order+1<<order-1; i++ {
		mustLoad(t, xa, i, FIVE)
		if o := xa.GetOrder(i); o != order {
			t.Fatalf("xa_get_order(%d) = %d, want %d", i, o, order)
		}
	}

	// Conditionally replace FIVE entry at index '0' with NULL.
	ktCmpXchg(t, xa, 0, FIVE, Null, FIVE)

	// Verify the order is lost at FIVE (and old) entries.
	if o := xa.GetOrder(FIVE.ToValue()); o != 0 {
		t.Fatalf("xa_get_order(5) after the cmpxchg = %d, want 0", o)
	}

	// Verify the order and entries are lost in all the tied indexes.
	for i := uint64(0); i < 1<<order; i++ {
		mustLoad(t, xa, i, Null)
		if o := xa.GetOrder(i); o != 0 {
			t.Fatalf("xa_get_order(%d) = %d, want 0", i, o)
		}
	}

	// Verify node and order are kept at '1 << order'.
	for i := uint64(1 << order); i < 1<<order+1<<order-1; i++ {
		mustLoad(t, xa, i, FIVE)
		if o := xa.GetOrder(i); o != order {
			t.Fatalf("xa_get_order(%d) = %d, want %d", i, o, order)
		}
	}
	ktCheck(t, xa, "after the cmpxchg")

	storeOrder(t, xa, 0, 63, Null)
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// T10 check_reserve, run on DEFINE_XARRAY (flags 0) and on
// DEFINE_XARRAY_ALLOC (xa0).
func TestCheckReserve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags Flags
	}{{"array", 0}, {"xa0", FlagAlloc}} {
		t.Run(tc.name, func(t *testing.T) { ktCheckReserve(t, tc.flags) })
	}
}

func ktCheckReserve(t *testing.T, flags Flags) {
	f := NewFaults(10)
	xa := ktNew(t, flags, WithFaults(f))

	// An array with a reserved entry is not empty.
	mustBeEmpty(t, xa)
	if err := xa.Reserve(12345678); err != nil {
		t.Fatalf("xa_reserve: %v", err)
	}
	if xa.Empty() {
		t.Fatalf("array with a reserved entry is empty")
	}
	mustLoad(t, xa, 12345678, Null)
	xa.Release(12345678)
	mustBeEmpty(t, xa)

	// Releasing a used entry does nothing. The GFP_NOWAIT store needs
	// no memory after the reserve, and returns NULL, not ZERO.
	if err := xa.Reserve(12345678); err != nil {
		t.Fatalf("xa_reserve: %v", err)
	}
	ktNoAlloc(t, f, "xa_store_index(12345678, GFP_NOWAIT) after xa_reserve", func() {
		if old := storeIndex(t, xa, 12345678); old != Null {
			t.Fatalf("xa_store_index over a reservation = %v, want null", old)
		}
	})
	xa.Release(12345678)
	eraseIndex(t, xa, 12345678)
	mustBeEmpty(t, xa)

	// cmpxchg sees a reserved entry as ZERO.
	if err := xa.Reserve(12345678); err != nil {
		t.Fatalf("xa_reserve: %v", err)
	}
	ktNoAlloc(t, f, "xa_cmpxchg(ZERO -> value, GFP_NOWAIT)", func() {
		ktCmpXchg(t, xa, 12345678, ZeroEntry, MkValue(12345678), Null)
	})
	xa.Release(12345678)
	eraseIndex(t, xa, 12345678)
	mustBeEmpty(t, xa)

	// xa_insert treats it as busy.
	if err := xa.Reserve(12345678); err != nil {
		t.Fatalf("xa_reserve: %v", err)
	}
	ktNoAlloc(t, f, "xa_insert(gfp 0) over a reservation", func() {
		if err := xa.Insert(12345678, MkValue(12345678)); err != ErrBusy {
			t.Fatalf("xa_insert over a reservation: %v, want ErrBusy", err)
		}
	})
	if xa.Empty() {
		t.Fatalf("array empty after the failed insert")
	}
	if e := xa.Erase(12345678); e != Null {
		t.Fatalf("xa_erase of a reservation = %v, want null", e)
	}
	mustBeEmpty(t, xa)

	// Can iterate through a reserved entry.
	storeIndex(t, xa, 5)
	if err := xa.Reserve(6); err != nil {
		t.Fatalf("xa_reserve(6): %v", err)
	}
	storeIndex(t, xa, 7)
	count := 0
	for index := range xa.All() {
		if index != 5 && index != 7 {
			t.Fatalf("xa_for_each visited %d, want only 5 and 7", index)
		}
		count++
	}
	if count != 2 {
		t.Fatalf("xa_for_each visited %d entries, want 2", count)
	}
	ktCheck(t, xa, "with a reserved entry")

	// If we free a reserved entry, we should be able to allocate it.
	if xa.Flags()&FlagTrackFree != 0 {
		id, err := xa.Alloc(MkValue(8), Limit{5, 10})
		if err != nil || id != 8 {
			t.Fatalf("xa_alloc(LIMIT(5, 10)) = %d, %v; want 8", id, err)
		}
		xa.Release(6)
		id, err = xa.Alloc(MkValue(6), Limit{5, 10})
		if err != nil || id != 6 {
			t.Fatalf("xa_alloc(LIMIT(5, 10)) after xa_release(6) = %d, %v; want 6", id, err)
		}
	}

	xa.Destroy()
	finish(t, xa)
}

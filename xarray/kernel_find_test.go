// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// A port of lib/test_xarray.c, part 4: searching and moving. T16-T19 of
// shared/kernel/test_xarray.md (check_find, check_find_entry,
// check_pause, check_move).

import (
	"testing"
)

// T16 check_find: check_find_1..4, check_multi_find_1 for orders 2..9,
// check_multi_find_2 and check_multi_find_3, on one array.
func TestCheckFind(t *testing.T) {
	xa := ktNew(t, 0)
	ktCheckFind1(t, xa)
	ktCheckFind2(t, xa)
	ktCheckFind3(t, xa)
	ktCheckFind4(t, xa)
	for order := uint(2); order < 10; order++ {
		ktCheckMultiFind1(t, xa, order)
	}
	ktCheckMultiFind2(t, xa)
	ktCheckMultiFind3(t, xa)
	finish(t, xa)
}

// check_find_1: xa_find with all pairs between 0 and 99 inclusive,
// starting at every index between 0 and 99.
func ktCheckFind1(t *testing.T, xa *XArray) {
	t.Helper()
	mustBeEmpty(t, xa)

	for i := uint64(0); i < 100; i++ {
		if old := storeIndex(t, xa, i); old != Null {
			t.Fatalf("xa_store_index(%d) = %v", i, old)
		}
		xa.SetMark(i, Mark0)
		for j := uint64(0); j < i; j++ {
			if old := storeIndex(t, xa, j); old != Null {
				t.Fatalf("xa_store_index(%d) = %v", j, old)
			}
			xa.SetMark(j, Mark0)
			for k := uint64(0); k < 100; k++ {
				for _, filter := range []Mark{Present, Mark0} {
					index := k
					e := xa.Find(&index, ktMax, filter)
					switch {
					case k <= j:
						if index != j {
							t.Fatalf("entries %d,%d: xa_find(&%d, filter %d) set index %d, want %d", j, i, k, filter, index, j)
						}
					case k <= i:
						if index != i {
							t.Fatalf("entries %d,%d: xa_find(&%d, filter %d) set index %d, want %d", j, i, k, filter, index, i)
						}
					default:
						if e != Null {
							t.Fatalf("entries %d,%d: xa_find(&%d, filter %d) = %v, want null", j, i, k, filter, e)
						}
					}
				}
			}
			eraseIndex(t, xa, j)
			if xa.GetMark(j, Mark0) {
				t.Fatalf("mark 0 survives xa_erase_index(%d)", j)
			}
			if !xa.GetMark(i, Mark0) {
				t.Fatalf("erasing %d cleared mark 0 of %d", j, i)
			}
		}
		eraseIndex(t, xa, i)
		if xa.GetMark(i, Mark0) {
			t.Fatalf("mark 0 survives xa_erase_index(%d)", i)
		}
	}
	mustBeEmpty(t, xa)
}

// check_find_2: xa_for_each. As in the kernel, the store reuses the
// loop's index variable, which xa_for_each leaves at the last index it
// found: 0. So index 0 is stored 1024 times, and each walk sees just it.
func ktCheckFind2(t *testing.T, xa *XArray) {
	t.Helper()
	var index uint64
	for range xa.All() {
		t.Fatalf("xa_for_each on an empty array found an entry")
	}

	for i := 0; i < 1024; i++ {
		storeIndex(t, xa, index)
		j := uint64(0)
		for idx, e := range xa.All() {
			index = idx
			if mkIndex(index) != e {
				t.Fatalf("xa_for_each at %d: %v, want %v", index, e, mkIndex(index))
			}
			if index != j {
				t.Fatalf("xa_for_each visited %d, want %d", index, j)
			}
			j++
		}
	}
	xa.Destroy()
}

// check_find_3: a marked walk that starts beyond its max leaves the
// cursor at XAS_RESTART.
func ktCheckFind3(t *testing.T, xa *XArray) {
	t.Helper()
	xas := NewState(xa, 0)

	for i := uint64(0); i < 100; i++ {
		for j := uint64(0); j < 100; j++ {
			ktRCU(xa, func() {
				for k := uint64(0); k < 100; k++ {
					xas.Set(j)
					for e := xas.FindMarked(k, Mark0); e != Null; e = xas.NextMarked(k, Mark0) {
					}
					if j > k && xas.Cursor() != CursorRestart {
						t.Fatalf("entries 0..%d: marked walk from %d to max %d left the cursor at %v, want restart",
							i, j, k, xas.Cursor())
					}
				}
			})
		}
		storeIndex(t, xa, i)
		xa.SetMark(i, Mark0)
	}
	xa.Destroy()
}

// check_find_4: xa_find_after does not wrap past ULONG_MAX.
func ktCheckFind4(t *testing.T, xa *XArray) {
	t.Helper()
	index := uint64(0)

	storeIndex(t, xa, ktMax)

	if e := xa.FindAfter(&index, ktMax, Present); e != mkIndex(ktMax) {
		t.Fatalf("xa_find_after(&0) = %v, want %v", e, mkIndex(ktMax))
	}
	if index != ktMax {
		t.Fatalf("xa_find_after(&0) set index %#x, want ULONG_MAX", index)
	}
	// index+1 wraps to 0: nothing more.
	if e := xa.FindAfter(&index, ktMax, Present); e != Null {
		t.Fatalf("xa_find_after(&ULONG_MAX) = %v, want null", e)
	}

	eraseIndex(t, xa, ktMax)
}

// check_multi_find_1: xa_find and xa_find_after around an order entry.
func ktCheckMultiFind1(t *testing.T, xa *XArray, order uint) {
	t.Helper()
	multi := uint64(3) << order
	next := uint64(4) << order

	storeOrder(t, xa, multi, order, MkValue(multi))
	if old := storeIndex(t, xa, next); old != Null {
		t.Fatalf("xa_store_index(%d) = %v", next, old)
	}
	if old := storeIndex(t, xa, next+1); old != Null {
		t.Fatalf("xa_store_index(%d) = %v", next+1, old)
	}

	index := uint64(0)
	if e := xa.Find(&index, ktMax, Present); e != MkValue(multi) || index != multi {
		t.Fatalf("order %d: xa_find(&0) = %v at %d, want %v at %d", order, e, index, MkValue(multi), multi)
	}
	// From inside the entry: the entry, at an index that need not be
	// aligned.
	index = multi + 1
	if e := xa.Find(&index, ktMax, Present); e != MkValue(multi) {
		t.Fatalf("order %d: xa_find(&%d) = %v, want %v", order, multi+1, e, MkValue(multi))
	}
	if index < multi || index >= next {
		t.Fatalf("order %d: xa_find(&%d) set index %d, outside [%d, %d)", order, multi+1, index, multi, next)
	}
	if e := xa.FindAfter(&index, ktMax, Present); e != MkValue(next) || index != next {
		t.Fatalf("order %d: xa_find_after = %v at %d, want %v at %d", order, e, index, MkValue(next), next)
	}
	if e := xa.FindAfter(&index, next, Present); e != Null || index != next {
		t.Fatalf("order %d: xa_find_after(max %d) = %v at %d, want null with index %d", order, next, e, index, next)
	}

	eraseIndex(t, xa, multi)
	eraseIndex(t, xa, next)
	eraseIndex(t, xa, next+1)
	mustBeEmpty(t, xa)
}

// check_multi_find_2: erasing the multi-index entry from inside an
// xas_for_each that started inside it; the loop must end sanely.
func ktCheckMultiFind2(t *testing.T, xa *XArray) {
	t.Helper()
	for i := uint(0); i < 10; i++ {
		index := uint64(1) << i
		for j := uint64(0); j < index; j++ {
			xas := NewState(xa, j+index)
			storeIndex(t, xa, index-1)
			storeOrder(t, xa, index, i, mkIndex(index))
			ktRCU(xa, func() {
				for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
					// A second visit would fail here: Erase returns NULL.
					eraseIndex(t, xa, index)
				}
			})
			eraseIndex(t, xa, index-1)
			mustBeEmpty(t, xa)
		}
	}
}

// check_multi_find_3: xa_find_after must not return the entry that
// covers index again (the sibling-skip check).
func ktCheckMultiFind3(t *testing.T, xa *XArray) {
	t.Helper()
	for order := uint(5); order < 64; order++ {
		index := uint64(1) << (order - 5)

		mustBeEmpty(t, xa)
		storeOrder(t, xa, 0, order-4, mkIndex(0))
		if e := xa.FindAfter(&index, ktMax, Present); e != Null {
			t.Fatalf("order %d: xa_find_after(&%#x) = %v at %#x, want null", order-4, uint64(1)<<(order-5), e, index)
		}
		eraseIndex(t, xa, 0)
	}
}

// ktFindEntry is xa_find_entry, the find_swap_entry() pattern of
// mm/shmem.c: xas_for_each with xas_retry, pausing every 4 entries. It
// returns the index of item, or (unsigned long)-1.
func ktFindEntry(t *testing.T, xa *XArray, item Entry) uint64 {
	t.Helper()
	xas := NewState(xa, 0)
	checked := 0
	var e Entry
	ktRCU(xa, func() {
		steps := 0
		for e = xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			if steps++; steps > 1<<20 {
				t.Fatalf("xa_find_entry(%v) does not end", item)
			}
			if xas.Retry(e) {
				continue
			}
			if e == item {
				break
			}
			checked++
			if checked%4 != 0 {
				continue
			}
			xas.Pause()
		}
	})
	if e != Null {
		return xas.Index()
	}
	return ^uint64(0)
}

// T17 check_find_entry.
func TestCheckFindEntry(t *testing.T) {
	xa := ktNew(t, 0)

	for order := uint(0); order < 20; order++ {
		for offset := uint64(0); offset < uint64(1)<<(order+3); offset += uint64(1) << order {
			for index := uint64(0); index < uint64(1)<<(order+5); index += uint64(1) << order {
				storeOrder(t, xa, index, order, mkIndex(index))
				mustLoad(t, xa, index, mkIndex(index))
				if got := ktFindEntry(t, xa, mkIndex(index)); got != index {
					t.Fatalf("order %d: xa_find_entry(%v) = %#x, want %#x", order, mkIndex(index), got, index)
				}
			}
			if got := ktFindEntry(t, xa, ktXA); got != ^uint64(0) {
				t.Fatalf("order %d: xa_find_entry(a pointer never stored) = %#x, want -1", order, got)
			}
			xa.Destroy()
		}
	}

	if got := ktFindEntry(t, xa, ktXA); got != ^uint64(0) {
		t.Fatalf("empty array: xa_find_entry = %#x, want -1", got)
	}
	storeIndex(t, xa, ktMax)
	if got := ktFindEntry(t, xa, ktXA); got != ^uint64(0) {
		t.Fatalf("xa_find_entry(a pointer never stored) = %#x, want -1", got)
	}
	// Found at ULONG_MAX, which is (unsigned long)-1.
	if got := ktFindEntry(t, xa, mkIndex(ktMax)); got != ^uint64(0) {
		t.Fatalf("xa_find_entry(xa_mk_index(ULONG_MAX)) = %#x, want ULONG_MAX", got)
	}
	eraseIndex(t, xa, ktMax)
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// ktWalk runs xas_for_each from the State's position under RCU, calling
// check on every entry with the running count, and xas_pause after each
// if pause. It fails the test if the walk does not end after limit
// entries, and returns the count.
func ktWalk(t *testing.T, xas *State, pause bool, limit int, check func(e Entry, count int)) int {
	t.Helper()
	count := 0
	ktRCU(xas.Array(), func() {
		for e := xas.Find(ktMax); e != Null; e = xas.NextEntry(ktMax) {
			if count >= limit {
				t.Fatalf("the walk goes on past %d entries (at %#x)", limit, xas.Index())
			}
			check(e, count)
			count++
			if pause {
				xas.Pause()
			}
		}
	})
	return count
}

// T18 check_pause. The first part (orders 0..63 from 1, walked with and
// without xas_pause) is in every release's test. c9ba5249ef8b (v6.14),
// which made xas_pause align the index down to the node's shift before
// stepping past the entry, added the rest: the reverse layout, and the
// walk with pauses from an index inside its first entry. Only that last
// walk depends on the fix; v6.1 to v6.13 (VariantPauseUnmasked) are
// checked for the entry they miss.
func TestCheckPause(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 0)
	const orderLimit = 64

	// Order k at 2^k for k = 0..63; the last covers 2^63..ULONG_MAX.
	index := uint64(1)
	for order := uint(0); order < orderLimit; order++ {
		if old := storeOrder(t, xa, index, order, mkIndex(index)); old != Null {
			t.Fatalf("xa_store_order(%#x, %d) = %v, want null", index, order, old)
		}
		index += uint64(1) << order
	}
	ktCheck(t, xa, "orders 0..63 from 1")

	inOrder := func(e Entry, count int) {
		if e != mkIndex(uint64(1)<<count) {
			t.Fatalf("entry %d = %v, want %v", count, e, mkIndex(uint64(1)<<count))
		}
	}
	if n := ktWalk(t, &xas, false, orderLimit, inOrder); n != orderLimit {
		t.Fatalf("xas_for_each saw %d entries, want %d", n, orderLimit)
	}
	xas.Set(0)
	if n := ktWalk(t, &xas, true, orderLimit, inOrder); n != orderLimit {
		t.Fatalf("xas_for_each with xas_pause saw %d entries, want %d", n, orderLimit)
	}

	xa.Destroy()

	// Reverse: order 63 at 0, order 62 at 2^63, ..., order 1 at
	// ULONG_MAX-3 and order 0 at ULONG_MAX-1.
	index = 0
	for order := orderLimit - 1; order >= 0; order-- {
		if old := storeOrder(t, xa, index, uint(order), mkIndex(index)); old != Null {
			t.Fatalf("xa_store_order(%#x, %d) = %v, want null", index, order, old)
		}
		index += uint64(1) << order
	}
	ktCheck(t, xa, "orders 63..0 from 0")

	index = 0
	reverse := func(e Entry, count int) {
		if e != mkIndex(index) {
			t.Fatalf("entry %d = %v, want %v", count, e, mkIndex(index))
		}
		index += uint64(1) << (orderLimit - count - 1)
	}
	xas.Set(0)
	if n := ktWalk(t, &xas, false, orderLimit, reverse); n != orderLimit {
		t.Fatalf("xas_for_each saw %d entries, want %d", n, orderLimit)
	}

	// Test unaligned index: 1, inside the order-63 entry. Each pause
	// resumes at the first index of the next entry, and the walk sees
	// all 64 entries (v6.14 on). Before c9ba5249ef8b the start's low
	// bit survives every pause, so the walk resumes one past the start
	// of each entry: harmless while the next entry has more than one
	// index, but the pause after the order-1 entry at ULONG_MAX-3
	// resumes at ULONG_MAX, past the last entry (order 0 at
	// ULONG_MAX-1), and the walk ends with 63.
	index = 0
	want, resumedAt := orderLimit, uint64(0)
	if oldRelease(VariantPauseUnmasked) {
		want = orderLimit - 1
	}
	xas.Set(1 % (uint64(1) << (orderLimit - 1)))
	n := ktWalk(t, &xas, true, orderLimit, func(e Entry, count int) {
		reverse(e, count)
		resumedAt = xas.Index() // the walk pauses after this
	})
	if n != want {
		t.Fatalf("xas_for_each from 1 with xas_pause saw %d entries, want %d (release variants %#x)",
			n, want, uint32(releaseVariant()))
	}
	if oldRelease(VariantPauseUnmasked) && resumedAt != ktMax-2 {
		t.Fatalf("before c9ba5249ef8b the walk should find its last entry (order 1 at ULONG_MAX-3) at ULONG_MAX-2, "+
			"one past its start; found it at %#x", resumedAt)
	}

	xa.Destroy()
	finish(t, xa)
}

// T19 check_move: xas_next and xas_prev, then check_move_tiny,
// check_move_max and check_move_small.
func TestCheckMove(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 1<<16-1)
	var i uint64

	for i = 0; i < 1<<16; i++ {
		if old := storeIndex(t, xa, i); old != Null {
			t.Fatalf("xa_store_index(%d) = %v", i, old)
		}
	}

	ktRCU(xa, func() {
		// The first xas_prev on an unwalked xas loads without moving.
		for {
			e := xas.Prev()
			i--
			if e != mkIndex(i) || xas.Index() != i {
				t.Fatalf("xas_prev: %v at %d, want %v at %d", e, xas.Index(), mkIndex(i), i)
			}
			if i == 0 {
				break
			}
		}
		if e := xas.Prev(); e != Null {
			t.Fatalf("xas_prev from 0 = %v, want null", e)
		}
		if xas.Index() != ktMax {
			t.Fatalf("xas_prev from 0 moved to %#x, want ULONG_MAX", xas.Index())
		}
		for {
			e := xas.Next()
			if e != mkIndex(i) || xas.Index() != i {
				t.Fatalf("xas_next: %v at %d, want %v at %d", e, xas.Index(), mkIndex(i), i)
			}
			i++
			if i >= 1<<16 {
				break
			}
		}
	})

	for i = 1 << 8; i < 1<<15; i++ {
		eraseIndex(t, xa, i)
	}

	i = xas.Index()

	present := func(i uint64) bool { return i < 1<<8 || i >= 1<<15 }
	ktRCU(xa, func() {
		for {
			e := xas.Prev()
			i--
			if present(i) && e != mkIndex(i) || !present(i) && e != Null {
				t.Fatalf("xas_prev after the erase: %v at %d", e, i)
			}
			if i != xas.Index() {
				t.Fatalf("xas_prev: index %d, want %d", xas.Index(), i)
			}
			if i == 0 {
				break
			}
		}
		if e := xas.Prev(); e != Null {
			t.Fatalf("xas_prev from 0 = %v, want null", e)
		}
		if xas.Index() != ktMax {
			t.Fatalf("xas_prev from 0 moved to %#x, want ULONG_MAX", xas.Index())
		}
		for {
			e := xas.Next()
			if present(i) && e != mkIndex(i) || !present(i) && e != Null {
				t.Fatalf("xas_next after the erase: %v at %d", e, i)
			}
			if i != xas.Index() {
				t.Fatalf("xas_next: index %d, want %d", xas.Index(), i)
			}
			i++
			if i >= 1<<16 {
				break
			}
		}
	})

	xa.Destroy()

	ktCheckMoveTiny(t, xa)
	ktCheckMoveMax(t, xa)

	for i := uint(0); i < 16; i++ {
		ktCheckMoveSmall(t, xa, uint64(1)<<i)
	}
	for i := uint(2); i < 16; i++ {
		ktCheckMoveSmall(t, xa, uint64(1)<<i-1)
	}
	finish(t, xa)
}

func ktCheckMoveTiny(t *testing.T, xa *XArray) {
	t.Helper()
	xas := NewState(xa, 0)

	mustBeEmpty(t, xa)
	ktRCU(xa, func() {
		if e := xas.Next(); e != Null {
			t.Fatalf("empty array: xas_next = %v", e)
		}
		if e := xas.Next(); e != Null {
			t.Fatalf("empty array: second xas_next = %v", e)
		}
	})
	storeIndex(t, xa, 0)
	ktRCU(xa, func() {
		xas.Set(0)
		if e := xas.Next(); e != mkIndex(0) {
			t.Fatalf("xas_next at 0 = %v, want value 0", e)
		}
		if e := xas.Next(); e != Null {
			t.Fatalf("xas_next after 0 = %v, want null", e)
		}
		xas.Set(0)
		if e := xas.Prev(); e != mkIndex(0) {
			t.Fatalf("xas_prev at 0 = %v, want value 0", e)
		}
		if e := xas.Prev(); e != Null {
			t.Fatalf("xas_prev before 0 = %v, want null", e)
		}
	})
	eraseIndex(t, xa, 0)
	mustBeEmpty(t, xa)
}

func ktCheckMoveMax(t *testing.T, xa *XArray) {
	t.Helper()
	xas := NewState(xa, 0)

	storeIndex(t, xa, ktMax)
	ktRCU(xa, func() {
		if e := xas.Find(ktMax); e != mkIndex(ktMax) {
			t.Fatalf("xas_find = %v, want %v", e, mkIndex(ktMax))
		}
		if e := xas.Find(ktMax); e != Null {
			t.Fatalf("second xas_find = %v, want null", e)
		}
	})

	xas.Set(0)
	ktRCU(xa, func() {
		if e := xas.Find(ktMax); e != mkIndex(ktMax) {
			t.Fatalf("xas_find = %v, want %v", e, mkIndex(ktMax))
		}
		// xas_pause at ULONG_MAX must not wrap to 0.
		xas.Pause()
		if e := xas.Find(ktMax); e != Null {
			t.Fatalf("xas_find after xas_pause at ULONG_MAX = %v at %#x, want null", e, xas.Index())
		}
	})

	eraseIndex(t, xa, ktMax)
	mustBeEmpty(t, xa)
}

func ktCheckMoveSmall(t *testing.T, xa *XArray, idx uint64) {
	t.Helper()
	xas := NewState(xa, 0)
	var i uint64

	storeIndex(t, xa, 0)
	storeIndex(t, xa, idx)

	ktRCU(xa, func() {
		for i = 0; i < idx*4; i++ {
			e := xas.Next()
			if i <= idx && xas.Cursor() == CursorRestart {
				t.Fatalf("idx %d: xas_next to %d left the cursor at restart", idx, i)
			}
			if xas.Index() != i {
				t.Fatalf("idx %d: xas_next: index %d, want %d", idx, xas.Index(), i)
			}
			if (i == 0 || i == idx) && e != mkIndex(i) || i != 0 && i != idx && e != Null {
				t.Fatalf("idx %d: xas_next at %d = %v", idx, i, e)
			}
		}
		xas.Next()
		if xas.Index() != i {
			t.Fatalf("idx %d: xas_next: index %d, want %d", idx, xas.Index(), i)
		}

		for {
			e := xas.Prev()
			i--
			if i <= idx && xas.Cursor() == CursorRestart {
				t.Fatalf("idx %d: xas_prev to %d left the cursor at restart", idx, i)
			}
			if xas.Index() != i {
				t.Fatalf("idx %d: xas_prev: index %d, want %d", idx, xas.Index(), i)
			}
			if (i == 0 || i == idx) && e != mkIndex(i) || i != 0 && i != idx && e != Null {
				t.Fatalf("idx %d: xas_prev at %d = %v", idx, i, e)
			}
			if i == 0 {
				break
			}
		}

		xas.Set(ktMax)
		if e := xas.Next(); e != Null {
			t.Fatalf("idx %d: xas_next from a fresh ULONG_MAX = %v, want null", idx, e)
		}
		if xas.Index() != ktMax {
			t.Fatalf("idx %d: xas_next from a fresh ULONG_MAX moved to %#x", idx, xas.Index())
		}
		if e := xas.Next(); e != MkValue(0) {
			t.Fatalf("idx %d: xas_next from ULONG_MAX = %v, want value 0", idx, e)
		}
		if xas.Index() != 0 {
			t.Fatalf("idx %d: xas_next from ULONG_MAX moved to %#x, want 0", idx, xas.Index())
		}
		if e := xas.Prev(); e != Null {
			t.Fatalf("idx %d: xas_prev from 0 = %v, want null", idx, e)
		}
		if xas.Index() != ktMax {
			t.Fatalf("idx %d: xas_prev from 0 moved to %#x, want ULONG_MAX", idx, xas.Index())
		}
	})

	eraseIndex(t, xa, 0)
	eraseIndex(t, xa, idx)
	mustBeEmpty(t, xa)
}

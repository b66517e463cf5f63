// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// A port of lib/test_xarray.c, part 6: splitting and the node-update
// callback. T23 and T25 of shared/kernel/test_xarray.md (check_split,
// check_workingset).

import (
	"slices"
	"testing"
)

// T23 check_split: for every order below 2 * XA_CHUNK_SHIFT and every
// smaller new order, at index 0, 1 << order and 3 << order:
// check_split_1 (xas_split_alloc + xas_split) and check_split_2
// (6.15: xas_try_split).
//
// Which release's test says what:
//   - check_split_1's loads and mark 0 are in every release's test.
//   - Its mark 1 count came with 2a0774c2886d (v6.9, node_mark_slots).
//     The test as that commit wrote it re-stores the pieces one index
//     each (__xa_store), which leaves a child node's marks as xas_split
//     set them. The newer form this port follows re-stores each piece
//     at its order (xas_set_order, then xas_store), whose
//     xas_squash_marks folds marks on sibling slots into the canonical
//     one: so the count after the stores holds in every release, and
//     the difference shows right after xas_split. ktSplitMarks (added)
//     checks the marks there, in their v6.1 and v6.6 form too
//     (VariantSplitMarksAllSlots).
//   - check_split_2 came with xas_try_split (3fec86f8aa8c, v6.15). No
//     older release has the function; the model's TrySplit is the
//     v6.15 one in every profile (it marks canonical slots whatever
//     VariantSplitMarksAllSlots says), so the check runs under every
//     profile.
//   - No release's test splits an entry of order 2 * XA_CHUNK_SHIFT,
//     the case whose xas_split_alloc guard 97db889b961e (v6.14)
//     tightened; ktCheckSplitGuard (added) checks it, in its v6.1 to
//     v6.13 form too (VariantSplitAllocLoose).
func TestCheckSplit(t *testing.T) {
	f := NewFaults(23)
	xa := ktNew(t, 0, WithFaults(f))

	mustBeEmpty(t, xa)
	for order := uint(1); order < 2*chunkShift; order++ {
		for newOrder := uint(0); newOrder < order; newOrder++ {
			ktCheckSplit1(t, xa, f, 0, order, newOrder)
			ktCheckSplit1(t, xa, f, 1<<order, order, newOrder)
			ktCheckSplit1(t, xa, f, 3<<order, order, newOrder)

			ktCheckSplit2(t, xa, f, 0, order, newOrder)
			ktCheckSplit2(t, xa, f, 1<<order, order, newOrder)
			ktCheckSplit2(t, xa, f, 3<<order, order, newOrder)
		}
	}
	ktCheckSplitGuard(t, xa, 0)
	ktCheckSplitGuard(t, xa, 3)
	finish(t, xa)
}

// ktSplitMarks (added to check_split_1) walks mark 1 right after
// xas_split, before the pieces are re-stored: xas_for_each_marked from
// index finds the 2^(order-newOrder) pieces, none internal (v6.9 on).
// Before 2a0774c2886d (VariantSplitMarksAllSlots) a child node that
// xas_split installs gets the mark in all 64 slots (node_mark_all), and
// a split into pieces of more than one slot puts siblings among them:
// the walk yields every slot of the entry, 2^order, and all but the
// 2^(order-newOrder) canonical ones are sibling entries. A split in
// place (no child node) marks canonical slots in every release. Lock
// held.
func ktSplitMarks(t *testing.T, xa *XArray, index uint64, order, newOrder uint) {
	t.Helper()
	pieces := 1 << (order - newOrder)
	wantSiblings := 0
	childNodes := newOrder/chunkShift < order/chunkShift
	if oldRelease(VariantSplitMarksAllSlots) && childNodes && newOrder%chunkShift != 0 {
		wantSiblings = 1<<order - pieces
	}
	xas := NewState(xa, index)
	entries, siblings := 0, 0
	ktRCU(xa, func() {
		for e := xas.FindMarked(ktMax, Mark1); e != Null; e = xas.NextMarked(ktMax, Mark1) {
			switch {
			case e.IsSibling():
				siblings++
			case e == ktXA && xas.Index()&(uint64(1)<<newOrder-1) == 0:
				entries++
			default:
				t.Fatalf("index %d order %d -> %d: marked walk after xas_split returned %v at %d",
					index, order, newOrder, e, xas.Index())
			}
			if entries+siblings > 1<<order {
				t.Fatalf("index %d order %d -> %d: marked walk after xas_split goes on past %d entries",
					index, order, newOrder, 1<<order)
			}
		}
	})
	if entries != pieces || siblings != wantSiblings {
		t.Fatalf("index %d order %d -> %d: marked walk after xas_split: %d pieces and %d siblings, want %d and %d "+
			"(release variants %#x)", index, order, newOrder, entries, siblings, pieces, wantSiblings, uint32(releaseVariant()))
	}
}

// ktCheckSplitGuard (added) splits an entry of order 12 into entries of
// newOrder < 6: two new levels, one more than xas_split_alloc supports.
// Since 97db889b961e (v6.14) its guard (xa_shift + 12 <= order) refuses:
// ENOMEM, nothing preallocated, the entry whole. Before it
// (VariantSplitAllocLoose, guard <) the split gets one node, and
// xas_split installs it one level down only: 64 >> newOrder entries of
// order newOrder + 6, each with the entry's marks; in v6.1 and v6.6
// (VariantSplitMarksAllSlots) the node's sibling slots are marked too,
// and the marked walk yields them.
func ktCheckSplitGuard(t *testing.T, xa *XArray, newOrder uint) {
	t.Helper()
	const order = 2 * chunkShift
	storeOrder(t, xa, 0, order, ktXA)
	xa.SetMark(0, Mark1)

	xas := NewStateOrder(xa, 0, newOrder)
	xas.SplitAlloc(ktXA, order)
	gotOrder := order
	if !oldRelease(VariantSplitAllocLoose) {
		if err := xas.Error(); err != ErrNoMemory || xas.alloc != 0 {
			t.Fatalf("xas_split_alloc order %d -> %d: error %v, node %d preallocated; want ErrNoMemory (ENOMEM) and none",
				order, newOrder, err, xas.alloc)
		}
	} else {
		if err := xas.Error(); err != nil || xas.alloc == 0 || nodeAt(xas.alloc).parentNode() != 0 {
			t.Fatalf("xas_split_alloc order %d -> %d before 97db889b961e: error %v, chain %d; want one node",
				order, newOrder, err, xas.alloc)
		}
		ktLocked(xa, func() { xas.Split(ktXA, order) })
		gotOrder = int(newOrder) + chunkShift
	}
	ktCheck(t, xa, "after the split of two levels")
	for _, i := range []uint64{0, 1, 1<<order - 1} {
		if got := xa.GetOrder(i); got != gotOrder {
			t.Fatalf("split order %d -> %d: GetOrder(%d) = %d, want %d (release variants %#x)",
				order, newOrder, i, got, gotOrder, uint32(releaseVariant()))
		}
	}
	wantSiblings := 0
	if gotOrder != order && oldRelease(VariantSplitMarksAllSlots) && newOrder != 0 {
		wantSiblings = chunkSize - chunkSize>>newOrder
	}
	found, siblings := 0, 0
	for _, e := range xa.Marked(Mark1) {
		switch {
		case e.IsSibling():
			siblings++
		case e == ktXA:
			found++
		default:
			t.Fatalf("split order %d -> %d: marked walk yields %v", order, newOrder, e)
		}
		if found+siblings > chunkSize {
			t.Fatalf("split order %d -> %d: marked walk goes on past %d entries", order, newOrder, chunkSize)
		}
	}
	if want := 1 << (order - gotOrder); found != want || siblings != wantSiblings {
		t.Fatalf("split order %d -> %d: the marked walk yields %d entries and %d siblings, want %d and %d (release variants %#x)",
			order, newOrder, found, siblings, want, wantSiblings, uint32(releaseVariant()))
	}
	xas.Destroy()
	xa.Destroy()
}

// ktSplitStores re-stores every piece of the split entry with its own
// value: xas_set_order(&xas, index + i, new_order) + xas_store. The
// kernel's comment: "Don't worry about -ENOMEM, xas_split_alloc() and
// xas_split() ensures that all nodes are allocated"; in the userspace
// harness an allocation under the lock would fail, so the stores run
// with every allocation failing and must not try one. Lock held.
func ktSplitStores(t *testing.T, xas *State, index uint64, order, newOrder uint) {
	t.Helper()
	for i := uint64(0); i < uint64(1)<<order; i += uint64(1) << newOrder {
		xas.SetOrder(index+i, newOrder)
		xas.Store(mkIndex(index + i))
		if err := xas.Error(); err != nil {
			t.Fatalf("index %d order %d -> %d: storing piece %d: %v", index, order, newOrder, index+i, err)
		}
	}
}

// ktSplitResult checks the array after the pieces of a split entry were
// re-stored, as check_split_1 and check_split_2 do, and erases the pieces.
func ktSplitResult(t *testing.T, xa *XArray, index uint64, order, newOrder uint) {
	t.Helper()
	xas := NewStateOrder(xa, index, newOrder)
	ktCheck(t, xa, "after the split")

	for i := uint64(0); i < uint64(1)<<order; i++ {
		val := index + i&^(uint64(1)<<newOrder-1)
		if e := xa.Load(index + i); e != mkIndex(val) {
			t.Fatalf("index %d order %d -> %d: Load(%d) = %v, want %v", index, order, newOrder, index+i, e, mkIndex(val))
		}
	}

	xa.SetMark(index, Mark0)
	if !xa.GetMark(index, Mark0) {
		t.Fatalf("index %d order %d -> %d: mark 0 not set on the first piece", index, order, newOrder)
	}

	// Mark 1 of the old entry was copied to every piece.
	xas.SetOrder(index, 0)
	found := 0
	ktRCU(xa, func() {
		for e := xas.FindMarked(ktMax, Mark1); e != Null; e = xas.NextMarked(ktMax, Mark1) {
			found++
			if e.IsInternal() {
				t.Fatalf("index %d order %d -> %d: marked walk returned internal entry %v at %d",
					index, order, newOrder, e, xas.Index())
			}
		}
	})
	if found != 1<<(order-newOrder) {
		t.Fatalf("index %d order %d -> %d: %d pieces have mark 1, want %d", index, order, newOrder, found, 1<<(order-newOrder))
	}

	for i := uint64(0); i < uint64(1)<<order; i += uint64(1) << newOrder {
		xa.Erase(index + i)
	}
	mustBeEmpty(t, xa)
}

// check_split_1: xas_split_alloc outside the lock, xas_split under it.
func ktCheckSplit1(t *testing.T, xa *XArray, f *Faults, index uint64, order, newOrder uint) {
	t.Helper()
	xas := NewStateOrder(xa, index, newOrder)

	storeOrder(t, xa, index, order, ktXA)
	xa.SetMark(index, Mark1)

	xas.SplitAlloc(ktXA, order)
	ktNoAlloc(t, f, "xas_split and the stores of the pieces", func() {
		ktLocked(xa, func() {
			xas.Split(ktXA, order)
			ktSplitMarks(t, xa, index, order, newOrder)
			ktSplitStores(t, &xas, index, order, newOrder)
		})
	})

	ktSplitResult(t, xa, index, order, newOrder)
	xa.Destroy()
}

// check_split_2 (6.15): xas_try_split, with one node preallocated. A
// split that would need two or more nodes gives -EINVAL:
// new_order / 6 < order / 6 && new_order < order - 1.
func ktCheckSplit2(t *testing.T, xa *XArray, f *Faults, index uint64, order, newOrder uint) {
	t.Helper()
	xas := NewStateOrder(xa, index, newOrder)

	storeOrder(t, xa, index, order, ktXA)
	xa.SetMark(index, Mark1)

	// Allocate a node for xas_try_split().
	xas.SetErr(ErrNoMemory)
	if !xas.Nomem() {
		t.Fatalf("index %d order %d -> %d: xas_nomem after -ENOMEM = false, want true", index, order, newOrder)
	}

	einval := newOrder/chunkShift < order/chunkShift && newOrder < order-1
	ktNoAlloc(t, f, "xas_try_split with a preallocated node", func() {
		ktLocked(xa, func() {
			xas.TrySplit(ktXA, order)
			if einval {
				if err := xas.Error(); err != ErrInvalid {
					t.Fatalf("index %d order %d -> %d: xas_try_split error %v, want ErrInvalid (EINVAL)",
						index, order, newOrder, err)
				}
				return
			}
			if err := xas.Error(); err != nil {
				t.Fatalf("index %d order %d -> %d: xas_try_split: %v", index, order, newOrder, err)
			}
			ktSplitStores(t, &xas, index, order, newOrder)
		})
	})
	if !einval {
		ktSplitResult(t, xa, index, order, newOrder)
	} else {
		// (Added: a refused split leaves the entry as it was.)
		ktCheck(t, xa, "after a refused xas_try_split")
		mustLoad(t, xa, index+uint64(1)<<order-1, ktXA)
	}

	xas.Destroy()
	xa.Destroy()
}

// ktShadowNodes is the kernel test's shadow_nodes list: the nodes whose
// entries are all values, as the workingset code tracks them; first is
// the most recently added (list_add).
type ktShadowNodes struct{ list []Node }

func (s *ktShadowNodes) empty() bool { return len(s.list) == 0 }

func (s *ktShadowNodes) contains(n Node) bool { return slices.Contains(s.list, n) }

func (s *ktShadowNodes) remove(n Node) {
	if i := slices.Index(s.list, n); i >= 0 {
		s.list = slices.Delete(s.list, i, i+1)
	}
}

// update is test_update_node: a node goes on the list when it holds
// only values, and off it otherwise.
func (s *ktShadowNodes) update(n Node) {
	if n.Count() != 0 && n.Count() == n.NrValues() {
		if !s.contains(n) {
			s.list = slices.Insert(s.list, 0, n)
		}
	} else {
		s.remove(n)
	}
}

// shadow_remove: delete every listed node with xa_delete_node.
func (s *ktShadowNodes) shadowRemove(t *testing.T, xa *XArray) {
	t.Helper()
	ktLocked(xa, func() {
		for !s.empty() {
			n := s.list[0]
			if !n.BelongsTo(xa) {
				t.Fatalf("shadow node %v does not belong to the array (node->array != xa)", n)
			}
			s.remove(n)
			xa.DeleteNodeLocked(n, s.update)
		}
	})
}

// T25 check_workingset(array, index) for index 0, 64 and 4096: the
// update callback keeps the shadow-node list.
func TestCheckWorkingset(t *testing.T) {
	xa := ktNew(t, 0)
	var shadow ktShadowNodes

	for _, index := range []uint64{0, 64, 4096} {
		xas := NewState(xa, index)
		xas.SetUpdate(shadow.update)

		for {
			ktLocked(xa, func() {
				xas.Store(MkValue(0))
				xas.Next()
				xas.Store(MkValue(1))
			})
			if !xas.Nomem() {
				break
			}
		}
		// The leaf holds two values and nothing else.
		if shadow.empty() {
			t.Fatalf("index %d: shadow list empty after storing two values", index)
		}

		ktLocked(xa, func() {
			xas.Next()
			xas.Store(ktXA) // the kernel stores &xas
			// A pointer among the values: off the list.
			if !shadow.empty() {
				t.Fatalf("index %d: shadow list not empty after storing a pointer: %v", index, shadow.list)
			}

			xas.Store(MkValue(2))
		})
		// Values only again.
		if shadow.empty() {
			t.Fatalf("index %d: shadow list empty after replacing the pointer by a value", index)
		}
		ktCheck(t, xa, "with a shadow node")

		shadow.shadowRemove(t, xa)
		if !shadow.empty() {
			t.Fatalf("index %d: shadow list not empty after shadow_remove: %v", index, shadow.list)
		}
		mustBeEmpty(t, xa)
	}
	finish(t, xa)
}

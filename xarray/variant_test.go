// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Specifications of the kernel-release variants: each test runs one
// scenario under mainline (the zero Variant) and under the variant, and
// asserts both what mainline does and the old behaviour the variant
// selects (kernel/releases.md, behaviours 2, 3, 4a and 4b). Each array
// gets exactly its case's variants (exactVariant), whatever release
// -xarray.variant names; kernel/behaviour_tests_test.go lists these
// tests under the behaviours they tell apart.

import (
	"errors"
	"math"
	"testing"
)

// variantEntry is what the variant tests store.
var variantEntry = MkValue(0x5a)

// splitMarkedOrder6 builds the scenario of the split-marks tests: an
// entry of order 6 at 0..63 with Mark0 (and 4095 unmarked, so the head
// is a node of shift 6), split with SplitAlloc and Split into sixteen
// entries of order 2. It returns the leaf node that Split installed.
func splitMarkedOrder6(t *testing.T, xa *XArray) *node {
	t.Helper()
	storeIndex(t, xa, 4095)
	storeOrder(t, xa, 0, 6, variantEntry)
	xa.SetMark(0, Mark0)

	xas := NewStateOrder(xa, 0, 2)
	xas.SplitAlloc(variantEntry, 6)
	if err := xas.Error(); err != nil {
		t.Fatalf("SplitAlloc(order 6 -> 2): %v", err)
	}
	ktLocked(xa, func() { xas.Split(variantEntry, 6) })
	if got := xa.GetOrder(0); got != 2 {
		t.Fatalf("after the split, GetOrder(0) = %d, want 2", got)
	}
	ld := NewState(xa, 0)
	ktRCU(xa, func() { ld.Load() })
	if ld.notNode() || nodeAt(ld.node).shift() != 0 {
		t.Fatalf("Load(0) after the split is not in a leaf: %v", Node{ld.node})
	}
	return nodeAt(ld.node)
}

// TestVariantSplitMarksAllSlots specifies node_mark_slots (2a0774c2886d,
// v6.9): splitting a marked order-6 entry into order-2 entries marks the
// child's sixteen canonical slots only, so a marked walk (xa_for_each_marked:
// xas_find_marked, then xas_next_marked, which never skipped siblings)
// yields the sixteen entries. Under VariantSplitMarksAllSlots (node_mark_all,
// v6.1 and v6.6) all 64 slots are marked, and the same walk yields the
// 48 sibling entries too. Check accepts the marked siblings under the
// variant, as the old kernel's own state.
func TestVariantSplitMarksAllSlots(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v        Variant
		word     uint64 // the leaf's Mark0 word
		siblings int    // sibling entries the marked walk yields
	}{
		{"mainline", 0, 0x1111111111111111, 0},
		{"6.1", VariantSplitMarksAllSlots, math.MaxUint64, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xa := ktNew(t, 0, exactVariant(tc.v))
			leaf := splitMarkedOrder6(t, xa)
			if got := leaf.marks[Mark0].Load(); got != tc.word {
				t.Errorf("leaf Mark0 word = %#x, want %#x", got, tc.word)
			}
			if got := leaf.marks[Mark1].Load(); got != 0 {
				t.Errorf("leaf Mark1 word = %#x, want 0", got)
			}
			entries, siblings := 0, 0
			for i, e := range xa.Marked(Mark0) {
				switch {
				case e.IsSibling():
					siblings++
					if i%4 == 0 || e.siblingOffset() != uint(i&^3) {
						t.Errorf("index %d: sibling %v, want a sibling of slot %d", i, e, i&^3)
					}
				case e == variantEntry && i%4 == 0:
					entries++
				default:
					t.Errorf("index %d: marked walk yields %v", i, e)
				}
			}
			if entries != 16 || siblings != tc.siblings {
				t.Errorf("marked walk: %d entries and %d siblings, want 16 and %d", entries, siblings, tc.siblings)
			}
			finish(t, xa)
		})
	}
}

// TestVariantSplitAllocLoose specifies the "too large" guard of
// xas_split_alloc as 97db889b961e (v6.14) left it, shift + 12 <= order:
// splitting an order-12 entry into order-0 entries, which needs two new
// levels, fails with ErrNoMemory and allocates nothing (the kernel also
// WARNs); the entry stays whole. Calling Split after that failure would
// panic for want of nodes (xas_split would dereference a NULL xa_alloc),
// so the mainline side stops at SplitAlloc. Under VariantSplitAllocLoose
// (the guard's old <, v6.1 to v6.13) SplitAlloc succeeds with
// 1 << (12 % 6) = 1 node, and Split installs it one level down only:
// the tree stays valid, but the entry becomes 64 entries of order 6,
// not 4096 of order 0.
func TestVariantSplitAllocLoose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v     Variant
		err   error
		order int // GetOrder(0) and GetOrder(4095) after the split
	}{
		{"mainline", 0, ErrNoMemory, 12},
		{"6.13", VariantSplitAllocLoose, nil, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xa := ktNew(t, 0, exactVariant(tc.v))
			storeOrder(t, xa, 0, 12, variantEntry)
			xa.SetMark(0, Mark0)

			xas := NewStateOrder(xa, 0, 0)
			xas.SplitAlloc(variantEntry, 12)
			if err := xas.Error(); !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("SplitAlloc(order 12 -> 0): error %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if xas.alloc != 0 {
					t.Errorf("failed SplitAlloc left node %d preallocated", xas.alloc)
				}
			} else {
				if xas.alloc == 0 || nodeAt(xas.alloc).parentNode() != 0 {
					t.Errorf("SplitAlloc preallocated chain %d, want exactly 1 node", xas.alloc)
				}
				ktLocked(xa, func() { xas.Split(variantEntry, 12) })
				if xas.alloc != 0 {
					t.Errorf("Split left node %d preallocated", xas.alloc)
				}
			}

			for _, i := range []uint64{0, 4095} {
				if got := xa.GetOrder(i); got != tc.order {
					t.Errorf("GetOrder(%d) = %d, want %d", i, got, tc.order)
				}
			}
			for _, i := range []uint64{0, 1, 63, 64, 100, 4095} {
				mustLoad(t, xa, i, variantEntry)
				if !xa.GetMark(i, Mark0) {
					t.Errorf("index %d lost Mark0", i)
				}
			}
			mustLoad(t, xa, 4096, Null)
			finish(t, xa)
		})
	}
}

// TestVariantFindMarkedSiblings specifies the sibling skip of
// xas_find_marked (7e060df04f56, v6.14) on the array that the pre-v6.9
// split leaves (VariantSplitMarksAllSlots: sibling slots marked). After
// FindMarked returned the order-2 entry at 0, the next FindMarked
// (advance) lands on the marked sibling slot 1:
//   - mainline, and VariantFindMarkedSiblings alone (6.9 to 6.13: only
//     canonical slots are marked, so no walk lands on a sibling): the
//     next entry, at 4;
//   - VariantSplitMarksAllSlots alone (no release had it): the skip
//     steps back to the canonical slot, so FindMarked returns the entry
//     at 0 again and a walk by FindMarked alone makes no progress;
//   - both (v6.1, v6.6): the sibling entry itself, at index 1.
func TestVariantFindMarkedSiblings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v     Variant
		index uint64 // the State's index after the second FindMarked
		e     Entry  // what it returns
	}{
		{"mainline", 0, 4, variantEntry},
		{"6.9", VariantFindMarkedSiblings, 4, variantEntry},
		{"marks-only", VariantSplitMarksAllSlots, 0, variantEntry},
		{"6.1", VariantSplitMarksAllSlots | VariantFindMarkedSiblings, 1, mkSibling(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xa := ktNew(t, 0, exactVariant(tc.v))
			splitMarkedOrder6(t, xa)
			xas := NewState(xa, 0)
			var first, second Entry
			var firstIndex uint64
			ktRCU(xa, func() {
				first = xas.FindMarked(math.MaxUint64, Mark0)
				firstIndex = xas.Index()
				second = xas.FindMarked(math.MaxUint64, Mark0)
			})
			if first != variantEntry || firstIndex != 0 {
				t.Fatalf("first FindMarked = %v at %d, want %v at 0", first, firstIndex, variantEntry)
			}
			if second != tc.e || xas.Index() != tc.index {
				t.Errorf("second FindMarked = %v at %d, want %v at %d", second, xas.Index(), tc.e, tc.index)
			}
			if want := tc.e.IsSibling(); second.IsSibling() != want {
				t.Errorf("second FindMarked returned a sibling: %v, want %v", second.IsSibling(), want)
			}
			finish(t, xa)
		})
	}
}

// TestVariantPauseUnmasked specifies xas_pause's masking (c9ba5249ef8b,
// v6.14). In a node of shift 6 (the tree reaches 4095) with an order-6
// entry at 64..127 and an entry at 130, a State that loaded index 100
// lands on the order-6 entry with its index left at 100. Pause then
// resumes at the next slot's first index, 128, and Find returns 130.
// Under VariantPauseUnmasked (v6.1 to v6.13) the low bits survive:
// 100 + 64 = 164, and Find misses 130 and returns 4095.
func TestVariantPauseUnmasked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v      Variant
		resume uint64 // the index after Pause
		found  uint64 // the index of what Find returns
	}{
		{"mainline", 0, 128, 130},
		{"6.13", VariantPauseUnmasked, 164, 4095},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xa := ktNew(t, 0, exactVariant(tc.v))
			storeIndex(t, xa, 4095)
			storeOrder(t, xa, 64, 6, variantEntry)
			storeIndex(t, xa, 130)

			xas := NewState(xa, 100)
			var loaded, found Entry
			var resume uint64
			ktRCU(xa, func() {
				loaded = xas.Load()
				if xas.Index() != 100 || xas.notNode() || nodeAt(xas.node).shift() != 6 || xas.offset != 1 {
					t.Errorf("Load(100) left index %d offset %d in %v, want 100, slot 1 of a node of shift 6",
						xas.Index(), xas.offset, Node{xas.node})
				}
				xas.Pause()
				resume = xas.Index()
				found = xas.Find(math.MaxUint64)
			})
			if loaded != variantEntry {
				t.Fatalf("Load(100) = %v, want %v", loaded, variantEntry)
			}
			if resume != tc.resume {
				t.Errorf("Pause: index %d, want %d", resume, tc.resume)
			}
			if found != mkIndex(tc.found) || xas.Index() != tc.found {
				t.Errorf("Find after Pause = %v at %d, want %v at %d", found, xas.Index(), mkIndex(tc.found), tc.found)
			}
			finish(t, xa)
		})
	}
}

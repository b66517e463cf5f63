// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Specifications of the bookkeeping that every profile keeps as the
// kernel does (kernel/releases.md §5 and §6): nr_values as xas_store
// counts it, which VariantExactNrValues corrects, and the preallocation
// chain as xas_alloc and xas_nomem keep it.

import (
	"errors"
	"strings"
	"testing"
)

// bookkeepingModes are the two ways of counting nr_values: the kernel's
// (every profile) and the correction.
var bookkeepingModes = []struct {
	name string
	v    Variant
}{
	{"kernel", 0},
	{"exact", VariantExactNrValues},
}

// leafOf returns the node that holds index, which must be in a node.
func leafOf(t *testing.T, xa *XArray, index uint64) *node {
	t.Helper()
	xas := NewState(xa, index)
	ktRCU(xa, func() { xas.Load() })
	if xas.notNode() {
		t.Fatalf("index %d is not in a node", index)
	}
	return nodeAt(xas.node)
}

// expectBug runs fn, which must panic with the model's XA_NODE_BUG_ON
// whose message contains want; the lock that the panic left held is
// released.
func expectBug(t *testing.T, xa *XArray, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		msg, _ := p.(string)
		if p == nil || !strings.HasPrefix(msg, "xarray: BUG:") || !strings.Contains(msg, want) {
			t.Fatalf("got panic %v, want an xarray BUG with %q", p, want)
		}
		xa.BreakLock()
	}()
	fn()
}

// xas_store counts nr_values per slot it writes: !xa_is_value(first) -
// !value, where first is the old entry governing the slot. A store whose
// State is smaller than the multi-index entry it lands in (here
// xa_store, order 0, into an order-2 entry) writes the entry's canonical
// slot only; its three sibling slots take the new entry too but are not
// counted. So the kernel's nr_values grows by 1, not 4, when a value
// replaces an order-2 pointer, and drops by 1, not 4, the other way
// round. VariantExactNrValues counts all four slots.
func TestUpdateNodeCountsSlotsWritten(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       Variant
		values  []int // nr_values after each store
		drift   []int32
		counted int // the values the slots hold, the same in both
	}{
		{"kernel", 0, []int{2, 1}, []int32{-3, 0}, 5},
		{"exact", VariantExactNrValues, []int{5, 1}, []int32{0, 0}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xa := ktNew(t, 0, WithVariant(tc.v))
			storeOrder(t, xa, 0, 2, MkPointer(1)) // slots 0-3: a pointer
			storeIndex(t, xa, 9)                  // slot 9: a value
			leaf := leafOf(t, xa, 0)
			if leaf.count() != 5 || leaf.nrValues() != 1 {
				t.Fatalf("before: count %d nr_values %d, want 5 and 1", leaf.count(), leaf.nrValues())
			}

			for i, st := range []struct {
				index uint64
				e     Entry
			}{
				{1, MkValue(1)},   // a value into the pointer: kernel +1
				{2, MkPointer(2)}, // a pointer into that value: kernel -1
			} {
				if _, err := xa.Store(st.index, st.e); err != nil {
					t.Fatal(err)
				}
				for j := uint64(0); j < 4; j++ {
					mustLoad(t, xa, j, st.e)
				}
				if got := int(leaf.nrValues()); got != tc.values[i] {
					t.Errorf("store %d: nr_values %d, want %d", i, got, tc.values[i])
				}
				if got := leaf.drift.Load(); got != tc.drift[i] {
					t.Errorf("store %d: drift %d, want %d", i, got, tc.drift[i])
				}
				if leaf.count() != 5 {
					t.Errorf("store %d: count %d, want 5 (count is exact)", i, leaf.count())
				}
				if err := xa.Check(); err != nil {
					t.Errorf("store %d: %v", i, err)
				}
			}
			finish(t, xa)
		})
	}
}

// The update_node underflow that Ackerley Tng reported (LKML,
// 2025-10-28: "values 254" after check_split_1(xa, 0, 3, 2) and an
// xa_erase of every index). check_split_1 as in the mainline tree read
// for kernel/releases.md stores an order-3 pointer, splits it into two
// order-2 pointers, and replaces each with a value by __xa_store, whose
// State has order 0: each store counts one value for four slots, leaving
// nr_values 2 for 8 value slots. Erasing index 0 then erases the first
// order-2 entry, all four slots (a Null store runs on through the
// siblings), and subtracts 4: update_node's XA_NODE_BUG_ON(nr_values >
// XA_CHUNK_SIZE) fires on 2 - 4, an unsigned char of 254, in a node of
// count 4 whose mark 1 is left on slot 4: the report's "count 4 values
// 254 ... marks 0 10 0". The model, counting as the kernel does, hits
// the same BUG in the same state; VariantExactNrValues counts 8 and
// erases cleanly. (Ackerley's later RFC, "XArray tests: Fix check_split
// tests to store correctly", 2026-02-23, treats __xa_store into a
// multi-index entry as the misuse and stores with xas_set_order, as
// ktCheckSplit1 does.)
func TestUpdateNodeUnderflow(t *testing.T) {
	for _, mode := range bookkeepingModes {
		t.Run(mode.name, func(t *testing.T) {
			xa := ktNew(t, 0, WithVariant(mode.v))
			const order, newOrder = 3, 2
			storeOrder(t, xa, 0, order, ktXA)
			xa.SetMark(0, Mark1)

			xas := NewStateOrder(xa, 0, newOrder)
			xas.SplitAlloc(ktXA, order)
			ktLocked(xa, func() {
				xas.Split(ktXA, order)
				for i := uint64(0); i < 1<<order; i += 1 << newOrder {
					if _, err := xa.StoreLocked(i, mkIndex(i)); err != nil { // __xa_store
						t.Fatal(err)
					}
				}
			})
			for i := uint64(0); i < 1<<order; i++ {
				mustLoad(t, xa, i, mkIndex(i&^(1<<newOrder-1)))
			}
			xa.SetMark(0, Mark0)
			leaf := leafOf(t, xa, 0)
			want := map[Variant]int{0: 2, VariantExactNrValues: 8}[mode.v]
			if got := int(leaf.nrValues()); got != want {
				t.Fatalf("after the split and the stores: nr_values %d, want %d", got, want)
			}

			if mode.v == 0 {
				expectBug(t, xa, "count 4 values 254 marks 0x0 0x10 0x0", func() { xa.Erase(0) })
				if err := xa.Check(); !errors.Is(err, errValuesOutOfRange) {
					t.Errorf("after the BUG, Check = %v, want nr_values out of range", err)
				}
				xa.Destroy() // as xa_destroy: frees the nodes whatever their counts
				finish(t, xa)
				return
			}
			for i := uint64(0); i < 1<<order; i++ {
				xa.Erase(i)
			}
			mustBeEmpty(t, xa)
			finish(t, xa)
		})
	}
}

// The kernel's miscount outlives the multi-index entry that caused it:
// once the order-2 value is split into four order-0 values the node holds
// no sibling, but nr_values is still 3 short, and every later store
// counts exactly the slots it writes. Check accepts the recorded drift
// in such a node; erasing the four values one by one then takes the
// kernel's count below zero at the third, with no multi-index entry in
// sight.
func TestUpdateNodeDriftOutlivesSiblings(t *testing.T) {
	xa := ktNew(t, 0)
	storeOrder(t, xa, 0, 2, ktXA)
	storeIndex(t, xa, 9)
	if _, err := xa.Store(0, MkValue(7)); err != nil { // drift -3
		t.Fatal(err)
	}
	xas := NewStateOrder(xa, 0, 0)
	ktLocked(xa, func() { xas.Split(MkValue(7), 2) }) // in place: no node needed
	leaf := leafOf(t, xa, 0)
	for i := uint(0); i < chunkSize; i++ {
		if leaf.slot(i).IsSibling() {
			t.Fatalf("slot %d is still a sibling after the split", i)
		}
	}
	if leaf.count() != 5 || leaf.nrValues() != 2 || leaf.drift.Load() != -3 {
		t.Fatalf("count %d nr_values %d drift %d, want 5, 2 and -3", leaf.count(), leaf.nrValues(), leaf.drift.Load())
	}
	if err := xa.Check(); err != nil {
		t.Fatalf("Check rejects the kernel's count in a node with no siblings: %v", err)
	}
	xa.Erase(0)
	xa.Erase(1)
	expectBug(t, xa, "count 2 values 255", func() { xa.Erase(2) })
	xa.Destroy()
	finish(t, xa)
}

// Check stays a check: it accepts nr_values off by exactly the drift
// that stores recorded, and nothing else. A count or nr_values off by
// any other amount is an error in either mode, and so is a drift in an
// array that counts exactly.
func TestCheckCountsHonest(t *testing.T) {
	for _, mode := range bookkeepingModes {
		t.Run(mode.name, func(t *testing.T) {
			xa := ktNew(t, 0, WithVariant(mode.v))
			storeOrder(t, xa, 0, 2, ktXA)
			storeIndex(t, xa, 9)
			if _, err := xa.Store(0, MkValue(7)); err != nil {
				t.Fatal(err)
			}
			leaf := leafOf(t, xa, 0)
			if err := xa.Check(); err != nil {
				t.Fatalf("the tree as stored: %v", err)
			}
			for _, c := range []struct {
				what    string
				corrupt func()
			}{
				{"nr_values one more", func() { leaf.setNrValues(leaf.nrValues() + 1) }},
				{"nr_values one less", func() { leaf.setNrValues(leaf.nrValues() - 1) }},
				{"count one more", func() { leaf.setCount(leaf.count() + 1) }},
				{"drift one more", func() { leaf.drift.Add(1) }},
			} {
				hdr, drift := leaf.hdr.Load(), leaf.drift.Load()
				c.corrupt()
				if err := xa.Check(); err == nil {
					t.Errorf("%s: Check = nil, want an error", c.what)
				}
				leaf.hdr.Store(hdr)
				leaf.drift.Store(drift)
			}
			if mode.v != 0 {
				leaf.drift.Store(-3)
				leaf.setNrValues(leaf.nrValues() - 3)
				if err := xa.Check(); err == nil {
					t.Errorf("a drift under VariantExactNrValues: Check = nil, want an error")
				}
				leaf.drift.Store(0)
				leaf.setNrValues(leaf.nrValues() + 3)
			}
			finish(t, xa)
		})
	}
}

// xas_alloc takes the node in xa_alloc and sets xa_alloc to NULL: the
// nodes chained behind it through ->parent (SplitAlloc's, when no Split
// used them) are forgotten, and the kernel leaks them. The model hands
// them back to the node cache and counts them (PreallocLeaked). The
// chain here is prefilled with Null so that the node the store takes,
// whose slots xas_alloc does not clear, adds no entries to the tree.
func TestPreallocChainAllocTakesOne(t *testing.T) {
	xa := ktNew(t, 0)
	xas := NewState(xa, 5)
	xas.SplitAlloc(Null, chunkShift+1) // 1 << (7 % 6) = 2 nodes
	if err := xas.Error(); err != nil {
		t.Fatal(err)
	}
	head := xas.alloc
	second := nodeAt(head).parentNode()
	if head == 0 || second == 0 || nodeAt(second).parentNode() != 0 {
		t.Fatalf("SplitAlloc: chain %d -> %d, want two nodes", head, second)
	}
	xa.Domain().Barrier() // no earlier test's node is still on its way back
	inUse := NodeCacheStats().InUse

	ktLocked(xa, func() { xas.Store(mkIndex(5)) }) // needs one node, a leaf
	if err := xas.Error(); err != nil {
		t.Fatal(err)
	}
	if xas.alloc != 0 {
		t.Errorf("after the store the State still holds node %d", xas.alloc)
	}
	if top := xa.HeadNode(); top.Handle() != head || xa.Nodes() != 1 {
		t.Errorf("the tree is %d node(s) under %v, want the head of the chain, node %d, alone", xa.Nodes(), top, head)
	}
	if got := xa.PreallocLeaked(); got != 1 {
		t.Errorf("PreallocLeaked = %d, want 1 (node %d)", got, second)
	}
	// The forgotten node went back to the cache.
	if got := NodeCacheStats().InUse - inUse; got != -1 {
		t.Errorf("node cache: %+d nodes in use after the store, want -1", got)
	}
	mustLoad(t, xa, 5, mkIndex(5))
	xas.Nomem() // xas_destroy: nothing left to free
	finishLeaked(t, xa, 1)
}

// xas_nomem in the ENOMEM state overwrites xa_alloc with the one node it
// allocates, parent NULL, whatever the State held; otherwise it is
// xas_destroy. After it the State holds exactly one node.
func TestPreallocChainNomemHoldsOne(t *testing.T) {
	f := NewFaults(1)
	xa := ktNew(t, 0, WithFaults(f))

	// The ordinary loop: a store fails for want of a node.
	xas := NewState(xa, 1<<20)
	f.FailNext(1)
	ktLocked(xa, func() { xas.Store(mkIndex(1 << 20)) })
	if err := xas.Error(); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("store with a failing allocation: %v, want ErrNoMemory", err)
	}
	if !xas.Nomem() {
		t.Fatal("Nomem after ErrNoMemory = false, want true")
	}
	if xas.alloc == 0 || nodeAt(xas.alloc).parentNode() != 0 {
		t.Fatalf("after Nomem the State holds chain %d, want exactly one node", xas.alloc)
	}
	ktLocked(xa, func() { xas.Store(mkIndex(1 << 20)) })
	if xas.Nomem() || xas.alloc != 0 {
		t.Fatalf("after the retried store: error %v, State holds %d", xas.Error(), xas.alloc)
	}

	// Nomem on a State that holds a chain of two: the chain is replaced.
	xas = NewState(xa, 0)
	xas.SplitAlloc(Null, chunkShift+1)
	a := xas.alloc
	b := nodeAt(a).parentNode()
	xas.SetErr(ErrNoMemory)
	if !xas.Nomem() {
		t.Fatal("Nomem after ErrNoMemory = false, want true")
	}
	if h := xas.alloc; h == 0 || h == a || h == b || nodeAt(h).parentNode() != 0 {
		t.Errorf("after Nomem the State holds chain %d (had %d -> %d), want one new node", h, a, b)
	}
	if got := xa.PreallocLeaked(); got != 2 {
		t.Errorf("PreallocLeaked = %d, want 2", got)
	}
	xas.Destroy()
	if xas.alloc != 0 {
		t.Errorf("Destroy left %d", xas.alloc)
	}
	finishLeaked(t, xa, 2)
}

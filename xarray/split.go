// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Splitting a multi-index entry into smaller ones. SplitAlloc prepares
// nodes outside the lock, each prefilled with the new entries, and Split
// installs them under the lock; TrySplit (6.15) splits one step at a time
// and needs at most one new node.

// initNodeForSplit is __xas_init_node_for_split: fill every slot with e
// as entries of xas.sibs+1 slots each.
func (xas *State) initNodeForSplit(h uint32, e Entry) {
	n := nodeAt(h)
	n.array.Store(xas.xa.id)
	mask := uint(xas.sibs)
	var sibling Entry
	for i := uint(0); i < chunkSize; i++ {
		if i&mask == 0 {
			n.setSlot(i, e)
			sibling = mkSibling(i)
		} else {
			n.setSlot(i, sibling)
		}
	}
}

// SplitAlloc allocates, outside the lock, the nodes that Split needs to
// split an entry of the given order into entries of the State's order
// (xas_split_alloc). Each node is prefilled with e. A split that spans
// more than one level of the tree is not supported: like the kernel, it
// gives ErrNoMemory. Under VariantSplitAllocLoose a split of exactly two
// levels gets past that check and one node is allocated, as before
// v6.14.
func (xas *State) SplitAlloc(e Entry, order uint) {
	sibs := uint(1)<<(order%chunkShift) - 1
	var err error
	if uint(xas.shift)+2*chunkShift < order ||
		uint(xas.shift)+2*chunkShift == order && xas.xa.variant&VariantSplitAllocLoose == 0 {
		goto nomem
	}
	if uint(xas.shift)+chunkShift > order {
		return
	}
	for {
		var h uint32
		if h, err = xas.xa.allocNode(false); h == 0 {
			goto nomem
		}
		xas.initNodeForSplit(h, e)
		nodeAt(h).parent.Store(xas.alloc)
		xas.alloc = h
		if sibs == 0 {
			break
		}
		sibs--
	}
	return
nomem:
	xas.Destroy()
	if err == nil {
		err = ErrNoMemory
	}
	xas.SetErr(err)
}

// splitChild installs the prefilled node child in slot off of node h, in
// place of the part of the old entry curr that the slot held.
// The child's canonical slots get the marks as node_mark_slots gives
// them for entries of markSibs+1 slots: markSibs is xas.sibs, or 0 (all
// 64 slots, the old node_mark_all) under VariantSplitMarksAllSlots.
func (xas *State) splitChild(h, child uint32, off uint, e, curr Entry, marks, markSibs uint) int {
	n, c := nodeAt(h), nodeAt(child)
	xas.alloc = c.parentNode()
	c.setShift(n.shift() - chunkShift)
	c.setOffset(uint8(off))
	c.setCount(chunkSize)
	c.setNrValues(0)
	if e.IsValue() {
		c.setNrValues(chunkSize)
	}
	c.array.Store(xas.xa.id)
	c.parent.Store(h)
	n.setMarks(off, c, markSibs, marks)
	n.setSlot(off, nodeEntry(child))
	xas.updateNode(child)
	if curr.IsValue() {
		return -1
	}
	return 0
}

// splitInPlace rewrites slots xas.offset..off of node h, at the State's
// level, as entries of xas.sibs+1 slots each holding e.
func (xas *State) splitInPlace(h uint32, off uint, e, curr Entry, marks uint) int {
	n := nodeAt(h)
	values := 0
	for {
		canon := off - uint(xas.sibs)
		n.setMarks(canon, nil, 0, marks)
		n.setSlot(canon, e)
		for ; off > canon; off-- {
			n.setSlot(off, mkSibling(canon))
		}
		values += (b2i(e.IsValue()) - b2i(curr.IsValue())) * (int(xas.sibs) + 1)
		if off <= uint(xas.offset) {
			return values
		}
		off--
	}
}

// Split replaces the entry of the given order that holds the State's
// index by entries of the State's order, each e, with the old entry's
// marks (xas_split). Call SplitAlloc first. Lock held.
func (xas *State) Split(e Entry, order uint) {
	sibs := uint(1)<<(order%chunkShift) - 1
	curr := xas.Load()
	h := xas.node
	if xas.top() {
		return
	}
	n := nodeAt(h)
	marks := n.getMarks(uint(xas.offset))
	values := 0
	if xas.shift < n.shift() {
		markSibs := uint(xas.sibs)
		if xas.xa.variant&VariantSplitMarksAllSlots != 0 {
			markSibs = 0 // node_mark_all, before 2a0774c2886d
		}
		for off := uint(xas.offset) + sibs; ; off-- {
			child := xas.alloc
			if child == 0 {
				panic("xarray: Split needs the nodes from SplitAlloc (xas_split with no xa_alloc)")
			}
			values += xas.splitChild(h, child, off, e, curr, marks, markSibs)
			if off <= uint(xas.offset) {
				break
			}
		}
	} else {
		values = xas.splitInPlace(h, uint(xas.offset)+sibs, e, curr, marks)
	}
	n.setNrValues(uint8(int(n.nrValues()) + values))
	xas.updateNode(h)
}

// TrySplitMinOrder returns the smallest order that TrySplit can split an
// entry of the given order into in one step (xas_try_split_min_order).
func TrySplitMinOrder(order uint) uint {
	if order%chunkShift == 0 {
		if order == 0 {
			return 0
		}
		return order - 1
	}
	return order - order%chunkShift
}

// TrySplit splits the entry of the given order that holds the State's
// index into entries of the State's order, each e, if that needs at most
// one new node (xas_try_split, 6.15). A split that would need two or
// more nodes gives ErrInvalid; a failed allocation under the lock gives
// ErrNoMemory. Either error frees what was preallocated. Lock held.
func (xas *State) TrySplit(e Entry, order uint) {
	sibs := uint(1)<<(order%chunkShift) - 1
	curr := xas.Load()
	h := xas.node
	if xas.top() {
		return
	}
	n := nodeAt(h)
	marks := n.getMarks(uint(xas.offset))
	off := uint(xas.offset) + sibs
	values := 0
	if xas.shift < n.shift() {
		expectedSibs := uint(1)<<((order-1)%chunkShift) - 1
		// One level down only: the kernel checks the sibling count
		// alone, which also lets an order-12 entry split to order 5.
		if sibs != 0 || uint(xas.sibs) != expectedSibs || uint(xas.shift)+chunkShift != uint(n.shift()) {
			xas.Destroy()
			xas.SetErr(ErrInvalid)
			return
		}
		child := xas.alloc
		if child == 0 {
			var err error
			if child, err = xas.xa.allocNode(true); child == 0 {
				xas.Destroy()
				xas.SetErr(err)
				return
			}
			nodeAt(child).parent.Store(xas.alloc)
		}
		xas.initNodeForSplit(child, e)
		values = xas.splitChild(h, child, off, e, curr, marks, uint(xas.sibs))
	} else {
		values = xas.splitInPlace(h, off, e, curr, marks)
	}
	n.setNrValues(uint8(int(n.nrValues()) + values))
	xas.updateNode(h)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"math"
	"math/bits"
)

// moveIndex is xas_move_index: put the index on slot off of the node.
func (xas *State) moveIndex(off uint) {
	shift := nodeAt(xas.node).shift()
	xas.index &= ^uint64(chunkMask) << shift
	xas.index += uint64(off) << shift
}

// nextOffset is xas_next_offset.
func (xas *State) nextOffset() {
	xas.offset++
	xas.moveIndex(uint(xas.offset))
}

// setOffset is xas_set_offset.
func (xas *State) setOffset() {
	xas.offset = uint8(xas.index>>nodeAt(xas.node).shift()) & chunkMask
}

// Find returns the first present entry at an index no larger than max
// (xas_find): at or after the State's index if it has not been walked,
// after the current entry if it has. It returns RetryEntry and ZeroEntry
// and skips siblings. At the end of the tree the State is at bounds with
// the index of the first index beyond it.
func (xas *State) Find(max uint64) Entry {
	if xas.node == nodeError || xas.node == nodeBounds {
		return Null
	}
	if xas.index > max {
		return xas.setBounds()
	}
	if xas.node == nodeHead {
		xas.index = 1
		return xas.setBounds()
	} else if xas.node == nodeRestart {
		e := xas.Load()
		if e != Null || xas.notNode() {
			return e
		}
	} else if xas.offset != uint8(xas.index>>nodeAt(xas.node).shift())&chunkMask {
		if nodeAt(xas.node).shift() == 0 {
			xas.offset = uint8((xas.index-1)&chunkMask) + 1
		} else {
			xas.setOffset()
		}
	}

	xas.nextOffset()

	for xas.node != nodeHead && xas.index <= max {
		n := nodeAt(xas.node)
		if xas.offset == chunkSize {
			xas.offset = n.offset() + 1
			xas.node = n.parentNode()
			continue
		}
		e := n.slot(uint(xas.offset))
		if e.IsNode() {
			xas.node = handleOf(e)
			xas.offset = 0
			continue
		}
		if e != Null && !e.IsSibling() {
			return e
		}
		xas.nextOffset()
	}
	if xas.node == nodeHead {
		xas.node = nodeBounds
	}
	return Null
}

// NextEntry is Find's fast path for walking a leaf (xas_next_entry).
func (xas *State) NextEntry(max uint64) Entry {
	if xas.notNode() {
		return xas.Find(max)
	}
	n := nodeAt(xas.node)
	off, index := uint(xas.offset), xas.index
	if n.shift() != 0 || uint64(off) != index&chunkMask {
		return xas.Find(max)
	}
	for index < max && off < chunkMask {
		e := n.slot(off + 1)
		if e.IsInternal() {
			break
		}
		off++
		index++
		if e != Null {
			xas.offset, xas.index = uint8(off), index
			return e
		}
	}
	xas.offset, xas.index = uint8(off), index
	return xas.Find(max)
}

// findChunk is xas_find_chunk: the first slot at or after the current
// one (after it when advance) with mark m, or 64.
func (xas *State) findChunk(advance bool, m Mark) uint {
	v := nodeAt(xas.node).marks[m].Load()
	off := uint(xas.offset)
	if advance {
		off++
	}
	if off < chunkSize {
		if data := v & (^uint64(0) << off); data != 0 {
			return uint(bits.TrailingZeros64(data))
		}
	}
	return chunkSize
}

// FindMarked returns the first entry with mark m at an index no larger
// than max (xas_find_marked), at or after the State's index if it has not
// been walked, after the current entry if it has. Siblings are skipped
// (returned under VariantFindMarkedSiblings, as before v6.14).
// On arrays that track free indices, FindMarked(max, FreeMark) returns
// Null slots too: that is how Alloc finds a hole. With nothing marked up
// to max the State is left at restart; when the tree ends first, at
// bounds.
func (xas *State) FindMarked(max uint64, m Mark) Entry {
	checkMark(m)
	advance := true
	if xas.node == nodeError {
		return Null
	}
	if xas.index > max {
		goto max
	}
	if xas.node == nodeHead {
		xas.index = 1
		goto out
	} else if xas.top() {
		advance = false
		e := xas.xa.headEntry()
		xas.node = nodeHead
		if xas.index > maxIndex(e) {
			goto out
		}
		if !e.IsNode() {
			if xas.xa.marked(m) {
				return e
			}
			xas.index = 1
			goto out
		}
		xas.node = handleOf(e)
		xas.offset = uint8(xas.index >> nodeAt(xas.node).shift())
	}

	for xas.index <= max {
		n := nodeAt(xas.node)
		if xas.offset == chunkSize {
			xas.offset = n.offset() + 1
			xas.node = n.parentNode()
			if xas.node == nodeHead {
				break
			}
			advance = false
			continue
		}
		if !advance {
			if e := n.slot(uint(xas.offset)); e.IsSibling() {
				xas.offset = uint8(e.siblingOffset())
				xas.moveIndex(uint(xas.offset))
			}
		}
		off := xas.findChunk(advance, m)
		if off > uint(xas.offset) {
			advance = false
			xas.moveIndex(off)
			if xas.index-1 >= max { // mind the wrap
				goto max
			}
			xas.offset = uint8(off)
			if off == chunkSize {
				continue
			}
		}
		injectFindMarkedSlot.Hit()
		e := n.slot(uint(xas.offset))
		if e == Null && !(xas.xa.trackFree() && m == FreeMark) {
			continue
		}
		if e.IsSibling() && xas.xa.variant&VariantFindMarkedSiblings == 0 {
			continue
		}
		if !e.IsNode() {
			return e
		}
		xas.node = handleOf(e)
		xas.setOffset()
	}
out:
	if xas.index > max {
		goto max
	}
	return xas.setBounds()
max:
	xas.node = nodeRestart
	return Null
}

// NextMarked is FindMarked's fast path for walking a leaf
// (xas_next_marked).
func (xas *State) NextMarked(max uint64, m Mark) Entry {
	checkMark(m)
	h := xas.node
	if xas.notNode() || nodeAt(h).shift() != 0 {
		return xas.FindMarked(max, m)
	}
	off := xas.findChunk(true, m)
	xas.offset = uint8(off)
	xas.index = xas.index&^chunkMask + uint64(off)
	if xas.index > max {
		return Null
	}
	if off == chunkSize {
		return xas.FindMarked(max, m)
	}
	e := nodeAt(h).slot(off)
	if e == Null {
		return xas.FindMarked(max, m)
	}
	return e
}

// FindConflict returns the first, then the next, entry that overlaps the
// State's range, including an entry that covers it from above
// (xas_find_conflict). It leaves the State ready for Store. Lock held.
func (xas *State) FindConflict() Entry {
	if xas.node == nodeError || xas.node == nodeHead {
		return Null
	}
	if xas.top() {
		curr := xas.start()
		if curr == Null {
			return Null
		}
		for curr.IsNode() {
			curr = xas.descend(handleOf(curr))
		}
		if curr != Null {
			return curr
		}
	}
	if nodeAt(xas.node).shift() > xas.shift {
		return Null
	}
	for {
		n := nodeAt(xas.node)
		if n.shift() == xas.shift {
			if xas.offset&xas.sibs == xas.sibs {
				break
			}
		} else if xas.offset == chunkMask {
			xas.offset = n.offset()
			xas.node = n.parentNode()
			if xas.node == nodeHead {
				break
			}
			continue
		}
		xas.offset++
		curr := n.slot(uint(xas.offset))
		if curr.IsSibling() {
			continue
		}
		for curr.IsNode() {
			xas.node = handleOf(curr)
			xas.offset = 0
			curr = nodeAt(xas.node).slot(0)
		}
		if curr != Null {
			return curr
		}
	}
	xas.offset -= xas.sibs
	return Null
}

// Next moves to the next index and returns its entry (xas_next). On an
// unwalked State it loads the current index without moving. It returns
// Null and internal entries, siblings included: it is not for arrays
// with multi-index entries. The index wraps from the largest to 0.
func (xas *State) Next() Entry {
	// The step inside a leaf is a handful of instructions, as the
	// kernel's inline xas_next; everything else is nextSlow. xas.node is
	// a handle only past firstHandle, and the mmap slab does not exist
	// before the first node is allocated, so it is checked first.
	if off := xas.offset + 1; xas.node >= firstHandle && off != chunkSize {
		if n := nodeAt(xas.node); uint8(n.hdr.Load()) == 0 {
			xas.index++
			xas.offset = off
			return Entry(n.slots[off&chunkMask].Load())
		}
	}
	return xas.nextSlow()
}

// nextSlow is __xas_next.
func (xas *State) nextSlow() Entry {
	if !xas.frozen() {
		xas.index++
	}
	if xas.node == nodeHead {
		return xas.setBounds()
	}
	if xas.notNode() {
		return xas.Load()
	}
	if xas.offset != uint8(xas.index>>nodeAt(xas.node).shift())&chunkMask {
		xas.offset++
	}
	for xas.offset == chunkSize {
		n := nodeAt(xas.node)
		xas.offset = n.offset() + 1
		xas.node = n.parentNode()
		if xas.node == nodeHead {
			return xas.setBounds()
		}
	}
	for {
		e := nodeAt(xas.node).slot(uint(xas.offset))
		if !e.IsNode() {
			return e
		}
		xas.node = handleOf(e)
		xas.setOffset()
	}
}

// Prev moves to the previous index and returns its entry (xas_prev),
// with the same rules as Next.
func (xas *State) Prev() Entry {
	h := xas.node
	if xas.notNode() || nodeAt(h).shift() != 0 || xas.offset == 0 {
		return xas.prevSlow()
	}
	xas.index--
	xas.offset--
	return nodeAt(h).slot(uint(xas.offset))
}

// prevSlow is __xas_prev.
func (xas *State) prevSlow() Entry {
	if !xas.frozen() {
		xas.index--
	}
	if xas.node == nodeHead {
		return xas.setBounds()
	}
	if xas.notNode() {
		return xas.Load()
	}
	if xas.offset != uint8(xas.index>>nodeAt(xas.node).shift())&chunkMask {
		xas.offset--
	}
	for xas.offset == 255 {
		n := nodeAt(xas.node)
		xas.offset = n.offset() - 1
		xas.node = n.parentNode()
		if xas.node == nodeHead {
			return xas.setBounds()
		}
	}
	for {
		e := nodeAt(xas.node).slot(uint(xas.offset))
		if !e.IsNode() {
			return e
		}
		xas.node = handleOf(e)
		xas.setOffset()
	}
}

// sibling is xas_sibling: whether the index lies past the start of the
// entry the State is on.
func (xas *State) sibling() bool {
	if xas.node == nodeHead || xas.notNode() {
		return false
	}
	shift := nodeAt(xas.node).shift()
	mask := uint64(chunkSize)<<shift - 1
	return xas.index&mask > uint64(xas.offset)<<shift
}

// entryEnd returns the last index of the entry whose canonical slot the
// State is on: its slot and the sibling slots that name it, which need
// not be a power of two (StoreRange makes such entries).
func (xas *State) entryEnd() uint64 {
	if xas.node == nodeHead || xas.notNode() {
		return xas.index
	}
	n := nodeAt(xas.node)
	shift := n.shift()
	sib := mkSibling(uint(xas.offset))
	slots := uint64(1)
	for s := uint(xas.offset) + 1; s < chunkSize && n.slot(s) == sib; s++ {
		slots++
	}
	start := xas.index &^ (uint64(1)<<shift - 1)
	return start + slots<<shift - 1
}

// find runs one search step for filter: a mark or Present.
func (xas *State) find(max uint64, filter Mark) Entry {
	if filter < maxMarks {
		return xas.FindMarked(max, filter)
	}
	return xas.Find(max)
}

func checkFilter(filter Mark) {
	if filter >= maxMarks && filter != Present {
		panic("xarray: filter must be Mark0, Mark1, Mark2 or Present")
	}
}

// Find returns the first entry matching filter (a mark, or Present) at
// an index in [*index, max], and sets *index to its index (xa_find). An
// entry that covers *index is returned with *index left inside it.
// Retry and zero entries are skipped.
func (xa *XArray) Find(index *uint64, max uint64, filter Mark) Entry {
	checkFilter(filter)
	xas := NewState(xa, *index)
	t := xa.rcu.ReadLock()
	var e Entry
	for {
		e = xas.find(max, filter)
		if !xas.Retry(e) {
			break
		}
	}
	xa.rcu.ReadUnlock(t)
	if e != Null {
		*index = xas.index
	}
	return e
}

// FindAfter returns the first entry matching filter at an index in
// (*index, max] that does not belong to the entry covering *index, and
// sets *index to its index (xa_find_after). Unlike the kernel, it skips
// the rest of a multi-index entry for mark filters too.
func (xa *XArray) FindAfter(index *uint64, max uint64, filter Mark) Entry {
	checkFilter(filter)
	start := *index + 1
	if start == 0 {
		return Null
	}
	xas := NewState(xa, start)
	var e Entry
	t := xa.rcu.ReadLock()
	for {
		e = xas.find(max, filter)
		if xas.Invalid() {
			break
		}
		if xas.sibling() {
			continue
		}
		if filter < maxMarks && e != Null && xas.index < start {
			// FindMarked stepped back to the canonical slot of the
			// entry that covers *index: go past that entry.
			end := xas.entryEnd()
			if end >= max || end == math.MaxUint64 {
				e = Null
				break
			}
			xas.Set(end + 1)
			continue
		}
		if !xas.Retry(e) {
			break
		}
	}
	xa.rcu.ReadUnlock(t)
	if e != Null {
		*index = xas.index
	}
	return e
}

// Extract copies up to len(dst) entries matching filter with indices in
// [start, max] into dst and returns how many it copied (xa_extract). It
// is not a snapshot: entries changed meanwhile may be missed or seen.
func (xa *XArray) Extract(dst []Entry, start, max uint64, filter Mark) int {
	checkFilter(filter)
	if len(dst) == 0 {
		return 0
	}
	xas := NewState(xa, start)
	i := 0
	t := xa.rcu.ReadLock()
	if filter < maxMarks {
		for e := xas.FindMarked(max, filter); e != Null; e = xas.NextMarked(max, filter) {
			if xas.Retry(e) {
				continue
			}
			dst[i] = e
			if i++; i == len(dst) {
				break
			}
		}
	} else {
		for e := xas.Find(max); e != Null; e = xas.NextEntry(max) {
			if xas.Retry(e) {
				continue
			}
			dst[i] = e
			if i++; i == len(dst) {
				break
			}
		}
	}
	xa.rcu.ReadUnlock(t)
	return i
}

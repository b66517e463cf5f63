// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import "fmt"

// Marks: each node keeps one 64-bit word per mark, bit i for slot i. A bit
// is set in a node when some entry beneath that slot has the mark; the
// root's bits live in the array's flags. Writers (holding the lock) change
// mark words with atomic loads and stores; readers load them atomically.

func checkMark(m Mark) {
	if m >= maxMarks {
		panic(fmt.Sprintf("xarray: mark %d out of range: use Mark0, Mark1 or Mark2", m))
	}
}

// getMark is node_get_mark.
func (n *node) getMark(off uint, m Mark) bool { return n.marks[m].Load()>>off&1 != 0 }

// setMark is node_set_mark: it reports whether the bit was already set.
func (n *node) setMark(off uint, m Mark) bool {
	v := n.marks[m].Load()
	if v>>off&1 != 0 {
		return true
	}
	n.marks[m].Store(v | 1<<off)
	return false
}

// clearMark is node_clear_mark: it reports whether the bit was set.
func (n *node) clearMark(off uint, m Mark) bool {
	v := n.marks[m].Load()
	if v>>off&1 == 0 {
		return false
	}
	n.marks[m].Store(v &^ (1 << off))
	return true
}

// anyMark is node_any_mark.
func (n *node) anyMark(m Mark) bool { return n.marks[m].Load() != 0 }

// markAll is node_mark_all.
func (n *node) markAll(m Mark) { n.marks[m].Store(^uint64(0)) }

// getMarks is node_get_marks: the marks of one slot as a bit set.
func (n *node) getMarks(off uint) uint {
	marks := uint(0)
	for m := Mark0; m < maxMarks; m++ {
		if n.getMark(off, m) {
			marks |= 1 << m
		}
	}
	return marks
}

// markSlots is node_mark_slots: set m on every canonical slot of a node
// filled with entries of sibs+1 slots each.
func (n *node) markSlots(sibs uint, m Mark) {
	if sibs == 0 {
		n.markAll(m)
		return
	}
	for i := uint(0); i < chunkSize; i += sibs + 1 {
		n.setMark(i, m)
	}
}

// setMarks is node_set_marks: give slot off of n, and the canonical
// slots of child if there is one, the marks in the set.
func (n *node) setMarks(off uint, child *node, sibs uint, marks uint) {
	for m := Mark0; m < maxMarks; m++ {
		if marks&(1<<m) != 0 {
			n.setMark(off, m)
			if child != nil {
				child.markSlots(sibs, m)
			}
		}
	}
}

// squashMarks is xas_squash_marks: before a multi-index store, move any
// mark of the range onto its first slot and clear the rest.
func (xas *State) squashMarks() {
	n := nodeAt(xas.node)
	off := uint(xas.offset)
	sibs := uint(xas.sibs)
	rest := (uint64(1)<<sibs - 1) << (off + 1)
	for m := Mark0; m < maxMarks; m++ {
		v := n.marks[m].Load()
		if v&rest != 0 {
			n.marks[m].Store(v&^rest | 1<<off)
		}
	}
}

// GetMark reports whether the entry the State is on has mark m
// (xas_get_mark); false in a cursor or error state.
func (xas *State) GetMark(m Mark) bool {
	checkMark(m)
	if xas.Invalid() {
		return false
	}
	if xas.node == nodeHead {
		return xas.xa.marked(m)
	}
	return nodeAt(xas.node).getMark(uint(xas.offset), m)
}

// SetMark sets m on the entry the State is on and on its ancestors
// (xas_set_mark). It does nothing on an unwalked State. Lock held.
func (xas *State) SetMark(m Mark) {
	checkMark(m)
	if xas.Invalid() {
		return
	}
	h := xas.node
	off := uint(xas.offset)
	for h != nodeHead {
		n := nodeAt(h)
		if n.setMark(off, m) {
			return
		}
		off = uint(n.offset())
		h = n.parentNode()
	}
	if !xas.xa.marked(m) {
		xas.xa.markSet(m)
	}
}

// ClearMark clears m on the entry the State is on, and on each ancestor
// left with no entry so marked (xas_clear_mark). Lock held.
func (xas *State) ClearMark(m Mark) {
	checkMark(m)
	if xas.Invalid() {
		return
	}
	h := xas.node
	off := uint(xas.offset)
	for h != nodeHead {
		n := nodeAt(h)
		if !n.clearMark(off, m) {
			return
		}
		if n.anyMark(m) {
			return
		}
		off = uint(n.offset())
		h = n.parentNode()
	}
	if xas.xa.marked(m) {
		xas.xa.markClear(m)
	}
}

// InitMarks gives the entry the State is on its initial marks
// (xas_init_marks): none, except FreeMark on arrays that track free
// indices. Replacing one entry by another keeps the marks.
func (xas *State) InitMarks() {
	for m := Mark0; m < maxMarks; m++ {
		if xas.xa.trackFree() && m == FreeMark {
			xas.SetMark(m)
		} else {
			xas.ClearMark(m)
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"fmt"
	"iter"
	"math"
	"math/bits"
)

// The iterators walk the array in batches: one State walk, in one
// read-side section, gathers up to iterBatch entries into a buffer on
// the iterator's stack; the section ends, the loop body runs once for
// each of them, and the next batch resumes after the last index yielded.
// The loop body thus never runs inside a section: it may store, erase,
// block or wait for a grace period.

// iterBatch is how many entries one read-side section gathers: a leaf's
// worth.
const iterBatch = chunkSize

// iterPair is one gathered entry and its index.
type iterPair struct {
	index uint64
	e     Entry
}

// All iterates over every present entry in index order (xa_for_each).
// It walks in batches of up to 64 entries, each gathered by one walk in
// one read-side section, and runs the loop body outside any section, so
// the body may change the array, block, or wait for a grace period.
// Each index is yielded at most once, in increasing order, with the
// entry it held when its batch was gathered: an entry erased or replaced
// after that may still be yielded as it was, and one stored at an index
// that the walk has passed is not yielded.
func (xa *XArray) All() iter.Seq2[uint64, Entry] {
	return xa.iterate(0, math.MaxUint64, Present)
}

// Range iterates over the present entries with indices in [first, last]
// (xa_for_each_range), as All does. An entry that covers first is
// yielded at first.
func (xa *XArray) Range(first, last uint64) iter.Seq2[uint64, Entry] {
	return xa.iterate(first, last, Present)
}

// Marked iterates over the entries with mark filter, each once and at
// its first index (xa_for_each_marked), as All does.
func (xa *XArray) Marked(filter Mark) iter.Seq2[uint64, Entry] {
	if filter >= maxMarks {
		// checkMark's panic, in a form cheap enough for Marked to be
		// inlined as All and Range are: a loop over an inlined iterator
		// calls its body directly and allocates nothing.
		panic(badMark(filter))
	}
	return xa.iterate(0, math.MaxUint64, filter)
}

// badMark is the panic value of Marked with a mark out of range. It
// prints as checkMark's message.
type badMark Mark

func (m badMark) Error() string {
	return fmt.Sprintf("xarray: mark %d out of range: use Mark0, Mark1 or Mark2", uint(m))
}

// iterate yields what Find(first) and then FindAfter of each index
// yielded would, gathering a batch in one walk.
func (xa *XArray) iterate(first, last uint64, filter Mark) iter.Seq2[uint64, Entry] {
	return func(yield func(uint64, Entry) bool) {
		var buf [iterBatch]iterPair
		start, initial := first, true
		for {
			n, more := xa.gather(&buf, start, last, filter, initial)
			for i := range n {
				if !yield(buf[i].index, buf[i].e) {
					return
				}
			}
			if !more {
				return
			}
			start, initial = buf[n-1].index+1, false
		}
	}
}

// gather fills buf with the entries matching filter from start to last,
// in one read-side section, and returns how many it found and whether
// more may follow the last of them. It walks as xas_for_each (xas_find,
// then xas_next_entry) or xas_for_each_marked (xas_find_marked, then
// xas_next_marked) do, with xas_retry. On the first batch (initial) the
// first entry is what Find returns: one that covers start is taken at
// start. Otherwise, and whenever the walk restarts from the head, it
// takes only entries that begin at or after start and after the last
// index taken, as FindAfter does.
func (xa *XArray) gather(buf *[iterBatch]iterPair, start, last uint64, filter Mark, initial bool) (n int, more bool) {
	xas := NewState(xa, start)
	fresh := true // the next step walks from the head
	t := xa.rcu.ReadLock()
	for {
		var e Entry
		if !fresh {
			if filter < maxMarks {
				e = xas.NextMarked(last, filter)
			} else {
				e = xas.NextEntry(last)
			}
			if e == Null {
				break
			}
		} else {
			e = xas.find(last, filter)
			if e == Null || xas.Invalid() {
				break
			}
			if !initial {
				// A walk from the head may land inside an entry
				// that began before the batch's start or the last
				// index taken: the rest of one already yielded, or
				// one stored since. FindAfter skips it.
				min := start
				if n > 0 {
					min = buf[n-1].index + 1
				}
				if xas.sibling() {
					fresh = false
					continue
				}
				if xas.index < min {
					// FindMarked stepped back to the entry's
					// first slot.
					end := xas.entryEnd()
					if end >= last || end == math.MaxUint64 {
						break
					}
					xas.Set(end + 1)
					continue
				}
			}
		}
		if xas.Retry(e) {
			fresh = xas.node == nodeRestart
			continue
		}
		fresh, initial = false, false
		buf[n%iterBatch] = iterPair{xas.index, e}
		n++
		if n < iterBatch {
			if filter >= maxMarks {
				n = xas.gatherLeaf(buf, n, last)
			} else {
				n = xas.gatherLeafMarked(buf, n, last, filter)
			}
		}
		if xas.index >= last {
			break
		}
		if n == iterBatch {
			more = true
			break
		}
	}
	xa.rcu.ReadUnlock(t)
	return n, more
}

// gatherLeaf takes the present entries that follow the State's entry in
// its leaf into buf from buf[n] on, as NextEntry's loop would find them
// one call at a time, and returns the new count. It stops before an
// internal entry (a sibling, a node or a retry entry, which NextEntry
// leaves to Find), at last, at the end of the leaf and when buf is full,
// with the State on the last entry taken or the last slot passed.
func (xas *State) gatherLeaf(buf *[iterBatch]iterPair, n int, last uint64) int {
	if xas.notNode() {
		return n
	}
	nd := nodeAt(xas.node)
	off, index := uint(xas.offset), xas.index
	if nd.shift() != 0 || uint64(off) != index&chunkMask {
		return n
	}
	for index < last && off < chunkMask && n < iterBatch {
		e := nd.slot(off + 1)
		if e.IsInternal() {
			break
		}
		off++
		index++
		if e != Null {
			buf[n] = iterPair{index, e}
			n++
		}
	}
	xas.offset, xas.index = uint8(off), index
	return n
}

// gatherLeafMarked is gatherLeaf for a marked walk: it takes the entries
// with mark m that follow the State's entry in its leaf, as NextMarked's
// calls would find them, and stops before a slot that NextMarked would
// not simply return (a Null slot, which sends it to FindMarked, or an
// internal entry, left to the caller's retry check), past last, at the
// end of the leaf and when buf is full.
func (xas *State) gatherLeafMarked(buf *[iterBatch]iterPair, n int, last uint64, m Mark) int {
	if xas.notNode() {
		return n
	}
	nd := nodeAt(xas.node)
	if nd.shift() != 0 {
		return n
	}
	off, index := uint(xas.offset), xas.index
	marks := nd.marks[m].Load()
	for n < iterBatch && off < chunkMask {
		rest := marks &^ (uint64(1)<<(off+1) - 1)
		if rest == 0 {
			break
		}
		next := uint(bits.TrailingZeros64(rest))
		i := index&^chunkMask + uint64(next)
		if i > last {
			break
		}
		e := nd.slot(next)
		if e == Null || e.IsInternal() {
			break
		}
		off, index = next, i
		buf[n] = iterPair{index, e}
		n++
	}
	xas.offset, xas.index = uint8(off), index
	return n
}

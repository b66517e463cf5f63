// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/internal/cpu"
)

// node is struct xa_node. Nodes live in one flat array, nodes, and are
// named by their index in it (a handle), so that following a node entry
// costs one load: the entry is the handle shifted left by two, plus the
// internal tag.
//
// Every field is a word that lockless readers may load, so every field
// is accessed with sync/atomic: slots, marks and parent change while the
// node is in the tree, under the array's lock; shift and offset are set
// while the node is unreachable and stay fixed while it is reachable;
// count and nr_values are the writer's own but share the header word.
// The header packs shift, offset, count and nr_values, one byte each.
// drift is the model's own, read by no walk: how far nr_values is from
// what the slots hold because xas_store's formula left it so (see
// State.uncounted); Check allows exactly that much.
//
// A node that leaves the tree returns to the cache only after an RCU
// grace period, zeroed as radix_tree_node_rcu_free does, so no reader
// inside a read-side section that could still hold its handle sees it
// reused. The slab is never unmapped and a node is only ever read with
// atomic loads, so a reader outside any section (XArray.Load) may walk a
// reused node safely: it learns from its array's free sequence that it
// must not trust what it found.
type node struct {
	hdr    atomic.Uint32 // shift | offset<<8 | count<<16 | nrValues<<24
	array  atomic.Uint32 // id of the owning XArray; arrayRCUFree once freed
	parent atomic.Uint32
	drift  atomic.Int32 // nr_values less the values in the slots
	slots  [chunkSize]atomic.Uint64
	marks  [maxMarks]atomic.Uint64
}

func (n *node) shift() uint8    { return uint8(n.hdr.Load()) }
func (n *node) offset() uint8   { return uint8(n.hdr.Load() >> 8) }
func (n *node) count() uint8    { return uint8(n.hdr.Load() >> 16) }
func (n *node) nrValues() uint8 { return uint8(n.hdr.Load() >> 24) }

// setHeaderByte replaces byte i of the header. Only the writer holding
// the lock, or the owner of an unreachable node, changes the header, so
// a load and a store suffice.
func (n *node) setHeaderByte(i uint, v uint8) {
	h := n.hdr.Load()
	n.hdr.Store(h&^(0xff<<(8*i)) | uint32(v)<<(8*i))
}

func (n *node) setShift(v uint8)    { n.setHeaderByte(0, v) }
func (n *node) setOffset(v uint8)   { n.setHeaderByte(1, v) }
func (n *node) setCount(v uint8)    { n.setHeaderByte(2, v) }
func (n *node) setNrValues(v uint8) { n.setHeaderByte(3, v) }

const (
	// firstHandle is the lowest node handle: a node entry must exceed
	// 4096 to be told apart from siblings, RetryEntry and ZeroEntry.
	firstHandle = 1025
	// arrayRCUFree marks a node waiting for its grace period (XA_RCU_FREE).
	arrayRCUFree = ^uint32(0)
)

// The slab holds every node of every XArray; nodeAt(h) is node h. Two
// builds of it exist: slab_mmap.go reserves one flat array outside the
// Go heap, so that a node is one load away from its handle; slab_heap.go
// grows chunks on the Go heap, for the race detector (which sees no
// memory outside the heap) and for systems without the reservation.
// Either is made on first use, by the node cache, never at package
// init, and only grows: a handle once handed out names the same memory
// for the life of the process.

// slabLimit is the lowest handle the slab does not back; it only grows.
var slabLimit atomic.Uint32

// nodeEntry is xa_mk_node.
func nodeEntry(h uint32) Entry { return Entry(h)<<2 | 2 }

// handleOf is the handle of a node entry.
func handleOf(e Entry) uint32 { return uint32(e >> 2) }

func (n *node) slot(off uint) Entry { return Entry(n.slots[off].Load()) }

func (n *node) setSlot(off uint, e Entry) { n.slots[off].Store(uint64(e)) }

func (n *node) parentNode() uint32 { return n.parent.Load() }

// nodeCache hands out node handles. Freed handles are reused at once,
// last in first out, as a slab would. The slab behind the handles is
// reserved, or grown, by the first allocation that needs it (growSlab).
//
// It is padded on both sides so that its writes, on every allocation and
// free, do not share a cache line with nodes, which every walk reads.
type nodeCache struct {
	_     cpu.CacheLinePad
	mu    sync.Mutex
	free  []uint32
	next  uint32 // lowest handle never handed out
	limit uint32 // lowest handle the slab does not back
	// err is why the slab could not be reserved; once set, every
	// allocation that finds no free handle fails with it.
	err     error
	grow    func(limit uint32) (uint32, error) // growSlab; tests replace it
	inUse   atomic.Int64
	waiting atomic.Int64
	_       cpu.CacheLinePad
}

var cache = nodeCache{next: firstHandle, limit: firstHandle, grow: growSlab}

// alloc takes a zeroed node from the cache. When every node is in use it
// returns 0 and ErrNoMemory, or a *NodeCacheError if the slab could not
// be reserved at all.
func (c *nodeCache) alloc() (uint32, error) {
	c.mu.Lock()
	var h uint32
	if n := len(c.free); n > 0 {
		h = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		if c.next == c.limit && c.err == nil {
			c.growLocked()
		}
		if c.next < c.limit {
			h = c.next
			c.next++
		}
	}
	err := c.err
	c.mu.Unlock()
	if h == 0 {
		if err == nil {
			err = ErrNoMemory
		}
		return 0, err
	}
	c.inUse.Add(1)
	return h, nil
}

// growLocked asks the slab for more handles. Called with mu held.
func (c *nodeCache) growLocked() {
	limit, err := c.grow(c.limit)
	if err != nil {
		c.err = err
		return
	}
	c.limit = limit
	if c == &cache {
		slabLimit.Store(limit)
	}
}

// release zeroes a node and returns it to the cache
// (radix_tree_node_rcu_free). No read-side section holds the node any
// more, but a Load that walks without one (see XArray.Load) may still be
// reading it, about to find out from the array's free sequence that it
// must walk again: so the node is cleared with atomic stores, and only the
// words that are not zero already are written (a node usually leaves the
// tree empty).
func (c *nodeCache) release(h uint32) {
	nodeAt(h).clear()
	c.put(h)
}

// clear zeroes every word of n that is not zero.
func (n *node) clear() {
	clearWord32(&n.hdr)
	clearWord32(&n.array)
	clearWord32(&n.parent)
	if n.drift.Load() != 0 {
		n.drift.Store(0)
	}
	for i := range n.slots {
		clearWord64(&n.slots[i])
	}
	for i := range n.marks {
		clearWord64(&n.marks[i])
	}
}

func clearWord32(w *atomic.Uint32) {
	if w.Load() != 0 {
		w.Store(0)
	}
}

func clearWord64(w *atomic.Uint64) {
	if w.Load() != 0 {
		w.Store(0)
	}
}

func (c *nodeCache) put(h uint32) {
	c.mu.Lock()
	c.free = append(c.free, h)
	c.mu.Unlock()
	c.inUse.Add(-1)
}

// nodeBytes is the size of one node.
const nodeBytes = int64(16 + 8*chunkSize + 8*maxMarks)

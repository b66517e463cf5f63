// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Debugging aids. Nothing in this file is needed to use an XArray: it is
// what the kernel's test harness reaches into struct xarray and struct
// xa_node for (xa_head, xa_dump, a node's count and slots, the cursor's
// RESTART/BOUNDS states), what stress harnesses and leak checks use (the
// structural validator, the node cache's counters, breaking a lock left
// held by a crashed worker), and the view of a node that the workingset
// code's update callback gets. Unless a comment says otherwise, these
// read the tree without synchronising with writers: call them with the
// array's lock held or while no writer runs.

import (
	"fmt"
	"io"
)

// Head is a debugging aid: it returns the head entry, which is Null, the
// entry at index 0, or the top node (xa_head).
func (xa *XArray) Head() Entry { return xa.headEntry() }

// HeadNode is a debugging aid: it returns the top node, not Valid if the
// head is not a node.
func (xa *XArray) HeadNode() Node {
	if e := xa.headEntry(); e.IsNode() {
		return Node{handleOf(e)}
	}
	return Node{}
}

// Nodes is a debugging and accounting aid: it returns the number of nodes
// in the tree. Lock held or quiescent.
func (xa *XArray) Nodes() int {
	head := xa.headEntry()
	if !head.IsNode() {
		return 0
	}
	return countNodes(handleOf(head))
}

// Check is a debugging aid: it validates the whole tree (the xa_dump-based
// checks of the kernel's test harness, made explicit). Call it with the
// lock held or with no writer running. It checks, for every node: that it
// belongs to this array and is not freed; its parent, offset and shift
// agree with where it hangs; count matches the slots, and nr_values
// matches them too or differs by exactly the drift that the kernel's
// xas_store formula left (see VariantExactNrValues and checkCounts), and
// is at most 64; siblings name a lower slot of the same node whose entry
// is neither a sibling, Null nor a node above the leaves; no live slot
// holds RetryEntry; each mark bit of a slot that holds a node is set
// exactly when the node has that mark somewhere, and Null and sibling
// slots carry no marks (except the free mark of arrays that track free
// indices); the root marks agree with the top node. It returns the first
// problem found, or nil.
func (xa *XArray) Check() error {
	head := xa.headEntry()
	if !head.IsNode() {
		if head.IsInternal() && head != ZeroEntry {
			return fmt.Errorf("xarray check: head holds internal entry %v", head)
		}
		return nil
	}
	h := handleOf(head)
	n := nodeAt(h)
	if n.parentNode() != 0 {
		return fmt.Errorf("xarray check: top %v has a parent", Node{h})
	}
	if err := xa.checkNode(h, 0); err != nil {
		return err
	}
	for m := Mark0; m < maxMarks; m++ {
		if m == FreeMark && xa.trackFree() {
			continue
		}
		if xa.marked(m) != n.anyMark(m) {
			return fmt.Errorf("xarray check: root mark %d is %v but top %v says %v",
				m, xa.marked(m), Node{h}, n.anyMark(m))
		}
	}
	return nil
}

// Dump is a debugging aid: it writes the tree the way xa_dump does, the
// head, then every node and every entry with the indices it covers. Lock
// held or quiescent.
func (xa *XArray) Dump(w io.Writer) {
	head := xa.headEntry()
	fmt.Fprintf(w, "xarray %d: head %v flags %#x marks %v %v %v\n", xa.id, head,
		uint32(Flags(xa.flags.Load())&flagsUser&^(7<<markShift)), xa.marked(Mark0), xa.marked(Mark1), xa.marked(Mark2))
	shift := uint(0)
	if head.IsNode() {
		shift = uint(toNode(head).shift()) + chunkShift
	}
	dumpEntry(w, head, 0, shift, 0)
}

// BreakLock is a debugging aid for stress harnesses: it releases the
// array's lock if it is held, and reports whether it was. It is for a
// harness whose worker died of a kernel BUG while holding the lock, as a
// crashed task would leave a spinlock: call it only when no live
// goroutine can hold the lock.
func (xa *XArray) BreakLock() bool {
	held := !xa.mu.TryLock()
	xa.Unlock()
	return held
}

// Cursor is a debugging aid: it says where a State stands, in the terms
// of the kernel's cursor states.
type Cursor int

const (
	CursorNode    Cursor = iota // on a slot of a node
	CursorHead                  // on the head of the array (xa_node == NULL)
	CursorRestart               // not walked (XAS_RESTART)
	CursorBounds                // off the end of the tree (XAS_BOUNDS)
	CursorError                 // holding an error
)

func (c Cursor) String() string {
	return [...]string{"node", "head", "restart", "bounds", "error"}[c]
}

// Cursor is a debugging aid: it reports where the State stands.
func (xas *State) Cursor() Cursor {
	switch xas.node {
	case nodeHead:
		return CursorHead
	case nodeBounds:
		return CursorBounds
	case nodeError:
		return CursorError
	case nodeRestart:
		return CursorRestart
	}
	return CursorNode
}

// Node is a debugging aid: it returns the node the State is on, not
// Valid when the State is on the head or in a cursor state.
func (xas *State) Node() Node {
	if xas.node < firstHandle {
		return Node{}
	}
	return Node{xas.node}
}

// Node is a debugging aid: a view of one node of a tree, for tests and
// dumps. It is also how the workingset code names a node: what the
// callback set by State.SetUpdate gets, and what DeleteNodeLocked takes.
// Its methods read the node without synchronising with writers: use them
// with the array's lock held or while the array is quiescent.
type Node struct{ h uint32 }

// Valid reports whether n names a node.
func (n Node) Valid() bool { return n.h >= firstHandle && n.h < slabLimit.Load() }

// Handle returns the node's handle in the node cache.
func (n Node) Handle() uint32 { return n.h }

// Count returns the number of non-Null slots.
func (n Node) Count() int { return int(nodeAt(n.h).count()) }

// NrValues returns the number of value entries and siblings of values.
func (n Node) NrValues() int { return int(nodeAt(n.h).nrValues()) }

// Shift returns the number of index bits below this node's level.
func (n Node) Shift() uint { return uint(nodeAt(n.h).shift()) }

// Offset returns the node's slot in its parent.
func (n Node) Offset() uint { return uint(nodeAt(n.h).offset()) }

// Slot returns the entry in slot i (xa_entry_locked).
func (n Node) Slot(i int) Entry { return nodeAt(n.h).slot(uint(i)) }

// Parent returns the node's parent; it is not Valid at the top.
func (n Node) Parent() Node { return Node{nodeAt(n.h).parentNode()} }

// Marked reports whether slot i has mark m.
func (n Node) Marked(i int, m Mark) bool { return nodeAt(n.h).getMark(uint(i), m) }

// Freed reports whether the node has left its tree and waits for, or
// has passed, its grace period.
func (n Node) Freed() bool {
	a := nodeAt(n.h).array.Load()
	return a == arrayRCUFree || a == 0
}

// BelongsTo reports whether the node is part of xa (node->array == xa).
func (n Node) BelongsTo(xa *XArray) bool { return nodeAt(n.h).array.Load() == xa.id }

func (n Node) String() string {
	if !n.Valid() {
		return fmt.Sprintf("node(%d, invalid)", n.h)
	}
	nd := nodeAt(n.h)
	return fmt.Sprintf("node %d shift %d offset %d parent %d count %d values %d marks %#x %#x %#x",
		n.h, nd.shift(), nd.offset(), nd.parentNode(), nd.count(), nd.nrValues(),
		nd.marks[0].Load(), nd.marks[1].Load(), nd.marks[2].Load())
}

// PreallocLeaked is a debugging and accounting aid: it returns the number
// of preallocated nodes that States of xa dropped where the kernel
// leaks them. xas_alloc takes the first node of a State's chain and
// forgets the rest, so a chain of two or more (SplitAlloc's, when no
// Split uses it) loses its other nodes to the first Store that needs a
// node; xas_nomem replaces what the State held with the one node it
// allocates. The model puts those nodes back in the node cache, so that
// NodeCacheStats stays exact, and counts them here. Zero means no
// operation on xa took such a path. It is safe to call at any time.
func (xa *XArray) PreallocLeaked() int64 { return xa.leaked.Load() }

// CacheStats is a debugging and accounting aid: it counts the nodes of
// the node cache, shared by every XArray.
type CacheStats struct {
	Capacity int64 // most nodes the cache can hand out (before the slab is made: the most it will ask for)
	InUse    int64 // handed out and not yet returned, Waiting included
	Waiting  int64 // removed from a tree, waiting for a grace period
	Free     int64 // returned and ready for reuse
	Bytes    int64 // bytes of one node
}

// NodeCacheStats is a debugging and accounting aid: it returns the node
// cache's counters. After every XArray is destroyed and rcu.Barrier has
// run, InUse is zero unless a node leaked. It is safe to call at any time.
func NodeCacheStats() CacheStats {
	cache.mu.Lock()
	free := int64(len(cache.free))
	capacity := int64(slabCapacity(cache.limit))
	if cache.err != nil {
		capacity = 0
	}
	cache.mu.Unlock()
	return CacheStats{
		Capacity: max(capacity-firstHandle, 0),
		InUse:    cache.inUse.Load(),
		Waiting:  cache.waiting.Load(),
		Free:     free,
		Bytes:    nodeBytes,
	}
}

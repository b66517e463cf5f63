// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// State is struct xa_state: a cursor into an XArray for the advanced API.
// It is a value: declare one with NewState and pass its address; it does
// not allocate.
//
// The advanced API takes no locks. Reading (Load, Find, Next, ...) needs a
// read-side section of the array's RCU domain or the array's lock;
// modifying (Store, SetMark, Split, ...) needs the lock (State.Lock).
// Errors stay in the State, and every operation does nothing while the
// State holds an error: check Error, or loop on Nomem.
type State struct {
	xa     *XArray
	index  uint64
	shift  uint8
	sibs   uint8
	offset uint8
	node   uint32 // a node handle, or one of the cursor states below
	alloc  uint32 // preallocated nodes, chained through their parent field
	err    error
	update func(Node)
}

// Cursor states that State.node takes besides node handles. They mirror
// the kernel's: a NULL node means the entry is the head of the array.
const (
	nodeHead    = 0 // NULL: the entry lives in the head of the array
	nodeBounds  = 1 // XAS_BOUNDS: walked off the end of the tree
	nodeError   = 2 // XA_ERROR(err): err holds the error
	nodeRestart = 3 // XAS_RESTART: not walked yet
)

// NewState returns a State for index of xa (XA_STATE).
func NewState(xa *XArray, index uint64) State {
	return State{xa: xa, index: index, node: nodeRestart}
}

// NewStateOrder returns a State for the naturally aligned range of
// 1<<order indices that holds index (XA_STATE_ORDER).
func NewStateOrder(xa *XArray, index uint64, order uint) State {
	if order < 64 {
		index = index >> order << order
	} else {
		index = 0
	}
	return State{
		xa:    xa,
		index: index,
		shift: uint8(order - order%chunkShift),
		sibs:  uint8(1<<(order%chunkShift) - 1),
		node:  nodeRestart,
	}
}

// Index returns the index the State is on.
func (xas *State) Index() uint64 { return xas.index }

// Offset returns the slot offset within the current node.
func (xas *State) Offset() uint { return uint(xas.offset) }

// Array returns the XArray the State works on.
func (xas *State) Array() *XArray { return xas.xa }

// Error returns the error held by the State (xas_error), or nil.
func (xas *State) Error() error {
	if xas.node == nodeError {
		return xas.err
	}
	return nil
}

// SetErr puts the State into an error state (xas_set_err).
func (xas *State) SetErr(err error) {
	if err == nil {
		panic("xarray: State.SetErr(nil)")
	}
	xas.node = nodeError
	xas.err = err
}

// Invalid reports whether the State is in the restart, bounds or error
// state (xas_invalid).
func (xas *State) Invalid() bool { return xas.node != nodeHead && xas.node < firstHandle }

// Valid reports whether the State is on an entry (xas_valid).
func (xas *State) Valid() bool { return !xas.Invalid() }

// IsNode reports whether the State is on a slot of a node (xas_is_node).
func (xas *State) IsNode() bool { return xas.node >= firstHandle }

// notNode is xas_not_node.
func (xas *State) notNode() bool { return xas.node < firstHandle }

// frozen is xas_frozen: Next and Prev do not move the index.
func (xas *State) frozen() bool { return xas.node == nodeRestart || xas.node == nodeError }

// top is xas_top.
func (xas *State) top() bool {
	return xas.node == nodeHead || xas.node == nodeBounds || xas.node == nodeRestart
}

// Reset makes the next operation walk from the head, clearing any error
// (xas_reset).
func (xas *State) Reset() { xas.node = nodeRestart }

// Set moves the State to index, to be walked by the next operation
// (xas_set).
func (xas *State) Set(index uint64) {
	xas.index = index
	xas.node = nodeRestart
}

// SetOrder moves the State to the range of 1<<order indices holding
// index (xas_set_order). An order of 64 or more covers every index.
func (xas *State) SetOrder(index uint64, order uint) {
	if order < 64 {
		xas.index = index >> order << order
	} else {
		xas.index = 0
	}
	xas.shift = uint8(order - order%chunkShift)
	xas.sibs = uint8(1<<(order%chunkShift) - 1)
	xas.node = nodeRestart
}

// Advance moves the index to index, inside the entry the State is on,
// without walking (xas_advance).
func (xas *State) Advance(index uint64) {
	var shift uint8
	if xas.IsNode() {
		shift = nodeAt(xas.node).shift()
	}
	xas.index = index
	xas.offset = uint8(index>>shift) & chunkMask
}

// SetUpdate sets the function called, with the lock held, whenever a
// node's count or number of values changes (xas_set_update).
func (xas *State) SetUpdate(fn func(n Node)) { xas.update = fn }

// Lock takes the array's lock (xas_lock).
func (xas *State) Lock() { xas.xa.Lock() }

// Unlock releases the array's lock (xas_unlock).
func (xas *State) Unlock() { xas.xa.Unlock() }

// Retry reports whether e must be skipped or retried (xas_retry): true
// for ZeroEntry, and for RetryEntry after resetting the State.
func (xas *State) Retry(e Entry) bool {
	if e == ZeroEntry {
		return true
	}
	if e != RetryEntry {
		return false
	}
	xas.Reset()
	return true
}

func (xas *State) setBounds() Entry {
	xas.node = nodeBounds
	return Null
}

// size is xas_size: the number of indices the State covers.
func (xas *State) size() uint64 { return (uint64(xas.sibs) + 1) << xas.shift }

// max is xas_max: the largest index the tree must hold to store the
// State's range. A multi-index entry cannot live in the head, so a range
// that starts at 0 needs one index more.
func (xas *State) max() uint64 {
	max := xas.index
	if xas.shift != 0 || xas.sibs != 0 {
		size := xas.size()
		if size == 0 {
			// The range is every index: its size wraps to 0 in 64 bits
			// (as the kernel's does, leaving such a store in the head).
			return ^uint64(0)
		}
		mask := size - 1
		max |= mask
		if mask == max {
			max++
		}
	}
	return max
}

// maxIndex is max_index: the largest index a tree with this head holds.
func maxIndex(head Entry) uint64 {
	if !head.IsNode() {
		return 0
	}
	return chunkSize<<toNode(head).shift() - 1
}

// xasUpdate is xas_update: the node callback.
func (xas *State) updateNode(h uint32) {
	if xas.update != nil {
		xas.update(Node{h})
	}
}

// start is xas_start: begin a walk, or resume one that is valid.
func (xas *State) start() Entry {
	if xas.Valid() {
		return xas.Reload()
	}
	if xas.node == nodeError {
		return Null
	}
	e := xas.xa.headEntry()
	if !e.IsNode() {
		if xas.index != 0 {
			return xas.setBounds()
		}
	} else if xas.index>>toNode(e).shift() > chunkMask {
		return xas.setBounds()
	}
	xas.node = nodeHead
	return e
}

// descend is xas_descend: step into node h and return the entry for the
// index, resolving siblings to their canonical slot. A sibling that leads
// to a node above the leaves means a concurrent split: RetryEntry.
func (xas *State) descend(h uint32) Entry {
	return xas.descendAt(h, uint(nodeAt(h).shift()))
}

// descendAt is descend for a node whose shift the caller knows: a
// child's shift is its parent's less six, and not reading it from the
// child saves a cache line per level.
func (xas *State) descendAt(h uint32, shift uint) Entry {
	n := nodeAt(h)
	off := uint(xas.index>>shift) & chunkMask
	e := n.slot(off)
	xas.node = h
	for e.IsSibling() {
		injectSiblingHop.Hit()
		off = e.siblingOffset()
		e = n.slot(off)
		if shift != 0 && e.IsNode() {
			e = RetryEntry
		}
		if xas.xa.variant&VariantSingleSiblingHop != 0 {
			break // 6.1: one hop only, before cbc02854331e
		}
	}
	xas.offset = uint8(off)
	return e
}

// Load walks to the State's index and returns its entry (xas_load). It
// never expands the tree, and returns Null in an error state. The entry
// may be RetryEntry, ZeroEntry or, for a multi-index State, a node.
func (xas *State) Load() Entry {
	e := xas.start()
	if !e.IsNode() {
		return e
	}
	h := handleOf(e)
	shift := uint(nodeAt(h).shift())
	for uint(xas.shift) <= shift {
		// descendAt, with the common case (no sibling) written out so
		// that the walk makes no call per level.
		off := uint(xas.index>>shift) & chunkMask
		e = nodeAt(h).slot(off)
		if e.IsSibling() {
			e = xas.descendAt(h, shift)
		} else {
			xas.node = h
			xas.offset = uint8(off)
		}
		if shift == 0 || !e.IsNode() {
			break
		}
		h = handleOf(e)
		shift -= chunkShift
	}
	return e
}

// Reload re-reads the slot the State is on without walking (xas_reload);
// the State must be valid. It follows one sibling.
func (xas *State) Reload() Entry {
	if xas.node == nodeHead {
		return xas.xa.headEntry()
	}
	n := nodeAt(xas.node)
	off := uint(xas.index>>n.shift()) & chunkMask
	e := n.slot(off)
	if !e.IsSibling() {
		return e
	}
	return n.slot(e.siblingOffset())
}

// Destroy frees the nodes preallocated in the State (xas_destroy).
func (xas *State) Destroy() {
	for h := xas.alloc; h != 0; h = xas.alloc {
		xas.alloc = nodeAt(h).parentNode()
		cache.release(h)
	}
}

// Nomem allocates a node when the State failed for lack of memory, and
// reports whether the caller should retry (xas_nomem). Call it with the
// lock released. Otherwise it frees what was preallocated and returns
// false.
func (xas *State) Nomem() bool {
	if xas.node != nodeError || xas.err != ErrNoMemory {
		xas.Destroy()
		return false
	}
	h, err := xas.xa.allocNode(false)
	return xas.nomemGot(h, err)
}

// nomemLocked is __xas_nomem: Nomem for callers that hold the lock. It
// drops the lock to allocate, as GFP_KERNEL allows.
func (xas *State) nomemLocked() bool {
	if xas.node != nodeError || xas.err != ErrNoMemory {
		xas.Destroy()
		return false
	}
	xas.xa.Unlock()
	h, err := xas.xa.allocNode(false)
	xas.xa.Lock()
	return xas.nomemGot(h, err)
}

// nomemGot ends xas_nomem and __xas_nomem with the node they allocated
// (0 if none): it becomes the whole preallocation, replacing whatever
// the State held, which the kernel loses (see leak).
func (xas *State) nomemGot(h uint32, err error) bool {
	xas.leak(xas.alloc)
	xas.alloc = h
	if h == 0 {
		xas.err = err // a reservation the system refused is worth naming
		return false
	}
	nodeAt(h).parent.Store(0)
	xas.node = nodeRestart
	return true
}

// leak drops the preallocated nodes chained from h, as the kernel drops
// them when xas_alloc takes the first node of a chain or xas_nomem
// overwrites xa_alloc: no pointer to them remains and they are never
// freed. The model returns them to the node cache at once, so that the
// cache's accounting stays whole, and counts them in the array's
// PreallocLeaked, so that a path that leaks in the kernel shows.
func (xas *State) leak(h uint32) {
	for h != 0 {
		next := nodeAt(h).parentNode()
		cache.release(h)
		xas.xa.leaked.Add(1)
		h = next
	}
}

// allocNode is xas_alloc: a node for the tree at shift, taken from the
// State's preallocated nodes or from the cache under the lock.
func (xas *State) allocNode(shift uint) uint32 {
	parent := xas.node
	if xas.Invalid() {
		return 0
	}
	h := xas.alloc
	if h != 0 {
		// The kernel takes the first node and forgets the rest of
		// the chain.
		xas.alloc = 0
		xas.leak(nodeAt(h).parentNode())
	} else {
		var err error
		if h, err = xas.xa.allocNode(true); h == 0 {
			xas.SetErr(err)
			return 0
		}
	}
	n := nodeAt(h)
	if parent != nodeHead {
		n.setOffset(xas.offset)
		p := nodeAt(parent)
		p.setCount(p.count() + 1)
		if p.count() > chunkSize {
			bug(parent, "count above 64 after allocating a child")
		}
		xas.updateNode(parent)
	}
	n.setShift(uint8(shift))
	n.setCount(0)
	n.setNrValues(0)
	n.parent.Store(parent)
	n.array.Store(xas.xa.id)
	return h
}

// expand is xas_expand: add levels above the head until the tree holds
// xas.max(). It returns the shift of the level below which the store
// goes, or -1 if a node could not be allocated.
func (xas *State) expand(head Entry) int {
	xa := xas.xa
	var h uint32
	shift := uint(0)
	max := xas.max()
	if head == Null {
		if max == 0 {
			return 0
		}
		for max>>shift >= chunkSize {
			shift += chunkShift
		}
		return int(shift + chunkShift)
	} else if head.IsNode() {
		h = handleOf(head)
		shift = uint(nodeAt(h).shift()) + chunkShift
	}
	xas.node = nodeHead

	for max > maxIndex(head) {
		h = xas.allocNode(shift)
		if h == 0 {
			return -1
		}
		n := nodeAt(h)
		n.setCount(1)
		if head.IsValue() {
			n.setNrValues(1)
		}
		n.setSlot(0, head)
		// Carry the root marks into slot 0 of the new top node.
		for m := Mark0; m < maxMarks; m++ {
			if xa.trackFree() && m == FreeMark {
				n.markAll(FreeMark)
				if !xa.marked(FreeMark) {
					n.clearMark(0, FreeMark)
					xa.markSet(FreeMark)
				}
			} else if xa.marked(m) {
				n.setMark(0, m)
			}
		}
		// The node is complete: now link it above the old head.
		if head.IsNode() {
			old := toNode(head)
			if old.offset() != 0 { // a top node's offset is always 0
				old.setOffset(0)
			}
			old.parent.Store(h)
		}
		head = nodeEntry(h)
		xa.head.Store(uint64(head))
		xas.updateNode(h)
		shift += chunkShift
	}
	xas.node = h
	return int(shift)
}

// slotRef names a slot a store goes to: a node's slot, or the head.
type slotRef struct {
	node uint32 // nodeHead for the head
	off  uint
}

func (xas *State) storeSlot(s slotRef, e Entry) {
	if s.node == nodeHead {
		xas.xa.head.Store(uint64(e))
	} else {
		nodeAt(s.node).setSlot(s.off, e)
	}
}

// create is xas_create: expand the tree and build the path down to the
// State's slot. It returns the entry already there, or Null.
func (xas *State) create(allowRoot bool) Entry {
	xa := xas.xa
	var e Entry
	var slot slotRef
	order := uint(xas.shift)
	var shift int

	switch {
	case xas.top():
		e = xa.headEntry()
		xas.node = nodeHead
		if e == Null && xa.zeroBusy() {
			e = ZeroEntry
		}
		shift = xas.expand(e)
		if shift < 0 {
			return Null
		}
		if shift == 0 && !allowRoot {
			shift = chunkShift
		}
		e = xa.headEntry()
		slot = slotRef{node: nodeHead}
	case xas.node == nodeError:
		return Null
	case xas.node != nodeHead:
		n := nodeAt(xas.node)
		shift = int(n.shift())
		e = n.slot(uint(xas.offset))
		slot = slotRef{xas.node, uint(xas.offset)}
	default:
		shift = 0
		e = xa.headEntry()
		slot = slotRef{node: nodeHead}
	}

	for shift > int(order) {
		shift -= chunkShift
		var h uint32
		if e == Null {
			h = xas.allocNode(uint(shift))
			if h == 0 {
				break
			}
			if xa.trackFree() {
				nodeAt(h).markAll(FreeMark)
			}
			xas.storeSlot(slot, nodeEntry(h))
		} else if e.IsNode() {
			h = handleOf(e)
		} else {
			break
		}
		e = xas.descend(h)
		slot = slotRef{h, uint(xas.offset)}
	}
	return e
}

// CreateRange makes sure that storing single-index entries anywhere in
// the State's range needs no allocation (xas_create_range). Afterwards
// the State has order 0 and is on the first index of the range.
func (xas *State) CreateRange() {
	index := xas.index
	shift := xas.shift
	sibs := xas.sibs

	xas.index |= (uint64(sibs)+1)<<shift - 1
	if xas.IsNode() && nodeAt(xas.node).shift() == xas.shift {
		xas.offset |= sibs
	}
	xas.shift = 0
	xas.sibs = 0

	for {
		xas.create(true)
		if xas.Error() != nil {
			xas.shift = shift
			xas.sibs = sibs
			xas.index = index
			return
		}
		if xas.index <= index|chunkMask {
			break
		}
		xas.index -= chunkSize

		for {
			h := xas.node
			n := nodeAt(h)
			if n.shift() >= shift {
				break
			}
			xas.node = n.parentNode()
			xas.offset = n.offset() - 1
			if n.offset() != 0 {
				break
			}
		}
	}
	xas.index = index
	if xas.node != nodeHead {
		xas.offset = uint8(xas.index>>nodeAt(xas.node).shift()) & chunkMask
	}
}

// shrink is xas_shrink: while the top node holds only slot 0, move that
// entry into the head and free the node. A reader still inside the old
// node finds RetryEntry in slot 0 and restarts.
func (xas *State) shrink() {
	xa := xas.xa
	h := xas.node
	for {
		n := nodeAt(h)
		if n.count() > chunkSize {
			bug(h, "count above 64 in shrink")
		}
		if n.count() != 1 {
			break
		}
		e := n.slot(0)
		if e == Null {
			break
		}
		if !e.IsNode() && n.shift() != 0 {
			break
		}
		if xa.zeroBusy() {
			e = zeroToNull(e)
		}
		xas.node = nodeBounds

		xa.head.Store(uint64(e))
		if xa.trackFree() && !n.getMark(0, FreeMark) {
			xa.markClear(FreeMark)
		}
		n.setCount(0)
		n.setNrValues(0)
		if !e.IsNode() {
			n.setSlot(0, RetryEntry)
		}
		xas.updateNode(h)
		xa.freeNode(h)
		if !e.IsNode() {
			break
		}
		h = handleOf(e)
		nodeAt(h).parent.Store(0)
	}
}

// deleteNode is xas_delete_node: free the State's node if it is empty,
// and its ancestors as they empty in turn; then shrink the tree.
func (xas *State) deleteNode() {
	xa := xas.xa
	h := xas.node
	for {
		n := nodeAt(h)
		if n.count() > chunkSize {
			bug(h, "count above 64 in delete")
		}
		if n.count() != 0 {
			break
		}
		parent := n.parentNode()
		xas.node = parent
		xas.offset = n.offset()
		xa.freeNode(h)
		if parent == 0 {
			xa.head.Store(0)
			xas.node = nodeBounds
			return
		}
		p := nodeAt(parent)
		p.setSlot(uint(xas.offset), Null)
		p.setCount(p.count() - 1)
		if p.count() > chunkSize {
			bug(parent, "count below 0 in delete")
		}
		h = parent
		xas.updateNode(h)
	}
	if nodeAt(h).parentNode() == 0 {
		xas.shrink()
	}
}

// freeNodes is xas_free_nodes: top has been unlinked from the tree; put
// RetryEntry in every used slot beneath it, for readers still inside,
// and free every node after a grace period.
func (xas *State) freeNodes(top uint32) {
	off := uint(0)
	h := top
	for {
		n := nodeAt(h)
		e := n.slot(off)
		if n.shift() != 0 && e.IsNode() {
			h = handleOf(e)
			off = 0
			continue
		}
		if e != Null {
			n.setSlot(off, RetryEntry)
		}
		off++
		for off == chunkSize {
			n = nodeAt(h)
			parent := n.parentNode()
			off = uint(n.offset()) + 1
			n.setCount(0)
			n.setNrValues(0)
			xas.updateNode(h)
			xas.xa.freeNode(h)
			if h == top {
				return
			}
			h = parent
		}
	}
}

// updateCounts is update_node: account a store's changes to the node.
// The two counts are bytes, as the kernel's unsigned chars are: one
// taken below zero wraps, and fails the range check as in the kernel.
func (xas *State) updateCounts(h uint32, count, values int) {
	if h == nodeHead || (count == 0 && values == 0) {
		return
	}
	n := nodeAt(h)
	n.setCount(uint8(int(n.count()) + count))
	n.setNrValues(uint8(int(n.nrValues()) + values))
	if n.count() > chunkSize || n.nrValues() > chunkSize {
		bug(h, "count %d or values %d out of range after a store", n.count(), n.nrValues())
	}
	xas.updateNode(h)
	if count < 0 {
		xas.deleteNode()
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Store stores e over the State's range and returns the entry that was
// there (xas_store). For a multi-index State the returned entry means
// little. Storing Null clears the marks first, so that a marked walk
// never stops on a marked Null. The node's count and nr_values change as
// xas_store changes them: a State smaller than the multi-index entry it
// lands in replaces the whole entry but counts only the slots it writes
// (see uncounted and VariantExactNrValues). The lock must be held. On
// failure the State holds ErrNoMemory and Store returns Null.
func (xas *State) Store(e Entry) Entry {
	var first Entry
	value := e.IsValue()
	if e != Null {
		first = xas.create(!e.IsNode() && e != ZeroEntry)
	} else {
		first = xas.Load()
	}
	if xas.Invalid() {
		return first
	}
	h := xas.node
	var n *node
	if h != nodeHead {
		n = nodeAt(h)
		if xas.shift < n.shift() {
			xas.sibs = 0
		}
	}
	if first == e && xas.sibs == 0 {
		return first
	}

	next := first
	old := first
	off := uint(xas.offset)
	max := off + uint(xas.sibs)
	if n != nil && xas.sibs != 0 {
		xas.squashMarks()
	}
	lateMarks := e == Null && xas.xa.variant&VariantMarksAfterNull != 0
	if e == Null && !lateMarks {
		xas.InitMarks()
	}

	count, values := 0, 0
	for {
		// The marks are already clear, so a marked walk that meets
		// this Null does not stop early.
		injectStoreSlot.Hit()
		if n == nil {
			xas.xa.head.Store(uint64(e))
		} else {
			n.setSlot(off, e)
		}
		if next.IsNode() && (n == nil || n.shift() != 0) {
			xas.freeNodes(handleOf(next))
		}
		if n == nil {
			break
		}
		count += b2i(next == Null) - b2i(e == Null)
		values += b2i(!first.IsValue()) - b2i(!value)
		if e != Null {
			if off == max {
				break
			}
			if !e.IsSibling() {
				e = mkSibling(uint(xas.offset))
			}
		} else if off == chunkMask {
			break
		}
		off++
		next = n.slot(off)
		if !next.IsSibling() {
			if e == Null && off > max {
				break
			}
			first = next
		}
	}
	if d := b2i(value) - b2i(old.IsValue()); d != 0 && e != Null && n != nil {
		values += xas.uncounted(n, max, d)
	}
	if lateMarks {
		injectMarksAfterNull.Hit()
		xas.InitMarks()
	}
	xas.updateCounts(h, count, values)
	return first
}

// uncounted accounts the slots that a non-Null Store changed but did not
// write: when the State is smaller than the multi-index entry it landed
// in, the loop writes the entry's canonical slot up to max, and the
// entry's sibling slots past max stay siblings of the canonical slot, so
// they now hold the new entry too. Each of them gains d values (1 or -1:
// a value replaced a non-value, or the other way round), which
// xas_store's formula never counts. With VariantExactNrValues uncounted
// returns their change of nr_values, for the store to add; otherwise it
// returns 0, so that nr_values keeps the kernel's count, and adds to the
// node's drift how far that count now is from the slots. Lock held.
func (xas *State) uncounted(n *node, max uint, d int) int {
	sib := mkSibling(uint(xas.offset))
	missed := 0
	for s := max + 1; s < chunkSize && n.slot(s) == sib; s++ {
		missed += d
	}
	if xas.xa.variant&VariantExactNrValues != 0 {
		return missed
	}
	if missed != 0 {
		n.drift.Add(int32(-missed))
	}
	return 0
}

// GetOrder returns the order of the entry the State was loaded on
// (xas_get_order): call it after Load, on a canonical slot.
func (xas *State) GetOrder() int {
	if xas.node == nodeHead || xas.notNode() {
		return 0
	}
	n := nodeAt(xas.node)
	order := 0
	for {
		s := uint(xas.offset) + 1<<order
		if s >= chunkSize || !n.slot(s).IsSibling() {
			break
		}
		order++
	}
	return order + int(n.shift())
}

// Pause prepares the State for the lock or the read-side section to be
// dropped during a forward walk (xas_pause): the next Find restarts from
// the head at the index after the current entry, or stays at the end if
// that index wraps to 0. Under VariantPauseUnmasked (before v6.14) the
// index is not aligned to the node first, and can land past that start.
func (xas *State) Pause() {
	h := xas.node
	if xas.Invalid() {
		return
	}
	xas.node = nodeRestart
	if h != nodeHead {
		n := nodeAt(h)
		off := uint(xas.offset)
		for off++; off < chunkSize; off++ {
			if !n.slot(off).IsSibling() {
				break
			}
		}
		if xas.xa.variant&VariantPauseUnmasked == 0 {
			xas.index &= ^uint64(0) << n.shift()
		}
		xas.index += uint64(off-uint(xas.offset)) << n.shift()
		if xas.index == 0 {
			xas.node = nodeBounds
		}
	} else {
		xas.index++
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/internal/cpu"
	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/internal/sched"
	"github.com/xabench/xabench/rcu"
)

// XArray is struct xarray: a sparse array of Entry indexed by uint64,
// a radix tree of 64-slot nodes whose readers take no lock.
//
// Writers serialise on the array's lock; the normal API takes it for
// them, and the Locked forms expect it held. Readers (Find, GetMark, the
// iterators, State walks) hold only a read-side section of the array's
// RCU domain; Load holds none unless a node was freed under its walk.
// Nodes that leave the tree return to the node cache after a grace
// period of that domain.
type XArray struct {
	// What every lockless walk reads. Writers change head and flags only
	// when the tree grows or shrinks or a root mark changes.
	head    atomic.Uint64 // xa_head
	flags   atomic.Uint32 // Flags, with the root marks in the high bits
	id      uint32
	variant Variant
	rcu     *rcu.Domain
	faults  *Faults

	// freeSeq advances by two before any of this array's nodes goes
	// back to the node cache, so a Load that walked without a read-side
	// section can tell whether a node it read may have been reused. It
	// is odd, which sends every Load through a section, in arrays whose
	// variant frees nodes without a grace period.
	freeSeq atomic.Uint64

	// The lock, and what only its holder touches, on cache lines of their
	// own: every write takes the lock, and a lock word beside head made
	// every reader's Load miss on head while one goroutine stored (the
	// kernel's struct xarray has them side by side; see LoadWithWriter).
	_       cpu.CacheLinePad
	mu      sync.Mutex
	pending []uint32 // nodes unlinked under the lock, freed at Unlock
	// leaked counts the preallocated nodes that States of this array
	// dropped where the kernel loses them (see PreallocLeaked).
	leaked atomic.Int64
	_      cpu.CacheLinePad
}

// Variant selects kernel behaviour that changed between versions, for
// reproducing the bugs that the old behaviour allowed. The zero Variant
// is the current, fixed kernel.
type Variant uint32

const (
	// VariantSingleSiblingHop makes xas_descend follow a sibling once,
	// as before cbc02854331e ("XArray: Do not return sibling entries
	// from xa_load()", 6.1.53), so that a racing StoreRange can make a
	// load return a sibling entry.
	VariantSingleSiblingHop Variant = 1 << iota
	// VariantNoGracePeriod is a protocol break, not a kernel version:
	// nodes that leave the tree go back to the node cache at once, without
	// waiting for an RCU grace period, so a lockless reader can walk a
	// node that is being reused.
	VariantNoGracePeriod
	// VariantMarksAfterNull is a protocol break: storing Null writes the
	// slot before clearing the entry's marks, so a reader can see a
	// marked Null (the order that xas_store's comment forbids).
	VariantMarksAfterNull
	// VariantSplitMarksAllSlots makes Split (xas_split) give every one
	// of the 64 slots of a child node it installs for a marked entry
	// the entry's marks (node_mark_all), sibling slots included, as
	// before 2a0774c2886d ("XArray: set the marks correctly when
	// splitting an entry", v6.9) brought node_mark_slots, which marks
	// only the canonical slots. It is harmless only when splitting to
	// order 0; otherwise a marked walk that lands on a sibling slot
	// (NextMarked in a leaf, or FindMarked with
	// VariantFindMarkedSiblings) returns the sibling entry. TrySplit
	// (v6.15) is not affected. Check accepts marked sibling slots in an
	// array with this variant.
	VariantSplitMarksAllSlots
	// VariantSplitAllocLoose makes SplitAlloc's "too large" guard in
	// xas_split_alloc read xa_shift + 2*XA_CHUNK_SHIFT < order instead
	// of <=, as before 97db889b961e ("Xarray: distinguish large
	// entries correctly in xas_split_alloc()", v6.14). A split needing
	// exactly two new levels (order == the State's shift + 12) then
	// gets past it and allocates 1 << (order % 6) = 1 node instead of
	// failing with ErrNoMemory, and Split installs that node one level
	// down only: the entry becomes 64 entries of order shift+6, not
	// entries of the State's order.
	VariantSplitAllocLoose
	// VariantFindMarkedSiblings makes FindMarked (xas_find_marked)
	// return a sibling entry that it lands on, as before 7e060df04f56
	// ("Xarray: do not return sibling entries from xas_find_marked()",
	// v6.14), instead of scanning on. The mainline skip was added for
	// a racing StoreRange; with VariantSplitMarksAllSlots (the 6.1 and
	// 6.6 combination) it shows without a race.
	VariantFindMarkedSiblings
	// VariantPauseUnmasked makes Pause (xas_pause) step past the
	// entry's siblings without first aligning the index down to the
	// node's shift, as before c9ba5249ef8b ("Xarray: move forward
	// index correctly in xas_pause()", v6.14): after a Load left the
	// index inside a multi-index entry, its low bits survive and the
	// walk resumes past the start of the next slot, so it can miss the
	// entry there.
	VariantPauseUnmasked
	// VariantExactNrValues is a correction, not a kernel release: Store
	// keeps every node's nr_values equal to the value entries and
	// siblings of values that its slots hold. Without it Store counts as
	// xas_store does in every release: per slot written, the old entry
	// that governs the slot against the new one. A store whose State is
	// smaller than the multi-index entry it lands in writes only the
	// entry's first slots; the entry's other sibling slots change type
	// with it, uncounted, so nr_values drifts (kernel/releases.md §5),
	// and a later erase of the entry can take it below zero, which
	// update_node's XA_NODE_BUG_ON turns into a BUG (the Ackerley Tng
	// report of 2025-10-28). No profile sets it.
	VariantExactNrValues
)

// The race windows that stress runs can widen (see internal/inject). In
// a schedule search (internal/sched) each is a schedule point.
var (
	// between storing Null and clearing the marks, in VariantMarksAfterNull
	injectMarksAfterNull = inject.New("xarray.marks-after-null")
	// between reading a sibling and reading the slot it names
	injectSiblingHop = inject.New("xarray.descend.sibling-hop")
	// before each slot (or head) write of xas_store: a multi-index
	// store is seen half done between two of them
	injectStoreSlot = inject.New("xarray.store.slot")
	// in xas_find_marked, between finding a marked offset in the mark
	// bitmap and reading the slot at it
	injectFindMarkedSlot = inject.New("xarray.find-marked.slot")
)

// The schedule points of the lock, which exist only in a search, and the
// kernel code each point stands for in a search's trace.
const (
	pointLock     = "xarray.lock"
	pointLockWait = "xarray.lock.wait"
	pointUnlock   = "xarray.unlock"
)

var _ = sched.Describe(pointLock, "xa_lock") &&
	sched.Describe(pointLockWait, "xa_lock: taken, wait") &&
	sched.Describe(pointUnlock, "xa_unlock") &&
	sched.Describe("xarray.marks-after-null", "xas_store: clear the marks after NULL") &&
	sched.Describe("xarray.descend.sibling-hop", "xas_descend: read the slot a sibling names") &&
	sched.Describe("xarray.store.slot", "xas_store: write a slot") &&
	sched.Describe("xarray.find-marked.slot", "xas_find_marked: read the marked slot")

// Option configures an XArray built by New.
type Option func(*XArray)

// WithRCU makes the array's readers and node freeing use d instead of
// rcu.Default.
func WithRCU(d *rcu.Domain) Option { return func(xa *XArray) { xa.rcu = d } }

// WithVariant selects old kernel behaviour (see Variant).
func WithVariant(v Variant) Option { return func(xa *XArray) { xa.variant |= v } }

// WithFaults makes node allocation for this array fail as f says.
func WithFaults(f *Faults) Option { return func(xa *XArray) { xa.faults = f } }

var arrayIDs atomic.Uint32

// New returns an empty XArray with the given flags (xa_init_flags).
func New(flags Flags, opts ...Option) *XArray {
	if flags&^flagsUser != 0 {
		panic(fmt.Sprintf("xarray: New: unknown flags %#x", uint32(flags&^flagsUser)))
	}
	xa := &XArray{id: arrayIDs.Add(1), rcu: rcu.Default}
	xa.flags.Store(uint32(flags))
	for _, o := range opts {
		o(xa)
	}
	if xa.variant&VariantNoGracePeriod != 0 {
		// The protocol break this variant models is a reader inside a
		// section walking a reused node: keep every Load in one.
		xa.freeSeq.Store(1)
	}
	return xa
}

// Lock takes the array's lock (xa_lock). While a schedule search runs
// (internal/sched), a goroutine of the search takes it through
// lockSearching instead, which never blocks the goroutine itself.
//
// The search check is one atomic load and a branch, but with the second
// call it makes Lock too large for the inliner (cost 145; the budget is
// 80, and mu.Lock alone was 72), so every writer now pays a call: on the
// 2-CPU machine BenchmarkStore went from 44.4 to 46.7 ns (+5%) and
// BenchmarkEraseStore/dense from 107 to 110 ns. An inlinable fast path
// needs a lock word of the array's own whose fast-path CAS a search can
// make fail; sync.Mutex has none.
func (xa *XArray) Lock() {
	if sched.Active() {
		xa.lockSearching()
		return
	}
	xa.mu.Lock()
}

// lockSearching is Lock during a schedule search: for a goroutine of the
// search's run, taking the lock is a schedule point, and a lock found
// taken blocks the goroutine in the scheduler (a schedule point at which
// it cannot be chosen) until Unlock signals it, then it tries again. Any
// other goroutine takes the lock as Lock does outside a search.
func (xa *XArray) lockSearching() {
	g := sched.Current()
	if g == nil {
		xa.mu.Lock()
		return
	}
	g.Yield(pointLock)
	for !xa.mu.TryLock() {
		g.Block(pointLockWait, &xa.mu)
	}
}

// TryLock takes the array's lock if it is free (xa_trylock).
func (xa *XArray) TryLock() bool { return xa.mu.TryLock() }

// Unlock releases the array's lock (xa_unlock). Nodes unlinked while it
// was held are handed to RCU now: no reader can find them any more, so
// the grace period that follows covers every reader that might hold one.
//
// During a schedule search the release is followed by a schedule point
// (unlockSearching).
func (xa *XArray) Unlock() {
	batch := xa.pending
	xa.pending = nil
	xa.mu.Unlock()
	if len(batch) != 0 {
		if xa.variant&VariantNoGracePeriod != 0 {
			xa.releaseNodes(batch)
		} else {
			xa.rcu.Call(func() { xa.releaseNodes(batch) })
		}
	}
	if sched.Active() {
		xa.unlockSearching()
	}
}

// unlockSearching is the end of Unlock during a schedule search: it makes
// the goroutines of the search's run that wait for the lock runnable, and
// is a schedule point of the unlocking goroutine.
func (xa *XArray) unlockSearching() {
	if g := sched.Current(); g != nil {
		g.Signal(&xa.mu)
		g.Yield(pointUnlock)
	}
}

// releaseNodes returns nodes that have left the tree to the node cache,
// after advancing the free sequence: a Load that walks outside a section
// and reads one of them once it is cleared or reused finds the sequence
// changed when its walk ends.
func (xa *XArray) releaseNodes(batch []uint32) {
	xa.freeSeq.Add(2)
	for _, h := range batch {
		cache.release(h)
	}
	cache.waiting.Add(-int64(len(batch)))
}

// freeNode is xa_node_free: the node has been, or is about to be,
// unlinked under the lock; free it after a grace period.
func (xa *XArray) freeNode(h uint32) {
	nodeAt(h).array.Store(arrayRCUFree)
	cache.waiting.Add(1)
	xa.pending = append(xa.pending, h)
}

// allocNode takes a node from the cache unless a fault is injected. It
// returns 0 and why when there is none: ErrNoMemory, or a
// *NodeCacheError if the node cache could not be reserved.
func (xa *XArray) allocNode(locked bool) (uint32, error) {
	if xa.faults != nil && xa.faults.fail(locked) {
		return 0, ErrNoMemory
	}
	return cache.alloc()
}

func (xa *XArray) headEntry() Entry   { return Entry(xa.head.Load()) }
func (xa *XArray) trackFree() bool    { return Flags(xa.flags.Load())&FlagTrackFree != 0 }
func (xa *XArray) zeroBusy() bool     { return Flags(xa.flags.Load())&FlagZeroBusy != 0 }
func (xa *XArray) marked(m Mark) bool { return Flags(xa.flags.Load())&markFlag(m) != 0 }
func (xa *XArray) markSet(m Mark)     { xa.flags.Or(uint32(markFlag(m))) }
func (xa *XArray) markClear(m Mark)   { xa.flags.And(^uint32(markFlag(m))) }

// Flags returns the array's flags, root marks included.
func (xa *XArray) Flags() Flags { return Flags(xa.flags.Load()) }

// Domain returns the RCU domain the array's readers use.
func (xa *XArray) Domain() *rcu.Domain { return xa.rcu }

// Empty reports whether the array holds nothing, reserved entries
// included (xa_empty).
func (xa *XArray) Empty() bool { return xa.head.Load() == 0 }

// MarkedAny reports whether any entry has mark m (xa_marked).
func (xa *XArray) MarkedAny(m Mark) bool {
	checkMark(m)
	return xa.marked(m)
}

// Load returns the entry at index, or Null (xa_load). It takes no lock
// and writes no shared memory: a walk of at most eleven dependent loads,
// bracketed by two loads of the array's free sequence.
//
// The kernel's xa_load walks inside rcu_read_lock, which costs a preempt
// count. A read-side section here costs two locked read-modify-writes,
// which also stop the processor from overlapping one lookup's cache
// misses with the next one's; so Load first walks outside any section, as
// a SLAB_TYPESAFE_BY_RCU reader does, and keeps the result only if no
// node of the array went back to the node cache meanwhile (a seqcount
// read, read_seqcount_retry). Otherwise it walks again inside a section.
// Either way it returns what xa_load under rcu_read_lock could have.
func (xa *XArray) Load(index uint64) Entry {
	seq := xa.freeSeq.Load()
	e := xa.load(index)
	if xa.freeSeq.Load() == seq && seq&1 == 0 {
		return e
	}
	return xa.loadInSection(index)
}

// A ReadSeq is what ReadSeqBegin returns: the array's free sequence at
// the start of a walk outside any read-side section.
type ReadSeq uint64

// ReadSeqBegin starts a walk outside any read-side section, as Load's
// is (read_seqcount_begin): walk with a State, then trust what the walk
// read, and act on it, only if ReadSeqRetry(seq) is false afterwards;
// otherwise walk again inside a section. ok is false on arrays whose
// readers must all hold a section (VariantNoGracePeriod).
func (xa *XArray) ReadSeqBegin() (seq ReadSeq, ok bool) {
	s := xa.freeSeq.Load()
	return ReadSeq(s), s&1 == 0
}

// ReadSeqRetry reports whether a node of the array may have gone back to
// the node cache since ReadSeqBegin returned seq (read_seqcount_retry):
// if so, what a walk outside a section read since then may come from a
// reused node.
func (xa *XArray) ReadSeqRetry(seq ReadSeq) bool {
	return xa.freeSeq.Load() != uint64(seq)
}

// loadInSection is xa_load as the kernel writes it: the walk inside a
// read-side section.
func (xa *XArray) loadInSection(index uint64) Entry {
	t := xa.rcu.ReadLock()
	e := xa.load(index)
	xa.rcu.ReadUnlock(t)
	return e
}

// load is xa_load's walk: xas_load with its retry loop, written out so
// that the hot path keeps its state in registers. It must agree with
// State.Load and State.descend. A child's
// shift is its parent's less six, so the walk computes it instead of
// reading it from the child: each level then touches one cache line of
// its node, the slot.
func (xa *XArray) load(index uint64) Entry {
retry:
	e := Entry(xa.head.Load())
	if !e.IsNode() {
		if index != 0 {
			return Null
		}
		return zeroToNull(e)
	}
	n := toNode(e)
	shift := uint(n.shift())
	if index>>shift > chunkMask {
		return Null
	}
	for {
		e = n.slot(uint(index>>shift) & chunkMask)
		if e.IsSibling() {
			e = xa.resolveSibling(n, shift, e)
		}
		if shift == 0 || !e.IsNode() {
			break
		}
		n = toNode(e)
		shift -= chunkShift
	}
	if e == RetryEntry {
		goto retry
	}
	return zeroToNull(e)
}

// resolveSibling is the sibling loop of xas_descend, out of line.
func (xa *XArray) resolveSibling(n *node, shift uint, e Entry) Entry {
	for e.IsSibling() {
		injectSiblingHop.Hit()
		e = n.slot(e.siblingOffset())
		if shift != 0 && e.IsNode() {
			e = RetryEntry
		}
		if xa.variant&VariantSingleSiblingHop != 0 {
			break
		}
	}
	return e
}

func checkStore(e Entry) error {
	if e.IsInternal() && e != ZeroEntry {
		return ErrInvalid
	}
	return nil
}

// Store puts e at index and returns the entry that was there (xa_store).
// Storing into a multi-index entry changes it at every index it covers.
// Marks are kept unless e is Null, which erases (on arrays that track
// free indices the index stays allocated, as ZeroEntry). Internal
// entries other than ZeroEntry are refused with ErrInvalid.
func (xa *XArray) Store(index uint64, e Entry) (Entry, error) {
	xa.Lock()
	old, err := xa.StoreLocked(index, e)
	xa.Unlock()
	return old, err
}

// StoreLocked is Store for callers holding the lock (__xa_store). It may
// drop and retake the lock to allocate.
func (xa *XArray) StoreLocked(index uint64, e Entry) (Entry, error) {
	if err := checkStore(e); err != nil {
		return Null, err
	}
	if xa.trackFree() && e == Null {
		e = ZeroEntry
	}
	xas := NewState(xa, index)
	var curr Entry
	for {
		curr = xas.Store(e)
		if xa.trackFree() {
			xas.ClearMark(FreeMark)
		}
		if !xas.nomemLocked() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		return Null, err
	}
	return zeroToNull(curr), nil
}

// Erase removes the entry at index, the whole of a multi-index entry,
// and returns it (xa_erase). On arrays that track free indices the index
// becomes free again.
func (xa *XArray) Erase(index uint64) Entry {
	xa.Lock()
	e := xa.EraseLocked(index)
	xa.Unlock()
	return e
}

// EraseLocked is Erase for callers holding the lock (__xa_erase).
func (xa *XArray) EraseLocked(index uint64) Entry {
	xas := NewState(xa, index)
	return zeroToNull(xas.Store(Null))
}

// CmpXchg stores e at index if the entry there is old, and returns the
// entry that was there (xa_cmpxchg): it succeeded if that equals old.
// The comparison is with the raw entry, so a reserved index matches
// ZeroEntry, not Null; the returned entry reads ZeroEntry as Null.
func (xa *XArray) CmpXchg(index uint64, old, e Entry) (Entry, error) {
	xa.Lock()
	curr, err := xa.CmpXchgLocked(index, old, e)
	xa.Unlock()
	return curr, err
}

// CmpXchgLocked is CmpXchg for callers holding the lock (__xa_cmpxchg).
func (xa *XArray) CmpXchgLocked(index uint64, old, e Entry) (Entry, error) {
	curr, err := xa.cmpxchgRaw(index, old, e)
	return zeroToNull(curr), err
}

// cmpxchgRaw is __xa_cmpxchg_raw.
func (xa *XArray) cmpxchgRaw(index uint64, old, e Entry) (Entry, error) {
	if err := checkStore(e); err != nil {
		return Null, err
	}
	xas := NewState(xa, index)
	var curr Entry
	for {
		curr = xas.Load()
		if curr == old {
			xas.Store(e)
			if xa.trackFree() && e != Null && curr == Null {
				xas.ClearMark(FreeMark)
			}
		}
		if !xas.nomemLocked() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		return Null, err
	}
	return curr, nil
}

// Insert stores e at index only if nothing, not even a reservation, is
// there (xa_insert); ErrBusy otherwise. Inserting Null reserves the index.
func (xa *XArray) Insert(index uint64, e Entry) error {
	xa.Lock()
	err := xa.InsertLocked(index, e)
	xa.Unlock()
	return err
}

// InsertLocked is Insert for callers holding the lock (__xa_insert).
func (xa *XArray) InsertLocked(index uint64, e Entry) error {
	if e == Null {
		e = ZeroEntry
	}
	curr, err := xa.cmpxchgRaw(index, Null, e)
	if err != nil {
		return err
	}
	if curr != Null {
		return ErrBusy
	}
	return nil
}

// Reserve makes index occupied without an entry, so that a later Store
// there needs no allocation (xa_reserve). Load still returns Null there.
// It does nothing if something is stored at index.
func (xa *XArray) Reserve(index uint64) error {
	_, err := xa.CmpXchg(index, Null, ZeroEntry)
	return err
}

// Release undoes a Reserve that nothing has been stored over since
// (xa_release).
func (xa *XArray) Release(index uint64) {
	xa.CmpXchg(index, ZeroEntry, Null)
}

// setRange is xas_set_range: the largest aligned entry that starts at
// first and ends at or before last.
func (xas *State) setRange(first, last uint64) {
	shift, sibs := rangeEntry(first, last)
	xas.Set(first)
	xas.shift = uint8(shift)
	xas.sibs = uint8(sibs)
}

// rangeEntry is xas_set_range's arithmetic: the shift and sibling count
// of the first entry that StoreRange(first, last) writes.
func rangeEntry(first, last uint64) (shift uint, sibs uint64) {
	sibs = last - first
	offset := uint64(chunkMask)
	for first&chunkMask == 0 {
		if sibs < chunkMask {
			break
		}
		if sibs == chunkMask && offset < chunkMask {
			break
		}
		shift += chunkShift
		if offset == chunkMask {
			offset = sibs & chunkMask
		}
		sibs >>= chunkShift
		first >>= chunkShift
	}
	offset = first & chunkMask
	if offset+sibs > chunkMask {
		sibs = chunkMask - offset
	}
	if (first+sibs+1)<<shift-1 > last {
		sibs--
	}
	return shift, sibs
}

// StoreRange stores e at every index in [first, last], using as few
// aligned multi-index entries as it can (xa_store_range); Null erases the
// range. Every internal entry, and last < first, give ErrInvalid.
func (xa *XArray) StoreRange(first, last uint64, e Entry) error {
	if e.IsInternal() || last < first {
		return ErrInvalid
	}
	xas := NewState(xa, 0)
	for {
		xas.Lock()
		xa.storeRange(&xas, first, last, e)
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	return xas.Error()
}

func (xa *XArray) storeRange(xas *State, first, last uint64, e Entry) {
	if e != Null {
		order := uint(64)
		if last+1 != 0 {
			order = uint(bits64TrailingZeros(last + 1))
		}
		xas.SetOrder(last, order)
		xas.create(true)
		if xas.Error() != nil {
			return
		}
	}
	for {
		xas.setRange(first, last)
		xas.Store(e)
		if xas.Error() != nil {
			return
		}
		first += xas.size()
		if first > last || first == 0 {
			return
		}
	}
}

// GetOrder returns the order of the entry covering index, or 0
// (xa_get_order).
func (xa *XArray) GetOrder(index uint64) int {
	xas := NewState(xa, index)
	order := 0
	t := xa.rcu.ReadLock()
	if e := xas.Load(); e != Null {
		order = xas.GetOrder()
	}
	xa.rcu.ReadUnlock(t)
	return order
}

// GetMark reports whether the entry at index has mark m (xa_get_mark).
func (xa *XArray) GetMark(index uint64, m Mark) bool {
	checkMark(m)
	xas := NewState(xa, index)
	t := xa.rcu.ReadLock()
	defer xa.rcu.ReadUnlock(t)
	e := xas.start()
	for xas.GetMark(m) {
		if !e.IsNode() {
			return true
		}
		e = xas.descend(handleOf(e))
	}
	return false
}

// SetMark sets m on the entry at index; nothing happens at a Null index
// (xa_set_mark).
func (xa *XArray) SetMark(index uint64, m Mark) {
	xa.Lock()
	xa.SetMarkLocked(index, m)
	xa.Unlock()
}

// SetMarkLocked is SetMark for callers holding the lock (__xa_set_mark).
func (xa *XArray) SetMarkLocked(index uint64, m Mark) {
	checkMark(m)
	xas := NewState(xa, index)
	if xas.Load() != Null {
		xas.SetMark(m)
	}
}

// ClearMark clears m on the entry at index (xa_clear_mark).
func (xa *XArray) ClearMark(index uint64, m Mark) {
	xa.Lock()
	xa.ClearMarkLocked(index, m)
	xa.Unlock()
}

// ClearMarkLocked is ClearMark for callers holding the lock
// (__xa_clear_mark).
func (xa *XArray) ClearMarkLocked(index uint64, m Mark) {
	checkMark(m)
	xas := NewState(xa, index)
	if xas.Load() != Null {
		xas.ClearMark(m)
	}
}

// DeleteNodeLocked removes node n, which must belong to xa, by storing
// Null over the range it covers (xa_delete_node); the workingset code
// uses it to drop nodes full of shadow entries. Lock held.
func (xa *XArray) DeleteNodeLocked(n Node, update func(Node)) {
	nd := nodeAt(n.h)
	if nd.array.Load() != xa.id {
		panic(fmt.Sprintf("xarray: DeleteNodeLocked: %v does not belong to this array", n))
	}
	xas := State{
		xa:     xa,
		index:  uint64(nd.offset()) << (nd.shift() + chunkShift),
		shift:  nd.shift() + chunkShift,
		offset: nd.offset(),
		node:   nd.parentNode(),
		update: update,
	}
	xas.Store(Null)
}

// Destroy removes every entry and frees every node (xa_destroy). It
// does not free what the entries name.
func (xa *XArray) Destroy() {
	xas := NewState(xa, 0)
	xas.node = nodeHead
	xa.Lock()
	e := xa.headEntry()
	xa.head.Store(0)
	xas.InitMarks()
	if xa.zeroBusy() {
		xa.markClear(FreeMark)
	}
	if e.IsNode() {
		xas.freeNodes(handleOf(e))
	}
	xa.Unlock()
}

// SPDX-License-Identifier: GPL-2.0-or-later

// Package xarray is a port of the Linux kernel's XArray (lib/xarray.c): a
// sparse array of word-sized entries indexed by uint64, kept as a radix
// tree of 64-slot nodes, whose writers take a lock and whose readers take
// none.
//
// # Using an XArray
//
// [New] makes an array; [XArray.Destroy] frees its nodes. An [Entry] is a
// word, encoded as the kernel's void * entry: [MkValue] makes a value
// entry of an integer, [MkPointer] one of a caller's handle (an index into
// the caller's own table, a PFN), and [Null] is the absent entry.
//
// The normal API takes the lock for its callers: [XArray.Load] (which
// writes no shared memory), [XArray.Store], [XArray.Erase],
// [XArray.Insert], [XArray.CmpXchg], [XArray.Reserve] and
// [XArray.Release]. [XArray.StoreRange] stores one multi-index entry over
// an aligned range of indices, and [XArray.GetOrder] says how large the
// entry at an index is. Three marks tag entries ([XArray.SetMark],
// [XArray.ClearMark], [XArray.GetMark]; [XArray.MarkedAny] asks whether
// any entry has a mark). [XArray.All], [XArray.Range] and [XArray.Marked]
// iterate (xa_for_each and its kin), [XArray.Find] and [XArray.FindAfter]
// search, and [XArray.Extract] copies out a batch. An array built with
// [FlagAlloc] or [FlagAlloc1] hands out IDs with [XArray.Alloc] and
// [XArray.AllocCyclic]. Errors are Go errors: [ErrNoMemory],
// [ErrInvalid], [ErrBusy], [ErrExists]. Each writer has a Locked form
// ([XArray.StoreLocked], [XArray.EraseLocked], …) for callers that hold
// the lock ([XArray.Lock], [XArray.Unlock]).
//
// The advanced API is [State] (struct xa_state), a cursor that a caller
// declares with [NewState] or [NewStateOrder] and drives itself: it walks
// ([State.Load], [State.Find], [State.Next], [State.Prev]), stores, marks
// and splits multi-index entries, under a read-side section or the lock
// as its methods say. A store under the lock that needs a node it cannot
// allocate leaves [ErrNoMemory] in the State; [State.Nomem] allocates
// with the lock dropped and says whether to try again, the kernel's
// xas_nomem loop (see its example).
//
// Options chosen when an array is built: [WithRCU] gives it its own
// rcu.Domain instead of rcu.Default; [WithVariant] selects kernel
// behaviour that changed between versions, protocol breaks that the
// stress harness reproduces, and a correction of the kernel's nr_values
// count (the zero [Variant] is the current kernel, its bookkeeping
// quirks included);
// [WithFaults] makes node allocation fail on request, so every
// ErrNoMemory path can be tested.
//
// # Concurrency
//
// Concurrency follows the kernel. Every word a lockless reader can see is
// read and written with sync/atomic. Writers serialise on the array's
// lock and publish a node only once it is built. Readers hold a read-side
// section of the array's rcu.Domain, which keeps every node they can reach
// from being reused, except Load (and filemap's lookup) which walk without
// one and check afterwards, with ReadSeqBegin and ReadSeqRetry, that no
// node of the array went back to the node cache meanwhile: a section costs
// two locked read-modify-writes, more than the walk itself when the tree
// is in cache.
//
// What a lockless reader may see is what the kernel's may see. Each read
// of one index, and of one mark at one index, is atomic, and histories of
// single-index operations, of Alloc, and of reads under the lock are
// linearizable (porcupine checks them: linearizability_test.go). A write
// that changes several words is not atomic to lockless readers: a reader
// may find a StoreRange at the first index of its range and not yet at
// the last, or an Erase that has cleared the entry's marks, one mark at a
// time, but not yet its slot (go test -run LinearizableLockless -args
// -xarray.lin-lockless shows such histories). A reader that needs the
// whole entry takes the lock, or rechecks as filemap_get_entry does with
// xas_reload.
//
// # Inside
//
// The pieces, in the order a kernel reader would look for them:
//
//   - Entry (entry.go) is the kernel's void * entry, bit for bit: pointers
//     (caller handles shifted by two), value entries, and the internal
//     entries a walk meets (siblings of a multi-index entry, RetryEntry,
//     ZeroEntry, nodes).
//   - Nodes (node.go) are struct xa_node. They live in a slab, the node
//     cache, and an internal entry names a node by its handle. The slab
//     is made by the first node allocation, never at import, and never
//     shrinks: a node that leaves the tree is cleared and handed out again
//     after an RCU grace period, never unmapped. On 64-bit Linux it is one
//     flat reservation outside the Go heap (slab_mmap.go), so following
//     an entry costs one load; where the system refuses even a small one,
//     stores that need a node fail with a NodeCacheError. The race build,
//     other systems and 32-bit ones grow it in chunks on the Go heap
//     (slab_heap.go): the race detector watches only the heap, and with
//     the slab there it checks every access to a node
//     (TestRaceDetectorSeesNodes keeps it so).
//   - XArray (xarray.go) holds the head and the lock and carries the
//     normal API.
//   - State (state.go) is the advanced API, with the kernel's cursor
//     states (restart, bounds, error). find.go holds its searches and
//     Next/Prev; iterate.go the iterators (All, Range, Marked), which
//     gather up to 64 entries in one walk under one read-side section and
//     run the loop body outside it; marks.go the three marks and their
//     propagation; split.go multi-index entries being split; alloc.go ID
//     allocation; fault.go node-allocation failure injection; check.go the
//     walks behind the validator and the dump.
//
// # Debugging aids
//
// What the kernel's test harness and the stress harness reach into the
// tree for is kept apart, in debug.go: [XArray.Head] and
// [XArray.HeadNode]; [Node], a view of a node's count, nr_values, shift,
// offset, slots and marks; [State.Node] and [State.Cursor], the cursor's
// RESTART, BOUNDS and error states; [XArray.Check], a structural
// validator; [XArray.Dump], as xa_dump; [XArray.Nodes]; [NodeCacheStats],
// the node cache's counters, so that leaks show; [XArray.PreallocLeaked],
// the preallocated nodes the kernel would have leaked; and [XArray.BreakLock],
// for a harness whose worker died holding the lock. None of them is
// needed to use an array.
package xarray

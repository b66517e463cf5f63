// SPDX-License-Identifier: GPL-2.0-or-later

// Package xarray is a port of the Linux kernel's XArray (lib/xarray.c): a
// sparse array of word-sized entries indexed by uint64, kept as a radix
// tree of 64-slot nodes, whose writers take a lock and whose readers take
// none.
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
//     normal API: Load, Store, Erase, Insert, CmpXchg, StoreRange and the
//     rest, with Locked forms for callers that hold the lock.
//   - State (state.go) is struct xa_state, the advanced API: a cursor
//     that walks, creates, stores and remembers where it is, with the
//     kernel's cursor states (restart, bounds, error). find.go holds its
//     searches and Next/Prev and the iterators; marks.go the three
//     marks and their propagation; split.go multi-index entries being
//     split; alloc.go ID allocation; fault.go node-allocation failure
//     injection; check.go the validator and Dump.
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
// Behaviour that changed between kernel versions, and protocol breaks that
// the stress harness reproduces, are Variants chosen when an array is
// built; the zero Variant is the current kernel.
package xarray

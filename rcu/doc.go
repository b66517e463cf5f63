// SPDX-License-Identifier: GPL-2.0-or-later

// Package rcu provides userspace read-copy-update: cheap read-side sections
// and grace periods that wait for them, modelled on the Linux kernel's SRCU.
//
// A reader brackets its use of shared data with ReadLock and ReadUnlock. A
// writer that has unpublished an object (made it unreachable for new readers
// with an atomic store) calls Synchronize, which returns once every read-side
// section that might still hold the object has ended; after that the object
// may be freed or reused. Call defers a function until after such a grace
// period without blocking the caller; many Calls share one grace period.
// Barrier waits until every function passed to Call before it has run.
//
// Read-side sections are cheap and nestable: ReadLock increments a counter in
// a stripe chosen by the current processor (P), so readers on different CPUs
// write different cache lines, and returns a Token that ReadUnlock needs. A
// section may block, may be preempted and may migrate between threads; it
// only delays grace periods while it is held.
//
// Everything a reader finds through a published word must be read with
// sync/atomic: RCU orders the reader against the writer's unpublish and
// free, not against plain memory accesses.
//
// Misuse panics with a message that names it, rather than hang: ReadUnlock
// with a zero Token or one more time than ReadLock; Call with a nil function
// or after Close; a grace period that waits longer than the stall timeout
// (see SetStallTimeout), which almost always means that Synchronize or
// Barrier was called inside a read-side section of the same Domain; and
// Barrier or Close waiting that long for callbacks that make no progress,
// as when called from a callback.
//
// A Domain starts at most one goroutine, to run callbacks, and that goroutine
// exits as soon as its queue drains.
//
// Typical use:
//
//	var cur atomic.Pointer[Config]
//
//	// reader
//	t := rcu.ReadLock()
//	c := cur.Load()
//	use(c)
//	rcu.ReadUnlock(t)
//
//	// writer
//	old := cur.Swap(newConfig)
//	rcu.Synchronize()
//	recycle(old) // no reader can still hold old
//
//	// or, without blocking the writer
//	old := cur.Swap(newConfig)
//	rcu.Call(func() { recycle(old) })
package rcu

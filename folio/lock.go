// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "sync"

// The folio lock is the PG_locked bit. A task that finds it taken sets
// PG_waiters and sleeps on a hashed wait queue (folio_wait_table); the
// unlocker wakes the queue only when PG_waiters was set.

const waitTableSize = 256

type waitQueue struct {
	mu   sync.Mutex
	cond sync.Cond
}

func (f Folio) waitQueue() *waitQueue {
	return &f.m.wait[(f.pfn*0x9e3779b1)>>24%waitTableSize]
}

// TryLock takes the folio lock if it is free (folio_trylock).
func (f Folio) TryLock() bool { return !f.TestAndSet(PGLocked) }

// Lock takes the folio lock, sleeping until it is free (folio_lock).
func (f Folio) Lock() {
	if f.TryLock() {
		return
	}
	q := f.waitQueue()
	q.mu.Lock()
	for {
		f.Set(PGWaiters)
		if f.TryLock() {
			break
		}
		q.cond.Wait()
	}
	q.mu.Unlock()
}

// Unlock releases the folio lock and wakes its waiters (folio_unlock).
func (f Folio) Unlock() {
	old := f.p().flags.And(^(bit(PGLocked) | bit(PGWaiters)))
	if old&bit(PGLocked) == 0 {
		f.bug("folio_unlock of a folio that is not locked")
	}
	if old&bit(PGWaiters) != 0 {
		q := f.waitQueue()
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

// Locked reports whether the folio is locked (folio_test_locked).
func (f Folio) Locked() bool { return f.Test(PGLocked) }

// BreakFolioLocks unlocks every locked folio of the memmap and returns
// how many it unlocked. It is for a stress harness whose worker died of a
// kernel BUG while holding folio locks: call it only when no live
// goroutine holds one.
func (m *Memmap) BreakFolioLocks() int {
	n := 0
	for pfn := range m.pages {
		if m.pages[pfn].flags.Load()&bit(PGLocked) != 0 {
			Folio{m, uint32(pfn)}.Unlock()
			n++
		}
	}
	return n
}

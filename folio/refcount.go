// SPDX-License-Identifier: GPL-2.0-or-later

package folio

// The reference count protocol. A folio is freed when its count drops to
// zero. A lockless reader that found the folio through a stale pointer
// may only take a reference if the count is not zero (TryGet), and must
// then check that the folio is still the one it looked up. A writer that
// must be sure no reader holds a reference freezes the count: it swaps
// the expected count for zero, which makes every TryGet fail.

// Get takes a reference the caller already knows to be safe (folio_get).
func (f Folio) Get() {
	if c := f.p().refcount.Add(1); c <= 1 {
		f.bug("folio_get on a folio with no reference (count %d)", c-1)
	}
}

// TryGet takes a reference unless the count is zero, that is unless the
// folio is free or frozen (folio_try_get).
func (f Folio) TryGet() bool {
	r := &f.p().refcount
	for {
		c := r.Load()
		if c == 0 {
			return false
		}
		if r.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// RefAdd adds n references (folio_ref_add).
func (f Folio) RefAdd(n int32) {
	if c := f.p().refcount.Add(n); c <= n {
		f.bug("folio_ref_add(%d) on a folio with no reference", n)
	}
}

// RefFreeze sets the count to zero if it is exactly count, and reports
// whether it did (folio_ref_freeze).
func (f Folio) RefFreeze(count int32) bool {
	return f.p().refcount.CompareAndSwap(count, 0)
}

// RefUnfreeze sets the count of a frozen folio back to count
// (folio_ref_unfreeze).
func (f Folio) RefUnfreeze(count int32) {
	if !f.p().refcount.CompareAndSwap(0, count) {
		f.bug("folio_ref_unfreeze(%d) on a folio that is not frozen", count)
	}
}

// Put drops a reference and frees the folio when it was the last
// (folio_put).
func (f Folio) Put() { f.PutRefs(1) }

// PutRefs drops n references (folio_put_refs).
func (f Folio) PutRefs(n int32) {
	c := f.p().refcount.Add(-n)
	if c > 0 {
		return
	}
	if c < 0 {
		f.bug("folio_put: reference count underflow (%d)", c)
	}
	f.free()
}

// free is __folio_put: the last reference is gone. A large folio goes
// through its destructor (destroy_large_folio), then every page through
// free_pages_prepare's checks.
func (f Folio) free() {
	// __page_cache_release: off the LRU list before the free checks. The
	// count is zero, so no one else may set the flag: test it first and
	// spare the locked instruction when it is clear.
	if f.Test(PGLRU) {
		f.Clear(PGLRU)
	}
	f.m.freePages(f.pfn, f.Order())
}

// FreeFrozen frees a folio whose count the caller froze to zero, as
// reclaim does after __remove_mapping (free_unref_folios).
func (f Folio) FreeFrozen() {
	if c := f.RefCount(); c != 0 {
		f.bug("freeing a folio that is not frozen (count %d)", c)
	}
	f.free()
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// deleteLocked is page_cache_delete: replace the locked folio f by shadow
// (a workingset value entry, or Null) over its whole range and clear its
// mapping. A shadow goes into the ledger. The i_pages lock is held.
func (as *AddressSpace) deleteLocked(f folio.Folio, shadow xarray.Entry) {
	f.BugOn(!f.Locked(), "deleting an unlocked folio from the page cache")
	xas := xarray.NewStateOrder(as.pages, f.Index(), f.Order())
	as.setUpdate(&xas)
	xas.Store(shadow)
	xas.InitMarks()
	if shadow != xarray.Null {
		as.recordShadowLocked(f.Index(), f.NrPages(), shadow)
	}
	f.SetMapping(0)
	as.nrpages.Add(-int64(f.NrPages()))
}

// RemoveFolio removes the locked folio f from the page cache and drops
// the page cache's references (filemap_remove_folio). The caller keeps
// its own reference and the lock.
func (as *AddressSpace) RemoveFolio(f folio.Folio) {
	as.pages.Lock()
	as.deleteLocked(f, xarray.Null)
	as.pages.Unlock()
	f.PutRefs(int32(f.NrPages()))
}

// removeMapping is __remove_mapping: with the i_pages lock held, freeze
// the locked folio's count at the caller's reference plus the page
// cache's, give up if that fails or the folio is dirty, and delete it,
// leaving a shadow entry when reclaiming. On success the count stays
// frozen at zero and the caller owns the folio.
func (as *AddressSpace) removeMapping(f folio.Folio, reclaimed bool) bool {
	as.pages.Lock()
	defer as.pages.Unlock()
	refs := int32(1 + f.NrPages())
	if !f.RefFreeze(refs) {
		return false
	}
	if f.Test(folio.PGDirty) {
		f.RefUnfreeze(refs)
		return false
	}
	shadow := xarray.Null
	if reclaimed {
		shadow = as.shadowEntry(f)
	}
	as.deleteLocked(f, shadow)
	return true
}

// RemoveMapping removes the locked, clean folio f, on which the caller
// holds one reference besides the page cache's, leaving no shadow entry
// (remove_mapping). It reports whether it did; then the caller's
// reference is the only one left.
func (as *AddressSpace) RemoveMapping(f folio.Folio) bool {
	if !as.removeMapping(f, false) {
		return false
	}
	f.RefUnfreeze(1)
	return true
}

// deleteBatch is delete_from_page_cache_batch: remove the locked folios
// of batch, in index order, in one walk under the lock, then drop the
// page cache's references.
func (as *AddressSpace) deleteBatch(batch []folio.Folio) {
	if len(batch) == 0 {
		return
	}
	injectTruncate.Hit()
	as.pages.Lock()
	xas := xarray.NewState(as.pages, batch[0].Index())
	as.setUpdate(&xas)
	var total int64
	i := 0
	for e := xas.Find(^uint64(0)); e != xarray.Null; e = xas.NextEntry(^uint64(0)) {
		if i >= len(batch) {
			break
		}
		if e.IsValue() {
			continue // a shadow got inserted
		}
		if e != batch[i].Entry() {
			// A folio got inserted in our range; ours cannot have
			// gone, as we hold their locks.
			g := as.m.FromEntry(e)
			g.BugOn(g.Index() > batch[i].Index(), "truncate batch: folio at %#x is gone", batch[i].Index())
			continue
		}
		f := batch[i]
		f.BugOn(!f.Locked(), "truncating an unlocked folio")
		f.SetMapping(0)
		i++
		xas.Store(xarray.Null)
		total += int64(f.NrPages())
	}
	as.nrpages.Add(-total)
	as.pages.Unlock()
	for _, f := range batch {
		f.PutRefs(int32(f.NrPages()))
	}
}

// findLockEntries is find_lock_entries: from index start, up to
// cap(batch) folios that lie wholly in [start, end], locked and with a
// reference. A folio that straddles an end of the range goes, locked and
// with a reference, to *partial. It reports whether it saw shadow
// entries, the index to resume from, and whether the range is done.
func (as *AddressSpace) findLockEntries(start, end uint64, batch []folio.Folio,
	partial *[]folio.Folio) (out []folio.Folio, shadows bool, next uint64, done bool) {
	rangeStart := start
	out = batch[:0]
	for len(out) < cap(out) {
		i := start
		e := as.pages.Find(&i, end, xarray.Present)
		if e == xarray.Null {
			return out, shadows, start, true
		}
		if e.IsValue() {
			shadows = true
			if i >= end {
				return out, shadows, start, true
			}
			start = i + 1
			continue
		}
		f := as.GetFolio(i, true)
		if f.IsNil() {
			continue // gone meanwhile: look again
		}
		fnext := f.Index() + f.NrPages()
		if f.Index() < rangeStart || fnext-1 > end {
			*partial = append(*partial, f)
		} else {
			out = append(out, f)
		}
		if fnext == 0 || fnext-1 >= end {
			return out, shadows, start, true
		}
		start = fnext
	}
	return out, shadows, start, false
}

// clearShadows removes the shadow entries in [start, end]
// (truncate_folio_batch_exceptionals), each whole: a larger shadow that
// straddles an end of the range goes too, as xas_store of NULL clears
// every slot of the entry.
func (as *AddressSpace) clearShadows(start, end uint64) {
	as.pages.Lock()
	xas := xarray.NewState(as.pages, start)
	as.setUpdate(&xas)
	for e := xas.Find(end); e != xarray.Null; e = xas.NextEntry(end) {
		if e.IsValue() {
			first, last := entryRange(&xas)
			as.checkShadowsLocked(first, last, "truncate")
			xas.Store(xarray.Null)
			as.forgetShadowsLocked(first, last)
		}
	}
	as.pages.Unlock()
}

// TruncateRange removes every folio and shadow entry that lies in the
// page range [start, end] (truncate_inode_pages_range). A large folio
// that straddles an end of the range is split (truncatePartialFolio) and
// the pieces that lie in the range are removed; if it cannot be split it
// stays, and so does a piece that still straddles an end.
func (as *AddressSpace) TruncateRange(start, end uint64) {
	as.InvalidateLock.Lock()
	defer as.InvalidateLock.Unlock()
	as.truncate(start, end, true)
}

func (as *AddressSpace) truncate(start, end uint64, splitPartial bool) {
	var partial []folio.Folio
	batch := make([]folio.Folio, 0, 16)
	for idx := start; ; {
		from := idx
		var shadows, done bool
		batch, shadows, idx, done = as.findLockEntries(idx, end, batch, &partial)
		if shadows {
			as.clearShadows(from, end)
		}
		as.deleteBatch(batch)
		for _, f := range batch {
			f.Unlock()
			f.Put()
		}
		if done {
			break
		}
	}
	for _, f := range partial {
		first, last := max(start, f.Index()), min(end, f.Index()+f.NrPages()-1)
		split := splitPartial && as.splitPartialFolio(f, first, last)
		f.Unlock()
		f.Put()
		if split {
			as.truncate(first, last, false)
		}
	}
}

// splitPartialFolio is the split of truncate_inode_partial_folio: it
// splits the locked large folio f, on which the caller holds a
// reference, so that the part [first, last] of the truncated range that
// lies in it is made of whole folios, and reports whether the split
// succeeded.
//
// As of v6.15 (7460b470a131) the split is non-uniform (folio_split, as
// try_folio_split does it for a page-cache folio): f is split at first,
// into the fewest folios of which one starts there. Then, if the range
// ends inside f, the folio that now holds f's page for last+1 is found
// by that page (page_folio), referenced and trylocked, and if it is
// still large and still this file's it is split at that page too. The
// result of the second split does not matter: a piece that still
// straddles the range stays. When the range runs to the end of f there
// is no second split (66f28ffb38cc, in v6.15: the page after the range
// lies outside f). Under VariantTruncateUniformSplit, as before v6.15,
// f is split uniformly to single pages (split_folio).
func (as *AddressSpace) splitPartialFolio(f folio.Folio, first, last uint64) bool {
	if as.variant&VariantTruncateUniformSplit != 0 {
		return as.Split(f, 0) == nil
	}
	index, pfn, nr := f.Index(), f.PFN(), f.NrPages()
	if as.SplitAt(f, first, 0) != nil {
		return false
	}
	if last+1 == index+nr {
		return true
	}
	page := pfn + uint32(last+1-index)
	g := as.m.PageFolio(page)
	if !g.TryGet() {
		return true
	}
	if g.Order() > 0 && g.TryLock() {
		if g.Order() > 0 && g.Mapping() == as.id {
			// At the page's index in g: if g no longer holds
			// the page, the split refuses, as folio_split does.
			as.SplitAt(g, g.Index()+uint64(page-g.PFN()), 0)
		}
		g.Unlock()
	}
	g.Put()
	return true
}

// InvalidatePages drops the clean, unlocked, unused folios that lie
// wholly in [start, end], and the shadow entries there, and returns how
// many pages it dropped (invalidate_mapping_pages, as fadvise
// POSIX_FADV_DONTNEED calls it; shadows go through clear_shadow_entry).
func (as *AddressSpace) InvalidatePages(start, end uint64) int64 {
	var dropped int64
	shadows := false
	defer func() {
		if shadows {
			as.clearShadows(start, end)
		}
	}()
	for idx := start; ; {
		i := idx
		e := as.pages.Find(&i, end, xarray.Present)
		if e == xarray.Null {
			break
		}
		next := i + 1
		if e.IsValue() {
			shadows = true
		}
		if e.IsPointer() {
			f := as.m.FromEntry(e)
			if f.TryGet() {
				if f.Mapping() == as.id && f.Contains(i) {
					next = f.Index() + f.NrPages()
					if f.Index() >= start && next-1 <= end && f.TryLock() {
						if f.Mapping() == as.id && as.evictable(f) && as.RemoveMapping(f) {
							dropped += int64(f.NrPages())
						}
						f.Unlock()
					}
				}
				f.Put()
			}
		}
		if next == 0 || next-1 >= end || next <= idx {
			break
		}
		idx = next
	}
	return dropped
}

// evictable is mapping_evict_folio's test: clean, not under writeback,
// and referenced only by the page cache and the caller.
func (as *AddressSpace) evictable(f folio.Folio) bool {
	if f.Test(folio.PGDirty) || f.Test(folio.PGWriteback) {
		return false
	}
	return int64(f.RefCount()) <= int64(f.NrPages())+1
}

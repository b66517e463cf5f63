// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// GetEntry returns the entry at index with a reference if it is a folio
// (filemap_get_entry): Null, a shadow value entry, or a folio's pointer
// entry. The lookup is speculative: it takes a reference only if the
// count is not zero, then checks that the slot still names the folio.
//
// Like xarray.Load, it first tries without a read-side section, checking
// the array's free sequence after the walk and after the recheck; if the
// attempt meets anything but a plain answer, it runs the kernel's loop
// inside a section.
func (as *AddressSpace) GetEntry(index uint64) xarray.Entry {
	if e, ok := as.getEntryUnlocked(index); ok {
		return e
	}
	return as.getEntryInSection(index)
}

// getEntryUnlocked is one pass of filemap_get_entry outside a read-side
// section. The walk is checked against the free sequence before the
// entry is used, so folio_try_get only ever sees an entry that was in
// the tree; the recheck (xas_reload) is checked after it. It gives up,
// reporting false, on a retry or internal entry, a failed try_get, a
// changed slot or a changed sequence.
func (as *AddressSpace) getEntryUnlocked(index uint64) (xarray.Entry, bool) {
	seq, ok := as.pages.ReadSeqBegin()
	if !ok {
		return xarray.Null, false
	}
	xas := xarray.NewState(as.pages, index)
	e := xas.Load()
	if e.IsInternal() || as.pages.ReadSeqRetry(seq) {
		return xarray.Null, false
	}
	if e == xarray.Null || e.IsValue() {
		return e, true
	}
	f := as.m.FromEntry(e)
	injectLookup.Hit()
	if !f.TryGet() {
		return xarray.Null, false
	}
	if as.variant&VariantNoReloadCheck == 0 && (e != xas.Reload() || as.pages.ReadSeqRetry(seq)) {
		f.Put()
		return xarray.Null, false
	}
	return e, true
}

// getEntryInSection is filemap_get_entry as the kernel writes it.
func (as *AddressSpace) getEntryInSection(index uint64) xarray.Entry {
	d := as.pages.Domain()
	xas := xarray.NewState(as.pages, index)
	t := d.ReadLock()
	// Deferred, so that a kernel BUG on a corrupt entry does not leave the
	// section open and stall every grace period after it.
	defer d.ReadUnlock(t)
	var e xarray.Entry
	var retries lookupRetries
	for {
		xas.Reset()
		e = xas.Load()
		if xas.Retry(e) {
			if as.stuck(&retries, index, e) {
				e = xarray.Null
				break
			}
			continue
		}
		if e == xarray.Null || e.IsValue() {
			break
		}
		f := as.m.FromEntry(e)
		injectLookup.Hit()
		if !f.TryGet() {
			if as.stuck(&retries, index, e) {
				e = xarray.Null
				break
			}
			continue
		}
		if as.variant&VariantNoReloadCheck == 0 && e != xas.Reload() {
			f.Put()
			if as.stuck(&retries, index, e) {
				e = xarray.Null
				break
			}
			continue
		}
		break
	}
	return e
}

// GetFolio returns the folio at index with a reference, locked if lock is
// set, or a nil Folio (filemap_get_folio with FGP_LOCK as asked). A
// locked folio is checked to still belong to this file, and to contain
// index.
func (as *AddressSpace) GetFolio(index uint64, lock bool) folio.Folio {
	for {
		e := as.GetEntry(index)
		if !e.IsPointer() {
			return folio.Folio{}
		}
		f := as.m.FromEntry(e)
		if lock {
			f.Lock()
			// Truncated while we slept for the lock?
			if f.Mapping() != as.id {
				f.Unlock()
				f.Put()
				continue
			}
			f.BugOn(!f.Contains(index), "page cache lookup of index %#x returned a folio that does not contain it", index)
		}
		return f
	}
}

// GetReadBatch fills batch with up to cap(batch) folios covering indices
// from index to max, each with a reference (filemap_get_read_batch). It
// stops at a hole, a shadow entry, or a folio that is not uptodate, and
// returns the batch.
func (as *AddressSpace) GetReadBatch(index, max uint64, batch []folio.Folio) []folio.Folio {
	batch, _ = as.getReadBatch(index, max, batch)
	return batch
}

// getReadBatch is GetReadBatch, which also reports whether a lookup gave
// up, stuck on a slot (see WithLivelockTimeout).
func (as *AddressSpace) getReadBatch(index, max uint64, batch []folio.Folio) (_ []folio.Folio, stuck bool) {
	batch = batch[:0]
	d := as.pages.Domain()
	xas := xarray.NewState(as.pages, index)
	t := d.ReadLock()
	defer d.ReadUnlock(t)
	var retries lookupRetries
	for e := xas.Load(); e != xarray.Null; e = xas.Next() {
		if xas.Retry(e) {
			if e == xarray.RetryEntry && as.stuck(&retries, xas.Index(), e) {
				stuck = true
				break
			}
			continue
		}
		if xas.Index() > max || e.IsValue() || e.IsSibling() {
			break
		}
		f := as.m.FromEntry(e)
		injectLookup.Hit()
		if !f.TryGet() {
			if as.stuck(&retries, xas.Index(), e) {
				stuck = true
				break
			}
			xas.Reset()
			continue
		}
		if as.variant&VariantNoReloadCheck == 0 && e != xas.Reload() {
			f.Put()
			if as.stuck(&retries, xas.Index(), e) {
				stuck = true
				break
			}
			xas.Reset()
			continue
		}
		batch = append(batch, f)
		if len(batch) == cap(batch) || !f.Test(folio.PGUptodate) {
			break
		}
		xas.Advance(f.Index() + f.NrPages() - 1)
	}
	return batch, stuck
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// AddFolio inserts the locked folio f at index (filemap_add_folio) and
// puts it on the LRU list. It returns the shadow entry f replaced, if
// any. ErrExists means a folio is already cached in the range; then f is
// left as it was given.
func (as *AddressSpace) AddFolio(f folio.Folio, index uint64) (xarray.Entry, error) {
	shadow, err := as.addFolio(f, index)
	if err != nil {
		return xarray.Null, err
	}
	as.m.LRU().Add(f)
	return shadow, nil
}

// addFolio is __filemap_add_folio as of v6.15 (200a89c159a7) and in
// mainline: everything happens under the lock. The conflict walk gives
// the shadow old and its order; a larger shadow is split with
// xas_try_split step by step, each step taking the piece that holds
// index down to the lowest order one step allows
// (xas_try_split_min_order), but not below the folio's: in place to the
// lowest order of its node's level, or, from there, to one order less in
// a new node. A step needs one node at most, allocated under the lock
// (GFP_NOWAIT), and if that fails the lock is dropped, xas_nomem
// allocates it, and the whole add starts again. Only the piece of the
// shadow that holds index is split: the rest stays as shadows of the
// orders the steps left. The steps of a failed attempt stay done.
//
// As in v6.15 and the mainline tree modelled, the State keeps the order
// of the step that failed when the add starts again, so the next
// conflict walk and the store cover that order's range, not the folio's:
// if the shadow went meanwhile, the folio is stored over the whole of
// that range. (A later tree sets the folio's order again after
// xas_nomem; no profile models it.)
func (as *AddressSpace) addFolio(f folio.Folio, index uint64) (xarray.Entry, error) {
	switch {
	case as.variant&VariantAddFolio61 != 0:
		return as.addFolio61(f, index)
	case as.variant&VariantAddFolioSplitAlloc != 0:
		return as.addFolioSplitAlloc(f, index)
	}
	forder, nr := f.Order(), f.NrPages()
	xas := xarray.NewStateOrder(as.pages, index, forder)
	as.setUpdate(&xas)
	as.prepareAdd(f, index, &xas)
	first, last := f.Index(), f.Index()+nr-1

	var shadow xarray.Entry
	for {
		order := -1
		var old xarray.Entry

		injectAddLock.Hit()
		xas.Lock()
		for e := xas.FindConflict(); e != xarray.Null; e = xas.FindConflict() {
			old = e
			if !e.IsValue() {
				xas.SetErr(ErrExists)
				break
			}
			// A larger entry is the first and only conflict.
			if order == -1 {
				order = xas.GetOrder()
			}
		}
		if xas.Error() == nil && old != xarray.Null && order > 0 && order > int(forder) {
			trySplitShadow(&xas, index, old, uint(order), forder)
		}
		if xas.Error() == nil {
			if old != xarray.Null {
				shadow = old
				as.checkShadowsLocked(first, last, "refault")
			}
			as.storeFolioLocked(&xas, f, old, first, last)
		}
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	return as.finishAdd(f, &xas, shadow)
}

// trySplitShadow is the split loop of __filemap_add_folio (v6.15): it
// splits the shadow old, of the given order, that holds index, with one
// xas_try_split per step, until the piece that holds index has order
// forder; then the State is reset, at order forder, for the store. On an
// error it returns at once, with the State at the order of the step that
// failed. The i_pages lock is held.
func trySplitShadow(xas *xarray.State, index uint64, old xarray.Entry, order, forder uint) {
	splitOrder := max(forder, xarray.TrySplitMinOrder(order))
	for order > forder {
		xas.SetOrder(index, splitOrder)
		xas.TrySplit(old, order)
		if xas.Error() != nil {
			return
		}
		order = splitOrder
		splitOrder = max(xarray.TrySplitMinOrder(splitOrder), forder)
	}
	xas.Reset()
}

// addFolioSplitAlloc is __filemap_add_folio from v6.10 to v6.14
// (VariantAddFolioSplitAlloc), as fixed by 6758c1128ceb: the conflict
// and its order are read under the lock, and nodes for splitting a
// larger shadow to the folio's order at once are allocated outside the
// lock for exactly the (shadow, order) pair seen, then used only if the
// same pair is still there; otherwise they are destroyed.
func (as *AddressSpace) addFolioSplitAlloc(f folio.Folio, index uint64) (xarray.Entry, error) {
	order, nr := f.Order(), f.NrPages()
	xas := xarray.NewStateOrder(as.pages, index, order)
	as.setUpdate(&xas)
	as.prepareAdd(f, index, &xas)
	first, last := f.Index(), f.Index()+nr-1

	var shadow, allocedShadow xarray.Entry
	allocedOrder := 0
	for {
		conflictOrder := -1
		splitOrder := 0
		var old xarray.Entry

		injectAddLock.Hit()
		xas.Lock()
		for e := xas.FindConflict(); e != xarray.Null; e = xas.FindConflict() {
			old = e
			if !e.IsValue() {
				xas.SetErr(ErrExists)
				break
			}
			// A larger entry is the first and only conflict.
			if conflictOrder == -1 {
				conflictOrder = xas.GetOrder()
			}
		}
		if xas.Error() == nil {
			// The entry may have changed while the lock was dropped.
			if allocedOrder != 0 && (old != allocedShadow || conflictOrder != allocedOrder) {
				xas.Destroy()
				allocedOrder = 0
			}
			stored := true
			if old != xarray.Null {
				if conflictOrder > 0 && conflictOrder > int(order) {
					if allocedOrder == 0 {
						splitOrder = conflictOrder
						stored = false
					} else {
						xas.Split(old, uint(conflictOrder))
						xas.Reset()
					}
				}
				if stored {
					shadow = old
					as.checkShadowsLocked(first, last, "refault")
				}
			}
			if stored {
				as.storeFolioLocked(&xas, f, old, first, last)
			}
		}
		xas.Unlock()

		if splitOrder != 0 {
			xas.SplitAlloc(old, uint(splitOrder))
			if xas.Error() != nil {
				break
			}
			allocedShadow = old
			allocedOrder = splitOrder
			xas.Reset()
			continue
		}
		if !xas.Nomem() {
			break
		}
	}
	return as.finishAdd(f, &xas, shadow)
}

// addFolio61 is __filemap_add_folio as in v6.1 (VariantAddFolio61). The
// order of the entry at index is read without the lock, and a second
// unlocked walk reads the entry that xas_split_alloc prefills its nodes
// with; allocation errors are ignored. Under the lock, a shadow conflict
// whose order (read again) is larger is split with whatever nodes were
// prefilled, even if the entry they were filled for is gone.
func (as *AddressSpace) addFolio61(f folio.Folio, index uint64) (xarray.Entry, error) {
	order, nr := f.Order(), f.NrPages()
	xas := xarray.NewStateOrder(as.pages, index, order)
	as.setUpdate(&xas)
	as.prepareAdd(f, index, &xas)
	first, last := f.Index(), f.Index()+nr-1

	var shadow xarray.Entry
	for {
		cur := as.pages.GetOrder(xas.Index())
		if cur > int(order) {
			xas.SplitAlloc(as.pages.Load(xas.Index()), uint(cur))
		}
		injectAdd61.Hit()
		xas.Lock()
		var old xarray.Entry
		for e := xas.FindConflict(); e != xarray.Null; e = xas.FindConflict() {
			old = e
			if !e.IsValue() {
				xas.SetErr(ErrExists)
				break
			}
		}
		if xas.Error() == nil {
			if old != xarray.Null {
				shadow = old
				as.checkShadowsLocked(first, last, "refault")
				// The entry may have been split before we got the lock.
				if cur = as.pages.GetOrder(xas.Index()); cur > int(order) {
					xas.Split(old, uint(cur))
					xas.Reset()
				}
			}
			as.storeFolioLocked(&xas, f, old, first, last)
		}
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	return as.finishAdd(f, &xas, shadow)
}

// prepareAdd is the start of __filemap_add_folio: the page cache's
// references and the folio's mapping and index, set before the folio can
// be seen at index, the range of xas.
func (as *AddressSpace) prepareAdd(f folio.Folio, index uint64, xas *xarray.State) {
	f.BugOn(!f.Locked(), "adding an unlocked folio to the page cache")
	nr := f.NrPages()
	f.BugOn(index&(nr-1) != 0, "page cache index %#x not aligned to the folio's %d pages", index, nr)
	f.RefAdd(int32(nr))
	f.SetMapping(as.id)
	f.SetIndex(xas.Index())
}

// finishAdd is the end of __filemap_add_folio: on error the folio gets
// back its mapping and references as they were.
func (as *AddressSpace) finishAdd(f folio.Folio, xas *xarray.State, shadow xarray.Entry) (xarray.Entry, error) {
	if err := xas.Error(); err != nil {
		f.SetMapping(0)
		f.PutRefs(int32(f.NrPages()))
		return xarray.Null, err
	}
	return shadow, nil
}

// storeFolioLocked is the store at the end of every form of
// __filemap_add_folio: the folio goes in over the State's range, and on
// success the file counts its pages and forgets the shadows the folio
// replaced (old is what the conflict walk found, a shadow or Null). The
// i_pages lock is held.
func (as *AddressSpace) storeFolioLocked(xas *xarray.State, f folio.Folio, old xarray.Entry, first, last uint64) {
	xas.Store(f.Entry())
	if xas.Error() != nil {
		return
	}
	as.nrpages.Add(int64(f.NrPages()))
	if old != xarray.Null {
		as.forgetShadowsLocked(first, last)
	}
}

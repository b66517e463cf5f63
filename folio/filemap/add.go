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

// addFolio is __filemap_add_folio as fixed in v6.10 (6758c1128ceb): the
// conflict and its order are read under the lock, and nodes for
// splitting a larger shadow are allocated outside the lock for exactly
// the (shadow, order) pair seen, then used only if the same pair is still
// there; otherwise they are destroyed.
func (as *AddressSpace) addFolio(f folio.Folio, index uint64) (xarray.Entry, error) {
	if as.variant&VariantAddFolio61 != 0 {
		return as.addFolio61(f, index)
	}
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
				xas.Store(f.Entry())
				if xas.Error() == nil {
					as.nrpages.Add(int64(nr))
					if old != xarray.Null {
						as.forgetShadowsLocked(first, last)
					}
				}
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
			xas.Store(f.Entry())
			if xas.Error() == nil {
				as.nrpages.Add(int64(nr))
				if old != xarray.Null {
					as.forgetShadowsLocked(first, last)
				}
			}
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

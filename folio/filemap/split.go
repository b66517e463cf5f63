// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// storePieceLocked makes the page cache show piece p, over the range of
// its order (__xa_store of each after-split folio). The split has already
// built every node this needs.
func (as *AddressSpace) storePieceLocked(p folio.Folio) {
	xas := xarray.NewStateOrder(as.pages, p.Index(), p.Order())
	xas.Store(p.Entry())
	if err := xas.Error(); err != nil {
		p.BugOn(true, "storing a split piece failed: %v", err)
	}
}

// releasePieces unlocks the pieces other than keep and drops the extra
// reference each was unfrozen with.
func releasePieces(pieces []folio.Folio, keep folio.Folio) {
	for _, p := range pieces {
		if p != keep {
			p.Unlock()
			p.Put()
		}
	}
}

// Split splits the locked folio f, on which the caller holds a
// reference, into folios of newOrder (split_huge_page_to_list_to_order,
// uniform). The nodes are allocated before the lock, prefilled with f;
// under the lock f's count is frozen, the entry is split so that every
// slot shows the frozen f, and each new folio is stored and unfrozen
// before f itself is. f stays locked with the caller's reference; the
// other pieces are unlocked. ErrBusy: f was truncated, or someone else
// holds a reference. Pieces beyond the end of the file are dropped.
func (as *AddressSpace) Split(f folio.Folio, newOrder uint) error {
	order := f.Order()
	if newOrder >= order {
		return xarray.ErrInvalid
	}
	if f.Mapping() != as.id {
		return ErrBusy
	}
	f.BugOn(!f.Locked(), "splitting an unlocked folio")
	xas := xarray.NewStateOrder(as.pages, f.Index(), newOrder)
	defer xas.Destroy()
	xas.SplitAlloc(f.Entry(), order)
	if err := xas.Error(); err != nil {
		return err
	}
	nr := f.NrPages()
	noFreeze := as.variant&VariantSplitNoFreeze != 0
	as.pages.Lock()
	xas.Reset()
	if xas.Load() != f.Entry() {
		as.pages.Unlock()
		return ErrBusy
	}
	if !f.RefFreeze(int32(1 + nr)) {
		as.pages.Unlock()
		return ErrBusy
	}
	if noFreeze {
		// The protocol break: f is live again while the slots of the
		// pieces still show it.
		f.RefUnfreeze(int32(1 + nr))
	}
	xas.Split(f.Entry(), order)
	if noFreeze && !f.RefFreeze(int32(1+nr)) {
		// A reader holds f: split it anyway, as an unfrozen split would.
		refs := f.RefCount()
		for !f.RefFreeze(refs) {
			refs = f.RefCount()
		}
		defer f.RefAdd(refs - int32(1+nr))
	}
	pieces := f.SplitToOrder(newOrder)
	if noFreeze {
		f.RefUnfreeze(int32(1 + nr))
	}
	eof := as.size.Load()
	var beyond []folio.Folio
	for i := len(pieces) - 1; i >= 1; i-- {
		injectSplit.Hit()
		as.releasePieceLocked(pieces[i], eof, &beyond)
	}
	if noFreeze {
		f.PutRefs(int32(nr - f.NrPages()))
	} else {
		f.RefUnfreeze(int32(f.NrPages()) + 1)
	}
	injectSplit.Hit()
	as.pages.Unlock()
	for _, p := range beyond {
		p.PutRefs(int32(p.NrPages()))
	}
	releasePieces(pieces, f)
	return nil
}

// SplitAt splits the locked folio f, on which the caller holds a
// reference, non-uniformly (folio_split, 6.15): step by step, halving the
// piece that holds index at until it has newOrder, with xas_try_split,
// which needs at most one new node per step. Every split step is made
// over the frozen original f, so that a speculative reader finds either
// the frozen f or the right piece, never a piece that does not contain
// its index (577a1f495fd7). f stays locked with the caller's reference.
func (as *AddressSpace) SplitAt(f folio.Folio, at uint64, newOrder uint) error {
	order := f.Order()
	if newOrder >= order || !f.Contains(at) {
		return xarray.ErrInvalid
	}
	if f.Mapping() != as.id {
		return ErrBusy
	}
	f.BugOn(!f.Locked(), "splitting an unlocked folio")
	nr := f.NrPages()
	xas := xarray.NewState(as.pages, f.Index())
	defer xas.Destroy()
	as.pages.Lock()
	if xas.Load() != f.Entry() || !f.RefFreeze(int32(1+nr)) {
		as.pages.Unlock()
		return ErrBusy
	}
	var err error
	var released, beyond []folio.Folio
	eof := as.size.Load()
	cur := f
	for split := int(order) - 1; split >= int(newOrder); split-- {
		old := cur.Order()
		xas.SetOrder(cur.Index(), uint(split))
		fill := f
		if as.variant&VariantSplitCurrentFolio != 0 {
			fill = cur // before 577a1f495fd7
		}
		xas.TrySplit(fill.Entry(), old)
		if err = xas.Error(); err != nil {
			break
		}
		for _, p := range cur.SplitToOrder(uint(split)) {
			if p.Contains(at) {
				cur = p
				if split != int(newOrder) {
					continue // split again next step
				}
			}
			if p == f {
				continue // unfrozen last
			}
			injectSplit.Hit()
			as.releasePieceLocked(p, eof, &beyond)
			released = append(released, p)
		}
	}
	if err != nil && cur != f {
		// The piece being split stays whole and frozen: release it too.
		as.releasePieceLocked(cur, eof, &beyond)
		released = append(released, cur)
	}
	f.RefUnfreeze(int32(f.NrPages()) + 1)
	as.pages.Unlock()
	for _, p := range beyond {
		p.PutRefs(int32(p.NrPages()))
	}
	releasePieces(released, f)
	return err
}

// releasePieceLocked unfreezes split piece p with the page cache's
// references and one for the caller, and stores it, or drops it from the
// page cache when it lies beyond the end of the file eof; the caller then
// puts the page cache's references of the pieces in *beyond.
func (as *AddressSpace) releasePieceLocked(p folio.Folio, eof uint64, beyond *[]folio.Folio) {
	p.RefUnfreeze(int32(p.NrPages()) + 1)
	if p.Index() >= eof {
		as.deleteLocked(p, xarray.Null)
		*beyond = append(*beyond, p)
		return
	}
	as.storePieceLocked(p)
}

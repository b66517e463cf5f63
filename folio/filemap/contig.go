// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"fmt"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/xarray"
)

// injectContig is the window between taking a folio and stepping to the
// next slot in GetFoliosContig, where the layout after the folio can
// change.
var injectContig = inject.New("filemap.contig.before-next")

// refcountOffset is offsetof(struct page, _refcount) on x86-64: where
// folio_try_get reads when it is handed a sibling entry as a folio
// pointer.
const refcountOffset = 0x34

// NullDeref is what the model panics with where the kernel would
// dereference an address in the first page: an entry that is not a
// folio, handed to folio_try_get as one.
type NullDeref struct {
	Function string       // the kernel function that oopses
	Entry    xarray.Entry // the entry taken for a folio pointer
	Index    uint64       // the index the walk was at
}

// Address is the address the kernel faults on: the refcount field of a
// struct page at the entry's value.
func (o *NullDeref) Address() uint64 { return uint64(o.Entry) + refcountOffset }

func (o *NullDeref) Error() string {
	return fmt.Sprintf("BUG: kernel NULL pointer dereference, address: %016x\nRIP: %s: folio_try_get on %v at index %#x",
		o.Address(), o.Function, o.Entry, o.Index)
}

// GetFoliosContig fills batch with up to cap(batch) folios that follow
// one another from index *start, each with a reference
// (filemap_get_folios_contig, as memfd_pin_folios calls it). The first
// folio holds *start, which may be in its middle. The walk stops at a
// hole, a shadow entry, a sibling entry (a slot inside a large folio
// that the walk got to without the folio: the layout changed under it)
// or an index past end. *start becomes the index after the last folio
// returned; it is left alone when none is.
//
// Under VariantContigNoAdvance the walk steps one index at a time, and a
// large folio comes back once for each index of it visited, up to 64 of
// them. Under VariantContigSibling a sibling entry is taken for a folio,
// and the model panics with a *NullDeref where the kernel oopses.
func (as *AddressSpace) GetFoliosContig(start *uint64, end uint64, batch []folio.Folio) []folio.Folio {
	batch = batch[:0]
	if cap(batch) == 0 {
		return batch
	}
	d := as.pages.Domain()
	xas := xarray.NewState(as.pages, *start)
	t := d.ReadLock()
	defer d.ReadUnlock(t)
	var retries lookupRetries
	for e := xas.Load(); e != xarray.Null && xas.Index() <= end; e = xas.Next() {
		if xas.Retry(e) {
			if e == xarray.RetryEntry && as.stuck(&retries, xas.Index(), e) {
				break
			}
			continue
		}
		if e.IsValue() {
			break // a shadow: the contiguous run ends
		}
		if e.IsSibling() {
			if as.variant&VariantContigSibling == 0 {
				break // in the middle of a large folio: the run ends
			}
			// folio_try_get reads the reference count at the sibling
			// entry's value as if it were a folio pointer.
			panic(&NullDeref{Function: "filemap_get_folios_contig", Entry: e, Index: xas.Index()})
		}
		f := as.m.FromEntry(e)
		if !f.TryGet() {
			if as.stuck(&retries, xas.Index(), e) {
				break
			}
			xas.Reset()
			continue
		}
		if e != xas.Reload() {
			f.Put()
			if as.stuck(&retries, xas.Index(), e) {
				break
			}
			xas.Reset()
			continue
		}
		batch = append(batch, f)
		if len(batch) == cap(batch) {
			*start = f.Index() + f.NrPages()
			return batch
		}
		if as.variant&VariantContigNoAdvance == 0 {
			xas.Advance(f.Index() + f.NrPages() - 1)
		}
		injectContig.Hit()
	}
	if n := len(batch); n > 0 {
		f := batch[n-1]
		*start = f.Index() + f.NrPages()
	}
	return batch
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// The configuration of arm64 with 64 KiB pages: a PMD maps an order-13
// folio, and the buddy allocator's largest block has that order too.
const (
	pmdOrder64K = 13
	pmdPages64K = 1 << pmdOrder64K
)

// memmap64K is memmap for a machine with 64 KiB pages: MAX_PAGE_ORDER is
// 13.
func (r *run) memmap64K(n int) *folio.Memmap {
	m := folio.NewMemmap(n, folio.WithMaxPageOrder(pmdOrder64K), folio.OnBadPage(func(report string) {
		r.report("bad_page: "+firstLine(strings.TrimPrefix(report, "BUG: ")), report)
	}))
	r.memmaps = append(r.memmaps, m)
	return m
}

// runMaxPageCacheOrder is Gavin Shan's fallocate test on a machine with
// 64 KiB pages: a writer drops a PMD-sized range of a file and caches it
// again whole, as a large write or a fault on a MADV_HUGEPAGE mapping
// does, then punches a hole in it, and truncate_inode_partial_folio splits the folio that
// straddles the hole (split_folio, a uniform split to single pages; the
// rest of the range is then dropped whole). Readers look the file up
// speculatively meanwhile; they allocate nothing, so that the order-13
// blocks the writer needs stay whole. The buggy form's page cache makes folios of the PMD order,
// 13, which xas_split_alloc cannot split; the fixed form's are of order
// 11 at most. Memory is ample, so reclaim, which would leave order-13
// shadow entries, should not run (see breakAddLoops).
func runMaxPageCacheOrder(r *run) func() {
	const (
		regions   = 2
		filePages = regions * pmdPages64K
	)
	// Page frame 0 is reserved, so the memmap has 4 free order-13
	// blocks: the file's folios take at most 2 of them.
	m := r.memmap64K(5 * pmdPages64K)
	faults := xarray.NewFaults(r.cfg.Seed)
	as := r.newFile(m, filePages, filemap.VariantMaxOrderPMD, filemap.WithMaxOrder(pmdOrder64K),
		filemap.WithXArrayOptions(append(r.xarrayOptions(0), xarray.WithFaults(faults))...))
	files := []*filemap.AddressSpace{as}
	r.breakAddLoops(faults)
	r.goWorker(func(rng *rand.Rand) {
		buf := make([]folio.Folio, 0, 16)
		r.loop(func() {
			base := rng.Uint64N(regions) * pmdPages64K
			as.TruncateRange(base, base+pmdPages64K-1)
			got, _ := as.Read(base, pmdPages64K, buf[:0])
			for _, f := range got {
				f.Put()
			}
			if !r.done() {
				r.splitPartial(as, base+1+rng.Uint64N(pmdPages64K-1))
			}
		})
	})
	r.goLookups(as, filePages, 2*r.cfg.Goroutines)
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, nil) }
}

// breakAddLoops ends, once the run is over, the loop that
// __filemap_add_folio before v6.10 (VariantAddFolio61) enters over an
// order-13 shadow entry, as reclaim could leave when memory runs short:
// xas_split_alloc fails, xas_nomem allocates a node and the add starts
// again, for ever. Making the file's node allocations fail ends it (the
// add returns -ENOMEM), so that the workers stop.
func (r *run) breakAddLoops(faults *xarray.Faults) {
	r.goWorker(func(*rand.Rand) {
		for !r.done() {
			time.Sleep(10 * time.Millisecond)
		}
		faults.SetEverywhere(true)
		faults.SetProbability(1)
	})
}

// splitPartial is the split truncate_inode_partial_folio makes of the
// large folio that holds index, the first page of a punched hole: a
// uniform split to single pages (split_huge_page). The folio may be in
// use (ErrBusy, and truncation drops it whole); any other failure is the
// WARN_ON in xas_split_alloc, which refuses an entry more than one level
// of nodes above the split's order, and the -ENOMEM that follows it.
func (r *run) splitPartial(as *filemap.AddressSpace, index uint64) {
	f := as.GetFolio(index, true)
	if f.IsNil() {
		return
	}
	defer f.Put()
	defer f.Unlock()
	if f.Order() == 0 {
		return
	}
	order := f.Order()
	err := as.Split(f, 0)
	if err == nil || errors.Is(err, filemap.ErrBusy) {
		return
	}
	r.report(fmt.Sprintf("WARNING in xas_split_alloc: split_huge_page of an order-%d folio fails: %v", order, err),
		fmt.Sprintf("truncate_inode_partial_folio at index %#x of file %d: split_huge_page_to_list_to_order(order %d to 0): %v\n"+
			"xas_split_alloc splits an entry to an order at most 11 below its own (XA_CHUNK_SHIFT * 2 - 1, MAX_XAS_ORDER)\n%v\n%s",
			index, as.ID()>>2, order, err, f, dumpAround(as.Pages(), index)))
}

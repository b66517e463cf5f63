// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
)

// contigBatch is FOLIO_BATCH_SIZE (PAGEVEC_SIZE until v6.5, 15 before it
// grew): the batch memfd_pin_folios hands filemap_get_folios_contig.
const contigBatch = 31

// regionPages is the size of the regions the page-cache scenarios
// rebuild: the largest folio (order 9) never crosses one, so truncating a
// whole region never splits a folio.
const regionPages = 512

// runContigSibling is memfd_pin_folios against a file whose regions are
// dropped and read again at random offsets and sizes, so that folios of
// every order from 0 to 9 come and go. Pinners walk from random indices,
// most in the middle of a folio, with filemap_get_folios_contig, and
// check each batch as the caller uses it. The buggy form is the function
// as v6.10 has it: before c225c4f6056b, and so before 8ab1b1602396.
func runContigSibling(r *run) func() {
	const filePages = 4 * regionPages
	m := r.memmap(6000)
	as := r.newFile(m, filePages, filemap.VariantContigSibling|filemap.VariantContigNoAdvance)
	files := []*filemap.AddressSpace{as}
	for range 2 {
		r.goWorker(func(rng *rand.Rand) {
			buf := make([]folio.Folio, 0, 64)
			r.loop(func() {
				base := rng.Uint64N(filePages/regionPages) * regionPages
				as.TruncateRange(base, base+regionPages-1)
				r.readPieces(as, rng, base, buf)
				time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
			})
		})
	}
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			batch := make([]folio.Folio, 0, contigBatch)
			r.loop(func() {
				start := rng.Uint64N(filePages)
				end := min(start+rng.Uint64N(regionPages), filePages-1)
				r.pinContig(as, start, end, batch)
			})
		})
	}
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, nil) }
}

// readPieces reads a region from base in pieces of random offsets and
// sizes, as readahead would meet them: the folios it makes have every
// order the alignment of each piece allows.
func (r *run) readPieces(as *filemap.AddressSpace, rng *rand.Rand, base uint64, buf []folio.Folio) {
	for range 1 + rng.IntN(6) {
		off := rng.Uint64N(regionPages)
		n := uint64(1) << rng.IntN(10)
		n = min(n, regionPages-off)
		buf = r.readChecked(as, base+off, n, buf)
	}
}

// pinContig walks [start, end] with filemap_get_folios_contig, a batch
// at a time, and takes the folios as memfd_pin_folios does: after the
// first, which must hold start, it takes only a folio that begins where
// the last one taken ends, skipping the others: repeats of a folio
// (before 8ab1b1602396), and a folio that a retry after a truncation
// found over the range of the last one. Every folio must be this file's
// (or truncated since), and each one taken must hold the index it stands
// for. A walk that oopses (the kernel's NULL pointer dereference on a
// sibling entry) is reported with the node around the index it oopsed
// at.
func (r *run) pinContig(as *filemap.AddressSpace, start, end uint64, batch []folio.Folio) {
	from := start
	defer func() {
		if p := recover(); p != nil {
			var o *filemap.NullDeref
			err, _ := p.(error)
			if !errors.As(err, &o) {
				panic(p)
			}
			r.report(fmt.Sprintf("BUG: kernel NULL pointer dereference in %s: folio_try_get on %v", o.Function, o.Entry),
				fmt.Sprintf("%v\nfilemap_get_folios_contig(start %#x, end %#x) of file %d, which began at %#x\n%s",
					o, start, end, as.ID()>>2, from, dumpAround(as.Pages(), o.Index)))
		}
	}()
	next, first := start, true
	for next <= end && !r.done() {
		got := as.GetFoliosContig(&start, end, batch)
		ok := len(got) > 0
		for _, f := range got {
			if !ok {
				break
			}
			if !first && f.Index() != next {
				ok = r.checkFolio(as, f.Index(), f, "filemap_get_folios_contig")
				continue // memfd_pin_folios skips it
			}
			if ok = r.checkFolio(as, next, f, "filemap_get_folios_contig"); ok {
				next, first = f.Index()+f.NrPages(), false
			}
		}
		for _, f := range got {
			f.Put()
		}
		if !ok {
			return
		}
		next = start
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// runPauseUnalignedIndex is cachestat(2) against a file whose regions are
// rebuilt as a large folio of order 6 to 9 at the region's start followed
// by small folios. A cachestat call counts a region that nobody changes
// while it runs (the harness holds the region's lock for reading; the
// other regions keep changing), from an index inside the first 64 pages
// of the region, as a byte range that starts in a large folio does;
// need_resched comes true after half the entries, and the walk pauses
// there. Its counts must be the region's. The buggy form is the XArray's
// xas_pause before c9ba5249ef8b.
//
// A start past the first 64 pages of a folio of order 7 or more is left
// out: there mainline's xas_pause resumes too far too (see
// filemap.TestCachestatPauseInLaterSlot).
func runPauseUnalignedIndex(r *run) func() {
	const (
		filePages = 4 * regionPages
		regions   = filePages / regionPages
	)
	m := r.memmap(6000)
	as := r.newFile(m, filePages, 0, filemap.WithXArrayOptions(r.xarrayOptions(xarray.VariantPauseUnmasked)...))
	files := []*filemap.AddressSpace{as}
	locks := make([]sync.RWMutex, regions)
	for range 2 {
		r.goWorker(func(rng *rand.Rand) {
			buf := make([]folio.Folio, 0, 64)
			rebuild := func(reg int) {
				base := uint64(reg) * regionPages
				locks[reg].Lock()
				defer locks[reg].Unlock()
				as.TruncateRange(base, base+regionPages-1)
				// readahead gives a read of 2^(k-1) pages at an aligned
				// index an order-k folio.
				// The small folios after it stay in the region: readahead
				// rounds a read of up to 3 pages to at most 8.
				big := uint64(1) << (5 + rng.IntN(4))
				buf = r.readChecked(as, base, big, buf)
				if after := base + 2*big; after+64+8 <= base+regionPages {
					for range 1 + rng.IntN(8) {
						off := rng.Uint64N(64)
						buf = r.readChecked(as, after+off, 1+rng.Uint64N(3), buf)
					}
				}
			}
			r.loop(func() {
				rebuild(rng.IntN(regions))
				time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
			})
		})
	}
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			resched := func() bool { return rng.IntN(2) == 0 }
			r.loop(func() {
				reg := rng.IntN(regions)
				base := uint64(reg) * regionPages
				first := base + rng.Uint64N(64)
				last := base + regionPages - 1 - rng.Uint64N(64)
				locks[reg].RLock()
				defer locks[reg].RUnlock()
				got := as.Cachestat(first, last, resched)
				if want := countRange(as, first, last); got != want {
					r.report(fmt.Sprintf("cachestat counted %d cached and %d evicted pages of %#x..%#x, the page cache holds %d and %d",
						got.NrCache, got.NrEvicted, first, last, want.NrCache, want.NrEvicted),
						fmt.Sprintf("filemap_cachestat(%#x, %#x) of file %d paused (xas_pause) and skipped entries; nobody changed the range meanwhile\n%s",
							first, last, as.ID()>>2, dumpRange(as, first, last)))
				}
			})
		})
	}
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, nil) }
}

// countRange counts, index by index, the pages of [first, last] that hold
// a folio and those that hold a shadow entry. The range must not change
// meanwhile.
func countRange(as *filemap.AddressSpace, first, last uint64) filemap.Cachestat {
	var cs filemap.Cachestat
	for i := first; i <= last; i++ {
		switch e := as.Pages().Load(i); {
		case e.IsPointer():
			cs.NrCache++
		case e.IsValue():
			cs.NrEvicted++
		}
	}
	return cs
}

// dumpRange dumps the nodes that hold [first, last], as dumpAround does
// for one.
func dumpRange(as *filemap.AddressSpace, first, last uint64) string {
	out := ""
	for i := first &^ 63; i <= last; i += 64 {
		if out != "" {
			out += "\n"
		}
		out += dumpAround(as.Pages(), i)
	}
	return out
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
)

// readChecked reads count pages from index as a pread would, and checks
// every folio the read returns: each must pass checkFolio for the index
// the read expected it at, and the folios must follow one another.
func (r *run) readChecked(as *filemap.AddressSpace, index, count uint64, buf []folio.Folio) []folio.Folio {
	out, err := as.Read(index, count, buf[:0])
	if err != nil && errors.Is(err, filemap.ErrStuck) {
		r.report("livelock: "+firstLine(err.Error()), fmt.Sprintf("%v\n%s", err, dumpAround(as.Pages(), index)))
	}
	next := index
	ok := true
	for _, f := range out {
		if ok && !r.checkFolio(as, next, f, "filemap_get_read_batch") {
			ok = false
		}
		if ok {
			next = f.Index() + f.NrPages()
		}
		f.Put()
	}
	return out
}

// runB1 is Chris Mason's reader.c shape: per file, readers pread at
// offset 2 pages with sizes from 2 to 256 pages, invalidators drop the
// whole file with fadvise(DONTNEED), memory pressure reclaims large
// folios into large shadow entries, and a movable-ops tenant takes the
// pages freed.
func runB1(r *run) func() {
	const (
		filePages = 1024
		nfiles    = 2
	)
	m := r.memmap(2600)
	files := make([]*filemap.AddressSpace, nfiles)
	for i := range files {
		files[i] = r.newFile(m, filePages, filemap.VariantAddFolio61)
	}
	sizes := []uint64{2, 4, 8, 16, 32, 64, 128, 256}
	readers := 3 * r.cfg.Goroutines
	for _, as := range files {
		for range readers {
			r.goWorker(func(rng *rand.Rand) {
				buf := make([]folio.Folio, 0, 64)
				r.loop(func() {
					buf = r.readChecked(as, 2+uint64(rng.IntN(4))*2, sizes[rng.IntN(len(sizes))], buf)
				})
			})
		}
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() {
				as.InvalidatePages(0, filePages-1)
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			})
		})
	}
	z := r.goMemoryPressure(m, 64)
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, z) }
}

// goMemoryPressure starts a worker that puts m under memory pressure.
// It reclaims up to batch pages at a time, leaving shadow entries, and
// runs the shadow-node shrinker alongside, as shrink_node runs
// shrink_slab after the LRU lists. A movable-ops tenant takes and gives
// back up to batch pages, the freed ones among them. It returns the
// tenant, for the final check.
func (r *run) goMemoryPressure(m *folio.Memmap, batch int) *folio.Zsmalloc {
	z := folio.NewZsmalloc(m)
	r.goWorker(func(rng *rand.Rand) {
		r.loop(func() {
			filemap.Reclaim(m, batch)
			r.shrinkShadowNodes(m, rng)
			z.Grow(rng.IntN(batch))
			z.Shrink(rng.IntN(batch))
			time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
		})
	})
	return z
}

// shrinkShadowNodes runs the workingset shadow-node shrinker on m. It
// runs once as shrink_slab would: count_shadow_nodes allows one shadow
// node per 8 pages of memory, more than these small files ever have, so
// that run scans nothing. It also scans a node or two every fourth
// time, as a reclaim whose count asked for them would, so that the
// shrinker's deletions race with the other paths. A warning from
// shadow_lru_isolate is a violation.
func (r *run) shrinkShadowNodes(m *folio.Memmap, rng *rand.Rand) {
	s := filemap.ShrinkShadowNodes(m)
	if rng.IntN(4) == 0 {
		s2 := filemap.ScanShadowNodes(m, 1+rng.IntN(2))
		s.Warnings = append(s.Warnings, s2.Warnings...)
	}
	if len(s.Warnings) > 0 {
		r.report("shadow-node shrinker: "+firstLine(s.Warnings[0]), strings.Join(s.Warnings, "\n"))
	}
}

// goFilesValidator validates every file under its lock, and the
// shadow-node list of each of their memmaps, every 5 ms.
func (r *run) goFilesValidator(files []*filemap.AddressSpace) {
	r.goValidator(5*time.Millisecond, func() error { return checkFiles(files) })
}

// checkFiles validates each file under its lock (AddressSpace.Check,
// which includes the file's shadow entries and nodes), then the
// shadow-node list of each memmap the files live in.
func checkFiles(files []*filemap.AddressSpace) error {
	var memmaps []*folio.Memmap
	for _, as := range files {
		if err := as.Check(); err != nil {
			return err
		}
		if !slices.Contains(memmaps, as.Memmap()) {
			memmaps = append(memmaps, as.Memmap())
		}
	}
	for _, m := range memmaps {
		if err := filemap.CheckShadowNodes(m); err != nil {
			return err
		}
	}
	return nil
}

// goLookups starts n readers that look up random indices of as below
// pages speculatively (filemap_get_entry) and check what they get.
func (r *run) goLookups(as *filemap.AddressSpace, pages uint64, n int) {
	m := as.Memmap()
	for range n {
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() {
				idx := rng.Uint64N(pages)
				if e := as.GetEntry(idx); e.IsPointer() {
					f := m.FromEntry(e)
					r.checkFolio(as, idx, f, "filemap_get_entry")
					f.Put()
				}
			})
		})
	}
}

// largeFolios caches [base, base+n) as large folios (reading it) and
// returns, locked and referenced, up to max of the large folios there.
func largeFolios(as *filemap.AddressSpace, base, n uint64, buf []folio.Folio) []folio.Folio {
	got, _ := as.Read(base, n, buf[:0])
	var out []folio.Folio
	for _, f := range got {
		f.Put()
	}
	for idx := base; idx < base+n; {
		f := as.GetFolio(idx, true)
		if f.IsNil() {
			idx++
			continue
		}
		next := f.Index() + f.NrPages()
		if f.Order() > 0 {
			out = append(out, f)
		} else {
			f.Unlock()
			f.Put()
		}
		if next <= idx {
			break
		}
		idx = next
	}
	return out
}

// runSplits runs readers doing speculative lookups of a file while a
// splitter caches regions as large folios and splits them with split,
// then truncates the region to start again.
func (r *run) runSplits(variant filemap.Variant, split func(as *filemap.AddressSpace, f folio.Folio, rng *rand.Rand) error) func() {
	const filePages = 2048
	m := r.memmap(8192)
	as := r.newFile(m, filePages, variant)
	files := []*filemap.AddressSpace{as}
	r.goLookups(as, filePages, 2*r.cfg.Goroutines)
	r.goWorker(func(rng *rand.Rand) {
		buf := make([]folio.Folio, 0, 16)
		r.loop(func() {
			base := rng.Uint64N(filePages/512) * 512
			for _, f := range largeFolios(as, base, 512, buf) {
				if !r.done() {
					if err := split(as, f, rng); err != nil && !errors.Is(err, filemap.ErrBusy) {
						r.report("split failed: "+err.Error(), f.String())
					}
				}
				f.Unlock()
				f.Put()
			}
			as.TruncateRange(base, base+511)
		})
	})
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, nil) }
}

// runB3 splits non-uniformly (folio_split) at a random page of each
// large folio while readers look the file up speculatively.
func runB3(r *run) func() {
	return r.runSplits(filemap.VariantSplitCurrentFolio, func(as *filemap.AddressSpace, f folio.Folio, rng *rand.Rand) error {
		return as.SplitAt(f, f.Index()+rng.Uint64N(f.NrPages()), 0)
	})
}

// runSplitNoFreeze splits uniformly (split_huge_page) under readers.
func runSplitNoFreeze(r *run) func() {
	return r.runSplits(filemap.VariantSplitNoFreeze, func(as *filemap.AddressSpace, f folio.Folio, _ *rand.Rand) error {
		return as.Split(f, 0)
	})
}

// runNoReload has readers look up a small file speculatively while its
// folios are truncated and refilled, and a movable-ops tenant takes the
// pages freed at once, so that a page freed under a reader is soon
// someone else's.
func runNoReload(r *run) func() {
	const filePages = 64
	m := r.memmap(1024)
	as := r.newFile(m, filePages, filemap.VariantNoReloadCheck, filemap.WithMaxOrder(0))
	files := []*filemap.AddressSpace{as}
	r.goLookups(as, filePages, 2*r.cfg.Goroutines)
	z := folio.NewZsmalloc(m)
	r.goWorker(func(rng *rand.Rand) {
		buf := make([]folio.Folio, 0, 64)
		r.loop(func() {
			got, _ := as.Read(0, filePages, buf[:0])
			for _, f := range got {
				f.Put()
			}
			start := rng.Uint64N(filePages)
			as.TruncateRange(start, start+7)
			z.Grow(8) // takes the pages just freed
			if z.Len() > 256 {
				z.Shrink(8)
			}
		})
	})
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, z) }
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// Workloads returns the plain workloads: no bug of their own, every path
// of a layer at once in its fixed form, with the checkers on. A scenario
// exercises the window of one bug; a workload looks for the bug nobody
// has named yet. They have only a fixed variant.
func Workloads() []*Scenario { return slices.Clone(workloads) }

var workloads = []*Scenario{
	{
		Name:    "pagecache-mix",
		Commit:  "-",
		Plain:   true,
		Summary: "every page-cache path at once on two files under memory pressure: read batches, speculative lookups, large-folio readahead, reclaim to shadows, truncate, fadvise(DONTNEED), uniform and non-uniform splits, the movable-ops tenant",
		Points: []Point{
			{"filemap.lookup.before-try-get", 0.01, 0},
			{"filemap.split.between-pieces", 0.5, 0},
			{"filemap.reclaim.before-remove", 0.1, 0},
			{"filemap.truncate.before-delete", 0.1, 0},
		},
		run: runPageCacheMix,
	},
	{
		Name:    "xarray-mix",
		Commit:  "-",
		Plain:   true,
		Summary: "XArray stores, ranges of multi-index entries, erases, cmpxchg and marks against lockless loads, marked finds and iteration",
		Points:  []Point{{"xarray.descend.sibling-hop", 0.5, 0}},
		run:     runXArrayMix,
	},
}

// mixFile is newFile for a workload: the fixed code unless
// Config.FilemapVariant asks for a known bug.
func (r *run) mixFile(m *folio.Memmap, pages uint64) *filemap.AddressSpace {
	var extra []filemap.Option
	if v := r.cfg.FilemapVariant; v != 0 {
		extra = append(extra, filemap.WithVariant(v))
	}
	return r.newFile(m, pages, 0, extra...)
}

// runPageCacheMix runs the page cache's paths together on two files whose
// pages do not all fit in memory, so that reading one reclaims the other.
func runPageCacheMix(r *run) func() {
	const filePages = 2048
	m := r.memmap(3000)
	files := []*filemap.AddressSpace{r.mixFile(m, filePages), r.mixFile(m, filePages)}
	for _, as := range files {
		for range 2 * r.cfg.Goroutines {
			r.goWorker(func(rng *rand.Rand) {
				buf := make([]folio.Folio, 0, 64)
				r.loop(func() {
					buf = r.readChecked(as, rng.Uint64N(filePages), 1+rng.Uint64N(256), buf)
				})
			})
		}
		r.goLookups(as, filePages, r.cfg.Goroutines)
		r.goWorker(func(rng *rand.Rand) {
			buf := make([]folio.Folio, 0, 16)
			r.loop(func() {
				base := rng.Uint64N(filePages/512) * 512
				for _, f := range largeFolios(as, base, 512, buf) {
					var err error
					if !r.done() {
						if rng.IntN(2) == 0 {
							err = as.Split(f, uint(rng.IntN(int(f.Order()))))
						} else {
							err = as.SplitAt(f, f.Index()+rng.Uint64N(f.NrPages()), 0)
						}
					}
					if err != nil && !errors.Is(err, filemap.ErrBusy) {
						r.report("split failed: "+err.Error(), f.String())
					}
					f.Unlock()
					f.Put()
				}
			})
		})
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() {
				start := rng.Uint64N(filePages)
				end := start + rng.Uint64N(64)
				if rng.IntN(4) == 0 {
					as.InvalidatePages(start, end)
				} else {
					as.TruncateRange(start, end)
				}
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			})
		})
	}
	z := r.goMemoryPressure(m, 32)
	r.goFilesValidator(files)
	return func() { r.finalCheck(files, z) }
}

// Every value the XArray mix stores names the range it was stored over,
// so that a reader can tell a right entry from a wrong one.
func mixValue(first, last uint64) xarray.Entry { return xarray.MkValue(first<<16 | (last - first)) }

// mixCovers reports whether e is Null or a value stored over a range
// that holds index.
func mixCovers(e xarray.Entry, index uint64) bool {
	if e == xarray.Null {
		return true
	}
	if !e.IsValue() {
		return false
	}
	v := e.ToValue()
	first := v >> 16
	return first <= index && index <= first+v&0xffff
}

// A store that overlaps part of a multi-index entry leaves a layout the
// kernel does not define (xa_store_range writes only the slots of its
// range, and the rest of an entry it cut keeps siblings of a slot that
// is no longer the entry's). The mix's writers stay in defined territory
// as the kernel's users do: they erase an entry a store would cut before
// storing. mixWriter serializes them so that the erase and the store go
// together.
type mixWriter struct {
	mu sync.Mutex
	xa *xarray.XArray
}

// eraseCut erases the entry at index if it came from a range store: it
// may extend past index on either side.
func (w *mixWriter) eraseCut(index uint64) {
	if e := w.xa.Load(index); e.IsValue() && e.ToValue()&0xffff != 0 {
		w.xa.Erase(index)
	}
}

// store is xa_store of a one-index value.
func (w *mixWriter) store(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eraseCut(index)
	_, err := w.xa.Store(index, mixValue(index, index))
	return err
}

// storeRange is xa_store_range of a value over [first, last].
func (w *mixWriter) storeRange(first, last uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eraseCut(first)
	w.eraseCut(last)
	return w.xa.StoreRange(first, last, mixValue(first, last))
}

// mixReload looks index up as filemap_get_entry does: xas_load, then
// xas_reload of the index's own slot, again until the two agree. It
// returns an entry that was at index at the moment of the reload.
func mixReload(xa *xarray.XArray, index uint64) xarray.Entry {
	d := xa.Domain()
	xas := xarray.NewState(xa, index)
	t := d.ReadLock()
	defer d.ReadUnlock(t)
	for {
		xas.Reset()
		e := xas.Load()
		if xas.Retry(e) {
			continue
		}
		if !xas.Valid() || e == xas.Reload() {
			return e
		}
	}
}

// runXArrayMix has writers change a 4096-index array in every way the
// normal API allows while readers load, find marked entries and iterate
// without the lock; every entry a reader gets must cover its index.
func runXArrayMix(r *run) func() {
	const span = 4096
	xa := xarray.New(0, append(r.xarrayOptions(0), xarray.WithVariant(r.cfg.XArrayVariant))...)
	r.arrays = append(r.arrays, xa)
	w := &mixWriter{xa: xa}
	for range r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() {
				i := rng.Uint64N(span)
				var err error
				switch rng.IntN(8) {
				case 0, 1:
					err = w.store(i)
				case 2:
					err = w.storeRange(i, min(i+rng.Uint64N(300), span-1))
				case 3:
					xa.Erase(i)
				case 4:
					_, err = xa.CmpXchg(i, xarray.Null, mixValue(i, i))
				case 5:
					if err = xa.Insert(i, mixValue(i, i)); errors.Is(err, xarray.ErrBusy) {
						err = nil
					}
				case 6:
					xa.SetMark(i, xarray.Mark(rng.IntN(2)))
				case 7:
					xa.ClearMark(i, xarray.Mark(rng.IntN(2)))
				}
				if err != nil {
					r.report("xarray operation failed: "+err.Error(), dumpArray(xa))
				}
			})
		})
	}
	// A lookup that lands on a sibling reads the slot it names in a second
	// load; between the two the writer may erase the entry and store a
	// shorter one there, so xa_load can return an entry that never
	// covered the index (the kernel has the same window, and its careful
	// users, filemap_get_entry for one, re-read the index's own slot with
	// xas_reload). So a wrong value counts only if a lookup of the index
	// that is confirmed by xas_reload gives it again; an internal entry
	// always counts.
	check := func(how string, index uint64, e xarray.Entry) bool {
		if mixCovers(e, index) || (!e.IsInternal() && mixReload(xa, index) != e) {
			return true
		}
		r.report(fmt.Sprintf("%s returned an entry that does not cover index %d: %v", how, index, e),
			fmt.Sprintf("%s at %d = %v\n%s", how, index, e, dumpArray(xa)))
		return false
	}
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() {
				i := rng.Uint64N(span)
				switch rng.IntN(4) {
				case 0, 1:
					check("xa_load", i, xa.Load(i))
				case 2:
					index := i
					e := xa.Find(&index, span-1, xarray.Mark(rng.IntN(2)))
					check("xa_find (marked)", index, e)
				case 3:
					n := 0
					for index, e := range xa.Range(i, min(i+256, span-1)) {
						if !check("xa_for_each_range", index, e) {
							return
						}
						if n++; n == 64 {
							return
						}
					}
				}
			})
		})
	}
	r.goValidator(5*time.Millisecond, func() error {
		xa.Lock()
		defer xa.Unlock()
		return xa.Check()
	})
	return func() {
		if !r.violated() {
			if err := xa.Check(); err != nil {
				r.report("invariant broken at the end: "+firstLine(err.Error()), err.Error())
			}
		}
		destroyQuietly(xa)
	}
}

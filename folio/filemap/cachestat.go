// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"runtime"

	"github.com/xabench/xabench/xarray"
)

// Cachestat is struct cachestat, in pages: what the cachestat system call
// (v6.5) reports of a range of a file. The model keeps no dirty or
// writeback marks and no refault distances, so nr_dirty, nr_writeback
// and nr_recently_evicted are not here.
type Cachestat struct {
	NrCache   uint64 // pages of the folios in the range
	NrEvicted uint64 // pages of the shadow entries in the range
}

// Cachestat counts the pages of [first, last] that are cached and those
// evicted (filemap_cachestat). It walks the tree without a reference on
// any folio, as the kernel does, taking each entry's size from the tree:
// a folio or shadow entry that straddles an end of the range counts only
// its pages inside it.
//
// needResched is need_resched(): when it says so after an entry, the walk
// pauses (xas_pause), leaves its read-side section, yields and goes on
// in a new section (cond_resched_rcu). nil never pauses. Under the
// XArray's VariantPauseUnmasked (before c9ba5249ef8b), a pause at an
// entry whose index is not aligned to its node's slots, as the first
// entry is when first is in the middle of a large one, resumes past the
// start of the next slot: entries there are not counted.
func (as *AddressSpace) Cachestat(first, last uint64, needResched func() bool) Cachestat {
	var cs Cachestat
	d := as.pages.Domain()
	xas := xarray.NewState(as.pages, first)
	t := d.ReadLock()
	defer func() { d.ReadUnlock(t) }()
	for e := xas.Find(last); e != xarray.Null; e = xas.NextEntry(last) {
		if xas.Retry(e) {
			continue
		}
		nr := uint64(1) << xas.GetOrder()
		entryFirst := xas.Index() &^ (nr - 1)
		entryLast := entryFirst + nr - 1
		if entryFirst < first {
			nr -= first - entryFirst
		}
		if entryLast > last {
			nr -= entryLast - last
		}
		if e.IsValue() {
			cs.NrEvicted += nr
		} else {
			cs.NrCache += nr
		}
		if needResched != nil && needResched() {
			xas.Pause()
			d.ReadUnlock(t)
			runtime.Gosched()
			t = d.ReadLock()
		}
	}
	return cs
}

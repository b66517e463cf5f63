// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import "github.com/xabench/xabench/folio"

// Reclaim isolates up to nr folios from the memmap's LRU list, oldest
// first, and evicts the clean, unused ones (shrink_folio_list), leaving
// workingset shadow entries behind; the rest go back on the list. It
// returns the number of pages freed.
func Reclaim(m *folio.Memmap, nr int) int64 {
	var freed int64
	lru := m.LRU()
	for _, f := range lru.Isolate(m, nr) {
		if !f.TryLock() {
			lru.Putback(f)
			continue
		}
		as := Lookup(f.Mapping())
		injectReclaim.Hit()
		if as == nil || f.Test(folio.PGDirty) || f.Test(folio.PGWriteback) || !as.removeMapping(f, true) {
			f.Unlock()
			lru.Putback(f)
			continue
		}
		n := int64(f.NrPages())
		f.Unlock()
		f.FreeFrozen()
		freed += n
	}
	return freed
}

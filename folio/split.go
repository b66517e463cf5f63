// SPDX-License-Identifier: GPL-2.0-or-later

package folio

// splitFlags are the head flags that every piece of a split folio
// inherits (__split_huge_page_tail's list).
const splitFlags = 1<<PGLocked | 1<<PGReferenced | 1<<PGUptodate | 1<<PGActive |
	1<<PGWorkingset | 1<<PGUnevictable | 1<<PGDirty

// SplitToOrder rewrites the frozen folio f as folios of newOrder
// (__split_folio_to_order) and returns them in index order; the first is
// f itself. Every piece has f's mapping, its own index and f's flags, and
// a reference count of zero: the caller unfreezes each piece once the
// page cache shows it. Pieces of a folio on the LRU list join the list.
func (f Folio) SplitToOrder(newOrder uint) []Folio {
	order := f.Order()
	if newOrder >= order {
		f.bug("split of an order-%d folio to order %d", order, newOrder)
	}
	if c := f.RefCount(); c != 0 {
		f.bug("split of a folio that is not frozen (count %d)", c)
	}
	head := f.p()
	flags := head.flags.Load() & splitFlags
	onLRU := head.flags.Load()&bit(PGLRU) != 0
	mapping := head.mapping.Load()
	index := head.index.Load()
	step := uint32(1) << newOrder
	n := uint32(1) << order
	out := make([]Folio, 0, n/step)
	// Tails first, from the last, then the head, as __split_huge_page.
	// A piece's head becomes one, with its flags, in a single store of
	// its flags word, after its mapping and index.
	for i := n - step; ; i -= step {
		pfn := f.pfn + i
		for j := pfn + 1; j < pfn+step; j++ {
			f.m.pages[j].setCompound(pfn | tailBit)
		}
		p := &f.m.pages[pfn]
		fl := flags
		if newOrder > 0 {
			fl |= bit(PGHead)
		}
		if i != 0 {
			p.mapping.Store(mapping)
			p.index.Store(index + uint64(i))
			p.private.Store(0)
			p.flags.Store(withCompound(fl, uint32(newOrder)))
		} else {
			p.flags.Store(withCompound(fl|head.flags.Load()&bit(PGLRU), uint32(newOrder)))
		}
		if i == 0 {
			break
		}
	}
	for i := uint32(0); i < n; i += step {
		g := Folio{f.m, f.pfn + i}
		out = append(out, g)
		if i != 0 && onLRU {
			g.Clear(PGLRU)
			f.m.lru.Add(g)
		}
	}
	return out
}

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "sync"

// LRU is the memmap's list of reclaimable folios (one lruvec). A folio is
// on it while PG_lru is set. The list keeps page frame numbers and drops
// stale ones lazily: a folio that was freed, or isolated, no longer has
// PG_lru, and Isolate skips it.
type LRU struct {
	mu    sync.Mutex
	queue []uint32 // oldest first
}

// LRU returns the memmap's LRU list.
func (m *Memmap) LRU() *LRU { return &m.lru }

// Add puts f on the LRU list (folio_add_lru). f must not be on it.
func (l *LRU) Add(f Folio) {
	if f.TestAndSet(PGLRU) {
		f.bug("folio_add_lru of a folio already on the LRU")
	}
	l.mu.Lock()
	l.queue = append(l.queue, f.pfn)
	l.mu.Unlock()
}

// Isolate takes up to n folios off the LRU list, oldest first, each with
// a reference and PG_lru cleared (isolate_lru_folios). m is the memmap
// the list belongs to.
func (l *LRU) Isolate(m *Memmap, n int) []Folio {
	var out []Folio
	l.mu.Lock()
	defer l.mu.Unlock()
	// Scan each entry at most once: frozen folios go to the back.
	for scan := len(l.queue); len(out) < n && scan > 0; scan-- {
		pfn := l.queue[0]
		l.queue = l.queue[1:]
		f := Folio{m, pfn}
		if !f.Test(PGLRU) {
			continue // freed or isolated since: a stale entry
		}
		if !f.TryGet() {
			// Frozen by a split or a reclaim that may give up: rotate
			// it rather than lose it, as isolate_lru_folios does.
			l.queue = append(l.queue, pfn)
			continue
		}
		if !f.TestAndClear(PGLRU) {
			f.Put()
			continue
		}
		out = append(out, f)
	}
	if len(l.queue) == 0 {
		l.queue = nil
	}
	return out
}

// Putback returns an isolated folio to the LRU list and drops the
// isolation reference (folio_putback_lru).
func (l *LRU) Putback(f Folio) {
	l.Add(f)
	f.Put()
}

// Len returns the length of the list, stale entries included.
func (l *LRU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "sync"

// Zsmalloc is a second tenant of memory, modelled on zsmalloc backing
// zram: it takes order-0 pages, marks them movable with its own
// movable-ops mapping (__SetPageMovable), and gives them back later. A
// page the page cache freed is often the next one it takes, so a stale
// page-cache entry then names a movable-ops page, as in the seed report.
type Zsmalloc struct {
	m     *Memmap
	mu    sync.Mutex
	pages []Folio
}

// NewZsmalloc returns a tenant of m holding no pages.
func NewZsmalloc(m *Memmap) *Zsmalloc { return &Zsmalloc{m: m} }

// Grow takes up to n pages and returns how many it got.
func (z *Zsmalloc) Grow(n int) int {
	got := 0
	for ; got < n; got++ {
		f, err := z.m.Alloc(0)
		if err != nil {
			break
		}
		f.Set(PGMovable)
		f.SetMapping(MovableOps)
		z.mu.Lock()
		z.pages = append(z.pages, f)
		z.mu.Unlock()
	}
	z.m.tenants.Add(int64(got))
	return got
}

// Shrink gives back up to n pages, oldest first, and returns how many.
func (z *Zsmalloc) Shrink(n int) int {
	z.mu.Lock()
	n = min(n, len(z.pages))
	out := append([]Folio(nil), z.pages[:n]...)
	z.pages = append(z.pages[:0], z.pages[n:]...)
	z.mu.Unlock()
	for _, f := range out {
		f.Clear(PGMovable)
		f.SetMapping(0)
		f.Put()
	}
	z.m.tenants.Add(-int64(n))
	return n
}

// Len returns the number of pages the tenant holds.
func (z *Zsmalloc) Len() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return len(z.pages)
}

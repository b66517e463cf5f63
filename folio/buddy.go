// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/xarray"
)

// ErrNoMemory is returned when the allocator has no block of the order
// asked for, or when a failure is injected. It is the XArray's ENOMEM, so
// that callers of the page cache test for one error.
var ErrNoMemory = xarray.ErrNoMemory

// zone is the buddy allocator (struct zone's free_area), guarded by mu.
// free[o] holds the head pfns of free blocks of order o; the most
// recently freed block is at the end and is handed out first.
type zone struct {
	mu        sync.Mutex
	free      [orderLimit + 1][]uint32
	maxOrder  int     // MAX_PAGE_ORDER (WithMaxPageOrder)
	freeOrder []int8  // order of the free block headed by pfn, or -1
	pos       []int32 // position of that head in free[order]
	nrFree    int64   // free pages in the zone, pcp lists excluded
}

func (m *Memmap) initZone() {
	z := &m.zone
	n := len(m.pages)
	z.freeOrder = make([]int8, n)
	z.pos = make([]int32, n)
	for i := range z.freeOrder {
		z.freeOrder[i] = -1
	}
	for pfn := 1; pfn < n; {
		o := 0
		for o < z.maxOrder && pfn&(1<<(o+1)-1) == 0 && pfn+1<<(o+1) <= n {
			o++
		}
		for i := pfn; i < pfn+1<<o; i++ {
			p := &m.pages[i]
			p.mapcount.Store(-1)
			p.flags.Store(bit(PGPoison))
			p.mapping.Store(Poison)
		}
		z.add(uint32(pfn), o)
		pfn += 1 << o
	}
	m.initPCP()
}

func (z *zone) add(pfn uint32, o int) {
	z.freeOrder[pfn] = int8(o)
	z.pos[pfn] = int32(len(z.free[o]))
	z.free[o] = append(z.free[o], pfn)
	z.nrFree += 1 << o
}

func (z *zone) remove(pfn uint32) {
	o := z.freeOrder[pfn]
	list := z.free[o]
	i := z.pos[pfn]
	last := list[len(list)-1]
	list[i] = last
	z.pos[last] = i
	z.free[o] = list[:len(list)-1]
	z.freeOrder[pfn] = -1
	z.nrFree -= 1 << o
}

// take is __rmqueue_smallest: the smallest free block of at least order
// o, split down to o with the upper halves going back to the free lists
// (expand). It returns 0 when there is none.
func (z *zone) take(o int) uint32 {
	for cur := o; cur <= z.maxOrder; cur++ {
		list := z.free[cur]
		if len(list) == 0 {
			continue
		}
		pfn := list[len(list)-1]
		z.remove(pfn)
		for cur > o {
			cur--
			z.add(pfn+1<<cur, cur)
		}
		return pfn
	}
	return 0
}

// put is __free_one_page: free a block and merge it with its buddy while
// the buddy is free at the same order.
func (z *zone) put(pfn uint32, o int) {
	n := uint32(len(z.freeOrder))
	for o < z.maxOrder {
		buddy := pfn ^ 1<<o
		if buddy >= n || int(z.freeOrder[buddy]) != o {
			break
		}
		z.remove(buddy)
		pfn &= buddy
		o++
	}
	z.add(pfn, o)
}

// FreePages returns the number of free pages, per-CPU lists included. It
// is exact when no allocation or free runs; while they run, a page freed
// to one list while the count passes from another may be missed or
// counted twice. Pages move between the zone and the lists only under
// the zone lock, so those moves are never seen half done.
func (m *Memmap) FreePages() int64 {
	m.zone.mu.Lock()
	n := m.zone.nrFree + m.pcpFree()
	m.zone.mu.Unlock()
	return n
}

// FreeBlocks returns the number of free blocks of each order in the
// zone (/proc/buddyinfo), per-CPU lists excluded; the orders above
// MAX_PAGE_ORDER have none.
func (m *Memmap) FreeBlocks() [orderLimit + 1]int {
	var out [orderLimit + 1]int
	m.zone.mu.Lock()
	for o := range out {
		out[o] = len(m.zone.free[o])
	}
	m.zone.mu.Unlock()
	return out
}

// Faults makes allocations fail on request (fail_page_alloc).
type Faults struct {
	mu       sync.Mutex
	failNext int
	prob     float64
	minOrder uint
	rng      *rand.Rand
	injected int64
}

// NewFaults returns a Faults that injects nothing until told to.
func NewFaults(seed uint64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, ^seed))}
}

// FailNext makes the next n allocations of at least the minimum order
// fail.
func (f *Faults) FailNext(n int) { f.mu.Lock(); f.failNext = n; f.mu.Unlock() }

// SetProbability makes each allocation of at least the minimum order fail
// with probability p.
func (f *Faults) SetProbability(p float64) { f.mu.Lock(); f.prob = p; f.mu.Unlock() }

// SetMinOrder makes only allocations of order o or more eligible.
func (f *Faults) SetMinOrder(o uint) { f.mu.Lock(); f.minOrder = o; f.mu.Unlock() }

// Injected returns the number of failures injected.
func (f *Faults) Injected() int64 { f.mu.Lock(); defer f.mu.Unlock(); return f.injected }

func (f *Faults) fail(order uint) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if order < f.minOrder {
		return false
	}
	if f.failNext > 0 {
		f.failNext--
		f.injected++
		return true
	}
	if f.prob > 0 && f.rng.Float64() < f.prob {
		f.injected++
		return true
	}
	return false
}

// SetFaults makes the memmap's allocations fail as f says; nil stops it.
func (m *Memmap) SetFaults(f *Faults) { m.faults.Store(f) }

// allocPages is __alloc_pages without the folio preparation: a block of
// 1<<order free pages, or 0.
func (m *Memmap) allocPages(order uint) uint32 {
	if f := m.faults.Load(); f != nil && f.fail(order) {
		return 0
	}
	if order == 0 {
		return m.allocPCP()
	}
	m.zone.mu.Lock()
	pfn := m.zone.take(int(order))
	m.zone.mu.Unlock()
	if pfn == 0 {
		// Free pages may sit on the per-CPU lists, unmerged: drain them
		// and try again (drain_all_pages in the slow path).
		m.DrainPCP()
		m.zone.mu.Lock()
		pfn = m.zone.take(int(order))
		m.zone.mu.Unlock()
	}
	return pfn
}

// Alloc allocates a folio of 1<<order pages with one reference
// (folio_alloc). Its mapping, index and flags are clear.
func (m *Memmap) Alloc(order uint) (Folio, error) {
	if order > uint(m.zone.maxOrder) {
		return Folio{}, fmt.Errorf("folio: Alloc(order %d): the largest order is %d", order, m.zone.maxOrder)
	}
	pfn := m.allocPages(order)
	if pfn == 0 {
		return Folio{}, ErrNoMemory
	}
	m.prepNewPages(pfn, order)
	return Folio{m, pfn}, nil
}

// prepNewPages is check_new_page + prep_new_page + prep_compound_page:
// check that the pages are really free, reset them, make the block a
// folio and give it its first reference last.
//
// Per tail page it does what prep_compound_tail does, setting the head
// (one store of the flags word, which also clears the poison flag) and
// the mapping; a tail's index and private were not poisoned at free, so
// they are stored only when a page freed as a head left poison there.
func (m *Memmap) prepNewPages(pfn uint32, order uint) {
	for i := pfn; i < pfn+1<<order; i++ {
		p := &m.pages[i]
		if p.refcount.Load() != 0 || p.mapcount.Load() != -1 {
			m.badPage(i, "check_new_page: allocated page in use")
		}
		if i == pfn {
			continue
		}
		p.flags.Store(withCompound(0, pfn|tailBit))
		p.mapping.Store(0)
		clearWord(&p.index)
		clearWord(&p.private)
	}
	head := &m.pages[pfn]
	head.mapping.Store(0)
	clearWord(&head.index)
	clearWord(&head.private)
	var fl uint64
	if order > 0 {
		fl = bit(PGHead)
	}
	head.flags.Store(withCompound(fl, uint32(order)))
	head.refcount.Store(1)
}

// clearWord stores 0 in w unless it holds 0 already: a load is a plain
// move, an atomic store a locked exchange.
func clearWord(w *atomic.Uint64) {
	if w.Load() != 0 {
		w.Store(0)
	}
}

// freePagesPrepare is free_pages_prepare: dissolve the folio, check each
// page as the kernel does at free, and poison it. A bad page is reported
// and the block is not freed, as the kernel keeps bad pages out of the
// allocator.
//
// Every page gets the poison flag (with its compound word cleared, in
// the same store: free_tail_page_prepare's clear_compound_head) and a
// poisoned mapping; the head's index and private are poisoned too, the
// private word of an order-0 page by the link that puts it on a
// per-CPU list.
func (m *Memmap) freePagesPrepare(pfn uint32, order uint) bool {
	ok := true
	for i := pfn; i < pfn+1<<order; i++ {
		p := &m.pages[i]
		if i != pfn && compoundOf(p.flags.Load()) != pfn|tailBit {
			m.badPage(i, "corrupted mapping in compound page")
			ok = false
		}
		if reason := badFreeReason(p); reason != "" {
			m.badPage(i, reason)
			ok = false
		}
	}
	if !ok {
		return false
	}
	for i := pfn + 1; i < pfn+1<<order; i++ {
		p := &m.pages[i]
		p.mapping.Store(Poison)
		p.flags.Store(bit(PGPoison))
	}
	head := &m.pages[pfn]
	head.mapping.Store(Poison)
	head.index.Store(Poison)
	if order > 0 {
		head.private.Store(Poison)
	}
	head.flags.Store(bit(PGPoison))
	return true
}

// badFreeReason is free_page_is_bad_report's list of reasons.
func badFreeReason(p *page) string {
	switch {
	case p.mapcount.Load() != -1:
		return "nonzero mapcount"
	case p.mapping.Load() != 0:
		return "non-NULL mapping"
	case p.refcount.Load() != 0:
		return "nonzero _refcount"
	case p.flags.Load()&checkAtFree != 0:
		return "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
	}
	return ""
}

// freePages is __free_pages_ok / free_unref_page: free a block whose
// refcount has reached zero.
func (m *Memmap) freePages(pfn uint32, order uint) {
	if !m.freePagesPrepare(pfn, order) {
		return
	}
	if order == 0 {
		m.freePCP(pfn)
		return
	}
	m.zone.mu.Lock()
	m.zone.put(pfn, int(order))
	m.zone.mu.Unlock()
}

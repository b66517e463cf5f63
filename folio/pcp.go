// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"runtime"
	"sync/atomic"

	"github.com/xabench/xabench/internal/cpu"
)

// pcpList is a per-CPU list of free order-0 pages (struct per_cpu_pages)
// without a lock: a stack of pages linked through their private words,
// whose head word is changed only by compare-and-swap. Order-0
// allocations and frees pop and push on the list of the caller's P; the
// list goes to the zone in batches, under the zone lock (rmqueue_bulk,
// free_pcppages_bulk).
//
// A goroutine can move to another P at any moment, so any goroutine may
// touch any list: the compare-and-swap is what makes that safe, and the
// P only chooses a list for locality. The head word packs the pfn of the
// top page, the number of pages on the list and a tag that every change
// advances:
//
//	bits  0..29  top pfn (0: empty; a memmap holds at most 1<<30 pages)
//	bits 30..39  count
//	bits 40..63  tag
//
// The tag is what makes a pop safe: a pop reads the top page's link and
// then swaps the head for it, and without the tag other goroutines could
// pop that page and the next and push back another and the first in
// between, leaving top and count as the pop read them and the link it
// installs stale (ABA): the second page, now in use, would be handed out
// again. The tag wraps after 1<<24 changes; a pop would have to stall
// across a multiple of that and find the same top and count. The count
// in the same word is exact, so FreePages needs no counter of its own
// and the high watermark costs no atomic add.
type pcpList struct {
	head atomic.Uint64
	// tag is what each change adds to the head word: pcpTagOne. Only the
	// torture test's tag-less variant sets it to 0.
	tag uint64
	// yield makes a pop yield between reading the link and the swap. Only
	// the torture test sets it, to widen the ABA window.
	yield bool
	_     [cpu.CacheLineSize - 17]byte
}

const (
	pcpBatch = 63
	pcpHigh  = 4 * pcpBatch

	pcpPFNBits    = 30
	pcpPFNMask    = 1<<pcpPFNBits - 1
	pcpCountShift = pcpPFNBits
	pcpCountBits  = 10
	pcpCountMask  = (1<<pcpCountBits - 1) << pcpCountShift
	pcpCountOne   = 1 << pcpCountShift
	pcpCountMax   = 1<<pcpCountBits - 1
	pcpTagOne     = 1 << (pcpPFNBits + pcpCountBits)

	// pcpLink marks the private word of a page on a per-CPU list: the
	// next page's pfn is in its low bits. Like Poison, it reads as a
	// poisoned pointer.
	pcpLink uint64 = 0xdead000200000000
)

func (m *Memmap) initPCP() {
	m.pcp = make([]pcpList, runtime.GOMAXPROCS(0))
	for i := range m.pcp {
		m.pcp[i].tag = pcpTagOne
	}
}

func pcpCount(head uint64) int { return int(head & pcpCountMask >> pcpCountShift) }

// pcpNext returns the pfn that a page on a per-CPU list links to. The
// page may have left the list since its pfn was read: the link is then
// anything, and the swap that would install it fails.
func (m *Memmap) pcpNext(pfn uint32) uint32 {
	return uint32(m.pages[pfn].private.Load() & pcpPFNMask)
}

// pcpPop takes the top page of l, or returns 0 if l is empty
// (__rmqueue_pcplist).
func (m *Memmap) pcpPop(l *pcpList) uint32 {
	for {
		old := l.head.Load()
		pfn := uint32(old & pcpPFNMask)
		if pfn == 0 {
			return 0
		}
		next := uint64(m.pcpNext(pfn))
		if l.yield {
			runtime.Gosched()
		}
		if l.head.CompareAndSwap(old, old&^pcpPFNMask+next-pcpCountOne+l.tag) {
			return pfn
		}
	}
}

// pcpPush puts pfn on top of l (free_unref_page_commit's list_add) and
// returns the list's count after it, or 0 if l is full, which the
// caller must handle.
func (m *Memmap) pcpPush(l *pcpList, pfn uint32) int {
	link := &m.pages[pfn].private
	for {
		old := l.head.Load()
		if old&pcpCountMask == pcpCountMask {
			return 0
		}
		link.Store(pcpLink | old&pcpPFNMask)
		new := old&^pcpPFNMask + uint64(pfn) + pcpCountOne + l.tag
		if l.head.CompareAndSwap(old, new) {
			return pcpCount(new)
		}
	}
}

// pcpPushChainLocked puts a chain of n pages, first linked through to
// last, on top of l. The zone lock is held: if l cannot count them, they
// go to the zone instead.
func (m *Memmap) pcpPushChainLocked(l *pcpList, first, last uint32, n int) {
	link := &m.pages[last].private
	for {
		old := l.head.Load()
		if pcpCount(old)+n > pcpCountMax {
			for range n {
				next := m.pcpNext(first)
				m.zone.put(first, 0)
				first = next
			}
			return
		}
		link.Store(pcpLink | old&pcpPFNMask)
		if l.head.CompareAndSwap(old, old&^pcpPFNMask+uint64(first)+uint64(n)*pcpCountOne+l.tag) {
			return
		}
	}
}

// detach empties l with one swap and returns the head word it had:
// the pages of the chain it names now belong to the caller.
func (l *pcpList) detach() uint64 {
	for {
		old := l.head.Load()
		if l.head.CompareAndSwap(old, old&^(pcpPFNMask|pcpCountMask)+l.tag) {
			return old
		}
	}
}

// allocPCP allocates an order-0 page from the caller's per-CPU list.
func (m *Memmap) allocPCP() uint32 {
	l := &m.pcp[cpu.ID()%len(m.pcp)]
	if pfn := m.pcpPop(l); pfn != 0 {
		return pfn
	}
	return m.pcpRefill(l)
}

// pcpRefill is rmqueue_bulk: with the zone lock held, take a batch of
// order-0 pages from the zone, return the first and push the rest on l
// as one chain. With the zone empty it steals from the other lists.
// Pages move between the zone and the lists only under the zone lock,
// so whoever holds it sees every free page in one or the other.
func (m *Memmap) pcpRefill(l *pcpList) uint32 {
	z := &m.zone
	z.mu.Lock()
	defer z.mu.Unlock()
	pfn := z.take(0)
	if pfn == 0 {
		return m.stealPCPLocked()
	}
	var first, last uint32
	n := 0
	for n < pcpBatch-1 {
		p := z.take(0)
		if p == 0 {
			break
		}
		if n == 0 {
			first = p
		} else {
			m.pages[last].private.Store(pcpLink | uint64(p))
		}
		last = p
		n++
	}
	if n > 0 {
		m.pcpPushChainLocked(l, first, last, n)
	}
	return pfn
}

// stealPCPLocked takes a page from any per-CPU list when the zone is
// empty. The zone lock is held.
func (m *Memmap) stealPCPLocked() uint32 {
	for i := range m.pcp {
		if pfn := m.pcpPop(&m.pcp[i]); pfn != 0 {
			return pfn
		}
	}
	return 0
}

// freePCP frees an order-0 page to the caller's per-CPU list
// (free_unref_page), and a batch of the list's oldest pages to the zone
// when the list holds more than pcpHigh.
func (m *Memmap) freePCP(pfn uint32) {
	l := &m.pcp[cpu.ID()%len(m.pcp)]
	n := m.pcpPush(l, pfn)
	if n > pcpHigh || n == 0 {
		m.pcpFreeBulk(l, pfn, n == 0)
	}
}

// pcpFreeBulk is free_pcppages_bulk: with the zone lock held, take the
// whole list, give its pcpBatch oldest pages to the zone, and put the
// rest back as one chain. If pfn did not fit on the list (full), it goes
// to the zone as well.
func (m *Memmap) pcpFreeBulk(l *pcpList, pfn uint32, full bool) {
	z := &m.zone
	z.mu.Lock()
	defer z.mu.Unlock()
	if full {
		z.put(pfn, 0)
	}
	old := l.detach()
	n := pcpCount(old)
	keep := n
	if n > pcpHigh {
		keep = n - pcpBatch
	}
	first := uint32(old & pcpPFNMask)
	var last uint32
	p := first
	for range keep {
		last = p
		p = m.pcpNext(p)
	}
	for range n - keep {
		next := m.pcpNext(p)
		z.put(p, 0)
		p = next
	}
	if keep > 0 {
		m.pcpPushChainLocked(l, first, last, keep)
	}
}

// DrainPCP returns every page of the per-CPU lists to the zone, where
// they merge with their buddies (drain_all_pages).
func (m *Memmap) DrainPCP() {
	z := &m.zone
	for i := range m.pcp {
		z.mu.Lock()
		old := m.pcp[i].detach()
		p := uint32(old & pcpPFNMask)
		for range pcpCount(old) {
			next := m.pcpNext(p)
			z.put(p, 0)
			p = next
		}
		z.mu.Unlock()
	}
}

// pcpFree returns the number of pages on the per-CPU lists.
func (m *Memmap) pcpFree() int64 {
	var n int64
	for i := range m.pcp {
		n += int64(pcpCount(m.pcp[i].head.Load()))
	}
	return n
}

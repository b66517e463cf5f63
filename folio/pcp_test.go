// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "testing"

// TestPCPHeadWord checks the packing of a list's head word: the top pfn,
// an exact count, and a tag that every change advances.
func TestPCPHeadWord(t *testing.T) {
	m := NewMemmap(1 << 12)
	onOneCPU(func() {
		l := &m.pcp[0]
		var held []Folio
		for range 10 {
			held = append(held, mustAlloc(t, m, 0)) // the first refills the list
		}
		h0 := l.head.Load()
		if n := pcpCount(h0); n != pcpBatch-10 {
			t.Fatalf("after a refill and 10 allocations: count %d, want %d", n, pcpBatch-10)
		}
		f := held[9]
		f.Put()
		h1 := l.head.Load()
		switch {
		case uint32(h1&pcpPFNMask) != f.PFN():
			t.Fatalf("top %#x after freeing %#x", h1&pcpPFNMask, f.PFN())
		case pcpCount(h1) != pcpCount(h0)+1:
			t.Fatalf("count %d after a free, want %d", pcpCount(h1), pcpCount(h0)+1)
		case h1>>(pcpPFNBits+pcpCountBits) != h0>>(pcpPFNBits+pcpCountBits)+1:
			t.Fatalf("tag %#x after a free, want %#x", h1>>(pcpPFNBits+pcpCountBits), h0>>(pcpPFNBits+pcpCountBits)+1)
		case m.pages[f.PFN()].private.Load() != pcpLink|h0&pcpPFNMask:
			t.Fatalf("link %#x, want %#x", m.pages[f.PFN()].private.Load(), pcpLink|h0&pcpPFNMask)
		}
		if g := mustAlloc(t, m, 0); g != f || l.head.Load() != h0+2*pcpTagOne {
			t.Fatalf("pop: got %#x, head %#x; want %#x, %#x", g.PFN(), l.head.Load(), f.PFN(), h0+2*pcpTagOne)
		}
		for _, f := range held {
			f.Put()
		}
	})
	m.DrainPCP()
	if m.FreePages() != 1<<12-1 {
		t.Fatalf("FreePages %d", m.FreePages())
	}
	noBadPages(t, m)
}

// TestPCPFull: a list whose count field is full takes no more pages; a
// free then goes to the zone, and so does a chain that would not fit.
// Only more concurrent frees than the field holds could fill it, so the
// test fills it by hand.
func TestPCPFull(t *testing.T) {
	m := NewMemmap(1 << 12)
	blocks := m.FreeBlocks()
	free := m.FreePages()
	onOneCPU(func() {
		l := &m.pcp[0]
		var held []Folio
		for range pcpCountMax + 3 {
			held = append(held, mustAlloc(t, m, 0))
		}
		m.DrainPCP()
		for _, f := range held[:pcpCountMax] {
			f.p().refcount.Store(0)
			if !m.freePagesPrepare(f.PFN(), 0) {
				t.Fatal("free_pages_prepare refused a clean page")
			}
			if n := m.pcpPush(l, f.PFN()); n == 0 {
				t.Fatalf("push refused with count %d", pcpCount(l.head.Load()))
			}
		}
		if n := pcpCount(l.head.Load()); n != pcpCountMax {
			t.Fatalf("count %d, want %d", n, pcpCountMax)
		}
		// A chain that does not fit goes to the zone.
		a, b := held[pcpCountMax+1], held[pcpCountMax+2]
		for _, f := range []Folio{a, b} {
			f.p().refcount.Store(0)
			m.freePagesPrepare(f.PFN(), 0)
		}
		m.pages[a.PFN()].private.Store(pcpLink | uint64(b.PFN()))
		m.zone.mu.Lock()
		m.pcpPushChainLocked(l, a.PFN(), b.PFN(), 2)
		m.zone.mu.Unlock()
		if n := pcpCount(l.head.Load()); n != pcpCountMax {
			t.Fatalf("count %d after a chain that does not fit, want %d", n, pcpCountMax)
		}
		if got, want := m.FreePages(), free-1; got != want {
			t.Fatalf("FreePages %d, want %d", got, want)
		}
		held[pcpCountMax].Put() // to the zone, and a batch with it
		if n := pcpCount(l.head.Load()); n != pcpCountMax-pcpBatch {
			t.Fatalf("count %d after a free to a full list, want %d", n, pcpCountMax-pcpBatch)
		}
	})
	if got := m.FreePages(); got != free {
		t.Fatalf("FreePages %d, want %d", got, free)
	}
	m.DrainPCP()
	if got := m.FreeBlocks(); got != blocks {
		t.Fatalf("FreeBlocks %v, want %v", got, blocks)
	}
	noBadPages(t, m)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNewMemmap checks the initial state: page frame 0 is reserved,
// every other page is free, poisoned and in a maximal buddy block.
func TestNewMemmap(t *testing.T) {
	for _, n := range []int{2, 3, 64, 1000, 1 << 12, 1<<12 + 77} {
		m := NewMemmap(n)
		if m.Pages() != n {
			t.Fatalf("Pages() = %d, want %d", m.Pages(), n)
		}
		if got := m.FreePages(); got != int64(n-1) {
			t.Fatalf("memmap of %d: FreePages() = %d, want %d", n, got, n-1)
		}
		var sum int64
		for o, c := range m.FreeBlocks() {
			sum += int64(c) << o
		}
		if sum != int64(n-1) {
			t.Fatalf("memmap of %d: FreeBlocks cover %d pages, want %d", n, sum, n-1)
		}
		for pfn := 1; pfn < n; pfn++ {
			f := Folio{m, uint32(pfn)}
			if !f.Poisoned() || f.Mapping() != Poison || f.RefCount() != 0 || f.MapCount() != 0 {
				t.Fatalf("free page %d: %v", pfn, f)
			}
		}
	}
	m := NewMemmap(0)
	if m.Pages() != DefaultPages {
		t.Fatalf("NewMemmap(0) has %d pages, want %d", m.Pages(), DefaultPages)
	}
	if b := m.FreeBlocks(); b[orderMax] != DefaultPages>>orderMax-1 {
		t.Fatalf("default memmap: %d free order-%d blocks, want %d", b[orderMax], orderMax, DefaultPages>>orderMax-1)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("NewMemmap(1) did not panic")
			}
		}()
		NewMemmap(1)
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Folio(0) did not panic: page frame 0 is reserved")
			}
		}()
		m.Folio(0)
	}()
}

// TestAllocEveryOrder allocates and frees a folio of each order 0..10
// and checks what a fresh folio and a freed one look like.
func TestAllocEveryOrder(t *testing.T) {
	m := NewMemmap(1 << 13)
	free := m.FreePages()
	for o := uint(0); o <= orderMax; o++ {
		f := mustAlloc(t, m, o)
		nr := uint32(1) << o
		switch {
		case f.Order() != o || f.NrPages() != uint64(nr):
			t.Fatalf("Alloc(%d): order %d, %d pages", o, f.Order(), f.NrPages())
		case f.PFN()&(nr-1) != 0:
			t.Fatalf("Alloc(%d): pfn %#x not aligned", o, f.PFN())
		case f.RefCount() != 1 || f.MapCount() != 0 || f.Mapping() != 0 || f.Index() != 0 || f.Private() != 0:
			t.Fatalf("Alloc(%d): not a clean folio: %v", o, f)
		case f.Poisoned() || f.Test(PGHead) != (o > 0) || f.Flags()&^bit(PGHead) != 0:
			t.Fatalf("Alloc(%d): flags %s", o, FlagsString(f.Flags()))
		case f.Memmap() != m || f.IsNil() || m.FromEntry(f.Entry()) != f:
			t.Fatalf("Alloc(%d): entry round trip failed", o)
		}
		for i := uint32(0); i < nr; i++ {
			if g := m.PageFolio(f.PFN() + i); g != f {
				t.Fatalf("Alloc(%d): page %#x belongs to folio %#x, want %#x", o, f.PFN()+i, g.PFN(), f.PFN())
			}
		}
		if got := m.FreePages(); got != free-int64(nr) {
			t.Fatalf("Alloc(%d): FreePages %d, want %d", o, got, free-int64(nr))
		}
		f.Put()
		if got := m.FreePages(); got != free {
			t.Fatalf("free order %d: FreePages %d, want %d", o, got, free)
		}
		for i := uint32(0); i < nr; i++ {
			p := Folio{m, f.PFN() + i}
			if !p.Poisoned() || p.Mapping() != Poison || p.RefCount() != 0 || m.PageFolio(p.PFN()) != p {
				t.Fatalf("freed order %d: page %#x not poisoned and free: %v", o, p.PFN(), p)
			}
		}
	}
	if _, err := m.Alloc(orderMax + 1); err == nil || errors.Is(err, ErrNoMemory) {
		t.Fatalf("Alloc(%d): err %v, want an invalid-order error", orderMax+1, err)
	}
	var z Folio
	if !z.IsNil() {
		t.Fatal("zero Folio is not nil")
	}
	noBadPages(t, m)
}

// TestBuddyMerge frees everything in a random order and checks that the
// buddies merge back into the blocks the memmap started with.
func TestBuddyMerge(t *testing.T) {
	m := NewMemmap(1<<13 + 100)
	blocks := m.FreeBlocks()
	free := m.FreePages()
	rng := rand.New(rand.NewPCG(1, 2))
	var held []Folio
	for range 3000 {
		o := uint(rng.IntN(4))
		if rng.IntN(50) == 0 {
			o = uint(4 + rng.IntN(7))
		}
		f, err := m.Alloc(o)
		if err != nil {
			continue
		}
		held = append(held, f)
		// Free some along the way, so that the free lists are mixed.
		if rng.IntN(3) == 0 {
			i := rng.IntN(len(held))
			held[i].Put()
			held[i] = held[len(held)-1]
			held = held[:len(held)-1]
		}
	}
	if m.FreeBlocks()[orderMax] >= blocks[orderMax] {
		t.Fatalf("no order-%d block was split: %v", orderMax, m.FreeBlocks())
	}
	rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
	for _, f := range held {
		f.Put()
	}
	m.DrainPCP()
	if got := m.FreeBlocks(); got != blocks {
		t.Fatalf("after freeing everything: FreeBlocks %v, want %v", got, blocks)
	}
	if got := m.FreePages(); got != free {
		t.Fatalf("FreePages %d, want %d", got, free)
	}
	noBadPages(t, m)
}

// TestBuddySplitAndMerge takes one order-10 block apart into single
// pages and puts it back together.
func TestBuddySplitAndMerge(t *testing.T) {
	m := NewMemmap(2 << orderMax) // pfn 0 reserved: one order-10 block, 1024..2047
	blocks := m.FreeBlocks()
	if blocks[orderMax] != 1 {
		t.Fatalf("FreeBlocks %v: want one order-%d block", blocks, orderMax)
	}
	big := mustAlloc(t, m, orderMax)
	big.Put()
	var pages []Folio
	for range 1 << orderMax {
		pages = append(pages, mustAlloc(t, m, 0))
	}
	seen := map[uint32]bool{}
	for _, f := range pages {
		seen[f.PFN()] = true
	}
	if len(seen) != 1<<orderMax {
		t.Fatalf("%d distinct pages out of %d", len(seen), 1<<orderMax)
	}
	for _, f := range pages {
		f.Put()
	}
	m.DrainPCP()
	if got := m.FreeBlocks(); got != blocks {
		t.Fatalf("FreeBlocks %v, want %v", got, blocks)
	}
	again := mustAlloc(t, m, orderMax)
	if again.PFN() != big.PFN() {
		t.Fatalf("order-%d block at %#x, want %#x", orderMax, again.PFN(), big.PFN())
	}
	again.Put()
	noBadPages(t, m)
}

// TestExhaustion runs a small memmap out of memory at each order.
func TestExhaustion(t *testing.T) {
	m := NewMemmap(64) // pages 1..63: blocks of order 0, 1, 2, 3, 4, 5
	if _, err := m.Alloc(6); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("Alloc(6) on 63 pages: %v, want ErrNoMemory", err)
	}
	var held []Folio
	for {
		f, err := m.Alloc(0)
		if err != nil {
			if !errors.Is(err, ErrNoMemory) || !f.IsNil() {
				t.Fatalf("Alloc(0) failed with %v, %v", err, f)
			}
			break
		}
		held = append(held, f)
	}
	if len(held) != 63 {
		t.Fatalf("allocated %d order-0 pages out of 63", len(held))
	}
	if m.FreePages() != 0 {
		t.Fatalf("FreePages %d when exhausted", m.FreePages())
	}
	for o := uint(0); o <= orderMax; o++ {
		if _, err := m.Alloc(o); !errors.Is(err, ErrNoMemory) {
			t.Fatalf("Alloc(%d) when exhausted: %v", o, err)
		}
	}
	for _, f := range held {
		f.Put()
	}
	m.DrainPCP()
	if f, err := m.Alloc(5); err != nil || f.PFN() != 32 {
		t.Fatalf("Alloc(5) after freeing all: %v, %v", f, err)
	} else {
		f.Put()
	}
	noBadPages(t, m)
}

// TestAllocDrainsPCPOnFailure: pages parked on the per-CPU lists are
// free memory. The kernel's slow path drains them (drain_all_pages in
// __alloc_pages_direct_reclaim) and retries before it fails, so a large
// allocation must not fail while enough free pages sit on those lists.
func TestAllocDrainsPCPOnFailure(t *testing.T) {
	m := NewMemmap(64)
	var held []Folio
	for {
		f, err := m.Alloc(0)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	for _, f := range held {
		f.Put()
	}
	if got := m.FreePages(); got != 63 {
		t.Fatalf("FreePages %d, want 63", got)
	}
	f, err := m.Alloc(5)
	if err != nil {
		t.Errorf("Alloc(5) with 63 free pages (all on the per-CPU lists): %v; "+
			"the allocator should drain the per-CPU lists and retry before failing", err)
	} else {
		f.Put()
	}
	m.DrainPCP()
	noBadPages(t, m)
}

// TestFaults injects allocation failures.
func TestFaults(t *testing.T) {
	m := NewMemmap(1 << 12)
	free := m.FreePages()
	fl := NewFaults(7)
	m.SetFaults(fl)

	fl.FailNext(2)
	for i := range 2 {
		if _, err := m.Alloc(uint(i)); !errors.Is(err, ErrNoMemory) {
			t.Fatalf("FailNext(2): allocation %d: %v", i, err)
		}
	}
	mustAlloc(t, m, 0).Put()
	if fl.Injected() != 2 {
		t.Fatalf("Injected %d, want 2", fl.Injected())
	}

	// Only orders at or above the minimum are eligible, and they do not
	// use up FailNext.
	fl.SetMinOrder(3)
	fl.FailNext(1)
	mustAlloc(t, m, 0).Put()
	mustAlloc(t, m, 2).Put()
	if _, err := m.Alloc(3); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("min order 3: Alloc(3): %v", err)
	}
	mustAlloc(t, m, 3).Put()
	fl.SetProbability(1)
	mustAlloc(t, m, 1).Put()
	if _, err := m.Alloc(9); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("probability 1: Alloc(9): %v", err)
	}
	fl.SetMinOrder(0)

	fl.SetProbability(0.5)
	failed := 0
	for range 2000 {
		f, err := m.Alloc(0)
		if err != nil {
			failed++
			continue
		}
		f.Put()
	}
	if failed < 800 || failed > 1200 {
		t.Fatalf("probability 0.5: %d of 2000 failed", failed)
	}
	if want := int64(2 + 1 + 1 + failed); fl.Injected() != want {
		t.Fatalf("Injected %d, want %d", fl.Injected(), want)
	}
	fl.SetProbability(0)
	mustAlloc(t, m, 4).Put()

	fl.SetProbability(1)
	m.SetFaults(nil)
	mustAlloc(t, m, 4).Put()
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

// TestBadFree frees folios in states free_pages_prepare refuses: each is
// reported as bad_page, counted, and kept out of the allocator.
func TestBadFree(t *testing.T) {
	var hooked []string
	m := NewMemmap(1<<12, OnBadPage(func(r string) { hooked = append(hooked, r) }))
	mapping := NewMappingID()
	cases := []struct {
		name   string
		order  uint
		spoil  func(f Folio)
		pfn    func(f Folio) uint32 // the page reported
		reason string
	}{
		{"mapping", 0, func(f Folio) { f.SetMapping(mapping) }, nil, "non-NULL mapping"},
		{"movable mapping", 0, func(f Folio) { f.SetMapping(MovableOps) }, nil, "non-NULL mapping"},
		{"mapcount", 0, func(f Folio) { f.p().mapcount.Store(0) }, nil, "nonzero mapcount"},
		{"locked", 0, func(f Folio) { f.Set(PGLocked) }, nil, "PAGE_FLAGS_CHECK_AT_FREE"},
		{"writeback", 2, func(f Folio) { f.Set(PGWriteback) }, nil, "PAGE_FLAGS_CHECK_AT_FREE"},
		{"private", 0, func(f Folio) { f.Set(PGPrivate) }, nil, "PAGE_FLAGS_CHECK_AT_FREE"},
		{"tail lru", 2, func(f Folio) { f.m.pages[f.pfn+1].flags.Or(bit(PGLRU)) },
			func(f Folio) uint32 { return f.pfn + 1 }, "PAGE_FLAGS_CHECK_AT_FREE"},
		{"tail mapping", 3, func(f Folio) { f.m.pages[f.pfn+5].mapping.Store(mapping) },
			func(f Folio) uint32 { return f.pfn + 5 }, "non-NULL mapping"},
		{"tail refcount", 1, func(f Folio) { f.m.pages[f.pfn+1].refcount.Store(1) },
			func(f Folio) uint32 { return f.pfn + 1 }, "nonzero _refcount"},
		{"tail compound", 2, func(f Folio) { f.m.pages[f.pfn+3].setCompound(0) },
			func(f Folio) uint32 { return f.pfn + 3 }, "corrupted mapping in compound page"},
	}
	var want int64
	for _, c := range cases {
		f := mustAlloc(t, m, c.order)
		free := m.FreePages()
		c.spoil(f)
		f.Put()
		want++
		n, reports := m.BadPages()
		if n != want {
			t.Fatalf("%s: %d bad_page reports, want %d", c.name, n, want)
		}
		r := reports[len(reports)-1]
		pfn := f.PFN()
		if c.pfn != nil {
			pfn = c.pfn(f)
		}
		if !strings.HasPrefix(r, "BUG: Bad page state pfn:") || !strings.Contains(r, "page dumped because: "+c.reason) ||
			!strings.Contains(r, m.DumpPage(pfn)) {
			t.Fatalf("%s: report %q, want the reason %q and the dump of page %#x", c.name, r, c.reason, pfn)
		}
		if hooked[len(hooked)-1] != r {
			t.Fatalf("%s: OnBadPage got %q", c.name, hooked[len(hooked)-1])
		}
		// Kept out of the allocator: not freed, not poisoned.
		if got := m.FreePages(); got != free {
			t.Fatalf("%s: FreePages %d after a bad free, want %d", c.name, got, free)
		}
		if f.Poisoned() {
			t.Fatalf("%s: a bad page was poisoned as if freed: %v", c.name, f)
		}
	}
	// None of the bad pages is handed out again.
	m.DrainPCP()
	bad := map[uint32]bool{}
	for pfn := 1; pfn < m.Pages(); pfn++ {
		if !(Folio{m, uint32(pfn)}).Poisoned() {
			bad[uint32(pfn)] = true
		}
	}
	for {
		f, err := m.Alloc(0)
		if err != nil {
			break
		}
		if bad[f.PFN()] {
			t.Fatalf("bad page %#x handed out again", f.PFN())
		}
	}
	if n, _ := m.BadPages(); n != want {
		t.Fatalf("%d bad_page reports after allocating everything, want %d", n, want)
	}
}

// TestPutClearsLRU: the last put of a folio on the LRU list is not a bad
// free: __page_cache_release takes it off the list first.
func TestPutClearsLRU(t *testing.T) {
	m := NewMemmap(1 << 10)
	free := m.FreePages()
	f := mustAlloc(t, m, 2)
	m.LRU().Add(f)
	f.Put()
	if f.Test(PGLRU) || !f.Poisoned() || m.FreePages() != free {
		t.Fatalf("folio on the LRU not freed cleanly: %v", f)
	}
	noBadPages(t, m)
}

// TestReuse: a freed block is the next one handed out (LIFO), the
// property that makes a stale page-cache entry name a foreign page.
func TestReuse(t *testing.T) {
	m := NewMemmap(1 << 12)
	onOneCPU(func() {
		for range 3 {
			mustAlloc(t, m, 0) // leaked on purpose: noise on the lists
		}
		f := mustAlloc(t, m, 0)
		g := mustAlloc(t, m, 0)
		f.Put()
		h := mustAlloc(t, m, 0)
		if h.PFN() != f.PFN() {
			t.Fatalf("order 0: freed %#x, next allocation %#x", f.PFN(), h.PFN())
		}
		g.Put()
		f.Put() // h
		if a, b := mustAlloc(t, m, 0), mustAlloc(t, m, 0); a.PFN() != f.PFN() || b.PFN() != g.PFN() {
			t.Fatalf("order 0: freed %#x then %#x, got %#x then %#x", g.PFN(), f.PFN(), a.PFN(), b.PFN())
		} else {
			a.Put()
			b.Put()
		}
	})
	for o := uint(1); o <= 9; o++ {
		// Hold the buddy, so that the freed block cannot merge.
		a := mustAlloc(t, m, o)
		b := mustAlloc(t, m, o)
		a.Put()
		c := mustAlloc(t, m, o)
		if c.PFN() != a.PFN() {
			t.Fatalf("order %d: freed %#x, next allocation %#x", o, a.PFN(), c.PFN())
		}
		// A page-cache reader holding the old pfn now finds a folio
		// that is not the one it looked up.
		c.SetMapping(MovableOps)
		if stale := m.Folio(a.PFN()); !stale.Movable() || stale.Poisoned() {
			t.Fatalf("order %d: stale pfn does not show the new owner: %v", o, stale)
		}
		c.SetMapping(0)
		c.Put()
		b.Put()
	}
	if n, _ := m.BadPages(); n != 0 {
		t.Fatal("bad pages")
	}
}

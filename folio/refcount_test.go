// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

func TestRefcount(t *testing.T) {
	m := NewMemmap(1 << 10)
	free := m.FreePages()
	f := mustAlloc(t, m, 2)
	f.Get()
	if f.RefCount() != 2 {
		t.Fatalf("after Get: count %d", f.RefCount())
	}
	if !f.TryGet() || f.RefCount() != 3 {
		t.Fatalf("TryGet on a live folio: count %d", f.RefCount())
	}
	f.RefAdd(4)
	f.PutRefs(4)
	if f.RefCount() != 3 {
		t.Fatalf("RefAdd(4)+PutRefs(4): count %d", f.RefCount())
	}
	// Freeze only at the exact count.
	if f.RefFreeze(2) || f.RefFreeze(4) || f.RefCount() != 3 {
		t.Fatalf("RefFreeze at the wrong count succeeded: count %d", f.RefCount())
	}
	if !f.RefFreeze(3) || f.RefCount() != 0 {
		t.Fatalf("RefFreeze(3): count %d", f.RefCount())
	}
	if f.TryGet() || f.RefCount() != 0 {
		t.Fatalf("TryGet on a frozen folio succeeded: count %d", f.RefCount())
	}
	if f.Poisoned() {
		t.Fatal("a frozen folio is not free")
	}
	mustBug(t, "not frozen", func() { f.RefUnfreeze(1); f.RefUnfreeze(1) })
	f.RefFreeze(1)
	f.RefUnfreeze(2)
	if f.RefCount() != 2 {
		t.Fatalf("RefUnfreeze(2): count %d", f.RefCount())
	}
	f.Put()
	if f.Poisoned() || m.FreePages() != free-4 {
		t.Fatal("folio freed with a reference left")
	}
	f.Put()
	if !f.Poisoned() || m.FreePages() != free {
		t.Fatalf("Put to zero did not free: %v", f)
	}
	// TryGet fails on a free folio and leaves the count alone.
	if f.TryGet() || f.RefCount() != 0 {
		t.Fatalf("TryGet on a free folio: count %d", f.RefCount())
	}

	// PutRefs frees at zero.
	g := mustAlloc(t, m, 0)
	g.RefAdd(3)
	g.PutRefs(4)
	if !g.Poisoned() {
		t.Fatal("PutRefs to zero did not free")
	}

	// Underflow: a put on a free folio is a kernel BUG naming the folio.
	b := mustBug(t, "underflow", func() { g.Put() })
	if want := fmt.Sprintf("page: refcount:-1 mapcount:0 mapping:%016x (poison) index:%#x pfn:%#x", Poison, Poison, g.PFN()); !strings.Contains(b.Dump, want) {
		t.Fatalf("underflow dump %q, want %q", b.Dump, want)
	}
	if b.Dump != m.DumpPage(g.PFN()) {
		t.Fatalf("dump %q is not DumpPage %q", b.Dump, m.DumpPage(g.PFN()))
	}
	g.p().refcount.Store(0) // repair, so that the page can be reused
	mustBug(t, "no reference", func() { g.Get() })
	g.p().refcount.Store(0)
	mustBug(t, "no reference", func() { g.RefAdd(2) })
	g.p().refcount.Store(0)

	// FreeFrozen frees a frozen folio and refuses a live one.
	h := mustAlloc(t, m, 3)
	mustBug(t, "not frozen", func() { h.FreeFrozen() })
	if !h.RefFreeze(1) {
		t.Fatal("RefFreeze(1) on a fresh folio")
	}
	h.FreeFrozen()
	if !h.Poisoned() {
		t.Fatal("FreeFrozen did not free")
	}
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

// TestTryGetRacesFree: TryGet against the last Put never resurrects a
// freed folio; whoever drops the last reference frees it exactly once.
func TestTryGetRacesFree(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	m := NewMemmap(1 << 10)
	free := m.FreePages()
	for range 2000 {
		f := mustAlloc(t, m, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.TryGet() {
				if f.Poisoned() {
					t.Error("TryGet succeeded on a poisoned folio")
				}
				f.Put()
			}
		}()
		f.Put()
		wg.Wait()
	}
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

func TestLock(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	m := NewMemmap(1 << 10)
	f := mustAlloc(t, m, 0)
	if !f.TryLock() || !f.Locked() {
		t.Fatal("TryLock on an unlocked folio failed")
	}
	if f.TryLock() {
		t.Fatal("TryLock on a locked folio succeeded")
	}
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		f.Lock()
		got.Store(true)
		f.Unlock()
		close(done)
	}()
	// Wait for the waiter to go to sleep: it sets PG_waiters.
	for deadline := time.Now().Add(5 * time.Second); !f.Test(PGWaiters); {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never set PG_waiters")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	if got.Load() {
		t.Fatal("Lock returned while the folio was locked")
	}
	f.Unlock()
	<-done
	if f.Locked() || f.Test(PGWaiters) {
		t.Fatalf("after the waiter's unlock: %s", FlagsString(f.Flags()))
	}
	b := mustBug(t, "not locked", func() { f.Unlock() })
	if !strings.Contains(b.Dump, fmt.Sprintf("pfn:%#x", f.PFN())) {
		t.Fatalf("dump %q does not name the folio", b.Dump)
	}
	f.Put()
	noBadPages(t, m)
}

// TestLockContended: the folio lock excludes: goroutines incrementing a
// plain counter under it race with nothing (run with -race).
func TestLockContended(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	m := NewMemmap(1 << 10)
	// Several folios, so that waiters of different folios share hashed
	// wait queues.
	var fs []Folio
	for range 4 {
		fs = append(fs, mustAlloc(t, m, 0))
	}
	counters := make([]int, len(fs))
	const workers, rounds = 6, 3000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := (w + i) % len(fs)
				fs[k].Lock()
				counters[k]++
				if i%64 == 0 {
					time.Sleep(time.Microsecond)
				}
				fs[k].Unlock()
			}
		}()
	}
	wg.Wait()
	total := 0
	for k, f := range fs {
		total += counters[k]
		if f.Locked() {
			t.Fatalf("folio %d still locked", k)
		}
		f.Put()
	}
	if total != workers*rounds {
		t.Fatalf("counters sum to %d, want %d", total, workers*rounds)
	}
	noBadPages(t, m)
}

func TestFlags(t *testing.T) {
	m := NewMemmap(1 << 10)
	f := mustAlloc(t, m, 0)
	f.Set(PGDirty)
	if !f.Test(PGDirty) || f.TestAndSet(PGDirty) != true || !f.TestAndClear(PGDirty) || f.TestAndClear(PGDirty) {
		t.Fatal("flag operations")
	}
	f.Set(PGUptodate)
	f.Clear(PGUptodate)
	if f.Flags() != 0 {
		t.Fatalf("flags %s", FlagsString(f.Flags()))
	}
	for fl := PGLocked; fl < nrFlags; fl++ {
		if fl.String() == "" || strings.HasPrefix(fl.String(), "flag") {
			t.Fatalf("flag %d has no name", fl)
		}
	}
	if got := Flag(40).String(); got != "flag40" {
		t.Fatalf("Flag(40) = %q", got)
	}
	if got := FlagsString(bit(PGUptodate) | bit(PGDirty) | bit(PGHead)); got != "0x58(uptodate|dirty|head)" {
		t.Fatalf("FlagsString = %q", got)
	}
	if got := FlagsString(0); got != "0x0()" {
		t.Fatalf("FlagsString(0) = %q", got)
	}
	f.SetIndex(12)
	f.SetPrivate(99)
	if f.Index() != 12 || f.Private() != 99 || !f.Contains(12) || f.Contains(13) || f.Contains(11) {
		t.Fatal("index/private/contains")
	}
	g := mustAlloc(t, m, 3)
	g.SetIndex(8)
	for i := uint64(0); i < 20; i++ {
		if g.Contains(i) != (i >= 8 && i < 16) {
			t.Fatalf("order-3 folio at 8: Contains(%d) = %v", i, g.Contains(i))
		}
	}
	f.SetPrivate(0)
	f.Put()
	g.Put()
	if a, b := NewMappingID(), NewMappingID(); a == b || a&3 != 0 || a == MovableOps || b == MovableOps {
		t.Fatalf("mapping ids %#x %#x", a, b)
	}
	noBadPages(t, m)
}

func TestDumpPage(t *testing.T) {
	m := NewMemmap(1 << 10)
	id := NewMappingID()
	f := mustAlloc(t, m, 2)
	f.SetMapping(id)
	f.SetIndex(0x14)
	f.Set(PGUptodate)
	f.Set(PGDirty)
	f.Get()
	want := fmt.Sprintf("page: refcount:2 mapcount:0 mapping:as:%d index:0x14 pfn:%#x head order:2\nflags: 0x58(uptodate|dirty|head)", id>>2, f.PFN())
	if got := m.DumpPage(f.PFN()); got != want {
		t.Fatalf("DumpPage:\n%s\nwant\n%s", got, want)
	}
	if f.String() != want {
		t.Fatalf("String() = %q", f.String())
	}
	tail := m.DumpPage(f.PFN() + 3)
	if want := fmt.Sprintf("page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:%#x compound head:%#x\nflags: 0x0()", f.PFN()+3, f.PFN()); tail != want {
		t.Fatalf("tail DumpPage:\n%s\nwant\n%s", tail, want)
	}
	f.SetMapping(0)
	f.PutRefs(2)
	if want := fmt.Sprintf("page: refcount:0 mapcount:0 mapping:%016x (poison) index:%#x pfn:%#x\nflags: 0x8000(poison)", Poison, Poison, f.PFN()); m.DumpPage(f.PFN()) != want {
		t.Fatalf("freed DumpPage:\n%s\nwant\n%s", m.DumpPage(f.PFN()), want)
	}
	z := NewZsmalloc(m)
	z.Grow(1)
	zp := z.pages[0]
	if want := fmt.Sprintf("page: refcount:1 mapcount:0 mapping:movable_ops index:0x0 pfn:%#x\nflags: 0x2000(movable)", zp.PFN()); m.DumpPage(zp.PFN()) != want {
		t.Fatalf("zsmalloc DumpPage:\n%s\nwant\n%s", m.DumpPage(zp.PFN()), want)
	}
	z.Shrink(1)
	if got := m.DumpPage(1 << 10); !strings.Contains(got, "outside the memmap") {
		t.Fatalf("DumpPage outside: %q", got)
	}
	g := mustAlloc(t, m, 0)
	g.SetMapping(0x123457)
	if got := m.DumpPage(g.PFN()); !strings.Contains(got, "mapping:0000000000123457 ") {
		t.Fatalf("odd mapping: %q", got)
	}
	g.SetMapping(0)
	g.Put()
	noBadPages(t, m)
}

func TestSplitToOrder(t *testing.T) {
	m := NewMemmap(1 << 12)
	free := m.FreePages()
	id := NewMappingID()
	for _, c := range []struct{ order, newOrder uint }{{3, 0}, {3, 1}, {9, 0}, {9, 5}, {10, 9}, {1, 0}} {
		f := mustAlloc(t, m, c.order)
		f.SetMapping(id)
		f.SetIndex(1 << c.order * 3)
		f.SetPrivate(77)
		for _, fl := range []Flag{PGLocked, PGUptodate, PGDirty, PGWorkingset, PGReferenced, PGActive, PGReclaim} {
			f.Set(fl)
		}
		m.LRU().Add(f)
		lru := m.LRU().Len()
		mustBug(t, "not frozen", func() { f.SplitToOrder(c.newOrder) })
		mustBug(t, "split of an order", func() { f.SplitToOrder(c.order) })
		if !f.RefFreeze(1) {
			t.Fatal("freeze")
		}
		pieces := f.SplitToOrder(c.newOrder)
		if n := 1 << (c.order - c.newOrder); len(pieces) != n {
			t.Fatalf("order %d to %d: %d pieces, want %d", c.order, c.newOrder, len(pieces), n)
		}
		if pieces[0] != f {
			t.Fatal("the first piece is not the folio itself")
		}
		step := uint32(1) << c.newOrder
		wantFlags := bit(PGLocked) | bit(PGUptodate) | bit(PGDirty) | bit(PGWorkingset) | bit(PGReferenced) | bit(PGActive) | bit(PGLRU)
		if c.newOrder > 0 {
			wantFlags |= bit(PGHead)
		}
		for i, p := range pieces {
			switch {
			case p.PFN() != f.PFN()+uint32(i)*step:
				t.Fatalf("piece %d at pfn %#x", i, p.PFN())
			case p.Order() != c.newOrder || p.RefCount() != 0 || p.MapCount() != 0:
				t.Fatalf("piece %d: %v", i, p)
			case p.Mapping() != id || p.Index() != f.Index()+uint64(i)*uint64(step):
				t.Fatalf("piece %d: mapping/index: %v", i, p)
			case p.Flags() != wantFlags:
				t.Fatalf("piece %d: flags %s, want %s", i, FlagsString(p.Flags()), FlagsString(wantFlags))
			case i > 0 && p.Private() != 0:
				t.Fatalf("piece %d: private %d", i, p.Private())
			}
			for j := uint32(0); j < step; j++ {
				if m.PageFolio(p.PFN()+j) != p {
					t.Fatalf("page %#x belongs to %#x, want piece %#x", p.PFN()+j, m.PageFolio(p.PFN()+j).PFN(), p.PFN())
				}
			}
		}
		if got := m.LRU().Len(); got != lru+len(pieces)-1 {
			t.Fatalf("LRU length %d, want %d: the new pieces join the LRU", got, lru+len(pieces)-1)
		}
		for _, p := range pieces {
			p.RefUnfreeze(1)
			p.SetMapping(0)
			p.Clear(PGActive) // checked at free
			p.Unlock()
			p.Put()
		}
	}
	f := mustAlloc(t, m, 2)
	f.RefFreeze(1)
	for _, p := range f.SplitToOrder(0) {
		if p.Test(PGLRU) {
			t.Fatal("a piece of a folio not on the LRU is on it")
		}
		p.RefUnfreeze(1)
		p.Put()
	}
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

func TestZsmalloc(t *testing.T) {
	m := NewMemmap(64)
	free := m.FreePages()
	z := NewZsmalloc(m)
	if got := z.Grow(10); got != 10 || z.Len() != 10 {
		t.Fatalf("Grow(10) = %d, Len %d", got, z.Len())
	}
	for _, p := range z.pages {
		if !p.Movable() || p.Mapping() != MovableOps || !p.Test(PGMovable) || p.RefCount() != 1 || p.Poisoned() {
			t.Fatalf("zsmalloc page: %v", p)
		}
	}
	if m.FreePages() != free-10 || m.tenants.Load() != 10 {
		t.Fatalf("FreePages %d, tenants %d", m.FreePages(), m.tenants.Load())
	}
	first := z.pages[0]
	if got := z.Shrink(4); got != 4 || z.Len() != 6 {
		t.Fatalf("Shrink(4) = %d, Len %d", got, z.Len())
	}
	if !first.Poisoned() || first.Movable() {
		t.Fatalf("Shrink did not give back the oldest page: %v", first)
	}
	// Grow until memory runs out: it returns how many it got.
	if got := z.Grow(100); got != int(free)-6 || z.Len() != int(free) {
		t.Fatalf("Grow(100) on %d free pages got %d, Len %d", free-6, got, z.Len())
	}
	if got := z.Shrink(1000); got != int(free) || z.Len() != 0 {
		t.Fatalf("Shrink(1000) = %d, Len %d", got, z.Len())
	}
	if m.FreePages() != free || m.tenants.Load() != 0 {
		t.Fatalf("FreePages %d, want %d; tenants %d", m.FreePages(), free, m.tenants.Load())
	}
	noBadPages(t, m)
}

func TestLRU(t *testing.T) {
	m := NewMemmap(1 << 10)
	free := m.FreePages()
	l := m.LRU()
	var fs []Folio
	for o := range uint(4) {
		f := mustAlloc(t, m, o)
		l.Add(f)
		fs = append(fs, f)
	}
	if l.Len() != 4 {
		t.Fatalf("Len %d", l.Len())
	}
	mustBug(t, "already on the LRU", func() { l.Add(fs[0]) })
	got := l.Isolate(m, 2)
	if len(got) != 2 || got[0] != fs[0] || got[1] != fs[1] {
		t.Fatalf("Isolate(2) = %v, want the two oldest", got)
	}
	for _, f := range got {
		if f.Test(PGLRU) || f.RefCount() != 2 {
			t.Fatalf("isolated folio: %v", f)
		}
	}
	// A folio freed while on the list is skipped.
	fs[2].Put()
	rest := l.Isolate(m, 10)
	if len(rest) != 1 || rest[0] != fs[3] {
		t.Fatalf("Isolate(10) = %v, want only %v", rest, fs[3])
	}
	if l.Len() != 0 {
		t.Fatalf("Len %d after isolating everything", l.Len())
	}
	for _, f := range append(got, rest...) {
		l.Putback(f)
		if !f.Test(PGLRU) || f.RefCount() != 1 {
			t.Fatalf("put back: %v", f)
		}
	}
	if l.Len() != 3 {
		t.Fatalf("Len %d after Putback", l.Len())
	}
	// The order is now the putback order.
	again := l.Isolate(m, 3)
	if len(again) != 3 || again[0] != fs[0] || again[2] != fs[3] {
		t.Fatalf("Isolate after Putback = %v", again)
	}
	for _, f := range again {
		f.Put()
		f.Put()
	}
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

// TestLRUIsolateBusy: a folio whose reference count is frozen for a
// moment (a split or __remove_mapping in progress) when the reclaimer
// scans it must stay on the LRU list. isolate_lru_folios moves such a
// folio back onto the list (folio_try_get fails → move_to = src); a
// folio that keeps PG_lru but is off the list can never be reclaimed.
func TestLRUIsolateBusy(t *testing.T) {
	m := NewMemmap(1 << 10)
	l := m.LRU()
	f := mustAlloc(t, m, 0)
	l.Add(f)
	if !f.RefFreeze(1) {
		t.Fatal("freeze")
	}
	if got := l.Isolate(m, 1); len(got) != 0 {
		t.Fatalf("isolated a frozen folio: %v", got)
	}
	f.RefUnfreeze(1)
	got := l.Isolate(m, 1)
	if len(got) != 1 || got[0] != f {
		t.Errorf("after the freeze ended, Isolate = %v (LRU length %d, PG_lru %v): "+
			"the folio was dropped from the list while it kept PG_lru", got, l.Len(), f.Test(PGLRU))
	}
	for _, g := range got {
		g.Put()
	}
	f.Put()
	noBadPages(t, m)
}

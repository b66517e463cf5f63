// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

func TestAddFolio(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	f := alloc(t, e.m, 0)
	f.Lock()
	shadow, err := as.AddFolio(f, 5)
	if err != nil || shadow != xarray.Null {
		t.Fatalf("AddFolio: %v, shadow %v", err, shadow)
	}
	check(t, as)
	switch {
	case f.RefCount() != 2 || f.Mapping() != as.ID() || f.Index() != 5 || !f.Test(folio.PGLRU) || !f.Locked():
		t.Fatalf("added folio: %v", f)
	case as.NrPages() != 1 || at(as, 5) != f:
		t.Fatalf("nrpages %d, entry %v", as.NrPages(), as.Pages().Load(5))
	}
	if f.PFN() == 5 {
		t.Logf("pfn == index: the warming did not help")
	}

	// A folio is already there: ErrExists, and the new folio is left as
	// it was given.
	g := alloc(t, e.m, 0)
	g.Lock()
	if _, err := as.AddFolio(g, 5); !errors.Is(err, ErrExists) {
		t.Fatalf("AddFolio over a folio: %v", err)
	}
	if g.Mapping() != 0 || g.RefCount() != 1 || g.Test(folio.PGLRU) || !g.Locked() {
		t.Fatalf("rejected folio: %v", g)
	}
	check(t, as)
	// So is a larger folio that overlaps it.
	h := alloc(t, e.m, 2)
	h.Lock()
	if _, err := as.AddFolio(h, 4); !errors.Is(err, ErrExists) {
		t.Fatalf("AddFolio of an order-2 folio over index 5: %v", err)
	}
	if h.Mapping() != 0 || h.RefCount() != 1 || h.Test(folio.PGLRU) || as.NrPages() != 1 {
		t.Fatalf("rejected folio: %v", h)
	}
	check(t, as)
	// And a smaller one inside a larger folio.
	if _, err := as.AddFolio(h, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := as.AddFolio(g, 10); !errors.Is(err, ErrExists) || g.Mapping() != 0 || g.RefCount() != 1 {
		t.Fatalf("AddFolio inside an order-2 folio: %v, %v", err, g)
	}
	check(t, as)
	if as.NrPages() != 5 {
		t.Fatalf("nrpages %d, want 5", as.NrPages())
	}

	// The folio must be locked, and the index aligned to its size.
	g.Unlock()
	mustBug(t, func() { as.AddFolio(g, 20) })
	k := alloc(t, e.m, 3)
	k.Lock()
	mustBug(t, func() { as.AddFolio(k, 12) })
	if k.RefCount() != 1 || k.Mapping() != 0 {
		t.Fatalf("misaligned folio touched: %v", k)
	}
	check(t, as)
	for _, x := range []folio.Folio{f, h, k} {
		x.Unlock()
		x.Put()
	}
	g.Put()
	e.finish(0)
}

// TestAddFolioOverShadow: a folio added where a folio was reclaimed gets
// the shadow entry back, for refault detection.
func TestAddFolioOverShadow(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	add(t, as, 0, 7)
	add(t, as, 0, 9)
	shadow := evict(t, as, 7)
	if as.NrPages() != 1 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
	f := alloc(t, e.m, 0)
	f.Lock()
	got, err := as.AddFolio(f, 7)
	if err != nil || got != shadow {
		t.Fatalf("AddFolio over shadow %v: %v, %v", shadow, got, err)
	}
	check(t, as)
	f.Unlock()
	f.Put()

	// A larger folio over several small shadows replaces them all.
	add(t, as, 0, 16)
	add(t, as, 0, 18)
	s16, s18 := evict(t, as, 16), evict(t, as, 18)
	g := alloc(t, e.m, 2)
	g.Lock()
	got, err = as.AddFolio(g, 16)
	if err != nil || (got != s16 && got != s18) {
		t.Fatalf("AddFolio over shadows %v, %v: %v, %v", s16, s18, got, err)
	}
	for i := uint64(16); i < 20; i++ {
		if at(as, i) != g {
			t.Fatalf("index %d: %v", i, as.Pages().Load(i))
		}
	}
	check(t, as)
	g.Unlock()
	g.Put()
	e.finish(0)
}

// cacheLargeShadow caches an order-9 folio at index 0 and reclaims it,
// leaving an order-9 shadow entry.
func cacheLargeShadow(t *testing.T, as *AddressSpace) xarray.Entry {
	t.Helper()
	out := read(t, as, 0, 512)
	if len(out) != 1 || out[0].Order() != 9 {
		t.Fatalf("Read(0, 512) gave %d folios, the first of order %d; want one of order 9", len(out), out[0].Order())
	}
	if n := Reclaim(as.Memmap(), 64); n < 512 {
		t.Fatalf("Reclaim freed %d pages, want at least 512", n)
	}
	check(t, as)
	shadow := as.Pages().Load(0)
	if !shadow.IsValue() || as.Pages().GetOrder(0) != 9 || as.Pages().Load(511) != shadow {
		t.Fatalf("after reclaim: entry %v of order %d", shadow, as.Pages().GetOrder(0))
	}
	return shadow
}

// TestAddFolioSplitsLargeShadow: adding a small folio over a larger
// shadow entry splits the shadow (the v6.10 __filemap_add_folio path of
// bugs.md B1, VariantAddFolioSplitAlloc, which splits it to the folio's
// order at once): the other indices keep shadow entries.
func TestAddFolioSplitsLargeShadow(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1<<10, WithVariant(VariantAddFolioSplitAlloc))
	shadow := cacheLargeShadow(t, as)
	xa := as.Pages()

	f := alloc(t, e.m, 0)
	f.Lock()
	if got, err := as.AddFolio(f, 100); err != nil || got != shadow {
		t.Fatalf("AddFolio(order 0, 100) over an order-9 shadow: %v, %v", got, err)
	}
	check(t, as)
	for i := uint64(0); i < 512; i++ {
		want := shadow
		if i == 100 {
			want = f.Entry()
		}
		if got := xa.Load(i); got != want {
			t.Fatalf("index %d: %v, want %v", i, got, want)
		}
		if o := xa.GetOrder(i); o != 0 {
			t.Fatalf("index %d: order %d after the split, want 0", i, o)
		}
	}
	f.Unlock()
	f.Put()

	// Later adds in the range find order-0 shadows.
	g := alloc(t, e.m, 0)
	g.Lock()
	if got, err := as.AddFolio(g, 300); err != nil || got != shadow {
		t.Fatalf("AddFolio(order 0, 300): %v, %v", got, err)
	}
	g.Unlock()
	g.Put()
	check(t, as)
	h := alloc(t, e.m, 3)
	h.Lock()
	if got, err := as.AddFolio(h, 8); err != nil || got != shadow {
		t.Fatalf("AddFolio(order 3, 8): %v, %v", got, err)
	}
	h.Unlock()
	h.Put()
	check(t, as)
	if as.NrPages() != 10 || xa.Load(7) != shadow || xa.Load(16) != shadow || xa.GetOrder(8) != 3 {
		t.Fatalf("nrpages %d; 7: %v, 16: %v, order at 8: %d", as.NrPages(), xa.Load(7), xa.Load(16), xa.GetOrder(8))
	}
	e.finish(0)
}

// TestAddFolioLargeOverLargeShadow: folios of order 9, 6 and 3 over an
// order-9 shadow: no split, a split inside one node, and a split that
// needs new nodes.
func TestAddFolioLargeOverLargeShadow(t *testing.T) {
	for _, order := range []uint{9, 6, 3} {
		e := newEnv(t, 1<<12)
		as := e.file(1 << 10)
		shadow := cacheLargeShadow(t, as)
		index := uint64(0)
		if order < 9 {
			index = 1 << order * 5
		}
		f := alloc(t, e.m, order)
		f.Lock()
		if got, err := as.AddFolio(f, index); err != nil || got != shadow {
			t.Fatalf("AddFolio(order %d, %d) over an order-9 shadow: %v, %v", order, index, got, err)
		}
		f.Unlock()
		f.Put()
		check(t, as)
		for i := uint64(0); i < 512; i++ {
			e := as.Pages().Load(i)
			if f.Contains(i) != (e == f.Entry()) || (!f.Contains(i) && e != shadow) {
				t.Fatalf("order %d at %d: index %d holds %v", order, index, i, e)
			}
		}
		if got := as.Pages().GetOrder(index); got != int(order) {
			t.Fatalf("order of the new entry: %d, want %d", got, order)
		}
		e.finish(0)
	}
}

// TestAddFolioNoMemory: when the XArray cannot allocate nodes even
// outside the lock, AddFolio fails with ErrNoMemory and leaves the folio
// as it was given and the page cache as it was. That is the v6.10 add
// (VariantAddFolioSplitAlloc); v6.15's leaves the shadow split in part
// (TestAddFolioNoMemoryKeepsSplits).
func TestAddFolioNoMemory(t *testing.T) {
	e := newEnv(t, 1<<12)
	xf := xarray.NewFaults(1)
	as := e.file(1<<20, WithVariant(VariantAddFolioSplitAlloc), WithXArrayOptions(xarray.WithFaults(xf)))
	shadow := cacheLargeShadow(t, as)
	add(t, as, 0, 600)

	xf.SetEverywhere(true)
	xf.SetProbability(1)
	for _, c := range []struct {
		order uint
		index uint64
	}{{0, 5000}, {0, 1 << 19}, {2, 4096}, {0, 100}, {3, 8}} {
		f := alloc(t, e.m, c.order)
		f.Lock()
		if _, err := as.AddFolio(f, c.index); !errors.Is(err, ErrNoMemory) {
			t.Fatalf("AddFolio(order %d, %#x) with no memory: %v", c.order, c.index, err)
		}
		if f.Mapping() != 0 || f.RefCount() != 1 || f.Test(folio.PGLRU) || !f.Locked() {
			t.Fatalf("folio after a failed add: %v", f)
		}
		check(t, as)
		if as.Pages().Load(c.index) != xarray.Null && as.Pages().Load(c.index) != shadow {
			t.Fatalf("index %#x: %v after a failed add", c.index, as.Pages().Load(c.index))
		}
		f.Unlock()
		f.Put()
	}
	if xf.Injected() == 0 {
		t.Fatal("no fault injected")
	}
	// The large shadow was not split.
	if as.Pages().GetOrder(0) != 9 || as.Pages().Load(100) != shadow || as.NrPages() != 1 {
		t.Fatalf("order at 0: %d, 100: %v, nrpages %d", as.Pages().GetOrder(0), as.Pages().Load(100), as.NrPages())
	}
	xf.SetProbability(0)
	add(t, as, 0, 100)
	add(t, as, 0, 5000)
	e.finish(0)
}

// TestAddFolioLockFaults: failures of the allocations made under the
// lock are recovered by allocating outside it (xas_nomem).
func TestAddFolioLockFaults(t *testing.T) {
	e := newEnv(t, 1<<12)
	xf := xarray.NewFaults(2)
	as := e.file(1<<20, WithXArrayOptions(xarray.WithFaults(xf)))
	xf.SetProbability(1)
	for i, index := range []uint64{5000, 1 << 19, 70000, 5001, 4096} {
		f := alloc(t, e.m, uint(i%3))
		f.Lock()
		index &^= f.NrPages() - 1
		if _, err := as.AddFolio(f, index); err != nil {
			t.Fatalf("AddFolio(%#x) with lock-only faults: %v", index, err)
		}
		f.Unlock()
		f.Put()
		check(t, as)
	}
	if xf.Injected() == 0 {
		t.Fatal("no fault injected")
	}
	xf.SetProbability(0)
	// And the split of a large shadow with lock-only faults.
	as2 := e.file(1<<10, WithXArrayOptions(xarray.WithFaults(xf)))
	shadow := cacheLargeShadow(t, as2)
	xf.SetProbability(1)
	f := alloc(t, e.m, 0)
	f.Lock()
	if got, err := as2.AddFolio(f, 77); err != nil || got != shadow {
		t.Fatalf("AddFolio over an order-9 shadow with lock-only faults: %v, %v", got, err)
	}
	f.Unlock()
	f.Put()
	check(t, as2)
	xf.SetProbability(0)
	e.finish(0)
}

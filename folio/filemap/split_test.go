// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// pieces returns the distinct folios that name [first, last], checking
// that each index is named by a folio of the file that contains it and
// that the entry's order is the folio's.
func pieces(t *testing.T, as *AddressSpace, first, last uint64) []folio.Folio {
	t.Helper()
	var out []folio.Folio
	for i := first; i <= last; i++ {
		f := at(as, i)
		if f.IsNil() || !f.Contains(i) || f.Mapping() != as.ID() || f.Poisoned() {
			t.Fatalf("index %d: %v", i, as.Pages().Load(i))
		}
		if o := as.Pages().GetOrder(i); o != int(f.Order()) {
			t.Fatalf("index %d: entry of order %d for a folio of order %d", i, o, f.Order())
		}
		if len(out) == 0 || out[len(out)-1] != f {
			out = append(out, f)
		}
	}
	return out
}

// largeFolio caches an order-9 folio at 0 and returns it locked, with a
// reference, as a splitter gets it.
func largeFolio(t *testing.T, as *AddressSpace) folio.Folio {
	t.Helper()
	read(t, as, 0, 512)
	f := as.GetFolio(0, true)
	if f.Order() != 9 {
		t.Fatalf("order %d", f.Order())
	}
	return f
}

func TestSplitUniform(t *testing.T) {
	for _, newOrder := range []uint{0, 1, 3, 5, 6, 8} {
		e := newEnv(t, 1<<12)
		as := e.file(1024)
		f := largeFolio(t, as)
		if err := as.Split(f, newOrder); err != nil {
			t.Fatalf("Split(order 9 → %d): %v", newOrder, err)
		}
		check(t, as)
		ps := pieces(t, as, 0, 511)
		if len(ps) != 1<<(9-newOrder) || ps[0] != f {
			t.Fatalf("split to %d: %d pieces", newOrder, len(ps))
		}
		for i, p := range ps {
			nr := int32(1) << newOrder
			want := nr
			if p == f {
				want++ // the caller's
			}
			switch {
			case p.Order() != newOrder || p.Index() != uint64(i)<<newOrder:
				t.Fatalf("piece %d: %v", i, p)
			case p.RefCount() != want:
				t.Fatalf("piece %d: count %d, want %d", i, p.RefCount(), want)
			case p.Locked() != (p == f) || !p.Test(folio.PGLRU) || !p.Test(folio.PGUptodate):
				t.Fatalf("piece %d: flags %s", i, folio.FlagsString(p.Flags()))
			}
		}
		if as.NrPages() != 512 {
			t.Fatalf("nrpages %d", as.NrPages())
		}
		f.Unlock()
		f.Put()
		// Every piece can be reclaimed.
		if n := Reclaim(e.m, 1024); n != 512 {
			t.Fatalf("Reclaim after split freed %d", n)
		}
		check(t, as)
		e.finish(0)
	}
}

func TestSplitBusy(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1024)
	f := largeFolio(t, as)
	extra := as.GetEntry(300)
	if err := as.Split(f, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Split with an extra reference: %v", err)
	}
	check(t, as)
	if f.RefCount() != 512+2 || f.Order() != 9 || as.Pages().GetOrder(0) != 9 || !f.Locked() {
		t.Fatalf("after a refused split: %v", f)
	}
	if err := as.SplitAt(f, 300, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("SplitAt with an extra reference: %v", err)
	}
	check(t, as)
	e.m.FromEntry(extra).Put()
	if err := as.Split(f, 9); !errors.Is(err, xarray.ErrInvalid) {
		t.Fatalf("Split to the same order: %v", err)
	}
	if err := as.SplitAt(f, 512, 0); !errors.Is(err, xarray.ErrInvalid) {
		t.Fatalf("SplitAt an index outside the folio: %v", err)
	}
	// A truncated folio cannot be split.
	as.RemoveFolio(f)
	if err := as.Split(f, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Split of a removed folio: %v", err)
	}
	if err := as.SplitAt(f, 0, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("SplitAt of a removed folio: %v", err)
	}
	check(t, as)
	f.Unlock()
	f.Put()
	g := add(t, as, 0, 5)
	g.Lock()
	if err := as.Split(g, 0); !errors.Is(err, xarray.ErrInvalid) {
		t.Fatalf("Split of an order-0 folio: %v", err)
	}
	g.Unlock()
	e.finish(0)
}

// TestSplitBeyondEOF: the pieces of a split that lie wholly beyond the
// end of the file are dropped from the page cache and freed.
func TestSplitBeyondEOF(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(5)
	f := alloc(t, e.m, 3)
	f.Lock()
	if _, err := as.AddFolio(f, 0); err != nil {
		t.Fatal(err)
	}
	free := e.m.FreePages()
	if err := as.Split(f, 1); err != nil {
		t.Fatal(err)
	}
	check(t, as)
	// Pieces 0-1, 2-3, 4-5 start before the end (5) and stay; 6-7 goes.
	pieces(t, as, 0, 5)
	for i := uint64(6); i < 8; i++ {
		if as.Pages().Load(i) != xarray.Null {
			t.Fatalf("index %d beyond EOF: %v", i, as.Pages().Load(i))
		}
	}
	if as.NrPages() != 6 || e.m.FreePages() != free+2 {
		t.Fatalf("nrpages %d, FreePages %d (want %d)", as.NrPages(), e.m.FreePages(), free+2)
	}
	f.Unlock()
	f.Put()
	e.finish(0)
}

// TestSplitNoMemory: the uniform split allocates its nodes before it
// takes the lock; when that fails nothing changes.
func TestSplitNoMemory(t *testing.T) {
	e := newEnv(t, 1<<12)
	xf := xarray.NewFaults(3)
	as := e.file(1024, WithXArrayOptions(xarray.WithFaults(xf)))
	f := largeFolio(t, as)
	xf.SetEverywhere(true)
	xf.SetProbability(1)
	if err := as.Split(f, 0); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("Split with no memory: %v", err)
	}
	check(t, as)
	if f.RefCount() != 513 || f.Order() != 9 || as.Pages().GetOrder(300) != 9 {
		t.Fatalf("after a failed split: %v", f)
	}
	// A split inside one node needs no new node.
	if err := as.Split(f, 6); err != nil {
		t.Fatalf("Split(order 9 → 6) with no memory: %v", err)
	}
	check(t, as)
	if ps := pieces(t, as, 0, 511); len(ps) != 8 {
		t.Fatalf("%d pieces", len(ps))
	}
	xf.SetProbability(0)
	f.Unlock()
	f.Put()
	e.finish(0)
}

// wantNonUniform checks the shape a non-uniform split at index at down
// to newOrder leaves: the folio holding at has newOrder, and for each
// order k from 8 down to newOrder the buddy block of at's order-k block
// is one folio of order k.
func wantNonUniform(t *testing.T, as *AddressSpace, idx uint64, newOrder uint) {
	t.Helper()
	ps := pieces(t, as, 0, 511)
	if len(ps) != int(9-newOrder)+1 {
		t.Fatalf("split at %d to %d: %d folios, want %d", idx, newOrder, len(ps), 9-newOrder+1)
	}
	if f := at(as, idx); f.Order() != newOrder || !f.Contains(idx) {
		t.Fatalf("split at %d: folio there: %v", idx, f)
	}
	for k := uint(8); k >= newOrder && k <= 8; k-- {
		buddy := (idx &^ (1<<k - 1)) ^ 1<<k
		if f := at(as, buddy); f.Order() != k || f.Index() != buddy {
			t.Fatalf("split at %d: order-%d buddy at %d is %v", idx, k, buddy, f)
		}
	}
	if as.NrPages() != 512 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
}

func TestSplitAt(t *testing.T) {
	for _, c := range []struct {
		at       uint64
		newOrder uint
	}{{0, 0}, {1, 0}, {255, 0}, {256, 0}, {300, 0}, {511, 0}, {300, 3}, {100, 6}, {7, 8}} {
		e := newEnv(t, 1<<12)
		as := e.file(1024)
		f := largeFolio(t, as)
		if err := as.SplitAt(f, c.at, c.newOrder); err != nil {
			t.Fatalf("SplitAt(%d, %d): %v", c.at, c.newOrder, err)
		}
		check(t, as)
		wantNonUniform(t, as, c.at, c.newOrder)
		for _, p := range pieces(t, as, 0, 511) {
			want := int32(p.NrPages())
			if p == f {
				want++
			}
			if p.RefCount() != want || p.Locked() != (p == f) || !p.Test(folio.PGLRU) {
				t.Fatalf("SplitAt(%d, %d): piece %v, want count %d", c.at, c.newOrder, p, want)
			}
		}
		f.Unlock()
		f.Put()
		if n := Reclaim(e.m, 1024); n != 512 {
			t.Fatalf("Reclaim after SplitAt freed %d", n)
		}
		e.finish(0)
	}
}

// TestSplitAtFaults: the non-uniform split allocates under the lock, one
// node at a step; a failure stops it there with ErrNoMemory and leaves
// a valid page cache, the piece being split whole.
func TestSplitAtFaults(t *testing.T) {
	e := newEnv(t, 1<<12)
	xf := xarray.NewFaults(4)
	as := e.file(1024, WithXArrayOptions(xarray.WithFaults(xf)))
	f := largeFolio(t, as)
	xf.FailNext(1)
	if err := as.SplitAt(f, 300, 0); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("SplitAt with a failing node allocation: %v", err)
	}
	check(t, as)
	// 9 → 8 → 7 → 6 split in place; 6 → 5 needed a node.
	wantNonUniform(t, as, 300, 6)
	if f.RefCount() != 256+1 || !f.Locked() {
		t.Fatalf("the caller's folio: %v", f)
	}
	cur := at(as, 300)
	if cur.Locked() || cur.RefCount() != 64 {
		t.Fatalf("the piece that was being split: %v", cur)
	}
	f.Unlock()
	f.Put()

	// With every allocation under the lock failing, the split of that
	// piece fails at once, and succeeds when memory is back.
	g := as.GetFolio(300, true)
	xf.SetProbability(1)
	if err := as.SplitAt(g, 300, 0); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("SplitAt(order 6) with no memory: %v", err)
	}
	check(t, as)
	if g.Order() != 6 || g.RefCount() != 65 {
		t.Fatalf("after a failed first step: %v", g)
	}
	xf.SetProbability(0)
	if err := as.SplitAt(g, 300, 0); err != nil {
		t.Fatal(err)
	}
	check(t, as)
	wantNonUniform(t, as, 300, 0)
	g.Unlock()
	g.Put()
	e.finish(0)
}

// TestSplitAtBeyondEOF: like the uniform split, folio_split
// (__split_unmapped_folio) drops the after-split folios that start at or
// beyond the end of the file (release->index >= end →
// __filemap_remove_folio).
func TestSplitAtBeyondEOF(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(4)
	f := alloc(t, e.m, 3)
	f.Lock()
	if _, err := as.AddFolio(f, 0); err != nil {
		t.Fatal(err)
	}
	if err := as.SplitAt(f, 0, 0); err != nil {
		t.Fatal(err)
	}
	check(t, as)
	pieces(t, as, 0, 3)
	for i := uint64(4); i < 8; i++ {
		if e := as.Pages().Load(i); e != xarray.Null {
			t.Errorf("index %d beyond EOF (4) after SplitAt: %v, want it dropped", i, e)
		}
	}
	if as.NrPages() != 4 {
		t.Errorf("nrpages %d, want 4", as.NrPages())
	}
	f.Unlock()
	f.Put()
	e.finish(0)
}

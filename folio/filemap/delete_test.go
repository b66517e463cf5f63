// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

func TestRemoveFolio(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	add(t, as, 0, 5)
	add(t, as, 2, 8)
	add(t, as, 0, 6)
	free := e.m.FreePages()
	for _, index := range []uint64{5, 9} {
		f := as.GetFolio(index, true)
		nr := int64(f.NrPages())
		before := as.NrPages()
		as.RemoveFolio(f)
		check(t, as)
		if f.Mapping() != 0 || f.RefCount() != 1 || !f.Locked() || as.NrPages() != before-nr {
			t.Fatalf("removed folio: %v; nrpages %d", f, as.NrPages())
		}
		for i := f.Index(); i < f.Index()+f.NrPages(); i++ {
			if as.Pages().Load(i) != xarray.Null {
				t.Fatalf("index %d after removal: %v", i, as.Pages().Load(i))
			}
		}
		f.Unlock()
		f.Put()
		if !f.Poisoned() {
			t.Fatalf("removed folio not freed: %v", f)
		}
		free += nr
		if e.m.FreePages() != free {
			t.Fatalf("FreePages %d, want %d", e.m.FreePages(), free)
		}
	}
	if at(as, 6).IsNil() || as.NrPages() != 1 {
		t.Fatal("the neighbour went too")
	}
	e.finish(0)
}

func TestRemoveMapping(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	add(t, as, 2, 4)
	add(t, as, 0, 1)

	// An extra reference: refused, nothing changes.
	f := as.GetFolio(4, true)
	extra := as.GetFolio(5, false)
	if as.RemoveMapping(f) {
		t.Fatal("RemoveMapping with an extra reference succeeded")
	}
	if f.RefCount() != 4+1+1 || f.Mapping() != as.ID() || at(as, 6) != f {
		t.Fatalf("refused folio changed: %v", f)
	}
	check(t, as)
	extra.Put()
	// Dirty: refused, and the count is unfrozen.
	f.Set(folio.PGDirty)
	if as.RemoveMapping(f) {
		t.Fatal("RemoveMapping of a dirty folio succeeded")
	}
	if f.RefCount() != 5 || f.Mapping() != as.ID() {
		t.Fatalf("dirty folio: %v", f)
	}
	check(t, as)
	f.Clear(folio.PGDirty)
	if !as.RemoveMapping(f) {
		t.Fatal("RemoveMapping of a clean unused folio failed")
	}
	check(t, as)
	if f.RefCount() != 1 || f.Mapping() != 0 || as.NrPages() != 1 {
		t.Fatalf("after RemoveMapping: %v, nrpages %d", f, as.NrPages())
	}
	for i := uint64(4); i < 8; i++ {
		if as.Pages().Load(i) != xarray.Null {
			t.Fatalf("RemoveMapping left %v at %d: invalidation leaves no shadow", as.Pages().Load(i), i)
		}
	}
	f.Unlock()
	f.Put()
	if !f.Poisoned() {
		t.Fatal("not freed")
	}
	e.finish(0)
}

func TestReclaim(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(64)
	out := read(t, as, 0, 64)
	if len(out) != 1 || out[0].Order() != 6 {
		t.Fatalf("Read(0, 64) of a 64-page file: %d folios", len(out))
	}
	other := e.file(16, WithMaxOrder(0))
	read(t, other, 0, 16)
	// A referenced, a dirty and a locked folio stay.
	ref := other.GetFolio(1, false)
	dirty := other.GetFolio(2, false)
	dirty.Set(folio.PGDirty)
	dirty.Put()
	locked := other.GetFolio(3, true)

	free := e.m.FreePages()
	if n := Reclaim(e.m, 100); n != 64+13 {
		t.Fatalf("Reclaim freed %d pages, want %d", n, 64+13)
	}
	check(t, as)
	check(t, other)
	if e.m.FreePages() != free+64+13 {
		t.Fatalf("FreePages %d, want %d", e.m.FreePages(), free+64+13)
	}
	if as.NrPages() != 0 || other.NrPages() != 3 {
		t.Fatalf("nrpages %d, %d", as.NrPages(), other.NrPages())
	}
	// Shadow entries where the folios were: one of order 6 here.
	shadow := as.Pages().Load(0)
	if !shadow.IsValue() || as.Pages().GetOrder(0) != 6 {
		t.Fatalf("after reclaim: %v of order %d", shadow, as.Pages().GetOrder(0))
	}
	for i := uint64(0); i < 64; i++ {
		if as.Pages().Load(i) != shadow {
			t.Fatalf("index %d: %v", i, as.Pages().Load(i))
		}
	}
	for i := uint64(0); i < 16; i++ {
		e := other.Pages().Load(i)
		if (i >= 1 && i <= 3) != e.IsPointer() || (e.IsPointer() == e.IsValue()) {
			t.Fatalf("other file, index %d: %v", i, e)
		}
	}
	// The ones that stayed are still on the LRU list and go once free.
	for _, f := range []folio.Folio{ref, dirty, locked} {
		if !f.Test(folio.PGLRU) || f.Mapping() != other.ID() {
			t.Fatalf("kept folio: %v", f)
		}
	}
	ref.Put()
	dirty.Clear(folio.PGDirty)
	locked.Unlock()
	locked.Put()
	if n := Reclaim(e.m, 100); n != 3 {
		t.Fatalf("second Reclaim freed %d pages, want 3", n)
	}
	check(t, other)
	if other.NrPages() != 0 {
		t.Fatalf("nrpages %d", other.NrPages())
	}
	// The shadows are reported back on refault.
	f := alloc(t, e.m, 0)
	f.Lock()
	if sh, err := as.AddFolio(f, 0); err != nil || sh != shadow {
		t.Fatalf("refault: %v, %v", sh, err)
	}
	f.Unlock()
	f.Put()
	e.finish(0)
}

func TestTruncateWhole(t *testing.T) {
	e := newEnv(t, 1<<13)
	as := e.file(2100)
	read(t, as, 0, 2100)
	evict(t, as, 600)
	evict(t, as, 2099)
	as.TruncateRange(0, ^uint64(0))
	check(t, as)
	if !as.Pages().Empty() || as.NrPages() != 0 {
		t.Fatalf("after truncating everything: nrpages %d, head %v", as.NrPages(), as.Pages().Head())
	}
	read(t, as, 100, 10)
	as.TruncateRange(0, 2099)
	check(t, as)
	if !as.Pages().Empty() {
		t.Fatal("not empty")
	}
	e.finish(0)
}

// wantRange checks that every index in [first, last] holds an order-k
// folio of the file that contains it, or Null when hole is set.
func wantRange(t *testing.T, as *AddressSpace, first, last uint64, order int, hole bool) {
	t.Helper()
	for i := first; i <= last; i++ {
		f := at(as, i)
		switch {
		case hole && as.Pages().Load(i) != xarray.Null:
			t.Fatalf("index %d: %v, want a hole", i, as.Pages().Load(i))
		case hole:
		case f.IsNil() || !f.Contains(i) || f.Mapping() != as.ID():
			t.Fatalf("index %d: %v", i, as.Pages().Load(i))
		case order >= 0 && f.Order() != uint(order):
			t.Fatalf("index %d: folio of order %d, want %d", i, f.Order(), order)
		}
	}
}

func TestTruncatePartial(t *testing.T) {
	e := newEnv(t, 1<<13)
	as := e.file(1024)
	read(t, as, 0, 1024)
	wantRange(t, as, 0, 1023, 9, false)

	// A range inside one large folio: it is split and the range goes.
	// (What the split leaves depends on the release: see
	// truncate_split_test.go.)
	as.TruncateRange(100, 200)
	check(t, as)
	wantRange(t, as, 0, 99, -1, false)
	wantRange(t, as, 100, 200, 0, true)
	wantRange(t, as, 201, 511, -1, false)
	wantRange(t, as, 512, 1023, 9, false)
	if as.NrPages() != 1024-101 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
	// A range over small folios and the first part of a large one.
	as.TruncateRange(300, 700)
	check(t, as)
	wantRange(t, as, 300, 700, 0, true)
	wantRange(t, as, 701, 1023, -1, false)
	// Folio boundaries: nothing to split.
	as.TruncateRange(701, 1023)
	check(t, as)
	wantRange(t, as, 701, 1023, 0, true)
	if as.NrPages() != 100+99 {
		t.Fatalf("nrpages %d", as.NrPages())
	}

	// A large folio that cannot be split stays whole.
	as2 := e.file(1024)
	read(t, as2, 0, 1024)
	ref := as2.GetFolio(0, false)
	as2.TruncateRange(10, 20)
	check(t, as2)
	wantRange(t, as2, 0, 511, 9, false)
	if as2.NrPages() != 1024 {
		t.Fatalf("nrpages %d", as2.NrPages())
	}
	ref.Put()
	// Shadows in the range go too; those outside stay.
	evict(t, as2, 512)
	as2.TruncateRange(0, 511)
	check(t, as2)
	wantRange(t, as2, 0, 511, 0, true)
	if !as2.Pages().Load(512).IsValue() {
		t.Fatalf("shadow outside the range: %v", as2.Pages().Load(512))
	}
	add(t, as2, 0, 5)
	evict(t, as2, 5)
	as2.TruncateRange(5, 5)
	check(t, as2)
	if as2.Pages().Load(5) != xarray.Null || !as2.Pages().Load(512).IsValue() {
		t.Fatalf("after truncating a shadow: %v, %v", as2.Pages().Load(5), as2.Pages().Load(512))
	}
	e.finish(0)
}

func TestInvalidatePages(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(64, WithMaxOrder(0))
	read(t, as, 0, 64)
	dirty := as.GetFolio(10, false)
	dirty.Set(folio.PGDirty)
	locked := as.GetFolio(11, true)
	ref := as.GetFolio(12, false)
	wb := as.GetFolio(13, false)
	wb.Set(folio.PGWriteback)
	wb.Put()
	dirty.Put()
	free := e.m.FreePages()
	if n := as.InvalidatePages(0, 63); n != 60 {
		t.Fatalf("InvalidatePages dropped %d pages, want 60", n)
	}
	check(t, as)
	if e.m.FreePages() != free+60 || as.NrPages() != 4 {
		t.Fatalf("FreePages %d (want %d), nrpages %d", e.m.FreePages(), free+60, as.NrPages())
	}
	for i := uint64(0); i < 64; i++ {
		e := as.Pages().Load(i)
		if (i >= 10 && i <= 13) != e.IsPointer() || e.IsValue() {
			t.Fatalf("index %d after invalidation: %v", i, e)
		}
	}
	locked.Unlock()
	locked.Put()
	ref.Put()
	dirty.Clear(folio.PGDirty)
	wb.Clear(folio.PGWriteback)
	if n := as.InvalidatePages(0, 63); n != 4 {
		t.Fatalf("second InvalidatePages dropped %d pages, want 4", n)
	}
	check(t, as)

	// A large folio is dropped only when it lies wholly in the range.
	as2 := e.file(64)
	read(t, as2, 0, 64)
	if n := as2.InvalidatePages(1, 63); n != 0 {
		t.Fatalf("invalidated %d pages of a folio straddling the range", n)
	}
	if n := as2.InvalidatePages(0, 1000); n != 64 {
		t.Fatalf("invalidated %d pages, want 64", n)
	}
	check(t, as2)
	if !as2.Pages().Empty() {
		t.Fatalf("invalidation left %v", as2.Pages().Head())
	}
	e.finish(0)
}

// TestInvalidateClearsShadows: invalidate_mapping_pages (fadvise
// DONTNEED) removes the shadow entries it finds in the range as well as
// the clean folios (mapping_try_invalidate → clear_shadow_entries; in
// 6.1 invalidate_exceptional_entry): afterwards the range holds no
// value entries. bugs.md B1(b)'s interleaving depends on it: the
// invalidation empties the range under a concurrent add.
func TestInvalidateClearsShadows(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1024)
	read(t, as, 0, 1024)
	if n := Reclaim(e.m, 100); n != 1024 {
		t.Fatalf("Reclaim freed %d pages", n)
	}
	add(t, as, 0, 700)
	as.InvalidatePages(0, 1023)
	check(t, as)
	left := 0
	for i := uint64(0); i < 1024; i++ {
		if as.Pages().Load(i) != xarray.Null {
			left++
		}
	}
	if left != 0 {
		t.Errorf("after InvalidatePages(0, 1023): %d indices still hold entries (first: %v); want none", left, as.Pages().Load(0))
	}
	e.finish(0)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xabench/xabench/folio"
)

// wantCover checks that out covers [index, last] in order, each folio
// with the caller's reference, of the file, uptodate, naturally aligned
// and inside the file.
func wantCover(t *testing.T, as *AddressSpace, out []folio.Folio, index, last uint64, maxOrder uint) {
	t.Helper()
	if len(out) == 0 {
		t.Fatalf("no folios for [%d, %d]", index, last)
	}
	if !out[0].Contains(index) {
		t.Fatalf("first folio %v does not hold %d", out[0], index)
	}
	next := out[0].Index()
	for i, f := range out {
		nr := f.NrPages()
		switch {
		case f.Index() != next:
			t.Fatalf("folio %d at %d, want %d", i, f.Index(), next)
		case f.Index()&(nr-1) != 0 || f.Index()+nr > as.Size() || f.Order() > maxOrder:
			t.Fatalf("folio %d: order %d at %d in a file of %d pages", i, f.Order(), f.Index(), as.Size())
		case f.Mapping() != as.ID() || !f.Test(folio.PGUptodate) || f.RefCount() < int32(nr)+1 || f.Poisoned():
			t.Fatalf("folio %d: %v", i, f)
		}
		next += nr
	}
	if !out[len(out)-1].Contains(last) {
		t.Fatalf("last folio %v does not hold %d", out[len(out)-1], last)
	}
}

func TestRead(t *testing.T) {
	e := newEnv(t, 1<<13)
	as := e.file(1029)
	out, err := as.Read(0, 1029, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCover(t, as, out, 0, 1028, 9)
	if out[0].Order() != 9 || out[1].Order() != 9 || out[len(out)-1].Order() != 0 {
		t.Fatalf("orders %d, %d, …, %d: want 9, 9 and small near EOF", out[0].Order(), out[1].Order(), out[len(out)-1].Order())
	}
	putAll(out)
	check(t, as)
	if as.NrPages() != 1029 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
	// Cached now: the same folios, nothing allocated.
	free := e.m.FreePages()
	again, err := as.Read(0, 1029, nil)
	if err != nil || len(again) != len(out) || e.m.FreePages() != free {
		t.Fatalf("second read: %d folios, %v; FreePages %d, want %d", len(again), err, e.m.FreePages(), free)
	}
	for i := range out {
		if again[i] != out[i] {
			t.Fatalf("folio %d changed", i)
		}
	}
	putAll(again)
	// Clipped at EOF; nothing beyond it.
	if tail, err := as.Read(1028, 100, nil); err != nil || len(tail) != 1 {
		t.Fatalf("Read(1028, 100): %d folios, %v", len(tail), err)
	} else {
		putAll(tail)
	}
	if none, err := as.Read(1029, 5, nil); err != nil || len(none) != 0 {
		t.Fatalf("Read at EOF: %d, %v", len(none), err)
	}
	if none, err := as.Read(3, 0, nil); err != nil || len(none) != 0 {
		t.Fatalf("Read of 0 pages: %d, %v", len(none), err)
	}
	// "To the end of the file": a count so large that index+count wraps
	// must still be clipped at EOF, not wrap below index.
	if rest, err := as.Read(1000, math.MaxUint64, nil); err != nil || len(rest) == 0 {
		t.Errorf("Read(1000, MaxUint64): %d folios, %v; want the folios up to EOF "+
			"(index+count-1 wraps around in Read's clipping)", len(rest), err)
	} else {
		wantCover(t, as, rest, 1000, 1028, 9)
		putAll(rest)
	}

	// Unaligned and small reads get small folios; random reads fill a
	// file whose folios all obey the rules.
	as2 := e.file(5000)
	out, err = as2.Read(3, 1, nil)
	if err != nil || len(out) != 1 || out[0].Order() != 0 || out[0].Index() != 3 {
		t.Fatalf("Read(3, 1): %v, %v", out, err)
	}
	putAll(out)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		index, count := rng.Uint64N(5000), 1+rng.Uint64N(700)
		out, err := as2.Read(index, count, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantCover(t, as2, out, index, min(index+count, 5000)-1, 9)
		putAll(out)
		check(t, as2)
	}
	as3 := e.file(4096, WithMaxOrder(2))
	out, err = as3.Read(0, 4096, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCover(t, as3, out, 0, 4095, 2)
	putAll(out)
	e.finish(0)
}

// TestReadUnderPressure: a file four times the size of memory, with a
// second tenant holding some of it, reads through by reclaiming.
func TestReadUnderPressure(t *testing.T) {
	e := newEnv(t, 1<<11)
	z := folio.NewZsmalloc(e.m)
	z.Grow(300)
	as := e.file(1 << 13)
	other := e.file(1 << 12)
	for i := uint64(0); i < 1<<13; i += 256 {
		out, err := as.Read(i, 256, nil)
		if err != nil {
			t.Fatalf("Read(%d, 256) under pressure: %v", i, err)
		}
		wantCover(t, as, out, i, i+255, 9)
		putAll(out)
		if i%1024 == 0 {
			read(t, other, i/2, 100)
			check(t, as)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		f, index := as, rng.Uint64N(1<<13)
		if rng.IntN(3) == 0 {
			f, index = other, index/2
		}
		count := 1 + rng.Uint64N(300)
		out, err := f.Read(index, count, nil)
		if err != nil {
			t.Fatalf("Read(%d, %d) under pressure: %v", index, count, err)
		}
		wantCover(t, f, out, index, min(index+count, f.Size())-1, 9)
		putAll(out)
	}
	check(t, as)
	check(t, other)
	shadows := 0
	for _, e := range as.Pages().Range(0, 1<<13) {
		if e.IsValue() {
			shadows++
		}
	}
	if shadows == 0 || as.NrPages()+other.NrPages() > int64(e.m.Pages()) {
		t.Fatalf("%d shadow entries, nrpages %d + %d", shadows, as.NrPages(), other.NrPages())
	}
	z.Shrink(z.Len())
	e.finish(0)
}

// TestReadNoMemory: with large allocations failing Read falls back to
// single pages; with every allocation failing it reports ErrNoMemory
// and caches nothing.
func TestReadNoMemory(t *testing.T) {
	e := newEnv(t, 1<<12)
	fl := folio.NewFaults(9)
	as := e.file(2048)
	e.m.SetFaults(fl)
	fl.SetMinOrder(1)
	fl.SetProbability(1)
	out, err := as.Read(0, 600, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCover(t, as, out, 0, 599, 0)
	putAll(out)
	check(t, as)
	fl.SetMinOrder(0)
	out, err = as.Read(1024, 600, nil)
	if !errors.Is(err, folio.ErrNoMemory) || len(out) != 0 {
		t.Fatalf("Read with no memory: %d folios, %v", len(out), err)
	}
	check(t, as)
	if as.NrPages() > 600 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
	e.m.SetFaults(nil)
	read(t, as, 1024, 600)
	e.finish(0)
}

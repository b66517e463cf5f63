// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"testing"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/xarray"
)

func TestGetEntry(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	f := add(t, as, 0, 3)
	g := add(t, as, 4, 16)
	add(t, as, 0, 40)
	shadow := evict(t, as, 40)

	if got := as.GetEntry(2); got != xarray.Null {
		t.Fatalf("hole: %v", got)
	}
	if got := as.GetEntry(40); got != shadow {
		t.Fatalf("shadow: %v, want %v", got, shadow)
	}
	if got := as.GetEntry(3); got != f.Entry() || f.RefCount() != 2 {
		t.Fatalf("folio: %v, count %d", got, f.RefCount())
	}
	f.Put()
	for i := uint64(16); i < 32; i++ {
		if got := as.GetEntry(i); got != g.Entry() {
			t.Fatalf("index %d of an order-4 folio: %v", i, got)
		}
	}
	if g.RefCount() != 16+16 {
		t.Fatalf("count %d after 16 lookups", g.RefCount())
	}
	g.PutRefs(16)
	if got := as.GetEntry(32); got != xarray.Null {
		t.Fatalf("after the order-4 folio: %v", got)
	}
	check(t, as)

	// GetFolio: a shadow is not a folio; references balance.
	if x := as.GetFolio(40, false); !x.IsNil() {
		t.Fatalf("GetFolio of a shadow: %v", x)
	}
	if x := as.GetFolio(41, true); !x.IsNil() {
		t.Fatalf("GetFolio of a hole: %v", x)
	}
	x := as.GetFolio(20, false)
	if x != g || x.Locked() || g.RefCount() != 17 {
		t.Fatalf("GetFolio(20, false): %v", x)
	}
	x.Put()
	x = as.GetFolio(21, true)
	if x != g || !x.Locked() || !x.Contains(21) || g.RefCount() != 17 {
		t.Fatalf("GetFolio(21, true): %v", x)
	}
	x.Unlock()
	x.Put()
	if g.RefCount() != 16 || f.RefCount() != 1 {
		t.Fatalf("references do not balance: %d, %d", g.RefCount(), f.RefCount())
	}
	check(t, as)
	e.finish(0)
}

// TestGetFolioTruncatedWhileWaiting: a lookup that sleeps on the folio
// lock while the folio is removed re-checks the mapping, drops it, and
// finds what is there now.
func TestGetFolioTruncatedWhileWaiting(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	e := newEnv(t, 1<<12)
	as := e.file(1 << 10)
	add(t, as, 0, 7)
	held := as.GetFolio(7, true)
	got := make(chan folio.Folio)
	go func() { got <- as.GetFolio(7, true) }()
	for deadline := time.Now().Add(5 * time.Second); !held.Test(folio.PGWaiters); {
		if time.Now().After(deadline) {
			t.Fatal("the lookup never waited for the lock")
		}
		time.Sleep(time.Millisecond)
	}
	// Remove it and put another folio there before unlocking.
	as.RemoveFolio(held)
	check(t, as)
	h := alloc(t, e.m, 0)
	h.Lock()
	if _, err := as.AddFolio(h, 7); err != nil {
		t.Fatal(err)
	}
	h.Unlock()
	h.Put()
	held.Unlock()
	x := <-got
	if x != h || !x.Locked() || x.Mapping() != as.ID() {
		t.Fatalf("lookup after the truncation returned %v, want %v", x, h)
	}
	held.Put()
	if !held.Poisoned() {
		t.Fatalf("the removed folio was not freed: %v", held)
	}
	x.Unlock()
	x.Put()
	check(t, as)
	e.finish(0)
}

func putAll(fs []folio.Folio) {
	for _, f := range fs {
		f.Put()
	}
}

func TestGetReadBatch(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1<<10, WithMaxOrder(0))
	read(t, as, 0, 1024)
	if as.NrPages() != 1024 {
		t.Fatalf("nrpages %d", as.NrPages())
	}
	for _, n := range []int{16, 64, 256} {
		for _, start := range []uint64{0, 1, 333, 1024 - uint64(n)} {
			b := as.GetReadBatch(start, 1023, make([]folio.Folio, 0, n))
			if len(b) != n {
				t.Fatalf("batch of %d from %d: %d folios", n, start, len(b))
			}
			for i, f := range b {
				if f.Index() != start+uint64(i) || f.RefCount() != 2 || f.Mapping() != as.ID() {
					t.Fatalf("batch of %d from %d: folio %d: %v", n, start, i, f)
				}
			}
			putAll(b)
		}
	}
	// It stops at max, at the end of the file, at a hole, at a shadow,
	// and after a folio that is not uptodate.
	batch := make([]folio.Folio, 0, 64)
	if b := as.GetReadBatch(0, 9, batch); len(b) != 10 {
		t.Fatalf("max 9: %d folios", len(b))
	} else {
		putAll(b)
	}
	if b := as.GetReadBatch(1000, 5000, batch); len(b) != 24 {
		t.Fatalf("from 1000: %d folios", len(b))
	} else {
		putAll(b)
	}
	f := as.GetFolio(40, true)
	as.RemoveFolio(f)
	f.Unlock()
	f.Put()
	if b := as.GetReadBatch(32, 1023, batch); len(b) != 8 {
		t.Fatalf("hole at 40: %d folios from 32", len(b))
	} else {
		putAll(b)
	}
	if b := as.GetReadBatch(40, 1023, batch); len(b) != 0 {
		t.Fatalf("from the hole: %d folios", len(b))
	}
	evict(t, as, 50)
	if b := as.GetReadBatch(41, 1023, batch); len(b) != 9 {
		t.Fatalf("shadow at 50: %d folios from 41", len(b))
	} else {
		putAll(b)
	}
	g := as.GetFolio(60, false)
	g.Clear(folio.PGUptodate)
	if b := as.GetReadBatch(51, 1023, batch); len(b) != 10 || b[9] != g {
		t.Fatalf("not uptodate at 60: %d folios from 51", len(b))
	} else {
		putAll(b)
	}
	g.Set(folio.PGUptodate)
	g.Put()
	check(t, as)

	// Large folios: each once, the first the one holding the start.
	as2 := e.file(3000)
	out := read(t, as2, 0, 3000)
	b := as2.GetReadBatch(100, 2999, make([]folio.Folio, 0, 256))
	if len(b) != len(out) {
		t.Fatalf("batch over %d folios: %d", len(out), len(b))
	}
	for i := range b {
		if b[i] != out[i] {
			t.Fatalf("batch folio %d: %v, want %v", i, b[i], out[i])
		}
	}
	if b[0].Order() != 9 || !b[0].Contains(100) {
		t.Fatalf("first folio: %v", b[0])
	}
	putAll(b)
	b = as2.GetReadBatch(600, 1100, b)
	if len(b) != 2 || !b[0].Contains(600) || !b[1].Contains(1100) {
		t.Fatalf("batch 600..1100: %v", b)
	}
	putAll(b)
	check(t, as2)
	e.finish(0)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/rcu"
	"github.com/xabench/xabench/xarray"
)

// duration is how long the concurrent test runs:
// go test ./folio/filemap -run Concurrent -args -filemap.duration=60s
var duration = flag.Duration("filemap.duration", 0, "run the concurrent page-cache test for this long (default a few seconds)")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is one test's memory: a warmed memmap and what it held at the
// start, so that finish can check that everything came back.
type env struct {
	t     testing.TB
	m     *folio.Memmap
	free  int64
	nodes int64
	files []*AddressSpace
}

// newEnv returns a memmap of the given size, warmed by allocating and
// freeing folios of mixed orders so that page frame numbers no longer
// follow file indices (on a fresh memmap the buddy allocator hands out
// blocks in address order, which can hide a wrong pfn/index mix-up).
func newEnv(t testing.TB, pages int, opts ...folio.Option) *env {
	t.Helper()
	m := folio.NewMemmap(pages, opts...)
	warm(m)
	rcu.Barrier()
	return &env{t: t, m: m, free: m.FreePages(), nodes: xarray.NodeCacheStats().InUse}
}

func warm(m *folio.Memmap) {
	rng := rand.New(rand.NewPCG(uint64(m.Pages()), 3))
	var fs []folio.Folio
	for i := range 48 {
		o := uint(0)
		if i%6 == 0 {
			o = uint(1 + i%5)
		}
		if f, err := m.Alloc(o); err == nil {
			fs = append(fs, f)
		}
	}
	rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	for _, f := range fs {
		f.Put()
	}
}

// file returns a new page cache of size pages in the env's memmap.
func (e *env) file(size uint64, opts ...Option) *AddressSpace {
	as := New(e.m, size, opts...)
	e.files = append(e.files, as)
	return as
}

// finish closes every file and checks the memmap's accounting: no bad
// page, every page free again but the held ones the test still owns, and
// every XArray node back in the node cache.
func (e *env) finish(held int64) {
	t := e.t
	t.Helper()
	for _, as := range e.files {
		check(t, as)
		as.Close()
		if as.NrPages() != 0 || !as.Pages().Empty() {
			t.Errorf("after Close: nrpages %d, head %v", as.NrPages(), as.Pages().Head())
		}
		check(t, as)
		if Lookup(as.ID()) != nil {
			t.Errorf("Lookup finds a closed file")
		}
	}
	e.m.DrainPCP()
	rcu.Barrier()
	if n, reports := e.m.BadPages(); n != 0 {
		t.Errorf("%d bad_page reports; first: %v", n, reports[0])
	}
	if got, want := e.m.FreePages(), e.free-held; got != want {
		t.Errorf("FreePages %d, want %d (%d at the start, %d still held)", got, want, e.free, held)
	}
	if got := xarray.NodeCacheStats().InUse; got != e.nodes {
		t.Errorf("XArray nodes in use: %d, %d at the start", got, e.nodes)
	}
}

// check runs the page-cache validator.
func check(t testing.TB, as *AddressSpace) {
	t.Helper()
	if err := as.Check(); err != nil {
		t.Fatal(err)
	}
}

// add allocates a folio of the given order, uptodate, and adds it at
// index; the page cache's references are the only ones left.
func add(t testing.TB, as *AddressSpace, order uint, index uint64) folio.Folio {
	t.Helper()
	f := alloc(t, as.Memmap(), order)
	f.Lock()
	f.Set(folio.PGUptodate)
	if _, err := as.AddFolio(f, index); err != nil {
		t.Fatalf("AddFolio(order %d, %#x): %v", order, index, err)
	}
	f.Unlock()
	f.Put()
	check(t, as)
	return f
}

func alloc(t testing.TB, m *folio.Memmap, order uint) folio.Folio {
	t.Helper()
	f, err := m.Alloc(order)
	if err != nil {
		t.Fatalf("Alloc(%d): %v", order, err)
	}
	return f
}

// read reads [index, index+count) and drops the references; it returns
// the folios it got.
func read(t testing.TB, as *AddressSpace, index, count uint64) []folio.Folio {
	t.Helper()
	out, err := as.Read(index, count, nil)
	if err != nil {
		t.Fatalf("Read(%#x, %d): %v", index, count, err)
	}
	for _, f := range out {
		f.Put()
	}
	check(t, as)
	return out
}

// at returns the folio the page cache names at index, or a nil Folio.
func at(as *AddressSpace, index uint64) folio.Folio {
	e := as.Pages().Load(index)
	if !e.IsPointer() {
		return folio.Folio{}
	}
	return as.Memmap().FromEntry(e)
}

// evict reclaims the folio at index, leaving a shadow entry, as Reclaim
// does for the folios it isolates.
func evict(t testing.TB, as *AddressSpace, index uint64) xarray.Entry {
	t.Helper()
	f := as.GetFolio(index, true)
	if f.IsNil() {
		t.Fatalf("evict: no folio at %#x", index)
	}
	if !as.removeMapping(f, true) {
		t.Fatalf("evict: folio at %#x is busy: %v", index, f)
	}
	f.Unlock()
	f.FreeFrozen()
	check(t, as)
	e := as.Pages().Load(index)
	if !e.IsValue() {
		t.Fatalf("evict: index %#x holds %v, want a shadow", index, e)
	}
	return e
}

// mustBug fails the test unless fn panics with a *folio.Bug.
func mustBug(t testing.TB, fn func()) *folio.Bug {
	t.Helper()
	var b *folio.Bug
	func() {
		defer func() {
			if r := recover(); r != nil {
				var ok bool
				if b, ok = r.(*folio.Bug); !ok {
					panic(r)
				}
			}
		}()
		fn()
	}()
	if b == nil {
		t.Fatal("no kernel BUG")
	}
	return b
}

// runFor returns how long a concurrent test runs.
func runFor(def time.Duration) time.Duration {
	if *duration > 0 {
		return *duration
	}
	if testing.Short() {
		return def / 4
	}
	return def
}

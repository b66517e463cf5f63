// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/rcu"
)

const benchPages = 1 << 16

// cachedFile returns a file of benchPages pages cached as order-0 folios.
func cachedFile(b *testing.B) *AddressSpace {
	b.Helper()
	m := folio.NewMemmap(benchPages + benchPages/2)
	warm(m)
	as := New(m, benchPages, WithMaxOrder(0))
	out, err := as.Read(0, benchPages, nil)
	if err != nil {
		b.Fatal(err)
	}
	putAll(out)
	if as.NrPages() != benchPages {
		b.Fatalf("nrpages %d", as.NrPages())
	}
	return as
}

func closeFile(b *testing.B, as *AddressSpace) {
	as.Close()
	rcu.Barrier()
	if n, r := as.Memmap().BadPages(); n != 0 {
		b.Fatal(r[0])
	}
}

// BenchmarkGetEntry compares the speculative lookup (filemap_get_entry
// and the folio_put that ends it) with a plain XArray Load of the same
// mapping, at the same indices, in one run: the ratio of the two is the
// cost of folio_try_get + xas_reload + folio_put. "seq" walks the file in
// index order (the nodes and struct pages stay in cache: the ratio is
// the instructions and atomics); "random" visits a fixed permutation of
// the 64K indices (each lookup also misses on its struct page, which a
// Load never touches).
func BenchmarkGetEntry(b *testing.B) {
	as := cachedFile(b)
	defer closeFile(b, as)
	perm := rand.New(rand.NewPCG(1, 2)).Perm(benchPages)
	random := make([]uint64, len(perm))
	seq := make([]uint64, len(perm))
	for i, p := range perm {
		random[i] = uint64(p)
		seq[i] = uint64(i)
	}
	m := as.Memmap()
	xa := as.Pages()
	for _, order := range []struct {
		name string
		idx  []uint64
	}{{"seq", seq}, {"random", random}} {
		idx := order.idx
		b.Run(order.name+"/GetEntry", func(b *testing.B) {
			i := 0
			for b.Loop() {
				e := as.GetEntry(idx[i&(benchPages-1)])
				m.FromEntry(e).Put()
				i++
			}
		})
		b.Run(order.name+"/Load", func(b *testing.B) {
			i := 0
			var sink uint64
			for b.Loop() {
				sink += uint64(xa.Load(idx[i&(benchPages-1)]))
				i++
			}
			if sink == 0 {
				b.Fatal("nothing loaded")
			}
		})
	}
}

// BenchmarkGetReadBatch is filemap_get_read_batch of 16, 64 and 256
// order-0 folios, and the puts that release them.
func BenchmarkGetReadBatch(b *testing.B) {
	as := cachedFile(b)
	defer closeFile(b, as)
	for _, n := range []int{16, 64, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			batch := make([]folio.Folio, 0, n)
			start := uint64(0)
			for b.Loop() {
				batch = as.GetReadBatch(start, start+uint64(n)-1, batch)
				if len(batch) != n {
					b.Fatalf("batch of %d at %d: %d", n, start, len(batch))
				}
				putAll(batch)
				start = (start + uint64(n)) % (benchPages - uint64(n))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/page")
		})
	}
}

// BenchmarkAddDelete is the throughput of filemap_add_folio and
// filemap_remove_folio of order-0 folios (with the allocation and free
// of each) at the even indices of a file whose odd indices are cached,
// so that the tree keeps its nodes.
func BenchmarkAddDelete(b *testing.B) {
	m := folio.NewMemmap(benchPages)
	warm(m)
	as := New(m, benchPages)
	defer closeFile(b, as)
	for i := uint64(1); i < benchPages; i += 2 {
		f, err := m.Alloc(0)
		if err != nil {
			b.Fatal(err)
		}
		f.Lock()
		if _, err := as.AddFolio(f, i); err != nil {
			b.Fatal(err)
		}
		f.Unlock()
		f.Put()
	}
	// Off the LRU list, so that draining its stale entries below never
	// isolates them.
	for _, f := range m.LRU().Isolate(m, benchPages) {
		f.Put()
	}
	i := uint64(0)
	for b.Loop() {
		f, err := m.Alloc(0)
		if err != nil {
			b.Fatal(err)
		}
		f.Lock()
		if _, err := as.AddFolio(f, i); err != nil {
			b.Fatal(err)
		}
		as.RemoveFolio(f)
		f.Unlock()
		f.Put()
		i = (i + 2) & (benchPages - 1)
		if i == 0 {
			m.LRU().Isolate(m, 1) // drops the stale entries of freed folios
		}
	}
	if err := as.Check(); err != nil {
		b.Fatal(err)
	}
}

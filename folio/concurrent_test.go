// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

// TestConcurrentAllocFree: goroutines allocate and free folios of orders
// 0..3 while others take speculative references on random page frames,
// as stale page-cache readers do. Each owner tags its folio and checks
// the tag while it holds it; a reader that gets a reference never sees a
// free page. At the end every page is back and the buddies merged.
func TestConcurrentAllocFree(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	const pages = 1 << 13
	m := NewMemmap(pages)
	blocks := m.FreeBlocks()
	free := m.FreePages()
	dur := 500 * time.Millisecond
	if testing.Short() {
		dur = 100 * time.Millisecond
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var allocs, frees, gets, failed atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			tag := uint64(w + 1)
			var held []Folio
			for !stop.Load() {
				if len(held) < 64 && rng.IntN(3) != 0 {
					f, err := m.Alloc(uint(rng.IntN(4)))
					if err != nil {
						failed.Add(1)
						continue
					}
					allocs.Add(1)
					if f.Poisoned() || f.Private() != 0 {
						t.Errorf("fresh folio: %v", f)
					}
					f.SetPrivate(tag)
					f.Set(PGUptodate)
					held = append(held, f)
					continue
				}
				if len(held) == 0 {
					continue
				}
				i := rng.IntN(len(held))
				f := held[i]
				held[i] = held[len(held)-1]
				held = held[:len(held)-1]
				if f.Private() != tag || f.Poisoned() {
					t.Errorf("owner %d: folio changed under it: %v", tag, f)
				}
				f.SetPrivate(0)
				f.Put()
				frees.Add(1)
			}
			for _, f := range held {
				f.SetPrivate(0)
				f.Put()
			}
		}()
	}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for !stop.Load() {
				f := m.Folio(uint32(1 + rng.IntN(pages-1)))
				if !f.TryGet() {
					continue
				}
				gets.Add(1)
				if f.Poisoned() || f.RefCount() < 1 {
					t.Errorf("TryGet succeeded on a free page: %v", f)
				}
				f.Put()
			}
		}()
	}
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	if allocs.Load() == 0 || frees.Load() == 0 || gets.Load() == 0 {
		t.Fatalf("%d allocations, %d frees while running, %d speculative references: some worker did nothing",
			allocs.Load(), frees.Load(), gets.Load())
	}
	t.Logf("%d allocations (%d failed), %d frees while running, %d speculative references",
		allocs.Load(), failed.Load(), frees.Load(), gets.Load())
	m.DrainPCP()
	if got := m.FreePages(); got != free {
		t.Fatalf("FreePages %d, want %d", got, free)
	}
	if got := m.FreeBlocks(); got != blocks {
		t.Fatalf("FreeBlocks %v, want %v", got, blocks)
	}
	noBadPages(t, m)
}

// TestConcurrentExhaustion: several goroutines run a small memmap out of
// memory together; order-0 allocations take pages from other CPUs'
// lists, and all the pages are accounted for at the end.
func TestConcurrentExhaustion(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	m := NewMemmap(1 << 10)
	free := m.FreePages()
	var wg sync.WaitGroup
	var total atomic.Int64
	held := make([][]Folio, 4)
	for w := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				f, err := m.Alloc(0)
				if err != nil {
					return
				}
				held[w] = append(held[w], f)
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	if total.Load() != free {
		t.Fatalf("allocated %d order-0 pages concurrently, %d were free", total.Load(), free)
	}
	for _, h := range held {
		for _, f := range h {
			f.Put()
		}
	}
	m.DrainPCP()
	if m.FreePages() != free {
		t.Fatalf("FreePages %d, want %d", m.FreePages(), free)
	}
	noBadPages(t, m)
}

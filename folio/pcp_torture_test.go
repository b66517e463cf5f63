// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

// newTortureMemmap returns a memmap of n pages with the given number of
// per-CPU lists (0: one per P, as NewMemmap makes them). tagged false
// drops the tag from the lists' head words; yield makes every pop yield
// between reading the top page's link and the compare-and-swap, which
// widens the window in which the tag matters.
func newTortureMemmap(n, lists int, tagged, yield bool, opts ...Option) *Memmap {
	m := NewMemmap(n, opts...)
	if lists > 0 {
		m.pcp = make([]pcpList, lists)
	}
	for i := range m.pcp {
		m.pcp[i].tag = 0
		if tagged {
			m.pcp[i].tag = pcpTagOne
		}
		m.pcp[i].yield = yield
	}
	return m
}

// tortureResult is what a pcpTorture run saw.
type tortureResult struct {
	allocs, frees, failed int64
	violations            int64
	first                 string        // the first violation
	firstAfter            time.Duration // when it was seen
}

// pcpTorture runs workers goroutines that allocate and free order-0 pages
// of m for up to dur, holding each for a random time, and checks that no
// page is handed out twice: an owner table records each allocated pfn
// with an atomic swap that must find it unowned, and the owner stamps
// the page's index word and checks the stamp when it frees the page. A
// bad_page report, a kernel BUG or any other panic is a violation too. With stopAtViolation the
// run ends at the first violation, leaving the memmap as it is;
// otherwise the workers free what they hold at the end.
func pcpTorture(m *Memmap, workers int, dur time.Duration, stopAtViolation bool) *tortureResult {
	var (
		res    tortureResult
		mu     sync.Mutex
		stop   atomic.Bool
		wg     sync.WaitGroup
		start  = time.Now()
		owner  = make([]atomic.Int32, m.Pages())
		allocs atomic.Int64
		frees  atomic.Int64
		failed atomic.Int64
	)
	violate := func(format string, args ...any) {
		mu.Lock()
		if res.violations == 0 {
			res.first = fmt.Sprintf(format, args...)
			res.firstAfter = time.Since(start)
		}
		res.violations++
		mu.Unlock()
		if stopAtViolation {
			stop.Store(true)
		}
	}
	m.onBad = func(report string) { violate("bad_page: %s", report) }
	type held struct {
		f     Folio
		stamp uint64
	}
	for w := int32(1); w <= int32(workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					violate("worker %d panicked: %v", w, r)
				}
			}()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var mine []held
			var seq uint64
			put := func(i int) {
				h := mine[i]
				mine[i] = mine[len(mine)-1]
				mine = mine[:len(mine)-1]
				pfn := h.f.PFN()
				if got := h.f.Index(); got != h.stamp {
					violate("worker %d: page %#x changed under its owner: stamp %#x, want %#x: %v",
						w, pfn, got, h.stamp, h.f)
				}
				h.f.SetIndex(0)
				if !owner[pfn].CompareAndSwap(w, 0) {
					violate("worker %d: page %#x was taken from it by worker %d", w, pfn, owner[pfn].Load())
				}
				h.f.Put()
				frees.Add(1)
			}
			maxHold := 8 + rng.IntN(150)
			for !stop.Load() {
				switch {
				case len(mine) < maxHold && (len(mine) == 0 || rng.IntN(2) == 0):
					f, err := m.Alloc(0)
					if err != nil {
						failed.Add(1)
						runtime.Gosched()
						continue
					}
					allocs.Add(1)
					pfn := f.PFN()
					if prev := owner[pfn].Swap(w); prev != 0 {
						violate("page %#x handed out twice: to worker %d while worker %d holds it", pfn, w, prev)
						continue // do not free it: the other owner will
					}
					if f.RefCount() != 1 || f.Poisoned() || f.Index() != 0 || f.Private() != 0 ||
						f.Mapping() != 0 || f.MapCount() != 0 || f.Flags() != 0 {
						violate("worker %d: not a fresh page: %v", w, f)
					}
					seq++
					stamp := uint64(w)<<32 | seq
					f.SetIndex(stamp)
					mine = append(mine, held{f, stamp})
				case len(mine) > 0:
					put(rng.IntN(len(mine)))
				}
				// Random holding times: most operations follow at once,
				// some after a yield or a short spin.
				switch rng.IntN(16) {
				case 0:
					runtime.Gosched()
				case 1:
					for range rng.IntN(200) {
						_ = owner[0].Load()
					}
				case 2:
					if rng.IntN(64) == 0 {
						maxHold = 8 + rng.IntN(150) // bursts: the lists overflow to the zone and refill
					}
				}
			}
			if stopAtViolation {
				return
			}
			for len(mine) > 0 {
				put(len(mine) - 1)
			}
		}()
	}
	deadline := time.Now().Add(dur)
	for !stop.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	res.allocs, res.frees, res.failed = allocs.Load(), frees.Load(), failed.Load()
	return &res
}

// raiseProcs sets GOMAXPROCS to at least 4 for the test, so that the
// workers run on several Ps even on a small machine, and restores it.
func raiseProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0)))
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// TestPCPTorture hammers order-0 allocation and free from more
// goroutines than Ps, on the lock-free per-CPU lists as NewMemmap makes
// them and on a single list that every goroutine shares with a pop that
// yields in the middle, and checks that no page is handed out twice and
// that every page comes back: the free count, the buddy blocks and the
// poison.
func TestPCPTorture(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	raiseProcs(t)
	dur := 400 * time.Millisecond
	if testing.Short() {
		dur = 100 * time.Millisecond
	}
	for _, c := range []struct {
		name  string
		lists int
		yield bool
	}{
		{"per-P", 0, false},
		{"shared-yield", 1, true},
		{"two-lists", 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newTortureMemmap(1<<9, c.lists, true, c.yield)
			blocks := m.FreeBlocks()
			free := m.FreePages()
			res := pcpTorture(m, 8, dur, false)
			if res.violations != 0 {
				t.Fatalf("%d violations, the first after %v: %s", res.violations, res.firstAfter, res.first)
			}
			if res.allocs == 0 || res.frees != res.allocs {
				t.Fatalf("%d allocations, %d frees", res.allocs, res.frees)
			}
			t.Logf("%d allocations (%d failed for want of memory), every one checked", res.allocs, res.failed)
			if got := m.FreePages(); got != free {
				t.Fatalf("FreePages %d before draining, want %d", got, free)
			}
			m.DrainPCP()
			if got := m.FreePages(); got != free {
				t.Fatalf("FreePages %d, want %d", got, free)
			}
			if got := m.FreeBlocks(); got != blocks {
				t.Fatalf("FreeBlocks %v, want %v", got, blocks)
			}
			for pfn := 1; pfn < m.Pages(); pfn++ {
				if f := (Folio{m, uint32(pfn)}); !f.Poisoned() || f.Mapping() != Poison || f.RefCount() != 0 {
					t.Fatalf("page %#x not free and poisoned: %v", pfn, f)
				}
			}
			noBadPages(t, m)
		})
	}
}

// TestPCPTortureNeedsTag runs the shared-list torture with the tag
// dropped from the head word and requires it to fail: a pop that read
// the top page's link, yielded, and found the same page on top again
// installs a stale link, and a page is handed out twice or lost. This
// is the evidence that the tag is what keeps the lists correct.
func TestPCPTortureNeedsTag(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	raiseProcs(t)
	const bound = 10 * time.Second
	m := newTortureMemmap(1<<9, 1, false, true)
	res := pcpTorture(m, 8, bound, true)
	if res.violations == 0 {
		t.Fatalf("no violation in %v (%d allocations) with the tag dropped: the torture does not reach the ABA window",
			bound, res.allocs)
	}
	t.Logf("without the tag: first violation after %v and %d allocations: %s", res.firstAfter, res.allocs, res.first)
}

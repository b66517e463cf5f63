// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/internal/watchdog"
)

// failures collects what concurrent workers report, up to 20 messages,
// and tells them all to stop at the first.
type failures struct {
	stop atomic.Bool
	mu   sync.Mutex
	errs []string
}

func (f *failures) fail(format string, args ...any) {
	f.mu.Lock()
	if len(f.errs) < 20 {
		f.errs = append(f.errs, fmt.Sprintf(format, args...))
	}
	f.mu.Unlock()
	f.stop.Store(true)
}

func (f *failures) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// hammer runs the ops concurrently, each in its own goroutine and in a
// loop, for dur, and reports what failed. Each op must complete at least
// one call while the run is on: an op starved for the whole run raced
// with nothing.
func hammer(t *testing.T, dur time.Duration, ops ...func(rng *rand.Rand, fail func(string, ...any))) {
	t.Helper()
	var (
		fl    failures
		wg    sync.WaitGroup
		stop  = &fl.stop
		fail  = fl.fail
		calls = make([]atomic.Int64, len(ops))
	)
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					fail("op %d: panic: %v\n%s", i, r, debug.Stack())
				}
			}()
			rng := rand.New(rand.NewPCG(uint64(i), 0xbeef))
			for !stop.Load() {
				op(rng, fail)
				if !stop.Load() {
					calls[i].Add(1)
				}
			}
		}()
	}
	deadline := time.Now().Add(dur)
	for !stop.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	msgs := fl.messages()
	for _, msg := range msgs {
		t.Error(msg)
	}
	if len(msgs) > 0 {
		return // a failure stops the run early: the counts mean nothing
	}
	for i := range calls {
		if calls[i].Load() == 0 {
			t.Errorf("no progress: op %d of %d completed no call in %v", i, len(ops), dur)
		}
	}
}

// lookupChecker returns an op that looks up random indices in [0, n)
// with GetEntry and GetReadBatch and checks that every folio it gets
// holds the index it was returned for (bugs.md B3: a reader must find
// the frozen original or the right piece, never another piece).
func lookupChecker(as *AddressSpace, n uint64, hits *atomic.Int64) func(*rand.Rand, func(string, ...any)) {
	batch := make([]folio.Folio, 0, 8)
	return func(rng *rand.Rand, fail func(string, ...any)) {
		i := rng.Uint64N(n)
		if rng.IntN(2) == 0 {
			e := as.GetEntry(i)
			if !e.IsPointer() {
				return
			}
			f := as.Memmap().FromEntry(e)
			if !f.Contains(i) || f.Poisoned() || (f.Mapping() != as.ID() && f.Mapping() != 0) {
				fail("GetEntry(%d) returned a folio that does not hold it:\n%v", i, f)
			}
			f.Put()
			hits.Add(1)
			return
		}
		batch = as.GetReadBatch(i, n-1, batch)
		next := i
		for k, f := range batch {
			if k > 0 {
				next = batch[k-1].Index() + batch[k-1].NrPages()
			}
			if !f.Contains(next) || f.Poisoned() || (f.Mapping() != as.ID() && f.Mapping() != 0) {
				fail("GetReadBatch(%d): folio %d does not hold index %d:\n%v", i, k, next, f)
			}
		}
		putAll(batch)
		hits.Add(int64(len(batch)))
	}
}

// TestSplitRacesLookup splits order-9 folios, uniformly and
// non-uniformly at random indices, under lookups of every index of the
// range (bugs.md B3, fixed by 577a1f495fd7).
func TestSplitRacesLookup(t *testing.T) {
	dur := runFor(time.Second)
	watchdog.Start(t, dur+watchdog.Default)
	e := newEnv(t, 1<<12)
	as := e.file(512)
	var hits, splits, busy atomic.Int64
	hammer(t, dur,
		func(rng *rand.Rand, fail func(string, ...any)) {
			as.TruncateRange(0, 511)
			out, err := as.Read(0, 512, nil)
			if err != nil {
				fail("Read: %v", err)
				return
			}
			putAll(out)
			f := as.GetFolio(0, true)
			if f.IsNil() {
				return
			}
			if f.Order() == 9 {
				at, uniform, newOrder := rng.Uint64N(512), rng.IntN(3) == 0, uint(rng.IntN(9))
				// The lookups hold references most of the time: retry
				// until the freeze succeeds.
				err := ErrBusy
				for try := 0; try < 1000 && err == ErrBusy; try++ {
					if uniform {
						err = as.Split(f, newOrder)
					} else {
						err = as.SplitAt(f, at, newOrder)
					}
					if err == ErrBusy {
						busy.Add(1)
						runtime.Gosched()
					}
				}
				if err == nil {
					splits.Add(1)
				} else if err != ErrBusy {
					fail("split: %v", err)
				}
				if err := as.Check(); err != nil {
					fail("after split: %v", err)
				}
			}
			f.Unlock()
			f.Put()
		},
		lookupChecker(as, 512, &hits),
		lookupChecker(as, 512, &hits),
	)
	t.Logf("%d splits (%d busy tries), %d folios looked up", splits.Load(), busy.Load(), hits.Load())
	if !t.Failed() {
		if splits.Load() == 0 {
			t.Error("no split succeeded")
		}
		if hits.Load() == 0 {
			t.Error("the lookups got no folio: they raced with nothing")
		}
	}
	e.finish(0)
}

// TestAddRacesShadowChanges adds small folios over a large shadow entry
// while reclaim, invalidation and truncation change the entry under it:
// bugs.md B1's interleavings (a) the shadow replaced by one of the same
// order, (b) the conflict gone, (c) the order grown. With the v6.10
// __filemap_add_folio the cache stays valid and lookups find only
// folios that hold their index.
func TestAddRacesShadowChanges(t *testing.T) {
	dur := runFor(time.Second)
	watchdog.Start(t, dur+watchdog.Default)
	e := newEnv(t, 1<<12)
	as := e.file(1024)
	var hits, adds, reclaimed, invalidated, truncates atomic.Int64
	hammer(t, dur,
		// Cache large folios and reclaim them: order-9 and smaller
		// shadows come and go.
		func(rng *rand.Rand, fail func(string, ...any)) {
			out, err := as.Read(rng.Uint64N(2)*512, 512, nil)
			if err != nil {
				fail("Read: %v", err)
			}
			putAll(out)
			reclaimed.Add(Reclaim(e.m, 8))
		},
		// Small reads over the shadows: order-0..3 folios added over
		// larger shadow entries, which splits them.
		func(rng *rand.Rand, fail func(string, ...any)) {
			i := rng.Uint64N(1024)
			out, err := as.Read(i, 1+rng.Uint64N(8), nil)
			if err != nil {
				fail("Read: %v", err)
			}
			for _, f := range out {
				if !f.Contains(i) && f.Index() < i {
					fail("Read(%d) returned %v", i, f)
				}
			}
			putAll(out)
			adds.Add(1)
		},
		func(rng *rand.Rand, fail func(string, ...any)) {
			i := rng.Uint64N(2) * 512
			invalidated.Add(as.InvalidatePages(i, i+511))
			time.Sleep(50 * time.Microsecond)
		},
		func(rng *rand.Rand, fail func(string, ...any)) {
			i := rng.Uint64N(1024)
			as.TruncateRange(i, i+rng.Uint64N(64))
			if err := as.Check(); err != nil {
				fail("%v", err)
			}
			truncates.Add(1)
			time.Sleep(200 * time.Microsecond)
		},
		lookupChecker(as, 1024, &hits),
	)
	t.Logf("%d small reads, %d pages reclaimed, %d pages invalidated, %d truncates, %d folios looked up",
		adds.Load(), reclaimed.Load(), invalidated.Load(), truncates.Load(), hits.Load())
	if !t.Failed() {
		for _, c := range []struct {
			what string
			n    int64
		}{
			{"small reads", adds.Load()},
			{"pages reclaimed", reclaimed.Load()},
			{"truncates", truncates.Load()},
			{"folios looked up", hits.Load()},
		} {
			if c.n == 0 {
				t.Errorf("no progress: 0 %s", c.what)
			}
		}
	}
	e.finish(0)
}

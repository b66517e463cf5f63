// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
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
	"github.com/xabench/xabench/xarray"
)

// TestConcurrent runs every page-cache path at once on a few files in
// one memmap too small for them, with a second tenant of memory taking
// and giving back pages: readers (Read and GetReadBatch) check every
// folio they get, re-checking under the folio lock as GetFolio does;
// reclaimers, truncaters, invalidators and splitters change the cache
// underneath; the validator runs periodically and at the end; the
// memmap's accounting balances once everything is closed.
//
// It runs a few seconds; -filemap.duration=60s runs it longer.
func TestConcurrent(t *testing.T) {
	dur := runFor(3 * time.Second)
	// Beyond the test's own bound on the goroutines' stopping (below),
	// so that its report comes first.
	watchdog.Start(t, dur+dur/2+watchdog.Default)
	e := newEnv(t, 1<<13)
	xf := xarray.NewFaults(11)
	xf.SetProbability(0.02) // under the lock only: recovered, or ErrNoMemory from SplitAt
	files := []*AddressSpace{
		e.file(4096, WithXArrayOptions(xarray.WithFaults(xf))),
		e.file(5000),
		e.file(6000),
	}
	z := folio.NewZsmalloc(e.m)

	var (
		fl   failures
		wg   sync.WaitGroup
		stop = &fl.stop
		fail = fl.fail
	)
	var stats struct {
		reads, readNoMem, folios, locked, batches, lookups, reclaimed, truncates,
		invalidations, invalidated, splits, splitBusy, splitNoMem, checks, zs, zsOps atomic.Int64
	}
	run := func(name string, seed uint64, op func(rng *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					fail("%s: panic: %v\n%s", name, r, debug.Stack())
				}
			}()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			for !stop.Load() {
				op(rng)
			}
		}()
	}
	pick := func(rng *rand.Rand) (*AddressSpace, uint64) {
		as := files[rng.IntN(len(files))]
		return as, rng.Uint64N(as.Size())
	}
	// checkFolios checks the folios a reader got for the range starting
	// at index: each holds a reference, so it cannot be freed, split or
	// moved; it may have been truncated meanwhile (mapping 0), never
	// another file's or another tenant's.
	checkFolios := func(who string, as *AddressSpace, fs []folio.Folio, index uint64, rng *rand.Rand, mayLock bool) {
		next := index
		for i, f := range fs {
			if i > 0 {
				next = fs[i-1].Index() + fs[i-1].NrPages()
			}
			mp := f.Mapping()
			switch {
			case f.Poisoned() || f.RefCount() < 1:
				fail("%s: got a freed folio for index %d:\n%v", who, next, f)
			case mp != as.ID() && mp != 0:
				fail("%s: got a folio of another mapping for index %d (file %d):\n%v", who, next, as.ID()>>2, f)
			case !f.Contains(next):
				fail("%s: got a folio that does not contain index %d:\n%v", who, next, f)
			}
			if mayLock && rng.IntN(8) == 0 {
				f.Lock()
				if f.Mapping() == as.ID() && !f.Contains(next) {
					fail("%s: under the lock, folio of the file does not contain index %d:\n%v", who, next, f)
				}
				f.Unlock()
				stats.locked.Add(1)
			}
			stats.folios.Add(1)
		}
	}
	counts := []uint64{1, 2, 3, 8, 16, 32, 64, 100, 256, 512}

	for i := range 3 {
		run("reader", uint64(i), func(rng *rand.Rand) {
			as, index := pick(rng)
			out, err := as.Read(index, counts[rng.IntN(len(counts))], nil)
			if err != nil {
				if !errors.Is(err, ErrNoMemory) {
					fail("Read: %v", err)
				}
				stats.readNoMem.Add(1)
			}
			checkFolios("Read", as, out, index, rng, true)
			putAll(out)
			stats.reads.Add(1)
		})
	}
	run("batch reader", 10, func(rng *rand.Rand) {
		as, index := pick(rng)
		n := 1 + rng.IntN(64)
		b := as.GetReadBatch(index, index+uint64(n)+rng.Uint64N(64), make([]folio.Folio, 0, n))
		checkFolios("GetReadBatch", as, b, index, rng, true)
		putAll(b)
		stats.batches.Add(1)
	})
	run("lookup", 11, func(rng *rand.Rand) {
		as, index := pick(rng)
		lock := rng.IntN(2) == 0
		f := as.GetFolio(index, lock)
		stats.lookups.Add(1)
		if f.IsNil() {
			return
		}
		if lock && (f.Mapping() != as.ID() || !f.Contains(index)) {
			fail("GetFolio(%d, locked) returned a folio not of the file or not holding the index:\n%v", index, f)
		}
		checkFolios("GetFolio", as, []folio.Folio{f}, index, rng, !lock)
		if lock {
			f.Unlock()
		}
		f.Put()
	})
	run("reclaimer", 20, func(rng *rand.Rand) {
		stats.reclaimed.Add(Reclaim(e.m, 1+rng.IntN(64)))
		time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
	})
	run("truncater", 30, func(rng *rand.Rand) {
		as, index := pick(rng)
		as.TruncateRange(index, index+rng.Uint64N(700))
		stats.truncates.Add(1)
		time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
	})
	run("invalidator", 40, func(rng *rand.Rand) {
		as, index := pick(rng)
		stats.invalidated.Add(as.InvalidatePages(index, index+rng.Uint64N(1024)))
		stats.invalidations.Add(1)
		time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
	})
	for i := range 2 {
		run("splitter", 50+uint64(i), func(rng *rand.Rand) {
			as, index := pick(rng)
			f := as.GetFolio(index, true)
			if f.IsNil() {
				return
			}
			if order := f.Order(); order > 0 {
				newOrder := uint(rng.IntN(int(order)))
				var err error
				if rng.IntN(2) == 0 {
					err = as.Split(f, newOrder)
				} else {
					err = as.SplitAt(f, index, newOrder)
				}
				switch {
				case err == nil:
					stats.splits.Add(1)
				case errors.Is(err, ErrBusy):
					stats.splitBusy.Add(1)
				case errors.Is(err, ErrNoMemory):
					stats.splitNoMem.Add(1)
				default:
					fail("split of %v: %v", f, err)
				}
				if !f.Locked() {
					fail("split returned the folio unlocked: %v", f)
				}
			}
			f.Unlock()
			f.Put()
		})
	}
	run("zsmalloc", 60, func(rng *rand.Rand) {
		if z.Len() < 1500 && rng.IntN(2) == 0 {
			stats.zs.Add(int64(z.Grow(rng.IntN(64))))
		} else {
			z.Shrink(rng.IntN(64))
		}
		stats.zsOps.Add(1)
		time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
	})
	run("checker", 70, func(rng *rand.Rand) {
		for _, as := range files {
			if err := as.Check(); err != nil {
				fail("validator: %v", err)
			}
		}
		if n, reports := e.m.BadPages(); n != 0 {
			fail("%d bad_page reports; first:\n%s", n, reports[0])
		}
		stats.checks.Add(1)
		time.Sleep(20 * time.Millisecond)
	})

	deadline := time.Now().Add(dur)
	for !stop.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	joined := make(chan struct{})
	go func() { wg.Wait(); close(joined) }()
	select {
	case <-joined:
	case <-time.After(30*time.Second + dur/2):
		for _, msg := range fl.messages() {
			t.Error(msg)
		}
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("TestConcurrent: goroutines did not stop within 30s:\n%s", buf))
	}
	for _, msg := range fl.messages() {
		t.Error(msg)
	}
	t.Logf("%v: %d reads (%d ErrNoMemory), %d read batches, %d lookups, %d folios checked (%d under the lock), "+
		"%d pages reclaimed, %d truncates, %d invalidations (%d pages), %d splits (%d busy, %d ENOMEM), "+
		"%d zsmalloc ops (%d pages grown), %d validations, %d xarray faults",
		dur, stats.reads.Load(), stats.readNoMem.Load(), stats.batches.Load(), stats.lookups.Load(), stats.folios.Load(),
		stats.locked.Load(), stats.reclaimed.Load(), stats.truncates.Load(), stats.invalidations.Load(),
		stats.invalidated.Load(), stats.splits.Load(), stats.splitBusy.Load(), stats.splitNoMem.Load(),
		stats.zsOps.Load(), stats.zs.Load(), stats.checks.Load(), xf.Injected())
	if t.Failed() {
		return
	}
	// Every kind of worker must have made progress: a starved one raced
	// with nothing, and the run proves nothing about it.
	for _, c := range []struct {
		what string
		n    int64
	}{
		{"reads", stats.reads.Load()},
		{"read batches", stats.batches.Load()},
		{"lookups", stats.lookups.Load()},
		{"folios checked", stats.folios.Load()},
		{"pages reclaimed", stats.reclaimed.Load()},
		{"truncates", stats.truncates.Load()},
		{"invalidations", stats.invalidations.Load()},
		{"splits", stats.splits.Load()},
		{"zsmalloc ops", stats.zsOps.Load()},
		{"validations", stats.checks.Load()},
	} {
		if c.n == 0 {
			t.Errorf("no progress: 0 %s; that path never ran", c.what)
		}
	}
	for _, as := range files {
		check(t, as)
	}
	z.Shrink(z.Len())
	xf.SetProbability(0)
	e.finish(0)
}

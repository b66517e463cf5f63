// SPDX-License-Identifier: GPL-2.0-or-later

package rcu_test

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
	"go.uber.org/goleak"
)

// blockedFor is how long a test watches an operation that must stay
// blocked; done is how long it gives one that must finish.
const (
	blockedFor = 50 * time.Millisecond
	doneWithin = 10 * time.Second
)

// goSync runs d.Synchronize on a new goroutine and returns a channel closed
// when it returns.
func goSync(d *rcu.Domain) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		d.Synchronize()
		close(done)
	}()
	return done
}

func mustBlock(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("%s returned while a read-side section that began before it was held", what)
	case <-time.After(blockedFor):
	}
}

func mustFinish(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(doneWithin):
		t.Fatalf("%s did not return within %v after the last section ended", what, doneWithin)
	}
}

// mustPanic calls f and returns the panic message, failing if f returns.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic; want one containing %q", want)
		}
		msg, _ := r.(string)
		if !strings.Contains(msg, want) {
			t.Fatalf("panic %q; want one containing %q", r, want)
		}
	}()
	f()
}

// forEachSide runs f as a subtest for every read side this build and
// system have (the race build and systems without membarrier(2) have only
// the locked one).
func forEachSide(t *testing.T, f func(t *testing.T, newDomain func() *rcu.Domain)) {
	for _, side := range []string{rcu.ReadSideMembarrier, rcu.ReadSideLocked} {
		newDomain := rcu.ReadSides()[side]
		if newDomain == nil {
			continue
		}
		t.Run("side="+side, func(t *testing.T) { f(t, newDomain) })
	}
}

// NewDomain picks the membarrier read side wherever it can run.
func TestNewDomainReadSide(t *testing.T) {
	want := rcu.ReadSideLocked
	if rcu.ReadSides()[rcu.ReadSideMembarrier] != nil {
		want = rcu.ReadSideMembarrier
	}
	if got := rcu.NewDomain().ReadSide(); got != want {
		t.Fatalf("NewDomain's read side is %q; want %q", got, want)
	}
	if got := rcu.NewLockedDomain().ReadSide(); got != rcu.ReadSideLocked {
		t.Fatalf("NewLockedDomain's read side is %q", got)
	}
}

func TestStripes(t *testing.T) {
	d := rcu.NewDomain()
	n := d.Stripes()
	if n < 4 || n < runtime.GOMAXPROCS(0) || n&(n-1) != 0 {
		t.Fatalf("NewDomain made %d stripes with GOMAXPROCS=%d; want a power of two >= max(4, GOMAXPROCS)",
			n, runtime.GOMAXPROCS(0))
	}
}

func TestSynchronizeNoReaders(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		for i := 1; i <= 3; i++ {
			d.Synchronize()
			if got := d.GracePeriods(); got != uint64(i) {
				t.Fatalf("after %d Synchronize calls: %d grace periods", i, got)
			}
		}
	})
}

func TestSynchronizeWaitsForReader(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		tok := d.ReadLock()
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
	})
}

// A reader that took its section on another goroutine, which then exits,
// and is ended from yet another goroutine, is still waited for.
func TestSynchronizeWaitsForMigratedReader(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		tokc := make(chan rcu.Token)
		go func() { tokc <- d.ReadLock() }()
		tok := <-tokc
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		go d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
	})
}

// A reader that read the phase before a flip and incremented the old
// counter after the grace period had scanned it (a straggler) holds
// whatever it loads afterwards; the next grace period must wait for it even
// though its count sits on the counter that grace period is not draining
// readers from.
func TestSynchronizeWaitsForStraggler(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		d.Synchronize()
		tok := d.ReadLockStale()
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
	})
}

func TestNesting(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		outer := d.ReadLock()
		inner := d.ReadLock()
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(inner)
		mustBlock(t, done, "Synchronize (inner section ended, outer held)")
		d.ReadUnlock(outer)
		mustFinish(t, done, "Synchronize")
	})
}

// Sections that begin after a grace period started do not hold it up: a
// reader that always has a section open, handing over from one to the next,
// must not starve Synchronize.
func TestSynchronizeNotStarvedByOverlappingSections(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				old := d.ReadLock()
				for i := 0; !stop.Load(); i++ {
					next := d.ReadLock()
					d.ReadUnlock(old)
					old = next
					if i%64 == 0 {
						runtime.Gosched()
					}
				}
				d.ReadUnlock(old)
			}()
		}
		defer wg.Wait()
		defer stop.Store(true)
		for range 20 {
			mustFinish(t, goSync(d), "Synchronize with continuously overlapping sections")
		}
	})
}

// Concurrent callers share grace periods.
func TestSynchronizeSharesGracePeriods(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		tok := d.ReadLock()
		const callers = 8
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.Synchronize()
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
		// The first caller's grace period waited for tok; the others either
		// arrived before it started and share it, or share the next one.
		if got := d.GracePeriods(); got > 2 {
			t.Fatalf("%d concurrent Synchronize calls ran %d grace periods; want at most 2", callers, got)
		}
	})
}

func TestReadUnlockZeroToken(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		d := newDomain()
		mustPanic(t, "ReadUnlock without a matching ReadLock", func() { d.ReadUnlock(rcu.Token{}) })
	})
}

func TestReadUnlockTwice(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	t.Run("side=locked", func(t *testing.T) {
		// The locked read side catches the second ReadUnlock itself.
		d := rcu.NewLockedDomain()
		tok := d.ReadLock()
		d.ReadUnlock(tok)
		mustPanic(t, "ReadUnlock called more times than ReadLock", func() { d.ReadUnlock(tok) })
		// The failed unlock left the counters balanced: grace periods
		// still complete.
		mustFinish(t, goSync(d), "Synchronize after a caught misuse")
	})
	t.Run("side=membarrier", func(t *testing.T) {
		newDomain := rcu.ReadSides()[rcu.ReadSideMembarrier]
		if newDomain == nil {
			t.Skip("membarrier(2) is not available here")
		}
		// The membarrier read side cannot tell at the unlock; the next
		// grace period finds more unlocks than locks.
		d := newDomain()
		tok := d.ReadLock()
		d.ReadUnlock(tok)
		d.ReadUnlock(tok)
		mustPanic(t, "ReadUnlock called more times than ReadLock", d.Synchronize)
		// It rebalanced the counts: the next grace period completes,
		// and still waits for a reader.
		mustFinish(t, goSync(d), "Synchronize after a caught misuse")
		tok = d.ReadLock()
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
	})
}

func TestStallPanics(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		d.SetStallTimeout(20 * time.Millisecond)
		tok := d.ReadLock()
		msg := make(chan any, 1)
		go func() {
			defer func() { msg <- recover() }()
			d.Synchronize() // as if called inside the section
		}()
		var r any
		select {
		case r = <-msg:
		case <-time.After(doneWithin):
			t.Fatal("Synchronize blocked on a held section did not panic after the stall timeout")
		}
		s, _ := r.(string)
		if !strings.Contains(s, "inside a read-side section") {
			t.Fatalf("stall panic %q does not name the likely misuse", r)
		}
		d.ReadUnlock(tok)
		// The domain survives the abandoned grace period.
		gp := d.GracePeriods()
		mustFinish(t, goSync(d), "Synchronize after a stall")
		if d.GracePeriods() != gp+1 {
			t.Fatalf("grace periods went from %d to %d; want one more", gp, d.GracePeriods())
		}
	})
}

// Barrier or Close from a callback would wait for itself: it must panic
// after the stall timeout, not hang.
func TestWaitFromCallbackPanics(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, name := range []string{"Barrier", "Close"} {
		t.Run(name, func(t *testing.T) {
			d := rcu.NewDomain()
			d.SetStallTimeout(20 * time.Millisecond)
			msg := make(chan any, 1)
			d.Call(func() {
				defer func() { msg <- recover() }()
				if name == "Barrier" {
					d.Barrier()
				} else {
					d.Close()
				}
			})
			var r any
			select {
			case r = <-msg:
			case <-time.After(doneWithin):
				t.Fatalf("%s from a callback did not panic after the stall timeout", name)
			}
			s, _ := r.(string)
			if !strings.Contains(s, name) || !strings.Contains(s, "from a callback") {
				t.Fatalf("panic %q does not name %s from a callback", r, name)
			}
			d.SetStallTimeout(rcu.DefaultStallTimeout)
			d.Close()
		})
	}
}

// A long batch is not a stall: Barrier's clock restarts whenever a batch
// completes.
func TestBarrierPatientWithProgress(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	d.SetStallTimeout(100 * time.Millisecond)
	var step func()
	n := 0
	step = func() {
		time.Sleep(20 * time.Millisecond)
		if n++; n < 10 {
			d.Call(step)
		}
	}
	d.Call(step)
	d.Close() // 200ms in all, 20ms per batch: must not panic
	if n != 10 {
		t.Fatalf("Close returned after %d of 10 chained callbacks", n)
	}
}

func TestCallNil(t *testing.T) {
	d := rcu.NewDomain()
	mustPanic(t, "Call with a nil function", func() { d.Call(nil) })
}

func TestCallAfterClose(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	d.Close()
	mustPanic(t, "Call after Close", func() { d.Call(func() {}) })
}

func TestCallWaitsForReader(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		d := newDomain()
		tok := d.ReadLock()
		done := make(chan struct{})
		d.Call(func() { close(done) })
		mustBlock(t, done, "a callback")
		d.ReadUnlock(tok)
		mustFinish(t, done, "a callback")
		d.Close()
	})
}

func TestBarrier(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	const n = 10000
	var ran atomic.Int64
	var order []int // written only by callbacks, which run one at a time
	for i := range n {
		d.Call(func() {
			ran.Add(1)
			order = append(order, i)
		})
	}
	d.Barrier()
	if got := ran.Load(); got != n {
		t.Fatalf("after Barrier %d of %d callbacks have run", got, n)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("callback %d ran in position %d; callbacks must run in the order they were queued", v, i)
		}
	}
	d.Barrier() // nothing queued: returns at once
	d.Close()
}

func TestBarrierConcurrentCallers(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				var ran atomic.Bool
				d.Call(func() { ran.Store(true) })
				d.Barrier()
				if !ran.Load() {
					t.Error("Barrier returned before a callback queued before it ran")
					return
				}
			}
		}()
	}
	wg.Wait()
	d.Close()
}

// Many callbacks queued quickly share few grace periods.
func TestCallBatches(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	const n = 100000
	var ran atomic.Int64
	f := func() { ran.Add(1) }
	for range n {
		d.Call(f)
	}
	d.Barrier()
	if got := ran.Load(); got != n {
		t.Fatalf("after Barrier %d of %d callbacks have run", got, n)
	}
	gps, batches := d.GracePeriods(), d.CallbackBatches()
	if batches > n/100 || gps > n/100 {
		t.Fatalf("%d callbacks took %d batches and %d grace periods; want batching (at most %d)",
			n, batches, gps, n/100)
	}
	if gps < 1 || batches < 1 {
		t.Fatalf("%d callbacks ran with %d grace periods in %d batches; want at least one", n, gps, batches)
	}
	d.Close()
}

// A callback may queue another; Close waits for the whole chain.
func TestCallFromCallback(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	const depth = 5
	var ran atomic.Int64
	var step func()
	step = func() {
		if ran.Add(1) < depth {
			d.Call(step)
		}
	}
	d.Call(step)
	d.Close()
	if got := ran.Load(); got != depth {
		t.Fatalf("after Close %d of a chain of %d callbacks have run", got, depth)
	}
	if gps := d.GracePeriods(); gps < depth {
		t.Fatalf("a chain of %d callbacks took %d grace periods; each link needs its own", depth, gps)
	}
}

func TestCloseStopsWorker(t *testing.T) {
	stop := watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	d.Call(func() {})
	d.Close()
	d.Close() // idempotent
	stop()    // the watchdog's own goroutine must not count as a leak
	goleak.VerifyNone(t)
	d.Barrier() // nothing to wait for
	d.Synchronize()
}

func TestDefault(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	if rcu.Default == nil {
		t.Fatal("Default is nil")
	}
	tok := rcu.ReadLock()
	var ran atomic.Bool
	rcu.Call(func() { ran.Store(true) })
	done := goSync(rcu.Default)
	mustBlock(t, done, "Synchronize of Default")
	rcu.ReadUnlock(tok)
	mustFinish(t, done, "Synchronize of Default")
	rcu.Synchronize()
	rcu.Barrier()
	if !ran.Load() {
		t.Fatal("Barrier returned before the callback ran")
	}
}

// Raising GOMAXPROCS after NewDomain makes Ps share stripes; sections still
// count.
func TestMoreProcsThanStripes(t *testing.T) {
	forEachSide(t, func(t *testing.T, newDomain func() *rcu.Domain) {
		watchdog.Start(t, watchdog.Default)
		old := runtime.GOMAXPROCS(1)
		d := newDomain()
		runtime.GOMAXPROCS(4 * d.Stripes())
		defer runtime.GOMAXPROCS(old)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 * d.Stripes() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					tok := d.ReadLock()
					runtime.Gosched()
					d.ReadUnlock(tok)
				}
			}()
		}
		for range 50 {
			d.Synchronize()
		}
		stop.Store(true)
		wg.Wait()
		tok := d.ReadLock()
		done := goSync(d)
		mustBlock(t, done, "Synchronize")
		d.ReadUnlock(tok)
		mustFinish(t, done, "Synchronize")
	})
}

// SPDX-License-Identifier: GPL-2.0-or-later

package rcu_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
)

// The torture test follows rcutorture and liburcu's rcutorture.h stress
// mode. Writers replace the published object and retire the old one into a
// pipe that ages it one step per grace period; once it reaches the end of
// the pipe it is poisoned and freed, to be reused. Readers take a section,
// look at the published object for a while and record the age they see. A
// correct RCU lets a reader see only age 0 (published) or 1 (retired, no
// grace period yet), and never poison.

var tortureFor = flag.Duration("rcu.torture", 1500*time.Millisecond,
	"how long TestTorture runs (e.g. -rcu.torture=30s for a long run)")

const (
	torturePipeLen  = 10  // grace periods from retirement to free
	tortureObjects  = 256 // objects in the arena
	tortureReaders  = 4
	tortureMaxAge   = torturePipeLen + 1
	brokenRunsAtMax = 10 * time.Second
)

// tortureObj is an object named by its index in the arena. Readers see it
// only through atomics.
type tortureObj struct {
	age    atomic.Int32  // 0 published, 1 retired, +1 per grace period
	poison atomic.Uint32 // nonzero once freed
}

type torture struct {
	d    *rcu.Domain
	objs [tortureObjects]tortureObj
	cur  atomic.Int32 // index of the published object

	freeMu sync.Mutex
	free   []int32

	stop atomic.Bool

	ages     [tortureMaxAge + 1]atomic.Int64 // sections by the largest age seen
	poisoned atomic.Int64                    // sections that met poison
	failed   chan struct{}                   // closed at the first failure
	failOnce sync.Once
	retired  atomic.Int64
	freed    atomic.Int64

	// What each kind of writer did: the objects that the Call writer
	// and the Synchronize writer took to the end of their pipes.
	callFreed atomic.Int64
	syncFreed atomic.Int64
}

func newTorture(d *rcu.Domain) *torture {
	tt := &torture{d: d, failed: make(chan struct{})}
	for i := tortureObjects - 1; i >= 1; i-- {
		tt.free = append(tt.free, int32(i))
	}
	tt.cur.Store(0) // object 0 starts published, age 0
	return tt
}

func (tt *torture) alloc() (int32, bool) {
	tt.freeMu.Lock()
	defer tt.freeMu.Unlock()
	n := len(tt.free)
	if n == 0 {
		return 0, false
	}
	i := tt.free[n-1]
	tt.free = tt.free[:n-1]
	return i, true
}

// release poisons object i and returns it to the free list.
func (tt *torture) release(i int32) {
	tt.objs[i].poison.Store(1)
	tt.freed.Add(1)
	tt.freeMu.Lock()
	tt.free = append(tt.free, i)
	tt.freeMu.Unlock()
}

// replace publishes a fresh object and returns the one it replaced, aged 1.
func (tt *torture) replace() (old int32, ok bool) {
	i, ok := tt.alloc()
	if !ok {
		return 0, false
	}
	o := &tt.objs[i]
	o.age.Store(0)
	o.poison.Store(0)
	old = tt.cur.Swap(i)
	tt.objs[old].age.Store(1)
	tt.retired.Add(1)
	return old, true
}

// ageOne moves object i one step down the pipe and reports whether it
// reached the end and was freed.
func (tt *torture) ageOne(i int32) bool {
	if tt.objs[i].age.Add(1) >= torturePipeLen {
		tt.release(i)
		return true
	}
	return false
}

func (tt *torture) fail() {
	tt.failOnce.Do(func() { close(tt.failed) })
}

func (tt *torture) reader(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for !tt.stop.Load() {
		tok := tt.d.ReadLock()
		o := &tt.objs[tt.cur.Load()]
		bad := o.poison.Load() != 0
		age := o.age.Load()
		// Hold the section for a while, now and then long enough to be
		// preempted or to sleep inside it.
		switch r := rng.Uint32(); {
		case r%1024 == 0:
			time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
		case r%64 == 0:
			runtime.Gosched()
		default:
			for range r % 128 {
				age = max(age, o.age.Load())
			}
		}
		age = max(age, o.age.Load())
		bad = bad || o.poison.Load() != 0
		tt.d.ReadUnlock(tok)

		tt.ages[min(max(age, 0), tortureMaxAge)].Add(1)
		if bad {
			tt.poisoned.Add(1)
		}
		if bad || age > 1 {
			tt.fail()
		}
	}
}

// callWriter retires objects through Call: each callback ages its object
// and queues itself again until the object reaches the end of the pipe.
func (tt *torture) callWriter() {
	for !tt.stop.Load() {
		old, ok := tt.replace()
		if !ok {
			time.Sleep(10 * time.Microsecond) // wait for frees
			continue
		}
		var step func()
		step = func() {
			if !tt.ageOne(old) {
				tt.d.Call(step)
			} else {
				tt.callFreed.Add(1)
			}
		}
		tt.d.Call(step)
		if rand.N(8) == 0 {
			runtime.Gosched()
		}
	}
}

// syncWriter retires objects into its own pipe and ages the whole pipe
// after each Synchronize.
func (tt *torture) syncWriter() {
	var pipe []int32
	for !tt.stop.Load() {
		if old, ok := tt.replace(); ok {
			pipe = append(pipe, old)
		}
		tt.d.Synchronize()
		kept := pipe[:0]
		for _, i := range pipe {
			if !tt.ageOne(i) {
				kept = append(kept, i)
			} else {
				tt.syncFreed.Add(1)
			}
		}
		pipe = kept
	}
}

// run tortures tt.d for up to dur, or until the first failure when
// stopOnFail is set, and returns a summary.
func (tt *torture) run(dur time.Duration, stopOnFail bool) string {
	var wg sync.WaitGroup
	start := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	for r := range tortureReaders {
		start(func() { tt.reader(uint64(r)) })
	}
	start(tt.callWriter)
	start(tt.syncWriter)

	began := time.Now()
	timer := time.NewTimer(dur)
	if stopOnFail {
		select {
		case <-timer.C:
		case <-tt.failed:
		}
	} else {
		<-timer.C
	}
	timer.Stop()
	elapsed := time.Since(began)
	tt.stop.Store(true)
	wg.Wait()
	tt.d.Close() // drains the callback pipes

	s := fmt.Sprintf("%v: %d grace periods, %d retired, %d freed (%d through Call, %d through Synchronize), "+
		"%d sections met poison; sections by age:",
		elapsed.Round(time.Millisecond), tt.d.GracePeriods(), tt.retired.Load(), tt.freed.Load(),
		tt.callFreed.Load(), tt.syncFreed.Load(), tt.poisoned.Load())
	for age := range tt.ages {
		s += fmt.Sprintf(" %d:%d", age, tt.ages[age].Load())
	}
	return s
}

func (tt *torture) badAges() (n int64) {
	for age := 2; age < len(tt.ages); age++ {
		n += tt.ages[age].Load()
	}
	return n
}

func TestTorture(t *testing.T) {
	forEachSide(t, testTorture)
}

func testTorture(t *testing.T, newDomain func() *rcu.Domain) {
	watchdog.Start(t, *tortureFor+watchdog.Default)
	tt := newTorture(newDomain())
	summary := tt.run(*tortureFor, false)
	t.Log(summary)
	if bad, poisoned := tt.badAges(), tt.poisoned.Load(); bad > 0 || poisoned > 0 {
		t.Fatalf("RCU failed: %d sections saw an object aged 2 or more (freed grace periods early), "+
			"%d met poison\n%s", bad, poisoned, summary)
	}
	// The run must have exercised the pipe, or passing proves nothing:
	// readers saw published and retired objects, and each writer took
	// objects through the whole pipe.
	if tt.ages[0].Load() == 0 || tt.ages[1].Load() == 0 || tt.freed.Load() == 0 || tt.d.GracePeriods() < torturePipeLen {
		t.Fatalf("torture run too weak to mean anything: %s", summary)
	}
	if tt.callFreed.Load() == 0 {
		t.Errorf("the Call writer freed nothing: no callback chain reached the end of the pipe\n%s", summary)
	}
	if tt.syncFreed.Load() == 0 {
		t.Errorf("the Synchronize writer freed nothing: its pipe never reached the end\n%s", summary)
	}
}

// TestTortureBroken proves that the torture test can fail: against grace
// periods that do not wait, it must catch a premature free.
func TestTortureBroken(t *testing.T) {
	watchdog.Start(t, brokenRunsAtMax+watchdog.Default)
	tt := newTorture(rcu.NewBrokenDomain())
	summary := tt.run(brokenRunsAtMax, true)
	t.Log(summary)
	if tt.badAges() == 0 && tt.poisoned.Load() == 0 {
		t.Fatalf("the torture test did not catch grace periods that do not wait within %v\n%s",
			brokenRunsAtMax, summary)
	}
}

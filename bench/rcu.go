// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loov/hrtime"
	"github.com/puzpuzpuz/xsync/v3"
	"github.com/xabench/xabench/rcu"
)

// ReadSide is a read-side primitive that the rcu suite compares.
type ReadSide struct {
	Name string
	// New makes a fresh lock and returns a Loop of n read-side pairs on
	// it (for "atomic.Add", n additions to one shared counter).
	New func() Loop
}

// ReadSides returns the read-side primitives of the rcu suite: rcu first,
// as the reference for ratios, then sync.RWMutex, xsync.RBMutex and one
// atomic add, the cost of the simplest shared reader count.
func ReadSides() []ReadSide {
	return []ReadSide{
		{"rcu", func() Loop {
			d := rcu.NewDomain()
			return func(n int) {
				for range n {
					t := d.ReadLock()
					d.ReadUnlock(t)
				}
			}
		}},
		{"RWMutex", func() Loop {
			var mu sync.RWMutex
			return func(n int) {
				for range n {
					mu.RLock()
					mu.RUnlock()
				}
			}
		}},
		{"RBMutex", func() Loop {
			mu := xsync.NewRBMutex()
			return func(n int) {
				for range n {
					t := mu.RLock()
					mu.RUnlock(t)
				}
			}
		}},
		{"atomic.Add", func() Loop {
			c := new(paddedInt64)
			return func(n int) {
				for range n {
					c.v.Add(1)
				}
			}
		}},
	}
}

type paddedInt64 struct {
	_ [128]byte
	v atomic.Int64
	_ [120]byte
}

// readData is what the busy readers read inside their sections: a few
// words, as an XArray lookup reads a few slots.
var readData [4]atomic.Uint64

// Sink receives values computed by workloads so the compiler cannot drop
// the work.
var Sink atomic.Uint64

// ReadSection runs one short read-side section of d: it loads the words a
// lookup would and returns their sum.
func ReadSection(d *rcu.Domain) uint64 {
	t := d.ReadLock()
	s := readData[0].Load() + readData[1].Load() + readData[2].Load() + readData[3].Load()
	d.ReadUnlock(t)
	return s
}

// BusyReaders starts n goroutines that run short read-side sections of d
// back to back, each yielding the processor after every yieldEvery sections
// (never, if yieldEvery is 0). The returned stop function ends them and
// returns the number of sections they ran.
func BusyReaders(d *rcu.Domain, n, yieldEvery int) (stop func() int64) {
	var quit atomic.Bool
	var total atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum uint64
			var k int64
			for !quit.Load() {
				for range 64 {
					sum += ReadSection(d)
				}
				k += 64
				if yieldEvery > 0 && k%int64(yieldEvery) < 64 {
					runtime.Gosched()
				}
			}
			Sink.Add(sum)
			total.Add(k)
		}()
	}
	return func() int64 {
		quit.Store(true)
		wg.Wait()
		return total.Load()
	}
}

// ReaderYield is how often (in sections) the rcu suite's busy readers
// yield the processor. A goroutine that never blocks and never yields can
// be descheduled inside a section for a whole scheduling slice (10ms in Go)
// whenever there are more runnable goroutines than Ps, and a grace period
// must wait for it; readers that yield now and then, as real ones do when
// they block on I/O or channels, keep grace periods short.
const ReaderYield = 1024

// maxLaps bounds the latencies that one SynchronizeLatency keeps.
const maxLaps = 1 << 18

// SynchronizeLatency measures d.Synchronize for about dur (or at most
// 262144 calls) while readers busy readers run, and returns the latency of
// each call.
func SynchronizeLatency(d *rcu.Domain, readers int, dur time.Duration) []time.Duration {
	stop := BusyReaders(d, readers, ReaderYield)
	laps := make([]time.Duration, 0, 4096)
	end := hrtime.Now() + dur
	for len(laps) < maxLaps {
		t0 := hrtime.Now()
		d.Synchronize()
		t1 := hrtime.Now()
		laps = append(laps, t1-t0)
		if t1 >= end {
			break
		}
	}
	stop()
	return laps
}

// CallThroughput queues callbacks with d.Call from one goroutine for about
// dur, waits for them with Barrier, and returns callbacks per second over
// the whole time, Barrier included.
func CallThroughput(d *rcu.Domain, dur time.Duration) float64 {
	var ran atomic.Int64
	f := func() { ran.Add(1) }
	n := 0
	start := time.Now()
	for time.Since(start) < dur {
		for range 1000 {
			d.Call(f)
		}
		n += 1000
	}
	d.Barrier()
	elapsed := time.Since(start)
	if got := ran.Load(); got != int64(n) {
		panic(fmt.Sprintf("bench: %d of %d callbacks ran before Barrier returned", got, n))
	}
	return float64(n) / elapsed.Seconds()
}

// ReaderThroughput runs short read-side sections of d on goroutines
// goroutines for about dur, with another goroutine looping on Synchronize
// if withSync, and returns the sections per second and the grace periods
// completed meanwhile.
func ReaderThroughput(d *rcu.Domain, goroutines int, withSync bool, dur time.Duration) (perSec float64, gps uint64) {
	var syncStop atomic.Bool
	var syncs atomic.Uint64
	var wg sync.WaitGroup
	if withSync {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !syncStop.Load() {
				d.Synchronize()
				syncs.Add(1)
			}
		}()
	}
	var total atomic.Int64
	elapsed := RunFor(dur, goroutines, func(stop *atomic.Bool) {
		var sum uint64
		var k int64
		for !stop.Load() {
			for range 256 {
				sum += ReadSection(d)
			}
			k += 256
		}
		Sink.Add(sum)
		total.Add(k)
	})
	syncStop.Store(true)
	wg.Wait()
	return float64(total.Load()) / elapsed.Seconds(), syncs.Load()
}

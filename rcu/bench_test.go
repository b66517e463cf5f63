// SPDX-License-Identifier: GPL-2.0-or-later

package rcu_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loov/hrtime"
	"github.com/puzpuzpuz/xsync/v3"
	"github.com/xabench/xabench/bench"
	"github.com/xabench/xabench/rcu"
)

// The read-side pair of rcu beside the same run's sync.RWMutex,
// xsync.RBMutex and one atomic add, on one goroutine and under
// RunParallel. `xabench bench --suite rcu` runs the same comparison.

// sides returns the read sides to measure, the membarrier one first where
// this system has it.
func sides() []string {
	var names []string
	for _, n := range []string{rcu.ReadSideMembarrier, rcu.ReadSideLocked} {
		if rcu.ReadSides()[n] != nil {
			names = append(names, n)
		}
	}
	return names
}

func BenchmarkReadLock(b *testing.B) {
	for _, side := range sides() {
		b.Run("side="+side, func(b *testing.B) {
			d := rcu.ReadSides()[side]()
			for range b.N {
				t := d.ReadLock()
				d.ReadUnlock(t)
			}
		})
	}
}

func BenchmarkReadLockParallel(b *testing.B) {
	for _, side := range sides() {
		b.Run("side="+side, func(b *testing.B) {
			d := rcu.ReadSides()[side]()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					t := d.ReadLock()
					d.ReadUnlock(t)
				}
			})
		})
	}
}

func BenchmarkRWMutexRLock(b *testing.B) {
	var mu sync.RWMutex
	for range b.N {
		mu.RLock()
		mu.RUnlock()
	}
}

func BenchmarkRWMutexRLockParallel(b *testing.B) {
	var mu sync.RWMutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.RLock()
			mu.RUnlock()
		}
	})
}

func BenchmarkRBMutexRLock(b *testing.B) {
	mu := xsync.NewRBMutex()
	for range b.N {
		t := mu.RLock()
		mu.RUnlock(t)
	}
}

func BenchmarkRBMutexRLockParallel(b *testing.B) {
	mu := xsync.NewRBMutex()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := mu.RLock()
			mu.RUnlock(t)
		}
	})
}

var atomicCounter atomic.Int64

func BenchmarkAtomicAdd(b *testing.B) {
	for range b.N {
		atomicCounter.Add(1)
	}
}

func BenchmarkAtomicAddParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			atomicCounter.Add(1)
		}
	})
}

// BenchmarkSynchronize reports the latency of Synchronize with 0, 1 and 2
// busy readers (bench.BusyReaders) as p50-ns and p99-ns.
func BenchmarkSynchronize(b *testing.B) {
	for _, side := range sides() {
		for _, readers := range bench.SyncReaders {
			b.Run(fmt.Sprintf("side=%s/readers=%d", side, readers), func(b *testing.B) {
				d := rcu.ReadSides()[side]()
				stop := bench.BusyReaders(d, readers, bench.ReaderYield)
				laps := make([]time.Duration, b.N)
				b.ResetTimer()
				for i := range b.N {
					t0 := hrtime.Now()
					d.Synchronize()
					laps[i] = hrtime.Since(t0)
				}
				b.StopTimer()
				stop()
				l := bench.Percentiles(laps)
				b.ReportMetric(float64(l.P50), "p50-ns")
				b.ReportMetric(float64(l.P99), "p99-ns")
			})
		}
	}
}

// BenchmarkCall queues b.N callbacks from one goroutine and waits for them
// with Barrier; it reports callbacks per second.
func BenchmarkCall(b *testing.B) {
	d := rcu.NewDomain()
	defer d.Close()
	var ran atomic.Int64
	f := func() { ran.Add(1) }
	start := time.Now()
	for range b.N {
		d.Call(f)
	}
	d.Barrier()
	elapsed := time.Since(start)
	if got := ran.Load(); got != int64(b.N) {
		b.Fatalf("%d of %d callbacks ran before Barrier returned", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "callbacks/s")
}

// BenchmarkReadersWithSynchronize runs short read-side sections under
// RunParallel, alone and while another goroutine loops on Synchronize;
// compare the two ns/op.
func BenchmarkReadersWithSynchronize(b *testing.B) {
	for _, side := range sides() {
		for _, withSync := range []bool{false, true} {
			name := "alone"
			if withSync {
				name = "sync"
			}
			b.Run("side="+side+"/"+name, func(b *testing.B) {
				d := rcu.ReadSides()[side]()
				var stop atomic.Bool
				var wg sync.WaitGroup
				if withSync {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for !stop.Load() {
							d.Synchronize()
						}
					}()
				}
				var sink atomic.Uint64
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var sum uint64
					for pb.Next() {
						sum += bench.ReadSection(d)
					}
					sink.Add(sum)
				})
				elapsed := time.Since(start)
				stop.Store(true)
				wg.Wait()
				bench.Sink.Add(sink.Load())
				b.ReportMetric(float64(d.GracePeriods())/elapsed.Seconds(), "gp/s")
			})
		}
	}
}

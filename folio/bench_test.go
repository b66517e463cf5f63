// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "testing"

// BenchmarkAllocFree0 is an order-0 allocation and free, one goroutine:
// the per-CPU list fast path.
func BenchmarkAllocFree0(b *testing.B) {
	m := NewMemmap(1 << 14)
	b.ReportAllocs()
	for b.Loop() {
		f, err := m.Alloc(0)
		if err != nil {
			b.Fatal(err)
		}
		f.Put()
	}
}

// BenchmarkAllocFree0Parallel is the same pair from GOMAXPROCS
// goroutines (run with -cpu 1,2 to compare 1 and 2 goroutines: ns/op is
// the time per pair over all goroutines, so the throughput ratio is
// ns/op at -cpu 1 over ns/op at -cpu 2).
func BenchmarkAllocFree0Parallel(b *testing.B) {
	m := NewMemmap(1 << 14) // after -cpu sets GOMAXPROCS: one list per P
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := m.Alloc(0)
			if err != nil {
				b.Error(err)
				return
			}
			f.Put()
		}
	})
}

// BenchmarkAllocFree9 is an order-9 allocation and free: the zone lock,
// a split from order 10 and the merge back.
func BenchmarkAllocFree9(b *testing.B) {
	m := NewMemmap(1 << 14)
	b.ReportAllocs()
	for b.Loop() {
		f, err := m.Alloc(9)
		if err != nil {
			b.Fatal(err)
		}
		f.Put()
	}
}

// BenchmarkParallelFloor is per-goroutine work that shares nothing: run
// next to BenchmarkAllocFree0Parallel with -cpu 1,2, its ratio is the
// parallelism the machine actually gave during the run (on a shared
// 2-core machine often less than 2), against which the allocator's
// ratio is to be read.
func BenchmarkParallelFloor(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		var x [8]uint64
		for pb.Next() {
			for i := range x {
				x[i] = x[i]*31 + uint64(i)
			}
		}
		if x[0] == 1 {
			b.Log(x)
		}
	})
}

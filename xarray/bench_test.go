// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Benchmarks, in the Go benchmark format, of the lookup hot path and of
// the writer paths, with the competitors of ../shared/DESIGN.md measured
// in the same run on the same keys and the same access sequence:
// xsync.MapOf[uint64,uint64], sync.Map, and (for dense indices) a plain
// []atomic.Uint64, the physical floor.
//
//	go test -run XXX -bench 'Load/dense/1M|LoadParallel|Memory' -benchtime 300ms ./xarray/
//
// Layouts: dense is the indices 0..n-1; sparse is n indices with random
// gaps of 1..127 (mean 64), that is random in about 64x the range, so
// most leaves hold one or two entries. Access: seq walks the indices in
// increasing order, rand in a fixed-seed permutation. Fixtures are built
// inside the benchmarks, once per layout and size, and destroyed after.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/puzpuzpuz/xsync/v3"

	"github.com/xabench/xabench/rcu"
)

// Sinks, so that no loop is dead code.
var (
	bmSinkE Entry
	bmSinkU uint64
	bmSinkA atomic.Uint64
)

var bmCompetitors = []string{"xarray", "xsync.MapOf", "sync.Map", "atomic-slice"}

var bmSizes = []struct {
	name string
	n    int
}{{"1K", 1 << 10}, {"64K", 1 << 16}, {"1M", 1 << 20}, {"16M", 1 << 24}}

// bmKeys returns n sorted indices of the layout.
func bmKeys(layout string, n int) []uint64 {
	keys := make([]uint64, n)
	if layout == "dense" {
		for i := range keys {
			keys[i] = uint64(i)
		}
		return keys
	}
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	k := uint64(rng.IntN(64))
	for i := range keys {
		keys[i] = k
		k += 1 + uint64(rng.IntN(127))
	}
	return keys
}

// bmPerm returns keys in a fixed-seed random order.
func bmPerm(keys []uint64) []uint64 {
	p := append([]uint64(nil), keys...)
	rng := rand.New(rand.NewPCG(7, uint64(len(keys))))
	rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// bmNodes returns the number of nodes a tree of the sorted keys needs.
func bmNodes(keys []uint64) int {
	if len(keys) == 0 || (len(keys) == 1 && keys[0] == 0) {
		return 0
	}
	total := 0
	for shift := uint(chunkShift); ; shift += chunkShift {
		distinct, last := 0, uint64(0)
		for i, k := range keys {
			if p := k >> shift; i == 0 || p != last {
				distinct++
				last = p
			}
		}
		total += distinct
		if shift >= 64-chunkShift || keys[len(keys)-1]>>shift == 0 {
			return total
		}
	}
}

// bmMemAvailable returns the memory the system can still give, or a
// large number if it cannot tell.
func bmMemAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1 << 62
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 1 << 62
}

// bmBytesPerEntry is a rough size of each competitor, to skip a fixture
// that the machine cannot hold.
var bmBytesPerEntry = map[string]int64{"xsync.MapOf": 80, "sync.Map": 200, "atomic-slice": 8}

// bmFixture holds one layout and size, and each competitor built on it
// when first asked for.
type bmFixture struct {
	layout string
	keys   []uint64
	rnd    []uint64
	xa     *XArray
	xm     *xsync.MapOf[uint64, uint64]
	sm     *sync.Map
	as     []atomic.Uint64
}

func bmNewFixture(layout string, n int) *bmFixture {
	keys := bmKeys(layout, n)
	return &bmFixture{layout: layout, keys: keys, rnd: bmPerm(keys)}
}

func (fx *bmFixture) order(access string) []uint64 {
	if access == "seq" {
		return fx.keys
	}
	return fx.rnd
}

func (fx *bmFixture) fits(b *testing.B, what string, bytes int64) {
	if avail := bmMemAvailable(); bytes > avail/2 {
		b.Skipf("%s needs about %d MiB, %d MiB available", what, bytes>>20, avail>>20)
	}
}

func (fx *bmFixture) xarray(b *testing.B) *XArray {
	if fx.xa == nil {
		need := int64(bmNodes(fx.keys))
		s := NodeCacheStats()
		if need > s.Capacity-s.InUse {
			b.Skipf("needs %d nodes, the node cache has %d free", need, s.Capacity-s.InUse)
		}
		fx.fits(b, "xarray", need*s.Bytes)
		xa := New(0)
		for _, k := range fx.keys {
			if _, err := xa.Store(k, MkValue(k)); err != nil {
				b.Fatal(err)
			}
		}
		for _, k := range fx.rnd[:min(len(fx.rnd), 100)] {
			if e := xa.Load(k); e != MkValue(k) {
				b.Fatalf("Load(%d) = %v", k, e)
			}
		}
		fx.xa = xa
	}
	return fx.xa
}

func (fx *bmFixture) xsyncMap(b *testing.B) *xsync.MapOf[uint64, uint64] {
	if fx.xm == nil {
		fx.fits(b, "xsync.MapOf", int64(len(fx.keys))*bmBytesPerEntry["xsync.MapOf"])
		m := xsync.NewMapOf[uint64, uint64](xsync.WithPresize(len(fx.keys)))
		for _, k := range fx.keys {
			m.Store(k, k)
		}
		fx.xm = m
	}
	return fx.xm
}

func (fx *bmFixture) syncMap(b *testing.B) *sync.Map {
	if fx.sm == nil {
		fx.fits(b, "sync.Map", int64(len(fx.keys))*bmBytesPerEntry["sync.Map"])
		m := new(sync.Map)
		for _, k := range fx.keys {
			m.Store(k, k)
		}
		fx.sm = m
	}
	return fx.sm
}

func (fx *bmFixture) slice(b *testing.B) []atomic.Uint64 {
	if fx.layout != "dense" {
		b.Skip("the atomic slice is for dense indices only")
	}
	if fx.as == nil {
		fx.fits(b, "atomic-slice", int64(len(fx.keys))*8)
		s := make([]atomic.Uint64, len(fx.keys))
		for _, k := range fx.keys {
			s[k].Store(k + 1)
		}
		fx.as = s
	}
	return fx.as
}

// release destroys the array and drops the maps.
func (fx *bmFixture) release() {
	if fx.xa != nil {
		fx.xa.Destroy()
		fx.xa.Domain().Barrier()
		fx.xa = nil
	}
	fx.xm, fx.sm, fx.as = nil, nil, nil
	runtime.GC()
}

// bmLoad runs b.N lookups of comp in the order given (a power of two
// long).
func bmLoad(b *testing.B, fx *bmFixture, comp string, order []uint64) {
	mask := len(order) - 1
	b.ReportAllocs()
	switch comp {
	case "xarray":
		xa := fx.xarray(b)
		var s Entry
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s ^= xa.Load(order[i&mask])
		}
		bmSinkE = s
	case "xsync.MapOf":
		m := fx.xsyncMap(b)
		var s uint64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			v, _ := m.Load(order[i&mask])
			s ^= v
		}
		bmSinkU = s
	case "sync.Map":
		m := fx.syncMap(b)
		var s uint64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			v, _ := m.Load(order[i&mask])
			s ^= v.(uint64)
		}
		bmSinkU = s
	case "atomic-slice":
		a := fx.slice(b)
		var s uint64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s ^= a[order[i&mask]].Load()
		}
		bmSinkU = s
	}
}

// BenchmarkLoad: one goroutine, layout x size x access x competitor.
func BenchmarkLoad(b *testing.B) {
	for _, layout := range []string{"dense", "sparse"} {
		b.Run(layout, func(b *testing.B) {
			for _, size := range bmSizes {
				b.Run(size.name, func(b *testing.B) {
					fx := bmNewFixture(layout, size.n)
					defer fx.release()
					for _, access := range []string{"seq", "rand"} {
						b.Run(access, func(b *testing.B) {
							for _, comp := range bmCompetitors {
								b.Run(comp, func(b *testing.B) {
									bmLoad(b, fx, comp, fx.order(access))
								})
							}
						})
					}
				})
			}
		})
	}
}

// bmStart spreads the starting points of RunParallel's goroutines over
// the access sequence.
var bmStart atomic.Uint64

// bmReadLoop returns the body of a RunParallel reader of comp: lookups
// in the given order from a starting point of its own.
func bmReadLoop(b *testing.B, fx *bmFixture, comp string, order []uint64) func(pb *testing.PB) {
	mask := uint64(len(order) - 1)
	switch comp {
	case "xarray":
		xa := fx.xarray(b)
		return func(pb *testing.PB) {
			i := bmStart.Add(0x9e3779b97f4a7c15)
			var s Entry
			for pb.Next() {
				s ^= xa.Load(order[i&mask])
				i++
			}
			bmSinkA.Add(uint64(s))
		}
	case "xsync.MapOf":
		m := fx.xsyncMap(b)
		return func(pb *testing.PB) {
			i := bmStart.Add(0x9e3779b97f4a7c15)
			var s uint64
			for pb.Next() {
				v, _ := m.Load(order[i&mask])
				s ^= v
				i++
			}
			bmSinkA.Add(s)
		}
	case "sync.Map":
		m := fx.syncMap(b)
		return func(pb *testing.PB) {
			i := bmStart.Add(0x9e3779b97f4a7c15)
			var s uint64
			for pb.Next() {
				v, _ := m.Load(order[i&mask])
				s ^= v.(uint64)
				i++
			}
			bmSinkA.Add(s)
		}
	case "atomic-slice":
		a := fx.slice(b)
		return func(pb *testing.PB) {
			i := bmStart.Add(0x9e3779b97f4a7c15)
			var s uint64
			for pb.Next() {
				s ^= a[order[i&mask]].Load()
				i++
			}
			bmSinkA.Add(s)
		}
	}
	panic("unknown competitor " + comp)
}

// bmStorer returns a store into comp, for the writer.
func bmStorer(b *testing.B, fx *bmFixture, comp string) func(k, v uint64) {
	switch comp {
	case "xarray":
		xa := fx.xarray(b)
		return func(k, v uint64) { xa.Store(k, MkValue(v)) }
	case "xsync.MapOf":
		m := fx.xsyncMap(b)
		return func(k, v uint64) { m.Store(k, v) }
	case "sync.Map":
		m := fx.syncMap(b)
		return func(k, v uint64) { m.Store(k, v) }
	case "atomic-slice":
		a := fx.slice(b)
		return func(k, v uint64) { a[k].Store(v + 1) }
	}
	panic("unknown competitor " + comp)
}

// bmLoadParallel runs lookups of comp on every RunParallel goroutine.
func bmLoadParallel(b *testing.B, fx *bmFixture, comp string, order []uint64) {
	read := bmReadLoop(b, fx, comp, order)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(read)
}

// bmDense1M runs body for every competitor on dense 1M, random order.
func bmDense1M(b *testing.B, body func(b *testing.B, fx *bmFixture, comp string)) {
	b.Run("dense", func(b *testing.B) {
		b.Run("1M", func(b *testing.B) {
			fx := bmNewFixture("dense", 1<<20)
			defer fx.release()
			b.Run("rand", func(b *testing.B) {
				for _, comp := range bmCompetitors {
					b.Run(comp, func(b *testing.B) { body(b, fx, comp) })
				}
			})
		})
	})
}

// BenchmarkLoadParallel: RunParallel lookups (GOMAXPROCS goroutines; use
// -cpu 1,2 for the scaling), dense 1M, random order.
func BenchmarkLoadParallel(b *testing.B) {
	bmDense1M(b, func(b *testing.B, fx *bmFixture, comp string) {
		bmLoadParallel(b, fx, comp, fx.rnd)
	})
}

// BenchmarkLoadWithWriter: RunParallel lookups while one goroutine
// stores into the same structure, over the same keys with changing values
// (so every store writes), without pause, until the readers are done.
// The writer is one of RunParallel's goroutines, so it has a CPU of its
// own: with GOMAXPROCS P there are P-1 readers. "writer" runs it; "idle"
// leaves that goroutine idle, the baseline with the same P-1 readers.
// The writes/s metric is the writer's rate. ns/op is per lookup.
func BenchmarkLoadWithWriter(b *testing.B) {
	bmDense1M(b, func(b *testing.B, fx *bmFixture, comp string) {
		for _, mode := range []string{"writer", "idle"} {
			b.Run(mode, func(b *testing.B) {
				if runtime.GOMAXPROCS(0) < 2 {
					b.Skip("needs GOMAXPROCS >= 2: one P for the writer")
				}
				read := bmReadLoop(b, fx, comp, fx.rnd)
				store := bmStorer(b, fx, comp)
				readers := int32(runtime.GOMAXPROCS(0) - 1)
				var roles, done atomic.Int32
				var writes atomic.Int64
				allDone := make(chan struct{})
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					if roles.Add(1) > 1 {
						read(pb)
						if done.Add(1) == readers {
							close(allDone)
						}
						return
					}
					// The writer's (or idle) goroutine does no lookups:
					// it calls pb.Next only once the readers have taken
					// every iteration.
					if mode == "writer" {
						keys := fx.rnd
						i, gen, n := 0, uint64(0), int64(0)
						for done.Load() < readers {
							for range 64 {
								k := keys[i&(len(keys)-1)]
								store(k, k^gen)
								i++
							}
							gen ^= 1
							n += 64
						}
						writes.Add(n)
					}
					<-allDone
					for pb.Next() {
						panic("BenchmarkLoadWithWriter: iterations left after the readers")
					}
				})
				b.StopTimer()
				if mode == "writer" {
					b.ReportMetric(float64(writes.Load())/b.Elapsed().Seconds(), "writes/s")
				}
			})
		}
	})
}

// BenchmarkStateBatch: lookups in batches of 64 inside one read-side
// section with one State (Set + Load + Retry), against Load, which walks
// outside any section and checks the free sequence. ns/op is per lookup.
// Dense 1M, sequential and random order: in sequential order the nodes
// stay in cache, and the difference between the two is a section's cost
// spread over 64 lookups against the State's bookkeeping. Next64 is the
// kernel's sequential access, xas_next, 64 to a section.
func BenchmarkStateBatch(b *testing.B) {
	fx := bmNewFixture("dense", 1<<20)
	defer fx.release()
	for _, access := range []string{"seq", "rand"} {
		order := fx.order(access)
		mask := len(order) - 1
		b.Run(access+"/State64", func(b *testing.B) {
			xa := fx.xarray(b)
			dom := xa.Domain()
			b.ReportAllocs()
			b.ResetTimer()
			var s Entry
			for i := 0; i < b.N; {
				tok := dom.ReadLock()
				xas := NewState(xa, 0)
				for j := 0; j < 64 && i < b.N; j++ {
					xas.Set(order[i&mask])
					e := xas.Load()
					for xas.Retry(e) {
						e = xas.Load()
					}
					s ^= e
					i++
				}
				dom.ReadUnlock(tok)
			}
			bmSinkE = s
		})
		b.Run(access+"/Load", func(b *testing.B) {
			bmLoad(b, fx, "xarray", order)
		})
	}
	// Sequential access the kernel's way: xas_next steps the cursor to
	// the next index, one slot load while it stays in the leaf, instead
	// of a walk from the root per index. ns/op is per entry.
	b.Run("seq/Next64", func(b *testing.B) {
		xa := fx.xarray(b)
		dom := xa.Domain()
		n := len(fx.keys)
		b.ReportAllocs()
		b.ResetTimer()
		var s Entry
		for i, idx := 0, 0; i < b.N; {
			tok := dom.ReadLock()
			xas := NewState(xa, uint64(idx))
			e := xas.Load()
			for j := 0; ; {
				s += e
				i++
				if idx++; idx == n {
					idx = 0
					break
				}
				if j++; j == 64 || i >= b.N {
					break
				}
				e = xas.Next()
			}
			dom.ReadUnlock(tok)
		}
		if s == 0 {
			b.Fatal("nothing loaded")
		}
		bmSinkE = s
	})
}

// BenchmarkStore: stores over existing indices (dense 64K, random order,
// values alternating so that each store writes). The xarray must not
// allocate.
func BenchmarkStore(b *testing.B) {
	fx := bmNewFixture("dense", 1<<16)
	defer fx.release()
	order := fx.rnd
	mask := len(order) - 1
	for _, comp := range bmCompetitors {
		b.Run(comp, func(b *testing.B) {
			b.ReportAllocs()
			switch comp {
			case "xarray":
				xa := fx.xarray(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := order[i&mask]
					xa.Store(k, MkValue(k^uint64(i>>16&1)))
				}
			case "xsync.MapOf":
				m := fx.xsyncMap(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := order[i&mask]
					m.Store(k, k^uint64(i>>16&1))
				}
			case "sync.Map":
				m := fx.syncMap(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := order[i&mask]
					m.Store(k, k^uint64(i>>16&1))
				}
			case "atomic-slice":
				a := fx.slice(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := order[i&mask]
					a[k].Store(k ^ uint64(i>>16&1))
				}
			}
		})
	}
}

// BenchmarkEraseStore: an Erase and a Store of the same index per op.
// dense: 64K indices, leaves stay; sparse: one index per leaf (stride
// 64), so every Erase frees a leaf through RCU and every Store takes a
// new one from the node cache.
func BenchmarkEraseStore(b *testing.B) {
	for _, layout := range []string{"dense", "sparse"} {
		b.Run(layout, func(b *testing.B) {
			const n = 1 << 12
			keys := make([]uint64, n)
			for i := range keys {
				if layout == "dense" {
					keys[i] = uint64(i)
				} else {
					keys[i] = uint64(i) * chunkSize
				}
			}
			order := bmPerm(keys)
			xa := New(0)
			defer func() {
				xa.Destroy()
				xa.Domain().Barrier()
			}()
			for _, k := range keys {
				xa.Store(k, MkValue(k))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := order[i&(n-1)]
				xa.Erase(k)
				xa.Store(k, MkValue(k))
			}
		})
	}
}

// BenchmarkIterate: ordered iteration over dense 64K, dense 1M and
// sparse 1M, every entry marked with Mark0. All, Marked, State and
// State-marked make a full pass per op; Range and State-range walk 1K
// consecutive keys from a random start. The State walks are the floor
// each iterator is measured against, in one read-side section: State and
// State-range xas_for_each (Find, then NextEntry), State-marked
// xas_for_each_marked (FindMarked, then NextMarked). On dense 64K the
// maps' Range (unordered) runs too. ns/entry is the time per entry
// yielded.
func BenchmarkIterate(b *testing.B) {
	for _, c := range []struct {
		layout, size string
		n            int
	}{{"dense", "64K", 1 << 16}, {"dense", "1M", 1 << 20}, {"sparse", "1M", 1 << 20}} {
		b.Run(c.layout+"/"+c.size, func(b *testing.B) {
			fx := bmNewFixture(c.layout, c.n)
			defer fx.release()
			bmIterate(b, fx, c.size == "64K")
		})
	}
}

func bmIterate(b *testing.B, fx *bmFixture, maps bool) {
	n := len(fx.keys)
	// Range and State-range walk iterSpan keys from a random start.
	const iterSpan = 1 << 10
	starts := make([]int, 1<<12)
	rng := rand.New(rand.NewPCG(9, uint64(n)))
	for i := range starts {
		starts[i] = rng.IntN(n - iterSpan + 1)
	}
	xarray := func(b *testing.B) *XArray {
		xa := fx.xarray(b)
		if !xa.MarkedAny(Mark0) {
			for _, k := range fx.keys {
				xa.SetMark(k, Mark0)
			}
		}
		return xa
	}
	// run times b.N passes of pass, each of which must see want entries.
	run := func(b *testing.B, want int, pass func(i int) int) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if got := pass(i); got != want {
				b.Fatalf("pass saw %d entries, want %d", got, want)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want), "ns/entry")
	}
	b.Run("All", func(b *testing.B) {
		xa := xarray(b)
		run(b, n, func(int) int {
			count := 0
			for _, e := range xa.All() {
				bmSinkE ^= e
				count++
			}
			return count
		})
	})
	b.Run("Range", func(b *testing.B) {
		xa := xarray(b)
		run(b, iterSpan, func(i int) int {
			s := starts[i&(len(starts)-1)]
			count := 0
			for _, e := range xa.Range(fx.keys[s], fx.keys[s+iterSpan-1]) {
				bmSinkE ^= e
				count++
			}
			return count
		})
	})
	b.Run("Marked", func(b *testing.B) {
		xa := xarray(b)
		run(b, n, func(int) int {
			count := 0
			for _, e := range xa.Marked(Mark0) {
				bmSinkE ^= e
				count++
			}
			return count
		})
	})
	b.Run("State", func(b *testing.B) {
		xa := xarray(b)
		dom := xa.Domain()
		run(b, n, func(int) int { return stateWalk(xa, dom, 0, ^uint64(0)) })
	})
	b.Run("State-range", func(b *testing.B) {
		xa := xarray(b)
		dom := xa.Domain()
		run(b, iterSpan, func(i int) int {
			s := starts[i&(len(starts)-1)]
			return stateWalk(xa, dom, fx.keys[s], fx.keys[s+iterSpan-1])
		})
	})
	b.Run("State-marked", func(b *testing.B) {
		xa := xarray(b)
		dom := xa.Domain()
		run(b, n, func(int) int {
			count := 0
			var s Entry
			tok := dom.ReadLock()
			xas := NewState(xa, 0)
			for e := xas.FindMarked(^uint64(0), Mark0); e != Null; e = xas.NextMarked(^uint64(0), Mark0) {
				if xas.Retry(e) {
					continue
				}
				s ^= e
				count++
			}
			dom.ReadUnlock(tok)
			bmSinkE = s
			return count
		})
	})
	if !maps {
		return
	}
	b.Run("xsync.MapOf", func(b *testing.B) {
		m := fx.xsyncMap(b)
		run(b, n, func(int) int {
			count := 0
			m.Range(func(k, v uint64) bool {
				bmSinkU ^= v
				count++
				return true
			})
			return count
		})
	})
	b.Run("sync.Map", func(b *testing.B) {
		m := fx.syncMap(b)
		run(b, n, func(int) int {
			count := 0
			m.Range(func(k, v any) bool {
				bmSinkU ^= v.(uint64)
				count++
				return true
			})
			return count
		})
	})
}

// BenchmarkFindMarked: a full marked walk per op over 64K dense entries
// of which every 16th has Mark0, with the Marked iterator (a FindAfter
// per entry) and with a State walk (FindMarked/NextMarked) in one
// read-side section. ns/entry is the time per marked entry.
func BenchmarkFindMarked(b *testing.B) {
	const n, every = 1 << 16, 16
	fx := bmNewFixture("dense", n)
	defer fx.release()
	mark := func(b *testing.B) *XArray {
		xa := fx.xarray(b)
		if !xa.MarkedAny(Mark0) {
			for k := uint64(0); k < n; k += every {
				xa.SetMark(k, Mark0)
			}
		}
		return xa
	}
	report := func(b *testing.B, count int) {
		if count != n/every {
			b.Fatalf("pass saw %d marked entries, want %d", count, n/every)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(n/every), "ns/entry")
	}
	b.Run("Marked", func(b *testing.B) {
		xa := mark(b)
		b.ReportAllocs()
		b.ResetTimer()
		count := 0
		for i := 0; i < b.N; i++ {
			count = 0
			for _, e := range xa.Marked(Mark0) {
				bmSinkE ^= e
				count++
			}
		}
		b.StopTimer()
		report(b, count)
	})
	b.Run("State", func(b *testing.B) {
		xa := mark(b)
		dom := xa.Domain()
		b.ReportAllocs()
		b.ResetTimer()
		count := 0
		for i := 0; i < b.N; i++ {
			count = 0
			var s Entry
			tok := dom.ReadLock()
			xas := NewState(xa, 0)
			for e := xas.FindMarked(^uint64(0), Mark0); e != Null; e = xas.NextMarked(^uint64(0), Mark0) {
				if xas.Retry(e) {
					continue
				}
				s ^= e
				count++
			}
			dom.ReadUnlock(tok)
			bmSinkE = s
		}
		b.StopTimer()
		report(b, count)
	})
}

// bmMemory caches each BenchmarkMemory measurement: the fixtures are big,
// and the benchmark function runs more than once.
var bmMemory sync.Map // name -> [2]float64{bytes/entry, nodes/entry}

// BenchmarkMemory reports bytes per entry for dense 1M and sparse 1M:
// for the xarray the nodes of the tree (xa.Nodes() * node bytes), for
// the others the growth of the Go heap. It times nothing (ns/op is
// suppressed).
func BenchmarkMemory(b *testing.B) {
	for _, layout := range []string{"dense", "sparse"} {
		b.Run(layout, func(b *testing.B) {
			b.Run("1M", func(b *testing.B) {
				for _, comp := range bmCompetitors {
					b.Run(comp, func(b *testing.B) {
						key := fmt.Sprintf("%s/%s", layout, comp)
						v, ok := bmMemory.Load(key)
						if !ok {
							v = bmMeasureMemory(b, layout, comp, 1<<20)
							bmMemory.Store(key, v)
						}
						m := v.([2]float64)
						for i := 0; i < b.N; i++ {
						}
						b.ReportMetric(0, "ns/op")
						b.ReportMetric(m[0], "bytes/entry")
						if comp == "xarray" {
							b.ReportMetric(m[1], "nodes/entry")
						}
					})
				}
			})
		})
	}
}

func bmMeasureMemory(b *testing.B, layout, comp string, n int) [2]float64 {
	fx := bmNewFixture(layout, n)
	defer fx.release()
	if comp == "xarray" {
		xa := fx.xarray(b)
		nodes := xa.Nodes()
		bytes := float64(nodes) * float64(NodeCacheStats().Bytes)
		return [2]float64{bytes / float64(n), float64(nodes) / float64(n)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	switch comp {
	case "xsync.MapOf":
		fx.xsyncMap(b)
	case "sync.Map":
		fx.syncMap(b)
	case "atomic-slice":
		fx.slice(b)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(fx)
	return [2]float64{float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n), 0}
}

// TestLoadStoreAllocs checks the allocation targets outside the
// benchmarks: Load allocates nothing, nor does Store over an existing
// index.
func TestLoadStoreAllocs(t *testing.T) {
	xa := New(0)
	for k := uint64(0); k < 4096; k++ {
		xa.Store(k, MkValue(k))
	}
	i := uint64(0)
	if a := testing.AllocsPerRun(1000, func() {
		bmSinkE = xa.Load(i * 7 & 4095)
		i++
	}); a != 0 {
		t.Errorf("Load: %v allocs per call", a)
	}
	if a := testing.AllocsPerRun(1000, func() {
		k := i * 7 & 4095
		xa.Store(k, MkValue(k^(i&1)))
		i++
	}); a != 0 {
		t.Errorf("Store over an existing index: %v allocs per call", a)
	}
	finish(t, xa)
}

// stateWalk walks the entries of xa from first to last with one State
// under one read-side section (xas_for_each), and returns how many it met.
func stateWalk(xa *XArray, dom *rcu.Domain, first, last uint64) int {
	count := 0
	var sum Entry
	tok := dom.ReadLock()
	xas := NewState(xa, first)
	for e := xas.Find(last); e != Null; e = xas.NextEntry(last) {
		if xas.Retry(e) {
			continue
		}
		sum ^= e
		count++
	}
	dom.ReadUnlock(tok)
	bmSinkE = sum
	return count
}

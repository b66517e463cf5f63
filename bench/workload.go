// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/xabench/xabench/xarray"
)

// Layout is how a key set spreads its keys over the index space.
type Layout string

const (
	// Dense is the keys 0..n-1: a fully populated array, the page cache of
	// a file read from start to end.
	Dense Layout = "dense"
	// Sparse is n keys with random gaps of mean SparseGap(n) (uniform in
	// 1..2*gap-1): most XArray leaves then hold one or a few entries.
	Sparse Layout = "sparse"
)

// Access is the order in which a workload visits the keys.
type Access string

const (
	Seq     Access = "seq"  // the keys in increasing order, wrapping around
	Uniform Access = "rand" // keys drawn uniformly at random
	Zipf    Access = "zipf" // keys drawn with a Zipf distribution (s = ZipfS), hot keys scattered
)

// ZipfS is the exponent of the Zipf access distribution (math/rand's
// Zipf needs s > 1; YCSB's 0.99 is just below).
const ZipfS = 1.1

// Batch is the number of operations a worker hands a competitor at once,
// and the size of a timed batch for latencies: a clock read costs tens of
// nanoseconds, about as much as a lookup, so single calls are never
// timed.
const Batch = 64

// KeySet names a set of keys: a layout and a size.
type KeySet struct {
	Layout Layout
	N      int
}

func (k KeySet) String() string { return fmt.Sprintf("keys=%s/n=%s", k.Layout, SizeName(k.N)) }

// SizeName writes n as 1K, 64K, 1M, 16M where it is a multiple of 1024.
func SizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprint(n)
}

// Sizes are the key-set sizes the suites draw from: 1K to 16M.
var Sizes = []int{1 << 10, 1 << 16, 1 << 20, 1 << 24}

// Workload is what one benchmark does: a key set, an access order, a
// read/write mix or a write op, on Procs goroutines (and GOMAXPROCS =
// Procs, as go test -cpu sets it).
type Workload struct {
	Keys    KeySet
	Access  Access
	ReadPct int // 100, 99, 90, 50: the rest are stores of the key's value; 0 with Op
	// Op, if set, makes this a write workload (writes.go): every
	// operation is an Op on the key, and ReadPct is 0.
	Op    Op
	Procs int
}

// Name is the benchmark's name without the "Benchmark" prefix, the
// competitor and the -procs suffix: Lookup/keys=dense/n=1M/access=rand/read=90
// for a lookup mix, Write/keys=dense/n=1M/access=rand/op=store for a write
// workload.
func (w Workload) Name() string {
	if w.Op != "" {
		return fmt.Sprintf("Write/%v/access=%s/op=%s", w.Keys, w.Access, w.Op)
	}
	return fmt.Sprintf("Lookup/%v/access=%s/read=%d", w.Keys, w.Access, w.ReadPct)
}

// Keys returns the sorted keys of k. They are the same on every call and
// every machine: the random gaps come from a fixed seed.
func Keys(k KeySet) []uint64 {
	keys := make([]uint64, k.N)
	if k.Layout == Dense {
		for i := range keys {
			keys[i] = uint64(i)
		}
		return keys
	}
	return sparseKeys(k.N, SparseGap(k.N))
}

func sparseKeys(n, gap int) []uint64 {
	keys := make([]uint64, n)
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	k := uint64(rng.IntN(gap))
	for i := range keys {
		keys[i] = k
		k += 1 + uint64(rng.IntN(2*gap-1))
	}
	return keys
}

// MaxSparseGap is the mean gap of sparse keys where the node cache allows
// it: with gaps that large, nearly every key has a leaf node of its own.
const MaxSparseGap = 64

// SparseGap returns the mean gap between sparse keys for a set of n: 64,
// or the largest power of two below it for which the XArray of the keys
// needs at most half of nodeBudget nodes (of NodeCacheStats().Bytes
// each), so that a sparse XArray fits beside the suite's other arrays in
// the memory of a small machine. It depends only on n, so a key set is
// the same from run to run and from machine to machine.
func SparseGap(n int) int {
	sparseGapMu.Lock()
	defer sparseGapMu.Unlock()
	if g, ok := sparseGaps[n]; ok {
		return g
	}
	g := sparseGap(n)
	sparseGaps[n] = g
	return g
}

// nodeBudget bounds the nodes of the suites' sparse arrays: 4M nodes,
// 2.2 GiB (the node cache's whole capacity when the baseline was taken).
const nodeBudget = 1<<22 - 1025

var (
	sparseGapMu sync.Mutex
	sparseGaps  = map[int]int{}
)

func sparseGap(n int) int {
	limit := min(xarray.NodeCacheStats().Capacity, nodeBudget) / 2
	gap := MaxSparseGap
	for gap > 1 && int64(n)*int64(gap) > limit*64 { // more than limit leaves even if packed
		gap /= 2
	}
	for gap > 1 && int64(sparseTreeNodes(n, gap)) > limit {
		gap /= 2
	}
	return gap
}

// sparseTreeNodes is TreeNodes(sparseKeys(n, gap)) without building the
// keys.
func sparseTreeNodes(n, gap int) int {
	const levels = 10 // shifts 6, 12, ..., 60
	var last [levels]uint64
	var count [levels]int
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	k := uint64(rng.IntN(gap))
	var maxKey uint64
	for i := 0; i < n; i++ {
		for l := range levels {
			p := k >> (6 * (l + 1))
			if i > 0 && p == last[l] {
				break // the same parent here, so the same above
			}
			count[l]++
			last[l] = p
		}
		maxKey = k
		k += 1 + uint64(rng.IntN(2*gap-1))
	}
	if n == 0 || (n == 1 && maxKey == 0) {
		return 0
	}
	total := 0
	for l := range levels {
		total += count[l]
		if shift := 6 * (l + 1); shift >= 60 || maxKey>>shift == 0 {
			break
		}
	}
	return total
}

// TreeNodes returns the number of nodes an XArray of the sorted keys
// holds: the distinct keys>>6 (leaves), keys>>12, and so on up to a
// single root.
func TreeNodes(keys []uint64) int {
	if len(keys) == 0 || (len(keys) == 1 && keys[0] == 0) {
		return 0
	}
	total := 0
	for shift := uint(6); ; shift += 6 {
		distinct, last := 0, uint64(0)
		for i, k := range keys {
			if p := k >> shift; i == 0 || p != last {
				distinct++
				last = p
			}
		}
		total += distinct
		if shift >= 60 || keys[len(keys)-1]>>shift == 0 {
			return total
		}
	}
}

// Sequence returns the keys in the order a workload visits them. Every
// competitor gets the same sequence. Seq is keys itself; random orders
// draw from a fixed seed, as many keys as there are (at least 64K, at
// most 4M: a worker wraps around at the end).
func Sequence(keys []uint64, a Access) []uint64 {
	if a == Seq {
		return keys
	}
	n := len(keys)
	seq := make([]uint64, min(max(n, 1<<16), 1<<22))
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	switch a {
	case Uniform:
		for i := range seq {
			seq[i] = keys[rng.IntN(n)]
		}
	case Zipf:
		z := rand.NewZipf(rng, ZipfS, 1, uint64(n-1))
		scatter := newScatter(n, rng)
		for i := range seq {
			seq[i] = keys[scatter(z.Uint64())]
		}
	default:
		panic(fmt.Sprintf("bench: unknown access %q", a))
	}
	return seq
}

// newScatter returns a bijection of 0..n-1 that spreads the Zipf ranks
// (0 is hottest) over the keys, so the hot keys are not all neighbours.
func newScatter(n int, rng *rand.Rand) func(uint64) int {
	if n&(n-1) == 0 {
		// An odd multiplier is a bijection modulo a power of two.
		mask := uint64(n - 1)
		return func(r uint64) int { return int(r * 0x9e3779b97f4a7c15 & mask) }
	}
	perm := rng.Perm(n)
	return func(r uint64) int { return perm[r] }
}

// writeAt reports whether the operation at position p of a sequence is a
// write under a mix with readPct percent reads. Writes are spread evenly:
// with 99% reads every hundredth operation writes, with 50% every other.
func writeAt(p, readPct int) bool {
	w := 100 - readPct
	return (p*w)%100 < w
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
)

// itStall is the stall timeout of the domains these tests build: a loop
// body that waits for a grace period inside the iterator's own read-side
// section panics after it, instead of hanging.
const itStall = time.Second

// itDomain returns a domain with a short stall timeout, closed when t
// ends.
func itDomain(t *testing.T) *rcu.Domain {
	d := rcu.NewDomain()
	d.SetStallTimeout(itStall)
	t.Cleanup(d.Close)
	return d
}

// itCollect runs seq to the end, or to more entries than any array of
// these tests holds: an iterator that wraps around would never end.
func itCollect(seq iter.Seq2[uint64, Entry]) []fzPair {
	var out []fzPair
	for i, e := range seq {
		out = append(out, fzPair{i, e})
		if len(out) > 1<<16 {
			break
		}
	}
	return out
}

// itDiff says where got and want, which differ, part.
func itDiff(got, want []fzPair) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	at := func(p []fzPair) string {
		if i < len(p) {
			return fmt.Sprintf("%#x: %v", p[i].index, p[i].e)
		}
		return "the end"
	}
	return fmt.Sprintf("got %d entries, want %d; entry %d is %s, want %s", len(got), len(want), i, at(got), at(want))
}

// itOld is the iteration the iterators replaced, one Find and then a
// FindAfter, each a walk in its own section, per entry: the reference
// they must match on an array nobody changes.
func itOld(xa *XArray, first, last uint64, filter Mark) []fzPair {
	var out []fzPair
	index := first
	for e := xa.Find(&index, last, filter); e != Null; e = xa.FindAfter(&index, last, filter) {
		out = append(out, fzPair{index, e})
	}
	return out
}

// synchronizeIn waits for a grace period of d and returns what it
// panicked with, if it did.
func synchronizeIn(d *rcu.Domain) (stalled any) {
	defer func() { stalled = recover() }()
	d.Synchronize()
	return nil
}

// The loop body of All, Range and Marked runs outside any read-side
// section of the array's domain: a body that waits for a grace period
// (xa.Domain().Synchronize()) returns promptly at every entry, where it
// would stall, and panic after the stall timeout, if the iterator held
// its section across the call.
func TestIterateBodyOutsideSection(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := itDomain(t)
	xa := New(0, WithRCU(d))
	const n = 300
	for i := uint64(0); i < n; i++ {
		storeIndex(t, xa, 3*i)
		if i%2 == 0 {
			xa.SetMark(3*i, Mark0)
		}
	}
	storeOrder(t, xa, 1024, 6, MkValue(1024))
	xa.SetMark(1024, Mark0)
	for _, c := range []struct {
		name string
		seq  iter.Seq2[uint64, Entry]
		want int
	}{
		{"All", xa.All(), n + 1},
		{"Range", xa.Range(30, 1100), n - 10 + 1},
		{"Marked", xa.Marked(Mark0), n/2 + 1},
	} {
		count := 0
		for i := range c.seq {
			if p := synchronizeIn(xa.Domain()); p != nil {
				t.Fatalf("%s: Synchronize in the loop body at index %d: %v", c.name, i, p)
			}
			count++
		}
		if count != c.want {
			t.Errorf("%s yielded %d entries, want %d", c.name, count, c.want)
		}
	}
	finish(t, xa)
}

// The loop body may change the array it iterates. Erasing every entry
// yielded empties the array and yields each entry once, in order; erasing
// and storing ahead of the cursor never makes the iterator yield an index
// twice, out of order, or with an entry that was never at that index,
// and every entry that was present throughout is yielded.
func TestIterateBodyModifies(t *testing.T) {
	t.Run("erase-each", func(t *testing.T) {
		xa := New(0)
		var want []fzPair
		for i := uint64(0); i < 1000; i++ {
			k := i * 5
			storeIndex(t, xa, k)
			want = append(want, fzPair{k, mkIndex(k)})
		}
		storeOrder(t, xa, 8192, 7, MkValue(8192))
		want = append(want, fzPair{8192, MkValue(8192)})
		var got []fzPair
		for i, e := range xa.All() {
			got = append(got, fzPair{i, e})
			if old := xa.Erase(i); old != e {
				t.Fatalf("Erase(%d) = %v, yielded %v", i, old, e)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("All while erasing each entry: %s", itDiff(got, want))
		}
		mustBeEmpty(t, xa)
		finish(t, xa)
	})
	t.Run("store-and-erase-ahead", func(t *testing.T) {
		xa := New(0)
		// Even indices hold the entries that stay; the body stores odd
		// indices ahead of the cursor and erases them again further on.
		const n = 4096
		for k := uint64(0); k < n; k += 2 {
			storeIndex(t, xa, k)
		}
		for pass, seq := range []iter.Seq2[uint64, Entry]{xa.All(), xa.Range(1, n)} {
			prev, seen := int64(-1), 0
			for i, e := range seq {
				if int64(i) <= prev {
					t.Fatalf("index %d after %d", i, prev)
				}
				prev = int64(i)
				if e != mkIndex(i) {
					t.Fatalf("entry %v at %d, never stored there", e, i)
				}
				if i%2 == 0 {
					seen++
				}
				if i+7 < n {
					storeIndex(t, xa, i+7) // odd: ahead of the cursor
				}
				if i >= 200 && i%2 == 0 {
					xa.Erase(i - 193) // odd: behind
					xa.Erase(i + 101) // odd: ahead
				}
			}
			if want := n/2 - pass; seen != want { // Range(1, n) starts past 0
				t.Fatalf("pass %d yielded %d of the %d entries that stayed", pass, seen, want)
			}
			for k := uint64(1); k < n; k += 2 {
				xa.Erase(k)
			}
		}
		finish(t, xa)
	})
}

// itArray builds an array of one of the layouts the equivalence test
// walks, with multi-index entries (which never overlap one another),
// marks on some entries (a mark set inside a multi-index entry marks it
// all), and reserved indices, which the iterators must skip.
func itArray(t *testing.T, rng *rand.Rand, layout string, d *rcu.Domain) *XArray {
	xa := New(0, WithRCU(d))
	val := func() Entry { return MkValue(rng.Uint64N(1 << 40)) }
	var indices []uint64
	store := func(k uint64) {
		if _, err := xa.Store(k, val()); err != nil {
			t.Fatal(err)
		}
		indices = append(indices, k)
	}
	var multi [][2]uint64
	free := func(first, last uint64) bool {
		for _, r := range multi {
			if first <= r[1] && r[0] <= last {
				return false
			}
		}
		multi = append(multi, [2]uint64{first, last})
		indices = append(indices, first)
		return true
	}
	storeMulti := func(k uint64, order uint) {
		k = k >> order << order
		if free(k, k+(uint64(1)<<order-1)) {
			storeOrder(t, xa, k, order, val())
		}
	}
	switch layout {
	case "empty":
	case "head":
		store(0)
	case "dense":
		n := 200 + rng.IntN(3000)
		for k := uint64(0); k < uint64(n); k++ {
			store(k)
		}
		for range 1 + n/200 {
			storeMulti(rng.Uint64N(uint64(n)), uint(1+rng.IntN(8)))
		}
	case "sparse":
		k := rng.Uint64N(64)
		for range 100 + rng.IntN(1500) {
			store(k)
			k += 1 + rng.Uint64N(300)
		}
		for range 10 {
			storeMulti(rng.Uint64N(k), uint(rng.IntN(13)))
		}
		first := rng.Uint64N(k)
		last := first + rng.Uint64N(500)
		if free(first, last) {
			if err := xa.StoreRange(first, last, val()); err != nil {
				t.Fatal(err)
			}
		}
	case "ends":
		// Index 0, a multi-index entry that ends at the last index,
		// and a run of entries just below it.
		store(0)
		storeMulti(math.MaxUint64, 6)
		for k := uint64(math.MaxUint64 - 64 - 300); k < math.MaxUint64-64; k += 1 + rng.Uint64N(3) {
			store(k)
		}
		store(math.MaxUint64 >> 1)
	case "top":
		// The last leaf full: a batch ends at the last index.
		for k := uint64(math.MaxUint64 - 63); k != 0; k++ {
			store(k)
		}
	case "edges":
		// Multi-index entries in leaves where batches end: 63 entries,
		// then an order-3 entry at 64, so that the next batch resumes
		// in its second slot; 63 more, then an order-3 entry that ends
		// at the last index, where the batch after resumes. Everything
		// has Mark0.
		for k := uint64(0); k < 63; k++ {
			store(k)
		}
		storeMulti(64, 3)
		for k := uint64(72); k < 72+63; k++ {
			store(k)
		}
		storeMulti(math.MaxUint64, 3)
		for _, k := range indices {
			xa.SetMark(k, Mark0)
		}
	default:
		t.Fatalf("no layout %q", layout)
	}
	for _, k := range indices {
		if rng.IntN(3) == 0 {
			xa.SetMark(k+rng.Uint64N(2), Mark(rng.IntN(int(maxMarks))))
		}
	}
	if len(indices) > 0 {
		for range 20 {
			k := indices[rng.IntN(len(indices))] + 1 + rng.Uint64N(3)
			xa.Reserve(k) // fails where an entry is: fine
		}
	}
	return xa
}

// itBound returns a bound for Range: the ends of the index space, an
// index of one of all or next to one, or any index.
func itBound(rng *rand.Rand, all []fzPair) uint64 {
	switch r := rng.IntN(8); {
	case r == 0:
		return 0
	case r == 1:
		return math.MaxUint64
	case r < 6 && len(all) > 0:
		return all[rng.IntN(len(all))].index + rng.Uint64N(3) - 1
	default:
		return rng.Uint64()
	}
}

// On an array nobody changes, All, Range and Marked yield exactly what
// the per-entry iteration they replaced (Find, then FindAfter from each
// index yielded) yields: over dense and sparse arrays with multi-index
// entries, reserved indices and marks, over the head entry alone, over
// entries at both ends of the index space, with batches that end at
// the last index and inside multi-index entries, for Range bounds that
// include 0 and MaxUint64 and fall inside multi-index entries, for each
// mark. A loop that breaks after any number of entries gets exactly
// that prefix, and no read-side section is left held: the domain's
// grace periods still complete.
func TestIterateMatchesFindAfter(t *testing.T) {
	watchdog.Start(t, 4*watchdog.Default)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, layout := range []string{"empty", "head", "dense", "sparse", "ends", "top", "edges"} {
		for round := range 4 {
			t.Run(fmt.Sprintf("%s/%d", layout, round), func(t *testing.T) {
				d := itDomain(t)
				xa := itArray(t, rng, layout, d)
				type walk struct {
					name        string
					seq         iter.Seq2[uint64, Entry]
					first, last uint64
					filter      Mark
				}
				walks := []walk{{"All", xa.All(), 0, math.MaxUint64, Present}}
				for m := Mark0; m < maxMarks; m++ {
					walks = append(walks, walk{fmt.Sprintf("Marked(%d)", m), xa.Marked(m), 0, math.MaxUint64, m})
				}
				all := itOld(xa, 0, math.MaxUint64, Present)
				for range 12 {
					first, last := itBound(rng, all), itBound(rng, all)
					if rng.IntN(4) != 0 && first > last {
						first, last = last, first
					}
					walks = append(walks, walk{fmt.Sprintf("Range(%#x, %#x)", first, last), xa.Range(first, last), first, last, Present})
				}
				for _, w := range walks {
					want := itOld(xa, w.first, w.last, w.filter)
					if got := itCollect(w.seq); !slices.Equal(got, want) {
						t.Fatalf("%s: %s", w.name, itDiff(got, want))
					}
					// Break after every position, or on a long walk
					// after every position of the first two batches
					// and the first of the third, and a sample of the
					// rest.
					stops := make([]int, 0, len(want))
					for stop := range len(want) {
						if len(want) <= 150 || stop <= 2*iterBatch || rng.IntN(len(want)/8) == 0 {
							stops = append(stops, stop)
						}
					}
					for _, stop := range stops {
						var got []fzPair
						for i, e := range w.seq {
							got = append(got, fzPair{i, e})
							if len(got) == stop+1 {
								break
							}
						}
						if !slices.Equal(got, want[:stop+1]) {
							t.Fatalf("%s, break after %d: %s", w.name, stop+1, itDiff(got, want[:stop+1]))
						}
					}
				}
				if p := synchronizeIn(d); p != nil {
					t.Fatalf("a read-side section was left held: %v", p)
				}
				finish(t, xa)
			})
		}
	}
}

// A full walk of a 10K array allocates no more than a walk of a 100
// entry array, and at most what ranging over a closure costs: the batch
// buffer lives on the stack, so there is no allocation per batch.
func TestIterateAllocs(t *testing.T) {
	xa := New(0)
	allocs := func(n uint64) (all, rng, marked float64) {
		for k := uint64(0); k < n; k++ {
			storeIndex(t, xa, k)
			xa.SetMark(k, Mark1)
		}
		all = testing.AllocsPerRun(20, func() {
			for _, e := range xa.All() {
				bmSinkE ^= e
			}
		})
		rng = testing.AllocsPerRun(20, func() {
			for _, e := range xa.Range(1, 20000) {
				bmSinkE ^= e
			}
		})
		marked = testing.AllocsPerRun(20, func() {
			for _, e := range xa.Marked(Mark1) {
				bmSinkE ^= e
			}
		})
		return
	}
	a100, r100, m100 := allocs(100)
	a10k, r10k, m10k := allocs(10000)
	for _, c := range []struct {
		name       string
		small, big float64
	}{{"All", a100, a10k}, {"Range", r100, r10k}, {"Marked", m100, m10k}} {
		if c.big > 2 || c.big > c.small {
			t.Errorf("%s: %v allocations for a walk of 10K entries, %v for 100", c.name, c.big, c.small)
		}
	}
	finish(t, xa)
}

// Marked panics at once, before any walk, on a mark out of range, with
// the message every other mark operation panics with.
func TestIterateMarkedBadMark(t *testing.T) {
	xa := New(0)
	storeIndex(t, xa, 1)
	defer finish(t, xa)
	defer func() {
		p := recover()
		if msg := fmt.Sprint(p); msg != "xarray: mark 3 out of range: use Mark0, Mark1 or Mark2" {
			t.Fatalf("Marked(3) panicked with %q", msg)
		}
	}()
	xa.Marked(maxMarks)
	t.Fatalf("Marked(3) did not panic")
}

// Under concurrent stores, erases and mark changes, All, Range and Marked
// yield only present entries, never an internal one, each index at most
// once, in increasing order, each at the index where the entry begins
// (Range's first entry may cover first); every entry that stays in the
// array throughout, with its mark, is yielded. Loop bodies wait for grace
// periods of the array's domain as they go.
func TestIterateConcurrent(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := itDomain(t)
	xa := New(0, WithRCU(d))
	// Stable entries at the multiples of 256, marked with Mark0; the
	// writer stores and erases aligned entries of order k%8 in the gap
	// after 256k, and sets and clears their Mark0 and Mark1.
	const gaps = 64
	val := func(first uint64, order uint) Entry { return MkValue(first<<8 | uint64(order)) }
	for k := uint64(0); k < gaps; k++ {
		xa.Store(k*256, val(k*256, 0))
		xa.SetMark(k*256, Mark0)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(3, 4))
		for !stop.Load() {
			k := rng.Uint64N(gaps)
			order := uint(k % 8)
			j := 1 + rng.Uint64N(256>>order-1)
			first := k*256 + j<<order
			switch rng.IntN(4) {
			case 0, 1:
				xas := NewStateOrder(xa, first, order)
				for {
					xas.Lock()
					xas.Store(val(first, order))
					xas.Unlock()
					if !xas.Nomem() {
						break
					}
				}
				if err := xas.Error(); err != nil {
					t.Errorf("store order %d at %d: %v", order, first, err)
					return
				}
			case 2:
				xa.Erase(first)
			default:
				m := Mark(rng.IntN(2))
				if rng.IntN(2) == 0 {
					xa.SetMark(first, m)
				} else {
					xa.ClearMark(first, m)
				}
			}
			writes.Add(1)
		}
	})
	stopWriter := func() {
		stop.Store(true)
		wg.Wait()
	}
	defer stopWriter() // on a failure too
	check := func(name string, seq iter.Seq2[uint64, Entry], first uint64, wantStable []uint64) {
		t.Helper()
		prev, n := uint64(0), 0
		var stable []uint64
		for i, e := range seq {
			if e.IsInternal() || e == Null || !e.IsValue() {
				t.Fatalf("%s yielded %v at %d", name, e, i)
			}
			if n > 0 && i <= prev {
				t.Fatalf("%s yielded %d after %d", name, i, prev)
			}
			v := e.ToValue()
			start, size := v>>8, uint64(1)<<(v&0xff)
			if i != start && (n > 0 || i != first || i < start || i >= start+size) {
				t.Fatalf("%s yielded the entry of [%d, %d) at %d", name, start, start+size, i)
			}
			if i%256 == 0 {
				stable = append(stable, i)
			}
			if n%50 == 0 {
				if p := synchronizeIn(xa.Domain()); p != nil {
					t.Fatalf("%s: Synchronize in the loop body: %v", name, p)
				}
			}
			prev = i
			n++
		}
		if !slices.Equal(stable, wantStable) {
			t.Fatalf("%s yielded the stable entries %v, want %v", name, stable, wantStable)
		}
	}
	var all []uint64
	for k := uint64(0); k < gaps; k++ {
		all = append(all, k*256)
	}
	deadline := time.Now().Add(stressFor(time.Second))
	passes := 0
	for time.Now().Before(deadline) || passes < 10 {
		check("All", xa.All(), 0, all)
		check("Marked(0)", xa.Marked(Mark0), 0, all)
		check("Marked(1)", xa.Marked(Mark1), 0, nil)
		first := uint64(passes*97) % (gaps * 256)
		last := first + 5000
		check(fmt.Sprintf("Range(%d, %d)", first, last), xa.Range(first, last), first, all[(first+255)/256:min(gaps, last/256+1)])
		passes++
	}
	stopWriter()
	if writes.Load() == 0 {
		t.Fatalf("the writer made no progress in %d passes", passes)
	}
	finish(t, xa)
}

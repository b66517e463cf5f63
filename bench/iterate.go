// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/puzpuzpuz/xsync/v3"
	xsyncv4 "github.com/puzpuzpuz/xsync/v4"
	"github.com/tidwall/btree"
	"github.com/xabench/xabench/xarray"
)

// The iterate suite measures ordered iteration, the XArray's own ground:
// a full walk in index order of a dense and of a sparse key set, a range
// walk of IterSpan consecutive keys from a random start, and a walk of
// the keys with Mark0 of the dense set. Every row is the time per entry
// visited. Every walk sums the values it visits and counts them; each
// walk's count and sum are checked against the key set's, and a walk
// that visits the wrong entries ends the suite with an error.
//
// The competitors:
//
//   - xarray State: the fastest State loop, xas_for_each (Find, then
//     NextEntry) or xas_for_each_marked (FindMarked, then NextMarked),
//     with xas_retry, in one read-side section for the whole walk. It is
//     the floor the iterators are measured against; it holds the section
//     for the whole walk, which an iterator cannot (its loop body may
//     block).
//   - xarray All, Range and Marked: the range-over-func iterators, which
//     gather 64 entries per read-side section and run the loop body
//     outside any section.
//   - tidwall/btree's btree.Map of uint64 keys, as the lookup suites
//     build it (btree.go), behind a sync.RWMutex read-locked for the walk
//     and as a copy-on-write snapshot loaded from an atomic pointer: both
//     rows walk one and the same tree, with Scan (full walks) or Ascend
//     from the range's first key, stopped after IterSpan entries.
//   - For full walks, the hash maps' Range, which visits the keys in no
//     particular order: xsync.MapOf (v3), xsync.Map (v4) and sync.Map.
//   - For the marked walk, two B-trees under a sync.RWMutex: one of every
//     key that keeps the mark as the low bit of its value and filters on
//     it while it scans them all, and one of the marked keys alone, the
//     best a B-tree user can do (a second index to keep up to date).

// DefaultIterKeys is the keys of each of the iterate suite's key sets.
const DefaultIterKeys = 1 << 20

// IterSpan is the entries of a range walk: consecutive keys of the key
// set from a random start ([start, start+IterSpan-1] on dense keys).
const IterSpan = 1 << 10

// IterMarkEvery says which keys the marked walk finds: those k with
// k%IterMarkEvery == 0, one in IterMarkEvery of the dense set (every
// XArray leaf of 64 then holds four marked entries).
const IterMarkEvery = 16

// DefaultIterBenchtime and DefaultIterCount size the iterate suite by
// default: about a minute and a half on two CPUs, with the 95% intervals
// of ten runs.
const (
	DefaultIterBenchtime = 200 * time.Millisecond
	DefaultIterCount     = 10
)

// iterStarts is the number of random starts the range walks cycle
// through (a power of two).
const iterStarts = 1 << 12

// The walks' kinds, the IterGroup.Walk values.
const (
	WalkFull   = "full"
	WalkRange  = "range"
	WalkMarked = "marked"
)

// The iterate suite's competitors, the IterRow.Name values.
const (
	IterXArrayState = "xarray-state" // a State loop in one read-side section
	IterXArrayIter  = "xarray-iter"  // All, Range or Marked
	IterBTreeRW     = "btree+RWMutex"
	IterBTreeCOW    = "btree-cow"
	IterBTreeFilter = "btree-filter" // every key, the mark in the value
	IterBTreeMarked = "btree-marked" // the marked keys alone
	IterXsyncMapOf  = "xsync.MapOf"
	IterXsyncV4     = "xsyncv4"
	IterSyncMap     = "sync.Map"
)

// IsIterBTree reports whether the named competitor is one of the
// B-trees.
func IsIterBTree(name string) bool {
	switch name {
	case IterBTreeRW, IterBTreeCOW, IterBTreeFilter, IterBTreeMarked:
		return true
	}
	return false
}

// IterOptions configures RunIterate.
type IterOptions struct {
	Benchtime time.Duration // length of each measurement; DefaultIterBenchtime if zero
	Count     int           // repetitions of each measurement; DefaultIterCount if zero
	// Keys is the size of each key set; DefaultIterKeys if zero. Range
	// walks need at least IterSpan.
	Keys int
	// Context, if set, stops the suite when it is done (an interrupt):
	// RunIterate returns before the next measurement, keeping the runs
	// that finished whole, with Interrupted set. A measurement in
	// progress finishes first, so the suite stops within about one
	// Benchtime.
	Context context.Context
	// Progress, if not nil, is called before each measurement with the
	// repetition it belongs to (1 to Count) and its name, and before
	// each key set's structures are built with run 0.
	Progress func(run int, name string)
	// IdleBefore, if positive, is recorded in the results as the share of
	// CPU time the machine left idle just before the suite (CPUIdle).
	IdleBefore float64
}

// IterRow holds the runs of one competitor on one walk.
type IterRow struct {
	Name    string // one of the Iter... competitor constants
	Label   string // the table's label
	Ordered bool   // visits the keys in increasing order
	// NsPerEntry holds each run's nanoseconds per entry visited.
	NsPerEntry []float64
}

// IterGroup is one walk over one key set and its competitors.
type IterGroup struct {
	Walk    string // WalkFull, WalkRange or WalkMarked
	Keys    KeySet
	Entries int // entries each walk visits
	// Rows are the competitors, the xarray State walk first.
	Rows []IterRow
}

// Name is the group's benchmark name, without the Benchmark prefix and
// the competitor: Iterate/keys=dense/n=1M/walk=full.
func (g *IterGroup) Name() string { return fmt.Sprintf("Iterate/%v/%s", g.Keys, g.walkName()) }

// walkName is the walk's part of the group's name: walk=full,
// walk=range/span=1K or walk=marked/every=16.
func (g *IterGroup) walkName() string {
	switch g.Walk {
	case WalkRange:
		return "walk=range/span=" + SizeName(g.Entries)
	case WalkMarked:
		return fmt.Sprintf("walk=marked/every=%d", IterMarkEvery)
	}
	return "walk=" + g.Walk
}

// Row returns the group's row of the named competitor, or nil.
func (g *IterGroup) Row(name string) *IterRow {
	for i := range g.Rows {
		if g.Rows[i].Name == name {
			return &g.Rows[i]
		}
	}
	return nil
}

// BestBTree returns, run by run, the nanoseconds per entry of the
// group's faster B-tree row, or nil if the group has none.
func (g *IterGroup) BestBTree() []float64 {
	var best []float64
	for _, r := range g.Rows {
		if !IsIterBTree(r.Name) {
			continue
		}
		if best == nil {
			best = append([]float64(nil), r.NsPerEntry...)
			continue
		}
		for i := range min(len(best), len(r.NsPerEntry)) {
			best[i] = min(best[i], r.NsPerEntry[i])
		}
	}
	return best
}

// IterResults is the outcome of the iterate suite. Per-run numbers are
// kept; summaries are their medians.
type IterResults struct {
	Machine    string
	Load       string  // one-minute load average before the suite ran, if known
	LoadAfter  string  // and after it
	IdleBefore float64 // IterOptions.IdleBefore
	Benchtime  time.Duration
	Count      int // runs asked for
	Runs       int // runs that finished: Count unless Interrupted
	// Interrupted: Options.Context ended the suite before its last run
	// finished; the results hold the Runs runs that finished whole.
	Interrupted bool
	Keys        int // keys of each key set
	SparseGap   int // mean gap between the sparse keys
	// Groups: the full, range and marked walks of the dense key set,
	// then the full and range walks of the sparse one.
	Groups []IterGroup
}

// A walker visits the entries of one walk: op numbers the walks of a
// measurement, and picks the start of a range walk. It returns how many
// entries it visited and the sum of their values.
type walker func(op int) (count int, sum uint64)

// iterCase is a competitor's walk and the group it belongs to.
type iterCase struct {
	group *IterGroup
	row   int
	walk  walker
	want  walker // the count and sum the walk must return
}

// iterKeySet holds the structures built over one key set.
type iterKeySet struct {
	keys    []uint64
	prefix  []uint64 // prefix[i]: the sum of keys[:i]
	starts  []int    // the range walks' first keys, as indices into keys
	xa      *xarray.XArray
	tree    *btree.Map[uint64, uint64]
	filter  *btree.Map[uint64, uint64] // dense only: every key, value k<<1 | marked
	marked  *btree.Map[uint64, uint64] // dense only: the marked keys
	xsync   *xsync.MapOf[uint64, uint64]
	xsyncV4 *xsyncv4.Map[uint64, uint64]
	syncMap *sync.Map
}

func isMarked(k uint64) bool { return k%IterMarkEvery == 0 }

// newIterKeySet builds the structures of the iterate suite over the keys
// of k: an XArray (with Mark0 on the marked keys of a dense set), the
// B-tree, the hash maps, and for a dense set the marked walk's B-trees.
func newIterKeySet(k KeySet) (*iterKeySet, error) {
	keys := Keys(k)
	s := &iterKeySet{keys: keys, prefix: make([]uint64, len(keys)+1)}
	for i, key := range keys {
		s.prefix[i+1] = s.prefix[i] + key
	}
	if len(keys) >= IterSpan {
		rng := rand.New(rand.NewPCG(14, uint64(len(keys))))
		s.starts = make([]int, iterStarts)
		for i := range s.starts {
			s.starts[i] = rng.IntN(len(keys) - IterSpan + 1)
		}
	}
	xa, err := newXArray(keys)
	if err != nil {
		return nil, err
	}
	s.xa = xa
	if k.Layout == Dense {
		s.filter = btree.NewMap[uint64, uint64](0)
		s.marked = btree.NewMap[uint64, uint64](0)
		for _, key := range keys {
			flag := uint64(0)
			if isMarked(key) {
				xa.SetMark(key, xarray.Mark0)
				s.marked.Load(key, key)
				flag = 1
			}
			s.filter.Load(key, key<<1|flag)
		}
	}
	s.tree = newBTree(keys)
	s.xsync = xsync.NewMapOf[uint64, uint64](xsync.WithPresize(len(keys)))
	s.xsyncV4 = xsyncv4.NewMap[uint64, uint64](xsyncv4.WithPresize(len(keys)))
	s.syncMap = new(sync.Map)
	for _, key := range keys {
		s.xsync.Store(key, key)
		s.xsyncV4.Store(key, key)
		s.syncMap.Store(key, key)
	}
	return s, nil
}

// close destroys the key set's XArray and drops the rest.
func (s *iterKeySet) close() {
	if s.xa != nil {
		destroyXArray(s.xa)
	}
	*s = iterKeySet{}
}

// rangeOf returns the first and last key of range walk op.
func (s *iterKeySet) rangeOf(op int) (first, last uint64) {
	i := s.starts[op&(iterStarts-1)]
	return s.keys[i], s.keys[i+IterSpan-1]
}

// rangeWant is the count and sum of range walk op.
func (s *iterKeySet) rangeWant(op int) (int, uint64) {
	i := s.starts[op&(iterStarts-1)]
	return IterSpan, s.prefix[i+IterSpan] - s.prefix[i]
}

// iterCompetitor is one row of a walk: its name, label, and the walk
// over a key set.
type iterCompetitor struct {
	name, label string
	ordered     bool
	walk        func(s *iterKeySet) walker
}

// fullWalks are the competitors of the full walks.
var fullWalks = []iterCompetitor{
	{IterXArrayState, "xarray State: Find+NextEntry, one section", true, func(s *iterKeySet) walker {
		return func(int) (int, uint64) { return xaStateWalk(s.xa, 0, math.MaxUint64) }
	}},
	{IterXArrayIter, "xarray All", true, func(s *iterKeySet) walker {
		xa := s.xa
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			for _, e := range xa.All() {
				sum += e.ToValue()
				n++
			}
			return n, sum
		}
	}},
	{IterBTreeRW, "btree.Map+RWMutex Scan", true, func(s *iterKeySet) walker {
		m := &btreeRW{t: s.tree}
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.mu.RLock()
			m.t.Scan(func(_, v uint64) bool {
				sum += v
				n++
				return true
			})
			m.mu.RUnlock()
			return n, sum
		}
	}},
	{IterBTreeCOW, "btree.Map copy-on-write Scan", true, func(s *iterKeySet) walker {
		m := new(btreeCOW)
		m.cur.Store(s.tree)
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.cur.Load().Scan(func(_, v uint64) bool {
				sum += v
				n++
				return true
			})
			return n, sum
		}
	}},
	{IterXsyncMapOf, "xsync.MapOf Range (unordered)", false, func(s *iterKeySet) walker {
		m := s.xsync
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.Range(func(_, v uint64) bool {
				sum += v
				n++
				return true
			})
			return n, sum
		}
	}},
	{IterXsyncV4, "xsync.Map (v4) Range (unordered)", false, func(s *iterKeySet) walker {
		m := s.xsyncV4
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.Range(func(_, v uint64) bool {
				sum += v
				n++
				return true
			})
			return n, sum
		}
	}},
	{IterSyncMap, "sync.Map Range (unordered)", false, func(s *iterKeySet) walker {
		m := s.syncMap
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.Range(func(_, v any) bool {
				sum += v.(uint64)
				n++
				return true
			})
			return n, sum
		}
	}},
}

// rangeWalks are the competitors of the range walks.
var rangeWalks = []iterCompetitor{
	{IterXArrayState, "xarray State: Find+NextEntry, one section", true, func(s *iterKeySet) walker {
		return func(op int) (int, uint64) {
			first, last := s.rangeOf(op)
			return xaStateWalk(s.xa, first, last)
		}
	}},
	{IterXArrayIter, "xarray Range(first, last)", true, func(s *iterKeySet) walker {
		xa := s.xa
		return func(op int) (int, uint64) {
			first, last := s.rangeOf(op)
			n, sum := 0, uint64(0)
			for _, e := range xa.Range(first, last) {
				sum += e.ToValue()
				n++
			}
			return n, sum
		}
	}},
	{IterBTreeRW, "btree.Map+RWMutex Ascend", true, func(s *iterKeySet) walker {
		m := &btreeRW{t: s.tree}
		return func(op int) (int, uint64) {
			first, _ := s.rangeOf(op)
			n, sum := 0, uint64(0)
			m.mu.RLock()
			m.t.Ascend(first, func(_, v uint64) bool {
				sum += v
				n++
				return n < IterSpan
			})
			m.mu.RUnlock()
			return n, sum
		}
	}},
	{IterBTreeCOW, "btree.Map copy-on-write Ascend", true, func(s *iterKeySet) walker {
		m := new(btreeCOW)
		m.cur.Store(s.tree)
		return func(op int) (int, uint64) {
			first, _ := s.rangeOf(op)
			n, sum := 0, uint64(0)
			m.cur.Load().Ascend(first, func(_, v uint64) bool {
				sum += v
				n++
				return n < IterSpan
			})
			return n, sum
		}
	}},
}

// markedWalks are the competitors of the marked walk.
var markedWalks = []iterCompetitor{
	{IterXArrayState, "xarray State: FindMarked+NextMarked, one section", true, func(s *iterKeySet) walker {
		xa := s.xa
		dom := xa.Domain()
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			t := dom.ReadLock()
			xas := xarray.NewState(xa, 0)
			for e := xas.FindMarked(math.MaxUint64, xarray.Mark0); e != xarray.Null; e = xas.NextMarked(math.MaxUint64, xarray.Mark0) {
				if xas.Retry(e) {
					continue
				}
				sum += e.ToValue()
				n++
			}
			dom.ReadUnlock(t)
			return n, sum
		}
	}},
	{IterXArrayIter, "xarray Marked(Mark0)", true, func(s *iterKeySet) walker {
		xa := s.xa
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			for _, e := range xa.Marked(xarray.Mark0) {
				sum += e.ToValue()
				n++
			}
			return n, sum
		}
	}},
	{IterBTreeFilter, "btree.Map+RWMutex Scan, mark in the value", true, func(s *iterKeySet) walker {
		m := &btreeRW{t: s.filter}
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.mu.RLock()
			m.t.Scan(func(_, v uint64) bool {
				if v&1 != 0 {
					sum += v >> 1
					n++
				}
				return true
			})
			m.mu.RUnlock()
			return n, sum
		}
	}},
	{IterBTreeMarked, "btree.Map+RWMutex of the marked keys, Scan", true, func(s *iterKeySet) walker {
		m := &btreeRW{t: s.marked}
		return func(int) (int, uint64) {
			n, sum := 0, uint64(0)
			m.mu.RLock()
			m.t.Scan(func(_, v uint64) bool {
				sum += v
				n++
				return true
			})
			m.mu.RUnlock()
			return n, sum
		}
	}},
}

// xaStateWalk is xas_for_each from first to last in one read-side
// section: Find, then NextEntry, skipping retry entries.
func xaStateWalk(xa *xarray.XArray, first, last uint64) (int, uint64) {
	dom := xa.Domain()
	n, sum := 0, uint64(0)
	t := dom.ReadLock()
	xas := xarray.NewState(xa, first)
	for e := xas.Find(last); e != xarray.Null; e = xas.NextEntry(last) {
		if xas.Retry(e) {
			continue
		}
		sum += e.ToValue()
		n++
	}
	dom.ReadUnlock(t)
	return n, sum
}

// iterWalks are the walks over a key set and their competitors, in the
// order of the table; the marked walk is the dense set's alone.
var iterWalks = []struct {
	walk      string
	denseOnly bool
	comps     []iterCompetitor
}{
	{WalkFull, false, fullWalks},
	{WalkRange, false, rangeWalks},
	{WalkMarked, true, markedWalks},
}

// iterCases returns the groups of walks over the key set k, whose
// structures s holds, and a case for each of their rows.
func iterCases(k KeySet, s *iterKeySet) ([]*IterGroup, []iterCase) {
	var groups []*IterGroup
	var cases []iterCase
	for _, w := range iterWalks {
		if w.denseOnly && k.Layout != Dense {
			continue
		}
		g := &IterGroup{Walk: w.walk, Keys: k}
		var want walker
		switch w.walk {
		case WalkFull:
			g.Entries = len(s.keys)
			sum := s.prefix[len(s.keys)]
			want = func(int) (int, uint64) { return len(s.keys), sum }
		case WalkRange:
			g.Entries = IterSpan
			want = s.rangeWant
		case WalkMarked:
			count, sum := 0, uint64(0)
			for _, key := range s.keys {
				if isMarked(key) {
					count++
					sum += key
				}
			}
			g.Entries = count
			want = func(int) (int, uint64) { return count, sum }
		}
		for j, c := range w.comps {
			g.Rows = append(g.Rows, IterRow{Name: c.name, Label: c.label, Ordered: c.ordered})
			cases = append(cases, iterCase{group: g, row: j, walk: c.walk(s), want: want})
		}
		groups = append(groups, g)
	}
	return groups, cases
}

// check returns an error if walk op of c visited other entries than it
// should have: a count or a sum of values that is not the key set's.
func (c *iterCase) check(op, count int, sum uint64) error {
	if wc, ws := c.want(op); count != wc || sum != ws {
		return fmt.Errorf("bench: %s/impl=%s: walk %d visited %d entries with values summing to %d; want %d summing to %d",
			c.group.Name(), c.group.Rows[c.row].Name, op, count, sum, wc, ws)
	}
	return nil
}

// measureWalk returns the nanoseconds per entry of c's walk, run walk
// after walk on one goroutine for about benchtime (as Serial runs a
// loop), and the error of the first walk that visited the wrong entries.
func measureWalk(benchtime time.Duration, c *iterCase) (float64, error) {
	var bad error
	op := 0
	ns := Serial(benchtime, func(n int) {
		var total uint64
		for range n {
			count, sum := c.walk(op)
			if bad == nil {
				bad = c.check(op, count, sum)
			}
			total += sum
			op++
		}
		Sink.Add(total)
	})
	return ns / float64(c.group.Entries), bad
}

// RunIterate runs the iterate suite over a dense and a sparse key set:
// full walks and range walks of IterSpan keys over both, and the marked
// walk of the dense set, by the XArray's State walk and iterators, the
// B-trees and, for full walks, the hash maps' Range. Each measurement
// runs Count times, interleaved with the others, so that slow drifts of
// the machine hit all of them alike. It returns an error if a key set's
// structures cannot be built (the node cache is too small for its
// XArray) or if a walk visits the wrong entries. If Options.Context ends
// while the structures are built, the results hold no runs.
func RunIterate(opts IterOptions) (*IterResults, error) {
	if opts.Benchtime <= 0 {
		opts.Benchtime = DefaultIterBenchtime
	}
	if opts.Count <= 0 {
		opts.Count = DefaultIterCount
	}
	if opts.Keys <= 0 {
		opts.Keys = DefaultIterKeys
	}
	if opts.Keys < IterSpan {
		return nil, fmt.Errorf("bench: iterate suite: %d keys, fewer than a range walk's %d", opts.Keys, IterSpan)
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(int, string) {}
	}
	res := &IterResults{
		Machine:    Machine(),
		Load:       LoadAverage(),
		IdleBefore: opts.IdleBefore,
		Benchtime:  opts.Benchtime,
		Count:      opts.Count,
		Keys:       opts.Keys,
		SparseGap:  SparseGap(opts.Keys),
	}
	defer func() { res.LoadAfter = LoadAverage() }()

	var groups []*IterGroup
	var cases []iterCase
	for _, k := range []KeySet{{Dense, opts.Keys}, {Sparse, opts.Keys}} {
		if ctx.Err() != nil {
			res.Interrupted = true
			return res, nil
		}
		progress(0, "build "+k.String())
		s, err := newIterKeySet(k)
		if err != nil {
			return nil, err
		}
		defer s.close()
		g, c := iterCases(k, s)
		groups, cases = append(groups, g...), append(cases, c...)
	}
	// Collect the building's garbage before anything is timed.
	runtime.GC()

runs:
	for run := 1; run <= opts.Count; run++ {
		for i := range cases {
			c := &cases[i]
			if ctx.Err() != nil {
				break runs
			}
			progress(run, c.group.Name()+"/impl="+c.group.Rows[c.row].Name)
			ns, err := measureWalk(opts.Benchtime, c)
			if err != nil {
				return nil, err
			}
			r := &c.group.Rows[c.row]
			r.NsPerEntry = append(r.NsPerEntry, ns)
		}
		res.Runs = run
	}
	// Keep the runs that finished whole: a run cut short would weigh its
	// measurements unevenly.
	res.Interrupted = res.Runs < opts.Count
	for _, g := range groups {
		for j := range g.Rows {
			r := &g.Rows[j]
			r.NsPerEntry = r.NsPerEntry[:res.Runs]
		}
		res.Groups = append(res.Groups, *g)
	}
	return res, nil
}

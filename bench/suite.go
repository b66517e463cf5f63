// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"runtime"
	"slices"
)

// A Cell is one benchmark: a workload run against one competitor.
type Cell struct {
	Workload
	Competitor *Competitor
}

// Name is the benchmark's name without the "Benchmark" prefix and the
// -procs suffix: Lookup/keys=dense/n=1M/access=rand/read=100/impl=xarray.
func (c Cell) Name() string { return c.Workload.Name() + "/impl=" + c.Competitor.Name }

// FullName is Name with the -procs suffix, as in the Go benchmark format.
func (c Cell) FullName() string { return fmt.Sprintf("%s-%d", c.Name(), c.Procs) }

// A Suite is a named list of cells.
type Suite struct {
	Name    string
	Summary string
	// Cells returns the suite's cells for a machine whose GOMAXPROCS is
	// maxProcs.
	Cells func(maxProcs int) []Cell
}

// Suites returns the map suites, the headline suite first. (The rcu
// suite, RunRCU, measures other things and is run on its own.)
func Suites() []Suite {
	return []Suite{
		{"headline", "xarray Load against the Go concurrent maps: dense 1M keys (random, zipf, 90% reads) and sparse 1M keys", headlineCells},
		{"scaling", "dense 1M random reads, every competitor, on 1..GOMAXPROCS goroutines", scalingCells},
		{"sizes", "dense and sparse keys, 1K to 16M, random reads on GOMAXPROCS goroutines", sizesCells},
		{"mix", "dense 1M random keys, 100/0, 99/1, 90/10 and 50/50 reads/writes, and writes only (store, erase, storerange, cmpxchg), on 1 and GOMAXPROCS goroutines", mixCells},
		{"access", "dense and sparse 1M keys, sequential, uniform random and zipf reads on GOMAXPROCS goroutines", accessCells},
		{"full", "all of scaling, sizes, mix and access", fullCells},
	}
}

// SuiteByName returns the suite named name, or nil.
func SuiteByName(name string) *Suite {
	for _, s := range Suites() {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

// matrix returns a cell for every combination, in this order of nesting
// (the competitors innermost, so that a table groups them), leaving out
// the competitors that cannot run a workload.
func matrix(keys []KeySet, access []Access, reads []int, procs []int) []Cell {
	var cells []Cell
	for _, k := range keys {
		for _, a := range access {
			for _, r := range reads {
				for _, p := range procs {
					w := Workload{Keys: k, Access: a, ReadPct: r, Procs: p}
					for _, c := range Competitors() {
						if c.Fits(w) {
							cells = append(cells, Cell{w, c})
						}
					}
				}
			}
		}
	}
	return cells
}

var (
	dense1M  = KeySet{Dense, 1 << 20}
	sparse1M = KeySet{Sparse, 1 << 20}
)

// oneAndAll is {1, maxProcs} without duplicates.
func oneAndAll(maxProcs int) []int {
	if maxProcs <= 1 {
		return []int{1}
	}
	return []int{1, maxProcs}
}

func upTo(maxProcs int) []int {
	var p []int
	for i := 1; i <= maxProcs; i++ {
		p = append(p, i)
	}
	return p
}

func headlineCells(maxProcs int) []Cell {
	all := []int{maxProcs}
	cells := matrix([]KeySet{dense1M}, []Access{Uniform}, []int{100}, oneAndAll(maxProcs))
	cells = append(cells, matrix([]KeySet{dense1M}, []Access{Zipf}, []int{100}, all)...)
	cells = append(cells, matrix([]KeySet{dense1M}, []Access{Uniform}, []int{90}, all)...)
	cells = append(cells, matrix([]KeySet{sparse1M}, []Access{Uniform}, []int{100}, all)...)
	return cells
}

func scalingCells(maxProcs int) []Cell {
	return matrix([]KeySet{dense1M}, []Access{Uniform}, []int{100}, upTo(maxProcs))
}

func sizesCells(maxProcs int) []Cell {
	var ks []KeySet
	for _, l := range []Layout{Dense, Sparse} {
		for _, n := range Sizes {
			ks = append(ks, KeySet{l, n})
		}
	}
	return matrix(ks, []Access{Uniform}, []int{100}, []int{maxProcs})
}

// mixCells are the lookup mixes, then the write workloads (writeCells).
func mixCells(maxProcs int) []Cell {
	cells := matrix([]KeySet{dense1M}, []Access{Uniform}, []int{100, 99, 90, 50}, oneAndAll(maxProcs))
	return append(cells, writeCells(maxProcs)...)
}

func accessCells(maxProcs int) []Cell {
	return matrix([]KeySet{dense1M, sparse1M}, []Access{Seq, Uniform, Zipf}, []int{100}, []int{maxProcs})
}

func fullCells(maxProcs int) []Cell {
	var cells []Cell
	seen := map[string]bool{}
	for _, f := range []func(int) []Cell{scalingCells, sizesCells, mixCells, accessCells} {
		for _, c := range f(maxProcs) {
			if !seen[c.FullName()] {
				seen[c.FullName()] = true
				cells = append(cells, c)
			}
		}
	}
	return cells
}

// WithProcs returns cells with every workload run on each of procs
// goroutines instead of the suite's own choice (xabench bench --cpu),
// keeping the order of first appearance.
func WithProcs(cells []Cell, procs []int) []Cell {
	var out []Cell
	seen := map[string]bool{}
	for _, c := range cells {
		for _, p := range procs {
			c.Procs = p
			if !seen[c.FullName()] {
				seen[c.FullName()] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// DefaultMaxProcs is GOMAXPROCS as the program started (Run changes
// GOMAXPROCS while it measures).
var DefaultMaxProcs = runtime.GOMAXPROCS(0)

// groups splits cells by key set, keeping the order of first appearance:
// Run builds the competitors of one key set, runs its cells Count times
// interleaved, and frees them before the next.
func groups(cells []Cell) [][]Cell {
	var keys []KeySet
	by := map[KeySet][]Cell{}
	for _, c := range cells {
		if _, ok := by[c.Keys]; !ok {
			keys = append(keys, c.Keys)
		}
		by[c.Keys] = append(by[c.Keys], c)
	}
	out := make([][]Cell, len(keys))
	for i, k := range keys {
		out[i] = by[k]
	}
	return out
}

// competitorsOf returns the distinct competitors of cells, in order.
func competitorsOf(cells []Cell) []*Competitor {
	var cs []*Competitor
	for _, c := range cells {
		if !slices.ContainsFunc(cs, func(x *Competitor) bool { return x.Name == c.Competitor.Name }) {
			cs = append(cs, c.Competitor)
		}
	}
	return cs
}

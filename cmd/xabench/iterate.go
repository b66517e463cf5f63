// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/xabench/xabench/bench"
	"golang.org/x/perf/benchmath"
)

// The goals for the iterate suite.
const (
	// The XArray's ns/entry over the faster B-tree's, on dense full walks
	// and on range walks.
	targetIterVsBTree = 0.5
	// An iterator's (All, Range, Marked) ns/entry over the State walk's.
	targetIterVsState = 1.5
)

// iterKeys is the size of the iterate suite's key sets. Tests make it
// small so that the suite builds in moments.
var iterKeys = bench.DefaultIterKeys

// iterMeasurements is the measurements of one run of the iterate suite,
// for the time estimate: dense full (7), range (4) and marked (4) walks;
// sparse full (7) and range (4) walks.
const iterMeasurements = 26

func runIterateSuite(ctx context.Context, w, progress io.Writer, o benchOptions) int {
	if o.benchtime == 0 {
		o.benchtime = bench.DefaultIterBenchtime
	}
	if o.count == 0 {
		o.count = bench.DefaultIterCount
	}
	// Serial runs about 1.1 benchtimes per measurement (calibration
	// included); a walk of a million entries adds up to one walk more.
	est := time.Duration(float64(iterMeasurements*o.count)*1.25*float64(o.benchtime)) + 15*time.Second
	idle := bench.CPUIdle(500 * time.Millisecond)
	fmt.Fprintf(progress, "xabench: iterate suite, %d measurements × %d runs of %v, about %v; CPU idle %.0f%%, load average %s\n",
		iterMeasurements, o.count, o.benchtime, est.Round(time.Second), 100*idle, bench.LoadAverage())
	if idle >= 0 && idle < 0.9 {
		fmt.Fprintf(progress, "xabench: warning: other processes keep %.0f%% of the %d CPUs busy: expect wide intervals, or rerun when quiet\n",
			100*(1-idle), runtime.NumCPU())
	}
	rounds := 0
	res, err := bench.RunIterate(bench.IterOptions{
		Benchtime:  o.benchtime,
		Count:      o.count,
		Keys:       iterKeys,
		Context:    ctx,
		IdleBefore: idle,
		Progress: func(run int, name string) {
			switch {
			case run == 0:
				fmt.Fprintf(progress, "xabench: building the structures of %s\n", name[len("build "):])
			case run != rounds:
				rounds = run
				fmt.Fprintf(progress, "xabench: run %d of %d\n", run, o.count)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(o.stderr, "xabench bench: %v\n", err)
		return 1
	}
	if res.Runs == 0 {
		fmt.Fprintf(o.stderr, "xabench bench: interrupted before the first run of the iterate suite finished; no table\n")
		return exitInterrupted
	}
	writeIterTable(w, res)
	if res.Interrupted {
		fmt.Fprintf(o.stderr, "xabench bench: interrupted; the table holds the %d of %d runs that finished\n",
			res.Runs, res.Count)
		return exitInterrupted
	}
	return 0
}

var walkTitles = map[string]string{
	bench.WalkFull:   "full walk",
	bench.WalkRange:  "range walk",
	bench.WalkMarked: "marked walk",
}

// iterGroupTitle describes a group of the iterate suite in words.
func iterGroupTitle(g *bench.IterGroup) string {
	t := fmt.Sprintf("%s %s keys, %s", g.Keys.Layout, bench.SizeName(g.Keys.N), walkTitles[g.Walk])
	switch g.Walk {
	case bench.WalkFull:
		t += fmt.Sprintf(", every entry in index order (%d)", g.Entries)
	case bench.WalkRange:
		t += fmt.Sprintf(" of %d consecutive keys from a random start", g.Entries)
	case bench.WalkMarked:
		t += fmt.Sprintf(" of the keys k%%%d == 0 (%d entries, marked with Mark0)", bench.IterMarkEvery, g.Entries)
	}
	return t
}

// nsCell formats the median of runs, in ns, with its 95% interval. It
// summarizes a copy: Summarize sorts what it is given, and the runs must
// stay in their order for the ratios, which pair them run by run.
func nsCell(runs []float64) string {
	s := bench.Summarize(slices.Clone(runs))
	return g3(s.Center) + " " + pm(s)
}

func writeIterTable(w io.Writer, r *bench.IterResults) {
	fmt.Fprintf(w, "xabench iterate suite\n")
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	if r.Load != "" {
		idle := ""
		if r.IdleBefore > 0 {
			idle = fmt.Sprintf("CPU idle %.0f%% before the run; ", 100*r.IdleBefore)
		}
		fmt.Fprintf(w, "%sload average %s before, %s after (other processes distort the numbers)\n", idle, r.Load, r.LoadAfter)
	}
	fmt.Fprintf(w, "medians of %s of %v each, ± the 95%% confidence interval (benchmath); ns/entry: a walk's time over the entries\n"+
		"it finds (the marked walk: the marked entries, however many others it passes);\n",
		count(r.Runs, "run"), r.Benchtime)
	fmt.Fprintf(w, "÷ State: the median of the row's ns/entry over the xarray State walk's, run by run, ± its 95%% interval (\"%s\"\n", bench.NotSignificant)
	fmt.Fprintf(w, "where it reaches 1); ÷ B-tree: the same over the faster B-tree row's in each run; sparse keys: mean gap %d\n", r.SparseGap)
	if r.Interrupted {
		fmt.Fprintf(w, "(interrupted: %d of %d runs finished)\n", r.Runs, r.Count)
	}

	for i := range r.Groups {
		g := &r.Groups[i]
		fmt.Fprintf(w, "\n%s\n", iterGroupTitle(g))
		state := g.Row(bench.IterXArrayState)
		best := g.BestBTree()
		rows := [][]string{{"competitor", "ns/entry", "÷ State", "÷ B-tree"}}
		for _, row := range g.Rows {
			vsState, vsBTree := "1.00", ""
			if row.Name != bench.IterXArrayState {
				vsState = ratioCell(bench.RatioSummary(row.NsPerEntry, state.NsPerEntry))
			}
			if best != nil && !bench.IsIterBTree(row.Name) {
				vsBTree = ratioCell(bench.RatioSummary(row.NsPerEntry, best))
			}
			rows = append(rows, []string{row.Label, nsCell(row.NsPerEntry), vsState, vsBTree})
		}
		writeTable(w, rows)
	}
	fmt.Fprintf(w, "\n(State: a State loop in one read-side section for the whole walk; All, Range and Marked gather 64 entries\n"+
		"per section and run the loop body outside any; the B-tree rows walk one tree of the keys, read-locked for\n"+
		"the walk or loaded from an atomic pointer; \"mark in the value\" scans every key and keeps those whose\n"+
		"value's low bit is set, \"of the marked keys\" is a second tree holding them alone; unordered: Range visits\n"+
		"the keys in no particular order. Every walk's count and sum of values are checked.)\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\tmeasured\tgoal\t\n")
	check := func(name string, s benchmath.Summary, goal float64) {
		fmt.Fprintf(tw, "%s\t%s\t≤ %s\t%s\n", name, f2(s.Center)+" "+pm(s), f2(goal), bench.CheckTarget(s, goal, true))
	}
	short := func(g *bench.IterGroup) string {
		return fmt.Sprintf("%s %s %s", g.Keys.Layout, bench.SizeName(g.Keys.N), walkTitles[g.Walk])
	}
	iterName := map[string]string{bench.WalkFull: "All", bench.WalkRange: "Range", bench.WalkMarked: "Marked"}
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Walk == bench.WalkRange || g.Walk == bench.WalkFull && g.Keys.Layout == bench.Dense {
			best := g.BestBTree()
			check(short(g)+", xarray State ÷ B-tree", bench.RatioSummary(g.Row(bench.IterXArrayState).NsPerEntry, best), targetIterVsBTree)
			check(short(g)+", xarray "+iterName[g.Walk]+" ÷ B-tree", bench.RatioSummary(g.Row(bench.IterXArrayIter).NsPerEntry, best), targetIterVsBTree)
		}
	}
	for i := range r.Groups {
		g := &r.Groups[i]
		check(short(g)+", "+iterName[g.Walk]+" ÷ State",
			bench.RatioSummary(g.Row(bench.IterXArrayIter).NsPerEntry, g.Row(bench.IterXArrayState).NsPerEntry), targetIterVsState)
	}
	tw.Flush()
	fmt.Fprintf(w, "(measured: the median over the runs of the per-run ratio ± its 95%% interval; B-tree: the faster B-tree row\n"+
		"of each run; ok or %s: the whole interval is on one side of the goal; %s: the interval reaches\n"+
		"the goal, as it always does with fewer than 6 runs)\n",
		bench.TargetMissed, bench.NotSignificant)
}

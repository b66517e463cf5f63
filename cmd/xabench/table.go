// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xabench/xabench/bench"
)

var accessLabels = map[bench.Access]string{
	bench.Seq:     "sequential",
	bench.Uniform: "uniform random",
	bench.Zipf:    fmt.Sprintf("zipf (s=%g)", bench.ZipfS),
}

// workloadTitle describes a workload in words.
func workloadTitle(c *bench.CellResult) string {
	keys := fmt.Sprintf("%s %s keys", c.Layout, bench.SizeName(c.N))
	if c.SparseGap > 0 {
		keys += fmt.Sprintf(" (mean gap %d)", c.SparseGap)
	}
	reads := "reads only"
	switch {
	case c.Op != "":
		reads = "writes only: " + c.Op.Describe()
	case c.ReadPct < 100:
		reads = fmt.Sprintf("%d%% reads, %d%% stores", c.ReadPct, 100-c.ReadPct)
	}
	return fmt.Sprintf("%s, %s, %s, %s", keys, accessLabels[c.Access], reads, count(c.Procs, "goroutine"))
}

// writeResultsTable prints a map suite's results: per workload, one row
// per competitor with the medians of its runs and their 95% intervals,
// and its time as a ratio to the XArray Load's in the same runs.
func writeResultsTable(w io.Writer, r *bench.Results) {
	fmt.Fprintf(w, "xabench %s suite\n", r.Suite)
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	if r.LoadBefore != "" {
		idle := ""
		if r.IdleBefore > 0 {
			idle = fmt.Sprintf("CPU idle %.0f%% before the run; ", 100*r.IdleBefore)
		}
		fmt.Fprintf(w, "%sload average %s before, %s after (other processes distort the numbers)\n", idle, r.LoadBefore, r.LoadAfter)
	}
	fmt.Fprintf(w, "medians of %d runs of %s, ± the 95%% confidence interval (benchmath); ns/op is wall time over all goroutines' operations;\n", r.Count, r.Benchtime)
	fmt.Fprintf(w, "÷ xarray: the median of the row's ns/op over xarray Load's, run by run, ± its 95%% interval (\"%s\" where it reaches 1);\n", bench.NotSignificant)
	if slices.ContainsFunc(r.Cells, func(c *bench.CellResult) bool { return c.Op != "" }) {
		fmt.Fprintf(w, "÷ %s: in the write workloads, the same over %s's on the same goroutines;\n", writeRefLabel, writeRefLabel)
	}
	fmt.Fprintf(w, "p50/p99: latency per operation, from timed batches of %d\n", bench.Batch)

	// Group the cells by workload, in order of first appearance.
	var order []bench.Workload
	by := map[bench.Workload][]*bench.CellResult{}
	for _, c := range r.Cells {
		wl := c.Workload()
		if _, ok := by[wl]; !ok {
			order = append(order, wl)
		}
		by[wl] = append(by[wl], c)
	}
	for _, wl := range order {
		cells := by[wl]
		fmt.Fprintf(w, "\n%s\n", workloadTitle(cells[0]))
		if wl.Op != "" {
			writeWriteTable(w, cells, writeRef(wl, by))
			continue
		}
		var ref *bench.CellResult
		for _, c := range cells {
			if c.Impl == "xarray" {
				ref = c
			}
		}
		rows := [][]string{{"competitor", "ns/op", "Mops/s", "÷ xarray", "p50", "p99", "B/entry", "allocs/op"}}
		for _, c := range cells {
			ns := bench.Summarize(c.Values(bench.NsPerOp))
			ratio := "—"
			if ref != nil && len(c.Runs) > 0 && len(ref.Runs) > 0 {
				if c == ref {
					ratio = "1.00"
				} else {
					ratio = ratioCell(bench.RatioSummary(c.Values(bench.NsPerOp), ref.Values(bench.NsPerOp)))
				}
			}
			rows = append(rows, []string{
				c.Label,
				fmt.Sprintf("%s %s", g3(ns.Center), pm(ns)),
				g3(bench.Median(c.Values(bench.MopsPerSec))),
				ratio,
				g3(bench.Median(c.Values(bench.P50))) + "ns",
				g3(bench.Median(c.Values(bench.P99))) + "ns",
				fmt.Sprintf("%.1f", c.BytesPerEntry),
				fmt.Sprintf("%.2f", bench.Median(c.Values(bench.AllocsPerOp))),
			})
		}
		writeTable(w, rows)
	}
	if len(r.Cells) == 0 {
		fmt.Fprintf(w, "\nno measurement finished\n")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	for _, s := range r.Broken {
		fmt.Fprintf(w, "BROKEN: after the write workloads, in %s\n", s)
	}
	writeTargets(w, r, order, by)
	if r.Interrupted {
		fmt.Fprintf(w, "\n(interrupted: only the measurements that finished are shown)\n")
	}
}

// writeRefLabel names the write tables' reference row.
var writeRefLabel = func() string {
	for _, c := range bench.Competitors() {
		if c.Name == bench.WriteRefImpl {
			for _, wl := range c.Writes {
				if wl.Op == bench.WriteRefOp {
					return wl.Label
				}
			}
		}
	}
	return bench.WriteRefImpl + " " + string(bench.WriteRefOp)
}()

// writeRef returns the reference cell of write workload wl: xsync.MapOf's
// Store on the same keys, access and goroutines, or nil.
func writeRef(wl bench.Workload, by map[bench.Workload][]*bench.CellResult) *bench.CellResult {
	wl.Op = bench.WriteRefOp
	for _, c := range by[wl] {
		if c.Impl == bench.WriteRefImpl {
			return c
		}
	}
	return nil
}

// writeWriteTable prints the rows of one write workload: each with its
// time over ref's, run by run, and ref itself last, for scale, where the
// workload's op is another than ref's.
func writeWriteTable(w io.Writer, cells []*bench.CellResult, ref *bench.CellResult) {
	rows := [][]string{{"competitor", "ns/op", "Mops/s", "÷ " + writeRefLabel, "p50", "p99", "allocs/op"}}
	if ref != nil && ref.Op != cells[0].Op {
		cells = append(slices.Clone(cells), ref)
	}
	for _, c := range cells {
		ns := bench.Summarize(c.Values(bench.NsPerOp))
		ratio := "—"
		switch {
		case c == ref:
			ratio = "1.00"
		case ref != nil && len(c.Runs) > 0 && len(ref.Runs) > 0:
			ratio = ratioCell(bench.RatioSummary(c.Values(bench.NsPerOp), ref.Values(bench.NsPerOp)))
		}
		label := c.Label
		if c == ref && c.Op != cells[0].Op {
			label += " (for scale)"
		}
		rows = append(rows, []string{
			label,
			fmt.Sprintf("%s %s", g3(ns.Center), pm(ns)),
			g3(bench.Median(c.Values(bench.MopsPerSec))),
			ratio,
			g3(bench.Median(c.Values(bench.P50))) + "ns",
			g3(bench.Median(c.Values(bench.P99))) + "ns",
			fmt.Sprintf("%.2f", bench.Median(c.Values(bench.AllocsPerOp))),
		})
	}
	writeTable(w, rows)
}

// writeTargets checks the headline target where the results hold
// it: xarray Load ahead of xsync.MapOf, xsync v4's Map and sync.Map on
// dense 1M random keys, 100% reads.
func writeTargets(w io.Writer, r *bench.Results, order []bench.Workload, by map[bench.Workload][]*bench.CellResult) {
	var rows [][]string
	for _, wl := range order {
		if wl.Keys != (bench.KeySet{Layout: bench.Dense, N: 1 << 20}) || wl.Access != bench.Uniform || wl.ReadPct != 100 {
			continue
		}
		impl := map[string]*bench.CellResult{}
		for _, c := range by[wl] {
			impl[c.Impl] = c
		}
		x := impl["xarray"]
		if x == nil {
			continue
		}
		for _, other := range []string{"xsync.MapOf", "xsyncv4", "sync.Map"} {
			o := impl[other]
			if o == nil {
				continue
			}
			s := bench.RatioSummary(o.Values(bench.NsPerOp), x.Values(bench.NsPerOp))
			mark := bench.CheckTarget(s, 1, false)
			rows = append(rows, []string{
				fmt.Sprintf("xarray Load ahead of %s, %s", o.Label, count(wl.Procs, "goroutine")),
				fmt.Sprintf("%s× %s", f2(s.Center), pm(s)), "> 1", mark})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\ntarget (dense 1M random keys, reads only; ratio: the map's ns/op over xarray Load's, run by run)\n")
	writeTable(w, append([][]string{{"target", "measured", "goal", ""}}, rows...))
	fmt.Fprintf(w, "(ok or %s: the ratio's whole 95%% interval is on one side of 1; %s: it reaches 1)\n",
		bench.TargetMissed, bench.NotSignificant)
}

// pm formats a summary's 95% interval as "±2%", or "±∞" with too few
// runs.
func pm(s interface{ PctRangeString() string }) string {
	return "±" + strings.TrimSpace(s.PctRangeString())
}

// g3 formats x with three significant digits (no exponent).
func g3(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 100 || x <= -100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10 || x <= -10:
		return fmt.Sprintf("%.1f", x)
	case x >= 1 || x <= -1:
		return fmt.Sprintf("%.2f", x)
	case x >= 0.001 || x <= -0.001:
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.1e", x)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/xabench/xabench/bench"
	rcupkg "github.com/xabench/xabench/rcu"
	"golang.org/x/perf/benchmath"
)

// rcuTargets are the goals for the rcu suite, checked against every
// run's medians.
const (
	targetVsRBMutex   = 0.25 // parallel read pair, rcu ÷ RBMutex (issue 14; 0.50 before)
	targetVsRWMutex   = 0.35 // parallel read pair, rcu ÷ RWMutex
	targetReaderRatio = 0.80 // readers beside a Synchronize loop ÷ alone
	targetSyncP50     = 50 * time.Microsecond
	targetSyncP99     = time.Millisecond
	targetCallsPerSec = 1e6
)

var readSideLabels = map[string]string{
	"rcu":        "rcu ReadLock+ReadUnlock",
	"RWMutex":    "sync.RWMutex RLock+RUnlock",
	"RBMutex":    "xsync.RBMutex RLock+RUnlock",
	"atomic.Add": "atomic.Int64.Add (one shared counter)",
}

func runRCUSuite(ctx context.Context, w, progress io.Writer, o benchOptions) int {
	if o.benchtime == 0 {
		o.benchtime = 200 * time.Millisecond
	}
	if o.count == 0 {
		o.count = bench.DefaultRCUCount
	}
	rounds := 0
	est := time.Duration(18*o.count) * o.benchtime
	fmt.Fprintf(progress, "xabench: rcu suite, %d runs of %v per measurement, about %v\n",
		o.count, o.benchtime, est.Round(time.Second))
	res := bench.RunRCU(bench.RCUOptions{
		Benchtime: o.benchtime,
		Count:     o.count,
		Context:   ctx,
		Progress: func(run int, name string) {
			if run != rounds {
				rounds = run
				fmt.Fprintf(progress, "xabench: run %d of %d\n", run, o.count)
			}
		},
	})
	if res.Runs == 0 {
		fmt.Fprintf(o.stderr, "xabench bench: interrupted before the first run of the rcu suite finished; no table\n")
		return exitInterrupted
	}
	writeRCUTable(w, res)
	if res.Interrupted {
		fmt.Fprintf(o.stderr, "xabench bench: interrupted; the table holds the %d of %d runs that finished\n",
			res.Runs, res.Count)
		return exitInterrupted
	}
	return 0
}

// ratioCell formats the median of per-run ratios with its 95% interval,
// and says "not significant" if the interval reaches 1.
func ratioCell(s benchmath.Summary) string {
	c := f2(s.Center) + " " + pm(s)
	if bench.Reaches(s, 1) {
		c += " " + bench.NotSignificant
	}
	return c
}

// percentCell is ratioCell as a percentage.
func percentCell(s benchmath.Summary) string {
	c := fmt.Sprintf("%.1f%% %s", 100*s.Center, pm(s))
	if bench.Reaches(s, 1) {
		c += " " + bench.NotSignificant
	}
	return c
}

func writeRCUTable(w io.Writer, r *bench.RCUResults) {
	fmt.Fprintf(w, "xabench rcu suite\n")
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	if r.Load != "" {
		fmt.Fprintf(w, "load average before the run: %s (other processes distort the parallel numbers)\n", r.Load)
	}
	fmt.Fprintf(w, "medians of %s of %v each; \"rcu ÷ row\": the median of rcu's time over the row's, run by run, ± its 95%% interval\n",
		count(r.Runs, "run"), r.Benchtime)
	if r.Interrupted {
		fmt.Fprintf(w, "(interrupted: %d of %d runs finished)\n", r.Runs, r.Count)
	}
	fmt.Fprintln(w)

	rows := [][]string{{"read-side pair", "serial ns/op", "rcu ÷ row", "parallel ns/op", "rcu ÷ row"}}
	rcu := r.ReadSides[0]
	ratio := map[string]benchmath.Summary{}
	for i, s := range r.ReadSides {
		ser, par := bench.Median(s.Serial), bench.Median(s.Parallel)
		ratio[s.Name] = bench.RatioSummary(rcu.Parallel, s.Parallel)
		label := readSideLabels[s.Name]
		if s.Name == "rcu" {
			label += " (" + rcupkg.Default.ReadSide() + " read side)"
		}
		if label == "" {
			label = s.Name
		}
		serRatio, parRatio := "1.00", "1.00"
		if i > 0 {
			serRatio = ratioCell(bench.RatioSummary(rcu.Serial, s.Serial))
			parRatio = ratioCell(ratio[s.Name])
		}
		rows = append(rows, []string{label, f2(ser), serRatio, f2(par), parRatio})
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "(parallel: %d goroutines; wall time ÷ all their pairs, as RunParallel reports)\n\n", r.Goroutines)

	rows = [][]string{{"Synchronize latency", "calls", "p50", "p99", "max"}}
	var sync2 bench.SyncResult
	for _, s := range r.Synchronize {
		rows = append(rows, []string{count(s.Readers, "busy reader"),
			fmt.Sprint(s.N), dur(s.P50).String(), dur(s.P99).String(), dur(s.Max).String()})
		if s.Readers == 2 {
			sync2 = s
		}
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "(all runs' calls together; busy readers run short sections back to back and yield the P every %d sections)\n\n",
		bench.ReaderYield)

	calls := bench.Summarize(r.CallsPerSec)
	rows = [][]string{
		{"throughput", "per second", "unit", "÷ alone"},
		{"Call from one goroutine, Barrier included", si(calls.Center), "callbacks", ""},
	}
	for i := range r.Readers {
		rr := &r.Readers[i]
		var gps float64
		for _, n := range rr.GracePeriods {
			gps += float64(n)
		}
		gps /= float64(len(rr.GracePeriods)) * r.Benchtime.Seconds()
		rows = append(rows,
			[]string{count(rr.Readers, "reader") + " alone", si(bench.Median(rr.Alone)), "sections", ""},
			[]string{count(rr.Readers, "reader") + " beside a Synchronize loop",
				si(bench.Median(rr.WithSync)), "sections", percentCell(rr.RatioSummary())},
			[]string{"  grace periods of that loop", si(gps), "", ""},
		)
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "(readers run short sections back to back and never yield; with %d readers the loop competes for a P)\n\n",
		r.Goroutines)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\tmeasured\tgoal\t\n")
	check := func(name, measured, goal string, s benchmath.Summary, target float64, atMost bool) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, measured, goal, bench.CheckTarget(s, target, atMost))
	}
	for _, t := range []struct {
		impl string
		goal float64
	}{{"RBMutex", targetVsRBMutex}, {"RWMutex", targetVsRWMutex}} {
		s := ratio[t.impl]
		check("parallel pair, rcu ÷ "+t.impl, f2(s.Center)+" "+pm(s), "≤ "+f2(t.goal), s, t.goal, true)
	}
	for i := range r.Readers {
		rr := &r.Readers[i]
		s := rr.RatioSummary()
		check(count(rr.Readers, "reader")+" beside Synchronize ÷ alone", fmt.Sprintf("%.1f%% %s", 100*s.Center, pm(s)),
			fmt.Sprintf("≥ %.0f%%", 100*targetReaderRatio), s, targetReaderRatio, false)
	}
	for _, t := range []struct {
		name string
		runs []float64
		goal time.Duration
	}{
		{"Synchronize p50, 2 busy readers", sync2.P50s(), targetSyncP50},
		{"Synchronize p99, 2 busy readers", sync2.P99s(), targetSyncP99},
	} {
		s := bench.Summarize(t.runs)
		check(t.name, dur(time.Duration(s.Center)).String()+" "+pm(s), "≤ "+t.goal.String(), s, float64(t.goal), true)
	}
	check("Call throughput", si(calls.Center)+"/s "+pm(calls), "≥ "+si(targetCallsPerSec)+"/s", calls, targetCallsPerSec, false)
	tw.Flush()
	fmt.Fprintf(w, "(measured: the median over the runs ± its 95%% interval; ok or %s: the whole interval is on one side of\n"+
		"the goal; %s: the interval reaches the goal, as it always does with fewer than 6 runs)\n",
		bench.TargetMissed, bench.NotSignificant)
}

// writeTable writes rows (the first is the header) as an aligned table:
// the first column left-aligned, the others right-aligned.
func writeTable(w io.Writer, rows [][]string) {
	width := 0
	for _, row := range rows {
		width = max(width, utf8.RuneCountInString(row[0]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range rows {
		fmt.Fprintf(tw, "%-*s\t", width, row[0])
		for _, cell := range row[1:] {
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// count returns "1 reader", "2 readers" for count(n, "reader").
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

// dur rounds d for display to three significant digits or so.
func dur(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	case d >= 100*time.Nanosecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}

// si formats x with a metric prefix: 1.23M.
func si(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.2fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

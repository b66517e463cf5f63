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
)

// rcuTargets are the goals for the rcu suite, checked against every
// run's medians.
const (
	targetVsRBMutex   = 0.50 // parallel read pair, rcu ÷ RBMutex
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

func runRCUSuite(_ context.Context, w, progress io.Writer, o benchOptions) int {
	if o.benchtime == 0 {
		o.benchtime = 200 * time.Millisecond
	}
	if o.count == 0 {
		o.count = 3
	}
	rounds := 0
	est := time.Duration(18*o.count) * o.benchtime
	fmt.Fprintf(progress, "xabench: rcu suite, %d runs of %v per measurement, about %v\n",
		o.count, o.benchtime, est.Round(time.Second))
	res := bench.RunRCU(bench.RCUOptions{
		Benchtime: o.benchtime,
		Count:     o.count,
		Progress: func(run int, name string) {
			if run != rounds {
				rounds = run
				fmt.Fprintf(progress, "xabench: run %d of %d\n", run, o.count)
			}
		},
	})
	writeRCUTable(w, res)
	return 0
}

func writeRCUTable(w io.Writer, r *bench.RCUResults) {
	fmt.Fprintf(w, "xabench rcu suite\n")
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	if r.Load != "" {
		fmt.Fprintf(w, "load average before the run: %s (other processes distort the parallel numbers)\n", r.Load)
	}
	fmt.Fprintf(w, "medians of %d runs of %v each; \"rcu ÷ row\" is rcu's time over the row's, from the same run\n\n",
		r.Count, r.Benchtime)

	rows := [][]string{{"read-side pair", "serial ns/op", "rcu ÷ row", "parallel ns/op", "rcu ÷ row"}}
	rcuSerial := bench.Median(r.ReadSides[0].Serial)
	rcuPar := bench.Median(r.ReadSides[0].Parallel)
	ratio := map[string]float64{}
	for _, s := range r.ReadSides {
		ser, par := bench.Median(s.Serial), bench.Median(s.Parallel)
		ratio[s.Name] = rcuPar / par
		label := readSideLabels[s.Name]
		if label == "" {
			label = s.Name
		}
		rows = append(rows, []string{label, f2(ser), f2(rcuSerial / ser), f2(par), f2(rcuPar / par)})
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
	fmt.Fprintf(w, "(busy readers run short sections back to back and yield the P every %d sections)\n\n",
		bench.ReaderYield)

	calls := bench.Median(r.CallsPerSec)
	rows = [][]string{
		{"throughput", "per second", "unit", "÷ alone"},
		{"Call from one goroutine, Barrier included", si(calls), "callbacks", ""},
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
				si(bench.Median(rr.WithSync)), "sections", fmt.Sprintf("%.1f%%", 100*rr.Ratio())},
			[]string{"  grace periods of that loop", si(gps), "", ""},
		)
	}
	writeTable(w, rows)
	fmt.Fprintf(w, "(readers run short sections back to back and never yield; with %d readers the loop competes for a P)\n\n",
		r.Goroutines)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\tmeasured\tgoal\t\n")
	check := func(name, measured, goal string, ok bool) {
		mark := "ok"
		if !ok {
			mark = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, measured, goal, mark)
	}
	check("parallel pair, rcu ÷ RBMutex", f2(ratio["RBMutex"]), "≤ "+f2(targetVsRBMutex),
		ratio["RBMutex"] <= targetVsRBMutex)
	check("parallel pair, rcu ÷ RWMutex", f2(ratio["RWMutex"]), "≤ "+f2(targetVsRWMutex),
		ratio["RWMutex"] <= targetVsRWMutex)
	for i := range r.Readers {
		rr := &r.Readers[i]
		check(count(rr.Readers, "reader")+" beside Synchronize ÷ alone", fmt.Sprintf("%.1f%%", 100*rr.Ratio()),
			fmt.Sprintf("≥ %.0f%%", 100*targetReaderRatio), rr.Ratio() >= targetReaderRatio)
	}
	check("Synchronize p50, 2 busy readers", dur(sync2.P50).String(), "≤ "+targetSyncP50.String(),
		sync2.P50 <= targetSyncP50)
	check("Synchronize p99, 2 busy readers", dur(sync2.P99).String(), "≤ "+targetSyncP99.String(),
		sync2.P99 <= targetSyncP99)
	check("Call throughput", si(calls)+"/s", "≥ "+si(targetCallsPerSec)+"/s", calls >= targetCallsPerSec)
	tw.Flush()
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

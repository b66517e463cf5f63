// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/xabench/xabench/bench"
)

// suites are what "xabench bench --suite" can run; the first is the
// default: the map suites of package bench, then the rcu and iterate
// suites.
var suites = func() []suite {
	var s []suite
	for _, b := range bench.Suites() {
		s = append(s, suite{b.Name, b.Summary, runMapSuite})
	}
	return append(s,
		suite{"rcu", "rcu read side, Synchronize latency, Call throughput", runRCUSuite},
		suite{"iterate", "ordered walks: full, range and marked, XArray against B-trees and maps", runIterateSuite})
}()

type suite struct {
	name    string
	summary string
	// run runs the suite, writes its table to w, reports progress to
	// progress and returns the exit status.
	run func(ctx context.Context, w, progress io.Writer, o benchOptions) int
}

type benchOptions struct {
	suite     string
	benchtime time.Duration // 0: the suite's default
	count     int           // 0: the suite's default
	filter    *regexp.Regexp
	procs     []int
	outDir    string
	stderr    io.Writer
}

type benchFlagValues struct {
	suite     string
	benchtime time.Duration
	count     int
	filter    regexpValue
	cpu       positiveInts
	out       string
	quiet     bool
}

func newBenchFlags(stderr io.Writer) (*flag.FlagSet, *benchFlagValues) {
	v := new(benchFlagValues)
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = s.name
	}
	fs.StringVar(&v.suite, "suite", suites[0].name, "suite to run: "+strings.Join(names, ", "))
	fs.DurationVar(&v.benchtime, "benchtime", 0, "length of each measurement, positive (default 100ms; 200ms for the rcu and iterate suites)")
	fs.IntVar(&v.count, "count", 0, "runs of each measurement, interleaved; tables show medians, and need 6 runs for a 95% interval (default 10; 6 for the rcu suite)")
	fs.Var(&v.filter, "filter", "run only the benchmarks whose full name matches this `regexp`, e.g. 'impl=(xarray|sync.Map)-'")
	fs.Var(&v.cpu, "cpu", "comma-separated `list` of goroutine counts (GOMAXPROCS set to each, as go test -cpu) instead of the suite's")
	fs.StringVar(&v.out, "o", "", "write <suite>.txt (Go benchmark format), <suite>.json and machine.md into `dir`, updated after every measurement")
	fs.BoolVar(&v.quiet, "q", false, "do not report progress on stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: xabench bench [flags]\n\nRuns a benchmark suite and prints a table. A ratio or a target whose 95%% interval\nreaches 1 (or the target's goal) reads \"not significant\"; with fewer than 6 runs\nno interval can be computed, and none is significant. The first interrupt\n(Ctrl-C) stops the suite, which prints what finished and exits 130.\n\nSuites:\n")
		for _, s := range suites {
			fmt.Fprintf(fs.Output(), "\t%-9s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, v
}

func benchFlags(stderr io.Writer) *flag.FlagSet {
	fs, _ := newBenchFlags(stderr)
	return fs
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, v := newBenchFlags(stderr)
	if rc := parseFlags(fs, args); rc >= 0 {
		return rc
	}
	i := slices.IndexFunc(suites, func(s suite) bool { return s.name == v.suite })
	if i < 0 {
		return usageError(fs, "unknown suite %q", v.suite)
	}
	// Unset, they mean the suite's default; set, they must be positive.
	if isSet(fs, "benchtime") {
		if rc := mustBePositive(fs, "benchtime", v.benchtime); rc >= 0 {
			return rc
		}
	}
	if isSet(fs, "count") {
		if rc := mustBeAtLeast(fs, "count", v.count, 1); rc >= 0 {
			return rc
		}
	}
	o := benchOptions{suite: v.suite, benchtime: v.benchtime, count: v.count, outDir: v.out, stderr: stderr,
		filter: v.filter.re, procs: v.cpu}
	if (v.suite == "rcu" || v.suite == "iterate") && (o.filter != nil || o.procs != nil || o.outDir != "") {
		return usageError(fs, "the %s suite takes no -filter, -cpu or -o", v.suite)
	}
	progress := stderr
	if v.quiet {
		progress = io.Discard
	}
	return suites[i].run(ctx, stdout, progress, o)
}

// runMapSuite runs one of package bench's suites.
func runMapSuite(ctx context.Context, w, progress io.Writer, o benchOptions) int {
	s := bench.SuiteByName(o.suite)
	cells := s.Cells(bench.DefaultMaxProcs)
	if o.procs != nil {
		cells = bench.WithProcs(cells, o.procs)
	}
	if o.filter != nil {
		cells = slices.DeleteFunc(cells, func(c bench.Cell) bool { return !o.filter.MatchString(c.FullName()) })
		if len(cells) == 0 {
			fmt.Fprintf(o.stderr, "xabench bench: -filter %q matches none of the suite's benchmarks\n", o.filter)
			return 2
		}
	}
	bt, count := o.benchtime, o.count
	if bt == 0 {
		bt = bench.DefaultBenchtime
	}
	if count == 0 {
		count = bench.DefaultCount
	}
	est := time.Duration(float64(len(cells)*count)*1.15*float64(bt)) + 10*time.Second
	idle := bench.CPUIdle(500 * time.Millisecond)
	fmt.Fprintf(progress, "xabench: %s suite, %d benchmarks × %d runs of %v, about %v; CPU idle %.0f%%, load average %s\n",
		s.Name, len(cells), count, bt, est.Round(time.Second), 100*idle, bench.LoadAverage())
	if idle >= 0 && idle < 0.9 {
		fmt.Fprintf(progress, "xabench: warning: other processes keep %.0f%% of the %d CPUs busy: expect wide intervals, or rerun when quiet\n",
			100*(1-idle), runtime.NumCPU())
	}
	var writeErr error
	update := func(r *bench.Results) {
		if o.outDir != "" && writeErr == nil {
			writeErr = r.WriteFiles(o.outDir)
		}
	}
	opts := bench.Options{Benchtime: bt, Count: count, Update: update, Progress: newProgress(progress, len(cells)*count),
		IdleBefore: idle}
	res := bench.Run(ctx, s.Name, cells, opts)
	update(res) // the final load average and interruption
	writeResultsTable(w, res)
	if writeErr != nil {
		fmt.Fprintf(o.stderr, "xabench bench: writing results: %v\n", writeErr)
		return 1
	}
	if o.outDir != "" {
		fmt.Fprintf(progress, "xabench: results in %s/%s.txt (Go benchmark format), %s.json and machine.md\n",
			o.outDir, s.Name, s.Name)
	}
	if res.Interrupted {
		fmt.Fprintf(o.stderr, "xabench bench: interrupted; the table and files hold the measurements that finished\n")
		return 130
	}
	return 0
}

// newProgress returns a progress callback drawing a bar on progress if it
// is a terminal, or else printing a line at each tenth of the way.
func newProgress(progress io.Writer, total int) func(done, total int, cell string) {
	if progress == io.Discard {
		return nil
	}
	if writerIsTerminal(progress) {
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(progress),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
		return func(done, _ int, cell string) {
			bar.Describe(cell)
			bar.Set(done)
			if cell == "" {
				bar.Finish()
			}
		}
	}
	last := -1
	return func(done, total int, cell string) {
		if tenth := 10 * done / max(total, 1); tenth != last && cell != "" {
			last = tenth
			fmt.Fprintf(progress, "xabench: %d of %d measurements done, now %s\n", done, total, cell)
		}
	}
}

// writerIsTerminal reports whether w is a character device, such as a
// terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

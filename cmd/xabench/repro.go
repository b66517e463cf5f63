// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xabench/xabench/bench"
	"github.com/xabench/xabench/stress"
)

func reproFlags(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("repro", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Bool("list", false, "list the scenarios with their kernel commits")
	fs.String("variant", stress.Buggy, "variant to run: buggy or fixed")
	fs.Duration("duration", 10*time.Second, "give up after this long if nothing is found")
	fs.Uint64("seed", 1, "the run's seed: the same seed replays the same goroutine seeds")
	fs.Int("goroutines", 1, "scale the number of workers")
	fs.Bool("inject", true, "widen the scenario's race windows (internal/inject points)")
	fs.Bool("table", false, "run every scenario over --seeds seeds, buggy and fixed, and print the detection table")
	fs.Int("seeds", 20, "seeds per buggy variant for --table")
	fs.String("o", "", "with --table, also write the table as Markdown to this file")
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage:\n\n\txabench repro --list\n\txabench repro SCENARIO [--variant buggy|fixed] [--duration 10s] [--seed N] [--goroutines N] [--inject=true]\n\txabench repro --table [--seeds 20] [--duration 10s] [-o FILE]\n\n")
		fmt.Fprintf(w, "Runs a model of a kernel page-cache bug, buggy or fixed, until a violation\nis found or the time is up. Exit status: 0 clean, 1 violation, 2 usage,\n130 interrupted (the run stops at the first interrupt and says so).\n\nFlags:\n\n")
		fs.PrintDefaults()
	}
	return fs
}

func reproMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := reproFlags(stderr)
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	get := func(n string) flag.Value { return fs.Lookup(n).Value }
	switch {
	case get("list").(flag.Getter).Get().(bool):
		listScenarios(stdout)
		return 0
	case get("table").(flag.Getter).Get().(bool):
		return reproTable(ctx, stdout, stderr, get("seeds").(flag.Getter).Get().(int),
			get("duration").(flag.Getter).Get().(time.Duration), get("o").String())
	case name == "":
		fmt.Fprintf(stderr, "xabench repro: name a scenario, or use --list or --table\n\n")
		fs.Usage()
		return 2
	}
	s, err := stress.Lookup(name)
	if err != nil {
		fmt.Fprintf(stderr, "xabench repro: %v\n", err)
		return 2
	}
	cfg := stress.Config{
		Duration:   get("duration").(flag.Getter).Get().(time.Duration),
		Seed:       get("seed").(flag.Getter).Get().(uint64),
		Goroutines: get("goroutines").(flag.Getter).Get().(int),
		Inject:     get("inject").(flag.Getter).Get().(bool),
		Progress:   progressLine(stderr, name+" "+get("variant").String()),
		Context:    ctx,
	}
	res, err := s.Run(get("variant").String(), cfg)
	clearLine(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "xabench repro: %v\n", err)
		return 2
	}
	printVerdict(stdout, res)
	return exitStatus(res)
}

// exitStatus is the exit status of one run: 1 for a violation, 130 for
// a clean run cut short by an interrupt, else 0.
func exitStatus(res stress.Result) int {
	switch {
	case !res.Clean():
		return 1
	case res.Interrupted:
		return exitInterrupted
	}
	return 0
}

// exitInterrupted is the shell's status for a program ended by SIGINT.
const exitInterrupted = 130

// progressLine redraws one status line on w if w is a terminal; on a
// log file or a pipe it writes a plain line every progressEvery instead,
// so that a long run in CI still shows that it is alive.
func progressLine(w io.Writer, what string) func(stress.Progress) {
	if !writerIsTerminal(w) {
		next := progressEvery
		return func(p stress.Progress) {
			if p.Elapsed >= next {
				fmt.Fprintf(w, "%s: %v, %d ops\n", what, p.Elapsed.Round(time.Second), p.Ops)
				next += progressEvery
			}
		}
	}
	return func(p stress.Progress) {
		fmt.Fprintf(w, "\r%s: %v, %d ops   ", what, p.Elapsed.Round(100*time.Millisecond), p.Ops)
	}
}

// progressEvery spaces the progress lines written to a non-terminal.
const progressEvery = 30 * time.Second

func clearLine(w io.Writer) {
	if writerIsTerminal(w) {
		fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", 70))
	}
}

func listScenarios(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfixed by\twhat the buggy variant does")
	for _, s := range stress.Scenarios() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Commit, s.Summary)
	}
	fmt.Fprintln(tw, "\nworkload\t\twhat it runs (fixed only; xabench stress runs them too)")
	for _, s := range stress.Workloads() {
		fmt.Fprintf(tw, "%s\t\t%s\n", s.Name, s.Summary)
	}
	tw.Flush()
}

func printVerdict(w io.Writer, res stress.Result) {
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted: %s %s stopped after %v, %d ops, seed %d: no violation so far\n",
			res.Scenario, res.Variant, res.Elapsed.Round(time.Millisecond), res.Ops, res.Seed)
		return
	}
	if res.Clean() {
		fmt.Fprintf(w, "clean: %s %s ran %v, %d ops, seed %d: no violation\n",
			res.Scenario, res.Variant, res.Elapsed.Round(time.Millisecond), res.Ops, res.Seed)
		return
	}
	fmt.Fprintf(w, "VIOLATION in %s %s after %v (%d ops):\n\n%v\n",
		res.Scenario, res.Variant, res.First.After.Round(time.Microsecond), res.Ops, res.First)
}

// roundDetection formats a time to detection: to the millisecond, or to
// the microsecond below one, so that a detection in 300µs does not read
// as 0s.
func roundDetection(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// tableInterrupted ends a --table run that an interrupt cut short: a
// table of partial runs would read as missed detections.
func tableInterrupted(stderr io.Writer) int {
	clearLine(stderr)
	fmt.Fprintf(stderr, "xabench repro: interrupted; no table written\n")
	return exitInterrupted
}

// reproTable runs each buggy variant over seeds 1..n and each fixed
// variant once for the same duration, and prints detections and times to
// detection.
func reproTable(ctx context.Context, stdout, stderr io.Writer, n int, d time.Duration, out string) int {
	if n < 1 {
		fmt.Fprintf(stderr, "xabench repro: --seeds must be at least 1\n")
		return 2
	}
	var rows [][]string
	header := []string{"scenario", "variant", "detected/seeds", "median", "p90", "ops/run"}
	status := 0
	for _, s := range stress.Scenarios() {
		var times []time.Duration
		var ops int64
		for seed := uint64(1); seed <= uint64(n) && ctx.Err() == nil; seed++ {
			res, err := s.Run(stress.Buggy, stress.Config{Duration: d, Seed: seed, Inject: true, Context: ctx,
				Progress: progressLine(stderr, fmt.Sprintf("%s buggy seed %d", s.Name, seed))})
			if err != nil {
				fmt.Fprintf(stderr, "xabench repro: %v\n", err)
				return 2
			}
			if res.Interrupted {
				return tableInterrupted(stderr)
			}
			ops += res.Ops
			if !res.Clean() {
				times = append(times, res.First.After)
			}
		}
		clearLine(stderr)
		med, p90 := "-", "-"
		if len(times) > 0 {
			slices.Sort(times)
			med = roundDetection(times[len(times)/2])
			p90 = roundDetection(times[min(len(times)-1, len(times)*9/10)])
		}
		rows = append(rows, []string{s.Name, "buggy", fmt.Sprintf("%d/%d", len(times), n), med, p90, fmt.Sprint(ops / int64(n))})
		res, err := s.Run(stress.Fixed, stress.Config{Duration: d, Seed: 1, Inject: true, Context: ctx,
			Progress: progressLine(stderr, s.Name+" fixed")})
		clearLine(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "xabench repro: %v\n", err)
			return 2
		}
		if res.Interrupted {
			return tableInterrupted(stderr)
		}
		det := "0/1"
		if !res.Clean() {
			det = "1/1"
			status = 1
			fmt.Fprintf(stderr, "fixed variant of %s found a violation:\n%v\n", s.Name, res.First)
		}
		rows = append(rows, []string{s.Name, "fixed", det, "-", "-", fmt.Sprint(res.Ops)})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	if out != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
		}
		if err := bench.WriteFileAtomic(out, []byte(b.String())); err != nil {
			fmt.Fprintf(stderr, "xabench repro: %v\n", err)
			return 1
		}
	}
	return status
}

func stressFlags(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Duration("duration", 90*time.Second, "total time, shared between the scenarios")
	fs.Uint64("seed", 1, "the runs' seed")
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage:\n\n\txabench stress [--duration 90s] [--seed N]\n\n")
		fmt.Fprintf(w, "Runs every scenario's fixed variant and every plain workload, sharing\nthe duration, with race windows widened. Exit status: 0 clean, 1 violation,\n2 usage, 130 interrupted.\n\nFlags:\n\n")
		fs.PrintDefaults()
	}
	return fs
}

func stressMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := stressFlags(stderr)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	total := fs.Lookup("duration").Value.(flag.Getter).Get().(time.Duration)
	seed := fs.Lookup("seed").Value.(flag.Getter).Get().(uint64)
	all := append(stress.Scenarios(), stress.Workloads()...)
	each := total / time.Duration(len(all))
	status := 0
	for _, s := range all {
		if ctx.Err() != nil {
			break
		}
		res, err := s.Run(stress.Fixed, stress.Config{Duration: each, Seed: seed, Inject: true, Context: ctx,
			Progress: progressLine(stderr, s.Name+" fixed")})
		clearLine(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "xabench stress: %v\n", err)
			return 2
		}
		printVerdict(stdout, res)
		if code := exitStatus(res); code != 0 && status != 1 {
			status = code
		}
	}
	return status
}

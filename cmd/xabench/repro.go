// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xabench/xabench/bench"
	"github.com/xabench/xabench/kernel"
	"github.com/xabench/xabench/stress"
)

type reproFlagValues struct {
	list       bool
	variant    string
	duration   time.Duration
	seed       uint64
	goroutines int
	inject     bool
	table      bool
	seeds      int
	out        string
	kernel     string
	kernels    bool
	matrix     bool
	keepGoing  bool
	explore    string // explore.go
	runs       int
	schedule   string
}

func newReproFlags(w io.Writer) (*flag.FlagSet, *reproFlagValues) {
	v := new(reproFlagValues)
	fs := flag.NewFlagSet("repro", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.BoolVar(&v.list, "list", false, "list the scenarios with their kernel commits")
	fs.StringVar(&v.variant, "variant", stress.Buggy, "variant to run: buggy or fixed (with --table: if set, only that variant's rows; if not, both)")
	fs.DurationVar(&v.duration, "duration", 10*time.Second, "give up after this long if nothing is found (positive; with --table: each run's)")
	fs.Uint64Var(&v.seed, "seed", 1, "the run's seed: the same seed replays the same goroutine seeds (with --table: the first of the --seeds seeds)")
	fs.IntVar(&v.goroutines, "goroutines", 1, "scale the number of workers (at least 1; with --table: of every run)")
	fs.BoolVar(&v.inject, "inject", true, "widen the scenario's race windows (internal/inject points; with --table: of every run)")
	fs.BoolVar(&v.table, "table", false, "run every scenario (or the one named) over --seeds seeds, buggy and fixed, and print the detection table")
	fs.IntVar(&v.seeds, "seeds", 20, "with --table: seeds per buggy variant, from --seed on")
	fs.StringVar(&v.out, "o", "", "with --table: also write the table as Markdown to this `file`")
	fs.StringVar(&v.kernel, "kernel", "", "run the scenario's fixed form as this kernel `release` ("+strings.Join(kernel.Names(), ", ")+"); implies --variant fixed; with --matrix, a comma-separated list")
	fs.BoolVar(&v.keepGoing, "keep-going", false, "keep running after the first violation for the whole --duration and count violations by class (with --seeds N: over N seeds)")
	fs.BoolVar(&v.matrix, "matrix", false, "run every real-bug scenario (or the one named) as every release (or the --kernel list) and print releases × bugs")
	fs.StringVar(&v.explore, "explore", "", "search the interleavings of the scenario's small configuration with this `strategy`: random, pct:D or pct:D:K")
	fs.IntVar(&v.runs, "runs", 1000, "with --explore: the most runs")
	fs.StringVar(&v.schedule, "schedule", "", "replay this `schedule` string of an --explore run exactly")
	fs.BoolVar(&v.kernels, "kernels", false, "print the kernel releases --kernel takes and the behaviours each has, as a Markdown table")
	fs.Usage = func() {
		fmt.Fprintf(w, `Usage:

	xabench repro --list
	xabench repro --kernels
	xabench repro SCENARIO [--variant buggy|fixed] [--duration 10s] [--seed N] [--goroutines N] [--inject=true]
	xabench repro SCENARIO --kernel RELEASE [--duration 10s] [--seed N] [--goroutines N] [--inject=true]
	xabench repro --table [SCENARIO] [--seeds 20] [--seed 1] [--variant buggy|fixed] [--duration 10s] [--inject=true] [-o FILE]
	xabench repro SCENARIO --keep-going [--kernel RELEASE | --variant buggy] [--seeds 1] [--duration 10s]
	xabench repro --matrix [SCENARIO] [--kernel R1,R2,...] [--duration 5s] [--seed 1] [-o FILE]
	xabench repro SCENARIO --explore random|pct:D[:K] [--runs 1000] [--seed N] [--kernel RELEASE | --variant buggy|fixed]
	xabench repro [SCENARIO] --schedule SCHEDULE

Runs a model of a kernel page-cache bug, buggy or fixed, until a violation
is found or the time is up. Flags may come before or after SCENARIO.
Exit status: 0 clean, 1 violation, 2 usage, 130 interrupted (the run stops
at the first interrupt and says so).

--kernel RELEASE runs the scenario's fixed form with the variants of that
kernel release's profile (see --kernels): every behaviour the model can
switch is as that release had it. --variant buggy is the short form of
"--kernel" with the last release that had the bug, with only that bug's
variant: the two do not combine, and --kernel with --variant buggy is a
usage error. The replay line of a violation names the release.

--table runs each scenario's buggy variant with seeds --seed to
--seed+--seeds-1 and its fixed variant once with seed --seed, each for up
to --duration, with race windows widened unless --inject=false, and prints
how many seeds detected the bug and how soon. A SCENARIO restricts it to
that scenario, and --variant to that variant's rows. Its exit status is 1
if a fixed variant found a violation.

--keep-going runs SCENARIO for the whole --duration however often it finds
a violation, as far as the model stays usable, and prints the violations by
class (movable_ops page found, folio of another mapping, !folio_contains,
validator, bad_page, list corruption, kernel BUG, ...): the chain of
symptoms the first corruption leads to. With --seeds N it runs seeds --seed
to --seed+N-1 and counts over them. Its exit status is 1 if anything was
found.

--matrix runs each scenario of a bug fixed upstream (not the protocol
breaks) as each release, its fixed form with that release's profile, for up
to --duration (5s unless set) with seed --seed, and prints releases × bugs:
caught (time to detect) or clean (how long it ran). Each bug should be
caught from the first release that has it to the last without its fix and
clean elsewhere; cells that disagree are marked "!" and listed with their
violation and replay line, and make the exit status 1.

%s
Flags:

`, exploreUsage)
		fs.PrintDefaults()
	}
	return fs, v
}

func reproFlags(w io.Writer) *flag.FlagSet {
	fs, _ := newReproFlags(w)
	return fs
}

func reproMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, v := newReproFlags(stderr)
	pos, rc := parseArgs(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 1 {
		return usageError(fs, "want one scenario, got %d: %q", len(pos), pos)
	}
	var name string
	if len(pos) == 1 {
		name = pos[0]
	}
	if v.list {
		if name != "" || v.table || v.kernels || v.matrix || isSet(fs, "kernel") {
			return usageError(fs, "--list takes no scenario, no --table, no --matrix, no --kernel and no --kernels")
		}
		listScenarios(stdout)
		return 0
	}
	if v.kernels {
		if name != "" || v.table || v.matrix || isSet(fs, "kernel") {
			return usageError(fs, "--kernels takes no scenario, no --table, no --matrix and no --kernel")
		}
		fmt.Fprint(stdout, kernel.Markdown())
		return 0
	}
	if isSet(fs, "explore") || isSet(fs, "schedule") || isSet(fs, "runs") {
		return exploreMain(ctx, fs, v, name, stdout, stderr)
	}
	if v.matrix {
		return matrixMain(ctx, fs, v, name, stdout, stderr)
	}
	if isSet(fs, "kernel") && v.table {
		return usageError(fs, "--kernel does not combine with --table")
	}
	prof, rc := kernelProfile(fs, v)
	if rc >= 0 {
		return rc
	}
	if rc := mustBePositive(fs, "duration", v.duration); rc >= 0 {
		return rc
	}
	if rc := mustBeAtLeast(fs, "goroutines", v.goroutines, 1); rc >= 0 {
		return rc
	}
	if v.variant != stress.Buggy && v.variant != stress.Fixed {
		return usageError(fs, "--variant %q: want %s or %s", v.variant, stress.Buggy, stress.Fixed)
	}
	if v.keepGoing {
		if v.table {
			return usageError(fs, "--keep-going does not combine with --table")
		}
		if isSet(fs, "o") {
			return usageError(fs, "-o needs --table or --matrix")
		}
		if rc := mustBeAtLeast(fs, "seeds", v.seeds, 1); rc >= 0 {
			return rc
		}
		if !isSet(fs, "seeds") {
			v.seeds = 1
		}
	}
	if !v.table && !v.keepGoing {
		for _, f := range []string{"seeds", "o"} {
			if isSet(fs, f) {
				return usageError(fs, "-%s needs --table", f)
			}
		}
	}
	var s *stress.Scenario
	if name != "" {
		var err error
		if s, err = stress.Lookup(name); err != nil {
			return usageError(fs, "%v", err)
		}
	}
	if v.table {
		if rc := mustBeAtLeast(fs, "seeds", v.seeds, 1); rc >= 0 {
			return rc
		}
		if math.MaxUint64-v.seed < uint64(v.seeds-1) {
			return usageError(fs, "--seed %d: the %d seeds from it overflow", v.seed, v.seeds)
		}
		t := tableOptions{scenarios: stress.Scenarios(), variants: []string{stress.Buggy, stress.Fixed},
			seeds: v.seeds, firstSeed: v.seed, duration: v.duration, goroutines: v.goroutines, inject: v.inject,
			out: v.out}
		if s != nil {
			t.scenarios = []*stress.Scenario{s}
			if s.Plain {
				t.variants = []string{stress.Fixed}
			}
		}
		if isSet(fs, "variant") {
			if s != nil && s.Plain && v.variant == stress.Buggy {
				return usageError(fs, "%s is a plain workload: it has only a fixed variant", s.Name)
			}
			t.variants = []string{v.variant}
		}
		return reproTable(ctx, stdout, stderr, t)
	}
	if s == nil {
		return usageError(fs, "name a scenario, or use --list or --table")
	}
	if v.keepGoing {
		return reproKeepGoing(ctx, stdout, stderr, s, v, prof)
	}
	res, err := s.Run(v.variant, stress.Config{
		Duration:   v.duration,
		Seed:       v.seed,
		Goroutines: v.goroutines,
		Inject:     v.inject,
		Progress:   progressLine(stderr, name+" "+v.variant+asKernel(prof)),
		Context:    ctx,
		Kernel:     prof,
	})
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

// asKernel is " as RELEASE" for a run with a kernel profile, else "".
func asKernel(p *kernel.Profile) string {
	if p == nil {
		return ""
	}
	return " as " + p.Name
}

// runName names a run in a verdict: scenario, variant and the release.
func runName(res stress.Result) string {
	if res.Kernel != "" {
		return res.Scenario + " " + res.Variant + " as " + res.Kernel
	}
	return res.Scenario + " " + res.Variant
}

func listScenarios(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfixed by\treleases\twhat the buggy variant does")
	for _, s := range stress.Scenarios() {
		rel := "-"
		if s.LastBuggy != "" {
			rel = s.LastBuggy + " -> " + s.FirstFixed
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Commit, rel, s.Summary)
	}
	fmt.Fprintln(tw, "\nworkload\t\t\twhat it runs (fixed only; xabench stress runs them too)")
	for _, s := range stress.Workloads() {
		fmt.Fprintf(tw, "%s\t\t\t%s\n", s.Name, s.Summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nreleases: the last kernel release with the bug -> the first with the fix; run any scenario\n"+
		"as a release with --kernel (%s); --kernels prints what each has\n", strings.Join(kernel.Names(), ", "))
}

func printVerdict(w io.Writer, res stress.Result) {
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted: %s stopped after %v, %d ops, seed %d: no violation so far\n",
			runName(res), res.Elapsed.Round(time.Millisecond), res.Ops, res.Seed)
		return
	}
	if res.Clean() {
		fmt.Fprintf(w, "clean: %s ran %v, %d ops, seed %d: no violation\n",
			runName(res), res.Elapsed.Round(time.Millisecond), res.Ops, res.Seed)
		return
	}
	fmt.Fprintf(w, "VIOLATION in %s after %v (%d ops):\n\n%v\n",
		runName(res), res.First.After.Round(time.Microsecond), res.Ops, res.First)
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

// tableOptions are what repro --table runs.
type tableOptions struct {
	scenarios  []*stress.Scenario
	variants   []string // stress.Buggy, stress.Fixed, or both, in that order
	seeds      int      // of each buggy variant, from firstSeed on; the fixed one runs with firstSeed
	firstSeed  uint64
	duration   time.Duration
	goroutines int
	inject     bool
	out        string // a file to write the Markdown table to, if not ""
}

// caption says how the table was made.
func (t tableOptions) caption() string {
	var parts []string
	if slices.Contains(t.variants, stress.Buggy) {
		seeds := fmt.Sprintf("seed %d", t.firstSeed)
		if t.seeds > 1 {
			seeds = fmt.Sprintf("seeds %d..%d", t.firstSeed, t.firstSeed+uint64(t.seeds-1))
		}
		parts = append(parts, "buggy variants: "+seeds)
	}
	if slices.Contains(t.variants, stress.Fixed) {
		parts = append(parts, fmt.Sprintf("fixed variants: seed %d", t.firstSeed))
	}
	parts = append(parts, fmt.Sprintf("each run up to %v", t.duration))
	if t.goroutines > 1 {
		parts = append(parts, fmt.Sprintf("--goroutines %d", t.goroutines))
	}
	if t.inject {
		parts = append(parts, "race windows widened (--inject)")
	} else {
		parts = append(parts, "race windows not widened (--inject=false)")
	}
	return strings.Join(parts, "; ")
}

// reproTable runs each buggy variant over t.seeds seeds and each fixed
// variant once for the same duration, and prints detections and times to
// detection.
func reproTable(ctx context.Context, stdout, stderr io.Writer, t tableOptions) int {
	var rows [][]string
	header := []string{"scenario", "variant", "detected/seeds", "median", "p90", "ops/run"}
	status := 0
	config := func(seed uint64, what string) stress.Config {
		return stress.Config{Duration: t.duration, Seed: seed, Goroutines: t.goroutines, Inject: t.inject,
			Context: ctx, Progress: progressLine(stderr, what)}
	}
	for _, s := range t.scenarios {
		if slices.Contains(t.variants, stress.Buggy) {
			var times []time.Duration
			var ops int64
			for i := range t.seeds {
				seed := t.firstSeed + uint64(i)
				res, err := s.Run(stress.Buggy, config(seed, fmt.Sprintf("%s buggy seed %d", s.Name, seed)))
				if err != nil {
					clearLine(stderr)
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
			rows = append(rows, []string{s.Name, stress.Buggy, fmt.Sprintf("%d/%d", len(times), t.seeds), med, p90,
				fmt.Sprint(ops / int64(t.seeds))})
		}
		if slices.Contains(t.variants, stress.Fixed) {
			res, err := s.Run(stress.Fixed, config(t.firstSeed, s.Name+" fixed"))
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
			rows = append(rows, []string{s.Name, stress.Fixed, det, "-", "-", fmt.Sprint(res.Ops)})
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%s\n", t.caption())
	if t.out != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
		}
		fmt.Fprintf(&b, "\n%s\n", t.caption())
		if err := bench.WriteFileAtomic(t.out, []byte(b.String())); err != nil {
			fmt.Fprintf(stderr, "xabench repro: %v\n", err)
			return 1
		}
	}
	return status
}

// stressFlagValues are the flags of xabench stress.
type stressFlagValues struct {
	total  time.Duration
	seed   uint64
	kernel string
}

func newStressFlags(w io.Writer) (*flag.FlagSet, *stressFlagValues) {
	v := &stressFlagValues{}
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.DurationVar(&v.total, "duration", 90*time.Second, "total time, shared between the scenarios (positive)")
	fs.Uint64Var(&v.seed, "seed", 1, "the runs' seed")
	fs.StringVar(&v.kernel, "kernel", "", "run everything as this kernel `release` ("+strings.Join(kernel.Names(), ", ")+"; default mainline)")
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage:\n\n\txabench stress [--duration 90s] [--seed N] [--kernel RELEASE]\n\n")
		fmt.Fprintf(w, "Runs every scenario's fixed variant and every plain workload, sharing\nthe duration, with race windows widened; with --kernel, as that release\n(a release that lacks a fix shows its bug). Exit status: 0 clean,\n1 violation, 2 usage, 130 interrupted.\n\nFlags:\n\n")
		fs.PrintDefaults()
	}
	return fs, v
}

func stressFlags(w io.Writer) *flag.FlagSet {
	fs, _ := newStressFlags(w)
	return fs
}

func stressMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, v := newStressFlags(stderr)
	total, seed := &v.total, &v.seed
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if code := mustBePositive(fs, "duration", *total); code >= 0 {
		return code
	}
	var prof *kernel.Profile
	if isSet(fs, "kernel") {
		p, err := kernel.Lookup(v.kernel)
		if err != nil {
			return usageError(fs, "--kernel %q: not a release (have %s)", v.kernel, strings.Join(kernel.Names(), ", "))
		}
		prof = &p
	}
	all := append(stress.Scenarios(), stress.Workloads()...)
	// At least a nanosecond each: a zero Duration would mean the
	// scenario's default.
	each := max(*total/time.Duration(len(all)), time.Nanosecond)
	status, ran := 0, 0
	for _, s := range all {
		if ctx.Err() != nil {
			break
		}
		ran++
		res, err := s.Run(stress.Fixed, stress.Config{Duration: each, Seed: *seed, Inject: true, Context: ctx,
			Kernel: prof, Progress: progressLine(stderr, s.Name+" fixed"+asKernel(prof))})
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
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "xabench stress: interrupted; %d of %d runs started\n", ran, len(all))
		if status != 1 {
			status = exitInterrupted
		}
	}
	return status
}

// kernelProfile reads --kernel for a run of one scenario: the profile of
// the release, with the variant set to fixed (the form a release runs),
// or nil without --kernel. --kernel with --variant buggy is a usage
// error; rc is then its exit status, else -1.
func kernelProfile(fs *flag.FlagSet, v *reproFlagValues) (prof *kernel.Profile, rc int) {
	if !isSet(fs, "kernel") {
		return nil, -1
	}
	if isSet(fs, "variant") && v.variant == stress.Buggy {
		return nil, usageError(fs, "--kernel runs the fixed form as that release; --variant buggy is the short form of the last release with the bug: use one")
	}
	p, err := kernel.Lookup(v.kernel)
	if err != nil {
		return nil, usageError(fs, "--kernel %q: not a release (have %s)", v.kernel, strings.Join(kernel.Names(), ", "))
	}
	v.variant = stress.Fixed
	return &p, -1
}

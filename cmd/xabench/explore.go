// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xabench/xabench/internal/sched"
	"github.com/xabench/xabench/stress"
)

// xabench repro SCENARIO --explore STRATEGY searches the interleavings of
// the scenario's small configuration under the controlled scheduler
// (internal/sched) and prints the first violating run as a schedule
// string; xabench repro --schedule S replays one exactly.

// exploreUsage is the part of repro's usage about schedule search.
const exploreUsage = `--explore STRATEGY searches the interleavings of SCENARIO's small
configuration (two goroutines, a few operations each) under a scheduler
that runs one goroutine at a time and chooses the next at every schedule
point: random (a random walk), pct:D or pct:D:K (PCT for bugs of depth D
over runs of K steps; K is the first run's length unless given). It makes
up to --runs runs, seeded by --seed, as --variant or as --kernel RELEASE,
and stops at the first violation: it prints the violation, the run's
number, its interleaving (numbered steps, one column per goroutine, each
named by the kernel code of its schedule point; * marks a preemption) and
its schedule string. --schedule S replays that string: the same
interleaving and the same violation every time (the schedule names the
scenario, variant and release). Exit status: 1 violation, 0 clean, 2
usage or a replay that left its schedule, 130 interrupted.
`

// exploreFlags rejects the flags of other repro modes with --explore or
// --schedule, and returns -1 if the combination is fine.
func exploreFlags(fs *flag.FlagSet, v *reproFlagValues, mode string) int {
	if isSet(fs, "explore") && isSet(fs, "schedule") {
		return usageError(fs, "--explore searches and --schedule replays: use one")
	}
	for _, f := range []string{"list", "kernels", "table", "matrix", "keep-going", "seeds", "o", "duration", "goroutines", "inject"} {
		if isSet(fs, f) {
			return usageError(fs, "--%s does not combine with %s", f, mode)
		}
	}
	if mode == "--schedule" {
		for _, f := range []string{"runs", "seed", "variant", "kernel"} {
			if isSet(fs, f) {
				return usageError(fs, "--%s does not combine with --schedule: the schedule says what to run", f)
			}
		}
	}
	return -1
}

// exploreMain is xabench repro with --explore, --schedule or --runs.
func exploreMain(ctx context.Context, fs *flag.FlagSet, v *reproFlagValues, name string, stdout, stderr io.Writer) int {
	if !isSet(fs, "explore") && !isSet(fs, "schedule") {
		return usageError(fs, "--runs needs --explore")
	}
	if isSet(fs, "schedule") {
		if rc := exploreFlags(fs, v, "--schedule"); rc >= 0 {
			return rc
		}
		return replayMain(fs, v.schedule, name, stdout, stderr)
	}
	if rc := exploreFlags(fs, v, "--explore"); rc >= 0 {
		return rc
	}
	spec, err := sched.ParseSpec(v.explore)
	if err != nil {
		return usageError(fs, "--explore %q: want random, pct:D or pct:D:K", v.explore)
	}
	if rc := mustBeAtLeast(fs, "runs", v.runs, 1); rc >= 0 {
		return rc
	}
	if name == "" {
		return usageError(fs, "--explore needs a scenario")
	}
	s, err := stress.Lookup(name)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	config, about, ok := s.SmallConfig()
	if !ok {
		return usageError(fs, "%s has no small configuration for --explore yet", s.Name)
	}
	prof, rc := kernelProfile(fs, v)
	if rc >= 0 {
		return rc
	}
	if v.variant != stress.Buggy && v.variant != stress.Fixed {
		return usageError(fs, "--variant %q: want %s or %s", v.variant, stress.Buggy, stress.Fixed)
	}
	what := s.Name + " " + v.variant + asKernel(prof)
	fmt.Fprintf(stdout, "exploring %s, configuration %s: %s\nstrategy %v, seed %d, up to %d runs\n\n", what, config, about, spec, v.seed, v.runs)
	res, err := s.Explore(stress.ExploreOptions{Variant: v.variant, Kernel: prof, Strategy: spec,
		Runs: v.runs, Seed: v.seed, Context: ctx})
	if err != nil {
		fmt.Fprintf(stderr, "xabench repro: %v\n", err)
		return 2
	}
	sr := res.Search
	k := ""
	if spec.Kind == "pct" {
		k = fmt.Sprintf(" (k=%d)", sr.K)
	}
	if res.Clean() {
		verdict := "clean"
		if sr.Interrupted {
			verdict = "interrupted"
		}
		fmt.Fprintf(stdout, "%s: %s, %v%s, seed %d: %d runs, %d steps in %v: no violation\n",
			verdict, what, spec, k, v.seed, sr.Runs, sr.Steps, sr.Elapsed.Round(time.Microsecond))
		if sr.Interrupted {
			return exitInterrupted
		}
		return 0
	}
	f := sr.First
	fmt.Fprintf(stdout, "VIOLATION in %s at run %d of %v%s, seed %d: %d runs, %d steps in %v\n\n%s\n%s\n",
		what, f.Run, spec, k, v.seed, sr.Runs, sr.Steps, sr.Elapsed.Round(time.Microsecond),
		res.Violation.Kind, strings.TrimRight(res.Violation.Report, "\n"))
	printInterleaving(stdout, f.Exec)
	fmt.Fprintf(stdout, "\nschedule: %s\nreplay:   xabench repro %s --schedule %s\n", res.Schedule, s.Name, res.Schedule)
	return 1
}

// replayMain is xabench repro [SCENARIO] --schedule S.
func replayMain(fs *flag.FlagSet, schedule, name string, stdout, stderr io.Writer) int {
	sc, err := sched.ParseSchedule(schedule)
	if err != nil {
		return usageError(fs, "--schedule: %v", err)
	}
	if name != "" && (len(sc.Label) == 0 || sc.Label[0] != name) {
		return usageError(fs, "--schedule is a schedule of %q, not of %s", strings.Join(sc.Label, ","), name)
	}
	res, err := stress.ReplaySchedule(schedule)
	if err != nil {
		fmt.Fprintf(stderr, "xabench repro: %v\n", err)
		if res.Exec != nil {
			fmt.Fprintf(stderr, "\nthe run it made:\n")
			printInterleaving(stderr, res.Exec)
		}
		return 2
	}
	what := res.Scenario + " " + res.Variant
	if res.Kernel != "" {
		what += " as " + res.Kernel
	}
	fmt.Fprintf(stdout, "replaying %s, configuration %s: %d steps, exactly as recorded, in %v\n\n",
		what, res.Config, res.Exec.Steps(), res.Elapsed.Round(time.Microsecond))
	if res.Violation == nil {
		printInterleaving(stdout, res.Exec)
		fmt.Fprintf(stdout, "\nclean: the schedule's run found no violation\n")
		return 0
	}
	fmt.Fprintf(stdout, "VIOLATION: %s\n%s\n", res.Violation.Kind, strings.TrimRight(res.Violation.Report, "\n"))
	printInterleaving(stdout, res.Exec)
	return 1
}

// printInterleaving prints a run's trace under a heading.
func printInterleaving(w io.Writer, e *sched.Execution) {
	var ids []string
	for i, name := range e.Threads[:min(len(e.Threads), 26)] {
		ids = append(ids, fmt.Sprintf("T%d %s = %c", i+1, name, 'a'+i))
	}
	fmt.Fprintf(w, "\ninterleaving: %d steps, preemptions: %d (letters in the schedule string: %s)\n",
		e.Steps(), len(e.Preempted), strings.Join(ids, ", "))
	e.WriteTrace(w)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xabench/xabench/kernel"
	"github.com/xabench/xabench/stress"
)

// matrixDuration is a --matrix cell's longest run unless --duration says.
const matrixDuration = 5 * time.Second

// matrixMain checks the flags of repro --matrix and runs it.
func matrixMain(ctx context.Context, fs *flag.FlagSet, v *reproFlagValues, name string, stdout, stderr io.Writer) int {
	if v.table {
		return usageError(fs, "--matrix does not combine with --table")
	}
	for _, f := range []string{"variant", "seeds", "goroutines", "inject"} {
		if isSet(fs, f) {
			return usageError(fs, "--matrix takes no -%s: each cell runs the fixed form as its release, with race windows widened", f)
		}
	}
	o := matrixOptions{scenarios: realBugs(), releases: kernel.Profiles(), duration: matrixDuration, seed: v.seed,
		out: v.out, command: "xabench repro " + strings.Join(os.Args[min(2, len(os.Args)):], " ")}
	if isSet(fs, "duration") {
		if rc := mustBePositive(fs, "duration", v.duration); rc >= 0 {
			return rc
		}
		o.duration = v.duration
	}
	if name != "" {
		s, err := stress.Lookup(name)
		if err != nil {
			return usageError(fs, "%v", err)
		}
		if s.FirstFixed == "" {
			return usageError(fs, "%s is not a bug fixed upstream: --matrix runs only those", name)
		}
		o.scenarios = []*stress.Scenario{s}
	}
	if isSet(fs, "kernel") {
		o.releases = nil
		for _, r := range strings.Split(v.kernel, ",") {
			p, err := kernel.Lookup(r)
			if err != nil {
				return usageError(fs, "--kernel %q: not a release (have %s)", r, strings.Join(kernel.Names(), ", "))
			}
			if !slices.ContainsFunc(o.releases, func(q kernel.Profile) bool { return q.Name == p.Name }) {
				o.releases = append(o.releases, p)
			}
		}
		slices.SortFunc(o.releases, func(a, b kernel.Profile) int {
			return slices.Index(kernel.Names(), a.Name) - slices.Index(kernel.Names(), b.Name)
		})
	}
	return reproMatrix(ctx, stdout, stderr, o)
}

// matrixOptions are what repro --matrix runs.
type matrixOptions struct {
	scenarios []*stress.Scenario // real bugs only
	releases  []kernel.Profile   // oldest first
	duration  time.Duration      // each cell's longest run
	seed      uint64
	out       string // Markdown copy of the matrix, if set
	command   string // the command line, for the Markdown copy
}

// matrixCell is one scenario run as one release.
type matrixCell struct {
	res      stress.Result
	expected bool // the release should have the bug
}

func (c matrixCell) caught() bool { return !c.res.Clean() }

func (c matrixCell) agrees() bool { return c.caught() == c.expected }

func (c matrixCell) String() string {
	s := "clean " + c.res.Elapsed.Round(time.Second).String()
	if c.caught() {
		s = "caught " + roundDetection(c.res.First.After)
	}
	if !c.agrees() {
		s += " !"
	}
	return s
}

// expectBug reports whether release p should have the bug of s: it is at
// or after the first modelled release with the bug and before the first
// with its fix, in profile order.
func expectBug(s *stress.Scenario, p kernel.Profile) bool {
	order := kernel.Names()
	at := slices.Index(order, p.Name)
	first := 0
	if s.FirstBuggy != "" {
		first = slices.Index(order, s.FirstBuggy)
	}
	fixed := slices.Index(order, s.FirstFixed)
	return at >= first && at < fixed
}

// realBugs returns the scenarios that model a bug fixed upstream (not a
// protocol break, not a workload).
func realBugs() []*stress.Scenario {
	var out []*stress.Scenario
	for _, s := range stress.Scenarios() {
		if s.FirstFixed != "" {
			out = append(out, s)
		}
	}
	return out
}

// reproMatrix runs every scenario of o as every release of o, each cell
// for up to o.duration with the same seed, and prints releases × bugs.
// Its exit status is 1 if a cell disagrees with the fix releases.
func reproMatrix(ctx context.Context, stdout, stderr io.Writer, o matrixOptions) int {
	cells := make([][]matrixCell, len(o.releases))
	total := len(o.releases) * len(o.scenarios)
	n := 0
	for i, p := range o.releases {
		cells[i] = make([]matrixCell, len(o.scenarios))
		for j, s := range o.scenarios {
			n++
			prof := p
			res, err := s.Run(stress.Fixed, stress.Config{Duration: o.duration, Seed: o.seed, Inject: true,
				Context: ctx, Kernel: &prof,
				Progress: progressLine(stderr, fmt.Sprintf("[%d/%d] %s as %s", n, total, s.Name, p.Name))})
			clearLine(stderr)
			if err != nil {
				fmt.Fprintf(stderr, "xabench repro: %v\n", err)
				return 2
			}
			if res.Interrupted {
				return tableInterrupted(stderr)
			}
			cells[i][j] = matrixCell{res: res, expected: expectBug(s, p)}
		}
	}
	writeMatrix(stdout, o, cells)
	if o.out != "" {
		f, err := os.Create(o.out)
		if err == nil {
			writeMatrixMarkdown(f, o, cells)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "xabench repro: %v\n", err)
			return 2
		}
	}
	for _, row := range cells {
		for _, c := range row {
			if !c.agrees() {
				return 1
			}
		}
	}
	return 0
}

func writeMatrix(w io.Writer, o matrixOptions, cells [][]matrixCell) {
	fmt.Fprintf(w, "xabench repro --matrix: each real-bug scenario run as each release, up to %v a cell, seed %d, race windows widened\n",
		o.duration, o.seed)
	fmt.Fprintf(w, "(caught: time to the first violation; clean: how long it ran; expected: caught from the first release\n"+
		"with the bug to the last without its fix, clean elsewhere; \"!\" marks a cell that disagrees)\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"release"}
	for _, s := range o.scenarios {
		header = append(header, s.Name)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, p := range o.releases {
		row := []string{p.Name}
		for _, c := range cells[i] {
			row = append(row, c.String())
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	fix := []string{"fixed in"}
	for _, s := range o.scenarios {
		fix = append(fix, s.FirstFixed)
	}
	fmt.Fprintln(tw, strings.Join(fix, "\t"))
	tw.Flush()
	writeFindings(w, o, cells)
}

// writeFindings lists the cells that disagree, with the violation that
// made a clean-expected cell caught, so that each can be explained.
func writeFindings(w io.Writer, o matrixOptions, cells [][]matrixCell) {
	first := true
	for i, p := range o.releases {
		for j, s := range o.scenarios {
			c := cells[i][j]
			if c.agrees() {
				continue
			}
			if first {
				fmt.Fprintf(w, "\ncells that disagree with the fix releases:\n")
				first = false
			}
			if c.caught() {
				fmt.Fprintf(w, "- %s as %s: caught, expected clean (fixed in %s): %s\n  replay: xabench repro %s --kernel %s --seed %d\n",
					s.Name, p.Name, s.FirstFixed, c.res.First.Kind, s.Name, p.Name, o.seed)
			} else {
				fmt.Fprintf(w, "- %s as %s: clean for %v, expected caught (%s has the bug)\n",
					s.Name, p.Name, c.res.Elapsed.Round(time.Second), p.Name)
			}
		}
	}
	if first {
		fmt.Fprintf(w, "\nevery cell agrees with the fix releases\n")
	}
}

func writeMatrixMarkdown(w io.Writer, o matrixOptions, cells [][]matrixCell) {
	fmt.Fprintf(w, "Made by `%s`.\n\n", o.command)
	fmt.Fprintf(w, "| release |")
	for _, s := range o.scenarios {
		fmt.Fprintf(w, " %s |", s.Name)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" --- |", len(o.scenarios)))
	for i, p := range o.releases {
		fmt.Fprintf(w, "| %s |", p.Name)
		for _, c := range cells[i] {
			fmt.Fprintf(w, " %s |", c)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| fixed in |")
	for _, s := range o.scenarios {
		fmt.Fprintf(w, " %s (%s) |", s.FirstFixed, s.Commit)
	}
	fmt.Fprintln(w)
	writeFindings(w, o, cells)
}

// reproKeepGoing runs s with stress.Config.KeepGoing over v.seeds seeds
// and prints the violations by class: how many seeds met each, how many
// reports, and how soon the first came (the median over the seeds that
// met it).
func reproKeepGoing(ctx context.Context, stdout, stderr io.Writer, s *stress.Scenario, v *reproFlagValues, prof *kernel.Profile) int {
	type agg struct {
		seeds int
		n     int64
		first []time.Duration
	}
	classes := map[string]*agg{}
	var ops int64
	clean := 0
	for i := range v.seeds {
		seed := v.seed + uint64(i)
		res, err := s.Run(v.variant, stress.Config{Duration: v.duration, Seed: seed, Goroutines: v.goroutines,
			Inject: v.inject, Context: ctx, Kernel: prof, KeepGoing: true,
			Progress: progressLine(stderr, fmt.Sprintf("%s %s%s seed %d", s.Name, v.variant, asKernel(prof), seed))})
		clearLine(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "xabench repro: %v\n", err)
			return 2
		}
		if res.Interrupted {
			return tableInterrupted(stderr)
		}
		ops += res.Ops
		if res.Clean() {
			clean++
		}
		for c, n := range res.ByClass {
			a := classes[c]
			if a == nil {
				a = &agg{}
				classes[c] = a
			}
			a.seeds++
			a.n += n.N
			a.first = append(a.first, n.First)
		}
	}
	what := s.Name + " " + v.variant + asKernel(prof)
	fmt.Fprintf(stdout, "%s, kept going for %v a seed over seeds %d..%d (%d ops a seed); %d of %d seeds clean\n\n",
		what, v.duration, v.seed, v.seed+uint64(v.seeds)-1, ops/int64(v.seeds), clean, v.seeds)
	if len(classes) == 0 {
		fmt.Fprintln(stdout, "no violation")
		return 0
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := classes[b].seeds - classes[a].seeds; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tseeds\treports\tfirst (median)")
	for _, c := range names {
		a := classes[c]
		slices.Sort(a.first)
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%s\n", c, a.seeds, v.seeds, a.n, roundDetection(a.first[len(a.first)/2]))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n(reports: every violation the checkers reported, so a broken invariant that a validator meets again and again counts each time)\n")
	return 1
}

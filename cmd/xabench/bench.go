// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// suites are what "xabench bench --suite" can run; the first is the
// default.
var suites = []suite{
	{"rcu", "rcu read side, Synchronize latency, Call throughput", runRCUSuite},
}

type suite struct {
	name    string
	summary string
	// run runs the suite, writes its table to w and reports progress to
	// progress.
	run func(w, progress io.Writer, o benchOptions) error
}

type benchOptions struct {
	benchtime time.Duration
	count     int
}

type benchFlagValues struct {
	suite     string
	benchtime time.Duration
	count     int
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
	fs.DurationVar(&v.benchtime, "benchtime", 200*time.Millisecond, "length of each measurement")
	fs.IntVar(&v.count, "count", 3, "runs of each measurement; the table shows medians")
	fs.BoolVar(&v.quiet, "q", false, "do not report progress on stderr")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: xabench bench [flags]\n\nRuns a benchmark suite and prints a table.\n\nSuites:\n")
		for _, s := range suites {
			fmt.Fprintf(fs.Output(), "\t%-8s %s\n", s.name, s.summary)
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

func benchMain(args []string, stdout, stderr io.Writer) int {
	fs, v := newBenchFlags(stderr)
	if rc := parseFlags(fs, args); rc >= 0 {
		return rc
	}
	i := slices.IndexFunc(suites, func(s suite) bool { return s.name == v.suite })
	if i < 0 {
		fmt.Fprintf(stderr, "xabench bench: unknown suite %q\n\n", v.suite)
		fs.Usage()
		return 2
	}
	if v.benchtime <= 0 || v.count <= 0 {
		fmt.Fprintf(stderr, "xabench bench: -benchtime and -count must be positive\n\n")
		fs.Usage()
		return 2
	}
	progress := stderr
	if v.quiet {
		progress = io.Discard
	}
	if err := suites[i].run(stdout, progress, benchOptions{v.benchtime, v.count}); err != nil {
		fmt.Fprintf(stderr, "xabench bench: %v\n", err)
		return 1
	}
	return 0
}

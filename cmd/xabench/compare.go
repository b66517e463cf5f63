// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/xabench/xabench/bench"
)

// percent is a flag holding a fraction, written as a percentage: "5" or
// "5%" is 0.05.
type percent float64

func (p *percent) String() string { return strconv.FormatFloat(float64(*p)*100, 'g', -1, 64) + "%" }

func (p *percent) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a percentage", s)
	}
	*p = percent(v / 100)
	return nil
}

type compareFlagValues struct {
	threshold percent
	hot       regexpValue
	unit      string
	raw       bool
}

func newCompareFlags(stderr io.Writer) (*flag.FlagSet, *compareFlagValues) {
	v := &compareFlagValues{threshold: 0.05, hot: regexpValue{regexp.MustCompile(bench.HotPathPattern)}}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&v.threshold, "threshold", "a hot-path benchmark that is significantly slower by more than this `percentage` fails the comparison")
	fs.Var(&v.hot, "hot", "`regexp` of the hot-path benchmark names (without the -procs suffix)")
	fs.StringVar(&v.unit, "unit", "ns/op", "the `unit` whose increase is a regression")
	fs.BoolVar(&v.raw, "raw", false, "decide on the measured values alone, without the drift correction")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: xabench compare [flags] OLD NEW [flags]

Compares two sets of results in the Go benchmark format, as benchstat does:
the median of each benchmark ± its 95%% confidence interval, and the change
if the Mann-Whitney U test finds one at α = 0.05 ("not significant"
otherwise, benchstat's "~"), with a geomean row. Flags may come before or
after OLD and NEW. OLD and NEW are files, or directories of *.txt files (as
"xabench bench -o DIR" writes them).

A shared machine's speed drifts between runs, and every benchmark moves
with it. So for ns/op the test is also run on drift-corrected values: each
run divided by the geometric mean of the reference maps (xsync.MapOf,
sync.Map, map+RWMutex, map+RBMutex: no code of this project) measured in
the same round on the same workload. A benchmark counts as changed, and a
hot-path one as regressed, only if it changed both as measured and
drift-corrected, in the same direction (-raw: as measured alone).

Exit status: 0 if no hot-path benchmark regressed; 1 if one is significantly
slower by more than the threshold; 2 for a usage error or a file that is
missing, unreadable, malformed or empty.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, v
}

func compareFlags(stderr io.Writer) *flag.FlagSet {
	fs, _ := newCompareFlags(stderr)
	return fs
}

func compareMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, v := newCompareFlags(stderr)
	pos, rc := parseArgs(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) != 2 {
		return usageError(fs, "want OLD and NEW, got %d arguments", len(pos))
	}
	oldPath, newPath := pos[0], pos[1]
	old, err := bench.ReadSamples(oldPath)
	if err != nil {
		fmt.Fprintf(stderr, "xabench compare: OLD: %v\n", err)
		return 2
	}
	new, err := bench.ReadSamples(newPath)
	if err != nil {
		fmt.Fprintf(stderr, "xabench compare: NEW: %v\n", err)
		return 2
	}
	c := bench.Compare(oldPath, old, newPath, new, bench.CompareOptions{
		Threshold: float64(v.threshold), HotPath: v.hot.re, Unit: v.unit, Raw: v.raw,
	})
	newCfg := map[string]string{}
	for _, kv := range new.Config {
		newCfg[kv.Key] = kv.Value
	}
	for _, kv := range old.Config {
		if nv, ok := newCfg[kv.Key]; ok && nv != kv.Value {
			fmt.Fprintf(stdout, "%s: %s (old), %s (new)\n", kv.Key, kv.Value, nv)
		} else {
			fmt.Fprintf(stdout, "%s: %s\n", kv.Key, kv.Value)
		}
	}
	fmt.Fprintln(stdout)
	c.WriteText(stdout)
	if len(c.Regressions) > 0 {
		return 1
	}
	return 0
}

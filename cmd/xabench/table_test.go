// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/bench"
)

// scaled returns base with every value multiplied by f.
func scaled(base []float64, f float64) []float64 {
	out := make([]float64, len(base))
	for i, v := range base {
		out[i] = v * f
	}
	return out
}

// varied returns base with the i-th value multiplied by fs[i].
func varied(base, fs []float64) []float64 {
	out := make([]float64, len(base))
	for i, v := range base {
		out[i] = v * fs[i]
	}
	return out
}

// The machine drifts between runs; ratios of the same run cancel it.
var baseRuns = []float64{20, 24, 19, 22, 21, 25, 20, 23}

// straddle are per-run factors whose median is 1 and whose interval
// reaches well past it on both sides.
var straddle = []float64{0.9, 1.1, 0.95, 1.05, 1.0, 1.08, 0.93, 1.02}

func mapResults(impls map[string][]float64) *bench.Results {
	r := &bench.Results{Suite: "headline", Machine: "test", Count: len(baseRuns), Benchtime: "100ms"}
	for _, impl := range []string{"xarray", "xsync.MapOf", "sync.Map"} {
		c := &bench.CellResult{Name: "Lookup/keys=dense/n=1M/access=rand/read=100/impl=" + impl, Procs: 2,
			Impl: impl, Label: impl, Layout: bench.Dense, N: 1 << 20, Access: bench.Uniform, ReadPct: 100}
		for _, ns := range impls[impl] {
			c.Runs = append(c.Runs, bench.RunResult{NsPerOp: ns, MopsPerSec: 1e3 / ns})
		}
		r.Cells = append(r.Cells, c)
	}
	return r
}

// A ratio whose 95% interval reaches 1 reads "not significant", in the
// "÷ xarray" column and in the target; one whose interval excludes 1
// gives the verdict.
func TestMapTableSignificance(t *testing.T) {
	var b bytes.Buffer
	writeResultsTable(&b, mapResults(map[string][]float64{
		"xarray":      baseRuns,
		"xsync.MapOf": varied(baseRuns, straddle), // no difference
		"sync.Map":    scaled(baseRuns, 2),        // twice as slow in every run
	}))
	out := b.String()
	for _, c := range []struct{ prefix, want, notWant string }{
		{"xsync.MapOf ", "1.01 ±11%", ""},
		{"xsync.MapOf ", bench.NotSignificant, ""},
		{"sync.Map ", "2.00 ±0%", bench.NotSignificant},
		{"xarray Load ahead of xsync.MapOf", bench.NotSignificant, "ok"},
		{"xarray Load ahead of sync.Map", "2.00× ±0%", bench.NotSignificant},
		{"xarray Load ahead of sync.Map", "  ok", ""},
	} {
		line := lineStarting(out, c.prefix)
		if !strings.Contains(line, c.want) || c.notWant != "" && strings.Contains(line, c.notWant) {
			t.Errorf("line %q: %q; want %q, not %q\n%s", c.prefix, line, c.want, c.notWant, out)
		}
	}

	// Fewer than 6 runs give no interval: nothing is significant.
	b.Reset()
	writeResultsTable(&b, mapResults(map[string][]float64{
		"xarray": baseRuns[:3], "xsync.MapOf": scaled(baseRuns[:3], 2), "sync.Map": scaled(baseRuns[:3], 2),
	}))
	if line := lineWith(b.String(), "xarray Load ahead of sync.Map"); !strings.Contains(line, bench.NotSignificant) {
		t.Errorf("3 runs: %q\n%s", line, b.String())
	}

	// A significant miss.
	b.Reset()
	writeResultsTable(&b, mapResults(map[string][]float64{
		"xarray": baseRuns, "xsync.MapOf": scaled(baseRuns, 0.5), "sync.Map": scaled(baseRuns, 0.8),
	}))
	if line := lineWith(b.String(), "xarray Load ahead of xsync.MapOf"); !strings.HasSuffix(strings.TrimSpace(line), bench.TargetMissed) {
		t.Errorf("a significant miss: %q\n%s", line, b.String())
	}
}

// lineStarting returns the first line of s that starts with prefix, after
// any spaces, or "".
func lineStarting(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), prefix) {
			return l
		}
	}
	return ""
}

func rcuResults() *bench.RCUResults {
	n := len(baseRuns)
	lat := func(p50, p99 time.Duration, fs []float64) []bench.Latency {
		l := make([]bench.Latency, n)
		for i := range l {
			l[i] = bench.Latency{N: 1000, P50: time.Duration(float64(p50) * fs[i]), P99: time.Duration(float64(p99) * fs[i]),
				Max: 2 * p99}
		}
		return l
	}
	ones := scaled(straddle, 0)
	for i := range ones {
		ones[i] = 1 + float64(i)/100
	}
	r := &bench.RCUResults{Machine: "test", Benchtime: 200 * time.Millisecond, Count: n, Runs: n, Goroutines: 2,
		ReadSides: []bench.ReadSideResult{
			{Name: "rcu", Serial: baseRuns, Parallel: baseRuns},
			// rcu ÷ RWMutex is 0.25 in every run: ≤ 0.35, ok.
			{Name: "RWMutex", Serial: scaled(baseRuns, 4), Parallel: scaled(baseRuns, 4)},
			// rcu ÷ RBMutex straddles 0.25: not significant.
			{Name: "RBMutex", Serial: scaled(baseRuns, 4), Parallel: varied(scaled(baseRuns, 4), straddle)},
			// rcu ÷ atomic.Add straddles 1: not significant.
			{Name: "atomic.Add", Serial: baseRuns, Parallel: varied(baseRuns, straddle)},
		},
		Synchronize: []bench.SyncResult{
			{Readers: 0, Latency: bench.Latency{N: 1000, P50: 10 * time.Microsecond, P99: 20 * time.Microsecond}, PerRun: lat(10*time.Microsecond, 20*time.Microsecond, ones)},
			{Readers: 1, Latency: bench.Latency{N: 1000, P50: 20 * time.Microsecond, P99: 40 * time.Microsecond}, PerRun: lat(20*time.Microsecond, 40*time.Microsecond, ones)},
			// p50 straddles 50µs; p99 is 2ms, over 1ms in every run.
			{Readers: 2, Latency: bench.Latency{N: 1000, P50: 50 * time.Microsecond, P99: 2 * time.Millisecond}, PerRun: lat(50*time.Microsecond, 2*time.Millisecond, straddle)},
		},
		// 2M callbacks a second: ≥ 1M, ok.
		CallsPerSec: scaled(ones, 2e6),
		Readers: []bench.ReaderResult{
			// 90% of the throughput alone: ≥ 80%, ok.
			{Readers: 1, Alone: scaled(baseRuns, 1e6), WithSync: scaled(baseRuns, 0.9e6), GracePeriods: make([]uint64, n)},
			// 80% give or take: not significant.
			{Readers: 2, Alone: scaled(baseRuns, 1e6), WithSync: varied(scaled(baseRuns, 0.8e6), straddle), GracePeriods: make([]uint64, n)},
		},
	}
	return r
}

// A target whose 95% interval reaches its goal reads "not significant";
// one whose interval lies on one side reads ok or MISSED. A ratio whose
// interval reaches 1 reads "not significant" too.
func TestRCUTableSignificance(t *testing.T) {
	var b bytes.Buffer
	writeRCUTable(&b, rcuResults())
	out := b.String()
	for _, c := range []struct{ prefix, verdict string }{
		{"parallel pair, rcu ÷ RWMutex", bench.TargetMet},
		{"parallel pair, rcu ÷ RBMutex", bench.NotSignificant},
		{"1 reader beside Synchronize ÷ alone", bench.TargetMet},
		{"2 readers beside Synchronize ÷ alone", bench.NotSignificant},
		{"Synchronize p50, 2 busy readers", bench.NotSignificant},
		{"Synchronize p99, 2 busy readers", bench.TargetMissed},
		{"Call throughput", bench.TargetMet},
	} {
		line := lineStarting(out, c.prefix)
		if !strings.HasSuffix(strings.TrimSpace(line), " "+c.verdict) {
			t.Errorf("target %q: %q, want the verdict %q\n%s", c.prefix, line, c.verdict, out)
		}
	}
	for _, c := range []struct {
		prefix string
		ns     bool
	}{
		{"atomic.Int64.Add", true},
		{"sync.RWMutex", false},
		{"xsync.RBMutex", false}, // 0.5 in the serial column, straddles 0.5 in the parallel one: both differ from 1
		{"2 readers beside a Synchronize loop", false},
	} {
		line := lineStarting(out, c.prefix)
		if line == "" || strings.Contains(line, bench.NotSignificant) != c.ns {
			t.Errorf("row %q: %q; want %q: %v\n%s", c.prefix, line, bench.NotSignificant, c.ns, out)
		}
	}
	if strings.Contains(out, "interrupted") {
		t.Errorf("a whole suite reads as interrupted:\n%s", out)
	}
}

// Every competitor gets a colour of its own in the charts.
func TestPaletteCoversCompetitors(t *testing.T) {
	if n := len(bench.Competitors()); len(palette) < n {
		t.Fatalf("%d colours for %d competitors: charts would repeat colours", len(palette), n)
	}
}

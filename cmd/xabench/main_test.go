// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/xabench/xabench/bench"
	"github.com/xabench/xabench/internal/watchdog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func runArgs(args ...string) (rc int, stdout, stderr string) {
	var o, e bytes.Buffer
	rc = run(args, &o, &e)
	return rc, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"-nosuchflag"},
		{"bench", "-nosuchflag"},
		{"bench", "--suite", "nosuchsuite"},
		{"bench", "extra"},
		{"bench", "-benchtime", "0s"},
		{"bench", "--benchtime", "-1s"},
		{"bench", "-count", "0"},
		{"bench", "-count", "-3"},
		{"bench", "-cpu", "0"},
		{"bench", "-cpu", "1,x"},
		{"bench", "-filter", "("},
		{"bench", "-filter", "nosuchbenchmark"},
		{"bench", "--suite", "rcu", "-o", "x"},
		{"bench", "--suite", "iterate", "-o", "x"},
		{"bench", "--suite", "iterate", "-filter", "xarray"},
		{"bench", "--suite", "iterate", "-cpu", "1,2"},
		{"compare"},
		{"compare", "a"},
		{"compare", "-threshold", "x", "a", "b"},
		{"compare", "a", "b", "c"},
		{"compare", "-hot", "(", "a", "b"},
		{"plot", "extra"},
		{"plot", "-i", "x", "extra"},
		{"help", "nosuchcommand"},
	} {
		rc, stdout, stderr := runArgs(args...)
		if rc != 2 {
			t.Errorf("xabench %v: exit %d; want 2", args, rc)
		}
		if !strings.Contains(stderr, "Usage") && !strings.Contains(stderr, "matches none") {
			t.Errorf("xabench %v: stderr lacks usage:\n%s", args, stderr)
		}
		if stdout != "" {
			t.Errorf("xabench %v: wrote to stdout:\n%s", args, stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		rc, stdout, _ := runArgs(args...)
		if rc != 0 || !strings.Contains(stdout, "Commands:") || !strings.Contains(stdout, "bench") {
			t.Errorf("xabench %v: exit %d, stdout:\n%s", args, rc, stdout)
		}
	}
	rc, stdout, _ := runArgs("help", "bench")
	if rc != 0 || !strings.Contains(stdout, "-benchtime") || !strings.Contains(stdout, "rcu") {
		t.Errorf("xabench help bench: exit %d, stdout:\n%s", rc, stdout)
	}
	if rc, _, _ := runArgs("bench", "-h"); rc != 0 {
		t.Errorf("xabench bench -h: exit %d; want 0", rc)
	}
}

func TestBenchRCU(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	rc, stdout, stderr := runArgs("bench", "--suite", "rcu", "--benchtime", "2ms", "-count", "1")
	if rc != 0 {
		t.Fatalf("xabench bench: exit %d\n%s", rc, stderr)
	}
	for _, want := range []string{
		"machine:", "rcu ReadLock+ReadUnlock", "sync.RWMutex", "xsync.RBMutex", "atomic.Int64.Add",
		"Synchronize latency", "2 busy readers", "callbacks", "beside a Synchronize loop", "target",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "run 1 of 1") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	_, _, stderr = runArgs("bench", "--suite", "rcu", "-q", "-benchtime", "1ms", "-count", "1")
	if stderr != "" {
		t.Errorf("bench -q wrote to stderr: %q", stderr)
	}
}

// The iterate suite's table has a section for each walk and a row for
// each competitor, and the targets; on small key sets it runs in moments.
func TestBenchIterate(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	defer func(n int) { iterKeys = n }(iterKeys)
	iterKeys = 1 << 12
	rc, stdout, stderr := runArgs("bench", "--suite", "iterate", "--benchtime", "1ms", "-count", "1")
	if rc != 0 {
		t.Fatalf("xabench bench: exit %d\n%s", rc, stderr)
	}
	for _, want := range []string{
		"xabench iterate suite", "machine:", "sparse keys: mean gap",
		"dense 4K keys, full walk", "dense 4K keys, range walk of 1024", "dense 4K keys, marked walk",
		"sparse 4K keys, full walk", "sparse 4K keys, range walk",
		"xarray State: Find+NextEntry, one section", "xarray State: FindMarked+NextMarked, one section",
		"xarray All", "xarray Range(first, last)", "xarray Marked(Mark0)",
		"btree.Map+RWMutex Scan", "btree.Map copy-on-write Scan", "btree.Map+RWMutex Ascend", "btree.Map copy-on-write Ascend",
		"btree.Map+RWMutex Scan, mark in the value", "btree.Map+RWMutex of the marked keys, Scan",
		"xsync.MapOf Range (unordered)", "xsync.Map (v4) Range (unordered)", "sync.Map Range (unordered)",
		"ns/entry", "÷ State", "÷ B-tree", "target",
		"dense 4K full walk, xarray State ÷ B-tree", "dense 4K full walk, xarray All ÷ B-tree",
		"sparse 4K range walk, xarray Range ÷ B-tree", "dense 4K marked walk, Marked ÷ State", "≤ 0.50", "≤ 1.50",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "sparse 4K keys, marked walk") || strings.Contains(stdout, "sparse 4K full walk, xarray State ÷ B-tree") {
		t.Errorf("the marked walk or the B-tree target on sparse full walks:\n%s", stdout)
	}
	if !strings.Contains(stderr, "run 1 of 1") || !strings.Contains(stderr, "building the structures of keys=sparse/n=4K") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	_, _, stderr = runArgs("bench", "--suite", "iterate", "-q", "-benchtime", "1ms", "-count", "1")
	if stderr != "" {
		t.Errorf("bench -q wrote to stderr: %q", stderr)
	}
}

// The iterate table's ratios pair the runs of the same round: a row that
// is twice the State walk in every run, however the runs scatter, reads
// 2.00 with no spread, and writing the table leaves the runs in their
// order.
func TestIterTableRatiosPairRuns(t *testing.T) {
	state := []float64{3, 1, 2, 6, 5, 4}
	times := func(k float64) []float64 {
		v := make([]float64, len(state))
		for i, x := range state {
			v[i] = k * x
		}
		return v
	}
	r := &bench.IterResults{Count: 6, Runs: 6, Keys: 1 << 20, Groups: []bench.IterGroup{{
		Walk: bench.WalkFull, Keys: bench.KeySet{Layout: bench.Dense, N: 1 << 20}, Entries: 1 << 20,
		Rows: []bench.IterRow{
			{Name: bench.IterXArrayState, Label: "state", NsPerEntry: times(1)},
			{Name: bench.IterXArrayIter, Label: "iter", NsPerEntry: times(2)},
			{Name: bench.IterBTreeRW, Label: "rw", NsPerEntry: times(4)},
			{Name: bench.IterBTreeCOW, Label: "cow", NsPerEntry: times(8)},
		},
	}}}
	var out bytes.Buffer
	writeIterTable(&out, r)
	// The table's lines with their runs of spaces made one.
	var lines []string
	for line := range strings.Lines(out.String()) {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	for _, want := range []string{
		"iter 7.00 ±71% 2.00 ±0% 0.50 ±0%", // ns/entry, ÷ State, ÷ B-tree (the faster: rw)
		"cow 28.0 ±71% 8.00 ±0%",
		"dense 1M full walk, xarray State ÷ B-tree 0.25 ±0% ≤ 0.50 ok",
		"dense 1M full walk, xarray All ÷ B-tree 0.50 ±0% ≤ 0.50 not significant",
		"dense 1M full walk, All ÷ State 2.00 ±0% ≤ 1.50 MISSED",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("table lacks the line %q:\n%s", want, out.String())
		}
	}
	for i, k := range []float64{1, 2, 4, 8} {
		if got := r.Groups[0].Rows[i].NsPerEntry; !slices.Equal(got, times(k)) {
			t.Errorf("writing the table reordered row %d's runs: %v", i, got)
		}
	}
}

func TestBenchSmallSuite(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	dir := t.TempDir()
	rc, stdout, stderr := runArgs("bench", "--suite", "sizes", "--filter", `keys=dense/n=1K/.*impl=(xarray|xsync.MapOf|sync.Map)-\d+$`,
		"--benchtime", "2ms", "--count", "2", "--cpu", "1,2", "-o", dir)
	if rc != 0 {
		t.Fatalf("xabench bench: exit %d\n%s", rc, stderr)
	}
	for _, want := range []string{
		"xabench sizes suite", "machine:", "dense 1K keys, uniform random, reads only, 1 goroutine", "2 goroutines",
		"xarray Load", "xsync.MapOf", "sync.Map", "÷ xarray", "p99", "B/entry", "allocs/op",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "xarray State batch") {
		t.Errorf("-filter let other competitors through:\n%s", stdout)
	}
	if !strings.Contains(stderr, "measurements done") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	for _, f := range []string{"sizes.txt", "sizes.json", "machine.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// The run compared with itself: nothing changed, exit 0.
	txt := filepath.Join(dir, "sizes.txt")
	rc, stdout, stderr = runArgs("compare", txt, dir)
	if rc != 0 || !strings.Contains(stdout, "geomean") || !strings.Contains(stdout, "no hot-path regression") {
		t.Errorf("compare with itself: exit %d\n%s%s", rc, stdout, stderr)
	}

	// Charts from its JSON.
	charts := t.TempDir()
	rc, stdout, stderr = runArgs("plot", "-i", dir, "-o", charts)
	if rc != 0 {
		t.Fatalf("xabench plot: exit %d\n%s", rc, stderr)
	}
	for _, f := range []string{
		"sizes-throughput-dense-1K-rand-read100", "sizes-latency-dense-1K-rand-read100-2", "sizes-bytes-per-entry",
	} {
		svg, err := os.ReadFile(filepath.Join(charts, f+".svg"))
		if err != nil || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s.svg: %v", f, err)
		}
		png, err := os.ReadFile(filepath.Join(charts, f+".png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s.png: %v", f, err)
		}
		if !strings.Contains(stdout, f+".svg") {
			t.Errorf("plot did not list %s.svg:\n%s", f, stdout)
		}
	}
}

// lineWith returns the first line of s that contains sub, or "".
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// writeRuns writes a Go benchmark format file with one line per value.
func writeRuns(t *testing.T, dir, name string, runs map[string][]float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\n")
	for _, bench := range []string{"impl=xarray", "impl=sync.Map"} {
		for _, v := range runs[bench] {
			fmt.Fprintf(&b, "BenchmarkLookup/keys=dense/n=1M/access=rand/read=100/%s-2 1000000 %g ns/op\n", bench, v)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareExitStatus(t *testing.T) {
	dir := t.TempDir()
	base := []float64{20.1, 19.9, 20.0, 20.3, 19.8, 20.2}
	slow := []float64{22.3, 22.0, 22.5, 22.1, 21.9, 22.4}      // +11%
	fast := []float64{18.09, 17.91, 18.0, 18.27, 17.82, 18.18} // base × 0.9
	old := writeRuns(t, dir, "old.txt", map[string][]float64{"impl=xarray": base, "impl=sync.Map": base})
	const hotRow = "impl=xarray-2 *"
	for _, c := range []struct {
		name string
		runs map[string][]float64
		args []string
		rc   int
		// hot: what the hot-path row says; verdict: what the summary
		// line says.
		hot, verdict string
	}{
		{"same", map[string][]float64{"impl=xarray": base, "impl=sync.Map": base}, nil, 0,
			"not significant", "0 of 2 benchmarks changed significantly"},
		{"hot-slower", map[string][]float64{"impl=xarray": slow, "impl=sync.Map": base}, nil, 1,
			"+10.72%", "1 of 2 benchmarks changed significantly (p < 0.05, measured values), 1 of them slower"},
		{"hot-slower-under-threshold", map[string][]float64{"impl=xarray": slow, "impl=sync.Map": base}, []string{"-threshold", "15%"}, 0,
			"+10.72%", "1 of them slower"},
		{"cold-slower", map[string][]float64{"impl=xarray": base, "impl=sync.Map": slow}, nil, 0,
			"not significant", "1 of 2 benchmarks changed significantly (p < 0.05, measured values), 1 of them slower"},
		// The hot path got faster: a real, significant change that must
		// not count as a regression.
		{"hot-faster", map[string][]float64{"impl=xarray": fast, "impl=sync.Map": base}, nil, 0,
			"-10.00%", "1 of 2 benchmarks changed significantly (p < 0.05, measured values), 0 of them slower"},
	} {
		new := writeRuns(t, dir, c.name+".txt", c.runs)
		rc, stdout, stderr := runArgs(append(append([]string{"compare"}, c.args...), old, new)...)
		if rc != c.rc {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, rc, c.rc, stdout, stderr)
		}
		if rc == 1 && !strings.Contains(stdout, "REGRESSION") {
			t.Errorf("%s: the regression is not marked:\n%s", c.name, stdout)
		}
		if rc == 0 && strings.Contains(stdout, "REGRESSION") {
			t.Errorf("%s: a regression is marked:\n%s", c.name, stdout)
		}
		if line := lineWith(stdout, hotRow); !strings.Contains(line, c.hot) {
			t.Errorf("%s: the hot-path row does not say %q: %q\n%s", c.name, c.hot, line, stdout)
		}
		if !strings.Contains(stdout, c.verdict) {
			t.Errorf("%s: the output does not say %q:\n%s", c.name, c.verdict, stdout)
		}
	}
	corrupt := filepath.Join(dir, "corrupt.txt")
	os.WriteFile(corrupt, []byte("BenchmarkX-2 100 12.5\n"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	for _, bad := range []string{filepath.Join(dir, "missing.txt"), corrupt, empty} {
		for _, args := range [][]string{{"compare", old, bad}, {"compare", bad, old}} {
			rc, stdout, stderr := runArgs(args...)
			if rc != 2 || stdout != "" || !strings.Contains(stderr, filepath.Base(bad)) {
				t.Errorf("xabench %v: exit %d, stdout %q, stderr %q", args, rc, stdout, stderr)
			}
		}
	}
}

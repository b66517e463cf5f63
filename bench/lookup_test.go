// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"bytes"
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/xarray"
	"golang.org/x/perf/benchfmt"
)

func TestKeys(t *testing.T) {
	d := Keys(KeySet{Dense, 1000})
	if len(d) != 1000 || d[0] != 0 || d[999] != 999 {
		t.Fatalf("dense keys: %d keys, %d..%d", len(d), d[0], d[len(d)-1])
	}
	s := Keys(KeySet{Sparse, 4096})
	if !slices.IsSorted(s) || len(slices.Compact(slices.Clone(s))) != len(s) {
		t.Fatal("sparse keys are not sorted and distinct")
	}
	if mean := float64(s[len(s)-1]-s[0]) / float64(len(s)-1); mean < 56 || mean > 72 {
		t.Errorf("sparse keys: mean gap %.1f, want about %d", mean, MaxSparseGap)
	}
	if !slices.Equal(s, Keys(KeySet{Sparse, 4096})) {
		t.Error("sparse keys differ from call to call")
	}
	if TreeNodes(d) != 16+1 {
		t.Errorf("TreeNodes(0..999) = %d, want 17", TreeNodes(d))
	}
	for _, n := range []int{1, 100, 5000} {
		for _, gap := range []int{1, 4, 64} {
			if got, want := sparseTreeNodes(n, gap), TreeNodes(sparseKeys(n, gap)); got != want {
				t.Errorf("sparseTreeNodes(%d, %d) = %d, want %d", n, gap, got, want)
			}
		}
	}
}

// The largest sparse key set fits in half the node cache: its gap shrinks
// to make it so.
func TestSparseGapFits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 16M keys")
	}
	n := Sizes[len(Sizes)-1]
	gap := SparseGap(n)
	nodes := sparseTreeNodes(n, gap)
	st := xarray.NodeCacheStats()
	if int64(nodes) > min(st.Capacity, nodeBudget)/2 || gap < 1 || gap > MaxSparseGap {
		t.Fatalf("sparse %d keys: gap %d needs %d nodes of %d", n, gap, nodes, st.Capacity)
	}
	if SparseGap(1<<20) != MaxSparseGap {
		t.Errorf("SparseGap(1M) = %d, want %d", SparseGap(1<<20), MaxSparseGap)
	}
	t.Logf("sparse 16M: mean gap %d, %d nodes (%d MiB)", gap, nodes, int64(nodes)*st.Bytes>>20)
}

func TestSequence(t *testing.T) {
	keys := Keys(KeySet{Sparse, 1 << 12})
	in := map[uint64]bool{}
	for _, k := range keys {
		in[k] = true
	}
	for _, a := range []Access{Seq, Uniform, Zipf} {
		seq := Sequence(keys, a)
		if !slices.Equal(seq, Sequence(keys, a)) {
			t.Errorf("%s: the sequence differs from call to call", a)
		}
		count := map[uint64]int{}
		for _, k := range seq {
			if !in[k] {
				t.Fatalf("%s: key %d is not in the key set", a, k)
			}
			count[k]++
		}
		top := 0
		for _, c := range count {
			top = max(top, c)
		}
		share := float64(top) / float64(len(seq))
		switch a {
		case Uniform:
			if share > 0.001 || len(count) < len(keys)*9/10 {
				t.Errorf("uniform: hottest key %.4f of accesses, %d distinct keys", share, len(count))
			}
		case Zipf:
			if share < 0.05 {
				t.Errorf("zipf: hottest key only %.4f of accesses", share)
			}
		}
	}
}

func TestWriteAt(t *testing.T) {
	for _, r := range []int{100, 99, 90, 50} {
		w := 0
		for p := range 10000 {
			if writeAt(p, r) {
				w++
			}
		}
		if want := 100 * (100 - r); w != want {
			t.Errorf("read=%d: %d writes in 10000 operations, want %d", r, w, want)
		}
	}
}

func sum(keys []uint64) uint64 {
	var s uint64
	for _, k := range keys {
		s += k
	}
	return s
}

// Every competitor gives every key's value, before and after stores, and
// survives concurrent loads and stores.
func TestCompetitors(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, layout := range []Layout{Dense, Sparse} {
		keys := Keys(KeySet{layout, 3000})
		seq := Sequence(keys, Uniform)
		for _, c := range Competitors() {
			w := Workload{Keys: KeySet{layout, len(keys)}, ReadPct: 50}
			if c.DenseOnly && layout != Dense {
				continue
			}
			runtime.GC()
			m, bpe, err := build(c, NewFixture(keys))
			if err != nil {
				t.Fatalf("%s %s: %v", layout, c.Name, err)
			}
			if bpe <= 0 {
				t.Errorf("%s %s: %.1f bytes per entry", layout, c.Name, bpe)
			}
			if got, want := m.Load(seq[:1000]), sum(seq[:1000]); got != want {
				t.Errorf("%s %s: Load sums to %d, want %d", layout, c.Name, got, want)
			}
			if got := m.Load([]uint64{keys[len(keys)-1] + 1}); got != 0 {
				t.Errorf("%s %s: an absent key gives %d", layout, c.Name, got)
			}
			if c.Fits(w) {
				for _, k := range keys[:100] {
					m.Store(k)
				}
				r, cdf, ok := Measure(context.Background(), m, seq, 50, 2, 5*time.Millisecond)
				if !ok || r.Ops == 0 || r.NsPerOp <= 0 || len(cdf) != len(cdfQuantiles) || r.P99Ns < r.P50Ns {
					t.Errorf("%s %s: mixed measurement %+v, %d quantiles", layout, c.Name, r, len(cdf))
				}
			}
			r, _, ok := Measure(context.Background(), m, seq, 100, 2, 5*time.Millisecond)
			if !ok || r.Ops == 0 || math.Abs(r.MopsPerSec*r.NsPerOp-1e3) > 1e-6 {
				t.Errorf("%s %s: read measurement %+v", layout, c.Name, r)
			}
			if got, want := m.Load(keys), sum(keys); got != want {
				t.Errorf("%s %s: after the measurements Load sums to %d, want %d", layout, c.Name, got, want)
			}
			m.Close()
		}
	}
	if st := xarray.NodeCacheStats(); st.InUse != 0 {
		t.Errorf("%d nodes still in use after every competitor closed", st.InUse)
	}
}

// Every competitor's Load gives the exact sum of every batch while other
// goroutines store (the values do not change, so any other sum is a torn
// or lost read), and after the stores every key still has its value; on
// dense and sparse keys, and under -race a check of the competitors'
// synchronisation.
func TestCompetitorsConcurrent(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	const loaders, storers, minBatches, stores = 2, 2, 100, 1500
	for _, layout := range []Layout{Dense, Sparse} {
		keys := Keys(KeySet{layout, 3000})
		seq := Sequence(keys, Uniform)
		for _, c := range Competitors() {
			if c.DenseOnly && layout != Dense {
				continue
			}
			m, err := c.Build(NewFixture(keys))
			if err != nil {
				t.Fatalf("%s %s: %v", layout, c.Name, err)
			}
			var wg, storing sync.WaitGroup
			var done atomic.Bool
			var bad atomic.Int64
			ns := storers
			if c.ReadOnly {
				ns = 0
			}
			storing.Add(ns)
			for g := range ns {
				wg.Go(func() {
					defer storing.Done()
					for i := range stores {
						m.Store(seq[(g*stores+i)%len(seq)])
					}
				})
			}
			for g := range loaders {
				wg.Go(func() {
					pos := g * len(seq) / loaders
					for i := 0; i < minBatches || !done.Load(); i++ {
						batch := seq[pos : pos+Batch]
						if m.Load(batch) != sum(batch) {
							bad.Add(1)
						}
						if pos += Batch; pos+Batch > len(seq) {
							pos = 0
						}
					}
				})
			}
			storing.Wait()
			done.Store(true)
			wg.Wait()
			if n := bad.Load(); n > 0 {
				t.Errorf("%s %s: %d batches summed wrong during concurrent stores", layout, c.Name, n)
			}
			if got, want := m.Load(keys), sum(keys); got != want {
				t.Errorf("%s %s: after concurrent stores Load sums to %d, want %d", layout, c.Name, got, want)
			}
			m.Close()
		}
	}
	if st := xarray.NodeCacheStats(); st.InUse != 0 {
		t.Errorf("%d nodes still in use after every competitor closed", st.InUse)
	}
}

// The competitors added in round two are in every map suite, on every
// lookup workload they fit, and are not on the hot path; xsync v4's Map
// is a reference as v3's MapOf is, the B-trees are not. (The write
// workloads' competitors are TestWriteCells's.)
func TestAddedCompetitors(t *testing.T) {
	refs := ReferenceImpls()
	for _, c := range []struct {
		name string
		ref  bool
	}{{"xsyncv4", true}, {"btree+RWMutex", false}, {"btree-cow", false}} {
		comp := CompetitorByName(c.name)
		if comp == nil {
			t.Fatalf("no competitor %s", c.name)
		}
		if comp.HotPath || comp.DenseOnly || comp.ReadOnly || comp.Reference != c.ref || slices.Contains(refs, c.name) != c.ref {
			t.Errorf("%s: %+v", c.name, *comp)
		}
		for _, s := range Suites() {
			workloads := map[Workload]bool{}
			with := map[Workload]bool{}
			for _, cell := range s.Cells(2) {
				if cell.Op != "" {
					continue
				}
				workloads[cell.Workload] = true
				if cell.Competitor.Name == c.name {
					with[cell.Workload] = true
					if IsHotPath(cell.FullName()) || IsHotPath("Benchmark"+cell.FullName()) {
						t.Errorf("%s is on the hot path", cell.FullName())
					}
				}
			}
			if len(with) != len(workloads) {
				t.Errorf("suite %s: %s in %d of %d workloads", s.Name, c.name, len(with), len(workloads))
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range Competitors() {
		if seen["name "+c.Name] || seen["label "+c.Label] {
			t.Errorf("competitor %s (%q): name or label twice", c.Name, c.Label)
		}
		seen["name "+c.Name], seen["label "+c.Label] = true, true
	}
}

func TestSuites(t *testing.T) {
	for _, s := range Suites() {
		cells := s.Cells(2)
		if len(cells) == 0 {
			t.Errorf("suite %s has no cells", s.Name)
		}
		seen := map[string]bool{}
		for _, c := range cells {
			if seen[c.FullName()] {
				t.Errorf("suite %s: %s twice", s.Name, c.FullName())
			}
			seen[c.FullName()] = true
			if !c.Competitor.Fits(c.Workload) {
				t.Errorf("suite %s: %s cannot run %v", s.Name, c.Competitor.Name, c.Workload)
			}
		}
	}
	h := SuiteByName("headline").Cells(2)
	want := "Lookup/keys=dense/n=1M/access=rand/read=100/impl=xarray-1"
	if h[0].FullName() != want {
		t.Errorf("headline's first cell is %s, want %s", h[0].FullName(), want)
	}
	if got := len(WithProcs(h, []int{1, 2, 3})); got <= len(h) {
		t.Errorf("WithProcs(1,2,3) gave %d cells of %d", got, len(h))
	}
	if !IsHotPath(want) || !IsHotPath("Benchmark"+want) || IsHotPath(strings.Replace(want, "xarray", "xarray-batch", 1)) ||
		IsHotPath(strings.Replace(want, "xarray", "xsync.MapOf", 1)) {
		t.Error("IsHotPath does not pick exactly the xarray Load rows")
	}
}

// smallCells returns the cells of a quick suite on 4K dense keys.
func smallCells(impls ...string) []Cell {
	var cells []Cell
	for _, impl := range impls {
		c := CompetitorByName(impl)
		for _, p := range []int{1, 2} {
			cells = append(cells, Cell{Workload{Keys: KeySet{Dense, 1 << 12}, Access: Uniform, ReadPct: 100, Procs: p}, c})
		}
	}
	return cells
}

func TestRunAndFiles(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	cells := smallCells("xarray", "sync.Map")
	type report struct {
		done, total int
		cell        string
	}
	var updates int
	var progress []report
	res := Run(context.Background(), "test", cells, Options{
		Benchtime: 2 * time.Millisecond,
		Count:     2,
		Progress:  func(done, total int, cell string) { progress = append(progress, report{done, total, cell}) },
		Update:    func(*Results) { updates++ },
	})
	if len(res.Cells) != len(cells) || res.Interrupted || updates != 2*len(cells) {
		t.Fatalf("Run: %d cells of %d, interrupted %v, %d updates", len(res.Cells), len(cells), res.Interrupted, updates)
	}
	// Progress comes before each of the 2*len(cells) measurements, with
	// the count done so far, and once more at the end.
	total := 2 * len(cells)
	if len(progress) != total+1 {
		t.Fatalf("Run reported progress %d times, want %d: %v", len(progress), total+1, progress)
	}
	for i, p := range progress {
		if p.done != i || p.total != total || (p.cell == "") != (i == total) {
			t.Errorf("progress report %d: %+v, want %d of %d done", i, p, i, total)
		}
	}
	for _, c := range res.Cells {
		if len(c.Runs) != 2 || c.BytesPerEntry <= 0 || len(c.LatencyCDF) != len(cdfQuantiles) {
			t.Errorf("%s: %d runs, %.1f B/entry, %d CDF points", c.FullName(), len(c.Runs), c.BytesPerEntry, len(c.LatencyCDF))
		}
		if c.HotPath != (c.Impl == "xarray") {
			t.Errorf("%s: HotPath %v", c.FullName(), c.HotPath)
		}
	}

	dir := t.TempDir()
	if err := res.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// The Go benchmark format file round-trips through benchfmt.
	f, err := os.Open(filepath.Join(dir, "test.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := benchfmt.NewReader(f, "test.txt")
	var got []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatal(rec)
		case *benchfmt.Result:
			got = append(got, rec.Clone())
		}
	}
	if len(got) != 2*len(cells) {
		t.Fatalf("benchfmt read %d results, want %d", len(got), 2*len(cells))
	}
	for _, g := range got {
		for _, k := range []string{"goos", "goarch", "cpu", "go", "suite"} {
			if g.GetConfig(k) == "" {
				t.Errorf("%s: no %q configuration", g.Name, k)
			}
		}
		c := res.Cell(string(g.Name.Full()))
		if c == nil {
			t.Fatalf("benchfmt read %s, which the results lack", g.Name)
		}
		ns, _ := g.Value("sec/op")
		if !slices.ContainsFunc(c.Runs, func(r RunResult) bool { return math.Abs(r.NsPerOp*1e-9-ns) <= 1e-4*ns }) {
			t.Errorf("%s: %g sec/op matches no run of %+v", g.Name, ns, c.Runs)
		}
		if v, ok := g.Value("B/entry"); !ok || math.Abs(v-c.BytesPerEntry) > 1e-3*c.BytesPerEntry {
			t.Errorf("%s: B/entry %v, want %v", g.Name, v, c.BytesPerEntry)
		}
		for _, u := range []string{"Mops/s", "allocs/op"} {
			if _, ok := g.Value(u); !ok {
				t.Errorf("%s: no %s", g.Name, u)
			}
		}
	}
	units := r.Units()
	if units.GetBetter("Mops/s") != 1 {
		t.Error("Mops/s is not marked better=higher")
	}

	// The JSON round-trips too.
	back, err := ReadJSON(filepath.Join(dir, "test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cells) != len(res.Cells) || back.Cells[0].Runs[0] != res.Cells[0].Runs[0] ||
		!bytes.Equal(back.WriteBenchfmt(), res.WriteBenchfmt()) {
		t.Error("the JSON file does not round-trip")
	}
	md, err := os.ReadFile(filepath.Join(dir, "machine.md"))
	if err != nil || !strings.Contains(string(md), "goarch") {
		t.Errorf("machine.md: %v\n%s", err, md)
	}
}

// An interrupted run keeps what finished.
func TestRunInterrupted(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := Run(ctx, "test", smallCells("xarray", "xsync.MapOf"), Options{
		Benchtime: time.Millisecond,
		Count:     3,
		Update: func(r *Results) {
			if len(r.Cells) == 2 {
				cancel()
			}
		},
	})
	if !res.Interrupted || len(res.Cells) != 2 {
		t.Fatalf("interrupted run: Interrupted %v, %d cells", res.Interrupted, len(res.Cells))
	}
	for _, c := range res.Cells {
		if len(c.Runs) != 1 {
			t.Errorf("%s: %d runs", c.FullName(), len(c.Runs))
		}
	}
	if st := xarray.NodeCacheStats(); st.InUse != 0 {
		t.Errorf("%d nodes in use after an interrupted run", st.InUse)
	}
}

// noisy returns n samples around center with a relative spread of about
// 2%, with an occasional outlier, as benchmark runs look.
func noisy(rng *rand.Rand, n int, center float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = center * (1 + 0.02*rng.NormFloat64())
		if rng.IntN(20) == 0 {
			v[i] *= 1.15
		}
	}
	return v
}

// The statistics flag a real 10% shift and leave identical distributions
// alone, nearly always.
func TestStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 200
	shifted, same := 0, 0
	for range trials {
		old := noisy(rng, 10, 100)
		if c := CompareSamples(old, noisy(rng, 10, 110)); c.P < c.Alpha {
			shifted++
		}
		if c := CompareSamples(old, noisy(rng, 10, 100)); c.P < c.Alpha {
			same++
		}
	}
	if shifted < trials*95/100 {
		t.Errorf("a 10%% shift was flagged in %d of %d trials", shifted, trials)
	}
	if same > trials*10/100 {
		t.Errorf("identical distributions were flagged in %d of %d trials", same, trials)
	}
	s := Summarize([]float64{10, 11, 9, 10, 10.5, 9.5})
	if s.Center != 10 || s.Lo > 10 || s.Hi < 10 || math.IsInf(s.Lo, 0) {
		t.Errorf("Summarize: %+v", s)
	}
	if s := Summarize([]float64{1, 2, 3}); !math.IsInf(s.Hi, 1) {
		t.Errorf("three samples should give an infinite 95%% interval: %+v", s)
	}
}

// tight returns n samples around center with a relative spread of 1%.
func tight(rng *rand.Rand, n int, center float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = center * (1 + 0.01*rng.NormFloat64())
	}
	return v
}

func samplesOf(runs map[string][]float64) *Samples {
	s := &Samples{Values: map[string]map[string][]float64{}, Units: []string{"ns/op"}}
	for name, v := range runs {
		s.Names = append(s.Names, name)
		s.Values[name] = map[string][]float64{"ns/op": v}
	}
	slices.Sort(s.Names)
	return s
}

func TestCompareSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hot := "Lookup/keys=dense/n=1M/access=rand/read=100/impl=xarray-2"
	cold := "Lookup/keys=dense/n=1M/access=rand/read=100/impl=sync.Map-2"
	old := samplesOf(map[string][]float64{hot: tight(rng, 8, 20), cold: tight(rng, 8, 100)})

	same := samplesOf(map[string][]float64{hot: tight(rng, 8, 20), cold: tight(rng, 8, 100)})
	if c := Compare("old", old, "new", same, CompareOptions{}); len(c.Regressions) != 0 {
		t.Errorf("identical distributions: regressions %+v", c.Regressions)
	}
	coldSlower := samplesOf(map[string][]float64{hot: tight(rng, 8, 20), cold: tight(rng, 8, 130)})
	if c := Compare("old", old, "new", coldSlower, CompareOptions{}); len(c.Regressions) != 0 {
		t.Errorf("a slower non-hot-path benchmark is a regression: %+v", c.Regressions)
	}
	hotSlower := samplesOf(map[string][]float64{hot: tight(rng, 8, 22), cold: tight(rng, 8, 100)})
	c := Compare("old", old, "new", hotSlower, CompareOptions{})
	if len(c.Regressions) != 1 || c.Regressions[0].Name != hot {
		var b bytes.Buffer
		c.WriteText(&b)
		t.Errorf("a 10%% slower hot path: regressions %+v\n%s", c.Regressions, b.String())
	}
	if c := Compare("old", old, "new", hotSlower, CompareOptions{Threshold: 0.2}); len(c.Regressions) != 0 {
		t.Errorf("a 10%% slowdown is a regression at a 20%% threshold")
	}
	var b bytes.Buffer
	c.WriteText(&b)
	for _, want := range []string{"geomean", "REGRESSION", hot + " *", "p=", "hot-path regressions"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("compare output lacks %q:\n%s", want, b.String())
		}
	}
}

// The drift correction takes out a drift of the whole machine between two
// runs, and keeps a real slowdown of the hot path.
func TestCompareDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	wl := "Lookup/keys=dense/n=1M/access=rand/read=100"
	impls := map[string]float64{"xarray": 20, "xsync.MapOf": 30, "sync.Map": 100, "map+RWMutex": 25, "map+RBMutex": 28}
	// run makes a set of rounds in which every benchmark moves with a
	// common factor (the machine's speed in that round), times speed;
	// slow multiplies the xarray's times.
	run := func(speed, slow float64) *Samples {
		runs := map[string][]float64{}
		for range 10 {
			f := speed * (1 + 0.15*rng.Float64())
			for _, impl := range slices.Sorted(maps.Keys(impls)) { // one order: the test is deterministic
				ns := impls[impl]
				v := ns * f * (1 + 0.01*rng.NormFloat64())
				if impl == "xarray" {
					v *= slow
				}
				runs[wl+"/impl="+impl+"-2"] = append(runs[wl+"/impl="+impl+"-2"], v)
			}
		}
		return samplesOf(runs)
	}
	old := run(1, 1)
	c := Compare("old", old, "new", run(0.8, 1), CompareOptions{})
	uc := c.UnitComparison("ns/op")
	if !uc.HasDrift || uc.Drift > -0.1 || uc.Corrected != 5 {
		t.Errorf("a 20%% faster machine: drift %+.2f (found %v), %d corrected", uc.Drift, uc.HasDrift, uc.Corrected)
	}
	if uc.RawChanged == 0 || uc.Changed != 0 || len(c.Regressions) != 0 {
		t.Errorf("a 20%% faster machine: %d changed as measured, %d after correction, %d regressions",
			uc.RawChanged, uc.Changed, len(c.Regressions))
	}
	c = Compare("old", old, "new", run(1, 1.2), CompareOptions{})
	if len(c.Regressions) != 1 || !strings.Contains(c.Regressions[0].Name, "impl=xarray-") {
		t.Errorf("a 20%% slower hot path: regressions %+v", c.Regressions)
	}
	c = Compare("old", old, "new", run(0.8, 1.0/0.8), CompareOptions{})
	if len(c.Regressions) != 0 {
		t.Errorf("a hot path as fast as before on a faster machine is flagged as a regression: %+v", c.Regressions)
	}
	if g, impl, ok := splitImpl(wl + "/impl=map+RBMutex-2"); !ok || g != wl+"-2" || impl != "map+RBMutex" || name(g, impl) != wl+"/impl=map+RBMutex-2" {
		t.Errorf("splitImpl: %q %q %v", g, impl, ok)
	}
}

// compare flags a run whose lookup path was made slower (withSlowXArray),
// on files written and read back as xabench does.
func TestCompareFlagsSlowdown(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	cells := smallCells("xarray", "xsync.MapOf")
	opts := Options{Benchtime: 3 * time.Millisecond, Count: 6}
	base := Run(context.Background(), "lookup", cells, opts)

	// Calibrate the delay to the lookup's own cost on this machine (the
	// race detector makes lookups many times slower): about tripling it,
	// so that a busy machine's noise cannot hide it.
	ns := Median(base.Cells[0].Values(NsPerOp))
	start := time.Now()
	spin(1 << 20)
	perSpin := float64(time.Since(start).Nanoseconds()) / (1 << 20)
	spins := max(1, int(2*ns/perSpin))
	slow := Run(context.Background(), "lookup", withSlowXArray(cells, spins), opts)

	oldDir, newDir := t.TempDir(), t.TempDir()
	if err := base.WriteFiles(oldDir); err != nil {
		t.Fatal(err)
	}
	if err := slow.WriteFiles(newDir); err != nil {
		t.Fatal(err)
	}
	old, err := ReadSamples(oldDir)
	if err != nil {
		t.Fatal(err)
	}
	new, err := ReadSamples(newDir)
	if err != nil {
		t.Fatal(err)
	}
	c := Compare(oldDir, old, newDir, new, CompareOptions{})
	var b bytes.Buffer
	c.WriteText(&b)
	if len(c.Regressions) == 0 {
		t.Fatalf("a slowed lookup path (%d spins per lookup) is not flagged:\n%s", spins, b.String())
	}
	for _, r := range c.Regressions {
		if !strings.Contains(r.Name, "impl=xarray-") {
			t.Errorf("%s flagged as a hot-path regression", r.Name)
		}
	}
	self := Compare(oldDir, old, oldDir, old, CompareOptions{})
	if uc := self.UnitComparison("ns/op"); len(self.Regressions) != 0 || uc.Changed != 0 {
		t.Errorf("a file compared with itself: %d changed, %d regressions", uc.Changed, len(self.Regressions))
	}
}

func TestReadSamplesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.txt"), "no such file"},
		{write("empty.txt", ""), "no benchmark results"},
		{write("text.txt", "hello\nworld\n"), "no benchmark results"},
		{write("bad.txt", "goos: linux\nBenchmarkX-2 100 12.5\n"), "missing units"},
		{t.TempDir(), "no *.txt"},
	} {
		if _, err := ReadSamples(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadSamples(%s): %v, want an error with %q", filepath.Base(c.path), err, c.want)
		}
	}
	s, err := ReadSamples(write("ok.txt", "BenchmarkX-2 100 12.5 ns/op\nBenchmarkX-2 100 13 ns/op\n"))
	if err != nil || len(s.Names) != 1 || !slices.Equal(s.Values["X-2"]["ns/op"], []float64{12.5, 13}) {
		t.Errorf("ReadSamples: %v, %+v", err, s)
	}
}

func TestCPUIdle(t *testing.T) {
	idle := CPUIdle(20 * time.Millisecond)
	if _, err := os.Stat("/proc/stat"); err == nil && (idle < 0 || idle > 1) {
		t.Errorf("CPUIdle = %v", idle)
	}
}

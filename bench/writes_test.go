// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/xarray"
)

// writeImpls are the competitors that run each write op.
var writeImpls = map[Op][]string{
	OpStore:      {"xarray", "xsync.MapOf", "xsyncv4", "sync.Map", "map+RWMutex", "map+RBMutex", "btree+RWMutex", "atomic-slice"},
	OpErase:      {"xarray", "xsync.MapOf", "xsyncv4", "sync.Map", "map+RWMutex", "map+RBMutex", "btree+RWMutex"},
	OpStoreRange: {"xarray"},
	OpCmpXchg:    {"xarray", "xsync.MapOf", "xsyncv4", "sync.Map", "map+RWMutex", "map+RBMutex", "btree+RWMutex", "atomic-slice"},
}

// The mix suite holds every write op on dense 1M random keys, on 1 and
// GOMAXPROCS goroutines, for exactly the competitors that run the op,
// named Write/<keys>/access=rand/op=<op>/impl=<impl>-<procs>; none of
// them is on the hot path, and each is labelled with its op.
func TestWriteCells(t *testing.T) {
	got := map[string]bool{}
	for _, c := range SuiteByName("mix").Cells(2) {
		if c.Op == "" {
			continue
		}
		got[c.FullName()] = true
		if c.ReadPct != 0 || c.Keys != dense1M || c.Access != Uniform {
			t.Errorf("%s: workload %+v", c.FullName(), c.Workload)
		}
		if IsHotPath(c.FullName()) || IsHotPath("Benchmark"+c.FullName()) {
			t.Errorf("%s is on the hot path", c.FullName())
		}
		if cr := newCellResult(c, nil, 0); cr.HotPath || !strings.Contains(cr.Label, " ") || cr.Op != c.Op ||
			cr.Workload() != c.Workload {
			t.Errorf("%s: results %+v", c.FullName(), cr)
		}
	}
	var want []string
	for _, op := range WriteOps {
		for _, impl := range writeImpls[op] {
			for _, p := range []int{1, 2} {
				want = append(want, fmt.Sprintf("Write/keys=dense/n=1M/access=rand/op=%s/impl=%s-%d", op, impl, p))
			}
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("the mix suite lacks %s", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the mix suite has %d write cells, want %d", len(got), len(want))
	}
	// Every op a competitor lists, its Map has.
	keys := Keys(KeySet{Dense, 64})
	for _, c := range Competitors() {
		if len(c.Writes) == 0 {
			continue
		}
		m, err := c.Build(NewFixture(keys))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.Writes {
			writeBatch(m, w.Op) // panics if the Map lacks the op
		}
		m.Close()
	}
}

// benchNames returns the distinct benchmark names (without "Benchmark")
// of a Go benchmark format file.
func benchNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if name, ok := strings.CutPrefix(fields[0], "Benchmark"); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s: no benchmarks", path)
	}
	return names
}

// The benchmarks of the committed runs keep their names, which compare
// matches: the baseline's headline suite (2 CPUs) and the 16-CPU Xeon's
// mix suite (run before xsync v4 and the B-trees were added) are all
// still cells of their suites, and still on the hot path where they were.
func TestOldCellNamesUnchanged(t *testing.T) {
	for _, f := range []struct {
		path, suite string
		maxProcs    int
	}{
		{"../results/baseline/headline.txt", "headline", 2},
		{"../results/xeon16/1-4c5222f-mix.txt", "mix", 16},
	} {
		cells := map[string]bool{}
		for _, c := range SuiteByName(f.suite).Cells(f.maxProcs) {
			cells[c.FullName()] = true
		}
		for _, name := range benchNames(t, f.path) {
			if !cells[name] {
				t.Errorf("%s: %s is no longer a cell of the %s suite", f.path, name, f.suite)
			}
			if IsHotPath(name) != strings.HasSuffix(StripProcs(name), "/impl=xarray") {
				t.Errorf("%s: IsHotPath(%s) = %v", f.path, name, IsHotPath(name))
			}
		}
	}
}

// Every write op of every competitor leaves each key with its value, on
// one goroutine and on several working on the same keys at once; every
// CmpXchg succeeds (the value is always the key); and after the XArray's
// ops, ranges included, the array is sound and holds single entries only.
func TestWritesKeepValues(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	keys := Keys(KeySet{Dense, 1 << 12})
	seq := Sequence(keys, Uniform)
	for _, c := range Competitors() {
		if len(c.Writes) == 0 {
			continue
		}
		fx := NewFixture(keys)
		m, err := c.Build(fx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.Writes {
			for _, procs := range []int{1, 3} {
				runtime.GOMAXPROCS(procs)
				ops, _, _, ok := runBatches(context.Background(), writeBatch(m, w.Op), seq, procs, 3*time.Millisecond, false)
				if !ok || ops == 0 {
					t.Fatalf("%s %s on %d: %d ops", c.Name, w.Op, procs, ops)
				}
				if err := checkValues(m, keys); err != nil {
					t.Errorf("%s %s on %d goroutines: %v", c.Name, w.Op, procs, err)
				}
			}
		}
		// The workers' checksum of a cmpxchg batch is its successes.
		if c.hasOp(OpCmpXchg) {
			if got := writeBatch(m, OpCmpXchg)(seq[:Batch], 0); got != Batch {
				t.Errorf("%s: %d of %d CmpXchg succeeded", c.Name, got, Batch)
			}
		}
		if xm, ok := m.(*xaLoad); ok {
			if err := xm.xa.Check(); err != nil {
				t.Errorf("xarray after the writes: %v", err)
			}
			for _, k := range keys {
				if o := xm.xa.GetOrder(k); o != 0 {
					t.Fatalf("xarray after the writes: key %d in an entry of order %d", k, o)
				}
			}
		}
		m.Close()
	}
	if st := xarray.NodeCacheStats(); st.InUse != 0 {
		t.Errorf("%d nodes still in use after every competitor closed", st.InUse)
	}
}

// lossyMap is a sync.Map whose erase also deletes key 1, which it then
// never stores back. (Not key 0: its value is 0, which Load also gives
// for an absent key.)
type lossyMap struct{ *syncMap }

func (m lossyMap) EraseStore(k uint64) {
	m.syncMap.EraseStore(k)
	m.m.Delete(uint64(1))
}

// Run checks the values of the competitors that ran write workloads: a
// short run of real competitors reports nothing broken, one whose erase
// loses a key is listed in Broken, and the run's other results stand.
func TestRunChecksValues(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	lossy := &Competitor{Name: "lossy", Label: "lossy", Writes: []WriteLabel{{OpErase, "lossy Delete+Store"}},
		Build: func(f *Fixture) (Map, error) {
			m, err := buildSyncMap(f)
			return lossyMap{m.(*syncMap)}, err
		}}
	ks := KeySet{Dense, 1 << 12}
	var cells []Cell
	for _, op := range WriteOps {
		for _, c := range append(Competitors(), lossy) {
			if w := (Workload{Keys: ks, Access: Uniform, Op: op, Procs: 2}); c.Fits(w) {
				cells = append(cells, Cell{w, c})
			}
		}
	}
	res := Run(context.Background(), "test", cells, Options{Benchtime: time.Millisecond, Count: 1})
	if len(res.Cells) != len(cells) || res.Interrupted {
		t.Fatalf("Run: %d cells of %d", len(res.Cells), len(cells))
	}
	if len(res.Broken) != 1 || !strings.Contains(res.Broken[0], "impl=lossy: 1 of 4096 keys lost their value") {
		t.Errorf("Broken = %q, want the lossy map alone", res.Broken)
	}
	for _, c := range res.Cells {
		if c.Op == "" || c.ReadPct != 0 || len(c.Runs) != 1 || c.Runs[0].Ops == 0 {
			t.Errorf("%s: %+v", c.FullName(), c)
		}
	}
	if st := xarray.NodeCacheStats(); st.InUse != 0 {
		t.Errorf("%d nodes still in use after the run", st.InUse)
	}
}

// checkValues names the keys that lost their value.
func TestCheckValues(t *testing.T) {
	keys := Keys(KeySet{Dense, 100})
	m, _ := buildSyncMap(NewFixture(keys))
	if err := checkValues(m, keys); err != nil {
		t.Fatal(err)
	}
	m.(*syncMap).m.Delete(uint64(7))
	m.(*syncMap).m.Store(uint64(9), uint64(10))
	err := checkValues(m, keys)
	if err == nil || err.Error() != "2 of 100 keys lost their value (key 7 holds 0, key 9 holds 10)" {
		t.Errorf("checkValues: %v", err)
	}
}

// BenchmarkWrite runs the mix suite's write workloads under go test
// -bench, on dense 1M keys in uniform random order, one sub-benchmark per
// competitor and op, named as in the suite (BenchmarkWrite/keys=dense/
// n=1M/access=rand/op=store/impl=xarray-2 is the suite's Write/...-2), on
// GOMAXPROCS goroutines (go test -cpu sets it). A goroutine runs the same
// batches of Batch operations as the suite's workers (ns/op is per op: a
// pair for erase, a sequence for storerange). Every key must hold its
// value at the end.
func BenchmarkWrite(b *testing.B) {
	keys := Keys(dense1M)
	seq := Sequence(keys, Uniform)
	fx := NewFixture(keys)
	maps := map[string]Map{}
	defer func() {
		for name, m := range maps {
			if err := checkValues(m, keys); err != nil {
				b.Errorf("%s: %v", name, err)
			}
			m.Close()
		}
	}()
	for _, c := range writeCells(1) {
		b.Run(strings.TrimPrefix(c.Name(), "Write/"), func(b *testing.B) {
			m, ok := maps[c.Competitor.Name]
			if !ok {
				var err error
				if m, err = c.Competitor.Build(fx); err != nil {
					b.Fatal(err)
				}
				maps[c.Competitor.Name] = m
			}
			batch := writeBatch(m, c.Op)
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				pos := int(worker.Add(1)*7919*Batch) % len(seq) // spread the starting points
				pos -= pos % Batch
				n := 0
				run := func() {
					if pos+n > len(seq) {
						pos = 0
					}
					Sink.Add(batch(seq[pos:pos+n], pos))
					pos += n
					n = 0
				}
				for pb.Next() {
					if n++; n == Batch {
						run()
					}
				}
				if n > 0 {
					run()
				}
			})
		})
	}
}

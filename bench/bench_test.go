// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.xs...)
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v; want %v", c.xs, got, c.want)
		}
		for i := range in {
			if in[i] != c.xs[i] {
				t.Fatalf("Median reordered its argument: %v became %v", in, c.xs)
			}
		}
	}
}

func TestPercentiles(t *testing.T) {
	laps := make([]time.Duration, 1000)
	for i := range laps {
		laps[i] = time.Duration(1000-i) * time.Microsecond // 1ms down to 1µs
	}
	l := Percentiles(laps)
	if l.N != 1000 || l.Max != time.Millisecond {
		t.Fatalf("Percentiles: N=%d Max=%v; want 1000 and 1ms", l.N, l.Max)
	}
	if l.P50 < 495*time.Microsecond || l.P50 > 505*time.Microsecond {
		t.Errorf("P50 = %v; want about 500µs", l.P50)
	}
	if l.P99 < 985*time.Microsecond || l.P99 > 995*time.Microsecond {
		t.Errorf("P99 = %v; want about 990µs", l.P99)
	}
	if (Percentiles(nil) != Latency{}) {
		t.Errorf("Percentiles(nil) is not zero")
	}
}

// Serial and Parallel run exactly the operations they time, and report a
// plausible cost per operation.
func TestSerialParallel(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	// With no time to fill, calibration stops after its first run, of one
	// operation, and times one more run of one: exactly two operations in
	// two calls, on one goroutine or on many (where all but one find no
	// work left).
	var n, calls atomic.Int64
	count := func(k int) {
		calls.Add(1)
		n.Add(int64(k))
	}
	if ns := Serial(0, count); n.Load() != 2 || calls.Load() != 2 || ns <= 0 {
		t.Fatalf("Serial(0): %d operations in %d calls (%v ns/op), want exactly 2 in 2", n.Load(), calls.Load(), ns)
	}
	n.Store(0)
	calls.Store(0)
	if ns := Parallel(0, runtime.GOMAXPROCS(0)+1, count); n.Load() != 2 || calls.Load() != 2 || ns <= 0 {
		t.Fatalf("Parallel(0): %d operations in %d calls (%v ns/op), want exactly 2 in 2", n.Load(), calls.Load(), ns)
	}

	var ops atomic.Int64
	loop := func(n int) {
		for range n {
			ops.Add(1)
		}
	}
	ns := Serial(5*time.Millisecond, loop)
	if ns <= 0 || ns > 1e6 {
		t.Fatalf("Serial: %v ns/op for an atomic add", ns)
	}
	ops.Store(0)
	calls.Store(0)
	ns = Parallel(5*time.Millisecond, runtime.GOMAXPROCS(0)+1, func(n int) {
		calls.Add(1)
		loop(n)
	})
	if ns <= 0 || ns > 1e6 {
		t.Fatalf("Parallel: %v ns/op for an atomic add", ns)
	}
	if ops.Load() == 0 || calls.Load() < 2 {
		t.Fatalf("Parallel ran %d operations in %d chunks", ops.Load(), calls.Load())
	}
}

func TestReadSides(t *testing.T) {
	names := map[string]bool{}
	for _, s := range ReadSides() {
		names[s.Name] = true
		s.New()(100)
	}
	for _, want := range []string{"rcu", "RWMutex", "RBMutex", "atomic.Add"} {
		if !names[want] {
			t.Errorf("ReadSides lacks %q", want)
		}
	}
	if ReadSides()[0].Name != "rcu" {
		t.Errorf("ReadSides must list rcu first, the reference for ratios")
	}
}

func TestBusyReaders(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	stop := BusyReaders(d, 2, ReaderYield)
	time.Sleep(5 * time.Millisecond)
	d.Synchronize()
	// The readers count sections in whole batches of 64.
	if n := stop(); n == 0 || n%64 != 0 {
		t.Fatalf("busy readers ran %d sections; want a positive multiple of 64", n)
	}
}

func TestSynchronizeLatency(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	laps := SynchronizeLatency(d, 1, 5*time.Millisecond)
	if len(laps) == 0 {
		t.Fatal("no latencies")
	}
	for _, l := range laps {
		if l <= 0 {
			t.Fatalf("latency %v", l)
		}
	}
}

func TestCallThroughput(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	defer d.Close()
	if r := CallThroughput(d, 5*time.Millisecond); r <= 0 {
		t.Fatalf("CallThroughput = %v", r)
	}
}

func TestReaderThroughput(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	d := rcu.NewDomain()
	r, gps := ReaderThroughput(d, 1, true, 5*time.Millisecond)
	if r <= 0 || gps == 0 {
		t.Fatalf("ReaderThroughput = %v sections/s, %d grace periods", r, gps)
	}
}

func TestRunRCU(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var names []string
	lastRun := 0
	res := RunRCU(RCUOptions{
		Benchtime: time.Millisecond,
		Count:     2,
		Progress: func(run int, name string) {
			if run < lastRun || run < 1 || run > 2 {
				t.Errorf("progress: run %d after run %d, of 2", run, lastRun)
			}
			lastRun = run
			names = append(names, name)
		},
	})
	if len(res.ReadSides) != len(ReadSides()) || len(res.Synchronize) != len(SyncReaders) {
		t.Fatalf("RunRCU: %d read sides, %d latency rows", len(res.ReadSides), len(res.Synchronize))
	}
	for _, s := range res.ReadSides {
		if len(s.Serial) != 2 || len(s.Parallel) != 2 || Median(s.Serial) <= 0 || Median(s.Parallel) <= 0 {
			t.Errorf("%s: serial %v, parallel %v", s.Name, s.Serial, s.Parallel)
		}
	}
	for _, s := range res.Synchronize {
		if s.N == 0 || s.P50 <= 0 || s.P99 < s.P50 {
			t.Errorf("Synchronize with %d readers: %+v", s.Readers, s.Latency)
		}
		// The summary is over exactly the calls of the runs.
		calls := 0
		for _, l := range s.PerRun {
			calls += l.N
		}
		if len(s.PerRun) != 2 || calls != s.N {
			t.Errorf("Synchronize with %d readers: %d runs of %d calls in all, summary over %d", s.Readers, len(s.PerRun), calls, s.N)
		}
	}
	// Rows of reader throughput: GOMAXPROCS-1 readers (if that is any)
	// and GOMAXPROCS.
	wantReaders := 1
	if runtime.GOMAXPROCS(0) > 1 {
		wantReaders = 2
	}
	if len(res.CallsPerSec) != 2 || len(res.Readers) != wantReaders {
		t.Errorf("RunRCU: %d Call runs, %d reader rows; want 2 and %d", len(res.CallsPerSec), len(res.Readers), wantReaders)
	}
	for _, r := range res.Readers {
		if r.Ratio() <= 0 {
			t.Errorf("%d readers: ratio %v", r.Readers, r.Ratio())
		}
		if len(r.Alone) != 2 || len(r.WithSync) != 2 || len(r.GracePeriods) != 2 {
			t.Errorf("%d readers: %d runs alone, %d beside Synchronize, %d grace period counts; want 2 each",
				r.Readers, len(r.Alone), len(r.WithSync), len(r.GracePeriods))
		}
	}
	if res.Machine == "" || !strings.Contains(res.Machine, runtime.GOARCH) {
		t.Errorf("Machine = %q", res.Machine)
	}
	if res.Runs != 2 || res.Interrupted {
		t.Errorf("RunRCU: %d runs of 2 finished, interrupted %v", res.Runs, res.Interrupted)
	}
	// Progress comes before every measurement of every run: each read
	// side serial and parallel, each Synchronize latency, Call
	// throughput, and each reader row alone and beside Synchronize.
	perRun := 2*len(ReadSides()) + len(SyncReaders) + 1 + 2*wantReaders
	if len(names) != 2*perRun || lastRun != 2 {
		t.Errorf("RunRCU reported %d measurements, up to run %d of 2; want exactly %d", len(names), lastRun, 2*perRun)
	}
}

// countingMap is a Map in which every key's value is the key itself; it
// counts the keys it is asked to load and the stores.
type countingMap struct{ loads, stores atomic.Int64 }

func (m *countingMap) Load(keys []uint64) uint64 {
	m.loads.Add(int64(len(keys)))
	var s uint64
	for _, k := range keys {
		s += k
	}
	return s
}

func (m *countingMap) Store(uint64) { m.stores.Add(1) }
func (m *countingMap) Close()       {}

// The workers of a measurement count exactly the operations they run,
// which is what Measure reports: a worker walks the sequence from its
// starting point in whole batches (the last one before the sequence
// wraps shorter), stores exactly where writeAt says, and times one batch
// in sampleEvery.
func TestRunWorkersCountsExactly(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	// 1000 keys in order: not a whole number of batches, so the walk
	// wraps inside one, many times over.
	seq := Sequence(Keys(KeySet{Dense, 1000}), Seq)
	for _, readPct := range []int{100, 90, 50} {
		m := &countingMap{}
		ops, _, lat, ok := runWorkers(context.Background(), m, seq, readPct, 1, 5*time.Millisecond, true)
		if !ok || ops == 0 {
			t.Fatalf("read=%d: runWorkers ran %d operations, ok %v", readPct, ops, ok)
		}
		// Replay the single worker's walk from position 0.
		var stores, batches int64
		pos := 0
		for n := int64(0); n < ops; batches++ {
			end := min(pos+Batch, len(seq))
			for p := pos; p < end; p++ {
				if readPct < 100 && writeAt(p, readPct) {
					stores++
				}
			}
			if n += int64(end - pos); n > ops {
				t.Fatalf("read=%d: %d operations is not a whole number of batches of the walk", readPct, ops)
			}
			if pos = end; pos == len(seq) {
				pos = 0
			}
		}
		if got := m.loads.Load() + m.stores.Load(); got != ops {
			t.Errorf("read=%d: runWorkers reports %d operations, the map saw %d", readPct, ops, got)
		}
		if got := m.stores.Load(); got != stores {
			t.Errorf("read=%d: %d stores in %d operations, want %d", readPct, got, ops, stores)
		}
		if want := min((batches+sampleEvery-1)/sampleEvery, maxSamples); int64(len(lat)) != want {
			t.Errorf("read=%d: %d timed batches of %d, want %d", readPct, len(lat), batches, want)
		}
	}
	// Several workers at once: the map sees exactly what they report.
	m := &countingMap{}
	ops, _, lat, ok := runWorkers(context.Background(), m, seq, 90, 3, 5*time.Millisecond, false)
	if got := m.loads.Load() + m.stores.Load(); !ok || ops == 0 || got != ops || lat != nil {
		t.Errorf("3 workers: ok %v, %d operations reported, %d seen by the map, %d latencies untimed", ok, ops, got, len(lat))
	}
}

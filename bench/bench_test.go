// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	var calls atomic.Int64
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
	d := rcu.NewDomain()
	stop := BusyReaders(d, 2, ReaderYield)
	time.Sleep(5 * time.Millisecond)
	d.Synchronize()
	if n := stop(); n == 0 {
		t.Fatal("busy readers ran no sections")
	}
}

func TestSynchronizeLatency(t *testing.T) {
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
	d := rcu.NewDomain()
	defer d.Close()
	if r := CallThroughput(d, 5*time.Millisecond); r <= 0 {
		t.Fatalf("CallThroughput = %v", r)
	}
}

func TestReaderThroughput(t *testing.T) {
	d := rcu.NewDomain()
	r, gps := ReaderThroughput(d, 1, true, 5*time.Millisecond)
	if r <= 0 || gps == 0 {
		t.Fatalf("ReaderThroughput = %v sections/s, %d grace periods", r, gps)
	}
}

func TestRunRCU(t *testing.T) {
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
	}
	if len(res.CallsPerSec) != 2 || len(res.Readers) == 0 {
		t.Errorf("RunRCU: %d Call runs, %d reader rows", len(res.CallsPerSec), len(res.Readers))
	}
	for _, r := range res.Readers {
		if r.Ratio() <= 0 {
			t.Errorf("%d readers: ratio %v", r.Readers, r.Ratio())
		}
	}
	if res.Machine == "" || !strings.Contains(res.Machine, runtime.GOARCH) {
		t.Errorf("Machine = %q", res.Machine)
	}
	if len(names) == 0 || lastRun != 2 {
		t.Errorf("RunRCU reported %d measurements, up to run %d of 2", len(names), lastRun)
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loov/hrtime"
)

// A Loop runs n operations. One Loop may run on several goroutines at once:
// they then share whatever the Loop operates on.
type Loop func(n int)

// Serial returns the nanoseconds per operation of loop run on one
// goroutine, with n chosen so that the timed run lasts about benchtime.
func Serial(benchtime time.Duration, loop Loop) float64 {
	return calibrate(benchtime, func(n int) time.Duration {
		start := time.Now()
		loop(n)
		return time.Since(start)
	})
}

// Parallel returns the nanoseconds per operation of loop run on goroutines
// goroutines at once (wall time divided by all their operations, as
// testing.B.RunParallel reports), with about benchtime of wall time. Like
// RunParallel, the goroutines take work in small chunks so that one
// descheduled goroutine does not stretch the run.
func Parallel(benchtime time.Duration, goroutines int, loop Loop) float64 {
	return calibrate(benchtime, func(n int) time.Duration {
		grain := max(1, min(10000, n/(goroutines*100)))
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					end := next.Add(int64(grain))
					if end > int64(n) {
						if k := int64(n) - (end - int64(grain)); k > 0 {
							loop(int(k))
						}
						return
					}
					loop(grain)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	})
}

// calibrate runs run with growing n until a run takes a tenth of
// benchtime, then once more sized for benchtime, and returns its
// nanoseconds per operation.
func calibrate(benchtime time.Duration, run func(n int) time.Duration) float64 {
	n := 1
	for {
		took := run(n)
		if took >= benchtime/10 || n >= math.MaxInt/100 {
			per := float64(took) / float64(n)
			want := int(float64(benchtime) / max(per, 0.1))
			want = max(want, n)
			took = run(want)
			return float64(took) / float64(want)
		}
		grow := 100
		if took > 0 {
			grow = min(100, max(2, int(float64(benchtime/10)/float64(took)*1.5)))
		}
		n *= grow
	}
}

// RunFor calls f on goroutines goroutines, each with a stop flag that turns
// true after dur, and returns the elapsed time once all have returned.
func RunFor(dur time.Duration, goroutines int, f func(stop *atomic.Bool)) time.Duration {
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(&stop)
		}()
	}
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	return time.Since(start)
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Latency summarises a set of durations.
type Latency struct {
	N        int
	P50, P99 time.Duration
	Max      time.Duration
}

// Percentiles returns the median, 99th percentile and maximum of laps, as
// an hrtime histogram computes them.
func Percentiles(laps []time.Duration) Latency {
	if len(laps) == 0 {
		return Latency{}
	}
	h := hrtime.NewDurationHistogram(laps, &hrtime.HistogramOptions{BinCount: 10, ClampPercentile: 0.999})
	return Latency{
		N:   len(laps),
		P50: time.Duration(h.P50),
		P99: time.Duration(h.P99),
		Max: time.Duration(h.Maximum),
	}
}

// Machine describes the machine and toolchain in one line, for the head of
// a result table.
func Machine() string {
	s := fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS=%d, %s", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if m := cpuModel(); m != "" {
		s += ", cpu: " + m
	}
	return s
}

// LoadAverage returns the system's one-minute load average as the system
// reports it (Linux's /proc/loadavg), or "" where it does not. Other
// processes' load distorts parallel measurements, so tables print it.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// CPUIdle returns the share of CPU time (0 to 1) the whole system left
// idle during d, as Linux's /proc/stat counts it, or -1 where the system
// does not say. Unlike the load average, which lags by a minute, it says
// whether other processes are running now.
func CPUIdle(d time.Duration) float64 {
	read := func() (idle, total uint64, ok bool) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, false
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			return 0, 0, false
		}
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, false
			}
			total += n
			if i == 3 || i == 4 { // idle, iowait
				idle += n
			}
		}
		return idle, total, true
	}
	i1, t1, ok1 := read()
	time.Sleep(d)
	i2, t2, ok2 := read()
	if !ok1 || !ok2 || t2 <= t1 {
		return -1
	}
	return float64(i2-i1) / float64(t2-t1)
}

// cpuModel returns the processor's model name where the system says it
// (Linux's /proc/cpuinfo), else "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

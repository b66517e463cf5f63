// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"runtime"
	"time"

	"github.com/xabench/xabench/rcu"
	"golang.org/x/perf/benchmath"
)

// RCUOptions configures RunRCU.
type RCUOptions struct {
	Benchtime time.Duration // length of each measurement; 200ms if zero
	Count     int           // repetitions of each measurement; DefaultRCUCount if zero
	// Context, if set, stops the suite when it is done (an interrupt):
	// RunRCU returns before the next measurement, keeping the runs that
	// finished whole, with Interrupted set. A measurement in progress
	// finishes first, so the suite stops within about one Benchtime.
	Context context.Context
	// Progress, if not nil, is called before each measurement with the
	// repetition it belongs to (1 to Count) and its name.
	Progress func(run int, name string)
}

// ReadSideResult holds the runs of one read-side primitive, in
// nanoseconds per pair.
type ReadSideResult struct {
	Name             string
	Serial, Parallel []float64
}

// DefaultRCUCount is the runs of each measurement of the rcu suite by
// default: six, the fewest of which benchmath gives the median a 95%
// interval, without which no target can be judged.
const DefaultRCUCount = 6

// SyncResult holds Synchronize latencies measured with Readers busy
// readers: over all the runs' calls, and run by run.
type SyncResult struct {
	Readers int
	Latency
	PerRun []Latency
}

// P50s returns the median latency of each run, in nanoseconds.
func (s *SyncResult) P50s() []float64 {
	return latencies(s.PerRun, func(l Latency) time.Duration { return l.P50 })
}

// P99s returns the 99th percentile latency of each run, in nanoseconds.
func (s *SyncResult) P99s() []float64 {
	return latencies(s.PerRun, func(l Latency) time.Duration { return l.P99 })
}

func latencies(runs []Latency, f func(Latency) time.Duration) []float64 {
	v := make([]float64, len(runs))
	for i, l := range runs {
		v[i] = float64(f(l).Nanoseconds())
	}
	return v
}

// RCUResults is the outcome of the rcu suite. Per-run numbers are kept;
// summaries are their medians.
type RCUResults struct {
	Machine    string
	Load       string // one-minute load average before the suite ran, if known
	Benchtime  time.Duration
	Count      int // runs asked for
	Runs       int // runs that finished: Count unless Interrupted
	Goroutines int // goroutines of the parallel measurements
	// Interrupted: Options.Context ended the suite before its last run
	// finished; the results hold the Runs runs that finished whole.
	Interrupted bool

	ReadSides   []ReadSideResult // rcu first
	Synchronize []SyncResult     // 0, 1 and 2 busy readers
	CallsPerSec []float64

	// Reader throughput alone and beside a goroutine that loops on
	// Synchronize: with GOMAXPROCS-1 readers, so that the loop has a P of
	// its own and only the grace periods' effect on readers shows, and
	// with GOMAXPROCS readers, so that the loop also competes for a P.
	Readers []ReaderResult
}

// ReaderResult holds reader throughput, in sections per second, of Readers
// goroutines alone and beside a Synchronize loop, and the grace periods
// that loop completed in each run.
type ReaderResult struct {
	Readers         int
	Alone, WithSync []float64
	GracePeriods    []uint64
}

// Ratio returns the median throughput beside the Synchronize loop as a
// fraction of the median throughput alone.
func (r *ReaderResult) Ratio() float64 {
	alone := Median(r.Alone)
	if alone == 0 {
		return 0
	}
	return Median(r.WithSync) / alone
}

// RatioSummary returns the median over the runs of each run's throughput
// beside the Synchronize loop as a fraction of its throughput alone, with
// its 95% interval.
func (r *ReaderResult) RatioSummary() benchmath.Summary {
	return RatioSummary(r.WithSync, r.Alone)
}

// SyncReaders are the numbers of busy readers the suite measures
// Synchronize latency with.
var SyncReaders = []int{0, 1, 2}

// RunRCU runs the rcu suite: the read-side pair of rcu, sync.RWMutex,
// xsync.RBMutex and an atomic add, on one goroutine and on GOMAXPROCS
// goroutines; Synchronize latency with 0, 1 and 2 busy readers; Call
// throughput; and reader throughput alone and beside a Synchronize loop,
// with GOMAXPROCS-1 and GOMAXPROCS readers.
// Each measurement runs Count times, interleaved with the others, so that
// slow drifts of the machine hit all of them alike.
func RunRCU(opts RCUOptions) *RCUResults {
	if opts.Benchtime <= 0 {
		opts.Benchtime = 200 * time.Millisecond
	}
	if opts.Count <= 0 {
		opts.Count = DefaultRCUCount
	}
	run := 0
	// next reports progress before a measurement, and whether to go on.
	next := func(name string) bool {
		if opts.Context != nil && opts.Context.Err() != nil {
			return false
		}
		if opts.Progress != nil {
			opts.Progress(run, name)
		}
		return true
	}
	bt := opts.Benchtime
	g := runtime.GOMAXPROCS(0)
	res := &RCUResults{
		Machine:    Machine(),
		Load:       LoadAverage(),
		Benchtime:  bt,
		Count:      opts.Count,
		Goroutines: g,
	}
	sides := ReadSides()
	res.ReadSides = make([]ReadSideResult, len(sides))
	for i, s := range sides {
		res.ReadSides[i].Name = s.Name
	}
	res.Synchronize = make([]SyncResult, len(SyncReaders))
	if g > 1 {
		res.Readers = append(res.Readers, ReaderResult{Readers: g - 1})
	}
	res.Readers = append(res.Readers, ReaderResult{Readers: g})
	laps := make([][][]time.Duration, len(SyncReaders)) // by readers, then run

runs:
	for run = 1; run <= opts.Count; run++ {
		for i, s := range sides {
			if !next(s.Name + " serial") {
				break runs
			}
			res.ReadSides[i].Serial = append(res.ReadSides[i].Serial, Serial(bt, s.New()))
			if !next(s.Name + " parallel") {
				break runs
			}
			res.ReadSides[i].Parallel = append(res.ReadSides[i].Parallel, Parallel(bt, g, s.New()))
		}
		for i, r := range SyncReaders {
			if !next("Synchronize latency") {
				break runs
			}
			d := rcu.NewDomain()
			laps[i] = append(laps[i], SynchronizeLatency(d, r, bt))
		}
		if !next("Call throughput") {
			break runs
		}
		d := rcu.NewDomain()
		res.CallsPerSec = append(res.CallsPerSec, CallThroughput(d, bt))
		d.Close()

		for i := range res.Readers {
			r := &res.Readers[i]
			if !next("readers alone") {
				break runs
			}
			alone, _ := ReaderThroughput(rcu.NewDomain(), r.Readers, false, bt)
			if !next("readers beside Synchronize") {
				break runs
			}
			with, gps := ReaderThroughput(rcu.NewDomain(), r.Readers, true, bt)
			r.Alone = append(r.Alone, alone)
			r.WithSync = append(r.WithSync, with)
			r.GracePeriods = append(r.GracePeriods, gps)
		}
		res.Runs = run
	}
	// Keep the runs that finished whole: a run cut short would weigh its
	// measurements unevenly.
	n := res.Runs
	res.Interrupted = n < opts.Count
	for i := range res.ReadSides {
		s := &res.ReadSides[i]
		s.Serial, s.Parallel = s.Serial[:min(n, len(s.Serial))], s.Parallel[:min(n, len(s.Parallel))]
	}
	res.CallsPerSec = res.CallsPerSec[:min(n, len(res.CallsPerSec))]
	for i := range res.Readers {
		r := &res.Readers[i]
		r.Alone, r.WithSync, r.GracePeriods = r.Alone[:n], r.WithSync[:n], r.GracePeriods[:n]
	}
	for i, r := range SyncReaders {
		runs := laps[i][:min(n, len(laps[i]))]
		var all []time.Duration
		per := make([]Latency, len(runs))
		for j, l := range runs {
			all = append(all, l...)
			per[j] = Percentiles(l)
		}
		res.Synchronize[i] = SyncResult{Readers: r, Latency: Percentiles(all), PerRun: per}
	}
	return res
}

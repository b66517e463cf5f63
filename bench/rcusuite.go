// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"runtime"
	"time"

	"github.com/xabench/xabench/rcu"
)

// RCUOptions configures RunRCU.
type RCUOptions struct {
	Benchtime time.Duration // length of each measurement; 200ms if zero
	Count     int           // repetitions of each measurement; 3 if zero
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

// SyncResult holds Synchronize latencies measured with Readers busy
// readers.
type SyncResult struct {
	Readers int
	Latency
}

// RCUResults is the outcome of the rcu suite. Per-run numbers are kept;
// summaries are their medians.
type RCUResults struct {
	Machine    string
	Load       string // one-minute load average before the suite ran, if known
	Benchtime  time.Duration
	Count      int
	Goroutines int // goroutines of the parallel measurements

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
		opts.Count = 3
	}
	run := 0
	progress := func(name string) {
		if opts.Progress != nil {
			opts.Progress(run, name)
		}
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
	laps := make([][]time.Duration, len(SyncReaders))

	for run = 1; run <= opts.Count; run++ {
		for i, s := range sides {
			progress(s.Name + " serial")
			res.ReadSides[i].Serial = append(res.ReadSides[i].Serial, Serial(bt, s.New()))
			progress(s.Name + " parallel")
			res.ReadSides[i].Parallel = append(res.ReadSides[i].Parallel, Parallel(bt, g, s.New()))
		}
		for i, r := range SyncReaders {
			progress("Synchronize latency")
			d := rcu.NewDomain()
			laps[i] = append(laps[i], SynchronizeLatency(d, r, bt)...)
		}
		progress("Call throughput")
		d := rcu.NewDomain()
		res.CallsPerSec = append(res.CallsPerSec, CallThroughput(d, bt))
		d.Close()

		for i := range res.Readers {
			r := &res.Readers[i]
			progress("readers alone")
			alone, _ := ReaderThroughput(rcu.NewDomain(), r.Readers, false, bt)
			progress("readers beside Synchronize")
			with, gps := ReaderThroughput(rcu.NewDomain(), r.Readers, true, bt)
			r.Alone = append(r.Alone, alone)
			r.WithSync = append(r.WithSync, with)
			r.GracePeriods = append(r.GracePeriods, gps)
		}
	}
	for i, r := range SyncReaders {
		res.Synchronize[i] = SyncResult{Readers: r, Latency: Percentiles(laps[i])}
	}
	return res
}

// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loov/hrtime"
)

// The defaults of Options: ten short measurements of each cell rather
// than a few long ones, because the machine's speed drifts over seconds
// and a median of ten interleaved runs averages over more of it (and ten
// is what benchstat recommends; six is benchmath's minimum for a 95%
// interval).
const (
	DefaultBenchtime = 100 * time.Millisecond
	DefaultCount     = 10
)

// Options configures Run.
type Options struct {
	Benchtime time.Duration // length of each measurement; DefaultBenchtime if zero
	Count     int           // measurements of each cell; DefaultCount if zero
	// Progress, if not nil, is called before each measurement with the
	// number of measurements done, their total, and the cell's name.
	Progress func(done, total int, cell string)
	// IdleBefore, if positive, is recorded in the results as the share of
	// CPU time left idle just before the run (see CPUIdle).
	IdleBefore float64
	// Update, if not nil, is called with the results so far after each
	// measurement, from the goroutine that called Run (to write files
	// that keep what finished should the run be interrupted).
	Update func(*Results)
}

// sampleEvery is how many batches a worker runs per timed batch: one
// clock read per 8*64 operations costs well under 1% of a lookup.
const sampleEvery = 8

// maxSamples bounds the timed batches one worker keeps per measurement.
const maxSamples = 1 << 16

// cdfQuantiles are the quantiles the results keep of each measurement's
// latencies, for CDF charts.
var cdfQuantiles = func() []float64 {
	q := make([]float64, 0, 104)
	for i := 0; i <= 100; i++ {
		q = append(q, float64(i)/100)
	}
	q = append(q, 0.995, 0.999)
	slices.Sort(q)
	return q
}()

// Run measures cells: for each key set in turn it builds the competitors
// the cells need (measuring their bytes per entry), then measures every
// cell of the key set Count times, the repetitions interleaved so that
// slow drifts of the machine hit all competitors alike, and frees them.
// Before it frees a competitor that ran a write workload it checks that
// every key still holds its value, and lists the ones that did not in
// Broken. If ctx is cancelled, Run stops after the measurement in
// progress is abandoned and returns what finished, with Interrupted set.
// Cells that cannot be built (not enough node cache, say) are skipped
// and listed in Skipped.
func Run(ctx context.Context, suite string, cells []Cell, opts Options) *Results {
	if opts.Benchtime <= 0 {
		opts.Benchtime = DefaultBenchtime
	}
	if opts.Count <= 0 {
		opts.Count = DefaultCount
	}
	res := NewResults(suite, opts.Benchtime, opts.Count)
	res.IdleBefore = opts.IdleBefore
	total := len(cells) * opts.Count
	done := 0
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	for _, group := range groups(cells) {
		if ctx.Err() != nil {
			break
		}
		keys := Keys(group[0].Keys)
		fx := NewFixture(keys)
		seqs := map[Access][]uint64{}
		maps := map[string]Map{}
		bytes := map[string]float64{}
		comps := competitorsOf(group)
		slices.SortStableFunc(comps, func(a, b *Competitor) int { return a.gcCost - b.gcCost })
		runtime.GC()
		for _, c := range comps {
			m, b, err := build(c, fx)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s/impl=%s: %v", group[0].Keys, c.Name, err))
				continue
			}
			maps[c.Name] = m
			bytes[c.Name] = b
		}
		cellRes := make([]*CellResult, len(group))
		for i, c := range group {
			if _, ok := seqs[c.Access]; !ok {
				seqs[c.Access] = Sequence(keys, c.Access)
			}
			if _, ok := maps[c.Competitor.Name]; !ok {
				done += opts.Count
				continue
			}
			cellRes[i] = newCellResult(c, keys, bytes[c.Competitor.Name])
		}
	rounds:
		for round := 0; round < opts.Count; round++ {
			for k := range group {
				// Odd rounds run the cells in reverse, so that every cell
				// sits on average at the same place in a round.
				i := k
				if round%2 == 1 {
					i = len(group) - 1 - k
				}
				c := group[i]
				cr := cellRes[i]
				if cr == nil {
					continue
				}
				if ctx.Err() != nil {
					break rounds
				}
				if opts.Progress != nil {
					opts.Progress(done, total, c.FullName())
				}
				r, cdf, ok := measure(ctx, cellBatch(c, maps[c.Competitor.Name]), seqs[c.Access], c.Procs, opts.Benchtime)
				if !ok {
					break rounds
				}
				done++
				if len(cr.Runs) == 0 {
					res.Cells = append(res.Cells, cr)
				}
				cr.Runs = append(cr.Runs, r)
				cr.cdfRuns = append(cr.cdfRuns, cdf)
				cr.updateCDF()
				if opts.Update != nil {
					opts.Update(res)
				}
			}
		}
		// The write workloads must leave every key with its value.
		writers := writesIn(group)
		for _, c := range comps {
			if m, ok := maps[c.Name]; ok && writers[c.Name] && ctx.Err() == nil {
				if err := checkValues(m, keys); err != nil {
					res.Broken = append(res.Broken, fmt.Sprintf("%s/impl=%s: %v", group[0].Keys, c.Name, err))
				}
			}
		}
		for _, m := range maps {
			m.Close()
		}
		clear(maps)
		runtime.GC()
	}
	res.Interrupted = ctx.Err() != nil
	res.LoadAfter = LoadAverage()
	if opts.Progress != nil {
		opts.Progress(done, total, "")
	}
	return res
}

// build builds c over the fixture and returns the Map and the bytes it
// holds per key: the Go heap it allocated and kept, plus memory outside
// the heap objects it allocated (the XArray's nodes). The heap must have
// just been collected (by the previous build, or runtime.GC).
func build(c *Competitor, fx *Fixture) (Map, float64, error) {
	keys := fx.Keys
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := c.Build(fx)
	if err != nil {
		return nil, 0, err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b := max(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), 0)
	if e, ok := m.(extraBytes); ok {
		b += float64(e.ExtraBytes())
	}
	// The Map must give every key's value; check a sample.
	sample := keys[:min(len(keys), 1000)]
	var want uint64
	for _, k := range sample {
		want += k
	}
	if got := m.Load(sample); got != want {
		m.Close()
		return nil, 0, fmt.Errorf("%s: loads sum to %d, want %d", c.Name, got, want)
	}
	return m, b / float64(max(len(keys), 1)), nil
}

// A batchFunc runs the operations of one batch, the keys of chunk, which
// starts at position pos of the access sequence, and returns a checksum
// that the workers hand to Sink.
type batchFunc func(chunk []uint64, pos int) uint64

// mixBatch returns the batches of a lookup mix on m: Load of the whole
// chunk for reads only, else loads and stores as mixed places them.
func mixBatch(m Map, readPct int) batchFunc {
	if readPct >= 100 {
		return func(chunk []uint64, _ int) uint64 { return m.Load(chunk) }
	}
	return func(chunk []uint64, pos int) uint64 { return mixed(m, chunk, pos, readPct) }
}

// cellBatch returns the batches of cell c on m.
func cellBatch(c Cell, m Map) batchFunc {
	if c.Op != "" {
		return writeBatch(m, c.Op)
	}
	return mixBatch(m, c.ReadPct)
}

// Measure runs m on procs goroutines (with GOMAXPROCS = procs) for about
// dur, after a warm-up of a tenth of that, each goroutine walking seq
// from its own starting point in batches of Batch operations, readPct
// percent of them loads and the rest stores. It returns the
// measurement and the per-operation latency at the quantiles cdfQuantiles,
// from one timed batch in sampleEvery. ok is false if ctx was cancelled
// before the measurement finished.
func Measure(ctx context.Context, m Map, seq []uint64, readPct, procs int, dur time.Duration) (r RunResult, cdf []float64, ok bool) {
	return measure(ctx, mixBatch(m, readPct), seq, procs, dur)
}

// measure is Measure of any batches: batch run by each worker on its
// chunks of seq.
func measure(ctx context.Context, batch batchFunc, seq []uint64, procs int, dur time.Duration) (r RunResult, cdf []float64, ok bool) {
	procs = max(procs, 1)
	if runtime.GOMAXPROCS(0) != procs {
		runtime.GOMAXPROCS(procs)
	}
	if _, _, _, ok := runBatches(ctx, batch, seq, procs, max(dur/10, time.Millisecond), false); !ok {
		return r, nil, false
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ops, elapsed, lat, ok := runBatches(ctx, batch, seq, procs, dur, true)
	runtime.ReadMemStats(&after)
	if !ok {
		return r, nil, false
	}
	ns := float64(elapsed.Nanoseconds()) / float64(ops)
	r = RunResult{
		Ops:         ops,
		NsPerOp:     ns,
		MopsPerSec:  1e3 / ns,
		AllocsPerOp: float64(after.Mallocs-before.Mallocs) / float64(ops),
	}
	if len(lat) > 0 {
		h := hrtime.NewHistogram(lat, &hrtime.HistogramOptions{BinCount: 10})
		r.P50Ns, r.P99Ns = h.P50, h.P99
		slices.Sort(lat)
		cdf = make([]float64, len(cdfQuantiles))
		for i, q := range cdfQuantiles {
			cdf[i] = lat[min(len(lat)-1, int(math.Round(q*float64(len(lat)-1))))]
		}
	}
	return r, cdf, true
}

// runWorkers runs the workers of a lookup mix on m for dur and returns
// the operations they ran, the wall time from their start to the last
// one's return, and the per-operation latencies of their timed batches
// (if timed).
func runWorkers(ctx context.Context, m Map, seq []uint64, readPct, procs int, dur time.Duration, timed bool) (ops int64, elapsed time.Duration, lat []float64, ok bool) {
	return runBatches(ctx, mixBatch(m, readPct), seq, procs, dur, timed)
}

// runBatches is runWorkers of any batches.
func runBatches(ctx context.Context, batch batchFunc, seq []uint64, procs int, dur time.Duration, timed bool) (ops int64, elapsed time.Duration, lat []float64, ok bool) {
	type out struct {
		ops int64
		sum uint64
		lat []float64
	}
	outs := make([]out, procs)
	var stop atomic.Bool
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for g := range procs {
		var l []float64
		if timed {
			l = make([]float64, 0, maxSamples)
		}
		start := g * len(seq) / procs
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			o := &outs[g]
			o.ops, o.sum, o.lat = work(batch, seq, start, &stop, l)
		}()
	}
	t := time.NewTimer(dur)
	start := time.Now()
	close(gate)
	select {
	case <-t.C:
		ok = true
	case <-ctx.Done():
		t.Stop()
	}
	stop.Store(true)
	wg.Wait()
	elapsed = time.Since(start)
	var sum uint64
	for _, o := range outs {
		ops += o.ops
		sum += o.sum
		lat = append(lat, o.lat...)
	}
	Sink.Add(sum)
	return ops, elapsed, lat, ok
}

// work is one worker: batch on chunks of the sequence from start, wrapping
// around, until stop, and at least one, so that a measurement never
// counts zero operations when a busy machine schedules a worker late.
// One batch in sampleEvery is timed (while lat has room), and its time
// divided by its operations is appended to lat.
func work(batch batchFunc, seq []uint64, start int, stop *atomic.Bool, lat []float64) (ops int64, sum uint64, _ []float64) {
	pos := start
	for k := 0; k == 0 || !stop.Load(); k++ {
		end := min(pos+Batch, len(seq))
		chunk := seq[pos:end]
		timed := lat != nil && k%sampleEvery == 0 && len(lat) < cap(lat)
		var t0 time.Duration
		if timed {
			t0 = hrtime.Now()
		}
		sum += batch(chunk, pos)
		if timed {
			lat = append(lat, float64(hrtime.Now()-t0)/float64(len(chunk)))
		}
		ops += int64(len(chunk))
		pos = end
		if pos == len(seq) {
			pos = 0
		}
	}
	return ops, sum, lat
}

// mixed runs a batch that starts at position pos of the sequence: stores
// where writeAt says so, loads of the runs of keys between them.
func mixed(m Map, chunk []uint64, pos, readPct int) uint64 {
	var sum uint64
	from := 0
	for i := range chunk {
		if writeAt(pos+i, readPct) {
			if from < i {
				sum += m.Load(chunk[from:i])
			}
			m.Store(chunk[i])
			from = i + 1
		}
	}
	if from < len(chunk) {
		sum += m.Load(chunk[from:])
	}
	return sum
}

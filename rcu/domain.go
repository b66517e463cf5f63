// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xabench/xabench/internal/cpu"
)

// DefaultStallTimeout is how long a grace period may wait for read-side
// sections before Synchronize panics, unless SetStallTimeout says otherwise.
// A section held that long is almost certainly a bug.
const DefaultStallTimeout = 10 * time.Second

// stripe holds the reader counts of one group of Ps, one counter per phase.
// It fills its own cache lines (cpu.CacheLineSize) so that readers on
// different CPUs never write the same line.
type stripe struct {
	c [2]atomic.Int64
	_ [cpu.CacheLineSize - 16]byte
}

// A Domain is an independent RCU domain: a grace period of a Domain waits
// only for the read-side sections of that Domain.
//
// A Domain must be created with NewDomain and must not be copied.
type Domain struct {
	// Read by every ReadLock; written only by a grace period's flip.
	phase atomic.Uint32
	// memb selects the membarrier read side (cpus, spill) over the
	// locked one (stripes); fixed by newDomain.
	memb    bool
	mask    uint32
	stripes []stripe
	cpus    []cpuCounts
	_       cpu.CacheLinePad
	spill   spillCounts // fills its own cache lines

	// Grace periods. gpMu serialises them; gpSeq counts their starts and
	// ends (odd while one is in progress), as the kernel's rcu_seq does.
	gpMu      sync.Mutex
	gpSeq     atomic.Uint64
	lastGPEnd atomic.Int64 // monotime at the end of the last grace period
	stall     atomic.Int64 // stall timeout in nanoseconds; <= 0 disables
	noWait    bool         // fixed by newDomain: see domainConfig

	// Callbacks, see call.go.
	cbMu      sync.Mutex
	cbWake    chan struct{} // closed when cbDone advances or the worker exits
	pending   []func()
	spare     []func()
	cbQueued  uint64 // number of callbacks ever queued
	cbDone    uint64 // number of callbacks queued before the last completed batch
	running   bool   // a worker goroutine is running
	closed    bool
	workerWG  sync.WaitGroup
	cbBatches atomic.Uint64 // batches run, for tests and statistics
}

// NewDomain returns a new, independent Domain. Its read side keeps counts
// for as many Ps as runtime.GOMAXPROCS reports at the time of the call,
// rounded up to a power of two, at least 4 (Ps beyond them share one
// more set of counts). It is the membarrier read side where the system
// allows it and the locked one elsewhere; ReadSide says which.
func NewDomain() *Domain { return newDomain(domainConfig{}) }

// The read sides a Domain can have, as ReadSide names them.
const (
	// ReadSideMembarrier counts sections per P with plain stores and
	// makes grace periods pay for the ordering with membarrier(2).
	ReadSideMembarrier = "membarrier"
	// ReadSideLocked counts sections with a locked atomic add on a
	// per-P stripe: the read side where membarrier(2) is refused or
	// missing, and under the race detector.
	ReadSideLocked = "locked"
)

// ReadSide names d's read side: ReadSideMembarrier or ReadSideLocked.
func (d *Domain) ReadSide() string {
	if d.memb {
		return ReadSideMembarrier
	}
	return ReadSideLocked
}

// domainConfig is how newDomain builds a Domain; NewDomain's is the zero
// value. What it says is fixed for the Domain's life.
type domainConfig struct {
	// noWait makes every grace period return at once without waiting for
	// readers: a deliberately broken RCU, which only the torture test
	// builds (NewBrokenDomain in export_test.go) to prove that it catches
	// a premature free.
	noWait bool
	// locked makes the Domain use the locked read side even where the
	// membarrier one is available (tests and benchmarks compare them).
	locked bool
}

func newDomain(cfg domainConfig) *Domain {
	n := 4
	for n < runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	d := &Domain{
		mask:   uint32(n - 1),
		noWait: cfg.noWait,
	}
	if !cfg.locked && membarrierReady() {
		d.memb = true
		d.cpus = make([]cpuCounts, n)
	} else {
		d.stripes = make([]stripe, n)
	}
	d.lastGPEnd.Store(int64(-gpMinInterval))
	d.stall.Store(int64(DefaultStallTimeout))
	return d
}

// SetStallTimeout sets how long a grace period of d may wait for read-side
// sections before Synchronize panics with a stall report, and how long
// Barrier and Close may wait without any callback batch completing before
// they panic. A timeout of zero or less disables stall detection. The
// default is DefaultStallTimeout.
func (d *Domain) SetStallTimeout(timeout time.Duration) {
	d.stall.Store(int64(timeout))
}

// Synchronize waits for a grace period: it returns only after every
// read-side section of d that had begun before Synchronize was called has
// ended. Sections that begin later are not waited for.
//
// Concurrent callers share grace periods: a caller returns as soon as a
// grace period that started after its call has completed, whoever ran it.
//
// Grace periods of d that follow one another closely are spaced at least
// 15µs apart, so that a goroutine looping on
// Synchronize does not slow readers down; a call after a quiet spell
// starts at once.
//
// Synchronize must not be called inside a read-side section of d: that
// deadlocks, and is reported by a panic once the stall timeout expires.
func (d *Domain) Synchronize() {
	if d.noWait {
		return
	}
	// Any grace period that starts after this load serves us: its scans
	// come after the caller's unpublish (the load is sequentially
	// consistent and follows it in program order).
	snap := seqSnap(d.gpSeq.Load())
	d.gpMu.Lock()
	defer d.gpMu.Unlock()
	if d.gpSeq.Load() >= snap {
		return // another caller's grace period covered us
	}
	d.gracePeriod()
}

// seqSnap returns the value of gpSeq at which a grace period that started
// after seq was read has completed: the end of the next grace period if none
// is running, else of the one after the running one.
func seqSnap(seq uint64) uint64 {
	return (seq + 3) &^ 1
}

// gracePeriod runs one grace period; d.gpMu is held.
//
// Why this is enough. Let a writer unpublish an object and then call
// Synchronize, and let reader R hold the object: R incremented c[j] of its
// stripe s, then loaded the published word and saw the object. All the
// operations involved are sequentially consistent atomics, so they fall into
// one total order that respects program order. R's load saw the old value,
// so it precedes the unpublish; hence R's increment precedes the unpublish,
// which precedes this grace period and all its scans. Let p be the phase
// when the grace period starts; only grace periods flip the phase, and they
// are serialised, so j is p or p^1.
//
//   - j == p^1 (R read the phase before an earlier flip): step 1 scans
//     c[p^1] of stripe s after R's increment, so it sees R's count until R
//     decrements it.
//   - j == p: step 3 scans c[p] of stripe s after the flip and after R's
//     increment, likewise.
//
// A stripe's counter is never below the number of sections that
// incremented it and have not yet decremented it (ReadUnlock decrements the
// stripe recorded in the Token, not the current one), so a scan that reads
// zero proves that R's section has ended. Checking each stripe in turn is
// therefore as good as an atomic snapshot of all of them.
//
// A reader that increments a stripe after its scan is not waited for, and
// need not be: its load of the published word comes after the increment,
// hence after the scan, hence after the unpublish, so it cannot see the old
// object. It may have read the old phase, though, which is why step 1 of
// the next grace period drains the inactive counters before flipping again.
//
// The flip is what bounds the wait: new readers count on the new phase, so
// the old counters only drain.
func (d *Domain) gracePeriod() {
	d.pace()
	d.gpSeq.Add(1) // odd: in progress
	done := false
	defer func() {
		if done {
			d.lastGPEnd.Store(int64(monotime()))
			d.gpSeq.Add(1) // even: completed
		} else {
			d.gpSeq.Add(^uint64(0)) // abandoned by a stall panic
		}
	}()
	w := waiter{deadline: time.Duration(d.stall.Load())}
	p := d.phase.Load() & 1
	d.drain(p^1, &w) // 1: stragglers of the previous grace period
	d.phase.Store(p ^ 1)
	d.drain(p, &w) // 3: every section that may have started before the flip
	done = true
}

// gpMinInterval is the least time from the end of one grace period of a
// Domain to the start of the next.
//
// A grace period writes the phase word that every ReadLock reads and reads
// every stripe that readers write, so each one costs readers a few cache
// misses. Run back to back, as fast as an idle machine allows (a few
// hundred nanoseconds each), they would take half the read-side throughput
// of a reader on another CPU. Spacing them bounds that cost to a few
// percent, at most 1/gpMinInterval grace periods a second. (The kernel's
// grace periods take milliseconds.) A Synchronize that follows a quiet
// spell is not delayed; callers that arrive while a grace period is being
// spaced share it.
const gpMinInterval = 15 * time.Microsecond

// pace waits, yielding the processor, until gpMinInterval has passed since
// the last grace period of d ended. d.gpMu is held.
func (d *Domain) pace() {
	for d.sinceLastGP() < gpMinInterval {
		runtime.Gosched()
	}
}

// sinceLastGP returns the time since the last grace period of d ended.
func (d *Domain) sinceLastGP() time.Duration {
	return monotime() - time.Duration(d.lastGPEnd.Load())
}

// epoch is the origin of monotime.
var epoch = time.Now()

// monotime returns the time since epoch on the monotonic clock.
func monotime() time.Duration { return time.Since(epoch) }

// drain waits until no section counted on phase idx is in progress: on
// the locked read side, until counter idx of every stripe has been seen
// at zero; on the membarrier one, until membIdle says so.
func (d *Domain) drain(idx uint32, w *waiter) {
	if d.memb {
		for !d.membIdle(idx) {
			w.wait()
		}
		return
	}
	for i := range d.stripes {
		c := &d.stripes[i].c[idx]
		for c.Load() != 0 {
			w.wait()
		}
	}
}

// waiter paces a grace period's wait for readers: first it yields the
// processor a few times, which lets a reader that shares the P finish a
// short section, then it sleeps with an exponential backoff, so that a
// grace period waiting on a long section costs no CPU.
type waiter struct {
	spins    int
	sleep    time.Duration
	began    time.Time
	deadline time.Duration
}

const (
	waiterYields   = 32
	waiterMinSleep = 1 * time.Microsecond
	waiterMaxSleep = 1 * time.Millisecond
)

func (w *waiter) wait() {
	w.spins++
	if w.spins <= waiterYields {
		runtime.Gosched()
		return
	}
	if w.began.IsZero() {
		w.began = time.Now()
		w.sleep = waiterMinSleep
	}
	if w.deadline > 0 {
		if waited := time.Since(w.began); waited > w.deadline {
			panic(fmt.Sprintf("rcu: grace period stalled: a read-side section was held for more than %v; "+
				"most likely Synchronize or Barrier was called inside a read-side section of the same Domain, "+
				"or a ReadLock was never matched by ReadUnlock", w.deadline))
		}
	}
	time.Sleep(w.sleep)
	if w.sleep < waiterMaxSleep {
		w.sleep *= 2
	}
}

// gracePeriods returns the number of grace periods d has completed.
func (d *Domain) gracePeriods() uint64 {
	return d.gpSeq.Load() / 2
}

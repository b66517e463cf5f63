// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Faults makes node allocation fail on request, as failslab does, so
// that every ErrNoMemory path can be tested. Build an array with
// WithFaults to use it.
//
// By default only allocations made under the array's lock fail: those
// are the kernel's GFP_NOWAIT allocations, and the normal API recovers
// from them by dropping the lock and allocating again (xas_nomem).
// SetEverywhere makes the allocations outside the lock fail too, and then
// the normal API returns ErrNoMemory.
type Faults struct {
	mu         sync.Mutex
	failNext   int
	prob       float64
	everywhere bool
	rng        *rand.Rand
	injected   atomic.Int64
}

// NewFaults returns a Faults that injects nothing until told to; seed
// drives the probabilistic failures.
func NewFaults(seed uint64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// FailNext makes the next n eligible allocations fail.
func (f *Faults) FailNext(n int) {
	f.mu.Lock()
	f.failNext = n
	f.mu.Unlock()
}

// SetProbability makes each eligible allocation fail with probability p.
func (f *Faults) SetProbability(p float64) {
	f.mu.Lock()
	f.prob = p
	f.mu.Unlock()
}

// SetEverywhere chooses whether allocations outside the lock are
// eligible to fail too.
func (f *Faults) SetEverywhere(on bool) {
	f.mu.Lock()
	f.everywhere = on
	f.mu.Unlock()
}

// Injected returns the number of failures injected so far.
func (f *Faults) Injected() int64 { return f.injected.Load() }

func (f *Faults) fail(locked bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !locked && !f.everywhere {
		return false
	}
	if f.failNext > 0 {
		f.failNext--
		f.injected.Add(1)
		return true
	}
	if f.prob > 0 && f.rng.Float64() < f.prob {
		f.injected.Add(1)
		return true
	}
	return false
}

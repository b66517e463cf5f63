// SPDX-License-Identifier: GPL-2.0-or-later

// Package sched is a controlled scheduler for searching the interleavings
// of a few goroutines and replaying one of them exactly, in the manner of
// CHESS, Coyote and loom.
//
// A controlled run (Run) starts one goroutine per Thread and lets exactly
// one of them run at a time. A running goroutine gives control back at
// each schedule point it passes: every internal/inject Point while a run is
// in progress, and the calls the model makes for itself (Yield, Block,
// Signal: the XArray's lock is built on them). At each point the run asks
// a Strategy which goroutine runs next, and records the answer. A run ends
// when every goroutine has returned.
//
// How the pieces fit:
//
//   - Strategies (strategy.go) choose: Random is a seeded random walk;
//     NewPCT is probabilistic concurrency testing (Burckhardt et al.,
//     ASPLOS 2010); a Schedule replays recorded choices and reports a run
//     that leaves them as a *Divergence naming the step.
//   - An Execution (run.go) is what a run did: the choice made at each
//     step, the point each step reached, the goroutines' panics, and why it
//     stopped early if it did (ErrDeadlock, ErrStepLimit, *Divergence).
//   - A Schedule (schedule.go) is an Execution's choices as a short
//     string with a label (what was run) and a hash of the points passed;
//     Replay runs it again and checks that the same points are passed.
//   - Search (search.go) runs a program many times under a strategy and
//     stops at the first run its checker rejects.
//   - WriteTrace (trace.go) prints an Execution as numbered steps, one
//     column per goroutine, each step named by its schedule point (the
//     kernel function, where Describe gave one).
//
// A goroutine that must wait for another (a lock found taken) calls Block
// instead of blocking: it is not chosen again until some goroutine calls
// Signal with the same key, so the run never waits on anything but its
// own choices; if every goroutine left is blocked, the run ends with
// ErrDeadlock. A goroutine that spins on a schedule point until another
// one acts is ended by the step limit under a strategy that never lets the
// other run (PCT has a fairness rule, SpinLimit, for that).
//
// Goroutines are told apart by an identity read from the runtime (gid),
// so that Current costs a map lookup, not a stack walk.
//
// Outside a run nothing here costs more than one atomic load: Active is
// that load, and an inject Point pays it in the word it already reads.
// One controlled run at a time per process; goroutines that the run did
// not start pass schedule points as if no run were in progress.
package sched

import (
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/internal/inject"
)

var (
	// active is set while a controlled run is in progress.
	active atomic.Bool
	// current is the run in progress, or nil.
	current atomic.Pointer[run]
	// runMu makes controlled runs one at a time.
	runMu sync.Mutex
	// kernelNames maps a schedule point to the kernel code it stands
	// for (Describe).
	kernelNames sync.Map
)

// Active reports whether a controlled run is in progress: the one atomic
// load that code with a search-aware slow path (the XArray's lock) pays
// outside a search.
func Active() bool { return active.Load() }

// Current returns the calling goroutine's handle in the controlled run in
// progress, or nil if no run is in progress or the caller is not one of
// its goroutines. During a run it costs a map lookup by the calling
// goroutine's identity (gid); otherwise an atomic load.
func Current() *G {
	if !active.Load() {
		return nil
	}
	r := current.Load()
	if r == nil {
		return nil
	}
	if g := r.byGID[gid()]; g != nil && !g.gone.Load() {
		return g
	}
	return nil
}

// Yield is a schedule point named point if the caller is a goroutine of
// the run in progress (see G.Yield), and nothing otherwise.
func Yield(point string) {
	if g := Current(); g != nil {
		g.Yield(point)
	}
}

// Describe names the kernel code that schedule point point stands for
// ("xas_descend: the slot a sibling names"), for WriteTrace. Call it once
// per point, next to the point's declaration; it returns true so that it
// can initialise a package variable.
func Describe(point, kernel string) bool {
	kernelNames.Store(point, kernel)
	return true
}

// Kernel returns what Describe gave for point, or "".
func Kernel(point string) string {
	if k, ok := kernelNames.Load(point); ok {
		return k.(string)
	}
	return ""
}

// searchHook is the inject hook of a controlled run: a pass of a Point by
// one of the run's goroutines is a schedule point of that name.
func searchHook(p *inject.Point) bool {
	g := Current()
	if g == nil {
		return false
	}
	g.Yield(p.Name())
	return true
}

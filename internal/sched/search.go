// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec names a search strategy: "random", "pct:D" or "pct:D:K" (PCT for
// bugs of depth D over runs of K steps; without K, K is the length of the
// search's first run).
type Spec struct {
	Kind  string // "random" or "pct"
	Depth int    // PCT's d
	K     int    // PCT's k; 0: measured by the first run
}

// ParseSpec reads a Spec from its String form.
func ParseSpec(text string) (Spec, error) {
	parts := strings.Split(text, ":")
	switch {
	case len(parts) == 1 && parts[0] == "random":
		return Spec{Kind: "random"}, nil
	case parts[0] == "pct" && (len(parts) == 2 || len(parts) == 3):
		d, err := strconv.Atoi(parts[1])
		if err != nil || d < 1 || d > 64 {
			return Spec{}, fmt.Errorf("sched: strategy %q: the depth must be 1 to 64", text)
		}
		sp := Spec{Kind: "pct", Depth: d}
		if len(parts) == 3 {
			k, err := strconv.Atoi(parts[2])
			if err != nil || k < 1 {
				return Spec{}, fmt.Errorf("sched: strategy %q: k must be a positive number of steps", text)
			}
			sp.K = k
		}
		return sp, nil
	}
	return Spec{}, fmt.Errorf("sched: strategy %q: want random, pct:D or pct:D:K", text)
}

func (s Spec) String() string {
	switch {
	case s.Kind == "pct" && s.K > 0:
		return fmt.Sprintf("pct:%d:%d", s.Depth, s.K)
	case s.Kind == "pct":
		return fmt.Sprintf("pct:%d", s.Depth)
	}
	return s.Kind
}

// strategy returns the Strategy of run number run (from 1) of a search
// seeded with seed, given PCT's k.
func (s Spec) strategy(seed uint64, run, k int) Strategy {
	rs := runSeed(seed, run)
	if s.Kind == "pct" {
		return NewPCT(rs, s.Depth, k)
	}
	return Random(rs)
}

// Program builds one run of a search: fresh objects, the goroutines that
// race on them, and the checker that judges the run once it is over,
// returning the violation it found or nil. check sees the Execution, its
// panics and its Err (a deadlock or step limit) included; it also cleans
// up after the run.
type Program func() (threads []Thread, check func(e *Execution) error)

// SearchOptions say how long a search goes on.
type SearchOptions struct {
	Runs     int    // the most runs (1 if 0)
	Seed     uint64 // the same Seed makes the same runs
	MaxSteps int    // per run (DefaultMaxSteps if 0)
	// All runs every run and counts the violations, instead of stopping
	// at the first: PCT's hit rate.
	All bool
	// Context, if set, ends the search between two runs when it is done
	// (an interrupt); the result says Interrupted.
	Context context.Context
}

// Finding is a run that the checker rejected.
type Finding struct {
	Run  int // from 1
	Exec *Execution
	Err  error // what check returned
}

// SearchResult is what a search did.
type SearchResult struct {
	Spec       Spec
	Runs       int // runs made
	Violations int // runs the checker rejected
	First      *Finding
	K          int // PCT's k as used: Spec.K or the first run's length
	Steps      int // over every run
	Longest    int // the most steps of one run
	Elapsed    time.Duration
	// Interrupted says that Context ended the search before its runs
	// were done and before it found anything.
	Interrupted bool
}

// Search runs prog up to opt.Runs times under spec, run i with a strategy
// seeded from opt.Seed and i, and stops at the first run whose checker
// returns an error (or goes on, with opt.All). For PCT without a K, run 1
// has no change points (d=1: a run by priorities alone) and its length is
// the k of the rest.
func Search(spec Spec, opt SearchOptions, prog Program) SearchResult {
	start := time.Now()
	res := SearchResult{Spec: spec, K: spec.K}
	runs := max(opt.Runs, 1)
	for i := 1; i <= runs; i++ {
		if opt.Context != nil && opt.Context.Err() != nil {
			res.Interrupted = true
			break
		}
		var s Strategy
		if spec.Kind == "pct" && res.K == 0 {
			s = NewPCT(runSeed(opt.Seed, i), 1, 1)
		} else {
			s = spec.strategy(opt.Seed, i, res.K)
		}
		threads, check := prog()
		e := Run(s, threads, Options{MaxSteps: opt.MaxSteps})
		err := check(e)
		res.Runs++
		res.Steps += e.Steps()
		res.Longest = max(res.Longest, e.Steps())
		if spec.Kind == "pct" && res.K == 0 {
			res.K = max(e.Steps(), 1)
		}
		if err != nil {
			res.Violations++
			if res.First == nil {
				res.First = &Finding{Run: i, Exec: e, Err: err}
			}
			if !opt.All {
				break
			}
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

// runSeed is the seed of run number run of a search seeded with seed.
func runSeed(seed uint64, run int) uint64 {
	return seed*0x9e3779b97f4a7c15 ^ uint64(run)*0xbf58476d1ce4e5b9
}

// Bound is PCT's guarantee for a bug of depth d among n goroutines in
// runs of k steps: the least probability that one run finds it,
// 1/(n·k^(d-1)).
func Bound(n, k, d int) float64 {
	p := float64(n)
	for range d - 1 {
		p *= float64(k)
	}
	return 1 / p
}

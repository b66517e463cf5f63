// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xabench/xabench/internal/sched"
	"github.com/xabench/xabench/kernel"
	"github.com/xabench/xabench/rcu"
	"github.com/xabench/xabench/xarray"
)

// Schedule search over small configurations.
//
// A stress run finds a race by running many goroutines for seconds with
// widened windows; a failure replays only its seeds, not its
// interleaving. A small configuration is the same race cut down to two
// goroutines doing a few operations each on objects built afresh for
// every run, which internal/sched runs one goroutine at a time: Explore
// searches its interleavings with a strategy (random walk, PCT), and a
// violating run comes back as a schedule string that ReplaySchedule runs
// again exactly. The configurations live in smallConfigs (explore_*.go),
// keyed by scenario name, next to the scenarios they cut down.
//
// What a configuration may do: build its objects in setup (outside the
// search), then in its goroutines call only code whose waits are schedule
// points (the XArray's lock is; the folio lock, the invalidate lock and
// RCU grace periods are not yet), free no XArray node (a node freed
// through RCU comes back to the node cache on the RCU domain's own
// goroutine, outside the scheduler's control, and would make Load's free
// sequence move at a time no schedule says), and report what it finds
// with exploreRun.report.

// smallConfig is one scenario's small configuration.
type smallConfig struct {
	name    string         // in schedule labels: "small"
	about   string         // what the goroutines do, one line
	variant xarray.Variant // the scenario's bug, added in the buggy form
	// build makes one run's objects and returns its goroutines.
	build func(x *exploreRun) []sched.Thread
}

// smallConfigs maps a scenario name to its small configuration.
var smallConfigs = map[string]*smallConfig{}

// SmallConfig returns the name of s's small configuration and what its
// goroutines do, or ok false if s has none yet.
func (s *Scenario) SmallConfig() (name, about string, ok bool) {
	c := smallConfigs[s.Name]
	if c == nil {
		return "", "", false
	}
	return c.name, c.about, true
}

// ExploreViolation is what a checker found in one run of a small
// configuration.
type ExploreViolation struct {
	Kind   string // one line: what broke
	Report string // where, with the array's dump
	Step   int    // the trace event after which it was found; -1 after the run
}

func (v *ExploreViolation) Error() string { return v.Kind }

// exploreRun is one run of a small configuration: its objects and what
// its goroutines found. The goroutines run one at a time, so they share
// it without locking.
//
// Each run has an RCU domain of its own: a run that stops early unwinds
// its goroutines where they stand, and one unwound inside a read-side
// section leaves that section open for good, which would stall every
// later grace period of a shared domain.
type exploreRun struct {
	rcu       *rcu.Domain
	xaOptions []xarray.Option
	arrays    []*xarray.XArray
	found     *ExploreViolation
}

// newExploreRun starts a run of c in the given variant and release.
func newExploreRun(c *smallConfig, variant string, prof *kernel.Profile) *exploreRun {
	d := rcu.NewDomain()
	d.SetStallTimeout(0)
	v := xarray.Variant(0)
	if prof != nil {
		v |= prof.XArray
	}
	if variant == Buggy {
		v |= c.variant
	}
	return &exploreRun{rcu: d, xaOptions: []xarray.Option{xarray.WithRCU(d), xarray.WithVariant(v)}}
}

// newXArray builds an XArray of the run with the configuration's
// variants and the run's RCU domain.
func (x *exploreRun) newXArray() *xarray.XArray {
	xa := xarray.New(0, x.xaOptions...)
	x.arrays = append(x.arrays, xa)
	return xa
}

// op is a schedule point at the start of an operation, named by it
// ("xa_load(191)"): the trace shows which call each goroutine is in.
func (x *exploreRun) op(label string) { sched.Yield(label) }

// report records a violation found by the calling goroutine; the first
// one is the run's. It also notes it in the trace, at the step where it
// was found.
func (x *exploreRun) report(kind, report string) {
	step := -1
	if g := sched.Current(); g != nil {
		g.Note("violation: " + kind)
		step = g.Step()
	}
	if x.found == nil {
		x.found = &ExploreViolation{Kind: kind, Report: report, Step: step}
	}
}

// check judges a finished run and tears it down. The run's violation is
// the first of: what a goroutine reported or a goroutine's panic (a
// kernel BUG), whichever came first; a deadlock; a run without end; the
// arrays' invariants at the end.
func (x *exploreRun) check(e *sched.Execution) error {
	defer x.teardown(e)
	switch {
	case len(e.Panics) > 0 && (x.found == nil || e.Panics[0].Step < x.found.Step):
		p := e.Panics[0]
		return &ExploreViolation{Kind: "kernel BUG: " + firstLine(fmt.Sprint(p.Value)),
			Report: fmt.Sprintf("in %s:\n%v\n%s", e.Threads[p.G], p.Value, p.Stack), Step: p.Step}
	case x.found != nil:
		return x.found
	case errors.Is(e.Err, sched.ErrDeadlock):
		return &ExploreViolation{Kind: "deadlock: " + e.Err.Error(), Report: e.Err.Error(), Step: -1}
	case errors.Is(e.Err, sched.ErrStepLimit):
		return &ExploreViolation{Kind: "livelock: " + e.Err.Error(), Report: e.Err.Error(), Step: -1}
	case e.Err != nil:
		return e.Err // a divergence: not the model's fault
	}
	for _, xa := range x.arrays {
		if err := xa.Check(); err != nil {
			return &ExploreViolation{Kind: "invariant broken at the end: " + firstLine(err.Error()),
				Report: err.Error() + "\n" + dumpArray(xa), Step: -1}
		}
	}
	return nil
}

// teardown frees the run's arrays and closes its RCU domain. After a run
// that stopped early or lost a goroutine to a panic, a lock may be held
// and a read-side section open for good: such a run's objects are left
// to the garbage collector (its few nodes stay out of the node cache), and
// since the configurations free no node while they run, its domain has
// no callback and no goroutine to wait for.
func (x *exploreRun) teardown(e *sched.Execution) {
	if e.Err != nil || len(e.Panics) > 0 {
		return
	}
	for _, xa := range x.arrays {
		destroyQuietly(xa)
	}
	x.rcu.Close()
}

// ExploreOptions say how Explore searches.
type ExploreOptions struct {
	Variant  string          // Buggy or Fixed
	Kernel   *kernel.Profile // as Config.Kernel: the fixed form as that release
	Strategy sched.Spec
	Runs     int    // the most runs (1 if 0)
	Seed     uint64 // the same seed makes the same runs
	// All makes every run and counts the violating ones instead of
	// stopping at the first: a strategy's hit rate.
	All bool
	// Context, if set, ends the search between two runs when it is
	// done; Search.Interrupted says so.
	Context context.Context
}

// ExploreResult is what a search of a small configuration did and found.
type ExploreResult struct {
	Scenario, Variant, Kernel, Config string
	Search                            sched.SearchResult
	// Violation is the first violating run's, with its Schedule string;
	// nil and "" for a clean search.
	Violation *ExploreViolation
	Schedule  string
}

// Clean reports whether the search found nothing.
func (r ExploreResult) Clean() bool { return r.Violation == nil }

// Explore searches the interleavings of s's small configuration, in the
// given variant, with the given strategy, until a run violates or
// opt.Runs runs are done (see sched.Search). The same options make the
// same runs.
func (s *Scenario) Explore(opt ExploreOptions) (ExploreResult, error) {
	c, err := s.smallConfig(opt.Variant, opt.Kernel)
	if err != nil {
		return ExploreResult{}, err
	}
	res := ExploreResult{Scenario: s.Name, Variant: opt.Variant, Config: c.name}
	if opt.Kernel != nil {
		res.Kernel = opt.Kernel.Name
	}
	prog := func() ([]sched.Thread, func(*sched.Execution) error) {
		x := newExploreRun(c, opt.Variant, opt.Kernel)
		return c.build(x), x.check
	}
	res.Search = sched.Search(opt.Strategy, sched.SearchOptions{Runs: opt.Runs, Seed: opt.Seed, All: opt.All, Context: opt.Context}, prog)
	if f := res.Search.First; f != nil {
		var v *ExploreViolation
		if !errors.As(f.Err, &v) {
			return res, fmt.Errorf("stress: explore %s: run %d: %w", s.Name, f.Run, f.Err)
		}
		res.Violation = v
		res.Schedule = f.Exec.Schedule(scheduleLabel(s.Name, opt.Variant, c.name, res.Kernel)...).String()
	}
	return res, nil
}

// smallConfig returns s's small configuration, checking the variant and
// release as Run does.
func (s *Scenario) smallConfig(variant string, prof *kernel.Profile) (*smallConfig, error) {
	c := smallConfigs[s.Name]
	if c == nil {
		var have []string
		for _, sc := range Scenarios() {
			if smallConfigs[sc.Name] != nil {
				have = append(have, sc.Name)
			}
		}
		return nil, fmt.Errorf("stress: %s has no small configuration for schedule search yet (have %s)",
			s.Name, strings.Join(have, ", "))
	}
	if variant != Buggy && variant != Fixed {
		return nil, fmt.Errorf("stress: variant %q: want %q or %q", variant, Buggy, Fixed)
	}
	if variant == Buggy && prof != nil {
		return nil, fmt.Errorf("stress: a release runs the fixed form: not with the buggy variant")
	}
	return c, nil
}

// scheduleLabel is what a schedule string says was run: scenario,
// variant, configuration and, if set, the release.
func scheduleLabel(scenario, variant, config, release string) []string {
	label := []string{scenario, variant, config}
	if release != "" {
		label = append(label, "kernel="+release)
	}
	return label
}

// ReplayResult is what a replayed schedule did.
type ReplayResult struct {
	Scenario, Variant, Kernel, Config string
	Exec                              *sched.Execution
	Violation                         *ExploreViolation // nil: the run was clean
	Elapsed                           time.Duration
}

// ReplaySchedule runs the schedule string text again: the scenario,
// variant, configuration and release it names, with its choices forced.
// A run that leaves the schedule is an error (a *sched.Divergence naming
// the step), as is a schedule this build cannot run.
func ReplaySchedule(text string) (ReplayResult, error) {
	sc, err := sched.ParseSchedule(text)
	if err != nil {
		return ReplayResult{}, err
	}
	if len(sc.Label) < 3 || len(sc.Label) > 4 {
		return ReplayResult{}, fmt.Errorf("stress: schedule label %q: want SCENARIO,VARIANT,CONFIG[,kernel=RELEASE]", strings.Join(sc.Label, ","))
	}
	s, err := Lookup(sc.Label[0])
	if err != nil {
		return ReplayResult{}, err
	}
	res := ReplayResult{Scenario: s.Name, Variant: sc.Label[1], Config: sc.Label[2]}
	var prof *kernel.Profile
	if len(sc.Label) == 4 {
		name, ok := strings.CutPrefix(sc.Label[3], "kernel=")
		if !ok {
			return res, fmt.Errorf("stress: schedule label field %q: want kernel=RELEASE", sc.Label[3])
		}
		p, err := kernel.Lookup(name)
		if err != nil {
			return res, err
		}
		prof = &p
		res.Kernel = p.Name
	}
	c, err := s.smallConfig(res.Variant, prof)
	if err != nil {
		return res, err
	}
	if c.name != res.Config {
		return res, fmt.Errorf("stress: schedule for configuration %q of %s; this build has %q", res.Config, s.Name, c.name)
	}
	x := newExploreRun(c, res.Variant, prof)
	start := time.Now()
	e, err := sched.Replay(sc, c.build(x), sched.Options{})
	res.Elapsed = time.Since(start)
	res.Exec = e
	verdict := x.check(e)
	if err != nil {
		return res, err
	}
	if verdict != nil {
		var v *ExploreViolation
		if !errors.As(verdict, &v) {
			return res, verdict
		}
		res.Violation = v
	}
	return res, nil
}

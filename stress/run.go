// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/kernel"
	"github.com/xabench/xabench/rcu"
	"github.com/xabench/xabench/xarray"
)

// Variant names the two forms of a scenario.
const (
	Buggy = "buggy"
	Fixed = "fixed"
)

// Config says how to run a scenario.
type Config struct {
	Duration   time.Duration // how long to run if nothing is found (default 5 s)
	Seed       uint64        // the run's seed; each goroutine's derives from it
	Goroutines int           // scales the number of workers (default: the scenario's)
	Inject     bool          // widen the scenario's race windows
	// Progress, if set, is called about every 250 ms while the run goes.
	Progress func(p Progress)
	// Context, if set, ends the run early when it is done (an interrupt):
	// the workers stop, the run is torn down and checked as at its end,
	// and the Result says Interrupted.
	Context context.Context
	// Kernel, if set, runs as that kernel release: every XArray and
	// every file the run builds gets the profile's variants, in a
	// scenario's fixed form as in a workload. "Scenario S as release R"
	// is S.Run(Fixed, Config{Kernel: &R}); in the buggy form the
	// scenario's own variant is added on top (xabench repro refuses that
	// combination). The Result and a Violation name the release.
	Kernel *kernel.Profile
	// XArrayVariant and FilemapVariant, if set, are added to every
	// XArray and file the run builds, as Kernel's are: a known bug, for
	// example, to show that a plain workload (Workloads) catches bugs it
	// was not written for.
	XArrayVariant  xarray.Variant
	FilemapVariant filemap.Variant
	// KeepGoing keeps the run going after a violation, for its whole
	// Duration, as far as the model stays usable (a worker that hit a
	// kernel BUG is gone, and others may wait on a lock it held), and
	// counts what it finds by class (Result.ByClass): the symptom chain
	// a kernel would show after the first corruption.
	KeepGoing bool
}

// ClassCount is how often a run reported one class of violation.
type ClassCount struct {
	N     int64         // reports of the class
	First time.Duration // from the start of the run to the first of them
}

// kernelName is the name of cfg.Kernel, or "" if none is set.
func (cfg Config) kernelName() string {
	if cfg.Kernel == nil {
		return ""
	}
	return cfg.Kernel.Name
}

// Progress is a snapshot of a running scenario.
type Progress struct {
	Elapsed time.Duration
	Ops     int64
}

// Violation is the first thing a run found broken.
type Violation struct {
	Kind     string        // one line: what broke
	Report   string        // the kernel-style report: where, dump_page, node dump
	After    time.Duration // time from the start of the run to detection
	Scenario string
	Variant  string
	Kernel   string // the release the run modelled (Config.Kernel), "" for none
	Seed     uint64
}

func (v *Violation) String() string {
	kern, replay := "", ""
	if v.Kernel != "" {
		kern = ", kernel " + v.Kernel
		replay = " --kernel " + v.Kernel
	}
	return fmt.Sprintf("%s\n%s\nscenario %s, variant %s%s, seed %d, found after %v\nreplay: xabench repro %s --variant %s%s --seed %d",
		v.Kind, v.Report, v.Scenario, v.Variant, kern, v.Seed, v.After.Round(time.Microsecond),
		v.Scenario, v.Variant, replay, v.Seed)
}

// Result is what a run did and found.
type Result struct {
	Scenario    string
	Variant     string
	Kernel      string // the release the run modelled (Config.Kernel), "" for none
	Seed        uint64
	Elapsed     time.Duration
	Ops         int64
	Violations  int64      // all violations reported, the first included
	First       *Violation // nil when the run was clean
	Interrupted bool       // Config.Context ended the run before its time
	// ByClass counts the violations by class (ViolationClass), with
	// Config.KeepGoing; nil otherwise.
	ByClass map[string]ClassCount
}

// Clean reports whether the run found nothing.
func (r Result) Clean() bool { return r.First == nil }

// run is one execution of a scenario: its workers, its clock and what
// they found.
type run struct {
	scenario string
	variant  string
	cfg      Config
	start    time.Time
	deadline time.Time
	stop     atomic.Bool
	ops      atomic.Int64
	found    atomic.Int64
	mu       sync.Mutex
	first    *Violation
	byClass  map[string]ClassCount // with Config.KeepGoing; guarded by mu
	wg       sync.WaitGroup
	workers  atomic.Uint64
	stuck    bool        // workers never came back: leave the objects alone
	cut      atomic.Bool // Config.Context ended the run early

	// xaVariant and fmVariant are what every XArray and file of the run
	// gets: Config.Kernel's variants and Config's own.
	xaVariant xarray.Variant
	fmVariant filemap.Variant

	rcu     *rcu.Domain // the run's own domain, so a broken run stalls only itself
	arrays  []*xarray.XArray
	memmaps []*folio.Memmap
}

// xarrayOptions are the options of every XArray of the run: the run's
// variants (Config.Kernel's and Config.XArrayVariant), and in the buggy
// form the scenario's variant v on top.
func (r *run) xarrayOptions(v xarray.Variant) []xarray.Option {
	opts := []xarray.Option{xarray.WithRCU(r.rcu)}
	variant := r.xaVariant
	if r.buggy() {
		variant |= v
	}
	if variant != 0 {
		opts = append(opts, xarray.WithVariant(variant))
	}
	return opts
}

// newXArray builds an XArray of the run.
func (r *run) newXArray(v xarray.Variant) *xarray.XArray {
	xa := xarray.New(0, r.xarrayOptions(v)...)
	r.arrays = append(r.arrays, xa)
	return xa
}

// waitWorkers waits for the workers to stop. A worker that died of a
// kernel BUG may have left an XArray or folio lock held, and others wait
// on it for ever, as CPUs spin on a lock a crashed task held: once the
// run is over and nothing has moved for a second, the locks are broken,
// as a crash dump ends a kernel. If the workers still do not come back,
// the run is reported stuck and they are left behind.
func (r *run) waitWorkers() {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := int64(-1)
	for tries := 0; ; {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if !r.done() {
			continue
		}
		ops := r.ops.Load()
		if ops != last {
			last = ops
			continue
		}
		if tries++; tries > 10 {
			r.stuck = true
			r.report("workers stuck", "workers did not stop after the run ended, even with the locks broken")
			return
		}
		for _, xa := range r.arrays {
			xa.BreakLock()
		}
		for _, m := range r.memmaps {
			m.BreakFolioLocks()
		}
	}
}

// closeRCU waits for the run's callbacks, unless a dead reader keeps a
// grace period from ending. A long run can leave a long queue of node
// frees, which takes a while under -race: the wait is generous.
func (r *run) closeRCU() {
	done := make(chan struct{})
	go func() {
		r.rcu.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(rcuDrainTimeout):
		r.report("grace period stalled",
			fmt.Sprintf("the run's RCU callbacks did not drain within %v of its end: a read-side section never ended (a reader died inside it)", rcuDrainTimeout))
	}
}

// rcuDrainTimeout bounds closeRCU's wait.
const rcuDrainTimeout = time.Minute

func (r *run) buggy() bool { return r.variant == Buggy }

// done reports whether workers must stop: a violation was found, or the
// time is up.
func (r *run) done() bool {
	if r.stop.Load() {
		return true
	}
	if time.Now().After(r.deadline) {
		r.stop.Store(true)
		return true
	}
	return false
}

// op counts one operation of the workload.
func (r *run) op() { r.ops.Add(1) }

// report records a violation; the first one stops the run.
func (r *run) report(kind, report string) {
	r.found.Add(1)
	after := time.Since(r.start)
	r.mu.Lock()
	if r.first == nil {
		r.first = &Violation{Kind: kind, Report: report, After: after,
			Scenario: r.scenario, Variant: r.variant, Kernel: r.cfg.kernelName(), Seed: r.cfg.Seed}
	}
	if r.cfg.KeepGoing {
		if r.byClass == nil {
			r.byClass = map[string]ClassCount{}
		}
		c := r.byClass[ViolationClass(kind)]
		if c.N == 0 {
			c.First = after
		}
		c.N++
		r.byClass[ViolationClass(kind)] = c
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.stop.Store(true)
}

// ViolationClass sorts a violation's Kind into the classes of symptom a
// kernel would show: "movable_ops page found", "poisoned page found",
// "folio of another mapping", "!folio_contains", "stale or lost shadow",
// "validator", "bad_page", "list corruption", "kernel BUG", "livelock",
// or, for any other, the Kind up to its first colon.
func ViolationClass(kind string) string {
	switch {
	case strings.Contains(kind, "movable_ops page"):
		return "movable_ops page found"
	case strings.Contains(kind, "poisoned page"):
		return "poisoned page found"
	case strings.Contains(kind, "folio of another mapping"):
		return "folio of another mapping"
	case strings.Contains(kind, "folio_contains"):
		return "!folio_contains"
	case strings.Contains(kind, "shadow entry"):
		return "stale or lost shadow"
	case strings.HasPrefix(kind, "invariant broken"):
		return "validator"
	case strings.HasPrefix(kind, "bad_page"):
		return "bad_page"
	case strings.Contains(kind, "list corruption") || strings.HasPrefix(kind, "shadow-node shrinker"):
		return "list corruption"
	case strings.HasPrefix(kind, "kernel BUG"):
		return "kernel BUG"
	case strings.HasPrefix(kind, "livelock"):
		return "livelock"
	}
	if i := strings.Index(kind, ":"); i > 0 {
		return kind[:i]
	}
	return kind
}

// violated reports whether a violation has been found.
func (r *run) violated() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first != nil
}

// goWorker starts a worker with its own random source derived from the
// run's seed. A panic in the worker is a kernel BUG: it is reported as a
// violation with its message and stack.
func (r *run) goWorker(fn func(rng *rand.Rand)) {
	n := r.workers.Add(1)
	rng := rand.New(rand.NewPCG(r.cfg.Seed, n*0x9e3779b97f4a7c15))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				r.report("kernel BUG: "+firstLine(fmt.Sprint(p)), fmt.Sprintf("%v\n%s", p, debug.Stack()))
			}
		}()
		fn(rng)
	}()
}

// loop runs body until the run is done, counting one op per call.
func (r *run) loop(body func()) {
	for !r.done() {
		body()
		r.op()
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// Run executes scenario s in the given variant and returns what it found.
func (s *Scenario) Run(variant string, cfg Config) (Result, error) {
	if variant != Buggy && variant != Fixed {
		return Result{}, fmt.Errorf("stress: variant %q: want %q or %q", variant, Buggy, Fixed)
	}
	if variant == Buggy && s.Plain {
		return Result{}, fmt.Errorf("stress: %s is a plain workload: it has only a fixed variant", s.Name)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
	}
	if cfg.Goroutines <= 0 {
		cfg.Goroutines = 1
	}
	d := rcu.NewDomain()
	d.SetStallTimeout(0) // a dead reader must not crash the process
	r := &run{scenario: s.Name, variant: variant, cfg: cfg, start: time.Now(), rcu: d,
		xaVariant: cfg.XArrayVariant, fmVariant: cfg.FilemapVariant}
	if cfg.Kernel != nil {
		r.xaVariant |= cfg.Kernel.XArray
		r.fmVariant |= cfg.Kernel.Filemap
	}
	r.deadline = r.start.Add(cfg.Duration)
	if cfg.Inject {
		for _, p := range s.Points {
			if err := inject.Enable(p.Name, p.Prob, p.Delay); err != nil {
				return Result{}, err
			}
		}
		defer inject.DisableAll()
	}
	var progressDone chan struct{}
	if cfg.Progress != nil {
		progressDone = make(chan struct{})
		tick := time.NewTicker(250 * time.Millisecond)
		go func() {
			defer tick.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-tick.C:
					cfg.Progress(Progress{Elapsed: time.Since(r.start), Ops: r.ops.Load()})
				}
			}
		}()
	}
	ran := make(chan struct{})
	if cfg.Context != nil {
		go func() {
			select {
			case <-cfg.Context.Done():
				if !r.done() {
					r.cut.Store(true)
					r.stop.Store(true)
				}
			case <-ran:
			}
		}()
	}
	teardown := s.run(r)
	r.waitWorkers()
	close(ran)
	if !r.stuck {
		if teardown != nil {
			teardown()
		}
		r.closeRCU()
	}
	if progressDone != nil {
		close(progressDone)
	}
	return Result{Scenario: s.Name, Variant: variant, Kernel: cfg.kernelName(), Seed: cfg.Seed, Elapsed: time.Since(r.start),
		Ops: r.ops.Load(), Violations: r.found.Load(), First: r.first, ByClass: r.byClass,
		Interrupted: r.cut.Load() && (r.first == nil || cfg.KeepGoing)}, nil
}

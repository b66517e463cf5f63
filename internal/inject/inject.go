// SPDX-License-Identifier: GPL-2.0-or-later

// Package inject holds named race-window injection points, in the spirit
// of KCSAN's delays: a Point placed between two steps of a kernel path
// (between reading an entry and taking a reference, between allocating
// nodes and taking the lock, ...) can make the goroutine that passes it
// yield or pause at random, so that a stress run hits the window in
// seconds instead of hours.
//
// A disabled point costs one atomic load and a branch. Points are global:
// a stress run enables the ones it wants and disables them when it ends,
// so runs that inject must not overlap.
//
// While a schedule search runs (package internal/sched), every point is
// also a schedule point: SetSearchHook hands each pass of a point to the
// search's scheduler, which decides which goroutine runs next. The hook
// is reached through the same word the enabled flag lives in, so a point
// that is neither enabled nor searched still costs one load and a branch.
package inject

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Point is one named injection point.
type Point struct {
	// state is stateOn (enabled by Enable) | stateSearch (a search hook
	// is set): Hit reads only this word on its fast path.
	state atomic.Uint32
	name  string
	prob  atomic.Uint64 // probability of firing, scaled to 1<<32
	delay atomic.Int64  // longest pause in nanoseconds; 0 means yield
	hits  atomic.Int64
}

// The bits of Point.state.
const (
	stateOn     = 1 << iota // Enable: fire with the point's probability
	stateSearch             // SetSearchHook: offer each pass to the hook
)

var (
	mu     sync.Mutex
	points = map[string]*Point{}
	// hook is SetSearchHook's function, or nil.
	hook atomic.Pointer[func(*Point) bool]
)

// New registers a point. Names are unique; New panics on a duplicate.
func New(name string) *Point {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := points[name]; dup {
		panic("inject: duplicate point " + name)
	}
	p := &Point{name: name}
	if hook.Load() != nil {
		p.state.Store(stateSearch)
	}
	points[name] = p
	return p
}

// Hit is the injection point itself: when enabled, it yields or pauses
// with the configured probability; while a search hook is set, it first
// offers the pass to the hook, and does nothing more if the hook took it.
func (p *Point) Hit() {
	if p.state.Load() != 0 {
		p.fire()
	}
}

func (p *Point) fire() {
	s := p.state.Load()
	if s&stateSearch != 0 {
		if h := hook.Load(); h != nil && (*h)(p) {
			return
		}
	}
	if s&stateOn == 0 {
		return
	}
	if rand.Uint64()>>32 >= p.prob.Load() {
		return
	}
	p.hits.Add(1)
	d := p.delay.Load()
	switch {
	case d <= 0:
		runtime.Gosched()
	case d < int64(20*time.Microsecond):
		end := time.Now().Add(time.Duration(rand.Int64N(d + 1)))
		for time.Now().Before(end) {
		}
	default:
		time.Sleep(time.Duration(rand.Int64N(d + 1)))
	}
}

// Name returns the point's name.
func (p *Point) Name() string { return p.name }

// Hits returns how often the point fired since it was last enabled.
func (p *Point) Hits() int64 { return p.hits.Load() }

// Enable turns on the named point: each pass fires with probability prob,
// yielding if delay is 0, else pausing up to delay.
func Enable(name string, prob float64, delay time.Duration) error {
	mu.Lock()
	p := points[name]
	mu.Unlock()
	if p == nil {
		return fmt.Errorf("inject: no point named %q (have %v)", name, Names())
	}
	p.hits.Store(0)
	p.prob.Store(uint64(min(max(prob, 0), 1) * (1 << 32)))
	p.delay.Store(int64(delay))
	p.state.Or(stateOn)
	return nil
}

// DisableAll turns every point off. A search hook stays set.
func DisableAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range points {
		p.state.And(^uint32(stateOn))
	}
}

// SetSearchHook makes every point, those registered later included, call
// h on each pass, before and whether or not it is enabled; if h returns
// true the pass is done (the hook scheduled it), otherwise the point
// behaves as without a hook. SetSearchHook(nil) removes the hook and
// brings back the one-load cost of a disabled point. One hook at a
// time: package internal/sched sets it while a controlled run is in
// progress, and h must be safe to call from any goroutine.
func SetSearchHook(h func(p *Point) bool) {
	mu.Lock()
	defer mu.Unlock()
	if h == nil {
		hook.Store(nil)
		for _, p := range points {
			p.state.And(^uint32(stateSearch))
		}
		return
	}
	hook.Store(&h)
	for _, p := range points {
		p.state.Or(stateSearch)
	}
}

// Names lists the registered points, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range points {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Lookup returns the named point, or nil.
func Lookup(name string) *Point {
	mu.Lock()
	defer mu.Unlock()
	return points[name]
}

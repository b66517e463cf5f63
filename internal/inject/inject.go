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
	on    atomic.Bool
	name  string
	prob  atomic.Uint64 // probability of firing, scaled to 1<<32
	delay atomic.Int64  // longest pause in nanoseconds; 0 means yield
	hits  atomic.Int64
}

var (
	mu     sync.Mutex
	points = map[string]*Point{}
)

// New registers a point. Names are unique; New panics on a duplicate.
func New(name string) *Point {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := points[name]; dup {
		panic("inject: duplicate point " + name)
	}
	p := &Point{name: name}
	points[name] = p
	return p
}

// Hit is the injection point itself: when enabled, it yields or pauses
// with the configured probability.
func (p *Point) Hit() {
	if p.on.Load() {
		p.fire()
	}
}

func (p *Point) fire() {
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
	p.on.Store(true)
	return nil
}

// DisableAll turns every point off.
func DisableAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range points {
		p.on.Store(false)
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

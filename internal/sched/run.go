// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/internal/inject"
)

// Thread is one goroutine of a controlled run.
type Thread struct {
	Name string // for traces: "writer", "reader"
	Body func()
}

// Event is one step of a run: goroutine G reached schedule point Point,
// and the run chose who goes on from there. The first event of every run
// is G -1 at "start"; a goroutine that returns reaches "exit".
type Event struct {
	G     int
	Point string
}

// Note is a line a goroutine attached to a step (G.Note): printed by
// WriteTrace in the goroutine's column after event After.
type Note struct {
	After int
	G     int
	Text  string
}

// Panic is a panic that ended one goroutine of a run (a kernel BUG in the
// model). The run goes on with the others.
type Panic struct {
	G     int
	Step  int // the trace event after which it happened
	Value any
	Stack string
}

// Execution is what one controlled run did.
type Execution struct {
	Threads []string // the goroutines' names, by id
	// Choices[i] is the goroutine the run chose after Trace[i]; the last
	// exit has no choice after it.
	Choices []int
	Trace   []Event
	Notes   []Note
	Panics  []Panic
	// Preempted lists the steps at which the run switched away from a
	// goroutine that could have gone on: its preemptions.
	Preempted []int
	// Hash is the FNV-1a hash of the events, in order: a replay that
	// makes the same choices but passes other points has another.
	Hash uint32
	// Err says why the run stopped before every goroutine returned:
	// ErrDeadlock, ErrStepLimit or a *Divergence (wrapped with detail);
	// nil for a run that ended.
	Err error
}

// Steps returns the number of choices the run made.
func (e *Execution) Steps() int { return len(e.Choices) }

// Schedule returns the run's choices as a Schedule with the given label.
func (e *Execution) Schedule(label ...string) Schedule {
	return Schedule{Label: label, Hash: e.Hash, Choices: e.Choices}
}

// ErrDeadlock ends a run in which goroutines are left and every one of
// them is blocked (G.Block) on something no goroutine can signal.
var ErrDeadlock = errors.New("sched: deadlock")

// ErrStepLimit ends a run that made Options.MaxSteps choices without
// finishing: a livelock, or a strategy that keeps choosing a spinner.
var ErrStepLimit = errors.New("sched: step limit")

// Options bound a controlled run.
type Options struct {
	// MaxSteps is the most choices a run may make (DefaultMaxSteps if 0).
	MaxSteps int
}

// DefaultMaxSteps bounds a run when Options.MaxSteps is 0.
const DefaultMaxSteps = 100_000

// G is a goroutine of a controlled run, as its own code sees it
// (Current). Its methods must be called only by that goroutine.
type G struct {
	r        *run
	id       int
	name     string
	wake     chan struct{}
	state    gState
	key      any // what a blocked goroutine waits for
	aborting bool
	// gone is set once g has exited: the runtime may then give its
	// identity (gid) to a new goroutine, which Current must not take
	// for g. Atomic, because Current reads it from any goroutine.
	gone atomic.Bool
}

type gState uint8

const (
	runnable gState = iota
	blocked
	exited
)

// abortSignal is the panic that unwinds a goroutine of a run that stopped
// early; the goroutine's wrapper recovers it.
type abortSignal struct{}

// run is a controlled run in progress. Only the goroutine the run let go
// (running) touches it, and control passes from one goroutine to the next
// through the wake channels, which orders every access.
type run struct {
	strategy Strategy
	maxSteps int
	gs       []*G
	byGID    map[uintptr]*G // read-only while the run is active
	running  *G
	abort    bool
	exec     *Execution
	hash     hashState
	enabled  []int
	finished chan struct{}
}

// hashState is FNV-1a over the events: each one's goroutine (plus one),
// its point, and a zero byte.
type hashState struct{ h uint32 }

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func (h *hashState) add(ev Event) {
	x := h.h
	x = (x ^ uint32(byte(ev.G+1))) * fnvPrime
	for i := 0; i < len(ev.Point); i++ {
		x = (x ^ uint32(ev.Point[i])) * fnvPrime
	}
	h.h = x * fnvPrime // the zero byte
}

// Run executes threads under strategy s, one goroutine at a time, until
// every goroutine has returned or the run stops early (Execution.Err), and
// returns what it did. Each thread's Body runs on a goroutine of its own;
// it must reach its schedule points only through the model (inject
// points, Yield, Block), never block on anything a schedule point does not
// cover (a channel, a plain sync.Mutex held across a schedule point), and
// not start goroutines that pass schedule points. A panic ends only its
// own goroutine and is recorded. Runs do not overlap: Run waits for any
// run in progress.
func Run(s Strategy, threads []Thread, opt Options) *Execution {
	runMu.Lock()
	defer runMu.Unlock()
	r := &run{strategy: s, maxSteps: opt.MaxSteps, finished: make(chan struct{}), hash: hashState{fnvOffset},
		exec: &Execution{Threads: make([]string, len(threads))}}
	if r.maxSteps <= 0 {
		r.maxSteps = DefaultMaxSteps
	}
	if len(threads) == 0 {
		r.exec.Hash = r.hash.h
		return r.exec
	}
	gids := make([]uintptr, len(threads))
	var ready sync.WaitGroup
	for i, t := range threads {
		g := &G{r: r, id: i, name: t.Name, wake: make(chan struct{}, 1)}
		r.gs = append(r.gs, g)
		r.exec.Threads[i] = t.Name
		ready.Add(1)
		go r.goroutine(g, t.Body, &gids[i], &ready)
	}
	ready.Wait()
	r.byGID = make(map[uintptr]*G, len(threads))
	for i, id := range gids {
		r.byGID[id] = r.gs[i]
	}
	s.Begin(len(threads))
	current.Store(r)
	active.Store(true)
	inject.SetSearchHook(searchHook)

	r.event(-1, "start")
	if first := r.decide(-1); first != nil {
		r.running = first
		first.wake <- struct{}{}
	} else {
		r.abortNext()
	}
	<-r.finished

	inject.SetSearchHook(nil)
	active.Store(false)
	current.Store(nil)
	r.exec.Hash = r.hash.h
	return r.exec
}

// goroutine is the body of one thread's goroutine: it registers its id,
// waits to be let go, runs body and hands control on when body returns.
func (r *run) goroutine(g *G, body func(), id *uintptr, ready *sync.WaitGroup) {
	*id = gid()
	ready.Done()
	<-g.wake
	defer r.exit(g)
	if r.abort {
		return
	}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if _, ok := p.(abortSignal); ok {
			return
		}
		r.exec.Panics = append(r.exec.Panics, Panic{G: g.id, Step: len(r.exec.Trace) - 1, Value: p, Stack: string(debug.Stack())})
	}()
	body()
}

// event records that goroutine g (-1 for the start) reached point.
func (r *run) event(g int, point string) {
	ev := Event{G: g, Point: point}
	r.exec.Trace = append(r.exec.Trace, ev)
	r.hash.add(ev)
}

// decide asks the strategy who runs after the last event, of goroutine
// cur (-1 at the start), and records the choice. It returns nil, with
// r.exec.Err set, if the run must stop.
func (r *run) decide(cur int) *G {
	r.enabled = r.enabled[:0]
	for _, g := range r.gs {
		if g.state == runnable {
			r.enabled = append(r.enabled, g.id)
		}
	}
	if len(r.enabled) == 0 {
		var waits []string
		for _, g := range r.gs {
			if g.state == blocked {
				waits = append(waits, fmt.Sprintf("%s at %s", r.label(g.id), r.lastPoint(g.id)))
			}
		}
		r.fail(fmt.Errorf("%w at step %d: every goroutine left is blocked (%s)",
			ErrDeadlock, len(r.exec.Choices), strings.Join(waits, ", ")))
		return nil
	}
	step := len(r.exec.Choices)
	if step >= r.maxSteps {
		r.fail(fmt.Errorf("%w: %d steps without the run ending", ErrStepLimit, step))
		return nil
	}
	c, err := r.strategy.Pick(step, cur, r.enabled)
	if err == nil && (c < 0 || c >= len(r.gs) || r.gs[c].state != runnable) {
		err = fmt.Errorf("sched: strategy chose goroutine %d at step %d; runnable: %v", c, step, r.enabled)
	}
	if err != nil {
		var d *Divergence
		if errors.As(err, &d) {
			d.At = r.exec.Trace[len(r.exec.Trace)-1]
			d.Threads = r.exec.Threads
		}
		r.fail(err)
		return nil
	}
	if cur >= 0 && c != cur && r.gs[cur].state == runnable {
		r.exec.Preempted = append(r.exec.Preempted, step)
	}
	r.exec.Choices = append(r.exec.Choices, c)
	return r.gs[c]
}

// lastPoint returns the last point goroutine id reached.
func (r *run) lastPoint(id int) string {
	for i := len(r.exec.Trace) - 1; i >= 0; i-- {
		if r.exec.Trace[i].G == id {
			return r.exec.Trace[i].Point
		}
	}
	return "start"
}

func (r *run) label(id int) string { return threadLabel(id, r.exec.Threads) }

// fail stops the run with err: the goroutines are unwound one at a time.
func (r *run) fail(err error) {
	if r.exec.Err == nil {
		r.exec.Err = err
	}
	r.abort = true
}

// step is a schedule point of g, the running goroutine: record it, let
// the strategy choose, and hand control over if it chose another. With
// key non-nil g blocks on key first: it is not chosen again until a
// Signal(key).
func (r *run) step(g *G, point string, key any) {
	if g.aborting {
		if key != nil {
			panic(abortSignal{}) // a lock taken while unwinding: give up
		}
		return
	}
	if r.running != g {
		panic(fmt.Sprintf("sched: %s reached %s while %s was running", r.label(g.id), point, r.label(r.running.id)))
	}
	r.event(g.id, point)
	if key != nil {
		g.state = blocked
		g.key = key
	}
	next := r.decide(g.id)
	if next == nil {
		g.aborting = true
		panic(abortSignal{})
	}
	if next == g {
		return
	}
	r.running = next
	next.wake <- struct{}{}
	<-g.wake
	if r.abort {
		g.aborting = true
		panic(abortSignal{})
	}
}

// exit hands control on from g, whose body has returned or unwound.
func (r *run) exit(g *G) {
	g.state = exited
	g.gone.Store(true)
	if r.abort {
		r.abortNext()
		return
	}
	r.event(g.id, "exit")
	left := false
	for _, o := range r.gs {
		left = left || o.state != exited
	}
	if !left {
		close(r.finished)
		return
	}
	next := r.decide(g.id)
	if next == nil {
		r.abortNext()
		return
	}
	r.running = next
	next.wake <- struct{}{}
}

// abortNext lets the next goroutine that has not exited go, to unwind;
// once none is left, the run is over.
func (r *run) abortNext() {
	for _, g := range r.gs {
		if g.state != exited {
			r.running = g
			g.wake <- struct{}{}
			return
		}
	}
	close(r.finished)
}

// Yield is a schedule point named point: the run may let another
// goroutine run before g goes on.
func (g *G) Yield(point string) { g.r.step(g, point, nil) }

// Block is a schedule point at which g cannot go on until another
// goroutine calls Signal(key): a lock found taken, say. The caller tries
// again when Block returns:
//
//	for !mu.TryLock() {
//		g.Block("xa_lock", &mu)
//	}
//
// If every goroutine left is blocked, the run ends with ErrDeadlock.
func (g *G) Block(point string, key any) {
	if key == nil {
		panic("sched: Block with a nil key")
	}
	g.r.step(g, point, key)
}

// Signal makes every goroutine blocked on key runnable again. It is not
// a schedule point itself; a lock's release is usually followed by one.
func (g *G) Signal(key any) {
	for _, o := range g.r.gs {
		if o.state == blocked && o.key == key {
			o.state = runnable
			o.key = nil
		}
	}
}

// Note attaches text to the current step of the run, for the trace: a
// result, or the violation a checker found there.
func (g *G) Note(text string) {
	g.r.exec.Notes = append(g.r.exec.Notes, Note{After: len(g.r.exec.Trace) - 1, G: g.id, Text: text})
}

// Step returns the index in the run's trace of the last event: what g
// does now happens after it.
func (g *G) Step() int { return len(g.r.exec.Trace) - 1 }

// ID returns g's index in the run's threads.
func (g *G) ID() int { return g.id }

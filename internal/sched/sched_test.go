// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/internal/watchdog"
)

// counters builds n goroutines that each pass point steps times, and
// while between two points check that no other goroutine of the run is
// running: the shared count of goroutines inside a step must read 1,
// even after letting the Go scheduler run someone else.
func counters(t *testing.T, n, steps int, inside *atomic.Int32) []Thread {
	return countersAt(t, "point", n, steps, inside)
}

// countersAt is counters with points named prefix0, prefix1, prefix2.
func countersAt(t *testing.T, prefix string, n, steps int, inside *atomic.Int32) []Thread {
	var threads []Thread
	for g := range n {
		threads = append(threads, Thread{Name: fmt.Sprint("counter", g), Body: func() {
			for i := range steps {
				if got := inside.Add(1); got != 1 {
					t.Errorf("goroutine %d step %d: %d goroutines running at once", g, i, got)
				}
				runtime.Gosched()
				if got := inside.Load(); got != 1 {
					t.Errorf("goroutine %d step %d: %d goroutines running at once after a Gosched", g, i, got)
				}
				inside.Add(-1)
				Yield(fmt.Sprint(prefix, i%3))
			}
		}})
	}
	return threads
}

func TestOnlyOneGoroutineRunsAtATime(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var inside atomic.Int32
	for seed := range uint64(20) {
		e := Run(Random(seed), counters(t, 4, 25, &inside), Options{})
		if e.Err != nil {
			t.Fatalf("seed %d: %v", seed, e.Err)
		}
		// start, 4×25 points, 4 exits; a choice after each but the last.
		if len(e.Trace) != 1+4*25+4 || e.Steps() != len(e.Trace)-1 {
			t.Fatalf("seed %d: %d events, %d choices; want %d and %d", seed, len(e.Trace), e.Steps(), 105, 104)
		}
	}
	if Active() {
		t.Fatal("a run left the search active")
	}
}

func TestRandomAndPCTAreDeterministicForASeed(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var inside atomic.Int32
	for _, mk := range []struct {
		name string
		s    func(seed uint64) Strategy
	}{
		{"random", Random},
		{"pct:3", func(seed uint64) Strategy { return NewPCT(seed, 3, 60) }},
	} {
		a := Run(mk.s(7), counters(t, 3, 20, &inside), Options{})
		b := Run(mk.s(7), counters(t, 3, 20, &inside), Options{})
		c := Run(mk.s(8), counters(t, 3, 20, &inside), Options{})
		if !slices.Equal(a.Choices, b.Choices) || !slices.Equal(a.Trace, b.Trace) || a.Hash != b.Hash {
			t.Errorf("%s: the same seed made different runs:\n%v\n%v", mk.name, a.Choices, b.Choices)
		}
		if slices.Equal(a.Choices, c.Choices) {
			t.Errorf("%s: seeds 7 and 8 made the same run", mk.name)
		}
	}
}

func TestPCTPreemptsAtMostDepthMinusOneTimes(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var inside atomic.Int32
	for d := 1; d <= 4; d++ {
		for seed := range uint64(30) {
			e := Run(NewPCT(seed, d, 60), counters(t, 3, 20, &inside), Options{})
			if len(e.Preempted) > d-1 {
				t.Fatalf("pct:%d seed %d: %d preemptions (%v); PCT preempts only at its %d change points",
					d, seed, len(e.Preempted), e.Preempted, d-1)
			}
		}
	}
}

func TestReplayGivesTheSameSequenceOfPoints(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var inside atomic.Int32
	for seed := range uint64(10) {
		rec := Run(Random(seed), counters(t, 3, 15, &inside), Options{})
		text := rec.Schedule("test", "counters").String()
		s, err := ParseSchedule(text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Label, []string{"test", "counters"}) || s.Hash != rec.Hash || !slices.Equal(s.Choices, rec.Choices) {
			t.Fatalf("%s does not decode to what it encodes", text)
		}
		for range 3 {
			e, err := Replay(s, counters(t, 3, 15, &inside), Options{})
			if err != nil {
				t.Fatalf("replay of %s: %v", text, err)
			}
			if !slices.Equal(e.Trace, rec.Trace) {
				t.Fatalf("replay of %s passed other points", text)
			}
		}
	}
}

func TestReplayReportsDivergenceNamingTheStep(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var inside atomic.Int32
	rec := Run(Random(3), counters(t, 2, 10, &inside), Options{})
	good := rec.Schedule("test")

	// The schedule runs a goroutine that has already returned: the last
	// choices all go to one goroutine once the other is done, so give one
	// of them to the other.
	last := good.Choices[len(good.Choices)-1]
	exited := slices.Clone(good.Choices)
	exited[len(exited)-1] = 1 - last
	// Cut short: the run needs a choice the schedule does not have.
	short := good.Choices[:len(good.Choices)-3]
	for _, tc := range []struct {
		name    string
		choices []int
		step    int
		reason  string
	}{
		{"runs an exited goroutine", exited, len(exited) - 1, "cannot run now"},
		{"ends too soon", short, len(short), "the schedule ends after"},
	} {
		s := Schedule{Label: good.Label, Hash: good.Hash, Choices: tc.choices}
		_, err := Replay(s, counters(t, 2, 10, &inside), Options{})
		var d *Divergence
		if !errors.As(err, &d) {
			t.Fatalf("%s: replay error %v; want a *Divergence", tc.name, err)
		}
		if d.Step != tc.step || !strings.Contains(err.Error(), tc.reason) ||
			!strings.Contains(err.Error(), fmt.Sprintf("at step %d (T", tc.step)) {
			t.Errorf("%s: %v; want step %d, %q, and who reached which point", tc.name, err, tc.step, tc.reason)
		}
	}

	// Too long: the run ends with choices of the schedule left.
	long := good
	long.Choices = append(slices.Clone(good.Choices), 0, 1)
	_, err := Replay(long, counters(t, 2, 10, &inside), Options{})
	var d *Divergence
	if !errors.As(err, &d) || d.Step != len(good.Choices) || !strings.Contains(err.Error(), "the run ended after") {
		t.Errorf("a schedule longer than the run: %v", err)
	}

	// Same choices, other points: the hash says so.
	_, err = Replay(good, countersAt(t, "elsewhere", 2, 10, &inside), Options{})
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "passed other schedule points") {
		t.Errorf("a replay through other points: %v", err)
	}
}

// spinLock is a lock built the way the XArray's is while searching: try,
// and block on the lock between tries.
type spinLock struct{ mu sync.Mutex }

func (l *spinLock) lock() {
	g := Current()
	g.Yield("lock")
	for !l.mu.TryLock() {
		g.Block("lock.wait", l)
	}
}

func (l *spinLock) unlock() {
	l.mu.Unlock()
	g := Current()
	g.Signal(l)
	g.Yield("unlock")
}

func TestBlockedGoroutinesWaitForSignal(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for seed := range uint64(50) {
		var l spinLock
		count := 0
		var threads []Thread
		for range 3 {
			threads = append(threads, Thread{Body: func() {
				for range 5 {
					l.lock()
					v := count
					Yield("inside")
					count = v + 1
					l.unlock()
				}
			}})
		}
		// PCT keeps choosing its highest priority: a goroutine that spun
		// on a taken lock instead of blocking would never let the holder
		// go on, and the run would hit the step limit.
		e := Run(NewPCT(seed, 2, 50), threads, Options{MaxSteps: 10_000})
		if e.Err != nil {
			t.Fatalf("seed %d: %v", seed, e.Err)
		}
		if count != 15 {
			t.Fatalf("seed %d: count %d under the lock; want 15", seed, count)
		}
	}
}

func TestDeadlockEndsTheRunAndUnwindsEveryGoroutine(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	var l spinLock
	unwound := 0
	threads := []Thread{
		{Name: "holder", Body: func() { l.lock() }}, // returns with the lock held
		{Name: "waiter", Body: func() {
			defer func() { unwound++ }()
			l.lock()
			t.Error("the waiter got a lock that was never released")
		}},
	}
	e := Run(&replay{choices: []int{0, 0, 1, 1}}, threads, Options{})
	if !errors.Is(e.Err, ErrDeadlock) || !strings.Contains(e.Err.Error(), "T2 waiter at lock.wait") {
		t.Fatalf("run error %v; want a deadlock naming the waiter", e.Err)
	}
	if unwound != 1 {
		t.Fatalf("the blocked goroutine was unwound %d times; want 1", unwound)
	}
}

// first always runs the lowest-numbered runnable goroutine.
type first struct{}

func (first) Begin(int)                                 {}
func (first) Pick(_, _ int, enabled []int) (int, error) { return enabled[0], nil }

// spinAndStop is a goroutine that spins, passing a point, until a second
// one sets a flag.
func spinAndStop() []Thread {
	var stop atomic.Bool
	return []Thread{
		{Name: "spinner", Body: func() {
			for !stop.Load() {
				Yield("spin")
			}
		}},
		{Name: "stopper", Body: func() { stop.Store(true) }},
	}
}

func TestStepLimitEndsALivelock(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	e := Run(first{}, spinAndStop(), Options{MaxSteps: 500})
	if !errors.Is(e.Err, ErrStepLimit) || e.Steps() != 500 {
		t.Fatalf("a strategy that never lets the stopper run: %v after %d steps; want the step limit at 500", e.Err, e.Steps())
	}
}

func TestPCTDemotesASpinner(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	// PCT with depth 1 never preempts by itself: if the spinner has the
	// higher priority, only the fairness rule lets the stopper run.
	spun := false
	for seed := range uint64(10) {
		e := Run(NewPCT(seed, 1, 1), spinAndStop(), Options{MaxSteps: 10 * SpinLimit})
		if e.Err != nil {
			t.Fatalf("seed %d: %v", seed, e.Err)
		}
		if e.Choices[0] == 0 {
			spun = true
			if len(e.Preempted) != 1 || e.Preempted[0] != SpinLimit {
				t.Fatalf("seed %d: the spinner was preempted at steps %v; want at step %d only", seed, e.Preempted, SpinLimit)
			}
		}
	}
	if !spun {
		t.Fatal("no seed gave the spinner the higher priority")
	}
}

func TestAPanicEndsOnlyItsGoroutine(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	done := false
	e := Run(Random(1), []Thread{
		{Name: "bug", Body: func() {
			Yield("before")
			panic("kernel BUG at test")
		}},
		{Name: "other", Body: func() {
			Yield("a")
			Yield("b")
			done = true
		}},
	}, Options{})
	if e.Err != nil || !done {
		t.Fatalf("run error %v, other goroutine done: %v", e.Err, done)
	}
	if len(e.Panics) != 1 || e.Panics[0].G != 0 || e.Panics[0].Value != "kernel BUG at test" || e.Panics[0].Stack == "" {
		t.Fatalf("panics %+v; want goroutine 0's, with its stack", e.Panics)
	}
}

var testPoint = inject.New("sched.test.point")

func TestInjectPointsAreSchedulePointsOfTheRunsGoroutinesOnly(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	// A goroutine that the run did not start passes the point all
	// along: it must neither appear in the trace nor be stopped.
	stop := make(chan struct{})
	var outside sync.WaitGroup
	outside.Add(1)
	var foreign atomic.Int64
	go func() {
		defer outside.Done()
		for {
			select {
			case <-stop:
				return
			default:
				testPoint.Hit()
				foreign.Add(1)
			}
		}
	}()
	body := func() {
		for range 10 {
			testPoint.Hit()
		}
	}
	e := Run(Random(2), []Thread{{Body: body}, {Body: body}}, Options{})
	close(stop)
	outside.Wait()
	n := 0
	for _, ev := range e.Trace {
		if ev.Point == "sched.test.point" {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("the trace has %d passes of the point; want the run's 20", n)
	}
	if foreign.Load() == 0 {
		t.Fatal("the foreign goroutine never passed the point")
	}
	// Outside a run the point costs what a disabled point costs, and
	// is nobody's schedule point.
	testPoint.Hit()
	Yield("nothing")
}

func TestWriteTraceShowsStepsPerGoroutine(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	Describe("sched.test.kernel", "xas_test_kernel")
	e := Run(&replay{choices: []int{1, 0, 1, 0}}, []Thread{
		{Name: "writer", Body: func() { Yield("sched.test.kernel") }},
		{Name: "reader", Body: func() {
			Yield("xa_load(1)")
			Current().Note("xa_load returned sibling(0)")
		}},
	}, Options{})
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	var b strings.Builder
	e.WriteTrace(&b)
	got := b.String()
	for _, want := range []string{
		"step  T1 writer        T2 reader",
		"1*                   xa_load(1)",
		"2*  xas_test_kernel",
		"» xa_load returned sibling(0)",
		"sched.test.kernel",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

// Package history records concurrent histories of operations and checks
// them for linearizability with porcupine, for the tests of the XArray
// and of the page cache. A test runs a few clients at once (Record), each
// operation timed by one Clock just before its call and just after its
// return (Op); Check searches for a sequential order consistent with
// those times, and explains a failure by the longest order it found and
// the operations that could not come next.
package history

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// A Clock reads the time since a history started, monotonic.
type Clock time.Time

// NewClock starts a clock at zero.
func NewClock() Clock { return Clock(time.Now()) }

// Now returns the nanoseconds since the clock started.
func (c Clock) Now() int64 { return time.Since(time.Time(c)).Nanoseconds() }

// Op runs do, and returns it as client's operation on input, with the
// clock read just before the call and just after the return.
func Op(clock Clock, client int, input any, do func() any) porcupine.Operation {
	call := clock.Now()
	out := do()
	ret := clock.Now()
	return porcupine.Operation{ClientId: client, Input: input, Call: call, Output: out, Return: ret}
}

// Record runs clients goroutines of ops operations each and returns the
// history. Client id's goroutine calls newClient(id) once, then the
// function it returns for each operation. The goroutines start together,
// once each has started and a millisecond of the clock has passed.
func Record(clock Clock, clients, ops int, newClient func(id int) func() porcupine.Operation) []porcupine.Operation {
	hist := make([][]porcupine.Operation, clients)
	var wg sync.WaitGroup
	var ready atomic.Int32
	release := make(chan struct{})
	for id := range clients {
		wg.Go(func() {
			next := newClient(id)
			h := make([]porcupine.Operation, 0, ops)
			// Released by a wakeup, which starts the idle processors,
			// wait for the others and for the processors to come.
			<-release
			ready.Add(1)
			for ready.Load() < int32(clients) || clock.Now() < int64(time.Millisecond) {
				runtime.Gosched()
			}
			for range ops {
				h = append(h, next())
			}
			hist[id] = h
		})
	}
	close(release)
	wg.Wait()
	return slices.Concat(hist...)
}

// Overlapping counts the operations that started before an operation of
// another client returned: how concurrent a history was.
func Overlapping(h []porcupine.Operation) int {
	h = slices.Clone(h)
	slices.SortFunc(h, func(a, b porcupine.Operation) int { return int(a.Call - b.Call) })
	n := 0
	end, endClient := int64(-1), -1
	for _, op := range h {
		if op.Call <= end && op.ClientId != endClient {
			n++
		}
		if op.Return > end {
			end, endClient = op.Return, op.ClientId
		}
	}
	return n
}

// Procs gives each of clients goroutines a processor of its own for the
// rest of the test, so that their operations run at once, not only in
// turns.
func Procs(t testing.TB, clients int) {
	if old := runtime.GOMAXPROCS(0); old < clients {
		runtime.GOMAXPROCS(clients)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// Check checks a history against model. If it is not linearizable, it
// also returns a report of where the longest linearizable prefix ends:
// its last operations, the model's state after them, and the operations
// that might come next, none of which fits.
func Check(model porcupine.Model, h []porcupine.Operation) (porcupine.CheckResult, string, porcupine.LinearizationInfo) {
	res, info := porcupine.CheckOperationsVerbose(model, h, 30*time.Second)
	if res != porcupine.Illegal {
		return res, "", info
	}
	var b strings.Builder
	parts := [][]porcupine.Operation{h}
	if model.Partition != nil {
		parts = model.Partition(h)
	}
	for p, partials := range info.PartialLinearizationsOperations() {
		var longest []porcupine.Operation
		for _, l := range partials {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if len(longest) == len(parts[p]) {
			continue
		}
		fmt.Fprintf(&b, "%d of %d operations linearize, ending with:\n", len(longest), len(parts[p]))
		state := model.Init()
		for _, op := range longest {
			_, state = model.Step(state, op.Input, op.Output)
		}
		for _, op := range longest[max(0, len(longest)-6):] {
			fmt.Fprintf(&b, "  %s\n", Format(model, op))
		}
		fmt.Fprintf(&b, "which leave the model at %s; none of these fits next:\n", model.DescribeState(state))
		done := make(map[porcupine.Operation]bool)
		for _, op := range longest {
			done[op] = true
		}
		rest := slices.DeleteFunc(slices.Clone(parts[p]), func(op porcupine.Operation) bool { return done[op] })
		firstReturn := rest[0].Return
		for _, op := range rest {
			firstReturn = min(firstReturn, op.Return)
		}
		slices.SortFunc(rest, func(a, b porcupine.Operation) int { return int(a.Call - b.Call) })
		for _, op := range rest {
			if op.Call <= firstReturn {
				fmt.Fprintf(&b, "  %s\n", Format(model, op))
			}
		}
		break
	}
	return res, b.String(), info
}

// Visualize writes porcupine's visualization of a checked history to a
// file that outlives the test, and returns a line that names it.
func Visualize(model porcupine.Model, info porcupine.LinearizationInfo) string {
	f, err := os.CreateTemp("", "linearizability-*.html")
	if err != nil {
		return ""
	}
	defer f.Close()
	if porcupine.Visualize(model, info, f) != nil {
		return ""
	}
	return "porcupine's visualization of the history: " + f.Name()
}

// Format describes one operation of a history.
func Format(model porcupine.Model, op porcupine.Operation) string {
	return fmt.Sprintf("client %d [%d ns, %d ns] %s", op.ClientId, op.Call, op.Return, model.DescribeOperation(op.Input, op.Output))
}

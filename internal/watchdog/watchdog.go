// SPDX-License-Identifier: GPL-2.0-or-later

// Package watchdog bounds how long a concurrent test may run. A test
// that deadlocks would otherwise hang until go test's own timeout (20
// minutes in CI) and then print a dump that no longer says which test
// hung; with a watchdog it fails within its bound, naming itself, with
// the stack of every goroutine.
//
//	func TestConcurrentThing(t *testing.T) {
//		watchdog.Start(t, watchdog.Default)
//		...
//	}
package watchdog

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// Default is the bound for a test that runs for a few seconds: a
// deadlock fails within a minute.
const Default = 50 * time.Second

// Start arms a watchdog for t that fires if t has not finished within d
// of now: it prints the test's name and every goroutine's stack to
// standard error and ends the process with status 2, since a deadlocked
// test can be stopped no other way. For a test whose length is set by a
// flag, pass that duration plus a margin. The watchdog is disarmed when
// t and its subtests finish (t.Cleanup); call the returned function to
// disarm it sooner.
func Start(t testing.TB, d time.Duration) (stop func()) {
	t.Helper()
	return start(t, d, os.Exit)
}

// start is Start with the function that ends the process.
func start(t testing.TB, d time.Duration, exit func(code int)) (stop func()) {
	t.Helper()
	name := t.Name()
	done := make(chan struct{})
	fired := make(chan struct{})
	go func() {
		defer close(fired)
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			fmt.Fprintf(os.Stderr, "watchdog: %s did not finish within %v; every goroutine:\n\n%s\n", name, d, stacks())
			exit(2)
		}
	}()
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			close(done)
			<-fired
		}
	}
	t.Cleanup(stop)
	return stop
}

// stacks returns the stack of every goroutine.
func stacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package watchdog

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A test that finishes in time disarms its watchdog, and no goroutine
// of the watchdog outlives it (goleak checks that at the end).
func TestFinishedTestDisarms(t *testing.T) {
	exited := make(chan int, 1)
	stop := start(t, 20*time.Millisecond, func(code int) { exited <- code })
	stop()
	stop() // a second call is harmless
	time.Sleep(40 * time.Millisecond)
	select {
	case code := <-exited:
		t.Fatalf("watchdog fired (exit %d) after it was stopped", code)
	default:
	}
}

// A test that runs past its bound is ended, and the dump names it and
// shows the goroutine it was stuck in.
func TestHungTestIsReported(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	exited := make(chan int, 1)
	defer func() { os.Stderr = stderr }()

	start(t, 10*time.Millisecond, func(code int) { exited <- code })
	var code int
	select {
	case code = <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog did not fire")
	}
	w.Close()
	var out bytes.Buffer
	io.Copy(&out, r)
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	for _, want := range []string{"watchdog: TestHungTestIsReported did not finish within 10ms", "goroutine ", "TestHungTestIsReported"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, out.String())
		}
	}
}

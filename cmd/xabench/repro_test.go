// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/stress"
)

func TestReproList(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"repro", "--list"}, &out, &errOut); code != 0 {
		t.Fatalf("repro --list: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"b1-add-folio-split", "6758c1128ceb", "b2-load-sibling", "cbc02854331e", "b3-folio-split", "577a1f495fd7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("repro --list does not name %q:\n%s", want, out.String())
		}
	}
}

func TestReproUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"repro"},
		{"repro", "no-such-scenario"},
		{"repro", "b2-load-sibling", "--variant", "sideways"},
		{"repro", "b2-load-sibling", "--bogus"},
		{"stress", "extra-argument"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage error)", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%v: no message on stderr", args)
		}
	}
}

// A buggy variant exits 1 with a report that says how to replay it; the
// fixed variant exits 0.
func TestReproVerdicts(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"repro", "marks-after-null", "--variant", "buggy", "--duration", "10s", "--seed", "3"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "VIOLATION") || !strings.Contains(out.String(), "--seed 3") {
		t.Fatalf("buggy: exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = run([]string{"repro", "marks-after-null", "--variant", "fixed", "--duration", "300ms"}, &out, &errOut)
	if code != 0 || !strings.HasPrefix(out.String(), "clean:") {
		t.Fatalf("fixed: exit %d, output:\n%s%s", code, out.String(), errOut.String())
	}
}

// On a pipe or a log file, a long run reports a plain line every
// progressEvery, not a redrawn line.
func TestProgressLineNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	report := progressLine(&buf, "b2-load-sibling fixed")
	for _, at := range []time.Duration{time.Second, 29 * time.Second, 31 * time.Second, 45 * time.Second, 61 * time.Second} {
		report(stress.Progress{Elapsed: at, Ops: int64(at / time.Second)})
	}
	want := "b2-load-sibling fixed: 31s, 31 ops\nb2-load-sibling fixed: 1m1s, 61 ops\n"
	if buf.String() != want {
		t.Fatalf("progress on a non-terminal:\n%q\nwant\n%q", buf.String(), want)
	}
}

// An interrupt stops a long run at once: the run is torn down and
// checked, the verdict says it was cut short, and the status is 130.
func TestReproInterrupted(t *testing.T) {
	for _, args := range [][]string{
		{"repro", "pagecache-mix", "--variant", "fixed", "--duration", "10m"},
		{"stress", "--duration", "1h"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var out, errOut bytes.Buffer
		start := time.Now()
		code := runContext(ctx, args, &out, &errOut)
		cancel()
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("%v: took %v to stop after the interrupt", args, took)
		}
		if code != exitInterrupted || !strings.HasPrefix(out.String(), "interrupted: ") {
			t.Errorf("%v: exit %d, output:\n%s%s", args, code, out.String(), errOut.String())
		}
	}
}

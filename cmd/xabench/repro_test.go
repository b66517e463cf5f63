// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
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
	watchdog.Start(t, watchdog.Default)
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
	watchdog.Start(t, watchdog.Default)
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

// parseTable parses repro --table's Markdown: a header row, a separator
// row, then one row per scenario and variant, and a caption after a
// blank line.
func parseTable(t *testing.T, md string) (rows [][]string, caption string) {
	t.Helper()
	table, caption, _ := strings.Cut(md, "\n\n")
	lines := strings.Split(table, "\n")
	cells := func(l string) []string {
		if !strings.HasPrefix(l, "| ") || !strings.HasSuffix(l, " |") {
			t.Fatalf("not a table row: %q in\n%s", l, md)
		}
		return strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "| "), " |"), " | ")
	}
	if len(lines) < 2 || strings.Join(cells(lines[0]), ",") != "scenario,variant,detected/seeds,median,p90,ops/run" ||
		lines[1] != "| --- | --- | --- | --- | --- | --- |" {
		t.Fatalf("no table header:\n%s", md)
	}
	for _, l := range lines[2:] {
		r := cells(l)
		if len(r) != 6 {
			t.Fatalf("row %q has %d cells, want 6", l, len(r))
		}
		rows = append(rows, r)
	}
	return rows, strings.TrimSpace(caption)
}

// repro --table honours a scenario, --seed, --variant, --inject and -o.
func TestReproTableFile(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	dir := t.TempDir()
	out := filepath.Join(dir, "detection.md")
	rc, stdout, stderr := runArgs("repro", "--table", "marks-after-null", "--seeds", "2", "--seed", "3",
		"--duration", "300ms", "-o", out)
	if rc != 0 {
		t.Fatalf("exit %d\n%s%s", rc, stdout, stderr)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, caption := parseTable(t, string(md))
	if len(rows) != 2 || rows[0][0] != "marks-after-null" || rows[0][1] != "buggy" || !strings.HasSuffix(rows[0][2], "/2") ||
		rows[1][0] != "marks-after-null" || rows[1][1] != "fixed" || rows[1][2] != "0/1" {
		t.Errorf("rows %q\n%s", rows, md)
	}
	for _, want := range []string{"seeds 3..4", "fixed variants: seed 3", "300ms", "race windows widened"} {
		if !strings.Contains(caption, want) || !strings.Contains(stdout, want) {
			t.Errorf("the caption lacks %q: %q\nstdout:\n%s", want, caption, stdout)
		}
	}
	if !strings.Contains(stdout, "marks-after-null  buggy") {
		t.Errorf("stdout lacks the table:\n%s", stdout)
	}

	// One variant, without injection.
	rc, stdout, stderr = runArgs("repro", "--table", "--variant", "fixed", "--inject=false", "--duration", "100ms",
		"-o", out, "marks-after-null")
	if rc != 0 {
		t.Fatalf("--variant fixed: exit %d\n%s%s", rc, stdout, stderr)
	}
	md, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, caption = parseTable(t, string(md))
	if len(rows) != 1 || rows[0][1] != "fixed" {
		t.Errorf("--variant fixed: rows %q\n%s", rows, md)
	}
	if !strings.Contains(caption, "not widened (--inject=false)") || strings.Contains(caption, "buggy") {
		t.Errorf("--inject=false --variant fixed: caption %q", caption)
	}
}

// An interrupt stops the rcu suite within about a measurement, with
// status 130; what finished is printed.
func TestBenchRCUInterrupted(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rc, stdout, stderr := runCtx(ctx, "bench", "--suite", "rcu", "--benchtime", "10ms", "--count", "1000")
	if rc != exitInterrupted || stdout != "" || !strings.Contains(stderr, "interrupted before the first run") {
		t.Errorf("cancelled before it started: exit %d, stdout %q, stderr %q", rc, stdout, stderr)
	}

	// 1000 runs of some 18 measurements of 10ms would take minutes.
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	rc, stdout, stderr = runCtx(ctx, "bench", "--suite", "rcu", "--benchtime", "10ms", "--count", "1000")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the rcu suite took %v to stop after the interrupt", took)
	}
	if rc != exitInterrupted || !strings.Contains(stderr, "interrupted") {
		t.Errorf("interrupted: exit %d, stderr %q", rc, stderr)
	}
	if stdout != "" && !strings.Contains(stdout, "interrupted: ") {
		t.Errorf("a partial table does not say it is partial:\n%s", stdout)
	}
}

func runCtx(ctx context.Context, args ...string) (rc int, stdout, stderr string) {
	var o, e bytes.Buffer
	rc = runContext(ctx, args, &o, &e)
	return rc, o.String(), e.String()
}

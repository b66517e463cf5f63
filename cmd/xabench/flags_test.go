// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		d    time.Duration
		o    string
		b    bool
	}{
		{nil, nil, time.Second, "", false},
		{[]string{"x"}, []string{"x"}, time.Second, "", false},
		{[]string{"x", "-d", "2s"}, []string{"x"}, 2 * time.Second, "", false},
		{[]string{"-d", "2s", "x"}, []string{"x"}, 2 * time.Second, "", false},
		{[]string{"x", "-b", "y", "--o=f", "z"}, []string{"x", "y", "z"}, time.Second, "f", true},
		{[]string{"-b", "x", "-d=3s", "-o", "f"}, []string{"x"}, 3 * time.Second, "f", true},
		// "--" ends the flags.
		{[]string{"x", "--", "-d", "2s"}, []string{"x", "-d", "2s"}, time.Second, "", false},
		{[]string{"--", "-b"}, []string{"-b"}, time.Second, "", false},
		// A flag's value "--" does not.
		{[]string{"-o", "--", "x", "-b"}, []string{"x"}, time.Second, "--", true},
		{[]string{"-b", "--", "-o", "f"}, []string{"-o", "f"}, time.Second, "", true},
	} {
		fs := newTestFlags()
		d := fs.Duration("d", time.Second, "")
		o := fs.String("o", "", "")
		b := fs.Bool("b", false, "")
		pos, rc := parseArgs(fs, c.args)
		if rc != -1 || !slices.Equal(pos, c.pos) || *d != c.d || *o != c.o || *b != c.b {
			t.Errorf("parseArgs(%q) = %q, %d; -d %v -o %q -b %v; want %q, -1; -d %v -o %q -b %v",
				c.args, pos, rc, *d, *o, *b, c.pos, c.d, c.o, c.b)
		}
	}
	fs := newTestFlags()
	fs.Duration("d", time.Second, "")
	if _, rc := parseArgs(fs, []string{"x", "-d", "soon"}); rc != 2 {
		t.Errorf("a bad value after a positional argument: rc %d, want 2", rc)
	}
	if _, rc := parseArgs(newTestFlags(), []string{"x", "-h"}); rc != 0 {
		t.Errorf("-h after a positional argument: rc %d, want 0", rc)
	}
}

// A negative or zero duration, and a count below its least, is a usage
// error that names the flag and its value.
func TestNotPositiveRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"repro", "--duration", "-1s", "b1-add-folio-split"}, "--duration -1s: must be positive"},
		{[]string{"repro", "b1-add-folio-split", "--duration", "0s"}, "--duration 0s: must be positive"},
		{[]string{"repro", "--table", "--duration=-5ms"}, "--duration -5ms: must be positive"},
		{[]string{"repro", "b1-add-folio-split", "--goroutines", "0"}, "--goroutines 0: must be at least 1"},
		{[]string{"repro", "--table", "--seeds", "0"}, "--seeds 0: must be at least 1"},
		{[]string{"stress", "--duration", "-1s"}, "--duration -1s: must be positive"},
		{[]string{"stress", "--duration", "0"}, "--duration 0s: must be positive"},
		{[]string{"bench", "--benchtime", "-1s"}, "--benchtime -1s: must be positive"},
		{[]string{"bench", "--benchtime", "0s"}, "--benchtime 0s: must be positive"},
		{[]string{"bench", "--suite", "rcu", "--count", "0"}, "--count 0: must be at least 1"},
		{[]string{"bench", "--suite", "iterate", "--count", "0"}, "--count 0: must be at least 1"},
		{[]string{"bench", "--suite", "iterate", "--benchtime", "0s"}, "--benchtime 0s: must be positive"},
	} {
		rc, stdout, stderr := runArgs(c.args...)
		if rc != 2 || stdout != "" || !strings.Contains(stderr, c.msg) || !strings.Contains(stderr, "Usage") {
			t.Errorf("xabench %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", c.args, rc, stdout, stderr, c.msg)
		}
	}
}

func TestReproUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"repro", "b1-add-folio-split", "b2-load-sibling"}, "want one scenario"},
		{[]string{"repro", "b1-add-folio-split", "-o", "x.md"}, "-o needs --table"},
		{[]string{"repro", "b1-add-folio-split", "--seeds", "3"}, "-seeds needs --table"},
		{[]string{"repro", "--list", "b1-add-folio-split"}, "--list takes no scenario"},
		{[]string{"repro", "b1-add-folio-split", "--variant", "sideways"}, `--variant "sideways"`},
		{[]string{"repro", "--table", "pagecache-mix", "--variant", "buggy"}, "only a fixed variant"},
		{[]string{"repro", "--table", "no-such-scenario"}, "no scenario"},
	} {
		rc, _, stderr := runArgs(c.args...)
		if rc != 2 || !strings.Contains(stderr, c.msg) {
			t.Errorf("xabench %q: exit %d, stderr:\n%s\nwant exit 2 and %q", c.args, rc, stderr, c.msg)
		}
	}
}

// Flags may follow the scenario, or OLD and NEW, as well as precede
// them.
func TestFlagsAfterArguments(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, args := range [][]string{
		{"repro", "marks-after-null", "--variant", "fixed", "--duration", "200ms", "--seed", "7"},
		{"repro", "--variant", "fixed", "--duration", "200ms", "marks-after-null", "--seed", "7"},
		{"repro", "--variant", "fixed", "--duration", "200ms", "--seed", "7", "marks-after-null"},
	} {
		start := time.Now()
		rc, stdout, stderr := runArgs(args...)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%q: ran %v: --duration 200ms was not taken", args, took)
		}
		if rc != 0 || !strings.HasPrefix(stdout, "clean: marks-after-null fixed ") || !strings.Contains(stdout, "seed 7") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, rc, stdout, stderr)
		}
	}

	dir := t.TempDir()
	base := []float64{20.1, 19.9, 20.0, 20.3, 19.8, 20.2}
	slow := []float64{22.3, 22.0, 22.5, 22.1, 21.9, 22.4} // +11%
	old := writeRuns(t, dir, "old.txt", map[string][]float64{"impl=xarray": base, "impl=sync.Map": base})
	new := writeRuns(t, dir, "new.txt", map[string][]float64{"impl=xarray": slow, "impl=sync.Map": base})
	for _, c := range []struct {
		args []string
		rc   int
	}{
		{[]string{"compare", old, new}, 1},
		{[]string{"compare", "-threshold", "15%", old, new}, 0},
		{[]string{"compare", old, new, "-threshold", "15%"}, 0},
		{[]string{"compare", old, "-threshold", "15%", new}, 0},
		{[]string{"compare", "-threshold", "15%", "--", old, new}, 0},
	} {
		if rc, stdout, stderr := runArgs(c.args...); rc != c.rc {
			t.Errorf("xabench %q: exit %d, want %d\n%s%s", c.args, rc, c.rc, stdout, stderr)
		}
	}
	if rc, _, stderr := runArgs("plot", "-i", filepath.Join(dir, "none"), "extra"); rc != 2 || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("plot with an argument: exit %d, stderr:\n%s", rc, stderr)
	}
}

func newTestFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// The rcu and iterate suites measure fixed sets of primitives and walks
// and write no result files: -filter, -cpu and -o are usage errors that
// say so, not flags silently ignored.
func TestSuiteFlagsRefused(t *testing.T) {
	for _, suite := range []string{"rcu", "iterate"} {
		for _, flag := range [][]string{{"-filter", "xarray"}, {"-cpu", "1,2"}, {"-o", t.TempDir()}} {
			args := append([]string{"bench", "--suite", suite}, flag...)
			rc, stdout, stderr := runArgs(args...)
			msg := "the " + suite + " suite takes no -filter, -cpu or -o"
			if rc != 2 || stdout != "" || !strings.Contains(stderr, msg) || !strings.Contains(stderr, "Usage") {
				t.Errorf("xabench %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", args, rc, stdout, stderr, msg)
			}
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func runArgs(args ...string) (rc int, stdout, stderr string) {
	var o, e bytes.Buffer
	rc = run(args, &o, &e)
	return rc, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"-nosuchflag"},
		{"bench", "-nosuchflag"},
		{"bench", "--suite", "nosuchsuite"},
		{"bench", "extra"},
		{"bench", "-benchtime", "0s"},
		{"help", "nosuchcommand"},
	} {
		rc, stdout, stderr := runArgs(args...)
		if rc != 2 {
			t.Errorf("xabench %v: exit %d; want 2", args, rc)
		}
		if !strings.Contains(stderr, "Usage") {
			t.Errorf("xabench %v: stderr lacks usage:\n%s", args, stderr)
		}
		if stdout != "" {
			t.Errorf("xabench %v: wrote to stdout:\n%s", args, stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		rc, stdout, _ := runArgs(args...)
		if rc != 0 || !strings.Contains(stdout, "Commands:") || !strings.Contains(stdout, "bench") {
			t.Errorf("xabench %v: exit %d, stdout:\n%s", args, rc, stdout)
		}
	}
	rc, stdout, _ := runArgs("help", "bench")
	if rc != 0 || !strings.Contains(stdout, "-benchtime") || !strings.Contains(stdout, "rcu") {
		t.Errorf("xabench help bench: exit %d, stdout:\n%s", rc, stdout)
	}
	if rc, _, _ := runArgs("bench", "-h"); rc != 0 {
		t.Errorf("xabench bench -h: exit %d; want 0", rc)
	}
}

func TestBenchRCU(t *testing.T) {
	rc, stdout, stderr := runArgs("bench", "--suite", "rcu", "--benchtime", "2ms", "-count", "1")
	if rc != 0 {
		t.Fatalf("xabench bench: exit %d\n%s", rc, stderr)
	}
	for _, want := range []string{
		"machine:", "rcu ReadLock+ReadUnlock", "sync.RWMutex", "xsync.RBMutex", "atomic.Int64.Add",
		"Synchronize latency", "2 busy readers", "callbacks", "beside a Synchronize loop", "target",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "run 1 of 1") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	_, _, stderr = runArgs("bench", "-q", "-benchtime", "1ms", "-count", "1")
	if stderr != "" {
		t.Errorf("bench -q wrote to stderr: %q", stderr)
	}
}

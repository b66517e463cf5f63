// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

const nodelessEnv = "XARRAY_TEST_NODELESS"

// Walking arrays that have no node must not touch the node slab: in the
// mmap build the slab does not exist until the first node is allocated,
// and reading it before then faults (State.Next did, and took
// `xabench repro lookup-no-reload` down on its first lookup). Only a
// process that has allocated no node can show it, so the test runs
// TestNodelessWalksChild in a child process of the test binary.
func TestNodelessWalks(t *testing.T) {
	if os.Getenv(nodelessEnv) != "" {
		t.Skip("the child runs TestNodelessWalksChild only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodelessWalksChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), nodelessEnv+"=1")
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		// Under an emulator (go test -exec qemu-arm) the test binary
		// is not one this system can start by itself.
		t.Skipf("cannot start the test binary again here: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNodelessWalksChild") {
		t.Fatalf("walks of node-less arrays in a fresh process failed (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "no node was allocated") {
		t.Fatalf("the child allocated a node before walking, so it proved nothing:\n%s", out)
	}
}

// TestNodelessWalksChild walks an empty array and arrays whose only entry
// is in the head, with every read-side step, before any node exists.
func TestNodelessWalksChild(t *testing.T) {
	if os.Getenv(nodelessEnv) == "" {
		t.Skip("run by TestNodelessWalks in a fresh process")
	}
	if s := NodeCacheStats(); s.InUse+s.Free != 0 {
		t.Fatalf("a node was allocated before the test (%+v): the child must run alone", s)
	}
	empty := New(0)
	one := New(0)
	one.Store(0, MkValue(7)) // an entry at index 0 lives in the head
	marked := New(0)
	marked.Store(0, MkValue(9))
	marked.SetMark(0, Mark0)
	for _, xa := range []*XArray{empty, one, marked} {
		for _, start := range []uint64{0, 1, 63, math.MaxUint64} {
			xas := NewState(xa, start)
			t0 := xa.rcu.ReadLock()
			xas.Load()
			xas.Next()
			xas.Next()
			xas.Reset()
			xas.Prev()
			xas.Reset()
			xas.Find(math.MaxUint64)
			xas.NextEntry(math.MaxUint64)
			xas.Reset()
			xas.FindMarked(math.MaxUint64, Mark0)
			xas.NextMarked(math.MaxUint64, Mark0)
			xas.Set(start)
			xas.Load()
			xas.GetMark(Mark0)
			xas.Pause()
			xa.rcu.ReadUnlock(t0)
			xa.Load(start)
			idx := start
			xa.Find(&idx, math.MaxUint64, Present)
			for range xa.All() {
			}
			for range xa.Marked(Mark0) {
			}
		}
	}
	if s := NodeCacheStats(); s.InUse+s.Free != 0 {
		t.Fatalf("the walks allocated a node (%+v): the test no longer covers a node-less process", s)
	}
	t.Log("no node was allocated")
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// slabAtStart is slabLimit when TestMain began, before any test ran.
var slabAtStart uint32

// refuseSlabEnv makes TestMain refuse the slab, as a system that denies
// the reservation would: the child process of TestRefusedSlabIsAnError
// runs with it.
const refuseSlabEnv = "XARRAY_TEST_REFUSE_SLAB"

func refuseSlab(uint32) (uint32, error) {
	return 0, &NodeCacheError{Nodes: 1 << 16, Err: syscall.ENOMEM}
}

// Importing the package reserves nothing: the slab is made by the first
// allocation of a node.
func TestImportReservesNothing(t *testing.T) {
	if slabAtStart != 0 {
		t.Fatalf("slab backs %d handles before any test ran, want 0", slabAtStart)
	}
	if c := NodeCacheStats().Capacity; c < 1<<16 {
		t.Errorf("NodeCacheStats().Capacity = %d, want the most the cache can hold", c)
	}
	xa := New(0)
	xa.Store(1<<20, MkValue(1))
	if slabLimit.Load() <= firstHandle {
		t.Fatalf("slab limit %d after a store that needs nodes", slabLimit.Load())
	}
	finish(t, xa)
}

// A node cache whose slab cannot be made fails every allocation with the
// same NodeCacheError, which is also ErrNoMemory, and asks the system
// only once.
func TestNodeCacheRefusedSlab(t *testing.T) {
	asked := 0
	c := nodeCache{next: firstHandle, limit: firstHandle, grow: func(limit uint32) (uint32, error) {
		asked++
		return refuseSlab(limit)
	}}
	for range 3 {
		h, err := c.alloc()
		var nce *NodeCacheError
		if h != 0 || !errors.As(err, &nce) || !errors.Is(err, ErrNoMemory) || !errors.Is(err, syscall.ENOMEM) {
			t.Fatalf("alloc = %d, %v; want 0 and a NodeCacheError that is ErrNoMemory and ENOMEM", h, err)
		}
	}
	if asked != 1 {
		t.Errorf("the slab was asked for %d times, want once", asked)
	}
	if c.inUse.Load() != 0 {
		t.Errorf("%d nodes in use after failed allocations", c.inUse.Load())
	}
}

// A full node cache fails with plain ErrNoMemory, which the State's
// nomem loop treats as any allocation failure.
func TestNodeCacheFull(t *testing.T) {
	c := nodeCache{next: firstHandle, limit: firstHandle, grow: func(limit uint32) (uint32, error) {
		if limit == firstHandle {
			return firstHandle + 2, nil
		}
		return limit, nil
	}}
	for i := range 2 {
		if h, err := c.alloc(); h != firstHandle+uint32(i) || err != nil {
			t.Fatalf("alloc %d = %d, %v", i, h, err)
		}
	}
	if h, err := c.alloc(); h != 0 || err != ErrNoMemory {
		t.Fatalf("alloc from a full cache = %d, %v; want 0, ErrNoMemory", h, err)
	}
}

// Where the system refuses the slab, the XArray says so as an error from
// the store that needed a node, not as a crash, and everything that needs
// no node still works. It runs in a child process whose TestMain refuses
// the slab before any node is allocated.
func TestRefusedSlabIsAnError(t *testing.T) {
	if os.Getenv(refuseSlabEnv) == "" {
		out := runChildTest(t, "TestRefusedSlabIsAnError", refuseSlabEnv+"=1", false)
		if !strings.Contains(out, "--- PASS: TestRefusedSlabIsAnError") {
			t.Fatalf("child did not pass:\n%s", out)
		}
		return
	}
	xa := New(0)
	if _, err := xa.Store(0, MkValue(1)); err != nil {
		t.Fatalf("Store at 0 needs no node, got %v", err)
	}
	_, err := xa.Store(1, MkValue(2))
	var nce *NodeCacheError
	if !errors.As(err, &nce) || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("Store needing a node = %v, want a NodeCacheError", err)
	}
	if !strings.Contains(err.Error(), "cannot reserve a node cache") {
		t.Errorf("error %q does not say what failed", err)
	}
	t.Log(err)
	if err := xa.StoreRange(64, 127, MkValue(3)); !errors.As(err, &nce) {
		t.Errorf("StoreRange = %v, want the NodeCacheError", err)
	}
	if e := xa.Load(0); e != MkValue(1) {
		t.Errorf("Load(0) = %v", e)
	}
	xa.Destroy()
}

// runChildTest runs test name of this package in a child go test with
// env added, and returns its output. race builds the child with -race.
func runChildTest(t *testing.T, name, env string, race bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package's tests again in a child process")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the child with")
		}
	}
	args := []string{"test", "-count=1", "-v", "-run", "^" + name + "$", "."}
	if race {
		args = append(args[:1], append([]string{"-race"}, args[1:]...)...)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("child %s: %v", name, err)
	}
	return string(out)
}

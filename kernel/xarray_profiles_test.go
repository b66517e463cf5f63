// SPDX-License-Identifier: GPL-2.0-or-later

package kernel

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// xarrayAsRelease names the tests of package xarray that build their
// arrays as the release -xarray.variant names, and that
// TestXArrayProfiles runs under every profile:
//   - the port of lib/test_xarray.c (TestCheck*), whose checks that a
//     release's test did not have say which releases they hold for, and
//     check the older releases' behaviour where it shows;
//   - the single-threaded ports of tools/testing/radix-tree
//     (multiorder's iterations, regression2 and 3), and load_race, whose
//     expectations changed with cbc02854331e and 7e060df04f56;
//   - the fuzz model, FuzzOps's seeds and corpus and the tests of what
//     it found, which follows the old xas_split_alloc guard and steers
//     around the old split marks (see fuzz_test.go);
//   - the linearizability checks against porcupine's sequential model.
//
// Left out: the other multi-threaded radix-tree ports (regression1 and
// 4, iteration_check and iteration_check_2, iteration_race,
// idr_find_test), which run for a fixed time each and whose checks no
// release variant changes (order-0 entries only, or no check of what a
// paused walk visits); TestIterateMatchesFindAfter, whose arrays have
// no split, pause or race for a variant to show in; and the variant
// tests, which set their variants themselves.
var xarrayAsRelease = []string{
	"TestCheck.*",
	"TestMultiorderIteration", "TestMultiorderTaggedIteration", "TestRegression2", "TestRegression3", "TestLoadRace",
	"FuzzOps", "TestFuzzFound.*",
	"TestLinearizable.*",
}

// xarrayMustRun are tests that each profile's run must report as
// passed, so that a renamed test cannot leave the run empty.
var xarrayMustRun = []string{"TestCheckPause", "TestCheckSplit", "TestCheckFind", "FuzzOps", "TestLinearizableMultiIndex"}

// The kernel port, the fuzz model and the model-checked tests of package
// xarray pass as every release whose profile has XArray variants: one
// child process of xarray's test binary per profile, with
// -xarray.variant set to the profile's variants, so that this table of
// profiles stays the only one. (Package xarray cannot import this one,
// which imports it.) The children run without -race, with -short; the
// xarray package's own run is mainline's.
func TestXArrayProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds xarray's tests and runs them once per profile in child processes")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build xarray's tests with")
		}
	}
	dir, err := filepath.Abs(filepath.Join("..", "xarray")) // FuzzOps reads testdata/ from there
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "xarray.test")
	build := exec.Command(goBin, "test", "-c", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c ./xarray: %v\n%s", err, out)
	}
	run := "^(" + strings.Join(xarrayAsRelease, "|") + ")$"
	ran := 0
	for _, p := range Profiles() {
		if p.XArray == 0 {
			continue
		}
		ran++
		t.Run(p.Name, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run", run, "-test.short", "-test.count=1", "-test.v",
				fmt.Sprintf("-xarray.variant=%#x", uint32(p.XArray)))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("xarray's tests as %s (-xarray.variant=%#x): %v\n%s", p, uint32(p.XArray), err, failures(out))
			}
			for _, name := range xarrayMustRun {
				if !strings.Contains(string(out), "--- PASS: "+name+" ") {
					t.Errorf("as %s, %s did not pass:\n%s", p, name, out)
				}
			}
		})
	}
	if ran < 3 {
		t.Errorf("%d profiles have XArray variants; v6.1, v6.6 and v6.10 at least should", ran)
	}
}

// failures keeps the lines of a -test.v output that tell what failed:
// everything but the passing tests' own lines.
func failures(out []byte) string {
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "=== RUN") || strings.HasPrefix(line, "--- PASS") ||
			strings.HasPrefix(line, "    --- PASS") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

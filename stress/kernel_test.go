// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/kernel"
)

// profile looks a release up, failing the test if it is not one.
func profile(t *testing.T, name string) *kernel.Profile {
	t.Helper()
	p, err := kernel.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// Each real bug's release info names two profiles, the buggy one older.
func TestScenarioReleases(t *testing.T) {
	n := 0
	for _, s := range Scenarios() {
		if s.Commit == "protocol" {
			if s.LastBuggy != "" || s.FirstFixed != "" {
				t.Errorf("%s: a protocol break has no release", s.Name)
			}
			continue
		}
		n++
		buggy, fixed := profile(t, s.LastBuggy), profile(t, s.FirstFixed)
		names := kernel.Names()
		if i, j := indexOf(names, buggy.Name), indexOf(names, fixed.Name); i+1 != j {
			t.Errorf("%s: last buggy %s, first fixed %s: want consecutive profiles", s.Name, buggy, fixed)
		}
	}
	if n == 0 {
		t.Fatal("no real bug has release info")
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// A scenario's fixed form, run as a release with the bug, finds it; run
// as a release with every bug it can catch fixed, it is clean. The bugs
// are found fast (b2 in about 100 µs, b1 in about 50 ms without -race):
// the long limits only bound a slow machine, and a run ends at the catch.
//
// b2 is not clean as v6.6, the first release with its own fix: its
// marked finds racing StoreRange catch 7e060df04f56's bug
// (xas_find_marked returns a sibling), which v6.6 still has and v6.14
// fixed. As v6.6 it may find that, but never xa_load's sibling.
func TestScenariosAsReleases(t *testing.T) {
	d := time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	for _, c := range []struct {
		scenario string
		buggy    []string
		limit    time.Duration
		clean    []string
	}{
		{"b2-load-sibling", []string{"v6.1"}, 20 * time.Second, []string{"v6.14", "mainline"}},
		// One catch only: under -race a caught b1 run can take about 10 s
		// more to end (a lookup spins on the corrupt tree until the
		// livelock timeout), so v6.6 (its LastBuggy) is left out.
		{"b1-add-folio-split", []string{"v6.1"}, 30 * time.Second, []string{"v6.10"}},
		{"b3-folio-split", []string{"v6.15"}, 30 * time.Second, []string{"mainline"}},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			s, err := Lookup(c.scenario)
			if err != nil {
				t.Fatal(err)
			}
			for _, rel := range c.buggy {
				res, err := runWatched(t, s, Fixed, Config{Duration: c.limit, Seed: 1, Inject: true, Kernel: profile(t, rel)})
				if err != nil {
					t.Fatal(err)
				}
				if res.Clean() {
					t.Fatalf("%s as %s ran %v (%d ops) without a violation", c.scenario, rel, res.Elapsed.Round(time.Millisecond), res.Ops)
				}
				if res.Kernel != rel || res.First.Kernel != rel {
					t.Errorf("result names kernel %q, violation %q; want %s", res.Kernel, res.First.Kernel, rel)
				}
				if want := "--variant fixed --kernel " + rel + " --seed 1"; !strings.Contains(res.First.String(), want) {
					t.Errorf("replay line lacks %q:\n%v", want, res.First)
				}
				t.Logf("as %s: caught after %v (run ended after %v): %s", rel, res.First.After.Round(time.Microsecond), res.Elapsed.Round(time.Millisecond), res.First.Kind)
			}
			for _, rel := range c.clean {
				res, err := runWatched(t, s, Fixed, Config{Duration: d, Seed: 1, Inject: true, Kernel: profile(t, rel)})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Clean() {
					t.Fatalf("%s as %s: %v", c.scenario, rel, res.First)
				}
				if res.Ops == 0 {
					t.Fatalf("%s as %s did no work", c.scenario, rel)
				}
			}
		})
	}
	t.Run("b2-load-sibling/v6.6", func(t *testing.T) {
		s, err := Lookup("b2-load-sibling")
		if err != nil {
			t.Fatal(err)
		}
		res, err := runWatched(t, s, Fixed, Config{Duration: d, Seed: 1, Inject: true, Kernel: profile(t, "v6.6")})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Clean() {
			if !strings.HasPrefix(res.First.Kind, "xa_find (marked)") {
				t.Fatalf("b2 as v6.6 (which has cbc02854331e): %v", res.First)
			}
			t.Logf("as v6.6: found 7e060df04f56's bug after %v", res.First.After.Round(time.Microsecond))
		}
	})
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/kernel"
)

// lookupScenario returns the named scenario, failing the test if there
// is none.
func lookupScenario(t *testing.T, name string) *Scenario {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustCatch runs s in the given variant (as release k, if not nil) with
// the race windows widened until it finds a violation, and fails unless
// it finds one whose kind contains want.
func mustCatch(t *testing.T, s *Scenario, variant string, k *kernel.Profile, want string) {
	t.Helper()
	res, err := runWatched(t, s, variant, Config{Duration: 30 * time.Second, Seed: 1, Inject: true, Kernel: k})
	if err != nil {
		t.Fatal(err)
	}
	if res.Clean() {
		t.Fatalf("%s %s%s ran %v (%d ops) without a violation", s.Name, variant, asRelease(k), res.Elapsed.Round(time.Millisecond), res.Ops)
	}
	if !strings.Contains(res.First.Kind, want) {
		t.Fatalf("%s %s%s: want a violation with %q, got:\n%v", s.Name, variant, asRelease(k), want, res.First)
	}
	if !strings.Contains(res.First.String(), "replay: xabench repro "+s.Name) {
		t.Errorf("the report has no replay line:\n%v", res.First)
	}
	t.Logf("%s%s: caught after %v: %s", variant, asRelease(k), res.First.After.Round(time.Microsecond), res.First.Kind)
}

// mustRunClean runs s's fixed form as release k for a short while and
// fails on any violation.
func mustRunClean(t *testing.T, s *Scenario, k *kernel.Profile) {
	t.Helper()
	d := 500 * time.Millisecond
	if testing.Short() {
		d = 200 * time.Millisecond
	}
	res, err := runWatched(t, s, Fixed, Config{Duration: d, Seed: 1, Inject: true, Kernel: k})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clean() {
		t.Fatalf("%s fixed%s: %v", s.Name, asRelease(k), res.First)
	}
	if res.Ops == 0 {
		t.Fatalf("%s fixed%s did no work", s.Name, asRelease(k))
	}
}

func asRelease(k *kernel.Profile) string {
	if k == nil {
		return ""
	}
	return " as " + k.Name
}

// filemap_get_folios_contig before c225c4f6056b oopses on the sibling
// entry of a large folio it starts in or steps through: the buggy form
// and the fixed form run as v6.10 both do. v6.14 has the fix but still
// repeats folios in a batch (8ab1b1602396 came in v6.15), which the
// pinner skips as memfd_pin_folios does: it runs clean.
func TestContigSibling(t *testing.T) {
	s := lookupScenario(t, "contig-sibling")
	mustCatch(t, s, Buggy, nil, "NULL pointer dereference in filemap_get_folios_contig")
	mustCatch(t, s, Fixed, profile(t, "v6.10"), "NULL pointer dereference in filemap_get_folios_contig")
	mustRunClean(t, s, profile(t, "v6.14"))
}

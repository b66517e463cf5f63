// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"slices"
	"strings"
	"testing"
)

// The drift is taken from the reference maps found in both sets, and the
// report names those only: a reference added since the old set was made
// (xsync v4 after the committed baseline) took no part in it.
func TestDriftNamesOnlyTheReferencesItUsed(t *testing.T) {
	const group = "BenchmarkLookup/keys=dense-1M/access=rand/read=100"
	mk := func(impls ...string) *Samples {
		s := &Samples{Units: []string{"ns/op"}, Values: map[string]map[string][]float64{}}
		for i, impl := range append([]string{"xarray"}, impls...) {
			n := name(group+"-2", impl)
			s.Names = append(s.Names, n)
			s.Values[n] = map[string][]float64{"ns/op": {100 + float64(i), 101 + float64(i), 99 + float64(i), 100 + float64(i), 102 + float64(i), 98 + float64(i)}}
		}
		return s
	}
	old := mk("xsync.MapOf", "sync.Map")
	new := mk("xsync.MapOf", "sync.Map", "xsyncv4")
	c := Compare("old", old, "new", new, CompareOptions{})
	uc := c.UnitComparison("ns/op")
	if uc == nil || !uc.HasDrift {
		t.Fatalf("no drift taken from two references present in both sets")
	}
	if !slices.Equal(uc.DriftRefs, []string{"sync.Map", "xsync.MapOf"}) {
		t.Fatalf("drift taken from %v, want [sync.Map xsync.MapOf]", uc.DriftRefs)
	}
	var out strings.Builder
	c.WriteText(&out)
	if !strings.Contains(out.String(), "the reference maps (sync.Map, xsync.MapOf) took") {
		t.Errorf("report does not name just the references used:\n%s", out.String())
	}
}

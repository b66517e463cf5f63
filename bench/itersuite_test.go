// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
)

// iterTestKeys is the size of the key sets the tests run the iterate
// suite on: four range walks' worth, so that it builds in moments.
const iterTestKeys = 4 * IterSpan

// The iterate suite measures, on a dense and a sparse key set, a full
// walk by the XArray's State loop and All, both B-trees and the three
// hash maps; a range walk by the State loop, Range and both B-trees; and
// on the dense set a marked walk by the State loop, Marked and the two
// marked B-trees. Every row holds one number per run.
func TestRunIterate(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	res, err := RunIterate(IterOptions{Benchtime: time.Millisecond, Count: 2, Keys: iterTestKeys})
	if err != nil {
		t.Fatal(err)
	}
	if res.Interrupted || res.Runs != 2 || res.Count != 2 || res.Keys != iterTestKeys || res.SparseGap != SparseGap(iterTestKeys) {
		t.Errorf("interrupted %v, %d runs of %d, %d keys, sparse gap %d", res.Interrupted, res.Runs, res.Count, res.Keys, res.SparseGap)
	}
	full := []string{IterXArrayState, IterXArrayIter, IterBTreeRW, IterBTreeCOW, IterXsyncMapOf, IterXsyncV4, IterSyncMap}
	ranged := []string{IterXArrayState, IterXArrayIter, IterBTreeRW, IterBTreeCOW}
	marked := []string{IterXArrayState, IterXArrayIter, IterBTreeFilter, IterBTreeMarked}
	span := "/span=" + SizeName(IterSpan)
	want := []struct {
		name    string
		entries int
		rows    []string
	}{
		{"Iterate/keys=dense/n=4K/walk=full", iterTestKeys, full},
		{"Iterate/keys=dense/n=4K/walk=range" + span, IterSpan, ranged},
		{"Iterate/keys=dense/n=4K/walk=marked/every=16", iterTestKeys / IterMarkEvery, marked},
		{"Iterate/keys=sparse/n=4K/walk=full", iterTestKeys, full},
		{"Iterate/keys=sparse/n=4K/walk=range" + span, IterSpan, ranged},
	}
	if len(res.Groups) != len(want) {
		t.Fatalf("%d groups, want %d", len(res.Groups), len(want))
	}
	for i, w := range want {
		g := &res.Groups[i]
		var names []string
		for _, r := range g.Rows {
			names = append(names, r.Name)
			if len(r.NsPerEntry) != 2 || slices.ContainsFunc(r.NsPerEntry, func(ns float64) bool { return !(ns > 0) }) {
				t.Errorf("%s/impl=%s: runs %v, want 2 positive", g.Name(), r.Name, r.NsPerEntry)
			}
			if unordered := strings.Contains(r.Label, "unordered"); r.Ordered == unordered {
				t.Errorf("%s/impl=%s: ordered %v, but labelled %q", g.Name(), r.Name, r.Ordered, r.Label)
			}
		}
		if g.Name() != w.name || g.Entries != w.entries || !slices.Equal(names, w.rows) {
			t.Errorf("group %d: %s, %d entries a walk, rows %v;\nwant %s, %d, %v", i, g.Name(), g.Entries, names, w.name, w.entries, w.rows)
		}
	}
}

// The fastest B-tree of a run is the slower's floor, run by run.
func TestIterGroupBestBTree(t *testing.T) {
	g := &IterGroup{Rows: []IterRow{
		{Name: IterXArrayState, NsPerEntry: []float64{1, 1, 1}},
		{Name: IterBTreeRW, NsPerEntry: []float64{5, 3, 4}},
		{Name: IterBTreeCOW, NsPerEntry: []float64{4, 6, 4}},
		{Name: IterSyncMap, NsPerEntry: []float64{0.5, 0.5, 0.5}},
	}}
	if got, want := g.BestBTree(), []float64{4, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("BestBTree = %v, want %v", got, want)
	}
	if (&IterGroup{Rows: g.Rows[:1]}).BestBTree() != nil {
		t.Errorf("BestBTree of a group without B-trees is not nil")
	}
	if g.Row(IterBTreeCOW) != &g.Rows[2] || g.Row(IterBTreeMarked) != nil {
		t.Errorf("Row finds the wrong rows")
	}
}

// A walk that visits one entry too few, or the right number of entries
// with a wrong value, fails the measurement with an error that names it;
// the suite stops with that error.
func TestIterateWrongWalkFails(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	k := KeySet{Dense, iterTestKeys}
	s, err := newIterKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	_, cases := iterCases(k, s)
	c := cases[0]
	right := c.walk
	for _, wrong := range []walker{
		func(op int) (int, uint64) { n, sum := right(op); return n - 1, sum },
		func(op int) (int, uint64) { n, sum := right(op); return n, sum + 1 },
	} {
		c.walk = wrong
		_, err := measureWalk(time.Millisecond, &c)
		if err == nil || !strings.Contains(err.Error(), "Iterate/keys=dense/n=4K/walk=full/impl=xarray-state: walk 0 visited") {
			t.Errorf("a wrong walk measured with error %v", err)
		}
	}
	c.walk = right
	if ns, err := measureWalk(time.Millisecond, &c); err != nil || !(ns > 0) {
		t.Errorf("the right walk: %v ns/entry, error %v", ns, err)
	}
}

// Every walk of every competitor visits exactly the entries it should,
// range walks from 64 starts.
func TestIterateWalksVisitTheirEntries(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	for _, k := range []KeySet{{Dense, iterTestKeys}, {Sparse, iterTestKeys}} {
		s, err := newIterKeySet(k)
		if err != nil {
			t.Fatal(err)
		}
		_, cases := iterCases(k, s)
		for i := range cases {
			c := &cases[i]
			for op := range 64 {
				if c.group.Walk != WalkRange && op > 1 {
					break
				}
				count, sum := c.walk(op)
				if err := c.check(op, count, sum); err != nil {
					t.Error(err)
					break
				}
			}
		}
		s.close()
	}
}

// Fewer keys than a range walk needs is an error, not a panic.
func TestRunIterateTooFewKeys(t *testing.T) {
	if _, err := RunIterate(IterOptions{Keys: IterSpan - 1}); err == nil {
		t.Errorf("RunIterate with %d keys: no error", IterSpan-1)
	}
}

// A cancelled context stops the iterate suite before its next
// measurement; it keeps the runs that finished whole.
func TestRunIterateCancelled(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := RunIterate(IterOptions{Context: ctx, Benchtime: time.Millisecond, Count: 1000, Keys: iterTestKeys})
	if err != nil || !res.Interrupted || res.Runs != 0 || len(res.Groups) != 0 {
		t.Errorf("cancelled before it started: error %v, interrupted %v, %d runs, %d groups", err, res.Interrupted, res.Runs, len(res.Groups))
	}

	// Cancelled in the middle of the second run.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	res, err = RunIterate(IterOptions{Context: ctx, Benchtime: time.Millisecond, Count: 1000, Keys: iterTestKeys,
		Progress: func(run int, name string) {
			if run == 2 && strings.Contains(name, "walk=range") && cancelledAt.IsZero() {
				cancelledAt = time.Now()
				cancel()
			}
		}})
	if took := time.Since(cancelledAt); took > 5*time.Second {
		t.Errorf("RunIterate returned %v after its context was cancelled", took)
	}
	if err != nil || !res.Interrupted || res.Runs != 1 {
		t.Fatalf("cancelled in run 2: error %v, interrupted %v, %d runs", err, res.Interrupted, res.Runs)
	}
	for _, g := range res.Groups {
		for _, r := range g.Rows {
			if len(r.NsPerEntry) != 1 {
				t.Errorf("%s/impl=%s: %d runs, want those of the one whole run", g.Name(), r.Name, len(r.NsPerEntry))
			}
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// A worker that dies of a kernel BUG while holding an XArray lock and a
// folio lock must not hang the run: the others wait on those locks until
// the harness breaks them, and the run reports the BUG.
func TestBugUnderLockEndsTheRun(t *testing.T) {
	s := &Scenario{Name: "bug-under-lock", run: func(r *run) func() {
		xa := r.newXArray(0)
		m := r.memmap(64)
		f, err := m.Alloc(0)
		if err != nil {
			t.Fatal(err)
		}
		r.goWorker(func(*rand.Rand) {
			xa.Lock()
			f.Lock()
			panic("kernel BUG at test: dying with the locks held")
		})
		for range 2 {
			r.goWorker(func(*rand.Rand) {
				time.Sleep(10 * time.Millisecond)
				xa.Lock() // blocks until the harness breaks the lock
				xa.Unlock()
			})
		}
		r.goWorker(func(*rand.Rand) {
			time.Sleep(10 * time.Millisecond)
			f.Lock()
			f.Unlock()
		})
		return func() { destroyQuietly(xa) }
	}}
	start := time.Now()
	res, err := runWatched(t, s, Buggy, Config{Duration: 200 * time.Millisecond, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Clean() || !strings.Contains(res.First.Kind, "dying with the locks held") {
		t.Fatalf("the BUG was not reported: %+v", res.First)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("the run took %v to end", el)
	}
}

func TestRunRejectsBadVariant(t *testing.T) {
	s, err := Lookup("b2-load-sibling")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run("sideways", Config{}); err == nil {
		t.Fatal("a bad variant was accepted")
	}
	if _, err := Lookup("no-such"); err == nil {
		t.Fatal("an unknown scenario was found")
	}
}

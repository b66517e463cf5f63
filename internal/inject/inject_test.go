// SPDX-License-Identifier: GPL-2.0-or-later

package inject

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testPoint = New("inject.test")

func TestEnableFiresAndDisableStops(t *testing.T) {
	if err := Enable("inject.test", 1, 0); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		testPoint.Hit()
	}
	if got := testPoint.Hits(); got != 10 {
		t.Fatalf("an always-firing point fired %d times in 10 passes", got)
	}
	DisableAll()
	testPoint.Hit()
	if got := testPoint.Hits(); got != 10 {
		t.Fatalf("a disabled point fired: %d", got)
	}
}

func TestProbabilityAndDelay(t *testing.T) {
	if err := Enable("inject.test", 0.5, 5*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	defer DisableAll()
	for range 1000 {
		testPoint.Hit()
	}
	if got := testPoint.Hits(); got < 350 || got > 650 {
		t.Fatalf("a point with probability 0.5 fired %d times in 1000 passes", got)
	}
}

func TestUnknownAndDuplicate(t *testing.T) {
	if err := Enable("no.such.point", 1, 0); err == nil {
		t.Fatal("enabling an unknown point: no error")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a duplicate point did not panic")
		}
	}()
	New("inject.test")
}

var lateN int

func TestSearchHookSeesEveryPass(t *testing.T) {
	var seen []string
	SetSearchHook(func(p *Point) bool {
		seen = append(seen, p.Name())
		return true
	})
	lateN++
	late := New(fmt.Sprintf("inject.test.late%d", lateN)) // registered while the hook is set
	testPoint.Hit()
	late.Hit()
	if err := Enable("inject.test", 1, 0); err != nil {
		t.Fatal(err)
	}
	testPoint.Hit()
	DisableAll()
	SetSearchHook(nil)
	testPoint.Hit()
	late.Hit()
	want := []string{"inject.test", late.Name(), "inject.test"}
	if len(seen) != len(want) || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Fatalf("the hook saw %q; want %q (every pass while set, none after)", seen, want)
	}
	if got := testPoint.Hits(); got != 0 {
		t.Fatalf("an enabled point whose pass the hook took also fired: %d hits", got)
	}
}

func TestSearchHookDeclinedFallsBackToInjection(t *testing.T) {
	SetSearchHook(func(*Point) bool { return false })
	defer SetSearchHook(nil)
	if err := Enable("inject.test", 1, 0); err != nil {
		t.Fatal(err)
	}
	defer DisableAll()
	testPoint.Hit()
	if got := testPoint.Hits(); got != 1 {
		t.Fatalf("a pass the hook declined fired %d times; want 1", got)
	}
}

// BenchmarkHitDisabled is what a disabled point costs on a hot path;
// BenchmarkBaseline is the same loop without it.
func BenchmarkHitDisabled(b *testing.B) {
	for range b.N {
		testPoint.Hit()
	}
}

var sink int

func BenchmarkBaseline(b *testing.B) {
	s := 0
	for i := range b.N {
		s += i
	}
	sink = s
}

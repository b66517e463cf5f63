// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// mustAlloc allocates a folio of the given order or fails the test.
func mustAlloc(t testing.TB, m *Memmap, order uint) Folio {
	t.Helper()
	f, err := m.Alloc(order)
	if err != nil {
		t.Fatalf("Alloc(%d): %v", order, err)
	}
	return f
}

// noBadPages fails the test if the memmap reported a bad page.
func noBadPages(t testing.TB, m *Memmap) {
	t.Helper()
	if n, reports := m.BadPages(); n != 0 {
		t.Errorf("%d bad_page reports, first: %v", n, reports)
	}
}

// catchBug runs fn and returns the *Bug it panicked with, or nil. Any
// other panic is passed on.
func catchBug(fn func()) (b *Bug) {
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if b, ok = r.(*Bug); !ok {
				panic(r)
			}
		}
	}()
	fn()
	return nil
}

// mustBug fails the test unless fn panics with a *Bug whose reason
// contains reason; it returns the Bug.
func mustBug(t testing.TB, reason string, fn func()) *Bug {
	t.Helper()
	b := catchBug(fn)
	if b == nil {
		t.Fatalf("no kernel BUG, want one about %q", reason)
	}
	if !strings.Contains(b.Reason, reason) {
		t.Fatalf("BUG reason %q, want it to mention %q", b.Reason, reason)
	}
	if !strings.Contains(b.Dump, "page: refcount:") || !strings.Contains(b.Dump, "\nflags: ") {
		t.Fatalf("BUG dump %q is not a dump_page", b.Dump)
	}
	var err error = b
	if !strings.HasPrefix(err.Error(), "kernel BUG: ") || !errors.As(err, new(*Bug)) {
		t.Fatalf("Bug.Error() = %q", err.Error())
	}
	return b
}

// onOneCPU runs fn with GOMAXPROCS 1, so that every per-CPU list access
// goes to the list of P 0 and the order of frees and allocations on one
// list is deterministic.
func onOneCPU(fn func()) {
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	fn()
}

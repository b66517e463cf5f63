// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/rcu"
)

// TestMemmapCollected: once its files are closed and nothing refers to
// it, a memmap is garbage. A stress run builds a memmap (by default 1 GiB
// of pages: ~14 MB of struct pages and allocator state) per scenario, so
// a package-level map that keeps every memmap alive grows without bound.
func TestMemmapCollected(t *testing.T) {
	w := func() weak.Pointer[folio.Memmap] {
		m := folio.NewMemmap(1 << 12)
		as := New(m, 64)
		out, err := as.Read(0, 64, nil)
		if err != nil {
			t.Fatal(err)
		}
		putAll(out)
		Reclaim(m, 10)
		as.Close()
		return weak.Make(m)
	}()
	rcu.Barrier()
	for range 5 {
		runtime.GC()
		if w.Value() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("a memmap whose files are all closed is still reachable after GC " +
		"(filemap's evictionClocks, keyed by *folio.Memmap, is never cleared)")
}

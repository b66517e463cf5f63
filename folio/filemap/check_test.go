// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"strings"
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// TestCheckCatches corrupts a page cache in each way the validator must
// notice, and repairs it.
func TestCheckCatches(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1024)
	other := e.file(1024)
	f := add(t, as, 0, 5)
	g := add(t, as, 2, 8)
	h := add(t, other, 0, 5)
	xa := as.Pages()
	store := func(index uint64, order uint, entry xarray.Entry) {
		xas := xarray.NewStateOrder(xa, index, order)
		xas.Lock()
		xas.Store(entry)
		xas.Unlock()
		if err := xas.Error(); err != nil {
			t.Fatal(err)
		}
	}
	mustFail := func(what, want string) {
		t.Helper()
		err := as.Check()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: Check() = %v, want an error about %q", what, err, want)
		}
	}

	// Another file's folio (a stale entry reused by another file).
	store(6, 0, h.Entry())
	mustFail("foreign folio", "another mapping")
	store(6, 0, xarray.Null)
	check(t, as)

	// A movable-ops page, as in the seed report.
	z := folio.NewZsmalloc(e.m)
	z.Grow(1)
	var zp folio.Folio
	for pfn := uint32(1); pfn < uint32(e.m.Pages()); pfn++ {
		if p := e.m.Folio(pfn); p.Movable() {
			zp = p
		}
	}
	store(6, 0, zp.Entry())
	mustFail("movable-ops page", "another mapping")
	store(6, 0, xarray.Null)
	z.Shrink(1)

	// A freed folio (poisoned).
	x := alloc(t, e.m, 0)
	x.Put()
	store(6, 0, x.Entry())
	mustFail("freed folio", "freed folio")
	store(6, 0, xarray.Null)

	// A folio of this file at an index it does not contain.
	store(6, 0, f.Entry())
	mustFail("wrong index", "does not contain")
	store(6, 0, xarray.Null)

	// An entry whose order is not the folio's: g (order 2 at 8) shown
	// as four order-0 entries.
	store(8, 2, xarray.Null)
	for i := uint64(8); i < 12; i++ {
		store(i, 0, g.Entry())
	}
	mustFail("order mismatch", "order")
	store(8, 2, g.Entry())
	check(t, as)

	// nrpages that does not match the folios.
	as.nrpages.Add(1)
	mustFail("nrpages", "nrpages")
	as.nrpages.Add(-1)

	// A folio with fewer references than pages, not frozen.
	g.PutRefs(2)
	mustFail("references", "fewer references")
	g.RefAdd(2)
	check(t, as)
	e.finish(0)
}

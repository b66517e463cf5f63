// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"testing"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// The two forms of the split in __filemap_add_folio, when a folio is
// added over a larger shadow entry. v6.15's (200a89c159a7, the default)
// splits under the lock, one xas_try_split step at a time, only the part
// of the shadow that holds the index, and needs one node at most, which
// it allocates under the lock. The v6.10 to v6.14 form
// (VariantAddFolioSplitAlloc) allocates every node the split needs
// outside the lock and splits the whole shadow to the folio's order.
var addForms = []struct {
	name    string
	variant Variant
}{
	{"v6.15", 0},
	{"v6.10", VariantAddFolioSplitAlloc},
}

// wantShadowSplit checks the order-9 range at 0 after folio f (or none,
// if f is nil) was added in it over shadow: f's indices hold f, every
// other index holds shadow, and index i's entry has order orderAt(i).
func wantShadowSplit(t *testing.T, as *AddressSpace, f folio.Folio, shadow xarray.Entry, orderAt func(uint64) int) {
	t.Helper()
	xa := as.Pages()
	for i := uint64(0); i < 512; i++ {
		want := shadow
		if !f.IsNil() && f.Contains(i) {
			want = f.Entry()
		}
		if got := xa.Load(i); got != want {
			t.Fatalf("index %d: %v, want %v", i, got, want)
		}
		if got, want := xa.GetOrder(i), orderAt(i); got != want {
			t.Fatalf("index %d: entry of order %d, want %d", i, got, want)
		}
	}
}

// Adding a folio over an order-9 shadow: v6.15 splits the shadow only
// along the way to the folio's index. The order-9 entry becomes eight
// order-6 entries in place (no node); when the folio is smaller, the
// order-6 entry that holds the index becomes two order-5 entries in the
// one new node (xas_try_split_min_order(6) is 5), and the order-5 entry
// that holds the index is cut to the folio's order in place. v6.10
// splits all 512 indices to the folio's order, with the eight nodes that
// takes. What is left differs: the orders of the shadow entries, the
// tree's nodes, and the nodes on the shadow-node list (before the add
// the head node holds the order-9 shadow alone, so it is the one node on
// the list; after v6.10's split seven of its children hold shadows only;
// after v6.15's no node does). An order-6 folio takes no node in either
// form, and the two agree.
func TestAddFolioSplitForms(t *testing.T) {
	all := func(order int) func(uint64) int { return func(uint64) int { return order } }
	// v6.15 with the folio at 100, in the order-6 piece [64, 127]: that
	// piece is cut to two order-5 entries with the node, and [96, 127],
	// which holds 100, to the folio's order.
	tried := func(forder int) func(uint64) int {
		return func(i uint64) int {
			switch {
			case i >= 96 && i <= 127:
				return forder
			case i >= 64 && i <= 95:
				return 5
			}
			return 6
		}
	}
	for _, c := range []struct {
		forder uint
		index  uint64
		// per form, as addForms lists them
		orderAt     [2]func(uint64) int
		nodes       [2]int
		shadowNodes [2]int
	}{
		{0, 100, [2]func(uint64) int{tried(0), all(0)}, [2]int{2, 9}, [2]int{0, 7}},
		{2, 100, [2]func(uint64) int{tried(2), all(2)}, [2]int{2, 9}, [2]int{0, 7}},
		{6, 128, [2]func(uint64) int{all(6), all(6)}, [2]int{1, 1}, [2]int{0, 0}},
	} {
		for i, form := range addForms {
			e := newEnv(t, 1<<12)
			as := e.file(1<<10, WithVariant(form.variant))
			shadow := cacheLargeShadow(t, as)
			if n, sn := as.Pages().Nodes(), ShadowNodes(e.m); n != 1 || sn != 1 {
				t.Fatalf("before the add: %d nodes, %d on the shadow-node list; want 1, 1", n, sn)
			}
			f := alloc(t, e.m, c.forder)
			f.Lock()
			if got, err := as.AddFolio(f, c.index); err != nil || got != shadow {
				t.Fatalf("%s: AddFolio(order %d, %d) over an order-9 shadow: %v, %v", form.name, c.forder, c.index, got, err)
			}
			f.Unlock()
			f.Put()
			check(t, as)
			wantShadowSplit(t, as, f, shadow, c.orderAt[i])
			if n, sn := as.Pages().Nodes(), ShadowNodes(e.m); n != c.nodes[i] || sn != c.shadowNodes[i] {
				t.Fatalf("%s: order %d at %d: %d nodes, %d on the shadow-node list; want %d, %d",
					form.name, c.forder, c.index, n, sn, c.nodes[i], c.shadowNodes[i])
			}
			e.finish(0)
		}
	}
}

// v6.15's add allocates the node its split needs under the lock, where
// an allocation can fail (GFP_NOWAIT): it drops the lock, xas_nomem
// allocates the node, and the add starts again and succeeds. v6.10's
// add allocates every node of its split outside the lock, so a failure
// that only allocations under the lock see never meets it.
func TestAddFolioSplitAllocatesUnderLock(t *testing.T) {
	for i, form := range addForms {
		e := newEnv(t, 1<<12)
		xf := xarray.NewFaults(5)
		as := e.file(1<<10, WithVariant(form.variant), WithXArrayOptions(xarray.WithFaults(xf)))
		shadow := cacheLargeShadow(t, as)
		xf.FailNext(1) // under the lock only
		f := alloc(t, e.m, 0)
		f.Lock()
		got, err := as.AddFolio(f, 100)
		injected := xf.Injected()
		xf.FailNext(0)
		if err != nil || got != shadow {
			t.Fatalf("%s: AddFolio with one failing allocation under the lock: %v, %v", form.name, got, err)
		}
		f.Unlock()
		f.Put()
		check(t, as)
		if want := []int64{1, 0}[i]; injected != want {
			t.Fatalf("%s: %d allocations under the lock failed, want %d", form.name, injected, want)
		}
		if want := []int{2, 9}[i]; as.Pages().Nodes() != want {
			t.Fatalf("%s: %d nodes after the add, want %d", form.name, as.Pages().Nodes(), want)
		}
		if n := as.Pages().PreallocLeaked(); n != 0 {
			t.Fatalf("%s: %d preallocated nodes dropped", form.name, n)
		}
		e.finish(0)
	}
}

// TestAddFolioNoMemoryKeepsSplits: when no node can be had at all, both
// forms fail with ErrNoMemory and leave the folio as it was given. v6.10
// fails before it touches the tree: the order-9 shadow stays whole.
// v6.15 has split the shadow in place, to order 6, before the step that
// needs a node fails, and that split stays: the shadow is the same at
// every index, as eight order-6 entries.
func TestAddFolioNoMemoryKeepsSplits(t *testing.T) {
	for i, form := range addForms {
		e := newEnv(t, 1<<12)
		xf := xarray.NewFaults(6)
		as := e.file(1<<10, WithVariant(form.variant), WithXArrayOptions(xarray.WithFaults(xf)))
		shadow := cacheLargeShadow(t, as)
		xf.SetEverywhere(true)
		xf.SetProbability(1)
		f := alloc(t, e.m, 0)
		f.Lock()
		_, err := as.AddFolio(f, 100)
		xf.SetProbability(0)
		if !errors.Is(err, ErrNoMemory) {
			t.Fatalf("%s: AddFolio with no memory: %v", form.name, err)
		}
		if f.Mapping() != 0 || f.RefCount() != 1 || f.Test(folio.PGLRU) || !f.Locked() {
			t.Fatalf("%s: folio after a failed add: %v", form.name, f)
		}
		f.Unlock()
		f.Put()
		check(t, as)
		if as.NrPages() != 0 {
			t.Fatalf("%s: nrpages %d after a failed add", form.name, as.NrPages())
		}
		want := []int{6, 9}[i]
		wantShadowSplit(t, as, folio.Folio{}, shadow, func(uint64) int { return want })
		e.finish(0)
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
	"github.com/xabench/xabench/xarray"
)

// A shadow entry is laid out as pack_shadow lays it out: from the low bit
// up, workingset, node id (NODES_SHIFT bits), memcg id
// (MEM_CGROUP_ID_SHIFT bits), eviction; and xa_mk_value adds the tag.
func TestShadowPacking(t *testing.T) {
	e := packShadow(3, 5, 7, true)
	if want := xarray.MkValue(((7<<16|3)<<6|5)<<1 | 1); e != want {
		t.Fatalf("packShadow(3, 5, 7, true) = %v, want %v", e, want)
	}
	if got, want := UnpackShadow(e), (Shadow{MemcgID: 3, Node: 5, Eviction: 7, Workingset: true}); got != want {
		t.Fatalf("UnpackShadow = %+v, want %+v", got, want)
	}
	// The eviction field holds 40 bits (BITS_PER_LONG - EVICTION_SHIFT);
	// higher bits are masked off, as EVICTION_MASK does.
	if evictionShift != 24 || evictionMask != 1<<40-1 {
		t.Fatalf("EVICTION_SHIFT %d, EVICTION_MASK %#x; want 24 and 40 bits", evictionShift, uint64(evictionMask))
	}
	top := packShadow(0, 0, 1<<41|1<<40-1, false)
	if got := UnpackShadow(top); got.Eviction != 1<<40-1 || got.Workingset {
		t.Fatalf("a 42-bit eviction packs as %+v, want the low 40 bits", got)
	}
	if !top.IsValue() || top.ToValue() >= 1<<63 {
		t.Fatalf("%v is not a value entry of 63 bits", top)
	}
}

// Each eviction leaves a shadow that names it: the memmap's eviction
// clock before the eviction, so two evictions never leave the same
// shadow, even at the same index. The workingset bit comes from
// PG_workingset.
func TestShadowNamesItsEviction(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1024)
	other := e.file(1024)
	clock := e.m.EvictionClock()
	seen := map[xarray.Entry]bool{}
	for i := range 4 {
		before := clock.Load()
		f := add(t, as, 2, 8)
		if i%2 == 1 {
			f.Set(folio.PGWorkingset)
		}
		s := evict(t, as, 8)
		got := UnpackShadow(s)
		if got.Eviction != before || got.Workingset != (i%2 == 1) || got.MemcgID != 0 || got.Node != 0 {
			t.Fatalf("eviction %d: shadow %v unpacks as %v, want eviction %d, workingset %v", i, s, got, before, i%2 == 1)
		}
		if clock.Load() != before+4 {
			t.Fatalf("eviction of 4 pages moved the clock from %d to %d", before, clock.Load())
		}
		if seen[s] {
			t.Fatalf("eviction %d left shadow %v, as an earlier eviction did", i, s)
		}
		seen[s] = true
		add(t, other, 0, 3)
		if s2 := evict(t, other, 3); seen[s2] {
			t.Fatalf("another file's eviction left shadow %v, as an earlier eviction did", s2)
		} else {
			seen[s2] = true
		}
	}
	e.finish(0)
}

// nodeAtIndex returns the node that holds index: not Valid if the entry
// is the head.
func nodeAtIndex(as *AddressSpace, index uint64) xarray.Node {
	as.pages.Lock()
	defer as.pages.Unlock()
	xas := xarray.NewState(as.pages, index)
	xas.Load()
	return xas.Node()
}

// listed reports whether n is on the shadow-node list.
func listed(as *AddressSpace, n xarray.Node) bool {
	as.pages.Lock()
	defer as.pages.Unlock()
	return as.shadowNodes[n.Handle()] != nil
}

func wantShadowNodes(t *testing.T, m *folio.Memmap, want int) {
	t.Helper()
	if got := ShadowNodes(m); got != want {
		t.Fatalf("%d nodes on the shadow-node list, want %d", got, want)
	}
	if err := CheckShadowNodes(m); err != nil {
		t.Fatal(err)
	}
}

// The list holds a node exactly when the node is not empty and holds
// only shadow entries (count == nr_values), whatever changes the tree:
// adds, evictions, refaults, splits of large shadows and of folios,
// truncation. check, run after every step here and in every other test
// of the package, checks the rule on every node of the tree.
func TestShadowNodeListFollowsRule(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(4096)
	m := e.m

	// One leaf of 64 folios, then of 64 shadows: the only node, at the
	// top, goes on the list when the last folio goes.
	for i := range uint64(64) {
		add(t, as, 0, i)
	}
	a := nodeAtIndex(as, 0)
	for i := range uint64(63) {
		evict(t, as, i)
		wantShadowNodes(t, m, 0)
	}
	evict(t, as, 63)
	wantShadowNodes(t, m, 1)
	if !listed(as, a) {
		t.Fatalf("%v, all shadows, is not on the list", a)
	}

	// A second leaf grows the tree: the new top holds two nodes and
	// stays off; the second leaf joins once its folio is evicted.
	add(t, as, 0, 64)
	wantShadowNodes(t, m, 1)
	evict(t, as, 64)
	wantShadowNodes(t, m, 2)
	b := nodeAtIndex(as, 64)

	// A refault takes a node off.
	add(t, as, 0, 5)
	wantShadowNodes(t, m, 1)
	if listed(as, a) || !listed(as, b) {
		t.Fatal("after the refault at 5, its node is listed or the other is not")
	}

	// Sibling slots of a shadow count as values: an order-3 shadow alone
	// in a leaf makes it shadow-only.
	add(t, as, 3, 128)
	wantShadowNodes(t, m, 1)
	evict(t, as, 128)
	wantShadowNodes(t, m, 2)
	c := nodeAtIndex(as, 128)
	if c.Count() != 8 || c.NrValues() != 8 || !listed(as, c) {
		t.Fatalf("an order-3 shadow alone: %v, listed %v", c, listed(as, c))
	}

	// A folio over part of the shadow splits it (under the update
	// callback): the leaf holds a folio again and leaves the list.
	add(t, as, 0, 130)
	wantShadowNodes(t, m, 1)
	evict(t, as, 130)
	wantShadowNodes(t, m, 2)

	// An order-6 shadow fills one slot of the top node; the split of it
	// for a refault makes a new leaf of 63 shadows and a folio.
	add(t, as, 6, 192)
	evict(t, as, 192)
	wantShadowNodes(t, m, 2)
	add(t, as, 0, 200)
	d := nodeAtIndex(as, 200)
	if d.Count() != 64 || d.NrValues() != 63 || listed(as, d) {
		t.Fatalf("leaf split from an order-6 shadow with a folio: %v, listed %v", d, listed(as, d))
	}
	evict(t, as, 200)
	wantShadowNodes(t, m, 3)

	// Splitting a folio leaves its node's standing as it was; evicting
	// the pieces makes it shadow-only.
	f := add(t, as, 2, 256)
	f.Lock()
	f.Get()
	if err := as.Split(f, 0); err != nil {
		t.Fatal(err)
	}
	f.Unlock()
	f.Put()
	check(t, as)
	wantShadowNodes(t, m, 3)
	for i := uint64(256); i < 260; i++ {
		evict(t, as, i)
	}
	wantShadowNodes(t, m, 4)

	// Truncation frees the shadow-only nodes and takes them off.
	as.TruncateRange(0, 127) // a, with the refaulted folio, and b
	check(t, as)
	wantShadowNodes(t, m, 3)
	as.TruncateRange(128, 4095)
	check(t, as)
	wantShadowNodes(t, m, 0)
	if !as.Pages().Empty() {
		t.Fatalf("after truncating everything, head %v", as.Pages().Head())
	}
	e.finish(0)
}

// The shrinker frees the nodes that hold only shadows, and never a node
// that holds a folio. The leaves here hold, in order:
//
//	[0, 64)    64 shadows                  → freed
//	[64, 128)  32 folios, 32 shadows       → kept
//	[128, 192) 64 folios                   → kept
//	[192, 256) one shadow at 200           → freed
//	[256, 320) an order-3 shadow           → freed
//	[320, 384) an order-3 folio            → kept
//
// and the top node holds the leaves.
func TestShrinkerFreesShadowOnlyNodes(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(4096)
	m := e.m
	for i := range uint64(192) {
		add(t, as, 0, i)
	}
	for i := range uint64(64) {
		evict(t, as, i)
	}
	for i := uint64(96); i < 128; i++ {
		evict(t, as, i)
	}
	add(t, as, 0, 200)
	evict(t, as, 200)
	add(t, as, 3, 256)
	evict(t, as, 256)
	add(t, as, 3, 320)
	wantShadowNodes(t, m, 3)

	folios := map[uint64]xarray.Entry{}
	shadows := map[uint64]xarray.Entry{}
	for i, e := range as.Pages().All() {
		if e.IsValue() {
			shadows[i] = e
		} else {
			folios[i] = e
		}
	}
	nodes, nrpages := as.Pages().Nodes(), as.NrPages()
	rcu.Barrier()
	inUse := xarray.NodeCacheStats().InUse
	if nodes != 7 {
		t.Fatalf("%d nodes in the tree, want the top and 6 leaves", nodes)
	}

	if n := CountShadowNodes(m); n != 0 {
		t.Fatalf("count_shadow_nodes asks to scan %d of 3 nodes in a memmap of %d pages", n, m.Pages())
	}
	if s := ShrinkShadowNodes(m); s.Scanned != 0 {
		t.Fatalf("the shrinker scanned %d nodes below the limit", s.Scanned)
	}
	s := ScanShadowNodes(m, 100)
	if s.Scanned != 3 || s.Freed != 3 || s.Retried != 0 || len(s.Warnings) != 0 {
		t.Fatalf("ScanShadowNodes(100) = %+v, want 3 scanned and freed", s)
	}
	check(t, as)
	wantShadowNodes(t, m, 0)
	if got := as.Pages().Nodes(); got != 4 {
		t.Fatalf("%d nodes left in the tree, want 4", got)
	}
	rcu.Barrier()
	if got := xarray.NodeCacheStats().InUse; got != inUse-3 {
		t.Fatalf("node cache: %d nodes in use, want %d", got, inUse-3)
	}
	if ShadowNodesFreed(m) != 3 || as.NrPages() != nrpages {
		t.Fatalf("freed counter %d, nrpages %d (was %d)", ShadowNodesFreed(m), as.NrPages(), nrpages)
	}
	for i, want := range folios {
		if got := as.Pages().Load(i); got != want {
			t.Fatalf("index %d held folio %v, now %v", i, want, got)
		}
	}
	for i, want := range shadows {
		got := as.Pages().Load(i)
		gone := i < 64 || i == 200 || (i >= 256 && i < 264)
		if gone && got != xarray.Null || !gone && got != want {
			t.Fatalf("index %d held shadow %v, now %v (freed node: %v)", i, want, got, gone)
		}
	}

	// Evicting the folios of [64, 128) makes that leaf shadow-only; a
	// scan of one entry frees it, and the folio-only leaves stay.
	for i := uint64(64); i < 96; i++ {
		evict(t, as, i)
	}
	wantShadowNodes(t, m, 1)
	if s := ScanShadowNodes(m, 1); s.Freed != 1 {
		t.Fatalf("ScanShadowNodes(1) = %+v", s)
	}
	check(t, as)
	if as.Pages().Load(100) != xarray.Null || as.Pages().Load(150) != folios[150] {
		t.Fatalf("after freeing [64, 128): %v at 100, %v at 150", as.Pages().Load(100), as.Pages().Load(150))
	}

	// A file of only shadows: its top node, holding two order-6 shadows,
	// goes, and the tree is empty.
	whole := e.file(128)
	add(t, whole, 6, 0)
	add(t, whole, 6, 64)
	evict(t, whole, 0)
	evict(t, whole, 64)
	wantShadowNodes(t, m, 1)
	if s := ScanShadowNodes(m, 10); s.Freed != 1 || s.Scanned != 1 {
		t.Fatalf("ScanShadowNodes on a file of shadows = %+v", s)
	}
	check(t, whole)
	if !whole.Pages().Empty() {
		t.Fatalf("after freeing its only node, the file holds %v", whole.Pages().Head())
	}
	e.finish(0)
}

// count_shadow_nodes allows one shadow node per 8 pages of memory
// (pages >> (XA_CHUNK_SHIFT - 3)); the shrinker scans the excess, oldest
// node first.
func TestShrinkerLimit(t *testing.T) {
	e := newEnv(t, 256) // 32 shadow nodes allowed
	as := e.file(64 * 40)
	for i := range uint64(40) {
		add(t, as, 0, i*64)
		evict(t, as, i*64)
	}
	wantShadowNodes(t, e.m, 40)
	if n := CountShadowNodes(e.m); n != 8 {
		t.Fatalf("CountShadowNodes = %d, want 40 - 256/8 = 8", n)
	}
	s := ShrinkShadowNodes(e.m)
	if s.Scanned != 8 || s.Freed != 8 {
		t.Fatalf("ShrinkShadowNodes = %+v, want 8 freed", s)
	}
	check(t, as)
	for i := range uint64(40) {
		if got := as.Pages().Load(i * 64); (got == xarray.Null) != (i < 8) {
			t.Fatalf("index %d holds %v: the 8 oldest nodes should have gone, no other", i*64, got)
		}
	}
	if n := CountShadowNodes(e.m); n != 0 {
		t.Fatalf("CountShadowNodes = %d after shrinking to the limit", n)
	}
	if s := ShrinkShadowNodes(e.m); s.Scanned != 0 {
		t.Fatalf("ShrinkShadowNodes at the limit = %+v", s)
	}
	e.finish(0)
}

// plantOnList puts n on the shadow-node list against the rule, as a
// buggy update callback would.
func plantOnList(as *AddressSpace, n xarray.Node) {
	as.pages.Lock()
	sn := &shadowNode{node: n, as: as}
	as.shadowNodes[n.Handle()] = sn
	as.wsl.mu.Lock()
	as.wsl.add(sn)
	as.wsl.mu.Unlock()
	as.pages.Unlock()
}

// A listed node that is not shadow-only is a WARN in shadow_lru_isolate:
// the shrinker takes it off the list and leaves it in the tree. The
// validator reports it before the shrinker meets it.
func TestShrinkerWarnsOnListedFolioNode(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(4096)
	for i := range uint64(128) {
		add(t, as, 0, i)
	}
	for i := uint64(64); i < 96; i++ {
		evict(t, as, i)
	}
	for _, c := range []struct {
		index, folio uint64
		warn         string
	}{
		{0, 10, "WARN_ON_ONCE(!node->nr_values)"},                 // folios only
		{64, 100, "WARN_ON_ONCE(node->count != node->nr_values)"}, // folios and shadows
	} {
		n := nodeAtIndex(as, c.index)
		plantOnList(as, n)
		if err := as.Check(); err == nil || !strings.Contains(err.Error(), "is on the shadow-node list") {
			t.Fatalf("Check with %v planted on the list: %v", n, err)
		}
		s := ScanShadowNodes(e.m, 10)
		if s.Freed != 0 || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], c.warn) {
			t.Fatalf("shrinker on a listed %v: %+v, want one warning %q", n, s, c.warn)
		}
		check(t, as)
		if !as.Pages().Load(c.folio).IsPointer() {
			t.Fatalf("the folio at %d is gone", c.folio)
		}
	}
	if got := as.Pages().Nodes(); got != 3 {
		t.Fatalf("%d nodes in the tree, want 3", got)
	}
	e.finish(0)
}

// plantShadow stores e over the 1<<order indices from index as a store
// that bypasses the ledger would: the workingset callback runs, the
// ledger does not hear of it.
func plantShadow(t *testing.T, as *AddressSpace, index uint64, order uint, e xarray.Entry) {
	t.Helper()
	xas := xarray.NewStateOrder(as.pages, index, order)
	as.setUpdate(&xas)
	xas.Lock()
	xas.Store(e)
	xas.Unlock()
	if err := xas.Error(); err != nil {
		t.Fatal(err)
	}
}

// The checker knows which shadow each index must hold: the one its last
// eviction stored. A shadow copied from another index, a shadow no
// eviction stored and a shadow that vanished are each reported, by
// Check and, through WithShadowCheck, by the path that meets it.
func TestCheckCatchesStaleShadow(t *testing.T) {
	e := newEnv(t, 1<<12)
	var met []StaleShadow
	as := e.file(1024, WithShadowCheck(func(s StaleShadow) { met = append(met, s) }))
	mustFail := func(what, want string) {
		t.Helper()
		err := as.Check()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: Check() = %v, want an error about %q", what, err, want)
		}
	}
	for i := uint64(4); i < 12; i++ {
		add(t, as, 0, i)
	}
	s := map[uint64]xarray.Entry{}
	for i := uint64(4); i < 12; i++ {
		s[i] = evict(t, as, i)
	}

	// Another index's shadow, as the 6.1 add path copies an old shadow
	// into the nodes it prefills.
	plantShadow(t, as, 6, 0, s[5])
	mustFail("copied shadow", "index 0x6 holds shadow")
	mustFail("copied shadow", "a stale shadow entry")
	plantShadow(t, as, 6, 0, s[6])
	check(t, as)

	// A shadow where no eviction stored one.
	plantShadow(t, as, 20, 0, s[7])
	mustFail("unknown shadow", "the last eviction there stored no entry")
	plantShadow(t, as, 20, 0, xarray.Null)
	check(t, as)

	// A shadow that vanished.
	plantShadow(t, as, 8, 0, xarray.Null)
	mustFail("lost shadow", "a lost shadow entry: index 0x8 holds no entry")
	plantShadow(t, as, 8, 0, s[8])
	check(t, as)
	if len(met) != 0 {
		t.Fatalf("no path met a shadow yet, but WithShadowCheck reported %v", met)
	}

	// Truncation, a refault and the shrinker meet a stale shadow and say
	// so, and go on as the kernel would.
	want := []StaleShadow{
		{as.ID(), 6, s[9], s[6], "truncate"},
		{as.ID(), 10, s[4], s[10], "refault"},
		{as.ID(), 11, s[4], s[11], "shadow shrinker"},
	}
	plantShadow(t, as, 6, 0, s[9])
	as.TruncateRange(6, 6)
	plantShadow(t, as, 10, 0, s[4])
	add(t, as, 0, 10)
	evict(t, as, 10) // the node holds only shadows again
	plantShadow(t, as, 11, 0, s[4])
	if sc := ScanShadowNodes(e.m, 1); sc.Freed != 1 {
		t.Fatalf("ScanShadowNodes = %+v", sc)
	}
	check(t, as)
	if !as.Pages().Empty() {
		t.Fatalf("the shrinker left %v", as.Pages().Head())
	}
	if len(met) != len(want) {
		t.Fatalf("WithShadowCheck reported %v, want %v", met, want)
	}
	for i := range want {
		if met[i] != want[i] {
			t.Fatalf("report %d: %v, want %v", i, met[i], want[i])
		}
	}
	if !strings.Contains(met[0].String(), "stale shadow entry: index 0x6 holds shadow") {
		t.Fatalf("report reads %q", met[0])
	}
	e.finish(0)
}

// addRacingReEviction adds an order-0 folio at index 100 over the order-9
// shadow at 0 and evicts the range again while the add is in its window:
// after it has read the shadow and allocated the nodes for the split, and
// before it takes the lock that it splits under. The re-eviction is one
// step under the lock: it replaces the order-9 shadow with the one that
// a read and a new eviction of the range would leave. The 6.1 add reads
// the shadow and allocates before its only lock, so holding the lock from
// the start catches it there every time. The fixed add reads the shadow
// under a first lock, so the lock is polled until the add is found
// between its allocation and its second lock. If the add gets through
// first, addRacingReEviction reports false and leaves the folio added. It
// returns the new shadow.
func addRacingReEviction(t *testing.T, as *AddressSpace, v61 bool) (xarray.Entry, bool) {
	t.Helper()
	rcu.Barrier()
	base := xarray.NodeCacheStats().InUse
	f := alloc(t, as.Memmap(), 0)
	f.Lock()
	defer func() {
		f.Unlock()
		f.Put()
	}()
	done := make(chan error, 1)
	if v61 {
		as.pages.Lock()
	}
	go func() {
		_, err := as.AddFolio(f, 100)
		done <- err
	}()
	for v61 {
		if xarray.NodeCacheStats().InUse > base {
			break
		}
		time.Sleep(10 * time.Microsecond)
	}
	for !v61 {
		as.pages.Lock()
		if as.loadLocked(100) == f.Entry() {
			// The add got through before the poll caught it.
			as.pages.Unlock()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return xarray.Null, false
		}
		if xarray.NodeCacheStats().InUse > base {
			break
		}
		as.pages.Unlock()
		runtime.Gosched()
	}
	xas := xarray.NewStateOrder(as.pages, 0, 9)
	as.setUpdate(&xas)
	xas.Store(xarray.Null)
	as.forgetShadowsLocked(0, 511)
	shadow := packShadow(0, 0, as.evictions.Add(512)-512, false)
	xas.Store(shadow)
	as.recordShadowLocked(0, 512, shadow)
	as.pages.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return shadow, true
}

// The 6.1 __filemap_add_folio splits a shadow with nodes prefilled from a
// read made before the lock (bugs.md B1). If the range was evicted again
// meanwhile, the split leaves the old eviction's shadow at every other
// index of the range: stale shadows, which Check reports. The fixed add
// of v6.10 (VariantAddFolioSplitAlloc), which still allocates outside the
// lock, sees the new shadow under the lock and splits that. (v6.15's add
// allocates under the lock only: it has no such window.)
func TestAddFolio61LeavesStaleShadows(t *testing.T) {
	t.Run("v6.1", func(t *testing.T) {
		e := newEnv(t, 1<<12)
		var met []StaleShadow
		as := e.file(1024, WithVariant(VariantAddFolio61), WithShadowCheck(func(s StaleShadow) { met = append(met, s) }))
		old := cacheLargeShadow(t, as)
		shadow, _ := addRacingReEviction(t, as, true)
		err := as.Check()
		if err == nil || !strings.Contains(err.Error(), "a stale shadow entry: index 0x0 holds shadow") {
			t.Fatalf("Check after the 6.1 split: %v", err)
		}
		if got := as.Pages().Load(0); got != old {
			t.Fatalf("index 0 holds %v, want the old shadow %v", got, old)
		}
		// Truncation meets the stale shadows and reports them.
		as.TruncateRange(0, 1023)
		if len(met) == 0 || met[0].Found != old || met[0].Want != shadow || met[0].Path != "truncate" {
			t.Fatalf("WithShadowCheck reported %v, want the old shadow met by truncate", met)
		}
		check(t, as)
		e.finish(0)
	})
	t.Run("fixed", func(t *testing.T) {
		e := newEnv(t, 1<<12)
		var met []StaleShadow
		as := e.file(1024, WithVariant(VariantAddFolioSplitAlloc), WithShadowCheck(func(s StaleShadow) { met = append(met, s) }))
		// Widen the window between the allocation and the second lock.
		if err := inject.Enable(injectAddLock.Name(), 1, 2*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		defer inject.DisableAll()
		for try := 1; ; try++ {
			cacheLargeShadow(t, as)
			shadow, ok := addRacingReEviction(t, as, false)
			if ok {
				check(t, as)
				if got := as.Pages().Load(0); got != shadow {
					t.Fatalf("index 0 holds %v, want the new shadow %v", got, shadow)
				}
				t.Logf("caught the add in its window on try %d", try)
				break
			}
			if try == 100 {
				t.Fatal("the add never stopped in its window")
			}
			as.TruncateRange(0, 1023)
		}
		as.TruncateRange(0, 1023)
		if len(met) != 0 {
			t.Fatalf("WithShadowCheck reported %v", met)
		}
		e.finish(0)
	})
}

// The shrinker runs against every other page-cache path without a
// warning, a broken list or a stale shadow; the nodes it frees were
// shadow-only.
func TestShrinkerConcurrent(t *testing.T) {
	dur := runFor(2 * time.Second)
	watchdog.Start(t, dur+watchdog.Default)
	e := newEnv(t, 1<<11)
	var stale atomic.Pointer[StaleShadow]
	onStale := WithShadowCheck(func(s StaleShadow) { stale.CompareAndSwap(nil, &s) })
	files := []*AddressSpace{e.file(2048, onStale), e.file(3000, onStale)}
	pick := func(rng *rand.Rand) (*AddressSpace, uint64) {
		as := files[rng.IntN(len(files))]
		return as, rng.Uint64N(as.Size())
	}
	var freed, hits atomic.Int64
	ops := []func(*rand.Rand, func(string, ...any)){
		func(rng *rand.Rand, fail func(string, ...any)) { // reader: refaults over shadows
			as, index := pick(rng)
			out, err := as.Read(index, 1+rng.Uint64N(128), nil)
			if err != nil && !errors.Is(err, ErrNoMemory) {
				fail("Read: %v", err)
			}
			putAll(out)
		},
		func(rng *rand.Rand, fail func(string, ...any)) { // reclaim: makes shadows
			Reclaim(e.m, 1+rng.IntN(64))
			time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
		},
		func(rng *rand.Rand, fail func(string, ...any)) { // the shrinker
			s := ScanShadowNodes(e.m, 1+rng.IntN(4))
			s.add(ShrinkShadowNodes(e.m))
			for _, w := range s.Warnings {
				fail("shrinker: %s", w)
			}
			freed.Add(int64(s.Freed))
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		},
		func(rng *rand.Rand, fail func(string, ...any)) { // truncate and invalidate
			as, index := pick(rng)
			if rng.IntN(2) == 0 {
				as.TruncateRange(index, index+rng.Uint64N(300))
			} else {
				as.InvalidatePages(index, index+rng.Uint64N(300))
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
		},
		func(rng *rand.Rand, fail func(string, ...any)) { // a splitter
			as, index := pick(rng)
			f := as.GetFolio(index, true)
			if f.IsNil() {
				return
			}
			if f.Order() > 0 {
				if err := as.SplitAt(f, index, 0); err != nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrNoMemory) {
					fail("SplitAt: %v", err)
				}
			}
			f.Unlock()
			f.Put()
		},
		lookupChecker(files[0], files[0].Size(), &hits),
		lookupChecker(files[1], files[1].Size(), &hits),
		func(rng *rand.Rand, fail func(string, ...any)) { // the validators
			for _, as := range files {
				if err := as.Check(); err != nil {
					fail("Check: %v", err)
				}
			}
			if err := CheckShadowNodes(e.m); err != nil {
				fail("CheckShadowNodes: %v", err)
			}
			if s := stale.Load(); s != nil {
				fail("%v", s)
			}
			time.Sleep(5 * time.Millisecond)
		},
	}
	hammer(t, dur, ops...)
	if t.Failed() {
		return
	}
	t.Logf("%v: the shrinker freed %d nodes; %d lookups", dur, freed.Load(), hits.Load())
	if freed.Load() == 0 {
		t.Error("the shrinker freed no node: it raced with nothing")
	}
	for _, as := range files {
		check(t, as)
	}
	if err := CheckShadowNodes(e.m); err != nil {
		t.Fatal(err)
	}
	e.finish(0)
}

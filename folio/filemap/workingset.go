// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

// Workingset shadow entries and shadow nodes (mm/workingset.c).
//
// Evicting a folio leaves a shadow entry in its place: a value entry that
// packs the eviction clock, as pack_shadow does. A node of i_pages that
// holds only shadow entries is kept on the shadow-node list of its
// memmap, so that the shrinker (shrinker.go) can free such nodes when
// there are too many. Every State that changes i_pages has the
// workingset update callback set (mapping_set_update), so the list
// follows every change of a node's counts.
//
// Each file also keeps, for its checker, the shadow that the last
// eviction stored at each index (the ledger). Every path that stores or
// removes a shadow keeps the ledger in step, so a shadow that differs
// from it is a violation: Check reports it, and so does each path that
// meets it under WithShadowCheck. The 6.1 add path, for one, can copy an
// old shadow into the nodes it prefills for a split.

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/xarray"
)

// The layout of a shadow entry (pack_shadow) on a 64-bit kernel with
// NODES_SHIFT 6 (the x86-64 default) and 16-bit memcg ids. From the low
// bit up: workingset (1 bit), node id (6), memcg id (16), eviction (40).
const (
	bitsPerXAValue  = 63 // BITS_PER_XA_VALUE
	workingsetShift = 1  // WORKINGSET_SHIFT
	nodesShift      = 6  // NODES_SHIFT
	memcgIDShift    = 16 // MEM_CGROUP_ID_SHIFT
	// evictionShift is EVICTION_SHIFT: the bits a shadow gives to
	// everything but the eviction clock, the value tag included.
	evictionShift = 64 - bitsPerXAValue + workingsetShift + nodesShift + memcgIDShift
	evictionMask  = ^uint64(0) >> evictionShift // EVICTION_MASK
)

// packShadow is pack_shadow: the value entry that records an eviction.
func packShadow(memcgID, nid int, eviction uint64, workingset bool) xarray.Entry {
	v := eviction & evictionMask
	v = v<<memcgIDShift | uint64(memcgID)&(1<<memcgIDShift-1)
	v = v<<nodesShift | uint64(nid)&(1<<nodesShift-1)
	v = v<<workingsetShift | uint64(b2u(workingset))
	return xarray.MkValue(v)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Shadow is what a shadow entry records (unpack_shadow).
type Shadow struct {
	MemcgID    int    // the memcg that was charged; always 0: the model has no memcg
	Node       int    // the NUMA node; always 0: a memmap is one node
	Eviction   uint64 // the memmap's eviction clock before this eviction
	Workingset bool   // PG_workingset was set: the folio was active
}

// UnpackShadow decodes a shadow entry (unpack_shadow).
func UnpackShadow(e xarray.Entry) Shadow {
	v := e.ToValue()
	var s Shadow
	s.Workingset = v&(1<<workingsetShift-1) != 0
	v >>= workingsetShift
	s.Node = int(v & (1<<nodesShift - 1))
	v >>= nodesShift
	s.MemcgID = int(v & (1<<memcgIDShift - 1))
	s.Eviction = v >> memcgIDShift
	return s
}

func (s Shadow) String() string {
	ws := ""
	if s.Workingset {
		ws = ", workingset"
	}
	return fmt.Sprintf("eviction %d (memcg %d, node %d%s)", s.Eviction, s.MemcgID, s.Node, ws)
}

// shadowEntry is workingset_eviction: a shadow entry for the folio f that
// is being evicted. It packs the memmap's eviction clock (the lruvec's
// nonresident_age) as it was before f ages it by f's pages. The atomic
// add makes that value unique to this eviction, so a shadow names its
// eviction. bucket_order, the number of low clock bits the kernel drops,
// is 0 for any memmap the model can build (at most 2^30 pages, and the
// clock has 40 bits).
func (as *AddressSpace) shadowEntry(f folio.Folio) xarray.Entry {
	nr := f.NrPages()
	eviction := as.evictions.Add(nr) - nr
	return packShadow(0, 0, eviction, f.Test(folio.PGWorkingset))
}

// shadowNode is a node's entry on the shadow-node list: the node's
// private_list, together with the file whose i_pages holds the node (the
// kernel finds the file through node->array).
type shadowNode struct {
	node       xarray.Node
	as         *AddressSpace
	prev, next *shadowNode // nil while off the list
}

// shadowLRU is the shadow-node list of one memmap: the part of the
// kernel's list_lru shadow_nodes that belongs to one NUMA node. The model
// has no memcg, so the files of a memmap share one list, oldest node
// first. A memmap counts as one node: the kernel keeps one list per node
// (list_lru_node), and count_shadow_nodes limits each node by its own
// pages.
type shadowLRU struct {
	m *folio.Memmap
	// mu is the list's own lock. It nests inside the i_pages locks: the
	// update callback takes it with an i_pages lock held, so the
	// shrinker, which holds it first, can only trylock an i_pages lock.
	mu    sync.Mutex
	head  shadowNode                 // sentinel of the circular list
	n     int                        // nodes on the list (WORKINGSET_NODES)
	freed atomic.Int64               // nodes the shrinker freed (WORKINGSET_NODERECLAIM)
	files map[*AddressSpace]struct{} // the memmap's open files
}

// shadowLRUs finds a memmap's list. A list exists while its memmap has
// open files, so that a memmap whose files are all closed can be
// garbage-collected.
var (
	shadowLRUsMu sync.Mutex
	shadowLRUs   = map[*folio.Memmap]*shadowLRU{}
)

// joinShadowLRU registers the new file as with its memmap's list.
func (as *AddressSpace) joinShadowLRU() {
	shadowLRUsMu.Lock()
	defer shadowLRUsMu.Unlock()
	l := shadowLRUs[as.m]
	if l == nil {
		l = &shadowLRU{m: as.m, files: map[*AddressSpace]struct{}{}}
		l.head.prev, l.head.next = &l.head, &l.head
		shadowLRUs[as.m] = l
	}
	l.mu.Lock()
	l.files[as] = struct{}{}
	l.mu.Unlock()
	as.wsl = l
}

// leaveShadowLRU unregisters the closing file as. Its nodes must be off
// the list already; the list goes with the memmap's last file.
func (as *AddressSpace) leaveShadowLRU() {
	shadowLRUsMu.Lock()
	defer shadowLRUsMu.Unlock()
	l := as.wsl
	l.mu.Lock()
	delete(l.files, as)
	last := len(l.files) == 0
	l.mu.Unlock()
	if last && shadowLRUs[as.m] == l {
		delete(shadowLRUs, as.m)
	}
}

// shadowLRUOf returns m's list, or nil if m has no open file.
func shadowLRUOf(m *folio.Memmap) *shadowLRU {
	shadowLRUsMu.Lock()
	defer shadowLRUsMu.Unlock()
	return shadowLRUs[m]
}

// add puts sn at the tail of the list (list_lru_add_obj). l.mu held.
func (l *shadowLRU) add(sn *shadowNode) {
	tail := l.head.prev
	sn.prev, sn.next = tail, &l.head
	tail.next = sn
	l.head.prev = sn
	l.n++
}

// del takes sn off the list (list_lru_del_obj, list_lru_isolate). l.mu
// held.
func (l *shadowLRU) del(sn *shadowNode) {
	sn.prev.next = sn.next
	sn.next.prev = sn.prev
	sn.prev, sn.next = nil, nil
	l.n--
}

// ShadowNodes returns the number of nodes on m's shadow-node list (the
// WORKINGSET_NODES counter).
func ShadowNodes(m *folio.Memmap) int {
	l := shadowLRUOf(m)
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// shadowOnly is the rule of workingset_update_node: a node belongs on the
// shadow-node list exactly when it is not empty and every used slot is a
// shadow entry or a sibling of one, as its stored count and nr_values
// say. It reads the node's counters, not its slots.
func shadowOnly(n xarray.Node) bool {
	c := n.Count()
	return c != 0 && c == n.NrValues()
}

// workingsetUpdateNode is workingset_update_node, the update callback of
// every State that changes i_pages: with the i_pages lock held, it puts a
// node that has become shadow-only on the list, and takes off it a node
// that holds a folio again or is being freed. The file's own index of
// its listed nodes, guarded by the i_pages lock, tells whether a node is
// already listed without taking the list's lock, as the kernel's
// list_empty(&node->private_list) test does.
func (as *AddressSpace) workingsetUpdateNode(n xarray.Node) {
	h := n.Handle()
	sn := as.shadowNodes[h]
	if shadowOnly(n) {
		if sn == nil {
			sn = &shadowNode{node: n, as: as}
			as.shadowNodes[h] = sn
			as.wsl.mu.Lock()
			as.wsl.add(sn)
			as.wsl.mu.Unlock()
		}
	} else if sn != nil {
		delete(as.shadowNodes, h)
		as.wsl.mu.Lock()
		as.wsl.del(sn)
		as.wsl.mu.Unlock()
	}
}

// setUpdate is mapping_set_update: every State that changes i_pages gets
// the workingset callback. The kernel leaves shmem and DAX mappings out;
// the model has neither, so every file gets it.
func (as *AddressSpace) setUpdate(xas *xarray.State) { xas.SetUpdate(as.wsUpdate) }

// forgetShadowNodesLocked takes every node of this file off the list,
// for a file whose tree is destroyed without being emptied first
// (xa_destroy calls no update callback). The i_pages lock is held.
func (as *AddressSpace) forgetShadowNodesLocked() {
	if len(as.shadowNodes) == 0 {
		return
	}
	as.wsl.mu.Lock()
	for h, sn := range as.shadowNodes {
		as.wsl.del(sn)
		delete(as.shadowNodes, h)
	}
	as.wsl.mu.Unlock()
}

// StaleShadow describes a shadow entry that does not match what the
// file's evictions stored: a shadow at an index where the last eviction
// stored another one, or none at all, or an index that lost the shadow
// its last eviction stored. WithShadowCheck reports these.
type StaleShadow struct {
	File  uint64       // the file's folio->mapping value
	Index uint64       // the index
	Found xarray.Entry // what i_pages holds there
	Want  xarray.Entry // the shadow the last eviction stored there, or Null
	Path  string       // the path that met it: "refault", "truncate", "shadow shrinker", "check"
}

func (s StaleShadow) String() string {
	describe := func(e xarray.Entry) string {
		if e.IsValue() {
			return fmt.Sprintf("shadow %v (%v)", e, UnpackShadow(e))
		}
		if e == xarray.Null {
			return "no entry"
		}
		return fmt.Sprintf("entry %v", e)
	}
	what := "a stale shadow entry"
	if !s.Found.IsValue() {
		what = "a lost shadow entry"
	}
	return fmt.Sprintf("page cache %d: %s: index %#x holds %s, but the last eviction there stored %s (met by %s)",
		s.File>>2, what, s.Index, describe(s.Found), describe(s.Want), s.Path)
}

// WithShadowCheck makes the paths that remove a shadow entry compare it,
// under the i_pages lock, with the shadow the file's last eviction
// stored at its index. These paths are a refault's add, truncation and
// invalidation, and the shadow-node shrinker. On a mismatch they call fn,
// with the lock held, and carry on as the kernel would. Check makes the
// same comparison over the whole file with or without this option.
func WithShadowCheck(fn func(StaleShadow)) Option {
	return func(as *AddressSpace) { as.onStale = fn }
}

// recordShadowLocked notes that an eviction stored shadow over the nr
// indices from first. The i_pages lock is held.
func (as *AddressSpace) recordShadowLocked(first, nr uint64, shadow xarray.Entry) {
	if as.shadows == nil {
		as.shadows = make(map[uint64]xarray.Entry)
	}
	for i := range nr {
		as.shadows[first+i] = shadow
	}
}

// forgetShadowsLocked notes that [first, last] holds no shadow any more.
// The i_pages lock is held.
func (as *AddressSpace) forgetShadowsLocked(first, last uint64) {
	if len(as.shadows) == 0 {
		return
	}
	if last-first >= uint64(len(as.shadows)) {
		for i := range as.shadows {
			if i >= first && i <= last {
				delete(as.shadows, i)
			}
		}
		return
	}
	for i := first; ; i++ {
		delete(as.shadows, i)
		if i == last {
			return
		}
	}
}

// shadowsIn counts the indices in [first, last] that hold a shadow by
// the ledger.
func (as *AddressSpace) shadowsIn(first, last uint64) uint64 {
	var n uint64
	if last-first >= uint64(len(as.shadows)) {
		for i := range as.shadows {
			if i >= first && i <= last {
				n++
			}
		}
		return n
	}
	for i := first; ; i++ {
		if _, ok := as.shadows[i]; ok {
			n++
		}
		if i == last {
			return n
		}
	}
}

// entryRange returns the indices that the entry xas is on covers: xas is
// on an entry's canonical slot, after a Load or a Find.
func entryRange(xas *xarray.State) (first, last uint64) {
	order := uint(xas.GetOrder())
	if order >= 64 {
		return 0, ^uint64(0)
	}
	first = xas.Index() &^ (1<<order - 1)
	return first, first + (1<<order - 1)
}

// staleShadowLocked compares the shadow entries in [first, last] with
// the ledger, and returns the first mismatch: a shadow at an index the
// ledger has no shadow for or another one, or an index whose shadow by
// the ledger holds no shadow. how names the path. The i_pages lock is
// held.
func (as *AddressSpace) staleShadowLocked(first, last uint64, how string) (StaleShadow, bool) {
	bad := func(index uint64, found xarray.Entry) (StaleShadow, bool) {
		return StaleShadow{File: as.id, Index: index, Found: found, Want: as.shadows[index], Path: how}, true
	}
	var seen uint64
	xas := xarray.NewState(as.pages, first)
	for e := xas.Find(last); e != xarray.Null; e = xas.NextEntry(last) {
		if !e.IsValue() {
			continue
		}
		lo, hi := entryRange(&xas)
		lo, hi = max(lo, first), min(hi, last)
		for i := lo; ; i++ {
			if as.shadows[i] != e {
				return bad(i, e)
			}
			seen++
			if i == hi {
				break
			}
		}
	}
	if as.shadowsIn(first, last) == seen {
		return StaleShadow{}, false
	}
	// An index the ledger has a shadow for holds something else.
	for i := range as.shadows {
		if i >= first && i <= last {
			if e := as.loadLocked(i); e != as.shadows[i] {
				return bad(i, e)
			}
		}
	}
	return StaleShadow{}, false
}

// loadLocked returns the entry at index. The i_pages lock is held.
func (as *AddressSpace) loadLocked(index uint64) xarray.Entry {
	xas := xarray.NewState(as.pages, index)
	return xas.Load()
}

// checkShadowsLocked reports to WithShadowCheck's function the first
// shadow in [first, last] that does not match the ledger, before a path
// (how) removes them. The i_pages lock is held.
func (as *AddressSpace) checkShadowsLocked(first, last uint64, how string) {
	if as.onStale == nil {
		return
	}
	if s, bad := as.staleShadowLocked(first, last, how); bad {
		as.onStale(s)
	}
}

// nodeRange returns the indices that node n covers. The i_pages lock is
// held.
func nodeRange(n xarray.Node) (first, last uint64) {
	shift := n.Shift() + 6 // XA_CHUNK_SHIFT
	for p := n; p.Valid(); p = p.Parent() {
		if off := uint64(p.Offset()); off != 0 {
			first += off << (p.Shift() + 6)
		}
	}
	if shift >= 64 {
		return first, ^uint64(0)
	}
	return first, first + (1<<shift - 1)
}

// checkWorkingsetLocked is the part of Check that concerns workingset
// state. nodes are the nodes of the tree, and values is the number of
// indices that the tree's shadow entries cover, all matched to the
// ledger already. It checks three things. Each node is on the
// shadow-node list exactly when workingset_update_node's rule says so.
// Each node the file has listed is in the tree and linked on the list.
// Every index the ledger gives a shadow holds that shadow. The i_pages
// lock is held.
func (as *AddressSpace) checkWorkingsetLocked(nodes map[uint32]xarray.Node, values uint64) error {
	for h, n := range nodes {
		if listed := as.shadowNodes[h] != nil; listed != shadowOnly(n) {
			return fmt.Errorf("page cache %d: %v is %s the shadow-node list, but its count %d and nr_values %d say it belongs %s",
				as.id>>2, n, onOff(listed), n.Count(), n.NrValues(), onOff(!listed))
		}
	}
	as.wsl.mu.Lock()
	defer as.wsl.mu.Unlock()
	for h, sn := range as.shadowNodes {
		if _, ok := nodes[h]; !ok {
			return fmt.Errorf("page cache %d: shadow-node list names %v, which is not in the file's tree", as.id>>2, sn.node)
		}
		if sn.next == nil {
			return fmt.Errorf("page cache %d: %v counts as listed but is not linked on the shadow-node list", as.id>>2, sn.node)
		}
	}
	if n := uint64(len(as.shadows)); n != values {
		if s, bad := as.staleShadowLocked(0, ^uint64(0), "check"); bad {
			return fmt.Errorf("%v", s)
		}
		return fmt.Errorf("page cache %d: the ledger has %d shadow indices, the tree %d", as.id>>2, n, values)
	}
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// CheckShadowNodes validates m's shadow-node list under its lock. Every
// node on the list must be live and in the i_pages of an open file of
// m, and the links and the count must agree. Whether each node belongs
// on the list is a question for its file's lock: Check answers it.
func CheckShadowNodes(m *folio.Memmap) error {
	l := shadowLRUOf(m)
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for sn := l.head.next; sn != &l.head; sn = sn.next {
		n++
		if n > l.n {
			return fmt.Errorf("shadow-node list: more nodes linked than its count %d", l.n)
		}
		if sn.next == nil || sn.next.prev != sn {
			return fmt.Errorf("shadow-node list: broken link at %v", sn.node)
		}
		if _, ok := l.files[sn.as]; !ok {
			return fmt.Errorf("shadow-node list: %v belongs to page cache %d, which is closed", sn.node, sn.as.id>>2)
		}
		if !sn.node.Valid() || sn.node.Freed() {
			return fmt.Errorf("shadow-node list: %v of page cache %d is freed", sn.node, sn.as.id>>2)
		}
		if !sn.node.BelongsTo(sn.as.pages) {
			return fmt.Errorf("shadow-node list: %v is listed for page cache %d but belongs to another array", sn.node, sn.as.id>>2)
		}
	}
	if n != l.n {
		return fmt.Errorf("shadow-node list: %d nodes linked, count %d", n, l.n)
	}
	return nil
}

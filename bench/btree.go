// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"
)

// The ordered competitors: tidwall/btree's generic B-tree of uint64 keys
// (btree.Map, which takes no lock of its own; default degree, so up to 63
// keys a node), bulk-loaded from the sorted keys. An XArray is ordered
// too, so these are the competitors that also answer range queries.

// newBTree returns a B-tree of the sorted keys, each key's value the key.
func newBTree(keys []uint64) *btree.Map[uint64, uint64] {
	t := btree.NewMap[uint64, uint64](0)
	for _, k := range keys {
		t.Load(k, k) // bulk loading: the keys come sorted
	}
	return t
}

// btreeRW is the B-tree behind a sync.RWMutex: a read lock per lookup,
// as map+RWMutex takes, and the write lock per store.
type btreeRW struct {
	mu sync.RWMutex
	t  *btree.Map[uint64, uint64]
}

func buildBTreeRW(f *Fixture) (Map, error) { return &btreeRW{t: newBTree(f.Keys)}, nil }

func (m *btreeRW) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		m.mu.RLock()
		v, _ := m.t.Get(k)
		m.mu.RUnlock()
		sum += v
	}
	return sum
}

func (m *btreeRW) Store(k uint64) {
	m.mu.Lock()
	m.t.Set(k, k)
	m.mu.Unlock()
}

func (m *btreeRW) EraseStore(k uint64) {
	m.mu.Lock()
	m.t.Delete(k)
	m.mu.Unlock()
	m.Store(k)
}

func (m *btreeRW) CmpXchg(k uint64) bool {
	m.mu.Lock()
	v, ok := m.t.Get(k)
	ok = ok && v == k
	if ok {
		m.t.Set(k, k)
	}
	m.mu.Unlock()
	return ok
}

func (m *btreeRW) Close() { m.t = nil }

// btreeCOW is the B-tree as copy-on-write snapshots: readers load the
// current tree from an atomic pointer and read it without a lock; a store
// (serialised by mu) clones the current tree with Copy, sets the key in
// the clone, which copies the nodes on the key's path and shares the
// rest, and publishes the clone.
//
// This relies on how btree.Map (v1.8.2) implements copy-on-write, which
// its documentation does not spell out: Copy writes nothing but a fresh
// copy id into the tree it is called on (the isoid field of the Map
// header; it marks no node), and Get reads the header's root and the
// nodes but never that id (it reaches isoLoad with mut false, which
// short-circuits before it). Set on the clone copies every node whose id
// is not the clone's before writing it, so the published trees' nodes
// are never written again. Readers of the published tree and Copy of it
// therefore touch no common word but for reads; the race detector checks
// this in TestBTreeCOWConcurrent. A published tree must never be written:
// no Set, Delete or GetMut on it.
type btreeCOW struct {
	mu  sync.Mutex // serialises stores
	cur atomic.Pointer[btree.Map[uint64, uint64]]
}

func buildBTreeCOW(f *Fixture) (Map, error) {
	m := new(btreeCOW)
	m.cur.Store(newBTree(f.Keys))
	return m, nil
}

func (m *btreeCOW) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		v, _ := m.cur.Load().Get(k)
		sum += v
	}
	return sum
}

func (m *btreeCOW) Store(k uint64) {
	m.mu.Lock()
	t := m.cur.Load().Copy()
	t.Set(k, k)
	m.cur.Store(t)
	m.mu.Unlock()
}

func (m *btreeCOW) Close() { m.cur.Store(nil) }

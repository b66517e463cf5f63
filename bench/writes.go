// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"slices"
	"strings"
)

// The write workloads: every operation of a worker is a write of one kind
// (an Op) to a key of the access sequence, so that the writers' paths are
// measured without loads between them: the XArray's one lock (xa_lock)
// against the maps' own locking (xsync's per-bucket locks, sync.Map's,
// one lock around a map or a B-tree). Every op leaves each key holding
// its value (the key), so the maps are the same before and after a run,
// and Run checks that they are.

// Op is the operation of a write workload.
type Op string

const (
	// OpStore overwrites a key with the value it already holds: the
	// XArray's Store, the maps' Store (Set, or an assignment under the
	// write lock). The XArray's Store walks to the slot and, finding
	// the entry it would write already there, returns without writing
	// it, as the kernel's xas_store does; the hash maps write a new
	// entry anyway.
	OpStore Op = "store"
	// OpErase removes a key and stores its value back: one op is the
	// pair, Erase then Store (Delete then Store for the maps; the
	// []atomic.Uint64 has no absent keys and does not run it).
	OpErase Op = "erase"
	// OpStoreRange is the XArray's multi-index store and its undoing,
	// at the 64-key range aligned on 64 that holds the key (RangeKeys
	// keys from key&^(RangeKeys-1)): one op is StoreRange over the range
	// with the first key's value, which puts one order-6 entry in place
	// of the leaf node of 64 entries and frees the leaf; then Erase of
	// the first key, which removes the order-6 entry; then the 64 Stores
	// that put every key's own value back, the first of which takes a
	// new leaf from the node cache. That is 66 calls, each taking the
	// lock. Only the XArray has multi-index entries, so its rows stand
	// beside the maps' Store for scale.
	OpStoreRange Op = "storerange"
	// OpCmpXchg compares a key's value with the key and, as it matches,
	// stores the key again: the XArray's CmpXchg, sync.Map's and
	// atomic.Uint64's CompareAndSwap, xsync's Compute (which has no
	// compare-and-swap; the function returns the value it is given),
	// and a read and a store under the write lock for the maps behind
	// a lock.
	OpCmpXchg Op = "cmpxchg"
)

// WriteOps are the write operations, in the order the suites run them.
var WriteOps = []Op{OpStore, OpErase, OpStoreRange, OpCmpXchg}

// RangeKeys is the number of keys an OpStoreRange op covers: one order-6
// multi-index entry, a whole leaf node of the XArray.
const RangeKeys = 64

// Describe says in a few words what one op of o is, for a table's title.
func (o Op) Describe() string {
	switch o {
	case OpStore:
		return "store of the key's own value"
	case OpErase:
		return "erase and store back, ns per pair"
	case OpStoreRange:
		return fmt.Sprintf("StoreRange of %d keys (order 6), Erase, %d Stores back, ns per sequence", RangeKeys, RangeKeys)
	case OpCmpXchg:
		return "compare-and-swap of the key's value with itself"
	}
	return string(o)
}

// The write operations a Map may have beyond Store. A competitor lists the
// ops its Map runs in Competitor.Writes.
type (
	// eraser is a Map that can remove a key.
	eraser interface {
		// EraseStore removes key and stores its value back.
		EraseStore(key uint64)
	}
	// rangeStorer is a Map with multi-index entries.
	rangeStorer interface {
		// StoreRangeRestore runs one OpStoreRange op at the range that
		// holds key.
		StoreRangeRestore(key uint64)
	}
	// cmpXchger is a Map with a compare-and-swap.
	cmpXchger interface {
		// CmpXchg replaces key's value with the key if it is the key,
		// and reports whether it was.
		CmpXchg(key uint64) bool
	}
)

// WriteRefImpl and WriteRefOp are the competitor and op of the write
// tables' reference row: their ratios are each row's ns/op over
// xsync.MapOf's Store's on the same goroutines, run by run.
const (
	WriteRefImpl = "xsync.MapOf"
	WriteRefOp   = OpStore
)

// writeCells returns the write workloads of the mix suite: every op on
// dense 1M keys, uniform random, on 1 and maxProcs goroutines, with the
// competitors that run it.
func writeCells(maxProcs int) []Cell {
	var cells []Cell
	for _, op := range WriteOps {
		for _, p := range oneAndAll(maxProcs) {
			w := Workload{Keys: dense1M, Access: Uniform, Op: op, Procs: p}
			for _, c := range Competitors() {
				if c.Fits(w) {
					cells = append(cells, Cell{w, c})
				}
			}
		}
	}
	return cells
}

// writeBatch returns the function that runs a batch of op on m: the op
// on each key of the chunk, in order. It returns the number of CmpXchg
// that succeeded for OpCmpXchg (all of them, since every key holds its
// value), else 0. It panics if m lacks the op: Fits keeps such cells out.
func writeBatch(m Map, op Op) batchFunc {
	switch op {
	case OpStore:
		return func(chunk []uint64, _ int) uint64 {
			for _, k := range chunk {
				m.Store(k)
			}
			return 0
		}
	case OpErase:
		e := m.(eraser)
		return func(chunk []uint64, _ int) uint64 {
			for _, k := range chunk {
				e.EraseStore(k)
			}
			return 0
		}
	case OpStoreRange:
		r := m.(rangeStorer)
		return func(chunk []uint64, _ int) uint64 {
			for _, k := range chunk {
				r.StoreRangeRestore(k)
			}
			return 0
		}
	case OpCmpXchg:
		c := m.(cmpXchger)
		return func(chunk []uint64, _ int) uint64 {
			var ok uint64
			for _, k := range chunk {
				if c.CmpXchg(k) {
					ok++
				}
			}
			return ok
		}
	}
	panic(fmt.Sprintf("bench: unknown write op %q", op))
}

// checkValues returns an error naming the first keys (up to 5) that do
// not hold their value (the key) in m, one Load per key. (Load gives 0
// for an absent key, so a lost key 0 goes unseen.)
func checkValues(m Map, keys []uint64) error {
	var bad []string
	n := 0
	for i := range keys {
		if got := m.Load(keys[i : i+1]); got != keys[i] {
			if n++; len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("key %d holds %d", keys[i], got))
			}
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d keys lost their value (%s)", n, len(keys), strings.Join(bad, ", "))
}

// writesIn reports which competitors of cells ran a write op.
func writesIn(cells []Cell) map[string]bool {
	w := map[string]bool{}
	for _, c := range cells {
		if c.Op != "" {
			w[c.Competitor.Name] = true
		}
	}
	return w
}

// hasOp reports whether c runs op.
func (c *Competitor) hasOp(op Op) bool {
	return slices.ContainsFunc(c.Writes, func(w WriteLabel) bool { return w.Op == op })
}

// WriteLabel is one write op of a competitor and the label of its rows.
type WriteLabel struct {
	Op    Op
	Label string
}

// writeLabel returns the label of c's rows of op.
func (c *Competitor) writeLabel(op Op) string {
	for _, w := range c.Writes {
		if w.Op == op {
			return w.Label
		}
	}
	return c.Label
}

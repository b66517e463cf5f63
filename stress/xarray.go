// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/xabench/xabench/xarray"
)

// dumpArray is xa_dump of a small array.
func dumpArray(xa *xarray.XArray) string {
	var b strings.Builder
	xa.Lock()
	xa.Dump(&b)
	xa.Unlock()
	return b.String()
}

// runB2 is the multiorder load_race test: a creator re-lays multi-index
// entries ending at index 191 with xa_store_range, orders 1 to 5, and
// erases them, while readers load index 191 and search marked entries up
// to it. No reader may get an internal entry.
func runB2(r *run) func() {
	return runSiblingRace(r, xarray.VariantSingleSiblingHop, func(xa *xarray.XArray) {
		if e := xa.Load(191); e.IsInternal() {
			r.report("xa_load returned an internal entry: "+e.String(),
				fmt.Sprintf("xa_load(191) = %v\n%s", e, dumpArray(xa)))
		}
	})
}

// runFindMarkedSibling is runB2's race met by a marked walk: a reader's
// xa_find(mark 1) lands on a marked offset that the writer's
// xa_store_range is turning into a sibling, and before 7e060df04f56
// xas_find_marked returns that sibling.
func runFindMarkedSibling(r *run) func() {
	return runSiblingRace(r, xarray.VariantFindMarkedSiblings, func(xa *xarray.XArray) {
		index := uint64(129)
		if e := xa.Find(&index, 191, xarray.Mark1); e.IsInternal() {
			r.report("xa_find (marked) returned an internal entry: "+e.String(),
				fmt.Sprintf("xa_find(129..191, mark 1) = %v at %d\n%s", e, index, dumpArray(xa)))
		}
	})
}

// runSiblingRace has a writer re-lay multi-index entries of growing order
// that end at 191, marking each, while readers run read on the array;
// the array is built with variant (the buggy form's, unless the run is
// fixed).
func runSiblingRace(r *run, variant xarray.Variant, read func(xa *xarray.XArray)) func() {
	xa := r.newXArray(variant)
	item := xarray.MkPointer(0x1000)
	xa.Store(192, item)
	xa.Store(128, item)
	r.goWorker(func(rng *rand.Rand) {
		r.loop(func() {
			for order := uint(1); order <= 5; order++ {
				index := uint64(192 - 1<<order)
				xa.StoreRange(index, 191, item)
				xa.SetMark(index, xarray.Mark1)
				if rng.IntN(2) == 0 {
					xa.Erase(index)
				}
			}
			xa.Erase(160)
		})
	})
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			r.loop(func() { read(xa) })
		})
	}
	return func() {
		if !r.violated() {
			if err := xa.Check(); err != nil {
				r.report("invariant broken at the end: "+firstLine(err.Error()), err.Error())
			}
		}
		destroyQuietly(xa)
	}
}

// runNodeReuse has readers walk an array of value entries, each value
// its own index, while a writer builds and erases whole leaf nodes of it
// and of a second array whose values are different; a reader holds its
// read-side section across a yield and reloads the slot, as a preempted
// kernel reader would. Any value that is not the index read is a node
// reused under the reader.
func runNodeReuse(r *run) func() {
	a := r.newXArray(xarray.VariantNoGracePeriod)
	b := r.newXArray(xarray.VariantNoGracePeriod)
	const span = 64 * 16
	foreign := uint64(1) << 40
	r.goWorker(func(rng *rand.Rand) {
		r.loop(func() {
			base := rng.Uint64N(span/64) * 64
			for i := base; i < base+64; i++ {
				a.Store(i, xarray.MkValue(i))
			}
			for i := base; i < base+64; i++ {
				b.Store(i, xarray.MkValue(foreign+i))
			}
			for i := base; i < base+64; i++ {
				a.Erase(i)
				b.Erase(i)
			}
		})
	})
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(rng *rand.Rand) {
			d := a.Domain()
			r.loop(func() {
				i := rng.Uint64N(span)
				xas := xarray.NewState(a, i)
				t := d.ReadLock()
				e := xas.Load()
				runtime.Gosched()
				var again xarray.Entry
				if xas.Valid() {
					again = xas.Reload()
				}
				d.ReadUnlock(t)
				for _, got := range []xarray.Entry{e, again} {
					if got.IsValue() && got.ToValue() != i {
						r.report("a lockless reader saw another index's entry: a node was reused under it",
							fmt.Sprintf("load of index %d gave %v, then reload gave %v\n(values of the second array start at %d)",
								i, e, again, foreign))
						return
					}
				}
			})
		})
	}
	return func() {
		destroyQuietly(a)
		destroyQuietly(b)
	}
}

// runMarksAfterNull has a writer store an entry at each index in turn,
// mark it and erase it, while readers that saw the entry and then saw
// Null ask for its mark: once a slot reads Null its marks must already be
// clear.
func runMarksAfterNull(r *run) func() {
	xa := r.newXArray(xarray.VariantMarksAfterNull)
	var next atomicIndex
	r.goWorker(func(*rand.Rand) {
		r.loop(func() {
			k := next.load()
			xa.Store(k, xarray.MkValue(k))
			xa.SetMark(k, xarray.Mark0)
			next.store(k + 1)
			xa.Erase(k)
		})
	})
	for range 2 * r.cfg.Goroutines {
		r.goWorker(func(*rand.Rand) {
			r.loop(func() {
				k := next.load()
				if xa.Load(k) == xarray.Null {
					return
				}
				for xa.Load(k) != xarray.Null && !r.done() {
					runtime.Gosched()
				}
				if xa.GetMark(k, xarray.Mark0) && xa.Load(k) == xarray.Null {
					r.report("xa_get_mark found a mark on a NULL entry",
						fmt.Sprintf("index %d read Null after its entry, yet has mark 0\n%s", k, dumpArray(xa)))
				}
			})
		})
	}
	return func() { destroyQuietly(xa) }
}

// atomicIndex is the writer's current index, shared with the readers.
type atomicIndex struct{ v atomic.Uint64 }

func (a *atomicIndex) load() uint64   { return a.v.Load() }
func (a *atomicIndex) store(v uint64) { a.v.Store(v) }

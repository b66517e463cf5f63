// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"fmt"
	"strings"

	"github.com/xabench/xabench/internal/sched"
	"github.com/xabench/xabench/xarray"
)

// The small configurations of the XArray's sibling races (runSiblingRace
// cut down). The array holds entries at 128 and 192, so indices 128 to
// 191 are one leaf that stays for the whole run (nothing is allocated or
// freed), and an order-1 entry at 190-191 laid before the run: slot 63
// (index 191) is a sibling naming slot 62. The writer re-lays the range
// ending at 191 at orders 2 and 3, as xa_store_range does, each store
// turning the canonical slot of the entry before into a sibling. A reader
// that has read a sibling or a mark naming slot 62 and reads the slot only
// after the writer's store gets a sibling entry.
//
// The race needs one ordering point between the reader's two reads (the
// writer's store) once the reader has begun: depth 2 for PCT.

// siblingItem is the entry the writer stores.
const siblingItem = xarray.Entry(0x1000 << 2)

// siblingSetup builds the array of a sibling-race run.
func siblingSetup(x *exploreRun, mark bool) *xarray.XArray {
	xa := x.newXArray()
	xa.Store(128, siblingItem)
	xa.Store(192, siblingItem)
	xa.StoreRange(190, 191, siblingItem)
	if mark {
		xa.SetMark(190, xarray.Mark1)
	}
	return xa
}

// siblingWriter is the writer of a sibling-race run: the range ending at
// 191 re-laid at orders 2 and 3, marked if mark.
func siblingWriter(x *exploreRun, xa *xarray.XArray, mark bool) sched.Thread {
	return sched.Thread{Name: "writer", Body: func() {
		for _, first := range []uint64{188, 184} {
			x.op(fmt.Sprintf("xa_store_range(%d, 191)", first))
			xa.StoreRange(first, 191, siblingItem)
			if mark {
				x.op(fmt.Sprintf("xa_set_mark(%d, 1)", first))
				xa.SetMark(first, xarray.Mark1)
			}
		}
	}}
}

func init() {
	smallConfigs["b2-load-sibling"] = &smallConfig{
		name:    "small",
		about:   "writer: xa_store_range(188, 191), xa_store_range(184, 191) over an order-1 entry at 190; reader: xa_load(191) twice",
		variant: xarray.VariantSingleSiblingHop,
		build: func(x *exploreRun) []sched.Thread {
			xa := siblingSetup(x, false)
			reader := sched.Thread{Name: "reader", Body: func() {
				for range 2 {
					x.op("xa_load(191)")
					if e := xa.Load(191); e.IsInternal() {
						x.report("xa_load returned an internal entry: "+e.String(),
							fmt.Sprintf("xa_load(191) = %v\n%s", e, dumpQuiescent(xa)))
					}
				}
			}}
			return []sched.Thread{siblingWriter(x, xa, false), reader}
		},
	}
	smallConfigs["find-marked-sibling"] = &smallConfig{
		name:    "small",
		about:   "writer: xa_store_range and xa_set_mark(mark 1) at 188 and 184 over a marked order-1 entry at 190; reader: xa_find(129..191, mark 1) twice",
		variant: xarray.VariantFindMarkedSiblings,
		build: func(x *exploreRun) []sched.Thread {
			xa := siblingSetup(x, true)
			reader := sched.Thread{Name: "reader", Body: func() {
				for range 2 {
					x.op("xa_find(129..191, mark 1)")
					index := uint64(129)
					if e := xa.Find(&index, 191, xarray.Mark1); e.IsInternal() {
						x.report("xa_find (marked) returned an internal entry: "+e.String(),
							fmt.Sprintf("xa_find(129..191, mark 1) = %v at %d\n%s", e, index, dumpQuiescent(xa)))
					}
				}
			}}
			return []sched.Thread{siblingWriter(x, xa, true), reader}
		},
	}
}

// dumpQuiescent is xa_dump without the lock, for a goroutine of a
// controlled run: no other goroutine runs meanwhile, so the array is
// quiescent, and the dump shows what the reader raced with, a writer's
// half-done store included.
func dumpQuiescent(xa *xarray.XArray) string {
	var b strings.Builder
	xa.Dump(&b)
	return b.String()
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray_test

import (
	"errors"
	"fmt"

	"github.com/xabench/xabench/xarray"
)

// An XArray maps uint64 indices to entries. Readers take no lock.
func Example() {
	xa := xarray.New(0)
	defer xa.Destroy()

	xa.Store(1, xarray.MkValue(100))
	xa.Store(1<<40, xarray.MkValue(200))
	xa.StoreRange(64, 127, xarray.MkValue(300)) // one multi-index entry
	xa.SetMark(1<<40, xarray.Mark0)

	fmt.Println(xa.Load(1).ToValue(), xa.Load(100).ToValue(), xa.GetOrder(100))
	for index, e := range xa.All() {
		fmt.Println(index, e)
	}
	for index := range xa.Marked(xarray.Mark0) {
		fmt.Println("marked:", index)
	}
	// Output:
	// 100 300 6
	// 1 value 100
	// 64 value 300
	// 1099511627776 value 200
	// marked: 1099511627776
}

// Store returns the entry it replaced; Load finds the entry at an index,
// or Null. Erase stores Null and returns what was there.
func ExampleXArray_Store() {
	xa := xarray.New(0)
	defer xa.Destroy()

	old, err := xa.Store(5, xarray.MkValue(50))
	fmt.Println(old, err)
	old, _ = xa.Store(5, xarray.MkValue(51))
	fmt.Println("replaced", old)
	xa.Store(1<<32, xarray.MkPointer(0x1234)) // a handle of the caller's, e.g. a PFN

	fmt.Println(xa.Load(5).ToValue(), xa.Load(1<<32).Pointer() == 0x1234, xa.Load(6))
	fmt.Println("erased", xa.Erase(5), "now", xa.Load(5))
	// Output:
	// null <nil>
	// replaced value 50
	// 51 true null
	// erased value 51 now null
}

// Insert stores only where nothing is: it fails with ErrBusy otherwise.
func ExampleXArray_Insert() {
	xa := xarray.New(0)
	defer xa.Destroy()

	fmt.Println(xa.Insert(3, xarray.MkValue(1)))
	err := xa.Insert(3, xarray.MkValue(2))
	fmt.Println(err, errors.Is(err, xarray.ErrBusy), xa.Load(3))
	// Output:
	// <nil>
	// xarray: busy (EBUSY) true value 1
}

// StoreRange over a naturally aligned range stores one multi-index
// entry: every index of the range loads it, and GetOrder says how many
// indices it covers (1<<order). A store at any of its indices replaces
// the entry at every one of them.
func ExampleXArray_StoreRange() {
	xa := xarray.New(0)
	defer xa.Destroy()

	if err := xa.StoreRange(512, 1023, xarray.MkValue(9)); err != nil {
		fmt.Println(err)
	}
	fmt.Println(xa.Load(512), xa.Load(700), xa.Load(1023), xa.Load(1024))
	fmt.Println("order", xa.GetOrder(700))

	xa.Store(600, xarray.MkValue(6))
	fmt.Println(xa.Load(512), xa.Load(1023), "order", xa.GetOrder(600))
	// Output:
	// value 9 value 9 value 9 null
	// order 9
	// value 6 value 6 order 9
}

// Marks tag entries; a search or an iteration can select the entries
// with a mark. Storing Null clears an index's marks.
func ExampleXArray_SetMark() {
	xa := xarray.New(0)
	defer xa.Destroy()

	for i := uint64(0); i < 8; i++ {
		xa.Store(i*100, xarray.MkValue(i))
	}
	xa.SetMark(200, xarray.Mark1)
	xa.SetMark(500, xarray.Mark1)
	xa.SetMark(999, xarray.Mark1) // no entry: marks only tag entries

	fmt.Println(xa.GetMark(200, xarray.Mark1), xa.GetMark(300, xarray.Mark1), xa.GetMark(999, xarray.Mark1))
	fmt.Println("any marked:", xa.MarkedAny(xarray.Mark1), xa.MarkedAny(xarray.Mark2))
	for index, e := range xa.Marked(xarray.Mark1) {
		fmt.Println("marked", index, e)
	}
	xa.ClearMark(200, xarray.Mark1)
	xa.Erase(500)
	fmt.Println("any marked:", xa.MarkedAny(xarray.Mark1))
	// Output:
	// true false false
	// any marked: true false
	// marked 200 value 2
	// marked 500 value 5
	// any marked: false
}

// All visits every entry in index order, a multi-index entry once, at
// its first index (xa_for_each).
func ExampleXArray_All() {
	xa := xarray.New(0)
	defer xa.Destroy()

	xa.Store(1<<40, xarray.MkValue(3))
	xa.Store(7, xarray.MkValue(1))
	xa.StoreRange(64, 127, xarray.MkValue(2))
	for index, e := range xa.All() {
		fmt.Println(index, e, "order", xa.GetOrder(index))
	}
	// Output:
	// 7 value 1 order 0
	// 64 value 2 order 6
	// 1099511627776 value 3 order 0
}

// Range visits the entries from first to last, inclusive
// (xa_for_each_range); a loop may stop early.
func ExampleXArray_Range() {
	xa := xarray.New(0)
	defer xa.Destroy()

	for i := uint64(0); i < 100; i += 10 {
		xa.Store(i, xarray.MkValue(i/10))
	}
	for index, e := range xa.Range(25, 75) {
		if index > 60 {
			break
		}
		fmt.Println(index, e)
	}
	// Output:
	// 30 value 3
	// 40 value 4
	// 50 value 5
	// 60 value 6
}

// Marked visits the entries that have a mark (xa_for_each_marked).
func ExampleXArray_Marked() {
	xa := xarray.New(0)
	defer xa.Destroy()

	for i := uint64(1); i <= 6; i++ {
		xa.Store(i, xarray.MkValue(i*i))
		if i%2 == 0 {
			xa.SetMark(i, xarray.Mark0)
		}
	}
	for index, e := range xa.Marked(xarray.Mark0) {
		fmt.Println(index, e)
	}
	// Output:
	// 2 value 4
	// 4 value 16
	// 6 value 36
}

// The advanced API's store: a writer holds the lock, and a store that
// needs a node the allocator cannot give under the lock leaves
// ErrNoMemory in the State. Nomem then allocates with the lock dropped
// and reports that the store must be tried again: the kernel's xas_nomem
// loop. Here the first allocation under the lock is made to fail.
func ExampleState_Nomem() {
	faults := xarray.NewFaults(1)
	xa := xarray.New(0, xarray.WithFaults(faults))
	defer xa.Destroy()
	faults.FailNext(1)

	xas := xarray.NewStateOrder(xa, 4096, 6) // an order-6 entry at 4096..4159
	tries := 0
	for {
		tries++
		xas.Lock()
		xas.Store(xarray.MkValue(1))
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		fmt.Println(err)
	}
	fmt.Println("tries", tries, "order", xa.GetOrder(4100), xa.Load(4159))
	// Output:
	// tries 2 order 6 value 1
}

// An array built with FlagAlloc hands out IDs: Alloc stores at the
// lowest free index within a Limit and returns it, and fails with
// ErrBusy when the Limit is full. An erased ID is free again.
func ExampleXArray_Alloc() {
	xa := xarray.New(xarray.FlagAlloc)
	defer xa.Destroy()

	limit := xarray.Limit{Min: 10, Max: 12}
	for i := range 4 {
		id, err := xa.Alloc(xarray.MkValue(uint64(i)), limit)
		fmt.Println(id, err)
	}
	xa.Erase(11)
	id, err := xa.Alloc(xarray.MkValue(100), limit)
	fmt.Println(id, err, xa.Load(11))
	// Output:
	// 10 <nil>
	// 11 <nil>
	// 12 <nil>
	// 0 xarray: busy (EBUSY)
	// 11 <nil> value 100
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray_test

import (
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

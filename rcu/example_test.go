// SPDX-License-Identifier: GPL-2.0-or-later

package rcu_test

import (
	"fmt"
	"sync/atomic"

	"github.com/xabench/xabench/rcu"
)

// A configuration is replaced while readers may hold the old one; the old
// one is recycled only after a grace period.
func Example() {
	type config struct {
		limit   atomic.Int64
		retired atomic.Bool
	}
	var cur atomic.Pointer[config]
	first := new(config)
	first.limit.Store(10)
	cur.Store(first)

	d := rcu.NewDomain()
	defer d.Close()

	// A reader.
	t := d.ReadLock()
	c := cur.Load()
	limit := c.limit.Load()
	d.ReadUnlock(t)
	fmt.Println("limit", limit)

	// A writer publishes a new config, then waits out the readers of the
	// old one before recycling it.
	next := new(config)
	next.limit.Store(20)
	old := cur.Swap(next)
	d.Call(func() { old.retired.Store(true) })
	d.Barrier()
	fmt.Println("old retired:", old.retired.Load())
	// Output:
	// limit 10
	// old retired: true
}

// SPDX-License-Identifier: GPL-2.0-or-later

package rcu_test

import (
	"fmt"
	"sync/atomic"
	"time"

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

// A read-side section brackets every use of what a reader found through
// a published pointer. Sections are cheap and nest; each ReadLock is
// ended by the ReadUnlock of its own Token.
func ExampleDomain_ReadLock() {
	d := rcu.NewDomain()
	defer d.Close()

	var name atomic.Pointer[string]
	s := "first"
	name.Store(&s)

	t := d.ReadLock()
	p := name.Load() // p stays valid until the section ends
	inner := d.ReadLock()
	fmt.Println(*p)
	d.ReadUnlock(inner)
	d.ReadUnlock(t)
	// Output:
	// first
}

// Synchronize waits for a grace period: it returns only once every
// section that had begun before it was called has ended, so that what
// those sections might hold can then be freed. Sections that begin later
// cannot find the unpublished object and are not waited for.
func ExampleDomain_Synchronize() {
	d := rcu.NewDomain()
	defer d.Close()

	var cur atomic.Pointer[string]
	a, b := "a", "b"
	cur.Store(&a)

	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { // a reader that holds its section for a while
		defer close(done)
		t := d.ReadLock()
		p := cur.Load()
		close(entered)
		<-release
		fmt.Println("the reader still uses", *p)
		d.ReadUnlock(t)
	}()
	<-entered

	old := cur.Swap(&b) // unpublish a
	synced := make(chan struct{})
	go func() {
		d.Synchronize()
		close(synced)
	}()
	select {
	case <-synced:
		fmt.Println("Synchronize returned while a reader held a")
	case <-time.After(10 * time.Millisecond):
		fmt.Println("Synchronize waits for the reader")
	}
	close(release)
	<-synced
	fmt.Println("grace period over: no reader holds", *old)
	<-done
	// Output:
	// Synchronize waits for the reader
	// the reader still uses a
	// grace period over: no reader holds a
}

// Call runs a function after a grace period without blocking its caller;
// one grace period serves many callbacks. Barrier waits until every
// callback queued before it has run.
func ExampleDomain_Call() {
	d := rcu.NewDomain()
	defer d.Close()

	var freed atomic.Int64
	for range 100 {
		d.Call(func() { freed.Add(1) })
	}
	d.Barrier()
	fmt.Println("freed", freed.Load())
	// Output:
	// freed 100
}

// A Domain's grace periods wait only for its own readers. Close waits for
// the Domain's callbacks, and for the goroutine that runs them to exit;
// Call may not be used after it.
func ExampleNewDomain() {
	d := rcu.NewDomain()
	d.Call(func() { fmt.Println("callback ran") })
	d.Close()
	fmt.Println("closed")
	// Output:
	// callback ran
	// closed
}

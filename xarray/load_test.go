// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
)

// reuseRace runs the race that Load's free sequence exists for: a walk
// outside any read-side section reads the sibling at index 65 of an
// order-2 entry, pauses (an injected delay of up to 2ms), and meanwhile
// the entry is erased, its leaf passes its grace period, and another
// array takes the leaf and stores its own value in the slot the walk
// reads next. It runs walk from two readers until stop says so and
// returns how many walks returned something a never held at 65: the
// other array's value, or any other of its entries found in the reused
// slot (a node entry, once b's tree has grown a level).
func reuseRace(t *testing.T, walk func(xa *XArray, index uint64) Entry, stop func(reused int64) bool) (reused, walks int64) {
	t.Helper()
	dom := rcu.NewDomain()
	a, b := New(0, WithRCU(dom)), New(0, WithRCU(dom))
	aVal, bVal := MkValue(1), MkValue(2)
	if err := inject.Enable(injectSiblingHop.Name(), 1, 2*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	defer inject.DisableAll()

	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // a's writer: the entry comes and goes, and with it the nodes
		defer wg.Done()
		for !done.Load() {
			if err := a.StoreRange(64, 67, aVal); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(20 * time.Microsecond) // long enough for a reader to find it
			a.Erase(64)
		}
	}()
	go func() { // b's writer: takes 65 freed nodes, writes slot 0 of 64
		defer wg.Done()
		for !done.Load() {
			for i := uint64(0); i < chunkSize; i++ {
				if _, err := b.Store(i<<chunkShift, bVal); err != nil {
					t.Error(err)
					return
				}
			}
			for i := uint64(0); i < chunkSize; i++ {
				b.Erase(i << chunkShift)
			}
		}
	}()
	var rwg sync.WaitGroup
	var nReused, nWalks atomic.Int64
	for range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for !done.Load() {
				switch e := walk(a, 65); e {
				case Null, aVal:
				default:
					if nReused.Add(1) == 1 {
						t.Logf("walk at 65 returned %v, neither Null nor %v", e, aVal)
					}
				}
				if nWalks.Add(1); stop(nReused.Load()) {
					done.Store(true)
				}
			}
		}()
	}
	rwg.Wait()
	done.Store(true)
	wg.Wait()
	a.Destroy()
	b.Destroy()
	dom.Barrier()
	dom.Close()
	return nReused.Load(), nWalks.Load()
}

// Load walks without a read-side section; when a node of its array went
// back to the node cache meanwhile, it walks again inside one. So it
// never returns what another array stored in a reused node.
func TestLoadOutsideSectionNeverReturnsReusedNode(t *testing.T) {
	watchdog.Start(t, 2*time.Second+watchdog.Default)
	end := time.Now().Add(2 * time.Second)
	reused, walks := reuseRace(t, (*XArray).Load, func(int64) bool { return time.Now().After(end) })
	paused := injectSiblingHop.Hits()
	t.Logf("%d Loads, %d sibling hops paused", walks, paused)
	if reused > 0 {
		t.Fatalf("Load returned the other array's entries %d times in %d Loads", reused, walks)
	}
	// Without paused walks the race never opened, and passing proves
	// nothing.
	if walks == 0 || paused == 0 {
		t.Fatalf("no progress: %d Loads, %d of them paused at a sibling hop", walks, paused)
	}
}

// The bare walk, without a section and without the free-sequence check,
// does return the other array's entries in the same race: the race is
// real, and the test above would see it (here about once in a hundred
// paused walks; Load's test pauses about a thousand).
func TestBareWalkReturnsReusedNode(t *testing.T) {
	watchdog.Start(t, 10*time.Second+watchdog.Default)
	end := time.Now().Add(10 * time.Second)
	reused, walks := reuseRace(t, (*XArray).load, func(n int64) bool { return n > 0 || time.Now().After(end) })
	t.Logf("%d of %d walks returned the other array's entries, %d sibling hops paused", reused, walks, injectSiblingHop.Hits())
	if reused == 0 {
		t.Fatalf("no walk of %d read a reused node in 10s", walks)
	}
}

// ReadSeqRetry turns true once a node of the array has gone back to the
// node cache, and not before; other arrays' frees do not count.
func TestReadSeq(t *testing.T) {
	dom := rcu.NewDomain()
	defer dom.Close()
	a, b := New(0, WithRCU(dom)), New(0, WithRCU(dom))
	for _, xa := range []*XArray{a, b} {
		for i := uint64(0); i < 3*chunkSize; i++ {
			xa.Store(i, MkValue(i))
		}
	}
	seq, ok := a.ReadSeqBegin()
	if !ok {
		t.Fatal("ReadSeqBegin: not ok on a default array")
	}
	a.Store(5, MkValue(50)) // no node leaves the tree
	b.Destroy()             // another array's nodes
	dom.Barrier()
	if a.ReadSeqRetry(seq) {
		t.Fatal("ReadSeqRetry true though none of the array's nodes was freed")
	}
	for i := uint64(chunkSize); i < 2*chunkSize; i++ {
		a.Erase(i) // empties the second leaf
	}
	dom.Barrier()
	if !a.ReadSeqRetry(seq) {
		t.Fatal("ReadSeqRetry false after a leaf went back to the node cache")
	}
	a.Destroy()
	dom.Barrier()

	c := New(0, WithRCU(dom), WithVariant(VariantNoGracePeriod))
	if _, ok := c.ReadSeqBegin(); ok {
		t.Fatal("ReadSeqBegin ok on an array whose nodes skip the grace period")
	}
}

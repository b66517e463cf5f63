// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"sync"
	"testing"

	"github.com/xabench/xabench/internal/watchdog"
)

// A store publishes a new tree and leaves the snapshot that readers hold
// as it was; readers of a tree run beside the writer's Copy of that very
// tree (the race detector checks that Copy writes nothing they read).
func TestBTreeCOWConcurrent(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	keys := Keys(KeySet{Sparse, 5000})
	m0, err := buildBTreeCOW(NewFixture(keys))
	if err != nil {
		t.Fatal(err)
	}
	m := m0.(*btreeCOW)
	defer m.Close()
	old := m.cur.Load()
	m.Store(keys[10])
	if m.cur.Load() == old {
		t.Fatal("a store did not publish a new tree")
	}
	if v, ok := old.Get(keys[10]); !ok || v != keys[10] || old.Len() != len(keys) {
		t.Errorf("the old snapshot changed: %d %v, %d keys", v, ok, old.Len())
	}

	// Readers hold one snapshot, which the writer copies on every store.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	snap := m.cur.Load()
	want := sum(keys)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var s uint64
				for _, k := range keys {
					v, _ := snap.Get(k)
					s += v
				}
				if s != want {
					t.Errorf("a snapshot read during stores sums to %d, want %d", s, want)
					return
				}
			}
		})
	}
	for i := range 2000 {
		m.mu.Lock()
		c := snap.Copy() // the same tree, again and again, under the readers
		c.Set(keys[i%len(keys)], keys[i%len(keys)])
		m.cur.Store(c)
		m.mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if got := m.Load(keys); got != want {
		t.Errorf("after the stores Load sums to %d, want %d", got, want)
	}
	if l := m.cur.Load().Len(); l != len(keys) {
		t.Errorf("the tree holds %d keys, want %d", l, len(keys))
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// The multi-threaded tests of tools/testing/radix-tree (see
// ../shared/kernel/test_xarray.md §2), ported to the XArray and to Go:
// regression1-4, iteration_check (max order 0 and 7), iteration_check_2,
// the multiorder iteration tests and races (iteration_race, load_race)
// and idr_find_test. Each runs for stressFor(2s) by default (a quarter of
// that with -short, longer with -xarray.long) and joins every goroutine
// it starts before it returns. Their arrays are the release's that
// -xarray.variant names (newRelease); TestLoadRace says for which
// releases its checks hold.
//
// The kernel's tests store struct item pointers and free them with
// call_rcu. Here an item is a record of mtPool, named by a pointer entry
// that carries the record's slot and generation; freeing it goes through
// the array's RCU domain and poisons the record, so a reader that is
// handed an item after its grace period (a use after free) sees the
// poison or a newer generation and fails the test.
//
// Every multi-threaded test arms a watchdog for its run plus
// watchdog.Default, so a deadlock fails with every goroutine's stack,
// and requires each kind of worker to have made progress: a run in which
// the readers or the writers were starved shows nothing about the races
// between them.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xabench/xabench/internal/watchdog"
	"github.com/xabench/xabench/rcu"
)

// ---------------------------------------------------------------------
// Helpers shared by the multi-threaded tests (prefix mt).

// mtRecord is one struct item: the index it was created for and its order.
type mtRecord struct {
	gen   atomic.Uint64 // generation of the handle that names the record now
	live  atomic.Bool   // false once freed (poisoned)
	index atomic.Uint64
	order atomic.Uint32
}

const (
	mtSlotBits = 20
	mtSlotMask = 1<<mtSlotBits - 1
)

// mtPool hands out items and frees them after a grace period, as the
// kernel's item_create and item_delete_rcu do.
type mtPool struct {
	dom   *rcu.Domain
	recs  []mtRecord
	mu    sync.Mutex
	free  []uint32
	errMu sync.Mutex
	err   string
}

func mtNewPool(dom *rcu.Domain, n int) *mtPool {
	if n > mtSlotMask {
		panic("mtNewPool: too many records")
	}
	p := &mtPool{dom: dom, recs: make([]mtRecord, n)}
	for i := n - 1; i >= 1; i-- { // slot 0 is never used
		p.free = append(p.free, uint32(i))
	}
	return p
}

func (p *mtPool) fail(format string, args ...any) {
	p.errMu.Lock()
	if p.err == "" {
		p.err = fmt.Sprintf(format, args...)
	}
	p.errMu.Unlock()
}

// Err returns the first misuse seen (a double free), or "".
func (p *mtPool) Err() string {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// create is item_create: a live item for index with the given order. When
// every record waits for its grace period it waits for the callbacks with
// a Barrier, so it must not be called inside a read-side section or with
// the array's lock held.
func (p *mtPool) create(index uint64, order uint) Entry {
	for tries := 0; ; tries++ {
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			slot := p.free[n-1]
			p.free = p.free[:n-1]
			p.mu.Unlock()
			r := &p.recs[slot]
			g := r.gen.Add(1)
			r.index.Store(index)
			r.order.Store(uint32(order))
			r.live.Store(true)
			return MkPointer(g<<mtSlotBits | uint64(slot))
		}
		p.mu.Unlock()
		if tries > 3 {
			panic("mtPool: out of records")
		}
		p.dom.Barrier()
	}
}

func (p *mtPool) rec(e Entry) (*mtRecord, uint64, bool) {
	if !e.IsPointer() {
		return nil, 0, false
	}
	h := e.Pointer()
	slot := h & mtSlotMask
	if slot == 0 || slot >= uint64(len(p.recs)) {
		return nil, 0, false
	}
	return &p.recs[slot], h >> mtSlotBits, true
}

// setOrder changes the order of an item that is not published yet.
func (p *mtPool) setOrder(e Entry, order uint) {
	r, _, _ := p.rec(e)
	r.order.Store(uint32(order))
}

// release returns an item's record to the pool; called when no reader
// can hold it any more.
func (p *mtPool) release(e Entry) {
	r, g, ok := p.rec(e)
	if !ok || r.gen.Load() != g || !r.live.Load() {
		p.fail("mtPool: double free or bad entry %v", e)
		return
	}
	r.live.Store(false) // poison
	p.mu.Lock()
	p.free = append(p.free, uint32(e.Pointer()&mtSlotMask))
	p.mu.Unlock()
}

// freeNow frees an item that was never published (the kernel's free()).
func (p *mtPool) freeNow(e Entry) { p.release(e) }

// freeRCU is item_delete_rcu's free: the item is poisoned after a grace
// period of the pool's domain.
func (p *mtPool) freeRCU(e Entry) {
	if e == Null {
		return
	}
	p.dom.Call(func() { p.release(e) })
}

// check is item_sanity plus a use-after-free check: e must be a live item
// whose range (index and order) covers index. It returns "" if so.
func (p *mtPool) check(e Entry, index uint64) string {
	r, g, ok := p.rec(e)
	if !ok {
		return fmt.Sprintf("entry %v at %#x is not an item", e, index)
	}
	if !r.live.Load() {
		return fmt.Sprintf("item %v at %#x has been freed (use after free)", e, index)
	}
	if cur := r.gen.Load(); cur != g {
		return fmt.Sprintf("item %v at %#x has been freed and reused (generation %d, now %d)", e, index, g, cur)
	}
	order := uint(r.order.Load())
	if order >= 64 {
		return fmt.Sprintf("item %v: order %d", e, order)
	}
	mask := uint64(1)<<order - 1
	if idx := r.index.Load(); idx&^mask != index&^mask {
		return fmt.Sprintf("item %v (index %#x order %d) found at index %#x", e, idx, order, index)
	}
	return ""
}

// mtItemVal is an item that needs no freeing: a value entry that records
// the index and order it was stored with.
func mtItemVal(index uint64, order uint) Entry { return MkValue(index<<7 | uint64(order)) }

func mtValIndex(e Entry) uint64 { return e.ToValue() >> 7 }
func mtValOrder(e Entry) uint   { return uint(e.ToValue() & 127) }

// mtValCovers reports whether e is an mtItemVal item whose range holds index.
func mtValCovers(e Entry, index uint64) bool {
	if !e.IsValue() {
		return false
	}
	order := mtValOrder(e)
	if order >= 64 {
		return false
	}
	mask := uint64(1)<<order - 1
	return mtValIndex(e)&^mask == index&^mask
}

// mtStop tells a test's goroutines when to stop and collects their
// failures; goroutines must not call t.Fatal.
type mtStop struct {
	stop   atomic.Bool
	once   sync.Once
	failed chan struct{}
	mu     sync.Mutex
	errs   []string
}

func mtNewStop() *mtStop { return &mtStop{failed: make(chan struct{})} }

func (s *mtStop) stopped() bool { return s.stop.Load() }

func (s *mtStop) failf(format string, args ...any) {
	s.mu.Lock()
	if len(s.errs) < 8 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
	s.stop.Store(true)
	s.once.Do(func() { close(s.failed) })
}

func (s *mtStop) report(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.errs {
		t.Error(e)
	}
}

// mtCount is what one kind of worker did in a run, for mtProgress.
type mtCount struct {
	what string
	n    int64
}

// mtProgress fails the test if a kind of worker did nothing in the run.
// After a worker's failure (which stops the run early and is reported
// already) it says nothing.
func mtProgress(t testing.TB, s *mtStop, counts ...mtCount) {
	t.Helper()
	s.mu.Lock()
	failed := len(s.errs) > 0
	s.mu.Unlock()
	if failed {
		return
	}
	for _, c := range counts {
		if c.n <= 0 {
			t.Errorf("no progress: %d %s; the run proves nothing about the races it was meant to have", c.n, c.what)
		}
	}
}

// mtRun runs the workers until d has passed, a worker fails, or every
// worker has returned, then stops them and waits for all of them.
func mtRun(d time.Duration, s *mtStop, workers ...func(s *mtStop)) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(s)
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
	case <-s.failed:
	case <-done:
	}
	timer.Stop()
	s.stop.Store(true)
	<-done
}

// mtInsertOrder is item_insert_order: store e over the 1<<order indices
// that hold index, with the xas_nomem loop.
func mtInsertOrder(xa *XArray, index uint64, order uint, e Entry) error {
	xas := NewStateOrder(xa, index, order)
	for {
		xas.Lock()
		xas.Store(e)
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	return xas.Error()
}

// mtTagTagged is tag_tagged_items: set mark to on every entry in
// [start, end] that has mark from, dropping the lock and waiting for the
// RCU callbacks every batch entries. It returns how many it marked.
func mtTagTagged(xa *XArray, start, end uint64, batch int, from, to Mark) int {
	if batch == 0 {
		batch = 1
	}
	xas := NewState(xa, start)
	tagged := 0
	xas.Lock()
	for e := xas.FindMarked(end, from); e != Null; e = xas.NextMarked(end, from) {
		xas.SetMark(to)
		if tagged++; tagged%batch != 0 {
			continue
		}
		xas.Pause()
		xas.Unlock()
		xa.Domain().Barrier()
		xas.Lock()
	}
	xas.Unlock()
	return tagged
}

// mtClearTagged clears mark m on every entry in [start, end] that has it,
// pausing every batch entries; it returns how many it cleared.
func mtClearTagged(xa *XArray, start, end uint64, batch int, m Mark) int {
	xas := NewState(xa, start)
	n := 0
	xas.Lock()
	for e := xas.FindMarked(end, m); e != Null; e = xas.NextMarked(end, m) {
		xas.ClearMark(m)
		if n++; n%batch != 0 {
			continue
		}
		xas.Pause()
		xas.Unlock()
		xas.Lock()
	}
	xas.Unlock()
	return n
}

// mtKillTree is item_kill_tree: erase every entry, freeing the items.
func mtKillTree(t *testing.T, xa *XArray, pool *mtPool) {
	t.Helper()
	xas := NewState(xa, 0)
	xas.Lock()
	var items []Entry
	for e := xas.Find(math.MaxUint64); e != Null; e = xas.NextEntry(math.MaxUint64) {
		if e.IsInternal() {
			t.Errorf("kill tree: internal entry %v at %#x under the lock", e, xas.Index())
			continue
		}
		xas.Store(Null)
		items = append(items, e)
	}
	xas.Unlock()
	for _, e := range items {
		if pool != nil {
			pool.freeRCU(e)
		}
	}
	if !xa.Empty() {
		t.Errorf("kill tree: array not empty: head %v", xa.Head())
	}
}

// mtFinish frees the remaining items, checks the pool and finishes xa.
func mtFinish(t *testing.T, xa *XArray, pool *mtPool) {
	t.Helper()
	mtKillTree(t, xa, pool)
	finish(t, xa)
	if pool != nil {
		if err := pool.Err(); err != "" {
			t.Error(err)
		}
	}
}

func mtNumCPU() int { return max(2, runtime.GOMAXPROCS(0)) }

// ---------------------------------------------------------------------
// regression1.c, adapted: the writer stores and erases 0 and 1; the
// reader walks [0, 10] with State.Find/NextEntry in one read-side section.
// The radix tree bug was an infinite loop on a stale slot after entry 0
// moved into the root: the walk must end, handle RetryEntry, and see only
// the live items at their own indices.

func TestRegression1(t *testing.T) {
	d := stressFor(2 * time.Second)
	watchdog.Start(t, d+watchdog.Default)
	xa := newRelease(0)
	pool := mtNewPool(xa.Domain(), 1<<16)
	s := mtNewStop()
	var walks, retries, rounds atomic.Int64
	writer := func(s *mtStop) {
		for i := 0; i < 1_000_000 && !s.stopped(); i++ {
			for _, idx := range []uint64{0, 1} {
				e := pool.create(idx, 0)
				if old, err := xa.Store(idx, e); err != nil || old != Null {
					s.failf("Store(%d) = %v, %v; want null", idx, old, err)
					return
				}
			}
			for _, idx := range []uint64{1, 0} {
				old := xa.Erase(idx)
				if msg := pool.check(old, idx); msg != "" {
					s.failf("Erase(%d): %s", idx, msg)
					return
				}
				pool.freeRCU(old)
			}
			rounds.Add(1)
		}
	}
	reader := func(s *mtStop) {
		for !s.stopped() {
			tok := xa.Domain().ReadLock()
			xas := NewState(xa, 0)
			steps := 0
			for e := xas.Find(10); e != Null; e = xas.NextEntry(10) {
				if steps++; steps > 10000 {
					s.failf("walk of [0, 10] does not end: at index %#x, entry %v", xas.Index(), e)
					break
				}
				if xas.Retry(e) {
					retries.Add(1)
					continue
				}
				if idx := xas.Index(); idx > 1 {
					s.failf("walk found %v at index %#x; only 0 and 1 are ever stored", e, idx)
					break
				}
				if msg := pool.check(e, xas.Index()); msg != "" {
					s.failf("walk: %s", msg)
					break
				}
			}
			xa.Domain().ReadUnlock(tok)
			walks.Add(1)
		}
	}
	mtRun(d, s, writer, reader)
	s.report(t)
	t.Logf("%d writer rounds, %d walks, %d retries", rounds.Load(), walks.Load(), retries.Load())
	mtProgress(t, s, mtCount{"writer rounds", rounds.Load()}, mtCount{"walks", walks.Load()})
	mtFinish(t, xa, pool)
}

// ---------------------------------------------------------------------
// regression2.c: a root mark set with no marked child must not be
// propagated into a new node when the tree grows. Single thread.

func TestRegression2(t *testing.T) {
	xa := newRelease(0)
	check := func(step string) {
		t.Helper()
		if err := xa.Check(); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// 0: fill 0..63 and mark 63 "dirty" (Mark0).
	for i := uint64(0); i < 64; i++ {
		storeIndex(t, xa, i)
	}
	xa.SetMark(63, Mark0)
	check("fill")
	// 1: copy dirty to towrite (Mark1) over 0..62: nothing is marked there.
	if n := mtTagTagged(xa, 0, 62, 1, Mark0, Mark1); n != 0 {
		t.Fatalf("tag_tagged_items(0..62) tagged %d, want 0", n)
	}
	if xa.MarkedAny(Mark1) {
		t.Fatalf("Mark1 is set on the root with nothing marked")
	}
	// 2: insert 64, the tree grows.
	storeIndex(t, xa, 64)
	check("grow")
	// 3: clear dirty on 63.
	xa.ClearMark(63, Mark0)
	if xa.MarkedAny(Mark0) || xa.MarkedAny(Mark1) {
		t.Fatalf("root marks %v %v after clearing the only mark", xa.MarkedAny(Mark0), xa.MarkedAny(Mark1))
	}
	check("clear")
	// 4: delete 63..0.
	for i := 63; i >= 0; i-- {
		eraseIndex(t, xa, uint64(i))
	}
	check("delete")
	// 5: look up towrite over 1..62: must find nothing, and end.
	var dst [64]Entry
	if n := xa.Extract(dst[:], 1, 62, Mark1); n != 0 {
		t.Fatalf("Extract(1..62, Mark1) = %d entries, want 0", n)
	}
	for i, e := range xa.Marked(Mark1) {
		t.Fatalf("Marked(Mark1) yields %v at %d", e, i)
	}
	eraseIndex(t, xa, 64)
	mustBeEmpty(t, xa)

	// The same for the head: a mark on the entry in the head lives in
	// the root; growing the tree carries it to slot 0 only while the
	// entry still has it.
	storeIndex(t, xa, 0)
	xa.SetMark(0, Mark2)
	xa.ClearMark(0, Mark2)
	if xa.MarkedAny(Mark2) {
		t.Fatalf("root Mark2 still set after clearing it on the head entry")
	}
	storeIndex(t, xa, 64)
	check("grow after a cleared head mark")
	if xa.GetMark(0, Mark2) || xa.MarkedAny(Mark2) {
		t.Fatalf("a cleared head mark came back when the tree grew")
	}
	eraseIndex(t, xa, 64)
	xa.SetMark(0, Mark1)
	storeIndex(t, xa, 64)
	check("grow with a marked head")
	if !xa.GetMark(0, Mark1) || xa.GetMark(64, Mark1) {
		t.Fatalf("after growing: GetMark(0) %v GetMark(64) %v, want true false", xa.GetMark(0, Mark1), xa.GetMark(64, Mark1))
	}
	var got []uint64
	for i := range xa.Marked(Mark1) {
		got = append(got, i)
	}
	if len(got) != 1 || got[0] != 0 {
		t.Fatalf("Marked(Mark1) = %v, want [0]", got)
	}
	eraseIndex(t, xa, 0)
	if xa.MarkedAny(Mark1) {
		t.Fatalf("root Mark1 set after erasing the only marked entry")
	}
	eraseIndex(t, xa, 64)
	// Erasing a marked head entry clears the root mark.
	storeIndex(t, xa, 0)
	xa.SetMark(0, Mark0)
	eraseIndex(t, xa, 0)
	if xa.MarkedAny(Mark0) {
		t.Fatalf("root Mark0 set after erasing the marked head entry")
	}
	storeIndex(t, xa, 0)
	if xa.GetMark(0, Mark0) {
		t.Fatalf("new head entry inherited an erased entry's mark")
	}
	eraseIndex(t, xa, 0)
	finish(t, xa)
}

// ---------------------------------------------------------------------
// regression3.c: insert, mark or delete while iterating, with retry and
// pause at indexes 0 and 1. Single thread; the walks hold a read-side
// section while the same goroutine modifies the array (the lock is not
// held during the walk, as in the kernel test).

func TestRegression3(t *testing.T) {
	xa := newRelease(0)
	ptr0, ptr1 := MkPointer(1), MkPointer(2)
	want := map[uint64]Entry{0: ptr0, 1: ptr1}
	dom := xa.Domain()
	type seen struct {
		index uint64
		e     Entry
	}
	checkSeen := func(what string, got []seen, must []uint64) {
		t.Helper()
		last := -1
		for _, s := range got {
			if w, ok := want[s.index]; !ok || w != s.e {
				t.Errorf("%s: %v at %d", what, s.e, s.index)
			}
			if int(s.index) <= last {
				t.Errorf("%s: index %d seen after %d", what, s.index, last)
			}
			last = int(s.index)
		}
		for _, m := range must {
			found := false
			for _, s := range got {
				found = found || s.index == m
			}
			if !found {
				t.Errorf("%s: index %d not seen (saw %v)", what, m, got)
			}
		}
		if err := xa.Check(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// walk collects what one walk from index 0 sees under one read-side
	// section, marked (Mark0) or not: first runs before the first entry
	// is looked at, and pauseAt0 pauses the walk after index 0. It stops
	// after 10 entries, so a walk that loops still ends.
	walk := func(marked bool, first func(), pauseAt0 bool) []seen {
		var got []seen
		tok := dom.ReadLock()
		defer dom.ReadUnlock(tok)
		xas := NewState(xa, 0)
		step := func(find bool) Entry {
			switch {
			case marked && find:
				return xas.FindMarked(math.MaxUint64, Mark0)
			case marked:
				return xas.NextMarked(math.MaxUint64, Mark0)
			case find:
				return xas.Find(math.MaxUint64)
			}
			return xas.NextEntry(math.MaxUint64)
		}
		for e := step(true); e != Null && len(got) <= 10; e = step(false) {
			if first != nil {
				first()
				first = nil
			}
			if xas.Retry(e) {
				continue
			}
			got = append(got, seen{xas.Index(), e})
			if pauseAt0 && xas.Index() == 0 {
				xas.Pause()
			}
		}
		return got
	}

	// Marked walk; the first entry makes the tree grow under the walk.
	if _, err := xa.Store(0, ptr0); err != nil {
		t.Fatal(err)
	}
	xa.SetMark(0, Mark0)
	got := walk(true, func() {
		xa.Store(1, ptr1)
		xa.SetMark(1, Mark0)
	}, false)
	checkSeen("marked walk, insert at 1", got, []uint64{0})
	xa.Erase(1)

	// Plain walk; the same.
	got = walk(false, func() { xa.Store(1, ptr1) }, false)
	checkSeen("walk, insert at 1", got, []uint64{0})

	// Plain walk with a pause at index 0: both entries, in order.
	got = walk(false, nil, true)
	checkSeen("walk, pause at 0", got, []uint64{0, 1})
	if len(got) != 2 {
		t.Errorf("walk, pause at 0: %v, want exactly 0 and 1", got)
	}

	// Marked walk with a pause at index 0.
	xa.SetMark(0, Mark0)
	xa.SetMark(1, Mark0)
	got = walk(true, nil, true)
	checkSeen("marked walk, pause at 0", got, []uint64{0, 1})
	if len(got) != 2 {
		t.Errorf("marked walk, pause at 0: %v, want exactly 0 and 1", got)
	}

	// Retry at index 0: the walk stands on 0 in a node when erasing 1
	// shrinks the tree; the dead node's slot 0 reads RetryEntry and the
	// walk restarts from the head, where 0 now lives.
	got = nil
	tok := dom.ReadLock()
	xas := NewState(xa, 0)
	e := xas.Find(math.MaxUint64)
	if e != ptr0 || xas.Index() != 0 || !xas.IsNode() {
		t.Fatalf("Find from 0 = %v at %d (on a node: %v), want %v at 0 in a node", e, xas.Index(), xas.IsNode(), ptr0)
	}
	xa.Erase(1)
	if e := xas.Reload(); e != RetryEntry {
		t.Errorf("Reload in the dead node = %v, want retry", e)
	}
	retried := false
	for e = xas.Reload(); e != Null; e = xas.NextEntry(math.MaxUint64) {
		if xas.Retry(e) {
			if retried {
				t.Fatalf("second retry at %d", xas.Index())
			}
			retried = true
			continue
		}
		got = append(got, seen{xas.Index(), e})
		if len(got) > 10 {
			break
		}
	}
	dom.ReadUnlock(tok)
	checkSeen("retry at 0", got, []uint64{0})
	if !retried || len(got) != 1 {
		t.Errorf("retry at 0: retried %v, saw %v; want a retry and then 0 alone", retried, got)
	}
	if xas.Cursor() == CursorNode {
		t.Errorf("walk ended on a node")
	}

	xa.Erase(0)
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// ---------------------------------------------------------------------
// regression4.c: index 0 always holds obj0 while a writer stores and
// erases index 1, so the tree flips between head-only and one node. A
// reader must never see Null, RetryEntry or a node at index 0: the
// publish order of xas_expand and xas_shrink.

func TestRegression4(t *testing.T) {
	d := stressFor(2 * time.Second)
	watchdog.Start(t, d+watchdog.Default)
	xa := newRelease(0)
	obj0, obj1 := MkPointer(0x1000), MkPointer(0x1001)
	if _, err := xa.Store(0, obj0); err != nil {
		t.Fatal(err)
	}
	s := mtNewStop()
	var loads, flips atomic.Int64
	writer := func(s *mtStop) {
		for i := 0; i < 1_000_000 && !s.stopped(); i++ {
			if _, err := xa.Store(1, obj1); err != nil {
				s.failf("Store(1): %v", err)
				return
			}
			if e := xa.Erase(1); e != obj1 {
				s.failf("Erase(1) = %v", e)
				return
			}
			flips.Add(1)
		}
	}
	reader := func(s *mtStop) {
		n := int64(0)
		for i := 0; i < 10_000_000 && !s.stopped(); i++ {
			var e Entry
			if i&1 == 0 {
				e = xa.Load(0)
			} else {
				tok := xa.Domain().ReadLock()
				xas := NewState(xa, 0)
				for e = xas.Load(); xas.Retry(e); e = xas.Load() {
				}
				xa.Domain().ReadUnlock(tok)
			}
			if e != obj0 {
				s.failf("load %d of index 0 = %v, want %v", i, e, obj0)
				return
			}
			n++
		}
		loads.Add(n)
	}
	mtRun(d, s, writer, reader)
	s.report(t)
	t.Logf("%d loads, %d store/erase rounds", loads.Load(), flips.Load())
	mtProgress(t, s, mtCount{"loads", loads.Load()}, mtCount{"store/erase rounds", flips.Load()})
	if e := xa.Erase(0); e != obj0 {
		t.Errorf("Erase(0) = %v", e)
	}
	finish(t, xa)
}

// ---------------------------------------------------------------------
// iteration_check.c: five goroutines on the indices 0..99: an adder that
// stores items of order max_order..0 (the first that does not conflict)
// and marks them, a marked iterator that sometimes pauses and leaves its
// read-side section for an rcu Barrier, a plain iterator, a remover, and
// a tagger that copies Mark0 to Mark1 in batches of 10 (and, on every
// other pass, clears Mark1 again so that ClearMark's propagation runs
// under the readers too).

const (
	mtIterMaxIdx = 100
	mtIterTag    = Mark0
	mtIterNewTag = Mark1
)

func TestIterationCheck(t *testing.T) {
	for _, maxOrder := range []uint{0, 7} {
		t.Run(fmt.Sprintf("order%d", maxOrder), func(t *testing.T) {
			d := stressFor(2*time.Second) / 2
			watchdog.Start(t, d+watchdog.Default)
			mtIterationCheck(t, maxOrder, d)
		})
	}
}

// mtItemInsert is iteration_check's my_item_insert: store an item of the
// largest order up to maxOrder that does not conflict with anything.
func mtItemInsert(xa *XArray, pool *mtPool, index uint64, maxOrder uint) {
	item := pool.create(index, 0)
	xas := NewState(xa, index)
	stored := false
	for {
		xas.Lock()
		for order := int(maxOrder); order >= 0; order-- {
			xas.SetOrder(index, uint(order))
			pool.setOrder(item, uint(order))
			if xas.FindConflict() != Null {
				continue
			}
			xas.Store(item)
			xas.SetMark(mtIterTag)
			stored = xas.Error() == nil
			break
		}
		xas.Unlock()
		if !xas.Nomem() {
			break
		}
	}
	if !stored {
		pool.freeNow(item)
	}
}

func mtIterationCheck(t *testing.T, maxOrder uint, d time.Duration) {
	xa := newRelease(0)
	dom := xa.Domain()
	pool := mtNewPool(dom, 1<<16)
	s := mtNewStop()
	var stats [6]atomic.Int64

	adder := func(s *mtStop) {
		for !s.stopped() {
			for pgoff := uint64(0); pgoff < mtIterMaxIdx && !s.stopped(); pgoff++ {
				mtItemInsert(xa, pool, pgoff, maxOrder)
			}
			stats[0].Add(1)
		}
	}
	// walk is one iterator goroutine: a full walk from 0 under one
	// read-side section, with a Pause, a dropped section and an RCU
	// barrier one step in 50, checking every entry it meets.
	walk := func(s *mtStop, seed uint64, what string, stat int, first, next func(*State) Entry) {
		rng := rand.New(rand.NewPCG(seed, seed+1))
		xas := NewState(xa, 0)
		for !s.stopped() {
			xas.Set(0)
			tok := dom.ReadLock()
			for e := first(&xas); e != Null; e = next(&xas) {
				if xas.Retry(e) {
					continue
				}
				if msg := pool.check(e, xas.Index()); msg != "" {
					s.failf("%s: %s", what, msg)
					break
				}
				if rng.IntN(50) == 0 {
					xas.Pause()
					dom.ReadUnlock(tok)
					dom.Barrier()
					tok = dom.ReadLock()
				}
			}
			dom.ReadUnlock(tok)
			stats[stat].Add(1)
		}
	}
	marked := func(xas *State) Entry { return xas.FindMarked(math.MaxUint64, mtIterTag) }
	nextMarked := func(xas *State) Entry { return xas.NextMarked(math.MaxUint64, mtIterTag) }
	taggedIter := func(s *mtStop) { walk(s, 1, "marked iterator", 1, marked, nextMarked) }
	present := func(xas *State) Entry { return xas.Find(math.MaxUint64) }
	nextPresent := func(xas *State) Entry { return xas.NextEntry(math.MaxUint64) }
	untaggedIter := func(s *mtStop) { walk(s, 3, "iterator", 2, present, nextPresent) }
	remover := func(s *mtStop) {
		rng := rand.New(rand.NewPCG(5, 6))
		for !s.stopped() {
			pgoff := uint64(rng.IntN(mtIterMaxIdx))
			stats[5].Add(1)
			if e := xa.Erase(pgoff); e != Null {
				if msg := pool.check(e, pgoff); msg != "" {
					s.failf("remover: Erase(%d): %s", pgoff, msg)
					return
				}
				pool.freeRCU(e)
				stats[3].Add(1)
			}
		}
	}
	tagger := func(s *mtStop) {
		for pass := 0; !s.stopped(); pass++ {
			mtTagTagged(xa, 0, mtIterMaxIdx, 10, mtIterTag, mtIterNewTag)
			if pass%2 == 1 {
				mtClearTagged(xa, 0, mtIterMaxIdx, 10, mtIterNewTag)
			}
			stats[4].Add(1)
		}
	}
	mtRun(d, s, adder, taggedIter, untaggedIter, remover, tagger)
	s.report(t)
	t.Logf("adder passes %d, marked walks %d, walks %d, removed %d in %d erases, tagger passes %d",
		stats[0].Load(), stats[1].Load(), stats[2].Load(), stats[3].Load(), stats[5].Load(), stats[4].Load())
	// The remover's erases mostly find nothing with maxOrder 7 (one
	// entry covers every index): its progress is its erases.
	mtProgress(t, s, mtCount{"adder passes", stats[0].Load()}, mtCount{"marked walks", stats[1].Load()},
		mtCount{"walks", stats[2].Load()}, mtCount{"remover erases", stats[5].Load()},
		mtCount{"tagger passes", stats[4].Load()})
	mtFinish(t, xa, pool)
}

// ---------------------------------------------------------------------
// iteration_check_2.c: index 100 is marked for the whole test; a
// throbber stores and marks 0..99 and erases them again. A marked walk
// from 0 must always get to 100: erasing clears marks before the Null
// store, so a walk never stops early on a marked Null.

func TestIterationCheck2(t *testing.T) {
	d := stressFor(2 * time.Second)
	watchdog.Start(t, d+watchdog.Default)
	xa := newRelease(0)
	if _, err := xa.Store(100, MkValue(100)); err != nil {
		t.Fatal(err)
	}
	xa.SetMark(100, Mark0)
	s := mtNewStop()
	var walks, saw100, throbs atomic.Int64
	iterator := func(s *mtStop) {
		xas := NewState(xa, 0)
		for !s.stopped() {
			xas.Set(0)
			tok := xa.Domain().ReadLock()
			found := false
			steps := 0
			for e := xas.FindMarked(math.MaxUint64, Mark0); e != Null; e = xas.NextMarked(math.MaxUint64, Mark0) {
				if xas.Index() == 100 && e == MkValue(100) {
					found = true
				}
				if steps++; steps > 1000 {
					s.failf("marked walk does not end: at %d", xas.Index())
					break
				}
			}
			xa.Domain().ReadUnlock(tok)
			if xas.Index() < 100 {
				s.failf("marked walk ended at index %d, before 100", xas.Index())
				return
			}
			walks.Add(1)
			if found {
				saw100.Add(1)
			}
		}
	}
	throbber := func(s *mtStop) {
		for !s.stopped() {
			for i := uint64(0); i < 100; i++ {
				if _, err := xa.Store(i, MkValue(i)); err != nil {
					s.failf("Store(%d): %v", i, err)
					return
				}
				xa.SetMark(i, Mark0)
			}
			for i := uint64(0); i < 100; i++ {
				xa.Erase(i)
			}
			throbs.Add(1)
		}
	}
	mtRun(d, s, iterator, throbber)
	s.report(t)
	t.Logf("%d marked walks, %d of them returned index 100; %d throbber passes", walks.Load(), saw100.Load(), throbs.Load())
	mtProgress(t, s, mtCount{"marked walks", walks.Load()}, mtCount{"walks that returned index 100", saw100.Load()},
		mtCount{"throbber passes", throbs.Load()})
	finish(t, xa)
}

// ---------------------------------------------------------------------
// multiorder.c multiorder_iteration: exact sequences of xas_for_each
// from every start below 256 over entries of mixed orders.

func TestMultiorderIteration(t *testing.T) {
	xa := newRelease(0)
	index := []uint64{0, 2, 4, 8, 16, 32, 34, 36, 64, 72, 128}
	order := []uint{1, 1, 2, 3, 4, 1, 0, 1, 3, 0, 7}
	for i := range index {
		storeOrder(t, xa, index[i], order[i], mtItemVal(index[i], order[i]))
	}
	if err := xa.Check(); err != nil {
		t.Fatal(err)
	}
	for j := uint64(0); j < 256; j++ {
		i := 0
		for ; i < len(index); i++ {
			if j <= index[i]|(1<<order[i]-1) {
				break
			}
		}
		xas := NewState(xa, j)
		tok := xa.Domain().ReadLock()
		for e := xas.Find(math.MaxUint64); e != Null; e = xas.NextEntry(math.MaxUint64) {
			if i >= len(index) {
				t.Fatalf("start %d: extra entry %v at %d", j, e, xas.Index())
			}
			shift := order[i] / chunkShift * chunkShift
			mask := uint64(1)<<order[i] - 1
			if xas.Index()|mask != index[i]|mask {
				t.Fatalf("start %d: entry %d at index %d, want %d", j, i, xas.Index(), index[i])
			}
			if got := xas.Node().Shift(); got != shift {
				t.Fatalf("start %d: entry %d on a node of shift %d, want %d", j, i, got, shift)
			}
			if e.IsInternal() {
				t.Fatalf("start %d: internal entry %v", j, e)
			}
			if mtValIndex(e)|mask != index[i]|mask || mtValOrder(e) != order[i] {
				t.Fatalf("start %d: entry %v, want item %d order %d", j, e, index[i], order[i])
			}
			i++
		}
		xa.Domain().ReadUnlock(tok)
		if i != len(index) {
			t.Fatalf("start %d: walk ended after entry %d of %d", j, i, len(index))
		}
	}
	mtFinish(t, xa, nil)
}

// multiorder.c multiorder_tagged_iteration: marked walks over mixed
// orders, then tag_tagged_items with batches, with exact counts.

func TestMultiorderTaggedIteration(t *testing.T) {
	xa := newRelease(0)
	index := []uint64{0, 2, 4, 16, 32, 40, 64, 72, 128}
	order := []uint{1, 0, 2, 4, 3, 1, 3, 0, 7}
	tagIndex := []uint64{0, 4, 16, 40, 64, 72, 128}
	for i := range index {
		storeOrder(t, xa, index[i], order[i], mtItemVal(index[i], order[i]))
	}
	if xa.MarkedAny(Mark1) {
		t.Fatalf("Mark1 set before marking")
	}
	for _, ti := range tagIndex {
		xa.SetMark(ti, Mark1)
	}
	if err := xa.Check(); err != nil {
		t.Fatal(err)
	}
	// k(i) is the entry that tag i names.
	entryOf := func(i int) int {
		k := i
		for index[k] < tagIndex[i] {
			k++
		}
		return k
	}
	walks := func(m Mark) {
		t.Helper()
		for j := uint64(0); j < 256; j++ {
			i := 0
			for ; i < len(tagIndex); i++ {
				k := entryOf(i)
				if j <= index[k]|(1<<order[k]-1) {
					break
				}
			}
			xas := NewState(xa, j)
			tok := xa.Domain().ReadLock()
			for e := xas.FindMarked(math.MaxUint64, m); e != Null; e = xas.NextMarked(math.MaxUint64, m) {
				if i >= len(tagIndex) {
					t.Fatalf("mark %d start %d: extra entry %v at %d", m, j, e, xas.Index())
				}
				k := entryOf(i)
				mask := uint64(1)<<order[k] - 1
				if xas.Index()|mask != tagIndex[i]|mask {
					t.Fatalf("mark %d start %d: tag %d at index %d, want %d", m, j, i, xas.Index(), tagIndex[i])
				}
				if e.IsInternal() {
					t.Fatalf("mark %d start %d: internal entry %v", m, j, e)
				}
				if mtValIndex(e)|mask != tagIndex[i]|mask || mtValOrder(e) != order[k] {
					t.Fatalf("mark %d start %d: entry %v, want item %d order %d", m, j, e, tagIndex[i], order[k])
				}
				i++
			}
			xa.Domain().ReadUnlock(tok)
			if i != len(tagIndex) {
				t.Fatalf("mark %d start %d: walk ended after %d of %d tags", m, j, i, len(tagIndex))
			}
		}
	}
	walks(Mark1)
	if n := mtTagTagged(xa, 0, math.MaxUint64, len(tagIndex), Mark1, Mark2); n != len(tagIndex) {
		t.Fatalf("tag_tagged_items(0.., M1->M2) = %d, want %d", n, len(tagIndex))
	}
	walks(Mark2)
	if n := mtTagTagged(xa, 1, math.MaxUint64, len(index)*2, Mark1, Mark0); n != len(tagIndex) {
		t.Fatalf("tag_tagged_items(1.., M1->M0) = %d, want %d (the order-1 entry at 0 is found from 1)", n, len(tagIndex))
	}
	i := 0
	xas := NewState(xa, 0)
	xas.Lock()
	for e := xas.FindMarked(math.MaxUint64, Mark0); e != Null; e = xas.NextMarked(math.MaxUint64, Mark0) {
		if i >= len(tagIndex) || xas.Index() != tagIndex[i] {
			xas.Unlock()
			t.Fatalf("Mark0 walk: entry %d %v at %d, want the tags %v", i, e, xas.Index(), tagIndex)
		}
		i++
	}
	xas.Unlock()
	if i != len(tagIndex) {
		t.Fatalf("Mark0 walk found %d entries, want %d", i, len(tagIndex))
	}
	if err := xa.Check(); err != nil {
		t.Fatal(err)
	}
	mtFinish(t, xa, nil)
}

// ---------------------------------------------------------------------
// multiorder.c multiorder_iteration_race: a creator stores and deletes an
// order-5 item at 0 (siblings); iterators walk with xas_for_each and
// xas_retry. No sibling or internal entry may leak, and every entry must
// be a live item whose index and order match where it was found.

func TestMultiorderIterationRace(t *testing.T) {
	d := stressFor(2 * time.Second)
	watchdog.Start(t, d+watchdog.Default)
	xa := newRelease(0)
	dom := xa.Domain()
	pool := mtNewPool(dom, 1<<16)
	s := mtNewStop()
	const order = chunkShift - 1
	var created, walks atomic.Int64
	creator := func(s *mtStop) {
		for i := 0; i < 1_000_000 && !s.stopped(); i++ {
			e := pool.create(0, order)
			if err := mtInsertOrder(xa, 0, order, e); err != nil {
				s.failf("insert order %d: %v", order, err)
				return
			}
			old := xa.Erase(0)
			if old != e {
				s.failf("Erase(0) = %v, want %v", old, e)
				return
			}
			pool.freeRCU(old)
			created.Add(1)
		}
	}
	iterator := func(s *mtStop) {
		xas := NewState(xa, 0)
		for !s.stopped() {
			xas.Set(0)
			tok := dom.ReadLock()
			for e := xas.Find(math.MaxUint64); e != Null; e = xas.NextEntry(math.MaxUint64) {
				if xas.Retry(e) {
					continue
				}
				if e.IsInternal() {
					s.failf("iterator: internal entry %v at %d", e, xas.Index())
					break
				}
				if msg := pool.check(e, xas.Index()); msg != "" {
					s.failf("iterator: %s", msg)
					break
				}
			}
			dom.ReadUnlock(tok)
			walks.Add(1)
		}
	}
	workers := []func(*mtStop){creator}
	for range mtNumCPU() - 1 {
		workers = append(workers, iterator)
	}
	mtRun(d, s, workers...)
	s.report(t)
	t.Logf("%d items created, %d walks", created.Load(), walks.Load())
	mtProgress(t, s, mtCount{"items created", created.Load()}, mtCount{"walks", walks.Load()})
	mtFinish(t, xa, pool)
}

// ---------------------------------------------------------------------
// multiorder.c load_race: with items at 128 and 192, a creator stores an
// item of order 1..5 ending at 191, marks it and deletes it, over and
// over. Load(191) must never return an internal entry (a sibling chain
// followed only one hop, the 6.1 xas_descend, returns a sibling), and
// Find(&129, 191, Mark1) must never return one either (siblings in
// xas_find_marked, 6.13).

// mtLoadRaceCounts is what the workers of one load_race run did.
type mtLoadRaceCounts struct {
	rounds int64 // creator rounds (orders 1..5 stored, marked, erased)
	loads  int64 // Load(191) by the loaders
	finds  int64 // Find(&129, 191, Mark1) by the finders
}

// mtLoadRace runs load_race on xa for at most budget, or until a worker
// sees a bad entry. It returns the first bad entry seen and how it was
// seen (found false when none was), and what the workers did.
func mtLoadRace(xa *XArray, budget time.Duration, workers int) (bad Entry, how string, found bool, n mtLoadRaceCounts) {
	const base = 3 << chunkShift // 192
	if err := mtInsertOrder(xa, base, 0, mtItemVal(base, 0)); err != nil {
		return Null, "insert 192: " + err.Error(), true, n
	}
	if err := mtInsertOrder(xa, 2<<chunkShift, 0, mtItemVal(2<<chunkShift, 0)); err != nil {
		return Null, "insert 128: " + err.Error(), true, n
	}
	var stop atomic.Bool
	var once sync.Once
	report := func(e Entry, format string, args ...any) {
		once.Do(func() {
			bad, how, found = e, fmt.Sprintf(format, args...), true
		})
		stop.Store(true)
	}
	var rounds, loads, finds atomic.Int64
	creator := func() {
		for !stop.Load() {
			for order := uint(1); order < chunkShift; order++ {
				index := uint64(base) - 1<<order
				if err := mtInsertOrder(xa, index, order, mtItemVal(index, order)); err != nil {
					report(Null, "insert order %d at %d: %v", order, index, err)
					return
				}
				xa.SetMark(index, Mark1)
				xa.Erase(index)
			}
			rounds.Add(1)
		}
	}
	loader := func() {
		// Tight loops without yields: the window in which a reader
		// can see a sibling chain is the few nanoseconds between two
		// slot loads.
		for !stop.Load() {
			for range 64 {
				if e := xa.Load(base - 1); e != Null && !mtValCovers(e, base-1) {
					report(e, "Load(191) = %v", e)
					return
				}
			}
			loads.Add(64)
		}
	}
	finder := func() {
		for !stop.Load() {
			for range 16 {
				index := uint64(2<<chunkShift + 1)
				e := xa.Find(&index, base-1, Mark1)
				if e != Null && (!mtValCovers(e, index) || index < 129 || index > base-1) {
					report(e, "Find(&129, 191, Mark1) = %v at %d", e, index)
					return
				}
				if e := xa.Load(base - 1); e != Null && !mtValCovers(e, base-1) {
					report(e, "Load(191) = %v", e)
					return
				}
			}
			finds.Add(16)
		}
	}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	run(creator)
	for i := range workers {
		if i%2 == 0 {
			run(loader)
		} else {
			run(finder)
		}
	}
	deadline := time.Now().Add(budget)
	for !stop.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	return bad, how, found, mtLoadRaceCounts{rounds.Load(), loads.Load(), finds.Load()}
}

// TestLoadRace is multiorder.c's load_race. The test came with
// cbc02854331e (v6.6; 6.1.53), whose xas_descend follows siblings in a
// loop: v6.1.0 (VariantSingleSiblingHop) returns sibling entries from
// xa_load here, so under that release the test skips;
// TestLoadRaceVariant61 checks that it does. The marked xa_find came
// with 7e060df04f56 (v6.14), which made xas_find_marked skip a sibling:
// before it (VariantFindMarkedSiblings) a sibling from xa_find is the
// release's own behaviour, and is logged, not failed. It did not show
// in five 3 s runs on 2 CPUs (the mark word must be read before a
// racing store turns the slot into a sibling, and the slot after);
// package stress's find-marked-sibling scenario catches it.
func TestLoadRace(t *testing.T) {
	if oldRelease(VariantSingleSiblingHop) {
		t.Skip("load_race came with cbc02854331e (v6.6, 6.1.53): v6.1.0's xas_descend returns siblings here " +
			"(TestLoadRaceVariant61 checks that)")
	}
	d := stressFor(2 * time.Second)
	watchdog.Start(t, d+watchdog.Default)
	xa := newRelease(0)
	bad, how, found, n := mtLoadRace(xa, d, 4*mtNumCPU())
	switch {
	case found && oldRelease(VariantFindMarkedSiblings) && bad.IsSibling() && strings.HasPrefix(how, "Find"):
		t.Logf("load_race: %s: a sibling from xas_find_marked, as before 7e060df04f56 (v6.14)", how)
	case found:
		t.Errorf("load_race: %s (entry %v)", how, bad)
	default:
		for _, c := range []mtCount{{"creator rounds", n.rounds}, {"loads", n.loads}, {"finds", n.finds}} {
			if c.n <= 0 {
				t.Errorf("no progress: %d %s", c.n, c.what)
			}
		}
	}
	t.Logf("%d creator rounds, %d loads, %d finds", n.rounds, n.loads, n.finds)
	mtFinish(t, xa, nil)
}

// TestLoadRaceVariant61 shows that load_race catches the 6.1 xas_descend,
// which follows a sibling only once (before cbc02854331e): within a few
// seconds a reader gets a sibling entry from Load(191). Measured on 2
// CPUs: caught in 40 runs of 40 (20 with -race, 20 without), after 17 ms
// to 2.4 s.
func TestLoadRaceVariant61(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		// With one P a reader is caught between its two slot loads only
		// when it is preempted right there: measured 1 run in 10.
		t.Skip("needs GOMAXPROCS >= 2: a reader and the creator must run at once")
	}
	// Typically caught in well under a second on 2 CPUs (race detector
	// or not); the budget leaves room for a loaded machine, where 10 runs
	// beside two spinning processes took up to 3.8 s.
	budget := 10 * time.Second
	if *long > budget {
		budget = *long
	}
	watchdog.Start(t, budget+watchdog.Default)
	start := time.Now()
	tries := 0
	var found bool
	var bad Entry
	var how string
	for !found && time.Since(start) < budget {
		tries++
		xa := New(0, WithVariant(VariantSingleSiblingHop))
		bad, how, found, _ = mtLoadRace(xa, budget-time.Since(start), 4*mtNumCPU())
		mtFinish(t, xa, nil)
	}
	if !found {
		t.Fatalf("load_race did not catch the 6.1 single sibling hop within %v", budget)
	}
	if !bad.IsSibling() {
		t.Errorf("6.1 variant caught with %v, want a sibling entry: %s", bad, how)
	}
	t.Logf("6.1 variant caught after %v: %s", time.Since(start).Round(time.Millisecond), how)
}

// ---------------------------------------------------------------------
// idr-test.c idr_find_test_1(anchor, throbber): the anchor stays; a
// throbber allocates and frees its ID over and over. A lookup of the
// first ID must always return the anchor or the throbber, with its own
// value; and the entry after the first must be the other one (or Null
// while the throbber is away).

func TestIdrFindTest(t *testing.T) {
	for _, c := range []struct{ anchor, throbber uint32 }{{100000, 0}, {0, 100000}} {
		t.Run(fmt.Sprintf("anchor%d", c.anchor), func(t *testing.T) {
			d := stressFor(2*time.Second) / 2
			watchdog.Start(t, d+watchdog.Default)
			mtIdrFindTest(t, c.anchor, c.throbber, d)
		})
	}
}

func mtIdrFindTest(t *testing.T, anchor, throbber uint32, d time.Duration) {
	xa := newRelease(FlagAlloc)
	if id, err := xa.Alloc(MkValue(uint64(anchor)), Limit{anchor, anchor}); err != nil || id != anchor {
		t.Fatalf("Alloc(anchor %d) = %d, %v", anchor, id, err)
	}
	s := mtNewStop()
	var lookups, throbs atomic.Int64
	throb := func(s *mtStop) {
		for !s.stopped() {
			id, err := xa.Alloc(MkValue(uint64(throbber)), Limit{throbber, throbber})
			if err != nil || id != throbber {
				s.failf("Alloc(throbber %d) = %d, %v", throbber, id, err)
				return
			}
			if e := xa.Erase(uint64(throbber)); e != MkValue(uint64(throbber)) {
				s.failf("Erase(throbber) = %v", e)
				return
			}
			throbs.Add(1)
		}
	}
	finder := func(s *mtStop) {
		dom := xa.Domain()
		for !s.stopped() {
			tok := dom.ReadLock()
			id := uint64(0)
			e := xa.Find(&id, math.MaxInt32, Present)
			next := id
			var e2 Entry
			if e != Null {
				e2 = xa.FindAfter(&next, math.MaxInt32, Present)
			}
			dom.ReadUnlock(tok)
			if (id != uint64(anchor) && id != uint64(throbber)) || e != MkValue(id) {
				s.failf("Find(&0) = %v at %d; want the anchor %d or the throbber %d", e, id, anchor, throbber)
				return
			}
			if e2 != Null {
				if next <= id || (next != uint64(anchor) && next != uint64(throbber)) || e2 != MkValue(next) {
					s.failf("FindAfter(&%d) = %v at %d", id, e2, next)
					return
				}
			} else if id == uint64(throbber) && anchor > throbber {
				s.failf("FindAfter(&%d) missed the anchor %d", id, anchor)
				return
			}
			lookups.Add(1)
		}
	}
	mtRun(d, s, throb, finder)
	s.report(t)
	t.Logf("%d lookups, %d throbs", lookups.Load(), throbs.Load())
	mtProgress(t, s, mtCount{"lookups", lookups.Load()}, mtCount{"throbs", throbs.Load()})
	if e := xa.Erase(uint64(anchor)); e != MkValue(uint64(anchor)) {
		t.Errorf("Erase(anchor) = %v", e)
	}
	mustBeEmpty(t, xa)
	finish(t, xa)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// Linearizability of the normal API, checked with porcupine: a few
// goroutines run operations on indices 0..7 at once, each operation is
// recorded with a monotonic clock read just before its call and just
// after its return, and the checker searches for an order of the
// operations, consistent with those times, in which a sequential model
// of the XArray gives every output that was observed.
//
// Writers hold the lock, so they are linearizable among themselves as
// soon as each is right on its own; the checks have teeth for the
// lockless readers, Load and GetMark. Such a reader sees one slot or one
// mark word at a time, and some writes change several, one after the
// other, as the kernel's do: a multi-index store publishes its first
// slot before its siblings (and squashes the marks before either), and
// a store of Null clears the marks, one mark at a time, before it clears
// the slot (so that a marked walk never meets a marked Null). Lockless
// reads of two such words can see a write half done, so each history
// below keeps its lockless reads to what every write changes in one
// step: TestLinearizableValues (Load with single-index writes),
// TestLinearizableMarks (GetMark of one mark with mark and entry
// writes), TestLinearizableMultiIndex (multi-index writes, read under
// the lock at every index and without it at the first index of each
// range) and TestLinearizableAlloc. TestLinearizableLockless records
// the half-done writes; the XArray does not pass it, by design, so it
// runs only when asked (-xarray.lin-lockless).

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/xabench/xabench/internal/history"
	"github.com/xabench/xabench/internal/watchdog"
)

var linLockless = flag.Bool("xarray.lin-lockless", false,
	"run TestLinearizableLockless, whose lockless reads see multi-index stores and erases half done (the XArray does not pass it)")

// linIndices is how many indices the tests use: 0..7, all in one leaf
// node, so that operations meet. linRanges are the aligned ranges that
// StoreRange writes as order-2 entries.
const linIndices = 8

var linRanges = [][2]uint64{{0, 3}, {4, 7}}

// linLimit is the ID range of TestLinearizableAlloc.
var linLimit = Limit{0, linIndices - 1}

// linMarks are the marks that TestLinearizableMultiIndex sets, clears
// and reads.
var linMarks = []Mark{Mark0, Mark1}

type linKind uint8

const (
	linLoad linKind = iota
	linStore
	linErase
	linCmpXchg
	linStoreRange
	linSetMark
	linClearMark
	linGetMark
	linAlloc
)

// linIn is an operation's input. A locked Load or GetMark runs under the
// array's lock, as a caller of xa_load under xa_lock does.
type linIn struct {
	kind        linKind
	index, last uint64 // last: StoreRange only
	old, e      Entry  // old: CmpXchg only
	mark        Mark
	locked      bool
}

// linOut is an operation's output.
type linOut struct {
	e      Entry // Load, Store, Erase, CmpXchg: the entry returned
	marked bool  // GetMark
	id     uint32
	err    error
}

func (in linIn) String() string {
	var s string
	switch in.kind {
	case linLoad:
		s = fmt.Sprintf("Load(%d)", in.index)
	case linStore:
		s = fmt.Sprintf("Store(%d, %s)", in.index, linEntry(in.e))
	case linErase:
		s = fmt.Sprintf("Erase(%d)", in.index)
	case linCmpXchg:
		s = fmt.Sprintf("CmpXchg(%d, %s, %s)", in.index, linEntry(in.old), linEntry(in.e))
	case linStoreRange:
		s = fmt.Sprintf("StoreRange(%d, %d, %s)", in.index, in.last, linEntry(in.e))
	case linSetMark:
		s = fmt.Sprintf("SetMark(%d, %d)", in.index, in.mark)
	case linClearMark:
		s = fmt.Sprintf("ClearMark(%d, %d)", in.index, in.mark)
	case linGetMark:
		s = fmt.Sprintf("GetMark(%d, %d)", in.index, in.mark)
	case linAlloc:
		s = fmt.Sprintf("Alloc(%s)", linEntry(in.e))
	}
	if in.locked {
		s = "locked " + s
	}
	return s
}

func linDescribe(input, output any) string {
	in, out := input.(linIn), output.(linOut)
	var res string
	switch in.kind {
	case linSetMark, linClearMark, linStoreRange:
	case linGetMark:
		res = fmt.Sprint(out.marked)
	case linAlloc:
		res = fmt.Sprint(out.id)
	default:
		res = linEntry(out.e)
	}
	if out.err != nil {
		res += fmt.Sprintf(" (%v)", out.err)
	}
	if res == "" {
		return in.String()
	}
	return in.String() + " -> " + res
}

// linEntry names a value entry by the client and the operation that made
// it: c2#17 is client 2's 17th value.
func linEntry(e Entry) string {
	if e == Null {
		return "null"
	}
	if !e.IsValue() {
		return e.String()
	}
	v := e.ToValue()
	return fmt.Sprintf("c%d#%d", v>>24, v&(1<<24-1))
}

// linState is the sequential model. Every index names the first index
// of the entry that covers it (itself for a single-index entry or for
// Null); the entry's value and marks are kept at that first index. It is
// a comparable value, so each step works on a copy.
type linState struct {
	first [linIndices]uint8
	val   [linIndices]Entry
	marks [linIndices]uint8 // bit m: mark m
}

func linInit() any {
	var s linState
	for i := range s.first {
		s.first[i] = uint8(i)
	}
	return s
}

// erase removes the entry that covers index, all of it, marks included.
func (s *linState) erase(index uint64) {
	c := s.first[index]
	for j := range s.first {
		if s.first[j] == c {
			s.first[j] = uint8(j)
		}
	}
	s.val[c], s.marks[c] = Null, 0
}

// linStep is the model's step. It encodes what TestCheckXaMark and the
// multi-index kernel tests show: a store over an entry keeps its marks
// and changes every index a multi-index entry covers; an erase removes
// the whole entry and its marks; SetMark on Null does nothing; a
// multi-index store gives the new entry the union of the marks of the
// entries it replaces; Alloc takes the lowest free ID or fails with
// ErrBusy.
func linStep(state, input, output any) (bool, any) {
	s, in, out := state.(linState), input.(linIn), output.(linOut)
	c := s.first[in.index]
	cur := s.val[c]
	switch in.kind {
	case linLoad:
		return out.e == cur && out.err == nil, s
	case linStore:
		if out.e != cur || out.err != nil {
			return false, s
		}
		s.val[c] = in.e
	case linErase:
		if out.e != cur {
			return false, s
		}
		s.erase(in.index)
	case linCmpXchg:
		if out.e != cur || out.err != nil {
			return false, s
		}
		switch {
		case cur != in.old:
		case in.e == Null:
			s.erase(in.index)
		default:
			s.val[c] = in.e
		}
	case linStoreRange:
		if out.err != nil {
			return false, s
		}
		var marks uint8
		for j := in.index; j <= in.last; j++ {
			marks |= s.marks[s.first[j]]
			s.erase(j)
		}
		for j := in.index; j <= in.last; j++ {
			s.first[j] = uint8(in.index)
		}
		s.val[in.index], s.marks[in.index] = in.e, marks
	case linSetMark:
		if cur != Null {
			s.marks[c] |= 1 << in.mark
		}
	case linClearMark:
		s.marks[c] &^= 1 << in.mark
	case linGetMark:
		return out.marked == (s.marks[c]&(1<<in.mark) != 0), s
	case linAlloc:
		for id := linLimit.Min; id <= linLimit.Max; id++ {
			if s.val[id] == Null {
				if out.err != nil || out.id != id {
					return false, s
				}
				s.val[id] = in.e
				return true, s
			}
		}
		return out.err == ErrBusy, s
	}
	return true, s
}

func linHash(state any) uint64 {
	s := state.(linState)
	h := uint64(14695981039346656037)
	for i := range s.val {
		h = (h ^ uint64(s.val[i]) ^ uint64(s.first[i])<<56 ^ uint64(s.marks[i])<<48) * 1099511628211
	}
	return h
}

func linDescribeState(state any) string {
	s := state.(linState)
	var parts []string
	for i := range s.first {
		if int(s.first[i]) != i || s.val[i] == Null {
			continue
		}
		last := i
		for last+1 < linIndices && int(s.first[last+1]) == i {
			last++
		}
		p := fmt.Sprintf("%d:%s", i, linEntry(s.val[i]))
		if last != i {
			p = fmt.Sprintf("%d-%d:%s", i, last, linEntry(s.val[i]))
		}
		if s.marks[i] != 0 {
			p += fmt.Sprintf("[marks %02b]", s.marks[i])
		}
		parts = append(parts, p)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// linModel is the XArray's sequential specification. It does not
// partition: StoreRange, and a store into a multi-index entry, write
// several indices at once.
var linModel = porcupine.Model{
	Init:              linInit,
	Step:              linStep,
	Hash:              linHash,
	DescribeOperation: linDescribe,
	DescribeState:     linDescribeState,
}

// linByIndex is linModel for histories of single-index operations only,
// which are linearizable if and only if each index's are.
var linByIndex = func() porcupine.Model {
	m := linModel
	m.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
		var parts [linIndices][]porcupine.Operation
		for _, op := range h {
			i := op.Input.(linIn).index
			parts[i] = append(parts[i], op)
		}
		return slices.DeleteFunc(parts[:], func(p []porcupine.Operation) bool { return len(p) == 0 })
	}
	return m
}()

// linArray is what a history runs on: the XArray, or a broken wrapper.
type linArray interface {
	Lock()
	Unlock()
	Load(index uint64) Entry
	Store(index uint64, e Entry) (Entry, error)
	Erase(index uint64) Entry
	CmpXchg(index uint64, old, e Entry) (Entry, error)
	StoreRange(first, last uint64, e Entry) error
	SetMark(index uint64, m Mark)
	ClearMark(index uint64, m Mark)
	GetMark(index uint64, m Mark) bool
	Alloc(e Entry, limit Limit) (uint32, error)
}

// linDo runs one operation.
func linDo(xa linArray, in linIn) linOut {
	var out linOut
	if in.locked {
		xa.Lock()
		defer xa.Unlock()
	}
	switch in.kind {
	case linLoad:
		out.e = xa.Load(in.index)
	case linStore:
		out.e, out.err = xa.Store(in.index, in.e)
	case linErase:
		out.e = xa.Erase(in.index)
	case linCmpXchg:
		out.e, out.err = xa.CmpXchg(in.index, in.old, in.e)
	case linStoreRange:
		out.err = xa.StoreRange(in.index, in.last, in.e)
	case linSetMark:
		xa.SetMark(in.index, in.mark)
	case linClearMark:
		xa.ClearMark(in.index, in.mark)
	case linGetMark:
		out.marked = xa.GetMark(in.index, in.mark)
	case linAlloc:
		out.id, out.err = xa.Alloc(in.e, linLimit)
	}
	return out
}

// linClient makes one goroutine's operations. seen is the last entry the
// client saw at each index (the old entry of its CmpXchgs), last the
// operation it ran last.
type linClient struct {
	id   int
	rng  *rand.Rand
	seq  uint64
	seen [linIndices]Entry
	last linIn
}

// value returns a value entry that no other operation stores.
func (c *linClient) value() Entry {
	c.seq++
	return MkValue(uint64(c.id)<<24 | c.seq)
}

func (c *linClient) index() uint64 { return c.rng.Uint64N(linIndices) }
func (c *linClient) mark() Mark    { return linMarks[c.rng.IntN(len(linMarks))] }

// cmpxchg is a CmpXchg at index: an insert into Null, a replacement of
// the entry the client last saw there, or a conditional erase of it.
func (c *linClient) cmpxchg(index uint64) linIn {
	in := linIn{kind: linCmpXchg, index: index, e: c.value()}
	switch c.rng.IntN(4) {
	case 0:
	case 1:
		in.old, in.e = c.seen[index], Null
	default:
		in.old = c.seen[index]
	}
	return in
}

// values is the mix of TestLinearizableValues.
func (c *linClient) values() linIn {
	i := c.index()
	switch r := c.rng.IntN(20); {
	case r < 8:
		return linIn{kind: linLoad, index: i}
	case r < 12:
		return linIn{kind: linStore, index: i, e: c.value()}
	case r < 15:
		return linIn{kind: linErase, index: i}
	default:
		return c.cmpxchg(i)
	}
}

// marks is the mix of TestLinearizableMarks. It uses one mark: an erase
// clears an entry's marks one after the other.
func (c *linClient) marks() linIn {
	i := c.index()
	switch r := c.rng.IntN(20); {
	case r < 8:
		return linIn{kind: linGetMark, index: i, mark: Mark0}
	case r < 12:
		return linIn{kind: linSetMark, index: i, mark: Mark0}
	case r < 14:
		return linIn{kind: linClearMark, index: i, mark: Mark0}
	case r < 16:
		return linIn{kind: linStore, index: i, e: c.value()}
	case r < 18:
		return linIn{kind: linErase, index: i}
	default:
		return c.cmpxchg(i)
	}
}

// multiIndex is the mix of TestLinearizableMultiIndex.
func (c *linClient) multiIndex() linIn {
	i := c.index()
	switch r := c.rng.IntN(20); {
	case r < 3:
		rg := linRanges[c.rng.IntN(len(linRanges))]
		return linIn{kind: linStoreRange, index: rg[0], last: rg[1], e: c.value()}
	case r < 5:
		return linIn{kind: linStore, index: i, e: c.value()}
	case r < 7:
		return linIn{kind: linErase, index: i}
	case r < 8:
		return c.cmpxchg(i)
	case r < 10:
		return linIn{kind: linSetMark, index: i, mark: c.mark()}
	case r < 11:
		return linIn{kind: linClearMark, index: i, mark: c.mark()}
	case r < 13:
		return linIn{kind: linGetMark, index: i, mark: c.mark(), locked: true}
	case r < 16:
		return linIn{kind: linLoad, index: i, locked: true}
	default:
		// Lockless at the first index of a range: one slot, which
		// each write changes at most once.
		return linIn{kind: linLoad, index: linRanges[c.rng.IntN(len(linRanges))][0]}
	}
}

// alloc is the mix of TestLinearizableAlloc: allocate, free an ID, or
// look one up.
func (c *linClient) alloc() linIn {
	switch r := c.rng.IntN(10); {
	case r < 4:
		return linIn{kind: linAlloc, e: c.value()}
	case r < 7:
		return linIn{kind: linErase, index: c.index()}
	default:
		return linIn{kind: linLoad, index: c.index()}
	}
}

// The pairs of TestLinearizableLockless: client 0 writes, client 1
// reads twice in a row, each time the two words the write changes.

// storeRange writes an order-2 entry over Null and erases it; the reader
// loads its first index and, having seen it, its last.
func (c *linClient) storeRange() linIn {
	if c.id == 0 {
		if c.last.kind == linStoreRange {
			return linIn{kind: linErase, index: 0}
		}
		return linIn{kind: linStoreRange, index: 0, last: 3, e: c.value()}
	}
	if c.last.kind == linLoad && c.last.index == 0 && c.seen[0] != Null {
		return linIn{kind: linLoad, index: 3}
	}
	return linIn{kind: linLoad, index: 0}
}

// eraseMarked stores, marks and erases an entry; the reader reads its
// mark, then the entry.
func (c *linClient) eraseMarked() linIn {
	if c.id == 0 {
		switch c.last.kind {
		case linStore:
			return linIn{kind: linSetMark, index: 1, mark: Mark0}
		case linSetMark:
			return linIn{kind: linErase, index: 1}
		}
		return linIn{kind: linStore, index: 1, e: c.value()}
	}
	if c.last.kind == linGetMark {
		return linIn{kind: linLoad, index: 1}
	}
	return linIn{kind: linGetMark, index: 1, mark: Mark0}
}

// eraseTwoMarks stores an entry, sets two marks and erases it; the
// reader reads one mark, then the other.
func (c *linClient) eraseTwoMarks() linIn {
	if c.id == 0 {
		switch {
		case c.last.kind == linStore:
			return linIn{kind: linSetMark, index: 1, mark: Mark0}
		case c.last.kind == linSetMark && c.last.mark == Mark0:
			return linIn{kind: linSetMark, index: 1, mark: Mark1}
		case c.last.kind == linSetMark:
			return linIn{kind: linErase, index: 1}
		}
		return linIn{kind: linStore, index: 1, e: c.value()}
	}
	if c.last.kind == linGetMark && c.last.mark == Mark0 {
		return linIn{kind: linGetMark, index: 1, mark: Mark1}
	}
	return linIn{kind: linGetMark, index: 1, mark: Mark0}
}

// linHistory runs clients goroutines of ops operations each, made by
// next, on xa, and returns the history. Each yields now and then, so
// that with fewer processors than goroutines the histories still
// interleave.
func linHistory(xa linArray, clock history.Clock, seed uint64, clients, ops int, next func(c *linClient) linIn) []porcupine.Operation {
	return history.Record(clock, clients, ops, func(id int) func() porcupine.Operation {
		c := &linClient{id: id, rng: rand.New(rand.NewPCG(seed, uint64(id)))}
		return func() porcupine.Operation {
			in := next(c)
			op := history.Op(clock, id, in, func() any { return linDo(xa, in) })
			if out := op.Output.(linOut); in.kind <= linCmpXchg {
				c.seen[in.index] = out.e
			}
			c.last = in
			if c.rng.IntN(8) == 0 {
				runtime.Gosched()
			}
			return op
		}
	})
}

// linTest runs rounds histories of clients goroutines and ops operations
// each, made by next, on a fresh array built with flags as the release
// the tests run as (newRelease), and checks each against model. The
// histories hold under every profile: no operation here splits or
// pauses, and the lockless Loads read slots that are never siblings
// (index 0 or 4, the first of an aligned range), so v6.1's single
// sibling hop in xas_descend cannot show.
func linTest(t *testing.T, rounds, clients, ops int, flags Flags, model porcupine.Model, next func(c *linClient) linIn) {
	t.Helper()
	watchdog.Start(t, watchdog.Default)
	history.Procs(t, clients)
	if testing.Short() {
		rounds = max(1, rounds/4)
	}
	overlapping := 0
	for r := range rounds {
		xa := newRelease(flags)
		h := linHistory(xa, history.NewClock(), uint64(r), clients, ops, next)
		overlapping += history.Overlapping(h)
		res, report, info := history.Check(model, h)
		finish(t, xa)
		if res != porcupine.Ok {
			t.Fatalf("round %d (seed %d): %s\n%s%s", r, r, res, report, history.Visualize(model, info))
		}
	}
	t.Logf("%d histories of %d operations linearizable; %.0f%% of operations overlapped another client's",
		rounds, clients*ops, 100*float64(overlapping)/float64(rounds*clients*ops))
}

// TestLinearizableValues shows that Load, Store, Erase and CmpXchg of
// single-index entries are linearizable: a lockless Load returns an
// entry that was at the index at some instant between its call and its
// return, and no Load that starts after it returns sees an older one.
func TestLinearizableValues(t *testing.T) {
	linTest(t, 40, 4, 300, 0, linByIndex, (*linClient).values)
}

// TestLinearizableMarks shows that GetMark, SetMark and ClearMark of a
// mark, and the stores and erases that keep and drop it, are
// linearizable: a lockless GetMark answers as of one instant of its
// call.
func TestLinearizableMarks(t *testing.T) {
	linTest(t, 40, 4, 300, 0, linByIndex, (*linClient).marks)
}

// TestLinearizableMultiIndex shows that StoreRange, and the stores,
// erases, compare-exchanges and marks that meet the multi-index entries
// it makes, are linearizable: a store at any index of a multi-index
// entry changes all of it, an erase removes all of it, and StoreRange
// gives the new entry the union of the marks of what it replaces. Reads
// at every index run under the lock; lockless Loads run at the first
// index of each range.
func TestLinearizableMultiIndex(t *testing.T) {
	linTest(t, 30, 4, 200, 0, linModel, (*linClient).multiIndex)
}

// TestLinearizableAlloc shows that Alloc, with Erase freeing IDs for
// reuse and lockless Loads, is linearizable: each Alloc returns the
// lowest ID free at one instant of its call, or ErrBusy when all eight
// are taken.
func TestLinearizableAlloc(t *testing.T) {
	linTest(t, 30, 4, 200, FlagAlloc, linModel, (*linClient).alloc)
}

// TestLinearizableLockless shows where lockless reads are not
// linearizable: a reader that reads twice, each time a word that the
// same write changes, can see the write half done. The XArray does this
// by design, as the kernel's does, so the test runs only with
// -xarray.lin-lockless, and fails with the first history that shows it
// (within a round or two, where two processors are free).
//
//   - StoreRange writes the first slot of an order-2 entry and then its
//     siblings: Load(0) returns the new entry, and a Load(3) that starts
//     after it has returned still finds Null.
//   - Erase clears the mark and then the slot: GetMark says false, and a
//     Load that starts after it has returned still finds the entry.
//   - Erase clears the marks one after the other: GetMark of mark 0 says
//     false, and a GetMark of mark 1 after it says true.
func TestLinearizableLockless(t *testing.T) {
	if !*linLockless {
		t.Skip("lockless reads can see a multi-index store or an erase half done; -xarray.lin-lockless runs this")
	}
	for _, tc := range []struct {
		name string
		next func(c *linClient) linIn
	}{
		{"StoreRange", (*linClient).storeRange},
		{"EraseMarked", (*linClient).eraseMarked},
		{"EraseTwoMarks", (*linClient).eraseTwoMarks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			linTest(t, 20, 2, 10000, 0, linModel, tc.next)
		})
	}
}

// linStale is a broken XArray: a reader-side cache that Store does not
// invalidate, so that Load sometimes returns the entry that the last
// Store at the index replaced.
type linStale struct {
	*XArray
	mu     sync.Mutex
	rng    *rand.Rand
	always bool
	prev   [linIndices]Entry // what the last Store at each index replaced
}

func (s *linStale) Store(index uint64, e Entry) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.XArray.Store(index, e)
	s.prev[index] = old
	return old, err
}

func (s *linStale) Load(index uint64) Entry {
	s.mu.Lock()
	stale := s.prev[index]
	if stale != Null && (s.always || s.rng.IntN(4) == 0) {
		s.mu.Unlock()
		return stale
	}
	s.mu.Unlock()
	return s.XArray.Load(index)
}

// TestLinearizableCatchesStaleLoad shows that the check has teeth: the
// histories of linStale, recorded the same way, are not linearizable.
// Each history is a concurrent phase, in which a quarter of the Loads
// that could be stale are, and then a sequential one in which client 4
// stores c4#1 and c4#2 at index 1 and Loads c4#1 back, after its Store
// of c4#2 returned: porcupine must reject every history.
func TestLinearizableCatchesStaleLoad(t *testing.T) {
	watchdog.Start(t, watchdog.Default)
	const rounds, clients, ops = 10, 4, 200
	caughtConcurrent := 0
	for r := range rounds {
		xa := &linStale{XArray: New(0), rng: rand.New(rand.NewPCG(uint64(r), 1))}
		clock := history.NewClock()
		h := linHistory(xa, clock, uint64(r), clients, ops, (*linClient).values)
		if res, _, _ := history.Check(linByIndex, h); res == porcupine.Illegal {
			caughtConcurrent++
		}

		xa.always = true
		c := &linClient{id: clients}
		a, b := c.value(), c.value()
		for _, in := range []linIn{{kind: linStore, index: 1, e: a}, {kind: linStore, index: 1, e: b}, {kind: linLoad, index: 1}} {
			h = append(h, history.Op(clock, clients, in, func() any { return linDo(xa, in) }))
		}
		if got := h[len(h)-1].Output.(linOut).e; got != a {
			t.Fatalf("the broken Load returned %s, want the stale %s", linEntry(got), linEntry(a))
		}
		res, report, _ := history.Check(linByIndex, h)
		finish(t, xa.XArray)
		if res != porcupine.Illegal {
			t.Fatalf("round %d: porcupine says %s for a history with a stale Load", r, res)
		}
		if r == 0 {
			t.Logf("porcupine rejects the history:\n%s", report)
		}
	}
	t.Logf("%d of %d histories rejected before the sequential phase", caughtConcurrent, rounds)
}

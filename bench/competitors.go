// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/puzpuzpuz/xsync/v3"
	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/rcu"
	"github.com/xabench/xabench/xarray"
)

// A Map is one competitor built over a key set: a map from uint64 keys to
// uint64 values in which every key's value is the key itself.
//
// Workers call Load and Store with the keys of the shared access
// sequence; a Map must allow any number of goroutines to call both at
// once. Load takes a batch so that the interface call costs nothing
// measurable; each competitor decides how a batch maps onto its
// read-side sections (the XArray's Load opens one per key, its State
// batch one for the whole batch).
type Map interface {
	// Load looks up every key of keys and returns the sum of the values
	// found.
	Load(keys []uint64) uint64
	// Store stores key's value at key (the value it already has: the
	// structure does not change shape, but the writer's path runs).
	Store(key uint64)
	// Close releases what the Map holds.
	Close()
}

// A Competitor builds a Map over a key set.
type Competitor struct {
	Name  string // the benchmark name's impl= value
	Label string // the table's label
	// HotPath marks the rows that compare guards against regressions
	// (see HotPathPattern).
	HotPath bool
	// DenseOnly competitors index an array by key: dense keys only.
	DenseOnly bool
	// ReadOnly competitors have no store path: read-only mixes only.
	ReadOnly bool
	// Writes are the write ops (writes.go) the competitor's Map runs in
	// the write workloads, each with the label of its rows. A Map runs
	// OpStore with its Store; the other ops need the matching method
	// (eraser, rangeStorer, cmpXchger).
	Writes []WriteLabel
	// Reference competitors are the Go maps, which use none of this
	// project's code: compare divides every run by the geometric mean of
	// theirs in the same round to take out the machine's drift. (Only
	// the references present in both sets compared count, so adding one
	// leaves comparisons with older results as they were.)
	Reference bool
	// Build makes the Map over the fixture's keys.
	Build func(f *Fixture) (Map, error)
	// gcCost orders the builds: Run builds the competitors whose heap is
	// costly for the garbage collector to mark last, so that the
	// collections that measure the others' memory stay quick.
	gcCost int
}

// A Fixture is a key set and what the competitors built over it share:
// the XArray Load and State batch competitors walk one and the same tree.
type Fixture struct {
	Keys   []uint64
	xa     *xarray.XArray
	xaRefs int
}

// NewFixture returns a fixture of the sorted keys.
func NewFixture(keys []uint64) *Fixture { return &Fixture{Keys: keys} }

// xarray returns the fixture's XArray of its keys, built on first use.
// Every call must be matched by a call of releaseXArray.
func (f *Fixture) xarray() (*xarray.XArray, error) {
	if f.xa == nil {
		xa, err := newXArray(f.Keys)
		if err != nil {
			return nil, err
		}
		f.xa = xa
	}
	f.xaRefs++
	return f.xa, nil
}

// releaseXArray drops a reference to the fixture's XArray and destroys it
// after the last.
func (f *Fixture) releaseXArray() {
	if f.xaRefs--; f.xaRefs == 0 {
		destroyXArray(f.xa)
		f.xa = nil
	}
}

// Fits reports whether c can run workload w: a lookup mix if it has a
// store path or the mix has no stores, a write workload if it lists the
// op in Writes; dense keys only if it is DenseOnly.
func (c *Competitor) Fits(w Workload) bool {
	if c.DenseOnly && w.Keys.Layout != Dense {
		return false
	}
	if w.Op != "" {
		return c.hasOp(w.Op)
	}
	return !c.ReadOnly || w.ReadPct == 100
}

// HotPathPattern matches the names (without the Benchmark prefix and the
// -procs suffix) of the benchmarks on the lookup hot path: the XArray's
// Load (impl=xarray) in the lookup workloads (Lookup/...), not the
// XArray's rows of the write workloads (Write/...).
// "xabench compare" fails when one of them regresses significantly.
const HotPathPattern = `^(Lookup/(.*/)?)?impl=xarray$`

var hotPathRE = regexp.MustCompile(HotPathPattern)

// IsHotPath reports whether the benchmark name (with or without the
// Benchmark prefix and the -procs suffix) is on the hot path.
func IsHotPath(name string) bool {
	return hotPathRE.MatchString(strings.TrimPrefix(StripProcs(name), "Benchmark"))
}

// StripProcs removes a -N GOMAXPROCS suffix from a benchmark name.
func StripProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

// Competitors returns every competitor, the XArray's Load first: it is
// the reference of the tables' ratios.
func Competitors() []*Competitor {
	return []*Competitor{
		{Name: "xarray", Label: "xarray Load", HotPath: true, Build: buildXArray,
			Writes: []WriteLabel{{OpStore, "xarray Store"}, {OpErase, "xarray Erase+Store"},
				{OpStoreRange, "xarray StoreRange+Erase+64 Store"}, {OpCmpXchg, "xarray CmpXchg"}}},
		// The State batch's and the filemap's writes would be the
		// XArray's: they run no write workload.
		{Name: "xarray-batch", Label: "xarray State batch", Build: buildXArrayBatch},
		{Name: "filemap", Label: "filemap GetEntry+Put", DenseOnly: true, ReadOnly: true, Build: buildFilemap},
		{Name: "xsync.MapOf", Reference: true, Label: "xsync.MapOf", Build: buildXsyncMap, gcCost: 1,
			Writes: []WriteLabel{{OpStore, "xsync.MapOf Store"}, {OpErase, "xsync.MapOf Delete+Store"},
				{OpCmpXchg, "xsync.MapOf Compute"}}},
		{Name: "xsyncv4", Reference: true, Label: "xsync.Map (v4)", Build: buildXsyncV4Map, gcCost: 1,
			Writes: []WriteLabel{{OpStore, "xsync.Map (v4) Store"}, {OpErase, "xsync.Map (v4) Delete+Store"},
				{OpCmpXchg, "xsync.Map (v4) Compute"}}},
		{Name: "sync.Map", Reference: true, Label: "sync.Map", Build: buildSyncMap, gcCost: 2,
			Writes: []WriteLabel{{OpStore, "sync.Map Store"}, {OpErase, "sync.Map Delete+Store"},
				{OpCmpXchg, "sync.Map CompareAndSwap"}}},
		{Name: "map+RWMutex", Reference: true, Label: "map+sync.RWMutex", Build: buildRWMap,
			Writes: lockedMapWrites("map+sync.RWMutex")},
		{Name: "map+RBMutex", Reference: true, Label: "map+xsync.RBMutex", Build: buildRBMap,
			Writes: lockedMapWrites("map+xsync.RBMutex")},
		// The ordered competitors (btree.go) are not references: their
		// store paths are the wrappers here, and the copy-on-write
		// one's is mostly allocation, which moves with the garbage
		// collector rather than with the machine (so it runs no write
		// workload either).
		{Name: "btree+RWMutex", Label: "btree.Map+sync.RWMutex", Build: buildBTreeRW,
			Writes: lockedMapWrites("btree.Map+sync.RWMutex")},
		{Name: "btree-cow", Label: "btree.Map copy-on-write", Build: buildBTreeCOW},
		{Name: "atomic-slice", Label: "[]atomic.Uint64 (floor)", DenseOnly: true, Build: buildSlice,
			Writes: []WriteLabel{{OpStore, "[]atomic.Uint64 Store (floor)"}, {OpCmpXchg, "[]atomic.Uint64 CompareAndSwap (floor)"}}},
	}
}

// lockedMapWrites are the write ops of a map behind a lock, whose writes
// take the write lock once per op.
func lockedMapWrites(label string) []WriteLabel {
	return []WriteLabel{{OpStore, label + " store"}, {OpErase, label + " delete+store"},
		{OpCmpXchg, label + " compare+store"}}
}

// ReferenceImpls returns the names of the reference competitors.
func ReferenceImpls() []string {
	var r []string
	for _, c := range Competitors() {
		if c.Reference {
			r = append(r, c.Name)
		}
	}
	return r
}

// CompetitorByName returns the competitor named name, or nil.
func CompetitorByName(name string) *Competitor {
	for _, c := range Competitors() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ExtraBytes is implemented by Maps that hold memory outside the Go heap
// objects they allocate when built (the XArray's node cache is one slab
// allocated when the program starts).
type extraBytes interface{ ExtraBytes() int64 }

// nodeCacheFits returns an error if an XArray of keys would not fit in
// what is left of the node cache.
func nodeCacheFits(keys []uint64) error {
	need := int64(TreeNodes(keys))
	s := xarray.NodeCacheStats()
	if free := s.Capacity - s.InUse; need > free {
		return fmt.Errorf("an XArray of %d keys needs %d nodes; the node cache has %d free", len(keys), need, free)
	}
	return nil
}

func newXArray(keys []uint64) (*xarray.XArray, error) {
	if err := nodeCacheFits(keys); err != nil {
		return nil, err
	}
	xa := xarray.New(0)
	for _, k := range keys {
		if _, err := xa.Store(k, xarray.MkValue(k)); err != nil {
			xa.Destroy()
			return nil, err
		}
	}
	return xa, nil
}

// destroyXArray frees xa's nodes and waits for the grace period after
// which they are back in the cache.
func destroyXArray(xa *xarray.XArray) {
	xa.Destroy()
	xa.Domain().Barrier()
}

type xaLoad struct {
	xa *xarray.XArray
	f  *Fixture
}

func buildXArray(f *Fixture) (Map, error) {
	xa, err := f.xarray()
	if err != nil {
		return nil, err
	}
	return &xaLoad{xa, f}, nil
}

func (m *xaLoad) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		sum += m.xa.Load(k).ToValue()
	}
	return sum
}

func (m *xaLoad) Store(k uint64) {
	if _, err := m.xa.Store(k, xarray.MkValue(k)); err != nil {
		panic(err)
	}
}

// EraseStore is OpErase: Erase, then Store.
func (m *xaLoad) EraseStore(k uint64) {
	m.xa.Erase(k)
	m.Store(k)
}

// StoreRangeRestore is OpStoreRange: an order-6 entry over the 64 keys
// from k&^63, then Erase of it and a Store of each key's value. Should
// other goroutines work on the same range meanwhile, the last of the
// StoreRanges and Erases in lock order is an Erase (each op's Erase
// follows its StoreRange), and only single Stores of the keys' values
// follow it, so every key holds its value once all ops have returned.
func (m *xaLoad) StoreRangeRestore(k uint64) {
	first := k &^ (RangeKeys - 1)
	if err := m.xa.StoreRange(first, first+RangeKeys-1, xarray.MkValue(first)); err != nil {
		panic(err)
	}
	m.xa.Erase(first)
	for i := first; i < first+RangeKeys; i++ {
		m.Store(i)
	}
}

// CmpXchg is OpCmpXchg: xa_cmpxchg of the key's value with itself.
func (m *xaLoad) CmpXchg(k uint64) bool {
	v := xarray.MkValue(k)
	old, err := m.xa.CmpXchg(k, v, v)
	if err != nil {
		panic(err)
	}
	return old == v
}

func (m *xaLoad) Close()            { m.f.releaseXArray() }
func (m *xaLoad) ExtraBytes() int64 { return int64(m.xa.Nodes()) * xarray.NodeCacheStats().Bytes }

// xaBatch looks a whole batch up under one read-side section, with one
// State: xas_set + xas_load per key, as find_get_entries and friends do.
type xaBatch struct{ xaLoad }

func buildXArrayBatch(f *Fixture) (Map, error) {
	xa, err := f.xarray()
	if err != nil {
		return nil, err
	}
	return &xaBatch{xaLoad{xa, f}}, nil
}

func (m *xaBatch) Load(keys []uint64) uint64 {
	var sum uint64
	d := m.xa.Domain()
	xas := xarray.NewState(m.xa, 0)
	t := d.ReadLock()
	for _, k := range keys {
		xas.Set(k)
		e := xas.Load()
		for e.IsRetry() {
			xas.Reset()
			e = xas.Load()
		}
		sum += e.ToValue()
	}
	d.ReadUnlock(t)
	return sum
}

// fileMap is the page cache of a file of len(keys) pages, every page
// cached as its own order-0 folio: a lookup is filemap_get_entry (a
// speculative folio_try_get and xas_reload) and folio_put, and the value
// is the folio's index.
type fileMap struct {
	as *filemap.AddressSpace
	mm *folio.Memmap
}

func buildFilemap(f *Fixture) (Map, error) {
	keys := f.Keys
	n := len(keys)
	if n > 0 && keys[n-1] != uint64(n-1) {
		return nil, fmt.Errorf("filemap needs dense keys")
	}
	if err := nodeCacheFits(keys); err != nil {
		return nil, err
	}
	mm := folio.NewMemmap(n + 4096)
	as := filemap.New(mm, uint64(n), filemap.WithMaxOrder(0))
	buf := make([]folio.Folio, 0, 4096)
	for i := 0; i < n; i += 4096 {
		fs, err := as.Read(uint64(i), uint64(min(4096, n-i)), buf)
		for _, f := range fs {
			f.Put()
		}
		if err != nil {
			as.Close()
			return nil, err
		}
	}
	if got := as.NrPages(); got != int64(n) {
		as.Close()
		return nil, fmt.Errorf("filemap: %d pages cached, want %d", got, n)
	}
	return &fileMap{as, mm}, nil
}

func (m *fileMap) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		e := m.as.GetEntry(k)
		if e.IsPointer() {
			f := m.mm.FromEntry(e)
			sum += f.Index()
			f.Put()
		}
	}
	return sum
}

func (m *fileMap) Store(uint64) { panic("bench: filemap has no store path") }

func (m *fileMap) Close() {
	m.as.Close()
	rcu.Barrier()
}

func (m *fileMap) ExtraBytes() int64 {
	return int64(m.as.Pages().Nodes()) * xarray.NodeCacheStats().Bytes
}

type xsyncMap struct{ m *xsync.MapOf[uint64, uint64] }

func buildXsyncMap(f *Fixture) (Map, error) {
	keys := f.Keys
	m := xsync.NewMapOf[uint64, uint64](xsync.WithPresize(len(keys)))
	for _, k := range keys {
		m.Store(k, k)
	}
	return &xsyncMap{m}, nil
}

func (m *xsyncMap) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		v, _ := m.m.Load(k)
		sum += v
	}
	return sum
}

func (m *xsyncMap) Store(k uint64) { m.m.Store(k, k) }
func (m *xsyncMap) Close()         { m.m = nil }

func (m *xsyncMap) EraseStore(k uint64) {
	m.m.Delete(k)
	m.m.Store(k, k)
}

// CmpXchg is Compute returning the value it is given: the key is stored
// again with the value it holds (k, so the swap succeeds), and an absent
// key stays absent.
func (m *xsyncMap) CmpXchg(k uint64) bool {
	ok := false
	m.m.Compute(k, func(old uint64, loaded bool) (uint64, bool) {
		ok = loaded && old == k
		return old, !loaded
	})
	return ok
}

type syncMap struct{ m *sync.Map }

func buildSyncMap(f *Fixture) (Map, error) {
	keys := f.Keys
	m := new(sync.Map)
	for _, k := range keys {
		m.Store(k, k)
	}
	return &syncMap{m}, nil
}

func (m *syncMap) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		if v, ok := m.m.Load(k); ok {
			sum += v.(uint64)
		}
	}
	return sum
}

func (m *syncMap) Store(k uint64) { m.m.Store(k, k) }
func (m *syncMap) Close()         { m.m = nil }

func (m *syncMap) EraseStore(k uint64) {
	m.m.Delete(k)
	m.m.Store(k, k)
}

func (m *syncMap) CmpXchg(k uint64) bool { return m.m.CompareAndSwap(k, k, k) }

type rwMap struct {
	mu sync.RWMutex
	m  map[uint64]uint64
}

func buildRWMap(f *Fixture) (Map, error) {
	keys := f.Keys
	m := make(map[uint64]uint64, len(keys))
	for _, k := range keys {
		m[k] = k
	}
	return &rwMap{m: m}, nil
}

func (m *rwMap) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		m.mu.RLock()
		sum += m.m[k]
		m.mu.RUnlock()
	}
	return sum
}

func (m *rwMap) Store(k uint64) {
	m.mu.Lock()
	m.m[k] = k
	m.mu.Unlock()
}

func (m *rwMap) EraseStore(k uint64) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
	m.Store(k)
}

func (m *rwMap) CmpXchg(k uint64) bool {
	m.mu.Lock()
	v, ok := m.m[k]
	ok = ok && v == k
	if ok {
		m.m[k] = k
	}
	m.mu.Unlock()
	return ok
}

func (m *rwMap) Close() { m.m = nil }

type rbMap struct {
	mu *xsync.RBMutex
	m  map[uint64]uint64
}

func buildRBMap(f *Fixture) (Map, error) {
	keys := f.Keys
	m := make(map[uint64]uint64, len(keys))
	for _, k := range keys {
		m[k] = k
	}
	return &rbMap{mu: xsync.NewRBMutex(), m: m}, nil
}

func (m *rbMap) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		t := m.mu.RLock()
		sum += m.m[k]
		m.mu.RUnlock(t)
	}
	return sum
}

func (m *rbMap) Store(k uint64) {
	m.mu.Lock()
	m.m[k] = k
	m.mu.Unlock()
}

func (m *rbMap) EraseStore(k uint64) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
	m.Store(k)
}

func (m *rbMap) CmpXchg(k uint64) bool {
	m.mu.Lock()
	v, ok := m.m[k]
	ok = ok && v == k
	if ok {
		m.m[k] = k
	}
	m.mu.Unlock()
	return ok
}

func (m *rbMap) Close() { m.m = nil }

type sliceMap struct{ s []atomic.Uint64 }

func buildSlice(f *Fixture) (Map, error) {
	keys := f.Keys
	n := len(keys)
	if n > 0 && keys[n-1] != uint64(n-1) {
		return nil, fmt.Errorf("the atomic slice needs dense keys")
	}
	s := make([]atomic.Uint64, n)
	for i := range s {
		s[i].Store(uint64(i))
	}
	return &sliceMap{s}, nil
}

func (m *sliceMap) Load(keys []uint64) uint64 {
	var sum uint64
	s := m.s
	for _, k := range keys {
		if k < uint64(len(s)) {
			sum += s[k].Load()
		}
	}
	return sum
}

func (m *sliceMap) Store(k uint64)        { m.s[k].Store(k) }
func (m *sliceMap) CmpXchg(k uint64) bool { return m.s[k].CompareAndSwap(k, k) }
func (m *sliceMap) Close()                { m.s = nil }

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/internal/cpu"
	"github.com/xabench/xabench/internal/inject"
	"github.com/xabench/xabench/xarray"
)

// The errors of the page-cache paths.
var (
	ErrExists   = xarray.ErrExists   // EEXIST: a folio is already there
	ErrBusy     = xarray.ErrBusy     // EBUSY: the folio is in use
	ErrNoMemory = xarray.ErrNoMemory // ENOMEM
)

// Variant selects old kernel behaviour, or a deliberate break of the
// page-cache protocol, for one step of a path. The zero Variant is the
// fixed kernel. Each variant is checked where its step runs, off the
// lookup fast path.
type Variant uint32

const (
	// VariantAddFolio61 is __filemap_add_folio before the v6.10 fix
	// (6758c1128ceb, with de60fd8ddeda and a4864671ca0b): the order of a
	// larger entry is read without the lock, xas_split_alloc prefills
	// nodes with an entry read by a second unlocked walk, and the nodes
	// are used under the lock whatever is there by then (bugs.md B1).
	VariantAddFolio61 Variant = 1 << iota
	// VariantSplitCurrentFolio is folio_split before 577a1f495fd7: each
	// xas_try_split step fills the slots with the current, already
	// split-off folio instead of the frozen original (bugs.md B3).
	VariantSplitCurrentFolio
	// VariantNoReloadCheck is a protocol break: lookups skip the
	// xas_reload check after folio_try_get.
	VariantNoReloadCheck
	// VariantSplitNoFreeze is a protocol break: the uniform split does
	// not freeze the folio's reference count.
	VariantSplitNoFreeze
	// VariantAddFolioSplitAlloc is __filemap_add_folio from v6.10 to
	// v6.14, before 200a89c159a7 ("mm/filemap: use xas_try_split() in
	// __filemap_add_folio()", v6.15): a larger shadow is split to the
	// folio's order all at once by xas_split, with the nodes that
	// xas_split_alloc allocated outside the lock for the (shadow, order)
	// pair seen under it, the lock dropped and the pair re-checked.
	// VariantAddFolio61 takes precedence over it.
	VariantAddFolioSplitAlloc
	// VariantTruncateUniformSplit is truncate_inode_partial_folio
	// before 7460b470a131 ("mm/truncate: use folio_split() in truncate
	// operation", v6.15): a large folio that the truncated range covers
	// in part is split uniformly to single pages (split_folio) instead
	// of non-uniformly at the range's ends (folio_split).
	VariantTruncateUniformSplit
	// VariantContigSibling is filemap_get_folios_contig before
	// c225c4f6056b ("mm/filemap: fix filemap_get_folios_contig THP
	// panic", v6.12): a sibling entry that xas_next returns inside a
	// large folio goes to folio_try_get as if it were a folio, a NULL
	// pointer dereference in the kernel, a panic here.
	VariantContigSibling
	// VariantContigNoAdvance is filemap_get_folios_contig before
	// 8ab1b1602396 ("mm: fix filemap_get_folios_contig returning
	// batches of identical folios", v6.15): after taking a folio the
	// walk moves on by one index, not to the folio's end, so a large
	// folio is taken again for each index of it that xas_next visits.
	VariantContigNoAdvance
	// VariantMaxOrderPMD is MAX_PAGECACHE_ORDER before 099d90642a71
	// ("mm/filemap: make MAX_PAGECACHE_ORDER acceptable to xarray",
	// v6.10, with 1f789a45c3f1 and 3390916aca7a): the largest page
	// cache folio has the PMD order, WithMaxOrder's, instead of at most
	// 11, the largest order xas_split_alloc can split. It matters only
	// when that order is above 11: 13, with 64 KiB pages.
	VariantMaxOrderPMD
)

// The race windows that stress runs can widen (see internal/inject).
var (
	injectLookup   = inject.New("filemap.lookup.before-try-get")
	injectAdd61    = inject.New("filemap.add61.after-split-alloc")
	injectAddLock  = inject.New("filemap.add.before-lock")
	injectSplit    = inject.New("filemap.split.between-pieces")
	injectReclaim  = inject.New("filemap.reclaim.before-remove")
	injectTruncate = inject.New("filemap.truncate.before-delete")
)

// AddressSpace is struct address_space: one file's page cache.
//
// The fields that lookups read come first; the counters and the lock that
// every add and delete writes sit on cache lines of their own after them.
type AddressSpace struct {
	m        *folio.Memmap
	id       uint64 // the folio->mapping value of this file's folios
	pages    *xarray.XArray
	size     atomic.Uint64 // file size in pages (i_size >> PAGE_SHIFT)
	variant  Variant
	maxOrder uint

	evictions *atomic.Uint64 // workingset clock shared by the memmap's files

	// Workingset state, guarded by the i_pages lock (workingset.go):
	// wsl is the memmap's shadow-node list, wsUpdate the update
	// callback of the States that change i_pages, shadowNodes the
	// file's nodes on the list by handle, shadows the ledger (the
	// shadow the last eviction stored at each index), and onStale
	// WithShadowCheck's function.
	wsl         *shadowLRU
	wsUpdate    func(xarray.Node)
	shadowNodes map[uint32]*shadowNode
	shadows     map[uint64]xarray.Entry
	onStale     func(StaleShadow)

	livelockAfter time.Duration
	onLivelock    func(index uint64, e xarray.Entry, retries int)

	_       cpu.CacheLinePad
	nrpages atomic.Int64

	// InvalidateLock is mapping->invalidate_lock: truncation and
	// invalidation take it for writing, the read path that adds folios
	// for reading.
	InvalidateLock sync.RWMutex
	_              cpu.CacheLinePad
}

// Option configures an AddressSpace.
type Option func(*AddressSpace)

// WithVariant selects old kernel behaviour (see Variant).
func WithVariant(v Variant) Option { return func(as *AddressSpace) { as.variant |= v } }

// WithXArrayOptions passes options to the i_pages XArray (an RCU domain,
// an XArray variant, fault injection).
func WithXArrayOptions(opts ...xarray.Option) Option {
	return func(as *AddressSpace) { as.pages = xarray.New(0, opts...) }
}

// WithMaxOrder sets the largest order the read path gives a folio
// before the caps (9 by default): PREFERRED_MAX_PAGECACHE_ORDER, which
// is HPAGE_PMD_ORDER, 9 with 4 KiB pages and 13 with 64 KiB pages. The
// file's folios are at most the memmap's MAX_PAGE_ORDER, and at most
// maxXasOrder (MAX_PAGECACHE_ORDER) unless VariantMaxOrderPMD is set.
func WithMaxOrder(o uint) Option { return func(as *AddressSpace) { as.maxOrder = o } }

// maxXasOrder is MAX_XAS_ORDER: the largest order of an entry that
// xas_split_alloc can split to order 0, one level of nodes below it
// (XA_CHUNK_SHIFT * 2 - 1).
const maxXasOrder = 11

// WithLivelockTimeout makes a lookup that has been retrying for longer
// than timeout, and at least livelockRetries times, report the slot it
// is stuck on to fn, and give up with Null, where the kernel would spin
// for ever: a livelock detector for stress runs. Retrying lookups yield
// now and then, as cpu_relax lets the CPU that holds the slot frozen get
// on. The count keeps a starved process from looking livelocked: when the
// whole process gets little CPU (a loaded machine, the race detector), a
// splitter holding a folio frozen may not run for a second, but neither
// does the lookup waiting for it, so it retries far fewer times than a
// real livelock does in that second.
func WithLivelockTimeout(timeout time.Duration, fn func(index uint64, e xarray.Entry, retries int)) Option {
	return func(as *AddressSpace) { as.livelockAfter, as.onLivelock = timeout, fn }
}

// livelockRetries is the fewest retries that WithLivelockTimeout's
// detector calls a livelock. A lookup spinning on a slot that never
// changes retries millions of times a second, and over 100,000 times a
// second under the race detector.
const livelockRetries = 1 << 17

// lookupRetries tracks the retries of one lookup.
type lookupRetries struct {
	n     int
	since time.Time
}

// stuck counts one more retry of a lookup at index, and reports whether
// the lookup must give up.
func (as *AddressSpace) stuck(r *lookupRetries, index uint64, e xarray.Entry) bool {
	r.n++
	if r.n&127 != 0 {
		return false
	}
	runtime.Gosched()
	if as.livelockAfter <= 0 {
		return false
	}
	if r.since.IsZero() {
		r.since = time.Now()
		return false
	}
	if r.n < livelockRetries || time.Since(r.since) < as.livelockAfter {
		return false
	}
	as.onLivelock(index, e, r.n)
	return true
}

// registry finds the AddressSpace of a folio->mapping value, for reclaim.
var registry sync.Map // uint64 -> *AddressSpace

// New returns an empty page cache for a file of size pages in memmap m.
func New(m *folio.Memmap, size uint64, opts ...Option) *AddressSpace {
	as := &AddressSpace{m: m, id: folio.NewMappingID(), maxOrder: 9}
	for _, o := range opts {
		o(as)
	}
	as.maxOrder = min(as.maxOrder, m.MaxPageOrder())
	if as.variant&VariantMaxOrderPMD == 0 {
		as.maxOrder = min(as.maxOrder, maxXasOrder) // MAX_PAGECACHE_ORDER
	}
	if as.pages == nil {
		as.pages = xarray.New(0)
	}
	as.size.Store(size)
	as.evictions = m.EvictionClock()
	as.wsUpdate = as.workingsetUpdateNode
	as.shadowNodes = make(map[uint32]*shadowNode)
	as.joinShadowLRU()
	registry.Store(as.id, as)
	return as
}

// Lookup returns the AddressSpace a folio->mapping value names, or nil.
func Lookup(mapping uint64) *AddressSpace {
	if v, ok := registry.Load(mapping); ok {
		return v.(*AddressSpace)
	}
	return nil
}

// Close truncates the whole file and forgets the AddressSpace.
func (as *AddressSpace) Close() {
	as.TruncateRange(0, ^uint64(0))
	as.Discard()
}

// Discard forgets the AddressSpace without truncating it: it takes the
// file's nodes off the shadow-node list, frees the tree's nodes
// (xa_destroy) and unregisters the file. The folios the tree names are
// left as they are. It is for a harness whose tree a bug may have left
// corrupt; the i_pages lock must be free.
func (as *AddressSpace) Discard() {
	as.pages.Lock()
	as.forgetShadowNodesLocked()
	as.shadows = nil
	as.pages.Unlock()
	as.pages.Destroy()
	as.leaveShadowLRU()
	registry.Delete(as.id)
}

// ID returns the folio->mapping value of this file's folios.
func (as *AddressSpace) ID() uint64 { return as.id }

// Pages returns the i_pages XArray.
func (as *AddressSpace) Pages() *xarray.XArray { return as.pages }

// Memmap returns the memmap the file's folios live in.
func (as *AddressSpace) Memmap() *folio.Memmap { return as.m }

// NrPages returns mapping->nrpages: the pages of the folios cached.
func (as *AddressSpace) NrPages() int64 { return as.nrpages.Load() }

// Size returns the file size in pages.
func (as *AddressSpace) Size() uint64 { return as.size.Load() }

// Check validates the page cache under its lock. It checks the XArray's
// own invariants. Every slot names a live folio of this mapping that
// contains the index, with at least one page-cache reference per page
// and no poison. Every value entry is the shadow that the last eviction
// at its index stored, and no such shadow is missing. Each node is on
// the shadow-node list exactly when workingset_update_node's rule puts
// it there. nrpages equals the pages of the folios present. It returns
// the first problem found.
func (as *AddressSpace) Check() error {
	as.pages.Lock()
	defer as.pages.Unlock()
	if err := as.pages.Check(); err != nil {
		return err
	}
	var pages int64
	var values uint64
	nodes := make(map[uint32]xarray.Node)
	xas := xarray.NewState(as.pages, 0)
	for e := xas.Find(^uint64(0)); e != xarray.Null; e = xas.NextEntry(^uint64(0)) {
		for n := xas.Node(); n.Valid(); n = n.Parent() {
			if _, ok := nodes[n.Handle()]; ok {
				break
			}
			nodes[n.Handle()] = n
		}
		idx := xas.Index()
		if e.IsValue() {
			first, last := entryRange(&xas)
			for i := first; ; i++ {
				if want := as.shadows[i]; want != e {
					return fmt.Errorf("%v", StaleShadow{File: as.id, Index: i, Found: e, Want: want, Path: "check"})
				}
				values++
				if i == last {
					break
				}
			}
			continue
		}
		if !e.IsPointer() {
			return fmt.Errorf("page cache %d: index %#x holds %v", as.id>>2, idx, e)
		}
		f := as.m.FromEntry(e)
		switch {
		case f.Poisoned():
			return fmt.Errorf("page cache %d: index %#x names a freed folio\n%v", as.id>>2, idx, f)
		case f.Mapping() != as.id:
			return fmt.Errorf("page cache %d: index %#x names a folio of another mapping\n%v", as.id>>2, idx, f)
		case !f.Contains(idx):
			return fmt.Errorf("page cache %d: index %#x names a folio that does not contain it\n%v", as.id>>2, idx, f)
		case int64(f.RefCount()) < int64(f.NrPages()) && f.RefCount() != 0:
			return fmt.Errorf("page cache %d: index %#x: folio has fewer references than pages\n%v", as.id>>2, idx, f)
		case xas.GetOrder() != int(f.Order()):
			return fmt.Errorf("page cache %d: index %#x: entry of order %d for a folio of order %d\n%v",
				as.id>>2, idx, xas.GetOrder(), f.Order(), f)
		}
		pages += int64(f.NrPages())
	}
	if n := as.nrpages.Load(); n != pages {
		return fmt.Errorf("page cache %d: nrpages %d but the folios present hold %d pages", as.id>>2, n, pages)
	}
	return as.checkWorkingsetLocked(nodes, values)
}

var errStop = errors.New("stop")

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xabench/xabench/internal/cpu"
	"github.com/xabench/xabench/xarray"
)

// Flag is one page flag (enum pageflags).
type Flag uint

// The page flags the model uses, in the kernel's order where it has one.
const (
	PGLocked Flag = iota
	PGWriteback
	PGReferenced
	PGUptodate
	PGDirty
	PGLRU
	PGHead
	PGWaiters
	PGActive
	PGWorkingset
	PGReclaim
	PGPrivate
	PGUnevictable
	PGMovable // set by the movable-ops tenant (__SetPageMovable)
	PGBuddy   // the page is free in the buddy allocator (PageBuddy)
	PGPoison  // the page was freed and poisoned
	nrFlags
)

var flagNames = [...]string{"locked", "writeback", "referenced", "uptodate", "dirty",
	"lru", "head", "waiters", "active", "workingset", "reclaim", "private",
	"unevictable", "movable", "buddy", "poison"}

func (fl Flag) String() string {
	if fl < nrFlags {
		return flagNames[fl]
	}
	return fmt.Sprintf("flag%d", uint(fl))
}

func bit(fl Flag) uint64 { return 1 << fl }

// checkAtFree are the flags that must be clear when a page is freed
// (PAGE_FLAGS_CHECK_AT_FREE).
const checkAtFree = 1<<PGLocked | 1<<PGWriteback | 1<<PGLRU | 1<<PGActive |
	1<<PGPrivate | 1<<PGUnevictable | 1<<PGBuddy

// FlagsString renders a flags word as dump_page does (%pGp).
func FlagsString(flags uint64) string {
	var names []string
	for fl := Flag(0); fl < nrFlags; fl++ {
		if flags&bit(fl) != 0 {
			names = append(names, fl.String())
		}
	}
	return fmt.Sprintf("%#x(%s)", flags, strings.Join(names, "|"))
}

// Mapping values. A page's mapping word is 0, an address space's id
// (id<<2), the movable-ops marker, or poison. As in the kernel, the low
// bits tag what it is: PAGE_MAPPING_MOVABLE is 2.
const (
	mappingMovableTag = 2
	// MovableOps is the mapping of a page owned by the movable-ops tenant
	// (zsmalloc's movable_ops with PAGE_MAPPING_MOVABLE).
	MovableOps uint64 = 1<<2 | mappingMovableTag
	// Poison is written into the mapping word of every page of a freed
	// block and into the index and private words of its head page
	// (POISON_POINTER_DELTA-style). A page on a per-CPU list keeps its
	// link in private instead, also a poison value (pcpLink).
	Poison uint64 = 0xdead000000000100
)

// The compound half of a page's flags word: a head page keeps its order;
// a tail keeps its head's pfn with tailBit.
const (
	tailBit  = 1 << 31
	orderMax = 10 // MAX_PAGE_ORDER by default (x86-64): the buddy allocator's largest block
	// orderLimit is the largest MAX_PAGE_ORDER a memmap can have (see
	// WithMaxPageOrder): 13, arm64's with 64 KiB pages.
	orderLimit = 13
)

// A page's flags word holds the page flags in its low half and the
// compound word in its high half, as the kernel keeps node, zone and
// section in the top bits of page->flags: a tail page becomes one or
// stops being one with a single store, and a reader sees its flags and
// its head together.
const (
	compoundShift = 32
	flagsMask     = 1<<compoundShift - 1
)

// compoundOf returns the compound half of flags word w.
func compoundOf(w uint64) uint32 { return uint32(w >> compoundShift) }

// withCompound returns the flags word with flags fl and compound word c.
func withCompound(fl uint64, c uint32) uint64 { return fl&flagsMask | uint64(c)<<compoundShift }

// setCompound replaces p's compound word and keeps its flags. The caller
// owns the page (it is being allocated, freed or split).
func (p *page) setCompound(c uint32) { p.flags.Store(withCompound(p.flags.Load(), c)) }

// page is struct page. Every field is read by lockless page-cache readers
// that may hold a stale pfn, so every field is an atomic.
//
// Like the kernel's, it is 64 bytes, and the memmap starts on a cache
// line, so that a page is one cache line: a speculative lookup at a
// random index (folio_try_get, the mapping recheck, folio_put) misses on
// one line, not two.
//
// A free page on a per-CPU list keeps the pfn of the next page of the
// list in its private word (see pcpLink).
type page struct {
	flags    atomic.Uint64 // flags | compound<<compoundShift; compound: head: order; tail: head pfn | tailBit
	refcount atomic.Int32
	mapcount atomic.Int32 // _mapcount: -1 when unmapped
	mapping  atomic.Uint64
	index    atomic.Uint64
	private  atomic.Uint64
	_        [24]byte
}

// pageSize is the size of a struct page, a cache line.
const pageSize = 64

// Memmap is the model's physical memory: a fixed array of pages and the
// allocator over them. Page frame 0 is reserved so that a pfn is never 0
// and a folio's Entry is never Null.
type Memmap struct {
	pages []page    // read by every lookup; the allocator's words start a line pair later
	pcp   []pcpList // read by every order-0 allocation and free; each list is padded
	_     cpu.CacheLinePad
	zone  zone
	wait  [waitTableSize]waitQueue

	faults  atomic.Pointer[Faults]
	badMu   sync.Mutex
	bad     []string // bad_page reports, oldest first, capped
	badN    atomic.Int64
	onBad   func(report string)
	tenants atomic.Int64 // pages held by the movable-ops tenant
	lru     LRU
	evicted atomic.Uint64 // workingset clock: pages evicted so far
}

// EvictionClock returns the memmap's workingset clock, which counts the
// pages evicted from it (the lruvec's nonresident_age).
func (m *Memmap) EvictionClock() *atomic.Uint64 { return &m.evicted }

// DefaultPages is the default size of a Memmap: 1 GiB of 4 KiB pages.
const DefaultPages = 1 << 18

// Option configures a Memmap.
type Option func(*Memmap)

// OnBadPage sets a function called with every bad_page report, in
// addition to counting and keeping it.
func OnBadPage(fn func(report string)) Option { return func(m *Memmap) { m.onBad = fn } }

// WithMaxPageOrder sets MAX_PAGE_ORDER, the order of the largest block
// the buddy allocator hands out: 10 by default, as on x86-64; 13 models
// arm64 with 64 KiB pages, where a PMD maps an order-13 folio. It panics
// outside 0..13.
func WithMaxPageOrder(o uint) Option {
	if o > orderLimit {
		panic(fmt.Sprintf("folio: WithMaxPageOrder(%d): the model's largest is %d", o, orderLimit))
	}
	return func(m *Memmap) { m.zone.maxOrder = int(o) }
}

// NewMemmap returns a memmap of n pages (DefaultPages if n <= 0), all
// free in the buddy allocator except page frame 0.
func NewMemmap(n int, opts ...Option) *Memmap {
	if n <= 0 {
		n = DefaultPages
	}
	if n < 2 || n > 1<<30 {
		panic(fmt.Sprintf("folio: NewMemmap(%d): the model holds 2 to 1<<30 pages", n))
	}
	m := &Memmap{pages: newPages(n)}
	m.zone.maxOrder = orderMax
	for i := range m.wait {
		m.wait[i].cond.L = &m.wait[i].mu
	}
	for _, o := range opts {
		o(m)
	}
	m.pages[0].refcount.Store(1) // reserved
	m.pages[0].mapcount.Store(-1)
	m.initZone()
	return m
}

// Pages returns the number of page frames.
func (m *Memmap) Pages() int { return len(m.pages) }

// MaxPageOrder returns MAX_PAGE_ORDER: the largest order Alloc takes.
func (m *Memmap) MaxPageOrder() uint { return uint(m.zone.maxOrder) }

// mapIDs hands out mapping values; 1 is MovableOps.
var mapIDs atomic.Uint64

func init() { mapIDs.Store(1) }

// NewMappingID returns a fresh mapping value for an address space,
// unique in the process.
func NewMappingID() uint64 { return mapIDs.Add(1) << 2 }

// Folio is a folio: the head page of a block of 1<<order pages, named by
// its memmap and page frame number. The zero Folio is nil.
type Folio struct {
	m   *Memmap
	pfn uint32
}

// Folio returns the folio whose head is page frame pfn. It does not
// check that pfn is a head page: a stale pfn is the point of the model.
func (m *Memmap) Folio(pfn uint32) Folio {
	if int(pfn) >= len(m.pages) || pfn == 0 {
		panic(fmt.Sprintf("folio: pfn %#x outside the memmap (1..%#x)", pfn, len(m.pages)-1))
	}
	return Folio{m, pfn}
}

// PageFolio returns the folio that page frame pfn belongs to now
// (page_folio).
func (m *Memmap) PageFolio(pfn uint32) Folio {
	c := compoundOf(m.pages[pfn].flags.Load())
	if c&tailBit != 0 {
		return Folio{m, c &^ tailBit}
	}
	return Folio{m, pfn}
}

// FromEntry returns the folio that a page-cache pointer entry names,
// exactly as the kernel casts the entry: no check that it is still a
// folio, or still a head page.
func (m *Memmap) FromEntry(e xarray.Entry) Folio {
	if !e.IsPointer() {
		panic(fmt.Sprintf("folio: FromEntry(%v): not a pointer entry", e))
	}
	return m.Folio(uint32(e.Pointer()))
}

// Entry returns the XArray pointer entry for f.
func (f Folio) Entry() xarray.Entry { return xarray.MkPointer(uint64(f.pfn)) }

// IsNil reports whether f is the zero Folio.
func (f Folio) IsNil() bool { return f.m == nil }

// PFN returns the folio's head page frame number.
func (f Folio) PFN() uint32 { return f.pfn }

// Memmap returns the memmap the folio lives in.
func (f Folio) Memmap() *Memmap { return f.m }

func (f Folio) p() *page { return &f.m.pages[f.pfn] }

// Order returns the folio's order (folio_order): 0 for a single page.
func (f Folio) Order() uint {
	w := f.p().flags.Load()
	if w&bit(PGHead) == 0 {
		return 0
	}
	return uint(compoundOf(w) & 0xff)
}

// NrPages returns 1<<Order (folio_nr_pages).
func (f Folio) NrPages() uint64 { return 1 << f.Order() }

// Mapping returns the folio's mapping word (folio->mapping).
func (f Folio) Mapping() uint64 { return f.p().mapping.Load() }

// SetMapping sets folio->mapping.
func (f Folio) SetMapping(mapping uint64) { f.p().mapping.Store(mapping) }

// Index returns the file index of the folio's first page (folio->index).
func (f Folio) Index() uint64 { return f.p().index.Load() }

// SetIndex sets folio->index.
func (f Folio) SetIndex(index uint64) { f.p().index.Store(index) }

// Private returns folio->private.
func (f Folio) Private() uint64 { return f.p().private.Load() }

// SetPrivate sets folio->private.
func (f Folio) SetPrivate(v uint64) { f.p().private.Store(v) }

// Contains reports whether the folio holds file index index
// (folio_contains).
func (f Folio) Contains(index uint64) bool { return index-f.Index() < f.NrPages() }

// Test reports whether flag fl is set (folio_test_*).
func (f Folio) Test(fl Flag) bool { return f.p().flags.Load()&bit(fl) != 0 }

// Set sets flag fl (folio_set_*).
func (f Folio) Set(fl Flag) { f.p().flags.Or(bit(fl)) }

// Clear clears flag fl (folio_clear_*).
func (f Folio) Clear(fl Flag) { f.p().flags.And(^bit(fl)) }

// TestAndSet sets fl and reports whether it was set before.
func (f Folio) TestAndSet(fl Flag) bool { return f.p().flags.Or(bit(fl))&bit(fl) != 0 }

// TestAndClear clears fl and reports whether it was set before.
func (f Folio) TestAndClear(fl Flag) bool { return f.p().flags.And(^bit(fl))&bit(fl) != 0 }

// Flags returns the head page's flags, without the compound half of the
// word.
func (f Folio) Flags() uint64 { return f.p().flags.Load() & flagsMask }

// RefCount returns the reference count (folio_ref_count).
func (f Folio) RefCount() int32 { return f.p().refcount.Load() }

// MapCount returns the number of mappings into page tables
// (folio_mapcount).
func (f Folio) MapCount() int32 { return f.p().mapcount.Load() + 1 }

// Poisoned reports whether the folio's head page was freed and poisoned
// and not allocated since.
func (f Folio) Poisoned() bool { return f.Test(PGPoison) }

// Movable reports whether the page belongs to the movable-ops tenant.
func (f Folio) Movable() bool { return f.Mapping()&3 == mappingMovableTag }

func (f Folio) String() string { return f.m.DumpPage(f.pfn) }

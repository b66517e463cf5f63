// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/xabench/xabench/folio"
	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// checkFolio checks a folio that a page-cache lookup returned for index,
// with a reference held, as its caller relies on it: a folio of this
// file (or one truncated since the lookup, whose mapping is now NULL),
// never a movable-ops page or another file's folio, and one that
// contains index (VM_BUG_ON_FOLIO(!folio_contains(folio, index))). It
// reports a violation and returns false when the check fails.
func (r *run) checkFolio(as *filemap.AddressSpace, index uint64, f folio.Folio, how string) bool {
	var kind string
	switch mp := f.Mapping(); {
	case f.Movable():
		kind = "page cache lookup found a movable_ops page (a stale page-cache entry, as in the 6.1 XFS report)"
	case f.Poisoned():
		kind = "page cache lookup found a freed, poisoned page"
	case mp != as.ID() && mp != 0:
		kind = "page cache lookup found a folio of another mapping"
	case !f.Contains(index):
		kind = "VM_BUG_ON_FOLIO(!folio_contains(folio, index))"
	default:
		return true
	}
	r.report(kind, fmt.Sprintf("%s of index %#x in file %d returned:\n%v\n%s",
		how, index, as.ID()>>2, f, dumpAround(as.Pages(), index)))
	return false
}

// dumpAround dumps the entries near index, the way xa_dump would show
// the node that holds it.
func dumpAround(xa *xarray.XArray, index uint64) string {
	var b strings.Builder
	first := index &^ 63
	fmt.Fprintf(&b, "i_pages entries %#x..%#x:", first, first+63)
	n := 0
	for i, e := range xa.Range(first, first+63) {
		if n%4 == 0 {
			b.WriteString("\n ")
		}
		fmt.Fprintf(&b, " %#x:%v", i, e)
		n++
	}
	return b.String()
}

// goValidator runs check every interval until the run is done, and once
// more at the end; an error is a violation.
func (r *run) goValidator(interval time.Duration, check func() error) {
	r.goWorker(func(*rand.Rand) {
		for !r.done() {
			if err := check(); err != nil {
				r.report("invariant broken: "+firstLine(err.Error()), err.Error())
				return
			}
			time.Sleep(interval)
		}
	})
}

// livelockTimeout is how long a page-cache lookup may retry on one slot
// before the run calls it livelocked. A uniform split of an order-9
// folio keeps it frozen while 511 pieces are stored, each behind an
// injection point that yields; under the race detector, with lookups
// spinning on every CPU, that took over a second (split-no-freeze's
// fixed variant, seed 21), so one second was too short. A real livelock
// lasts for ever.
const livelockTimeout = 10 * time.Second

// fileOptions are the options every file of the run gets: the run's
// variants (Config.Kernel's and Config.FilemapVariant), in the buggy form
// the scenario's variant on top, the run's XArray options for i_pages,
// and the livelock detector.
func (r *run) fileOptions(variant filemap.Variant, extra ...filemap.Option) []filemap.Option {
	opts := []filemap.Option{filemap.WithLivelockTimeout(livelockTimeout, func(index uint64, e xarray.Entry, retries int) {
		r.report(fmt.Sprintf("livelock: a page-cache lookup retried %d times for over %v", retries, livelockTimeout),
			fmt.Sprintf("the lookup of index %#x keeps finding %v, which it cannot take a reference on or which is not there on reload", index, e))
	}), filemap.WithShadowCheck(r.staleShadow)}
	v := r.fmVariant
	if r.buggy() {
		v |= variant
	}
	if v != 0 {
		opts = append(opts, filemap.WithVariant(v))
	}
	opts = append(opts, filemap.WithXArrayOptions(r.xarrayOptions(0)...))
	return append(opts, extra...)
}

// staleShadow reports a shadow entry that a page-cache path met (a
// refault, truncation, the shadow-node shrinker) and that is not the one
// the file's last eviction at its index stored. It runs under the
// file's i_pages lock.
func (r *run) staleShadow(s filemap.StaleShadow) {
	kind := "stale shadow entry"
	if !s.Found.IsValue() {
		kind = "lost shadow entry"
	}
	as := filemap.Lookup(s.File)
	dump := ""
	if as != nil {
		dump = "\n" + dumpAround(as.Pages(), s.Index)
	}
	r.report(fmt.Sprintf("page cache holds a %s (met by %s)", kind, s.Path), s.String()+dump)
}

// newFile builds a file of the run in memmap m.
func (r *run) newFile(m *folio.Memmap, pages uint64, variant filemap.Variant, extra ...filemap.Option) *filemap.AddressSpace {
	as := filemap.New(m, pages, r.fileOptions(variant, extra...)...)
	r.arrays = append(r.arrays, as.Pages())
	return as
}

// memmap returns a memmap of n pages whose bad_page reports are
// violations.
func (r *run) memmap(n int) *folio.Memmap {
	m := folio.NewMemmap(n, folio.OnBadPage(func(report string) {
		r.report("bad_page: "+firstLine(strings.TrimPrefix(report, "BUG: ")), report)
	}))
	r.memmaps = append(r.memmaps, m)
	return m
}

// finalCheck validates each file once the workers have stopped, closes
// it, and checks that closing freed everything without a bad page. After
// a violation the files' trees may be corrupt: they are only destroyed,
// and their folios are left to the garbage collector with the memmap.
func (r *run) finalCheck(files []*filemap.AddressSpace, z *folio.Zsmalloc) {
	if !r.violated() {
		if err := checkFiles(files); err != nil {
			r.report("invariant broken at the end: "+firstLine(err.Error()), err.Error())
		}
	}
	if r.violated() {
		for _, as := range files {
			discardQuietly(as)
		}
		return
	}
	for _, as := range files {
		as.Close()
	}
	if z != nil {
		z.Shrink(z.Len())
	}
}

// destroyQuietly frees a tree's nodes, whatever state a bug left it in;
// the workers are gone, so a held lock belonged to one that died.
func destroyQuietly(xa *xarray.XArray) {
	defer func() { _ = recover() }()
	xa.BreakLock()
	xa.Destroy()
}

// discardQuietly is destroyQuietly for a file: it also takes the file's
// nodes off the shadow-node list and unregisters it (Discard).
func discardQuietly(as *filemap.AddressSpace) {
	defer func() { _ = recover() }()
	as.Pages().BreakLock()
	as.Discard()
}

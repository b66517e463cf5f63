// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"testing"

	"github.com/xabench/xabench/xarray"
)

// cachestatFile is a file of 1024 pages with an order-7 folio at 0 (two
// slots of the top node), single pages at 128..131 and a shadow at 132
// (in the leaf node of the third slot).
func cachestatFile(t *testing.T, e *env, opts ...Option) *AddressSpace {
	t.Helper()
	as := e.file(1024, opts...)
	add(t, as, 7, 0)
	for i := uint64(128); i <= 132; i++ {
		add(t, as, 0, i)
	}
	evict(t, as, 132)
	return as
}

func always() bool { return true }

// filemap_cachestat counts the pages of the range that are cached and
// evicted, a large folio only for its pages in the range; pausing after
// every entry changes nothing when the walk enters the range in the
// first slot of an entry (see TestCachestatPauseInLaterSlot).
func TestCachestat(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := cachestatFile(t, e)
	for _, c := range []struct {
		first, last uint64
		resched     func() bool
		want        Cachestat
	}{
		{0, 1023, nil, Cachestat{NrCache: 132, NrEvicted: 1}},
		{0, 1023, always, Cachestat{NrCache: 132, NrEvicted: 1}},
		{5, 1023, always, Cachestat{NrCache: 127, NrEvicted: 1}},
		{70, 129, nil, Cachestat{NrCache: 60}},
		{133, 1023, always, Cachestat{}},
	} {
		if got := as.Cachestat(c.first, c.last, c.resched); got != c.want {
			t.Errorf("cachestat %d..%d: %+v, want %+v", c.first, c.last, got, c.want)
		}
	}
	e.finish(0)
}

// Before c9ba5249ef8b a pause at the order-7 folio, entered at index 5,
// resumes the walk at 5 + 128, not 128: the pages at 128..131 and the
// shadow at 132 are not counted. Without a pause, or from an aligned
// index, the count is right.
func TestCachestatPauseUnmasked(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := cachestatFile(t, e, WithXArrayOptions(xarray.WithVariant(xarray.VariantPauseUnmasked)))
	if got, want := as.Cachestat(5, 1023, always), (Cachestat{NrCache: 123}); got != want {
		t.Errorf("paused from 5: %+v, want %+v", got, want)
	}
	if got, want := as.Cachestat(5, 1023, nil), (Cachestat{NrCache: 127, NrEvicted: 1}); got != want {
		t.Errorf("unpaused from 5: %+v, want %+v", got, want)
	}
	if got, want := as.Cachestat(0, 1023, always), (Cachestat{NrCache: 132, NrEvicted: 1}); got != want {
		t.Errorf("paused from 0: %+v, want %+v", got, want)
	}
	e.finish(0)
}

// xas_pause as fixed by c9ba5249ef8b, and as mainline has it, still
// resumes too far when the walk entered a multi-slot entry in a later
// slot than its first: the load moved to the entry's first slot, where
// its offset is, while the index stayed in the later slot, and the pause
// adds the slots it skips to that index. From 70, in the second slot of
// the order-7 folio, the walk resumes at 192, not 128. The model runs
// the kernel's code; pause-unaligned-index keeps to the first slot.
func TestCachestatPauseInLaterSlot(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := cachestatFile(t, e)
	if got, want := as.Cachestat(70, 1023, always), (Cachestat{NrCache: 58}); got != want {
		t.Errorf("paused from 70: %+v, want %+v (the kernel's undercount)", got, want)
	}
	if got, want := as.Cachestat(70, 1023, nil), (Cachestat{NrCache: 62, NrEvicted: 1}); got != want {
		t.Errorf("unpaused from 70: %+v, want %+v", got, want)
	}
	e.finish(0)
}

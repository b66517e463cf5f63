// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"strings"
	"testing"

	"github.com/xabench/xabench/folio"
)

// contigFile is a file of 1024 pages holding an order-9 folio at 0, an
// order-2 folio at 512 and single pages at 516 and 517; 518 is a hole.
func contigFile(t *testing.T, e *env, opts ...Option) (as *AddressSpace, big, small, p516, p517 folio.Folio) {
	t.Helper()
	as = e.file(1024, opts...)
	big = add(t, as, 9, 0)
	small = add(t, as, 2, 512)
	p516 = add(t, as, 0, 516)
	p517 = add(t, as, 0, 517)
	return
}

// contig runs GetFoliosContig from start and returns the batch, with the
// references it took dropped, and where start ended.
func contig(as *AddressSpace, start, end uint64, n int) ([]folio.Folio, uint64) {
	b := as.GetFoliosContig(&start, end, make([]folio.Folio, 0, n))
	putAll(b)
	return b, start
}

func sameFolios(got []folio.Folio, want ...folio.Folio) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// repeat returns n copies of f.
func repeat(f folio.Folio, n int) []folio.Folio {
	out := make([]folio.Folio, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// filemap_get_folios_contig as in mainline: each folio once, the first
// one holding start even when start is in its middle, up to a hole, a
// shadow, end or a full batch; start ends after the last folio.
func TestGetFoliosContig(t *testing.T) {
	e := newEnv(t, 1<<12)
	as, big, small, p516, p517 := contigFile(t, e)
	for _, c := range []struct {
		start, end uint64
		n          int
		want       []folio.Folio
		next       uint64
	}{
		{0, 1023, 15, []folio.Folio{big, small, p516, p517}, 518},
		{300, 1023, 15, []folio.Folio{big, small, p516, p517}, 518}, // in the middle of the order-9 folio
		{514, 1023, 15, []folio.Folio{small, p516, p517}, 518},      // in the middle of the order-2 folio
		{0, 515, 15, []folio.Folio{big, small}, 516},
		{0, 1023, 2, []folio.Folio{big, small}, 516}, // the batch is full
		{518, 1023, 15, nil, 518},                    // a hole
	} {
		got, next := contig(as, c.start, c.end, c.n)
		if !sameFolios(got, c.want...) || next != c.next {
			t.Errorf("from %d to %d, batch of %d: %v, start %d; want %v, start %d", c.start, c.end, c.n, got, next, c.want, c.next)
		}
	}
	evict(t, as, 517)
	if got, next := contig(as, 0, 1023, 15); !sameFolios(got, big, small, p516) || next != 517 {
		t.Errorf("up to a shadow: %v, start %d", got, next)
	}
	e.finish(0)
}

// Before 8ab1b1602396 the walk steps one index at a time: a large folio
// comes back once per index visited, until the batch is full or the step
// reaches another slot of the folio, which is a sibling; there the fixed
// walk (c225c4f6056b) stops. A walk that starts in a later slot of the
// folio is on its canonical slot after the load, so its first step
// reaches the next slot.
func TestGetFoliosContigNoAdvance(t *testing.T) {
	e := newEnv(t, 1<<12)
	as, big, small, _, _ := contigFile(t, e, WithVariant(VariantContigNoAdvance))
	for _, c := range []struct {
		start uint64
		want  []folio.Folio
		next  uint64
	}{
		{0, repeat(big, 31), 512},      // 31 indices of the order-9 folio's first slot
		{40, repeat(big, 24), 512},     // 40..63, then the sibling slot at 64
		{300, []folio.Folio{big}, 512}, // from the slot of 256..319, the next is a sibling
		{512, []folio.Folio{small}, 516},
	} {
		if got, next := contig(as, c.start, 1023, 31); !sameFolios(got, c.want...) || next != c.next {
			t.Errorf("from %d: %d folios %v, start %d; want %d, start %d", c.start, len(got), got, next, len(c.want), c.next)
		}
	}
	e.finish(0)
}

// Before c225c4f6056b the sibling entry goes to folio_try_get: the walk
// oopses on the slot after an order-2 folio, and on the next slot of an
// order-9 folio unless it starts early enough in the folio's first slot
// to fill the batch first.
func TestGetFoliosContigSiblingOops(t *testing.T) {
	e := newEnv(t, 1<<12)
	as, big, small, _, _ := contigFile(t, e, WithVariant(VariantContigSibling|VariantContigNoAdvance))
	for _, c := range []struct {
		start uint64
		taken folio.Folio
		refs  int
	}{
		{512, small, 1}, // 513 is a sibling
		{40, big, 24},   // 40..63, then the sibling slot at 64
		{300, big, 1},   // the step after the load reaches slot 1, a sibling
	} {
		msg := oops(t, func() {
			start := c.start
			as.GetFoliosContig(&start, 1023, make([]folio.Folio, 0, 31))
		})
		if !strings.Contains(msg, "NULL pointer dereference") || !strings.Contains(msg, "filemap_get_folios_contig") {
			t.Errorf("from %d: %s", c.start, msg)
		}
		// The batch died with the walk: drop the references it held.
		c.taken.PutRefs(int32(c.refs))
	}
	// A start at the first index of a PMD-sized folio fills the batch
	// before the walk leaves the folio's first slot.
	if got, next := contig(as, 0, 1023, 31); !sameFolios(got, repeat(big, 31)...) || next != 512 {
		t.Errorf("from 0: %d folios, start %d", len(got), next)
	}
	e.finish(0)
}

// oops runs fn, which must oops with a *NullDeref, and returns the
// oops message.
func oops(t *testing.T, fn func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no oops")
		}
		o, ok := r.(*NullDeref)
		if !ok {
			panic(r)
		}
		msg = o.Error()
	}()
	fn()
	return ""
}

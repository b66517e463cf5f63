// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"slices"
	"testing"

	"github.com/xabench/xabench/folio"
)

// The two forms of the split in truncate_inode_partial_folio, for a
// large folio that the truncated range covers in part. v6.15's
// (7460b470a131, the default) splits the folio non-uniformly
// (folio_split) at the first page of the range in it and, if the range
// ends inside it, at the page after the range: the pieces are as large
// as the buddy allocator's would be. The form of v6.1 to v6.14
// (VariantTruncateUniformSplit) splits it uniformly to single pages
// (split_folio).
var truncateForms = []struct {
	name    string
	variant Variant
}{
	{"v6.15", 0},
	{"v6.14", VariantTruncateUniformSplit},
}

// piece is a cached folio, by its index and order.
type piece struct {
	index uint64
	order uint
}

// cachedFolios returns the folios cached in [first, last], in index order.
func cachedFolios(as *AddressSpace, first, last uint64) []piece {
	var out []piece
	for i := first; i <= last; {
		f := at(as, i)
		if f.IsNil() {
			i++
			continue
		}
		out = append(out, piece{f.Index(), f.Order()})
		i = f.Index() + f.NrPages()
	}
	return out
}

// singles returns order-0 pieces for every index of the ranges, each
// given as first, last.
func singles(ranges ...uint64) []piece {
	var out []piece
	for r := 0; r < len(ranges); r += 2 {
		for i := ranges[r]; i <= ranges[r+1]; i++ {
			out = append(out, piece{i, 0})
		}
	}
	return out
}

// Truncating part of order-9 folios leaves, under v6.15, the fewest
// folios that make the truncated range whole folios; under v6.14, single
// pages wherever a split folio was. Each case lists, per form, the
// folios left in the file's first 1024 pages.
func TestTruncateSplitForms(t *testing.T) {
	for _, c := range []struct {
		name       string
		start, end uint64
		want       [2][]piece // per form, as truncateForms lists them
	}{{
		// Two splits of the folio at 0: at 100, then the piece that
		// holds 201 at 201.
		name: "inside a folio", start: 100, end: 200,
		want: [2][]piece{
			{{0, 6}, {64, 5}, {96, 2}, {201, 0}, {202, 1}, {204, 2}, {208, 4}, {224, 5}, {256, 8}, {512, 9}},
			append(singles(0, 99, 201, 511), piece{512, 9}),
		},
	}, {
		// The range runs to the end of the folio at 0: one split.
		name: "to the end of a folio", start: 300, end: 511,
		want: [2][]piece{
			{{0, 8}, {256, 5}, {288, 3}, {296, 2}, {512, 9}},
			append(singles(0, 299), piece{512, 9}),
		},
	}, {
		// Both folios in part: the one at 0 is split at 400 and
		// the range runs to its end; the one at 512 is split at its
		// first page, where the range starts in it, then at 601.
		name: "across two folios", start: 400, end: 600,
		want: [2][]piece{
			{{0, 8}, {256, 7}, {384, 4}, {601, 0}, {602, 1}, {604, 2}, {608, 5}, {640, 7}, {768, 8}},
			singles(0, 399, 601, 1023),
		},
	}} {
		for i, form := range truncateForms {
			e := newEnv(t, 1<<12)
			as := e.file(1<<11, WithVariant(form.variant))
			add(t, as, 9, 0)
			add(t, as, 9, 512)
			as.TruncateRange(c.start, c.end)
			check(t, as)
			got := cachedFolios(as, 0, 1023)
			if !slices.Equal(got, c.want[i]) {
				t.Fatalf("%s: %s: truncating [%d, %d] left %v, want %v", form.name, c.name, c.start, c.end, got, c.want[i])
			}
			if want := int64(1024 - (c.end - c.start + 1)); as.NrPages() != want {
				t.Fatalf("%s: %s: nrpages %d, want %d", form.name, c.name, as.NrPages(), want)
			}
			e.finish(0)
		}
	}
}

// When the range runs to the end of the folio there is no page after it
// in the folio, and v6.15 makes no second split (66f28ffb38cc, which
// v6.15 has; 7460b470a131 alone looked at the page after the folio's
// last). Here that page is the head of another large folio of the same
// file, which stays whole.
func TestTruncateToFolioEndSplitsNothingElse(t *testing.T) {
	e := newEnv(t, 1<<12)
	as := e.file(1 << 11)
	// Two order-9 folios side by side in memory.
	var fs []folio.Folio
	var lo, hi folio.Folio
	for range 8 {
		f := alloc(t, e.m, 9)
		fs = append(fs, f)
		for _, g := range fs {
			switch g.PFN() {
			case f.PFN() + 512:
				lo, hi = f, g
			case f.PFN() - 512:
				lo, hi = g, f
			}
		}
		if !lo.IsNil() {
			break
		}
	}
	if lo.IsNil() {
		t.Fatal("no two order-9 folios side by side in memory")
	}
	for _, f := range fs {
		if f != lo && f != hi {
			f.Put()
		}
	}
	// The lower one at 512, so that its next page is the head of the
	// folio at 0.
	for _, c := range []struct {
		f     folio.Folio
		index uint64
	}{{hi, 0}, {lo, 512}} {
		c.f.Lock()
		c.f.Set(folio.PGUptodate)
		if _, err := as.AddFolio(c.f, c.index); err != nil {
			t.Fatal(err)
		}
		c.f.Unlock()
		c.f.Put()
	}
	as.TruncateRange(700, 1023)
	check(t, as)
	want := []piece{{0, 9}, {512, 7}, {640, 5}, {672, 4}, {688, 3}, {696, 2}}
	if got := cachedFolios(as, 0, 1023); !slices.Equal(got, want) {
		t.Fatalf("truncating [700, 1023] left %v, want %v", got, want)
	}
	e.finish(0)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"errors"
	"testing"

	"github.com/xabench/xabench/folio"
)

// With 64 KiB pages (a PMD maps order 13, and so does MAX_PAGE_ORDER),
// a read of a whole aligned 8192-page range makes one folio of order 11,
// MAX_PAGECACHE_ORDER since 099d90642a71, which split_huge_page splits
// to single pages; before the fix (VariantMaxOrderPMD) it makes an
// order-13 folio, and xas_split_alloc refuses to split it: -ENOMEM.
func TestMaxOrder64K(t *testing.T) {
	e := newEnv(t, 1<<16, folio.WithMaxPageOrder(13))
	for _, c := range []struct {
		variant Variant
		order   uint
		split   error
	}{
		{0, 11, nil},
		{VariantMaxOrderPMD, 13, ErrNoMemory},
	} {
		as := e.file(1<<13, WithMaxOrder(13), WithVariant(c.variant))
		read(t, as, 0, 1<<13)
		f := as.GetFolio(100, true)
		if f.Order() != c.order || f.Index() != 0 {
			t.Fatalf("variant %#x: the read made %v, want an order-%d folio at 0", c.variant, f, c.order)
		}
		if err := as.Split(f, 0); !errors.Is(err, c.split) || (c.split == nil) != (err == nil) {
			t.Errorf("variant %#x: split_huge_page of the order-%d folio: %v, want %v", c.variant, c.order, err, c.split)
		}
		f.Unlock()
		f.Put()
		check(t, as)
	}
	e.finish(0)
}

// With 4 KiB pages the order is 9 with or without the fix: WithMaxOrder
// gives the PMD order, the memmap's MAX_PAGE_ORDER (10) caps it too.
func TestMaxOrderCaps(t *testing.T) {
	e := newEnv(t, 1<<13)
	for _, c := range []struct {
		opts []Option
		want uint
	}{
		{nil, 9},
		{[]Option{WithVariant(VariantMaxOrderPMD)}, 9},
		{[]Option{WithMaxOrder(13), WithVariant(VariantMaxOrderPMD)}, 10},
		{[]Option{WithMaxOrder(2)}, 2},
	} {
		as := e.file(1<<11, c.opts...)
		read(t, as, 0, 1<<11)
		if f := at(as, 0); f.Order() != c.want {
			t.Errorf("%d options: order %d at 0, want %d", len(c.opts), f.Order(), c.want)
		}
	}
	e.finish(0)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"errors"
	"testing"
)

// With MAX_PAGE_ORDER 13 (arm64 with 64 KiB pages) the buddy allocator
// builds, hands out and merges back order-13 blocks; by default it
// refuses any order above 10.
func TestMaxPageOrder(t *testing.T) {
	if _, err := NewMemmap(4 << 10).Alloc(11); err == nil || errors.Is(err, ErrNoMemory) {
		t.Fatalf("default memmap: Alloc(11) gave %v, want an invalid-order error", err)
	}
	m := NewMemmap(4<<13, WithMaxPageOrder(13))
	if m.MaxPageOrder() != 13 {
		t.Fatalf("MaxPageOrder %d, want 13", m.MaxPageOrder())
	}
	blocks := m.FreeBlocks()
	if blocks[13] != 3 { // pfn 0 is reserved: its block is broken up
		t.Fatalf("FreeBlocks %v: want 3 order-13 blocks", blocks)
	}
	f, err := m.Alloc(13)
	if err != nil {
		t.Fatal(err)
	}
	if f.Order() != 13 || f.NrPages() != 1<<13 || f.PFN()&(1<<13-1) != 0 {
		t.Fatalf("Alloc(13) gave %v", f)
	}
	if _, err := m.Alloc(14); err == nil || errors.Is(err, ErrNoMemory) {
		t.Fatalf("Alloc(14) gave %v, want an invalid-order error", err)
	}
	f.Put()
	m.DrainPCP()
	if got := m.FreeBlocks(); got != blocks {
		t.Fatalf("after the free: FreeBlocks %v, want %v", got, blocks)
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import "unsafe"

// A page is exactly a cache line (see page).
var (
	_ [pageSize - unsafe.Sizeof(page{})]byte
	_ [unsafe.Sizeof(page{}) - pageSize]byte
)

// newPages returns n zeroed pages that start on a cache line, in memory
// advised for transparent huge pages, as the kernel's memmap lies in the
// direct map: a lookup at a random index touches one struct page among
// many, and with 4 KiB pages it would miss the TLB as well as the cache.
// A page holds no Go pointers, so the pages may live in a byte buffer.
func newPages(n int) []page {
	buf := make([]byte, n*pageSize+pageSize)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))) & (pageSize - 1)
	pages := unsafe.Slice((*page)(unsafe.Pointer(&buf[off])), n)
	adviseHuge(pages)
	return pages
}

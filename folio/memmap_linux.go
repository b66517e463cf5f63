// SPDX-License-Identifier: GPL-2.0-or-later

package folio

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks for transparent huge pages under pages (MADV_HUGEPAGE).
// A fresh large allocation is not yet backed, so the advice applies from
// the first touch. It is only a hint: errors are ignored.
func adviseHuge(pages []page) {
	const hugeSize = 2 << 20
	if len(pages)*pageSize < hugeSize {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pages))), len(pages)*pageSize)
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE
}

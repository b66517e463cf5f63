// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"syscall"
	"unsafe"
)

// Ask for transparent huge pages under the node cache: a lookup touches
// one node per level, scattered over the cache, and with 4 KiB pages
// most of those touches would also miss the TLB. Pages are still backed
// only when first touched. The advice is only a hint: errors are ignored.
func init() {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&nodes[0])), unsafe.Sizeof(*nodes))
	_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"fmt"
	"syscall"
	"unsafe"
)

// maxNodes bounds the node cache: 64M nodes, 34 GiB of address space.
// A sparse array needs about a node per entry, so this is what lets an
// XArray hold tens of millions of scattered entries; only the nodes in
// use cost memory.
const maxNodes = 1 << 26

// reserveNodes maps the node cache outside the Go heap: anonymous memory
// that is not charged against the commit limit (MAP_NORESERVE), so that
// reserving it costs nothing until nodes are used, and advised for
// transparent huge pages (a lookup touches one node per level, scattered
// over the cache; with 4 KiB pages most touches would also miss the
// TLB). Where the system refuses that much address space it tries half
// as much, down to minNodes. Nodes hold no Go pointers, so the garbage
// collector need not see them.
func reserveNodes() (*[maxNodes]node, uint32) {
	const minNodes = 1 << 16
	for n := maxNodes; n >= minNodes; n /= 2 {
		b, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(node{})), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err != nil {
			continue
		}
		_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE; only a hint
		return (*[maxNodes]node)(unsafe.Pointer(unsafe.SliceData(b))), uint32(n)
	}
	panic(fmt.Sprintf("xarray: cannot map a node cache of %d nodes", minNodes))
}

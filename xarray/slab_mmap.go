// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux && !race && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package xarray

import (
	"syscall"
	"unsafe"
)

// maxNodes bounds the node cache: 64M nodes, 34 GiB of address space.
// A sparse array needs about a node per entry, so this is what lets an
// XArray hold tens of millions of scattered entries; only the nodes in
// use cost memory.
const maxNodes = 1 << 26

// minNodes is the smallest reservation worth having.
const minNodes = 1 << 16

// slab is the node cache's memory, outside the Go heap; nil until the
// first node is allocated. It is written once, under the cache's lock,
// before any handle is handed out, and a reader only indexes it with a
// handle it loaded from a published entry, so the store that published
// the entry orders the write of slab before the reader's load of it.
var slab *[maxNodes]node

// nodeAt returns node h: one load from the handle.
func nodeAt(h uint32) *node { return &slab[h] }

// toNode is xa_to_node: one load away from the entry.
func toNode(e Entry) *node { return &slab[e>>2] }

// growSlab reserves the slab on first use (limit is then firstHandle);
// afterwards it is full and returns limit unchanged.
func growSlab(limit uint32) (uint32, error) {
	if slab != nil {
		return limit, nil
	}
	s, n, err := reserveNodes(mmapAnon)
	if err != nil {
		return limit, err
	}
	slab = s
	return uint32(n), nil
}

// slabCapacity is the handle past the last the slab can back: the
// reservation once made, the most that will be asked for before. Called
// with the cache's lock held.
func slabCapacity(limit uint32) uint32 {
	if slab == nil {
		return maxNodes
	}
	return limit
}

// mmapAnon maps size bytes of anonymous memory that is not charged
// against the commit limit (MAP_NORESERVE), so reserving it costs
// nothing until nodes are used.
func mmapAnon(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
}

// reserveNodes maps the node cache outside the Go heap with mmap, for
// maxNodes nodes or, where the system refuses that much address space,
// half as many, down to minNodes; it fails with a *NodeCacheError if
// even that is refused. The memory is advised for transparent huge
// pages: a lookup touches one node per level, scattered over the cache,
// and with 4 KiB pages most touches would also miss the TLB. Nodes hold
// no Go pointers, so the garbage collector need not see them; the race
// detector cannot see them either, which is why the race build uses
// slab_heap.go instead.
func reserveNodes(mmap func(size int) ([]byte, error)) (*[maxNodes]node, int, error) {
	var first error
	for n := maxNodes; n >= minNodes; n /= 2 {
		b, err := mmap(n * int(unsafe.Sizeof(node{})))
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		_ = syscall.Madvise(b, 14) // MADV_HUGEPAGE; only a hint
		return (*[maxNodes]node)(unsafe.Pointer(unsafe.SliceData(b))), n, nil
	}
	return nil, 0, &NodeCacheError{Nodes: minNodes, Err: first}
}

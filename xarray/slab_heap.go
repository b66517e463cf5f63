// SPDX-License-Identifier: GPL-2.0-or-later

//go:build race || !linux || !(amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package xarray

// This slab lives on the Go heap, in chunks allocated as the node cache
// needs them. The race build uses it because the race detector sees no
// memory outside the heap: with nodes in a mapping of their own, a plain
// write racing with a walk would go unreported (TestRaceDetectorSeesNodes
// keeps that from coming back). Other systems, and 32-bit ones, use it
// because they have no cheap reservation of tens of GiB.

// chunkNodesShift sizes a chunk: 4096 nodes, 2.2 MiB.
const chunkNodesShift = 12

// maxNodes bounds the node cache: 64M nodes on 64-bit systems, 1M (552
// MiB) on 32-bit ones.
const maxNodes = 1 << (20 + 6*(^uintptr(0)>>63))

// chunks holds the slab. A chunk pointer is written once, under the
// cache's lock, before any handle in it is handed out; a reader only
// indexes chunks with a handle it loaded from a published entry, and the
// atomic store that published the entry orders the chunk's write before
// the reader's load, so the pointers need no atomics (the race detector
// checks this argument on every run).
var chunks [maxNodes >> chunkNodesShift]*[1 << chunkNodesShift]node

// nodeAt returns node h.
func nodeAt(h uint32) *node { return &chunks[h>>chunkNodesShift][h&(1<<chunkNodesShift-1)] }

// toNode is xa_to_node.
func toNode(e Entry) *node { return nodeAt(uint32(e >> 2)) }

// slabCapacity is the handle past the last the slab can back.
func slabCapacity(uint32) uint32 { return maxNodes }

// growSlab adds the chunk that holds handle limit and returns the first
// handle past it; at maxNodes it returns limit unchanged.
func growSlab(limit uint32) (uint32, error) {
	c := limit >> chunkNodesShift
	if int(c) >= len(chunks) {
		return limit, nil
	}
	if chunks[c] == nil {
		chunks[c] = new([1 << chunkNodesShift]node)
	}
	return (c + 1) << chunkNodesShift, nil
}

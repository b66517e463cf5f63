// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux && !race && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package xarray

import (
	"errors"
	"syscall"
	"testing"
	"unsafe"
)

// The reservation halves its size until the system grants one, and
// fails with a NodeCacheError naming the system's answer when even the
// smallest is refused.
func TestReserveNodesHalves(t *testing.T) {
	nodeSize := int(unsafe.Sizeof(node{}))
	var tried []int
	refuseAbove := func(limit int) func(int) ([]byte, error) {
		return func(size int) ([]byte, error) {
			tried = append(tried, size/nodeSize)
			if size > limit*nodeSize {
				return nil, syscall.ENOMEM
			}
			return mmapAnon(size)
		}
	}
	s, n, err := reserveNodes(refuseAbove(maxNodes / 8))
	if err != nil || s == nil || n != maxNodes/8 {
		t.Fatalf("reserveNodes = %p, %d, %v; want %d nodes", s, n, err, maxNodes/8)
	}
	if len(tried) != 4 || tried[0] != maxNodes {
		t.Errorf("tried %v nodes, want maxNodes and three halvings", tried)
	}
	syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(s)), n*nodeSize))

	tried = nil
	_, _, err = reserveNodes(refuseAbove(minNodes / 2))
	var nce *NodeCacheError
	if !errors.As(err, &nce) || nce.Nodes != minNodes || !errors.Is(err, syscall.ENOMEM) || !errors.Is(err, ErrNoMemory) {
		t.Fatalf("reserveNodes with every size refused: %v", err)
	}
	if tried[len(tried)-1] != minNodes {
		t.Errorf("last size tried %d nodes, want %d", tried[len(tried)-1], minNodes)
	}
	t.Log(err)
}

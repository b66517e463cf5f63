// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"testing"
	"unsafe"
)

// Every write takes the array's lock and every lockless Load reads head:
// the two must not share a cache line, or one writer makes every reader
// miss (BenchmarkLoadWithWriter). Neither may the lock share a line with
// the head of the next object in memory.
func TestLayoutLockApartFromReaders(t *testing.T) {
	const line = 64
	var xa XArray
	readEnd := unsafe.Offsetof(xa.faults) + unsafe.Sizeof(xa.faults)
	if unsafe.Offsetof(xa.head) >= readEnd || unsafe.Offsetof(xa.flags) >= readEnd {
		t.Fatalf("head and flags are not in the group before faults")
	}
	if gap := int(unsafe.Offsetof(xa.mu)) - int(readEnd); gap < line {
		t.Errorf("lock is %d bytes after the fields readers load, want >= %d", gap, line)
	}
	writeEnd := unsafe.Offsetof(xa.pending) + unsafe.Sizeof(xa.pending)
	if tail := unsafe.Sizeof(xa) - writeEnd; tail < line {
		t.Errorf("lock group is %d bytes before the end of the XArray, want >= %d", tail, line)
	}
}

// The node cache's counters and lock change on every allocation and free;
// nodes, the slab every walk indexes, must not sit on their cache line.
func TestLayoutNodeCachePadded(t *testing.T) {
	const line = 64
	if off := unsafe.Offsetof(cache.mu); off < line {
		t.Errorf("node cache lock at offset %d, want >= %d", off, line)
	}
	end := unsafe.Offsetof(cache.waiting) + unsafe.Sizeof(cache.waiting)
	if tail := unsafe.Sizeof(cache) - end; tail < line {
		t.Errorf("node cache counters %d bytes before its end, want >= %d", tail, line)
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

// Package cpu tells which P (the Go scheduler's CPU) the caller runs on,
// for per-CPU striping as the kernel's this_cpu_ptr does, and pads
// structures so that words written by one CPU do not share a cache line
// with words that every CPU reads. The P id can be stale as soon as it is
// returned: use it to pick a stripe, never to own one.
package cpu

import _ "unsafe" // for go:linkname

// runtime_procPin disables preemption and returns the current P's id. The
// runtime keeps it reachable by linkname for widely used packages (see
// go.dev/issue/67401).
//
//go:linkname runtime_procPin runtime.procPin
func runtime_procPin() int

//go:linkname runtime_procUnpin runtime.procUnpin
func runtime_procUnpin()

// ID returns the id of the P the caller runs on, in [0, GOMAXPROCS).
func ID() int {
	id := runtime_procPin()
	runtime_procUnpin()
	return id
}

// Pin disables preemption of the calling goroutine and returns the id of
// its P, in [0, GOMAXPROCS), as the kernel's get_cpu does. Until Unpin,
// no other goroutine runs on that P, so a word that only goroutines
// pinned to the P write may be updated there with plain loads and stores.
// Keep the pinned stretch to a few instructions: no calls that block,
// allocate or take locks.
func Pin() int { return runtime_procPin() }

// Unpin ends what Pin began (put_cpu).
func Unpin() { runtime_procUnpin() }

// CacheLineSize is the padding unit: 128 bytes covers the 64-byte lines of
// x86 together with its adjacent-line prefetcher, and the 128-byte lines
// of some arm64 parts.
const CacheLineSize = 128

// CacheLinePad is a field that keeps the fields before it and the fields
// after it on different cache lines (____cacheline_aligned_in_smp, in
// spirit), so that a writer storing to one group does not take the line
// from readers loading the other.
type CacheLinePad struct{ _ [CacheLineSize]byte }

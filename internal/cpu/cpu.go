// SPDX-License-Identifier: GPL-2.0-or-later

// Package cpu tells which P (the Go scheduler's CPU) the caller runs on,
// for per-CPU striping as the kernel's this_cpu_ptr does. The answer can
// be stale as soon as it is returned: use it to pick a stripe, never to
// own one.
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

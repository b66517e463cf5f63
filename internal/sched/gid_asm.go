// SPDX-License-Identifier: GPL-2.0-or-later

//go:build amd64 || arm64

package sched

// gid returns an identity of the calling goroutine: the address of its
// runtime g, read from where the runtime keeps it (the TLS slot on amd64,
// register g on arm64), as github.com/petermattis/goid does. It is
// unique among live goroutines, which is all Current needs: every
// goroutine of a run lives until the run ends. Reading it costs a
// nanosecond where parsing runtime.Stack costs a stack walk.
func gid() uintptr

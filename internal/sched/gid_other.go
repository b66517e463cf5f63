// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !amd64 && !arm64

package sched

import "runtime"

// gid returns the calling goroutine's id, read from the first line of
// its stack trace ("goroutine 17 [running]:"): the portable way, which
// costs a stack walk per call (see gid_asm.go for the fast one).
func gid() uintptr {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = len("goroutine ")
	var id uintptr
	for _, c := range buf[min(prefix, n):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uintptr(c-'0')
	}
	return id
}

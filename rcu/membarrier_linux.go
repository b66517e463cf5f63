// SPDX-License-Identifier: GPL-2.0-or-later

//go:build linux && !race

package rcu

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The membarrier(2) commands the membarrier read side uses (linux/membarrier.h).
const (
	membarrierCmdQuery                    = 0
	membarrierCmdPrivateExpedited         = 1 << 3
	membarrierCmdRegisterPrivateExpedited = 1 << 4
)

// membarrierReady registers the process for private expedited membarrier,
// once, and reports whether the kernel accepted it. Where it refuses (a
// kernel before 4.14, a seccomp filter, an emulator), Domains use the
// locked read side.
var membarrierReady = sync.OnceValue(func() bool {
	mask, _, errno := syscall.RawSyscall(unix.SYS_MEMBARRIER, membarrierCmdQuery, 0, 0)
	if errno != 0 || mask&membarrierCmdPrivateExpedited == 0 {
		return false
	}
	_, _, errno = syscall.RawSyscall(unix.SYS_MEMBARRIER, membarrierCmdRegisterPrivateExpedited, 0, 0)
	if errno != 0 {
		return false
	}
	// A registered process can still be refused by a filter on the
	// command itself: try it once.
	_, _, errno = syscall.Syscall(unix.SYS_MEMBARRIER, membarrierCmdPrivateExpedited, 0, 0)
	return errno == 0
})

// membarrier makes every CPU that runs a thread of this process execute a
// full memory barrier before it returns (and is one itself).
func membarrier() {
	if _, _, errno := syscall.Syscall(unix.SYS_MEMBARRIER, membarrierCmdPrivateExpedited, 0, 0); errno != 0 {
		panic(fmt.Sprintf("rcu: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after registration: %v", errno))
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux || race

package rcu

// membarrierReady reports false: without membarrier(2), and under the race
// detector, which cannot see the plain stores of the membarrier read side
// as the synchronisation they are, every Domain uses the locked read side.
func membarrierReady() bool { return false }

func membarrier() { panic("rcu: membarrier used where it is not available") }

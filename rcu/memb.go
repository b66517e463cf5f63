// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import (
	"sync/atomic"
	"unsafe"

	"github.com/xabench/xabench/internal/cpu"
)

// The membarrier read side: per-P lock and unlock counts, as SRCU keeps
// per-CPU srcu_lock_count and srcu_unlock_count, bumped with plain loads
// and stores while the reader is pinned to its P, and a grace period that
// uses membarrier(2) where SRCU's readers would execute smp_mb. See the
// package documentation for why it is sound.

// cpuCounts holds the read-side counts of one P, by phase. Only a
// goroutine pinned to that P (cpu.Pin) writes them, with plain stores;
// grace periods read them with atomic loads. It fills its own cache lines.
type cpuCounts struct {
	lock   [2]uintptr
	unlock [2]uintptr
	_      [cpu.CacheLineSize - 4*unsafe.Sizeof(uintptr(0))]byte
}

// spillCounts takes the sections of Ps whose id is past the Domain's
// cpuCounts (GOMAXPROCS raised after NewDomain). Any P may write them, so
// they are updated with locked atomic adds.
type spillCounts struct {
	lock   [2]atomic.Uintptr
	unlock [2]atomic.Uintptr
	_      [cpu.CacheLineSize - 4*unsafe.Sizeof(uintptr(0))]byte
}

// ReadLock and ReadUnlock (reader.go) hold the membarrier read side's
// reader code: a Token of this side is phase<<1 | 1.

// membIdle reports whether no read-side section counted on phase idx is
// in progress (srcu_readers_active_idx_check). It sums the unlocks, forces
// a full barrier on every CPU that runs one of the process's threads, then
// sums the locks: every unlock counted in the first sum then has its lock
// counted in the second, so equal sums mean that every section that
// counted a lock by the time of the barrier has ended.
//
// More unlocks than locks can only come from a ReadUnlock without its
// ReadLock. membIdle then adds the excess to the locks, so that later grace
// periods balance again, and panics.
func (d *Domain) membIdle(idx uint32) bool {
	var unlocks, locks uintptr
	for i := range d.cpus {
		unlocks += atomic.LoadUintptr(&d.cpus[i].unlock[idx])
	}
	unlocks += d.spill.unlock[idx].Load()
	membarrier()
	for i := range d.cpus {
		locks += atomic.LoadUintptr(&d.cpus[i].lock[idx])
	}
	locks += d.spill.lock[idx].Load()
	if excess := unlocks - locks; int(excess) > 0 {
		// Every unlock in the first sum has its lock in the second, so
		// the excess is at most the number of unmatched unlocks: adding
		// it cannot make a later grace period end early.
		d.spill.lock[idx].Add(excess)
		panic("rcu: ReadUnlock called more times than ReadLock (found by a grace period: " +
			"the read-side unlock counts exceed the lock counts)")
	}
	return locks == unlocks
}

// membReadLockStale is ReadLockStale for the membarrier read side.
func (d *Domain) membReadLockStale() Token {
	p := cpu.Pin()
	idx := (d.phase.Load() & 1) ^ 1
	if uint(p) < uint(len(d.cpus)) {
		d.cpus[p].lock[idx]++
		cpu.Unpin()
	} else {
		cpu.Unpin()
		d.spill.lock[idx].Add(1)
	}
	return Token{idx<<1 | 1}
}

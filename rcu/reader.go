// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import "github.com/xabench/xabench/internal/cpu"

// A Token records which counter a read-side section incremented, like the
// index that the kernel's srcu_read_lock returns. Pass it, unchanged, to the
// ReadUnlock that ends the section. The zero Token is invalid.
type Token struct {
	v uint32 // stripe<<2 | phase<<1 | 1; the membarrier read side has no stripe
}

// ReadLock begins a read-side section of d and returns the Token that
// ReadUnlock needs. Sections nest: each ReadLock is ended by its own
// ReadUnlock. A section may block and may move between threads.
//
// ReadLock writes only counts of the current P, so readers on different
// CPUs do not share a written cache line. On the membarrier read side it
// executes no locked instruction and no memory barrier.
func (d *Domain) ReadLock() Token {
	if !d.memb {
		return d.lockedReadLock()
	}
	// The membarrier read side (membReadLock, written out here to save
	// a call on the hot path).
	p := cpu.Pin()
	idx := d.phase.Load() & 1
	if uint(p) < uint(len(d.cpus)) {
		d.cpus[p].lock[idx]++
		cpu.Unpin()
		return Token{idx<<1 | 1}
	}
	cpu.Unpin()
	d.spill.lock[idx].Add(1)
	return Token{idx<<1 | 1}
}

// lockedReadLock is ReadLock for the locked read side.
func (d *Domain) lockedReadLock() Token {
	idx := d.phase.Load() & 1
	// Pin only to read the P id: the Token remembers the stripe, so a
	// section that migrates afterwards still decrements the right counter.
	s := uint32(cpu.ID()) & d.mask
	d.stripes[s].c[idx].Add(1)
	return Token{s<<2 | idx<<1 | 1}
}

// ReadUnlock ends the read-side section of d that t's ReadLock began.
//
// It panics if t is the zero Token or names a stripe that d does not have.
// ReadUnlock called more often than ReadLock (or with a Token of another
// Domain) panics too: on the locked read side in the ReadUnlock whose
// counter would go below zero; on the membarrier read side, which keeps no
// count a ReadUnlock could check cheaply, in the next grace period that
// finds more unlocks than locks.
func (d *Domain) ReadUnlock(t Token) {
	if !d.memb {
		d.lockedReadUnlock(t)
		return
	}
	// The membarrier read side, written out as in ReadLock: the unlock
	// is counted on the P the caller runs on now, which need not be the
	// one that counted the lock.
	if t.v&1 == 0 || t.v>>2 != 0 {
		panic("rcu: ReadUnlock without a matching ReadLock (invalid Token)")
	}
	idx := (t.v >> 1) & 1
	p := cpu.Pin()
	if uint(p) < uint(len(d.cpus)) {
		d.cpus[p].unlock[idx]++
		cpu.Unpin()
		return
	}
	cpu.Unpin()
	d.spill.unlock[idx].Add(1)
}

// lockedReadUnlock is ReadUnlock for the locked read side.
func (d *Domain) lockedReadUnlock(t Token) {
	s := t.v >> 2
	if t.v&1 == 0 || s > d.mask {
		panic("rcu: ReadUnlock without a matching ReadLock (invalid Token)")
	}
	c := &d.stripes[s].c[(t.v>>1)&1]
	if c.Add(-1) < 0 {
		c.Add(1)
		panic("rcu: ReadUnlock called more times than ReadLock (read-side counter went negative)")
	}
}

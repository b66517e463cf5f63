// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import "github.com/xabench/xabench/internal/cpu"

// A Token records which counter a read-side section incremented, like the
// index that the kernel's srcu_read_lock returns. Pass it, unchanged, to the
// ReadUnlock that ends the section. The zero Token is invalid.
type Token struct {
	v uint32 // stripe<<2 | phase<<1 | 1
}

// ReadLock begins a read-side section of d and returns the Token that
// ReadUnlock needs. Sections nest: each ReadLock is ended by its own
// ReadUnlock. A section may block and may move between threads.
//
// ReadLock writes only the counter of the current P's stripe, so readers on
// different CPUs do not share a written cache line.
func (d *Domain) ReadLock() Token {
	idx := d.phase.Load() & 1
	// Pin only to read the P id: the Token remembers the stripe, so a
	// section that migrates afterwards still decrements the right counter.
	s := uint32(cpu.ID()) & d.mask
	d.stripes[s].c[idx].Add(1)
	return Token{s<<2 | idx<<1 | 1}
}

// ReadUnlock ends the read-side section of d that t's ReadLock began.
//
// It panics if t is the zero Token or names a stripe that d does not have,
// and if the section's counter would go below zero, which means that
// ReadUnlock was called more often than ReadLock (or with a Token of another
// Domain).
func (d *Domain) ReadUnlock(t Token) {
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

// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import "github.com/xabench/xabench/internal/cpu"

// NewBrokenDomain returns a Domain whose grace periods return at once,
// without waiting for readers: a deliberately broken RCU that the torture
// test must catch.
func NewBrokenDomain() *Domain { return newDomain(domainConfig{noWait: true}) }

// GracePeriods returns the number of grace periods d has completed.
func (d *Domain) GracePeriods() uint64 { return d.gracePeriods() }

// CallbackBatches returns the number of callback batches d has run.
func (d *Domain) CallbackBatches() uint64 { return d.cbBatches.Load() }

// Stripes returns the number of Ps that have counts of their own in d.
func (d *Domain) Stripes() int { return len(d.stripes) + len(d.cpus) }

// NewLockedDomain returns a Domain with the locked read side, wherever the
// membarrier one would be available.
func NewLockedDomain() *Domain { return newDomain(domainConfig{locked: true}) }

// ReadSides returns a constructor for each read side this build and system
// can run, by name: the tests run against both.
func ReadSides() map[string]func() *Domain {
	m := map[string]func() *Domain{ReadSideLocked: NewLockedDomain}
	if membarrierReady() {
		m[ReadSideMembarrier] = NewDomain
	}
	return m
}

// ReadLockStale begins a read-side section as a reader that loaded the
// phase just before the last grace period flipped it, and was delayed
// before incrementing its counter, would: on the counter of the inactive
// phase. The race that makes such stragglers is a few instructions wide;
// this makes it deterministic.
func (d *Domain) ReadLockStale() Token {
	if d.memb {
		return d.membReadLockStale()
	}
	idx := (d.phase.Load() & 1) ^ 1
	s := uint32(cpu.ID()) & d.mask
	d.stripes[s].c[idx].Add(1)
	return Token{s<<2 | idx<<1 | 1}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

// Default is the Domain that the package-level functions use, and the one
// that an XArray uses unless it is built with its own.
var Default = NewDomain()

// ReadLock begins a read-side section of Default. See Domain.ReadLock.
func ReadLock() Token { return Default.ReadLock() }

// ReadUnlock ends a read-side section of Default. See Domain.ReadUnlock.
func ReadUnlock(t Token) { Default.ReadUnlock(t) }

// Synchronize waits for a grace period of Default. See Domain.Synchronize.
func Synchronize() { Default.Synchronize() }

// Call runs f after a grace period of Default. See Domain.Call.
func Call(f func()) { Default.Call(f) }

// Barrier waits until every function passed to Call before it has run.
// See Domain.Barrier.
func Barrier() { Default.Barrier() }

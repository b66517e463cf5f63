// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import "math/bits"

func bits64TrailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

// Alloc stores e at the lowest free index in limit and returns that
// index (xa_alloc); Null reserves the index. The array must have been
// built with FlagAlloc or FlagAlloc1 (else ErrInvalid). With no free
// index in limit it returns ErrBusy.
func (xa *XArray) Alloc(e Entry, limit Limit) (uint32, error) {
	xa.Lock()
	id, err := xa.AllocLocked(e, limit)
	xa.Unlock()
	return id, err
}

// AllocLocked is Alloc for callers holding the lock (__xa_alloc).
func (xa *XArray) AllocLocked(e Entry, limit Limit) (uint32, error) {
	if e.IsAdvanced() || (e.IsInternal() && e != ZeroEntry) || !xa.trackFree() {
		return 0, ErrInvalid
	}
	if e == Null {
		e = ZeroEntry
	}
	var id uint32
	xas := NewState(xa, 0)
	for {
		xas.index = uint64(limit.Min)
		xas.FindMarked(uint64(limit.Max), FreeMark)
		if xas.node == nodeRestart {
			xas.SetErr(ErrBusy)
		} else {
			id = uint32(xas.index)
		}
		xas.Store(e)
		xas.ClearMark(FreeMark)
		if !xas.nomemLocked() {
			break
		}
	}
	if err := xas.Error(); err != nil {
		return 0, err
	}
	return id, nil
}

// AllocCyclic is Alloc that searches from *next and wraps to limit.Min
// (xa_alloc_cyclic). On success *next becomes the index after the one
// returned; wrapped reports that the search wrapped, or that the
// previous allocation had taken the last index.
func (xa *XArray) AllocCyclic(e Entry, limit Limit, next *uint32) (id uint32, wrapped bool, err error) {
	xa.Lock()
	id, wrapped, err = xa.AllocCyclicLocked(e, limit, next)
	xa.Unlock()
	return id, wrapped, err
}

// AllocCyclicLocked is AllocCyclic for callers holding the lock
// (__xa_alloc_cyclic).
func (xa *XArray) AllocCyclicLocked(e Entry, limit Limit, next *uint32) (id uint32, wrapped bool, err error) {
	min := limit.Min
	limit.Min = max(min, *next)
	id, err = xa.AllocLocked(e, limit)
	if Flags(xa.flags.Load())&flagWrapped != 0 && err == nil {
		xa.flags.And(^uint32(flagWrapped))
		wrapped = true
	}
	if err != nil && limit.Min > min {
		limit.Min = min
		id, err = xa.AllocLocked(e, limit)
		if err == nil {
			wrapped = true
		}
	}
	if err == nil {
		*next = id + 1
		if *next == 0 {
			xa.flags.Or(uint32(flagWrapped))
		}
	}
	return id, wrapped, err
}

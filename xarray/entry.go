// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"errors"
	"fmt"
)

// Entry is one word stored in an XArray, encoded exactly as the kernel
// encodes its void * entries. The two low bits say what it is:
//
//	00  a pointer: a caller's handle shifted left by two (Null is 0)
//	x1  a value entry: MkValue(v) = v<<1 | 1
//	10  an internal entry: a sibling (0..62), RetryEntry, ZeroEntry,
//	    or a node of the tree (internal value above 1024)
//
// Internal entries other than ZeroEntry never reach a user of the normal
// API; the advanced API (State) returns them so that callers can retry.
type Entry uint64

// Null is the empty entry.
const Null Entry = 0

const (
	chunkShift = 6
	chunkSize  = 1 << chunkShift
	chunkMask  = chunkSize - 1
	maxMarks   = 3
	// maxSibling is the first internal value that is not a sibling:
	// siblings name slots 0..62 of the same node.
	maxSibling = chunkSize - 1
)

// mkInternal encodes v as an internal entry (xa_mk_internal).
func mkInternal(v uint64) Entry { return Entry(v<<2 | 2) }

// mkSibling is xa_mk_sibling: a slot that defers to slot off of its node.
func mkSibling(off uint) Entry { return mkInternal(uint64(off)) }

var (
	// RetryEntry is written into the slots of nodes that are leaving the
	// tree; a lockless reader that meets it must restart from the head
	// (XA_RETRY_ENTRY).
	RetryEntry = mkInternal(256)
	// ZeroEntry reserves a slot: the normal API reports it as Null, but
	// the slot is occupied (XA_ZERO_ENTRY).
	ZeroEntry = mkInternal(257)
)

// MkValue returns the value entry for v (xa_mk_value). Value entries hold
// integers up to 1<<63-1; MkValue panics on a larger v, which the encoding
// cannot hold.
func MkValue(v uint64) Entry {
	if v>>63 != 0 {
		panic(fmt.Sprintf("xarray: MkValue(%#x): value entries hold at most 63 bits", v))
	}
	return Entry(v<<1 | 1)
}

// MkPointer returns the pointer entry for handle (handle<<2): the caller's
// name for an object, such as a page frame number. Handles use at most 62
// bits; MkPointer panics on a larger one.
func MkPointer(handle uint64) Entry {
	if handle>>62 != 0 {
		panic(fmt.Sprintf("xarray: MkPointer(%#x): handles hold at most 62 bits", handle))
	}
	return Entry(handle << 2)
}

// IsValue reports whether e is a value entry (xa_is_value).
func (e Entry) IsValue() bool { return e&1 != 0 }

// ToValue returns the integer in a value entry (xa_to_value).
func (e Entry) ToValue() uint64 { return uint64(e) >> 1 }

// IsPointer reports whether e is a non-Null pointer entry.
func (e Entry) IsPointer() bool { return e != 0 && e&3 == 0 }

// Pointer returns the handle in a pointer entry.
func (e Entry) Pointer() uint64 { return uint64(e) >> 2 }

// IsInternal reports whether e is an internal entry (xa_is_internal).
func (e Entry) IsInternal() bool { return e&3 == 2 }

// IsSibling reports whether e is a sibling entry (xa_is_sibling).
func (e Entry) IsSibling() bool { return e&3 == 2 && e < mkInternal(maxSibling) }

// siblingOffset is xa_to_sibling.
func (e Entry) siblingOffset() uint { return uint(e >> 2) }

// IsRetry reports whether e is RetryEntry (xa_is_retry).
func (e Entry) IsRetry() bool { return e == RetryEntry }

// IsZero reports whether e is ZeroEntry (xa_is_zero).
func (e Entry) IsZero() bool { return e == ZeroEntry }

// IsNode reports whether e names a node of the tree (xa_is_node).
func (e Entry) IsNode() bool { return e&3 == 2 && e > 4096 }

// IsAdvanced reports whether e is an entry that only the advanced API may
// store: a sibling or RetryEntry (xa_is_advanced).
func (e Entry) IsAdvanced() bool { return e&3 == 2 && e <= RetryEntry }

// zeroToNull is xa_zero_to_null.
func zeroToNull(e Entry) Entry {
	if e == ZeroEntry {
		return Null
	}
	return e
}

// String describes e the way xa_dump_entry does.
func (e Entry) String() string {
	switch {
	case e == Null:
		return "null"
	case e.IsValue():
		return fmt.Sprintf("value %d", e.ToValue())
	case e.IsPointer():
		return fmt.Sprintf("pointer %#x", e.Pointer())
	case e.IsSibling():
		return fmt.Sprintf("sibling (slot %d)", e.siblingOffset())
	case e == RetryEntry:
		return "retry"
	case e == ZeroEntry:
		return "zero"
	case e.IsNode():
		return fmt.Sprintf("node %d", uint64(e)>>2)
	}
	return fmt.Sprintf("internal %#x", uint64(e))
}

// Mark names one of the three marks an entry carries (xa_mark_t).
type Mark uint

const (
	Mark0 Mark = iota
	Mark1
	Mark2
	// Present is the pseudo-filter that selects every non-Null entry
	// (XA_PRESENT).
	Present Mark = 8
	// FreeMark is the mark that arrays with FlagTrackFree use to mean
	// "this index is free" (XA_FREE_MARK).
	FreeMark = Mark0
)

// Flags choose the behaviour of an XArray (xa_flags).
type Flags uint32

const (
	// FlagTrackFree makes Mark0 track free indices; storing Null keeps
	// the index allocated (as ZeroEntry).
	FlagTrackFree Flags = 4
	// FlagZeroBusy treats index 0 as always busy, for 1-based IDs.
	FlagZeroBusy Flags = 8
	flagWrapped  Flags = 16
	// FlagAccount is accepted for fidelity; the model has no memcg.
	FlagAccount Flags = 32
	markShift         = 24
	// FlagAlloc makes an array for IDs starting at 0 (XA_FLAGS_ALLOC).
	FlagAlloc = FlagTrackFree | Flags(1)<<(markShift+FreeMark)
	// FlagAlloc1 makes an array for IDs starting at 1 (XA_FLAGS_ALLOC1).
	FlagAlloc1 = FlagTrackFree | FlagZeroBusy

	flagsUser = FlagTrackFree | FlagZeroBusy | FlagAccount | Flags(1)<<(markShift+FreeMark)
)

func markFlag(m Mark) Flags { return Flags(1) << (markShift + m) }

// Limit is an inclusive range of IDs for Alloc (struct xa_limit).
type Limit struct{ Min, Max uint32 }

var (
	Limit32b = Limit{0, 1<<32 - 1}
	Limit31b = Limit{0, 1<<31 - 1}
	Limit16b = Limit{0, 1<<16 - 1}
)

// The errors the XArray returns, for the kernel's errnos.
var (
	ErrNoMemory = errors.New("xarray: out of memory (ENOMEM)")
	ErrInvalid  = errors.New("xarray: invalid argument (EINVAL)")
	ErrBusy     = errors.New("xarray: busy (EBUSY)")
	ErrExists   = errors.New("xarray: entry exists (EEXIST)")
)

// A NodeCacheError says that the node cache could not be reserved: the
// system refused even the smallest slab. Every XArray then fails each
// store that needs a node with it. errors.Is(err, ErrNoMemory) holds.
type NodeCacheError struct {
	Nodes int   // the smallest reservation tried, in nodes
	Err   error // what the system said
}

func (e *NodeCacheError) Error() string {
	return fmt.Sprintf("xarray: cannot reserve a node cache of %d nodes (%d MiB): %v",
		e.Nodes, int64(e.Nodes)*nodeBytes>>20, e.Err)
}

// Unwrap makes a NodeCacheError both ErrNoMemory and the system's error.
func (e *NodeCacheError) Unwrap() []error { return []error{ErrNoMemory, e.Err} }

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

// A port of lib/test_xarray.c, part 3: ID allocation. T15 and T24 of
// shared/kernel/test_xarray.md (check_xa_alloc, check_align).

import (
	"math"
	"testing"
)

// T15 check_xa_alloc: each part runs on DEFINE_XARRAY_ALLOC (xa0, base 0)
// and DEFINE_XARRAY_ALLOC1 (xa1, base 1).
func TestCheckXaAlloc(t *testing.T) {
	arrays := []struct {
		name  string
		flags Flags
		base  uint32
	}{{"xa0", FlagAlloc, 0}, {"xa1", FlagAlloc1, 1}}
	parts := []struct {
		name string
		fn   func(*testing.T, *XArray, uint32)
	}{
		{"check_xa_alloc_1", ktCheckXaAlloc1},
		{"check_xa_alloc_2", ktCheckXaAlloc2},
		{"check_xa_alloc_3", ktCheckXaAlloc3},
	}
	for _, p := range parts {
		for _, a := range arrays {
			t.Run(p.name+"/"+a.name, func(t *testing.T) {
				xa := ktNew(t, a.flags)
				p.fn(t, xa, a.base)
				finish(t, xa)
			})
		}
	}
}

func ktCheckXaAlloc1(t *testing.T, xa *XArray, base uint32) {
	mustBeEmpty(t, xa)
	// An empty array should assign base to the first alloc.
	allocIndex(t, xa, base)

	// Erasing it should make the array empty again.
	eraseIndex(t, xa, uint64(base))
	mustBeEmpty(t, xa)

	// And it should assign base again.
	allocIndex(t, xa, base)

	// Allocating and then erasing a lot should not lose base.
	for i := base + 1; i < 2*chunkSize; i++ {
		allocIndex(t, xa, i)
	}
	ktCheck(t, xa, "after allocating up to 127")
	for i := base; i < 2*chunkSize; i++ {
		eraseIndex(t, xa, uint64(i))
	}
	allocIndex(t, xa, base)

	// Destroying the array should do the same as erasing.
	xa.Destroy()

	// And it should assign base again.
	allocIndex(t, xa, base)

	// The next assigned ID should be base+1.
	allocIndex(t, xa, base+1)
	eraseIndex(t, xa, uint64(base+1))

	// Storing a value should mark it used.
	storeIndex(t, xa, uint64(base+1))
	allocIndex(t, xa, base+2)

	// If we then erase base, it should be free.
	eraseIndex(t, xa, uint64(base))
	allocIndex(t, xa, base)

	eraseIndex(t, xa, uint64(base+1))
	eraseIndex(t, xa, uint64(base+2))

	for i := uint32(1); i < 5000; i++ {
		allocIndex(t, xa, base+i)
	}
	ktCheck(t, xa, "after 5000 allocations")

	xa.Destroy()

	// Check that we fail properly at the limit of allocation.
	top := Limit{math.MaxUint32 - 1, math.MaxUint32}
	if id, err := xa.Alloc(mkIndex(math.MaxUint32-1), top); err != nil || id != 0xfffffffe {
		t.Fatalf("xa_alloc(LIMIT(UINT_MAX-1, UINT_MAX)) = %#x, %v; want 0xfffffffe", id, err)
	}
	if id, err := xa.Alloc(mkIndex(math.MaxUint32), top); err != nil || id != 0xffffffff {
		t.Fatalf("xa_alloc(LIMIT(UINT_MAX-1, UINT_MAX)) = %#x, %v; want 0xffffffff", id, err)
	}
	// -EBUSY. (The kernel also checks that *id keeps its old value 3;
	// in Go the id is a return value, meaningless on error.)
	if _, err := xa.Alloc(mkIndex(0), top); err != ErrBusy {
		t.Fatalf("xa_alloc in a full limit: %v, want ErrBusy", err)
	}
	xa.Destroy()

	// An empty limit (min > max) is always busy.
	if _, err := xa.Alloc(mkIndex(10), Limit{10, 5}); err != ErrBusy {
		t.Fatalf("xa_alloc(LIMIT(10, 5)) on an empty array: %v, want ErrBusy", err)
	}
	if old := storeIndex(t, xa, 3); old != Null {
		t.Fatalf("xa_store_index(3) = %v, want null", old)
	}
	if _, err := xa.Alloc(mkIndex(10), Limit{10, 5}); err != ErrBusy {
		t.Fatalf("xa_alloc(LIMIT(10, 5)): %v, want ErrBusy", err)
	}
	eraseIndex(t, xa, 3)
	mustBeEmpty(t, xa)
}

// ktAllocNull is xa_alloc(xa, &id, NULL, xa_limit_32b, GFP_KERNEL) == 0
// with id == want.
func ktAllocNull(t *testing.T, xa *XArray, want uint32) {
	t.Helper()
	if id, err := xa.Alloc(Null, Limit32b); err != nil || id != want {
		t.Fatalf("xa_alloc(NULL) = %d, %v; want %d", id, err, want)
	}
}

func ktCheckXaAlloc2(t *testing.T, xa *XArray, base uint32) {
	// Allocate and free a NULL and check xa_empty() behaves.
	mustBeEmpty(t, xa)
	ktAllocNull(t, xa, base)
	if xa.Empty() {
		t.Fatalf("empty after allocating a NULL entry")
	}
	if e := xa.Erase(uint64(base)); e != Null {
		t.Fatalf("xa_erase(%d) = %v, want null", base, e)
	}
	mustBeEmpty(t, xa)

	// Ditto, but check destroy instead of erase.
	mustBeEmpty(t, xa)
	ktAllocNull(t, xa, base)
	if xa.Empty() {
		t.Fatalf("empty after allocating a NULL entry")
	}
	xa.Destroy()
	mustBeEmpty(t, xa)

	for i := base; i < base+10; i++ {
		ktAllocNull(t, xa, i)
	}

	// A store over an allocated NULL returns NULL, not ZERO.
	if old, err := xa.Store(3, mkIndex(3)); err != nil || old != Null {
		t.Fatalf("xa_store(3) = %v, %v; want null", old, err)
	}
	if old, err := xa.Store(4, mkIndex(4)); err != nil || old != Null {
		t.Fatalf("xa_store(4) = %v, %v; want null", old, err)
	}
	// Storing NULL keeps 4 allocated (as ZERO).
	if old, err := xa.Store(4, Null); err != nil || old != mkIndex(4) {
		t.Fatalf("xa_store(4, NULL) = %v, %v; want %v", old, err, mkIndex(4))
	}
	// Erasing frees 5, and the next alloc takes it.
	if e := xa.Erase(5); e != Null {
		t.Fatalf("xa_erase(5) = %v, want null", e)
	}
	ktAllocNull(t, xa, 5)
	ktCheck(t, xa, "with allocated NULL entries")

	// xa_for_each skips the ZERO entries: only 3 is visited.
	for index := range xa.All() {
		if index != 3 {
			t.Fatalf("xa_for_each visited %d, want only 3", index)
		}
		eraseIndex(t, xa, index)
	}

	for i := base; i < base+9; i++ {
		if e := xa.Erase(uint64(i)); e != Null {
			t.Fatalf("xa_erase(%d) = %v, want null", i, e)
		}
		if xa.Empty() {
			t.Fatalf("empty after erasing %d", i)
		}
	}
	if e := xa.Erase(8); e != Null {
		t.Fatalf("xa_erase(8) = %v, want null", e)
	}
	if xa.Empty() {
		t.Fatalf("empty after erasing 8 again")
	}
	if e := xa.Erase(uint64(base + 9)); e != Null {
		t.Fatalf("xa_erase(%d) = %v, want null", base+9, e)
	}
	mustBeEmpty(t, xa)

	xa.Destroy()
}

// ktAllocCyclic is xa_alloc_cyclic (or, locked, __xa_alloc_cyclic) with
// the expected id and "wrapped" result.
func ktAllocCyclic(t *testing.T, xa *XArray, locked bool, e Entry, limit Limit, next *uint32, wantID uint32, wantWrapped bool) {
	t.Helper()
	var id uint32
	var wrapped bool
	var err error
	if locked {
		ktLocked(xa, func() { id, wrapped, err = xa.AllocCyclicLocked(e, limit, next) })
	} else {
		id, wrapped, err = xa.AllocCyclic(e, limit, next)
	}
	if err != nil || id != wantID || wrapped != wantWrapped {
		t.Fatalf("alloc_cyclic (locked %v) = id %#x wrapped %v err %v; want id %#x wrapped %v",
			locked, id, wrapped, err, wantID, wantWrapped)
	}
}

// check_xa_alloc_3: cyclic allocation. The kernel's return value for a
// wrapped allocation (1 before 6.15; since 6.15 0 from xa_alloc_cyclic
// but still 1 from __xa_alloc_cyclic) is wrapped == true in Go, from
// both AllocCyclic and AllocCyclicLocked.
func ktCheckXaAlloc3(t *testing.T, xa *XArray, base uint32) {
	limit := Limit{1, 0x3fff}
	next := uint32(0)

	ktAllocCyclic(t, xa, false, mkIndex(1), limit, &next, 1, false)

	next = 0x3ffd
	ktAllocCyclic(t, xa, false, mkIndex(0x3ffd), limit, &next, 0x3ffd, false)
	eraseIndex(t, xa, 0x3ffd)
	eraseIndex(t, xa, 1)
	mustBeEmpty(t, xa)

	// 0x3ffe, 0x3fff, then the wrap gives 1 (wrapped), 2, 3.
	for i := uint32(0x3ffe); i < 0x4003; i++ {
		id := i
		if i >= 0x4000 {
			id = i - 0x3fff
		}
		ktAllocCyclic(t, xa, false, mkIndex(uint64(id)), limit, &next, id, id == 1)
	}

	// Check wrap-around is handled correctly.
	if base != 0 {
		eraseIndex(t, xa, uint64(base))
	}
	eraseIndex(t, xa, uint64(base+1))
	next = math.MaxUint32
	ktAllocCyclic(t, xa, false, mkIndex(math.MaxUint32), Limit32b, &next, math.MaxUint32, false)
	ktAllocCyclic(t, xa, false, mkIndex(uint64(base)), Limit32b, &next, base, true)
	ktAllocCyclic(t, xa, false, mkIndex(uint64(base+1)), Limit32b, &next, base+1, false)

	for index := range xa.All() {
		eraseIndex(t, xa, index)
	}
	mustBeEmpty(t, xa)

	// 6.15: __xa_alloc_cyclic, with the lock held, still reports the
	// wrap (returns 1).
	next = math.MaxUint32
	ktAllocCyclic(t, xa, false, mkIndex(math.MaxUint32), Limit32b, &next, math.MaxUint32, false)
	ktAllocCyclic(t, xa, true, mkIndex(uint64(base)), Limit32b, &next, base, true)

	for index := range xa.All() {
		eraseIndex(t, xa, index)
	}
	mustBeEmpty(t, xa)
}

// T24 check_align, on xa0. The kernel allocates char pointers name+0 ..
// name+3 so that some of them look like value or internal entries; Go
// pointer entries are handles shifted left by two and always aligned,
// so that part is moot here (the allocations are ported with distinct
// handles). What stays is check_align_2's guarantee: a store after a
// reserve never needs memory.
func TestCheckAlign(t *testing.T) {
	f := NewFaults(24)
	xa := ktNew(t, FlagAlloc, WithFaults(f))
	name := uint64(0x68000) // "Motorola 68000"

	for off := uint64(0); off < 4; off++ {
		ktCheckAlign1(t, xa, name+off)
	}
	ktCheckAlign2(t, xa, f, name)
	finish(t, xa)
}

func ktCheckAlign1(t *testing.T, xa *XArray, name uint64) {
	t.Helper()
	for i := uint64(0); i < 8; i++ {
		id, err := xa.Alloc(MkPointer(name+i), Limit32b)
		if err != nil || uint64(id) != i {
			t.Fatalf("xa_alloc(name+%d) = %d, %v; want %d", i, id, err, i)
		}
	}
	for index, e := range xa.All() {
		// xa_is_err(entry) must be false: no internal entry leaks out.
		if e.IsInternal() || e != MkPointer(name+index) {
			t.Fatalf("xa_for_each at %d: %v, want pointer %#x", index, e, name+index)
		}
	}
	xa.Destroy()
}

// check_align_2: we should always be able to store without allocating
// memory after reserving a slot. The store runs with every allocation
// failing, and must not even try one.
func ktCheckAlign2(t *testing.T, xa *XArray, f *Faults, name uint64) {
	t.Helper()
	mustBeEmpty(t, xa)

	for i := uint64(0); i < 8; i++ {
		if old, err := xa.Store(0, MkPointer(name+i)); err != nil || old != Null {
			t.Fatalf("xa_store(0, name+%d) = %v, %v; want null", i, old, err)
		}
		xa.Erase(0)
	}

	for i := uint64(0); i < 8; i++ {
		if err := xa.Reserve(0); err != nil {
			t.Fatalf("xa_reserve(0): %v", err)
		}
		// On an alloc array a reservation at 0 is a ZERO entry in a
		// node; the store only replaces it.
		ktNoAlloc(t, f, "xa_store(0, name+i, 0) after xa_reserve", func() {
			if old, err := xa.Store(0, MkPointer(name+i)); err != nil || old != Null {
				t.Fatalf("xa_store(0, name+%d, 0) after xa_reserve = %v, %v; want null", i, old, err)
			}
		})
		xa.Erase(0)
	}

	mustBeEmpty(t, xa)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package xarray

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// bug reports a broken invariant of node h, as XA_NODE_BUG_ON does.
func bug(h uint32, format string, args ...any) {
	panic(fmt.Sprintf("xarray: BUG: %s\n  %v", fmt.Sprintf(format, args...), Node{h}))
}

// checkNode checks the subtree of node h, whose first index is base, for
// Check (debug.go).
func (xa *XArray) checkNode(h uint32, base uint64) error {
	if h < firstHandle || h >= slabLimit.Load() {
		return fmt.Errorf("xarray check: bad node handle %d at index %#x", h, base)
	}
	n := nodeAt(h)
	where := func() string { return fmt.Sprintf("%v (indices from %#x)", Node{h}, base) }
	if n.array.Load() != xa.id {
		if n.array.Load() == arrayRCUFree {
			return fmt.Errorf("xarray check: freed node in the tree: %s", where())
		}
		return fmt.Errorf("xarray check: node of another array (%d): %s", n.array.Load(), where())
	}
	if n.shift()%chunkShift != 0 || n.shift() > 60 {
		return fmt.Errorf("xarray check: bad shift: %s", where())
	}
	count, values := 0, 0
	for i := uint(0); i < chunkSize; i++ {
		e := n.slot(i)
		if e == Null {
			continue
		}
		count++
		switch {
		case e.IsSibling():
			c := e.siblingOffset()
			if c >= i {
				return fmt.Errorf("xarray check: slot %d: sibling names slot %d, not a lower one: %s", i, c, where())
			}
			canon := n.slot(c)
			if canon == Null || canon.IsSibling() {
				return fmt.Errorf("xarray check: slot %d: sibling of slot %d which holds %v: %s", i, c, canon, where())
			}
			if n.shift() != 0 && canon.IsNode() {
				return fmt.Errorf("xarray check: slot %d: sibling of a node: %s", i, where())
			}
			for c2 := c + 1; c2 < i; c2++ {
				if s := n.slot(c2); !s.IsSibling() || s.siblingOffset() != c {
					return fmt.Errorf("xarray check: slot %d: siblings of slot %d are not contiguous: %s", i, c, where())
				}
			}
			if canon.IsValue() {
				values++
			}
		case e == RetryEntry:
			return fmt.Errorf("xarray check: slot %d holds a retry entry in a live node: %s", i, where())
		case e.IsValue():
			values++
		case e.IsNode() && n.shift() != 0:
			c := handleOf(e)
			cn := nodeAt(c)
			if cn.parentNode() != h || uint(cn.offset()) != i || cn.shift()+chunkShift != n.shift() {
				return fmt.Errorf("xarray check: slot %d: child %v does not match its place: %s", i, Node{c}, where())
			}
			if err := xa.checkNode(c, base+uint64(i)<<n.shift()); err != nil {
				return err
			}
		}
	}
	if err := xa.checkCounts(n, count, values); err != nil {
		return fmt.Errorf("%w: %s", err, where())
	}
	// The pre-v6.9 xas_split marked every slot of a child, siblings
	// included (VariantSplitMarksAllSlots): that is what the old kernel
	// left, not a broken tree.
	oldSplitMarks := xa.variant&VariantSplitMarksAllSlots != 0
	for m := Mark0; m < maxMarks; m++ {
		free := m == FreeMark && xa.trackFree()
		for i := uint(0); i < chunkSize; i++ {
			e := n.slot(i)
			bit := n.getMark(i, m)
			switch {
			case e.IsNode() && n.shift() != 0:
				if any := nodeAt(handleOf(e)).anyMark(m); bit != any {
					return fmt.Errorf("xarray check: slot %d: mark %d is %v but the child says %v: %s", i, m, bit, any, where())
				}
			case free:
			case oldSplitMarks && e.IsSibling():
			case bit && (e == Null || e.IsSibling()):
				return fmt.Errorf("xarray check: slot %d holding %v has mark %d: %s", i, e, m, where())
			}
		}
	}
	return nil
}

// checkCounts checks a node's count and nr_values against the count of
// non-Null slots and of value slots (siblings of values included) that
// checkNode found in it.
//
// count must match exactly: xas_store's count formula is exact for any
// store. nr_values must match exactly under VariantExactNrValues, where
// the node's drift must be zero. Without it, nr_values is what the
// kernel's formula leaves, and that can be off by the node's drift: the
// values that stores left uncounted when their State was smaller than
// the multi-index entry they landed in (State.uncounted) records them,
// at the one place that formula misses slots. The drift outlives the
// siblings that caused it: later stores count exactly the slots they
// write, so nr_values stays off by the same amount, in a node that may
// hold no multi-index entry any more, until the node is freed. Check
// therefore cannot bound it by the node's siblings, and takes the
// recorded amount instead: any other disagreement is a counting bug.
// The comparison is modulo 256, as the kernel's unsigned char wraps; a
// count that agrees but is above 64 gives errValuesOutOfRange. (count
// itself cannot be: checkNode found at most 64 slots.)
func (xa *XArray) checkCounts(n *node, count, values int) error {
	drift := int(n.drift.Load())
	if drift != 0 && xa.variant&VariantExactNrValues != 0 {
		return fmt.Errorf("xarray check: nr_values drift %d recorded under VariantExactNrValues", drift)
	}
	if count != int(n.count()) || uint8(values+drift) != n.nrValues() {
		return fmt.Errorf("xarray check: count %d values %d, but the slots hold %d entries and %d values (drift %d)",
			n.count(), n.nrValues(), count, values, drift)
	}
	if n.nrValues() > chunkSize {
		return fmt.Errorf("%w: values %d (%d values in the slots, drift %d)", errValuesOutOfRange, n.nrValues(), values, drift)
	}
	return nil
}

// errValuesOutOfRange is the error Check wraps when a node's nr_values
// agrees with its slots and drift but is above 64: the kernel's count
// went below zero, or above 64, and update_node's XA_NODE_BUG_ON fires
// (the model's bug does, in updateCounts). Only a drift takes an honest
// count there.
var errValuesOutOfRange = errors.New("xarray check: nr_values out of range")

// dumpEntry writes e, which covers the indices from index on and shift
// bits below, and what it holds, for Dump (debug.go).
func dumpEntry(w io.Writer, e Entry, index uint64, shift uint, depth int) {
	if e == Null {
		return
	}
	indent := strings.Repeat("  ", depth)
	var span string
	switch {
	case shift == 0:
		span = fmt.Sprintf("%d", index)
	case shift >= 64:
		span = fmt.Sprintf("0-%d", ^uint64(0))
	default:
		span = fmt.Sprintf("%d-%d", index, index|(uint64(1)<<shift-1))
	}
	if e.IsNode() && shift != 0 {
		h := handleOf(e)
		fmt.Fprintf(w, "%s%s: %v\n", indent, span, Node{h})
		n := nodeAt(h)
		for i := uint(0); i < chunkSize; i++ {
			dumpEntry(w, n.slot(i), index+uint64(i)<<n.shift(), uint(n.shift()), depth+1)
		}
		return
	}
	fmt.Fprintf(w, "%s%s: %v\n", indent, span, e)
}

// countNodes returns the number of nodes in the subtree of node h.
func countNodes(h uint32) int {
	n := nodeAt(h)
	total := 1
	if n.shift() == 0 {
		return total
	}
	for i := uint(0); i < chunkSize; i++ {
		if e := n.slot(i); e.IsNode() {
			total += countNodes(handleOf(e))
		}
	}
	return total
}

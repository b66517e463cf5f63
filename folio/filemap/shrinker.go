// SPDX-License-Identifier: GPL-2.0-or-later

package filemap

import (
	"fmt"
	"runtime"

	"github.com/xabench/xabench/folio"
)

// ShadowScan is what one run of the shadow-node shrinker did.
type ShadowScan struct {
	Scanned int // list entries walked, retries included (nr_to_walk spent)
	Freed   int // nodes deleted from their trees (WORKINGSET_NODERECLAIM)
	Retried int // LRU_RETRY: the node's i_pages lock was busy
	// Warnings are the kernel's WARN_ON_ONCE reports of
	// shadow_lru_isolate: a listed node that was not shadow-only. The
	// model adds one more, where the kernel would corrupt memory: a
	// listed node that is freed or not in its file's tree. Each is a
	// violation; the node was taken off the list and left alone.
	Warnings []string
}

func (s *ShadowScan) add(o ShadowScan) {
	s.Scanned += o.Scanned
	s.Freed += o.Freed
	s.Retried += o.Retried
	s.Warnings = append(s.Warnings, o.Warnings...)
}

// CountShadowNodes is count_shadow_nodes: how many nodes the shrinker
// should scan on m. That is how far m's list exceeds max_nodes = pages >>
// (XA_CHUNK_SHIFT - 3), one shadow node per 8 pages of memory. For pages
// the model takes the memmap's page frames, node_present_pages: the
// kernel's branch for reclaim without a memcg, as the model has none.
func CountShadowNodes(m *folio.Memmap) int {
	maxNodes := m.Pages() >> (6 - 3)
	if n := ShadowNodes(m); n > maxNodes {
		return n - maxNodes
	}
	return 0
}

// ShrinkShadowNodes runs the shadow-node shrinker on m as shrink_slab
// does: count, then scan that many. do_shrink_slab's batching and its
// deferral of small counts to later calls are not modelled.
func ShrinkShadowNodes(m *folio.Memmap) ShadowScan {
	if nr := CountShadowNodes(m); nr > 0 {
		return ScanShadowNodes(m, nr)
	}
	return ShadowScan{}
}

// lruStatus is enum lru_status, the verdict of an isolate callback on
// one list entry.
type lruStatus int

const (
	lruRemovedRetry lruStatus = iota // LRU_REMOVED_RETRY: taken off; the list lock was dropped
	lruRetry                         // LRU_RETRY: left on; the list lock was dropped
)

// ScanShadowNodes is scan_shadow_nodes: walk up to nr entries of m's
// shadow-node list, oldest first, and free the nodes that
// shadowLRUIsolate can isolate (list_lru_shrink_walk). The isolate
// callback always drops the list lock, so the walk restarts from the
// head after every entry, and a node whose lock was busy is met again
// at the head: every attempt costs one of nr.
func ScanShadowNodes(m *folio.Memmap, nr int) ShadowScan {
	var s ShadowScan
	l := shadowLRUOf(m)
	if l == nil {
		return s
	}
	for ; nr > 0; nr-- {
		l.mu.Lock()
		sn := l.head.next
		if sn == &l.head {
			l.mu.Unlock()
			break
		}
		s.Scanned++
		if l.isolate(sn, &s) == lruRetry {
			s.Retried++
		}
		runtime.Gosched() // cond_resched
	}
	return s
}

// isolate is shadow_lru_isolate: with the list lock held, trylock the
// node's i_pages lock; if that fails, drop the list lock and let the walk
// retry. Otherwise take the node off the list and drop the list lock.
// Then, if the node is still shadow-only, delete it from its tree
// (xa_delete_node with the workingset callback), and drop the i_pages
// lock. The kernel also trylocks the inode's i_lock, and afterwards puts
// the inode back on its LRU list. The model's files have no inode
// (mapping->host is NULL), so neither step exists here, as in the
// kernel's host == NULL branch.
func (l *shadowLRU) isolate(sn *shadowNode, s *ShadowScan) lruStatus {
	as := sn.as
	if !as.pages.TryLock() {
		l.mu.Unlock()
		return lruRetry
	}
	l.del(sn) // list_lru_isolate
	delete(as.shadowNodes, sn.node.Handle())
	l.mu.Unlock()

	n := sn.node
	switch {
	case !n.Valid() || n.Freed() || !n.BelongsTo(as.pages):
		s.Warnings = append(s.Warnings, fmt.Sprintf("shadow_lru_isolate: listed %v of page cache %d is not in its tree", n, as.id>>2))
	case n.NrValues() == 0:
		s.Warnings = append(s.Warnings, fmt.Sprintf("WARN_ON_ONCE(!node->nr_values) in shadow_lru_isolate: page cache %d, %v", as.id>>2, n))
	case n.Count() != n.NrValues():
		s.Warnings = append(s.Warnings, fmt.Sprintf("WARN_ON_ONCE(node->count != node->nr_values) in shadow_lru_isolate: page cache %d, %v", as.id>>2, n))
	default:
		first, last := nodeRange(n)
		as.checkShadowsLocked(first, last, "shadow shrinker")
		as.pages.DeleteNodeLocked(n, as.wsUpdate)
		as.forgetShadowsLocked(first, last)
		s.Freed++
		l.freed.Add(1)
	}
	as.pages.Unlock()
	return lruRemovedRetry
}

// ShadowNodesFreed returns how many nodes the shrinker has freed on m
// (the WORKINGSET_NODERECLAIM counter) since m's list was made, when its
// first file was.
func ShadowNodesFreed(m *folio.Memmap) int64 {
	l := shadowLRUOf(m)
	if l == nil {
		return 0
	}
	return l.freed.Load()
}

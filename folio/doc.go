// SPDX-License-Identifier: GPL-2.0-or-later

// Package folio models the physical-memory half of the Linux page cache:
// a memmap of struct pages indexed by page frame number, a buddy allocator
// over it with per-CPU lists for order 0, and folios — head pages of
// naturally aligned blocks of 1<<order pages — with the kernel's reference
// count protocol (folio_try_get, folio_ref_freeze/unfreeze, folio_put),
// the folio lock and the page flags.
//
// How the pieces fit:
//
//   - Memmap holds every page. A page's flags, refcount, mapcount,
//     mapping, index and private words are atomics, because a lockless
//     page-cache reader may look at any page at any time: a stale XArray
//     entry can name a page that was freed and reused.
//   - The buddy allocator (buddy.go) hands out blocks of 1<<order pages
//     and merges freed buddies, so large folios form again after splits.
//     Freed pages are reused at once, most recently freed first, as in the
//     kernel: that is what makes a stale entry name a foreign page.
//   - Order-0 pages come from per-CPU lists that take no lock (pcp.go): a
//     stack per P whose head word, the top pfn with a count and a tag,
//     changes by compare-and-swap. Behind them the zone has a lock; the
//     lists refill from it and drain to it in batches.
//   - free_pages_prepare's checks run on every free: a page freed with a
//     mapping, a reference or a bad flag is reported as bad_page with a
//     dump_page line and kept out of the allocator. Freed pages are
//     poisoned, so that a stale reader sees poison.
//   - Zsmalloc is a second tenant of memory: it takes order-0 pages and
//     marks them with a movable-ops mapping, the way the seed report's
//     stale page-cache entry looked.
//   - A Folio is a (memmap, pfn) pair; its Entry is the XArray pointer
//     entry that the page cache stores.
//
// The page-cache paths that use folios live in package filemap.
package folio

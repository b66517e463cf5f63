// SPDX-License-Identifier: GPL-2.0-or-later

// Package filemap models the kernel's page cache (mm/filemap.c and the
// parts of mm/vmscan.c, mm/truncate.c and mm/huge_memory.c that change
// it): an AddressSpace is a file's i_pages XArray of folios and shadow
// entries, and the paths that add, look up, remove, truncate, invalidate,
// split and reclaim folios follow the kernel's protocols step by step:
//
//   - lookups are speculative: folio_try_get on the entry found without a
//     lock, then xas_reload to check it is still there (GetEntry,
//     GetReadBatch), then a mapping check under the folio lock (GetFolio);
//   - removals hold the folio lock and the i_pages lock, and reclaim
//     freezes the reference count before deleting (removeMapping), leaving
//     a workingset shadow entry where the folio was, which names its
//     eviction (pack_shadow);
//   - every State that changes i_pages carries the workingset update
//     callback (mapping_set_update), which keeps the nodes that hold only
//     shadow entries on their memmap's shadow-node list; the shrinker
//     (ScanShadowNodes) frees such nodes, taking the i_pages lock only by
//     trylock, as shadow_lru_isolate does;
//   - adding a folio over a larger shadow entry splits the part of the
//     shadow that holds the index first, under the lock, one
//     xas_try_split step at a time (the v6.15 __filemap_add_folio);
//   - splits freeze the folio, split the entry over the frozen folio, and
//     store each piece before unfreezing it.
//
// Where a modelled kernel bug depends on an old version of a step, the
// old step is a Variant chosen when the AddressSpace is built; the zero
// Variant is the fixed kernel.
package filemap

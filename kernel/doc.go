// SPDX-License-Identifier: GPL-2.0-or-later

// Package kernel maps Linux kernel releases to the model's variants, so
// that a run can be made "as v6.1" or "as v6.14" (DESIGN.md decision 5:
// kernel releases are profiles).
//
// Each package of the model knows only its own variants (xarray.Variant,
// filemap.Variant), each documented with the commit that changed the
// behaviour. This package, above them, holds the one table that says
// which release has which behaviour (Behaviours; rendered by Markdown)
// and the Profile of each modelled release: v6.1, v6.6, v6.10, v6.14,
// v6.15 and mainline. The table is taken from kernel/releases.md, the
// verified research, and uses the base releases: "v6.1" is 6.1.0, not a
// later 6.1.y that backported fixes (cbc02854331e in 6.1.53, the v6.10
// __filemap_add_folio fix in 6.1.113). Default is mainline, whose
// variants are all zero: the current, fixed code.
//
// The table also lists the behaviours that changed between these
// releases but that the model cannot switch yet (Modelled false): every
// profile runs the model's one form of them, which is mainline's unless
// the row says otherwise. A profile therefore reproduces a release only
// in the modelled rows.
//
// Protocol breaks (xarray.VariantNoGracePeriod, VariantMarksAfterNull,
// filemap.VariantNoReloadCheck, VariantSplitNoFreeze) are deliberate
// mistakes, not kernel behaviour, and are in no profile.
//
// filemap.VariantSplitCurrentFolio (folio_split filling the slots with the
// split-off folio, bugs.md B3) is in the v6.15 profile only: folio_split
// (00527733d0dc) first shipped in v6.15 with the bug, and its fix
// 577a1f495fd7 came in 2026; the releases before v6.15 have no
// folio_split at all, so the variant does not apply to them, and
// mainline has the fix.
package kernel

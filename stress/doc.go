// SPDX-License-Identifier: GPL-2.0-or-later

// Package stress reproduces kernel page-cache and XArray bugs in userspace.
// Each Scenario models one bug (or one break of the page-cache protocol)
// with a buggy and a fixed variant, a workload shaped like the bug's
// reproducer, and checkers that report a violation the way the kernel
// would: what broke, where, a dump_page of the folio and the scenario,
// variant and seed that replay it.
//
// How the pieces fit: a Scenario builds its objects (a memmap, files, an
// XArray) with the variant's options, starts its workers through a run,
// which derives a seed per goroutine from the run's seed, recovers kernel
// BUGs (panics) as violations and stops at the first violation or at the
// deadline. Checkers are shared: every lookup result is checked (live,
// this file's, containing the index, not a movable-ops page); the page
// cache and its XArray are validated under the lock while the workload
// runs; bad_page reports at free and livelocked lookups are violations.
// Race windows named in bugs.md can be widened with internal/inject.
//
// Workloads (pagecache-mix, xarray-mix) are Scenarios with only a fixed
// variant: every path of the page cache, or every write of the XArray's
// normal API, at once against lockless readers, with the same checkers.
// They look for the bug that has no scenario yet; a test runs them with
// the scenarios' bugs to show that they would catch those.
package stress

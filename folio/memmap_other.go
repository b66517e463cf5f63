// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package folio

// adviseHuge is a no-op where madvise is not available.
func adviseHuge([]page) {}

// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import "testing"

// With 64 KiB pages the page cache before 099d90642a71 makes order-13
// folios, and punching a hole in one hits the WARN in xas_split_alloc:
// the buggy form and the fixed form run as v6.6 both do. v6.10 caps the
// order at 11, which splits: it runs clean.
// Either order over the limit (12 or 13) meets the WARN.
func TestMaxPageCacheOrder(t *testing.T) {
	s := lookupScenario(t, "max-pagecache-order")
	mustCatch(t, s, Buggy, nil, "WARNING in xas_split_alloc: split_huge_page of an order-1")                // order 12 or 13: both over the limit
	mustCatch(t, s, Fixed, profile(t, "v6.6"), "WARNING in xas_split_alloc: split_huge_page of an order-1") // order 12 or 13: both over the limit
	mustRunClean(t, s, profile(t, "v6.10"))
}

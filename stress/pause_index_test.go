// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import "testing"

// cachestat over a range that starts in the first slot of a large folio
// undercounts when it pauses there with xas_pause before c9ba5249ef8b:
// the buggy form and the fixed form run as v6.10 both do; as v6.14 the
// counts are right.
func TestPauseUnalignedIndex(t *testing.T) {
	s := lookupScenario(t, "pause-unaligned-index")
	mustCatch(t, s, Buggy, nil, "cachestat counted")
	mustCatch(t, s, Fixed, profile(t, "v6.10"), "cachestat counted")
	mustRunClean(t, s, profile(t, "v6.14"))
}

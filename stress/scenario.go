// SPDX-License-Identifier: GPL-2.0-or-later

package stress

import (
	"fmt"
	"slices"
	"time"
)

// Scenario is one modelled kernel bug, or one break of the page-cache
// protocol, with its buggy and fixed variants.
type Scenario struct {
	Name    string // what xabench repro takes
	Commit  string // the fix, or "protocol" for a deliberate break
	Summary string // one line
	Points  []Point
	Plain   bool // a workload (see Workloads): it has no buggy variant
	// LastBuggy and FirstFixed name the kernel profiles (package kernel)
	// of the last modelled release with the bug and the first with its
	// fix, for a real bug; "" for a protocol break or a workload. The
	// buggy variant is the short form of "the fixed form run as
	// LastBuggy", with only this bug's variant instead of all of that
	// release's; the fixed variant is mainline's code.
	LastBuggy, FirstFixed string
	// FirstBuggy names the first modelled release with the bug, where
	// the code that has it came after v6.1 (""). xabench repro --matrix
	// expects the bug from FirstBuggy to LastBuggy.
	FirstBuggy string
	run        func(r *run) (teardown func())
}

// Point is an injection point a scenario widens, and how.
type Point struct {
	Name  string
	Prob  float64
	Delay time.Duration // 0: yield
}

// Scenarios returns every scenario, in the order bugs.md gives them.
func Scenarios() []*Scenario { return slices.Clone(scenarios) }

// Lookup returns the named scenario or workload.
func Lookup(name string) (*Scenario, error) {
	all := append(Scenarios(), workloads...)
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("stress: no scenario %q (have %v)", name, names)
}

var scenarios = []*Scenario{
	{
		Name:    "b1-add-folio-split",
		Commit:  "6758c1128ceb (v6.10; 6.1.y 359efdbf62f3)",
		Summary: "__filemap_add_folio splits a shadow with nodes prefilled for an entry read before the lock (the 6.1 XFS large-folio corruption)",
		Points: []Point{
			{"filemap.add61.after-split-alloc", 1, 200 * time.Microsecond},
			{"filemap.add.before-lock", 1, 200 * time.Microsecond},
		},
		LastBuggy:  "v6.6",
		FirstFixed: "v6.10",
		run:        runB1,
	},
	{
		Name:       "b2-load-sibling",
		Commit:     "cbc02854331e (6.1.53)",
		Summary:    "xas_descend follows a sibling once, so xa_load returns a sibling entry while xa_store_range re-lays the range",
		Points:     []Point{{"xarray.descend.sibling-hop", 0.5, 0}},
		LastBuggy:  "v6.1",
		FirstFixed: "v6.6",
		run:        runB2,
	},
	{
		Name:       "find-marked-sibling",
		Commit:     "7e060df04f56 (v6.14)",
		Summary:    "xas_find_marked returns a sibling entry when xa_store_range turns the marked offset it picked into one",
		LastBuggy:  "v6.10",
		FirstFixed: "v6.14",
		run:        runFindMarkedSibling,
	},
	{
		Name:    "b3-folio-split",
		Commit:  "577a1f495fd7",
		Summary: "folio_split fills the slots with the split-off folio, so a speculative lookup gets a folio that does not contain its index",
		Points: []Point{
			{"filemap.split.between-pieces", 1, 0},
		},
		FirstBuggy: "v6.15", // folio_split and xas_try_split came in v6.15
		LastBuggy:  "v6.15",
		FirstFixed: "mainline",
		run:        runB3,
	},
	{
		Name:       "contig-sibling",
		Commit:     "c225c4f6056b (v6.12; 6.11.y)",
		Summary:    "filemap_get_folios_contig, started in a large folio or stepping through one, takes the sibling entry xas_next returns for a folio: a NULL pointer dereference (memfd_pin_folios)",
		Points:     []Point{{"filemap.contig.before-next", 0.2, 0}},
		LastBuggy:  "v6.10",
		FirstFixed: "v6.14",
		run:        runContigSibling,
	},
	{
		Name:       "pause-unaligned-index",
		Commit:     "c9ba5249ef8b (v6.14)",
		Summary:    "xas_pause keeps the low bits of an index in the middle of a multi-index entry, so a paused walk resumes past entries: cachestat undercounts a range that starts in a large folio",
		LastBuggy:  "v6.10",
		FirstFixed: "v6.14",
		run:        runPauseUnalignedIndex,
	},
	{
		Name:       "max-pagecache-order",
		Commit:     "099d90642a71 (v6.10; with 1f789a45c3f1, 3390916aca7a)",
		Summary:    "with 64 KiB pages MAX_PAGECACHE_ORDER is the PMD order, 13, and splitting such a folio (a hole punched in it) fails in xas_split_alloc with a WARN and -ENOMEM",
		LastBuggy:  "v6.6",
		FirstFixed: "v6.10",
		run:        runMaxPageCacheOrder,
	},
	{
		Name:    "lookup-no-reload",
		Commit:  "protocol",
		Summary: "filemap_get_entry without the xas_reload check after folio_try_get returns a reused page",
		Points:  []Point{{"filemap.lookup.before-try-get", 1, 100 * time.Microsecond}},
		run:     runNoReload,
	},
	{
		Name:    "node-reuse-no-gp",
		Commit:  "protocol",
		Summary: "XArray nodes reused without an RCU grace period: a lockless reader walks a node of another tree",
		run:     runNodeReuse,
	},
	{
		Name:    "split-no-freeze",
		Commit:  "protocol",
		Summary: "split_huge_page without folio_ref_freeze: a lookup takes the head while the slots of its tails still show it",
		Points:  []Point{{"filemap.split.between-pieces", 1, 0}},
		run:     runSplitNoFreeze,
	},
	{
		Name:    "marks-after-null",
		Commit:  "protocol",
		Summary: "xas_store clears marks after storing NULL, so a reader sees a marked NULL entry",
		Points:  []Point{{"xarray.marks-after-null", 1, 0}},
		run:     runMarksAfterNull,
	},
}

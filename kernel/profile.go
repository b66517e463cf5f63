// SPDX-License-Identifier: GPL-2.0-or-later

package kernel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// Profile is one kernel release as the model runs it: the variants that
// give each package that release's behaviour. Build objects with
// xarray.WithVariant(p.XArray) and filemap.WithVariant(p.Filemap).
type Profile struct {
	Name    string // "v6.1", ..., "mainline": what Lookup takes and the CLI prints
	Release string // which tree exactly, in words
	XArray  xarray.Variant
	Filemap filemap.Variant
}

func (p Profile) String() string { return p.Name }

// mainline is the newest tree kernel/releases.md read (about v7.0).
const mainline = "mainline"

// profiles are the modelled releases, oldest first. Each one's variants
// are the modelled rows of behaviours whose old form the release has
// (see the release matrix in kernel/releases.md); profile_test.go checks
// that the two agree.
var profiles = []Profile{
	{
		Name:    "v6.1",
		Release: "6.1.0, the base release (6.1.53 backported cbc02854331e, 6.1.113 the v6.10 __filemap_add_folio fix)",
		XArray: xarray.VariantSingleSiblingHop | xarray.VariantSplitAllocLoose | xarray.VariantSplitMarksAllSlots |
			xarray.VariantFindMarkedSiblings | xarray.VariantPauseUnmasked,
		Filemap: filemap.VariantAddFolio61 | filemap.VariantTruncateUniformSplit |
			filemap.VariantContigSibling | filemap.VariantContigNoAdvance | filemap.VariantMaxOrderPMD,
	},
	{
		Name:    "v6.6",
		Release: "6.6.0, the base release (6.6.54 backported the v6.10 __filemap_add_folio fix)",
		XArray: xarray.VariantSplitAllocLoose | xarray.VariantSplitMarksAllSlots |
			xarray.VariantFindMarkedSiblings | xarray.VariantPauseUnmasked,
		Filemap: filemap.VariantAddFolio61 | filemap.VariantTruncateUniformSplit |
			filemap.VariantContigSibling | filemap.VariantContigNoAdvance | filemap.VariantMaxOrderPMD,
	},
	{
		Name:    "v6.10",
		Release: "6.10.0",
		XArray:  xarray.VariantSplitAllocLoose | xarray.VariantFindMarkedSiblings | xarray.VariantPauseUnmasked,
		Filemap: filemap.VariantAddFolioSplitAlloc | filemap.VariantTruncateUniformSplit |
			filemap.VariantContigSibling | filemap.VariantContigNoAdvance,
	},
	{
		Name:    "v6.14",
		Release: "6.14.0",
		Filemap: filemap.VariantAddFolioSplitAlloc | filemap.VariantTruncateUniformSplit | filemap.VariantContigNoAdvance,
	},
	{
		Name:    "v6.15",
		Release: "6.15.0",
		Filemap: filemap.VariantSplitCurrentFolio,
	},
	{
		Name:    mainline,
		Release: "the newest tree read for kernel/releases.md (about v7.0): the model's default, fixed code",
	},
}

// Default is the profile objects get when none is asked for: mainline,
// with every variant zero.
var Default = profiles[len(profiles)-1]

// Profiles returns every profile, oldest release first.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	copy(out, profiles)
	return out
}

// Names returns the profiles' names, oldest release first.
func Names() []string {
	var names []string
	for _, p := range profiles {
		names = append(names, p.Name)
	}
	return names
}

// Lookup returns the profile of a release: "v6.1", "6.1", "6.1.0" and
// "V6.1" all name the v6.1 profile; "mainline" (or "ml") names Default.
// A stable point release such as "6.1.53" is not a profile.
func Lookup(name string) (Profile, error) {
	s := strings.ToLower(strings.TrimSpace(name))
	switch s {
	case mainline, "ml":
		return Default, nil
	}
	s = strings.TrimPrefix(s, "v")
	s = strings.TrimSuffix(s, ".0")
	if strings.Count(s, ".") == 1 {
		for _, p := range profiles {
			if p.Name == "v"+s {
				return p, nil
			}
		}
	}
	return Profile{}, fmt.Errorf("kernel: no profile %q (have %s)", name, strings.Join(Names(), ", "))
}

// Behaviour is one kernel behaviour that changed between the modelled
// releases (or that a profile might be expected to change), one row of
// the table in kernel/releases.md.
type Behaviour struct {
	Name           string // what changed, in a few words
	KernelFunction string // where, in the kernel
	Commit         string // the commit that changed it (its first mainline id)
	IntroducedIn   string // the release that brought the old form; "" if older than v6.1
	FixedIn        string // the first release with the new form; "" if unchanged from v6.1 to mainline
	// XArray and Filemap are the variants that select the old form, for
	// a modelled behaviour; zero otherwise.
	XArray  xarray.Variant
	Filemap filemap.Variant
	// Modelled says that the model can run both forms and the profiles
	// select them. When false, every profile runs the model's one form.
	Modelled bool
	// AsKernel says, for a behaviour that is not Modelled because it did
	// not change, that the model's one form is the kernel's (the table
	// then says so instead of "not modelled").
	AsKernel bool
	Note     string // one line
}

var behaviours = []Behaviour{
	{
		Name: "load follows siblings in a loop", KernelFunction: "xas_descend",
		Commit: "cbc02854331e", FixedIn: "v6.6", XArray: xarray.VariantSingleSiblingHop, Modelled: true,
		Note: "before: one hop, so xa_load can return a sibling (b2-load-sibling); 6.1.y from 6.1.53",
	},
	{
		Name: "split marks only canonical slots", KernelFunction: "xas_split (node_mark_slots)",
		Commit: "2a0774c2886d", FixedIn: "v6.9", XArray: xarray.VariantSplitMarksAllSlots, Modelled: true,
		Note: "before: a marked entry's child node gets the mark in all 64 slots, siblings included",
	},
	{
		Name: "split_alloc too-large guard is <=", KernelFunction: "xas_split_alloc",
		Commit: "97db889b961e", FixedIn: "v6.14", XArray: xarray.VariantSplitAllocLoose, Modelled: true,
		Note: "before: a split of exactly two levels passes the WARN and splits one level only",
	},
	{
		Name: "find_marked skips siblings", KernelFunction: "xas_find_marked",
		Commit: "7e060df04f56", FixedIn: "v6.14", XArray: xarray.VariantFindMarkedSiblings, Modelled: true,
		Note: "before: a marked slot turned sibling by a racing store is returned",
	},
	{
		Name: "pause masks the index", KernelFunction: "xas_pause",
		Commit: "c9ba5249ef8b", FixedIn: "v6.14", XArray: xarray.VariantPauseUnmasked, Modelled: true,
		Note: "before: an unaligned index survives the pause and the walk can skip an entry (pause-unaligned-index: cachestat undercounts)",
	},
	{
		Name: "contig stops at a sibling", KernelFunction: "filemap_get_folios_contig",
		Commit: "c225c4f6056b", FixedIn: "v6.12", Filemap: filemap.VariantContigSibling, Modelled: true,
		Note: "before: folio_try_get on a sibling entry met inside a large folio, a NULL pointer dereference (contig-sibling); " +
			"the code came in v6.0 (35b471467f88), memfd_pin_folios (v6.11) was the first caller to meet it; 6.11.y backport",
	},
	{
		Name: "contig steps over each folio", KernelFunction: "filemap_get_folios_contig",
		Commit: "8ab1b1602396", FixedIn: "v6.15", Filemap: filemap.VariantContigNoAdvance, Modelled: true,
		Note: "before: xas_next visits every index of a large folio and the batch holds the folio once per index visited; callers skip the repeats; 6.12.y backport",
	},
	{
		Name: "page cache order at most 11", KernelFunction: "MAX_PAGECACHE_ORDER",
		Commit: "099d90642a71, 1f789a45c3f1, 3390916aca7a", FixedIn: "v6.10", Filemap: filemap.VariantMaxOrderPMD, Modelled: true,
		Note: "before: HPAGE_PMD_ORDER, 13 with 64 KiB pages, beyond what xas_split_alloc splits (max-pagecache-order); " +
			"no effect with 4 KiB pages; 9fd154ba926b did the same for shmem (not modelled)",
	},
	{
		Name: "add re-checks the split under the lock", KernelFunction: "__filemap_add_folio",
		Commit: "6758c1128ceb, de60fd8ddeda, a4864671ca0b", FixedIn: "v6.10", Filemap: filemap.VariantAddFolio61, Modelled: true,
		Note: "before: nodes prefilled from an unlocked walk (b1-add-folio-split); 6.1.y from 6.1.113, 6.6.y from 6.6.54",
	},
	{
		Name: "folio_split fills slots with the frozen folio", KernelFunction: "__split_unmapped_folio (xas_try_split)",
		Commit: "577a1f495fd7", IntroducedIn: "v6.15", FixedIn: mainline, Filemap: filemap.VariantSplitCurrentFolio, Modelled: true,
		Note: "folio_split (00527733d0dc) shipped in v6.15 with the bug (b3-folio-split); fixed in 2026, release not verified",
	},
	{
		Name: "update_node counting", KernelFunction: "xas_store / update_node",
		Commit: "-", Modelled: false, AsKernel: true,
		Note: "same per-slot formula in every release, and every profile runs it, nr_values drift included; " +
			"xarray.VariantExactNrValues is a correction that no profile sets",
	},
	{
		Name: "preallocation chain", KernelFunction: "xas_split_alloc / xas_alloc / xas_nomem / xas_destroy",
		Commit: "-", Modelled: false, AsKernel: true,
		Note: "same discipline in every release, and every profile runs it: xas_alloc drops the rest of the chain " +
			"(counted by XArray.PreallocLeaked); v6.15's xas_try_split (3fec86f8aa8c) uses at most one node",
	},
	{
		Name: "split marks via xas_try_split", KernelFunction: "xas_try_split",
		Commit: "3fec86f8aa8c", IntroducedIn: "v6.15", FixedIn: "v6.15", Modelled: false,
		Note: "xas_try_split came in v6.15, marking canonical slots; the model's TrySplit exists in every profile",
	},
	{
		Name: "add splits with an xas_try_split loop", KernelFunction: "__filemap_add_folio",
		Commit: "200a89c159a7", IntroducedIn: "v6.10", FixedIn: "v6.15", Filemap: filemap.VariantAddFolioSplitAlloc, Modelled: true,
		Note: "before: the whole shadow split at once with nodes from xas_split_alloc outside the lock; " +
			"after: only the piece that holds the index, one node at most, under the lock; before v6.10 the 6.1 form runs (row above)",
	},
	{
		Name: "truncate splits with folio_split", KernelFunction: "truncate_inode_partial_folio",
		Commit: "7460b470a131", FixedIn: "v6.15", Filemap: filemap.VariantTruncateUniformSplit, Modelled: true,
		Note: "before: uniform split_folio to single pages; v6.15 also has 66f28ffb38cc (no second split at the folio's end); " +
			"mainline's folio_split_or_unmap unmaps on failure (not modelled)",
	},
	{
		Name: "workingset shadow nodes", KernelFunction: "workingset_update_node / shadow_lru_isolate",
		Commit: "-", Modelled: false, AsKernel: true,
		Note: "same rule in every release (list_lru API changed about v6.8); modelled in every profile by filemap's update callback, per-memmap shadow-node list and shrinker",
	},
}

// Behaviours returns the table: every behaviour, modelled or not.
func Behaviours() []Behaviour {
	out := make([]Behaviour, len(behaviours))
	copy(out, behaviours)
	return out
}

// version orders release names: "v6.9" is (6, 9); mainline is after
// every numbered release; "" is before all (for IntroducedIn).
func version(name string) int {
	if name == mainline {
		return 1 << 30
	}
	if name == "" {
		return -1
	}
	maj, min, ok := strings.Cut(strings.TrimPrefix(name, "v"), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		panic("kernel: bad release name " + name)
	}
	return a*1000 + b
}

// HasOld reports whether release p has b's old form: p is at or after
// b.IntroducedIn and before b.FixedIn.
func (b Behaviour) HasOld(p Profile) bool {
	if b.FixedIn == "" {
		return false
	}
	v := version(p.Name)
	return version(b.IntroducedIn) <= v && v < version(b.FixedIn)
}

// Markdown renders the table: a row per behaviour and a column per
// profile saying which form that release has ("old" or "new"; in
// parentheses when the model does not switch it, so every profile runs
// one form; "same" when it did not change).
func Markdown() string {
	var b strings.Builder
	b.WriteString("| behaviour | kernel function | commit | fixed in |")
	for _, p := range profiles {
		b.WriteString(" " + p.Name + " |")
	}
	b.WriteString(" variant |\n|---|---|---|---|")
	for range profiles {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, r := range behaviours {
		fixed := r.FixedIn
		if fixed == "" {
			fixed = "-"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |", r.Name, r.KernelFunction, r.Commit, fixed)
		for _, p := range profiles {
			cell := "new"
			switch {
			case r.FixedIn == "":
				cell = "same"
			case version(p.Name) < version(r.IntroducedIn):
				cell = "-"
			case r.HasOld(p):
				cell = "old"
			}
			if !r.Modelled && cell != "same" && cell != "-" {
				cell = "(" + cell + ")"
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		fmt.Fprintf(&b, " %s |\n", variantName(r))
	}
	b.WriteString("\nold: the release has the behaviour before the commit, and its profile selects the variant; " +
		"new: it has the commit; -: the function is not in that release; " +
		"(old)/(new): not modelled, every profile runs the model's one form; same: unchanged from v6.1 to mainline. " +
		"Profiles are base releases (v6.1 is 6.1.0); protocol-break variants are in no profile.\n")
	return b.String()
}

func variantName(r Behaviour) string {
	if !r.Modelled {
		if r.AsKernel {
			return "as the kernel, in every profile"
		}
		return "not modelled"
	}
	var names []string
	for _, x := range xarrayNames {
		if r.XArray&x.v != 0 {
			names = append(names, "xarray."+x.name)
		}
	}
	if r.Filemap&filemap.VariantAddFolio61 != 0 {
		names = append(names, "filemap.VariantAddFolio61")
	}
	if r.Filemap&filemap.VariantSplitCurrentFolio != 0 {
		names = append(names, "filemap.VariantSplitCurrentFolio")
	}
	if r.Filemap&filemap.VariantAddFolioSplitAlloc != 0 {
		names = append(names, "filemap.VariantAddFolioSplitAlloc")
	}
	if r.Filemap&filemap.VariantTruncateUniformSplit != 0 {
		names = append(names, "filemap.VariantTruncateUniformSplit")
	}
	if r.Filemap&filemap.VariantContigSibling != 0 {
		names = append(names, "filemap.VariantContigSibling")
	}
	if r.Filemap&filemap.VariantContigNoAdvance != 0 {
		names = append(names, "filemap.VariantContigNoAdvance")
	}
	if r.Filemap&filemap.VariantMaxOrderPMD != 0 {
		names = append(names, "filemap.VariantMaxOrderPMD")
	}
	return strings.Join(names, ", ")
}

// xarrayNames names the xarray variants that profiles use.
var xarrayNames = []struct {
	v    xarray.Variant
	name string
}{
	{xarray.VariantSingleSiblingHop, "VariantSingleSiblingHop"},
	{xarray.VariantSplitMarksAllSlots, "VariantSplitMarksAllSlots"},
	{xarray.VariantSplitAllocLoose, "VariantSplitAllocLoose"},
	{xarray.VariantFindMarkedSiblings, "VariantFindMarkedSiblings"},
	{xarray.VariantPauseUnmasked, "VariantPauseUnmasked"},
}

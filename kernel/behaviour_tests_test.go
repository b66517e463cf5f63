// SPDX-License-Identifier: GPL-2.0-or-later

package kernel

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// distinguishing names, for each modelled behaviour, tests that fail
// under one of its two forms and pass under the other: "pkg.TestName"
// for a test function of package xarray, filemap (folio/filemap) or
// stress, and "stress.TestName/scenario" for one scenario of a test that
// runs every scenario.
var distinguishing = map[string][]string{
	"load follows siblings in a loop": {
		"xarray.TestLoadRaceVariant61",   // load_race catches the single hop
		"stress.TestScenariosAsReleases", // b2-load-sibling as v6.1, clean as v6.14 and mainline
		"stress.TestScenarios/b2-load-sibling",
	},
	"split marks only canonical slots": {
		"xarray.TestVariantSplitMarksAllSlots",
		"xarray.TestVariantFindMarkedSiblings", // its "marks-only" row against mainline's
		"xarray.TestCheckSplit",                // ktSplitMarks, as each profile (TestXArrayProfiles)
	},
	"split_alloc too-large guard is <=": {
		"xarray.TestVariantSplitAllocLoose",
		"xarray.TestCheckSplit", // ktCheckSplitGuard, as each profile
	},
	"find_marked skips siblings": {
		"xarray.TestVariantFindMarkedSiblings", // with the v6.1 and v6.6 split marks
		"stress.TestScenarios/find-marked-sibling",
	},
	"pause masks the index": {
		"xarray.TestVariantPauseUnmasked",
		"xarray.TestCheckPause",              // the unaligned walk, as each profile
		"filemap.TestCachestatPauseUnmasked", // cachestat's undercount; TestCachestat has mainline's count
		"stress.TestPauseUnalignedIndex",     // caught as v6.10, clean as v6.14
		"stress.TestScenarios/pause-unaligned-index",
	},
	"add re-checks the split under the lock": {
		"filemap.TestAddFolio61LeavesStaleShadows",
		"stress.TestScenariosAsReleases", // b1-add-folio-split as v6.1, clean as v6.10
		"stress.TestScenarios/b1-add-folio-split",
	},
	"add splits with an xas_try_split loop": {
		"filemap.TestAddFolioSplitForms",              // what each form leaves of an order-9 shadow
		"filemap.TestAddFolioSplitAllocatesUnderLock", // where each form allocates its nodes
	},
	"truncate splits with folio_split": {
		"filemap.TestTruncateSplitForms", // the folios each form leaves
	},
	"contig stops at a sibling": {
		"filemap.TestGetFoliosContigSiblingOops", // the oops on a sibling; TestGetFoliosContig has mainline's batches
		"stress.TestContigSibling",               // caught as v6.10, clean as v6.14
		"stress.TestScenarios/contig-sibling",
	},
	"contig steps over each folio": {
		"filemap.TestGetFoliosContigNoAdvance", // a folio once per index; TestGetFoliosContig has mainline's batches
	},
	"page cache order at most 11": {
		"filemap.TestMaxOrder64K",      // the order-13 split with 64 KiB pages, refused before the cap
		"stress.TestMaxPageCacheOrder", // caught as v6.6, clean as v6.10
		"stress.TestScenarios/max-pagecache-order",
	},
	"folio_split fills slots with the frozen folio": {
		"stress.TestScenariosAsReleases", // b3-folio-split as v6.15, clean as mainline
		"stress.TestScenarios/b3-folio-split",
	},
}

// testPackages are where the named tests live, relative to this package.
var testPackages = map[string]string{
	"xarray":  filepath.Join("..", "xarray"),
	"filemap": filepath.Join("..", "folio", "filemap"),
	"stress":  filepath.Join("..", "stress"),
}

// pkgSource is what a package's files declare: its Test and Fuzz
// functions (and the test file of each), and the text of its non-test
// files.
type pkgSource struct {
	tests   map[string]string
	nonTest string
}

func parsePackage(t *testing.T, dir string) pkgSource {
	t.Helper()
	src := pkgSource{tests: map[string]string{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	for _, name := range names {
		if !strings.HasSuffix(name, "_test.go") {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			src.nonTest += string(b)
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if ok && fd.Recv == nil && (strings.HasPrefix(fd.Name.Name, "Test") || strings.HasPrefix(fd.Name.Name, "Fuzz")) {
				src.tests[fd.Name.Name] = filepath.Base(name)
			}
		}
	}
	return src
}

// Every modelled behaviour has a test that tells its two forms apart,
// and every such test named here exists, as does the scenario it names.
func TestBehavioursHaveDistinguishingTests(t *testing.T) {
	srcs := map[string]pkgSource{}
	for pkg, dir := range testPackages {
		srcs[pkg] = parsePackage(t, dir)
	}
	rows := map[string]bool{}
	for _, b := range Behaviours() {
		if !b.Modelled {
			if len(distinguishing[b.Name]) != 0 {
				t.Errorf("%q is not modelled, yet tests are listed for it", b.Name)
			}
			continue
		}
		rows[b.Name] = true
		if len(distinguishing[b.Name]) == 0 {
			t.Errorf("%q (%s): no test listed that tells its two forms apart", b.Name, variantName(b))
		}
		for _, ref := range distinguishing[b.Name] {
			pkg, rest, ok := strings.Cut(ref, ".")
			fn, scenario, _ := strings.Cut(rest, "/")
			src, known := srcs[pkg]
			switch {
			case !ok || !known:
				t.Errorf("%q: %q is not pkg.TestName of a known package", b.Name, ref)
			case src.tests[fn] == "":
				t.Errorf("%q: %s has no func %s(", b.Name, testPackages[pkg], fn)
			case scenario != "" && !strings.Contains(src.nonTest, `"`+scenario+`"`):
				t.Errorf("%q: %s has no scenario %q", b.Name, pkg, scenario)
			}
		}
	}
	for name := range distinguishing {
		if !rows[name] {
			t.Errorf("tests listed for %q, which is no modelled behaviour", name)
		}
	}

	// The variant tests, each of which runs a scenario under both forms
	// of one or more behaviours, are all listed.
	for fn, file := range srcs["xarray"].tests {
		if file != "variant_test.go" {
			continue
		}
		found := false
		for _, refs := range distinguishing {
			found = found || slices.Contains(refs, "xarray."+fn)
		}
		if !found {
			t.Errorf("xarray.%s (variant_test.go) is listed under no behaviour", fn)
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package kernel

import (
	"os"
	"strings"
	"testing"

	"github.com/xabench/xabench/folio/filemap"
	"github.com/xabench/xabench/xarray"
)

// Every modelled behaviour's variant is set in exactly the profiles of
// the releases that have its old form, and the profiles set no other
// bit: the hand-written profiles and the table agree.
func TestProfilesFollowTable(t *testing.T) {
	for _, p := range Profiles() {
		var xa xarray.Variant
		var fm filemap.Variant
		for _, b := range Behaviours() {
			if !b.Modelled {
				continue
			}
			old := b.HasOld(p)
			if got := p.XArray&b.XArray == b.XArray && p.Filemap&b.Filemap == b.Filemap; got != old {
				t.Errorf("%s: %q (fixed in %s): profile has the old form %v, table says %v", p, b.Name, b.FixedIn, got, old)
			}
			if old {
				xa |= b.XArray
				fm |= b.Filemap
			}
		}
		if p.XArray != xa || p.Filemap != fm {
			t.Errorf("%s: profile variants %#x/%#x, table gives %#x/%#x", p, p.XArray, p.Filemap, xa, fm)
		}
		breaks := xarray.VariantNoGracePeriod | xarray.VariantMarksAfterNull
		if p.XArray&breaks != 0 || p.Filemap&(filemap.VariantNoReloadCheck|filemap.VariantSplitNoFreeze) != 0 {
			t.Errorf("%s has a protocol-break variant", p)
		}
		// A correction of the kernel is no release's behaviour.
		if p.XArray&xarray.VariantExactNrValues != 0 {
			t.Errorf("%s has the nr_values correction, which no kernel has", p)
		}
	}
}

func TestTableRows(t *testing.T) {
	names := map[string]bool{}
	for _, b := range Behaviours() {
		if names[b.Name] {
			t.Errorf("behaviour %q twice", b.Name)
		}
		names[b.Name] = true
		if b.Name == "" || b.KernelFunction == "" || b.Commit == "" {
			t.Errorf("%+v: a row needs a name, a kernel function and a commit", b)
		}
		hasVariant := b.XArray != 0 || b.Filemap != 0
		if b.Modelled != hasVariant {
			t.Errorf("%q: modelled %v but variants %#x/%#x", b.Name, b.Modelled, b.XArray, b.Filemap)
		}
		if b.Modelled && b.FixedIn == "" {
			t.Errorf("%q: modelled but never fixed", b.Name)
		}
		for _, r := range []string{b.IntroducedIn, b.FixedIn} {
			if r != "" {
				version(r) // panics on a bad name
			}
		}
		if b.Modelled {
			// Each modelled row has one variant bit: the profiles are
			// built from rows, so two rows must not share one.
			bits := 0
			for v := b.XArray; v != 0; v &= v - 1 {
				bits++
			}
			for v := b.Filemap; v != 0; v &= v - 1 {
				bits++
			}
			if bits != 1 {
				t.Errorf("%q: %d variant bits, want 1", b.Name, bits)
			}
		}
	}
	for _, want := range []string{"update_node counting", "preallocation chain", "split marks via xas_try_split",
		"add splits with an xas_try_split loop", "truncate splits with folio_split", "workingset shadow nodes"} {
		if !names[want] {
			t.Errorf("the table lacks %q", want)
		}
	}
}

func TestDefault(t *testing.T) {
	if Default.Name != "mainline" || Default.XArray != 0 || Default.Filemap != 0 {
		t.Errorf("Default = %+v, want mainline with no variant", Default)
	}
	ps := Profiles()
	if ps[len(ps)-1] != Default {
		t.Error("mainline is not the last profile")
	}
	want := []string{"v6.1", "v6.6", "v6.10", "v6.14", "v6.15", "mainline"}
	if got := strings.Join(Names(), " "); got != strings.Join(want, " ") {
		t.Errorf("profiles %s, want %s", got, strings.Join(want, " "))
	}
	for i := 1; i < len(ps); i++ {
		if version(ps[i-1].Name) >= version(ps[i].Name) {
			t.Errorf("%s before %s", ps[i-1], ps[i])
		}
	}
}

func TestLookup(t *testing.T) {
	for in, want := range map[string]string{
		"v6.1": "v6.1", "6.1": "v6.1", "6.1.0": "v6.1", "V6.1": "v6.1", " v6.6 ": "v6.6",
		"6.10": "v6.10", "v6.14": "v6.14", "6.15": "v6.15", "mainline": "mainline", "ML": "mainline",
	} {
		p, err := Lookup(in)
		if err != nil || p.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "v9.9", "6", "6.1.53", "v6.10.1", "6.1x", "v", "mainline2", "v6.1.0.0", "v6.01"} {
		if p, err := Lookup(in); err == nil {
			t.Errorf("Lookup(%q) = %v, want an error", in, p)
		} else if !strings.Contains(err.Error(), "v6.1, v6.6, v6.10, v6.14, v6.15, mainline") {
			t.Errorf("Lookup(%q): %v does not list the profiles", in, err)
		}
	}
}

func TestMarkdown(t *testing.T) {
	md := Markdown()
	for _, b := range Behaviours() {
		if !strings.Contains(md, "| "+b.Name+" |") {
			t.Errorf("the Markdown table lacks %q", b.Name)
		}
	}
	for _, want := range []string{"| load follows siblings in a loop | `xas_descend` | cbc02854331e | v6.6 | old | new | new | new | new | new | xarray.VariantSingleSiblingHop |",
		"| folio_split fills slots with the frozen folio |", "| - | - | - | - | old | new | filemap.VariantSplitCurrentFolio |",
		"not modelled"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown table lacks %q:\n%s", want, md)
		}
	}
	t.Log("\n" + md)
}

// README.md shows the table as Markdown renders it.
func TestReadmeTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Markdown()) {
		t.Error("README.md's kernel table differs from kernel.Markdown(): paste `xabench repro --kernels` into it")
	}
}

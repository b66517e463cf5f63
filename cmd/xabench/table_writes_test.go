// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xabench/xabench/bench"
)

// writeResults returns the results of write workloads on 2 goroutines:
// for each op, the listed competitors' runs.
func writeResults(runs map[bench.Op]map[string][]float64) *bench.Results {
	r := &bench.Results{Suite: "mix", Machine: "test", Count: len(baseRuns), Benchtime: "100ms"}
	for _, op := range bench.WriteOps {
		for _, c := range bench.Competitors() {
			ns, ok := runs[op][c.Name]
			if !ok {
				continue
			}
			w := bench.Workload{Keys: bench.KeySet{Layout: bench.Dense, N: 1 << 20}, Access: bench.Uniform, Op: op, Procs: 2}
			cell := bench.Cell{Workload: w, Competitor: c}
			cr := &bench.CellResult{Name: cell.Name(), Procs: 2, Impl: c.Name, Label: c.Name + " " + string(op),
				Layout: bench.Dense, N: 1 << 20, Access: bench.Uniform, Op: op}
			for _, v := range ns {
				cr.Runs = append(cr.Runs, bench.RunResult{NsPerOp: v, MopsPerSec: 1e3 / v})
			}
			r.Cells = append(r.Cells, cr)
		}
	}
	return r
}

// A write workload's table has a row per competitor, with its time over
// xsync.MapOf's Store's on the same goroutines, run by run; a workload
// without that row (the XArray's storerange) shows the Store row last, for
// scale; the lookup tables' "÷ xarray" and B/entry are not there.
func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	writeResultsTable(&b, writeResults(map[bench.Op]map[string][]float64{
		bench.OpStore:      {"xarray": scaled(baseRuns, 0.5), "xsync.MapOf": baseRuns, "sync.Map": varied(baseRuns, straddle)},
		bench.OpErase:      {"xarray": scaled(baseRuns, 3), "xsync.MapOf": scaled(baseRuns, 2)},
		bench.OpStoreRange: {"xarray": scaled(baseRuns, 40)},
	}))
	out := b.String()
	for _, want := range []string{
		"÷ xsync.MapOf Store: in the write workloads, the same over xsync.MapOf Store's on the same goroutines",
		"dense 1M keys, uniform random, writes only: store of the key's own value, 2 goroutines",
		"dense 1M keys, uniform random, writes only: erase and store back, ns per pair, 2 goroutines",
		"writes only: StoreRange of 64 keys (order 6), Erase, 64 Stores back, ns per sequence, 2 goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "B/entry") || strings.Contains(out, "target") {
		t.Errorf("a write table with B/entry or a lookup target:\n%s", out)
	}
	sections := strings.Split(out, "\n\n")
	section := func(op bench.Op) string {
		for _, s := range sections {
			if strings.Contains(s, "writes only: "+op.Describe()) {
				return s
			}
		}
		t.Fatalf("no section for %s:\n%s", op, out)
		return ""
	}
	for _, c := range []struct {
		op                 bench.Op
		prefix, want, omit string
	}{
		{bench.OpStore, "competitor ", "÷ xsync.MapOf Store", ""},
		{bench.OpStore, "xarray store ", "0.50 ±0%", bench.NotSignificant},
		{bench.OpStore, "xsync.MapOf store ", "1.00", "(for scale)"},
		{bench.OpStore, "sync.Map store ", bench.NotSignificant, ""},
		{bench.OpErase, "xarray erase ", "3.00 ±0%", ""},
		{bench.OpErase, "xsync.MapOf erase ", "2.00 ±0%", ""},
		{bench.OpErase, "xsync.MapOf store (for scale) ", "1.00", ""},
		{bench.OpStoreRange, "xarray storerange ", "40.00 ±0%", ""},
		{bench.OpStoreRange, "xsync.MapOf store (for scale) ", "1.00", ""},
	} {
		line := lineStarting(section(c.op), c.prefix)
		if !strings.Contains(line, c.want) || c.omit != "" && strings.Contains(line, c.omit) {
			t.Errorf("%s, line %q: %q; want %q, not %q\n%s", c.op, c.prefix, line, c.want, c.omit, out)
		}
	}

	// Without the reference the ratio column says so.
	b.Reset()
	writeResultsTable(&b, writeResults(map[bench.Op]map[string][]float64{bench.OpStoreRange: {"xarray": baseRuns}}))
	if line := lineStarting(b.String(), "xarray storerange "); !strings.Contains(line, "—") {
		t.Errorf("no reference: %q\n%s", line, b.String())
	}
}

// A run whose write workloads lost a key says so under the tables.
func TestWriteTableBroken(t *testing.T) {
	r := writeResults(map[bench.Op]map[string][]float64{bench.OpErase: {"sync.Map": baseRuns}})
	r.Broken = []string{"keys=dense/n=1M/impl=sync.Map: 1 of 1048576 keys lost their value (key 1 holds 0)"}
	var b bytes.Buffer
	writeResultsTable(&b, r)
	if !strings.Contains(b.String(), "BROKEN: after the write workloads, in keys=dense/n=1M/impl=sync.Map: 1 of 1048576 keys") {
		t.Errorf("no BROKEN line:\n%s", b.String())
	}
}

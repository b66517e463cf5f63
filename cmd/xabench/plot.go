// SPDX-License-Identifier: GPL-2.0-or-later

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xabench/xabench/bench"
)

func newPlotFlags(stderr io.Writer) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("i", "results/baseline", "read the *.json results in `dir`")
	out := fs.String("o", "", "write the charts into `dir` (default: the -i directory)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: xabench plot [-i DIR] [-o DIR]

Draws charts, in SVG and PNG, from the JSON results that "xabench bench -o DIR"
writes: throughput against goroutines per competitor (for workloads run on
several goroutine counts), latency CDFs per competitor, and bytes per entry.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, in, out
}

func plotFlags(stderr io.Writer) *flag.FlagSet {
	fs, _, _ := newPlotFlags(stderr)
	return fs
}

func plotMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, in, out := newPlotFlags(stderr)
	if rc := parseFlags(fs, args); rc >= 0 {
		return rc
	}
	if *out == "" {
		*out = *in
	}
	files, err := filepath.Glob(filepath.Join(*in, "*.json"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no *.json results in %s", *in)
	}
	if err != nil {
		fmt.Fprintf(stderr, "xabench plot: %v\n", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "xabench plot: %v\n", err)
		return 1
	}
	var written []string
	for _, f := range files {
		r, err := bench.ReadJSON(f)
		if err != nil {
			fmt.Fprintf(stderr, "xabench plot: %v\n", err)
			return 2
		}
		names, err := plotResults(r, *out)
		if err != nil {
			fmt.Fprintf(stderr, "xabench plot: %v\n", err)
			return 1
		}
		written = append(written, names...)
	}
	for _, n := range written {
		fmt.Fprintln(stdout, n)
	}
	return 0
}

// competitorIndex gives each competitor a fixed color and glyph across
// charts.
func competitorIndex(impl string) int {
	return slices.IndexFunc(bench.Competitors(), func(c *bench.Competitor) bool { return c.Name == impl })
}

// slug names a workload in a file name: dense-1M-rand-read100, or
// dense-1M-rand-erase for a write workload.
func slug(wl bench.Workload) string {
	if wl.Op != "" {
		return fmt.Sprintf("%s-%s-%s-%s", wl.Keys.Layout, bench.SizeName(wl.Keys.N), wl.Access, wl.Op)
	}
	return fmt.Sprintf("%s-%s-%s-read%d", wl.Keys.Layout, bench.SizeName(wl.Keys.N), wl.Access, wl.ReadPct)
}

// plotResults draws the charts of one results file into dir and returns
// the files written.
func plotResults(r *bench.Results, dir string) ([]string, error) {
	// Workloads without the goroutine count, in order of first appearance.
	var order []bench.Workload
	by := map[bench.Workload][]*bench.CellResult{}
	for _, c := range r.Cells {
		wl := c.Workload()
		wl.Procs = 0
		if _, ok := by[wl]; !ok {
			order = append(order, wl)
		}
		by[wl] = append(by[wl], c)
	}
	var written []string
	save := func(p *plot.Plot, name string, w, h vg.Length) error {
		for _, ext := range []string{"svg", "png"} {
			wt, err := p.WriterTo(w, h, ext)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if _, err := wt.WriteTo(&b); err != nil {
				return err
			}
			path := filepath.Join(dir, name+"."+ext)
			if err := bench.WriteFileAtomic(path, b.Bytes()); err != nil {
				return err
			}
			written = append(written, path)
		}
		return nil
	}
	for _, wl := range order {
		cells := by[wl]
		title := workloadTitle(cells[0])
		title = title[:strings.LastIndex(title, ", ")]
		if p, ok, err := throughputPlot(cells, title); err != nil {
			return nil, err
		} else if ok {
			if err := save(p, r.Suite+"-throughput-"+slug(wl), 7*vg.Inch, 4.5*vg.Inch); err != nil {
				return nil, err
			}
		}
		p, procs, err := latencyPlot(cells, title)
		if err != nil {
			return nil, err
		}
		if p != nil {
			if err := save(p, fmt.Sprintf("%s-latency-%s-%d", r.Suite, slug(wl), procs), 7*vg.Inch, 4.5*vg.Inch); err != nil {
				return nil, err
			}
		}
	}
	p, err := bytesPlot(r)
	if err != nil {
		return nil, err
	}
	if p != nil {
		if err := save(p, r.Suite+"-bytes-per-entry", 7*vg.Inch, 4.5*vg.Inch); err != nil {
			return nil, err
		}
	}
	return written, nil
}

// throughputPlot draws Mops/s against goroutines, one line per
// competitor, if the cells hold more than one goroutine count.
func throughputPlot(cells []*bench.CellResult, title string) (*plot.Plot, bool, error) {
	var impls []string
	procs := map[int]bool{}
	byImpl := map[string][]*bench.CellResult{}
	for _, c := range cells {
		if _, ok := byImpl[c.Impl]; !ok {
			impls = append(impls, c.Impl)
		}
		byImpl[c.Impl] = append(byImpl[c.Impl], c)
		procs[c.Procs] = true
	}
	if len(procs) < 2 {
		return nil, false, nil
	}
	p := plot.New()
	p.Title.Text = "Throughput: " + title
	p.X.Label.Text = "goroutines (GOMAXPROCS)"
	p.Y.Label.Text = "Mops/s (median), log scale"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	maxProcs := 0
	minY, maxY := math.Inf(1), 0.0
	for _, impl := range impls {
		cs := byImpl[impl]
		slices.SortFunc(cs, func(a, b *bench.CellResult) int { return a.Procs - b.Procs })
		xys := make(plotter.XYs, len(cs))
		for i, c := range cs {
			xys[i] = plotter.XY{X: float64(c.Procs), Y: bench.Median(c.Values(bench.MopsPerSec))}
			maxProcs = max(maxProcs, c.Procs)
			minY, maxY = min(minY, xys[i].Y), max(maxY, xys[i].Y)
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, false, err
		}
		style(impl, &l.LineStyle, &s.GlyphStyle)
		p.Add(l, s)
		p.Legend.Add(cs[0].Label, l, s)
	}
	var ticks []plot.Tick
	for i := 1; i <= maxProcs; i++ {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: fmt.Sprint(i)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0.8, float64(maxProcs)+0.2
	// Room above the lines for the legend, which runs down from the top:
	// a share of the height that grows with its entries, about 3% each
	// (and at least a factor of 20, as for the first eight competitors).
	f := min(0.6, 0.05+0.03*float64(len(impls)))
	room := max(math.Log10(20), f*math.Log10(2*maxY/minY)/(1-f))
	p.Y.Min, p.Y.Max = minY/2, maxY*math.Pow(10, room)
	return p, true, nil
}

// latencyPlot draws the latency CDF of each competitor at the largest
// goroutine count of the cells.
func latencyPlot(cells []*bench.CellResult, title string) (*plot.Plot, int, error) {
	procs := 0
	for _, c := range cells {
		procs = max(procs, c.Procs)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Latency per lookup: %s, %s", title, count(procs, "goroutine"))
	p.X.Label.Text = fmt.Sprintf("ns per operation (timed batches of %d), log scale", bench.Batch)
	p.Y.Label.Text = "fraction of batches"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	n := 0
	for _, c := range cells {
		if c.Procs != procs || len(c.LatencyCDF) == 0 {
			continue
		}
		xys := make(plotter.XYs, 0, len(c.LatencyCDF))
		for _, q := range c.LatencyCDF {
			if q.Ns > 0 {
				xys = append(xys, plotter.XY{X: q.Ns, Y: q.Q})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, 0, err
		}
		var g draw.GlyphStyle
		style(c.Impl, &l.LineStyle, &g)
		p.Add(l)
		p.Legend.Add(c.Label, l)
		n++
	}
	if n == 0 {
		return nil, 0, nil
	}
	return p, procs, nil
}

// bytesPlot draws bytes per entry of each competitor, a group of bars per
// key set.
func bytesPlot(r *bench.Results) (*plot.Plot, error) {
	var sets []bench.KeySet
	var impls []string
	labels := map[string]string{}
	val := map[bench.KeySet]map[string]float64{}
	for _, c := range r.Cells {
		ks := bench.KeySet{Layout: c.Layout, N: c.N}
		if val[ks] == nil {
			val[ks] = map[string]float64{}
			sets = append(sets, ks)
		}
		if !slices.Contains(impls, c.Impl) {
			impls = append(impls, c.Impl)
			labels[c.Impl] = c.Label
		}
		val[ks][c.Impl] = c.BytesPerEntry
	}
	if len(sets) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Memory: bytes per entry"
	p.X.Label.Text = "bytes per entry (Go heap kept after building + XArray nodes)"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	w := vg.Points(float64(24) / float64(len(sets)))
	for i, ks := range sets {
		vs := make(plotter.Values, len(impls))
		for j, impl := range impls {
			vs[j] = val[ks][impl]
		}
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, err
		}
		b.Color = palette[i%len(palette)]
		b.LineStyle.Width = 0
		b.Horizontal = true
		b.Offset = -w * vg.Length(float64(i)-float64(len(sets)-1)/2)
		p.Add(b)
		p.Legend.Add(fmt.Sprintf("%s %s keys", ks.Layout, bench.SizeName(ks.N)), b)
	}
	names := make([]string, len(impls))
	for i, impl := range impls {
		names[i] = labels[impl]
	}
	p.NominalY(names...)
	top := 0.0
	for _, m := range val {
		for _, v := range m {
			top = max(top, v)
		}
	}
	p.X.Min, p.X.Max = 0, top*1.4 // room for the legend
	p.Y.Tick.Label.XAlign = draw.XRight
	// The first competitor at the top.
	p.Y.Scale = reversed{}
	return p, nil
}

// reversed is a linear scale that runs downwards.
type reversed struct{}

func (reversed) Normalize(min, max, x float64) float64 { return (max - x) / (max - min) }

// palette is Tableau's ten colors and two dark ones: one per competitor
// (there must be at least as many as bench.Competitors), told apart
// easily.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff}, {0x22, 0x22, 0x22, 0xff}, {0x7b, 0x10, 0x4b, 0xff},
}

// style gives a competitor its color, dashes and glyph.
func style(impl string, l *draw.LineStyle, g *draw.GlyphStyle) {
	i := max(competitorIndex(impl), 0)
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	if impl == "atomic-slice" { // the floor, dashed
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	g.Color = palette[i%len(palette)]
	g.Shape = plotutil.Shape(i)
	g.Radius = vg.Points(3)
}

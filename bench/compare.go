// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Confidence is the level of the intervals the tables print.
const Confidence = 0.95

// Alpha is the significance level of comparisons.
const Alpha = 0.05

// Summarize returns the median of values and its 95% confidence interval
// (benchmath, no assumption about the distribution). Fewer than 6 values
// give an infinite interval.
func Summarize(values []float64) benchmath.Summary {
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(values, &benchmath.DefaultThresholds), Confidence)
}

// NotSignificant is what the tables print, instead of a verdict, for a
// ratio or a target whose 95% interval reaches the value it is compared
// with: 1 for a ratio (no difference), the goal for a target.
const NotSignificant = "not significant"

// The verdicts of CheckTarget besides NotSignificant.
const (
	TargetMet    = "ok"
	TargetMissed = "MISSED"
)

// Reaches reports whether the 95% interval of s includes x, ends
// included: the difference between s's median and x is not significant.
// An interval that could not be computed (fewer than 6 values) reaches
// everything.
func Reaches(s benchmath.Summary, x float64) bool {
	return !(s.Lo > x) && !(s.Hi < x)
}

// RatioSummary returns the median of num[i]/den[i] over the runs both
// hold, pairing the runs of the same round (so that a drift of the
// machine between rounds cancels out), with its 95% interval.
func RatioSummary(num, den []float64) benchmath.Summary {
	n := min(len(num), len(den))
	rs := make([]float64, n)
	for i := range n {
		rs[i] = num[i] / den[i]
	}
	return Summarize(rs)
}

// CheckTarget judges a median against a goal it should not exceed
// (atMost) or not fall below (!atMost): TargetMet if the whole 95%
// interval of s lies on the goal's side, TargetMissed if it lies wholly on
// the other side, and NotSignificant if it reaches the goal.
func CheckTarget(s benchmath.Summary, goal float64, atMost bool) string {
	switch {
	case Reaches(s, goal):
		return NotSignificant
	case (s.Hi < goal) == atMost:
		return TargetMet
	}
	return TargetMissed
}

// CompareSamples tests whether old and new come from the same
// distribution with the Mann-Whitney U test at Alpha.
func CompareSamples(old, new []float64) benchmath.Comparison {
	t := benchmath.DefaultThresholds
	t.CompareAlpha = Alpha
	return benchmath.AssumeNothing.Compare(benchmath.NewSample(old, &t), benchmath.NewSample(new, &t))
}

// Samples are the measurements of a set of benchmark files: for each
// benchmark (full name, with -procs) and unit as written, the values in
// file order.
type Samples struct {
	Names  []string // in order of first appearance
	Units  []string // in order of first appearance
	Values map[string]map[string][]float64
	Config []ConfigKV // the first file's configuration
}

// ReadSamples reads Go benchmark format files. A directory stands for the
// *.txt files in it. A file that is missing, unreadable, malformed or
// holds no benchmark result is an error.
func ReadSamples(paths ...string) (*Samples, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		txt, err := filepath.Glob(filepath.Join(p, "*.txt"))
		if err != nil {
			return nil, err
		}
		if len(txt) == 0 {
			return nil, fmt.Errorf("%s: no *.txt benchmark files in the directory", p)
		}
		files = append(files, txt...)
	}
	s := &Samples{Values: map[string]map[string][]float64{}}
	for _, f := range files {
		if err := s.readFile(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Samples) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	n := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			return rec
		case *benchfmt.Result:
			n++
			if s.Config == nil {
				for _, c := range rec.Config {
					if c.File {
						s.Config = append(s.Config, ConfigKV{c.Key, string(c.Value)})
					}
				}
			}
			name := string(rec.Name.Full())
			m := s.Values[name]
			if m == nil {
				m = map[string][]float64{}
				s.Values[name] = m
				s.Names = append(s.Names, name)
			}
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				if math.IsNaN(val) || math.IsInf(val, 0) {
					file, line := rec.Pos()
					return fmt.Errorf("%s:%d: %v %s is not a measurement", file, line, val, unit)
				}
				if !slices.Contains(s.Units, unit) {
					s.Units = append(s.Units, unit)
				}
				m[unit] = append(m[unit], val)
			}
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: no benchmark results in the file", path)
	}
	return nil
}

// CompareOptions configures Compare.
type CompareOptions struct {
	// Threshold is the slowdown of a hot-path benchmark's median, as a
	// fraction, beyond which a significant change is a regression; 0.05
	// if zero.
	Threshold float64
	// HotPath matches the names (without -procs) of the hot-path
	// benchmarks; HotPathPattern if nil.
	HotPath *regexp.Regexp
	// Unit is the unit that decides regressions; "ns/op" if empty.
	Unit string
	// Raw decides on the measured values alone, without the drift
	// correction (see Compare).
	Raw bool
}

// RowComparison is one benchmark of a Comparison, in one unit.
type RowComparison struct {
	Name     string
	HotPath  bool
	Old, New benchmath.Summary
	Test     benchmath.Comparison
	Delta    float64 // (new - old) / old of the medians
	// RawChanged: the measured values differ (p < alpha).
	RawChanged bool
	// Corrected is set where the drift correction applies (the unit
	// that decides, benchmarks with same-run references): then the
	// Corr fields compare each run's value divided by its round's
	// reference.
	Corrected          bool
	CorrTest           benchmath.Comparison
	CorrDelta          float64
	CorrOld, CorrNew   benchmath.Summary
	Changed, Regressed bool // the verdict: changed (p < alpha), and a hot-path regression
	// OnlyOld, OnlyNew: the benchmark is in one set only.
	OnlyOld, OnlyNew bool
}

// VerdictDelta is the change the verdict rests on: drift-corrected where
// the correction applies.
func (r *RowComparison) VerdictDelta() float64 {
	if r.Corrected {
		return r.CorrDelta
	}
	return r.Delta
}

// UnitComparison compares every benchmark in one unit.
type UnitComparison struct {
	Unit           string
	Rows           []RowComparison
	GeoOld, GeoNew float64 // geometric means of the medians of the benchmarks in both sets
	Compared       int     // benchmarks in both sets
	Changed        int     // by the verdict
	Slower         int     // of those, slower (larger values)
	RawChanged     int     // by the measured values alone
	Corrected      int     // benchmarks with a drift correction
	// Drift is the change of the references (geometric mean over the
	// workloads of the ratio of their medians), if any were found.
	Drift    float64
	HasDrift bool
	// DriftRefs are the reference competitors the drift was taken
	// from: those found in both sets.
	DriftRefs []string
}

// Comparison is the outcome of Compare.
type Comparison struct {
	OldName, NewName string
	Threshold        float64
	Unit             string // the unit that decides regressions
	HotPath          string // the pattern of hot-path names
	Raw              bool
	Units            []*UnitComparison
	Regressions      []RowComparison
}

// Compare compares two sets of samples, benchmark by benchmark and unit
// by unit, the way benchstat does: medians with 95% intervals, the
// Mann-Whitney U test at alpha 0.05, and the geometric mean of the
// medians.
//
// On a shared machine the speed of the whole machine drifts between two
// runs (by 10-15% within minutes on the machine of results/), which a test
// on absolute times reads as a change of every benchmark. So in the unit
// that decides (ns/op), each run of a benchmark of this package's suites
// is also divided by the same round's reference: the geometric mean of
// the reference competitors (the Go maps, which use none of this
// project's code) on the same workload and goroutines, measured seconds
// apart. Unless opts.Raw, a benchmark counts as changed only if it
// changed significantly both as measured and against the reference, in
// the same direction; a hot-path benchmark that changed and grew by more
// than the threshold both ways is a regression. This errs on the side of
// silence: a hot path that stayed as fast while the machine got faster is
// not flagged.
func Compare(oldName string, old *Samples, newName string, new *Samples, opts CompareOptions) *Comparison {
	if opts.Threshold == 0 {
		opts.Threshold = 0.05
	}
	if opts.HotPath == nil {
		opts.HotPath = hotPathRE
	}
	if opts.Unit == "" {
		opts.Unit = "ns/op"
	}
	c := &Comparison{OldName: oldName, NewName: newName, Threshold: opts.Threshold, Unit: opts.Unit,
		HotPath: opts.HotPath.String(), Raw: opts.Raw}
	units := slices.Clone(old.Units)
	for _, u := range new.Units {
		if !slices.Contains(units, u) {
			units = append(units, u)
		}
	}
	// The decisive unit first.
	if i := slices.Index(units, opts.Unit); i > 0 {
		units = slices.Insert(slices.Delete(units, i, i+1), 0, opts.Unit)
	}
	names := slices.Clone(old.Names)
	for _, n := range new.Names {
		if _, ok := old.Values[n]; !ok {
			names = append(names, n)
		}
	}
	for _, u := range units {
		uc := &UnitComparison{Unit: u}
		var corrOld, corrNew map[string][]float64
		if u == opts.Unit {
			corrOld, corrNew, uc.Drift, uc.HasDrift, uc.DriftRefs = driftCorrect(old, new, u)
		}
		var logOld, logNew float64
		for _, name := range names {
			ov, nv := old.Values[name][u], new.Values[name][u]
			if len(ov) == 0 && len(nv) == 0 {
				continue
			}
			row := RowComparison{Name: name, HotPath: opts.HotPath.MatchString(StripProcs(name))}
			switch {
			case len(nv) == 0:
				row.OnlyOld = true
				row.Old = Summarize(ov)
			case len(ov) == 0:
				row.OnlyNew = true
				row.New = Summarize(nv)
			default:
				row.Old, row.New = Summarize(ov), Summarize(nv)
				row.Test = CompareSamples(ov, nv)
				row.Delta = delta(row.Old.Center, row.New.Center)
				row.RawChanged = row.Test.P < row.Test.Alpha && row.Old.Center != row.New.Center
				row.Changed = row.RawChanged
				if co, cn := corrOld[name], corrNew[name]; len(co) > 0 && len(cn) > 0 {
					row.Corrected = true
					row.CorrOld, row.CorrNew = Summarize(co), Summarize(cn)
					row.CorrTest = CompareSamples(co, cn)
					row.CorrDelta = delta(row.CorrOld.Center, row.CorrNew.Center)
					if !opts.Raw {
						// Changed both as measured and against the same-run
						// references, in the same direction.
						corrChanged := row.CorrTest.P < row.CorrTest.Alpha && row.CorrOld.Center != row.CorrNew.Center
						row.Changed = row.RawChanged && corrChanged && (row.Delta > 0) == (row.CorrDelta > 0)
					}
					uc.Corrected++
				}
				uc.Compared++
				if row.RawChanged {
					uc.RawChanged++
				}
				if row.Changed {
					uc.Changed++
					if row.VerdictDelta() > 0 {
						uc.Slower++
					}
				}
				if row.Old.Center > 0 && row.New.Center > 0 {
					logOld += math.Log(row.Old.Center)
					logNew += math.Log(row.New.Center)
				} else {
					logOld, logNew = math.NaN(), math.NaN()
				}
				d := row.Delta
				if !opts.Raw && row.Corrected {
					d = min(row.Delta, row.CorrDelta)
				}
				if u == opts.Unit && row.HotPath && row.Changed && d > opts.Threshold {
					row.Regressed = true
					c.Regressions = append(c.Regressions, row)
				}
			}
			uc.Rows = append(uc.Rows, row)
		}
		if uc.Compared > 0 {
			uc.GeoOld = math.Exp(logOld / float64(uc.Compared))
			uc.GeoNew = math.Exp(logNew / float64(uc.Compared))
		}
		c.Units = append(c.Units, uc)
	}
	return c
}

func delta(old, new float64) float64 {
	if old == 0 {
		return 0
	}
	return (new - old) / math.Abs(old)
}

// splitImpl splits a benchmark name of this package's suites,
// Lookup/<workload>/impl=<impl>-<procs>, into the workload with the procs
// suffix and the competitor.
func splitImpl(name string) (group, impl string, ok bool) {
	base := StripProcs(name)
	i := strings.LastIndex(base, "/impl=")
	if i < 0 {
		return "", "", false
	}
	return base[:i] + name[len(base):], base[i+len("/impl="):], true
}

// driftCorrect divides each run of every benchmark of old and new by the
// reference of its round: the geometric mean of the values of that round
// of the reference competitors found on the same workload in both sets
// (at least two). It returns the corrected values of the benchmarks it
// could correct, and the drift: the geometric mean over the workloads of
// the ratio of the references' medians, new over old, less one, and the
// references it used.
func driftCorrect(old, new *Samples, unit string) (co, cn map[string][]float64, drift float64, ok bool, used []string) {
	refs := map[string]bool{}
	for _, c := range Competitors() {
		if c.Reference {
			refs[c.Name] = true
		}
	}
	// The reference competitors of each workload, present in both sets.
	groupRefs := map[string][]string{}
	for _, name := range old.Names {
		g, impl, ok := splitImpl(name)
		if ok && refs[impl] && len(old.Values[name][unit]) > 0 && len(new.Values[name][unit]) > 0 {
			groupRefs[g] = append(groupRefs[g], impl)
		}
	}
	reference := func(s *Samples, g string) []float64 {
		impls := groupRefs[g]
		if len(impls) < 2 {
			return nil
		}
		n := math.MaxInt
		for _, impl := range impls {
			n = min(n, len(s.Values[name(g, impl)][unit]))
		}
		ref := make([]float64, n)
		for r := range n {
			var lg float64
			for _, impl := range impls {
				lg += math.Log(s.Values[name(g, impl)][unit][r])
			}
			ref[r] = math.Exp(lg / float64(len(impls)))
		}
		return ref
	}
	correct := func(s *Samples) map[string][]float64 {
		out := map[string][]float64{}
		refOf := map[string][]float64{}
		for _, nm := range s.Names {
			g, _, ok := splitImpl(nm)
			if !ok {
				continue
			}
			ref, seen := refOf[g]
			if !seen {
				ref = reference(s, g)
				refOf[g] = ref
			}
			v := s.Values[nm][unit]
			if len(ref) == 0 || len(v) > len(ref) {
				continue
			}
			cv := make([]float64, len(v))
			for r := range v {
				cv[r] = v[r] / ref[r]
			}
			out[nm] = cv
		}
		return out
	}
	co, cn = correct(old), correct(new)
	var lg float64
	n := 0
	for g := range groupRefs {
		ro, rn := reference(old, g), reference(new, g)
		if len(ro) > 0 && len(rn) > 0 {
			lg += math.Log(Median(rn) / Median(ro))
			n++
		}
	}
	if n == 0 {
		return co, cn, 0, false, nil
	}
	seen := map[string]bool{}
	for _, impls := range groupRefs {
		if len(impls) < 2 {
			continue
		}
		for _, impl := range impls {
			if !seen[impl] {
				seen[impl] = true
				used = append(used, impl)
			}
		}
	}
	slices.Sort(used)
	return co, cn, math.Exp(lg/float64(n)) - 1, true, used
}

// UnitComparison returns the comparison of one unit, or nil.
func (c *Comparison) UnitComparison(unit string) *UnitComparison {
	for _, u := range c.Units {
		if u.Unit == unit {
			return u
		}
	}
	return nil
}

// name is the inverse of splitImpl.
func name(group, impl string) string {
	base := StripProcs(group)
	return base + "/impl=" + impl + group[len(base):]
}

// WriteText writes the comparison as benchstat does: a table per unit,
// with each side's median ± the 95% interval, then the change or "not
// significant" (benchstat's "~") with the p-value and sample sizes, and for the deciding unit the same
// test on the drift-corrected values; a geomean row; hot-path rows marked
// with "*"; then a verdict.
func (c *Comparison) WriteText(w io.Writer) {
	for i, uc := range c.Units {
		if i > 0 {
			fmt.Fprintln(w)
		}
		corr := uc.Corrected > 0
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if corr {
			fmt.Fprintf(tw, "\t%s\t%s\t\tdrift-corrected\t\n", c.OldName, c.NewName)
		} else {
			fmt.Fprintf(tw, "\t%s\t%s\t\t\n", c.OldName, c.NewName)
		}
		fmt.Fprintf(tw, "\t%s\t%s\tvs base\t", uc.Unit, uc.Unit)
		if corr {
			fmt.Fprintf(tw, "vs base\t")
		}
		fmt.Fprintln(tw)
		for _, r := range uc.Rows {
			name := r.Name
			if r.HotPath {
				name += " *"
			}
			switch {
			case r.OnlyOld:
				fmt.Fprintf(tw, "%s\t%s %s\t\t(missing in new)\t\n", name, num(r.Old.Center), ci(r.Old))
			case r.OnlyNew:
				fmt.Fprintf(tw, "%s\t\t%s %s\t(missing in old)\t\n", name, num(r.New.Center), ci(r.New))
			default:
				raw := NotSignificant
				if r.RawChanged {
					raw = fmt.Sprintf("%+.2f%%", 100*r.Delta)
				}
				fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s (%s)\t", name, num(r.Old.Center), ci(r.Old),
					num(r.New.Center), ci(r.New), raw, r.Test.String())
				if corr {
					cd := ""
					if r.Corrected {
						cd = NotSignificant
						if r.CorrTest.P < r.CorrTest.Alpha {
							cd = fmt.Sprintf("%+.2f%%", 100*r.CorrDelta)
						}
						cd += fmt.Sprintf(" (p=%.3f)", r.CorrTest.P)
					}
					fmt.Fprintf(tw, "%s\t", cd)
				}
				if r.Regressed {
					fmt.Fprintf(tw, "REGRESSION")
				}
				fmt.Fprintln(tw)
			}
		}
		if uc.Compared > 0 && !math.IsNaN(uc.GeoOld) {
			fmt.Fprintf(tw, "geomean\t%s\t%s\t%+.2f%%\t\n", num(uc.GeoOld), num(uc.GeoNew),
				100*(uc.GeoNew/uc.GeoOld-1))
		}
		tw.Flush()
		if uc.HasDrift {
			fmt.Fprintf(w, "machine drift: the reference maps (%s) took %+.1f%% in new (geomean); the drift-corrected test\n"+
				"compares each run divided by the geomean of the reference maps' runs of the same round and workload\n",
				strings.Join(uc.DriftRefs, ", "), 100*uc.Drift)
		}
	}
	fmt.Fprintf(w, "\n* hot path (%s): a significant slowdown in %s beyond %.0f%% fails the comparison\n",
		c.HotPath, c.Unit, 100*c.Threshold)
	if uc := c.UnitComparison(c.Unit); uc != nil {
		how := "measured values"
		if uc.Corrected > 0 && !c.Raw {
			how = "drift-corrected where possible"
		}
		fmt.Fprintf(w, "%s: %d of %d benchmarks changed significantly (p < %.2f, %s), %d of them slower; measured values alone: %d changed\n",
			c.Unit, uc.Changed, uc.Compared, Alpha, how, uc.Slower, uc.RawChanged)
	}
	if len(c.Regressions) == 0 {
		fmt.Fprintf(w, "no hot-path regression\n")
		return
	}
	fmt.Fprintf(w, "hot-path regressions:\n")
	for _, r := range c.Regressions {
		fmt.Fprintf(w, "\t%s: %s → %s %s (%+.1f%% measured, %s; %+.1f%% drift-corrected)\n", r.Name,
			num(r.Old.Center), num(r.New.Center), c.Unit, 100*r.Delta, r.Test.String(), 100*r.CorrDelta)
	}
}

// ci formats a summary's interval as benchstat does: "± 2%", "± ∞".
func ci(s benchmath.Summary) string {
	return "± " + strings.TrimSpace(s.PctRangeString())
}

// num formats a value with four significant digits.
func num(x float64) string {
	switch ax := math.Abs(x); {
	case ax == 0:
		return "0"
	case ax >= 1e4:
		return fmt.Sprintf("%.0f", x)
	case ax >= 100:
		return fmt.Sprintf("%.1f", x)
	case ax >= 1:
		return fmt.Sprintf("%.3g", x)
	}
	return fmt.Sprintf("%.3g", x)
}

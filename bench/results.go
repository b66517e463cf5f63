// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Results is what a run of a suite measured. It is written as a Go
// benchmark format file (one line per measurement, readable by benchstat
// and "xabench compare") and as JSON (which adds the latency CDFs and the
// machine's state, for "xabench plot").
type Results struct {
	Suite      string     `json:"suite"`
	Config     []ConfigKV `json:"config"` // the file configuration lines, in order
	Machine    string     `json:"machine"`
	LoadBefore string     `json:"load_before,omitempty"` // one-minute load average before the run
	LoadAfter  string     `json:"load_after,omitempty"`
	// IdleBefore is the share of CPU time the machine left idle in the
	// second before the run (0 if not measured).
	IdleBefore  float64       `json:"idle_before,omitempty"`
	Started     time.Time     `json:"started"`
	Benchtime   string        `json:"benchtime"`
	Count       int           `json:"count"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Skipped     []string      `json:"skipped,omitempty"` // cells that could not be built, and why
	Cells       []*CellResult `json:"cells"`
	// Broken lists the competitors in which, after the run's write
	// workloads, some key no longer held its value, and which: their
	// write measurements measured something else than they say.
	Broken []string `json:"broken,omitempty"`
}

// ConfigKV is one file configuration line: "key: value".
type ConfigKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CellResult holds the measurements of one cell.
type CellResult struct {
	Name          string      `json:"name"` // without "Benchmark" and -procs
	Procs         int         `json:"procs"`
	Impl          string      `json:"impl"`
	Label         string      `json:"label"`
	HotPath       bool        `json:"hot_path,omitempty"`
	Layout        Layout      `json:"layout"`
	N             int         `json:"n"`
	SparseGap     int         `json:"sparse_gap,omitempty"` // mean gap between sparse keys
	Access        Access      `json:"access"`
	ReadPct       int         `json:"read_pct"`
	Op            Op          `json:"op,omitempty"` // the write op of a write workload
	BytesPerEntry float64     `json:"bytes_per_entry"`
	Runs          []RunResult `json:"runs"`
	// LatencyCDF is the per-operation latency (from timed batches) at
	// each quantile: for each quantile, the median over the runs.
	LatencyCDF []Quantile `json:"latency_cdf,omitempty"`

	cdfRuns [][]float64
}

// Quantile is one point of a latency CDF.
type Quantile struct {
	Q  float64 `json:"q"`
	Ns float64 `json:"ns"`
}

// RunResult is one measurement of a cell.
type RunResult struct {
	Ops         int64   `json:"ops"`
	NsPerOp     float64 `json:"ns_per_op"`     // wall time over all goroutines' operations
	MopsPerSec  float64 `json:"mops_per_sec"`  // millions of operations per second, all goroutines
	P50Ns       float64 `json:"p50_ns"`        // per-operation latency of timed batches, median
	P99Ns       float64 `json:"p99_ns"`        // and 99th percentile
	AllocsPerOp float64 `json:"allocs_per_op"` // heap allocations per operation
}

// FullName is the cell's name with the -procs suffix.
func (c *CellResult) FullName() string { return fmt.Sprintf("%s-%d", c.Name, c.Procs) }

// Workload returns the workload the cell ran.
func (c *CellResult) Workload() Workload {
	return Workload{Keys: KeySet{c.Layout, c.N}, Access: c.Access, ReadPct: c.ReadPct, Op: c.Op, Procs: c.Procs}
}

// Values returns the cell's measurements of one field of RunResult.
func (c *CellResult) Values(field func(RunResult) float64) []float64 {
	v := make([]float64, len(c.Runs))
	for i, r := range c.Runs {
		v[i] = field(r)
	}
	return v
}

func NsPerOp(r RunResult) float64     { return r.NsPerOp }
func MopsPerSec(r RunResult) float64  { return r.MopsPerSec }
func P50(r RunResult) float64         { return r.P50Ns }
func P99(r RunResult) float64         { return r.P99Ns }
func AllocsPerOp(r RunResult) float64 { return r.AllocsPerOp }

// newCellResult returns the empty results of c. A write workload's rows
// are labelled with the op's label and are never on the hot path.
func newCellResult(c Cell, keys []uint64, bytesPerEntry float64) *CellResult {
	cr := &CellResult{
		Name:          c.Name(),
		Procs:         c.Procs,
		Impl:          c.Competitor.Name,
		Label:         c.Competitor.Label,
		HotPath:       c.Competitor.HotPath && c.Op == "",
		Layout:        c.Keys.Layout,
		N:             c.Keys.N,
		Access:        c.Access,
		ReadPct:       c.ReadPct,
		Op:            c.Op,
		BytesPerEntry: bytesPerEntry,
	}
	if c.Op != "" {
		cr.Label = c.Competitor.writeLabel(c.Op)
	}
	if c.Keys.Layout == Sparse {
		cr.SparseGap = SparseGap(c.Keys.N)
	}
	return cr
}

func (c *CellResult) updateCDF() {
	var runs [][]float64
	for _, r := range c.cdfRuns {
		if len(r) == len(cdfQuantiles) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return
	}
	c.LatencyCDF = make([]Quantile, len(cdfQuantiles))
	col := make([]float64, len(runs))
	for i, q := range cdfQuantiles {
		for j, r := range runs {
			col[j] = r[i]
		}
		c.LatencyCDF[i] = Quantile{q, Median(col)}
	}
}

// NewResults returns empty results of a suite, with the file
// configuration of this machine and checkout.
func NewResults(suite string, benchtime time.Duration, count int) *Results {
	cfg := []ConfigKV{
		{"goos", runtime.GOOS},
		{"goarch", runtime.GOARCH},
		{"pkg", "github.com/xabench/xabench/bench"},
	}
	if m := cpuModel(); m != "" {
		cfg = append(cfg, ConfigKV{"cpu", m})
	}
	cfg = append(cfg, ConfigKV{"go", runtime.Version()})
	if c := Commit(); c != "" {
		cfg = append(cfg, ConfigKV{"commit", c})
	}
	cfg = append(cfg,
		ConfigKV{"suite", suite},
		ConfigKV{"benchtime", benchtime.String()},
		ConfigKV{"count", strconv.Itoa(count)},
	)
	return &Results{
		Suite:      suite,
		Config:     cfg,
		Machine:    Machine(),
		LoadBefore: LoadAverage(),
		Started:    time.Now().UTC().Truncate(time.Second),
		Benchtime:  benchtime.String(),
		Count:      count,
	}
}

// Commit returns the commit of the code measured: the one stamped in
// the binary if the go command stamped it (-buildvcs), else the
// checkout's as git rev-parse says it; with "-dirty" if tracked files
// differed from it; "" if neither says.
func Commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "-dirty"
			}
			return rev
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if err := exec.Command("git", "diff", "--quiet", "HEAD", "--").Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			c += "-dirty"
		}
	}
	return c
}

// Units of the Go benchmark format lines, and which way is better for
// the ones benchstat cannot guess.
var unitMeta = []struct{ unit, meta string }{
	{"Mops/s", "better=higher"},
	{"B/entry", "assume=exact"},
}

// WriteBenchfmt writes r in the Go benchmark format: the configuration
// lines, unit metadata, then one line per measurement:
//
//	BenchmarkLookup/keys=dense/n=1M/access=rand/read=100/impl=xarray-2  N  x ns/op  x Mops/s  x p50-ns/op  x p99-ns/op  x B/entry  x allocs/op
func (r *Results) WriteBenchfmt() []byte {
	var b bytes.Buffer
	for _, c := range r.Config {
		fmt.Fprintf(&b, "%s: %s\n", c.Key, c.Value)
	}
	for _, u := range unitMeta {
		fmt.Fprintf(&b, "Unit %s %s\n", u.unit, u.meta)
	}
	for _, c := range r.Cells {
		for _, run := range c.Runs {
			fmt.Fprintf(&b, "Benchmark%s \t%d\t%s ns/op\t%s Mops/s\t%s p50-ns/op\t%s p99-ns/op\t%s B/entry\t%s allocs/op\n",
				c.FullName(), run.Ops, g5(run.NsPerOp), g5(run.MopsPerSec), g5(run.P50Ns), g5(run.P99Ns),
				g5(c.BytesPerEntry), g5(run.AllocsPerOp))
		}
	}
	return b.Bytes()
}

// g5 formats x with five significant digits, without an exponent for the
// magnitudes benchmarks produce.
func g5(x float64) string {
	s := strconv.FormatFloat(x, 'g', 5, 64)
	if strings.ContainsAny(s, "e") {
		v, _ := strconv.ParseFloat(s, 64)
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

// WriteFiles writes r into dir (created if need be) as <suite>.txt (Go
// benchmark format), <suite>.json and machine.md, each atomically: a
// temporary file in dir renamed over the old one, so that a reader (or
// an interrupted run) never sees half a file.
func (r *Results) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{r.Suite + ".txt", r.WriteBenchfmt()},
		{r.Suite + ".json", append(js, '\n')},
		{"machine.md", r.MachineDescription()},
	} {
		if err := WriteFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// MachineDescription describes the machine and the run in Markdown.
func (r *Results) MachineDescription() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Machine of the %s run\n\n", r.Suite)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "- %s: %s\n", k, v)
		}
	}
	row("started", r.Started.Format(time.RFC3339))
	row("machine", r.Machine)
	for _, c := range r.Config {
		row(c.Key, c.Value)
	}
	row("CPUs", strconv.Itoa(runtime.NumCPU()))
	row("memory", memTotal())
	row("kernel", kernelRelease())
	if r.IdleBefore > 0 {
		row("CPU idle in the second before the run", fmt.Sprintf("%.0f%%", 100*r.IdleBefore))
	}
	row("load average before", r.LoadBefore)
	row("load average after", r.LoadAfter)
	if r.Interrupted {
		row("interrupted", "yes: the files hold the measurements that finished")
	}
	for _, s := range r.Skipped {
		row("skipped", s)
	}
	for _, s := range r.Broken {
		row("BROKEN (keys lost their values)", s)
	}
	return b.Bytes()
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return ""
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return runtime.GOOS + " " + strings.TrimSpace(string(b))
}

// ReadJSON reads results written by WriteFiles.
func ReadJSON(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Suite == "" || r.Cells == nil {
		return nil, fmt.Errorf("%s: not an xabench results file", path)
	}
	return &r, nil
}

// Cell returns the cell with the given full name, or nil.
func (r *Results) Cell(fullName string) *CellResult {
	i := slices.IndexFunc(r.Cells, func(c *CellResult) bool { return c.FullName() == fullName })
	if i < 0 {
		return nil
	}
	return r.Cells[i]
}

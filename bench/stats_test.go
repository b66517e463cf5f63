// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/perf/benchmath"
)

func TestReaches(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		s    benchmath.Summary
		x    float64
		want bool
	}{
		{benchmath.Summary{Center: 1.2, Lo: 1.1, Hi: 1.3}, 1, false},
		{benchmath.Summary{Center: 0.8, Lo: 0.7, Hi: 0.9}, 1, false},
		{benchmath.Summary{Center: 1.05, Lo: 0.98, Hi: 1.1}, 1, true},
		{benchmath.Summary{Center: 1.05, Lo: 1, Hi: 1.1}, 1, true}, // the end counts
		{benchmath.Summary{Center: 1.5, Lo: -inf, Hi: inf}, 1, true},
		{benchmath.Summary{Center: 1, Lo: 1, Hi: 1}, 1, true},
		{benchmath.Summary{Center: 1.5, Lo: math.NaN(), Hi: math.NaN()}, 1, true},
	} {
		if got := Reaches(c.s, c.x); got != c.want {
			t.Errorf("Reaches(%+v, %v) = %v, want %v", c.s, c.x, got, c.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	drift := []float64{20, 24, 19, 22, 21, 25, 20, 23}
	times := func(f []float64) []float64 {
		out := make([]float64, len(drift))
		for i := range out {
			out[i] = drift[i] * f[i%len(f)]
		}
		return out
	}
	for _, c := range []struct {
		name     string
		num, den []float64
		goal     float64
		atMost   bool
		want     string
	}{
		// The machine's drift cancels in ratios of the same run.
		{"twice", times([]float64{2}), drift, 1, false, TargetMet},
		{"half", times([]float64{0.5}), drift, 1, false, TargetMissed},
		{"half, at most", times([]float64{0.5}), drift, 1, true, TargetMet},
		{"no difference", times([]float64{0.9, 1.1, 0.95, 1.05, 1, 1.08, 0.93, 1.02}), drift, 1, false, NotSignificant},
		{"at the goal", times([]float64{0.45, 0.55, 0.48, 0.52, 0.5, 0.53, 0.47, 0.51}), drift, 0.5, true, NotSignificant},
		{"three runs", times([]float64{2}), drift[:3], 1, false, NotSignificant},
	} {
		s := RatioSummary(c.num, c.den)
		if got := CheckTarget(s, c.goal, c.atMost); got != c.want {
			t.Errorf("%s: %v [%v, %v] against %v (at most: %v): %q, want %q", c.name, s.Center, s.Lo, s.Hi,
				c.goal, c.atMost, got, c.want)
		}
	}
}

// Errors keep what caused them (%w).
func TestErrorsWrap(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadJSON(p)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("ReadJSON of a truncated file: %v (%T), want a wrapped *json.SyntaxError", err, err)
	}
	if _, err := ReadJSON(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadJSON of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := ReadSamples(filepath.Join(dir, "missing.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadSamples of a missing file: %v, want fs.ErrNotExist", err)
	}
}

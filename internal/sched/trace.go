// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteTrace prints e as numbered steps, one column per goroutine: step i
// is goroutine G reaching schedule point P, shown in G's column by the
// kernel code Describe gave for P, or by P's own name. A "*" after the
// number marks a preemption: the next step is another goroutine's though
// this one could have gone on. Notes (G.Note) follow the step they were
// made after, in their goroutine's column. A legend of the points shown
// by kernel name ends the trace.
func (e *Execution) WriteTrace(w io.Writer) {
	const maxWidth = 46
	n := len(e.Threads)
	width := make([]int, n)
	for g := range n {
		width[g] = len(threadLabel(g, e.Threads))
	}
	show := func(ev Event) string {
		if ev.Point == "exit" {
			return "returns"
		}
		if k := Kernel(ev.Point); k != "" {
			return k
		}
		return ev.Point
	}
	clip := func(s string) string {
		if len(s) > maxWidth {
			return s[:maxWidth-1] + "…"
		}
		return s
	}
	for _, ev := range e.Trace {
		if ev.G >= 0 && ev.G < n {
			width[ev.G] = min(max(width[ev.G], len(show(ev))), maxWidth)
		}
	}
	row := func(step string, g int, text string) {
		var b strings.Builder
		fmt.Fprintf(&b, "%6s  ", step)
		for c := range n {
			cell := ""
			if c == g {
				cell = text
			}
			if c == n-1 {
				b.WriteString(cell)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", width[c], cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	var header strings.Builder
	fmt.Fprintf(&header, "%6s  ", "step")
	for g := range n {
		fmt.Fprintf(&header, "%-*s  ", width[g], threadLabel(g, e.Threads))
	}
	fmt.Fprintln(w, strings.TrimRight(header.String(), " "))
	notes := slices.Clone(e.Notes)
	legend := map[string]string{}
	for i, ev := range e.Trace {
		if ev.G >= 0 {
			step := fmt.Sprint(i)
			if slices.Contains(e.Preempted, i) {
				step += "*"
			}
			row(step, ev.G, clip(show(ev)))
			if k := Kernel(ev.Point); k != "" {
				legend[clip(k)] = ev.Point
			}
		}
		for len(notes) > 0 && notes[0].After == i {
			row("", notes[0].G, "» "+notes[0].Text)
			notes = notes[1:]
		}
	}
	if e.Err != nil {
		fmt.Fprintf(w, "run stopped: %v\n", e.Err)
	}
	if len(legend) > 0 {
		var names []string
		for k := range legend {
			names = append(names, k)
		}
		slices.Sort(names)
		fmt.Fprintln(w, "schedule points:")
		for _, k := range names {
			fmt.Fprintf(w, "  %-*s  %s\n", maxWidth, k, legend[k])
		}
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Schedule is a run written down: the goroutine chosen at every step, a
// label saying what was run (for package stress: scenario, variant,
// configuration, kernel release) and the hash of the points the run
// passed. Its String form is what a user copies from a report to replay:
//
//	xs1:b2-load-sibling,buggy,small:5f0c1a2e:ab3a12b2
//
// that is the format version, the label's fields joined by commas, the
// points' hash in hex, and the choices: goroutine 0 is "a", 1 is "b", up
// to 51 ("Z"), each followed by how many steps in a row it was chosen
// when more than one. Nothing in it needs quoting in a shell.
type Schedule struct {
	Label   []string
	Hash    uint32
	Choices []int
}

// scheduleVersion starts every schedule string.
const scheduleVersion = "xs1"

// MaxThreads is the most goroutines a Schedule can name.
const MaxThreads = 52

// String encodes s (see Schedule). It panics on a label field that is
// empty or holds anything but letters, digits and ._=/+- , or on a
// goroutine id it cannot encode.
func (s Schedule) String() string {
	var b strings.Builder
	b.WriteString(scheduleVersion)
	b.WriteByte(':')
	for i, f := range s.Label {
		if err := checkField(f); err != nil {
			panic(err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f)
	}
	fmt.Fprintf(&b, ":%08x:", s.Hash)
	for i := 0; i < len(s.Choices); {
		j := i
		for j < len(s.Choices) && s.Choices[j] == s.Choices[i] {
			j++
		}
		b.WriteByte(letter(s.Choices[i]))
		if j-i > 1 {
			b.WriteString(strconv.Itoa(j - i))
		}
		i = j
	}
	return b.String()
}

func letter(g int) byte {
	switch {
	case g >= 0 && g < 26:
		return byte('a' + g)
	case g >= 26 && g < MaxThreads:
		return byte('A' + g - 26)
	}
	panic(fmt.Sprintf("sched: goroutine %d: a schedule names at most %d", g, MaxThreads))
}

func checkField(f string) error {
	if f == "" {
		return errors.New("sched: empty schedule label field")
	}
	for _, c := range f {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._=/+-", c)
		if !ok {
			return fmt.Errorf("sched: schedule label field %q: only letters, digits and ._=/+- may appear", f)
		}
	}
	return nil
}

// ParseSchedule decodes a schedule string (see Schedule).
func ParseSchedule(text string) (Schedule, error) {
	bad := func(format string, args ...any) (Schedule, error) {
		return Schedule{}, fmt.Errorf("sched: schedule %q: %s", text, fmt.Sprintf(format, args...))
	}
	parts := strings.Split(strings.TrimSpace(text), ":")
	if len(parts) != 4 {
		return bad("want %s:LABEL:HASH:CHOICES", scheduleVersion)
	}
	if parts[0] != scheduleVersion {
		return bad("format %q; this build reads %q", parts[0], scheduleVersion)
	}
	var s Schedule
	if parts[1] != "" {
		s.Label = strings.Split(parts[1], ",")
		for _, f := range s.Label {
			if err := checkField(f); err != nil {
				return bad("%v", err)
			}
		}
	}
	h, err := strconv.ParseUint(parts[2], 16, 32)
	if err != nil || len(parts[2]) != 8 {
		return bad("hash %q: want 8 hex digits", parts[2])
	}
	s.Hash = uint32(h)
	body := parts[3]
	for i := 0; i < len(body); {
		c := body[i]
		var g int
		switch {
		case c >= 'a' && c <= 'z':
			g = int(c - 'a')
		case c >= 'A' && c <= 'Z':
			g = int(c-'A') + 26
		default:
			return bad("choices: %q at %d is not a goroutine letter", c, i)
		}
		i++
		j := i
		for j < len(body) && body[j] >= '0' && body[j] <= '9' {
			j++
		}
		n := 1
		if j > i {
			n, err = strconv.Atoi(body[i:j])
			if err != nil || n < 2 || n > DefaultMaxSteps*100 {
				return bad("choices: bad count %q", body[i:j])
			}
		}
		for range n {
			s.Choices = append(s.Choices, g)
		}
		i = j
	}
	return s, nil
}

// Replay runs threads forcing the choices of s, and returns the run and
// nil if it made exactly those choices and passed the same points (its
// hash is s.Hash); otherwise a *Divergence that names the first step at
// which it left s, or that says that it passed other points. The
// Execution is returned either way: the run it made.
func Replay(s Schedule, threads []Thread, opt Options) (*Execution, error) {
	if opt.MaxSteps <= 0 {
		// Past the schedule's end the replay diverges anyway, and says
		// so better than a step limit would.
		opt.MaxSteps = max(DefaultMaxSteps, len(s.Choices)+1)
	}
	e := Run(&replay{choices: s.Choices}, threads, opt)
	if d := (*Divergence)(nil); errors.As(e.Err, &d) {
		return e, d
	}
	// The run ended, or deadlocked as the recorded one must have (a
	// deadlock it did not have shows as a divergence first).
	if len(e.Choices) != len(s.Choices) {
		return e, &Divergence{Step: len(e.Choices), Want: s.Choices[len(e.Choices)], Threads: e.Threads,
			At:     e.Trace[len(e.Trace)-1],
			Reason: fmt.Sprintf("the run ended after %d steps; the schedule has %d", len(e.Choices), len(s.Choices))}
	}
	if e.Hash != s.Hash {
		return e, &Divergence{Step: len(e.Choices), Want: -1, Threads: e.Threads,
			Reason: fmt.Sprintf("the run made the schedule's choices but passed other schedule points (hash %08x, recorded %08x): the code or the configuration changed", e.Hash, s.Hash)}
	}
	return e, nil
}

// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Strategy chooses which goroutine runs at each step of a controlled run.
// A Strategy serves one run: Begin starts it, then Pick is called once per
// step, in order.
type Strategy interface {
	// Begin starts a run of n goroutines, ids 0 to n-1.
	Begin(n int)
	// Pick returns the goroutine to run after step step (0 is the start
	// of the run), taken from enabled (the runnable goroutines, in
	// ascending order, never empty). cur is the goroutine that reached
	// the step's point, -1 at the start; it may have blocked or exited,
	// and then it is not in enabled. An error stops the run.
	Pick(step, cur int, enabled []int) (int, error)
}

// random is the random walk: at every step, any runnable goroutine.
type random struct{ rng *rand.Rand }

// Random returns a random walk seeded with seed: at each step it picks
// one of the runnable goroutines uniformly. The same seed makes the same
// choices, so a run under it is as repeatable as under a Schedule.
func Random(seed uint64) Strategy {
	return &random{rng: rand.New(rand.NewPCG(seed, 0x5ced))}
}

func (s *random) Begin(int) {}

func (s *random) Pick(_, _ int, enabled []int) (int, error) {
	return enabled[s.rng.IntN(len(enabled))], nil
}

// pct is probabilistic concurrency testing.
type pct struct {
	rng    *rand.Rand
	depth  int
	k      int
	prio   []int
	change map[int]int // step -> the priority the goroutine at it drops to
	// last and streak count the steps in a row that one goroutine
	// was chosen while another could have run (see SpinLimit).
	last, streak int
	lowest       int // the lowest priority given so far
}

// SpinLimit is PCT's fairness rule: a goroutine chosen this many steps in
// a row while others could run drops below every other goroutine, as if
// it had reached a change point, though none is counted. PCT always runs
// its highest priority, so without the rule a goroutine that spins until
// another one acts (xas_find_marked meeting a marked NULL that a
// preempted xas_store has yet to fill, a seqcount retry) would spin to
// the step limit; CHESS and Coyote have the same rule for yields. No
// goroutine of a small configuration does that much work in a row.
const SpinLimit = 256

// NewPCT returns PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
// Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
// ASPLOS 2010) for bugs of depth depth (at least 1) in runs of about k
// steps: Begin gives the n goroutines the distinct priorities depth to
// depth+n-1 in a random order and draws depth-1 distinct change points
// uniformly from steps 1 to k; at every step the runnable goroutine of the
// highest priority runs, and the goroutine that reaches the i-th change
// point drops to priority depth-i, below every initial priority. A bug
// that needs depth ordering constraints is then found by one run with
// probability at least 1/(n·k^(depth-1)). With k smaller than depth-1
// every step 1..k is a change point.
func NewPCT(seed uint64, depth, k int) Strategy {
	if depth < 1 {
		panic(fmt.Sprintf("sched: PCT depth %d: want at least 1", depth))
	}
	return &pct{rng: rand.New(rand.NewPCG(seed, 0x9c7)), depth: depth, k: max(k, 1)}
}

func (s *pct) Begin(n int) {
	s.last, s.streak, s.lowest = -1, 0, 1
	s.prio = make([]int, n)
	for i, g := range s.rng.Perm(n) {
		s.prio[g] = s.depth + i
	}
	s.change = make(map[int]int, s.depth-1)
	if s.k <= s.depth-1 {
		for i := range s.k {
			s.change[i+1] = s.depth - 1 - i
		}
		return
	}
	for i := 1; i < s.depth; i++ {
		for {
			step := 1 + s.rng.IntN(s.k)
			if _, dup := s.change[step]; !dup {
				s.change[step] = s.depth - i
				break
			}
		}
	}
}

func (s *pct) Pick(step, cur int, enabled []int) (int, error) {
	if p, ok := s.change[step]; ok && cur >= 0 {
		s.prio[cur] = p
	}
	if cur >= 0 && cur == s.last && len(enabled) > 1 && slices.Contains(enabled, cur) {
		if s.streak++; s.streak >= SpinLimit {
			s.lowest--
			s.prio[cur] = s.lowest
			s.streak = 0
		}
	} else {
		s.streak = 0
	}
	best := enabled[0]
	for _, g := range enabled[1:] {
		if s.prio[g] > s.prio[best] {
			best = g
		}
	}
	s.last = best
	return best, nil
}

// Divergence is why a replay left its schedule: at step Step the schedule
// asks for goroutine Want (-1: the schedule has no step there), and that
// goroutine cannot run; or the run ended before the schedule did.
type Divergence struct {
	Step    int
	Want    int
	Enabled []int
	Reason  string
	At      Event    // the event of the step: who reached which point
	Threads []string // the run's goroutines, for naming them
}

func (d *Divergence) Error() string {
	where := ""
	if d.At.Point != "" {
		if d.At.G >= 0 {
			where = fmt.Sprintf(" (%s reached %s)", threadLabel(d.At.G, d.Threads), d.At.Point)
		} else {
			where = " (the start)"
		}
	}
	return fmt.Sprintf("sched: replay diverged at step %d%s: %s", d.Step, where, d.Reason)
}

// replay forces the choices of a schedule.
type replay struct{ choices []int }

func (s *replay) Begin(int) {}

func (s *replay) Pick(step, _ int, enabled []int) (int, error) {
	if step >= len(s.choices) {
		return 0, &Divergence{Step: step, Want: -1, Enabled: slices.Clone(enabled),
			Reason: fmt.Sprintf("the schedule ends after %d steps, but goroutines %s still run", len(s.choices), ids(enabled))}
	}
	want := s.choices[step]
	if !slices.Contains(enabled, want) {
		return 0, &Divergence{Step: step, Want: want, Enabled: slices.Clone(enabled),
			Reason: fmt.Sprintf("the schedule runs T%d, which cannot run now (runnable: %s)", want+1, ids(enabled))}
	}
	return want, nil
}

// ids formats goroutine ids as trace labels: T1, T2.
func ids(gs []int) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, fmt.Sprintf("T%d", g+1))
	}
	return strings.Join(parts, ", ")
}

// threadLabel is how traces and errors name goroutine id: T1 for id 0,
// with its name if it has one ("T1 writer").
func threadLabel(id int, names []string) string {
	if id >= 0 && id < len(names) && names[id] != "" {
		return fmt.Sprintf("T%d %s", id+1, names[id])
	}
	return fmt.Sprintf("T%d", id+1)
}

// SPDX-License-Identifier: GPL-2.0-or-later

package history

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// register is a model of one integer register: input nil reads, an int
// writes.
var register = porcupine.Model{
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		if input == nil {
			return output == state, state
		}
		return true, input
	},
	DescribeOperation: func(input, output any) string {
		if input == nil {
			return fmt.Sprintf("read -> %v", output)
		}
		return fmt.Sprintf("write %v", input)
	},
	DescribeState: func(state any) string { return fmt.Sprint(state) },
}

// A read that returns an older value than a write that completed before
// it began is not linearizable, and the report names the read that
// cannot come next.
func TestCheckReportsStaleRead(t *testing.T) {
	h := []porcupine.Operation{
		{ClientId: 0, Input: 1, Call: 0, Return: 10},
		{ClientId: 0, Input: 2, Call: 20, Return: 30},
		{ClientId: 1, Input: nil, Output: 1, Call: 40, Return: 50},
	}
	res, report, _ := Check(register, h)
	if res != porcupine.Illegal {
		t.Fatalf("Check = %v, want Illegal", res)
	}
	for _, want := range []string{"2 of 3 operations linearize", "model at 2", "client 1 [40 ns, 50 ns] read -> 1"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	h[2].Output = 2
	if res, report, _ := Check(register, h); res != porcupine.Ok || report != "" {
		t.Fatalf("Check of a good history = %v, %q", res, report)
	}
}

// Record runs every client for its operations, at once, and Overlapping
// counts the operations that began before another client's returned.
func TestRecordAndOverlapping(t *testing.T) {
	clock := NewClock()
	h := Record(clock, 3, 50, func(id int) func() porcupine.Operation {
		return func() porcupine.Operation {
			return Op(clock, id, id, func() any { return nil })
		}
	})
	per := map[int]int{}
	for _, op := range h {
		per[op.ClientId]++
		if op.Return < op.Call || op.Call < 0 {
			t.Fatalf("operation %+v: returned before its call", op)
		}
	}
	if len(h) != 150 || per[0] != 50 || per[1] != 50 || per[2] != 50 {
		t.Fatalf("history of %d operations, per client %v; want 50 each", len(h), per)
	}
	seq := []porcupine.Operation{{ClientId: 0, Call: 0, Return: 1}, {ClientId: 1, Call: 2, Return: 3}}
	if n := Overlapping(seq); n != 0 {
		t.Errorf("Overlapping of a sequential history = %d", n)
	}
	seq[1].Call = 1
	if n := Overlapping(seq); n != 1 {
		t.Errorf("Overlapping with one overlap = %d", n)
	}
}

// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import "testing"

// BenchmarkIterate runs the iterate suite's walks as Go benchmarks, one
// per competitor, named as the suite names them:
// BenchmarkIterate/keys=dense/n=1M/walk=full/impl=xarray-state. Each op
// is one walk, whose count and sum of values are checked; ns/entry is
// the time per entry visited, the suite's unit. The structures of a key
// set are built only if one of its benchmarks is selected.
func BenchmarkIterate(b *testing.B) {
	for _, k := range []KeySet{{Dense, DefaultIterKeys}, {Sparse, DefaultIterKeys}} {
		b.Run(k.String(), func(b *testing.B) {
			s, err := newIterKeySet(k)
			if err != nil {
				b.Skip(err)
			}
			defer s.close()
			groups, cases := iterCases(k, s)
			for _, g := range groups {
				b.Run(g.walkName(), func(b *testing.B) {
					for i := range cases {
						if c := &cases[i]; c.group == g {
							b.Run("impl="+g.Rows[c.row].Name, func(b *testing.B) { benchmarkWalk(b, c) })
						}
					}
				})
			}
		})
	}
}

// benchmarkWalk times b.N walks of c and reports ns/entry.
func benchmarkWalk(b *testing.B, c *iterCase) {
	b.ReportAllocs()
	op := 0
	var total uint64
	for b.Loop() {
		count, sum := c.walk(op)
		if err := c.check(op, count, sum); err != nil {
			b.Fatal(err)
		}
		total += sum
		op++
	}
	Sink.Add(total)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.group.Entries), "ns/entry")
}

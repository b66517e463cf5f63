// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import "sync/atomic"

// withSlowXArray returns cells with the XArray Load competitor replaced by
// one that does spins iterations of extra work per lookup on top of the
// lookup: the same benchmark names, on a hot path made slower, which
// compare must flag. The extra work is fixed when the Map is built, so it
// adds nothing to the measured loop but the spins.
func withSlowXArray(cells []Cell, spins int) []Cell {
	slow := *CompetitorByName("xarray")
	slow.Build = func(f *Fixture) (Map, error) {
		m, err := buildXArray(f)
		if err != nil {
			return nil, err
		}
		return &xaSlowLoad{m.(*xaLoad), spins}, nil
	}
	out := make([]Cell, len(cells))
	for i, c := range cells {
		if c.Competitor.Name == slow.Name {
			c.Competitor = &slow
		}
		out[i] = c
	}
	return out
}

// xaSlowLoad is xaLoad with spins of extra work per lookup.
type xaSlowLoad struct {
	*xaLoad
	spins int
}

func (m *xaSlowLoad) Load(keys []uint64) uint64 {
	sum := m.xaLoad.Load(keys)
	spin(m.spins * len(keys))
	return sum
}

var spinSink atomic.Uint64

// spin runs a chain of n dependent multiply-adds.
//
//go:noinline
func spin(n int) {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	spinSink.Store(x)
}

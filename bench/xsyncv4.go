// SPDX-License-Identifier: GPL-2.0-or-later

package bench

import xsyncv4 "github.com/puzpuzpuz/xsync/v4"

// xsyncV4Map is xsync v4's Map, the successor of v3's MapOf (a
// CLHT-style hash table whose reads take no lock and write no shared
// memory), treated as MapOf is: Load and Store over the keys, presized.
type xsyncV4Map struct{ m *xsyncv4.Map[uint64, uint64] }

func buildXsyncV4Map(f *Fixture) (Map, error) {
	keys := f.Keys
	m := xsyncv4.NewMap[uint64, uint64](xsyncv4.WithPresize(len(keys)))
	for _, k := range keys {
		m.Store(k, k)
	}
	return &xsyncV4Map{m}, nil
}

func (m *xsyncV4Map) Load(keys []uint64) uint64 {
	var sum uint64
	for _, k := range keys {
		v, _ := m.m.Load(k)
		sum += v
	}
	return sum
}

func (m *xsyncV4Map) Store(k uint64) { m.m.Store(k, k) }
func (m *xsyncV4Map) Close()         { m.m = nil }

func (m *xsyncV4Map) EraseStore(k uint64) {
	m.m.Delete(k)
	m.m.Store(k, k)
}

// CmpXchg is Compute updating the key to k if it holds k, and cancelling
// otherwise.
func (m *xsyncV4Map) CmpXchg(k uint64) bool {
	ok := false
	m.m.Compute(k, func(old uint64, loaded bool) (uint64, xsyncv4.ComputeOp) {
		if ok = loaded && old == k; ok {
			return k, xsyncv4.UpdateOp
		}
		return old, xsyncv4.CancelOp
	})
	return ok
}

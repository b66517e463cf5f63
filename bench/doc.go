// SPDX-License-Identifier: GPL-2.0-or-later

// Package bench holds xabench's workloads and the code that measures them:
// what `go test -bench` benchmarks and the xabench command both run, so that
// both measure the same thing.
//
// Every measurement runs for a given duration and returns plain numbers
// (nanoseconds per operation, operations per second, latency percentiles).
// Timings on shared machines are noisy: callers repeat measurements, report
// medians, and compare primitives by ratios measured in the same run.
//
// The lookup suites (Suites, Run) measure competitors behind one small
// interface, Map: the XArray's Load and a State batch, the page cache's
// filemap_get_entry, sync.Map, xsync.MapOf (v3) and xsync.Map (v4), maps
// under sync.RWMutex and xsync.RBMutex, an ordered competitor
// (tidwall/btree's B-tree behind a sync.RWMutex, and as a copy-on-write
// snapshot that readers use without a lock), and a []atomic.Uint64 as the
// floor for dense keys; all on
// the same keys (Keys: dense or sparse, 1K to 16M), the same values and
// the same access sequence (Sequence: sequential, uniform or zipf), with
// read/write mixes and 1..GOMAXPROCS goroutines; the write workloads
// (writes.go) run one write op only (store, erase, the XArray's
// storerange, cmpxchg), each against xsync.MapOf's Store. Results are
// written in the Go benchmark format and as JSON (Results.WriteFiles),
// and compared with
// benchmath's statistics (Compare); the rcu suite (RunRCU) measures the
// read side of package rcu.
package bench

// SPDX-License-Identifier: GPL-2.0-or-later

// Package bench holds xabench's workloads and the code that measures them:
// what `go test -bench` benchmarks and the xabench command both run, so that
// both measure the same thing.
//
// Every measurement runs for a given duration and returns plain numbers
// (nanoseconds per operation, operations per second, latency percentiles).
// Timings on shared machines are noisy: callers repeat measurements, report
// medians, and compare primitives by ratios measured in the same run.
package bench

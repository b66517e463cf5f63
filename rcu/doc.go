// SPDX-License-Identifier: GPL-2.0-or-later

// Package rcu provides userspace read-copy-update: cheap read-side sections
// and grace periods that wait for them, modelled on the Linux kernel's SRCU.
//
// A reader brackets its use of shared data with ReadLock and ReadUnlock. A
// writer that has unpublished an object (made it unreachable for new readers
// with an atomic store) calls Synchronize, which returns once every read-side
// section that might still hold the object has ended; after that the object
// may be freed or reused. Call defers a function until after such a grace
// period without blocking the caller; many Calls share one grace period.
// Barrier waits until every function passed to Call before it has run.
//
// Read-side sections are cheap and nestable: ReadLock counts the section on
// the current processor (P), so readers on different CPUs write different
// cache lines, and returns a Token that ReadUnlock needs. A section may
// block, may be preempted and may migrate between threads; it only delays
// grace periods while it is held.
//
// # Two read sides
//
// A Domain counts its sections in one of two ways, fixed when it is made
// (Domain.ReadSide says which).
//
// The membarrier read side, the default on Linux where membarrier(2)
// accepts MEMBARRIER_CMD_PRIVATE_EXPEDITED, works as liburcu's urcu-memb
// and the kernel's SRCU together. Each P has a lock count and an unlock
// count per phase. ReadLock pins the goroutine to its P (no other
// goroutine can run there until it unpins), reads the phase and adds one
// to that P's lock count with a plain load and store; ReadUnlock adds one
// to the unlock count of the P it runs on then. Neither executes a locked
// instruction or a fence. A grace period asks whether phase i is idle by
// summing the unlock counts, calling membarrier, then summing the lock
// counts, and finds it idle when the sums are equal (SRCU's
// srcu_readers_active_idx_check, with membarrier where SRCU's readers
// execute smp_mb).
//
// Why that is enough. membarrier returns only after every CPU that runs a
// thread of the process has executed a full barrier (a CPU that runs none
// passed one in the context switch), at some point of its instruction
// stream. Take a writer that unpublishes an object and then calls
// Synchronize, and a reader R that finds the object.
//
//   - R's unlock store was counted in an unlock sum: the barrier on R's
//     CPU came after that store in R's program, so R's lock store and
//     every load R made inside the section had completed before
//     membarrier returned. The lock sum that follows counts R's lock, so
//     a counted unlock never hides an uncounted lock, and the writer's
//     free, which follows the last membarrier, cannot reach R's loads.
//   - R's lock store was not counted in a lock sum: then R's load of the
//     published word came after the barrier on R's CPU (had it come
//     before, R's earlier lock store would have been visible when
//     membarrier returned), and that barrier follows the writer's
//     unpublish (membarrier orders the caller's earlier stores too), so R
//     cannot have found the object.
//
// Equal sums thus mean that every section counted on phase i by the time
// of the barrier has ended, and sections not counted cannot hold what the
// writer unpublished. The phase flip between two such waits bounds them,
// as on the locked side (see gracePeriod). Pinning keeps the plain
// load and store of a count from interleaving with another goroutine's on
// the same P; the count is a word, so a grace period's atomic load reads
// some value a P stored, never a torn one.
//
// What this rests on beyond the Go memory model: the model gives no
// happens-before edge from a plain store to an atomic load on another
// thread, so the argument uses the hardware's ordering, which membarrier
// completes, and the compiler's: Go's compiler threads every load and
// store through one memory chain and does not move a store across a call
// (cpu.Pin and cpu.Unpin are calls into the runtime), so the count's
// store stays between the pin and the section's loads. The race detector
// sees none of it, which is why the race build always has the locked read
// side.
//
// The locked read side, used where membarrier is refused or missing and
// under the race detector, adds to a per-P stripe's counter with a locked
// atomic add; ReadUnlock subtracts from the stripe the Token names, and a
// grace period waits for each stripe's counter to read zero.
//
// Cost, measured (go test -bench ReadLock ./rcu on a 16-CPU Xeon, medians
// of 6, results/device16-2026-12-04): a ReadLock+ReadUnlock pair takes
// 5.1 ns on the membarrier read side, 13.6 ns on the locked one and 17.9
// ns for xsync.RBMutex, and all three scale linearly to 16 goroutines.
// Most of the 5.1 ns are the two pin/unpin pairs, runtime calls that the
// compiler cannot inline. A grace period pays two membarrier calls or
// more (about 2 µs each on a 2-CPU VM, more where many CPUs must be
// interrupted).
package rcu

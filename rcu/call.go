// SPDX-License-Identifier: GPL-2.0-or-later

package rcu

import (
	"fmt"
	"time"
)

// Call arranges for f to run, on a goroutine of d's own, after a grace
// period: after every read-side section of d that had begun before Call was
// called has ended. Call does not block. Callbacks are batched: one grace
// period serves every callback queued while the previous batch was waiting,
// and the callbacks of a batch run one after another in the order they were
// queued. A callback may call Call again (to wait for one more grace period,
// say), but must not call Barrier or Close of d.
//
// The goroutine that runs callbacks is started on demand and exits when no
// callback is left.
//
// Call panics if f is nil or if d has been closed.
func (d *Domain) Call(f func()) {
	if f == nil {
		panic("rcu: Call with a nil function")
	}
	d.cbMu.Lock()
	if d.closed {
		d.cbMu.Unlock()
		panic("rcu: Call after Close")
	}
	d.pending = append(d.pending, f)
	d.cbQueued++
	if !d.running {
		d.running = true
		d.workerWG.Add(1)
		go d.worker()
	}
	d.cbMu.Unlock()
}

// maxSpare bounds the capacity of the batch slice a Domain keeps for reuse,
// so that a burst of callbacks does not pin its memory for good.
const maxSpare = 1 << 16

// worker runs batches of callbacks until none is pending.
func (d *Domain) worker() {
	defer d.workerWG.Done()
	d.cbMu.Lock()
	for len(d.pending) > 0 {
		batch := d.pending
		end := d.cbQueued
		d.pending = d.spare[:0]
		d.spare = nil
		d.cbMu.Unlock()

		// Callbacks are in no hurry: rather than spin out the spacing
		// between grace periods as Synchronize does, sleep it out, and
		// let more callbacks join the next batch meanwhile.
		if since := d.sinceLastGP(); since < gpMinInterval {
			time.Sleep(gpMinInterval - since)
			d.cbMu.Lock()
			batch = append(batch, d.pending...)
			clear(d.pending)
			d.pending = d.pending[:0]
			end = d.cbQueued
			d.cbMu.Unlock()
		}
		d.Synchronize()
		for i, f := range batch {
			batch[i] = nil // let f be collected once run
			f()
		}
		d.cbBatches.Add(1)

		d.cbMu.Lock()
		d.cbDone = end
		if cap(batch) <= maxSpare && (d.spare == nil || cap(batch) > cap(d.spare)) {
			d.spare = batch[:0]
		}
		d.wakeLocked()
	}
	d.running = false
	d.wakeLocked()
	d.cbMu.Unlock()
}

// wakeLocked wakes the goroutines waiting in waitLocked. d.cbMu is held.
func (d *Domain) wakeLocked() {
	if d.cbWake != nil {
		close(d.cbWake)
		d.cbWake = nil
	}
}

// waitLocked waits until done reports true, rechecking it whenever the
// worker completes a batch or exits. d.cbMu is held on entry and on return;
// done is called with it held. If no batch completes for the stall timeout,
// waitLocked panics: what is waiting can then never finish.
func (d *Domain) waitLocked(what string, done func() bool) {
	var timer *time.Timer
	var timeout <-chan time.Time
	stall := time.Duration(d.stall.Load())
	last := d.cbDone
	for !done() {
		if d.cbWake == nil {
			d.cbWake = make(chan struct{})
		}
		wake := d.cbWake
		d.cbMu.Unlock()
		if stall > 0 && timer == nil {
			timer = time.NewTimer(stall)
			timeout = timer.C
		}
		select {
		case <-wake:
		case <-timeout:
			panic(fmt.Sprintf("rcu: %s waited %v without a callback batch completing; "+
				"most likely it was called from a callback of the same Domain, or inside one of its read-side sections",
				what, stall))
		}
		d.cbMu.Lock()
		if d.cbDone != last && timer != nil {
			last = d.cbDone
			timer.Reset(stall)
		}
	}
	if timer != nil {
		timer.Stop()
	}
}

// Barrier waits until every callback passed to Call of d before Barrier was
// called has run. Callbacks queued later, including those queued by the
// callbacks it waits for, are not waited for.
//
// Barrier must not be called inside a read-side section of d or from a
// callback of d; if it is, it panics once no callback has completed for the
// stall timeout.
func (d *Domain) Barrier() {
	d.cbMu.Lock()
	target := d.cbQueued
	d.waitLocked("Barrier", func() bool { return d.cbDone >= target })
	d.cbMu.Unlock()
}

// Close waits until every callback of d has run, including callbacks queued
// by callbacks, and until the goroutine that ran them has exited. After
// Close, Call panics; read-side sections and Synchronize still work. Close
// is idempotent.
//
// Close must not be called inside a read-side section of d or from a
// callback of d; if it is, it panics once no callback has completed for the
// stall timeout.
func (d *Domain) Close() {
	d.cbMu.Lock()
	d.waitLocked("Close", func() bool { return !d.running })
	d.closed = true
	d.cbMu.Unlock()
	d.workerWG.Wait()
}

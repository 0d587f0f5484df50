package sim

import (
	"fmt"
	"strings"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// A fault is one kind of injected failure. Each seed draws which faults
// it runs and their parameters (swarm testing: a run that leaves some
// faults out explores states a run with all of them never reaches). A
// fault schedules its own occurrences on the world's queue and stops once
// the world leaves the fault phase; its effects must heal by themselves
// (a crashed broker restarts) so that the drain phase can converge.
type fault interface {
	name() string
	describe() string
	arm(w *world)
}

// drawFaults picks the seed's fault mix. Adding a fault means adding a
// constructor here; each draws its parameters from the world's rng.
func drawFaults(w *world) []fault {
	var out []fault
	if w.rng.Float64() < 0.75 {
		out = append(out, &crashFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			downMax:      core.Instant(1e6 + w.rng.Int64N(2e9)),
		})
	}
	if w.rng.Float64() < 0.6 {
		out = append(out, &crashAtIOFault{
			meanInterval: core.Instant(200e6 + w.rng.Int64N(5e9)),
			downMax:      core.Instant(1e6 + w.rng.Int64N(1e9)),
		})
	}
	if w.rng.Float64() < 0.4 {
		out = append(out, &ioErrorFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			restartMax:   core.Instant(1e6 + w.rng.Int64N(2e9)),
		})
	}
	if w.rng.Float64() < 0.6 {
		out = append(out, &connResetFault{meanInterval: core.Instant(50e6 + w.rng.Int64N(3e9))})
	}
	if w.rng.Float64() < 0.4 {
		out = append(out, &slowDiskFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			lengthMax:    core.Instant(100e6 + w.rng.Int64N(5e9)),
			probMax:      0.05 + w.rng.Float64()*0.95,
			delayMax:     core.Instant(1e6 + w.rng.Int64N(2e9)),
		})
	}
	if w.rng.Float64() < 0.3 {
		out = append(out, &diskFullFault{
			meanInterval: core.Instant(2e9 + w.rng.Int64N(20e9)),
			lengthMax:    core.Instant(10e6 + w.rng.Int64N(3e9)),
		})
	}
	if w.rng.Float64() < 0.4 {
		out = append(out, &partitionFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			lengthMax:    core.Instant(10e6 + w.rng.Int64N(15e9)),
		})
	}
	if w.rng.Float64() < 0.4 {
		out = append(out, &clockJumpFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			forwardMax:   core.Instant(1e9 + w.rng.Int64N(3600e9)),
			backMax:      core.Instant(1e6 + w.rng.Int64N(10e9)),
		})
	}
	if w.rng.Float64() < 0.4 {
		out = append(out, &pauseFault{
			meanInterval: core.Instant(500e6 + w.rng.Int64N(10e9)),
			lengthMax:    core.Instant(1e6 + w.rng.Int64N(8e9)),
		})
	}
	if w.rng.Float64() < 0.3 {
		out = append(out, &sessionExpiryFault{meanInterval: core.Instant(500e6 + w.rng.Int64N(8e9))})
	}
	if w.rng.Float64() < 0.3 {
		// drawn for the seed's other draws' sake: a cluster run draws its
		// own peer churn (clusterFaults), a single broker has no peers
		_ = core.Instant(200e6 + w.rng.Int64N(5e9))
	}
	if len(out) == 0 {
		// Swarm testing wants a non-empty subset: a run without faults
		// is what the quiet phases already give.
		out = append(out, &connResetFault{meanInterval: core.Instant(50e6 + w.rng.Int64N(3e9))})
	}
	if causesCrashes(out) && w.rng.Float64() < 0.5 {
		w.broker.bitFlipProb = 0.1 + w.rng.Float64()*0.9
		out = append(out, bitFlipMarker{w.broker.bitFlipProb})
	}
	if causesCrashes(out) {
		out = append(out, drawCorruption(w)...)
	}
	return out
}

func causesCrashes(fs []fault) bool {
	for _, f := range fs {
		switch f.name() {
		case "crash", "crash-at-io", "io-error", "disk-full":
			return true
		}
	}
	return false
}

// bitFlipMarker records in the mix that crashes of this seed may first
// flip a bit in an unsynced tail (see world.flipUnsyncedBit); the crash
// paths do the flipping.
type bitFlipMarker struct{ prob float64 }

func (f bitFlipMarker) name() string     { return "bit-flip" }
func (f bitFlipMarker) describe() string { return fmt.Sprintf("bit-flip(p=%.2f)", f.prob) }
func (f bitFlipMarker) arm(*world)       {}

func describeFaults(fs []fault) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.describe()
	}
	return strings.Join(parts, " ")
}

// expInterval draws an exponentially distributed interval with the mean.
func (w *world) expInterval(mean core.Instant) core.Instant {
	return 1 + core.Instant(w.rng.ExpFloat64()*float64(mean))
}

// crashFault crashes the broker (power loss: unsynced data may be lost or
// torn as the memfs crash policy says), drops every connection, and
// restarts it with recovery after up to downMax.
type crashFault struct {
	meanInterval core.Instant
	downMax      core.Instant
}

func (f *crashFault) name() string { return "crash" }
func (f *crashFault) describe() string {
	return fmt.Sprintf("crash(every~%s,down<%s)", fmtDur(f.meanInterval), fmtDur(f.downMax))
}

func (f *crashFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		if w.broker.up {
			w.count(f.name())
			w.broker.crash()
			w.after(1+core.Instant(w.rng.Int64N(int64(f.downMax))), w.broker.restart)
		}
		f.arm(w)
	})
}

// connResetFault resets one random connection (both sides lose what is
// in flight).
type connResetFault struct{ meanInterval core.Instant }

func (f *connResetFault) name() string { return "conn-reset" }
func (f *connResetFault) describe() string {
	return fmt.Sprintf("conn-reset(every~%s)", fmtDur(f.meanInterval))
}

func (f *connResetFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		if len(w.broker.connList) > 0 {
			w.count(f.name())
			c := w.broker.connList[w.rng.IntN(len(w.broker.connList))]
			w.resetConn(c)
		}
		f.arm(w)
	})
}

// sessionExpiryFault expires the broker's coordination session, as
// ZooKeeper does to a broker it has not heard from within the session
// timeout: its ephemeral znodes (the registration) go, and the broker
// learns of its new session.
type sessionExpiryFault struct{ meanInterval core.Instant }

func (f *sessionExpiryFault) name() string { return "zk-session-expiry" }
func (f *sessionExpiryFault) describe() string {
	return fmt.Sprintf("zk-session-expiry(every~%s)", fmtDur(f.meanInterval))
}

func (f *sessionExpiryFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		n := w.broker
		if w.ens != nil {
			n = w.nodes[w.rng.IntN(len(w.nodes))]
		}
		if n.up {
			w.count(f.name())
			n.expireSession()
		}
		f.arm(w)
	})
}

func fmtDur(d core.Instant) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d >= 1e9:
		return fmt.Sprintf("%.1fs", float64(d)/1e9)
	case d >= 1e6:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0fus", float64(d)/1e3)
}

// crashAtIOFault arms crash points (see crashPoint): the broker crashes
// just before a chosen kind of storage operation, e.g. between a segment
// write and its sync, or while recovery truncates a torn tail.
type crashAtIOFault struct {
	meanInterval core.Instant
	downMax      core.Instant
	op           string // aim every point at this operation; "" draws each
}

// crashOps are the operations a crash point aims at; "" is any, and
// opSyncAfterRoll the sync of a segment that a later segment already
// follows (its tail unsynced while the next one exists: the state a
// segment-gap needs).
var crashOps = []string{"", memfs.OpWrite, memfs.OpSync, memfs.OpRename, memfs.OpSyncDir, memfs.OpTruncate, memfs.OpOpen, opSyncAfterRoll}

const opSyncAfterRoll = "sync-after-roll"

func (f *crashAtIOFault) name() string { return "crash-at-io" }
func (f *crashAtIOFault) describe() string {
	return fmt.Sprintf("crash-at-io(every~%s,down<%s)", fmtDur(f.meanInterval), fmtDur(f.downMax))
}

func (f *crashAtIOFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		// A point that did not fire (its operation is rare in this
		// seed) is replaced, so the fault never goes quiet.
		op, skip := f.op, 0
		if op == "" {
			op, skip = crashOps[w.rng.IntN(len(crashOps))], w.rng.IntN(50)
		}
		w.broker.crashAt = &crashPoint{op: op, skip: skip}
		w.broker.crashDownMax = f.downMax
		f.arm(w)
	})
}

// ioErrorFault fails a segment write or sync (see ioErrorPoint); the
// partition goes offline with KAFKA_STORAGE_ERROR until the broker is
// restarted, which the fault does after up to restartMax.
type ioErrorFault struct {
	meanInterval core.Instant
	restartMax   core.Instant
}

func (f *ioErrorFault) name() string { return "io-error" }
func (f *ioErrorFault) describe() string {
	return fmt.Sprintf("io-error(every~%s,restart<%s)", fmtDur(f.meanInterval), fmtDur(f.restartMax))
}

func (f *ioErrorFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		op := []string{memfs.OpWrite, memfs.OpSync}[w.rng.IntN(2)]
		w.broker.ioErr = &ioErrorPoint{op: op, skip: w.rng.IntN(20), restartMax: f.restartMax}
		f.arm(w)
	})
}

// window schedules a fault's occurrences: after an exponential interval
// with the mean, fire runs if the world is still in the fault phase; the
// fault then rearms. fire must arrange its own healing.
func (w *world) window(mean core.Instant, fire func()) {
	w.after(w.expInterval(mean), func() {
		if !w.faulting() {
			return
		}
		fire()
		w.window(mean, fire)
	})
}

// slowDiskFault opens windows during which a share of the storage and
// coordination completions reach the broker late (see world.hold).
type slowDiskFault struct {
	meanInterval, lengthMax core.Instant
	probMax                 float64
	delayMax                core.Instant
	prob                    float64 // of the current window
}

func (f *slowDiskFault) name() string { return "slow-disk" }
func (f *slowDiskFault) describe() string {
	return fmt.Sprintf("slow-disk(every~%s,for<%s,p<%.2f,delay<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax), f.probMax, fmtDur(f.delayMax))
}

func (f *slowDiskFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		if w.broker.slowDisk != nil {
			return
		}
		f.prob = w.rng.Float64() * f.probMax
		w.broker.slowDisk = f
		w.after(1+core.Instant(w.rng.Int64N(int64(f.lengthMax))), func() { w.broker.slowDisk = nil })
	})
}

// diskFullFault opens windows during which every write fails with
// ENOSPC. When space is freed, a broker that hit the full disk (and took
// partitions offline) is restarted by its operator.
type diskFullFault struct{ meanInterval, lengthMax core.Instant }

func (f *diskFullFault) name() string { return "disk-full" }
func (f *diskFullFault) describe() string {
	return fmt.Sprintf("disk-full(every~%s,for<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax))
}

func (f *diskFullFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		if w.now < w.broker.diskFullEnd || !w.broker.up {
			return
		}
		w.broker.diskFullEnd = w.now + 1 + core.Instant(w.rng.Int64N(int64(f.lengthMax)))
		w.broker.diskFullHits = 0
		w.schedule(w.broker.diskFullEnd, func() {
			// Whichever incarnation hit the full disk, the one running
			// now may have partitions offline: restart it.
			if w.broker.diskFullHits > 0 && w.broker.up {
				w.logf("disk space freed; restarting the broker")
				w.broker.crash()
				w.after(1e6, w.broker.restart)
			}
		})
	})
}

// partitionFault cuts the network between clients and the broker for a
// while: one client or all of them (the broker isolated), both
// directions or one (asymmetric). Frames stall; clients time out, drop
// the connection and redial, which fails until the path heals.
type partitionFault struct{ meanInterval, lengthMax core.Instant }

func (f *partitionFault) name() string { return "partition" }
func (f *partitionFault) describe() string {
	return fmt.Sprintf("partition(every~%s,for<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax))
}

func (f *partitionFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		clients := w.clients()
		if w.rng.IntN(4) != 0 {
			i := w.rng.IntN(len(clients))
			clients = clients[i : i+1]
		}
		until := w.now + 1 + core.Instant(w.rng.Int64N(int64(f.lengthMax)))
		var c cut
		switch w.rng.IntN(4) {
		case 0:
			c.toBroker = until
		case 1:
			c.toClient = until
		default:
			c.toBroker, c.toClient = until, until
		}
		w.count(f.name())
		for _, cl := range clients {
			cc := c
			w.cuts[cl] = &cc
			w.logf("partition: %s cut (to broker until %s, to client until %s)", cl.name, fmtInstant(c.toBroker), fmtInstant(c.toClient))
			w.schedule(until, func() {
				if w.cuts[cl] == &cc {
					delete(w.cuts, cl)
				}
			})
		}
	})
}

// clients lists every client of the world, in a fixed order.
func (w *world) clients() []*client {
	out := []*client{w.admin.cl}
	for _, p := range w.producers {
		out = append(out, p.rt.list()...)
	}
	for _, c := range w.consumers {
		out = append(out, c.rt.list()...)
	}
	return out
}

// clockJumpFault moves the broker's clock: forward (an NTP step, a VM
// migrated) or backward. The core clamps its time to be monotonic, so a
// backward jump freezes the broker's time until virtual time catches up.
// Forward jumps reach up to an hour: past the short retention.ms some
// seeds draw (policy.go), so retention deletes acknowledged data early,
// as Kafka's documented behaviour allows, and the checks must accept it.
type clockJumpFault struct{ meanInterval, forwardMax, backMax core.Instant }

func (f *clockJumpFault) name() string { return "clock-jump" }
func (f *clockJumpFault) describe() string {
	return fmt.Sprintf("clock-jump(every~%s,+%s,-%s)", fmtDur(f.meanInterval), fmtDur(f.forwardMax), fmtDur(f.backMax))
}

func (f *clockJumpFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		if w.rng.IntN(2) == 0 {
			w.broker.clockSkew += 1 + core.Instant(w.rng.Int64N(int64(f.forwardMax)))
			w.count("clock-jump-forward")
		} else {
			back := 1 + core.Instant(w.rng.Int64N(int64(f.backMax)))
			w.broker.clockSkew -= back
			w.disturb(back) // the broker's time stands still meanwhile
			w.count("clock-jump-back")
		}
		w.logf("broker clock skew now %s", fmtDur(w.broker.clockSkew))
	})
}

// pauseFault stops the broker process for a while (SIGSTOP, a long GC
// pause, a frozen VM): it handles nothing, then catches up in order.
type pauseFault struct{ meanInterval, lengthMax core.Instant }

func (f *pauseFault) name() string { return "pause" }
func (f *pauseFault) describe() string {
	return fmt.Sprintf("pause(every~%s,for<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax))
}

func (f *pauseFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		if !w.broker.up || w.broker.paused {
			return
		}
		w.count(f.name())
		w.broker.pause(1 + core.Instant(w.rng.Int64N(int64(f.lengthMax))))
	})
}

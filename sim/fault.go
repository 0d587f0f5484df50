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
	return out
}

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
		if w.up {
			w.count(f.name())
			w.crash()
			w.after(1+core.Instant(w.rng.Int64N(int64(f.downMax))), w.restart)
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
		if len(w.connList) > 0 {
			w.count(f.name())
			c := w.connList[w.rng.IntN(len(w.connList))]
			w.resetConn(c)
		}
		f.arm(w)
	})
}

func fmtDur(d core.Instant) string {
	switch {
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
}

// crashOps are the operations a crash point aims at; "" is any.
var crashOps = []string{"", memfs.OpWrite, memfs.OpSync, memfs.OpRename, memfs.OpSyncDir, memfs.OpTruncate, memfs.OpOpen}

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
		w.crashAt = &crashPoint{op: crashOps[w.rng.IntN(len(crashOps))], skip: w.rng.IntN(50)}
		w.crashDownMax = f.downMax
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
		w.ioErr = &ioErrorPoint{op: op, skip: w.rng.IntN(20), restartMax: f.restartMax}
		f.arm(w)
	})
}

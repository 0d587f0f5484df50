package sim

import (
	"fmt"

	"cloudkafka/core"
)

// storageExec is the simulated kernel's IO queue: it makes the broker's
// storage truly asynchronous. When a seed turns it on, every storage
// effect (CreateLog, DeleteLog, Append, Sync, Read, FindTime, Retain,
// Clean) waits in a per-partition queue and is executed later, in an
// event of its own: the write and the fsync themselves happen late, not
// just the news of them. Partitions' queues run independently, so operations
// complete out of order across partitions; within one partition they run
// in order, except that a Sync may first run the Appends queued behind it,
// so that one fsync covers appends issued both before and after the Sync
// that asked for it (which is still what the Sync promised). Reads
// (Read, FindTime) do not queue behind writes, as reads served from the
// page cache do not: the core reads only what completed appends wrote.
//
// A crash discards the queues: the process that issued the operations is
// gone, and nothing it had not yet written reaches the disk.
type storageExec struct {
	on       bool
	delayMax core.Instant // each queued operation waits up to this long
	pullProb float64      // chance that a Sync first runs the Appends behind it
	queues   map[core.TopicPartition]*storageQueue
}

type storageQueue struct {
	effects   []core.Effect
	scheduled bool
}

func (w *world) drawStorage() {
	s := &w.broker.storage
	s.queues = map[core.TopicPartition]*storageQueue{}
	if w.rng.Float64() < 0.4 && w.cfg.Directed != DirectSegmentGap {
		w.mix = append(w.mix, "storage=sync")
		return
	}
	s.on = true
	if w.rng.IntN(4) > 0 {
		s.delayMax = core.Instant(100e3 + w.rng.Int64N(20e6))
	}
	s.pullProb = w.rng.Float64()
	if w.cfg.Directed == DirectSegmentGap {
		s.pullProb = 1 // syncs run the appends queued behind them, which roll segments first
	}
	w.mix = append(w.mix, fmt.Sprintf("storage=async(delay<%s,pull=%.2f)", fmtDur(s.delayMax), s.pullProb))
}

// effectPartition is the partition a storage effect concerns.
func effectPartition(e core.Effect) core.TopicPartition {
	switch e := e.(type) {
	case core.CreateLog:
		return e.Partition
	case core.DeleteLog:
		return e.Partition
	case core.Append:
		return e.Partition
	case core.Sync:
		return e.Partition
	case core.Read:
		return e.Partition
	case core.FindTime:
		return e.Partition
	case core.Retain:
		return e.Partition
	case core.Clean:
		return e.Partition
	case core.Truncate:
		return e.Partition
	case core.Measure:
		return e.Partition
	case core.Scrub:
		return e.Partition
	}
	panic(fmt.Sprintf("sim: %T is not a storage effect", e))
}

// deferStorage is the driver's Defer hook.
func (n *node) deferStorage(e core.Effect) bool {
	w := n.w
	s := &n.storage
	if _, ok := e.(core.Scrub); ok {
		// Scrubs run at once, in the driver: they only read, and the
		// scrubber's pace draws nothing from the world's random source
		// nor counts toward a crash point (see node.scrubbing).
		n.scrubbing = true
		return false
	}
	if !s.on {
		return false
	}
	switch e.(type) {
	case core.Read, core.FindTime, core.Measure:
		inc := n.incarnation
		w.after(core.Instant(w.rng.Int64N(int64(s.delayMax)+1)), func() {
			if n.up && n.incarnation == inc {
				n.runStorage(&storageQueue{effects: []core.Effect{e}})
			}
		})
		return true
	}
	tp := effectPartition(e)
	q := s.queues[tp]
	if q == nil {
		q = &storageQueue{}
		s.queues[tp] = q
	}
	q.effects = append(q.effects, e)
	n.scheduleStorage(tp, q)
	return true
}

func (n *node) scheduleStorage(tp core.TopicPartition, q *storageQueue) {
	w := n.w
	if q.scheduled || len(q.effects) == 0 {
		return
	}
	q.scheduled = true
	inc := n.incarnation
	w.after(core.Instant(w.rng.Int64N(int64(n.storage.delayMax)+1)), func() {
		if !n.up || n.incarnation != inc {
			return // crashed meanwhile: the queue is gone with the process
		}
		q.scheduled = false
		n.runStorage(q)
		if n.up && n.incarnation == inc {
			n.scheduleStorage(tp, q)
		}
	})
}

// runStorage executes the queue's head (a Sync perhaps with the Appends
// behind it first) and hands the completions to the broker.
func (n *node) runStorage(q *storageQueue) {
	w := n.w
	head := q.effects[0]
	batch := []core.Effect{head}
	if _, ok := head.(core.Sync); ok && w.rng.Float64() < n.storage.pullProb {
		n := 1
		for n < len(q.effects) {
			if _, ok := q.effects[n].(core.Append); !ok {
				break
			}
			n++
		}
		batch = append(append([]core.Effect(nil), q.effects[1:n]...), head)
	}
	q.effects = q.effects[len(batch):]
	inc := n.incarnation
	for _, e := range batch {
		if !n.up || n.incarnation != inc {
			return // handling the previous completion took the broker down (a crash point fired inside it)
		}
		ev, ok := n.perform(e)
		if !ok || !n.up || n.incarnation != inc {
			return // a crash point fired
		}
		if ev != nil && !n.hold(ev) {
			n.handle(ev)
		}
	}
}

// perform executes one storage effect under the crash-point guard; ok is
// false when a crash point fired instead.
func (n *node) perform(e core.Effect) (ev core.Event, ok bool) {
	defer n.recoverBroker()
	n.inBroker = true
	ev = n.drv.Perform(e)
	n.inBroker = false
	return ev, true
}

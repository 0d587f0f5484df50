package sim

import (
	"cloudkafka/core"
)

// The brokers' metrics snapshots (core.Broker.Stats), checked against
// what the simulator knows:
//
//   - metrics (every metricsCheckTicks ticks, on every running broker):
//     a group's exported lag on a partition is the partition's high
//     watermark in the same snapshot less the committed offset, at least
//     0; and the per-topic counters of one broker process never go
//     down.
//   - metrics, at convergence: the broker coordinating the simulator's
//     group exports its committed offsets as the members last had them
//     acknowledged (when no commit is out and each member committed its
//     position), for every partition of the topic it hosts; no other
//     broker exports the group.

// metricsCheckTicks spaces the running checks: every so many ticks of
// the world (tickInterval each).
const metricsCheckTicks = 50

// metricsWatch is what the running checks remember of one broker
// process: its last counters, by topic label.
type metricsWatch struct {
	incarnation int
	counters    map[string]core.TopicCounters
}

// checkMetricsRunning checks every running broker's snapshot.
func (w *world) checkMetricsRunning() {
	w.metricsTicks++
	if w.metricsTicks%metricsCheckTicks != 0 {
		return
	}
	for _, n := range w.nodes {
		if !n.up || n.drv == nil {
			continue
		}
		st := n.drv.Broker().Stats()
		w.checkLagFormula(n, st)
		w.checkCountersMonotonic(n, st)
	}
}

// checkLagFormula: lag = high watermark - committed, at least 0, against
// the same snapshot's log of that partition.
func (w *world) checkLagFormula(n *node, st core.Stats) {
	hwm := map[core.TopicPartition]core.Offset{}
	for _, l := range st.Logs {
		hwm[core.TopicPartition{Topic: l.Topic, Partition: l.Partition}] = l.HighWatermark
	}
	for _, l := range st.Lag {
		if l.Group == core.OtherLabel || l.Topic == core.OtherLabel {
			continue
		}
		h, ok := hwm[core.TopicPartition{Topic: l.Topic, Partition: l.Partition}]
		switch {
		case !ok:
			w.failf("metrics", "broker %d exports lag of group %s on %s-%d, a partition it does not host", n.id, l.Group, l.Topic, l.Partition)
		case l.HighWatermark != h || l.Lag != max(int64(h-l.Committed), 0):
			w.failf("metrics", "broker %d: group %s lag on %s-%d is %d at high watermark %d, committed %d; the partition's high watermark is %d: want lag %d",
				n.id, l.Group, l.Topic, l.Partition, l.Lag, l.HighWatermark, l.Committed, h, max(int64(h-l.Committed), 0))
		}
	}
}

// checkCountersMonotonic: within one broker process, no topic label's
// counter goes down.
func (w *world) checkCountersMonotonic(n *node, st core.Stats) {
	if w.metricsSeen == nil {
		w.metricsSeen = map[core.BrokerID]*metricsWatch{}
	}
	mw := w.metricsSeen[n.id]
	if mw == nil || mw.incarnation != n.incarnation {
		mw = &metricsWatch{incarnation: n.incarnation, counters: map[string]core.TopicCounters{}}
		w.metricsSeen[n.id] = mw
	}
	for _, t := range st.Topics {
		prev := mw.counters[t.Topic]
		c := t.TopicCounters
		if c.BytesIn < prev.BytesIn || c.MessagesIn < prev.MessagesIn || c.BytesOut < prev.BytesOut || c.ProduceRequests < prev.ProduceRequests {
			w.failf("metrics", "broker %d: counters of topic %s went down: %+v after %+v", n.id, t.Topic, c, prev)
		}
		mw.counters[t.Topic] = c
	}
}

// checkMetricsConverged runs once the run converged (every member has
// committed every acknowledged record).
func (w *world) checkMetricsConverged() {
	model := map[int32]core.Offset{}
	for _, m := range w.members {
		if m.commitOut {
			return // an answer is out: the coordinator may be ahead of the member
		}
		for _, p := range m.assigned {
			if m.pos[p] != m.committed[p] {
				return // a commit is due: the member's view is about to change
			}
			if c, ok := m.committed[p]; ok {
				model[p] = c
			}
		}
	}
	coordinators := 0
	for _, n := range w.nodes {
		st := n.drv.Broker().Stats()
		w.checkLagFormula(n, st)
		hosted := map[int32]bool{}
		for _, l := range st.Logs {
			if l.Topic == w.topic {
				hosted[l.Partition] = true
			}
		}
		exported := map[int32]core.Offset{}
		for _, l := range st.Lag {
			if l.Group == simGroup && l.Topic == w.topic {
				exported[l.Partition] = l.Committed
			}
		}
		if len(exported) == 0 {
			continue
		}
		coordinators++
		for p := int32(0); p < w.partitions; p++ {
			want, committed := model[p]
			got, ok := exported[p]
			switch {
			case !committed || !hosted[p] || want < 0:
			case !ok:
				w.failf("metrics", "broker %d exports lag of %s but none for partition %d, which it hosts and the group committed (%d)", n.id, simGroup, p, want)
			case got != want:
				w.failf("metrics", "broker %d exports %s's committed offset of partition %d as %d; the members' last acknowledged commit is %d", n.id, simGroup, p, got, want)
			}
		}
	}
	if coordinators > 1 {
		w.failf("metrics", "%d brokers export the lag of %s; one coordinates it", coordinators, simGroup)
	}
}

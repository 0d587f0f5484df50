package core

import (
	"math"

	"cloudkafka/core/cover"
)

// The automatic preferred leader rebalance (Kafka's
// KafkaController.checkAndTriggerAutoLeaderRebalance), on the core's
// clock: with auto.leader.rebalance.enable, the controller looks 5 s
// after it took office and then every
// leader.imbalance.check.interval.seconds. It groups the partitions of
// topics not being deleted by their preferred replica (the first of
// their replicas); a broker whose share of such partitions led by
// another broker is above leader.imbalance.per.broker.percentage gets
// each of them whose preferred replica can lead (live, not shutting
// down, in the ISR) back, as a preferred election does (api_43). A look
// due while the controller loads or writes waits for the next tick.

// rebalanceFirstDelayMs is Kafka's delay of the first look.
const rebalanceFirstDelayMs = 5000

// scheduleRebalance sets the next look delayMs from now (none when the
// rebalance is off).
func (b *Broker) scheduleRebalance(delayMs int64) {
	st := b.ctl.state
	if st == nil || !b.cfg.AutoLeaderRebalance {
		return
	}
	st.rebalanceAt = b.now + Instant(min(delayMs, (math.MaxInt64-int64(b.now))/1e6)*1e6)
}

// rebalanceTick looks for imbalance when a look is due and the
// controller is settled.
func (b *Broker) rebalanceTick() {
	st := b.ctlActive()
	if st == nil || st.rebalanceAt == 0 || b.now < st.rebalanceAt || !st.settled() {
		return
	}
	b.scheduleRebalance(min(b.cfg.LeaderImbalanceCheckSec, math.MaxInt64/1000) * 1000)
	b.ctlRebalance()
}

// ctlRebalance elects the preferred leaders of the brokers whose
// leadership imbalance is above the bound.
func (b *Broker) ctlRebalance() {
	st := b.ctlActive()
	live := b.ctlLive()
	type ref struct {
		ct *ctlTopic
		i  int
	}
	byPreferred := map[BrokerID][]ref{}
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		for i, rs := range ct.assignment {
			byPreferred[rs[0]] = append(byPreferred[rs[0]], ref{ct, i})
		}
	}
	for _, pref := range sortedKeys(byPreferred) {
		parts := byPreferred[pref]
		var elsewhere []ref
		for _, p := range parts {
			if s := p.ct.states[p.i]; s != nil && s.leader != pref {
				elsewhere = append(elsewhere, p)
			}
		}
		if float64(len(elsewhere))/float64(len(parts)) <= float64(b.cfg.LeaderImbalancePct)/100 {
			continue
		}
		for _, p := range elsewhere {
			if want, _ := b.ctlElectOne(p.ct, p.i, electPreferred, live); want != nil {
				b.cover(cover.AutoLeaderRebalanced)
				b.ctlWriteState(p.ct, p.i, want)
			}
		}
	}
}

package core

// Leadership lease. In a cluster, a broker answers clients for the
// partitions it leads only while it knows its coordination session is
// alive: it confirms it by reading its own registration every third of
// zookeeper.session.timeout.ms, and a confirmation holds for two thirds
// of the timeout from when the read was sent. The ensemble expires a
// session only a whole timeout after it last heard from it, and the
// controller gives a partition to another broker only after that (or
// once this broker took a LeaderAndIsr that moved it), so a broker cut
// off from the ensemble stops answering before another leader can start:
// no client reads a high watermark a new leader has passed, and no write
// is taken by a leader that was replaced. The lease runs on the runtime's
// monotonic clock (Tick.Mono), which wall-clock steps do not move.
//
// A single broker on its embedded coordinator has no rival and always
// holds the lease.

// leaseState is the lease and its renewal.
type leaseState struct {
	until  Instant // monotonic: the lease holds before it
	asking bool    // a confirmation is out
	nextAt Instant // monotonic: when the next confirmation is sent
}

// leaseHeld says this broker may answer clients as a leader.
func (b *Broker) leaseHeld() bool {
	return b.cfg.ZookeeperConnect == "" || b.mono < b.lease.until
}

// renewLease sends the next confirmation when one is due.
func (b *Broker) renewLease() {
	if b.cfg.ZookeeperConnect == "" || b.lease.asking || b.brokerEpoch == 0 || b.mono < b.lease.nextAt {
		return
	}
	timeout := Instant(b.cfg.ZookeeperSessionMs) * 1e6
	sent, session := b.mono, b.session
	b.lease.asking = true
	b.coordRead(CoordOp{Kind: CoordExists, Path: BrokerPath(b.cfg.BrokerID)}, func(r CoordResult) {
		b.lease.asking = false
		b.lease.nextAt = sent + timeout/3
		if r.Err == nil && r.Stat.EphemeralOwner == session && session == b.session {
			b.lease.until = max(b.lease.until, sent+timeout*2/3)
		}
	})
}

package core

import (
	"cmp"
	"errors"
	"slices"

	"cloudkafka/core/cover"
)

// errLeadershipLost fails what waited on a partition's leadership when the
// broker stops leading it: the client is told NOT_LEADER_OR_FOLLOWER.
var errLeadershipLost = errors.New("leadership lost")

// Replication, the leader's side: it tracks each follower's log end from
// the follower's fetches (Fetch with a replica id), keeps the high
// watermark at the smallest log end of the in-sync replicas, and changes
// the ISR by writing the partition's state znode conditionally on the
// version it last saw (Kafka's ZooKeeper-era way, before AlterPartition).
// A change that loses the race to the controller is dropped: the
// controller's LeaderAndIsr brings the new state.
//
// The follower's side is in replica_fetcher.go.

// replication is a replica's replication state.
type replication struct {
	// followers, on a leader, by broker id: every other replica.
	followers []*follower
	// isrWriting says an ISR change is being written; isrPending is the
	// ISR it writes. Until the write is done the high watermark counts
	// the members of both (Kafka's "maximal ISR", KIP-497): a follower
	// being added must hold everything below it, as must one being
	// dropped until it is.
	isrWriting bool
	isrPending []BrokerID
	// leaderHWM, on a follower, is the high watermark its leader last
	// sent; -1 until one came.
	leaderHWM Offset
	// serveFrom, on a leader, is its log end when it took the lead:
	// consumers are answered once the high watermark reaches it. Every
	// high watermark a reader saw before, from this broker or another
	// leader, is at most that (the ISR held those records), so no reader
	// sees the high watermark go back.
	serveFrom Offset
	// truncated says a follower has repaired its log against the current
	// leader (OffsetForLeaderEpoch) and may fetch.
	truncated bool
	// truncEpoch is the epoch the follower asks about next while
	// truncating (-1: its latest).
	truncEpoch LeaderEpoch
	// fetcher fetches the partition on a follower; restarting says its
	// log is being started over at its leader's log start.
	fetcher    *fetcher
	restarting bool
}

// follower is a leader's view of one follower replica.
type follower struct {
	id BrokerID
	// leo is the follower's log end: the offset of its last fetch; -1
	// until it fetched from this leader.
	leo Offset
	// logStart is the log start its last fetch reported (Kafka's
	// Replica.logStartOffset); -1 until then, or when the request's
	// version carries none.
	logStart Offset
	// lastCaughtUp is the last time the follower had everything the
	// leader had written (Kafka's lastCaughtUpTimeMs); lastFetchAt and
	// lastFetchEnd are the time of its previous fetch and the leader's
	// written end then.
	lastCaughtUp Instant
	lastFetchAt  Instant
	lastFetchEnd Offset
}

// becomeLeader starts leading p at its current epoch: every other
// replica is a follower of unknown position, caught up as of now (Kafka
// resets the followers' state so), and the epoch starts at the log end.
func (b *Broker) becomeLeader(p *partition) {
	b.stopFollowing(p)
	p.repl = replication{leaderHWM: -1, serveFrom: p.leo}
	b.followersOf(p)
	p.noteEpoch(p.epoch, p.leo)
	b.updateHWM(p)
}

// serving says a leader answers consumers: its high watermark reached
// the log end it had when it took the lead.
func (p *partition) serving() bool { return p.hwm >= p.repl.serveFrom }

// followersOf brings a leader's followers in line with p's replicas:
// new ones start unknown and caught up as of now, gone ones are dropped.
func (b *Broker) followersOf(p *partition) {
	var fs []*follower
	for _, id := range p.replicas {
		if id == b.cfg.BrokerID {
			continue
		}
		f := p.followerOf(id)
		if f == nil {
			f = &follower{id: id, leo: -1, logStart: -1, lastCaughtUp: b.now, lastFetchAt: b.now, lastFetchEnd: -1}
		}
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(x, y *follower) int { return cmp.Compare(x.id, y.id) })
	p.repl.followers = fs
}

// followerOf is the follower id of p, or nil.
func (p *partition) followerOf(id BrokerID) *follower {
	for _, f := range p.repl.followers {
		if f.id == id {
			return f
		}
	}
	return nil
}

// inISR says broker id is in p's ISR.
func (p *partition) inISR(id BrokerID) bool {
	for _, r := range p.isr {
		if r == id {
			return true
		}
	}
	return false
}

// updateHWM moves the high watermark as far as replication allows: a
// leader's to the smallest log end among itself (localEnd) and its
// in-sync followers; a follower's to its leader's, within its own
// localEnd. It never moves back.
func (b *Broker) updateHWM(p *partition) {
	hwm := p.localEnd
	switch {
	case p.leading:
		for _, f := range p.repl.followers {
			counts := p.inISR(f.id) || p.repl.isrWriting && slices.Contains(p.repl.isrPending, f.id)
			if counts && f.leo < hwm {
				hwm = f.leo
			}
		}
	case len(p.replicas) > 1:
		hwm = min(hwm, p.repl.leaderHWM)
	}
	b.setHWM(p, hwm)
}

// followerFetched records a follower's fetch of p at offset, with the
// log start it reported (the leader has written up to end): its log end,
// whether it caught up, then the ISR and the high watermark.
func (b *Broker) followerFetched(p *partition, f *follower, offset, logStart Offset) {
	end := p.written
	switch {
	case offset >= end:
		f.lastCaughtUp = b.now
	case offset >= f.lastFetchEnd && f.lastFetchEnd >= 0:
		f.lastCaughtUp = max(f.lastCaughtUp, f.lastFetchAt)
	}
	f.leo, f.logStart, f.lastFetchAt, f.lastFetchEnd = offset, max(logStart, -1), b.now, end
	b.maybeExpandISR(p, f)
	b.updateHWM(p)
}

// maybeExpandISR adds a follower that caught up to the high watermark
// within the current leader epoch, as Kafka's Partition.maybeExpandIsr:
// one that reached only an older epoch's data could lead without this
// epoch's committed records.
//
// It must also hold the leader's log start (it takes it from fetch
// responses and reports it in its next fetch): an in-sync replica may
// be elected, and one still holding records the leader's retention
// removed would answer readers below a log start they were already told
// of. Kafka has no such condition; its log start may go back across a
// change of leader.
func (b *Broker) maybeExpandISR(p *partition, f *follower) {
	if p.repl.isrWriting || p.inISR(f.id) || f.leo < p.hwm || f.leo < p.epochStart() {
		return
	}
	if f.logStart >= 0 && f.logStart < min(p.logStart, f.leo) {
		return // it takes the leader's log start from this fetch's answer
	}
	isr := append(append([]BrokerID(nil), p.isr...), f.id)
	b.cover(cover.IsrExpanded)
	b.writeISR(p, isr)
}

// epochStart is the offset the current leader epoch began at.
func (p *partition) epochStart() Offset {
	for i := len(p.epochs) - 1; i >= 0; i-- {
		if p.epochs[i].Epoch <= p.epoch {
			return p.epochs[i].Start
		}
	}
	return p.logStart
}

// maybeShrinkISR drops the in-sync followers that have not caught up
// for replica.lag.time.max.ms (stuck or slow), as Kafka's
// Partition.maybeShrinkIsr.
func (b *Broker) maybeShrinkISR(p *partition) {
	if !p.leading || p.repl.isrWriting || p.offline {
		return
	}
	lag := Instant(b.cfg.ReplicaLagTimeMaxMs) * 1e6
	var isr []BrokerID
	shrunk := false
	for _, id := range p.isr {
		f := p.followerOf(id)
		if f != nil && f.leo < p.written && b.now-f.lastCaughtUp > lag {
			shrunk = true
			continue
		}
		isr = append(isr, id)
	}
	if shrunk {
		b.cover(cover.IsrShrunk)
		b.writeISR(p, isr)
	}
}

// writeISR writes p's state with a new ISR, conditionally on the version
// this broker last saw, and tells the controller through
// /isr_change_notification. Until the write succeeds the old ISR holds:
// a shrink that fails leaves acks=all waiting, which is safe.
func (b *Broker) writeISR(p *partition, isr []BrokerID) {
	p.repl.isrWriting, p.repl.isrPending = true, isr
	epoch := p.epoch
	doc := partitionStateZnode{Version: 1, Leader: int32(b.cfg.BrokerID), LeaderEpoch: int32(p.epoch),
		ISR: brokerInts(isr), ControllerEpoch: p.ctlEpoch}
	b.coordRead(CoordOp{Kind: CoordSet, Path: statePath(p.tp.Topic, p.tp.Partition), Data: mustJSON(doc), Version: p.zkVersion}, func(r CoordResult) {
		if !p.hosted() || p.epoch != epoch {
			return // led anew meanwhile: the state was reset
		}
		p.repl.isrWriting, p.repl.isrPending = false, nil
		// BUG SITE (simbugs): BugZombieAdvancesHWM takes an ISR it failed to write.
		if r.Err != nil && !bugOn(BugZombieAdvancesHWM) || !p.leading {
			b.updateHWM(p)
			return // the controller's word decides; it comes with LeaderAndIsr
		}
		b.countISRChange(len(p.isr), len(isr))
		p.isr, p.zkVersion = isr, r.Stat.Version
		b.coordWrite(CoordOp{Kind: CoordCreate, Path: zkISRChange + "/" + isrChangePrefix, Data: isrChangeData(p.tp), Sequential: true}, nil)
		b.updateHWM(p)
	})
}

func brokerInts(ids []BrokerID) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

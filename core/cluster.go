package core

import (
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// The broker's side of the controller's messages (LeaderAndIsr,
// UpdateMetadata, StopReplica): they change the metadata cache and the
// replicas this broker hosts. A message is taken only from the
// controller this broker knows (the /controller holder), at a controller
// epoch no older than the newest it took (as Kafka's brokers judge it),
// addressed to this broker's current registration (its broker epoch,
// the registration's czxid); anything else is answered
// STALE_CONTROLLER_EPOCH or STALE_BROKER_EPOCH and changes nothing. A
// controller whose message a broker refused because the broker's view
// lags sends it again.

// Kafka's placeholder leaders in the controller's messages.
const (
	leaderNone   BrokerID = -1 // no leader: the partition is offline
	leaderDelete BrokerID = -2 // LeaderDuringDelete: the topic is being deleted
)

var (
	errNotLeader            = int16(6) // NOT_LEADER_OR_FOLLOWER
	errStaleControllerEpoch = int16(11)
	errStaleBrokerEpoch     = int16(77)
)

// fenceController says whether a message from controller id at epoch,
// addressed to brokerEpoch, may change this broker's state; if not, the
// error to answer with.
func (b *Broker) fenceController(id, epoch int32, brokerEpoch int64) int16 {
	switch {
	case BrokerID(id) != b.ctl.active || b.ctl.active < 0:
		// a controller this broker has not seen yet: look again; the
		// controller sends it again
		b.refreshController()
		return errStaleControllerEpoch
	case epoch < b.ctl.seenEpoch, b.ctl.mine && epoch != b.ctl.epoch:
		return errStaleControllerEpoch
	case brokerEpoch != b.brokerEpoch || b.brokerEpoch == 0:
		return errStaleBrokerEpoch
	}
	b.ctl.seenEpoch = epoch
	return errNone
}

// hostTopic returns the cache's entry for a topic a controller message
// names, creating it (with its configuration read from the coordination
// store) when it is new to this broker; ready runs once the entry can
// host replicas, or with false when its configuration cannot be read.
func (b *Broker) hostTopic(name string, id TopicID, ready func(t *topic, ok bool)) {
	if t := b.topics[name]; t != nil && (id == (TopicID{}) || t.id == id) {
		ready(t, true)
		return
	}
	tok := awaitFor(b.step, func(r CoordResult) {
		var data []byte
		switch {
		case r.Err == nil:
			data = r.Data
		case !errors.Is(r.Err, ErrCoordNoNode):
			ready(nil, false)
			return
		}
		configs, err := parseConfigZnode(data)
		if err == nil {
			err = validateTopicConfigs(configs)
		}
		if err != nil {
			configs = map[string]string{} // a malformed znode: the brokers' defaults
		}
		if t := b.topics[name]; t != nil {
			if id == (TopicID{}) || t.id == id {
				ready(t, true)
				return
			}
			b.dropTopic(t) // an older topic of that name, deleted meanwhile
		}
		t := &topic{name: name, id: id, configs: configs}
		b.addTopic(t)
		ready(t, true)
	})
	b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: zkConfigs + name})
}

// applyLeaderAndIsr applies a LeaderAndIsr request from the controller
// and passes the response to done (perhaps later: a topic new to this
// broker has its configuration read first).
func (b *Broker) applyLeaderAndIsr(req *kmsg.LeaderAndISRRequest, done func(*kmsg.LeaderAndISRResponse)) {
	resp := req.ResponseKind().(*kmsg.LeaderAndISRResponse)
	resp.SetVersion(req.Version)
	if code := b.fenceController(req.ControllerID, req.ControllerEpoch, req.BrokerEpoch); code != errNone {
		resp.ErrorCode = code
		done(resp)
		return
	}
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			done(resp)
		}
	}
	for _, ts := range req.TopicStates {
		rt := kmsg.NewLeaderAndISRResponseTopic()
		rt.TopicID = ts.TopicID
		resp.Topics = append(resp.Topics, rt)
		slot := len(resp.Topics) - 1
		ts := ts
		pending++
		b.hostTopic(ts.Topic, TopicID(ts.TopicID), func(t *topic, ok bool) {
			out := &resp.Topics[slot]
			for _, ps := range ts.PartitionStates {
				rp := kmsg.NewLeaderAndISRResponseTopicPartition()
				rp.Partition = ps.Partition
				switch {
				case !ok:
					rp.ErrorCode = errStorage // its configuration could not be read: try again
				default:
					rp.ErrorCode = b.takeLeaderAndIsr(t, ps)
				}
				out.Partitions = append(out.Partitions, rp)
			}
			finish()
		})
	}
	finish()
}

// takeLeaderAndIsr applies one partition's state: this broker hosts a
// replica of it and leads it, or follows its leader.
func (b *Broker) takeLeaderAndIsr(t *topic, ps kmsg.LeaderAndISRRequestTopicPartition) int16 {
	if ps.Partition < 0 || !slices.Contains(ps.Replicas, int32(b.cfg.BrokerID)) {
		return errUnknownTopic
	}
	for int32(len(t.parts)) <= ps.Partition {
		t.parts = append(t.parts, newPartition(t, int32(len(t.parts))))
	}
	p := t.parts[ps.Partition]
	epoch := LeaderEpoch(ps.LeaderEpoch)
	if p.taken && (epoch < p.epoch || epoch == p.epoch && ps.ZKVersion < p.zkVersion) {
		return errStaleControllerEpoch // an older state than the one taken
	}
	first, prevEpoch, prevLeader := !p.taken, p.epoch, p.leader
	p.taken = true
	if !p.hosted() {
		p.host()
		b.emit(CreateLog{Partition: p.tp, Config: b.cfg.logConfig(t)})
	}
	leads := BrokerID(ps.Leader) == b.cfg.BrokerID
	newEpoch := first || epoch != prevEpoch
	p.setState(ps.Leader, ps.LeaderEpoch, ps.ISR, ps.Replicas, ps.ZKVersion)
	p.ctlEpoch = ps.ControllerEpoch
	switch {
	case leads && !p.leading:
		p.leading = true
		b.cover(cover.LeaderElected)
		b.becomeLeader(p)
		b.emit(Lifecycle{Leading: p.tp, LeaderEpoch: int32(p.epoch)})
		b.groups.elected(p, prevLeader)
	case leads:
		if newEpoch {
			b.becomeLeader(p)
		} else {
			b.followersOf(p) // the replicas may have changed
		}
		b.emit(Lifecycle{Leading: p.tp, LeaderEpoch: int32(p.epoch)})
	case p.leading && bugOn(BugServeAfterMove):
		// BUG SITE (simbugs): BugServeAfterMove keeps serving a partition a
		// LeaderAndIsr moved to another broker.
	case p.leading:
		b.resign(p)
		b.becomeFollower(p)
	case newEpoch:
		b.becomeFollower(p)
	}
	return errNone
}

// setState records the controller's word on p.
func (p *partition) setState(leader, epoch int32, isr, replicas []int32, zkVersion int32) {
	p.leader, p.epoch, p.zkVersion = BrokerID(leader), LeaderEpoch(epoch), zkVersion
	p.isr, p.replicas = brokerIDs(isr), brokerIDs(replicas)
}

func brokerIDs(ids []int32) []BrokerID {
	out := make([]BrokerID, len(ids))
	for i, id := range ids {
		out[i] = BrokerID(id)
	}
	return out
}

// resign stops leading p: what waits on its leadership is answered
// (parked fetches see NOT_LEADER_OR_FOLLOWER), and groups of an offsets
// partition move away.
func (b *Broker) resign(p *partition) {
	p.leading = false
	b.cover(cover.LeaderResigned)
	if p.hosted() {
		p.failHWMWaits(errLeadershipLost)
	}
	b.wakeFetches(p)
	b.groups.resigned(p.tp)
}

// applyUpdateMetadata applies an UpdateMetadata request to the cache:
// the given partitions' states; a partition led by leaderDelete belongs
// to a topic being deleted, which leaves the cache. (The live brokers
// each broker follows itself, with its watch on /brokers/ids.)
func (b *Broker) applyUpdateMetadata(req *kmsg.UpdateMetadataRequest) *kmsg.UpdateMetadataResponse {
	resp := req.ResponseKind().(*kmsg.UpdateMetadataResponse)
	resp.SetVersion(req.Version)
	if code := b.fenceController(req.ControllerID, req.ControllerEpoch, req.BrokerEpoch); code != errNone {
		resp.ErrorCode = code
		return resp
	}
	for _, ts := range req.TopicStates {
		t := b.topics[ts.Topic]
		if t != nil && ts.TopicID != ([16]byte{}) && t.id != TopicID(ts.TopicID) {
			b.dropTopic(t) // an older topic of that name
			t = nil
		}
		deleting := len(ts.PartitionStates) > 0 && BrokerID(ts.PartitionStates[0].Leader) == leaderDelete
		if deleting {
			if t != nil {
				b.unlistTopic(t)
			}
			continue
		}
		if t == nil {
			t = &topic{name: ts.Topic, id: TopicID(ts.TopicID)}
			b.addTopic(t)
			b.loadTopicConfig(t)
		}
		for _, ps := range ts.PartitionStates {
			if ps.Partition < 0 {
				continue
			}
			for int32(len(t.parts)) <= ps.Partition {
				t.parts = append(t.parts, newPartition(t, int32(len(t.parts))))
			}
			p := t.parts[ps.Partition]
			// A leader keeps its own view unless the state is as new as
			// its own: its ISR writes may be newer than the state the
			// controller sends (the leader's ISR must never lose a member
			// that the state znode holds, or the high watermark would
			// pass it by).
			newer := LeaderEpoch(ps.LeaderEpoch) > p.epoch || LeaderEpoch(ps.LeaderEpoch) == p.epoch && ps.ZKVersion >= p.zkVersion
			if !p.leading || BrokerID(ps.Leader) == b.cfg.BrokerID && newer {
				p.setState(ps.Leader, ps.LeaderEpoch, ps.ISR, ps.Replicas, ps.ZKVersion)
			}
			p.known = true
		}
	}
	b.metadataChanged()
	b.becomeReady()
	return resp
}

// loadTopicConfig reads the configuration of a topic the cache learned
// of from the controller (DescribeConfigs reports it; a replica hosted
// later uses it).
func (b *Broker) loadTopicConfig(t *topic) {
	if t.configs == nil {
		t.setConfigs(map[string]string{})
	}
	b.readTopicConfig(t, false)
}

// topicConfigRetryMs spaces the reads of a topic's configuration that
// failed (the store unreachable): the topic keeps the configuration it
// has meanwhile.
const topicConfigRetryMs = 1000

// readTopicConfig reads a topic's overrides; notified says a change
// notification asked for it.
func (b *Broker) readTopicConfig(t *topic, notified bool) {
	t.configReads++
	seq := t.configReads
	tok := awaitFor(b.step, func(r CoordResult) {
		if b.topics[t.name] != t {
			return
		}
		if r.Err != nil && !errors.Is(r.Err, ErrCoordNoNode) {
			b.configRetries = append(b.configRetries, configRetry{t: t, at: b.now + Instant(topicConfigRetryMs*1e6)})
			return
		}
		if seq <= t.configApplied {
			return // a later read, or the broker's own write, was applied meanwhile
		}
		t.configApplied = seq
		if configs, err := parseConfigZnode(r.Data); err == nil && validateTopicConfigs(configs) == nil {
			if t.configs != nil && !mapsEqual(t.configs, configs) {
				b.reportConfig("topics/"+t.name, configs)
				if notified {
					b.cover(cover.DynamicConfigPropagated)
				}
			}
			t.setConfigs(configs)
		}
	})
	b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: zkConfigs + t.name})
}

// configRetry is a topic whose configuration is to be read again.
type configRetry struct {
	t  *topic
	at Instant
}

// retryTopicConfigs reads again the configurations whose read failed.
func (b *Broker) retryTopicConfigs() {
	n := 0
	for _, c := range b.configRetries {
		if c.at > b.now {
			b.configRetries[n] = c
			n++
			continue
		}
		if b.topics[c.t.name] == c.t {
			b.readTopicConfig(c.t, false)
		}
	}
	b.configRetries = b.configRetries[:n]
}

// applyStopReplica stops this broker's replicas of the given
// partitions, deleting their logs when asked (a topic deleted).
func (b *Broker) applyStopReplica(req *kmsg.StopReplicaRequest) *kmsg.StopReplicaResponse {
	resp := req.ResponseKind().(*kmsg.StopReplicaResponse)
	resp.SetVersion(req.Version)
	if code := b.fenceController(req.ControllerID, req.ControllerEpoch, req.BrokerEpoch); code != errNone {
		resp.ErrorCode = code
		return resp
	}
	for _, rt := range req.Topics {
		for _, ps := range rt.PartitionStates {
			out := kmsg.NewStopReplicaResponsePartition()
			out.Topic, out.Partition = rt.Topic, ps.Partition
			if p := b.partitionOf(rt.Topic, ps.Partition); p != nil && p.hosted() {
				if p.leading {
					b.resign(p)
				}
				if ps.Delete {
					b.dropReplica(p)
					b.maybeDropTopic(p.topic)
					b.cover(cover.ReplicaDeleted)
				}
			}
			resp.Partitions = append(resp.Partitions, out)
		}
	}
	return resp
}

// dropReplica deletes this broker's replica of p and its log: pending
// work on it fails rather than resurrecting it. The topic's entry for
// the partition is replaced by one without a replica; completions still
// due find the old entry, offline and deleted.
func (b *Broker) dropReplica(p *partition) {
	p.offline, p.deleted = true, true
	b.stopFollowing(p)
	b.takeOffline(p, errTopicDeleted)
	b.checkpointRecovery() // without p, before its log goes
	b.emit(DeleteLog{Partition: p.tp})
	fresh := *p
	fresh.replica, fresh.leading = nil, false
	p.topic.parts[p.tp.Partition] = &fresh
}

// metaWait is a request waiting for the metadata cache to show its
// change (a created topic's leaders, a deleted topic gone).
type metaWait struct {
	cond     func() bool
	deadline Instant
	done     func(ok bool)
}

// awaitMetadata runs done(true) once cond holds, or done(false) at the
// deadline.
func (b *Broker) awaitMetadata(timeoutMs int32, cond func() bool, done func(bool)) {
	if cond() {
		done(true)
		return
	}
	b.metaWaits = append(b.metaWaits, &metaWait{cond: cond, deadline: b.now + Instant(int64(max(timeoutMs, 0))*1e6), done: done})
}

// metadataChanged answers the waits the cache now satisfies.
func (b *Broker) metadataChanged() {
	b.settleMetaWaits(false)
}

// settleMetaWaits answers the satisfied waits, and at a tick the expired.
func (b *Broker) settleMetaWaits(tick bool) {
	var due []*metaWait
	kept := b.metaWaits[:0]
	for _, w := range b.metaWaits {
		if w.cond() || tick && b.now >= w.deadline {
			due = append(due, w)
			continue
		}
		kept = append(kept, w)
	}
	b.metaWaits = kept
	for _, w := range due {
		w.done(w.cond())
	}
}

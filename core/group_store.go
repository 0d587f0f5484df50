package core

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// The durable copy of the coordinator's state: records in
// __consumer_offsets with Kafka's key and value schemas, so that tools
// reading the topic understand them.
//
//   - an offset commit: key OffsetCommitKey v1 (group, topic, partition),
//     value OffsetCommitValue v3 (v1 when the commit carries an expiry
//     time, as Kafka writes it); a null value deletes the offset;
//   - a group's metadata: key GroupMetadataKey v2 (group), value
//     GroupMetadataValue v3 (generation, protocol, leader, members with
//     their subscription and assignment); a null value deletes the group.
//
// Writes go through the broker's append path as one uncompressed batch and
// complete as an acks=-1 produce would (offsets.commit.required.acks):
// once every in-sync replica holds the batch, so that whichever replica
// leads the partition next has it. When a broker becomes the partition's
// leader (at startup, or when the coordinator moves to it from a broker
// that failed) it reads the partition from its log start and replays it
// in order (the last record of a key wins); its groups are served once
// the replay is done.

// kv is one record to write: a key and a value (nil: a tombstone).
type kv struct{ key, value []byte }

// offsetKey encodes the key of a commit of (group, tp).
func offsetKey(group string, tp TopicPartition) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = 1, group, tp.Topic, tp.Partition
	return k.AppendTo(nil)
}

func offsetValue(c *committed) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = 3
	if c.expireMs >= 0 {
		v.Version = 1
	}
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp, v.ExpireTimestamp = c.offset, c.leaderEpoch, c.metadata, c.commitMs, c.expireMs
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = 2, group
	return k.AppendTo(nil)
}

func groupValue(g *group, assignment map[string][]byte) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = 3
	if g.protocolType != nil {
		v.ProtocolType = *g.protocolType
	}
	v.Generation, v.Protocol, v.Leader, v.CurrentStateTimestamp = g.generation, g.protocolName, g.leader, g.stateMs
	for _, m := range g.members {
		mm := kmsg.NewGroupMetadataValueMember()
		mm.MemberID, mm.InstanceID, mm.ClientID, mm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		mm.RebalanceTimeoutMillis, mm.SessionTimeoutMillis = m.rebalanceTimeoutMs, m.sessionTimeoutMs
		mm.Subscription = []byte{}
		if g.protocolName != nil {
			if md := m.metadataFor(*g.protocolName); md != nil {
				mm.Subscription = md
			}
		}
		mm.Assignment = assignment[m.id]
		if mm.Assignment == nil {
			mm.Assignment = []byte{}
		}
		v.Members = append(v.Members, mm)
	}
	return v.AppendTo(nil)
}

// encodeBatch encodes records as one uncompressed v2 batch with base
// offset 0 and timestamp ts (CreateTime, as Kafka's coordinator writes).
func encodeBatch(recs []kv, ts int64) []byte {
	var body []byte
	for i, r := range recs {
		rec := kmsg.Record{OffsetDelta: int32(i), Key: r.key, Value: r.value}
		n := len(rec.AppendTo(nil)) - 1 // the length varint of 0 is one byte
		rec.Length = int32(n)
		body = rec.AppendTo(body)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2,
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: body,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], crcTable))
	return out
}

// write appends recs to partition part of the offsets topic, as Kafka's
// coordinator appends (appendForGroup): with offsets.commit.required.acks
// (-1: done gets errNone once the high watermark passes the batch, that
// is once every in-sync replica holds it; 0 or 1: once it is locally
// durable), within offsets.commit.timeout.ms. Otherwise done gets the
// error a produce would get: UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER (the leadership moved, or this broker's lease
// lapsed), KAFKA_STORAGE_ERROR, MESSAGE_TOO_LARGE, NOT_ENOUGH_REPLICAS
// (before the append) or NOT_ENOUGH_REPLICAS_AFTER_APPEND (the ISR shrank
// below min.insync.replicas meanwhile), REQUEST_TIMED_OUT. done runs
// once. late, if not nil, runs when the batch is committed after all,
// after done got an error (the timeout, or NOT_ENOUGH_REPLICAS_AFTER_
// APPEND): what a replay of the log would now show.
func (gc *groupCoordinator) write(part int32, recs []kv, done func(code int16), late func()) (Offset, bool) {
	p := gc.meta.partitionOf(OffsetsTopic, part)
	fail := func(code int16) (Offset, bool) {
		done(code)
		return 0, false
	}
	switch {
	case p == nil:
		return fail(errUnknownTopic)
	case !p.leading || !gc.b.leaseHeld():
		return fail(errNotLeader)
	case p.offline:
		return fail(errStorage)
	case gc.cfg.CommitAcks > 1:
		return fail(errInvalidRequiredAcks) // Kafka's appends take -1, 0 and 1
	}
	batch := encodeBatch(recs, gc.nowMs())
	if int64(len(batch)) > gc.step.cfg.settingsOf(p.topic).maxMessageBytes {
		return fail(errMessageTooLarge)
	}
	if gc.cfg.CommitAcks == -1 && gc.step.cfg.settingsOf(p.topic).minInsync > int64(len(p.isr)) {
		return fail(errNotEnoughReplicas)
	}
	h, err := ParseBatchHeader(batch)
	if err != nil {
		panic("core: coordinator batch: " + err.Error())
	}
	w := gc.newWrite(done, late)
	epoch := p.epoch
	var last Offset
	base, _ := gc.b.appendBatch(p, batch, h, nil, func(err error) {
		switch {
		case err != nil:
			w.finish(gc, appendError(p, err), false)
		case !p.leading || p.epoch != epoch:
			// led anew (or no longer) since the append: the batch's fate
			// is the next leader's; the client retries
			w.finish(gc, errNotLeader, false)
		case gc.cfg.CommitAcks != -1:
			w.finish(gc, errNone, true)
		default:
			gc.b.awaitHWM(p, last, func(err error) {
				switch {
				case err != nil:
					w.finish(gc, appendError(p, err), false)
				case gc.step.cfg.settingsOf(p.topic).minInsync > int64(len(p.isr)):
					// replicated to an ISR that shrank below the minimum
					// (Kafka's Partition.checkEnoughReplicasReachOffset)
					w.finish(gc, errNotEnoughReplicasAfterAppend, true)
				default:
					w.finish(gc, errNone, true)
				}
			})
		}
	})
	last = base + Offset(h.LastOffsetDelta)
	return base, true
}

// appendError is the produce error for a failed append or replication.
func appendError(p *partition, err error) int16 {
	switch {
	case err == errLeadershipLost:
		return errNotLeader
	case p.deleted:
		return errUnknownTopic
	}
	return errStorage
}

// groupWrite is a coordinator write waiting for its acknowledgement. It
// is owned by the offsets partition's leadership (a move fails it with
// NOT_LEADER_OR_FOLLOWER, through the partition's high watermark waits)
// and bounded in time by offsets.commit.timeout.ms; gc.writes holds it
// until it is answered.
type groupWrite struct {
	seq      uint64 // its deadline's sequence number: its key in gc.writes
	done     func(code int16)
	late     func()
	answered bool
}

// newWrite registers a write and its deadline.
func (gc *groupCoordinator) newWrite(done func(code int16), late func()) *groupWrite {
	gc.timerSeq++
	w := &groupWrite{seq: gc.timerSeq, done: done, late: late}
	heap.Push(&gc.timers, groupTimer{at: gc.now + Instant(int64(gc.cfg.OffsetsCommitTimeout)*1e6), seq: w.seq, kind: timerWrite})
	gc.writes[w.seq] = w
	return w
}

// finish answers the write with code, unless its deadline answered it
// first; committed says the batch is below the high watermark (or
// locally durable, for acks 0 and 1), which late learns when the answer
// was an error.
func (w *groupWrite) finish(gc *groupCoordinator, code int16, committed bool) {
	if committed && (w.answered || code != errNone) && w.late != nil {
		w.late()
	}
	if w.answered {
		return
	}
	w.answered = true
	delete(gc.writes, w.seq)
	w.done(code)
}

// writeError maps a failed coordinator write to the error the client
// gets, as Kafka's coordinator maps append errors
// (CoordinatorOperationExceptionHelper; GroupMetadataManager.storeGroup
// and storeOffsets before it): the coordinator is not available while
// the ISR is too small or the write timed out, and this broker is not
// the coordinator when it lost the partition or its log. tooLarge is
// the answer to a batch over max.message.bytes.
func writeError(code, tooLarge int16) int16 {
	switch code {
	case errUnknownTopic, errNotEnoughReplicas, errNotEnoughReplicasAfterAppend, errRequestTimedOut:
		return errCoordinatorNotAvailable
	case errNotLeader, errStorage:
		return errNotCoordinator
	case errMessageTooLarge, errRecordListTooLarge:
		return tooLarge
	}
	return code
}

// storeGroup persists g's metadata with assignment; done gets the error
// mapped as Kafka maps it for JoinGroup and SyncGroup.
func (gc *groupCoordinator) storeGroup(g *group, assignment map[string][]byte, done func(code int16)) {
	gc.write(g.part, []kv{{groupKey(g.id), groupValue(g, assignment)}}, func(code int16) {
		done(writeError(code, errUnknownServer))
	}, nil)
}

// commitError maps a failed offsets write as Kafka does for commits.
func commitError(code int16) int16 { return writeError(code, errInvalidCommitOffsetSize) }

// elected begins loading an offsets partition this broker now leads,
// which prev led before (as this broker last heard; -1: none or not
// known). Its groups are served once its log is replayed up to the end
// it had at the election, and once that end is committed: a new leader's
// log holds every write the previous leader acknowledged (the ISR had
// it), perhaps past its own high watermark, which catches up when the
// followers next fetch (replication's serveFrom). Nothing is served from
// records a later leader could lack, and nothing acknowledged is missed.
func (gc *groupCoordinator) elected(p *partition, prev BrokerID) {
	if p.tp.Topic != OffsetsTopic {
		return
	}
	part := p.tp.Partition
	gc.parts[part] = partLoading
	gc.loads[part]++
	load := gc.loads[part]
	gc.movedFrom[part] = prev
	if p.serving() {
		gc.loadFrom(p, p.logStart, load)
		return
	}
	gc.b.awaitHWM(p, p.repl.serveFrom-1, func(err error) {
		switch {
		case gc.loads[part] != load || gc.parts[part] != partLoading:
			// leadership moved away (and perhaps back) meanwhile
		case err != nil:
			gc.parts[part] = partFailed
		default:
			gc.loadFrom(p, p.logStart, load)
		}
	})
}

// resigned forgets the groups of an offsets partition this broker no
// longer leads, answering what their members wait for with
// NOT_COORDINATOR: they find the new coordinator.
func (gc *groupCoordinator) resigned(tp TopicPartition) {
	if tp.Topic != OffsetsTopic {
		return
	}
	delete(gc.parts, tp.Partition)
	delete(gc.replayed, tp.Partition)
	delete(gc.movedFrom, tp.Partition)
	for _, id := range sortedKeys(gc.groups) {
		if g := gc.groups[id]; g.part == tp.Partition {
			gc.dropGroup(g)
		}
	}
}

// loadFrom reads the partition's log from offset on, replaying each
// batch, until it reaches the end the partition had when loading began
// (nothing else writes to a partition while it loads).
func (gc *groupCoordinator) loadFrom(p *partition, from Offset, load int) {
	if from >= p.hwm {
		gc.loaded(p.tp.Partition)
		return
	}
	tok := awaitFor(gc.step, func(rd ReadDone) {
		if gc.loads[p.tp.Partition] != load || gc.parts[p.tp.Partition] != partLoading {
			return // leadership moved away (and perhaps back) meanwhile
		}
		if rd.Err != nil {
			gc.parts[p.tp.Partition] = partFailed
			gc.b.takeOffline(p, rd.Err)
			return
		}
		next := from
		err := SplitBatches(rd.Data, func(batch []byte, h BatchHeader) error {
			gc.replay(p.tp.Partition, batch, h)
			next = h.LastOffset() + 1
			return nil
		})
		if err != nil || next == from {
			gc.parts[p.tp.Partition] = partFailed
			return
		}
		gc.loadFrom(p, next, load)
	})
	gc.emit(Read{Token: tok, Partition: p.tp, Offset: from, Below: p.hwm, MaxBytes: gc.cfg.OffsetsLoadBufferSize, MinOne: true})
}

// replay applies one batch of the offsets topic to the groups of its
// partition. Records whose key has an unknown version are skipped, as
// Kafka skips them; so are control batches (no transactions here).
func (gc *groupCoordinator) replay(part int32, batch []byte, h BatchHeader) {
	if h.Attributes&AttrControl != 0 {
		return
	}
	gc.cover(cover.GroupOffsetsReplayed)
	it, err := newRecordIter(batch, h, int(gc.step.cfg.MessageMaxBytes)+len(batch))
	if err != nil {
		return
	}
	var r kmsg.Record
	for it.next(&r) {
		if len(r.Key) < 2 {
			continue
		}
		switch version := int16(binary.BigEndian.Uint16(r.Key)); version {
		case 0, 1:
			var k kmsg.OffsetCommitKey
			if k.ReadFrom(r.Key) != nil {
				continue
			}
			tp := TopicPartition{Topic: k.Topic, Partition: k.Partition}
			g := gc.loadingGroup(k.Group, part)
			if r.Value == nil {
				delete(g.offsets, tp)
				continue
			}
			var v kmsg.OffsetCommitValue
			if v.ReadFrom(r.Value) != nil {
				continue
			}
			expire := int64(-1)
			if v.Version == 1 {
				expire = v.ExpireTimestamp
			}
			g.offsets[tp] = &committed{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata,
				commitMs: v.CommitTimestamp, expireMs: expire, appendedAt: h.BaseOffset}
		case 2:
			var k kmsg.GroupMetadataKey
			if k.ReadFrom(r.Key) != nil {
				continue
			}
			g := gc.loadingGroup(k.Group, part)
			if r.Value == nil {
				g.resetMembership()
				g.stored = false
				continue
			}
			var v kmsg.GroupMetadataValue
			if v.ReadFrom(r.Value) != nil {
				continue
			}
			g.restore(v)
		}
	}
}

// loadingGroup returns the group being replayed, creating it Empty.
func (gc *groupCoordinator) loadingGroup(id string, part int32) *group {
	g := gc.groups[id]
	if g == nil {
		g = newGroup(id, part, -1)
		gc.groups[id] = g
		gc.replayed[part] = append(gc.replayed[part], id)
	}
	return g
}

func (g *group) resetMembership() {
	g.members, g.static = nil, map[string]string{}
	g.generation, g.protocolType, g.protocolName, g.leader = 0, nil, nil, nil
	g.state, g.stateMs = groupEmpty, -1
}

// restore sets the group from its last metadata record: Stable with its
// members, or Empty.
func (g *group) restore(v kmsg.GroupMetadataValue) {
	g.resetMembership()
	g.stored = true
	pt := v.ProtocolType
	g.protocolType = &pt
	g.generation, g.protocolName, g.leader, g.stateMs = v.Generation, v.Protocol, v.Leader, v.CurrentStateTimestamp
	for _, mm := range v.Members {
		m := &member{id: mm.MemberID, instanceID: mm.InstanceID, clientID: mm.ClientID, clientHost: mm.ClientHost,
			rebalanceTimeoutMs: mm.RebalanceTimeoutMillis, sessionTimeoutMs: mm.SessionTimeoutMillis, protocolType: v.ProtocolType,
			assignment: mm.Assignment}
		if v.Version == 0 {
			m.rebalanceTimeoutMs = mm.SessionTimeoutMillis
		}
		if v.Protocol != nil {
			m.protocols = []memberProtocol{{name: *v.Protocol, metadata: mm.Subscription}}
		}
		g.members = append(g.members, m)
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
	}
	if len(g.members) > 0 {
		g.state = groupStable
	}
	g.subscribed = g.computeSubscribed()
}

// loaded serves the partition's groups once the time is known.
func (gc *groupCoordinator) loaded(part int32) {
	gc.parts[part] = partLoaded
	if prev, ok := gc.movedFrom[part]; ok && prev >= 0 && prev != gc.step.cfg.BrokerID && gc.holdsOffsets(part) {
		gc.cover(cover.GroupCoordinatorMoved) // another broker coordinated these groups
	}
	delete(gc.movedFrom, part)
	if !gc.ticked {
		// replayed at startup, before the first tick tells the time:
		// the sessions start from that tick
		gc.unclocked = append(gc.unclocked, part)
		return
	}
	gc.serveLoaded(part)
}

// holdsOffsets says a group replayed from partition part has committed
// offsets.
func (gc *groupCoordinator) holdsOffsets(part int32) bool {
	for _, id := range gc.replayed[part] {
		if g := gc.groups[id]; g != nil && g.part == part && len(g.offsets) > 0 {
			return true
		}
	}
	return false
}

// serveLoaded serves a loaded partition's groups: members get a session
// deadline (they must heartbeat again within it), and a group over
// group.max.size rebalances.
func (gc *groupCoordinator) serveLoaded(part int32) {
	ids := gc.replayed[part]
	delete(gc.replayed, part)
	slices.Sort(ids)
	for _, id := range ids {
		g := gc.groups[id]
		if g == nil || g.part != part {
			continue
		}
		if !g.stored && len(g.offsets) == 0 {
			delete(gc.groups, id) // deleted: its tombstones were replayed
			continue
		}
		if len(g.members) > int(gc.cfg.MaxSize) {
			gc.prepareRebalance(g)
		}
		for _, m := range g.members {
			m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
		}
	}
}

// ensureTopic creates the offsets topic on first use (as FindCoordinator
// does in Kafka), placed over the live brokers; meanwhile coordinators
// are not available.
func (gc *groupCoordinator) ensureTopic() {
	if gc.meta.topics[OffsetsTopic] != nil || gc.creating || gc.meta.creating[OffsetsTopic] != nil {
		return
	}
	// Kafka compacts the offsets topic (GroupCoordinator.offsetsTopicConfigs:
	// cleanup.policy=compact): the last record of every key stays, and
	// time and size retention do not apply.
	configs := map[string]string{"segment.bytes": strconv.Itoa(int(gc.cfg.OffsetsSegmentBytes)),
		"cleanup.policy": "compact"}
	rf, warning := offsetsReplication(gc.cfg.OffsetsReplication, len(gc.b.livePlaces()))
	plan, code, _ := gc.b.planTopic(OffsetsTopic, gc.cfg.OffsetsPartitions, int32(rf), nil, configs)
	if code != errNone {
		return
	}
	if warning != "" {
		gc.emit(Lifecycle{Warning: warning})
	}
	gc.creating = true
	gc.b.writeTopic(plan, func(int16, string) { gc.creating = false })
}

// offsetsReplication is the offsets topic's replication factor with live
// brokers: offsets.topic.replication.factor, or the number of live
// brokers if that is smaller, with a warning to log. (Kafka since 0.11
// refuses to create the topic until enough brokers are live, which
// leaves a single broker with the default of 3 without coordinators;
// here a cluster that starts small gets a smaller factor, as Kafka's
// earlier brokers gave it.)
func offsetsReplication(configured int16, live int) (int16, string) {
	if live < 1 {
		panic("core: no live broker, not even this one")
	}
	if int(configured) <= live {
		return configured, ""
	}
	return int16(live), fmt.Sprintf("%s is created with replication factor %d: offsets.topic.replication.factor is %d, and %d brokers are live",
		OffsetsTopic, live, configured, live)
}

// dropGroup forgets a group, answering what its members wait for with
// NOT_COORDINATOR.
func (gc *groupCoordinator) dropGroup(g *group) {
	for _, m := range g.members {
		gc.answerJoin(m, joinError(m.id, errNotCoordinator))
		if m.sync != nil {
			r := *m.sync
			m.sync = nil
			gc.replySync(r, errNotCoordinator, nil, nil)
		}
	}
	g.state = groupDead
	delete(gc.groups, g.id)
}

package core

import (
	"encoding/binary"
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
// complete when the flush policy makes the batch acknowledgeable, exactly
// as a produce would. At startup each partition is read from its log
// start and replayed in order (the last record of a key wins), and its
// groups are served once the replay is done.

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

// write appends recs to partition part of the offsets topic; done gets
// errNone once the batch is acknowledgeable, else the error a produce
// would get (UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR,
// MESSAGE_TOO_LARGE).
func (gc *groupCoordinator) write(part int32, recs []kv, done func(code int16)) (Offset, bool) {
	p := gc.meta.partitionOf(OffsetsTopic, part)
	switch {
	case p == nil:
		done(errUnknownTopic)
		return 0, false
	case !p.leading:
		done(errNotLeader)
		return 0, false
	case p.offline:
		done(errStorage)
		return 0, false
	}
	batch := encodeBatch(recs, gc.nowMs())
	if int64(len(batch)) > gc.step.cfg.topicInt(p.topic, "max.message.bytes") {
		done(errMessageTooLarge)
		return 0, false
	}
	h, err := ParseBatchHeader(batch)
	if err != nil {
		panic("core: coordinator batch: " + err.Error())
	}
	base, _ := gc.b.appendBatch(p, batch, h, func(err error) {
		switch {
		case err == nil:
			done(errNone)
		case p.deleted:
			done(errUnknownTopic)
		default:
			done(errStorage)
		}
	})
	return base, true
}

// storeGroup persists g's metadata with assignment; done gets the error
// mapped as Kafka maps it for JoinGroup and SyncGroup.
func (gc *groupCoordinator) storeGroup(g *group, assignment map[string][]byte, done func(code int16)) {
	gc.write(g.part, []kv{{groupKey(g.id), groupValue(g, assignment)}}, func(code int16) {
		switch code {
		case errNone:
		case errUnknownTopic:
			code = errCoordinatorNotAvailable
		case errStorage:
			code = errNotCoordinator
		case errMessageTooLarge:
			code = errUnknownServer
		}
		done(code)
	})
}

// commitError maps a failed offsets write as Kafka does for commits.
func commitError(code int16) int16 {
	switch code {
	case errUnknownTopic:
		return errCoordinatorNotAvailable
	case errStorage:
		return errNotCoordinator
	case errMessageTooLarge, errRecordListTooLarge:
		return errInvalidCommitOffsetSize
	}
	return code
}

// elected begins loading an offsets partition this broker now leads:
// its groups are served once its log is replayed.
func (gc *groupCoordinator) elected(p *partition) {
	if p.tp.Topic != OffsetsTopic {
		return
	}
	gc.parts[p.tp.Partition] = partLoading
	gc.loads[p.tp.Partition]++
	gc.loadFrom(p, p.logStart, gc.loads[p.tp.Partition])
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
	if !gc.ticked {
		// replayed at startup, before the first tick tells the time:
		// the sessions start from that tick
		gc.unclocked = append(gc.unclocked, part)
		return
	}
	gc.serveLoaded(part)
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
	plan, code, _ := gc.b.planTopic(OffsetsTopic, gc.cfg.OffsetsPartitions, 1, nil, configs)
	if code != errNone {
		return
	}
	gc.creating = true
	gc.b.writeTopic(plan, func(int16, string) { gc.creating = false })
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

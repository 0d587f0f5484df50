package core

import "github.com/twmb/franz-go/pkg/kmsg"

// OffsetCommit: v0-9
//
// Behavior:
//   - Needs Read on the group (acl.go), else every partition gets
//     GROUP_AUTHORIZATION_FAILED, and Read on each topic, else its
//     partitions get TOPIC_AUTHORIZATION_FAILED; nothing denied is
//     committed.
//   - Partitions of unknown topics, or beyond a topic's partitions, get
//     UNKNOWN_TOPIC_OR_PARTITION; the rest are committed together as one
//     batch in __consumer_offsets and answered once it is acknowledged
//     as an acks=-1 produce is (offsets.commit.required.acks): every
//     in-sync replica of the partition holds it. Until then OffsetFetch
//     serves the previous offset. A write that fails answers as Kafka's
//     coordinator maps append errors: COORDINATOR_NOT_AVAILABLE when the
//     ISR is below min.insync.replicas or offsets.commit.timeout.ms
//     passes, NOT_COORDINATOR when the partition's leadership moves.
//   - Generation -1 with no member id commits for a group without
//     members (assign() consumers, tools); members must give their
//     generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
//     REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID as Kafka answers).
//   - Metadata longer than offset.metadata.max.bytes gets
//     OFFSET_METADATA_TOO_LARGE for that partition alone.
//   - v1 carries a commit timestamp per partition; v2-4 a retention time
//     (-1: the broker's), which sets an expiry; v5+ neither.
//   - v0 commits, which Kafka keeps in ZooKeeper outside the group
//     protocol, are stored with the others, without membership checks.

func (b *Broker) handleOffsetCommit(r Request) {
	req := r.Body.(*kmsg.OffsetCommitRequest)
	ss := []*string{&req.Group, &req.MemberID, req.InstanceID}
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			ss = append(ss, req.Topics[i].Partitions[j].Metadata)
		}
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	v := r.Header.Version
	now := b.now.Millis()
	p := commitParams{groupID: req.Group, memberID: req.MemberID, instanceID: req.InstanceID,
		generation: req.Generation, unchecked: v == 0}
	if v == 0 {
		p.generation = -1
	}
	expire := int64(-1)
	if v >= 2 && v <= 4 && req.RetentionTimeMillis != -1 {
		expire = now + req.RetentionTimeMillis
	}
	slots := make([][]int16, len(req.Topics)) // each partition's code, in request order
	var parts []*commitPart
	var where [][2]int
	groupOK := b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, req.Group)
	for i, t := range req.Topics {
		slots[i] = make([]int16, len(t.Partitions))
		tp := b.topics[t.Topic]
		topicOK := groupOK && b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, t.Topic)
		for j, pt := range t.Partitions {
			if !topicOK {
				slots[i][j] = errTopicAuth
				if !groupOK {
					slots[i][j] = errGroupAuth
				}
				continue
			}
			if tp == nil || pt.Partition < 0 || int(pt.Partition) >= len(tp.parts) {
				slots[i][j] = errUnknownTopic
				continue
			}
			c := committed{offset: pt.Offset, leaderEpoch: pt.LeaderEpoch, commitMs: now, expireMs: expire}
			if v < 6 {
				c.leaderEpoch = -1
			}
			if pt.Metadata != nil {
				c.metadata = *pt.Metadata
			}
			if v == 1 && pt.Timestamp != -1 {
				c.commitMs = pt.Timestamp
			}
			parts = append(parts, &commitPart{tp: TopicPartition{Topic: t.Topic, Partition: pt.Partition}, c: c})
			where = append(where, [2]int{i, j})
		}
	}
	answer := func() {
		for k, cp := range parts {
			slots[where[k][0]][where[k][1]] = cp.code
		}
		for i, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for j, pt := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = pt.Partition, slots[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		b.respond(r, resp)
	}
	if len(parts) == 0 {
		answer()
		return
	}
	p.parts = parts
	b.groups.commit(p, answer)
}

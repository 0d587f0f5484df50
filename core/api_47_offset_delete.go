package core

import "github.com/twmb/franz-go/pkg/kmsg"

// OffsetDelete: v0
//
// Behavior: deletes committed offsets of an Empty group, or of a
//   - Needs Delete on the group (acl.go), else
//     GROUP_AUTHORIZATION_FAILED, and Read on each topic, else its
//     partitions get TOPIC_AUTHORIZATION_FAILED and keep their offsets.
// consumer group's topics none of its members subscribes to
// (GROUP_SUBSCRIBED_TO_TOPIC for the others); NON_EMPTY_GROUP for another
// kind of group with members, GROUP_ID_NOT_FOUND for an unknown one.
// Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION.

func (b *Broker) handleOffsetDelete(r Request) {
	req := r.Body.(*kmsg.OffsetDeleteRequest)
	if b.refuseLongStrings(r, &req.Group) {
		return
	}
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if !b.authorized(r, kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, req.Group) {
		resp.ErrorCode = errGroupAuth
		b.respond(r, resp)
		return
	}
	codes := make([][]int16, len(req.Topics))
	var tps []TopicPartition
	var where [][2]int
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
		tp := b.topics[t.Topic]
		allowed := b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, t.Topic)
		for j, p := range t.Partitions {
			if !allowed {
				codes[i][j] = errTopicAuth
				continue
			}
			if tp == nil || p.Partition < 0 || int(p.Partition) >= len(tp.parts) {
				codes[i][j] = errUnknownTopic
				continue
			}
			tps = append(tps, TopicPartition{Topic: t.Topic, Partition: p.Partition})
			where = append(where, [2]int{i, j})
		}
	}
	b.groups.deleteOffsets(req.Group, tps, func(code int16, pcodes []int16) {
		resp.ErrorCode = code
		if code == errNone {
			for k, c := range pcodes {
				codes[where[k][0]][where[k][1]] = c
			}
			for i, t := range req.Topics {
				rt := kmsg.NewOffsetDeleteResponseTopic()
				rt.Topic = t.Topic
				for j, p := range t.Partitions {
					rp := kmsg.NewOffsetDeleteResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		b.respond(r, resp)
	})
}

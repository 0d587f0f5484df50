package core

import "github.com/twmb/franz-go/pkg/kmsg"

// OffsetFetch: v0-9
//
// Behavior:
//   - Needs Describe on the group (acl.go), else
//     GROUP_AUTHORIZATION_FAILED, and Describe on each topic named,
//     else its partitions answer offset -1 with
//     TOPIC_AUTHORIZATION_FAILED; asked for all, the topics the
//     principal may not describe are left out.
//   - A partition with no committed offset answers offset -1, metadata ""
//     (v0, as Kafka's ZooKeeper-backed v0: UNKNOWN_TOPIC_OR_PARTITION).
//   - v2+ may ask for every committed partition (null topics), and carry
//     a group-level error code; a group-level error answers no
//     partitions, as in Kafka. v0-1 have no group-level error: it is
//     answered on every partition asked for (offset -1), as Kafka's
//     OffsetFetchRequest.getErrorResponse does.
//   - v7+ RequireStable: a partition with a commit being written answers
//     UNSTABLE_OFFSET_COMMIT.
//   - v8+ ask for several groups, each answered with its own error code.

func (b *Broker) handleOffsetFetch(r Request) {
	req := r.Body.(*kmsg.OffsetFetchRequest)
	ss := []*string{&req.Group}
	for i := range req.Groups {
		ss = append(ss, &req.Groups[i].Group, req.Groups[i].MemberID)
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	v := r.Header.Version
	if v >= 8 {
		for _, rg := range req.Groups {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group = rg.Group
			var tps []TopicPartition
			for _, t := range rg.Topics {
				for _, p := range t.Partitions {
					tps = append(tps, TopicPartition{Topic: t.Topic, Partition: p})
				}
			}
			code, parts := b.fetchOffsets(r, rg.Group, tps, rg.Topics == nil, req.RequireStable)
			g.ErrorCode = code
			for _, fp := range parts {
				i := len(g.Topics) - 1
				if i < 0 || g.Topics[i].Topic != fp.tp.Topic {
					t := kmsg.NewOffsetFetchResponseGroupTopic()
					t.Topic = fp.tp.Topic
					g.Topics = append(g.Topics, t)
					i++
				}
				g.Topics[i].Partitions = append(g.Topics[i].Partitions, fp.OffsetFetchResponseGroupTopicPartition)
			}
			resp.Groups = append(resp.Groups, g)
		}
		b.respond(r, resp)
		return
	}
	var tps []TopicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tps = append(tps, TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	all := req.Topics == nil && v >= 2
	code, parts := b.fetchOffsets(r, req.Group, tps, all, v >= 7 && req.RequireStable)
	resp.ErrorCode = code
	if v < 2 && code != errNone {
		for _, tp := range tps {
			fp := offsetPart{tp: tp, OffsetFetchResponseGroupTopicPartition: kmsg.NewOffsetFetchResponseGroupTopicPartition()}
			empty := ""
			fp.Partition, fp.Offset, fp.LeaderEpoch, fp.Metadata, fp.ErrorCode = tp.Partition, -1, -1, &empty, code
			parts = append(parts, fp)
		}
	}
	for _, fp := range parts {
		i := len(resp.Topics) - 1
		if i < 0 || resp.Topics[i].Topic != fp.tp.Topic {
			t := kmsg.NewOffsetFetchResponseTopic()
			t.Topic = fp.tp.Topic
			resp.Topics = append(resp.Topics, t)
			i++
		}
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = fp.Partition, fp.Offset, fp.LeaderEpoch, fp.Metadata, fp.ErrorCode
		if v == 0 && rp.ErrorCode == errNone && rp.Offset < 0 {
			rp.ErrorCode = errUnknownTopic
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	b.respond(r, resp)
}

// fetchOffsets is the group coordinator's fetchOffsets behind the
// authorizer: Describe on the group, else GROUP_AUTHORIZATION_FAILED;
// Describe on each topic, else its partitions are answered offset -1
// with TOPIC_AUTHORIZATION_FAILED (left out when all were asked for).
func (b *Broker) fetchOffsets(r Request, group string, tps []TopicPartition, all, stable bool) (int16, []offsetPart) {
	if !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, group) {
		return errGroupAuth, nil
	}
	code, parts := b.groups.fetchOffsets(group, tps, all, stable)
	allowed := map[string]bool{}
	out := parts[:0]
	for _, fp := range parts {
		ok, seen := allowed[fp.tp.Topic]
		if !seen {
			if all {
				ok = b.authorizedQuietly(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, fp.tp.Topic)
			} else {
				ok = b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, fp.tp.Topic)
			}
			allowed[fp.tp.Topic] = ok
		}
		switch {
		case ok:
		case all:
			continue
		default:
			empty := ""
			fp.Offset, fp.LeaderEpoch, fp.Metadata, fp.ErrorCode = -1, -1, &empty, errTopicAuth
		}
		out = append(out, fp)
	}
	return code, out
}

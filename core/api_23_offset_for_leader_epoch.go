package core

import "github.com/twmb/franz-go/pkg/kmsg"

// OffsetForLeaderEpoch: v0-4
//
// Behavior:
//   - Needs ClusterAction on the cluster (a follower) or Describe on
//     each topic (acl.go): else its partitions get
//     TOPIC_AUTHORIZATION_FAILED.
//   - For each partition, the end offset of the asked leader epoch in
//     the leader's log: the start of the first later epoch, or the log
//     end for the current one, with the largest epoch at or below the one
//     asked (v1+), as Kafka's LeaderEpochFileCache.endOffsetFor answers.
//     An epoch above every epoch the log knows answers epoch -1 and
//     offset -1 (UNDEFINED). Followers repair their logs with it (KIP-101,
//     KIP-279) and consumers detect truncation with it (KIP-320).
//   - Only the leader answers, whatever the ReplicaId (v3+; v0-2 requests
//     decode with its default, -2): Kafka 3.x's
//     ReplicaManager.lastOffsetForLeaderEpoch asks the leader always. A
//     follower's own log would answer a consumer wrongly (its log end for
//     the latest epoch is behind the leader's, which the consumer would
//     take for truncation).
//   - In Kafka's order (leaderCode): a broker with no replica answers
//     NOT_LEADER_OR_FOLLOWER and an offline log KAFKA_STORAGE_ERROR; v2+
//     CurrentLeaderEpoch is checked (FENCED_/UNKNOWN_LEADER_EPOCH), at a
//     follower too; then a follower answers NOT_LEADER_OR_FOLLOWER. An
//     unknown partition is UNKNOWN_TOPIC_OR_PARTITION.

func (b *Broker) handleOffsetForLeaderEpoch(r Request) {
	req := r.Body.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	clusterAction := b.authorizedQuietly(r, kmsg.ACLOperationClusterAction, kmsg.ACLResourceTypeCluster, clusterResource)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		allowed := clusterAction || b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, t.Topic)
		for _, in := range t.Partitions {
			out := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			out.Partition, out.LeaderEpoch, out.EndOffset = in.Partition, -1, -1
			p := b.partitionOf(t.Topic, in.Partition)
			switch {
			case !allowed:
				out.ErrorCode = errTopicAuth
			case p == nil:
				out.ErrorCode = errUnknownTopic
			default:
				out.ErrorCode = leaderCode(p, in.CurrentLeaderEpoch)
			}
			if out.ErrorCode == errNone && req.ReplicaID < 0 && !b.leaseHeld() {
				out.ErrorCode = errNotLeader // another broker may lead it by now (lease.go)
			}
			if out.ErrorCode == errNone {
				e, end := p.endOffsetFor(LeaderEpoch(in.LeaderEpoch))
				out.LeaderEpoch, out.EndOffset = int32(e), int64(end)
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	b.respond(r, resp)
}

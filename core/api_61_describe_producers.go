package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// DescribeProducers: v0
//
// Behavior (Kafka's KafkaApis.handleDescribeProducersRequest,
// ReplicaManager.activeProducerState, UnifiedLog.activeProducers):
//   - A topic name that is not legal answers INVALID_TOPIC_EXCEPTION for
//     each of its partitions; then Read on the topic is needed (acl.go),
//     else TOPIC_AUTHORIZATION_FAILED; a topic the metadata does not know
//     is UNKNOWN_TOPIC_OR_PARTITION.
//   - A partition the topic lacks is UNKNOWN_TOPIC_OR_PARTITION; one
//     this broker hosts no replica of NOT_LEADER_OR_FOLLOWER; an offline
//     log KAFKA_STORAGE_ERROR. Any replica answers, leader or follower,
//     as Kafka's does (from its local log).
//   - Each producer whose idempotence state the replica keeps is listed,
//     by producer id: its epoch, the last sequence and the max timestamp
//     of its last batch. Without transactions the coordinator epoch is
//     -1 and the current transaction start offset -1, as Kafka reports
//     producers that never began a transaction.

func (b *Broker) handleDescribeProducers(r Request) {
	req := r.Body.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDescribeProducersResponseTopic()
		rt.Topic = t.Topic
		var topicCode int16
		switch {
		case validTopicName(t.Topic) != nil:
			topicCode = errInvalidTopic
		case !b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, t.Topic):
			topicCode = errTopicAuth
		case b.topics[t.Topic] == nil:
			topicCode = errUnknownTopic
		}
		for _, idx := range t.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = idx
			if rp.ErrorCode = topicCode; topicCode == errNone {
				b.describeProducers(b.partitionOf(t.Topic, idx), &rp)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	b.respond(r, resp)
}

// describeProducers fills out with p's active producers, or an error.
func (b *Broker) describeProducers(p *partition, out *kmsg.DescribeProducersResponseTopicPartition) {
	switch {
	case p == nil:
		out.ErrorCode = errUnknownTopic
		return
	case !p.hosted():
		out.ErrorCode = errNotLeader
		return
	case p.offline:
		out.ErrorCode = errStorage
		return
	}
	for _, id := range sortedKeys(p.producers) {
		ps := p.producers[id]
		if len(ps.batches) == 0 {
			continue // known by id only: it has written nothing here
		}
		last := ps.batches[len(ps.batches)-1]
		ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
		ap.ProducerID, ap.ProducerEpoch = int64(id), int32(ps.epoch)
		ap.LastSequence, ap.LastTimestamp = last.LastSeq, last.Timestamp
		ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = -1, -1
		out.ActiveProducers = append(out.ActiveProducers, ap)
		b.cover(cover.ProducersDescribed)
	}
}

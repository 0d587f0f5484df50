package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions: v0-3
//
// Behavior:
//   - Needs Alter on each topic (acl.go): else
//     TOPIC_AUTHORIZATION_FAILED, whether it exists or not.
//   - Count is the new total; it must exceed the current count
//     (INVALID_PARTITIONS). The new partitions are placed as Kafka places
//     them, continuing the topic's assignment; an assignment must list
//     each new partition's replicas, live brokers as many as the topic's
//     replication factor (INVALID_REPLICA_ASSIGNMENT).
//   - ValidateOnly checks and changes nothing. Otherwise this broker
//     writes the grown assignment, the controller elects the new
//     partitions' leaders, and the answer waits, up to TimeoutMillis,
//     until this broker's metadata shows them led (REQUEST_TIMED_OUT
//     after).

func (b *Broker) handleCreatePartitions(r Request) {
	req := r.Body.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, len(req.Topics))
	g := b.gather(r, resp)
	for i, rt := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = rt.Topic
		if !b.authorized(r, kmsg.ACLOperationAlter, kmsg.ACLResourceTypeTopic, rt.Topic) {
			out.ErrorCode, out.ErrorMessage = errTopicAuth, errMsg("The topic authorization is failed.")
			continue
		}
		t := b.listedTopic(rt.Topic)
		if t == nil {
			out.ErrorCode = errUnknownTopic
			continue
		}
		manual := replicaLists(rt.Assignment, func(a kmsg.CreatePartitionsRequestTopicAssignment) []int32 { return a.Replicas })
		g.add()
		b.growTopicTo(t, rt.Count, manual, req.ValidateOnly, req.TimeoutMillis, func(code int16, msg string) {
			if code != errNone {
				out.ErrorCode = code
				if msg != "" {
					out.ErrorMessage = errMsg(msg)
				}
			}
			g.done()
		})
	}
	g.done()
}

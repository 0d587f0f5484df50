package core

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions: v0-3
//
// Behavior:
//   - Count is the new total; it must exceed the current count
//     (INVALID_PARTITIONS). An assignment must give this broker alone for
//     each new partition (INVALID_REPLICA_ASSIGNMENT).
//   - ValidateOnly checks and changes nothing. The new partitions exist,
//     and the answer is sent, once the topic znode lists them.

func (b *Broker) handleCreatePartitions(r Request) {
	req := r.Body.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, len(req.Topics))
	g := b.gather(r, resp)
	for i, rt := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = rt.Topic
		t := b.topics[rt.Topic]
		if t == nil {
			out.ErrorCode = errUnknownTopic
			continue
		}
		if code, msg := b.checkNewPartitions(t, rt); code != errNone {
			out.ErrorCode, out.ErrorMessage = code, errMsg(msg)
			continue
		}
		if req.ValidateOnly {
			continue
		}
		// The partitions exist only once the topic znode lists them.
		t.partsTarget = rt.Count
		g.add()
		count := rt.Count
		b.coordWrite(upsertOp(zkTopics+t.name, b.topicZnodeData(t, count)), func(err error) {
			if err != nil {
				t.partsTarget = int32(len(t.parts))
				out.ErrorCode, out.ErrorMessage = errUnknownServer, errMsg(err.Error())
			} else if b.topics[t.name] == t {
				b.addPartitions(t, count)
			}
			g.done()
		})
	}
	g.done()
}

func (b *Broker) checkNewPartitions(t *topic, rt kmsg.CreatePartitionsRequestTopic) (int16, string) {
	cur := t.partsTarget
	if t.deleting {
		return errUnknownTopic, "topic is being deleted"
	}
	if rt.Count <= cur {
		return errInvalidPartitions, fmt.Sprintf("topic has %d partitions; the new count %d must be larger", cur, rt.Count)
	}
	if room := b.partitionRoom(b.cfg.PartitionsMax); rt.Count-cur > room {
		return errInvalidPartitions, fmt.Sprintf("%d more partitions would exceed max.partitions.per.broker (%d more allowed)", rt.Count-cur, room)
	}
	if rt.Assignment != nil {
		if int32(len(rt.Assignment)) != rt.Count-cur {
			return errInvalidAssignment, "assignment must list each new partition"
		}
		for _, a := range rt.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != int32(b.cfg.BrokerID) {
				return errInvalidAssignment, fmt.Sprintf("new partitions must be assigned to broker %d alone", b.cfg.BrokerID)
			}
		}
	}
	return errNone, ""
}

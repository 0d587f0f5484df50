package core

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics: v2-7
//
// Behavior:
//   - NumPartitions and ReplicationFactor of -1 (v4+) take num.partitions
//     and default.replication.factor. With one broker a replication factor
//     other than 1 is INVALID_REPLICATION_FACTOR, and a manual assignment
//     must name this broker once per partition (INVALID_REPLICA_ASSIGNMENT).
//   - The broker holds at most max.partitions.per.broker partitions in all;
//     a creation beyond that is INVALID_PARTITIONS (so is a CreatePartitions
//     or an auto-creation).
//   - Configs are validated against the topic-level configs
//     (INVALID_CONFIG with a message naming the config).
//   - ValidateOnly checks everything and creates nothing.
//   - A name given twice in one request fails both entries with
//     INVALID_REQUEST, as Kafka does.
//   - The answer for a created topic waits for its metadata to be written
//     to the coordination store. v5+ answers carry the partition count,
//     replication factor and resolved configs; v7 the topic id.

func (b *Broker) handleCreateTopics(r Request) {
	req := r.Body.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, len(req.Topics))
	g := b.gather(r, resp)
	for i, rt := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreateTopicsResponseTopic()
		out.Topic, out.NumPartitions, out.ReplicationFactor = rt.Topic, -1, -1
		if seen[rt.Topic] > 1 {
			out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("topic named more than once in the request")
			continue
		}
		parts, configs, code, msg := b.checkNewTopic(rt)
		if code != errNone {
			out.ErrorCode, out.ErrorMessage = code, errMsg(msg)
			continue
		}
		out.NumPartitions, out.ReplicationFactor = parts, 1
		if req.ValidateOnly {
			b.fillCreatedConfigs(out, &topic{name: rt.Topic, configs: configs})
			continue
		}
		g.add()
		b.createTopic(rt.Topic, parts, configs, func(t *topic, err error) {
			if err != nil {
				out.ErrorCode, out.ErrorMessage = errUnknownServer, errMsg("persisting topic metadata failed: "+err.Error())
				out.NumPartitions, out.ReplicationFactor = -1, -1
			} else {
				out.TopicID = t.id
				b.fillCreatedConfigs(out, t)
			}
			g.done()
		})
	}
	g.done()
}

// checkNewTopic validates one topic of a CreateTopics request.
func (b *Broker) checkNewTopic(rt kmsg.CreateTopicsRequestTopic) (int32, map[string]string, int16, string) {
	if err := validTopicName(rt.Topic); err != nil {
		return 0, nil, errInvalidTopic, err.Error()
	}
	if b.topics[rt.Topic] != nil || b.creating[rt.Topic] {
		return 0, nil, errTopicExists, fmt.Sprintf("topic %q already exists", rt.Topic)
	}
	parts, rf := rt.NumPartitions, int32(rt.ReplicationFactor)
	if len(rt.ReplicaAssignment) > 0 {
		if parts != -1 || rf != -1 {
			return 0, nil, errInvalidRequest, "both a replica assignment and partitions or replication factor given"
		}
		for i, a := range rt.ReplicaAssignment {
			if a.Partition != int32(i) || len(a.Replicas) != 1 || a.Replicas[0] != int32(b.cfg.BrokerID) {
				return 0, nil, errInvalidAssignment, fmt.Sprintf("partition %d must be assigned to broker %d alone", a.Partition, b.cfg.BrokerID)
			}
		}
		parts, rf = int32(len(rt.ReplicaAssignment)), 1
	}
	if parts == -1 {
		parts = b.cfg.NumPartitions
	}
	if rf == -1 {
		rf = b.cfg.DefaultReplication
	}
	if parts <= 0 {
		return 0, nil, errInvalidPartitions, fmt.Sprintf("number of partitions %d is invalid", parts)
	}
	if room := b.partitionRoom(b.cfg.PartitionsMax); parts > room {
		return 0, nil, errInvalidPartitions, fmt.Sprintf("%d partitions would exceed max.partitions.per.broker (%d more allowed)", parts, room)
	}
	if msg := replicationProblem(rf); msg != "" {
		return 0, nil, errInvalidReplication, msg
	}
	configs := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			continue
		}
		configs[c.Name] = *c.Value
	}
	if err := validateTopicConfigs(configs); err != nil {
		return 0, nil, errInvalidConfig, err.Error()
	}
	return parts, configs, errNone, ""
}

// replicationProblem says why one broker cannot host rf replicas, in
// Kafka's words, or returns "" for 1.
func replicationProblem(rf int32) string {
	switch {
	case rf <= 0:
		return "Replication factor must be larger than 0."
	case rf > 1:
		return fmt.Sprintf("Replication factor: %d larger than available brokers: 1.", rf)
	}
	return ""
}

func (b *Broker) fillCreatedConfigs(out *kmsg.CreateTopicsResponseTopic, t *topic) {
	for _, tc := range topicConfigs {
		v, src := b.cfg.topicValue(t, tc)
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.Source = tc.name, &v, int8(src)
		out.Configs = append(out.Configs, c)
	}
}

package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics: v2-7
//
// Behavior:
//   - Needs Create on the cluster or on each topic (acl.go): else that
//     topic answers TOPIC_AUTHORIZATION_FAILED and is not created.
//     Without DescribeConfigs on the topic its configurations are left
//     out of the answer (v5+ TopicConfigErrorCode
//     TOPIC_AUTHORIZATION_FAILED).
//   - NumPartitions and ReplicationFactor of -1 (v4+) take num.partitions
//     and default.replication.factor. Partitions are placed over the live
//     brokers as Kafka places them (rack-aware when every broker has a
//     broker.rack); a manual assignment must name live brokers, the same
//     number for each partition, numbered from 0 (INVALID_REPLICA_ASSIGNMENT).
//     Cloud Kafka keeps one replica per partition: a replication factor
//     other than 1 is INVALID_REPLICATION_FACTOR.
//   - A broker holds at most max.partitions.per.broker partitions; a
//     creation beyond that on any broker is INVALID_PARTITIONS (so is a
//     CreatePartitions or an auto-creation).
//   - Configs are validated against the topic-level configs
//     (INVALID_CONFIG with a message naming the config).
//   - ValidateOnly checks everything and creates nothing.
//   - A name given twice in one request fails both entries with
//     INVALID_REQUEST, as Kafka does.
//   - The topic's znodes are written by this broker; the controller elects
//     its leaders. The answer waits, up to TimeoutMillis, until this
//     broker's metadata shows a leader for every partition
//     (REQUEST_TIMED_OUT after; a timeout of 0 answers once written). v5+
//     answers carry the partition count, replication factor and resolved
//     configs; v7 the topic id.

func (b *Broker) handleCreateTopics(r Request) {
	req := r.Body.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, len(req.Topics))
	g := b.gather(r, resp)
	clusterCreate := b.authorizedQuietly(r, kmsg.ACLOperationCreate, kmsg.ACLResourceTypeCluster, clusterResource)
	for i, rt := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreateTopicsResponseTopic()
		out.Topic, out.NumPartitions, out.ReplicationFactor = rt.Topic, -1, -1
		if seen[rt.Topic] > 1 {
			out.ErrorCode, out.ErrorMessage = errInvalidRequest, errMsg("topic named more than once in the request")
			continue
		}
		if !clusterCreate && !b.authorized(r, kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, rt.Topic) {
			out.ErrorCode, out.ErrorMessage = errTopicAuth, errMsg("Authorization failed.")
			continue
		}
		describeConfigs := b.authorizedQuietly(r, kmsg.ACLOperationDescribeConfigs, kmsg.ACLResourceTypeTopic, rt.Topic)
		if !describeConfigs {
			out.ConfigErrorCode = errTopicAuth
		}
		plan, code, msg := b.checkNewTopic(rt)
		if code != errNone {
			out.ErrorCode, out.ErrorMessage = code, errMsg(msg)
			continue
		}
		out.NumPartitions, out.ReplicationFactor = int32(len(plan.assignment)), int16(len(plan.assignment[0]))
		if req.ValidateOnly {
			if describeConfigs {
				b.fillCreatedConfigs(out, &topic{name: rt.Topic, configs: plan.configs})
			}
			continue
		}
		g.add()
		b.createTopic(plan, req.TimeoutMillis, func(code int16, msg string) {
			if code != errNone {
				out.ErrorCode, out.ErrorMessage = code, errMsg(msg)
			}
			if code != errNone && code != errRequestTimedOut {
				out.NumPartitions, out.ReplicationFactor = -1, -1
			} else {
				out.TopicID = plan.id
				if describeConfigs {
					b.fillCreatedConfigs(out, &topic{name: plan.name, configs: plan.configs})
				}
			}
			g.done()
		})
	}
	g.done()
}

// checkNewTopic validates one topic of a CreateTopics request and plans
// its placement.
func (b *Broker) checkNewTopic(rt kmsg.CreateTopicsRequestTopic) (topicPlan, int16, string) {
	var manual [][]BrokerID
	if len(rt.ReplicaAssignment) > 0 {
		manual = make([][]BrokerID, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(manual) || manual[a.Partition] != nil || len(a.Replicas) == 0 {
				return topicPlan{}, errInvalidAssignment, "partitions should be a consecutive 0-based integer sequence, each with replicas"
			}
			manual[a.Partition] = brokerIDs(a.Replicas)
		}
	}
	configs := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			continue
		}
		configs[c.Name] = *c.Value
	}
	return b.planTopic(rt.Topic, rt.NumPartitions, int32(rt.ReplicationFactor), manual, configs)
}

func (b *Broker) fillCreatedConfigs(out *kmsg.CreateTopicsResponseTopic, t *topic) {
	for _, tc := range topicConfigs {
		v, src := b.cfg.topicValue(t, tc)
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value, c.Source = tc.name, &v, int8(src)
		out.Configs = append(out.Configs, c)
	}
}

package core

import "github.com/twmb/franz-go/pkg/kmsg"

// Metadata: v0-12
//
// Behavior:
//   - The brokers are the live ones registered under /brokers/ids (this
//     broker always, with its broker.rack from v1), each with its
//     endpoint on the listener the request came in on; a broker without
//     that listener is left out, as Kafka's metadata cache leaves it.
//     The controller is the one /controller names (-1 while none is
//     elected).
//   - Topics and partitions are as the controller last described them to
//     this broker: each partition's leader, leader epoch, replicas and
//     ISR, and its replicas on brokers not live as offline (v5+). A
//     partition without a leader (its broker down) answers
//     LEADER_NOT_AVAILABLE; one whose replica here is offline after a
//     storage error KAFKA_STORAGE_ERROR.
//   - A null topic list (v1+) or an empty one at v0 asks for all topics.
//   - Unknown topics are created when auto.create.topics.enable is on and
//     the request allows it (v4+ AllowAutoTopicCreation; always for v0-3),
//     with num.partitions partitions placed over the live brokers, and are
//     answered LEADER_NOT_AVAILABLE (the client asks again once the
//     controller elected their leaders); an illegal name answers
//     INVALID_TOPIC_EXCEPTION, and a default.replication.factor other than
//     1 INVALID_REPLICATION_FACTOR, as Kafka's auto-creation does.
//   - v10+ returns topic ids; v12 may ask for topics by id.
//   - Authorized-operations fields answer "not requested" (-2147483648).

func (b *Broker) handleMetadata(r Request) {
	req := r.Body.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	v := r.Header.Version
	for _, lb := range b.brokers() {
		ep, ok := lb.on(r.Listener)
		if !ok {
			continue // not reachable on this listener
		}
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = int32(lb.id), ep.Host, ep.Port
		if lb.rack != "" {
			br.Rack = kmsg.StringPtr(lb.rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	resp.ClusterID = &b.clusterID
	resp.ControllerID = b.controllerID()
	resp.AuthorizedOperations = -2147483648

	all := req.Topics == nil || (v == 0 && len(req.Topics) == 0)
	if all {
		for _, name := range b.topicNames() {
			if t := b.listedTopic(name); t != nil {
				resp.Topics = append(resp.Topics, b.metadataTopic(t))
			}
		}
		b.respond(r, resp)
		return
	}
	autoCreate := b.cfg.AutoCreateTopics && (v < 4 || req.AllowAutoTopicCreation)
	resp.Topics = make([]kmsg.MetadataResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		slot := &resp.Topics[i]
		var t *topic
		if rt.Topic != nil {
			t = b.listedTopic(*rt.Topic)
		} else if t = b.topicsByID[TopicID(rt.TopicID)]; t != nil && !t.listed() {
			t = nil
		}
		if t != nil {
			*slot = b.metadataTopic(t)
			continue
		}
		*slot = metadataError(rt, errUnknownTopic)
		switch {
		case rt.Topic == nil:
			slot.ErrorCode = errUnknownTopicID
		case !autoCreate:
		case validTopicName(*rt.Topic) != nil:
			slot.ErrorCode = errInvalidTopic
		case b.topics[*rt.Topic] != nil || b.creating[*rt.Topic] != nil:
			slot.ErrorCode = errLeaderNotAvailable // being created (or deleted)
		default:
			plan, code, _ := b.planTopic(*rt.Topic, -1, -1, nil, map[string]string{})
			switch code {
			case errNone:
				slot.ErrorCode = errLeaderNotAvailable
				b.writeTopic(plan, func(int16, string) {})
			case errInvalidReplication, errInvalidPartitions:
				slot.ErrorCode = code
			default:
				slot.ErrorCode = errLeaderNotAvailable
			}
		}
	}
	b.respond(r, resp)
}

// metadataError is the entry for a topic that cannot be described.
func metadataError(rt kmsg.MetadataRequestTopic, code int16) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
	mt.ErrorCode = code
	mt.AuthorizedOperations = -2147483648
	return mt
}

func (b *Broker) metadataTopic(t *topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.name
	mt.Topic, mt.TopicID = &name, t.id
	mt.IsInternal = name == OffsetsTopic
	mt.AuthorizedOperations = -2147483648
	for _, p := range t.parts {
		if !p.known {
			continue // the controller has not described it to this broker yet
		}
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = p.tp.Partition, int32(p.leader), int32(p.epoch)
		mp.Replicas, mp.ISR = int32IDs(p.replicas), int32IDs(p.isr)
		for _, r := range p.replicas {
			if !b.isLive(r) {
				mp.OfflineReplicas = append(mp.OfflineReplicas, int32(r))
			}
		}
		switch {
		case p.leader < 0 || !b.isLive(p.leader):
			mp.ErrorCode = errLeaderNotAvailable
		case p.leader == b.cfg.BrokerID && p.hosted() && p.offline:
			mp.ErrorCode = errStorage
			mp.OfflineReplicas = append(mp.OfflineReplicas, int32(b.cfg.BrokerID))
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

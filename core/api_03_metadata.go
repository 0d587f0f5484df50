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
//     storage error KAFKA_STORAGE_ERROR. A partition whose live leader
//     has no endpoint on the request's listener has no leader there
//     (-1): LISTENER_NOT_FOUND from v6, LEADER_NOT_AVAILABLE before, as
//     Kafka's metadata cache answers.
//   - A null topic list (v1+) or an empty one at v0 asks for all topics.
//   - Unknown topics are created when auto.create.topics.enable is on and
//     the request allows it (v4+ AllowAutoTopicCreation; always for v0-3),
//     with num.partitions partitions placed over the live brokers, and are
//     answered LEADER_NOT_AVAILABLE (the client asks again once the
//     controller elected their leaders); an illegal name answers
//     INVALID_TOPIC_EXCEPTION, and a default.replication.factor other than
//     1 INVALID_REPLICATION_FACTOR, as Kafka's auto-creation does.
//   - v10+ returns topic ids; v12 may ask for topics by id.
//   - ACLs (acl.go): a topic named without Describe on it answers
//     TOPIC_AUTHORIZATION_FAILED whether it exists or not (asked by id,
//     an unknown id is UNKNOWN_TOPIC_ID first and a denied one comes
//     back without its name); all topics lists only those the principal
//     may describe. Auto-creation needs Create on the cluster or on the
//     topic, else TOPIC_AUTHORIZATION_FAILED.
//   - Authorized operations (v8+) are filled when asked: the topics'
//     for each topic the principal may describe, described or answered
//     with an error (unknown, being created: as Kafka fills its
//     topicMetadata), not for one denied or an unknown id; the
//     cluster's (v8-10) when Describe on the cluster is allowed (0
//     otherwise); else "not requested" (-2147483648).

func (b *Broker) handleMetadata(r Request) {
	req := r.Body.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	v := r.Header.Version
	reachable := map[BrokerID]bool{} // the brokers listed: live, with an endpoint on r.Listener
	for _, lb := range b.brokers() {
		ep, ok := lb.on(r.Listener)
		if !ok {
			continue // not reachable on this listener
		}
		reachable[lb.id] = true
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
	if v >= 8 && v <= 10 && req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = 0
		if b.authorizedCluster(r, kmsg.ACLOperationDescribe) {
			resp.AuthorizedOperations = b.authorizedOperations(r, kmsg.ACLResourceTypeCluster, clusterResource)
		}
	}
	describe := func(t *topic) kmsg.MetadataResponseTopic {
		mt := b.metadataTopic(t, reachable, v)
		if v >= 8 && req.IncludeTopicAuthorizedOperations {
			mt.AuthorizedOperations = b.authorizedOperations(r, kmsg.ACLResourceTypeTopic, t.name)
		}
		return mt
	}

	all := req.Topics == nil || (v == 0 && len(req.Topics) == 0)
	if all {
		for _, name := range b.topicNames() {
			if t := b.listedTopic(name); t != nil && b.authorizedQuietly(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, name) {
				resp.Topics = append(resp.Topics, describe(t))
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
			if !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, *rt.Topic) {
				*slot = metadataError(rt, errTopicAuth)
				continue
			}
		} else if t = b.topicsByID[TopicID(rt.TopicID)]; t != nil && !t.listed() {
			t = nil
		} else if t != nil && !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, t.name) {
			*slot = metadataError(rt, errTopicAuth)
			continue
		}
		if t != nil {
			*slot = describe(t)
			continue
		}
		*slot = metadataError(rt, errUnknownTopic)
		switch {
		case rt.Topic == nil:
			slot.ErrorCode = errUnknownTopicID
		case !autoCreate:
		case !b.authorizedQuietly(r, kmsg.ACLOperationCreate, kmsg.ACLResourceTypeCluster, clusterResource) &&
			!b.authorized(r, kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, *rt.Topic):
			slot.ErrorCode = errTopicAuth
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
		if v >= 8 && req.IncludeTopicAuthorizedOperations && rt.Topic != nil && slot.ErrorCode != errTopicAuth {
			// Kafka fills them for every topic the principal may
			// describe, known or not (its topicMetadata)
			slot.AuthorizedOperations = b.authorizedOperations(r, kmsg.ACLResourceTypeTopic, *rt.Topic)
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

func (b *Broker) metadataTopic(t *topic, reachable map[BrokerID]bool, v int16) kmsg.MetadataResponseTopic {
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
		case !reachable[p.leader]:
			// Live, but a client on this listener cannot reach it.
			mp.Leader, mp.ErrorCode = -1, errLeaderNotAvailable
			if v >= 6 {
				mp.ErrorCode = errListenerNotFound
			}
		case p.leader == b.cfg.BrokerID && p.hosted() && p.offline:
			mp.ErrorCode = errStorage
			mp.OfflineReplicas = append(mp.OfflineReplicas, int32(b.cfg.BrokerID))
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

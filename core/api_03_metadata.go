package core

import "github.com/twmb/franz-go/pkg/kmsg"

// Metadata: v0-12
//
// Behavior:
//   - The brokers are the live ones registered under /brokers/ids (this
//     broker always, with its broker.rack from v1); the controller is the
//     one /controller names (-1 while none is elected). This broker leads
//     every partition it knows; replicas and ISR are itself.
//   - A null topic list (v1+) or an empty one at v0 asks for all topics.
//   - Unknown topics are created when auto.create.topics.enable is on and
//     the request allows it (v4+ AllowAutoTopicCreation; always for v0-3),
//     with num.partitions partitions, and are returned in the same
//     response; an illegal name answers INVALID_TOPIC_EXCEPTION, and a
//     default.replication.factor other than 1 INVALID_REPLICATION_FACTOR
//     (one broker cannot host more replicas), as Kafka's auto-creation does.
//   - v10+ returns topic ids; v12 may ask for topics by id.
//   - Authorized-operations fields answer "not requested" (-2147483648).

func (b *Broker) handleMetadata(r Request) {
	req := r.Body.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	v := r.Header.Version
	for _, lb := range b.brokers() {
		br := kmsg.NewMetadataResponseBroker()
		br.NodeID, br.Host, br.Port = int32(lb.id), lb.host, lb.port
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
			resp.Topics = append(resp.Topics, b.metadataTopic(b.topics[name]))
		}
		b.respond(r, resp)
		return
	}
	autoCreate := b.cfg.AutoCreateTopics && (v < 4 || req.AllowAutoTopicCreation)
	resp.Topics = make([]kmsg.MetadataResponseTopic, len(req.Topics))
	g := b.gather(r, resp) // the answer waits for every lookup and write below
	for i, rt := range req.Topics {
		slot := &resp.Topics[i]
		var t *topic
		if rt.Topic != nil {
			t = b.topics[*rt.Topic]
		} else {
			t = b.topicsByID[TopicID(rt.TopicID)]
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
		case b.creating[*rt.Topic]:
			slot.ErrorCode = errLeaderNotAvailable
		case b.partitionRoom(b.cfg.PartitionsMax) < b.cfg.NumPartitions:
			slot.ErrorCode = errInvalidPartitions
		case replicationProblem(b.cfg.DefaultReplication) != "":
			slot.ErrorCode = errInvalidReplication
		default:
			g.add()
			b.createTopic(*rt.Topic, b.cfg.NumPartitions, map[string]string{}, func(t *topic, err error) {
				if err != nil {
					slot.ErrorCode = errLeaderNotAvailable
				} else {
					*slot = b.metadataTopic(t)
				}
				g.done()
			})
		}
	}
	g.done()
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
	self := int32(b.cfg.BrokerID)
	for _, p := range t.parts {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = p.tp.Partition, self, int32(p.epoch)
		mp.Replicas, mp.ISR = []int32{self}, []int32{self}
		if p.offline {
			mp.ErrorCode = errStorage
			mp.OfflineReplicas = []int32{self}
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// createTopic persists a new topic and only then makes it exist: its
// partitions, logs and metadata appear once the coordination store has
// the topic znode, so a failed write leaves nothing behind that a restart
// would not also find. done receives the topic, or the write's error.
func (b *Broker) createTopic(name string, parts int32, configs map[string]string, done func(*topic, error)) {
	var id TopicID
	for id == (TopicID{}) {
		b.rng.fill(id[:])
	}
	t := &topic{name: name, id: id, configs: configs, partsTarget: parts}
	b.creating[name] = true
	b.creatingParts += parts
	b.coordWrite(upsertOp(zkConfigs+name, mustJSON(configZnode{Version: 1, Config: configs})), nil)
	b.coordWrite(createOp(zkTopics+name, b.topicZnodeData(t, parts)), func(err error) {
		delete(b.creating, name)
		b.creatingParts -= parts
		if err != nil {
			done(nil, err)
			return
		}
		b.topics[name] = t
		b.topicsByID[id] = t
		b.addPartitions(t, parts)
		done(t, nil)
	})
}

func (b *Broker) addPartitions(t *topic, total int32) {
	for i := int32(len(t.parts)); i < total; i++ {
		p := newPartition(t, i)
		t.parts = append(t.parts, p)
		b.emit(CreateLog{Partition: p.tp, Config: b.cfg.logConfig(t)})
		if t.name == OffsetsTopic {
			b.groups.parts[i] = partLoaded // new and empty: nothing to load
		}
	}
}

package core

import "github.com/twmb/franz-go/pkg/kmsg"

// Metadata: v0-12
//
// Behavior:
//   - One broker, which is the controller and leads every partition;
//     replicas and ISR are that broker.
//   - A null topic list (v1+) or an empty one at v0 asks for all topics.
//   - Unknown topics are created when auto.create.topics.enable is on and
//     the request allows it (v4+ AllowAutoTopicCreation; always for v0-3),
//     with num.partitions partitions, and are returned in the same
//     response; an illegal name answers INVALID_TOPIC_EXCEPTION.
//   - v10+ returns topic ids; v12 may ask for topics by id.
//   - Authorized-operations fields answer "not requested" (-2147483648).

func (b *Broker) handleMetadata(r Request) {
	req := r.Body.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	v := r.Header.Version
	adv := b.cfg.AdvertisedListener
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = int32(b.cfg.BrokerID), adv.Host, adv.Port
	resp.Brokers = []kmsg.MetadataResponseBroker{br}
	resp.ClusterID = &b.clusterID
	resp.ControllerID = int32(b.cfg.BrokerID)
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
	for _, rt := range req.Topics {
		var t *topic
		if rt.Topic != nil {
			t = b.topics[*rt.Topic]
		} else {
			t = b.topicsByID[TopicID(rt.TopicID)]
		}
		if t == nil {
			t = b.metadataMissing(rt, autoCreate, resp)
			if t == nil {
				continue
			}
		}
		resp.Topics = append(resp.Topics, b.metadataTopic(t))
	}
	b.respond(r, resp)
}

// metadataMissing answers a topic that does not exist: auto-created, or an
// error entry appended to resp.
func (b *Broker) metadataMissing(rt kmsg.MetadataRequestTopic, autoCreate bool, resp *kmsg.MetadataResponse) *topic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
	mt.ErrorCode = errUnknownTopic
	mt.AuthorizedOperations = -2147483648
	if rt.Topic == nil {
		mt.ErrorCode = errUnknownTopicID
	} else if autoCreate {
		if err := validTopicName(*rt.Topic); err != nil {
			mt.ErrorCode = errInvalidTopic
		} else {
			return b.createTopic(*rt.Topic, b.cfg.NumPartitions, map[string]string{}, nil)
		}
	}
	resp.Topics = append(resp.Topics, mt)
	return nil
}

func (b *Broker) metadataTopic(t *topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.name
	mt.Topic, mt.TopicID = &name, t.id
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

// createTopic creates a topic in memory at once and persists it; done
// (optional) receives the coordination write's error.
func (b *Broker) createTopic(name string, parts int32, configs map[string]string, done func(error)) *topic {
	var id TopicID
	for id == (TopicID{}) {
		b.rng.fill(id[:])
	}
	t := &topic{name: name, id: id, configs: configs}
	b.topics[name] = t
	b.topicsByID[id] = t
	b.addPartitions(t, parts)
	if len(configs) > 0 {
		b.coordWrite(CoordSet, zkConfigs+name, mustJSON(configZnode{Version: 1, Config: configs}), nil)
	}
	b.coordWrite(CoordCreate, zkTopics+name, b.topicZnodeData(t), done)
	return t
}

func (b *Broker) addPartitions(t *topic, total int32) {
	for i := int32(len(t.parts)); i < total; i++ {
		p := newPartition(t, i)
		t.parts = append(t.parts, p)
		b.emit(CreateLog{Partition: p.tp, Config: b.cfg.logConfig(t)})
	}
}

package core

import "slices"

// metadata is the broker's cache of the cluster's metadata (DESIGN.md,
// "Cluster shape"): the cluster id, the live brokers, and the topics
// with their ids, configuration and partitions (replicas, leader, leader
// epoch, ISR). The controller fills it (UpdateMetadata, and LeaderAndIsr
// for the partitions this broker hosts); at a start the recovered znodes
// say which partitions this broker hosts, and the controller then says
// who leads them. The broker's other sub-machines look topics and
// partitions up here.
type metadata struct {
	clusterID  string
	topics     map[string]*topic // by name; iterate via topicNames()
	topicsByID map[TopicID]*topic
	// creating holds, per topic whose creation this broker is writing,
	// its assignment (counted against max.partitions.per.broker).
	creating map[string][][]BrokerID
	// live holds the brokers registered under /brokers/ids as the last
	// listing found them (brokers.go).
	live map[BrokerID]liveBroker
}

func newMetadata() *metadata {
	return &metadata{topics: map[string]*topic{}, topicsByID: map[TopicID]*topic{}, creating: map[string][][]BrokerID{}}
}

// topicNames lists the topics in name order.
func (m *metadata) topicNames() []string { return sortedKeys(m.topics) }

// partitionOf finds partition idx of topic name, or nil.
func (m *metadata) partitionOf(name string, idx int32) *partition {
	t := m.topics[name]
	if t == nil || idx < 0 || int(idx) >= len(t.parts) {
		return nil
	}
	return t.parts[idx]
}

// listed says whether Metadata describes t: the controller described
// it (Metadata lists the partitions it described), and the topic is not
// being deleted.
func (t *topic) listed() bool {
	if t.unlisted {
		return false
	}
	for _, p := range t.parts {
		if p.known {
			return true
		}
	}
	return false
}

// led says whether every partition of t is described with a leader.
func (t *topic) led() bool {
	if !t.listed() {
		return false
	}
	for _, p := range t.parts {
		if !p.known || p.leader < 0 {
			return false
		}
	}
	return true
}

// listedTopic returns topic name if Metadata describes it.
func (m *metadata) listedTopic(name string) *topic {
	if t := m.topics[name]; t != nil && t.listed() {
		return t
	}
	return nil
}

func (m *metadata) addTopic(t *topic) {
	m.topics[t.name] = t
	m.topicsByID[t.id] = t
}

// growTopic extends t to the assignment's partitions, hosting a replica
// of those assigned to self.
func (m *metadata) growTopic(t *topic, assignment [][]BrokerID, self BrokerID) {
	for i := len(t.parts); i < len(assignment); i++ {
		t.parts = append(t.parts, newPartition(t, int32(i)))
	}
	for i, rs := range assignment {
		p := t.parts[i]
		p.replicas = slices.Clone(rs)
		if slices.Contains(rs, self) {
			p.host()
		}
	}
}

// hostedCount counts the partitions with a replica on broker id, as the
// cache and the creations under way assign them.
func (m *metadata) hostedCount(id BrokerID) int32 {
	var n int32
	// order-independent: a sum
	for _, t := range m.topics {
		for _, p := range t.parts {
			if slices.Contains(p.replicas, id) {
				n++
			}
		}
	}
	// order-independent: a sum
	for _, a := range m.creating {
		for _, rs := range a {
			if slices.Contains(rs, id) {
				n++
			}
		}
	}
	return n
}

// unlistTopic hides a topic being deleted from Metadata; it leaves the
// cache once this broker hosts none of its replicas.
func (b *Broker) unlistTopic(t *topic) {
	t.unlisted = true
	for _, p := range t.parts {
		p.known = false
	}
	b.maybeDropTopic(t)
}

// maybeDropTopic removes an unlisted topic without hosted replicas.
func (b *Broker) maybeDropTopic(t *topic) {
	if !t.unlisted || b.topics[t.name] != t {
		return
	}
	for _, p := range t.parts {
		if p.hosted() {
			return
		}
	}
	b.removeTopic(t)
}

// dropTopic removes t and the replicas this broker hosts of it (an
// older topic whose name a new one took).
func (b *Broker) dropTopic(t *topic) {
	for _, p := range t.parts {
		if p.hosted() {
			if p.leading {
				b.resign(p)
			}
			b.dropReplica(p)
		}
	}
	b.removeTopic(t)
}

func (b *Broker) removeTopic(t *topic) {
	delete(b.topics, t.name)
	if b.topicsByID[t.id] == t {
		delete(b.topicsByID, t.id)
	}
	b.metadataChanged()
}

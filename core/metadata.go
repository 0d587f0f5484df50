package core

// metadata is the broker's cache of the cluster's metadata (DESIGN.md,
// "Cluster shape"): the cluster id, the topics with their ids, partitions
// and configuration, and the creations under way. On a single node it is
// filled from the recovered znodes and changed by the broker's own admin
// requests; the broker's other sub-machines look topics and partitions up
// here.
type metadata struct {
	clusterID  string
	topics     map[string]*topic // by name; iterate via topicNames()
	topicsByID map[TopicID]*topic
	creating   map[string]bool // names whose topic znode write is outstanding
	// live holds the brokers registered under /brokers/ids as the last
	// listing found them (brokers.go).
	live map[BrokerID]liveBroker
	// creatingParts counts the partitions of those creations.
	creatingParts int32
}

func newMetadata() *metadata {
	return &metadata{topics: map[string]*topic{}, topicsByID: map[TopicID]*topic{}, creating: map[string]bool{}}
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

// partitionRoom is how many more partitions the broker may host under
// limit (Config.PartitionsMax), counting those of creations under way.
func (m *metadata) partitionRoom(limit int32) int32 {
	var n int32
	// order-independent: a sum
	for _, t := range m.topics {
		n += t.partsTarget
	}
	n += m.creatingParts
	return limit - n
}

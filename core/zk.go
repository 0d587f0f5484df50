package core

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The coordination store's layout: Kafka's ZooKeeper paths and JSON
// documents, so that operators can read a cluster's state with Kafka's
// tools. Everything the core knows of znodes is in this file; the runtime
// stores and loads them without interpreting them.

// Coordination store layout (Kafka's ZooKeeper paths).
const (
	zkTopics     = "/brokers/topics/"
	zkConfigs    = "/config/topics/"
	zkClusterID  = "/cluster/id"
	zkProducerID = "/latest_producer_id_block"
	zkBrokerIDs  = "/brokers/ids/"
)

// BrokerZnode is Kafka's /brokers/ids/<id> document, version 5: the
// broker's endpoints, with the first PLAINTEXT one also as host and port
// for old clients, its rack, and the time it registered.
type BrokerZnode struct {
	Features  map[string]any    `json:"features"`
	Protocols map[string]string `json:"listener_security_protocol_map"`
	Endpoints []string          `json:"endpoints"`
	JMXPort   int               `json:"jmx_port"`
	Port      int32             `json:"port"`
	Host      string            `json:"host"`
	Version   int               `json:"version"`
	Timestamp string            `json:"timestamp"`
	Rack      string            `json:"rack,omitempty"`
}

// BrokerPath is the znode a broker registers.
func BrokerPath(id BrokerID) string { return zkBrokerIDs + strconv.Itoa(int(id)) }

// brokerZnodeData is this broker's registration document.
func (b *Broker) brokerZnodeData() []byte {
	ep := b.cfg.AdvertisedListener
	return mustJSON(BrokerZnode{Features: map[string]any{}, Protocols: map[string]string{"PLAINTEXT": "PLAINTEXT"},
		Endpoints: []string{ep.String()}, JMXPort: -1, Port: ep.Port, Host: ep.Host, Version: 5,
		Timestamp: strconv.FormatInt(b.now.Millis(), 10), Rack: b.cfg.Rack})
}

// The writes a single broker makes, as Kafka's ZooKeeper client makes
// them: creates with their missing parents (createRecursive), sets that
// create a missing node (createOrSet), deletes of a whole subtree
// (deleteRecursive).
func createOp(path string, data []byte) CoordOp {
	return CoordOp{Kind: CoordCreate, Path: path, Data: data, Parents: true}
}

func upsertOp(path string, data []byte) CoordOp {
	return CoordOp{Kind: CoordSet, Path: path, Data: data, Version: CoordAnyVersion, Upsert: true}
}

func deleteTreeOp(path string) CoordOp {
	return CoordOp{Kind: CoordDelete, Path: path, Version: CoordAnyVersion, Recursive: true}
}

// topicZnode is Kafka's /brokers/topics/<t> document.
type topicZnode struct {
	Version    int                `json:"version"`
	TopicID    string             `json:"topic_id"`
	Partitions map[string][]int32 `json:"partitions"`
	Adding     map[string][]int32 `json:"adding_replicas"`
	Removing   map[string][]int32 `json:"removing_replicas"`
}

type configZnode struct {
	Version int               `json:"version"`
	Config  map[string]string `json:"config"`
}

type clusterIDZnode struct {
	Version string `json:"version"`
	ID      string `json:"id"`
}

type producerIDZnode struct {
	Version    int    `json:"version"`
	Broker     int32  `json:"broker"`
	BlockStart string `json:"block_start"`
	BlockEnd   string `json:"block_end"`
}

// topicZnodeData is the /brokers/topics/<t> document of t with parts
// partitions, each on this broker.
func (b *Broker) topicZnodeData(t *topic, parts int32) []byte {
	z := topicZnode{Version: 3, TopicID: encodeUUID(t.id), Partitions: map[string][]int32{},
		Adding: map[string][]int32{}, Removing: map[string][]int32{}}
	for i := 0; i < int(parts); i++ {
		z.Partitions[strconv.Itoa(i)] = []int32{int32(b.cfg.BrokerID)}
	}
	return mustJSON(z) // encoding/json sorts map keys: deterministic
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// KnownPartitions lists the partitions the coordination store describes
// (the "partitions" map of each /brokers/topics/<t> znode): the runtime
// keeps their log directories and removes the others at start. A znode
// that does not parse describes none; the core reports it when it
// recovers.
func KnownPartitions(znodes []Znode) map[TopicPartition]bool {
	known := map[TopicPartition]bool{}
	for _, z := range znodes {
		name, ok := strings.CutPrefix(z.Path, zkTopics)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		var doc topicZnode
		if json.Unmarshal(z.Data, &doc) != nil {
			continue
		}
		// order-independent: fills a set
		for p := range doc.Partitions {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 {
				known[TopicPartition{Topic: name, Partition: int32(n)}] = true
			}
		}
	}
	return known
}

// parseTopicZnodes decodes a recovered topic's documents: its id, its
// partition count, and its configuration overrides (nil cfgData: none).
func parseTopicZnodes(name string, data, cfgData []byte) (TopicID, int, map[string]string, error) {
	var z topicZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return TopicID{}, 0, nil, fmt.Errorf("recover topic %s: %w", name, err)
	}
	id, err := decodeUUID(z.TopicID)
	if err != nil {
		return TopicID{}, 0, nil, fmt.Errorf("recover topic %s: %w", name, err)
	}
	configs := map[string]string{}
	if cfgData != nil {
		var cz configZnode
		if err := json.Unmarshal(cfgData, &cz); err != nil {
			return TopicID{}, 0, nil, fmt.Errorf("recover topic %s config: %w", name, err)
		}
		// order-independent: copied into a map
		for k, v := range cz.Config {
			configs[k] = v
		}
	}
	for i := 0; i < len(z.Partitions); i++ {
		if _, ok := z.Partitions[strconv.Itoa(i)]; !ok {
			return TopicID{}, 0, nil, fmt.Errorf("recover topic %s: partition %d missing", name, i)
		}
	}
	return id, len(z.Partitions), configs, nil
}

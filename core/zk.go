package core

import (
	"encoding/json"
	"fmt"
	"slices"
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
	// zkDeleteTopics holds a child per topic marked for deletion; the
	// controller deletes the topic and then the mark.
	zkDeleteTopics = "/admin/delete_topics"
	// zkISRChange holds sequential children a leader creates after it
	// changed partitions' ISR, naming them, so that the controller
	// reads their states and tells every broker (Kafka's
	// IsrChangeNotificationZNode).
	zkISRChange     = "/isr_change_notification"
	isrChangePrefix = "isr_change_"
)

// persistentPaths are the znodes Kafka's brokers create at start when
// missing (ZkData.PersistentZkPaths), so that watches on their children
// can be set before any child exists.
var persistentPaths = []string{"/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes", "/config/topics",
	"/config/clients", "/config/users", "/config/brokers", "/config/ips", zkDeleteTopics, zkISRChange,
	"/log_dir_event_notification", zkACL, zkACLChanges, zkACLPrefixed, zkACLExtendedChanges}

// statePath is Kafka's /brokers/topics/<t>/partitions/<p>/state.
func statePath(topic string, p int32) string {
	return zkTopics + topic + "/partitions/" + strconv.Itoa(int(p)) + "/state"
}

// partitionStateZnode is Kafka's partition state document (version 1):
// the leader, its epoch, the ISR, and the epoch of the controller that
// wrote it.
type partitionStateZnode struct {
	ControllerEpoch int32   `json:"controller_epoch"`
	Leader          int32   `json:"leader"`
	Version         int     `json:"version"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	ISR             []int32 `json:"isr"`
}

func parsePartitionState(data []byte) (partitionStateZnode, error) {
	var z partitionStateZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return z, err
	}
	if z.Leader < -1 || z.LeaderEpoch < 0 || len(z.ISR) == 0 {
		return z, fmt.Errorf("leader %d, leader epoch %d, isr %v", z.Leader, z.LeaderEpoch, z.ISR)
	}
	return z, nil
}

// isrChangeZnode is Kafka's ISR change notification document.
type isrChangeZnode struct {
	Version    int              `json:"version"`
	Partitions []isrChangeEntry `json:"partitions"`
}

type isrChangeEntry struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func isrChangeData(tps ...TopicPartition) []byte {
	z := isrChangeZnode{Version: 1}
	for _, tp := range tps {
		z.Partitions = append(z.Partitions, isrChangeEntry{tp.Topic, tp.Partition})
	}
	return mustJSON(z)
}

// parseISRChange decodes an ISR change notification.
func parseISRChange(data []byte) ([]TopicPartition, error) {
	var z isrChangeZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return nil, err
	}
	out := make([]TopicPartition, len(z.Partitions))
	for i, e := range z.Partitions {
		out[i] = TopicPartition{Topic: e.Topic, Partition: e.Partition}
	}
	return out, nil
}

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

// brokerZnodeData is this broker's registration document: every
// advertised endpoint and its listener's protocol, and, for clients that
// know only host and port, the first PLAINTEXT endpoint's (none: a null
// host and port -1, as Kafka's BrokerIdZNode.encode writes).
func (b *Broker) brokerZnodeData() []byte {
	z := BrokerZnode{Features: map[string]any{}, Protocols: map[string]string{}, JMXPort: -1, Port: -1, Version: 5,
		Timestamp: strconv.FormatInt(b.now.Millis(), 10), Rack: b.cfg.Rack}
	plaintext := false
	for _, ep := range b.cfg.AdvertisedListeners {
		z.Endpoints = append(z.Endpoints, ep.String())
		z.Protocols[ep.Listener] = ep.Protocol
		if ep.Protocol == ProtocolPlaintext && !plaintext {
			plaintext, z.Host, z.Port = true, ep.Host, ep.Port
		}
	}
	if !plaintext {
		return mustJSON(brokerZnodeNullHost{z})
	}
	return mustJSON(z)
}

// brokerZnodeNullHost writes a registration without a PLAINTEXT
// endpoint, whose host is null.
type brokerZnodeNullHost struct{ BrokerZnode }

func (z brokerZnodeNullHost) MarshalJSON() ([]byte, error) {
	type plain BrokerZnode // without this method
	type withNull struct {
		plain
		Host *string `json:"host"`
	}
	return json.Marshal(withNull{plain: plain(z.BrokerZnode)})
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

// topicZnodeData is the /brokers/topics/<t> document of a topic with
// id and the given replicas per partition, none of them being reassigned.
func topicZnodeData(id TopicID, assignment [][]BrokerID) []byte {
	return topicZnodeDataFull(id, assignment, nil)
}

// partReassign is a partition's reassignment under way, as Kafka's topic
// znode records it ("adding_replicas", "removing_replicas"): while it
// lasts, the partition's replicas (RS) are the original replicas (ORS)
// and the target replicas (TRS), targets first; adding is TRS − ORS and
// removing ORS − TRS. Kafka's controller keeps a reassignment API calls
// start nowhere else, so that a new controller resumes it from here.
type partReassign struct {
	adding, removing []BrokerID
}

// active says whether a reassignment is under way.
func (r partReassign) active() bool { return len(r.adding) > 0 || len(r.removing) > 0 }

// topicZnodeDataFull is the /brokers/topics/<t> document with the
// reassignments under way (reassign may be nil, or shorter than the
// assignment). Partitions without one are left out of adding_replicas
// and removing_replicas, as Kafka writes them.
func topicZnodeDataFull(id TopicID, assignment [][]BrokerID, reassign []partReassign) []byte {
	z := topicZnode{Version: 3, TopicID: encodeUUID(id), Partitions: map[string][]int32{},
		Adding: map[string][]int32{}, Removing: map[string][]int32{}}
	for i, rs := range assignment {
		key := strconv.Itoa(i)
		z.Partitions[key] = brokerInts(rs)
		if i < len(reassign) && len(reassign[i].adding) > 0 {
			z.Adding[key] = brokerInts(reassign[i].adding)
		}
		if i < len(reassign) && len(reassign[i].removing) > 0 {
			z.Removing[key] = brokerInts(reassign[i].removing)
		}
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

// KnownPartitions lists the partitions the coordination store assigns a
// replica of to broker self (the "partitions" map of each
// /brokers/topics/<t> znode): the runtime keeps their log directories
// and removes the others at start. A znode that does not parse describes
// none; the core reports it when it recovers.
func KnownPartitions(znodes []Znode, self BrokerID) map[TopicPartition]bool {
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
		for p, replicas := range doc.Partitions {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 && slices.Contains(replicas, int32(self)) {
				known[TopicPartition{Topic: name, Partition: int32(n)}] = true
			}
		}
	}
	return known
}

// parseTopicZnode decodes a topic's /brokers/topics/<t> document: its id
// and the replicas of each partition.
func parseTopicZnode(data []byte) (TopicID, [][]BrokerID, error) {
	id, assignment, _, err := parseTopicZnodeFull(data)
	return id, assignment, err
}

// parseTopicZnodeFull decodes a topic's document with the reassignments
// under way, one per partition (zero when none). A reassignment that does
// not fit its partition's replicas (adding or removing replicas it does
// not list, in both lists, or removing all) is taken as none, as if an
// operator's tool had left it half written.
func parseTopicZnodeFull(data []byte) (TopicID, [][]BrokerID, []partReassign, error) {
	var z topicZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return TopicID{}, nil, nil, err
	}
	id, err := decodeUUID(z.TopicID)
	if err != nil {
		return TopicID{}, nil, nil, err
	}
	assignment := make([][]BrokerID, len(z.Partitions))
	reassign := make([]partReassign, len(z.Partitions))
	for i := range assignment {
		key := strconv.Itoa(i)
		rs, ok := z.Partitions[key]
		if !ok || len(rs) == 0 {
			return TopicID{}, nil, nil, fmt.Errorf("partition %d missing or without replicas", i)
		}
		for _, r := range rs {
			if r < 0 || slices.Contains(assignment[i], BrokerID(r)) {
				return TopicID{}, nil, nil, fmt.Errorf("partition %d: replicas %v", i, rs)
			}
			assignment[i] = append(assignment[i], BrokerID(r))
		}
		ra := partReassign{adding: brokerIDs(z.Adding[key]), removing: brokerIDs(z.Removing[key])}
		if ra.active() && validReassign(assignment[i], ra) {
			reassign[i] = ra
		}
	}
	return id, assignment, reassign, nil
}

// validReassign says whether ra fits the replicas rs: adding and removing
// are distinct replicas of rs, and some replica stays.
func validReassign(rs []BrokerID, ra partReassign) bool {
	seen := map[BrokerID]bool{}
	for _, r := range append(slices.Clone(ra.adding), ra.removing...) {
		if seen[r] || !slices.Contains(rs, r) {
			return false
		}
		seen[r] = true
	}
	return len(ra.removing) < len(rs)
}

// TopicPath is a topic's /brokers/topics/<topic> znode.
func TopicPath(topic string) string { return zkTopics + topic }

// TopicAssignment decodes the replicas of each partition from a topic's
// /brokers/topics/<topic> document, for tools that inspect a cluster.
func TopicAssignment(data []byte) ([][]BrokerID, error) {
	_, assignment, err := parseTopicZnode(data)
	return assignment, err
}

// parseConfigZnode decodes /config/topics/<t> (nil data: no overrides).
func parseConfigZnode(data []byte) (map[string]string, error) {
	configs := map[string]string{}
	if data == nil {
		return configs, nil
	}
	var cz configZnode
	if err := json.Unmarshal(data, &cz); err != nil {
		return nil, err
	}
	// order-independent: copied into a map
	for k, v := range cz.Config {
		configs[k] = v
	}
	return configs, nil
}

// SCRAM credentials (Kafka's ConfigType.USER): /config/users/<user>
// holds the user's entity configuration, {"version":1,"config":{...}},
// whose SCRAM-SHA-256 and SCRAM-SHA-512 entries are the salted
// credentials (scram.go), next to any other user configuration (quotas),
// which is kept as found. After a write, a sequential
// /config/changes/config_change_ node, {"version":2,"entity_path":
// "users/<user>"}, tells every broker (Kafka's
// ConfigEntityChangeNotificationSequenceZNode). The user's name in the
// path is sanitized as Kafka's Sanitizer does it (URL encoding).
const (
	zkUsers        = "/config/users/"
	zkConfigChange = "/config/changes"
	configChange   = "/config/changes/config_change_"
)

// configChangeZnode is Kafka's config change notification document.
type configChangeZnode struct {
	Version    int    `json:"version"`
	EntityPath string `json:"entity_path"`
}

func userChangeData(user string) []byte {
	return mustJSON(configChangeZnode{Version: 2, EntityPath: "users/" + sanitizeName(user)})
}

// userConfigData is a user's entity configuration document.
func userConfigData(config map[string]string) []byte {
	if config == nil {
		config = map[string]string{}
	}
	return mustJSON(configZnode{Version: 1, Config: config}) // encoding/json sorts map keys
}

// sanitizeName is Kafka's Sanitizer.sanitize: Java's URLEncoder (UTF-8),
// then "*" as %2A and "+" (a space) as %20.
func sanitizeName(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// desanitizeName is Kafka's Sanitizer.desanitize (URL decoding).
func desanitizeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			b.WriteByte(byte(n))
			i += 2
		case c == '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

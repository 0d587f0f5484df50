package core

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"cloudkafka/core/cover"
)

// Config is a broker's configuration, resolved from Kafka's property names
// (server.properties). New validates it; every limit here is explicit.
type Config struct {
	BrokerID            BrokerID
	BrokerIDGeneration  bool  // broker.id.generation.enable: bounds broker.id by ReservedBrokerIDMax
	ReservedBrokerIDMax int32 // reserved.broker.max.id
	// Listeners (listeners) are where the broker accepts connections,
	// in order; AdvertisedListeners (advertised.listeners, by default
	// the listeners) are what Metadata tells clients, each listener's
	// clients its endpoints on that listener. InterBrokerListener
	// (inter.broker.listener.name or security.inter.broker.protocol) is
	// the listener brokers reach each other on. TLS holds the ssl.*
	// settings of each listener that runs over TLS, by name.
	Listeners           []Endpoint
	AdvertisedListeners []Endpoint
	InterBrokerListener string
	TLS                 map[string]TLSSettings
	// SASL holds the settings of each SASL listener, by name;
	// SASLConfig the broker-wide ones (config_sasl.go).
	SASL       map[string]SASLListener
	SASLConfig saslConfig
	// ACL holds the authorizer's settings (config_acl.go).
	ACL aclConfig
	// Quota holds the client quotas' settings (config_quota.go).
	Quota              quotaConfig
	LogDirs            []string
	NumPartitions      int32
	DefaultReplication int32 // default.replication.factor: CreateTopics fails unless it is 1
	AutoCreateTopics   bool
	DeleteTopicEnable  bool      // delete.topic.enable: false refuses DeleteTopics
	Log                LogConfig // broker defaults for topic log settings
	FlushIntervalMsgs  int64     // log.flush.interval.messages
	FlushIntervalMs    int64     // log.flush.interval.ms; math.MaxInt64 = never
	MessageMaxBytes    int32     // message.max.bytes: largest record batch accepted
	RequestMaxBytes    int32     // socket.request.max.bytes: largest request frame
	FetchMaxBytes      int32     // fetch.max.bytes: cap on one fetch response
	QueuedMaxRequests  int       // queued.max.requests: parked requests per broker
	// FetchSessionSlots is max.incremental.fetch.session.cache.slots:
	// the most fetch sessions (KIP-227) the broker keeps; 0 keeps none.
	// FetchSessionEvictionMs is how long a session must go unused, or
	// have lived, before a new one may take its slot (Kafka's constant
	// MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS, 120000; not a property:
	// the simulator shortens it). See fetch_session.go.
	FetchSessionSlots      int
	FetchSessionEvictionMs int64
	IOThreads              int // num.io.threads: the runtime's storage workers
	// QueuedMaxRequestBytes is queued.max.request.bytes: the request
	// bytes read and not yet answered, over all connections, beyond which
	// no more requests are read; <= 0: no bound.
	QueuedMaxRequestBytes int64
	// BufferPoolMaxBytes is buffer.pool.max.bytes: the frame and read
	// buffers the runtime keeps idle for reuse, at most (0: none kept).
	BufferPoolMaxBytes int64
	TimestampType      string // log.message.timestamp.type
	RetentionCheckMs   int64  // log.retention.check.interval.ms
	// RecoveryCheckpointMs is log.flush.offset.checkpoint.interval.ms:
	// how often the logs' recovery points are checkpointed
	// (CheckpointRecovery); 0 checkpoints at every tick.
	RecoveryCheckpointMs int64
	// ScrubBytesPerSec is log.scrub.bytes.per.second: the rate at which
	// the scrubber re-verifies stored batches (scrub.go); 0 disables it.
	ScrubBytesPerSec   int64
	MinInsyncReplicas  int32  // min.insync.replicas: above 1, acks=all produce fails
	ZookeeperConnect   string // zookeeper.connect; empty = embedded coordinator
	ZookeeperSessionMs int64  // zookeeper.session.timeout.ms
	// zookeeper.connection.timeout.ms: how long a broker waits for a
	// session at start before it retries (unset: the session timeout)
	ZookeeperConnectionMs int64
	Rack                  string // broker.rack: registered with the broker
	PartitionsMax         int32  // max.partitions.per.broker: bound on all partitions
	ProducerWindow        int    // idempotence window per producer (Kafka: 5)
	ProducersPerPartMax   int    // bound on producer ids remembered per partition
	// Replication (replica.*): a leader drops from the ISR a follower
	// that has not caught up for ReplicaLagTimeMaxMs; followers fetch
	// with these bounds, NumReplicaFetchers requests per leader at once.
	ReplicaLagTimeMaxMs          int64
	ReplicaFetchWaitMaxMs        int32
	ReplicaFetchMinBytes         int32
	ReplicaFetchMaxBytes         int32
	ReplicaFetchResponseMaxBytes int32
	ReplicaFetchBackoffMs        int32
	NumReplicaFetchers           int
	// The automatic preferred leader rebalance (rebalance.go):
	// auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds
	// and leader.imbalance.per.broker.percentage.
	AutoLeaderRebalance     bool
	LeaderImbalanceCheckSec int64
	LeaderImbalancePct      int64
	Groups                  GroupConfig
	Cleaner                 Cleaner            // log.cleaner.*: log compaction
	ControlledShutdown      ControlledShutdown // controlled.shutdown.*: asking the controller before stopping
	Metrics                 MetricsConfig      // admin.listener, metrics.*: the runtime's HTTP admin listener (config_metrics.go)

	// Seed seeds the core's PRNG (topic and cluster ids). The runtime
	// supplies it; it is not a property.
	Seed uint64
	// Coverage, when set, counts the coverage points the core and the
	// segment store reach (see package cover); the simulator sets it.
	// Nil in production. Not a property.
	Coverage *cover.Counts

	// Set lists the property names given explicitly (file or override),
	// so DescribeConfigs can tell static from default values.
	Set map[string]string
	// DynamicDefault and Dynamic are the cluster-wide and this broker's
	// dynamic properties (config_dynamic.go), over Set: the values above
	// already include those that apply.
	DynamicDefault, Dynamic map[string]string
	// gen counts the dynamic configurations applied: topics' resolved
	// settings (topicSettings) of an older generation are resolved again.
	gen uint64
	// Unknown lists, sorted, the names given that are no property here
	// nor Kafka's: the runtime logs them, as Kafka does.
	Unknown []string

	raw listenerSettings // the listener properties before resolution
}

// ControlledShutdown is how a broker of a cluster stops (Kafka's
// KafkaServer.controlledShutdown): before it goes, it asks the controller
// to stop electing it, up to MaxRetries times, RetryBackoffMs apart,
// until the controller takes the request with no partition left to move
// away; then it stops whatever the answer.
type ControlledShutdown struct {
	Enable bool // controlled.shutdown.enable
	// MaxRetries is controlled.shutdown.max.retries: despite Kafka's
	// name, the number of attempts; none at all when it is 0 or less.
	MaxRetries int32
	// RetryBackoffMs is controlled.shutdown.retry.backoff.ms, the wait
	// between attempts. Kafka accepts a negative value (and then fails
	// on its first wait); here it means no wait.
	RetryBackoffMs int64
}

// property describes one broker property: its Kafka name, default, and how
// to apply a value to a Config.
type property struct {
	name  string
	def   string
	apply func(c *Config, v string) error
	// topic is the topic-level config this broker property provides the
	// default for (DescribeConfigs synonyms), or "".
	topic string
	// noEffect marks a property accepted for compatibility that changes
	// nothing here; the broker logs it when it is set (see NoEffect).
	noEffect bool
}

func intProp(name, def string, min, max int64, set func(*Config, int64), topic string) property {
	return property{name: name, def: def, topic: topic, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", name, v)
		}
		if n < min || n > max {
			return fmt.Errorf("%s: %d is out of range [%d, %d]", name, n, min, max)
		}
		set(c, n)
		return nil
	}}
}

func boolProp(name, def string, set func(*Config, bool)) property {
	return property{name: name, def: def, apply: func(c *Config, v string) error {
		switch strings.TrimSpace(strings.ToLower(v)) {
		case "true":
			set(c, true)
		case "false":
			set(c, false)
		default:
			return fmt.Errorf("%s: %q is not true or false", name, v)
		}
		return nil
	}}
}

// ignoredIntProp is a property accepted within Kafka's bounds for it
// that has no effect here.
func ignoredIntProp(name, def string, min, max int64) property {
	return withNoEffect(intProp(name, def, min, max, func(*Config, int64) {}, ""))
}

func ignoredBoolProp(name, def string) property {
	return withNoEffect(boolProp(name, def, func(*Config, bool) {}))
}

func withNoEffect(p property) property {
	p.noEffect = true
	return p
}

const maxLong = "9223372036854775807"

// properties is the table of every property the broker accepts, sorted by
// name when listed. Names and defaults are Kafka's.
var properties = []property{
	// broker.id -1 asks Kafka to generate an id; that is not offered
	// (Validate says so). The upper bound depends on broker.id.generation.enable.
	intProp("broker.id", "0", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.BrokerID = BrokerID(n) }, ""),
	boolProp("broker.id.generation.enable", "true", func(c *Config, b bool) { c.BrokerIDGeneration = b }),
	intProp("reserved.broker.max.id", "1000", 0, math.MaxInt32, func(c *Config, n int64) { c.ReservedBrokerIDMax = int32(n) }, ""),
	// The listener properties are resolved together once all are read
	// (resolveListeners in listener.go).
	{name: "listeners", def: "PLAINTEXT://:9092", apply: func(c *Config, v string) error { c.raw.listeners = v; return nil }},
	{name: "advertised.listeners", def: "", apply: func(c *Config, v string) error { c.raw.advertised = v; return nil }},
	{name: "listener.security.protocol.map", def: defaultProtocolMap, apply: func(c *Config, v string) error { c.raw.protocolMap = v; return nil }},
	{name: "inter.broker.listener.name", def: "", apply: func(c *Config, v string) error { c.raw.interBrokerName = v; return nil }},
	{name: "security.inter.broker.protocol", def: ProtocolPlaintext, apply: func(c *Config, v string) error {
		c.raw.interBrokerProto = strings.TrimSpace(v)
		return nil
	}},
	{name: "log.dirs", def: "/tmp/kafka-logs", apply: func(c *Config, v string) error {
		c.LogDirs = nil
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.LogDirs = append(c.LogDirs, d)
			}
		}
		if len(c.LogDirs) != 1 {
			return fmt.Errorf("log.dirs: exactly one directory is supported, got %q", v)
		}
		return nil
	}},
	intProp("num.partitions", "1", 1, math.MaxInt32, func(c *Config, n int64) { c.NumPartitions = int32(n) }, ""),
	intProp("default.replication.factor", "1", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.DefaultReplication = int32(n) }, ""),
	boolProp("auto.create.topics.enable", "true", func(c *Config, b bool) { c.AutoCreateTopics = b }),
	intProp("log.segment.bytes", "1073741824", 14, math.MaxInt32, func(c *Config, n int64) { c.Log.SegmentBytes = n }, "segment.bytes"),
	intProp("log.roll.ms", "604800000", 1, math.MaxInt64, func(c *Config, n int64) { c.Log.SegmentMs = n }, "segment.ms"),
	intProp("log.roll.hours", "168", 1, math.MaxInt32, func(c *Config, n int64) { c.Log.SegmentMs = n * 3600000 }, ""),
	// Any negative retention means unlimited (-1), as in Kafka; a resolved
	// retention of 0 is refused by Validate.
	intProp("log.retention.ms", "604800000", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.Log.RetentionMs = minusOneOr(n, 1) }, "retention.ms"),
	intProp("log.retention.minutes", "10080", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Log.RetentionMs = minusOneOr(n, 60000) }, ""),
	intProp("log.retention.hours", "168", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Log.RetentionMs = minusOneOr(n, 3600000) }, ""),
	intProp("log.retention.bytes", "-1", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.Log.RetentionBytes = n }, "retention.bytes"),
	intProp("log.retention.check.interval.ms", "300000", 1, math.MaxInt64, func(c *Config, n int64) { c.RetentionCheckMs = n }, ""),
	intProp("log.flush.offset.checkpoint.interval.ms", "60000", 0, math.MaxInt32, func(c *Config, n int64) { c.RecoveryCheckpointMs = n }, ""),
	// The log start offset is checkpointed, per partition, whenever it
	// moves (io/segment's start.go), so its interval changes nothing.
	ignoredIntProp("log.flush.start.offset.checkpoint.interval.ms", "60000", 0, math.MaxInt32),
	intProp("log.segment.delete.delay.ms", "60000", 0, math.MaxInt64, func(c *Config, n int64) { c.Log.FileDeleteDelayMs = n }, "file.delete.delay.ms"),
	intProp("log.index.interval.bytes", "4096", 0, math.MaxInt32, func(c *Config, n int64) { c.Log.IndexIntervalBytes = int32(n) }, "index.interval.bytes"),
	intProp("log.index.size.max.bytes", "10485760", 4, math.MaxInt32, func(c *Config, n int64) { c.Log.SegmentIndexBytes = int32(n) }, "segment.index.bytes"),
	intProp("log.flush.interval.messages", maxLong, 1, math.MaxInt64, func(c *Config, n int64) { c.FlushIntervalMsgs = n }, "flush.messages"),
	intProp("log.flush.interval.ms", maxLong, 0, math.MaxInt64, func(c *Config, n int64) { c.FlushIntervalMs = n }, "flush.ms"),
	{name: "log.message.timestamp.type", def: "CreateTime", topic: "message.timestamp.type", apply: func(c *Config, v string) error {
		if v != "CreateTime" && v != "LogAppendTime" {
			return fmt.Errorf("log.message.timestamp.type: %q is not CreateTime or LogAppendTime", v)
		}
		c.TimestampType = v
		return nil
	}},
	{name: "log.cleanup.policy", def: "delete", topic: "cleanup.policy", apply: func(c *Config, v string) error {
		if err := validCleanupPolicy(v); err != nil {
			return fmt.Errorf("log.cleanup.policy: %v", err)
		}
		return nil
	}},
	boolProp("log.cleaner.enable", "true", func(c *Config, b bool) { c.Cleaner.Enable = b }),
	intProp("log.cleaner.threads", "1", 0, math.MaxInt32, func(c *Config, n int64) { c.Cleaner.Threads = int(n) }, ""),
	intProp("log.cleaner.dedupe.buffer.size", "134217728", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.Cleaner.DedupeBufferSize = n }, ""),
	intProp("log.cleaner.io.buffer.size", "524288", 0, math.MaxInt32, func(c *Config, n int64) { c.Cleaner.IOBufferSize = n }, ""),
	floatProp("log.cleaner.io.buffer.load.factor", "0.9", -math.MaxFloat64, math.MaxFloat64, func(c *Config, f float64) { c.Cleaner.LoadFactor = f }, ""),
	withNoEffect(floatProp("log.cleaner.io.max.bytes.per.second", maxDouble, -math.MaxFloat64, math.MaxFloat64, func(*Config, float64) {}, "")),
	intProp("log.cleaner.backoff.ms", "15000", 0, math.MaxInt64, func(c *Config, n int64) { c.Cleaner.BackoffMs = n }, ""),
	intProp("log.scrub.bytes.per.second", "16777216", 0, scrubBytesPerSecMax, func(c *Config, n int64) { c.ScrubBytesPerSec = n }, ""),
	floatProp("log.cleaner.min.cleanable.ratio", "0.5", 0, 1, func(*Config, float64) {}, "min.cleanable.dirty.ratio"),
	intProp("log.cleaner.delete.retention.ms", "86400000", 0, math.MaxInt64, func(*Config, int64) {}, "delete.retention.ms"),
	intProp("log.cleaner.min.compaction.lag.ms", "0", 0, math.MaxInt64, func(*Config, int64) {}, "min.compaction.lag.ms"),
	intProp("log.cleaner.max.compaction.lag.ms", maxLong, 1, math.MaxInt64, func(*Config, int64) {}, "max.compaction.lag.ms"),
	intProp("message.max.bytes", "1048588", 0, math.MaxInt32, func(c *Config, n int64) { c.MessageMaxBytes = int32(n) }, "max.message.bytes"),
	intProp("socket.request.max.bytes", "104857600", 1, math.MaxInt32, func(c *Config, n int64) { c.RequestMaxBytes = int32(n) }, ""),
	intProp("fetch.max.bytes", "57671680", 1024, math.MaxInt32, func(c *Config, n int64) { c.FetchMaxBytes = int32(n) }, ""),
	intProp("queued.max.requests", "500", 1, math.MaxInt32, func(c *Config, n int64) { c.QueuedMaxRequests = int(n) }, ""),
	intProp("max.incremental.fetch.session.cache.slots", "1000", 0, math.MaxInt32, func(c *Config, n int64) { c.FetchSessionSlots = int(n) }, ""),
	intProp("queued.max.request.bytes", "-1", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.QueuedMaxRequestBytes = n }, ""),
	intProp("min.insync.replicas", "1", 1, math.MaxInt32, func(c *Config, n int64) { c.MinInsyncReplicas = int32(n) }, "min.insync.replicas"),
	boolProp("unclean.leader.election.enable", "false", func(*Config, bool) {}), // read as the topics' default
	boolProp("delete.topic.enable", "true", func(c *Config, b bool) { c.DeleteTopicEnable = b }),
	boolProp("auto.leader.rebalance.enable", "true", func(c *Config, b bool) { c.AutoLeaderRebalance = b }),
	intProp("leader.imbalance.check.interval.seconds", "300", 1, math.MaxInt64, func(c *Config, n int64) { c.LeaderImbalanceCheckSec = n }, ""),
	intProp("leader.imbalance.per.broker.percentage", "10", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.LeaderImbalancePct = n }, ""),
	{name: "zookeeper.connect", def: "", apply: func(c *Config, v string) error {
		c.ZookeeperConnect = strings.TrimSpace(v)
		return nil
	}},
	intProp("zookeeper.session.timeout.ms", "18000", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.ZookeeperSessionMs = n }, ""),
	// Kafka's default is unset: the session timeout.
	intProp("zookeeper.connection.timeout.ms", "18000", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.ZookeeperConnectionMs = n }, ""),
	{name: "broker.rack", def: "", apply: func(c *Config, v string) error {
		c.Rack = strings.TrimSpace(v)
		return nil
	}},
	boolProp("controlled.shutdown.enable", "true", func(c *Config, b bool) { c.ControlledShutdown.Enable = b }),
	intProp("controlled.shutdown.max.retries", "3", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.ControlledShutdown.MaxRetries = int32(n) }, ""),
	intProp("controlled.shutdown.retry.backoff.ms", "5000", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.ControlledShutdown.RetryBackoffMs = max(n, 0) }, ""),
	intProp("replica.lag.time.max.ms", "30000", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.ReplicaLagTimeMaxMs = n }, ""),
	intProp("replica.fetch.wait.max.ms", "500", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.ReplicaFetchWaitMaxMs = int32(n) }, ""),
	intProp("replica.fetch.min.bytes", "1", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.ReplicaFetchMinBytes = int32(n) }, ""),
	intProp("replica.fetch.max.bytes", "1048576", 0, math.MaxInt32, func(c *Config, n int64) { c.ReplicaFetchMaxBytes = int32(n) }, ""),
	intProp("replica.fetch.response.max.bytes", "10485760", 0, math.MaxInt32, func(c *Config, n int64) { c.ReplicaFetchResponseMaxBytes = int32(n) }, ""),
	intProp("replica.fetch.backoff.ms", "1000", 0, math.MaxInt32, func(c *Config, n int64) { c.ReplicaFetchBackoffMs = int32(n) }, ""),
	intProp("num.replica.fetchers", "1", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.NumReplicaFetchers = int(n) }, ""),
	intProp("max.producers.per.partition", "10000", 1, 1<<24, func(c *Config, n int64) { c.ProducersPerPartMax = int(n) }, ""),
	intProp("max.partitions.per.broker", "100000", 1, 1<<24, func(c *Config, n int64) { c.PartitionsMax = int32(n) }, ""),
	// Accepted for compatibility with Kafka's sample server.properties,
	// within Kafka's bounds (INT, SHORT, atLeast); the runtime sizes these
	// itself.
	ignoredIntProp("num.network.threads", "3", 1, math.MaxInt32),
	intProp("num.io.threads", "8", 1, math.MaxInt32, func(c *Config, n int64) { c.IOThreads = int(n) }, ""),
	ignoredIntProp("socket.send.buffer.bytes", "102400", math.MinInt32, math.MaxInt32),
	ignoredIntProp("socket.receive.buffer.bytes", "102400", math.MinInt32, math.MaxInt32),
	ignoredIntProp("num.recovery.threads.per.data.dir", "1", 1, math.MaxInt32),
	ignoredIntProp("transaction.state.log.replication.factor", "1", 1, math.MaxInt16),
	ignoredIntProp("transaction.state.log.min.isr", "1", 1, math.MaxInt32),
}

func init() {
	for _, sp := range sslProperties {
		check := sp.check
		properties = append(properties, property{name: sp.name, def: sp.def, noEffect: sp.noEffect, apply: func(_ *Config, v string) error {
			if check == nil {
				return nil
			}
			return check(strings.TrimSpace(v))
		}})
	}
}

// precedence: when both are set, the finer-grained property wins, as in
// Kafka (log.retention.ms over minutes over hours, log.roll.ms over hours).
var precedence = map[string][]string{
	"log.retention.ms": {"log.retention.hours", "log.retention.minutes"},
	"log.roll.ms":      {"log.roll.hours"},
}

func minusOneOr(n, unit int64) int64 {
	if n < 0 {
		return -1
	}
	return n * unit
}

// ParseProperties resolves properties (later entries override earlier ones)
// over Kafka's defaults. An invalid value is an error naming the property;
// an unknown name is kept in Unknown, for the runtime to log, as Kafka
// logs one.
func ParseProperties(set map[string]string) (Config, error) {
	var c Config
	c.ProducerWindow = 5
	c.FetchSessionEvictionMs = fetchSessionEvictionMsDefault
	byName := make(map[string]property, len(properties))
	for _, p := range properties {
		byName[p.name] = p
	}
	var unknown []string
	// order-independent: names collected, then sorted
	for name := range set {
		if _, ok := byName[name]; !ok && !knownListenerProperty(name) {
			unknown = append(unknown, name)
		}
	}
	// Kafka takes a property it does not know, and logs it ("supplied
	// but isn't a known config"): so does Cloud Kafka (Unknown).
	sort.Strings(unknown)
	c.Unknown = unknown
	for _, p := range properties { // defaults first, in table order
		if err := p.apply(&c, p.def); err != nil {
			panic(fmt.Sprintf("default of %s invalid: %v", p.name, err))
		}
	}
	names := make([]string, 0, len(set))
	// order-independent: names collected, then sorted
	for name := range set {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for _, name := range names {
		if p, ok := byName[name]; ok {
			if err := p.apply(&c, set[name]); err != nil {
				return c, err
			}
		}
	}
	if err := checkSSLProperties(set); err != nil {
		return c, err
	}
	if err := c.resolveListeners(c.raw, set); err != nil {
		return c, err
	}
	if err := c.resolveTLS(set); err != nil {
		return c, err
	}
	if err := c.resolveSASL(set); err != nil {
		return c, err
	}
	if err := c.resolveAdminTLS(set); err != nil {
		return c, err
	}
	if _, ok := set["zookeeper.connection.timeout.ms"]; !ok {
		c.ZookeeperConnectionMs = c.ZookeeperSessionMs
	}
	c.Set = set
	return c, c.Validate()
}

// rank orders coarse properties before the fine ones that override them.
func rank(name string) string {
	// order-independent: a membership test
	for fine, coarse := range precedence {
		if name == fine {
			return "1" + name
		}
		for _, c := range coarse {
			if name == c {
				return "0" + name
			}
		}
	}
	return "0" + name
}

// DefaultConfig returns the configuration with every property at Kafka's
// default, listening on 127.0.0.1:9092.
func DefaultConfig() Config {
	c, err := ParseProperties(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092"})
	if err != nil {
		panic(err)
	}
	return c
}

// Validate checks cross-property constraints. Kafka sets none between
// message.max.bytes and socket.request.max.bytes: a batch larger than the
// request limit cannot arrive, so the smaller of the two is the effective
// bound on a stored batch (see batchBytesMax).
func (c Config) Validate() error {
	if int64(c.ReplicaFetchWaitMaxMs) > c.ReplicaLagTimeMaxMs {
		return fmt.Errorf("replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to prevent frequent changes in ISR")
	}
	if c.Log.RetentionMs == 0 {
		return fmt.Errorf("log.retention.ms must be unlimited (-1) or, greater than or equal to 1 (it resolves to 0 from log.retention.ms, log.retention.minutes or log.retention.hours)")
	}
	if err := c.validateBrokerID(); err != nil {
		return err
	}
	if c.ProducerWindow < 1 || c.ProducersPerPartMax < 1 || c.QueuedMaxRequests < 1 || c.FetchSessionEvictionMs < 0 {
		return fmt.Errorf("internal limits must be positive")
	}
	if err := c.SASLConfig.validate(); err != nil {
		return err
	}
	if err := c.Cleaner.validate(); err != nil {
		return err
	}
	if c.Groups.CommitAcks > c.Groups.OffsetsReplication {
		return fmt.Errorf("offsets.commit.required.acks must be greater or equal -1 and less or equal to offsets.topic.replication.factor")
	}
	return nil
}

// validateBrokerID applies Kafka's rule for a broker with ZooKeeper: with
// broker.id.generation.enable, broker.id is -1 (generate one) up to
// reserved.broker.max.id; without it, broker.id is at least 0. Generated
// ids are not offered, so -1 is refused with a reason.
func (c Config) validateBrokerID() error {
	id := int32(c.BrokerID)
	switch {
	case c.BrokerIDGeneration && (id < -1 || id > c.ReservedBrokerIDMax):
		return fmt.Errorf("broker.id must be greater than or equal to -1 and not greater than reserved.broker.max.id (%d), got %d", c.ReservedBrokerIDMax, id)
	case !c.BrokerIDGeneration && id < 0:
		return fmt.Errorf("broker.id must be greater than or equal to 0, got %d", id)
	case id == -1:
		return fmt.Errorf("broker.id -1 (a generated broker id) is not supported; set broker.id")
	}
	return nil
}

// NoEffect lists, sorted, the properties set explicitly that are accepted
// for compatibility but change nothing here; the runtime logs them.
func (c Config) NoEffect() []string {
	var out []string
	for _, p := range properties {
		if _, set := c.Set[p.name]; set && p.noEffect {
			out = append(out, p.name)
		}
	}
	for _, name := range sslNoEffect(c.Set) {
		if _, _, ok := listenerPrefixed(name); ok {
			out = append(out, name) // the broker-wide ones are listed above
		}
	}
	sort.Strings(out)
	return out
}

// BrokerProperties lists every property with its value and whether it was
// set explicitly, sorted by name, for DescribeConfigs on the broker.
func (c Config) BrokerProperties() []ConfigEntry {
	out := make([]ConfigEntry, 0, len(properties))
	for _, p := range properties {
		v, _, set := c.propLevel(p.name)
		if !set {
			v = p.def
			switch p.name {
			case "listeners":
				v = joinEndpoints(c.Listeners)
			case "advertised.listeners":
				v = joinEndpoints(c.AdvertisedListeners)
			}
		}
		out = append(out, ConfigEntry{Name: p.name, Value: v, Set: set, Sensitive: secretProperty(p.name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ConfigEntry is one resolved configuration value.
type ConfigEntry struct {
	Name  string
	Value string
	Set   bool // given explicitly rather than defaulted
	// Sensitive is a secret (Kafka's PASSWORD type): its value is never
	// shown.
	Sensitive bool
}

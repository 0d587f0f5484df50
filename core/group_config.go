package core

import "math"

// GroupConfig is the group coordinator's part of the broker configuration,
// with Kafka's property names and defaults.
type GroupConfig struct {
	MinSessionTimeoutMs     int32 // group.min.session.timeout.ms
	MaxSessionTimeoutMs     int32 // group.max.session.timeout.ms
	MaxSize                 int32 // group.max.size: members per group
	InitialRebalanceDelayMs int32 // group.initial.rebalance.delay.ms

	OffsetsPartitions     int32 // offsets.topic.num.partitions
	OffsetsSegmentBytes   int32 // offsets.topic.segment.bytes
	OffsetsRetentionMs    int64 // offsets.retention.minutes, in ms
	OffsetsCheckMs        int64 // offsets.retention.check.interval.ms
	OffsetMetadataMax     int32 // offset.metadata.max.bytes (characters, as Kafka counts them)
	OffsetsLoadBufferSize int32 // offsets.load.buffer.size: bytes read per step of a load
	OffsetsCommitTimeout  int32 // offsets.commit.timeout.ms
	// OffsetsReplication is offsets.topic.replication.factor: the
	// offsets topic gets this many replicas, or as many as there are
	// live brokers when it is created, if fewer.
	OffsetsReplication int16
	// CommitAcks is offsets.commit.required.acks: -1 answers a
	// coordinator write once the ISR holds it (the high watermark
	// passed it); 0 and 1 once it is locally durable.
	CommitAcks int16
}

// OffsetsTopic is the internal topic that holds committed offsets and
// group metadata.
const OffsetsTopic = "__consumer_offsets"

// NewMemberJoinTimeoutMs bounds how long a new member's first JoinGroup may
// wait for its rebalance (Kafka's GroupCoordinator.NewMemberJoinTimeoutMs).
const NewMemberJoinTimeoutMs = 5 * 60 * 1000

// groupProperties are the broker properties of the group coordinator.
var groupProperties = []property{
	intProp("group.min.session.timeout.ms", "6000", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Groups.MinSessionTimeoutMs = int32(n) }, ""),
	intProp("group.max.session.timeout.ms", "1800000", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Groups.MaxSessionTimeoutMs = int32(n) }, ""),
	intProp("group.max.size", "2147483647", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.MaxSize = int32(n) }, ""),
	intProp("group.initial.rebalance.delay.ms", "3000", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Groups.InitialRebalanceDelayMs = int32(max(n, 0)) }, ""),
	intProp("offsets.topic.num.partitions", "50", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetsPartitions = int32(n) }, ""),
	intProp("offsets.topic.segment.bytes", "104857600", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetsSegmentBytes = int32(n) }, ""),
	intProp("offsets.retention.minutes", "10080", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetsRetentionMs = n * 60000 }, ""),
	intProp("offsets.retention.check.interval.ms", "600000", 1, math.MaxInt64, func(c *Config, n int64) { c.Groups.OffsetsCheckMs = n }, ""),
	intProp("offset.metadata.max.bytes", "4096", math.MinInt32, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetMetadataMax = int32(n) }, ""),
	intProp("offsets.load.buffer.size", "5242880", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetsLoadBufferSize = int32(n) }, ""),
	intProp("offsets.commit.timeout.ms", "5000", 1, math.MaxInt32, func(c *Config, n int64) { c.Groups.OffsetsCommitTimeout = int32(n) }, ""),
	intProp("offsets.topic.replication.factor", "3", 1, math.MaxInt16, func(c *Config, n int64) { c.Groups.OffsetsReplication = int16(n) }, ""),
	// At most offsets.topic.replication.factor (Config.Validate), as in
	// Kafka; above 1 every coordinator write fails with
	// INVALID_REQUIRED_ACKS, as Kafka's appends take only -1, 0 and 1.
	intProp("offsets.commit.required.acks", "-1", -1, math.MaxInt16, func(c *Config, n int64) { c.Groups.CommitAcks = int16(n) }, ""),
	// The offsets topic is written uncompressed: accepted with Kafka's
	// range, no effect.
	ignoredIntProp("offsets.topic.compression.codec", "0", 0, 4),
}

func init() { properties = append(properties, groupProperties...) }

// maxStringBytes is the longest string Kafka's request parser accepts
// (Short.MAX_VALUE): it closes the connection on a longer one, which
// flexible versions could carry. The coordinator's records store these
// strings with 16-bit lengths.
const maxStringBytes = 32767

// refuseLongStrings closes r's connection, as Kafka's parser does, when
// any of ss is longer than maxStringBytes, and says whether it did.
func (b *Broker) refuseLongStrings(r Request, ss ...*string) bool {
	for _, s := range ss {
		if s != nil && len(*s) > maxStringBytes {
			b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: "a string field is longer than 32767 bytes"})
			return true
		}
	}
	return false
}

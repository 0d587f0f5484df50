package core

import "fmt"

// Offset is a position in a partition log: the offset of one record.
type Offset int64

// LeaderEpoch numbers the leaderships of a partition.
type LeaderEpoch int32

// BrokerID is a broker's broker.id.
type BrokerID int32

// ProducerID identifies an idempotent producer (InitProducerId).
type ProducerID int64

// Instant is a point in time in nanoseconds on the runtime's clock. The core
// never reads a clock: every Instant arrives inside an event.
type Instant int64

// Millis returns the instant in Kafka's unit, milliseconds.
func (t Instant) Millis() int64 { return int64(t) / 1e6 }

// ConnID names a client connection for the lifetime of the runtime.
type ConnID uint64

// Token correlates an effect with the event that completes it.
type Token uint64

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Less orders partitions by topic, then partition number, so that every
// iteration that affects output is deterministic.
func (tp TopicPartition) Less(o TopicPartition) bool {
	if tp.Topic != o.Topic {
		return tp.Topic < o.Topic
	}
	return tp.Partition < o.Partition
}

// TopicID is a topic's 16-byte identity (KIP-516).
type TopicID [16]byte

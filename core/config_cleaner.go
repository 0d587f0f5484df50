package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Log compaction's configuration: the topic configs (cleanup.policy,
// delete.retention.ms, min.cleanable.dirty.ratio, min.compaction.lag.ms,
// max.compaction.lag.ms) and the log.cleaner.* broker properties, with
// Kafka's names, defaults and ranges.

// Cleaner is the broker's log cleaner configuration (log.cleaner.*).
type Cleaner struct {
	Enable           bool  // log.cleaner.enable
	Threads          int   // log.cleaner.threads: cleans running at once; at least 1
	DedupeBufferSize int64 // log.cleaner.dedupe.buffer.size, shared by the threads
	IOBufferSize     int64 // log.cleaner.io.buffer.size, shared by the threads
	// LoadFactor is log.cleaner.io.buffer.load.factor, how full a clean's
	// key map may get (Kafka's CleanerConfig.dedupeBufferLoadFactor: the
	// property's name says io buffer, but it only ever applied to the
	// dedupe buffer's map; Kafka has no log.cleaner.dedupe.buffer.load.factor).
	// Kafka takes any double here; a map cannot hold more keys than slots,
	// so a factor above 1 lets it fill every slot.
	LoadFactor float64
	BackoffMs  int64 // log.cleaner.backoff.ms: between checks of a partition with nothing to clean
	// DedupeBytesPerCleanMax, when positive, caps each clean's share of
	// the dedupe buffer below what the properties give. It is no
	// property: Kafka's rule of at least 1MB per thread keeps a
	// configured key map far larger than a test's handful of keys, and
	// the simulator sets this field so that its cleans fill their map and
	// clean a prefix.
	DedupeBytesPerCleanMax int64
}

// offsetMapEntryBytes is what one key takes in the cleaner's map (a
// 16-byte MD5 digest and an 8-byte offset), as in Kafka's
// SkimpyOffsetMap, whose slots are its memory / (hash size + 8).
const offsetMapEntryBytes = 24

// dedupeBytesPerThreadMin is Kafka's floor on each cleaner thread's share
// of log.cleaner.dedupe.buffer.size (KafkaConfig.validateValues: the share
// must be more than 1024*1024 bytes).
const dedupeBytesPerThreadMin = 1 << 20

// perThreadDedupeBytes is each clean's share of the dedupe buffer, capped
// at Kafka's Int.MaxValue and at DedupeBytesPerCleanMax when set.
func (c Cleaner) perThreadDedupeBytes() int64 {
	n := min(c.DedupeBufferSize/int64(max(c.Threads, 1)), math.MaxInt32)
	if c.DedupeBytesPerCleanMax > 0 {
		n = min(n, c.DedupeBytesPerCleanMax)
	}
	return n
}

// validate applies Kafka's startup checks of the cleaner's properties.
// KafkaConfig.validateValues divides log.cleaner.dedupe.buffer.size by
// log.cleaner.threads and requires more than 1MB per thread, whether or
// not the cleaner is enabled; with no threads the division fails and
// Kafka does not start. An enabled cleaner then builds each thread's map
// and requires it to hold more than one key at the load factor
// (LogCleaner's Cleaner: offsetMap.slots * dupBufferLoadFactor > 1),
// which refuses a load factor that is not positive.
func (c Cleaner) validate() error {
	if c.Threads < 1 {
		return fmt.Errorf("log.cleaner.threads (%d) must be at least 1: Kafka divides log.cleaner.dedupe.buffer.size by it at startup and cannot start with 0", c.Threads)
	}
	if c.DedupeBufferSize/int64(c.Threads) <= dedupeBytesPerThreadMin {
		return fmt.Errorf("log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread (%d bytes over %d threads)",
			c.DedupeBufferSize, c.Threads)
	}
	if c.DedupeBytesPerCleanMax < 0 {
		return fmt.Errorf("the dedupe buffer's cap per clean (%d) must not be negative", c.DedupeBytesPerCleanMax)
	}
	if !c.Enable {
		return nil
	}
	if !(float64(c.perThreadDedupeBytes()/offsetMapEntryBytes)*c.LoadFactor > 1) {
		return fmt.Errorf("offset map is too small to fit in even a single message, so log cleaning will never make progress (log.cleaner.dedupe.buffer.size %d over log.cleaner.threads %d at log.cleaner.io.buffer.load.factor %v); raise the buffer or the load factor, or lower the threads",
			c.DedupeBufferSize, c.Threads, c.LoadFactor)
	}
	return nil
}

// floatProp is a property holding a Java double within [min, max].
func floatProp(name, def string, min, max float64, set func(*Config, float64), topic string) property {
	return property{name: name, def: def, topic: topic, apply: func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", name, v)
		}
		if f < min || f > max || math.IsNaN(f) {
			return fmt.Errorf("%s: %v is out of range [%v, %v]", name, f, min, max)
		}
		set(c, f)
		return nil
	}}
}

// maxDouble is Java's Double.MAX_VALUE as Kafka prints it.
const maxDouble = "1.7976931348623157E308"

// cleanupPolicies validates cleanup.policy and log.cleanup.policy:
// Kafka's list of delete and compact (an empty list: neither).
func cleanupPolicies(v string) (deletes, compacts bool, err error) {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			deletes = true
		case "compact":
			compacts = true
		case "":
			if strings.TrimSpace(v) != "" {
				return false, false, fmt.Errorf("%q has an empty entry", v)
			}
		default:
			return false, false, fmt.Errorf("%q is not a list of delete and compact", v)
		}
	}
	return deletes, compacts, nil
}

func validCleanupPolicy(v string) error {
	_, _, err := cleanupPolicies(v)
	return err
}

func validDouble(lo, hi float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return fmt.Errorf("%q is not a number", v)
		}
		if f < lo || f > hi {
			return fmt.Errorf("%v is out of range [%v, %v]", f, lo, hi)
		}
		return nil
	}
}

// topicPolicy resolves t's cleanup.policy.
func (c Config) topicPolicy(t *topic) (deletes, compacts bool) {
	v, _ := c.topicValue(t, mustTopicConfig("cleanup.policy"))
	deletes, compacts, err := cleanupPolicies(v)
	if err != nil {
		panic(fmt.Sprintf("validated cleanup.policy %q: %v", v, err))
	}
	return deletes, compacts
}

func (c Config) topicFloat(t *topic, name string) float64 {
	v, _ := c.topicValue(t, mustTopicConfig(name))
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		panic(fmt.Sprintf("validated config %s=%q not a number", name, v))
	}
	return f
}

// compactionConfig fills the compaction settings of lc for t. Without
// delete in the policy, retention deletes nothing (Kafka applies
// retention.ms and retention.bytes only to delete topics); with compact,
// a segment also rolls once max.compaction.lag.ms old (Kafka's
// maxSegmentMs), so that its records become cleanable in time.
func (c Config) compactionConfig(t *topic, lc *LogConfig) {
	deletes, compacts := c.topicPolicy(t)
	if !deletes {
		lc.RetentionMs, lc.RetentionBytes = -1, -1
	}
	lc.MaxMessageBytes = c.topicInt(t, "max.message.bytes")
	if !compacts {
		return
	}
	lc.Compact = true
	lc.DeleteRetentionMs = c.topicInt(t, "delete.retention.ms")
	lc.MinCleanableRatio = c.topicFloat(t, "min.cleanable.dirty.ratio")
	lc.MinCompactionLagMs = c.topicInt(t, "min.compaction.lag.ms")
	lc.MaxCompactionLagMs = c.topicInt(t, "max.compaction.lag.ms")
	lc.SegmentMs = min(lc.SegmentMs, lc.MaxCompactionLagMs)
	lc.DedupeBufferBytes = c.Cleaner.perThreadDedupeBytes()
	lc.DedupeLoadFactor = c.Cleaner.LoadFactor
	lc.CleanerIOBufferBytes = c.Cleaner.IOBufferSize / int64(max(c.Cleaner.Threads, 1))
}

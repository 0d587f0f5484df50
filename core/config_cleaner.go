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
	Enable           bool    // log.cleaner.enable
	Threads          int     // log.cleaner.threads: cleans running at once; 0 runs none
	DedupeBufferSize int64   // log.cleaner.dedupe.buffer.size, shared by the threads
	IOBufferSize     int64   // log.cleaner.io.buffer.size, shared by the threads
	LoadFactor       float64 // log.cleaner.io.buffer.load.factor
	BackoffMs        int64   // log.cleaner.backoff.ms: between checks of a partition with nothing to clean
}

// offsetMapEntryBytes is what one key takes in the cleaner's map (a
// 16-byte digest and an 8-byte offset), as in Kafka's SkimpyOffsetMap.
const offsetMapEntryBytes = 24

// perThreadDedupeBytes is each clean's share of the dedupe buffer, capped
// at Kafka's Int.MaxValue.
func (c Cleaner) perThreadDedupeBytes() int64 {
	return min(c.DedupeBufferSize/int64(max(c.Threads, 1)), math.MaxInt32)
}

// validate applies Kafka's startup check of the cleaner (LogCleaner's
// "offset map is too small to fit in even a single message") and refuses
// a load factor outside (0, 1], which Kafka's map cannot honour either.
func (c Cleaner) validate() error {
	if !c.Enable || c.Threads == 0 {
		return nil
	}
	if c.LoadFactor <= 0 || c.LoadFactor > 1 {
		return fmt.Errorf("log.cleaner.io.buffer.load.factor (%v) must be in (0, 1]", c.LoadFactor)
	}
	if float64(c.perThreadDedupeBytes()/offsetMapEntryBytes)*c.LoadFactor <= 1 {
		return fmt.Errorf("log.cleaner.dedupe.buffer.size (%d) over log.cleaner.threads (%d) is too small for the cleaner's map to hold even one key; raise it or lower the threads",
			c.DedupeBufferSize, c.Threads)
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

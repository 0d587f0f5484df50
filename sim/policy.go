package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// topicPolicy is the workload topic's configuration, drawn per seed
// (swarm): the flush policy, retention, segment age and timestamp type,
// set as topic configs in CreateTopics or, for the flush policy, as the
// broker's default. The checks read it: what must be durable before an
// acknowledgement, and what retention may delete.
type topicPolicy struct {
	configs        [][2]string // sent with CreateTopics, in this order
	flushMessages  int64       // flush.messages; math.MaxInt64 when unset
	retentionMs    int64       // retention.ms; -1 when unset (a week is never reached)
	retentionBytes int64       // retention.bytes; -1 when unset
	logAppendTime  bool        // message.timestamp.type=LogAppendTime
	// processCrash makes every crash a process crash (kill -9: the page
	// cache survives) rather than a power loss. Seeds whose flush policy
	// acknowledges before fsync draw it, since a power loss may then lose
	// acknowledged records, as Kafka documents.
	processCrash bool

	compaction
}

// compaction is the compacted topic's policy, when the seed draws one
// (cleanup.policy compact or compact,delete): producers write keyed
// records over few keys, some of them tombstones.
type compaction struct {
	compact           bool
	deletes           bool  // compact,delete: retention applies too
	deleteRetentionMs int64 // delete.retention.ms
	keys              int   // keys per partition the producers draw from
	tombstonePerMille int   // share of records that are tombstones
	// dedupeBytesPerClean, when set, is the brokers'
	// Cleaner.DedupeBytesPerCleanMax.
	dedupeBytesPerClean int64
}

// compactStream seeds the compaction draws' own random source, so that
// adding them left every other draw of a seed as it was.
const compactStream = 0x636f6d70616374 // "compact"

// drawCompaction decides whether the seed's topic is compacted, and how.
// Compacted seeds get small segments, so that the cleaner runs under
// crashes, torn writes, IO errors and slow disks, and cleaner settings
// that reach its rare paths: tiny dedupe buffers (a clean covers a
// prefix), short delete.retention.ms (tombstones go) or long ones
// (tombstones must stay), compaction lags.
func (w *world) drawCompaction() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, compactStream))
	c := &w.policy.compaction
	if r.Float64() >= 0.35 || w.rf > 1 || w.cfg.Directed == DirectSyncedFlip {
		return // replicated topics are not compacted here: each replica cleans its own log
	}
	c.compact = true
	policy := "compact"
	if (w.policy.retentionMs >= 0 || w.policy.retentionBytes >= 0) && r.IntN(2) == 0 {
		policy, c.deletes = "compact,delete", true
	}
	set := func(k string, v int64) {
		w.policy.configs = append(w.policy.configs, [2]string{k, strconv.FormatInt(v, 10)})
	}
	w.policy.configs = append(w.policy.configs, [2]string{"cleanup.policy", policy})
	c.deleteRetentionMs = 20 + r.Int64N(2000)
	if r.IntN(2) == 0 { // long: a tombstone the cleaner sees must stay to the end of the run
		c.deleteRetentionMs = 20000 + r.Int64N(70000)
	}
	set("delete.retention.ms", c.deleteRetentionMs)
	ratio := []string{"0", "0.01", "0.2", "0.5"}[r.IntN(4)]
	w.policy.configs = append(w.policy.configs, [2]string{"min.cleanable.dirty.ratio", ratio})
	if r.Float64() < 0.3 {
		set("min.compaction.lag.ms", 10+r.Int64N(3000))
	}
	if r.Float64() < 0.4 {
		set("max.compaction.lag.ms", 200+r.Int64N(5000))
	}
	threads := 1 + r.Int64N(2)
	w.brokerProps["log.cleaner.threads"] = strconv.FormatInt(threads, 10)
	w.brokerProps["log.cleaner.backoff.ms"] = strconv.FormatInt(10+r.Int64N(2000), 10)
	if r.Float64() < 0.3 {
		// 2 to 11 slots of the key map per clean: below Kafka's 1MB per cleaner
		// thread, so set on the Config rather than as the property.
		c.dedupeBytesPerClean = 24 * (2 + r.Int64N(10))
	}
	if r.Float64() < 0.5 {
		w.brokerProps["log.cleaner.io.buffer.size"] = strconv.FormatInt(256+r.Int64N(64<<10), 10)
	}
	w.brokerProps["log.segment.bytes"] = strconv.FormatInt([]int64{1 << 10, 2 << 10, 4 << 10, 16 << 10}[r.IntN(4)], 10)
	c.keys = 2 + r.IntN(15)
	c.tombstonePerMille = 50 + r.IntN(250)
	w.mix = append(w.mix, fmt.Sprintf("compaction(%s keys=%d tombstones=%.1f%% delete.retention.ms=%d ratio=%s segment=%s cleaner=%v)",
		policy, c.keys, float64(c.tombstonePerMille)/10, c.deleteRetentionMs, ratio, w.brokerProps["log.segment.bytes"], threads))
}

func (w *world) drawPolicy() {
	p := &w.policy
	p.flushMessages, p.retentionMs, p.retentionBytes = math.MaxInt64, -1, -1
	set := func(k string, v int64) { p.configs = append(p.configs, [2]string{k, strconv.FormatInt(v, 10)}) }
	switch r := w.rng.Float64(); {
	case r < 0.55 || w.cfg.Directed == DirectSegmentGap:
		p.flushMessages = 1
	case r < 0.8:
		p.flushMessages = 2 + w.rng.Int64N(30)
	}
	// The broker's default also governs __consumer_offsets: it is 1
	// unless the seed draws a broker-level policy, so that committed
	// offsets and group metadata are durable once acknowledged (a
	// broker-level flush.messages above 1 makes crashes process crashes).
	// An unset workload policy is then set on the topic itself.
	brokerLevel := p.flushMessages != math.MaxInt64 && w.rng.IntN(2) == 0
	switch {
	case brokerLevel:
		w.brokerProps["log.flush.interval.messages"] = strconv.FormatInt(p.flushMessages, 10)
	default:
		w.brokerProps["log.flush.interval.messages"] = "1"
		set("flush.messages", p.flushMessages)
	}
	if w.rng.IntN(2) == 0 {
		set("flush.ms", 1+w.rng.Int64N(3000))
	}
	if w.rng.Float64() < 0.55 {
		p.retentionMs = 2000 + w.rng.Int64N(60000)
		set("retention.ms", p.retentionMs)
	}
	if w.rng.Float64() < 0.3 || w.cfg.Directed == DirectForgottenProducer {
		p.retentionBytes = 8<<10 + w.rng.Int64N(512<<10)
		if w.cfg.Directed == DirectForgottenProducer {
			p.retentionBytes = 8<<10 + p.retentionBytes%(16<<10)
		}
		set("retention.bytes", p.retentionBytes)
	}
	if w.rng.Float64() < 0.4 {
		set("segment.ms", 200+w.rng.Int64N(20000))
	}
	if w.rng.Float64() < 0.25 {
		p.logAppendTime = true
		p.configs = append(p.configs, [2]string{"message.timestamp.type", "LogAppendTime"})
	}
	w.brokerProps["log.retention.check.interval.ms"] = strconv.FormatInt(100+w.rng.Int64N(5000), 10)
	p.processCrash = p.flushMessages > 1
	w.mix = append(w.mix, fmt.Sprintf("topic=%v process-crash=%v", p.configs, p.processCrash))
}

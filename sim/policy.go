package sim

import (
	"fmt"
	"math"
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
	if w.rng.Float64() < 0.3 {
		p.retentionBytes = 8<<10 + w.rng.Int64N(512<<10)
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

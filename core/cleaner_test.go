package core_test

import (
	"math"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// TestCleanerProperties: the log.cleaner.* properties and cleanup.policy
// take Kafka's values and refuse what Kafka refuses (and what its cleaner
// cannot run with).
func TestCleanerProperties(t *testing.T) {
	cfg := core.DefaultConfig()
	want := core.Cleaner{Enable: true, Threads: 1, DedupeBufferSize: 128 << 20, IOBufferSize: 512 << 10, LoadFactor: 0.9, BackoffMs: 15000}
	if cfg.Cleaner != want {
		t.Fatalf("defaults: got %+v; want %+v", cfg.Cleaner, want)
	}
	for _, tc := range []struct {
		props map[string]string
		ok    bool
	}{
		{map[string]string{"log.cleanup.policy": "compact"}, true},
		{map[string]string{"log.cleanup.policy": "compact, delete"}, true},
		{map[string]string{"log.cleanup.policy": "compact,purge"}, false},
		{map[string]string{"log.cleaner.threads": "-1"}, false},
		// Kafka divides the dedupe buffer by the threads at startup:
		// with 0 it cannot start, cleaner enabled or not.
		{map[string]string{"log.cleaner.threads": "0", "log.cleaner.dedupe.buffer.size": "0"}, false},
		{map[string]string{"log.cleaner.threads": "0", "log.cleaner.enable": "false"}, false},
		// More than 1MB per thread (Kafka's integer division), even
		// with the cleaner disabled.
		{map[string]string{"log.cleaner.dedupe.buffer.size": "24"}, false},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "100", "log.cleaner.threads": "2"}, false},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "1048576"}, false},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "1048577"}, true},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "4194303", "log.cleaner.threads": "2"}, true},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "3145727", "log.cleaner.threads": "3"}, false},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "100", "log.cleaner.enable": "false"}, false},
		{map[string]string{"log.cleaner.dedupe.buffer.size": "-1"}, false},
		{map[string]string{"log.cleaner.threads": "2147483647"}, false},
		// Any double whose map holds more than one key (slots, the
		// per-thread buffer over 24 bytes, times the factor, above 1).
		{map[string]string{"log.cleaner.io.buffer.load.factor": "1.5"}, true},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "1"}, true},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "100"}, true},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "0.001"}, true},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "0.00002", "log.cleaner.dedupe.buffer.size": "1048577"}, false},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "0.00003", "log.cleaner.dedupe.buffer.size": "1048577"}, true},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "0"}, false},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "-0.5"}, false},
		{map[string]string{"log.cleaner.io.buffer.load.factor": "0", "log.cleaner.enable": "false"}, true},
		{map[string]string{"log.cleaner.min.cleanable.ratio": "1.01"}, false},
		{map[string]string{"log.cleaner.max.compaction.lag.ms": "0"}, false},
		{map[string]string{"log.cleaner.delete.retention.ms": "-1"}, false},
		{map[string]string{"log.cleaner.backoff.ms": "0"}, true},
		{map[string]string{"log.cleaner.io.max.bytes.per.second": "1000.5"}, true},
		{map[string]string{"log.cleaner.enable": "false"}, true},
	} {
		tc.props["listeners"] = "PLAINTEXT://127.0.0.1:9092"
		_, err := core.ParseProperties(tc.props)
		if (err == nil) != tc.ok {
			t.Errorf("%v: got error %v; want ok=%v", tc.props, err, tc.ok)
		}
	}
	// Kafka's only load factor is log.cleaner.io.buffer.load.factor (its
	// CleanerConfig calls it the dedupe buffer's): the dedupe-named one is
	// no property, taken and logged as unknown, changing nothing.
	cfg, err := core.ParseProperties(map[string]string{"log.cleaner.dedupe.buffer.load.factor": "0.5"})
	if err != nil || cfg.Cleaner.LoadFactor != 0.9 || strings.Join(cfg.Unknown, ",") != "log.cleaner.dedupe.buffer.load.factor" {
		t.Fatalf("log.cleaner.dedupe.buffer.load.factor: got load factor %v, unknown %v (%v); want 0.9 and the name unknown", cfg.Cleaner.LoadFactor, cfg.Unknown, err)
	}
	cfg, err = core.ParseProperties(map[string]string{"log.cleaner.io.max.bytes.per.second": "5"})
	if err != nil || strings.Join(cfg.NoEffect(), ",") != "log.cleaner.io.max.bytes.per.second" {
		t.Fatalf("NoEffect: got %v (%v); want the throttle property", cfg.NoEffect(), err)
	}
}

// TestCompactedTopicConfigs: topic configs take Kafka's ranges, and a
// compact-only topic has no retention while its segments roll by
// max.compaction.lag.ms too.
func TestCompactedTopicConfigs(t *testing.T) {
	h := newHarness(t, map[string]string{"log.cleaner.backoff.ms": "100"})
	for cfg, code := range map[string]int16{
		"cleanup.policy=compact,bogus": kerr.InvalidConfig.Code,
		"min.cleanable.dirty.ratio=2":  kerr.InvalidConfig.Code,
		"max.compaction.lag.ms=0":      kerr.InvalidConfig.Code,
		"delete.retention.ms=-5":       kerr.InvalidConfig.Code,
		"min.compaction.lag.ms=-1":     kerr.InvalidConfig.Code,
		"cleanup.policy=":              0,
		"min.cleanable.dirty.ratio=0":  0,
	} {
		k, v, _ := strings.Cut(cfg, "=")
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "t"+strings.NewReplacer(".", "", "=", "", ",", "").Replace(cfg), 1, 1
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
		req.Topics = append(req.Topics, rt)
		seq := h.send(1, 5, req)
		h.deliverAll()
		if got := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; got != code {
			t.Errorf("CreateTopics with %s: got error %d; want %d", cfg, got, code)
		}
	}
	h.createTopic("c", 1, map[string]string{"cleanup.policy": "compact", "retention.ms": "1000",
		"segment.ms": "60000", "max.compaction.lag.ms": "5000", "min.cleanable.dirty.ratio": "0.25"})
	h.createTopic("cd", 1, map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "1000"})
	h.retains = nil
	h.tick(400000) // past log.retention.check.interval.ms
	for _, r := range h.retains {
		switch r.Partition.Topic {
		case "c":
			if r.Config.RetentionMs != -1 || r.Config.RetentionBytes != -1 || !r.Config.Compact ||
				r.Config.SegmentMs != 5000 || r.Config.MinCleanableRatio != 0.25 || r.Config.DeleteRetentionMs != 86400000 {
				t.Errorf("compact topic's log config: got %+v; want no retention, segment.ms 5000, ratio 0.25, delete.retention.ms 86400000", r.Config)
			}
		case "cd":
			if r.Config.RetentionMs != 1000 || !r.Config.Compact || r.Config.MaxCompactionLagMs != math.MaxInt64 {
				t.Errorf("compact,delete topic's log config: got %+v; want retention.ms 1000 and compaction", r.Config)
			}
		}
	}
}

// TestProduceWithoutKeyToCompactedTopic: Kafka's LogValidator.validateKey
// answer, INVALID_RECORD at every version, with a record error per
// keyless record from v8; keyed records and other topics are unaffected.
func TestProduceWithoutKeyToCompactedTopic(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("c", 1, map[string]string{"cleanup.policy": "compact"})
	h.createTopic("d", 1, nil)
	send := func(topic string, v int16, o batchOpts) kmsg.ProduceResponseTopicPartition {
		seq := h.send(1, v, produceReq(topic, 0, -1, makeBatch(o)))
		h.deliverAll()
		return h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	}
	rp := send("c", 9, batchOpts{records: 3})
	if rp.ErrorCode != kerr.InvalidRecord.Code || len(rp.ErrorRecords) != 3 || rp.ErrorRecords[2].RelativeOffset != 2 ||
		!strings.HasPrefix(*rp.ErrorRecords[0].ErrorMessage, "Compacted topic cannot accept message without key in topic partition c-0") ||
		rp.ErrorMessage == nil || !strings.HasPrefix(*rp.ErrorMessage, "One or more records have been rejected due to 3 record errors") {
		t.Errorf("keyless v9: got %+v; want INVALID_RECORD with 3 record errors", rp)
	}
	if rp := send("c", 7, batchOpts{}); rp.ErrorCode != kerr.InvalidRecord.Code || len(rp.ErrorRecords) != 0 {
		t.Errorf("keyless v7: got %+v; want INVALID_RECORD without record errors", rp)
	}
	if rp := send("c", 9, batchOpts{key: "k", records: 2}); rp.ErrorCode != 0 || rp.BaseOffset != 0 {
		t.Errorf("keyed: got %+v; want offset 0", rp)
	}
	if rp := send("d", 9, batchOpts{}); rp.ErrorCode != 0 {
		t.Errorf("keyless to a delete topic: got error %d", rp.ErrorCode)
	}
}

// TestCleanScheduling: compacted partitions get a Clean below their high
// watermark, at most log.cleaner.threads at once and one per partition;
// one that found nothing waits log.cleaner.backoff.ms, one that ran goes
// again at once; a failed clean takes the partition offline; a disabled
// cleaner sends none.
func TestCleanScheduling(t *testing.T) {
	h := newHarness(t, map[string]string{"log.cleaner.backoff.ms": "1000"})
	h.createTopic("c", 2, map[string]string{"cleanup.policy": "compact"})
	h.createTopic("d", 1, nil)
	h.produce("c", 0, batchOpts{key: "k", records: 4})
	cleans := func() []core.Clean { c := h.cleans; h.cleans = nil; return c }
	h.held = nil
	cleans()
	h.tick(10)
	got := cleans()
	if len(got) != 1 || got[0].Partition.Topic != "c" || !got[0].Config.Compact {
		t.Fatalf("first tick: got %+v; want one Clean of topic c (one cleaner thread)", got)
	}
	first := got[0]
	if first.Partition.Partition == 0 && first.FirstUncleanable != 4 {
		t.Errorf("Clean of c-0: first uncleanable %d; want the high watermark 4", first.FirstUncleanable)
	}
	h.tick(10)
	if got := cleans(); len(got) != 0 {
		t.Fatalf("a second Clean went out while one is outstanding: %+v", got)
	}
	h.deliverAll() // it found nothing to do: this partition backs off
	h.cleanRan = true
	h.tick(10)
	got = cleans()
	if len(got) != 1 || got[0].Partition == first.Partition {
		t.Fatalf("after a clean with nothing to do: got %+v; want the other partition", got)
	}
	second := got[0].Partition
	h.deliverAll() // it ran: due again at once
	h.cleanErr = errDisk
	h.tick(10)
	if got := cleans(); len(got) != 1 || got[0].Partition != second {
		t.Fatalf("after a clean that ran: got %+v; want %v again at once", got, second)
	}
	h.deliverAll() // it failed: the partition goes offline
	h.cleanErr = nil
	if rp := h.produce("c", second.Partition, batchOpts{key: "k"}); rp.ErrorCode != kerr.KafkaStorageError.Code {
		t.Errorf("produce after a failed clean: got error %d; want KAFKA_STORAGE_ERROR", rp.ErrorCode)
	}
	h.tick(2000)
	if got := cleans(); len(got) != 1 || got[0].Partition != first.Partition {
		t.Fatalf("after the backoff: got %+v; want %v again", got, first.Partition)
	}

	off := newHarness(t, map[string]string{"log.cleaner.enable": "false"})
	off.createTopic("c", 1, map[string]string{"cleanup.policy": "compact"})
	off.tick(100000)
	if len(off.cleans) != 0 {
		t.Fatalf("log.cleaner.enable=false: got %d Cleans; want none", len(off.cleans))
	}
}

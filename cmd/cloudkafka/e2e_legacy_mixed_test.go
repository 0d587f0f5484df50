package main

// Mixed fleets on one topic: modern clients (record batches v2, idempotent
// producers, the newest request versions) and clients pinned to Kafka 0.9
// or 0.10 (message sets of magic 0 or 1) writing and reading the same logs
// and the same group offsets.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// legacyReader is one old consumer: it reads a whole topic from the start.
type legacyReader struct {
	name string
	// magic0: the reader gets magic 0 messages, which carry no timestamps.
	magic0 bool
	read   func(t *testing.T, b *broker, topic string) []stamped
}

func kgoReader(v *kversion.Versions) legacyReader {
	fetch, _ := v.LookupMaxKeyVersion(1)
	return legacyReader{describeVersions(v), fetch < 2, func(t *testing.T, b *broker, topic string) []stamped {
		return consumeAllKgo(t, b, describeVersions(v), topic, kgo.MaxVersions(v))
	}}
}

func saramaReader(v sarama.KafkaVersion) legacyReader {
	return legacyReader{"sarama " + v.String(), !v.IsAtLeast(sarama.V0_10_0_0), func(t *testing.T, b *broker, topic string) []stamped {
		return saramaConsumeAll(t, b, legacySaramaConfig(v, "legacy-e2e-reader"), topic)
	}}
}

// TestLegacyMixedModernProducer writes with franz-go's defaults (an
// idempotent producer, record batches v2) compressed with snappy, gzip and
// lz4, and reads each topic with consumers pinned to 0.9 (Fetch v1: the
// batches converted down to magic 0 messages, compressed ones rewrapped
// with the same codec) and to 0.10 (Fetch v2 and v3: magic 1, with the
// records' timestamps). Every consumer must read every record at its
// acknowledged offset with its key and value. LZ4 is read only by the 0.10
// consumers: magic 0 LZ4 carries Kafka's broken frame checksum, which the
// Go decoders reject.
func TestLegacyMixedModernProducer(t *testing.T) {
	b := startBroker(t)
	old09 := []legacyReader{kgoReader(kversion.V0_9_0()), saramaReader(sarama.V0_9_0_0)}
	old010 := []legacyReader{kgoReader(kversion.V0_10_1()), saramaReader(sarama.V0_10_0_0)}
	cases := []struct {
		name    string
		codec   kgo.CompressionCodec
		id      int16
		readers []legacyReader
	}{
		{"snappy", kgo.SnappyCompression(), codecSnappy, append(append([]legacyReader{}, old09...), old010...)},
		{"gzip", kgo.GzipCompression(), codecGzip, append(append([]legacyReader{}, old09...), old010...)},
		{"lz4", kgo.Lz4Compression(), codecLz4, old010},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topic := "modern-to-legacy-" + c.name
			const partitions, n = 3, 3000
			createTopic(t, b, topic, partitions)
			acked := produceKgo(t, b, topic, n, kgo.ProducerBatchCompression(c.codec))
			batches := rawBatches(t, b, topic, 0)
			if len(batches) == 0 || batches[0].ProducerID < 0 || batches[0].Attributes&7 != c.id {
				t.Fatalf("the first stored batch of %s: got %+v; want an idempotent producer's (producer id >= 0), codec %d", topic, batches[0], c.id)
			}
			modern := consumeAllKgo(t, b, "modern consumer", topic)
			checkLog(t, topic+" modern consumer", unstamp(modern), expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
			for _, r := range c.readers {
				got := r.read(t, b, topic)
				checkLog(t, topic+" "+r.name, unstamp(got), expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
				checkSameRecords(t, topic+" "+r.name, got, modern, !r.magic0)
				for _, g := range got {
					if len(g.headers) > 0 {
						t.Errorf("%s %s: partition %d offset %d: got headers %v; want none (messages before v2 have no headers)", topic, r.name, g.partition, g.offset, g.headers)
						break
					}
				}
			}
		})
	}
}

// produceKgoPinned produces n records with a franz-go client built with
// opts (a version pin), keyed "key-SEQ", with timestamp ts(seq) when ts is
// set, and returns where each was acknowledged.
func produceKgoPinned(t *testing.T, b *broker, topic string, n int, ts func(int) int64, opts ...kgo.Opt) map[int]pos {
	t.Helper()
	cl := newClient(t, b, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	acks := newAckLog()
	for seq := range n {
		r := &kgo.Record{Key: []byte("key-" + strconv.Itoa(seq)), Value: []byte(franzValue(topic)(seq))}
		if ts != nil {
			r.Timestamp = time.UnixMilli(ts(seq))
		}
		cl.Produce(ctx, r, acks.promise(seq))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("producing %d records to %s: flush: %v", n, topic, err)
	}
	acked, err := acks.result()
	if err != nil {
		t.Fatalf("producing %d records to %s: %v", n, topic, err)
	}
	if len(acked) != n {
		t.Fatalf("producing to %s: got %d acknowledgements; want %d", topic, len(acked), n)
	}
	return acked
}

// TestLegacyMixedLegacyProducers writes with producers pinned to 0.9
// (message sets of magic 0: sarama gzip, franz-go snappy) and to 0.10
// (magic 1 with timestamps: franz-go lz4, sarama snappy), and reads with a
// modern franz-go consumer: every record at its acknowledged offset with
// its key, value and timestamp (none, -1, for magic 0), stored as
// contiguous v2 batches (CRC-32C checked) with the producer's codec and no
// producer id.
func TestLegacyMixedLegacyProducers(t *testing.T) {
	b := startBroker(t)
	base := time.Now().Add(-3 * time.Hour).UnixMilli()
	stamp := func(seq int) int64 { return base + int64(seq)*11 }
	cases := []struct {
		name    string
		codecs  []int16 // what a stored batch may have; the first must occur
		ts      func(int) int64
		produce func(t *testing.T, topic string, n int) map[int]pos
	}{
		// sarama below 0.10 gives every inner message of a compressed
		// wrapper offset 0; Kafka takes the wrapper and assigns offsets
		// (LogValidator renumbers legacy inner messages, it does not
		// require them increasing).
		{"sarama-0.9-gzip", []int16{codecGzip}, nil, func(t *testing.T, topic string, n int) map[int]pos {
			cfg := legacySaramaConfig(sarama.V0_9_0_0, "legacy-e2e-09-gzip")
			cfg.Producer.Compression = sarama.CompressionGZIP
			return saramaProduce(t, b, cfg, topic, topic, 0, n, nil)
		}},
		// franz-go compresses a batch only when that makes it smaller.
		{"kgo-0.9-snappy", []int16{codecSnappy, codecNone}, nil, func(t *testing.T, topic string, n int) map[int]pos {
			return produceKgoPinned(t, b, topic, n, nil, legacyKgoPin(kversion.V0_9_0(), kgo.SnappyCompression())...)
		}},
		{"kgo-0.10-lz4", []int16{codecLz4, codecNone}, stamp, func(t *testing.T, topic string, n int) map[int]pos {
			return produceKgoPinned(t, b, topic, n, stamp, legacyKgoPin(kversion.V0_10_0(), kgo.Lz4Compression())...)
		}},
		{"sarama-0.10-snappy", []int16{codecSnappy}, stamp, func(t *testing.T, topic string, n int) map[int]pos {
			cfg := legacySaramaConfig(sarama.V0_10_0_0, "legacy-e2e-010-snappy")
			cfg.Producer.Compression = sarama.CompressionSnappy
			return saramaProduce(t, b, cfg, topic, topic, 0, n, func(seq int) time.Time { return time.UnixMilli(stamp(seq)) })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topic := "legacy-to-modern-" + c.name
			const partitions, n = 2, 3000
			createTopic(t, b, topic, partitions)
			acked := c.produce(t, topic, n)
			ends := endOffsets(t, b, topic)
			for _, part := range sortedParts(ends) {
				what := fmt.Sprintf("%s partition %d", topic, part)
				byCodec := checkLegacyBatches(t, what, rawBatches(t, b, topic, part), ends[part], c.codecs...)
				if ends[part] > 0 && byCodec[c.codecs[0]] == 0 {
					t.Errorf("%s: got batches with codecs %v; want some with codec %d", what, byCodec, c.codecs[0])
				}
			}
			modern := consumeAllKgo(t, b, "modern consumer", topic)
			checkLog(t, topic+" modern consumer", unstamp(modern), expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
			checkSameRecords(t, topic+" modern consumer", modern, asStamped(acked, franzValue(topic), c.ts), true)
		})
	}
}

// legacyCompactionProblems compares a consumed compacted log with what
// compaction must keep: every live key once, with its latest value at the
// offset it was written at, and of each deleted key nothing or only its
// tombstone (delete.retention.ms may not have passed yet); offsets
// increasing. The filler key is not judged.
func legacyCompactionProblems(got []stamped, latest map[string]written, deleted map[string]bool) []string {
	var out []string
	byKey := map[string][]stamped{}
	prev := int64(-1)
	for _, r := range got {
		if r.offset <= prev {
			out = append(out, fmt.Sprintf("offset %d after %d", r.offset, prev))
		}
		prev = r.offset
		byKey[string(r.key)] = append(byKey[string(r.key)], r)
	}
	for k, w := range latest {
		if k == "filler" {
			continue
		}
		rs := byKey[k]
		var offs []int64
		for _, r := range rs {
			offs = append(offs, r.offset)
		}
		switch {
		case deleted[k] && len(rs) == 0:
		case deleted[k] && (len(rs) != 1 || rs[0].offset != w.offset || len(rs[0].value) != 0):
			out = append(out, fmt.Sprintf("deleted %s at offsets %v; want nothing or only its tombstone at %d", k, offs, w.offset))
		case !deleted[k] && (len(rs) != 1 || rs[0].offset != w.offset || string(rs[0].value) != w.value):
			out = append(out, fmt.Sprintf("%s at offsets %v; want only its latest value %q at %d", k, offs, w.value, w.offset))
		}
	}
	for k := range byKey {
		if _, ok := latest[k]; !ok {
			out = append(out, fmt.Sprintf("key %q was never produced", k))
		}
	}
	sort.Strings(out)
	return out
}

// TestLegacyMixedCompaction writes a compacted topic with a 0.10 producer
// (sarama V0_10_0_0, gzip message sets of magic 1): 30 rounds of updates
// of 20 keys (the last round only the even ones, so that the round before
// keeps every other record of its batch), then tombstones for 3 keys, and
// a filler key every 100 ms so
// that segments roll and the cleaner runs. Once a modern consumer sees the
// compacted log (bounded wait), consumers pinned to 0.9 (magic 0, absolute
// offsets with gaps) and 0.10 (magic 1, relative inner offsets with gaps)
// must see the same: the latest value of every key at the offset it was
// written at, nothing else of it.
func TestLegacyMixedCompaction(t *testing.T) {
	b := startBroker(t, "log.cleaner.backoff.ms=20")
	const topic, keys, updates, deletes = "legacy-compacted", 20, 30, 3
	createTopicWithConfigs(t, b, topic, compactedTopicConfigs(1000))
	cfg := legacySaramaConfig(sarama.V0_10_0_0, "legacy-e2e-compacted")
	cfg.Producer.Compression = sarama.CompressionGZIP
	producer, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama 0.10: NewSyncProducer: %v", err)
	}
	defer producer.Close()
	latest := map[string]written{}
	sent := int64(0)
	send := func(msgs ...*sarama.ProducerMessage) {
		t.Helper()
		sent += int64(len(msgs))
		if err := producer.SendMessages(msgs); err != nil {
			t.Fatalf("sarama 0.10: SendMessages to %s: %v", topic, err)
		}
		for _, m := range msgs {
			v := ""
			if m.Value != nil {
				v = string(m.Value.(sarama.StringEncoder))
			}
			latest[string(m.Key.(sarama.StringEncoder))] = written{m.Offset, v}
		}
	}
	for u := range updates {
		var msgs []*sarama.ProducerMessage
		for k := range keys {
			if u == updates-1 && k%2 == 1 {
				continue // odd keys keep the value of the round before: gaps inside that round's batch
			}
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("key-%02d", k)),
				Value: sarama.StringEncoder(fmt.Sprintf("value %d of key %d %s", u, k, strings.Repeat("x", 50)))})
		}
		send(msgs...)
	}
	deleted := map[string]bool{}
	var tombstones []*sarama.ProducerMessage
	for k := range deletes {
		key := fmt.Sprintf("key-%02d", k)
		deleted[key] = true
		tombstones = append(tombstones, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key)})
	}
	send(tombstones...)

	deadline := time.Now().Add(30 * time.Second)
	var problems []string
	for i := 0; ; i++ {
		send(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("filler"), Value: sarama.StringEncoder(strconv.Itoa(i))})
		modern := consumeAllKgo(t, b, "modern consumer", topic)
		problems = legacyCompactionProblems(modern, latest, deleted)
		if len(problems) == 0 {
			t.Logf("compacted after %d filler records: a modern consumer reads %d records", i+1, len(modern))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for a modern consumer to see the compacted log; still:\n  %s", strings.Join(problems, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	readers := []legacyReader{kgoReader(kversion.V0_9_0()), saramaReader(sarama.V0_9_0_0),
		kgoReader(kversion.V0_10_1()), saramaReader(sarama.V0_10_0_0)}
	for _, r := range readers {
		got := r.read(t, b, topic)
		if problems := legacyCompactionProblems(got, latest, deleted); len(problems) > 0 {
			t.Errorf("%s reading the compacted log (%d records):\n  %s", r.name, len(got), strings.Join(problems, "\n  "))
		}
	}
	if end := endOffsets(t, b, topic)[0]; end != sent {
		t.Errorf("the compacted log ends at %d; want %d, the records written (compaction keeps offsets)", end, sent)
	}
}

// TestLegacyMixedOffsets commits group offsets, with metadata, with one
// generation of clients and reads them back with another: sarama V0_9_0_0's
// OffsetManager (OffsetCommit v2, OffsetFetch v1), franz-go's kadm pinned
// to 0.9, kafka-python with api_version (0, 9), and a modern kadm
// (OffsetCommit and OffsetFetch at their newest).
func TestLegacyMixedOffsets(t *testing.T) {
	b := startBroker(t)
	const topic, partitions = "legacy-offsets", 3
	createTopic(t, b, topic, partitions)
	produceSeqs(t, b, topic, topic, 0, 300)
	ends := endOffsets(t, b, topic)
	offsetsFor := func(shift int64) map[int32]int64 {
		out := map[int32]int64{}
		for p, e := range ends {
			out[p] = max(0, e-shift-int64(p))
		}
		return out
	}
	modern := kadm.NewClient(newClient(t, b))
	pinnedClient := newClient(t, b, kgo.MaxVersions(kversion.V0_9_0()))
	pinned := kadm.NewClient(pinnedClient)

	t.Run("sarama-0.9-to-modern", func(t *testing.T) {
		const group, meta = "offsets-sarama-09", "from sarama 0.9"
		want := offsetsFor(5)
		saramaCommit(t, b, legacySaramaConfig(sarama.V0_9_0_0, "legacy-e2e-commit"), group, topic, want, meta)
		checkCommittedWithMeta(t, "sarama 0.9 commit, modern OffsetFetch", b, group, topic, want, meta)
		checkPinnedCommitted(t, "sarama 0.9 commit, franz-go 0.9 OffsetFetch", pinnedClient, group, topic, partitions, want, meta)
	})
	t.Run("modern-to-sarama-0.9", func(t *testing.T) {
		const group, meta = "offsets-modern-for-sarama", "from a modern client"
		want := offsetsFor(9)
		kadmCommit(t, "modern commit", modern, group, topic, want, meta)
		got, metas := saramaFetchCommitted(t, b, legacySaramaConfig(sarama.V0_9_0_0, "legacy-e2e-fetch"), group, topic, partitions)
		if fmt.Sprint(got) != fmt.Sprint(want) || !allEqual(metas, meta) {
			t.Errorf("modern commit, sarama 0.9 OffsetManager: got offsets %v, metadata %q; want %v, %q", got, metas, want, meta)
		}
		checkPinnedCommitted(t, "modern commit, franz-go 0.9 OffsetFetch", pinnedClient, group, topic, partitions, want, meta)
	})
	t.Run("franz-go-0.9-to-modern", func(t *testing.T) {
		const group, meta = "offsets-kgo-09", "from franz-go 0.9"
		want := offsetsFor(2)
		kadmCommit(t, "franz-go 0.9 commit", pinned, group, topic, want, meta)
		checkCommittedWithMeta(t, "franz-go 0.9 commit, modern OffsetFetch", b, group, topic, want, meta)
		checkPinnedCommitted(t, "franz-go 0.9 commit, franz-go 0.9 OffsetFetch", pinnedClient, group, topic, partitions, want, meta)
	})
	t.Run("kafka-python-0.9", func(t *testing.T) {
		py, err := pythonWithModule("kafka")
		requireTool(t, "python3 with kafka (kafka-python)", err)
		const group, meta = "offsets-kafka-python-09", "from kafka-python 0.9"
		want := offsetsFor(4)
		kafkaPythonOffsets(t, py, b, "commit", group, topic, want, meta)
		checkCommittedWithMeta(t, "kafka-python 0.9 commit, modern OffsetFetch", b, group, topic, want, meta)

		const group2 = "offsets-modern-for-kafka-python"
		want2 := offsetsFor(11)
		kadmCommit(t, "modern commit", modern, group2, topic, want2, "for kafka-python")
		got := kafkaPythonOffsets(t, py, b, "fetch", group2, topic, nil, "")
		if fmt.Sprint(got) != fmt.Sprint(want2) {
			t.Errorf("modern commit, kafka-python 0.9 committed(): got %v; want %v", got, want2)
		}
	})
}

func kadmCommit(t *testing.T, what string, adm *kadm.Client, group, topic string, offsets map[int32]int64, meta string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	offs := kadm.Offsets{}
	for p, o := range offsets {
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1, Metadata: meta})
	}
	resps, err := adm.CommitOffsets(ctx, group, offs)
	if err != nil {
		t.Fatalf("%s: OffsetCommit %s: %v", what, group, err)
	}
	if err := resps.Error(); err != nil {
		t.Fatalf("%s: OffsetCommit %s: partition error %v", what, group, err)
	}
}

// checkPinnedCommitted reads group's committed offsets of partitions
// 0..partitions-1 of topic with cl's OffsetFetch (franz-go pinned to 0.9:
// v1, which names the partitions; it cannot ask for all of them), and
// checks them and their metadata.
func checkPinnedCommitted(t *testing.T, what string, cl *kgo.Client, group, topic string, partitions int32, want map[int32]int64, meta string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("%s: OffsetFetch %s: %v", what, group, err)
	}
	if resp.Version > 1 {
		t.Fatalf("%s: OffsetFetch went out as v%d; want v0 or v1 (the client is pinned to 0.9)", what, resp.Version)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("%s: OffsetFetch %s: got error code %d; want 0", what, group, resp.ErrorCode)
	}
	got := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if tp.Topic != topic {
				t.Errorf("%s: OffsetFetch %s: got topic %q; want only %q", what, group, tp.Topic, topic)
				continue
			}
			meta0 := ""
			if p.Metadata != nil {
				meta0 = *p.Metadata
			}
			if p.ErrorCode != 0 || meta0 != meta {
				t.Errorf("%s: %s/%d: got error code %d, metadata %q; want 0, %q", what, tp.Topic, p.Partition, p.ErrorCode, meta0, meta)
			}
			got[p.Partition] = p.Offset
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: committed offsets of %s: got %v; want %v", what, group, got, want)
	}
}

// kafkaPythonOffsetsScript commits explicit offsets (with metadata) for a
// group, or reads a group's committed offsets, with kafka-python pinned to
// api_version (0, 9) and no subscription.
const kafkaPythonOffsetsScript = `
import json, sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
mode, addr, group, topic = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = KafkaConsumer(bootstrap_servers=addr, api_version=(0, 9), group_id=group, client_id="legacy-e2e",
                  enable_auto_commit=False)
if mode == "commit":
    offsets, meta = json.loads(sys.argv[5]), sys.argv[6]
    c.commit({TopicPartition(topic, int(p)): OffsetAndMetadata(o, meta) for p, o in offsets.items()})
out = {}
for p in sorted(c.partitions_for_topic(topic)):
    out[p] = c.committed(TopicPartition(topic, p))
c.close()
print(json.dumps(out))
`

// kafkaPythonOffsets runs kafkaPythonOffsetsScript and returns the
// committed offsets it read back.
func kafkaPythonOffsets(t *testing.T, py string, b *broker, mode, group, topic string, offsets map[int32]int64, meta string) map[int32]int64 {
	t.Helper()
	args := []string{"-c", kafkaPythonOffsetsScript, mode, b.addr, group, topic}
	if mode == "commit" {
		enc, _ := json.Marshal(offsets)
		args = append(args, string(enc), meta)
	}
	out := runTool(t, legacyWait, "", py, args...)
	var res map[string]*int64
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("kafka-python 0.9 offsets (%s): got %v parsing %.200q; want one JSON object", mode, err, out)
	}
	got := map[int32]int64{}
	for p, o := range res {
		n, err := strconv.Atoi(p)
		if err != nil || o == nil {
			t.Fatalf("kafka-python 0.9 offsets (%s): got partition %q offset %v; want a partition and an offset", mode, p, o)
		}
		got[int32(n)] = *o
	}
	if mode == "commit" && fmt.Sprint(got) != fmt.Sprint(offsets) {
		t.Errorf("kafka-python 0.9 committed() after commit(): got %v; want %v", got, offsets)
	}
	return got
}

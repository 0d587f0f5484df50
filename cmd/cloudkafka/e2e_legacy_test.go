package main

// Helpers for the end-to-end tests of Kafka 0.9/0.10-era clients: franz-go
// and sarama pinned to old protocol versions, the raw record batches a
// modern Fetch returns, and checks that compare what different clients read.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// legacyWait bounds each legacy client's produce or consume run.
const legacyWait = 30 * time.Second

// Codec ids in a record batch's attributes (the low three bits).
const (
	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLz4    = 3
)

// stamped is a consumed record with its timestamp in milliseconds; -1 is
// "no timestamp" (magic 0 data, or a client that reports none).
type stamped struct {
	seen
	ts int64
}

func unstamp(rs []stamped) []seen {
	out := make([]seen, len(rs))
	for i, r := range rs {
		out[i] = r.seen
	}
	return out
}

// legacyKgoPin returns the options of a franz-go client that speaks only
// the request versions of an old Kafka release: no ApiVersions below 0.10,
// no idempotent producer, and compression as given.
func legacyKgoPin(v *kversion.Versions, codec kgo.CompressionCodec) []kgo.Opt {
	return []kgo.Opt{kgo.MaxVersions(v), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(codec)}
}

// consumeAllKgo reads every partition of topic from the start with a
// franz-go client built with opts (a version pin, say), without a group,
// up to the high watermarks that ListOffsets reports now.
func consumeAllKgo(t *testing.T, b *broker, what, topic string, opts ...kgo.Opt) []stamped {
	t.Helper()
	ends := endOffsets(t, b, topic)
	assign := map[int32]kgo.Offset{}
	for p := range ends {
		assign[p] = kgo.NewOffset().AtStart()
	}
	opts = append([]kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchMaxWait(250 * time.Millisecond)}, opts...)
	cl := newClient(t, b, opts...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	next := map[int32]int64{}
	var out []stamped
	for !caughtUp(next, ends) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: consuming %s: waited %v; got through %v; want high watermarks %v", what, topic, legacyWait, next, ends)
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("%s: consuming %s partition %d: got error %v; want none", what, topic, fe.Partition, fe.Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, stamped{seen{r.Partition, r.Offset, r.Key, r.Value, r.Headers}, r.Timestamp.UnixMilli()})
			next[r.Partition] = r.Offset + 1
		})
	}
	return out
}

// legacySaramaConfig is a sarama configuration for protocol version v. It
// does not ask for ApiVersions, which clients of that era did not know.
func legacySaramaConfig(v sarama.KafkaVersion, clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ApiVersionsRequest = false
	cfg.ClientID = clientID
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 5
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 250 * time.Millisecond
	return cfg
}

// saramaProduce sends sequence numbers first..first+n-1 of tag to topic
// with a SyncProducer, 50 messages to a SendMessages call (so that message
// sets hold several messages), keyed "key-SEQ", with the timestamp ts(seq)
// when ts is set. It returns where each was acknowledged.
func saramaProduce(t *testing.T, b *broker, cfg *sarama.Config, topic, tag string, first, n int, ts func(seq int) time.Time) map[int]pos {
	t.Helper()
	producer, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama %v: NewSyncProducer: %v", cfg.Version, err)
	}
	defer producer.Close()
	acked := map[int]pos{}
	const batch = 50
	for from := first; from < first+n; from += batch {
		var msgs []*sarama.ProducerMessage
		for seq := from; seq < min(from+batch, first+n); seq++ {
			m := &sarama.ProducerMessage{
				Topic:    topic,
				Key:      sarama.StringEncoder("key-" + strconv.Itoa(seq)),
				Value:    sarama.StringEncoder(franzValue(tag)(seq)),
				Metadata: seq,
			}
			if ts != nil {
				m.Timestamp = ts(seq)
			}
			msgs = append(msgs, m)
		}
		if err := producer.SendMessages(msgs); err != nil {
			var first error = err
			if perrs, ok := err.(sarama.ProducerErrors); ok && len(perrs) > 0 {
				first = fmt.Errorf("%w; the first: partition %d: %w", err, perrs[0].Msg.Partition, perrs[0].Err)
			}
			t.Fatalf("sarama %v: SendMessages(seq %d..%d) to %s: got %v; want success", cfg.Version, from, from+len(msgs)-1, topic, first)
		}
		for _, m := range msgs {
			acked[m.Metadata.(int)] = pos{m.Partition, m.Offset}
		}
	}
	return acked
}

// saramaConsumeAll reads every partition of topic from the oldest offset
// with sarama's PartitionConsumer, up to the high watermarks now.
func saramaConsumeAll(t *testing.T, b *broker, cfg *sarama.Config, topic string) []stamped {
	t.Helper()
	ends := endOffsets(t, b, topic)
	consumer, err := sarama.NewConsumer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama %v: NewConsumer: %v", cfg.Version, err)
	}
	defer consumer.Close()
	var out []stamped
	deadline := time.After(legacyWait)
	for _, p := range sortedParts(ends) {
		if ends[p] == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama %v: ConsumePartition(%s, %d, oldest): %v", cfg.Version, topic, p, err)
		}
		next := int64(0)
		for next < ends[p] {
			select {
			case m := <-pc.Messages():
				ts := int64(-1)
				if !m.Timestamp.IsZero() {
					ts = m.Timestamp.UnixMilli()
				}
				out = append(out, stamped{seen{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value}, ts})
				next = m.Offset + 1
			case cerr := <-pc.Errors():
				pc.Close()
				t.Fatalf("sarama %v: consuming %s partition %d at offset %d: got %v; want no error", cfg.Version, topic, p, next, cerr)
			case <-deadline:
				pc.Close()
				t.Fatalf("sarama %v: consuming %s: partition %d got to offset %d in %v; want %d", cfg.Version, topic, p, next, legacyWait, ends[p])
			}
		}
		if err := pc.Close(); err != nil {
			t.Errorf("sarama %v: closing the consumer of %s partition %d: %v", cfg.Version, topic, p, err)
		}
	}
	return out
}

// rawBatches fetches the record batches of one partition as the broker
// stores them, from offset 0 to the high watermark, with a Fetch v12
// (franz-go pinned to 2.8, so that topics go by name). A batch whose
// CRC-32C does not match fails the test.
func rawBatches(t *testing.T, b *broker, topic string, partition int32) []kmsg.RecordBatch {
	t.Helper()
	cl := newClient(t, b, kgo.MaxVersions(kversion.V2_8_0()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	var out []kmsg.RecordBatch
	offset := int64(0)
	for {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 100
		req.MaxBytes = 16 << 20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = partition
		rp.FetchOffset = offset
		rp.PartitionMaxBytes = 8 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("Fetch %s/%d at %d: %v", topic, partition, offset, err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("Fetch %s/%d at %d: got %d topics in the response; want one topic with one partition", topic, partition, offset, len(resp.Topics))
		}
		rpart := resp.Topics[0].Partitions[0]
		if rpart.ErrorCode != 0 {
			t.Fatalf("Fetch %s/%d at %d: got error code %d; want 0", topic, partition, offset, rpart.ErrorCode)
		}
		if offset >= rpart.HighWatermark {
			return out
		}
		buf := rpart.RecordBatches
		got := 0
		for len(buf) >= 17 {
			n := 12 + int(int32(binary.BigEndian.Uint32(buf[8:12])))
			if len(buf) < n {
				break // a partial batch at the end of the response
			}
			if buf[16] != 2 {
				t.Fatalf("Fetch %s/%d: the batch at offset %d has magic %d; want 2 (the broker stores record batches v2)",
					topic, partition, int64(binary.BigEndian.Uint64(buf)), buf[16])
			}
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(buf[:n]); err != nil {
				t.Fatalf("Fetch %s/%d: parsing the batch at offset %d: %v", topic, partition, int64(binary.BigEndian.Uint64(buf)), err)
			}
			if want := crc32.Checksum(buf[21:n], crc32.MakeTable(crc32.Castagnoli)); uint32(rb.CRC) != want {
				t.Fatalf("Fetch %s/%d: the batch at offset %d has CRC %08x; its bytes sum to %08x", topic, partition, rb.FirstOffset, uint32(rb.CRC), want)
			}
			out = append(out, rb)
			offset = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
			buf = buf[n:]
			got++
		}
		if got == 0 {
			t.Fatalf("Fetch %s/%d at %d: got no whole batch (%d bytes) below the high watermark %d", topic, partition, offset, len(rpart.RecordBatches), rpart.HighWatermark)
		}
	}
}

// checkLegacyBatches checks the stored batches of a partition that a
// legacy producer (no producer id) wrote: contiguous from offset 0 to end,
// a record for every offset (nothing compacted), and each batch's codec in
// codecs. It returns how many batches had each codec.
func checkLegacyBatches(t testing.TB, what string, batches []kmsg.RecordBatch, end int64, codecs ...int16) map[int16]int {
	t.Helper()
	p := &problems{t: t}
	next := int64(0)
	byCodec := map[int16]int{}
	for _, rb := range batches {
		codec := rb.Attributes & 7
		byCodec[codec]++
		switch {
		case rb.FirstOffset != next:
			p.add("%s: batch at offset %d; want %d (batches contiguous)", what, rb.FirstOffset, next)
		case rb.NumRecords != rb.LastOffsetDelta+1:
			p.add("%s: batch at offset %d: got %d records, last offset delta %d; want a record for every offset", what, rb.FirstOffset, rb.NumRecords, rb.LastOffsetDelta)
		case rb.ProducerID != -1 || rb.ProducerEpoch != -1 || rb.FirstSequence != -1:
			p.add("%s: batch at offset %d: got producer id %d, epoch %d, sequence %d; want -1, -1, -1 (a legacy producer)", what, rb.FirstOffset, rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence)
		case rb.Attributes&^7 != 0:
			p.add("%s: batch at offset %d: got attributes %#x; want only a codec (CreateTime, not transactional, not control)", what, rb.FirstOffset, rb.Attributes)
		}
		ok := false
		for _, c := range codecs {
			ok = ok || c == codec
		}
		if !ok {
			p.add("%s: batch at offset %d: got codec %d; want one of %v", what, rb.FirstOffset, codec, codecs)
		}
		next = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
	}
	if next != end {
		p.add("%s: batches end at offset %d; want %d (the high watermark)", what, next, end)
	}
	p.done(what + " batches")
	return byCodec
}

// checkSameRecords checks that a client read exactly the records that want
// holds (partition, offset, key and value, in partition order), and, when
// timestamps is set, the same timestamps.
func checkSameRecords(t testing.TB, what string, got, want []stamped, timestamps bool) {
	t.Helper()
	p := &problems{t: t}
	at := map[pos]stamped{}
	for _, r := range want {
		at[pos{r.partition, r.offset}] = r
	}
	last := map[int32]int64{}
	seenAt := map[pos]bool{}
	for _, r := range got {
		k := pos{r.partition, r.offset}
		if prev, ok := last[r.partition]; ok && r.offset <= prev {
			p.add("%s: partition %d: got offset %d after %d; want increasing", what, r.partition, r.offset, prev)
		}
		last[r.partition] = r.offset
		w, ok := at[k]
		switch {
		case !ok:
			p.add("%s: got partition %d offset %d (key %q, value %.60q); want no record there", what, r.partition, r.offset, r.key, r.value)
		case string(r.key) != string(w.key) || string(r.value) != string(w.value):
			p.add("%s: partition %d offset %d: got key %q value %.60q; want key %q value %.60q", what, r.partition, r.offset, r.key, r.value, w.key, w.value)
		case timestamps && r.ts != w.ts:
			p.add("%s: partition %d offset %d: got timestamp %d; want %d", what, r.partition, r.offset, r.ts, w.ts)
		}
		seenAt[k] = true
	}
	var missing []pos
	for k := range at {
		if !seenAt[k] {
			missing = append(missing, k)
		}
	}
	sort.Slice(missing, func(i, j int) bool {
		return missing[i].partition < missing[j].partition ||
			missing[i].partition == missing[j].partition && missing[i].offset < missing[j].offset
	})
	for _, k := range missing {
		p.add("%s: partition %d offset %d: got nothing; want key %q value %.60q", what, k.partition, k.offset, at[k].key, at[k].value)
	}
	p.done(what)
}

// checkKeysFor checks that every record of tag carries key "key-SEQ".
func checkKeysFor(t testing.TB, what, tag string, got []stamped) {
	t.Helper()
	p := &problems{t: t}
	for _, r := range got {
		seq, ok := parseSeq(tag, r.value)
		if !ok {
			continue // checkLog reports it
		}
		if want := "key-" + strconv.Itoa(seq); string(r.key) != want {
			p.add("%s: seq %d: got key %q; want %q", what, seq, r.key, want)
		}
	}
	p.done(what + " keys")
}

// asStamped turns acknowledgements into the records a consumer must read:
// key "key-SEQ", value value(seq), timestamp ts(seq) (-1 when ts is nil).
func asStamped(acked map[int]pos, value func(int) string, ts func(int) int64) []stamped {
	out := make([]stamped, 0, len(acked))
	for _, seq := range sortedSeqs(acked) {
		at := acked[seq]
		s := stamped{seen{partition: at.partition, offset: at.offset, key: []byte("key-" + strconv.Itoa(seq)), value: []byte(value(seq))}, -1}
		if ts != nil {
			s.ts = ts(seq)
		}
		out = append(out, s)
	}
	return out
}

// TestLegacyCheckersCatchFaults is the canary for checkSameRecords and
// checkLegacyBatches: each planted fault must be reported, and the clean
// cases must not be.
func TestLegacyCheckersCatchFaults(t *testing.T) {
	rec := func(p int32, o int64, k, v string, ts int64) stamped {
		return stamped{seen{partition: p, offset: o, key: []byte(k), value: []byte(v)}, ts}
	}
	want := []stamped{rec(0, 0, "a", "1", 10), rec(0, 1, "b", "2", 11), rec(1, 0, "c", "3", 12)}
	same := []struct {
		name string
		got  []stamped
		ts   bool
		want string
	}{
		{"clean", want, true, ""},
		{"clean, other timestamps unchecked", []stamped{rec(0, 0, "a", "1", -1), rec(0, 1, "b", "2", -1), rec(1, 0, "c", "3", -1)}, false, ""},
		{"missing", want[:2], true, "partition 1 offset 0: got nothing"},
		{"extra", append(append([]stamped{}, want...), rec(1, 1, "d", "4", 13)), true, "want no record there"},
		{"wrong value", []stamped{rec(0, 0, "a", "1", 10), rec(0, 1, "b", "x", 11), rec(1, 0, "c", "3", 12)}, true, "got key \"b\" value \"x\""},
		{"wrong timestamp", []stamped{rec(0, 0, "a", "1", 10), rec(0, 1, "b", "2", -1), rec(1, 0, "c", "3", 12)}, true, "got timestamp -1; want 11"},
		{"reordered", []stamped{rec(0, 1, "b", "2", 11), rec(0, 0, "a", "1", 10), rec(1, 0, "c", "3", 12)}, true, "want increasing"},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkSameRecords(r, tt.name, tt.got, want, tt.ts)
			expectReport(t, r, tt.want)
		})
	}

	batch := func(first int64, n int32, attrs int16) kmsg.RecordBatch {
		return kmsg.RecordBatch{FirstOffset: first, LastOffsetDelta: n - 1, NumRecords: n, Attributes: attrs,
			ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, Magic: 2}
	}
	idempotent := batch(3, 2, codecGzip)
	idempotent.ProducerID = 7
	batches := []struct {
		name string
		bs   []kmsg.RecordBatch
		want string
	}{
		{"clean", []kmsg.RecordBatch{batch(0, 3, codecGzip), batch(3, 2, codecGzip)}, ""},
		{"gap", []kmsg.RecordBatch{batch(0, 2, codecGzip), batch(3, 2, codecGzip)}, "want 2 (batches contiguous)"},
		{"short", []kmsg.RecordBatch{batch(0, 3, codecGzip)}, "end at offset 3; want 5"},
		{"wrong codec", []kmsg.RecordBatch{batch(0, 3, codecGzip), batch(3, 2, codecSnappy)}, "got codec 2; want one of [1]"},
		{"producer id", []kmsg.RecordBatch{batch(0, 3, codecGzip), idempotent}, "want -1, -1, -1"},
		{"log append time", []kmsg.RecordBatch{batch(0, 3, codecGzip), batch(3, 2, codecGzip|8)}, "want only a codec"},
	}
	for _, tt := range batches {
		t.Run("batches/"+tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkLegacyBatches(r, tt.name, tt.bs, 5, codecGzip)
			expectReport(t, r, tt.want)
		})
	}
}

// describeVersions names a franz-go version pin in test names and messages.
func describeVersions(v *kversion.Versions) string {
	fetch, _ := v.LookupMaxKeyVersion(1)
	produce, _ := v.LookupMaxKeyVersion(0)
	return fmt.Sprintf("franz-go pinned to %s (Produce v%d, Fetch v%d)", v.VersionGuess(), produce, fetch)
}

// captureSaramaLog collects sarama's log (retries, connection changes,
// metadata refreshes) for the rest of t and prints its last 32 KiB if t
// fails, so that a client-side retry or reconnect is on record.
func captureSaramaLog(t *testing.T) {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	prev := sarama.Logger
	sarama.Logger = log.New(lockedWriter{&mu, &buf}, "sarama ", log.Lmicroseconds)
	t.Cleanup(func() {
		sarama.Logger = prev
		if !t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		out := buf.Bytes()
		if len(out) > 32<<10 {
			out = out[len(out)-32<<10:]
		}
		t.Logf("sarama's log (the last %d bytes):\n%s", len(out), out)
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

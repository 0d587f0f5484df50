package main

// End-to-end tests: production Kafka clients against a real broker process.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	segkafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoCodecs produces 100,000 records per codec with franz-go's
// defaults (idempotent, acks=all) over three partitions, and reads them back.
func TestFranzGoCodecs(t *testing.T) {
	b := startBroker(t)
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "franz-" + c.name
			createTopic(t, b, topic, 3)
			const n = 100_000
			acked := produceKgo(t, b, topic, n, kgo.ProducerBatchCompression(c.codec))
			got := consumeAll(t, b, topic, 2*time.Minute)
			checkLog(t, topic, got, expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
			checkKeysAndHeaders(t, topic, got)
		})
	}
}

// franzValue is a value that compresses, as real payloads do.
func franzValue(tag string) func(int) string {
	return func(seq int) string {
		return seqValue(tag, seq) + " payload-" + strings.Repeat(strconv.Itoa(seq%10), 40)
	}
}

// produceKgo produces n records asynchronously and returns where each was
// acknowledged. Any produce error fails the test.
func produceKgo(t *testing.T, b *broker, topic string, n int, opts ...kgo.Opt) map[int]pos {
	t.Helper()
	cl := newClient(t, b, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	acked := make(map[int]pos, n)
	var errs []error
	value := franzValue(topic)
	for seq := 0; seq < n; seq++ {
		r := &kgo.Record{
			Key:     []byte("key-" + strconv.Itoa(seq)),
			Value:   []byte(value(seq)),
			Headers: []kgo.RecordHeader{{Key: "seq", Value: []byte(strconv.Itoa(seq))}},
		}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("seq %d: %w", seq, err))
				return
			}
			acked[seq] = pos{r.Partition, r.Offset}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("producing %d records to %s: flush: %v", n, topic, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("producing %d records to %s: got %d errors, first %v; want none", n, topic, len(errs), errs[0])
	}
	if len(acked) != n {
		t.Fatalf("producing to %s: got %d acknowledgements; want %d", topic, len(acked), n)
	}
	return acked
}

// checkKeysAndHeaders checks that keys and headers survived the round trip.
func checkKeysAndHeaders(t *testing.T, what string, got []seen) {
	t.Helper()
	p := &problems{t: t}
	for _, r := range got {
		seq, ok := parseSeq(what, r.value)
		if !ok {
			continue // checkLog reported it
		}
		if want := "key-" + strconv.Itoa(seq); string(r.key) != want {
			p.add("%s: seq %d: got key %q; want %q", what, seq, r.key, want)
		}
		want := strconv.Itoa(seq)
		if len(r.headers) != 1 || r.headers[0].Key != "seq" || string(r.headers[0].Value) != want {
			p.add("%s: seq %d: got headers %v; want [seq=%s]", what, seq, r.headers, want)
		}
	}
	p.done(what + " keys and headers")
}

// TestSarama produces with sarama's SyncProducer and reads back with its
// PartitionConsumer.
func TestSarama(t *testing.T) {
	captureSaramaLog(t)
	b := startBroker(t)
	const topic, n = "sarama", 1000
	createTopic(t, b, topic, 1)
	cfg := sarama.NewConfig()
	cfg.ClientID = "cloudkafka-e2e"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 5
	t.Logf("sarama protocol version %v", cfg.Version)

	producer, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	acked := map[int]pos{}
	for seq := 0; seq < n; seq++ {
		p, o, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder("k" + strconv.Itoa(seq)),
			Value: sarama.StringEncoder(seqValue(topic, seq)),
		})
		if err != nil {
			producer.Close()
			t.Fatalf("sarama SendMessage seq %d: got %v; want success", seq, err)
		}
		acked[seq] = pos{p, o}
	}
	if err := producer.Close(); err != nil {
		t.Errorf("sarama producer Close: %v", err)
	}

	consumer, err := sarama.NewConsumer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("sarama ConsumePartition(%s, 0, oldest): %v", topic, err)
	}
	defer pc.Close()
	var got []seen
	timeout := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case m := <-pc.Messages():
			got = append(got, seen{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value})
		case cerr := <-pc.Errors():
			t.Fatalf("sarama consumer after %d messages: got %v; want no error", len(got), cerr)
		case <-timeout:
			t.Fatalf("sarama consumer: got %d messages in 60s; want %d", len(got), n)
		}
	}
	checkLog(t, topic, got, expect{tag: topic, acked: acked, exactly: n})
}

// TestKafkaGo writes with segmentio/kafka-go's Writer and reads back with a
// Reader per partition (no consumer group).
func TestKafkaGo(t *testing.T) {
	b := startBroker(t)
	const topic, n, partitions = "kafkago", 1000, 3
	createTopic(t, b, topic, partitions)
	var mu sync.Mutex
	acked := map[int]pos{}
	var completionErr error
	w := &segkafka.Writer{
		Addr:         segkafka.TCP(b.addr),
		Topic:        topic,
		RequiredAcks: segkafka.RequireAll,
		Balancer:     &segkafka.LeastBytes{},
		BatchTimeout: 10 * time.Millisecond,
		MaxAttempts:  5,
		Completion: func(msgs []segkafka.Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				completionErr = err
				return
			}
			for _, m := range msgs {
				if seq, ok := parseSeq(topic, m.Value); ok {
					acked[seq] = pos{int32(m.Partition), m.Offset}
				}
			}
		},
	}
	msgs := make([]segkafka.Message, n)
	for seq := range msgs {
		msgs[seq] = segkafka.Message{Key: []byte("k" + strconv.Itoa(seq)), Value: []byte(seqValue(topic, seq))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		w.Close()
		t.Fatalf("kafka-go WriteMessages(%d messages): got %v; want success", n, err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("kafka-go Writer.Close: %v", err)
	}
	mu.Lock()
	if completionErr != nil || len(acked) != n {
		t.Errorf("kafka-go completions: got %d acknowledged, error %v; want %d, no error", len(acked), completionErr, n)
	}
	mu.Unlock()

	ends := endOffsets(t, b, topic)
	var got []seen
	for p := 0; p < partitions; p++ {
		got = append(got, readKafkaGoPartition(t, b, topic, p, ends[int32(p)])...)
	}
	checkLog(t, topic, got, expect{tag: topic, acked: acked, exactly: n})
}

func readKafkaGoPartition(t *testing.T, b *broker, topic string, partition int, end int64) []seen {
	t.Helper()
	r := segkafka.NewReader(segkafka.ReaderConfig{
		Brokers:   []string{b.addr},
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  10 << 20,
		MaxWait:   500 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(segkafka.FirstOffset); err != nil {
		t.Fatalf("kafka-go Reader.SetOffset(first): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []seen
	for int64(len(got)) < end {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go ReadMessage partition %d after %d messages: got %v; want %d messages", partition, len(got), err, end)
		}
		got = append(got, seen{partition: int32(m.Partition), offset: m.Offset, key: m.Key, value: m.Value})
	}
	return got
}

// TestKafkaGoClientFetch drives kafka-go's low-level Client: CreateTopics,
// Produce, then Fetch at once. Client.Fetch sends Fetch v11 with SessionID
// -1 and SessionEpoch -1, which Kafka answers as a sessionless full fetch.
func TestKafkaGoClientFetch(t *testing.T) {
	b := startBroker(t)
	kafkaGoClientRoundTrip(t, b, "kafkago-client", 10, 100, 1000)
}

// TestMessageMaxBytesAboveRequestLimit starts the broker with Kafka's
// common test setting message.max.bytes=200000000, larger than the default
// socket.request.max.bytes (104857600), which Kafka accepts. A 2 MiB record
// (over the default message.max.bytes) is produced and fetched back.
func TestMessageMaxBytesAboveRequestLimit(t *testing.T) {
	b := startBroker(t, "message.max.bytes=200000000")
	kafkaGoClientRoundTrip(t, b, "big-messages", 10, 2<<20)
}

// kafkaGoClientRoundTrip creates topic (one partition) with kafka-go's
// Client, produces one record per entry of padBytes (a value carrying its
// sequence number and that many bytes of padding) in one request, and
// fetches them back from offset 0 with Client.Fetch.
func kafkaGoClientRoundTrip(t *testing.T, b *broker, topic string, padBytes ...int) {
	t.Helper()
	cl := &segkafka.Client{Addr: segkafka.TCP(b.addr), Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	created, err := cl.CreateTopics(ctx, &segkafka.CreateTopicsRequest{
		Topics: []segkafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("kafka-go Client.CreateTopics(%s): got %v; want success", topic, err)
	}
	if err := created.Errors[topic]; err != nil {
		t.Fatalf("kafka-go Client.CreateTopics(%s): got topic error %v; want none", topic, err)
	}
	values := make([][]byte, len(padBytes))
	records := make([]segkafka.Record, len(padBytes))
	total := 0
	for i, n := range padBytes {
		values[i] = []byte(seqValue(topic, i) + " " + strings.Repeat("x", n))
		records[i] = segkafka.Record{Key: segkafka.NewBytes([]byte("k" + strconv.Itoa(i))), Value: segkafka.NewBytes(values[i])}
		total += len(values[i])
	}
	produced, err := cl.Produce(ctx, &segkafka.ProduceRequest{
		Topic: topic, Partition: 0, RequiredAcks: segkafka.RequireAll,
		Records: segkafka.NewRecordReader(records...),
	})
	if err != nil {
		t.Fatalf("kafka-go Client.Produce(%d records, %d value bytes): got %v; want success", len(records), total, err)
	}
	if produced.Error != nil || produced.BaseOffset != 0 {
		t.Fatalf("kafka-go Client.Produce: got error %v, base offset %d; want none and 0", produced.Error, produced.BaseOffset)
	}
	fetched, err := cl.Fetch(ctx, &segkafka.FetchRequest{
		Topic: topic, Partition: 0, Offset: 0,
		MinBytes: 1, MaxBytes: int64(total) + 1<<20, MaxWait: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("kafka-go Client.Fetch(%s, offset 0): got %v; want the %d records produced", topic, err, len(records))
	}
	if fetched.Error != nil || fetched.HighWatermark != int64(len(records)) {
		t.Fatalf("kafka-go Client.Fetch: got error %v, high watermark %d; want none and %d", fetched.Error, fetched.HighWatermark, len(records))
	}
	got := readKafkaGoRecords(t, fetched.Records)
	if len(got) != len(values) {
		t.Fatalf("kafka-go Client.Fetch: got %d records; want %d", len(got), len(values))
	}
	for i, r := range got {
		if r.offset != int64(i) || string(r.value) != string(values[i]) {
			t.Errorf("record %d: got offset %d, value %.40q (%d bytes); want offset %d, value %.40q (%d bytes)",
				i, r.offset, r.value, len(r.value), i, values[i], len(values[i]))
		}
	}
}

// readKafkaGoRecords reads every record of a kafka-go RecordReader.
func readKafkaGoRecords(t *testing.T, rr segkafka.RecordReader) []seen {
	t.Helper()
	var out []seen
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("kafka-go ReadRecord after %d records: %v", len(out), err)
		}
		s := seen{offset: r.Offset}
		if r.Value != nil {
			if s.value, err = io.ReadAll(r.Value); err != nil {
				t.Fatalf("kafka-go record %d value: %v", r.Offset, err)
			}
		}
		out = append(out, s)
	}
}

// TestKcat produces lines with kcat (librdkafka), plain and snappy, and
// reads them back with kcat's consumer.
func TestKcat(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	b := startBroker(t)
	for _, codec := range []string{"none", "snappy"} {
		t.Run(codec, func(t *testing.T) {
			topic := "kcat-" + codec
			createTopic(t, b, topic, 1)
			const n = 1000
			var in strings.Builder
			for seq := 0; seq < n; seq++ {
				in.WriteString(seqValue(topic, seq) + "\n")
			}
			args := []string{"-b", b.addr, "-P", "-t", topic, "-X", "message.timeout.ms=30000"}
			if codec != "none" {
				args = append(args, "-z", codec)
			}
			runTool(t, 60*time.Second, in.String(), "kcat", args...)

			out := runTool(t, 60*time.Second, "", "kcat", "-b", b.addr, "-C", "-t", topic,
				"-o", "beginning", "-e", "-f", "%p %o %s\n")
			var got []seen
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				var p int32
				var o int64
				var rest string
				if _, err := fmt.Sscanf(line, "%d %d", &p, &o); err != nil {
					t.Fatalf("kcat output line %q: got %v; want \"PARTITION OFFSET VALUE\"", line, err)
				}
				fields := strings.SplitN(line, " ", 3)
				if len(fields) == 3 {
					rest = fields[2]
				}
				got = append(got, seen{partition: p, offset: o, value: []byte(rest)})
			}
			checkLog(t, topic, got, expect{tag: topic, exactly: n})
		})
	}
}

// pythonWithConfluent finds a Python that can import confluent_kafka.
// Debian's python3-confluent-kafka installs for /usr/bin/python3, which a
// python3 earlier in PATH (pyenv, a virtualenv) may not see.
func pythonWithConfluent() (string, error) {
	var tried []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, py+": not found")
			continue
		}
		out, err := exec.Command(path, "-c", "import confluent_kafka").CombinedOutput()
		if err == nil {
			return path, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v %s", path, err, strings.TrimSpace(string(out))))
	}
	return "", errors.New("no python3 imports confluent_kafka: " + strings.Join(tried, "; "))
}

const confluentProducerScript = `
import json, sys
from confluent_kafka import Producer
addr, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = Producer({"bootstrap.servers": addr, "acks": "all", "message.timeout.ms": 30000,
              "linger.ms": 5, "client.id": "cloudkafka-e2e"})
reports, errors = [], []
def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        reports.append([msg.value().decode(), msg.partition(), msg.offset()])
for seq in range(n):
    while True:
        try:
            p.produce(topic, key=b"k%d" % seq, value=("%s %09d" % (topic, seq)).encode(), on_delivery=on_delivery)
            break
        except BufferError:
            p.poll(0.1)
    p.poll(0)
left = p.flush(60)
print(json.dumps({"left": left, "errors": errors[:20], "error_count": len(errors), "reports": reports}))
`

// TestConfluentKafkaPython produces with confluent-kafka-python (librdkafka)
// and checks the delivery reports, then reads the records back with franz-go.
// The consumer side needs consumer groups, which this test does not use.
func TestConfluentKafkaPython(t *testing.T) {
	py, err := pythonWithConfluent()
	requireTool(t, "python3 with confluent_kafka", err)
	b := startBroker(t)
	const topic, n = "python", 1000
	createTopic(t, b, topic, 3)
	out := runTool(t, 90*time.Second, "", py, "-c", confluentProducerScript, b.addr, topic, strconv.Itoa(n))
	var res struct {
		Left       int      `json:"left"`
		Errors     []string `json:"errors"`
		ErrorCount int      `json:"error_count"`
		Reports    [][3]any `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("python output: got %v parsing %.200q; want one JSON object", err, out)
	}
	if res.Left != 0 || res.ErrorCount != 0 {
		t.Fatalf("confluent_kafka delivery: got %d undelivered, %d errors %q; want all %d delivered", res.Left, res.ErrorCount, res.Errors, n)
	}
	acked := map[int]pos{}
	for _, r := range res.Reports {
		v, _ := r[0].(string)
		p, _ := r[1].(float64)
		o, _ := r[2].(float64)
		seq, ok := parseSeq(topic, []byte(v))
		if !ok {
			t.Fatalf("delivery report value: got %q; want %q and a sequence number", v, topic)
		}
		acked[seq] = pos{int32(p), int64(o)}
	}
	if len(acked) != n {
		t.Fatalf("confluent_kafka delivery reports: got %d distinct; want %d", len(acked), n)
	}
	got := consumeAll(t, b, topic, 60*time.Second)
	checkLog(t, topic, got, expect{tag: topic, acked: acked, exactly: n})
}

// TestCrashRecovery kills the broker with SIGKILL while a producer streams
// records, at a moment one of its IO workers is inside an fsync (every
// append is synced before it is acknowledged, syncs grouped per
// partition), restarts it on the same data directory and port, and checks
// that every acknowledged record survived, offsets have no gap or
// duplicate, and the broker takes new records afterwards.
func TestCrashRecovery(t *testing.T) {
	b := startBroker(t, "log.flush.interval.messages=1")
	const topic = "crash"
	const acksBeforeKill, seqMax = 3000, 200_000
	createTopic(t, b, topic, 3)

	acked := streamUntilKilled(t, b, topic, acksBeforeKill, seqMax)
	b.Restart()

	got := consumeAll(t, b, topic, 60*time.Second)
	at := checkLog(t, topic+" after restart", got, expect{tag: topic, acked: acked})
	t.Logf("acknowledged %d records before SIGKILL; %d in the log after restart", len(acked), len(at))

	// The broker keeps working: new records after the recovered ones.
	const after = 1000
	newTag := topic + "-after"
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for seq := 0; seq < after; seq++ {
		r := &kgo.Record{Key: []byte("k" + strconv.Itoa(seq)), Value: []byte(seqValue(newTag, seq))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("producing after restart, seq %d: got %v; want success", seq, err)
		}
	}
	got = consumeAll(t, b, topic, 60*time.Second)
	if want := len(at) + after; len(got) != want {
		t.Errorf("records after restart and %d more: got %d; want %d", after, len(got), want)
	}
	var old, fresh []seen
	for _, r := range got {
		if _, ok := parseSeq(newTag, r.value); ok {
			fresh = append(fresh, r)
		} else {
			old = append(old, r)
		}
	}
	checkLog(t, topic+" old records", old, expect{tag: topic, acked: acked})
	checkNewAfterOld(t, got, newTag)
	checkLog(t, topic+" new records", renumber(fresh), expect{tag: newTag, exactly: after})
}

// streamUntilKilled produces records until acksBeforeKill are acknowledged,
// SIGKILLs the broker while the stream is still going, and returns the
// acknowledged records.
func streamUntilKilled(t *testing.T, b *broker, topic string, acksBeforeKill, seqMax int) map[int]pos {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(2000), kgo.RecordDeliveryTimeout(20*time.Second))
	if err != nil {
		t.Fatalf("creating the producer: %v", err)
	}
	var mu sync.Mutex
	acked := map[int]pos{}
	var firstErr error
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killed := false
	// Once enough records are acknowledged, a goroutine watches for an
	// fsync and kills the broker inside it while records keep flowing.
	var killErr error
	killing, killDone := false, make(chan struct{})
	kill := func() {
		defer close(killDone)
		killErr = b.killDuringFsync(func() {
			mu.Lock()
			killed = true
			mu.Unlock()
			cancel() // a Produce blocked on a full buffer returns
		})
	}
produce:
	for seq := 0; seq < seqMax && ctx.Err() == nil; seq++ {
		r := &kgo.Record{Key: []byte("k" + strconv.Itoa(seq)), Value: []byte(seqValue(topic, seq))}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				acked[seq] = pos{r.Partition, r.Offset}
			} else if firstErr == nil && !killed {
				firstErr = err
			}
		})
		mu.Lock()
		n, ferr := len(acked), firstErr
		mu.Unlock()
		if ferr != nil {
			cl.Close()
			t.Fatalf("producing before the crash, seq %d: got %v; want success", seq, ferr)
		}
		if n >= acksBeforeKill && !killing {
			killing = true
			go kill()
		}
		select {
		case <-killDone:
			break produce
		default:
		}
	}
	if killing {
		<-killDone
	}
	if killErr != nil {
		cl.Close()
		t.Fatal(killErr)
	}
	if !killed {
		cl.Close()
		t.Fatalf("producing: got %d acknowledgements before the bound (%d records or 60s); want %d", len(acked), seqMax, acksBeforeKill)
	}
	b.waitKilled()
	// Records still in flight are abandoned: Close fails them.
	closed := make(chan struct{})
	go func() { cl.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("closing the producer after SIGKILL: still blocked after 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	out := make(map[int]pos, len(acked))
	for k, v := range acked {
		out[k] = v
	}
	return out
}

// checkNewAfterOld checks that in every partition the records produced after
// the restart follow all the recovered ones.
func checkNewAfterOld(t *testing.T, got []seen, newTag string) {
	t.Helper()
	sawNew := map[int32]int64{}
	for _, r := range got {
		_, isNew := parseSeq(newTag, r.value)
		if isNew {
			if _, ok := sawNew[r.partition]; !ok {
				sawNew[r.partition] = r.offset
			}
			continue
		}
		if first, ok := sawNew[r.partition]; ok {
			t.Errorf("partition %d: got a recovered record at offset %d after a new one at %d; want recovered records first", r.partition, r.offset, first)
			return
		}
	}
}

// renumber shifts offsets so that each partition's first record is at 0, so
// that checkLog can check a run of records that began mid-log for gaps.
func renumber(rs []seen) []seen {
	out := make([]seen, len(rs))
	base := map[int32]int64{}
	for i, r := range rs {
		if _, ok := base[r.partition]; !ok {
			base[r.partition] = r.offset
		}
		r.offset -= base[r.partition]
		out[i] = r
	}
	return out
}

// TestGracefulRestart stops the broker with SIGTERM (it must exit with
// status 0), restarts it on the same data directory, and reads back what was
// produced before.
func TestGracefulRestart(t *testing.T) {
	b := startBroker(t)
	const topic, n = "graceful", 5000
	createTopic(t, b, topic, 3)
	acked := produceKgo(t, b, topic, n)
	b.Stop()
	b.Restart()
	got := consumeAll(t, b, topic, 60*time.Second)
	checkLog(t, topic+" after SIGTERM and restart", got, expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
}

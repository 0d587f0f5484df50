package main

// End-to-end tests of client byte-rate quotas (KIP-13, KIP-55, KIP-219):
// production clients above their producer_byte_rate or
// consumer_byte_rate are slowed to the quota, and nothing is lost.
//
// How the rates are measured. The broker measures a client's rate as
// Kafka does: the bytes of quota.window.num (11) samples of
// quota.window.size.seconds (1 s) each, divided by the time since the
// oldest began, but never by less than 10 whole windows plus the current
// one's elapsed part. A fresh client may thus send up to 11 s × quota in
// its first 11 s, nearly all of it at once, and is then held back until
// its first sample ages out at 11 s and it may burst again. An interval
// of about 10 s holds one such burst or none: measured after a warm-up
// of 1-2 s, the rate would be near 0 until 11 s; measured over the first
// 10 s, it would be 10% above the quota by design, plus the overshoot of
// the last requests. So each test measures from the client's first
// request over the first window, less a margin: quotaMeasure, 10.8 s,
// which ends before the second burst (the broker's 11 s start with its
// first answer, after the client began). It counts what the broker
// counts, a produce's request size, or near it: a fetch's response size,
// which exceeds the record bytes the broker counts by its headers.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"cloudkafka/core"
	"cloudkafka/internal/zktest"
	"cloudkafka/realio"
)

const (
	// quotaMeasure is how long a client's rate is measured, from its
	// first request: the quota's first window less a margin (see the
	// file comment).
	quotaMeasure = 10800 * time.Millisecond
	// quotaTolerance is how far the measured rate may be from the quota.
	quotaTolerance = 0.20
	// quotaWait bounds each wait for a throttled client to finish.
	quotaWait = 30 * time.Second
)

// setClientQuota sets key of the client id's quota entity through
// AlterClientQuotas; the broker applies it before it answers.
func setClientQuota(t *testing.T, b *broker, clientID, key string, value float64) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := clientID
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: "client-id", Name: &name}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: key, Value: value}},
	}})
	if err != nil {
		t.Fatalf("AlterClientQuotas client-id=%s %s=%v: %v", clientID, key, value, err)
	}
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("AlterClientQuotas client-id=%s %s=%v: got %+v; want one entry without error", clientID, key, value, res)
	}
}

// quotaValue is record seq's value: its sequence number padded to 1 to
// 4 KiB, the size varying with seq.
func quotaValue(tag string, seq int) string {
	s := seqValue(tag, seq)
	size := 1024 + (seq*977)%3073
	return s + " " + strings.Repeat("q", size-len(s)-1)
}

// checkRate fails the test unless bytes over quotaMeasure are within
// quotaTolerance of quota (bytes per second), and logs the rate.
func checkRate(t *testing.T, what string, bytes int64, quota float64) {
	t.Helper()
	rate := float64(bytes) / quotaMeasure.Seconds()
	t.Logf("%s: %d bytes in %v: %.0f B/s, %.1f%% of the quota of %.0f B/s", what, bytes, quotaMeasure, rate, 100*rate/quota, quota)
	if rate < (1-quotaTolerance)*quota || rate > (1+quotaTolerance)*quota {
		t.Errorf("%s: got %.0f B/s over %v (%.1f%% of the quota); want within %.0f%% of %.0f B/s",
			what, rate, quotaMeasure, 100*rate/quota, 100*quotaTolerance, quota)
	}
}

// wireMeter is a franz-go hook that counts the bytes of one API's
// exchanges, as franz-go reports them once each response is read: those
// read within quotaMeasure of begin, and all of them; and the throttles
// the broker's responses carried.
type wireMeter struct {
	key int16
	// response: count a response's bytes (less its size prefix) rather
	// than its request's.
	response bool

	mu     sync.Mutex
	start  time.Time
	within int64 // bytes of the exchanges completed within quotaMeasure of start
	total  int64
	// throttles counts the responses that carried throttle_time_ms;
	// afterResponse those that asked the client to wait after them
	// (KIP-219); held those that arrived no sooner than their throttle
	// after the request was written (the broker held them).
	throttles, afterResponse, held int
	throttleMax                    time.Duration
	// lastE2E is the last exchange's duration: franz-go calls the
	// throttle hook right after the E2E hook, for the same response.
	lastE2E time.Duration
}

func (m *wireMeter) begin() {
	m.mu.Lock()
	m.start = time.Now()
	m.mu.Unlock()
}

func (m *wireMeter) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != m.key || e2e.Err() != nil {
		return
	}
	n := e2e.BytesWritten
	if m.response {
		n = e2e.BytesRead
	}
	n -= 4 // the size prefix, which the broker does not count
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastE2E = e2e.DurationE2E()
	m.total += int64(n)
	if !m.start.IsZero() && time.Since(m.start) <= quotaMeasure {
		m.within += int64(n)
	}
}

func (m *wireMeter) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, afterResponse bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.throttles++
	m.throttleMax = max(m.throttleMax, d)
	if afterResponse {
		m.afterResponse++
	}
	if m.lastE2E >= d {
		m.held++
	}
}

func (m *wireMeter) snapshot() wireMeter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return wireMeter{within: m.within, total: m.total, throttles: m.throttles,
		afterResponse: m.afterResponse, held: m.held, throttleMax: m.throttleMax}
}

// produceFor produces records of tag as fast as cl takes them for
// quotaMeasure from m's begin, then waits for every acknowledgement.
// It returns how many it produced and where each was acknowledged.
func produceFor(t *testing.T, cl *kgo.Client, m *wireMeter, tag string) (int, map[int]pos) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), quotaMeasure+quotaWait)
	defer cancel()
	acks := newAckLog()
	m.begin()
	start := time.Now()
	n := 0
	for ; time.Since(start) < quotaMeasure; n++ { // Produce blocks while the buffer is full
		cl.Produce(ctx, &kgo.Record{Value: []byte(quotaValue(tag, n))}, acks.promise(n))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("waiting for the acknowledgements of %d records: %v", n, err)
	}
	acked, err := acks.result()
	if err != nil {
		t.Fatalf("producing %d records: %v", n, err)
	}
	if len(acked) != n {
		t.Fatalf("producing: got %d acknowledgements; want %d", len(acked), n)
	}
	return n, acked
}

// TestQuotaProducerThrottled: a franz-go producer (acks=all, idempotent:
// one request in flight, batches of at most 8 KiB of 1-4 KiB records)
// producing as fast as it can under a producer_byte_rate of 512 KiB/s
// for its client id gets about that rate over quotaMeasure, measured by
// the request bytes the broker counts; its responses carried throttle_time_ms;
// and every record it produced is in the log exactly once, where it was
// acknowledged, read back by an unthrottled client.
//
// Expected: the first window's 11 s × quota, plus the overshoot of the
// requests answered after the allowance was spent (each request is
// written, then throttled by how far the rate went over: with 8 KiB
// requests about half a second of quota in all), over 10.8 s: about 107%.
func TestQuotaProducerThrottled(t *testing.T) {
	b := startBroker(t)
	const topic, clientID, tag = "quota-produce", "quota-producer", "qp"
	const quota = 512 << 10
	createTopic(t, b, topic, 1)
	setClientQuota(t, b, clientID, "producer_byte_rate", quota)

	m := &wireMeter{key: 0}
	cl := newClient(t, b, kgo.ClientID(clientID), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond),
		kgo.ProducerBatchMaxBytes(8<<10), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(256), kgo.WithHooks(m))
	n, acked := produceFor(t, cl, m, tag)
	cl.Close()

	got := m.snapshot()
	t.Logf("produced %d records, %d request bytes in all; %d throttled responses, the longest throttle %v",
		n, got.total, got.throttles, got.throttleMax)
	checkRate(t, "producer above its quota", got.within, quota)
	if got.throttles == 0 {
		t.Errorf("throttled produce responses: got none; want the broker to have throttled the producer")
	}
	if got.afterResponse != got.throttles {
		t.Errorf("produce throttles applied after the response (Produce v6+, KIP-219): got %d of %d; want all", got.afterResponse, got.throttles)
	}
	recs := consumeAll(t, b, topic, quotaWait)
	checkLog(t, "after producing above the quota", recs, expect{tag: tag, acked: acked, exactly: n,
		value: func(seq int) string { return quotaValue(tag, seq) }})
}

// fillTopic produces records 0..n-1 of tag to topic, unthrottled, in
// batches of at most 16 KiB (the fetches' granularity).
func fillTopic(t *testing.T, b *broker, topic, tag string, n int) {
	t.Helper()
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(16<<10),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), quotaWait)
	defer cancel()
	acks := newAckLog()
	for seq := 0; seq < n; seq++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(quotaValue(tag, seq))}, acks.promise(seq))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("filling %s with %d records: %v", topic, n, err)
	}
	if acked, err := acks.result(); err != nil || len(acked) != n {
		t.Fatalf("filling %s: got %d acknowledgements (%v); want %d", topic, len(acked), err, n)
	}
}

// TestQuotaConsumerThrottled: a franz-go consumer under a
// consumer_byte_rate of 256 KiB/s for its client id, reading a topic
// filled with about 5 MiB (more than it may read in quotaMeasure), reads
// at about that rate over quotaMeasure, measured by the fetch response
// bytes; its
// fetch responses carried throttle_time_ms; and it reads every record.
//
// A fetch over the quota is answered without records, so the consumer
// reads in steps of its fetch size: 64 KiB here (fetch.max.bytes and
// max.partition.fetch.bytes), 2.3% of the 2.75 MiB it may read in its
// first window.
// Response bytes exceed the record bytes the broker counts by the
// response headers, about 100 bytes a fetch (under 0.2%).
func TestQuotaConsumerThrottled(t *testing.T) {
	b := startBroker(t)
	const topic, clientID, tag = "quota-fetch", "quota-consumer", "qc"
	const quota = 256 << 10
	const n = 2000 // 1-4 KiB each: about 5 MiB
	createTopic(t, b, topic, 1)
	fillTopic(t, b, topic, tag, n)
	setClientQuota(t, b, clientID, "consumer_byte_rate", quota)

	m := &wireMeter{key: 1, response: true}
	cl := newClient(t, b, kgo.ClientID(clientID),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxBytes(64<<10), kgo.FetchMaxPartitionBytes(64<<10), kgo.FetchMaxWait(500*time.Millisecond),
		kgo.WithHooks(m))
	ctx, cancel := context.WithTimeout(context.Background(), quotaMeasure+quotaWait)
	defer cancel()
	m.begin()
	var recs []seen
	for len(recs) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming under the quota: got %d of %d records within %v", len(recs), n, quotaMeasure+quotaWait)
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("consuming partition %d: got error %v; want none", fe.Partition, fe.Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			recs = append(recs, seen{r.Partition, r.Offset, r.Key, r.Value, r.Headers})
		})
	}
	cl.Close()

	got := m.snapshot()
	t.Logf("read %d records, %d response bytes in all; %d throttled responses, the longest throttle %v",
		len(recs), got.total, got.throttles, got.throttleMax)
	checkRate(t, "consumer above its quota", got.within, quota)
	if got.throttles == 0 {
		t.Errorf("throttled fetch responses: got none; want the broker to have throttled the consumer")
	}
	checkLog(t, "read under the quota", recs, expect{tag: tag, exactly: n,
		value: func(seq int) string { return quotaValue(tag, seq) }})
}

// saramaMessageOverhead is the bytes a message of the 0.10 message
// format (magic 1) takes besides its key and value: offset 8, size 4,
// crc 4, magic 1, attributes 1, timestamp 8, key and value lengths 4
// each.
const saramaMessageOverhead = 34

// TestQuotaLegacySaramaProducer: sarama speaking Kafka 0.10.2 (Produce
// v2, before KIP-219: the broker holds the answer for the throttle time
// instead of relying on the client to wait) producing as fast as it can
// under a producer_byte_rate of 512 KiB/s is slowed to about that rate
// over quotaMeasure, and every acknowledged record is in the log once.
//
// The rate counts each acknowledged message's bytes in the request
// (key, value and the message overhead); the request and message-set
// headers, about 100 bytes per request of up to 32 KiB, are left out,
// under 0.5%, well inside the tolerance. This sarama also waits out a
// response's throttle_time_ms itself, whatever the version, after the
// broker held the answer that long: it waits twice, so its rate may fall
// below the quota by what it would have sent meanwhile; with the quota's
// first burst counted, that is a few percent, and the same tolerance of
// 20% holds. TestQuotaAnswerHeldForOldProduce shows the hold with a
// client that does not wait.
func TestQuotaLegacySaramaProducer(t *testing.T) {
	b := startBroker(t)
	const topic, clientID, tag = "quota-sarama", "quota-sarama", "qs"
	const quota = 512 << 10
	createTopic(t, b, topic, 1)
	setClientQuota(t, b, clientID, "producer_byte_rate", quota)

	cfg := legacySaramaConfig(sarama.V0_10_2_0, clientID)
	cfg.Producer.Return.Errors = true
	cfg.Producer.MaxMessageBytes = 32 << 10 // also bounds a request's size
	cfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewAsyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama 0.10.2: NewAsyncProducer: %v", err)
	}
	var (
		mu     sync.Mutex
		acked  = map[int]pos{}
		within int64
		errs   []error
	)
	start := time.Now()
	var drained sync.WaitGroup
	drained.Add(2)
	go func() {
		defer drained.Done()
		for msg := range producer.Successes() {
			seq := msg.Metadata.(int)
			mu.Lock()
			acked[seq] = pos{msg.Partition, msg.Offset}
			if time.Since(start) <= quotaMeasure {
				within += int64(saramaMessageOverhead + msg.Value.Length())
			}
			mu.Unlock()
		}
	}()
	go func() {
		defer drained.Done()
		for pe := range producer.Errors() {
			mu.Lock()
			errs = append(errs, pe.Err)
			mu.Unlock()
		}
	}()
	n := 0
	stop := time.After(quotaMeasure)
produce:
	for ; ; n++ {
		msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(quotaValue(tag, n)), Metadata: n}
		select {
		case producer.Input() <- msg:
		case <-stop:
			break produce
		}
	}
	// sarama counts throttled responses per broker connection, and
	// forgets the count when it closes the connection: read it first.
	throttled := int64(0)
	cfg.MetricRegistry.Each(func(name string, metric any) {
		h, ok := metric.(interface{ Count() int64 })
		if ok && strings.HasPrefix(name, "throttle-time-in-ms-for-broker-") {
			throttled += h.Count()
		}
	})
	producer.AsyncClose()
	waitGroupWithin(t, "sarama's acknowledgements", &drained)

	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("sarama 0.10.2: %d records failed, the first: %v", len(errs), errs[0])
	}
	if len(acked) != n {
		t.Fatalf("sarama 0.10.2: got %d acknowledgements; want %d", len(acked), n)
	}
	t.Logf("sarama produced %d records; %d responses within %v carried a throttle", n, throttled, quotaMeasure)
	checkRate(t, "sarama 0.10.2 above its quota", within, quota)
	if throttled == 0 {
		t.Errorf("sarama's throttled responses: got none; want the broker to have throttled it")
	}
	recs := consumeAll(t, b, topic, quotaWait)
	checkLog(t, "after sarama 0.10.2 produced above the quota", recs, expect{tag: tag, acked: acked, exactly: n,
		value: func(seq int) string { return quotaValue(tag, seq) }})
}

// TestQuotaAnswerHeldForOldProduce: a client speaking Produce v2 (here
// franz-go capped at Kafka 0.10.2's versions, which, unlike sarama,
// does not wait out throttle_time_ms of a version before KIP-219) gets
// each throttled answer no sooner than its throttle after its request:
// the broker held the answer, so a client that ignores the throttle is
// slowed all the same. It produces above a producer_byte_rate of
// 64 KiB/s for 3 s, and loses nothing. The rate's window is 2 samples of
// 1 s here, not Kafka's 11: the first burst is 1-2 s of quota instead of
// 10-11 s, and the records left over after 3 s are through within the
// next 2 s rather than at 11 s.
func TestQuotaAnswerHeldForOldProduce(t *testing.T) {
	b := startBroker(t, "quota.window.num=2", "quota.window.size.seconds=1")
	const topic, clientID, tag = "quota-old", "quota-old-produce", "qo"
	createTopic(t, b, topic, 1)
	setClientQuota(t, b, clientID, "producer_byte_rate", 64<<10)

	m := &wireMeter{key: 0}
	cl := newClient(t, b, kgo.ClientID(clientID), kgo.DefaultProduceTopic(topic),
		kgo.MaxVersions(kversion.V0_10_2()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond),
		kgo.ProducerBatchMaxBytes(16<<10), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(64), kgo.WithHooks(m))
	ctx, cancel := context.WithTimeout(context.Background(), quotaWait)
	defer cancel()
	acks := newAckLog()
	m.begin()
	n := 0
	for start := time.Now(); time.Since(start) < 3*time.Second; n++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(quotaValue(tag, n))}, acks.promise(n))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("waiting for the acknowledgements of %d records: %v", n, err)
	}
	cl.Close()
	acked, err := acks.result()
	if err != nil || len(acked) != n {
		t.Fatalf("producing with Produce v2: got %d acknowledgements (%v); want %d", len(acked), err, n)
	}
	got := m.snapshot()
	t.Logf("Produce v2: %d records; %d throttled answers, %d held at least their throttle, the longest throttle %v",
		n, got.throttles, got.held, got.throttleMax)
	switch {
	case got.throttles == 0:
		t.Errorf("throttled Produce v2 answers: got none; want the broker to have throttled the client")
	case got.afterResponse != 0:
		t.Errorf("Produce v2 throttles to be waited out after the answer: got %d; want none (before KIP-219)", got.afterResponse)
	case got.held != got.throttles:
		t.Errorf("throttled Produce v2 answers that took at least their throttle: got %d of %d; want all (the broker holds them)", got.held, got.throttles)
	}
	recs := consumeAll(t, b, topic, quotaWait)
	checkLog(t, "after Produce v2 above the quota", recs, expect{tag: tag, acked: acked, exactly: n,
		value: func(seq int) string { return quotaValue(tag, seq) }})
}

// TestQuotaZooKeeperFormat: with ZooKeeper, quotas set through
// AlterClientQuotas are stored in Kafka's format, where Kafka's brokers
// and tools read them: /config/clients/<client-id> (and
// /config/users/<user>/clients/<client-id>) hold
// {"version":1,"config":{...}}, names sanitized, and /config/changes has
// a notification {"version":2,"entity_path":...} for each.
func TestQuotaZooKeeperFormat(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, "zookeeper.connect="+zk.Addr, "zookeeper.session.timeout.ms=6000")
	waitServing(t, b)
	setClientQuota(t, b, "zk app/1", "producer_byte_rate", 1048576)
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user, client := "alice", "app"
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: "user", Name: &user}, {Type: "client-id", Name: &client}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: 2048}, {Key: "request_percentage", Value: 12.5}},
	}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("AlterClientQuotas user=alice,client-id=app: got %+v, %v; want one entry without error", res, err)
	}

	zc, err := realio.DialZooKeeper(realio.ZooKeeperConfig{Connect: zk.Addr, SessionTimeout: 6 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connecting to ZooKeeper: %v", err)
	}
	defer zc.Close()
	get := func(path string) map[string]any {
		t.Helper()
		r := zc.Apply(core.CoordOp{Kind: core.CoordGet, Path: path})
		if r.Err != nil {
			t.Fatalf("reading %s from ZooKeeper: %v", path, r.Err)
		}
		var doc map[string]any
		if err := json.Unmarshal(r.Data, &doc); err != nil {
			t.Fatalf("%s: %q is not JSON: %v", path, r.Data, err)
		}
		return doc
	}
	for path, want := range map[string]string{
		"/config/clients/zk%20app%2F1":    `{"config":{"producer_byte_rate":"1048576"},"version":1}`,
		"/config/users/alice/clients/app": `{"config":{"consumer_byte_rate":"2048","request_percentage":"12.5"},"version":1}`,
	} {
		got, _ := json.Marshal(get(path)) // keys sorted
		if string(got) != want {
			t.Errorf("%s: got %s; want %s", path, got, want)
		}
	}
	r := zc.Apply(core.CoordOp{Kind: core.CoordChildren, Path: "/config/changes"})
	if r.Err != nil {
		t.Fatalf("listing /config/changes: %v", r.Err)
	}
	notes := map[string]bool{}
	for _, name := range r.Children {
		if !strings.HasPrefix(name, "config_change_") {
			t.Errorf("/config/changes/%s: want names config_change_<sequence>", name)
		}
		doc := get("/config/changes/" + name)
		if doc["version"] != 2.0 {
			t.Errorf("/config/changes/%s: got %v; want version 2", name, doc)
		}
		notes[fmt.Sprint(doc["entity_path"])] = true
	}
	for _, want := range []string{"clients/zk%20app%2F1", "users/alice/clients/app"} {
		if !notes[want] {
			t.Errorf("/config/changes: got notifications for %v; want one with entity_path %q", notes, want)
		}
	}
}

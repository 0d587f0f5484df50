package core_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

func TestProduceAssignsOffsetsByRewritingHeader(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	for i, want := range []int64{0, 3, 6} {
		got := h.produce("t", 0, batchOpts{records: 3})
		if got.ErrorCode != 0 || got.BaseOffset != want {
			t.Fatalf("produce %d: got error %d offset %d; want 0 and %d", i, got.ErrorCode, got.BaseOffset, want)
		}
	}
	tp := core.TopicPartition{Topic: "t", Partition: 0}
	for i, b := range h.logs[tp] {
		hd, err := core.CheckBatch(b)
		if err != nil {
			t.Fatalf("stored batch %d: %v", i, err)
		}
		if want := core.Offset(3 * i); hd.BaseOffset != want {
			t.Errorf("stored batch %d base offset %d; want %d", i, hd.BaseOffset, want)
		}
	}
}

func TestAckWaitsForSyncUnderFlushPolicy(t *testing.T) {
	h := newHarness(t, map[string]string{"log.flush.interval.messages": "1"})
	h.createTopic("t", 1, nil)
	seq := h.send(1, 9, produceReq("t", 0, -1, makeBatch(batchOpts{})))
	h.deliver(notSynced)
	if r := h.response(seq); r != nil {
		t.Fatalf("produce answered before its data was synced")
	}
	fseq := h.send(2, 11, fetchReq("t", 0, 0, 0, 0))
	h.deliver(notSynced)
	fr := h.mustResponse(fseq).(*kmsg.FetchResponse)
	if p := fr.Topics[0].Partitions[0]; p.HighWatermark != 0 || len(p.RecordBatches) != 0 {
		t.Fatalf("unsynced data visible: high watermark %d, %d bytes; want 0 and 0", p.HighWatermark, len(p.RecordBatches))
	}
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.ProduceResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("got error %d offset %d; want 0 0", p.ErrorCode, p.BaseOffset)
	}
}

func TestDefaultFlushPolicyAcksOnWrite(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	seq := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})))
	for _, ev := range h.held {
		if _, ok := ev.(core.Synced); ok {
			t.Fatalf("default policy emitted a Sync for one message")
		}
	}
	h.deliverAll()
	if p := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Fatalf("got error %d; want 0", p.ErrorCode)
	}
}

func TestAcksZeroHasNoResponseBody(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	seq := h.send(1, 9, produceReq("t", 0, 0, makeBatch(batchOpts{})))
	h.deliverAll()
	if _, ok := h.mustResponse(seq).(nilResponse); !ok {
		t.Fatalf("acks=0 produce got a response body")
	}
	seq = h.send(1, 9, produceReq("t", 0, 0, makeBatch(batchOpts{badCRC: true})))
	h.deliverAll()
	if len(h.closes) != 1 || h.closes[0].Seq != seq {
		t.Fatalf("failed acks=0 produce: got closes %+v; want one close at seq %d", h.closes, seq)
	}
}

func TestIdempotentSequences(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 1}); p.ErrorCode != 45 {
		t.Fatalf("first sequence 1 on an empty partition: got %d; want OUT_OF_ORDER_SEQUENCE_NUMBER 45", p.ErrorCode)
	}
	a := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 0, records: 2})
	b := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 2, records: 2})
	if a.ErrorCode != 0 || b.ErrorCode != 0 || b.BaseOffset != 2 {
		t.Fatalf("in-sequence batches: got %d/%d at %d; want 0/0 at 2", a.ErrorCode, b.ErrorCode, b.BaseOffset)
	}
	dup := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 0, records: 2})
	if dup.ErrorCode != 0 || dup.BaseOffset != 0 {
		t.Fatalf("retried batch: got error %d offset %d; want 0 and the original offset 0", dup.ErrorCode, dup.BaseOffset)
	}
	if n := len(h.logs[core.TopicPartition{Topic: "t"}]); n != 2 {
		t.Fatalf("log holds %d batches; want 2 (the retry is not stored)", n)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 9}); p.ErrorCode != 45 {
		t.Fatalf("gap: got %d; want 45", p.ErrorCode)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 1, seq: 0}); p.ErrorCode != 0 {
		t.Fatalf("new epoch from 0: got %d; want 0", p.ErrorCode)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 4}); p.ErrorCode != 47 {
		t.Fatalf("old epoch: got %d; want INVALID_PRODUCER_EPOCH 47", p.ErrorCode)
	}
}

// A producer a partition does not know must start at sequence 0 even
// once others wrote there: its later batch arriving first (the earlier
// one was refused, say while the broker did not lead the partition yet)
// would otherwise be written ahead of it. Once max.producers.per.partition
// made the partition forget a producer, a producer it does not know going
// on past 0 may be one it forgot: UNKNOWN_PRODUCER_ID, and the producer
// starts over at 0 (under a new id or epoch).
func TestUnknownProducerStartsAtZero(t *testing.T) {
	h := newHarness(t, map[string]string{"max.producers.per.partition": "2"})
	h.createTopic("t", 1, nil)
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 0}); p.ErrorCode != 0 {
		t.Fatalf("producer 7 from 0: got %d", p.ErrorCode)
	}
	if p := h.produce("t", 0, batchOpts{pid: 8, epoch: 0, seq: 2}); p.ErrorCode != 45 {
		t.Fatalf("unknown producer 8 at sequence 2 on a written partition: got %d; want OUT_OF_ORDER_SEQUENCE_NUMBER 45", p.ErrorCode)
	}
	for _, seq := range []int32{0, 1, 2} {
		if p := h.produce("t", 0, batchOpts{pid: 8, epoch: 0, seq: seq}); p.ErrorCode != 0 {
			t.Fatalf("producer 8 at %d in order: got %d", seq, p.ErrorCode)
		}
	}
	// A third producer evicts producer 7, the least recent.
	if p := h.produce("t", 0, batchOpts{pid: 9, epoch: 0, seq: 0}); p.ErrorCode != 0 {
		t.Fatalf("producer 9 from 0: got %d", p.ErrorCode)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 1}); p.ErrorCode != 59 || p.LogStartOffset != 0 {
		t.Fatalf("evicted producer 7 going on at 1: got error %d log start %d; want UNKNOWN_PRODUCER_ID 59 with log start 0", p.ErrorCode, p.LogStartOffset)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 1, seq: 0}); p.ErrorCode != 0 || p.BaseOffset != 5 {
		t.Fatalf("producer 7 starting over at 0 under epoch 1: got error %d offset %d; want it taken at 5", p.ErrorCode, p.BaseOffset)
	}
}

func TestRecoveredProducerWindowDeduplicates(t *testing.T) {
	cfg := core.DefaultConfig()
	cfg.Seed = 1
	first := newHarnessFrom(t, cfg, core.Recovered{})
	first.createTopic("t", 1, nil)
	first.produce("t", 0, batchOpts{pid: 3, epoch: 0, seq: 0, records: 2})
	var rec core.Recovered
	// What the coordinator holds and what the segment store would scan.
	for _, e := range first.coordWrites() {
		rec.Znodes = append(rec.Znodes, e)
	}
	rec.Partitions = []core.RecoveredPartition{{Partition: core.TopicPartition{Topic: "t"}, LogEndOffset: 2,
		Producers: []core.ProducerBatch{{ProducerID: 3, ProducerEpoch: 0, FirstSeq: 0, LastSeq: 1, BaseOffset: 0, LastOffset: 1}}}}
	h := newHarnessFrom(t, cfg, rec)
	if p := h.produce("t", 0, batchOpts{pid: 3, epoch: 0, seq: 0, records: 2}); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("retry after restart: got error %d offset %d; want 0 at 0", p.ErrorCode, p.BaseOffset)
	}
	if p := h.produce("t", 0, batchOpts{pid: 3, epoch: 0, seq: 2}); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("next after restart: got error %d offset %d; want 0 at 2", p.ErrorCode, p.BaseOffset)
	}
}

func TestStorageErrorTakesPartitionOffline(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	h.failAppends = true
	if p := h.produce("t", 0, batchOpts{}); p.ErrorCode != 56 {
		t.Fatalf("failed append: got %d; want KAFKA_STORAGE_ERROR 56", p.ErrorCode)
	}
	h.failAppends = false
	if p := h.produce("t", 0, batchOpts{}); p.ErrorCode != 56 {
		t.Fatalf("produce to offline partition: got %d; want 56", p.ErrorCode)
	}
}

func TestFetchLongPoll(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	seq := h.send(2, 11, fetchReq("t", 0, 0, 500, 1))
	h.deliverAll()
	if h.response(seq) != nil {
		t.Fatalf("fetch with nothing to read answered before MaxWait")
	}
	h.produce("t", 0, batchOpts{records: 2})
	r := h.mustResponse(seq).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if r.HighWatermark != 2 || len(r.RecordBatches) == 0 {
		t.Fatalf("woken fetch: got high watermark %d with %d bytes; want 2 with data", r.HighWatermark, len(r.RecordBatches))
	}
	seq = h.send(2, 11, fetchReq("t", 0, 2, 500, 1))
	h.deliverAll()
	h.tick(499)
	if h.response(seq) != nil {
		t.Fatalf("fetch answered before its MaxWait")
	}
	h.tick(1)
	h.deliverAll()
	if r := h.mustResponse(seq).(*kmsg.FetchResponse).Topics[0].Partitions[0]; len(r.RecordBatches) != 0 || r.ErrorCode != 0 {
		t.Fatalf("expired fetch: got %d bytes error %d; want empty and 0", len(r.RecordBatches), r.ErrorCode)
	}
}

func TestFetchReturnsOneBatchOverLimit(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	h.produce("t", 0, batchOpts{records: 50})
	req := fetchReq("t", 0, 0, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 10
	req.MaxBytes = 10
	seq := h.send(2, 11, req)
	h.deliverAll()
	r := h.mustResponse(seq).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if hd, err := core.CheckBatch(r.RecordBatches); err != nil || hd.RecordCount != 50 {
		t.Fatalf("got %d bytes (%v); want the whole 50-record batch", len(r.RecordBatches), err)
	}
}

func TestUnsupportedVersionClosesConnection(t *testing.T) {
	h := newHarness(t, nil)
	seq := h.send(3, 0, kmsg.NewPtrDescribeConfigsRequest())
	if len(h.closes) != 1 || h.closes[0].Seq != seq || h.closes[0].Conn != 3 {
		t.Fatalf("DescribeConfigs v0: got closes %+v; want conn 3 closed at seq %d", h.closes, seq)
	}
}

func TestApiVersionsTooNew(t *testing.T) {
	h := newHarness(t, nil)
	h.seq++
	h.step(core.Request{Conn: 1, Seq: h.seq, Header: core.RequestHeader{Key: 18, Version: 9}, Listener: core.ProtocolPlaintext, Principal: core.PrincipalAnonymous})
	resp := h.mustResponse(h.seq).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 35 || resp.GetVersion() != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("got error %d at v%d with %d keys; want 35 at v0 with the key list", resp.ErrorCode, resp.GetVersion(), len(resp.ApiKeys))
	}
}

func TestSameSeedSameIdentities(t *testing.T) {
	ids := func() (string, [16]byte) {
		h := newHarness(t, nil)
		h.createTopic("t", 1, nil)
		req := kmsg.NewPtrMetadataRequest()
		seq := h.send(1, 12, req)
		resp := h.mustResponse(seq).(*kmsg.MetadataResponse)
		return *resp.ClusterID, resp.Topics[0].TopicID
	}
	c1, t1 := ids()
	c2, t2 := ids()
	if c1 != c2 || t1 != t2 || t1 == ([16]byte{}) {
		t.Fatalf("got cluster %s/%s topic %x/%x; want equal, non-zero ids for equal seeds", c1, c2, t1, t2)
	}
}

func TestDeleteTopicsNameAndIDTogether(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	req := kmsg.NewPtrDeleteTopicsRequest()
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic, rt.TopicID = kmsg.StringPtr("t"), [16]byte{1}
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 6, req)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code != 42 {
		t.Fatalf("got error %d; want INVALID_REQUEST 42", code)
	}
}

func TestFlushPolicies(t *testing.T) {
	syncs := func(h *harness) int {
		n := 0
		for _, ev := range h.held {
			if _, ok := ev.(core.Synced); ok {
				n++
			}
		}
		return n
	}
	t.Run("default never syncs on its own", func(t *testing.T) {
		h := newHarness(t, nil)
		h.createTopic("t", 1, nil)
		h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})))
		h.tick(60_000)
		if n := syncs(h); n != 0 {
			t.Fatalf("got %d syncs under the default policy; want 0", n)
		}
	})
	t.Run("flush.ms syncs on a tick", func(t *testing.T) {
		h := newHarness(t, map[string]string{"log.flush.interval.ms": "100"})
		h.createTopic("t", 1, nil)
		seq := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})))
		h.deliver(notSynced)
		if h.response(seq) == nil {
			t.Fatalf("flush.ms delayed the acknowledgement")
		}
		h.tick(50)
		if n := syncs(h); n != 0 {
			t.Fatalf("synced after 50 ms with flush.ms=100")
		}
		h.tick(60)
		if n := syncs(h); n != 1 {
			t.Fatalf("got %d syncs after 110 ms; want 1", n)
		}
	})
	t.Run("flush.messages counts records", func(t *testing.T) {
		h := newHarness(t, nil)
		h.createTopic("t", 1, map[string]string{"flush.messages": "5"})
		first := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{records: 3})))
		h.deliver(notSynced)
		if syncs(h) != 0 || h.response(first) == nil {
			t.Fatalf("3 of 5 messages: want no sync and an immediate acknowledgement")
		}
		second := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{records: 3})))
		h.deliver(notSynced)
		if syncs(h) != 1 || h.response(second) != nil {
			t.Fatalf("6 of 5 messages: want one sync and the acknowledgement held for it")
		}
		h.deliverAll()
		if h.response(second) == nil {
			t.Fatalf("acknowledgement missing after the sync")
		}
	})
}

func TestFailedMetadataWriteChangesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	h.failCoord = true
	logs := len(h.logs)

	ct := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "u", 2, 1
	ct.Topics = append(ct.Topics, rt)
	seq := h.send(1, 5, ct)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code == 0 {
		t.Fatalf("create with a failing coordinator: got error %d; want an error", code)
	}

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cpt := kmsg.NewCreatePartitionsRequestTopic()
	cpt.Topic, cpt.Count = "t", 3
	cp.Topics = append(cp.Topics, cpt)
	seq = h.send(1, 3, cp)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; code == 0 {
		t.Fatalf("create partitions with a failing coordinator: got no error")
	}

	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{"t"}
	seq = h.send(1, 5, dt)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code == 0 {
		t.Fatalf("delete with a failing coordinator: got no error")
	}

	md := kmsg.NewPtrMetadataRequest()
	seq = h.send(1, 12, md)
	resp := h.mustResponse(seq).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || *resp.Topics[0].Topic != "t" || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("metadata after failed writes: got %d topics; want t alone with 1 partition", len(resp.Topics))
	}
	if len(h.logs) != logs {
		t.Fatalf("got %d logs; want %d: no log may be created or deleted by a failed write", len(h.logs), logs)
	}
	if p := h.produce("t", 0, batchOpts{}); p.ErrorCode != 0 {
		t.Fatalf("produce after failed writes: got %d; want 0", p.ErrorCode)
	}
}

func TestPartitionsMax(t *testing.T) {
	h := newHarness(t, map[string]string{"max.partitions.per.broker": "4"})
	h.createTopic("t", 3, nil)
	create := func(name string, parts int32) int16 {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, 1
		req.Topics = append(req.Topics, rt)
		seq := h.send(1, 5, req)
		h.deliverAll()
		return h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	grow := func(name string, count int32) int16 {
		req := kmsg.NewPtrCreatePartitionsRequest()
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, count
		req.Topics = append(req.Topics, rt)
		seq := h.send(1, 3, req)
		h.deliverAll()
		return h.mustResponse(seq).(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode
	}
	if code := create("u", 2); code != 37 {
		t.Fatalf("3+2 partitions with a limit of 4: got %d; want INVALID_PARTITIONS 37", code)
	}
	if code := grow("t", 5); code != 37 {
		t.Fatalf("growing to 5 with a limit of 4: got %d; want 37", code)
	}
	if code := grow("t", 4); code != 0 {
		t.Fatalf("growing to 4 with a limit of 4: got %d; want 0", code)
	}
	if code := create("v", 1); code != 37 {
		t.Fatalf("a fifth partition: got %d; want 37", code)
	}
}

// TestBrokerRegisters: at its first tick a broker creates its ephemeral
// /brokers/ids/<id> with Kafka's version 5 document (advertised
// endpoint, rack, registration time) and reports Registered once the
// store confirms it.
func TestBrokerRegisters(t *testing.T) {
	h := newHarness(t, map[string]string{"broker.id": "7", "broker.rack": "r1", "advertised.listeners": "PLAINTEXT://kafka-7.example:9093"})
	h.deliverAll()
	if want := []core.Lifecycle{{Registered: true}}; !slices.Equal(h.registrations(), want) {
		t.Fatalf("lifecycle reports: got %+v; want %+v", h.registrations(), want)
	}
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/brokers/ids/7"})
	if res.Err != nil || res.Stat.EphemeralOwner != h.session {
		t.Fatalf("/brokers/ids/7: got %v, owner %d; want the broker's ephemeral node (session %d)", res.Err, res.Stat.EphemeralOwner, h.session)
	}
	var doc map[string]any
	if err := json.Unmarshal(res.Data, &doc); err != nil {
		t.Fatalf("/brokers/ids/7 document %q: %v", res.Data, err)
	}
	want := map[string]any{"version": 5.0, "host": "kafka-7.example", "port": 9093.0, "jmx_port": -1.0,
		"endpoints": []any{"PLAINTEXT://kafka-7.example:9093"}, "listener_security_protocol_map": map[string]any{"PLAINTEXT": "PLAINTEXT"},
		"features": map[string]any{}, "rack": "r1", "timestamp": strconv.FormatInt(int64(h.now)/1e6, 10)}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("/brokers/ids/7 document: got %v; want %v", doc, want)
	}
	h.tick(1000)
	h.deliverAll()
	if len(h.registrations()) != 1 {
		t.Errorf("lifecycle reports after more ticks: got %+v; want the one registration", h.lifecycles)
	}
}

// TestBrokerIDTaken: a broker whose /brokers/ids/<id> another session
// holds reports a fatal condition naming the id, and does not claim it.
func TestBrokerIDTaken(t *testing.T) {
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "3"})
	if err != nil {
		t.Fatal(err)
	}
	tree := kio.NewZTree()
	other, session := tree.OpenSession(), tree.OpenSession()
	b, err := core.New(cfg, core.Recovered{CoordSession: session})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, b: b, now: 1e12, logs: map[core.TopicPartition][][]byte{}, coord: tree, session: session}
	if res, _ := h.coord.Apply(other, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/ids/3", Parents: true, Ephemeral: true}); res.Err != nil {
		t.Fatal(res.Err)
	}
	h.exec(b.Startup(nil))
	h.step(core.Tick{Now: h.now})
	h.deliverAll()
	if r := h.registrations(); len(r) != 1 || r[0].Registered || !strings.Contains(r[0].Fatal, "broker.id 3 is registered already") {
		t.Fatalf("lifecycle reports: got %+v; want one fatal naming broker.id 3", h.lifecycles)
	}
	if res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: "/brokers/ids/3"}); res.Stat.EphemeralOwner != other {
		t.Errorf("/brokers/ids/3: owner %d; want still the other session %d", res.Stat.EphemeralOwner, other)
	}
}

// TestBrokerRegistrationRetries: a registration that failed (a storage
// error, a lost connection) is retried a second later; a retry that finds
// the node its own lost attempt created takes it as registered.
func TestBrokerRegistrationRetries(t *testing.T) {
	for _, lost := range []bool{false, true} {
		cfg, err := core.ParseProperties(map[string]string{"broker.id": "3"})
		if err != nil {
			t.Fatal(err)
		}
		tree := kio.NewZTree()
		session := tree.OpenSession()
		b, err := core.New(cfg, core.Recovered{CoordSession: session})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, b: b, now: 1e12, logs: map[core.TopicPartition][][]byte{}, coord: tree, session: session}
		h.failCoord, h.coordLoss = !lost, lost
		h.exec(b.Startup(nil))
		h.step(core.Tick{Now: h.now})
		h.deliverAll()
		h.failCoord, h.coordLoss = false, false
		h.tick(999)
		h.deliverAll()
		if len(h.registrations()) != 0 {
			t.Fatalf("lost=%v: lifecycle reports before the retry: got %+v; want none", lost, h.lifecycles)
		}
		h.tick(1)
		h.deliverAll()
		if want := []core.Lifecycle{{Registered: true}}; !slices.Equal(h.registrations(), want) {
			t.Errorf("lost=%v: lifecycle reports after the retry: got %+v; want %+v", lost, h.registrations(), want)
		}
	}
}

// TestBrokerReregistersOnNewSession: when the coordination session
// expires (its ephemeral registration with it), the broker registers
// again on the new session; the answer to an attempt begun on the old
// session is ignored.
func TestBrokerReregistersOnNewSession(t *testing.T) {
	h := newHarness(t, map[string]string{"broker.id": "2"})
	h.deliverAll()
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	if want := []core.Lifecycle{{Registered: true}, {Registered: true}}; !slices.Equal(h.registrations(), want) {
		t.Fatalf("lifecycle reports: got %+v; want %+v", h.registrations(), want)
	}
	if res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: "/brokers/ids/2"}); res.Err != nil || res.Stat.EphemeralOwner != h.session {
		t.Errorf("/brokers/ids/2 after the new session: got %v, owner %d; want the new session %d", res.Err, res.Stat.EphemeralOwner, h.session)
	}

	// A registration in flight when the session changes: its answer
	// (held) comes after the change and is ignored; the new attempt
	// registers.
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1) // emits the new registration; its completion is held
	old := h.session
	h.coord.CloseSession(old)
	h.session = h.coord.OpenSession()
	h.step(core.CoordNewSession{Session: h.session})
	h.deliverAll() // the old attempt's answer: ignored
	h.tick(1)
	h.deliverAll()
	if n := len(h.registrations()); n != 3 {
		t.Errorf("lifecycle reports after an attempt overtaken by a new session: got %+v; want one more registration", h.lifecycles)
	}
	if res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: "/brokers/ids/2"}); res.Err != nil || res.Stat.EphemeralOwner != h.session {
		t.Errorf("/brokers/ids/2 at the end: got %v, owner %d; want the newest session %d", res.Err, res.Stat.EphemeralOwner, h.session)
	}
}

// TestBrokerListsLiveBrokers: Metadata lists the brokers registered under
// /brokers/ids, following them with a watch as they come and go.
func TestBrokerListsLiveBrokers(t *testing.T) {
	h := newHarness(t, map[string]string{"broker.id": "1"})
	h.deliverAll()
	listed := func() []int32 {
		var ids []int32
		for _, br := range h.mustResponse(h.send(1, 12, kmsg.NewPtrMetadataRequest())).(*kmsg.MetadataResponse).Brokers {
			ids = append(ids, br.NodeID)
		}
		return ids
	}
	peer := h.coord.OpenSession()
	for _, id := range []string{"3", "2"} {
		doc := `{"version":5,"host":"peer-` + id + `","port":9092,"endpoints":["PLAINTEXT://peer-` + id + `:9092"],"jmx_port":-1}`
		res, fired := h.coord.Apply(peer, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/ids/" + id, Data: []byte(doc), Ephemeral: true})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		h.deliverWatches(fired)
		h.deliverAll()
	}
	if got := listed(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("Metadata brokers after two peers registered: got %v; want [1 2 3]", got)
	}
	h.deliverWatches(h.coord.CloseSession(peer))
	h.deliverAll()
	if got := listed(); !slices.Equal(got, []int32{1}) {
		t.Errorf("Metadata brokers after the peers' session ended: got %v; want [1]", got)
	}
}

// registrations are the lifecycle reports about registration.
func (h *harness) registrations() []core.Lifecycle {
	var out []core.Lifecycle
	for _, l := range h.lifecycles {
		if l.Registered || l.Fatal != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestControllerElection: a registered broker with no controller around
// takes controller epoch 1 (creating /controller_epoch) and /controller;
// while another session holds /controller it follows that holder; when
// the holder's session ends, the watch fires and it takes the next epoch.
func TestControllerElection(t *testing.T) {
	h := newHarness(t, map[string]string{"broker.id": "1"})
	h.deliverAll()
	controller := func() int32 {
		return h.mustResponse(h.send(1, 12, kmsg.NewPtrMetadataRequest())).(*kmsg.MetadataResponse).ControllerID
	}
	epochs := func() []int32 {
		var out []int32
		for _, l := range h.lifecycles {
			if l.Elected {
				out = append(out, l.ControllerEpoch)
			}
		}
		return out
	}
	if got := epochs(); !slices.Equal(got, []int32{1}) || controller() != 1 {
		t.Fatalf("a lone broker: got controller epochs %v, controller %d; want [1], 1", got, controller())
	}
	ep, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/controller_epoch"})
	ctl, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/controller"})
	var doc core.ControllerZnode
	if string(ep.Data) != "1" || json.Unmarshal(ctl.Data, &doc) != nil || doc.BrokerID != 1 || doc.Version != 2 || ctl.Stat.EphemeralOwner != h.session {
		t.Errorf("znodes: /controller_epoch %q, /controller %s (owner %d); want 1 and broker 1's, ephemeral", ep.Data, ctl.Data, ctl.Stat.EphemeralOwner)
	}

	// Another broker takes /controller after this one's session expired.
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	peer := h.coord.OpenSession()
	if res, _ := h.coord.Apply(peer, core.CoordOp{Kind: core.CoordCreate, Path: "/controller", Ephemeral: true,
		Data: []byte(`{"version":2,"brokerid":9,"timestamp":"0","kraftControllerEpoch":-1}`)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	if got := controller(); got != 9 || len(epochs()) != 1 {
		t.Fatalf("with broker 9 holding /controller: got controller %d, epochs %v; want 9, still [1]", got, epochs())
	}
	h.deliverWatches(h.coord.CloseSession(peer))
	h.deliverAll()
	if got := epochs(); !slices.Equal(got, []int32{1, 2}) || controller() != 1 {
		t.Errorf("after broker 9's session ended: got epochs %v, controller %d; want [1 2], 1", got, controller())
	}
}

// TestControllerWonOnSessionHeardOfLate: a campaign whose create runs on
// a new coordination session before the broker hears of that session
// leaves /controller held by the new session. Hearing of it, the broker
// gives up the tenure it took on the old session's terms; registered
// anew, it finds its own node on its session and takes the next epoch
// as that node's holder: nobody else may campaign while the node stands,
// so without it the cluster has no controller and a topic created now
// never gets a leader.
func TestControllerWonOnSessionHeardOfLate(t *testing.T) {
	h := newHarness(t, map[string]string{"broker.id": "1"})
	h.deliverAll()
	epochs := func() []int32 {
		var out []int32
		for _, l := range h.lifecycles {
			if l.Elected {
				out = append(out, l.ControllerEpoch)
			}
		}
		return out
	}
	if got := epochs(); !slices.Equal(got, []int32{1}) {
		t.Fatalf("a lone broker: got controller epochs %v; want [1]", got)
	}

	// The session expires (its /controller goes) and the store runs the
	// broker's operations on the new session from then on; the broker
	// sees /controller gone and campaigns before it hears of the change.
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	h.step(core.CoordWatchFired{Path: "/controller", Type: core.WatchNodeDeleted})
	h.deliverAll()
	ctl, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/controller"})
	if ctl.Err != nil || ctl.Stat.EphemeralOwner != h.session {
		t.Fatalf("/controller after the campaign: got %v, owner %d; want the new session %d", ctl.Err, ctl.Stat.EphemeralOwner, h.session)
	}
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	controller := h.mustResponse(h.send(1, 12, kmsg.NewPtrMetadataRequest())).(*kmsg.MetadataResponse).ControllerID
	if got := epochs(); controller != 1 || len(got) != 3 || got[2] <= got[1] {
		t.Errorf("after registering on the new session: got controller %d, epochs %v; want 1, a third, newer epoch", controller, got)
	}

	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 1000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "late", 1, 1
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 5, req)
	h.deliverAll()
	h.tick(1001)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Errorf("CreateTopics after the new session: got error %d; want 0 (its partition led)", code)
	}
}

// TestUnknownProducerPastLogStart: a log that no longer starts at 0 may
// lack a producer whose batches all lay below its start (a follower that
// started over at its leader's log start never saw them). Such a
// producer's next batch is answered UNKNOWN_PRODUCER_ID with the log
// start offset, not taken: it may have overtaken a predecessor the
// producer sends again. The producer starts over at 0. A log from 0 still
// refuses a producer it does not know past sequence 0 as out of order.
func TestUnknownProducerPastLogStart(t *testing.T) {
	cfg := core.DefaultConfig()
	cfg.Seed = 1
	first := newHarnessFrom(t, cfg, core.Recovered{})
	first.createTopic("t", 2, nil)
	var rec core.Recovered
	for _, e := range first.coordWrites() {
		rec.Znodes = append(rec.Znodes, e)
	}
	rec.Partitions = []core.RecoveredPartition{
		{Partition: core.TopicPartition{Topic: "t", Partition: 0}, LogStartOffset: 10, LogEndOffset: 10},
		{Partition: core.TopicPartition{Topic: "t", Partition: 1}, LogStartOffset: 0, LogEndOffset: 0},
	}
	h := newHarnessFrom(t, cfg, rec)
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 0, seq: 5}); p.ErrorCode != 59 || p.LogStartOffset != 10 {
		t.Errorf("unknown producer 7 at sequence 5, log starting at 10: got error %d log start %d; want UNKNOWN_PRODUCER_ID 59 with log start 10", p.ErrorCode, p.LogStartOffset)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 1, seq: 0}); p.ErrorCode != 0 || p.BaseOffset != 10 {
		t.Errorf("producer 7 starting over at 0 under epoch 1: got error %d offset %d; want it taken at 10", p.ErrorCode, p.BaseOffset)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 1, seq: 1}); p.ErrorCode != 0 || p.BaseOffset != 11 {
		t.Errorf("producer 7 going on at 1: got error %d offset %d; want it taken at 11", p.ErrorCode, p.BaseOffset)
	}
	if p := h.produce("t", 0, batchOpts{pid: 7, epoch: 1, seq: 1}); p.ErrorCode != 0 || p.BaseOffset != 11 {
		t.Errorf("producer 7 retrying at 1: got error %d offset %d; want the duplicate answered at 11", p.ErrorCode, p.BaseOffset)
	}
	if p := h.produce("t", 1, batchOpts{pid: 7, epoch: 0, seq: 5}); p.ErrorCode != 45 {
		t.Errorf("unknown producer 7 at sequence 5, log from 0: got %d; want OUT_OF_ORDER_SEQUENCE_NUMBER 45", p.ErrorCode)
	}
}

// TestRecoveryCheckpointInterval: CheckpointRecovery comes every
// log.flush.offset.checkpoint.interval.ms of the broker's clock, counted
// from its first tick (the harness's own; the runtime checkpointed at
// start), and at every later tick with 0.
func TestRecoveryCheckpointInterval(t *testing.T) {
	for _, c := range []struct {
		interval string
		ticksMs  []int64
		want     int
	}{
		{"", []int64{10, 30000, 29000, 2000, 60000}, 2},  // default 60000: at 61000 and 121000 after the first
		{"1000", []int64{10, 999, 1, 500, 500, 5000}, 3}, // at 1009, 2010 and 7010
		{"0", []int64{10, 1, 1, 1}, 4},                   // every tick after the first
		{"2147483647", []int64{10, 1 << 30, 1 << 29}, 0}, // not within 25 days
	} {
		props := map[string]string{}
		if c.interval != "" {
			props["log.flush.offset.checkpoint.interval.ms"] = c.interval
		}
		h := newHarness(t, props)
		h.recoveryCheckpoints = 0
		for _, ms := range c.ticksMs {
			h.tick(ms)
		}
		if h.recoveryCheckpoints != c.want {
			t.Errorf("interval %q, ticks %v: got %d CheckpointRecovery; want %d", c.interval, c.ticksMs, h.recoveryCheckpoints, c.want)
		}
	}
}

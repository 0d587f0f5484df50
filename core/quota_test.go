package core_test

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Client quotas (quota.go): which entity's quota a request counts
// against, the throttle a produce or a consumer's fetch over it earns,
// the store in Kafka's /config layout, AlterClientQuotas and
// DescribeClientQuotas. Quotas are set through AlterClientQuotas as an
// administrator sets them, or written into the store as another broker
// writes them. Unless a test says otherwise the window is Kafka's
// default, 11 samples of 1 s: a sensor's first record is measured over
// the 10 s of the samples less one, so a first record of n bytes is a
// rate of n/10 bytes per second.

// quotaClient is who sends a request: a user (the principal's name;
// "" for a client that did not authenticate, ANONYMOUS) and a client id.
type quotaClient struct{ user, clientID string }

func (c quotaClient) principal() string {
	if c.user == "" {
		return core.PrincipalAnonymous
	}
	return "User:" + c.user
}

// sendFrom issues req at version v from c, size its size in bytes as
// the runtime received it (0: not known), and returns its seq.
func (h *harness) sendFrom(c quotaClient, v int16, req kmsg.Request, size int) uint64 {
	req.SetVersion(v)
	h.seq++
	h.step(core.Request{Conn: 3, Seq: h.seq, Header: core.RequestHeader{Key: req.Key(), Version: v, CorrelationID: int32(h.seq), ClientID: c.clientID},
		Body: req, Listener: core.ProtocolPlaintext, Principal: c.principal(), Size: size})
	return h.seq
}

// quotaAnswer is a request's Respond with the Throttle effects for it
// (the longest, and whether any holds the response).
type quotaAnswer struct {
	core.Respond
	ThrottleMs   int32
	HoldResponse bool
}

// answer returns and removes the Respond effect that answers seq, and
// the throttles of seq.
func (h *harness) answer(seq uint64) quotaAnswer {
	h.t.Helper()
	var a quotaAnswer
	kept := h.throttles[:0]
	for _, th := range h.throttles {
		if th.Seq != seq {
			kept = append(kept, th)
			continue
		}
		a.ThrottleMs, a.HoldResponse = max(a.ThrottleMs, th.Ms), a.HoldResponse || th.Hold
	}
	h.throttles = kept
	for i, r := range h.resps {
		if r.Seq == seq {
			h.resps = append(h.resps[:i], h.resps[i+1:]...)
			a.Respond = r
			return a
		}
	}
	h.t.Fatalf("request %d has no response", seq)
	return a
}

// produceFrom sends one single-record batch to t-0 at version v from c,
// size bytes as received, delivers every completion, and returns the
// answer after checking that the batch was written without error and
// that the response's throttle_time_ms is at least Respond.ThrottleMs.
func (h *harness) produceFrom(c quotaClient, v int16, size int) quotaAnswer {
	h.t.Helper()
	before := len(h.logs[tp("t", 0)])
	seq := h.sendFrom(c, v, produceReq("t", 0, -1, makeBatch(batchOpts{})), size)
	h.deliverAll()
	r := h.answer(seq)
	resp := r.Body.(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		h.t.Fatalf("produce from %v: %s; want no error", c, codeName(code))
	}
	if got := len(h.logs[tp("t", 0)]); got != before+1 {
		h.t.Fatalf("produce from %v: the log has %d batches; want %d", c, got, before+1)
	}
	if resp.ThrottleMillis != r.ThrottleMs {
		h.t.Errorf("produce from %v: throttle_time_ms %d, Respond.ThrottleMs %d; want them equal", c, resp.ThrottleMillis, r.ThrottleMs)
	}
	return r
}

// produceThrottle is the throttle a produce v9 of size bytes from c
// earns; a throttled answer to a client of v6+ is never held.
func (h *harness) produceThrottle(c quotaClient, size int) int32 {
	h.t.Helper()
	r := h.produceFrom(c, 9, size)
	if r.HoldResponse {
		h.t.Errorf("produce v9 from %v: HoldResponse; want the answer sent at once (the client reads throttle_time_ms)", c)
	}
	return r.ThrottleMs
}

func tp(topic string, p int32) core.TopicPartition {
	return core.TopicPartition{Topic: topic, Partition: p}
}

// quotaEnt is an entity component of AlterClientQuotas and
// DescribeClientQuotas: a type and a name (nil: the default entity).
type quotaEnt struct {
	typ  string
	name *string
}

func qUser(n string) quotaEnt   { return quotaEnt{"user", &n} }
func qClient(n string) quotaEnt { return quotaEnt{"client-id", &n} }

var (
	qDefaultUser   = quotaEnt{typ: "user"}
	qDefaultClient = quotaEnt{typ: "client-id"}
)

// quotaOp sets a key to value, or removes it.
type quotaOp struct {
	key    string
	value  float64
	remove bool
}

func qSet(key string, v float64) quotaOp { return quotaOp{key: key, value: v} }
func qRemove(key string) quotaOp         { return quotaOp{key: key, remove: true} }

type quotaEntry struct {
	entity []quotaEnt
	ops    []quotaOp
}

func alterQuotasReq(validateOnly bool, entries ...quotaEntry) *kmsg.AlterClientQuotasRequest {
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.ValidateOnly = validateOnly
	for _, e := range entries {
		re := kmsg.NewAlterClientQuotasRequestEntry()
		for _, c := range e.entity {
			ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
			ent.Type, ent.Name = c.typ, c.name
			re.Entity = append(re.Entity, ent)
		}
		for _, o := range e.ops {
			op := kmsg.NewAlterClientQuotasRequestEntryOp()
			op.Key, op.Value, op.Remove = o.key, o.value, o.remove
			re.Ops = append(re.Ops, op)
		}
		req.Entries = append(req.Entries, re)
	}
	return req
}

// alterQuotas sends AlterClientQuotas v1 with entries and returns each
// entry's error code.
func (h *harness) alterQuotas(validateOnly bool, entries ...quotaEntry) []int16 {
	h.t.Helper()
	seq := h.send(1, 1, alterQuotasReq(validateOnly, entries...))
	h.deliverAll()
	var codes []int16
	for _, e := range h.mustResponse(seq).(*kmsg.AlterClientQuotasResponse).Entries {
		codes = append(codes, e.ErrorCode)
	}
	return codes
}

// setQuotas applies ops to entity through AlterClientQuotas, which must
// succeed.
func (h *harness) setQuotas(entity []quotaEnt, ops ...quotaOp) {
	h.t.Helper()
	if codes := h.alterQuotas(false, quotaEntry{entity, ops}); len(codes) != 1 || codes[0] != 0 {
		h.t.Fatalf("AlterClientQuotas %v %v: got %v; want [0]", entity, ops, codes)
	}
}

func ents(e ...quotaEnt) []quotaEnt { return e }

// quotaHarness starts a broker with props and the topic t (one
// partition).
func quotaHarness(t *testing.T, props map[string]string) *harness {
	t.Helper()
	h := newHarness(t, props)
	h.createTopic("t", 1, nil)
	return h
}

// TestQuotaProduceViolation is Kafka's ClientQuotaManagerTest
// testQuotaViolation through Produce: a client-id default quota of
// 500 B/s; 400 bytes a second for 10 s are within it; 2300 bytes half a
// second later make 6300 bytes over 10.5 s, 600 B/s, and earn
// (600-500)/500 × 10.5 s = 2100 ms. The records are written all the
// same. Once the burst's sample has rolled out of the window the client
// is within its quota again.
func TestQuotaProduceViolation(t *testing.T) {
	h := quotaHarness(t, nil)
	h.setQuotas(ents(qDefaultClient), qSet("producer_byte_rate", 500))
	c := quotaClient{clientID: "unknown"}
	for i := 0; i < 10; i++ {
		if ms := h.produceThrottle(c, 400); ms != 0 {
			t.Fatalf("produce %d of 400 bytes, 1 s apart: throttled %d ms; want 0", i, ms)
		}
		h.tick(1000)
	}
	h.tick(500)
	if ms := h.produceThrottle(c, 2300); ms != 2100 {
		t.Fatalf("the burst of 2300 bytes: throttled %d ms; want 2100", ms)
	}
	h.tick(2100)
	for i := 0; i < 10; i++ {
		h.produceThrottle(c, 400) // may still be throttled while the burst is in the window
		h.tick(1000)
	}
	if ms := h.produceThrottle(c, 1); ms != 0 {
		t.Errorf("once the burst rolled out of the window: throttled %d ms; want 0", ms)
	}
}

// TestQuotaProduceThrottledAnswer: a produce over producer_byte_rate is
// answered at once with throttle_time_ms to clients of Produce v6+
// (KIP-219), and held back that long for older ones; an acks=0 produce
// has no answer, but its connection is throttled all the same. The
// records are written in every case. Within the quota nothing is
// throttled.
func TestQuotaProduceThrottledAnswer(t *testing.T) {
	h := quotaHarness(t, nil)
	h.setQuotas(ents(qDefaultClient), qSet("producer_byte_rate", 500))
	// A first record of 20000 bytes: 2000 B/s, (2000-500)/500 × 10 s.
	const want = 30000

	if r := h.produceFrom(quotaClient{clientID: "within"}, 9, 5000); r.ThrottleMs != 0 || r.HoldResponse {
		t.Errorf("5000 bytes (500 B/s, the quota): ThrottleMs %d, HoldResponse %v; want 0, false", r.ThrottleMs, r.HoldResponse)
	}
	for _, v := range []int16{6, 9, 11} {
		r := h.produceFrom(quotaClient{clientID: fmt.Sprintf("v%d", v)}, v, 20000)
		if r.ThrottleMs != want || r.HoldResponse {
			t.Errorf("Produce v%d over the quota: ThrottleMs %d, HoldResponse %v; want %d, false", v, r.ThrottleMs, r.HoldResponse, want)
		}
	}
	for _, v := range []int16{3, 5} {
		r := h.produceFrom(quotaClient{clientID: fmt.Sprintf("v%d", v)}, v, 20000)
		if r.ThrottleMs != want || !r.HoldResponse {
			t.Errorf("Produce v%d over the quota: ThrottleMs %d, HoldResponse %v; want %d, true (a client before KIP-219)", v, r.ThrottleMs, r.HoldResponse, want)
		}
	}

	before := len(h.logs[tp("t", 0)])
	seq := h.sendFrom(quotaClient{clientID: "acks0"}, 9, produceReq("t", 0, 0, makeBatch(batchOpts{})), 20000)
	h.deliverAll()
	if r := h.answer(seq); r.Body != nil || r.ThrottleMs != want {
		t.Errorf("acks=0 produce over the quota: body %v, ThrottleMs %d; want none, %d", r.Body, r.ThrottleMs, want)
	}
	if got := len(h.logs[tp("t", 0)]); got != before+1 {
		t.Errorf("acks=0 produce over the quota: the log has %d batches; want %d", got, before+1)
	}
}

// TestQuotaProduceCountsRecordBytes: a runtime that does not tell a
// request's size (Size 0) has its records' bytes counted.
func TestQuotaProduceCountsRecordBytes(t *testing.T) {
	h := quotaHarness(t, nil)
	batch := len(makeBatch(batchOpts{}))
	// A quota the batch alone (batch/10 B/s) takes over by half.
	q := math.Round(float64(batch) / 15)
	h.setQuotas(ents(qClient("app")), qSet("producer_byte_rate", q))
	want := int32(math.Round((float64(batch)/10 - q) / q * 10000))
	if ms := h.produceThrottle(quotaClient{clientID: "app"}, 0); ms != want {
		t.Errorf("a %d-byte batch, size not known: throttled %d ms; want %d", batch, ms, want)
	}
}

// throttleFor20000 is the throttle a first record of 20000 bytes
// (2000 B/s) earns under a quota of q B/s.
func throttleFor20000(q float64) int32 {
	return int32(math.Round((2000 - q) / q * 10000))
}

// TestQuotaEntityPrecedence: with all eight levels set, user alice with
// client id app is held to users/alice/clients/app; with it removed, to
// the next level, and so on down to clients/<default>, then to none.
// Each level has its own quota (100 B/s × its rank), so the throttle of
// a 20000-byte produce tells which applies. Between the steps the
// window passes, so that each measures its record alone.
func TestQuotaEntityPrecedence(t *testing.T) {
	h := quotaHarness(t, nil)
	levels := [][]quotaEnt{
		{qUser("alice"), qClient("app")},
		{qUser("alice"), qDefaultClient},
		{qUser("alice")},
		{qDefaultUser, qClient("app")},
		{qDefaultUser, qDefaultClient},
		{qDefaultUser},
		{qClient("app")},
		{qDefaultClient},
	}
	for i, l := range levels {
		h.setQuotas(l, qSet("producer_byte_rate", float64(100*(i+1))))
	}
	alice := quotaClient{user: "alice", clientID: "app"}
	for i, l := range levels {
		want := throttleFor20000(float64(100 * (i + 1)))
		if ms := h.produceThrottle(alice, 20000); ms != want {
			t.Errorf("with levels %d to 8 set, the quota of %v: throttled %d ms; want %d", i+1, l, ms, want)
		}
		h.setQuotas(l, qRemove("producer_byte_rate"))
		h.tick(11000)
	}
	if ms := h.produceThrottle(alice, 20000); ms != 0 {
		t.Errorf("with no quota set: throttled %d ms; want 0", ms)
	}
}

// TestQuotaOtherEntitiesUnaffected: an entity's quota applies to the
// users and client ids it names, and defaults to those no level names
// more closely.
func TestQuotaOtherEntitiesUnaffected(t *testing.T) {
	h := quotaHarness(t, nil)
	h.setQuotas(ents(qUser("alice"), qClient("app")), qSet("producer_byte_rate", 100))
	h.setQuotas(ents(qDefaultUser, qClient("app")), qSet("producer_byte_rate", 200))
	h.setQuotas(ents(qClient("tool")), qSet("producer_byte_rate", 300))
	for _, tt := range []struct {
		c    quotaClient
		want int32
	}{
		{quotaClient{"alice", "app"}, throttleFor20000(100)},
		{quotaClient{"bob", "app"}, throttleFor20000(200)},
		{quotaClient{"", "app"}, throttleFor20000(200)}, // ANONYMOUS is a user as any other
		{quotaClient{"alice", "tool"}, throttleFor20000(300)},
		{quotaClient{"alice", "other"}, 0},
		{quotaClient{"alice", ""}, 0},
	} {
		if ms := h.produceThrottle(tt.c, 20000); ms != tt.want {
			t.Errorf("%+v: throttled %d ms; want %d", tt.c, ms, tt.want)
		}
	}
}

// TestQuotaSharing: a user's quota (users/<u> or users/<default>) is
// shared by all the user's client ids, and a client id's quota
// (clients/<c> or clients/<default>) by all users of that client id;
// a user and client id quota, <default> levels included, is each
// pair's own. Each of two senders sends 6000 bytes under a quota of
// 1000 B/s: 600 B/s alone, 1200 B/s together, 2000 ms.
func TestQuotaSharing(t *testing.T) {
	for _, tt := range []struct {
		entity []quotaEnt
		a, b   quotaClient
		shared bool
	}{
		{ents(qUser("alice")), quotaClient{"alice", "app1"}, quotaClient{"alice", "app2"}, true},
		{ents(qDefaultUser), quotaClient{"alice", "app1"}, quotaClient{"alice", "app2"}, true},
		{ents(qDefaultUser), quotaClient{"alice", "app"}, quotaClient{"bob", "app"}, false},
		{ents(qClient("app")), quotaClient{"alice", "app"}, quotaClient{"bob", "app"}, true},
		{ents(qDefaultClient), quotaClient{"alice", "app"}, quotaClient{"bob", "app"}, true},
		{ents(qDefaultClient), quotaClient{"alice", "app1"}, quotaClient{"alice", "app2"}, false},
		{ents(qUser("alice"), qDefaultClient), quotaClient{"alice", "app1"}, quotaClient{"alice", "app2"}, false},
		{ents(qDefaultUser, qDefaultClient), quotaClient{"alice", "app1"}, quotaClient{"alice", "app2"}, false},
		{ents(qDefaultUser, qDefaultClient), quotaClient{"alice", "app"}, quotaClient{"bob", "app"}, false},
		{ents(qUser("alice"), qClient("app")), quotaClient{"alice", "app"}, quotaClient{"alice", "app"}, true},
	} {
		h := quotaHarness(t, nil)
		h.setQuotas(tt.entity, qSet("producer_byte_rate", 1000))
		want := int32(0)
		if tt.shared {
			want = 2000
		}
		if ms := h.produceThrottle(tt.a, 6000); ms != 0 {
			t.Errorf("%v: %+v's 6000 bytes: throttled %d ms; want 0", tt.entity, tt.a, ms)
		}
		if ms := h.produceThrottle(tt.b, 6000); ms != want {
			t.Errorf("%v: %+v's 6000 bytes after %+v's: throttled %d ms; want %d", tt.entity, tt.b, tt.a, ms, want)
		}
	}
}

// TestQuotaKafkaPrecedence is Kafka's ClientQuotaManagerTest
// testQuotaConfigPrecedence through Produce: quotas set and removed at
// every level, and records of value × 11 bytes (the test's
// value × quota.window.num) at one instant, throttled or not as Kafka
// throttles them. Kafka's records of 0 bytes are a produce of one small
// batch here, whose size is not known (its records' bytes count).
func TestQuotaKafkaPrecedence(t *testing.T) {
	h := quotaHarness(t, nil)
	set := func(e []quotaEnt, q float64) { h.setQuotas(e, qSet("producer_byte_rate", q)) }
	remove := func(e []quotaEnt) { h.setQuotas(e, qRemove("producer_byte_rate")) }
	check := func(user, client string, value int, throttle bool) {
		t.Helper()
		ms := h.produceThrottle(quotaClient{user, client}, value*11)
		if (ms > 0) != throttle {
			t.Errorf("%s/%s, %d × 11 bytes: throttled %d ms; want throttled %v", user, client, value, ms, throttle)
		}
	}
	set(ents(qDefaultUser), 1000)
	set(ents(qDefaultClient), 2000)
	set(ents(qDefaultUser, qDefaultClient), 3000)
	set(ents(qUser("userA")), 4000)
	set(ents(qUser("userA"), qClient("client1")), 5000)
	set(ents(qUser("userB")), 6000)
	set(ents(qUser("userB"), qClient("client1")), 7000)
	set(ents(qUser("userB"), qDefaultClient), 8000)
	set(ents(qUser("userC")), 10000)
	set(ents(qClient("client1")), 9000)

	check("userA", "client1", 4500, false) // <user, client> over <user>
	check("userA", "client2", 4500, true)  // <user> over <client> and the defaults
	check("userA", "client3", 0, true)     // <user> shared by the user's clients
	check("userA", "client1", 0, false)    // <user, client> its own, whatever the others do

	check("userB", "client1", 8000, true)
	check("userB", "client2", 7000, false) // <user, default client> each client's own
	check("userB", "client3", 7000, false)

	check("userD", "client1", 3500, true) // <default user, default client>
	check("userD", "client2", 2500, false)
	check("userE", "client1", 2500, false)

	remove(ents(qDefaultUser, qDefaultClient)) // back to the <default user>
	check("userD", "client1", 0, false)        // another sensor: counted afresh
	check("userE", "client4", 1500, true)
	check("userF", "client4", 800, false) // <default user> shared by the user's clients
	check("userF", "client5", 800, true)

	remove(ents(qDefaultUser))          // back to the <default client>
	check("userF", "client4", 0, false) // shared by all users of the client id
	check("userF", "client5", 0, false)
	check("userF", "client5", 2500, true)
	check("userG", "client5", 0, true)

	set(ents(qUser("userA")), 8000)
	set(ents(qUser("userA"), qClient("client1")), 10000)
	check("userA", "client2", 0, false)
	check("userA", "client2", 4500, true) // the earlier records and the new
	check("userA", "client1", 0, false)
	check("userA", "client1", 6000, true)
	remove(ents(qUser("userA"), qClient("client1")))
	check("userA", "client6", 0, true) // the user's shared quota
	set(ents(qUser("userA"), qClient("client6")), 11000)
	check("userA", "client6", 8500, false)
	set(ents(qUser("userA"), qDefaultClient), 12000)
	remove(ents(qUser("userA"), qClient("client6")))
	check("userA", "client6", 4000, true) // the same sensor: the earlier records and the new
}

// fetchFrom sends a consumer's fetch v of t-0 from offset (the partition
// limited to partMax bytes) from c and returns the answer and its
// partition (nil when the answer has no topics).
func (h *harness) fetchFrom(c quotaClient, v int16, offset int64, partMax int32) (quotaAnswer, *kmsg.FetchResponseTopicPartition) {
	h.t.Helper()
	req := fetchReq("t", 0, offset, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = partMax
	seq := h.sendFrom(c, v, req, 0)
	h.deliverAll()
	r := h.answer(seq)
	resp := r.Body.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("fetch from %v at %d: %s", c, offset, codeName(resp.ErrorCode))
	}
	if resp.ThrottleMillis != r.ThrottleMs {
		h.t.Errorf("fetch from %v at %d: throttle_time_ms %d, Respond.ThrottleMs %d; want them equal", c, offset, resp.ThrottleMillis, r.ThrottleMs)
	}
	if len(resp.Topics) == 0 {
		return r, nil
	}
	p := &resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		h.t.Fatalf("fetch from %v at %d: partition error %s", c, offset, codeName(p.ErrorCode))
	}
	return r, p
}

// batchesIn counts the record batches of a fetched partition.
func batchesIn(t *testing.T, p *kmsg.FetchResponseTopicPartition) int {
	t.Helper()
	n := 0
	for data := p.RecordBatches; len(data) > 0; n++ {
		hd, err := core.ParseBatchHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		data = data[hd.Size():]
	}
	return n
}

// TestQuotaFetchThrottled is testQuotaViolation's shape for a consumer:
// a quota of b B/s, b the size of one batch. One batch a second for
// 10 s is within it (10b over 10 s). Half a second later a fetch of 5
// batches would make 15b over 10.5 s: it is answered without topics and
// throttle_time_ms (15/10.5 - 1) × 10.5 s = 4500 ms, and its bytes are
// not counted: the same fetch again earns the same 4500 ms, and once
// they passed the fetch gets its 5 batches, within the quota (10b over
// the 10 s since the oldest sample kept).
func TestQuotaFetchThrottled(t *testing.T) {
	h := quotaHarness(t, nil)
	for i := 0; i < 15; i++ {
		if p := h.produce("t", 0, batchOpts{}); p.ErrorCode != 0 {
			t.Fatalf("produce %d: %s", i, codeName(p.ErrorCode))
		}
	}
	b := len(makeBatch(batchOpts{}))
	h.setQuotas(ents(qClient("reader")), qSet("consumer_byte_rate", float64(b)))
	c := quotaClient{clientID: "reader"}
	for i := 0; i < 10; i++ {
		r, p := h.fetchFrom(c, 12, int64(i), int32(b))
		if r.ThrottleMs != 0 || p == nil || batchesIn(t, p) != 1 {
			t.Fatalf("fetch %d of one batch, 1 s apart: throttled %d ms, partition %v; want 0, one batch", i, r.ThrottleMs, p)
		}
		h.tick(1000)
	}
	h.tick(500)
	for _, attempt := range []string{"the fetch of 5 batches", "the same fetch again"} {
		r, p := h.fetchFrom(c, 12, 10, 1<<20)
		if r.ThrottleMs != 4500 || r.HoldResponse || p != nil {
			t.Fatalf("%s: ThrottleMs %d, HoldResponse %v, partition %v; want 4500, false, no topics", attempt, r.ThrottleMs, r.HoldResponse, p)
		}
	}
	h.tick(4500)
	r, p := h.fetchFrom(c, 12, 10, 1<<20)
	if r.ThrottleMs != 0 || p == nil || batchesIn(t, p) != 5 {
		t.Errorf("the fetch once 4500 ms passed: throttled %d ms, partition %v; want 0, the 5 batches", r.ThrottleMs, p)
	}
}

// TestQuotaFetchBoundedByQuotaWindow: a consumer's answer carries no
// more than its quota allows over the window's samples less one
// (100 B/s × 10 s here), at batch boundaries, as Kafka bounds it
// (ClientQuotaManager.getMaxValueInQuotaWindow): an answer over the
// quota on its own would be throttled and not counted at every attempt,
// and the consumer would never read on. Here it reads all 30 batches
// (about twice the bound), each fetch after the throttle the last one
// earned.
func TestQuotaFetchBoundedByQuotaWindow(t *testing.T) {
	h := quotaHarness(t, nil)
	const batches = 30
	for i := 0; i < batches; i++ {
		h.produce("t", 0, batchOpts{})
	}
	h.setQuotas(ents(qClient("reader")), qSet("consumer_byte_rate", 100))
	c := quotaClient{clientID: "reader"}
	offset, fetches := int64(0), 0
	for ; offset < batches && fetches < 50; fetches++ {
		r, p := h.fetchFrom(c, 12, offset, 1<<20)
		if r.ThrottleMs > 0 {
			h.tick(int64(r.ThrottleMs))
			continue
		}
		if n := len(p.RecordBatches); n > 1000 || n == 0 {
			t.Fatalf("fetch %d at %d: %d bytes; want 1 to 1000", fetches, offset, n)
		}
		offset += int64(batchesIn(t, p))
	}
	if offset < batches {
		t.Errorf("after %d fetches the consumer is at %d; want %d, all read", fetches, offset, batches)
	}
}

// TestQuotaFetchThrottledAnswer: an old consumer (Fetch before v8) over
// its quota gets the empty answer held back; a newer one at once.
func TestQuotaFetchThrottledAnswer(t *testing.T) {
	h := quotaHarness(t, nil)
	for i := 0; i < 3; i++ {
		h.produce("t", 0, batchOpts{records: 10})
	}
	h.setQuotas(ents(qDefaultClient), qSet("consumer_byte_rate", 1))
	for _, tt := range []struct {
		v    int16
		hold bool
	}{{4, true}, {7, true}, {8, false}, {12, false}} {
		r, p := h.fetchFrom(quotaClient{clientID: fmt.Sprintf("v%d", tt.v)}, tt.v, 0, 1<<20)
		if r.ThrottleMs <= 0 || r.HoldResponse != tt.hold || p != nil {
			t.Errorf("Fetch v%d over the quota: ThrottleMs %d, HoldResponse %v, partition %v; want > 0, %v, no topics", tt.v, r.ThrottleMs, r.HoldResponse, p, tt.hold)
		}
	}
}

// TestQuotaFollowerFetchNotThrottled: a follower's fetch (a replica id)
// is never counted nor throttled, whatever its client id's quota; a
// consumer with the same client id is.
func TestQuotaFollowerFetchNotThrottled(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("t", 1, map[string][]int{"0": {1, 2}})
	h.tick(1) // the lease is confirmed
	h.deliverAll()
	for i := 0; i < 3; i++ {
		seq := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{records: 10})))
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce %d: %s", i, codeName(code))
		}
	}
	h.setQuotas(ents(qDefaultClient), qSet("consumer_byte_rate", 1))
	// Kafka's replica fetchers name themselves so.
	follower := quotaClient{user: "broker", clientID: "broker-2-fetcher-0"}
	for i := 0; i < 3; i++ {
		req := fetchReq("t", 0, 0, 0, 0)
		req.ReplicaID = 2
		seq := h.sendFrom(follower, 12, req, 0)
		h.deliverAll()
		r := h.answer(seq)
		resp := r.Body.(*kmsg.FetchResponse)
		if r.ThrottleMs != 0 || resp.ThrottleMillis != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Fatalf("follower fetch %d: ThrottleMs %d, throttle_time_ms %d, topics %d; want 0, 0, the records", i, r.ThrottleMs, resp.ThrottleMillis, len(resp.Topics))
		}
	}
	// The follower catches up, so that the high watermark lets a
	// consumer read the records.
	req := fetchReq("t", 0, 30, 0, 0)
	req.ReplicaID = 2
	h.sendFrom(follower, 12, req, 0)
	h.deliverAll()
	seq := h.sendFrom(follower, 12, fetchReq("t", 0, 0, 0, 0), 0)
	h.deliverAll()
	if r := h.answer(seq); r.ThrottleMs <= 0 {
		t.Errorf("a consumer's fetch with the follower's client id: ThrottleMs %d; want > 0", r.ThrottleMs)
	}
}

// entityString names a described entity: "user=alice,client-id=<default>".
func entityString(e []kmsg.DescribeClientQuotasResponseEntryEntity) string {
	var parts []string
	for _, c := range e {
		name := "<default>"
		if c.Name != nil {
			name = *c.Name
		}
		parts = append(parts, c.Type+"="+name)
	}
	return strings.Join(parts, ",")
}

// describeComp is a DescribeClientQuotas filter component.
type describeComp struct {
	typ   string
	match kmsg.QuotasMatchType
	name  *string
}

func exact(typ, name string) describeComp { return describeComp{typ, kmsg.QuotasMatchTypeExact, &name} }
func dflt(typ string) describeComp        { return describeComp{typ: typ, match: kmsg.QuotasMatchTypeDefault} }
func anyOf(typ string) describeComp       { return describeComp{typ: typ, match: kmsg.QuotasMatchTypeAny} }

// describeQuotas sends DescribeClientQuotas v1 and returns the top-level
// error and the entries as "entity: key=value ..." strings, sorted.
func (h *harness) describeQuotas(strict bool, comps ...describeComp) (int16, []string) {
	h.t.Helper()
	req := kmsg.NewPtrDescribeClientQuotasRequest()
	req.Strict = strict
	for _, c := range comps {
		rc := kmsg.NewDescribeClientQuotasRequestComponent()
		rc.EntityType, rc.MatchType, rc.Match = c.typ, c.match, c.name
		req.Components = append(req.Components, rc)
	}
	seq := h.send(1, 1, req)
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.DescribeClientQuotasResponse)
	var out []string
	for _, e := range resp.Entries {
		s := entityString(e.Entity) + ":"
		for _, v := range e.Values {
			s += fmt.Sprintf(" %s=%g", v.Key, v.Value)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return resp.ErrorCode, out
}

// describedEntities is describeQuotas's entries' entities alone.
func (h *harness) describedEntities(strict bool, comps ...describeComp) []string {
	h.t.Helper()
	code, entries := h.describeQuotas(strict, comps...)
	if code != 0 {
		h.t.Fatalf("DescribeClientQuotas %v strict %v: %s", comps, strict, codeName(code))
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.SplitN(e, ":", 2)[0])
	}
	sort.Strings(out)
	return out
}

// TestAlterClientQuotasStoreFormat: each entity's document is written
// where and as Kafka writes it, names sanitized, <default> as is, the
// byte rates as whole numbers, and each change announced with a
// /config/changes notification naming the entity.
func TestAlterClientQuotasStoreFormat(t *testing.T) {
	h := quotaHarness(t, nil)
	for _, tt := range []struct {
		entity []quotaEnt
		ops    []quotaOp
		path   string
		doc    string
	}{
		{ents(qUser("alice"), qClient("app")), []quotaOp{qSet("producer_byte_rate", 1024), qSet("consumer_byte_rate", 2048.0000001)},
			"users/alice/clients/app", `{"version":1,"config":{"producer_byte_rate":"1024","consumer_byte_rate":"2048"}}`},
		{ents(qUser("alice")), []quotaOp{qSet("request_percentage", 12.5), qSet("controller_mutation_rate", 3)},
			"users/alice", `{"version":1,"config":{"request_percentage":"12.5","controller_mutation_rate":"3"}}`},
		{ents(qDefaultUser), []quotaOp{qSet("producer_byte_rate", 1)},
			"users/<default>", `{"version":1,"config":{"producer_byte_rate":"1"}}`},
		{ents(qUser("alice"), qDefaultClient), []quotaOp{qSet("producer_byte_rate", 2)},
			"users/alice/clients/<default>", `{"version":1,"config":{"producer_byte_rate":"2"}}`},
		{ents(qDefaultClient, qDefaultUser), []quotaOp{qSet("producer_byte_rate", 3)},
			"users/<default>/clients/<default>", `{"version":1,"config":{"producer_byte_rate":"3"}}`},
		{ents(qClient("my app*")), []quotaOp{qSet("consumer_byte_rate", 4)},
			"clients/my%20app%2A", `{"version":1,"config":{"consumer_byte_rate":"4"}}`},
		{ents(qDefaultClient), []quotaOp{qSet("consumer_byte_rate", 5)},
			"clients/<default>", `{"version":1,"config":{"consumer_byte_rate":"5"}}`},
		{ents(qUser("CN=x,O=y"), qClient("app")), []quotaOp{qSet("consumer_byte_rate", 6)},
			"users/CN%3Dx%2CO%3Dy/clients/app", `{"version":1,"config":{"consumer_byte_rate":"6"}}`},
	} {
		h.setQuotas(tt.entity, tt.ops...)
		data, ok := h.znode("/config/" + tt.path)
		if !ok || !sameJSON(t, data, tt.doc) {
			t.Errorf("%v: /config/%s holds %q (exists %v); want %s", tt.entity, tt.path, data, ok, tt.doc)
		}
		notes := h.notifications("/config/changes")
		want := `{"version":2,"entity_path":"` + tt.path + `"}`
		if len(notes) == 0 || !sameJSON(t, []byte(notes[len(notes)-1]), want) {
			t.Errorf("%v: the last notification is %q; want %s", tt.entity, notes, want)
		}
	}
}

// TestAlterClientQuotasKeepsOtherEntries: a user's document keeps its
// SCRAM credentials when quotas are set and removed; removing a key
// leaves the others; removing the last leaves the document without
// quotas, and the quota no longer applies.
func TestAlterClientQuotasKeepsOtherEntries(t *testing.T) {
	h := quotaHarness(t, nil)
	const cred = "salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096"
	h.asPeer(core.CoordOp{Kind: core.CoordSet, Path: "/config/users/alice", Data: []byte(`{"version":1,"config":{"SCRAM-SHA-256":"` + cred + `"}}`),
		Version: core.CoordAnyVersion, Upsert: true})
	h.setQuotas(ents(qUser("alice")), qSet("producer_byte_rate", 500), qSet("consumer_byte_rate", 700))
	check := func(stage, doc string) {
		t.Helper()
		if data, _ := h.znode("/config/users/alice"); !sameJSON(t, data, doc) {
			t.Errorf("%s: /config/users/alice holds %s; want %s", stage, data, doc)
		}
	}
	check("quotas set", `{"version":1,"config":{"SCRAM-SHA-256":"`+cred+`","producer_byte_rate":"500","consumer_byte_rate":"700"}}`)
	if ms := h.produceThrottle(quotaClient{"alice", "app"}, 20000); ms != throttleFor20000(500) {
		t.Errorf("quotas set: throttled %d ms; want %d", ms, throttleFor20000(500))
	}

	h.setQuotas(ents(qUser("alice")), qRemove("producer_byte_rate"))
	check("producer_byte_rate removed", `{"version":1,"config":{"SCRAM-SHA-256":"`+cred+`","consumer_byte_rate":"700"}}`)
	if _, got := h.describeQuotas(true, exact("user", "alice")); !slices.Equal(got, []string{"user=alice: consumer_byte_rate=700"}) {
		t.Errorf("described after the removal: %q; want only consumer_byte_rate=700", got)
	}
	h.tick(11000)
	if ms := h.produceThrottle(quotaClient{"alice", "app"}, 20000); ms != 0 {
		t.Errorf("producer_byte_rate removed: throttled %d ms; want 0", ms)
	}

	h.setQuotas(ents(qUser("alice")), qRemove("consumer_byte_rate"), qRemove("request_percentage"))
	check("every quota removed", `{"version":1,"config":{"SCRAM-SHA-256":"`+cred+`"}}`)
	if _, got := h.describeQuotas(false); len(got) != 0 {
		t.Errorf("described with no quota left: %q; want none", got)
	}
}

// TestAlterClientQuotasInvalid: an entry that cannot be stored gets
// INVALID_REQUEST and nothing of it is written (no document, no
// notification, no quota); the valid entries of the same request are.
func TestAlterClientQuotasInvalid(t *testing.T) {
	empty := ""
	for _, tt := range []struct {
		name  string
		entry quotaEntry
	}{
		{"empty entity", quotaEntry{nil, []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"empty user name", quotaEntry{ents(quotaEnt{"user", &empty}), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"empty client id", quotaEntry{ents(qUser("bob"), quotaEnt{"client-id", &empty}), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"user twice", quotaEntry{ents(qUser("bob"), qUser("carol")), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"client id twice", quotaEntry{ents(qClient("x"), qDefaultClient), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"unknown type", quotaEntry{ents(quotaEnt{"group", kmsg.StringPtr("g")}), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"unknown type with a user", quotaEntry{ents(qUser("bob"), quotaEnt{"topic", kmsg.StringPtr("t")}), []quotaOp{qSet("producer_byte_rate", 1)}}},
		{"ip", quotaEntry{ents(quotaEnt{"ip", kmsg.StringPtr("10.0.0.1")}), []quotaOp{qSet("connection_creation_rate", 10)}}},
		{"unknown key", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("producer_byte_rate", 1), qSet("fetch_rate", 1)}}},
		{"fraction", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("producer_byte_rate", 1.5)}}},
		{"fraction of consumer_byte_rate", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("consumer_byte_rate", 1000.25)}}},
		{"zero", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("consumer_byte_rate", 1), qSet("producer_byte_rate", 0)}}},
		{"negative", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("request_percentage", -1)}}},
		{"not a number", quotaEntry{ents(qUser("bob")), []quotaOp{qSet("producer_byte_rate", math.NaN())}}},
	} {
		h := quotaHarness(t, nil)
		before := h.coordWrites()
		valid := quotaEntry{ents(qUser("dave")), []quotaOp{qSet("producer_byte_rate", 1000)}}
		codes := h.alterQuotas(false, tt.entry, valid)
		if want := []int16{kerr.InvalidRequest.Code, 0}; !slices.Equal(codes, want) {
			t.Errorf("%s: got %v; want %v (the valid entry stored)", tt.name, codes, want)
		}
		var written []string
		for _, z := range h.coordWrites() {
			if !slices.ContainsFunc(before, func(b core.Znode) bool { return b.Path == z.Path && string(b.Data) == string(z.Data) }) {
				written = append(written, z.Path)
			}
		}
		// sorted by path: the notification, then the document
		if len(written) != 2 || !strings.HasPrefix(written[0], "/config/changes/config_change_") || written[1] != "/config/users/dave" {
			t.Errorf("%s: written %q; want the valid entry's document and its notification alone", tt.name, written)
		}
		if _, got := h.describeQuotas(false); !slices.Equal(got, []string{"user=dave: producer_byte_rate=1000"}) {
			t.Errorf("%s: described %q; want the valid entry's alone", tt.name, got)
		}
		if ms := h.produceThrottle(quotaClient{"bob", "x"}, 20000); ms != 0 {
			t.Errorf("%s: bob throttled %d ms; want 0", tt.name, ms)
		}
	}
}

// TestAlterClientQuotasValidateOnly: a valid request with ValidateOnly
// is answered NONE and changes nothing; an invalid one gets its error.
func TestAlterClientQuotasValidateOnly(t *testing.T) {
	h := quotaHarness(t, nil)
	before := h.coordWrites()
	codes := h.alterQuotas(true,
		quotaEntry{ents(qDefaultClient), []quotaOp{qSet("producer_byte_rate", 500)}},
		quotaEntry{ents(qUser("bob")), []quotaOp{qSet("producer_byte_rate", 0.5)}})
	if want := []int16{0, kerr.InvalidRequest.Code}; !slices.Equal(codes, want) {
		t.Errorf("validate only: got %v; want %v", codes, want)
	}
	if after := h.coordWrites(); !slices.EqualFunc(before, after, func(a, b core.Znode) bool { return a.Path == b.Path && string(a.Data) == string(b.Data) }) {
		t.Errorf("validate only: the store changed from %d to %d znodes; want it unchanged", len(before), len(after))
	}
	if ms := h.produceThrottle(quotaClient{"", "app"}, 20000); ms != 0 {
		t.Errorf("validate only: throttled %d ms; want 0 (no quota applied)", ms)
	}
}

// TestDescribeClientQuotasFilters: each filter lists the entities Kafka
// lists. Stored: every user and client id level, and a user whose
// document has SCRAM credentials only (no quota: never listed).
func TestDescribeClientQuotasFilters(t *testing.T) {
	h := quotaHarness(t, nil)
	stored := []struct {
		entity []quotaEnt
		q      float64
	}{
		{ents(qUser("alice")), 1},
		{ents(qDefaultUser), 2},
		{ents(qUser("alice"), qClient("app")), 3},
		{ents(qUser("alice"), qDefaultClient), 4},
		{ents(qDefaultUser, qClient("app")), 5},
		{ents(qClient("app")), 6},
		{ents(qDefaultClient), 7},
		{ents(qUser("bob"), qClient("app")), 8},
		{ents(qUser("c d"), qClient("x/y")), 9},
	}
	for _, s := range stored {
		h.setQuotas(s.entity, qSet("producer_byte_rate", s.q))
	}
	h.asPeer(core.CoordOp{Kind: core.CoordSet, Path: "/config/users/carol", Data: []byte(`{"version":1,"config":{"SCRAM-SHA-512":"salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096"}}`),
		Version: core.CoordAnyVersion, Upsert: true})

	const (
		alice        = "user=alice"
		dUser        = "user=<default>"
		aliceApp     = "user=alice,client-id=app"
		aliceDClient = "user=alice,client-id=<default>"
		dUserApp     = "user=<default>,client-id=app"
		app          = "client-id=app"
		dClient      = "client-id=<default>"
		bobApp       = "user=bob,client-id=app"
		cdXY         = "user=c d,client-id=x/y"
	)
	all := []string{alice, dUser, aliceApp, aliceDClient, dUserApp, app, dClient, bobApp, cdXY}
	for _, tt := range []struct {
		strict bool
		comps  []describeComp
		want   []string
	}{
		{false, nil, all},
		{true, nil, nil},
		{false, []describeComp{exact("user", "alice")}, []string{alice, aliceApp, aliceDClient}},
		{true, []describeComp{exact("user", "alice")}, []string{alice}},
		{false, []describeComp{exact("user", "c d")}, []string{cdXY}},
		{false, []describeComp{exact("user", "nobody")}, nil},
		{false, []describeComp{dflt("user")}, []string{dUser, dUserApp}},
		{true, []describeComp{dflt("user")}, []string{dUser}},
		{false, []describeComp{anyOf("user")}, []string{alice, dUser, aliceApp, aliceDClient, dUserApp, bobApp, cdXY}},
		{true, []describeComp{anyOf("user")}, []string{alice, dUser}},
		{false, []describeComp{exact("client-id", "app")}, []string{aliceApp, dUserApp, app, bobApp}},
		{true, []describeComp{exact("client-id", "app")}, []string{app}},
		{false, []describeComp{dflt("client-id")}, []string{aliceDClient, dClient}},
		{true, []describeComp{anyOf("client-id")}, []string{app, dClient}},
		{true, []describeComp{exact("user", "alice"), dflt("client-id")}, []string{aliceDClient}},
		{false, []describeComp{dflt("client-id"), exact("user", "alice")}, []string{aliceDClient}},
		{true, []describeComp{anyOf("user"), exact("client-id", "app")}, []string{aliceApp, dUserApp, bobApp}},
		{true, []describeComp{dflt("user"), anyOf("client-id")}, []string{dUserApp}},
		{true, []describeComp{anyOf("user"), anyOf("client-id")}, []string{aliceApp, aliceDClient, dUserApp, bobApp, cdXY}},
	} {
		got := h.describedEntities(tt.strict, tt.comps...)
		want := slices.Clone(tt.want)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("filter %v strict %v: got %q; want %q", tt.comps, tt.strict, got, want)
		}
	}
	if _, got := h.describeQuotas(true, exact("user", "alice"), exact("client-id", "app")); !slices.Equal(got, []string{"user=alice,client-id=app: producer_byte_rate=3"}) {
		t.Errorf("alice/app's values: %q; want producer_byte_rate=3", got)
	}
}

// TestDescribeClientQuotasInvalidFilters: Kafka's answers to filters it
// refuses: ip with user or client-id, a type twice or empty:
// INVALID_REQUEST; a custom type: UNSUPPORTED_VERSION. An ip filter
// alone lists nothing (no ip quotas).
func TestDescribeClientQuotasInvalidFilters(t *testing.T) {
	h := quotaHarness(t, nil)
	h.setQuotas(ents(qUser("alice")), qSet("producer_byte_rate", 1))
	for _, tt := range []struct {
		name  string
		comps []describeComp
		want  int16
	}{
		{"ip with user", []describeComp{anyOf("ip"), exact("user", "alice")}, kerr.InvalidRequest.Code},
		{"client-id with ip", []describeComp{dflt("client-id"), exact("ip", "10.0.0.1")}, kerr.InvalidRequest.Code},
		{"user twice", []describeComp{exact("user", "alice"), anyOf("user")}, kerr.InvalidRequest.Code},
		{"empty type", []describeComp{anyOf("")}, kerr.InvalidRequest.Code},
		// Kafka fails these two with UNKNOWN_SERVER_ERROR (its
		// filter's null checks); Cloud Kafka names the fault.
		{"exact without a name", []describeComp{{typ: "user", match: kmsg.QuotasMatchTypeExact}}, kerr.InvalidRequest.Code},
		{"match type 3", []describeComp{{typ: "user", match: 3}}, kerr.InvalidRequest.Code},
		{"custom type", []describeComp{anyOf("group")}, kerr.UnsupportedVersion.Code},
		{"ip alone", []describeComp{anyOf("ip")}, 0},
	} {
		code, got := h.describeQuotas(false, tt.comps...)
		if code != tt.want || len(got) != 0 {
			t.Errorf("%s: got %s with %q; want %s with no entries", tt.name, codeName(code), got, codeName(tt.want))
		}
	}
}

// TestClientQuotasAuthorization: with the authorizer on, a user without
// ACLs may neither describe (DescribeConfigs on the cluster) nor alter
// (AlterConfigs) quotas, and nothing is written; a super user may.
func TestClientQuotasAuthorization(t *testing.T) {
	h, _ := aclHarness(t, nil)
	bobs := aclClient{principal: bob, host: "/10.0.0.2"}
	before := h.coordWrites()
	seq, _ := h.sendAs(bobs, 1, alterQuotasReq(false, quotaEntry{ents(qDefaultClient), []quotaOp{qSet("producer_byte_rate", 1)}}))
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.AlterClientQuotasResponse); len(resp.Entries) != 1 || resp.Entries[0].ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("AlterClientQuotas by bob: %+v; want CLUSTER_AUTHORIZATION_FAILED", resp.Entries)
	}
	if after := h.coordWrites(); len(after) != len(before) {
		t.Errorf("AlterClientQuotas by bob: %d znodes, %d before; want none written", len(after), len(before))
	}
	seq, _ = h.sendAs(bobs, 1, kmsg.NewPtrDescribeClientQuotasRequest())
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.DescribeClientQuotasResponse); resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code || len(resp.Entries) != 0 {
		t.Errorf("DescribeClientQuotas by bob: %s, %d entries; want CLUSTER_AUTHORIZATION_FAILED, none", codeName(resp.ErrorCode), len(resp.Entries))
	}

	seq, _ = h.sendAs(aclAdmin, 1, alterQuotasReq(false, quotaEntry{ents(qDefaultClient), []quotaOp{qSet("producer_byte_rate", 1)}}))
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.AlterClientQuotasResponse); len(resp.Entries) != 1 || resp.Entries[0].ErrorCode != 0 {
		t.Errorf("AlterClientQuotas by the super user: %+v; want NONE", resp.Entries)
	}
	seq, _ = h.sendAs(aclAdmin, 1, kmsg.NewPtrDescribeClientQuotasRequest())
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.DescribeClientQuotasResponse); resp.ErrorCode != 0 || len(resp.Entries) != 1 {
		t.Errorf("DescribeClientQuotas by the super user: %s, %d entries; want NONE, 1", codeName(resp.ErrorCode), len(resp.Entries))
	}
}

// TestQuotaWrittenByAnotherBroker: a quota another broker writes applies
// here once its notification arrives (not before), and so does its
// removal.
func TestQuotaWrittenByAnotherBroker(t *testing.T) {
	h := quotaHarness(t, nil)
	c := quotaClient{"alice", "app"}
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: "/config/users/alice/clients/app", Data: []byte(`{"version":1,"config":{"producer_byte_rate":"500"}}`), Parents: true})
	h.deliverAll()
	if ms := h.produceThrottle(c, 20000); ms != 0 {
		t.Errorf("written, not notified: throttled %d ms; want 0", ms)
	}
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: "/config/changes/config_change_", Data: []byte(`{"version":2,"entity_path":"users/alice/clients/app"}`), Sequential: true})
	h.deliverAll()
	if ms := h.produceThrottle(c, 20000); ms != throttleFor20000(500) {
		t.Errorf("notified: throttled %d ms; want %d", ms, throttleFor20000(500))
	}
	h.tick(11000)
	h.asPeer(core.CoordOp{Kind: core.CoordDelete, Path: "/config/users/alice/clients/app", Version: core.CoordAnyVersion})
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: "/config/changes/config_change_", Data: []byte(`{"version":2,"entity_path":"users/alice/clients/app"}`), Sequential: true})
	h.deliverAll()
	if ms := h.produceThrottle(c, 20000); ms != 0 {
		t.Errorf("deleted and notified: throttled %d ms; want 0", ms)
	}
}

// kafkaQuotaDocs are quota documents as Kafka writes them (its
// kafka-configs.sh), one with a value Kafka's DOUBLE keys allow, and
// one of a client id named "<default>" (sanitized, unlike the default
// entity), and two that do not parse.
var kafkaQuotaDocs = []core.Znode{
	{Path: "/config/users/alice", Data: []byte(`{"version":1,"config":{"producer_byte_rate":"500","request_percentage":"50.5"}}`)},
	{Path: "/config/clients/%3Cdefault%3E", Data: []byte(`{"version":1,"config":{"producer_byte_rate":"1"}}`)},
	{Path: "/config/clients/<default>", Data: []byte(`{"version":1,"config":{"producer_byte_rate":"1000"}}`)},
	{Path: "/config/users/bob", Data: []byte(`{"version":1,"config":{"producer_byte_rate":"not a number"}}`)},
	{Path: "/config/users/carol", Data: []byte(`not json`)},
}

// TestQuotaRecovered: quotas in the store when the broker starts apply,
// also while the store cannot be reached; a value or document that does
// not parse is left out, not fatal.
func TestQuotaRecovered(t *testing.T) {
	cfg, err := core.ParseProperties(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	h := newHarnessFrom(t, cfg, core.Recovered{Znodes: kafkaQuotaDocs})
	h.createTopic("t", 1, nil)
	for _, tt := range []struct {
		c    quotaClient
		want int32
	}{
		{quotaClient{"alice", "app"}, throttleFor20000(500)},
		{quotaClient{"bob", "app"}, throttleFor20000(1000)},    // no number: the client default
		{quotaClient{"carol", "app2"}, throttleFor20000(1000)}, // no document: the client default
		{quotaClient{"dave", "<default>"}, throttleFor20000(1)},
	} {
		if ms := h.produceThrottle(tt.c, 20000); ms != tt.want {
			t.Errorf("%+v: throttled %d ms; want %d", tt.c, ms, tt.want)
		}
	}
	if _, got := h.describeQuotas(true, exact("user", "alice")); !slices.Equal(got, []string{"user=alice: producer_byte_rate=500 request_percentage=50.5"}) {
		t.Errorf("alice described: %q; want producer_byte_rate=500 request_percentage=50.5", got)
	}
}

// TestQuotaRecoveredStoreUnreachable: a broker that starts on recovered
// quota documents enforces them before it reaches the store (it has not
// read them there). Such a broker holds requests until it is ready, up
// to queued.max.requests (1 here), and answers the rest at once: a
// produce beyond the one held is answered (its topic unknown yet), and
// throttled.
func TestQuotaRecoveredStoreUnreachable(t *testing.T) {
	cfg, err := core.ParseProperties(map[string]string{"queued.max.requests": "1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	b, err := core.New(cfg, core.Recovered{Znodes: kafkaQuotaDocs})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, b: b, now: 1e12, logs: map[core.TopicPartition][][]byte{}, failCoord: true}
	h.exec(b.Startup(nil))
	h.step(core.Tick{Now: h.now})
	h.deliverAll()
	alice := quotaClient{"alice", "app"}
	held := h.sendFrom(alice, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})), 100)
	seq := h.sendFrom(alice, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})), 20000)
	h.deliverAll()
	if h.response(held) != nil {
		t.Fatal("the first request was answered; want it held until the broker is ready")
	}
	r := h.answer(seq)
	if r.ThrottleMs != throttleFor20000(500) {
		t.Errorf("alice's produce before the store was reached: throttled %d ms; want %d", r.ThrottleMs, throttleFor20000(500))
	}
}

// TestQuotaSensorsBounded: beyond quota.sensors.max the sensors that
// recorded nothing for a whole window are forgotten first, then the
// longest idle: a forgotten client's bytes no longer count.
func TestQuotaSensorsBounded(t *testing.T) {
	h := quotaHarness(t, map[string]string{"quota.sensors.max": "2"})
	h.setQuotas(ents(qDefaultClient), qSet("producer_byte_rate", 1000))
	a, b, c := quotaClient{"", "a"}, quotaClient{"", "b"}, quotaClient{"", "c"}

	// a idle for the whole window: forgotten when c needs a sensor, and b
	// kept with its bytes.
	h.produceThrottle(a, 100)
	h.tick(11000)
	h.produceThrottle(b, 6000)
	h.produceThrottle(c, 100)
	if n := h.b.QuotaSensorsForTest(); n != 2 {
		t.Errorf("sensors after the third client: %d; want 2", n)
	}
	if ms := h.produceThrottle(b, 6000); ms != 2000 {
		t.Errorf("b's second 6000 bytes: throttled %d ms; want 2000 (its sensor kept)", ms)
	}

	// None idle: the longest idle (a, then c) is forgotten.
	h.tick(11000)
	h.produceThrottle(a, 9000)
	h.tick(1)
	h.produceThrottle(c, 100)
	h.tick(1)
	if ms := h.produceThrottle(b, 100); ms != 0 {
		t.Errorf("b after the window: throttled %d ms; want 0", ms)
	}
	if n := h.b.QuotaSensorsForTest(); n != 2 {
		t.Errorf("sensors: %d; want 2", n)
	}
	if ms := h.produceThrottle(a, 9000); ms != 0 {
		t.Errorf("a's second 9000 bytes once its sensor was forgotten: throttled %d ms; want 0", ms)
	}

	// The same with room for every sensor: a is throttled.
	h2 := quotaHarness(t, nil)
	h2.setQuotas(ents(qDefaultClient), qSet("producer_byte_rate", 1000))
	h2.produceThrottle(a, 9000)
	h2.produceThrottle(c, 100)
	h2.produceThrottle(b, 100)
	if ms := h2.produceThrottle(a, 9000); ms == 0 {
		t.Errorf("a's second 9000 bytes with room for every sensor: throttled 0 ms; want > 0")
	}
}

// TestQuotaConfig: Kafka's quota properties; a quota callback class
// cannot be loaded, and windows need at least one sample of a second.
func TestQuotaConfig(t *testing.T) {
	for _, tt := range []struct {
		props map[string]string
		ok    bool
	}{
		{map[string]string{"client.quota.callback.class": "com.example.Quotas"}, false},
		{map[string]string{"client.quota.callback.class": ""}, true},
		{map[string]string{"quota.window.num": "0"}, false},
		{map[string]string{"quota.window.num": "-1"}, false},
		{map[string]string{"quota.window.size.seconds": "0"}, false},
		{map[string]string{"quota.sensors.max": "0"}, false},
		{map[string]string{"quota.window.num": "5", "quota.window.size.seconds": "2", "quota.sensors.max": "10"}, true},
	} {
		_, err := core.ParseProperties(tt.props)
		if (err == nil) != tt.ok {
			t.Errorf("%v: error %v; want ok %v", tt.props, err, tt.ok)
		}
	}
	cfg, err := core.ParseProperties(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Quota.WindowNum != 11 || cfg.Quota.WindowSizeSeconds != 1 {
		t.Errorf("defaults: %d samples of %d s; want 11 of 1 s, as Kafka", cfg.Quota.WindowNum, cfg.Quota.WindowSizeSeconds)
	}
}

// TestQuotaWindowConfigured: quota.window.num and
// quota.window.size.seconds set the window: 5 samples of 2 s measure a
// first record over 8 s, so 16000 bytes under 1000 B/s earn
// (2000-1000)/1000 × 8 s.
func TestQuotaWindowConfigured(t *testing.T) {
	h := quotaHarness(t, map[string]string{"quota.window.num": "5", "quota.window.size.seconds": "2"})
	h.setQuotas(ents(qDefaultClient), qSet("producer_byte_rate", 1000))
	if ms := h.produceThrottle(quotaClient{"", "app"}, 16000); ms != 8000 {
		t.Errorf("16000 bytes: throttled %d ms; want 8000", ms)
	}
}

// timed reports that handling request seq (sent by c as key at version v)
// took nanos, as the runtime does after the Step, and returns the
// throttle it earned (0: none) and whether the response is held.
func (h *harness) timed(c quotaClient, req kmsg.Request, v int16, nanos int64) (int32, bool) {
	h.t.Helper()
	req.SetVersion(v)
	h.seq++
	r := core.Request{Conn: 3, Seq: h.seq, Header: core.RequestHeader{Key: req.Key(), Version: v, CorrelationID: int32(h.seq), ClientID: c.clientID},
		Body: req, Listener: core.ProtocolPlaintext, Principal: c.principal()}
	h.throttles = nil
	h.step(core.RequestTimed{Request: r, Nanos: nanos})
	var ms int32
	hold := false
	for _, th := range h.throttles {
		if th.Seq == h.seq {
			ms, hold = max(ms, th.Ms), hold || th.Hold
		}
	}
	return ms, hold
}

// TestQuotaRequestPercentage: request_percentage counts each request's
// handling time as a percentage of a second, as Kafka's
// ClientRequestQuotaManager: with 1% allowed, 10 ms of handling a second
// is within it; 150 ms more half a second later make 250 ms over 10.5 s,
// 2.38%, which would earn (2.38-1)/1 × 10.5 s but is held to one window
// (1 s). The brokers' own requests and those before authentication do
// not count; a client before KIP-219 gets its answer held.
func TestQuotaRequestPercentage(t *testing.T) {
	h := quotaHarness(t, nil)
	h.setQuotas(ents(qDefaultClient), qSet("request_percentage", 1))
	c := quotaClient{clientID: "busy"}
	md := func() kmsg.Request { return kmsg.NewPtrMetadataRequest() }
	for i := 0; i < 10; i++ {
		if ms, _ := h.timed(c, md(), 12, 10e6); ms != 0 {
			t.Fatalf("request %d of 10 ms, 1 s apart: throttled %d ms; want 0", i, ms)
		}
		h.tick(1000)
	}
	h.tick(500)
	ms, hold := h.timed(c, md(), 12, 150e6)
	if ms != 1000 || hold {
		t.Fatalf("150 ms more: throttled %d ms, hold %v; want 1000 (one window, the bound), false (Metadata v12 reads throttle_time_ms)", ms, hold)
	}
	if ms, hold := h.timed(c, md(), 5, 1e6); ms != 1000 || !hold {
		t.Errorf("Metadata v5 (before KIP-219) still over: throttled %d ms, hold %v; want 1000, true", ms, hold)
	}
	exempt := []struct {
		what string
		req  kmsg.Request
		v    int16
	}{
		{"ApiVersions", kmsg.NewPtrApiVersionsRequest(), 3},
		{"SaslHandshake", kmsg.NewPtrSASLHandshakeRequest(), 1},
		{"a follower's Fetch", func() kmsg.Request { f := fetchReq("t", 0, 0, 0, 1); f.ReplicaID = 1; return f }(), 11},
		{"LeaderAndIsr", kmsg.NewPtrLeaderAndISRRequest(), 7},
	}
	for _, e := range exempt {
		if ms, _ := h.timed(c, e.req, e.v, 900e6); ms != 0 {
			t.Errorf("%s taking 900 ms: throttled %d ms; want 0 (exempt)", e.what, ms)
		}
	}
	// The default client id's quota is each client id's own: another
	// client's time is not the busy one's.
	if ms, _ := h.timed(quotaClient{clientID: "other"}, md(), 12, 1e6); ms != 0 {
		t.Errorf("another client id, 1 ms: throttled %d ms; want 0 (its own sensor, within the quota)", ms)
	}
}

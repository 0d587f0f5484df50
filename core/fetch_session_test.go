package core_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// sessionClient fetches one topic through fetch sessions at one version,
// as Kafka's FetchSessionHandler would, but with every request spelled
// out by the test.
type sessionClient struct {
	h       *harness
	v       int16
	conn    int
	topic   string
	id      [16]byte // the topic's id (v13+ address topics by it)
	maxWait int32
	replica int32 // -1: a consumer
}

func newSessionClient(h *harness, v int16, topic string) *sessionClient {
	return &sessionClient{h: h, v: v, conn: 1, topic: topic, id: metadataTopicID(h, topic), replica: -1}
}

// metadataTopicID asks Metadata for a topic's id.
func metadataTopicID(h *harness, topic string) [16]byte {
	h.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp := h.mustResponse(h.send(1, 12, req)).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		h.t.Fatalf("metadata of %s: %+v", topic, resp.Topics)
	}
	return resp.Topics[0].TopicID
}

// at is a partition listed at a fetch offset.
type at struct {
	p   int32
	off int64
}

// request builds a fetch in session (id, epoch) listing parts and
// forgetting forget.
func (c *sessionClient) request(id, epoch int32, parts []at, forget []int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.ReplicaState.ID = c.replica, c.replica
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = c.maxWait, 1, 1<<20
	req.SessionID, req.SessionEpoch = id, epoch
	// As on the wire: topics by name before v13, by id from v13.
	name, tid := c.topic, [16]byte{}
	if c.v >= 13 {
		name, tid = "", c.id
	}
	if len(parts) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = name, tid
		for _, pa := range parts {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = pa.p, pa.off, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(forget) > 0 {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.TopicID, ft.Partitions = name, tid, forget
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
	return req
}

// send issues a request and returns its seq; fetch issues one and waits
// for its answer.
func (c *sessionClient) send(req *kmsg.FetchRequest) uint64 {
	return c.h.send(core.ConnID(c.conn), c.v, req)
}

func (c *sessionClient) fetch(id, epoch int32, parts []at, forget []int32) *kmsg.FetchResponse {
	c.h.t.Helper()
	seq := c.send(c.request(id, epoch, parts, forget))
	c.h.deliverAll()
	return c.h.mustResponse(seq).(*kmsg.FetchResponse)
}

// answered lists the answer's partitions, in order, as "p<n>" with
// "+" when records came and the error's name when one did.
func answered(resp *kmsg.FetchResponse) []string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			s := fmt.Sprintf("p%d", p.Partition)
			if len(p.RecordBatches) > 0 {
				s += "+"
			}
			if p.ErrorCode != 0 {
				s += " " + kerr.ErrorForCode(p.ErrorCode).(*kerr.Error).Message
			}
			out = append(out, s)
		}
	}
	return out
}

// partitionOf finds a partition in an answer.
func partitionOf(resp *kmsg.FetchResponse, p int32) *kmsg.FetchResponseTopicPartition {
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if rp := &resp.Topics[i].Partitions[j]; rp.Partition == p {
				return rp
			}
		}
	}
	return nil
}

func wantAnswer(t *testing.T, what string, resp *kmsg.FetchResponse, code int16, want ...string) {
	t.Helper()
	if resp.ErrorCode != code {
		t.Errorf("%s: got error %d; want %d", what, resp.ErrorCode, code)
	}
	if got := answered(resp); !slices.Equal(got, want) {
		t.Errorf("%s: got partitions %q; want %q", what, got, want)
	}
}

// TestFetchSessionLifecycle runs one session through every step at each
// version with sessions (v7-16): a full fetch opens it and answers every
// partition; incremental fetches answer only what changed, take new
// fetch offsets, forget partitions; a repeated epoch, an unknown id, and
// a version on the other side of v13 are refused; epoch -1 closes it.
func TestFetchSessionLifecycle(t *testing.T) {
	for v := int16(7); v <= 16; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			h := newHarness(t, nil)
			h.createTopic("t", 3, nil)
			for p := int32(0); p < 3; p++ {
				h.produce("t", p, batchOpts{records: 2})
			}
			c := newSessionClient(h, v, "t")
			full := c.fetch(0, 0, []at{{0, 0}, {1, 0}, {2, 0}}, nil)
			wantAnswer(t, "full fetch", full, 0, "p0+", "p1+", "p2+")
			sid := full.SessionID
			if sid == 0 {
				t.Fatalf("full fetch at epoch 0: got SessionID 0; want a session")
			}
			if p := partitionOf(full, 1); p == nil || p.HighWatermark != 2 {
				t.Fatalf("full fetch: partition 1 %+v; want high watermark 2", p)
			}
			resp := c.fetch(sid, 1, []at{{0, 2}, {1, 2}, {2, 2}}, nil)
			wantAnswer(t, "incremental, nothing new", resp, 0)
			if resp.SessionID != sid {
				t.Errorf("incremental: got SessionID %d; want %d", resp.SessionID, sid)
			}
			h.produce("t", 1, batchOpts{records: 1})
			resp = c.fetch(sid, 2, nil, nil)
			wantAnswer(t, "after a produce to partition 1", resp, 0, "p1+")
			if p := partitionOf(resp, 1); p != nil && p.HighWatermark != 3 {
				t.Errorf("partition 1: got high watermark %d; want 3", p.HighWatermark)
			}
			// The session still reads partition 1 at offset 2 until the
			// fetcher says otherwise: it is answered again.
			resp = c.fetch(sid, 3, nil, nil)
			wantAnswer(t, "partition 1 not moved on", resp, 0, "p1+")
			resp = c.fetch(sid, 4, []at{{1, 3}}, []int32{2})
			wantAnswer(t, "partition 1 moved on, partition 2 forgotten", resp, 0)
			h.produce("t", 2, batchOpts{records: 1})
			h.produce("t", 0, batchOpts{records: 1})
			resp = c.fetch(sid, 5, nil, nil)
			wantAnswer(t, "after produces to the forgotten partition 2 and to 0", resp, 0, "p0+")
			wantAnswer(t, "epoch 5 again", c.fetch(sid, 5, nil, nil), kerr.InvalidFetchSessionEpoch.Code)
			wantAnswer(t, "epoch 7 (6 next)", c.fetch(sid, 7, nil, nil), kerr.InvalidFetchSessionEpoch.Code)
			wantAnswer(t, "unknown session", c.fetch(sid+1, 1, nil, nil), kerr.FetchSessionIDNotFound.Code)
			// Across v13 a session's partitions change keys (names, ids).
			other := *c
			other.v = 12
			if v <= 12 {
				other.v = 13
			}
			resp = other.fetch(sid, 6, nil, nil)
			wantAnswer(t, fmt.Sprintf("continued at v%d", other.v), resp, kerr.FetchSessionTopicIDError.Code)
			if resp.SessionID != 0 {
				t.Errorf("session error: got SessionID %d; want 0", resp.SessionID)
			}
			// The refused requests took nothing: epoch 6 is next.
			wantAnswer(t, "epoch 6", c.fetch(sid, 6, []at{{0, 3}}, nil), 0)
			resp = c.fetch(sid, -1, []at{{0, 0}}, nil)
			wantAnswer(t, "epoch -1 (final)", resp, 0, "p0+")
			if resp.SessionID != 0 {
				t.Errorf("epoch -1: got SessionID %d; want 0", resp.SessionID)
			}
			wantAnswer(t, "after epoch -1", c.fetch(sid, 7, nil, nil), kerr.FetchSessionIDNotFound.Code)
		})
	}
}

// TestFetchSessionLongPoll: a parked incremental fetch wakes on data
// for any partition of its session, listed in its request or not, and
// its answer lists only that partition.
func TestFetchSessionLongPoll(t *testing.T) {
	for _, v := range []int16{7, 12, 13, 16} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			h := newHarness(t, nil)
			h.createTopic("t", 3, nil)
			for p := int32(0); p < 3; p++ {
				h.produce("t", p, batchOpts{records: 1})
			}
			c := newSessionClient(h, v, "t")
			sid := c.fetch(0, 0, []at{{0, 1}, {1, 1}, {2, 1}}, nil).SessionID
			c.maxWait = 5000
			seq := c.send(c.request(sid, 1, []at{{0, 1}}, nil))
			h.deliverAll()
			if r := h.response(seq); r != nil {
				t.Fatalf("incremental long poll with nothing new: answered %q; want it parked", answered(r.(*kmsg.FetchResponse)))
			}
			h.produce("t", 2, batchOpts{records: 1})
			resp, ok := h.response(seq).(*kmsg.FetchResponse)
			if !ok {
				t.Fatalf("long poll not answered after a produce to partition 2 of its session")
			}
			wantAnswer(t, "woken long poll", resp, 0, "p2+")
			// It expires with nothing new: an empty answer.
			seq = c.send(c.request(sid, 2, []at{{2, 2}}, nil))
			h.deliverAll()
			h.tick(5001)
			h.deliverAll()
			wantAnswer(t, "expired long poll", h.mustResponse(seq).(*kmsg.FetchResponse), 0)
		})
	}
}

// TestFetchSessionTakenWhileParked: a parked incremental fetch whose
// session a later request took (its epoch moved on) is answered
// INVALID_FETCH_SESSION_EPOCH with the session's id, as Kafka's
// IncrementalFetchContext answers a "possible duplicate request".
func TestFetchSessionTakenWhileParked(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	c := newSessionClient(h, 12, "t")
	sid := c.fetch(0, 0, []at{{0, 0}}, nil).SessionID
	c.maxWait = 5000
	parked := c.send(c.request(sid, 1, nil, nil))
	h.deliverAll()
	c.maxWait = 0
	wantAnswer(t, "epoch 2", c.fetch(sid, 2, nil, nil), 0)
	h.produce("t", 0, batchOpts{records: 1})
	resp := h.mustResponse(parked).(*kmsg.FetchResponse)
	wantAnswer(t, "the parked epoch 1", resp, kerr.InvalidFetchSessionEpoch.Code)
	if resp.SessionID != sid {
		t.Errorf("the parked epoch 1: got SessionID %d; want %d", resp.SessionID, sid)
	}
	wantAnswer(t, "epoch 3", c.fetch(sid, 3, nil, nil), 0, "p0+")
}

// TestFetchSessionHighWatermarkAndOrder: a partition whose high
// watermark changed is answered without records when the response limit
// left no room for them, and a partition that returned records goes to
// the end of the session's order, as Kafka's IncrementalFetchContext
// does, so that the next limited answer serves the other first.
func TestFetchSessionHighWatermarkAndOrder(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 2, nil)
	c := newSessionClient(h, 11, "t")
	sid := c.fetch(0, 0, []at{{0, 0}, {1, 0}}, nil).SessionID
	h.produce("t", 0, batchOpts{records: 1})
	h.produce("t", 1, batchOpts{records: 1})
	small := func(epoch int32, parts []at) *kmsg.FetchResponse {
		req := c.request(sid, epoch, parts, nil)
		req.MaxBytes = 1 // the first partition with data gets one batch, the other none
		seq := c.send(req)
		h.deliverAll()
		return h.mustResponse(seq).(*kmsg.FetchResponse)
	}
	resp := small(1, nil)
	wantAnswer(t, "limited answer", resp, 0, "p0+", "p1")
	if p := partitionOf(resp, 1); p == nil || p.HighWatermark != 1 {
		t.Fatalf("partition 1: %+v; want high watermark 1", p)
	}
	h.produce("t", 0, batchOpts{records: 1})
	h.produce("t", 1, batchOpts{records: 1})
	resp = small(2, []at{{0, 1}})
	wantAnswer(t, "next limited answer: partition 1 first now", resp, 0, "p1+", "p0")
	resp = small(3, []at{{1, 2}})
	wantAnswer(t, "then partition 0", resp, 0, "p0+")
}

// TestFetchSessionEviction: the cache keeps max.incremental.fetch.
// session.cache.slots sessions; a full cache takes a new session only
// in the slot of one unused for the eviction time, of a smaller one that
// has lived that long, or, for a follower's, of a consumer's.
func TestFetchSessionEviction(t *testing.T) {
	h := newHarness(t, map[string]string{"max.incremental.fetch.session.cache.slots": "2"})
	h.createTopic("t", 3, nil)
	c1, c2, c3 := newSessionClient(h, 12, "t"), newSessionClient(h, 12, "t"), newSessionClient(h, 12, "t")
	c2.conn, c3.conn = 2, 3
	s1 := c1.fetch(0, 0, []at{{0, 0}}, nil).SessionID
	s2 := c2.fetch(0, 0, []at{{0, 0}, {1, 0}}, nil).SessionID
	if s1 == 0 || s2 == 0 || s1 == s2 {
		t.Fatalf("two sessions: got ids %d and %d; want two distinct non-zero ids", s1, s2)
	}
	if s3 := c3.fetch(0, 0, []at{{0, 0}, {1, 0}, {2, 0}}, nil).SessionID; s3 != 0 {
		t.Fatalf("a third session while both are new: got SessionID %d; want 0 (no room)", s3)
	}
	// Past the eviction time, both used again: neither is stale, both
	// have lived long enough to give way to a larger one.
	h.tick(121_000)
	wantAnswer(t, "session 1 used", c1.fetch(s1, 1, nil, nil), 0)
	wantAnswer(t, "session 2 used", c2.fetch(s2, 1, nil, nil), 0)
	s3 := c3.fetch(0, 0, []at{{0, 0}, {1, 0}, {2, 0}}, nil).SessionID
	if s3 == 0 {
		t.Fatalf("a larger session than an old one: got SessionID 0; want it to take the smaller's slot")
	}
	wantAnswer(t, "the evicted smaller session 1", c1.fetch(s1, 2, nil, nil), kerr.FetchSessionIDNotFound.Code)
	wantAnswer(t, "session 2", c2.fetch(s2, 2, nil, nil), 0)
	// Session 3 goes unused past the eviction time: stale, the least
	// recently used, it gives way to any.
	h.tick(60_000)
	wantAnswer(t, "session 2 used", c2.fetch(s2, 3, nil, nil), 0)
	h.tick(61_000)
	wantAnswer(t, "session 2 used", c2.fetch(s2, 4, nil, nil), 0)
	if s1 = c1.fetch(0, 0, []at{{0, 0}}, nil).SessionID; s1 == 0 {
		t.Fatalf("a session against a stale one: got SessionID 0; want the stale one's slot")
	}
	wantAnswer(t, "the stale session 3", c3.fetch(s3, 1, nil, nil), kerr.FetchSessionIDNotFound.Code)
	st := h.b.Stats()
	if st.FetchSessions != 2 || st.FetchSessionPartitions != 3 || st.FetchSessionEvictions != 2 || st.IncrementalFetches != 5 {
		t.Errorf("stats: got %d sessions of %d partitions, %d evictions, %d incremental fetches; want 2, 3, 2, 5",
			st.FetchSessions, st.FetchSessionPartitions, st.FetchSessionEvictions, st.IncrementalFetches)
	}
	// A follower's session takes the smallest consumer's slot at once
	// (session 1's, new); a consumer's never takes a follower's.
	f := newSessionClient(h, 12, "t")
	f.conn, f.replica = 4, 2
	sf := f.fetch(0, 0, []at{{0, 0}}, nil).SessionID
	if sf == 0 {
		t.Fatalf("a follower's session in a full cache of consumers' sessions: got SessionID 0; want a consumer's slot")
	}
	wantAnswer(t, "session 1, evicted by the follower's", c1.fetch(s1, 1, nil, nil), kerr.FetchSessionIDNotFound.Code)
	if s3 = c3.fetch(0, 0, []at{{0, 0}, {1, 0}, {2, 0}}, nil).SessionID; s3 == 0 {
		t.Fatalf("a larger consumer's session against old session 2: got SessionID 0; want its slot")
	}
	h.tick(121_000)
	// (Broker 2 follows nothing here: every answer is an error.)
	wantAnswer(t, "the follower's session used", f.fetch(sf, 1, nil, nil), 0, "p0 NOT_LEADER_FOR_PARTITION")
	wantAnswer(t, "session 3 used", c3.fetch(s3, 1, nil, nil), 0)
	big := []at{{0, 0}, {1, 0}, {2, 0}, {3, 0}}
	if s1 = c1.fetch(0, 0, big, nil).SessionID; s1 == 0 {
		t.Fatalf("a larger consumer's session against old session 3 and the follower's: got SessionID 0; want session 3's slot")
	}
	c2.conn = 5
	if s := c2.fetch(0, 0, append(big, at{4, 0}), nil).SessionID; s != 0 {
		t.Errorf("a consumer's session against an old follower's and a new one: got SessionID %d; want 0", s)
	}
	wantAnswer(t, "the follower's session", f.fetch(sf, 2, nil, nil), 0, "p0 NOT_LEADER_FOR_PARTITION")
}

// TestFetchSessionSlotsNone: with no slots, every fetch is answered
// without a session.
func TestFetchSessionSlotsNone(t *testing.T) {
	h := newHarness(t, map[string]string{"max.incremental.fetch.session.cache.slots": "0"})
	h.createTopic("t", 1, nil)
	c := newSessionClient(h, 16, "t")
	if resp := c.fetch(0, 0, []at{{0, 0}}, nil); resp.SessionID != 0 || resp.ErrorCode != 0 || len(answered(resp)) != 1 {
		t.Errorf("full fetch with no slots: got SessionID %d, error %d, %q; want 0, 0, one partition", resp.SessionID, resp.ErrorCode, answered(resp))
	}
}

// TestFetchSessionUnknownTopicID: a v13+ session may hold a topic id
// the broker does not know; it is answered UNKNOWN_TOPIC_ID every time,
// as Kafka answers every partition with an error.
func TestFetchSessionUnknownTopicID(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	c := newSessionClient(h, 13, "t")
	req := c.request(0, 0, []at{{0, 0}}, nil)
	ghost := kmsg.NewFetchRequestTopic()
	ghost.TopicID = [16]byte{0xee}
	gp := kmsg.NewFetchRequestTopicPartition()
	ghost.Partitions = append(ghost.Partitions, gp)
	req.Topics = append(req.Topics, ghost)
	seq := c.send(req)
	h.deliverAll()
	full := h.mustResponse(seq).(*kmsg.FetchResponse)
	wantAnswer(t, "full fetch", full, 0, "p0", "p0 UNKNOWN_TOPIC_ID")
	wantAnswer(t, "incremental", c.fetch(full.SessionID, 1, nil, nil), 0, "p0 UNKNOWN_TOPIC_ID")
	wantAnswer(t, "incremental again", c.fetch(full.SessionID, 2, nil, nil), 0, "p0 UNKNOWN_TOPIC_ID")
}

// TestFetchSessionEmptied: an incremental fetch that forgets every
// partition closes the session and is answered without one.
func TestFetchSessionEmptied(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 2, nil)
	c := newSessionClient(h, 9, "t")
	sid := c.fetch(0, 0, []at{{0, 0}, {1, 0}}, nil).SessionID
	resp := c.fetch(sid, 1, nil, []int32{0, 1})
	wantAnswer(t, "forget all", resp, 0)
	if resp.SessionID != 0 {
		t.Errorf("forget all: got SessionID %d; want 0", resp.SessionID)
	}
	wantAnswer(t, "the closed session", c.fetch(sid, 2, nil, nil), kerr.FetchSessionIDNotFound.Code)
	if n := h.b.Stats().FetchSessions; n != 0 {
		t.Errorf("sessions: got %d; want 0", n)
	}
}

// TestFetchSessionPartitionsBound: a session holds at most
// max.partitions.per.broker partitions; one that would grow past it is
// closed (FETCH_SESSION_ID_NOT_FOUND), and a full fetch of more opens
// none.
func TestFetchSessionPartitionsBound(t *testing.T) {
	h := newHarness(t, map[string]string{"max.partitions.per.broker": "3"})
	h.createTopic("t", 2, nil)
	c := newSessionClient(h, 12, "t")
	if sid := c.fetch(0, 0, []at{{0, 0}, {1, 0}, {2, 0}, {3, 0}}, nil).SessionID; sid != 0 {
		t.Errorf("full fetch of 4 partitions: got SessionID %d; want 0", sid)
	}
	sid := c.fetch(0, 0, []at{{0, 0}, {1, 0}}, nil).SessionID
	wantAnswer(t, "grow to 3", c.fetch(sid, 1, []at{{2, 0}}, nil), 0, "p2 UNKNOWN_TOPIC_OR_PARTITION")
	wantAnswer(t, "grow to 4", c.fetch(sid, 2, []at{{3, 0}}, nil), kerr.FetchSessionIDNotFound.Code)
	wantAnswer(t, "after", c.fetch(sid, 3, nil, nil), kerr.FetchSessionIDNotFound.Code)
}

// TestFollowerFetchSession: a follower's incremental fetch that lists
// no partition is still its fetch of every partition of its session at
// the offsets it last gave, as in Kafka: it reads what was written
// since, and a caught-up follower that fetches so stays in the ISR past
// replica.lag.time.max.ms.
func TestFollowerFetchSession(t *testing.T) {
	h, _ := clusterHarness(t, map[string]string{"replica.lag.time.max.ms": "10000"})
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("r", 1, map[string][]int{"0": {1, 2}, "1": {1, 2}})
	h.tick(1) // the lease is confirmed
	h.deliverAll()
	for p := int32(0); p < 2; p++ {
		seq := h.send(1, 9, produceReq("r", p, 1, makeBatch(batchOpts{records: 1})))
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce to r-%d: %s", p, codeName(code))
		}
	}
	f := newSessionClient(h, 12, "r")
	f.replica = 2
	full := f.fetch(0, 0, []at{{0, 1}, {1, 1}}, nil)
	if full.ErrorCode != 0 || full.SessionID == 0 {
		t.Fatalf("follower's full fetch: got error %d, SessionID %d; want a session", full.ErrorCode, full.SessionID)
	}
	// A follower reads what is written, past the high watermark: its
	// session's partitions are looked at whatever they told last.
	seq := h.send(1, 9, produceReq("r", 0, 1, makeBatch(batchOpts{records: 1})))
	h.deliverAll()
	h.mustResponse(seq)
	wantAnswer(t, "follower's incremental fetch after a write", f.fetch(full.SessionID, 1, nil, nil), 0, "p0+")
	resp := f.fetch(full.SessionID, 2, []at{{0, 2}}, nil)
	if p := partitionOf(resp, 0); resp.ErrorCode != 0 || p == nil || p.HighWatermark != 2 {
		t.Fatalf("follower's fetch at its new end: got error %d, %+v; want partition 0 at high watermark 2", resp.ErrorCode, p)
	}
	for epoch := int32(3); epoch <= 7; epoch++ {
		h.tick(4000)
		h.deliverAll()
		if resp := f.fetch(full.SessionID, epoch, nil, nil); resp.ErrorCode != 0 {
			t.Fatalf("follower's incremental fetch %d: error %d", epoch, resp.ErrorCode)
		}
	}
	for p := 0; p < 2; p++ {
		if _, isr, _ := h.partitionState("r", p); !slices.Contains(isr, 2) {
			t.Errorf("r-%d after 20 s of incremental follower fetches: got ISR %v; want broker 2 in it", p, isr)
		}
	}
}

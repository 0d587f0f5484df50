package core_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Leader epochs as clients and followers see them: CurrentLeaderEpoch
// fencing on Fetch (v9+), ListOffsets (v4+) and OffsetForLeaderEpoch
// (v2+), and OffsetForLeaderEpoch's answers, checked against Kafka 3.x:
// kafka.cluster.Partition (getLocalLog, checkCurrentLeaderEpoch,
// lastOffsetForLeaderEpoch), kafka.server.ReplicaManager
// (lastOffsetForLeaderEpoch, getPartitionOrError) and
// LeaderEpochFileCache (endOffsetFor, assign).

// epochFixture is broker 1 (the harness: the controller) leading "t"
// and "late" (replicas 1 and 2) with broker 2 registered elsewhere and
// following them through the Fetch requests the test sends for it;
// "f" is led by broker 2 and followed by broker 1, and "g" lives on
// broker 2 alone.
//
// "t"'s log holds offsets 0-2 at epoch 0, 3-4 at epoch 2 and 5 at epoch
// 3; epoch 1 wrote nothing. Its leader epoch is 3, its ISR [1 2] and its
// high watermark 6. "late" holds offsets 0-1 at epoch 3, its only epoch:
// it was led since epoch 0 but took its first records at epoch 3.
type epochFixture struct {
	h  *harness
	s2 int64 // broker 2's coordination session
}

const (
	topicT    = "t"    // see epochFixture
	topicLate = "late" // see epochFixture
)

// topicIDs of the fixture's topics: writeTopic puts the id byte last.
var topicIDs = map[string]byte{topicT: 1, topicLate: 2, "f": 3, "g": 4}

func topicID(name string) [16]byte {
	var id [16]byte
	id[15] = topicIDs[name]
	return id
}

func newEpochFixture(t *testing.T) *epochFixture {
	t.Helper()
	h, _ := clusterHarness(t, nil)
	h.tick(1) // the leadership lease is confirmed: broker 1 answers clients
	h.deliverAll()
	f := &epochFixture{h: h, s2: h.coord.OpenSession()}
	h.register(f.s2, 2)
	h.writeTopic(topicT, topicIDs[topicT], map[string][]int{"0": {1, 2}})
	h.writeTopic(topicLate, topicIDs[topicLate], map[string][]int{"0": {1, 2}})
	f.produce(topicT, 3)      // epoch 0: 0-2
	f.bounce()                // epoch 1: nothing written
	f.bounce()                // epoch 2
	f.produce(topicT, 2)      // 3-4
	f.bounce()                // epoch 3
	f.produce(topicT, 1)      // 5
	f.produce(topicLate, 2)   // 0-1
	f.follow(topicT, 6, 3)    // broker 2 holds it all: the high watermark is 6
	f.follow(topicLate, 2, 3) // and 2
	// "f": broker 3 leaves its ISR, and broker 1 follows it at epoch 1.
	s3 := h.coord.OpenSession()
	h.register(s3, 3)
	h.writeTopic("f", topicIDs["f"], map[string][]int{"0": {2, 1, 3}})
	h.deliverWatches(h.coord.CloseSession(s3))
	h.deliverAll()
	if leader, isr, _ := h.partitionState("f", 0); leader != 2 || !slices.Equal(isr, []int32{2, 1}) {
		t.Fatalf("fixture: f-0 led by %d with ISR %v; want 2, [2 1]", leader, isr)
	}
	h.writeTopic("g", topicIDs["g"], map[string][]int{"0": {2}})
	for _, name := range []string{topicT, topicLate} {
		if leader, isr, _ := h.partitionState(name, 0); leader != 1 || !slices.Equal(isr, []int32{1, 2}) {
			t.Fatalf("fixture: %s-0 led by %d with ISR %v; want 1, [1 2]", name, leader, isr)
		}
	}
	f.intact(t, topicT, 6)
	f.intact(t, topicLate, 2)
	return f
}

// produce writes one batch of n records to name-0 with acks=1.
func (f *epochFixture) produce(name string, n int) {
	f.h.t.Helper()
	seq := f.h.send(1, 9, produceReq(name, 0, 1, makeBatch(batchOpts{records: n})))
	f.h.deliverAll()
	if p := f.h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		f.h.t.Fatalf("producing %d records to %s-0: %s", n, name, codeName(p.ErrorCode))
	}
}

// bounce ends broker 2's session, so that the controller takes it out
// of every ISR at a new leader epoch, registers it anew, and has it
// fetch both topics up to their log ends, so that it is back in their
// ISRs.
func (f *epochFixture) bounce() {
	h := f.h
	h.t.Helper()
	h.deliverWatches(h.coord.CloseSession(f.s2))
	h.deliverAll()
	f.s2 = h.coord.OpenSession()
	h.register(f.s2, 2)
	for _, name := range []string{topicT, topicLate} {
		leo := f.logEnd(name)
		f.follow(name, leo, f.leaderEpoch(name))
		if _, isr, _ := h.partitionState(name, 0); !slices.Equal(isr, []int32{1, 2}) {
			h.t.Fatalf("fixture: broker 2 fetched %s-0 at its log end %d and the ISR is %v; want [1 2]", name, leo, isr)
		}
	}
}

// follow sends broker 2's replica fetch of name-0 at offset and epoch
// and wants no error.
func (f *epochFixture) follow(name string, offset int64, epoch int32) {
	f.h.t.Helper()
	if p := f.replicaFetch(12, 2, name, offset, epoch); p.ErrorCode != 0 {
		f.h.t.Fatalf("broker 2 fetching %s-0 at %d, epoch %d: %s", name, offset, epoch, codeName(p.ErrorCode))
	}
}

// wire is what the broker decodes from req at version v: fields the
// version does not carry take their defaults, as kmsg.RequestForKey's
// request read from the wire has them.
func wire[R kmsg.Request](t *testing.T, v int16, req R) R {
	t.Helper()
	req.SetVersion(v)
	out := kmsg.RequestForKey(req.Key())
	out.SetVersion(v)
	if err := out.ReadFrom(req.AppendTo(nil)); err != nil {
		t.Fatalf("decoding %T v%d: %v", req, v, err)
	}
	return out.(R)
}

// wireResp is what a client decodes from resp at version v: fields the
// version does not carry take their defaults.
func wireResp[R kmsg.Response](t *testing.T, v int16, resp R) R {
	t.Helper()
	resp.SetVersion(v)
	out := resp.RequestKind().ResponseKind()
	out.SetVersion(v)
	if err := out.ReadFrom(resp.AppendTo(nil)); err != nil {
		t.Fatalf("decoding %T v%d: %v", resp, v, err)
	}
	return out.(R)
}

// fetchOne builds a Fetch of name-0 at offset naming epoch (by name
// and by id: each version takes its own).
func fetchOne(name string, offset int64, epoch int32) *kmsg.FetchRequest {
	req := fetchReq(name, 0, offset, 0, 0)
	req.Topics[0].TopicID = topicID(name)
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = epoch
	return req
}

// replicaFetch sends broker id's fetch of name-0 at version v.
func (f *epochFixture) replicaFetch(v int16, id int32, name string, offset int64, epoch int32) kmsg.FetchResponseTopicPartition {
	req := fetchOne(name, offset, epoch)
	req.ReplicaID, req.ReplicaState.ID, req.ReplicaState.Epoch = id, id, -1
	if res, _ := f.h.coord.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: fmt.Sprintf("/brokers/ids/%d", id)}); res.Err == nil {
		req.ReplicaState.Epoch = res.Stat.Czxid // the broker epoch of a registered broker
	}
	return f.fetch(v, req)
}

// consumerFetch sends a consumer's fetch of name-0 at version v.
func (f *epochFixture) consumerFetch(v int16, name string, offset int64, epoch int32) kmsg.FetchResponseTopicPartition {
	return f.fetch(v, fetchOne(name, offset, epoch))
}

func (f *epochFixture) fetch(v int16, req *kmsg.FetchRequest) kmsg.FetchResponseTopicPartition {
	h := f.h
	h.t.Helper()
	seq := h.send(1, v, wire(h.t, v, req))
	h.deliverAll()
	resp := wireResp(h.t, v, h.mustResponse(seq).(*kmsg.FetchResponse))
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		h.t.Fatalf("Fetch v%d: got error %s, topics %+v; want one partition", v, codeName(resp.ErrorCode), resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// listOffsets asks name-0's latest offset (-1) at version v, naming epoch.
func (f *epochFixture) listOffsets(v int16, name string, epoch int32) kmsg.ListOffsetsResponseTopicPartition {
	h := f.h
	h.t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = name
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.Timestamp, rp.MaxNumOffsets = 0, epoch, -1, 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, v, wire(h.t, v, req))
	h.deliverAll()
	return wireResp(h.t, v, h.mustResponse(seq).(*kmsg.ListOffsetsResponse)).Topics[0].Partitions[0]
}

// epochEnd sends OffsetForLeaderEpoch at version v for name-0 from
// replica (-1: a client; at v0-2 the field is not sent), naming
// current as CurrentLeaderEpoch and asking for epoch.
func (f *epochFixture) epochEnd(v int16, replica int32, name string, current, epoch int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
	h := f.h
	h.t.Helper()
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = replica
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = name
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, current, epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, v, wire(h.t, v, req))
	h.deliverAll()
	resp := wireResp(h.t, v, h.mustResponse(seq).(*kmsg.OffsetForLeaderEpochResponse))
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		h.t.Fatalf("OffsetForLeaderEpoch v%d: got %+v; want one partition", v, resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// leaderEpoch is name-0's leader epoch as Metadata tells clients.
func (f *epochFixture) leaderEpoch(name string) int32 {
	h := f.h
	h.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(name)
	req.Topics = append(req.Topics, mt)
	md := h.mustResponse(h.send(1, 12, req)).(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) == 0 {
		h.t.Fatalf("Metadata for %s: %+v", name, md.Topics)
	}
	return md.Topics[0].Partitions[0].LeaderEpoch
}

// logEnd is name-0's log end, as OffsetForLeaderEpoch of the latest
// epoch tells it.
func (f *epochFixture) logEnd(name string) int64 {
	f.h.t.Helper()
	e := f.leaderEpoch(name)
	p := f.epochEnd(4, -1, name, e, e)
	if p.ErrorCode != 0 {
		f.h.t.Fatalf("log end of %s-0: %s", name, codeName(p.ErrorCode))
	}
	return p.EndOffset
}

// intact checks that a consumer still reads name-0 whole: no error, the
// high watermark hwm, and one record at each offset below it.
func (f *epochFixture) intact(t *testing.T, name string, hwm int64) {
	t.Helper()
	p := f.consumerFetch(12, name, 0, -1)
	if p.ErrorCode != 0 || p.HighWatermark != hwm {
		t.Fatalf("consumer fetch of %s-0 afterwards: error %s, high watermark %d; want NONE, %d", name, codeName(p.ErrorCode), p.HighWatermark, hwm)
	}
	if got := batchOffsets(t, p.RecordBatches); !slices.Equal(got, offsetsBelow(hwm)) {
		t.Fatalf("consumer fetch of %s-0 afterwards: offsets %v; want %v", name, got, offsetsBelow(hwm))
	}
}

func offsetsBelow(n int64) []int64 {
	out := []int64{}
	for o := int64(0); o < n; o++ {
		out = append(out, o)
	}
	return out
}

// batchOffsets lists the offsets the batches hold.
func batchOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	out := []int64{}
	for len(data) > 0 {
		h, err := core.ParseBatchHeader(data)
		if err != nil || h.Size() > len(data) {
			t.Fatalf("fetched records: %v (%d bytes left)", err, len(data))
		}
		for o := h.BaseOffset; o <= h.LastOffset(); o++ {
			out = append(out, int64(o))
		}
		data = data[h.Size():]
	}
	return out
}

// fenceCases are the CurrentLeaderEpoch values against a partition at
// epoch 3 and what Kafka's Partition.checkCurrentLeaderEpoch answers.
var fenceCases = []struct {
	what    string
	current int32
	want    int16
}{
	{"older", 2, kerr.FencedLeaderEpoch.Code},
	{"much older", 0, kerr.FencedLeaderEpoch.Code},
	{"newer", 4, kerr.UnknownLeaderEpoch.Code},
	{"much newer", 1000, kerr.UnknownLeaderEpoch.Code},
	{"none (-1)", -1, 0},
	{"equal", 3, 0},
}

// TestFetchCurrentLeaderEpoch: a consumer's fetch (v9+, the versions
// that carry CurrentLeaderEpoch) naming an older epoch than the
// partition's is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH,
// with no records; -1 or the partition's epoch is served.
func TestFetchCurrentLeaderEpoch(t *testing.T) {
	f := newEpochFixture(t)
	for v := int16(9); v <= 16; v++ {
		for _, c := range fenceCases {
			p := f.consumerFetch(v, topicT, 3, c.current)
			if p.ErrorCode != c.want {
				t.Errorf("v%d fetch naming an epoch %s (%d): got %s; want %s", v, c.what, c.current, codeName(p.ErrorCode), codeName(c.want))
				continue
			}
			got := batchOffsets(t, p.RecordBatches)
			if want := []int64{3, 4, 5}; c.want == 0 && !slices.Equal(got, want) {
				t.Errorf("v%d fetch naming an epoch %s (%d) at offset 3: offsets %v; want %v", v, c.what, c.current, got, want)
			}
			if c.want != 0 && len(got) != 0 {
				t.Errorf("v%d fetch naming an epoch %s (%d): offsets %v with the error; want none", v, c.what, c.current, got)
			}
		}
	}
	f.intact(t, topicT, 6)
}

// TestListOffsetsCurrentLeaderEpoch: the same fencing for ListOffsets
// (v4+), which answers the latest offset when it is not fenced.
func TestListOffsetsCurrentLeaderEpoch(t *testing.T) {
	f := newEpochFixture(t)
	for v := int16(4); v <= 6; v++ {
		for _, c := range fenceCases {
			p := f.listOffsets(v, topicT, c.current)
			if p.ErrorCode != c.want {
				t.Errorf("v%d ListOffsets naming an epoch %s (%d): got %s; want %s", v, c.what, c.current, codeName(p.ErrorCode), codeName(c.want))
				continue
			}
			if c.want == 0 && (p.Offset != 6 || p.LeaderEpoch != 3) {
				t.Errorf("v%d ListOffsets latest naming an epoch %s (%d): offset %d, epoch %d; want 6, 3", v, c.what, c.current, p.Offset, p.LeaderEpoch)
			}
		}
	}
	f.intact(t, topicT, 6)
}

// TestOffsetForLeaderEpochAnswers: every advertised version, from a
// client and from the follower, is answered from the leader's epoch
// cache as Kafka's LeaderEpochFileCache.endOffsetFor answers: the
// largest epoch at or below the one asked and the start of the first
// epoch above it, the log end for the latest epoch; an epoch older than
// the first known answers itself and the first epoch's start; an epoch
// newer than the latest, or -1, answers UNDEFINED_EPOCH (-1) and
// UNDEFINED_EPOCH_OFFSET (-1), with no error.
//
// Epoch 1 of "t" wrote nothing: Kafka's cache dropped it when epoch 2
// started at the same offset (assign removes the entries a new one
// makes non-monotonic), so it answers epoch 0 for it.
func TestOffsetForLeaderEpochAnswers(t *testing.T) {
	f := newEpochFixture(t)
	cases := []struct {
		topic         string
		epoch         int32
		wantEpoch     int32
		wantEndOffset int64
	}{
		{topicT, 0, 0, 3},
		{topicT, 1, 0, 3},
		{topicT, 2, 2, 5},
		{topicT, 3, 3, 6},
		{topicT, 4, -1, -1},
		{topicT, 1000, -1, -1},
		{topicT, -1, -1, -1},
		{topicLate, 3, 3, 2},
		{topicLate, 2, 2, 0}, // older than the first known (3): itself, and the first epoch's start
		{topicLate, 0, 0, 0},
		{topicLate, 4, -1, -1},
	}
	for v := int16(0); v <= 4; v++ {
		for _, replica := range []int32{-1, 2} {
			for _, c := range cases {
				name := fmt.Sprintf("v%d from replica %d: %s-0 epoch %d", v, replica, c.topic, c.epoch)
				p := f.epochEnd(v, replica, c.topic, -1, c.epoch)
				wantEpoch := c.wantEpoch
				if v == 0 {
					wantEpoch = -1 // v0 has no LeaderEpoch in the answer: the field's default
				}
				if p.ErrorCode != 0 || p.LeaderEpoch != wantEpoch || p.EndOffset != c.wantEndOffset {
					t.Errorf("%s: got %s, epoch %d, end offset %d; want NONE, %d, %d", name, codeName(p.ErrorCode), p.LeaderEpoch, p.EndOffset, wantEpoch, c.wantEndOffset)
				}
			}
		}
	}
	f.intact(t, topicT, 6)
	f.intact(t, topicLate, 2)
}

// TestOffsetForLeaderEpochFencing: CurrentLeaderEpoch (v2+) fences as
// for Fetch, from clients and followers alike; a fenced request gets no
// offset.
func TestOffsetForLeaderEpochFencing(t *testing.T) {
	f := newEpochFixture(t)
	for v := int16(2); v <= 4; v++ {
		for _, replica := range []int32{-1, 2} {
			for _, c := range fenceCases {
				p := f.epochEnd(v, replica, topicT, c.current, 2)
				want := kmsg.OffsetForLeaderEpochResponseTopicPartition{ErrorCode: c.want, LeaderEpoch: -1, EndOffset: -1}
				if c.want == 0 {
					want.LeaderEpoch, want.EndOffset = 2, 5
				}
				if p.ErrorCode != want.ErrorCode || p.LeaderEpoch != want.LeaderEpoch || p.EndOffset != want.EndOffset {
					t.Errorf("v%d from replica %d naming an epoch %s (%d): got %s, epoch %d, end offset %d; want %s, %d, %d", v, replica, c.what, c.current,
						codeName(p.ErrorCode), p.LeaderEpoch, p.EndOffset, codeName(want.ErrorCode), want.LeaderEpoch, want.EndOffset)
				}
			}
		}
	}
	// v0-1 carry no CurrentLeaderEpoch: never fenced.
	for v := int16(0); v <= 1; v++ {
		if p := f.epochEnd(v, -1, topicT, 0, 2); p.ErrorCode != 0 || p.EndOffset != 5 {
			t.Errorf("v%d (no CurrentLeaderEpoch on the wire) naming epoch 0: got %s, end offset %d; want NONE, 5", v, codeName(p.ErrorCode), p.EndOffset)
		}
	}
	f.intact(t, topicT, 6)
}

// TestLeaderEpochRequestsAtNonLeader: a broker that follows a partition
// answers NOT_LEADER_OR_FOLLOWER to Fetch, ListOffsets and
// OffsetForLeaderEpoch, every version and from any replica id (Kafka's
// ReplicaManager.lastOffsetForLeaderEpoch asks the leader always:
// fetchOnlyFromLeader = true, the v3+ ReplicaId notwithstanding, and
// v0-2 requests, which decode with ReplicaId -2, are no exception) --
// after the CurrentLeaderEpoch check, which Kafka's Partition.getLocalLog
// makes first: an older epoch is FENCED_LEADER_EPOCH there too. A broker
// that hosts no replica answers NOT_LEADER_OR_FOLLOWER whatever the
// epoch (ReplicaManager.getPartitionOrError: the metadata knows the
// partition); a partition nobody knows is UNKNOWN_TOPIC_OR_PARTITION.
func TestLeaderEpochRequestsAtNonLeader(t *testing.T) {
	f := newEpochFixture(t)
	notLeader, fenced, unknownEpoch := kerr.NotLeaderForPartition.Code, kerr.FencedLeaderEpoch.Code, kerr.UnknownLeaderEpoch.Code
	unknown := kerr.UnknownTopicOrPartition.Code
	cases := []struct {
		topic   string
		current int32
		want    int16
	}{
		{"f", -1, notLeader},
		{"f", 0, fenced},
		{"f", 1, notLeader},
		{"f", 2, unknownEpoch},
		{"g", -1, notLeader},
		{"g", 0, notLeader},
		{"g", 1, notLeader},
	}
	for v := int16(0); v <= 4; v++ {
		for _, replica := range []int32{-2, -1, 2} {
			for _, c := range cases {
				want := c.want
				if v < 2 && c.topic == "f" {
					want = notLeader // no CurrentLeaderEpoch on the wire
				}
				if p := f.epochEnd(v, replica, c.topic, c.current, 0); p.ErrorCode != want || p.EndOffset != -1 {
					t.Errorf("OffsetForLeaderEpoch v%d from replica %d for %s-0 naming epoch %d: got %s, end offset %d; want %s, -1",
						v, replica, c.topic, c.current, codeName(p.ErrorCode), p.EndOffset, codeName(want))
				}
			}
			if p := f.epochEnd(v, replica, "nope", -1, 0); p.ErrorCode != unknown {
				t.Errorf("OffsetForLeaderEpoch v%d from replica %d for an unknown topic: got %s; want UNKNOWN_TOPIC_OR_PARTITION", v, replica, codeName(p.ErrorCode))
			}
		}
	}
	for _, c := range cases {
		if p := f.consumerFetch(12, c.topic, 0, c.current); p.ErrorCode != c.want {
			t.Errorf("consumer Fetch v12 for %s-0 naming epoch %d: got %s; want %s", c.topic, c.current, codeName(p.ErrorCode), codeName(c.want))
		}
		if p := f.replicaFetch(12, 3, c.topic, 0, c.current); p.ErrorCode != c.want {
			t.Errorf("replica Fetch v12 from broker 3 for %s-0 naming epoch %d: got %s; want %s", c.topic, c.current, codeName(p.ErrorCode), codeName(c.want))
		}
		if p := f.listOffsets(5, c.topic, c.current); p.ErrorCode != c.want {
			t.Errorf("ListOffsets v5 for %s-0 naming epoch %d: got %s; want %s", c.topic, c.current, codeName(p.ErrorCode), codeName(c.want))
		}
	}
	f.intact(t, topicT, 6)
}

package core_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// The producer windows a leader sends a follower that starts over at its
// log start (core/producer_transfer.go): a tagged field of the partition's
// OFFSET_OUT_OF_RANGE answer, in the format documented there.
const producerStateTag = 0x636b7073

func encodeProducers(batches []core.ProducerBatch) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(batches)))
	for _, pb := range batches {
		b = binary.BigEndian.AppendUint64(b, uint64(pb.ProducerID))
		b = binary.BigEndian.AppendUint16(b, uint16(pb.ProducerEpoch))
		b = binary.BigEndian.AppendUint32(b, uint32(pb.FirstSeq))
		b = binary.BigEndian.AppendUint32(b, uint32(pb.LastSeq))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.BaseOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.LastOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.Timestamp))
	}
	return b
}

func decodeProducers(t *testing.T, b []byte) []core.ProducerBatch {
	t.Helper()
	if len(b) < 4 || len(b) != 4+int(binary.BigEndian.Uint32(b))*42 {
		t.Fatalf("producer state of %d bytes does not parse", len(b))
	}
	var out []core.ProducerBatch
	for b = b[4:]; len(b) > 0; b = b[42:] {
		out = append(out, core.ProducerBatch{
			ProducerID:    core.ProducerID(binary.BigEndian.Uint64(b)),
			ProducerEpoch: int16(binary.BigEndian.Uint16(b[8:])),
			FirstSeq:      int32(binary.BigEndian.Uint32(b[10:])),
			LastSeq:       int32(binary.BigEndian.Uint32(b[14:])),
			BaseOffset:    core.Offset(binary.BigEndian.Uint64(b[18:])),
			LastOffset:    core.Offset(binary.BigEndian.Uint64(b[26:])),
			Timestamp:     int64(binary.BigEndian.Uint64(b[34:])),
		})
	}
	return out
}

// TestLeaderSendsProducersBelowLogStart: a leader answers a follower that
// fetches below its log start OFFSET_OUT_OF_RANGE with the windows of
// the batches below that log start (their producers' state outlived the
// batches); a consumer's answer carries none.
func TestLeaderSendsProducersBelowLogStart(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.tick(1) // the lease is confirmed
	h.deliverAll()
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("t", 1, map[string][]int{"0": {1, 2}})
	for _, o := range []batchOpts{
		{pid: 7, epoch: 0, seq: 0, records: 3, maxTime: 100}, // 0-2
		{pid: 8, epoch: 2, seq: 0, records: 2, maxTime: 200}, // 3-4
		{pid: 7, epoch: 0, seq: 3, records: 2, maxTime: 300}, // 5-6
	} {
		seq := h.send(1, 9, produceReq("t", 0, 1, makeBatch(o)))
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce %+v: %s", o, codeName(code))
		}
	}
	h.replicaFetch(2, "t", 0, 7) // broker 2 holds it all: the high watermark is 7
	h.retainStart = map[core.TopicPartition]core.Offset{{Topic: "t", Partition: 0}: 5}
	h.tick(400000) // past log.retention.check.interval.ms: 0-4 go
	h.deliverAll()
	fetch := func(replica int32) kmsg.FetchResponseTopicPartition {
		t.Helper()
		req := fetchReq("t", 0, 3, 0, 0)
		req.ReplicaID = replica
		seq := h.send(1, 12, req)
		h.deliverAll()
		return h.mustResponse(seq).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	p := fetch(2)
	if p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 5 {
		t.Fatalf("broker 2 fetching at 3: %s, log start %d; want OFFSET_OUT_OF_RANGE, 5", codeName(p.ErrorCode), p.LogStartOffset)
	}
	var state []byte
	p.UnknownTags.Each(func(key uint32, val []byte) {
		if key == producerStateTag {
			state = val
		}
	})
	if state == nil {
		t.Fatalf("the answer to broker 2 carries no producer state")
	}
	want := []core.ProducerBatch{
		{ProducerID: 7, ProducerEpoch: 0, FirstSeq: 0, LastSeq: 2, BaseOffset: 0, LastOffset: 2, Timestamp: 100},
		{ProducerID: 8, ProducerEpoch: 2, FirstSeq: 0, LastSeq: 1, BaseOffset: 3, LastOffset: 4, Timestamp: 200},
	}
	if got := decodeProducers(t, state); !slices.Equal(got, want) {
		t.Errorf("producer state sent with log start 5:\n got %v\nwant %v (the batches below 5; 5-6 the follower fetches)", got, want)
	}
	if p := fetch(-1); p.ErrorCode != kerr.OffsetOutOfRange.Code || p.UnknownTags.Len() != 0 {
		t.Errorf("a consumer fetching at 3: %s with %d tags; want OFFSET_OUT_OF_RANGE with none", codeName(p.ErrorCode), p.UnknownTags.Len())
	}
}

// TestFollowerRestartTakesLeaderProducers: a follower told it fetches
// below its leader's log start restarts its log there with the producer
// windows the leader sent (Truncate.Producers), which its store keeps;
// a state that does not parse, or lists a batch at or past the log
// start, is dropped, and the follower restarts without.
func TestFollowerRestartTakesLeaderProducers(t *testing.T) {
	sent := []core.ProducerBatch{
		{ProducerID: 7, ProducerEpoch: 1, FirstSeq: 0, LastSeq: 4, BaseOffset: 80, LastOffset: 84, Timestamp: 9},
		{ProducerID: 3, ProducerEpoch: 0, FirstSeq: 12, LastSeq: 12, BaseOffset: 99, LastOffset: 99, Timestamp: 10},
	}
	for _, tc := range []struct {
		name  string
		state []byte
		want  []core.ProducerBatch
	}{
		{"sent", encodeProducers(sent), sent},
		{"none", nil, nil},
		{"garbled", encodeProducers(sent)[:50], nil},
		{"past the log start", encodeProducers(append(slices.Clone(sent), core.ProducerBatch{ProducerID: 4, BaseOffset: 100, LastOffset: 100})), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := followerHarness(t, 1)
			answered := false
			h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
				req, ok := ps.Request.(*kmsg.FetchRequest)
				if !ok || answered {
					return core.PeerResponse{Err: errDisk}
				}
				answered = true
				resp := req.ResponseKind().(*kmsg.FetchResponse)
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic = req.Topics[0].Topic
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.ErrorCode, rp.HighWatermark, rp.LogStartOffset = kerr.OffsetOutOfRange.Code, 120, 100
				if tc.state != nil {
					rp.UnknownTags.Set(producerStateTag, tc.state)
				}
				rt.Partitions = append(rt.Partitions, rp)
				resp.Topics = append(resp.Topics, rt)
				return core.PeerResponse{Response: resp}
			}
			h.register(h.coord.OpenSession(), 2)
			h.tick(100)
			h.deliverAll()
			if len(h.truncates) != 1 || !h.truncates[0].RestartAt || h.truncates[0].Offset != 100 {
				t.Fatalf("truncates: %+v; want one restart at 100", h.truncates)
			}
			if got := h.truncates[0].Producers; !slices.Equal(got, tc.want) {
				t.Errorf("restart at 100 with producers %v; want %v", got, tc.want)
			}
		})
	}
}

package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// DeleteRecords in a cluster, checked against Kafka's
// DelayedDeleteRecords and Partition.lowWatermarkIfLeader: the answer
// waits for every follower on a live broker to report the new log start
// in its fetch; a follower answers NOT_LEADER_OR_FOLLOWER.

// deleteRecordsReq asks name-0 trimmed to offset within timeoutMs.
func deleteRecordsReq(name string, offset int64, timeoutMs int32) *kmsg.DeleteRecordsRequest {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = timeoutMs
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = name
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// trimAnswer is the one partition of a DeleteRecords answer to seq, or
// false when there is none yet.
func (h *harness) trimAnswer(seq uint64) (kmsg.DeleteRecordsResponseTopicPartition, bool) {
	r := h.response(seq)
	if r == nil {
		return kmsg.DeleteRecordsResponseTopicPartition{}, false
	}
	return r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0], true
}

func TestDeleteRecordsWaitsForFollowers(t *testing.T) {
	f := newEpochFixture(t) // broker 1 leads t-0 (0-5, high watermark 6) with broker 2 in sync
	h := f.h
	epoch := f.leaderEpoch(topicT)
	seq := h.send(1, 2, deleteRecordsReq(topicT, 4, 5000))
	h.deliverAll()
	if got, ok := h.trimAnswer(seq); ok {
		t.Fatalf("DeleteRecords to 4 answered before broker 2 reported its log start: %+v", got)
	}
	if len(h.retains) == 0 || h.retains[len(h.retains)-1].StartAtLeast != 4 {
		t.Fatalf("retains %+v; want the last to move the log start to 4", h.retains)
	}
	if p := f.consumerFetch(12, topicT, 2, -1); p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 4 {
		t.Errorf("consumer fetch at 2 after the trim: %s, log start %d; want OFFSET_OUT_OF_RANGE, 4", codeName(p.ErrorCode), p.LogStartOffset)
	}
	// Broker 2's next fetch tells it the leader's log start; the one
	// after reports it, and the low watermark reaches 4.
	follow := func(logStart int64) kmsg.FetchResponseTopicPartition {
		req := fetchOne(topicT, 6, epoch)
		req.ReplicaID, req.ReplicaState.ID, req.ReplicaState.Epoch = 2, 2, h.epochOf(2)
		req.Topics[0].Partitions[0].LogStartOffset = logStart
		return f.fetch(12, req)
	}
	if p := follow(0); p.LogStartOffset != 4 {
		t.Errorf("broker 2's fetch answer: log start %d; want 4", p.LogStartOffset)
	}
	if got, ok := h.trimAnswer(seq); ok {
		t.Fatalf("DeleteRecords to 4 answered while broker 2 reports log start 0: %+v", got)
	}
	follow(4)
	got, ok := h.trimAnswer(seq)
	if !ok || got.ErrorCode != 0 || got.LowWatermark != 4 {
		t.Fatalf("DeleteRecords to 4 once broker 2 reported log start 4: got %+v (answered %v); want low watermark 4", got, ok)
	}
	// A trim the follower does not follow in time: REQUEST_TIMED_OUT
	// with the low watermark the request found.
	seq = h.send(1, 2, deleteRecordsReq(topicT, 5, 100))
	h.deliverAll()
	h.tick(50)
	if got, ok := h.trimAnswer(seq); ok {
		t.Fatalf("DeleteRecords to 5 answered before its timeout: %+v", got)
	}
	h.tick(60)
	if got, ok := h.trimAnswer(seq); !ok || got.ErrorCode != kerr.RequestTimedOut.Code || got.LowWatermark != 4 {
		t.Errorf("DeleteRecords to 5 past its timeout: got %+v (answered %v); want REQUEST_TIMED_OUT, low watermark 4", got, ok)
	}
	// A follower on a broker that is gone does not hold the low
	// watermark back.
	seq = h.send(1, 2, deleteRecordsReq(topicT, 6, 5000))
	h.deliverAll()
	h.deliverWatches(h.coord.CloseSession(f.s2))
	h.deliverAll()
	h.tick(1)
	if got, ok := h.trimAnswer(seq); !ok || got.ErrorCode != 0 || got.LowWatermark != 6 {
		t.Errorf("DeleteRecords to 6 once broker 2 is gone: got %+v (answered %v); want low watermark 6", got, ok)
	}
}

// TestDeleteRecordsAtFollower: broker 1 follows f-0, led by broker 2.
func TestDeleteRecordsAtFollower(t *testing.T) {
	f := newEpochFixture(t)
	h := f.h
	seq := h.send(1, 2, deleteRecordsReq("f", 0, 5000))
	h.deliverAll()
	if got, ok := h.trimAnswer(seq); !ok || got.ErrorCode != kerr.NotLeaderForPartition.Code || got.LowWatermark != -1 {
		t.Errorf("DeleteRecords at a follower: got %+v (answered %v); want NOT_LEADER_OR_FOLLOWER, low watermark -1", got, ok)
	}
	for _, r := range h.retains {
		if r.Partition == (core.TopicPartition{Topic: "f"}) && r.StartAtLeast > 0 {
			t.Errorf("a follower's DeleteRecords moved its log start: %+v", r)
		}
	}
}

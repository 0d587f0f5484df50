package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetsReady creates __consumer_offsets through FindCoordinator and
// waits until the group coordinator answers.
func (h *harness) offsetsReady() {
	h.t.Helper()
	for i := 0; i < 10; i++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "g"
		seq := h.send(1, 3, req)
		h.deliverAll()
		if h.mustResponse(seq).(*kmsg.FindCoordinatorResponse).ErrorCode == 0 {
			return
		}
	}
	h.t.Fatal("FindCoordinator: the offsets topic never became available")
}

func (h *harness) fetchOffset(group string, requireStable bool) kmsg.OffsetFetchResponseGroupTopicPartition {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = requireStable
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic, rt.Partitions = "t", []int32{0}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	seq := h.send(2, 8, req)
	resp := h.mustResponse(seq).(*kmsg.OffsetFetchResponse)
	return resp.Groups[0].Topics[0].Partitions[0]
}

func commitOffset(group string, offset int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// TestOffsetFetchRequireStable: while a commit's append is not yet
// complete, OffsetFetch v7+ with RequireStable answers
// UNSTABLE_OFFSET_COMMIT for its partition, and without it the last
// committed offset (Kafka's GroupMetadataManager.getOffsets).
func TestOffsetFetchRequireStable(t *testing.T) {
	h := newHarness(t, nil)
	h.offsetsReady()
	h.createTopic("t", 1, nil)
	seq := h.send(1, 9, commitOffset("g", 5))
	h.deliverAll()
	h.mustResponse(seq)

	seq = h.send(1, 9, commitOffset("g", 6)) // its Appended is held
	if got := h.fetchOffset("g", true); got.ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Errorf("RequireStable during a commit: got offset %d, error %d; want UNSTABLE_OFFSET_COMMIT", got.Offset, got.ErrorCode)
	}
	if got := h.fetchOffset("g", false); got.ErrorCode != 0 || got.Offset != 5 {
		t.Errorf("OffsetFetch during a commit: got offset %d, error %d; want 5, 0", got.Offset, got.ErrorCode)
	}
	h.deliverAll()
	if r := h.mustResponse(seq).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("OffsetCommit: got error %d; want 0", r.Topics[0].Partitions[0].ErrorCode)
	}
	if got := h.fetchOffset("g", true); got.ErrorCode != 0 || got.Offset != 6 {
		t.Errorf("RequireStable after the commit: got offset %d, error %d; want 6, 0", got.Offset, got.ErrorCode)
	}
}

// TestPendingMemberSurvivesExpiry: a group that exists only because a
// member id was handed out with MEMBER_ID_REQUIRED is not deleted by the
// offsets expiry check as an unused Empty group: the member's JoinGroup
// with that id, arriving after the check, joins.
func TestPendingMemberSurvivesExpiry(t *testing.T) {
	h := newHarness(t, map[string]string{"offsets.retention.check.interval.ms": "10", "group.initial.rebalance.delay.ms": "0"})
	h.offsetsReady()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = "pending", 30000, 30000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{0, 0, 0, 0, 0, 0, 0, 0}
	req.Protocols = append(req.Protocols, p)
	first := h.mustResponse(h.send(1, 9, req)).(*kmsg.JoinGroupResponse)
	if first.ErrorCode != kerr.MemberIDRequired.Code || first.MemberID == "" {
		t.Fatalf("first JoinGroup v9: got error %d, member id %q; want MEMBER_ID_REQUIRED with an id", first.ErrorCode, first.MemberID)
	}
	h.tick(50) // several expiry checks
	req.MemberID = first.MemberID
	seq := h.send(1, 9, req)
	h.tick(10)
	h.deliverAll()
	if got := h.mustResponse(seq).(*kmsg.JoinGroupResponse); got.ErrorCode != 0 || got.MemberID != first.MemberID || got.Generation != 1 {
		t.Errorf("JoinGroup v9 with the id after expiry checks: got error %d, member %q, generation %d; want 0, %q, 1",
			got.ErrorCode, got.MemberID, got.Generation, first.MemberID)
	}
}

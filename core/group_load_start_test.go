package core_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// offsetsReads adds the tokens of effects' reads of __consumer_offsets-0.
func offsetsReads(effects []core.Effect, reads map[core.Token]bool) {
	for _, e := range effects {
		if r, ok := e.(core.Read); ok && r.Partition == offsets0 {
			reads[r.Token] = true
		}
	}
}

// deliverHoldingReads delivers held completions in order, but for the
// answers to reads, which stay held; it notes the reads of
// __consumer_offsets-0 that the delivered events issue.
func (h *harness) deliverHoldingReads(reads map[core.Token]bool) {
	h.t.Helper()
	for {
		i := slices.IndexFunc(h.held, func(ev core.Event) bool { rd, ok := ev.(core.ReadDone); return !ok || !reads[rd.Token] })
		if i < 0 {
			return
		}
		ev := h.held[i]
		h.held = slices.Delete(h.held, i, i+1)
		h.step(ev)
		offsetsReads(h.effects, reads)
	}
}

// releaseRead delivers the answer to one held read of
// __consumer_offsets-0 and reports whether there was one.
func (h *harness) releaseRead(reads map[core.Token]bool) bool {
	i := slices.IndexFunc(h.held, func(ev core.Event) bool { rd, ok := ev.(core.ReadDone); return ok && reads[rd.Token] })
	if i < 0 {
		return false
	}
	ev := h.held[i]
	h.held = slices.Delete(h.held, i, i+1)
	h.step(ev)
	offsetsReads(h.effects, reads)
	return true
}

// groupCodes are the answers of the group APIs for group, for member
// of generation gen: OffsetFetch's group error, JoinGroup's,
// Heartbeat's and OffsetCommit's partition error (-100: not answered at
// once).
func groupCodes(h *harness, group, member string, gen int32) map[string]int16 {
	h.t.Helper()
	out := map[string]int16{}
	out["OffsetFetch"], _ = fetchCommitted(h, group, "t")
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = group, 30_000, 30_000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	md := kmsg.NewConsumerMemberMetadata()
	p.Name, p.Metadata = "range", md.AppendTo(nil)
	join.Protocols = append(join.Protocols, p)
	join.MemberID = member
	if r := h.response(h.send(1, 3, join)); r != nil {
		out["JoinGroup"] = r.(*kmsg.JoinGroupResponse).ErrorCode
	} else {
		out["JoinGroup"] = -100
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = group, member, gen
	out["Heartbeat"] = h.mustResponse(h.send(1, 1, hb)).(*kmsg.HeartbeatResponse).ErrorCode
	commit := commitOffset(group, 9)
	commit.MemberID, commit.Generation = member, gen
	if r := h.response(h.send(1, 8, commit)); r != nil {
		out["OffsetCommit"] = commitCode(r)
	} else {
		out["OffsetCommit"] = -100
	}
	return out
}

// TestLoadInProgressAtStart: a broker that starts on a log holding a
// Stable group and its commit answers FindCoordinator for the group at
// once, but OffsetFetch, JoinGroup and OffsetCommit with
// COORDINATOR_LOAD_IN_PROGRESS (and Heartbeat with NONE, as Kafka) until
// the replay of its offsets partition has read the whole log (one batch
// per read here); then it serves the committed offset and the loaded
// member.
func TestLoadInProgressAtStart(t *testing.T) {
	props := map[string]string{
		"offsets.topic.num.partitions":     "1",
		"group.initial.rebalance.delay.ms": "0",
		"offsets.load.buffer.size":         "1", // a read returns one batch
	}
	first := newHarness(t, props)
	first.offsetsReady()
	first.createTopic("t", 1, nil)
	member, gen := joinStable(first, "g", "consumer", []string{"t"})
	if code := commitAs(first, "g", member, gen, "t", 5); code != 0 {
		t.Fatalf("commit: got %s; want NONE", codeName(code))
	}

	h, startup := restartedOn(t, first, props, 1_000)
	reads := map[core.Token]bool{}
	offsetsReads(startup, reads)
	h.deliverHoldingReads(reads)
	h.step(core.Tick{Now: h.now})
	offsetsReads(h.effects, reads)
	h.deliverHoldingReads(reads)
	if len(reads) == 0 {
		t.Fatal("the start issued no read of __consumer_offsets-0")
	}

	// Kafka's handleHeartbeat answers NONE while the group loads ("the
	// group is still loading, so respond just blindly"): the member
	// keeps its place until the load tells whether it still has one.
	loading := map[string]int16{"OffsetFetch": kerr.CoordinatorLoadInProgress.Code, "JoinGroup": kerr.CoordinatorLoadInProgress.Code,
		"Heartbeat": 0, "OffsetCommit": kerr.CoordinatorLoadInProgress.Code}
	for released := 0; ; released++ {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = "g"
		if r := h.mustResponse(h.send(1, 3, fc)).(*kmsg.FindCoordinatorResponse); r.ErrorCode != 0 || r.NodeID < 0 {
			t.Fatalf("FindCoordinator while loading (%d reads answered): got %s, node %d; want NONE and this broker", released, codeName(r.ErrorCode), r.NodeID)
		}
		if got := groupCodes(h, "g", member, gen); !maps.Equal(got, loading) {
			t.Fatalf("while loading (%d reads answered): got %v; want %v (COORDINATOR_LOAD_IN_PROGRESS is %d)", released, got, loading, kerr.CoordinatorLoadInProgress.Code)
		}
		if !h.releaseRead(reads) {
			t.Fatalf("the load stopped after %d reads without serving the group", released)
		}
		h.deliverHoldingReads(reads)
		if !slices.ContainsFunc(h.held, func(ev core.Event) bool { rd, ok := ev.(core.ReadDone); return ok && reads[rd.Token] }) {
			if released == 0 {
				t.Fatalf("the whole log was replayed by one read; want one per batch")
			}
			break // the replay read the whole log
		}
	}
	h.deliverAll()
	wantCommitted(h, "once loaded", "g", "t", 5)
	if code := heartbeat(h, "g", member, gen); code != 0 {
		t.Errorf("heartbeat of the loaded member: got %s; want NONE", codeName(code))
	}
}

package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// TestLoadedMembersKeepTheirSessions restarts a broker on the log of a
// Stable group. The offsets topic is replayed at Startup, before the first
// Tick; the loaded member's session must run from the load (Kafka's
// onGroupLoaded schedules every member's heartbeat expiration), not from
// instant 0, which would expire it at the first Tick.
func TestLoadedMembersKeepTheirSessions(t *testing.T) {
	cfg, err := core.ParseProperties(map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 7
	const sessionMs = 10_000
	first := newHarnessFrom(t, cfg, core.Recovered{})
	member, gen := joinAndSync(first, "g", sessionMs)

	offsets := core.TopicPartition{Topic: core.OffsetsTopic}
	rec := core.Recovered{Znodes: first.coordWrites()}
	rec.Partitions = []core.RecoveredPartition{{Partition: offsets, LogEndOffset: logEnd(t, first.logs[offsets])}}
	first.coord.CloseSession(first.session) // the first process is gone
	rec.CoordSession = first.coord.OpenSession()
	h := &harness{t: t, now: first.now + 3_600e9, logs: map[core.TopicPartition][][]byte{offsets: first.logs[offsets]},
		coord: first.coord, session: rec.CoordSession}
	if h.b, err = core.New(cfg, rec); err != nil {
		t.Fatal(err)
	}
	h.exec(h.b.Startup(nil))
	h.deliverAll()
	h.step(core.Tick{Now: h.now}) // an hour after the first broker's clock
	h.deliverAll()                // registered, elected: it leads the offsets partition and loads it

	if code := heartbeat(h, "g", member, gen); code != 0 {
		t.Fatalf("heartbeat of the loaded member at the first tick: got error %d; want 0", code)
	}
	h.tick(sessionMs / 2)
	if code := heartbeat(h, "g", member, gen); code != 0 {
		t.Fatalf("heartbeat within the session: got error %d; want 0", code)
	}
	h.tick(sessionMs + 1)
	if code := heartbeat(h, "g", member, gen); code != 25 {
		t.Fatalf("heartbeat after the session expired: got error %d; want UNKNOWN_MEMBER_ID 25", code)
	}
}

// joinAndSync makes a one-member consumer group Stable and returns the
// member id and generation.
func joinAndSync(h *harness, group string, sessionMs int32) (string, int32) {
	h.t.Helper()
	for i := 0; ; i++ { // the first FindCoordinator creates the offsets topic
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = group
		seq := h.send(1, 2, fc)
		h.deliverAll()
		if h.mustResponse(seq).(*kmsg.FindCoordinatorResponse).ErrorCode == 0 {
			break
		}
		if i == 3 {
			h.t.Fatalf("FindCoordinator %s: no coordinator after %d tries", group, i+1)
		}
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = group, sessionMs, sessionMs, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{0, 0, 0, 0, 0, 0, 0, 0}
	join.Protocols = append(join.Protocols, p)
	seq := h.send(1, 3, join)
	h.tick(1) // the initial rebalance delay, 0 ms, falls due
	h.deliverAll()
	jr := h.mustResponse(seq).(*kmsg.JoinGroupResponse)
	if jr.ErrorCode != 0 {
		h.t.Fatalf("JoinGroup: got error %d; want 0", jr.ErrorCode)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, jr.MemberID
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = jr.MemberID, []byte{0, 0, 0, 0, 0, 0, 0, 0}
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	seq = h.send(1, 1, sync)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.SyncGroupResponse).ErrorCode; code != 0 {
		h.t.Fatalf("SyncGroup: got error %d; want 0", code)
	}
	return jr.MemberID, jr.Generation
}

func heartbeat(h *harness, group, member string, gen int32) int16 {
	h.t.Helper()
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = group, member, gen
	seq := h.send(1, 1, hb)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.HeartbeatResponse).ErrorCode
}

// logEnd is the offset after the last batch of a log.
func logEnd(t *testing.T, batches [][]byte) core.Offset {
	t.Helper()
	var end core.Offset
	for _, b := range batches {
		hd, err := core.ParseBatchHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		end = hd.LastOffset() + 1
	}
	return end
}

package core_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The group coordinator over a replicated __consumer_offsets: the topic's
// replication factor, writes answered once the ISR holds them, the
// errors Kafka's coordinator maps append errors to, and a new leader's
// load.

var offsets0 = core.TopicPartition{Topic: core.OffsetsTopic}

// offsetsReplicas reads the offsets topic's assignment: the replicas of
// each partition.
func (h *harness) offsetsReplicas() map[string][]int32 {
	h.t.Helper()
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/brokers/topics/" + core.OffsetsTopic})
	if res.Err != nil {
		h.t.Fatalf("the offsets topic's znode: %v", res.Err)
	}
	var z struct {
		Partitions map[string][]int32 `json:"partitions"`
	}
	if err := json.Unmarshal(res.Data, &z); err != nil {
		h.t.Fatal(err)
	}
	return z.Partitions
}

func (h *harness) warnings() []string {
	var out []string
	for _, l := range h.lifecycles {
		if l.Warning != "" {
			out = append(out, l.Warning)
		}
	}
	return out
}

// TestOffsetsTopicReplication: the offsets topic gets
// offsets.topic.replication.factor replicas (3 by default), or as many
// as there are live brokers, with a warning, when fewer are.
func TestOffsetsTopicReplication(t *testing.T) {
	for _, tc := range []struct {
		what    string
		props   map[string]string
		peers   int // live brokers besides the harness's
		want    int
		warning bool
	}{
		{"one broker, the default 3", nil, 0, 1, true},
		{"two brokers, the default 3", nil, 1, 2, true},
		{"four brokers, the default 3", nil, 3, 3, false},
		{"two brokers, factor 2", map[string]string{"offsets.topic.replication.factor": "2"}, 1, 2, false},
		{"three brokers, factor 1", map[string]string{"offsets.topic.replication.factor": "1"}, 2, 1, false},
	} {
		props := map[string]string{"offsets.topic.num.partitions": "4"}
		for k, v := range tc.props {
			props[k] = v
		}
		h, _ := clusterHarness(t, props)
		for id := 2; id < 2+tc.peers; id++ {
			h.register(h.coord.OpenSession(), id)
		}
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "g"
		h.mustResponse(h.send(1, 3, req)) // creates the topic
		h.deliverAll()
		parts := h.offsetsReplicas()
		if len(parts) != 4 {
			t.Fatalf("%s: %d partitions; want 4", tc.what, len(parts))
		}
		for p, rs := range parts {
			if len(rs) != tc.want {
				t.Errorf("%s: partition %s has replicas %v; want %d", tc.what, p, rs, tc.want)
			}
		}
		ws := h.warnings()
		if tc.warning != (len(ws) == 1) || len(ws) > 1 {
			t.Errorf("%s: warnings %q; want one: %v", tc.what, ws, tc.warning)
		}
		if tc.warning && len(ws) == 1 && !strings.Contains(ws[0], "offsets.topic.replication.factor is 3") {
			t.Errorf("%s: warning %q does not name the configured factor", tc.what, ws[0])
		}
	}
}

// replicatedOffsets starts broker 1 (the controller) with broker 2 live
// and __consumer_offsets (one partition) on both: broker 1 leads it,
// broker 2 is in the ISR and has not fetched yet.
func replicatedOffsets(t *testing.T, props map[string]string) (*harness, *cover.Counts) {
	t.Helper()
	all := map[string]string{"offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0"}
	for k, v := range props {
		all[k] = v
	}
	h, counts := clusterHarness(t, all)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("t", 1, map[string][]int{"0": {1}})
	h.writeTopic(core.OffsetsTopic, 2, map[string][]int{"0": {1, 2}})
	if leader, isr, _ := h.partitionState(core.OffsetsTopic, 0); leader != 1 || len(isr) != 2 {
		t.Fatalf("__consumer_offsets-0: leader %d, ISR %v; want 1, [1 2]", leader, isr)
	}
	h.tick(1) // the broker confirms its session: it holds the leadership lease
	h.deliverAll()
	return h, counts
}

// followerFetch is broker 2 fetching __consumer_offsets-0 from offset:
// it holds everything below.
func (h *harness) followerFetch(offset int64) {
	h.t.Helper()
	req := fetchReq(core.OffsetsTopic, 0, offset, 0, 1)
	req.ReplicaID = 2
	resp := h.mustResponse(h.send(9, 12, req)).(*kmsg.FetchResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		h.t.Fatalf("broker 2's fetch at %d: %s", offset, codeName(code))
	}
	h.deliverAll()
}

// offsetsEnd is the log end of __consumer_offsets-0 in the harness.
func (h *harness) offsetsEnd() int64 { return int64(logEnd(h.t, h.logs[offsets0])) }

// committedOffset is OffsetFetch v8 of group's t-0: the group's error,
// else the offset.
func (h *harness) committedOffset(group string) (int16, int64) {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic, rt.Partitions = "t", []int32{0}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	resp := h.mustResponse(h.send(2, 8, req)).(*kmsg.OffsetFetchResponse)
	if code := resp.Groups[0].ErrorCode; code != 0 {
		return code, -1
	}
	return 0, resp.Groups[0].Topics[0].Partitions[0].Offset
}

func commitCode(r kmsg.Response) int16 {
	return r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
}

// TestCommitWaitsForISR: with offsets.commit.required.acks -1 (the
// default) a commit is answered, and served, only once every in-sync
// replica holds its record; acks 1 answers once the leader's copy is
// durable.
func TestCommitWaitsForISR(t *testing.T) {
	h, _ := replicatedOffsets(t, nil)
	h.followerFetch(0)
	seq := h.send(1, 8, commitOffset("g", 5))
	h.deliverAll()
	if r := h.response(seq); r != nil {
		t.Fatalf("a commit the follower does not hold yet was answered: error %s", codeName(commitCode(r)))
	}
	if code, off := h.committedOffset("g"); code != 0 || off != -1 {
		t.Errorf("OffsetFetch before the ISR holds the commit: got %s, offset %d; want NONE, -1", codeName(code), off)
	}
	h.followerFetch(h.offsetsEnd())
	if code := commitCode(h.mustResponse(seq)); code != 0 {
		t.Fatalf("commit once the follower holds it: got %s; want NONE", codeName(code))
	}
	if code, off := h.committedOffset("g"); code != 0 || off != 5 {
		t.Errorf("OffsetFetch after the commit: got %s, offset %d; want NONE, 5", codeName(code), off)
	}

	h1, _ := replicatedOffsets(t, map[string]string{"offsets.commit.required.acks": "1"})
	seq = h1.send(1, 8, commitOffset("g", 5))
	h1.deliverAll()
	if code := commitCode(h1.mustResponse(seq)); code != 0 {
		t.Errorf("commit with offsets.commit.required.acks=1: got %s; want NONE at once", codeName(code))
	}
}

// TestCommitWriteErrors: append errors become the coordinator errors
// Kafka's clients expect: a write that times out
// (offsets.commit.timeout.ms) or finds the ISR below min.insync.replicas
// answers COORDINATOR_NOT_AVAILABLE; one whose partition moves to
// another leader answers NOT_COORDINATOR, as does everything after.
func TestCommitWriteErrors(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		h, _ := replicatedOffsets(t, map[string]string{"offsets.commit.timeout.ms": "100"})
		seq := h.send(1, 8, commitOffset("g", 5))
		h.deliverAll()
		h.tick(99)
		if r := h.response(seq); r != nil {
			t.Fatalf("answered before offsets.commit.timeout.ms: %s", codeName(commitCode(r)))
		}
		h.tick(1)
		if code := commitCode(h.mustResponse(seq)); code != kerr.CoordinatorNotAvailable.Code {
			t.Fatalf("commit past offsets.commit.timeout.ms: got %s; want COORDINATOR_NOT_AVAILABLE", codeName(code))
		}
		if code, off := h.committedOffset("g"); code != 0 || off != -1 {
			t.Errorf("OffsetFetch after the timeout: got %s, offset %d; want NONE, -1", codeName(code), off)
		}
		// the record is committed after all: served as a load would
		h.followerFetch(h.offsetsEnd())
		if code, off := h.committedOffset("g"); code != 0 || off != 5 {
			t.Errorf("OffsetFetch once the timed-out commit is replicated: got %s, offset %d; want NONE, 5", codeName(code), off)
		}
	})
	t.Run("not-enough-replicas", func(t *testing.T) {
		h, _ := replicatedOffsets(t, map[string]string{"min.insync.replicas": "2", "replica.lag.time.max.ms": "1000"})
		h.followerFetch(0)
		seq := h.send(1, 8, commitOffset("g", 5))
		h.deliverAll()
		h.tick(1001) // the follower lags: the ISR shrinks to [1]
		h.deliverAll()
		if _, isr, _ := h.partitionState(core.OffsetsTopic, 0); len(isr) != 1 {
			t.Fatalf("ISR after the follower lagged: %v; want [1]", isr)
		}
		// replicated to the ISR, which is below the minimum now
		if code := commitCode(h.mustResponse(seq)); code != kerr.CoordinatorNotAvailable.Code {
			t.Errorf("commit when the ISR shrank below min.insync.replicas: got %s; want COORDINATOR_NOT_AVAILABLE", codeName(code))
		}
		before := h.offsetsEnd()
		seq = h.send(1, 8, commitOffset("g", 6))
		h.deliverAll()
		if code := commitCode(h.mustResponse(seq)); code != kerr.CoordinatorNotAvailable.Code {
			t.Errorf("commit with the ISR below min.insync.replicas: got %s; want COORDINATOR_NOT_AVAILABLE", codeName(code))
		}
		if after := h.offsetsEnd(); after != before {
			t.Errorf("a commit refused for NOT_ENOUGH_REPLICAS was appended: log end %d then %d", before, after)
		}
	})
	t.Run("leadership-moved", func(t *testing.T) {
		h, _ := replicatedOffsets(t, nil)
		h.followerFetch(0)
		seq := h.send(1, 8, commitOffset("g", 5))
		h.deliverAll()
		// a controlled shutdown of broker 1 hands the partition to broker 2
		if resp := h.controlledShutdown(3, 1, h.epochOf(1)); resp.ErrorCode != 0 {
			t.Fatalf("controlled shutdown: %s", codeName(resp.ErrorCode))
		}
		if leader, _, _ := h.partitionState(core.OffsetsTopic, 0); leader != 2 {
			t.Fatalf("__consumer_offsets-0 after the controlled shutdown: leader %d; want 2", leader)
		}
		if code := commitCode(h.mustResponse(seq)); code != kerr.NotCoordinator.Code {
			t.Errorf("a commit pending when the partition moved: got %s; want NOT_COORDINATOR", codeName(code))
		}
		if code, _ := h.committedOffset("g"); code != kerr.NotCoordinator.Code {
			t.Errorf("OffsetFetch after the partition moved: got %s; want NOT_COORDINATOR", codeName(code))
		}
		// v0-1 have no group-level error: it comes on every partition
		for v := int16(0); v < 2; v++ {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.SetVersion(v)
			req.Group = "g"
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic, rt.Partitions = "t", []int32{0, 1}
			req.Topics = append(req.Topics, rt)
			resp := h.mustResponse(h.send(2, v, req)).(*kmsg.OffsetFetchResponse)
			var got []string
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					got = append(got, fmt.Sprintf("%s-%d:%d:%s", t.Topic, p.Partition, p.Offset, codeName(p.ErrorCode)))
				}
			}
			if want := []string{"t-0:-1:NOT_COORDINATOR", "t-1:-1:NOT_COORDINATOR"}; !slices.Equal(got, want) {
				t.Errorf("OffsetFetch v%d after the partition moved: got %v; want %v", v, got, want)
			}
		}
		if code := heartbeat(h, "g", "m", 1); code != kerr.NotCoordinator.Code {
			t.Errorf("Heartbeat after the partition moved: got %s; want NOT_COORDINATOR", codeName(code))
		}
	})
}

// TestSyncWaitsForISR: a SyncGroup leader's assignment is answered once
// the ISR holds the group's record.
func TestSyncWaitsForISR(t *testing.T) {
	h, _ := replicatedOffsets(t, nil)
	h.followerFetch(0)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "g", 10_000, 10_000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{0, 0, 0, 0, 0, 0, 0, 0}
	join.Protocols = append(join.Protocols, p)
	seq := h.send(1, 3, join)
	h.tick(1)
	h.deliverAll()
	jr := h.mustResponse(seq).(*kmsg.JoinGroupResponse)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = "g", jr.Generation, jr.MemberID
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = jr.MemberID, []byte{0, 1}
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	seq = h.send(1, 1, sync)
	h.deliverAll()
	if r := h.response(seq); r != nil {
		t.Fatalf("SyncGroup answered before the ISR holds the assignment: %s", codeName(r.(*kmsg.SyncGroupResponse).ErrorCode))
	}
	h.followerFetch(h.offsetsEnd())
	if r := h.mustResponse(seq).(*kmsg.SyncGroupResponse); r.ErrorCode != 0 || string(r.MemberAssignment) != "\x00\x01" {
		t.Errorf("SyncGroup once replicated: got %s, assignment %q; want NONE, the leader's", codeName(r.ErrorCode), r.MemberAssignment)
	}
}

// TestNewLeaderLoadsCommitted: a broker that leads an offsets partition
// anew (here after a restart, its high watermark not yet learned) loads
// the whole log it has, acknowledged commits past its own high
// watermark included, and serves the groups only once that log end is
// committed: COORDINATOR_LOAD_IN_PROGRESS until then, never an older
// offset.
func TestNewLeaderLoadsCommitted(t *testing.T) {
	first, _ := replicatedOffsets(t, nil)
	first.followerFetch(0)
	seq := first.send(1, 8, commitOffset("g", 5))
	first.deliverAll()
	first.followerFetch(first.offsetsEnd())
	if code := commitCode(first.mustResponse(seq)); code != 0 {
		t.Fatalf("commit: %s", codeName(code))
	}

	// broker 1 restarts on its log; broker 2 is still live
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181",
		"offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 43
	rec := core.Recovered{Znodes: first.coordWrites()}
	rec.Partitions = []core.RecoveredPartition{{Partition: offsets0, LogEndOffset: logEnd(t, first.logs[offsets0])}}
	first.coord.CloseSession(first.session)
	rec.CoordSession = first.coord.OpenSession()
	h := &harness{t: t, now: first.now + 1e9, logs: map[core.TopicPartition][][]byte{offsets0: first.logs[offsets0]},
		coord: first.coord, session: rec.CoordSession}
	if h.b, err = core.New(cfg, rec); err != nil {
		t.Fatal(err)
	}
	h.exec(h.b.Startup(nil))
	h.deliverAll()
	h.tick(0)
	h.deliverAll()
	h.tick(1) // the lease
	h.deliverAll()
	if leader, _, _ := h.partitionState(core.OffsetsTopic, 0); leader != 1 {
		t.Fatalf("__consumer_offsets-0 after the restart: leader %d; want 1", leader)
	}
	if code, off := h.committedOffset("g"); code != kerr.CoordinatorLoadInProgress.Code {
		t.Errorf("OffsetFetch before the high watermark reached the log end: got %s, offset %d; want COORDINATOR_LOAD_IN_PROGRESS", codeName(code), off)
	}
	h.followerFetch(h.offsetsEnd())
	if code, off := h.committedOffset("g"); code != 0 || off != 5 {
		t.Errorf("OffsetFetch once loaded: got %s, offset %d; want NONE, 5", codeName(code), off)
	}
}

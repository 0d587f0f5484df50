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

// Operations and admin: ElectLeaders (api_43), the automatic preferred
// leader rebalance (rebalance.go), AlterPartitionReassignments and
// ListPartitionReassignments (api_45, api_46, reassign.go), and
// DescribeLogDirs (api_35). The harness's broker 1 is the controller;
// the brokers a test registers run nowhere (what the controller sends
// them fails and is sent again), so a test plays their part where it
// matters by writing what they would write.

// electLeaders sends ElectLeaders at version v (kind is ignored at v0;
// parts nil asks for every partition) and returns the answer.
func (h *harness) electLeaders(v int16, kind int8, parts map[string][]int32) *kmsg.ElectLeadersResponse {
	h.t.Helper()
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType, req.TimeoutMillis = kind, 10000
	if parts != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for _, name := range sortedNames(parts) {
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic, rt.Partitions = name, parts[name]
			req.Topics = append(req.Topics, rt)
		}
	}
	seq := h.send(1, v, req)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.ElectLeadersResponse)
}

func sortedNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// electCodes flattens an ElectLeaders answer to "topic-p:CODE" strings.
func electCodes(resp *kmsg.ElectLeadersResponse) []string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s-%d:%s", t.Topic, p.Partition, codeName(p.ErrorCode)))
		}
	}
	return out
}

// setISR writes a partition's state with leader and isr, as its leader
// would after an ISR change, notifies the controller, and delivers every
// completion.
func (h *harness) setISR(topic string, p int, leader int32, isr []int32) {
	h.t.Helper()
	h.writeState(topic, p, leader, isr)
	h.deliverAll()
}

// writeState is setISR without the deliveries.
func (h *harness) writeState(topic string, p int, leader int32, isr []int32) {
	h.t.Helper()
	path := fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p)
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: path})
	if res.Err != nil {
		h.t.Fatalf("%s: %v", path, res.Err)
	}
	var z map[string]any
	if err := json.Unmarshal(res.Data, &z); err != nil {
		h.t.Fatal(err)
	}
	z["leader"], z["isr"] = leader, isr
	data, _ := json.Marshal(z)
	set, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordSet, Path: path, Data: data, Version: res.Stat.Version})
	if set.Err != nil {
		h.t.Fatalf("%s: %v", path, set.Err)
	}
	h.deliverWatches(fired)
	note := fmt.Sprintf(`{"version":1,"partitions":[{"topic":%q,"partition":%d}]}`, topic, p)
	n, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/isr_change_notification/isr_change_", Data: []byte(note), Sequential: true})
	if n.Err != nil {
		h.t.Fatal(n.Err)
	}
	h.deliverWatches(fired)
}

// preferredElsewhere sets up topic "p" whose partition 0 prefers broker
// 2 (replicas [2, 1]) but is led by broker 1, with both in the ISR.
func preferredElsewhere(t *testing.T, props map[string]string) (*harness, *cover.Counts) {
	h, counts := clusterHarness(t, props)
	h.writeTopic("p", 1, map[string][]int{"0": {2, 1}}) // broker 2 is not registered yet: 1 leads
	h.register(h.coord.OpenSession(), 2)
	h.setISR("p", 0, 1, []int32{1, 2})
	if leader, isr, _ := h.partitionState("p", 0); leader != 1 || !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("p-0 set up: leader %d, ISR %v; want 1, [1 2]", leader, isr)
	}
	return h, counts
}

// TestElectLeadersPreferred: at every version, the preferred replica
// takes the lead (the ISR stays); asked again, ELECTION_NOT_NEEDED; with
// null topics the partitions that needed nothing are left out.
func TestElectLeadersPreferred(t *testing.T) {
	for v := int16(0); v <= 2; v++ {
		h, counts := preferredElsewhere(t, map[string]string{"auto.leader.rebalance.enable": "false"})
		resp := h.electLeaders(v, 0, map[string][]int32{"p": {0}})
		if got := electCodes(resp); resp.ErrorCode != 0 || !slices.Equal(got, []string{"p-0:NONE"}) {
			t.Fatalf("v%d preferred election of p-0: got %v (top %s); want [p-0:NONE]", v, got, codeName(resp.ErrorCode))
		}
		if leader, isr, _ := h.partitionState("p", 0); leader != 2 || !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("v%d p-0 after the election: leader %d, ISR %v; want 2, [1 2]", v, leader, isr)
		}
		md := h.mustResponse(h.send(1, 12, kmsg.NewPtrMetadataRequest())).(*kmsg.MetadataResponse)
		if l := md.Topics[0].Partitions[0].Leader; l != 2 {
			t.Errorf("v%d Metadata after the answer: p-0 led by %d; want 2 (the answer waits for the cache)", v, l)
		}
		if n := counts.Of(cover.PreferredLeaderElected); n != 1 {
			t.Errorf("v%d: preferred-leader-elected fired %d times; want 1", v, n)
		}
		if got := electCodes(h.electLeaders(v, 0, map[string][]int32{"p": {0}})); !slices.Equal(got, []string{"p-0:ELECTION_NOT_NEEDED"}) {
			t.Errorf("v%d asked again: got %v; want [p-0:ELECTION_NOT_NEEDED]", v, got)
		}
		if got := electCodes(h.electLeaders(v, 0, nil)); len(got) != 0 {
			t.Errorf("v%d null topics with nothing to elect: got %v; want nothing", v, got)
		}
	}
}

// TestElectLeadersBadInput: unknown partitions and topics are
// UNKNOWN_TOPIC_OR_PARTITION; a preferred replica out of the ISR is
// PREFERRED_LEADER_NOT_AVAILABLE; an unknown election type is
// INVALID_REQUEST.
func TestElectLeadersBadInput(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("x", 1, map[string][]int{"0": {1}})
	h.writeTopic("y", 2, map[string][]int{"0": {2, 1}})
	h.setISR("y", 0, 1, []int32{1})
	resp := h.electLeaders(1, 0, map[string][]int32{"x": {0, 5, -1}, "nope": {0}, "y": {0}})
	want := []string{"nope-0:UNKNOWN_TOPIC_OR_PARTITION", "x--1:UNKNOWN_TOPIC_OR_PARTITION", "x-0:ELECTION_NOT_NEEDED",
		"x-5:UNKNOWN_TOPIC_OR_PARTITION", "y-0:PREFERRED_LEADER_NOT_AVAILABLE"}
	if got := electCodes(resp); !slices.Equal(got, want) {
		t.Errorf("preferred election: got %v; want %v", got, want)
	}
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = 7
	if resp := h.mustResponse(h.send(1, 2, req)).(*kmsg.ElectLeadersResponse); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("election type 7: top-level %s; want INVALID_REQUEST", codeName(resp.ErrorCode))
	}
}

// TestElectLeadersNotController: a broker that is not the controller
// answers NOT_CONTROLLER for each partition asked, or, for null topics,
// each partition it knows; the top-level error stays NONE, as Kafka's.
func TestElectLeadersNotController(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.writeTopic("x", 1, map[string][]int{"0": {1}, "1": {1}})
	h.followController(9)
	resp := h.electLeaders(2, 0, map[string][]int32{"x": {1}})
	if got := electCodes(resp); resp.ErrorCode != 0 || !slices.Equal(got, []string{"x-1:NOT_CONTROLLER"}) {
		t.Errorf("at a broker following controller 9: got %v (top %s); want [x-1:NOT_CONTROLLER]", got, codeName(resp.ErrorCode))
	}
}

// TestElectLeadersUnclean: with no live ISR member, an unclean election
// makes a live replica outside the ISR the leader with an ISR of itself
// (whatever unclean.leader.election.enable says); a live leader needs no
// election; no live replica at all is ELIGIBLE_LEADERS_NOT_AVAILABLE.
func TestElectLeadersUnclean(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	s2 := h.coord.OpenSession()
	h.register(s2, 2)
	h.writeTopic("u", 1, map[string][]int{"0": {2, 1}})
	h.writeTopic("live", 2, map[string][]int{"0": {1}})
	h.writeTopic("gone", 3, map[string][]int{"0": {3}}) // broker 3 never registered
	h.setISR("u", 0, 2, []int32{2})
	h.deliverWatches(h.coord.CloseSession(s2)) // broker 2 dies: u-0 goes offline
	h.deliverAll()
	if leader, _, _ := h.partitionState("u", 0); leader != -1 {
		t.Fatalf("u-0 with its only ISR member gone: leader %d; want -1", leader)
	}
	if got := electCodes(h.electLeaders(2, 0, map[string][]int32{"u": {0}})); !slices.Equal(got, []string{"u-0:PREFERRED_LEADER_NOT_AVAILABLE"}) {
		t.Errorf("preferred election of offline u-0: got %v; want PREFERRED_LEADER_NOT_AVAILABLE", got)
	}
	resp := h.electLeaders(2, 1, map[string][]int32{"u": {0}, "live": {0}, "gone": {0}})
	want := []string{"gone-0:ELIGIBLE_LEADERS_NOT_AVAILABLE", "live-0:ELECTION_NOT_NEEDED", "u-0:NONE"}
	if got := electCodes(resp); !slices.Equal(got, want) {
		t.Errorf("unclean election: got %v; want %v", got, want)
	}
	if leader, isr, _ := h.partitionState("u", 0); leader != 1 || !slices.Equal(isr, []int32{1}) {
		t.Errorf("u-0 after the unclean election: leader %d, ISR %v; want 1, [1]", leader, isr)
	}
	if n := counts.Of(cover.UncleanElection); n != 1 {
		t.Errorf("unclean-election fired %d times; want 1", n)
	}
}

// TestAutoLeaderRebalance: the controller looks 5 s after it took
// office, then every leader.imbalance.check.interval.seconds, and gives
// a broker whose imbalance is above leader.imbalance.per.broker.percentage
// its preferred leaderships back; at or below it, or disabled, nothing.
func TestAutoLeaderRebalance(t *testing.T) {
	for _, tc := range []struct {
		props  map[string]string
		leader int32
	}{
		{map[string]string{"leader.imbalance.check.interval.seconds": "10"}, 2},
		{map[string]string{"leader.imbalance.check.interval.seconds": "10", "leader.imbalance.per.broker.percentage": "100"}, 1},
		{map[string]string{"auto.leader.rebalance.enable": "false"}, 1},
	} {
		h, counts := preferredElsewhere(t, tc.props)
		for i := 0; i < 30; i++ {
			h.tick(1000)
			h.deliverAll()
		}
		if leader, _, _ := h.partitionState("p", 0); leader != tc.leader {
			t.Errorf("%v: p-0 after 30 s: leader %d; want %d", tc.props, leader, tc.leader)
		}
		if fired := counts.Of(cover.AutoLeaderRebalanced) > 0; fired != (tc.leader == 2) {
			t.Errorf("%v: auto-leader-rebalanced fired %v; want %v", tc.props, fired, tc.leader == 2)
		}
	}
}

// alterReassignments sends AlterPartitionReassignments v0 for one topic
// (a nil replica list cancels) and returns the answer.
func (h *harness) alterReassignments(topic string, parts map[int32][]int32) *kmsg.AlterPartitionAssignmentsResponse {
	h.t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	var ps []int32
	for p := range parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	for _, p := range ps {
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = p, parts[p]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 0, req)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.AlterPartitionAssignmentsResponse)
}

func alterCodes(resp *kmsg.AlterPartitionAssignmentsResponse) []string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s-%d:%s", t.Topic, p.Partition, codeName(p.ErrorCode)))
		}
	}
	return out
}

// listReassignments lists every reassignment as "topic-p rs=[..] +[..] -[..]".
func (h *harness) listReassignments() (int16, []string) {
	h.t.Helper()
	seq := h.send(1, 0, kmsg.NewPtrListPartitionReassignmentsRequest())
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.ListPartitionReassignmentsResponse)
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s-%d rs=%v +%v -%v", t.Topic, p.Partition, p.Replicas, p.AddingReplicas, p.RemovingReplicas))
		}
	}
	return resp.ErrorCode, out
}

// topicDoc reads a topic znode's replicas and reassignment fields.
func (h *harness) topicDoc(name string) (parts, adding, removing map[string][]int32) {
	h.t.Helper()
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/brokers/topics/" + name})
	var z struct {
		Partitions map[string][]int32 `json:"partitions"`
		Adding     map[string][]int32 `json:"adding_replicas"`
		Removing   map[string][]int32 `json:"removing_replicas"`
	}
	if res.Err != nil || json.Unmarshal(res.Data, &z) != nil {
		h.t.Fatalf("topic %s: %v %q", name, res.Err, res.Data)
	}
	return z.Partitions, z.Adding, z.Removing
}

// TestReassignmentBadInput: Kafka's checks, each refusing the partition
// alone: an unknown broker, duplicates, an empty list, a negative id
// (INVALID_REPLICA_ASSIGNMENT), a cancel with none under way
// (NO_REASSIGNMENT_IN_PROGRESS), an unknown partition or topic
// (UNKNOWN_TOPIC_OR_PARTITION); the topic znode stays as it was.
func TestReassignmentBadInput(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("r", 1, map[string][]int{"0": {1}, "1": {1}, "2": {1}, "3": {1}, "4": {1}})
	before, _, _ := h.topicDoc("r")
	resp := h.alterReassignments("r", map[int32][]int32{0: {1, 7}, 1: {2, 2}, 2: {}, 3: {-1}, 4: nil, 9: {2}})
	want := []string{"r-0:INVALID_REPLICA_ASSIGNMENT", "r-1:INVALID_REPLICA_ASSIGNMENT", "r-2:INVALID_REPLICA_ASSIGNMENT",
		"r-3:INVALID_REPLICA_ASSIGNMENT", "r-4:NO_REASSIGNMENT_IN_PROGRESS", "r-9:UNKNOWN_TOPIC_OR_PARTITION"}
	if got := alterCodes(resp); resp.ErrorCode != 0 || !slices.Equal(got, want) {
		t.Errorf("bad reassignments: got %v (top %s); want %v", got, codeName(resp.ErrorCode), want)
	}
	if msg := resp.Topics[0].Partitions[0].ErrorMessage; msg == nil || !strings.Contains(*msg, "not alive") {
		t.Errorf("reassignment to broker 7: message %v; want Kafka's \"...brokers that are not alive...\"", msg)
	}
	if got := alterCodes(h.alterReassignments("nope", map[int32][]int32{0: {1}})); !slices.Equal(got, []string{"nope-0:UNKNOWN_TOPIC_OR_PARTITION"}) {
		t.Errorf("unknown topic: got %v; want UNKNOWN_TOPIC_OR_PARTITION", got)
	}
	after, adding, removing := h.topicDoc("r")
	if fmt.Sprint(after) != fmt.Sprint(before) || len(adding) != 0 || len(removing) != 0 {
		t.Errorf("topic znode after refusals: %v +%v -%v; want %v unchanged", after, adding, removing, before)
	}
	if code, got := h.listReassignments(); code != 0 || len(got) != 0 {
		t.Errorf("ListPartitionReassignments: got %s %v; want none", codeName(code), got)
	}
	if n := counts.Of(cover.ReassignmentStarted); n != 0 {
		t.Errorf("reassignment-started fired %d times after refusals; want 0", n)
	}
}

// TestReassignmentNotController: both APIs answer NOT_CONTROLLER as the
// top-level error at a broker that is not the controller.
func TestReassignmentNotController(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.writeTopic("r", 1, map[string][]int{"0": {1}})
	h.followController(9)
	if resp := h.alterReassignments("r", map[int32][]int32{0: {1}}); resp.ErrorCode != kerr.NotController.Code || len(resp.Topics) != 0 {
		t.Errorf("AlterPartitionReassignments at a follower: top %s, %v; want NOT_CONTROLLER, no topics", codeName(resp.ErrorCode), alterCodes(resp))
	}
	if code, _ := h.listReassignments(); code != kerr.NotController.Code {
		t.Errorf("ListPartitionReassignments at a follower: %s; want NOT_CONTROLLER", codeName(code))
	}
}

// replicaFetch makes broker id fetch partition p of topic from the
// harness's broker at offset, as its replica fetcher would.
func (h *harness) replicaFetch(id int32, topic string, p int32, offset int64) {
	h.t.Helper()
	req := fetchReq(topic, p, offset, 0, 0)
	req.ReplicaID = id
	seq := h.send(1, 12, req)
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.FetchResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		h.t.Fatalf("broker %d's fetch of %s-%d at %d: %s", id, topic, p, offset, codeName(code))
	}
}

// TestReassignmentMoves: [1] → [2]. The znode records RS [2 1], adding
// [2], removing [1], and ListPartitionReassignments shows it; once broker
// 2 caught up (its fetch) and joined the ISR, broker 2 leads with an ISR
// of itself, broker 1's replica is deleted, and the znode holds [2] alone.
// A CreatePartitions meanwhile is refused REASSIGNMENT_IN_PROGRESS.
func TestReassignmentMoves(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("r", 1, map[string][]int{"0": {1}})
	h.tick(1) // the lease is confirmed
	h.deliverAll()
	if p := h.produce("r", 0, batchOpts{records: 3}); p.ErrorCode != 0 {
		t.Fatalf("produce to r-0: %s", codeName(p.ErrorCode))
	}
	if got := alterCodes(h.alterReassignments("r", map[int32][]int32{0: {2}})); !slices.Equal(got, []string{"r-0:NONE"}) {
		t.Fatalf("reassign r-0 to [2]: got %v; want [r-0:NONE]", got)
	}
	parts, adding, removing := h.topicDoc("r")
	if fmt.Sprint(parts, adding, removing) != "map[0:[2 1]] map[0:[2]] map[0:[1]]" {
		t.Errorf("topic znode during the move: %v +%v -%v; want map[0:[2 1]] +map[0:[2]] -map[0:[1]]", parts, adding, removing)
	}
	if _, got := h.listReassignments(); !slices.Equal(got, []string{"r-0 rs=[2 1] +[2] -[1]"}) {
		t.Errorf("ListPartitionReassignments during the move: %v; want [r-0 rs=[2 1] +[2] -[1]]", got)
	}
	cp := kmsg.NewPtrCreatePartitionsRequest()
	ct := kmsg.NewCreatePartitionsRequestTopic()
	ct.Topic, ct.Count = "r", 2
	cp.Topics, cp.TimeoutMillis = append(cp.Topics, ct), 1000
	seq := h.send(1, 3, cp)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; code != kerr.ReassignmentInProgress.Code {
		t.Errorf("CreatePartitions during the move: %s; want REASSIGNMENT_IN_PROGRESS", codeName(code))
	}
	// Broker 2 takes what the controller sends it from now on.
	told := false
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		if req, ok := ps.Request.(*kmsg.LeaderAndISRRequest); ok && ps.Broker == 2 {
			for _, ts := range req.TopicStates {
				for _, p := range ts.PartitionStates {
					told = told || ts.Topic == "r" && p.Leader == 2
				}
			}
		}
		return core.PeerResponse{Response: ps.Request.ResponseKind()}
	}
	h.replicaFetch(2, "r", 0, 3) // broker 2 has caught up
	if leader, isr, _ := h.partitionState("r", 0); leader != 2 || !slices.Equal(isr, []int32{2}) {
		t.Errorf("r-0 once broker 2 caught up: leader %d, ISR %v; want 2, [2]", leader, isr)
	}
	h.tick(1000) // sends that failed before go again
	h.deliverAll()
	if !told {
		t.Errorf("broker 2 was never sent a LeaderAndIsr making it r-0's leader")
	}
	parts, adding, removing = h.topicDoc("r")
	if fmt.Sprint(parts, adding, removing) != "map[0:[2]] map[] map[]" {
		t.Errorf("topic znode after the move: %v +%v -%v; want map[0:[2]], none adding or removing", parts, adding, removing)
	}
	if _, ok := h.logs[core.TopicPartition{Topic: "r", Partition: 0}]; ok {
		t.Errorf("broker 1 still has r-0's log after the move; want it deleted")
	}
	if _, got := h.listReassignments(); len(got) != 0 {
		t.Errorf("ListPartitionReassignments after the move: %v; want none", got)
	}
	for _, p := range []cover.Point{cover.ReassignmentStarted, cover.ReassignedReplicaRemoved, cover.ReassignmentCompleted} {
		if counts.Of(p) != 1 {
			t.Errorf("%s fired %d times; want 1", p, counts.Of(p))
		}
	}
}

// TestReassignmentCancelAndFailover: a reassignment under way survives
// the controller's failover (the new controller reads it from the topic
// znode); cancelling it restores the original replicas, and broker 2,
// which took the new controller's LeaderAndIsr, has its replica deleted
// (peer answers recorded here).
func TestReassignmentCancelAndFailover(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("r", 1, map[string][]int{"0": {1}})
	if got := alterCodes(h.alterReassignments("r", map[int32][]int32{0: {1, 2}})); !slices.Equal(got, []string{"r-0:NONE"}) {
		t.Fatalf("reassign r-0 to [1 2]: got %v; want [r-0:NONE]", got)
	}
	// The controller's session expires; it registers anew and wins
	// /controller again, with nothing of the reassignment in memory.
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	if n := counts.Of(cover.ControllerElected); n != 2 {
		t.Fatalf("controller elections: %d; want 2", n)
	}
	if _, got := h.listReassignments(); !slices.Equal(got, []string{"r-0 rs=[1 2] +[2] -[]"}) {
		t.Errorf("ListPartitionReassignments after the failover: %v; want [r-0 rs=[1 2] +[2] -[]]", got)
	}
	var stops []string
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		resp := ps.Request.ResponseKind()
		if sr, ok := ps.Request.(*kmsg.StopReplicaRequest); ok {
			for _, rt := range sr.Topics {
				for _, p := range rt.PartitionStates {
					stops = append(stops, fmt.Sprintf("%d:%s-%d delete=%v", ps.Broker, rt.Topic, p.Partition, p.Delete))
				}
			}
		}
		return core.PeerResponse{Response: resp}
	}
	h.tick(1000) // the controller's LeaderAndIsr reaches broker 2 now
	h.deliverAll()
	if got := alterCodes(h.alterReassignments("r", map[int32][]int32{0: nil})); !slices.Equal(got, []string{"r-0:NONE"}) {
		t.Fatalf("cancel r-0's reassignment: got %v; want [r-0:NONE]", got)
	}
	h.tick(1000)
	h.deliverAll()
	parts, adding, removing := h.topicDoc("r")
	if fmt.Sprint(parts, adding, removing) != "map[0:[1]] map[] map[]" {
		t.Errorf("topic znode after the cancel: %v +%v -%v; want map[0:[1]], none adding or removing", parts, adding, removing)
	}
	if !slices.Equal(stops, []string{"2:r-0 delete=true"}) {
		t.Errorf("StopReplica sent: %v; want [2:r-0 delete=true]", stops)
	}
	if got := alterCodes(h.alterReassignments("r", map[int32][]int32{0: nil})); !slices.Equal(got, []string{"r-0:NO_REASSIGNMENT_IN_PROGRESS"}) {
		t.Errorf("cancel again: got %v; want NO_REASSIGNMENT_IN_PROGRESS", got)
	}
	if n := counts.Of(cover.ReassignmentCancelled); n != 1 {
		t.Errorf("reassignment-cancelled fired %d times; want 1", n)
	}
}

// TestDescribeLogDirs: at every version, the one log directory with each
// hosted partition asked for, its size as the store measured it and an
// offset lag of 0; a filter keeps only what it names.
func TestDescribeLogDirs(t *testing.T) {
	for v := int16(0); v <= 4; v++ {
		h := newHarness(t, map[string]string{"log.dirs": "/data/ck"})
		h.createTopic("a", 2, nil)
		h.createTopic("b", 1, nil)
		batch := makeBatch(batchOpts{records: 2})
		h.produce("a", 1, batchOpts{records: 2})
		describe := func(topics []kmsg.DescribeLogDirsRequestTopic) string {
			req := kmsg.NewPtrDescribeLogDirsRequest()
			req.Topics = topics
			seq := h.send(1, v, req)
			h.deliverAll()
			resp := h.mustResponse(seq).(*kmsg.DescribeLogDirsResponse)
			var sb strings.Builder
			for _, d := range resp.Dirs {
				fmt.Fprintf(&sb, "%s err=%d total=%d:", d.Dir, d.ErrorCode, d.TotalBytes)
				for _, t := range d.Topics {
					for _, p := range t.Partitions {
						fmt.Fprintf(&sb, " %s-%d size=%d lag=%d future=%v", t.Topic, p.Partition, p.Size, p.OffsetLag, p.IsFuture)
					}
				}
			}
			return sb.String()
		}
		want := fmt.Sprintf("/data/ck err=0 total=-1: a-0 size=0 lag=0 future=false a-1 size=%d lag=0 future=false b-0 size=0 lag=0 future=false", len(batch))
		if got := describe(nil); got != want {
			t.Errorf("v%d all: got %q; want %q", v, got, want)
		}
		rt := kmsg.NewDescribeLogDirsRequestTopic()
		rt.Topic, rt.Partitions = "a", []int32{1, 7}
		other := kmsg.NewDescribeLogDirsRequestTopic()
		other.Topic, other.Partitions = "nope", []int32{0}
		want = fmt.Sprintf("/data/ck err=0 total=-1: a-1 size=%d lag=0 future=false", len(batch))
		if got := describe([]kmsg.DescribeLogDirsRequestTopic{rt, other}); got != want {
			t.Errorf("v%d filtered: got %q; want %q", v, got, want)
		}
	}
}

// TestElectionWaitsForDemotion: a preferred election that gives the lead
// to the controller's own broker takes effect there only once the old
// leader, another broker, took its demotion.
func TestElectionWaitsForDemotion(t *testing.T) {
	h, _ := clusterHarness(t, map[string]string{"auto.leader.rebalance.enable": "false"})
	s2 := h.coord.OpenSession()
	h.register(s2, 2)
	h.writeTopic("w", 1, map[string][]int{"0": {2, 1}})
	h.setISR("w", 0, 2, []int32{2, 1})
	// rewrite the assignment so that broker 1, the controller, is preferred
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/brokers/topics/w"})
	doc := strings.Replace(string(res.Data), `"0":[2,1]`, `"0":[1,2]`, 1)
	set, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordSet, Path: "/brokers/topics/w", Data: []byte(doc), Version: res.Stat.Version})
	if set.Err != nil {
		t.Fatal(set.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll()
	leading := func() bool {
		for _, l := range h.lifecycles {
			if l.Leading == (core.TopicPartition{Topic: "w", Partition: 0}) {
				return true
			}
		}
		return false
	}
	req := kmsg.NewPtrElectLeadersRequest()
	req.TimeoutMillis = 100
	rt := kmsg.NewElectLeadersRequestTopic()
	rt.Topic, rt.Partitions = "w", []int32{0}
	req.Topics = append(req.Topics, rt)
	h.send(1, 2, req)
	for i := 0; i < 10; i++ {
		h.tick(100)
		h.deliverAll()
	}
	if leader, _, _ := h.partitionState("w", 0); leader != 1 {
		t.Fatalf("w-0 after the election: leader %d; want 1", leader)
	}
	if leading() {
		t.Fatalf("broker 1 leads w-0 while broker 2 has not taken its demotion")
	}
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		return core.PeerResponse{Response: ps.Request.ResponseKind()}
	}
	h.tick(1000)
	h.deliverAll()
	if !leading() {
		t.Errorf("broker 1 does not lead w-0 once broker 2 took its demotion")
	}
}

// TestAppendAfterDemotionFails: an acks=all produce whose append
// completes after the broker lost the partition's leadership (a
// preferred election moved it) is answered NOT_LEADER_OR_FOLLOWER: the
// follower's high watermark is another leader's, over other records.
func TestAppendAfterDemotionFails(t *testing.T) {
	h, _ := clusterHarness(t, map[string]string{"auto.leader.rebalance.enable": "false"})
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("d", 1, map[string][]int{"0": {1, 2}})
	h.tick(1) // the lease is confirmed
	h.deliverAll()
	seq := h.send(1, 9, produceReq("d", 0, -1, makeBatch(batchOpts{records: 1})))
	notAppended := func(ev core.Event) bool { _, ok := ev.(core.Appended); return !ok }
	h.deliver(notAppended)
	if r := h.response(seq); r != nil {
		t.Fatalf("produce answered before its append completed: %+v", r)
	}
	h.writeState("d", 0, 2, []int32{1, 2}) // broker 2 leads now
	h.deliver(notAppended)
	h.deliverAll() // the append completes on a follower
	resp := h.mustResponse(seq).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.NotLeaderForPartition.Code {
		t.Errorf("acks=all produce whose append completed after the demotion: %s; want NOT_LEADER_OR_FOLLOWER", codeName(code))
	}
}

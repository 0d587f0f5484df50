package realio

// Group coordinator conformance: FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch and the group admin
// APIs, each version against what its Behavior comment (core/api_*.go)
// promises and what Kafka's classic coordinator does at that version.
//
// Every member speaks on its own connection: a JoinGroup or SyncGroup
// that waits for the rebalance holds its connection's later answers.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

func init() {
	versionCases[8] = versionCase{0, 9, testOffsetCommit}
	versionCases[9] = versionCase{0, 9, testOffsetFetch}
	versionCases[10] = versionCase{0, 6, testFindCoordinator}
	versionCases[11] = versionCase{0, 9, testJoinGroup}
	versionCases[12] = versionCase{0, 4, testHeartbeat}
	versionCases[13] = versionCase{0, 5, testLeaveGroup}
	versionCases[14] = versionCase{0, 5, testSyncGroup}
	versionCases[15] = versionCase{0, 5, testDescribeGroups}
	versionCases[16] = versionCase{0, 5, testListGroups}
	versionCases[42] = versionCase{0, 2, testDeleteGroups}
	versionCases[47] = versionCase{0, 0, testOffsetDelete}
}

const (
	// groupTopic is the topic consumer members subscribe to.
	groupTopic = "gt"
	// memberSessionMs is a member's session timeout unless a test needs
	// its session to end: long enough to outlast a test that does not
	// heartbeat.
	memberSessionMs = 30000
	// groupOps is the AuthorizedOperations bit field of a group without
	// an authorizer: READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS,
	// ALTER_CONFIGS (Kafka's AclEntry.supportedOperations(GROUP)).
	groupOps = 1<<3 | 1<<6 | 1<<8 | 1<<10 | 1<<11
	// opsOmitted is AuthorizedOperations when they were not asked for.
	opsOmitted = -2147483648
)

var (
	errMemberIDRequired   = kerr.MemberIDRequired.Code
	errRebalance          = kerr.RebalanceInProgress.Code
	errIllegalGeneration  = kerr.IllegalGeneration.Code
	errUnknownMember      = kerr.UnknownMemberID.Code
	errFenced             = kerr.FencedInstanceID.Code
	errInconsistent       = kerr.InconsistentGroupProtocol.Code
	errInvalidGroupID     = kerr.InvalidGroupID.Code
	errUnknownTopicOrPart = kerr.UnknownTopicOrPartition.Code
)

// groupBroker starts a broker whose group coordinator answers at once:
// no initial rebalance delay, short sessions allowed, two offsets
// partitions; extra overrides these. It waits until the coordinator is
// available and returns a connection for setup and checks.
func groupBroker(t testing.TB, extra map[string]string) (*testBroker, *client) {
	t.Helper()
	props := map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "10",
		"offsets.topic.num.partitions":     "2",
	}
	maps.Copy(props, extra)
	b := startBroker(t, props)
	c := b.dial(t)
	waitCoordinator(t, c, "probe")
	return b, c
}

// waitCoordinator asks FindCoordinator v3 for key until this broker is
// its coordinator: the first request creates __consumer_offsets, and the
// answer is COORDINATOR_NOT_AVAILABLE until it exists.
func waitCoordinator(t testing.TB, c *client, key string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = key
		resp := call[*kmsg.FindCoordinatorResponse](t, c, 3, req)
		switch {
		case resp.ErrorCode == 0:
			return
		case resp.ErrorCode != kerr.CoordinatorNotAvailable.Code:
			t.Fatalf("FindCoordinator: got %s; want 0 or COORDINATOR_NOT_AVAILABLE while the offsets topic is created", errName(resp.ErrorCode))
		case time.Now().After(deadline):
			t.Fatalf("FindCoordinator: still COORDINATOR_NOT_AVAILABLE after %s", ioTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscription is consumer protocol metadata subscribing to topics.
func subscription(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version, m.Topics = 0, topics
	return m.AppendTo(nil)
}

// assignment is a consumer protocol assignment of partitions of topic.
func assignment(topic string, parts ...int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	at := kmsg.NewConsumerMemberAssignmentTopic()
	at.Topic, at.Partitions = topic, parts
	a.Topics = append(a.Topics, at)
	return a.AppendTo(nil)
}

// inflight is a request sent and not yet answered.
type inflight struct {
	c    *client
	req  kmsg.Request
	corr int32
}

func start(t testing.TB, c *client, v int16, req kmsg.Request) inflight {
	t.Helper()
	req.SetVersion(v)
	corr, err := c.send(req)
	if err != nil {
		t.Fatal(err)
	}
	return inflight{c, req, corr}
}

func await[R kmsg.Response](t testing.TB, f inflight) R {
	t.Helper()
	resp, err := f.c.recv(f.req, f.corr)
	if err != nil {
		t.Fatal(err)
	}
	return resp.(R)
}

// expectWaiting checks that no answer arrives on c within d: a request
// the broker must hold is still held.
func expectWaiting(t testing.TB, c *client, d time.Duration, what string) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	if b, err := c.r.Peek(1); err == nil || !isTimeout(err) {
		t.Fatalf("%s: got an answer (%x, %v) within %s; want it held", what, b, err, d)
	}
}

// versions are what a group scenario speaks: the API under test at its
// version, the others at their newest.
type versions struct{ join, sync, hb int16 }

var newest = versions{join: 9, sync: 5, hb: 4}

// gmember is one group member on its own connection.
type gmember struct {
	c          *client
	group      string
	id         string
	instance   *string
	gen        int32
	meta       []byte
	sessionMs  int32
	rebalMs    int32
	protocols  []string // protocol names offered, with meta each
	joining    *inflight
	lastJoined *kmsg.JoinGroupResponse
}

func newMember(t testing.TB, b *testBroker, group string) *gmember {
	return &gmember{c: b.dial(t), group: group, meta: subscription(groupTopic),
		sessionMs: memberSessionMs, rebalMs: memberSessionMs, protocols: []string{"range"}}
}

func (m *gmember) static(instance string) *gmember { m.instance = &instance; return m }

func (m *gmember) joinReq() *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.InstanceID = m.group, m.id, m.instance
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = m.sessionMs, m.rebalMs
	req.ProtocolType = "consumer"
	for _, name := range m.protocols {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = name, m.meta
		req.Protocols = append(req.Protocols, p)
	}
	return req
}

// enter sends a new member's JoinGroup at v and keeps it in flight; a
// dynamic member at v4+ first gets MEMBER_ID_REQUIRED with its id.
func (m *gmember) enter(t testing.TB, v int16) {
	t.Helper()
	req := m.joinReq()
	if v >= 4 && req.MemberID == "" && (v < 5 || req.InstanceID == nil) {
		resp := call[*kmsg.JoinGroupResponse](t, m.c, v, req)
		if resp.ErrorCode != errMemberIDRequired || resp.MemberID == "" || resp.Generation != -1 {
			t.Fatalf("first JoinGroup v%d of a new member: got %s, member id %q, generation %d; want MEMBER_ID_REQUIRED with an id, generation -1",
				v, errName(resp.ErrorCode), resp.MemberID, resp.Generation)
		}
		m.id = resp.MemberID
		req.MemberID = m.id
	}
	f := start(t, m.c, v, req)
	m.joining = &f
}

// rejoin sends the member's JoinGroup again, with its id.
func (m *gmember) rejoin(t testing.TB, v int16) {
	t.Helper()
	f := start(t, m.c, v, m.joinReq())
	m.joining = &f
}

// joined waits for the member's JoinGroup answer, which must succeed.
func (m *gmember) joined(t testing.TB) *kmsg.JoinGroupResponse {
	t.Helper()
	resp := await[*kmsg.JoinGroupResponse](t, *m.joining)
	m.joining = nil
	if resp.ErrorCode != 0 {
		t.Fatalf("JoinGroup v%d of %q in %.20q: got %s; want 0", resp.GetVersion(), m.id, m.group, errName(resp.ErrorCode))
	}
	m.id, m.gen, m.lastJoined = resp.MemberID, resp.Generation, resp
	return resp
}

func (m *gmember) heartbeat(t testing.TB, v int16) int16 {
	t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = m.group, m.id, m.gen, m.instance
	return call[*kmsg.HeartbeatResponse](t, m.c, v, req).ErrorCode
}

// awaitRebalance heartbeats at v until the answer is
// REBALANCE_IN_PROGRESS, as a client does before it rejoins.
func (m *gmember) awaitRebalance(t testing.TB, v int16) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for {
		switch code := m.heartbeat(t, v); {
		case code == errRebalance:
			return
		case code != 0:
			t.Fatalf("Heartbeat v%d of %q awaiting a rebalance: got %s; want 0 or REBALANCE_IN_PROGRESS", v, m.id, errName(code))
		case time.Now().After(deadline):
			t.Fatalf("Heartbeat v%d of %q: no REBALANCE_IN_PROGRESS within %s", v, m.id, closeTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *gmember) syncReq(assign map[string][]byte) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = m.group, m.id, m.gen, m.instance
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	for _, id := range slices.Sorted(maps.Keys(assign)) {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, assign[id]
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	return req
}

// rebalance takes ms through one rebalance at vs: members without an id
// (or with a JoinGroup already in flight) join first, the others rejoin
// once a heartbeat says REBALANCE_IN_PROGRESS; then the followers and the
// leader send SyncGroup, member i being assigned partition i of
// groupTopic, and each must receive its own assignment. It returns the
// index of the leader.
func rebalance(t testing.TB, vs versions, ms ...*gmember) int {
	t.Helper()
	for _, m := range ms {
		if m.joining == nil && m.id == "" {
			m.enter(t, vs.join)
		}
	}
	for _, m := range ms {
		if m.joining == nil {
			m.awaitRebalance(t, vs.hb)
			m.rejoin(t, vs.join)
		}
	}
	leader := -1
	for i, m := range ms {
		resp := m.joined(t)
		if resp.LeaderID == resp.MemberID {
			leader = i
		}
		if resp.Generation != ms[0].gen {
			t.Fatalf("JoinGroup answers: got generations %d and %d; want one", ms[0].gen, resp.Generation)
		}
	}
	if leader < 0 {
		t.Fatalf("JoinGroup answers: no member is the leader %q", ms[0].lastJoined.LeaderID)
	}
	assign := map[string][]byte{}
	for i, m := range ms {
		assign[m.id] = assignment(groupTopic, int32(i))
	}
	syncs := make([]inflight, len(ms))
	for i, m := range ms {
		if i != leader {
			syncs[i] = start(t, m.c, vs.sync, m.syncReq(nil))
		}
	}
	syncs[leader] = start(t, ms[leader].c, vs.sync, ms[leader].syncReq(assign))
	for i, m := range ms {
		resp := await[*kmsg.SyncGroupResponse](t, syncs[i])
		if resp.ErrorCode != 0 || !bytes.Equal(resp.MemberAssignment, assign[m.id]) {
			t.Fatalf("SyncGroup v%d of member %d: got %s, assignment %x; want 0, %x", vs.sync, i, errName(resp.ErrorCode), resp.MemberAssignment, assign[m.id])
		}
	}
	return leader
}

// formGroup forms a Stable consumer group of n dynamic members, joining
// one at a time; member i is assigned partition i.
func formGroup(t testing.TB, b *testBroker, vs versions, group string, n int) []*gmember {
	t.Helper()
	var ms []*gmember
	for i := 0; i < n; i++ {
		ms = append(ms, newMember(t, b, group))
		rebalance(t, vs, ms...)
	}
	return ms
}

// describe describes groups with DescribeGroups at v, asking for the
// authorized operations from v3.
func describe(t testing.TB, c *client, v int16, groups ...string) []kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups, req.IncludeAuthorizedOperations = groups, v >= 3
	resp := call[*kmsg.DescribeGroupsResponse](t, c, v, req)
	if len(resp.Groups) != len(groups) {
		t.Fatalf("DescribeGroups v%d of %d groups: got %d", v, len(groups), len(resp.Groups))
	}
	for i, g := range resp.Groups {
		if g.Group != groups[i] {
			t.Fatalf("DescribeGroups v%d group %d: got %.40q; want %.40q", v, i, g.Group, groups[i])
		}
	}
	return resp.Groups
}

// stateOf is a group's state as DescribeGroups v5 tells it.
func stateOf(t testing.TB, c *client, group string) string {
	t.Helper()
	return describe(t, c, 5, group)[0].State
}

// waitState polls DescribeGroups until the group is in state.
func waitState(t testing.TB, c *client, group, state string) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for {
		got := stateOf(t, c, group)
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %q after %s: got state %s; want %s", group, closeTimeout, got, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- offsets ----

// tpo is one committed offset: what a commit carries and a fetch answers.
type tpo struct {
	topic  string
	part   int32
	offset int64
	epoch  int32
	meta   string
	ts     int64 // v1 commit timestamp; 0 means -1
}

func (o tpo) key() string { return fmt.Sprintf("%s/%d", o.topic, o.part) }

func commitReq(group string, gen int32, memberID string, offs ...tpo) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = group, gen, memberID
	for _, o := range offs {
		i := slices.IndexFunc(req.Topics, func(t kmsg.OffsetCommitRequestTopic) bool { return t.Topic == o.topic })
		if i < 0 {
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = o.topic
			req.Topics = append(req.Topics, rt)
			i = len(req.Topics) - 1
		}
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = o.part, o.offset, o.epoch, kmsg.StringPtr(o.meta)
		if o.ts != 0 {
			p.Timestamp = o.ts
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	return req
}

// commitCodes sends an OffsetCommit at v and returns each partition's
// code by "topic/partition", checking that the answer lists exactly the
// request's partitions, in order.
func commitCodes(t testing.TB, c *client, v int16, req *kmsg.OffsetCommitRequest) map[string]int16 {
	t.Helper()
	resp := call[*kmsg.OffsetCommitResponse](t, c, v, req)
	var want, got []string
	codes := map[string]int16{}
	for _, rt := range req.Topics {
		for _, p := range rt.Partitions {
			want = append(want, fmt.Sprintf("%s/%d", rt.Topic, p.Partition))
		}
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			k := fmt.Sprintf("%s/%d", rt.Topic, p.Partition)
			got = append(got, k)
			codes[k] = p.ErrorCode
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("OffsetCommit v%d answer: got partitions %v; want %v", v, got, want)
	}
	return codes
}

// checkCodes compares per-partition codes with want.
func checkCodes(t testing.TB, what string, got, want map[string]int16) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		checkCode(t, fmt.Sprintf("%s %s", what, k), got[k], want[k])
	}
}

// allCodes is want with every partition of offs answered code.
func allCodes(code int16, offs ...tpo) map[string]int16 {
	m := map[string]int16{}
	for _, o := range offs {
		m[o.key()] = code
	}
	return m
}

// mustCommit commits offs for group at OffsetCommit v9 and fails unless
// every partition is committed.
func mustCommit(t testing.TB, c *client, group string, gen int32, memberID string, offs ...tpo) {
	t.Helper()
	codes := commitCodes(t, c, 9, commitReq(group, gen, memberID, offs...))
	checkCodes(t, "OffsetCommit v9", codes, allCodes(0, offs...))
}

// fetchedPart is one partition of an OffsetFetch answer, any version.
type fetchedPart struct {
	offset int64
	epoch  int32
	meta   string
	code   int16
}

// fetchOffsets asks OffsetFetch at v for group's partitions of topics
// (nil: every committed partition, v2+) and returns the group-level
// code and each partition by "topic/partition".
func fetchOffsets(t testing.TB, c *client, v int16, group string, requireStable bool, topics map[string][]int32) (int16, map[string]fetchedPart) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = requireStable
	var names []string
	if topics != nil {
		names = slices.Sorted(maps.Keys(topics))
	}
	out := map[string]fetchedPart{}
	if v >= 8 {
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = group
		if topics != nil {
			g.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
		}
		for _, n := range names {
			rt := kmsg.NewOffsetFetchRequestGroupTopic()
			rt.Topic, rt.Partitions = n, topics[n]
			g.Topics = append(g.Topics, rt)
		}
		req.Groups = append(req.Groups, g)
		resp := call[*kmsg.OffsetFetchResponse](t, c, v, req)
		if len(resp.Groups) != 1 || resp.Groups[0].Group != group {
			t.Fatalf("OffsetFetch v%d for %.20q: got %d groups; want it alone", v, group, len(resp.Groups))
		}
		for _, rt := range resp.Groups[0].Topics {
			for _, p := range rt.Partitions {
				out[fmt.Sprintf("%s/%d", rt.Topic, p.Partition)] = fetchedPart{p.Offset, p.LeaderEpoch, deref(p.Metadata), p.ErrorCode}
			}
		}
		return resp.Groups[0].ErrorCode, out
	}
	req.Group = group
	if topics != nil {
		req.Topics = []kmsg.OffsetFetchRequestTopic{}
	}
	for _, n := range names {
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = n, topics[n]
		req.Topics = append(req.Topics, rt)
	}
	resp := call[*kmsg.OffsetFetchResponse](t, c, v, req)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[fmt.Sprintf("%s/%d", rt.Topic, p.Partition)] = fetchedPart{p.Offset, p.LeaderEpoch, deref(p.Metadata), p.ErrorCode}
		}
	}
	return resp.ErrorCode, out
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// committedOffsets is every committed offset of group, by OffsetFetch v8.
func committedOffsets(t testing.TB, c *client, group string) map[string]fetchedPart {
	t.Helper()
	code, parts := fetchOffsets(t, c, 8, group, false, nil)
	checkCode(t, fmt.Sprintf("OffsetFetch v8 of %.20q", group), code, 0)
	for k, p := range parts {
		checkCode(t, fmt.Sprintf("OffsetFetch v8 of %.20q %s", group, k), p.code, 0)
	}
	return parts
}

// checkCommitted compares a group's committed offsets with want exactly.
func checkCommitted(t testing.TB, c *client, group string, want ...tpo) {
	t.Helper()
	got := committedOffsets(t, c, group)
	w := map[string]fetchedPart{}
	for _, o := range want {
		w[o.key()] = fetchedPart{o.offset, o.epoch, o.meta, 0}
	}
	if !maps.Equal(got, w) {
		t.Errorf("committed offsets of %.20q: got %v; want %v", group, got, w)
	}
}

// ---- __consumer_offsets records ----

// offsetsRecords returns every record of __consumer_offsets, in log
// order per partition.
func offsetsRecords(t testing.TB, c *client) []kmsg.Record {
	t.Helper()
	var out []kmsg.Record
	for _, recs := range offsetsRecordsByPartition(t, c) {
		out = append(out, recs...)
	}
	return out
}

// offsetsRecordsByPartition returns the records of each partition of
// __consumer_offsets, in log order.
func offsetsRecordsByPartition(t testing.TB, c *client) map[int32][]kmsg.Record {
	t.Helper()
	rt, ok := metadataTopic(t, c, core.OffsetsTopic)
	if !ok {
		t.Fatalf("Metadata: %s does not exist", core.OffsetsTopic)
	}
	slices.SortFunc(rt.Partitions, func(a, b kmsg.MetadataResponseTopicPartition) int { return int(a.Partition - b.Partition) })
	out := map[int32][]kmsg.Record{}
	for _, p := range rt.Partitions {
		rp := fetchPart(t, c, 11, core.OffsetsTopic, rt.TopicID, p.Partition, 0)
		for _, raw := range splitBatches(t, rp.RecordBatches) {
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(raw); err != nil {
				t.Fatalf("a batch of %s: %v", core.OffsetsTopic, err)
			}
			rest := rb.Records
			for i := 0; i < int(rb.NumRecords); i++ {
				l, n := binary.Varint(rest)
				if n <= 0 || int(l) > len(rest)-n {
					t.Fatalf("a record of %s: bad length", core.OffsetsTopic)
				}
				var r kmsg.Record
				if err := r.ReadFrom(rest[:n+int(l)]); err != nil {
					t.Fatalf("a record of %s: %v", core.OffsetsTopic, err)
				}
				out[p.Partition] = append(out[p.Partition], r)
				rest = rest[n+int(l):]
			}
		}
	}
	return out
}

// groupRecord is the value of the last GroupMetadata record of group;
// nil when there is none or it is a tombstone.
func groupRecord(t testing.TB, c *client, group string) *kmsg.GroupMetadataValue {
	t.Helper()
	var last *kmsg.GroupMetadataValue
	for _, r := range offsetsRecords(t, c) {
		var k kmsg.GroupMetadataKey
		if len(r.Key) < 2 || binary.BigEndian.Uint16(r.Key) != 2 || k.ReadFrom(r.Key) != nil || k.Group != group {
			continue
		}
		last = nil
		if r.Value != nil {
			last = new(kmsg.GroupMetadataValue)
			if err := last.ReadFrom(r.Value); err != nil {
				t.Fatalf("GroupMetadataValue of %q: %v", group, err)
			}
		}
	}
	return last
}

// offsetRecord is the value of the last OffsetCommit record of (group,
// topic, partition); nil when there is none or it is a tombstone.
func offsetRecord(t testing.TB, c *client, group, topic string, part int32) *kmsg.OffsetCommitValue {
	t.Helper()
	return offsetRecordOf(t, c, group, topic, part, false)
}

// storedCommit returns the last commit value stored for (group, topic,
// part), ignoring later tombstones (an expiry may write one at any time
// after the commit), or nil.
func storedCommit(t testing.TB, c *client, group, topic string, part int32) *kmsg.OffsetCommitValue {
	t.Helper()
	return offsetRecordOf(t, c, group, topic, part, true)
}

func offsetRecordOf(t testing.TB, c *client, group, topic string, part int32, skipTombstones bool) *kmsg.OffsetCommitValue {
	t.Helper()
	var last *kmsg.OffsetCommitValue
	for _, r := range offsetsRecords(t, c) {
		var k kmsg.OffsetCommitKey
		if len(r.Key) < 2 || binary.BigEndian.Uint16(r.Key) > 1 || k.ReadFrom(r.Key) != nil ||
			k.Group != group || k.Topic != topic || k.Partition != part {
			continue
		}
		if r.Value == nil && skipTombstones {
			continue
		}
		last = nil
		if r.Value != nil {
			last = new(kmsg.OffsetCommitValue)
			if err := last.ReadFrom(r.Value); err != nil {
				t.Fatalf("OffsetCommitValue of %q %s/%d: %v", group, topic, part, err)
			}
		}
	}
	return last
}

// kafkaPartition is Kafka's GroupMetadataManager.partitionFor:
// Utils.abs(groupId.hashCode) % partitions, where hashCode runs over
// UTF-16 code units and Utils.abs maps Integer.MIN_VALUE to 0.
func kafkaPartition(group string, partitions int32) int32 {
	h := javaHash(group)
	if h == math.MinInt32 {
		return 0
	}
	if h < 0 {
		h = -h
	}
	return h % partitions
}

func javaHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// TestGroupPartitionLayout: a group's records go to the partition of
// __consumer_offsets Kafka computes for it, so that Kafka's tools and
// brokers reading the topic find them; negative hash codes included.
func TestGroupPartitionLayout(t *testing.T) {
	t.Parallel()
	_, c := groupBroker(t, map[string]string{"offsets.topic.num.partitions": "7"})
	createTopic(t, c, groupTopic, 1, nil)
	groups := []string{"polygenelubricants", "négatif-🙂", ""}
	negative := 0
	for i := 0; i < 12; i++ {
		g := fmt.Sprintf("%d-layout", i*7919)
		if javaHash(g) < 0 {
			negative++
		}
		groups = append(groups, g)
	}
	if negative == 0 || javaHash("polygenelubricants") != math.MinInt32 {
		t.Fatalf("group names: got %d negative hash codes; want some, and Integer.MIN_VALUE for polygenelubricants", negative)
	}
	for _, g := range groups {
		mustCommit(t, c, g, -1, "", tpo{groupTopic, 0, 1, -1, "", 0})
	}
	found := map[string]bool{}
	for part, recs := range offsetsRecordsByPartition(t, c) {
		for _, r := range recs {
			var k kmsg.OffsetCommitKey
			if k.ReadFrom(r.Key) != nil {
				continue
			}
			found[k.Group] = true
			if want := kafkaPartition(k.Group, 7); part != want {
				t.Errorf("group %q (hash code %d): got its commit in partition %d; want %d", k.Group, javaHash(k.Group), part, want)
			}
		}
	}
	if len(found) != len(groups) {
		t.Errorf("commits found for %d groups; want %d", len(found), len(groups))
	}
}

// ---- FindCoordinator (10) ----

func testFindCoordinator(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"offsets.topic.num.partitions": "3"})
	c := b.dial(t)
	type answer struct {
		key        string
		code       int16
		msg        *string
		node, port int32
		host       string
	}
	find := func(keyType int8, keys ...string) []answer {
		t.Helper()
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType = keyType
		if v < 4 {
			req.CoordinatorKey = keys[0]
		} else {
			req.CoordinatorKeys = keys
		}
		resp := call[*kmsg.FindCoordinatorResponse](t, c, v, req)
		if v < 4 {
			return []answer{{keys[0], resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Port, resp.Host}}
		}
		var out []answer
		for _, rc := range resp.Coordinators {
			out = append(out, answer{rc.Key, rc.ErrorCode, rc.ErrorMessage, rc.NodeID, rc.Port, rc.Host})
		}
		if len(out) != len(keys) {
			t.Fatalf("FindCoordinator v%d for %d keys: got %d answers", v, len(keys), len(out))
		}
		for i, a := range out {
			if a.key != keys[i] {
				t.Errorf("FindCoordinator v%d answer %d: got key %q; want %q", v, i, a.key, keys[i])
			}
		}
		return out
	}
	md := call[*kmsg.MetadataResponse](t, c, 12, metadataReq(12, false))
	if len(md.Brokers) != 1 {
		t.Fatalf("Metadata brokers: got %d; want 1", len(md.Brokers))
	}
	self := md.Brokers[0]
	// The first request creates __consumer_offsets; until it exists the
	// answer is COORDINATOR_NOT_AVAILABLE.
	deadline := time.Now().Add(ioTimeout)
	for {
		a := find(0, "fc-group")[0]
		if a.code == 0 {
			if a.node != self.NodeID || a.host != self.Host || a.port != b.port {
				t.Errorf("coordinator: got node %d at %s:%d; want node %d at %s:%d", a.node, a.host, a.port, self.NodeID, self.Host, b.port)
			}
			break
		}
		checkCode(t, "FindCoordinator while the offsets topic is created", a.code, kerr.CoordinatorNotAvailable.Code)
		if v >= 1 && (a.msg == nil || *a.msg == "") {
			t.Errorf("FindCoordinator v%d COORDINATOR_NOT_AVAILABLE: got no error message; want one", v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("FindCoordinator: still COORDINATOR_NOT_AVAILABLE after %s", ioTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rt, ok := metadataTopic(t, c, core.OffsetsTopic)
	if !ok || len(rt.Partitions) != 3 {
		t.Errorf("Metadata of %s: got found=%v with %d partitions; want 3 (offsets.topic.num.partitions)", core.OffsetsTopic, ok, len(rt.Partitions))
	}
	if v == 0 {
		return
	}
	for _, tc := range []struct {
		keyType int8
		code    int16
	}{{1, kerr.CoordinatorNotAvailable.Code}, {2, kerr.InvalidRequest.Code}, {7, kerr.InvalidRequest.Code}} {
		a := find(tc.keyType, "k")[0]
		checkCode(t, fmt.Sprintf("FindCoordinator v%d key type %d", v, tc.keyType), a.code, tc.code)
		if a.node != -1 || a.msg == nil || *a.msg == "" {
			t.Errorf("FindCoordinator v%d key type %d: got node %d, message %v; want node -1 and a message", v, tc.keyType, a.node, deref(a.msg))
		}
	}
	if v >= 4 {
		got := find(0, "a", "b", "fc-group")
		for _, a := range got {
			checkCode(t, fmt.Sprintf("FindCoordinator v%d key %q", v, a.key), a.code, 0)
			if a.node != self.NodeID || a.port != b.port {
				t.Errorf("FindCoordinator v%d key %q: got node %d port %d; want %d, %d", v, a.key, a.node, a.port, self.NodeID, b.port)
			}
		}
	}
}

// ---- JoinGroup (11) ----

func testJoinGroup(t *testing.T, v int16) {
	b, c := groupBroker(t, map[string]string{"group.max.session.timeout.ms": "60000"})
	vs := newest
	vs.join = v
	// Bad group id and session timeouts are refused before anything else.
	bad := newMember(t, b, "")
	checkCode(t, "JoinGroup with group id \"\"", call[*kmsg.JoinGroupResponse](t, bad.c, v, bad.joinReq()).ErrorCode, errInvalidGroupID)
	for _, ms := range []int32{9, 60001} {
		bad := newMember(t, b, "jg-bad")
		bad.sessionMs = ms
		checkCode(t, fmt.Sprintf("JoinGroup with session timeout %d", ms), call[*kmsg.JoinGroupResponse](t, bad.c, v, bad.joinReq()).ErrorCode, kerr.InvalidSessionTimeout.Code)
	}

	// A first member: MEMBER_ID_REQUIRED then a real join at v4+, an id
	// at once below v4 (checked by enter and joined).
	a := newMember(t, b, "jg")
	a.sessionMs, a.rebalMs = 7000, 9000
	rebalance(t, vs, a)
	r := a.lastJoined
	if r.Generation != 1 || r.LeaderID != a.id || !strings.HasPrefix(a.id, "conformance-") {
		t.Errorf("first JoinGroup: got generation %d, leader %q, member %q; want 1, itself, an id from the client id", r.Generation, r.LeaderID, a.id)
	}
	if len(r.Members) != 1 || r.Members[0].MemberID != a.id || !bytes.Equal(r.Members[0].ProtocolMetadata, a.meta) {
		t.Errorf("leader's members: got %+v; want itself with its metadata", r.Members)
	}
	if deref(r.Protocol) != "range" || v >= 7 && deref(r.ProtocolType) != "consumer" {
		t.Errorf("JoinGroup protocol: got %s (type %s); want range (type consumer from v7)", deref(r.Protocol), deref(r.ProtocolType))
	}
	// v0 has no rebalance timeout: the session timeout stands in, in the
	// stored group record as in the rebalance.
	rec := groupRecord(t, c, "jg")
	wantRebal := int32(9000)
	if v == 0 {
		wantRebal = 7000
	}
	if rec == nil || len(rec.Members) != 1 || rec.Members[0].RebalanceTimeoutMillis != wantRebal || rec.Members[0].SessionTimeoutMillis != 7000 {
		t.Errorf("stored group record: got %+v; want one member with session 7000, rebalance %d", rec, wantRebal)
	}

	// A second member: a full rebalance. The leader's answer lists both
	// members with their metadata, the follower's none.
	bm := newMember(t, b, "jg")
	bm.meta = subscription(groupTopic, "other")
	leader := rebalance(t, vs, a, bm)
	if leader != 0 || a.gen != 2 || len(a.lastJoined.Members) != 2 || len(bm.lastJoined.Members) != 0 || bm.lastJoined.LeaderID != a.id {
		t.Errorf("second rebalance: got leader %d, generation %d, %d and %d members listed, follower told leader %q; want member 0, 2, 2 and 0, %q",
			leader, a.gen, len(a.lastJoined.Members), len(bm.lastJoined.Members), bm.lastJoined.LeaderID, a.id)
	}
	for _, jm := range a.lastJoined.Members {
		if want := map[string][]byte{a.id: a.meta, bm.id: bm.meta}[jm.MemberID]; !bytes.Equal(jm.ProtocolMetadata, want) {
			t.Errorf("leader's member %q: got metadata %x; want %x", jm.MemberID, jm.ProtocolMetadata, want)
		}
	}
	// A third member's JoinGroup is held until the others rejoin; their
	// heartbeats say REBALANCE_IN_PROGRESS meanwhile.
	cm := newMember(t, b, "jg")
	cm.enter(t, v)
	a.awaitRebalance(t, vs.hb)
	checkCode(t, "follower's Heartbeat during the rebalance", bm.heartbeat(t, vs.hb), errRebalance)
	expectWaiting(t, cm.c, 200*time.Millisecond, "a new member's JoinGroup before the others rejoin")
	rebalance(t, vs, a, bm, cm)
	if a.gen != 3 {
		t.Errorf("third rebalance: got generation %d; want 3", a.gen)
	}
	// A member rejoining with unchanged metadata in a Stable group is
	// answered at once with the current generation.
	bm.rejoin(t, v)
	if r := bm.joined(t); r.Generation != 3 || len(r.Members) != 0 {
		t.Errorf("follower's JoinGroup in a Stable group: got generation %d, %d members; want 3 at once, none listed", r.Generation, len(r.Members))
	}
	checkCode(t, "Heartbeat after a follower's rejoin", a.heartbeat(t, vs.hb), 0)
	testRebalanceTimeout(t, b, vs)
	if v >= 4 {
		testPendingMember(t, b, vs)
	}
	if v >= 5 {
		testJoinStatic(t, b, c, vs)
	}
}

// testRebalanceTimeout: a member that keeps heartbeating but does not
// rejoin is removed when the rebalance timeout passes. Members ask for
// 20s; v0 has no rebalance timeout, so their 600ms session timeout is
// the one that counts.
func testRebalanceTimeout(t *testing.T, b *testBroker, vs versions) {
	v := vs.join
	x, y := newMember(t, b, "jg-rt"), newMember(t, b, "jg-rt")
	for _, m := range []*gmember{x, y} {
		m.sessionMs, m.rebalMs = 600, 20000
	}
	rebalance(t, vs, x)
	rebalance(t, vs, x, y)
	x.rejoin(t, v) // the leader's rejoin starts a rebalance
	stop, done := make(chan struct{}), make(chan []int16)
	go func() { // heartbeats every 50ms; a transport error ends them (code -1)
		var codes []int16
		for {
			select {
			case <-stop:
				done <- codes
				return
			case <-time.After(50 * time.Millisecond):
			}
			req := kmsg.NewPtrHeartbeatRequest()
			req.Group, req.MemberID, req.Generation = y.group, y.id, y.gen
			req.SetVersion(vs.hb)
			resp, err := y.c.roundTrip(req)
			if err != nil {
				codes = append(codes, -1)
				<-stop
				done <- codes
				return
			}
			codes = append(codes, resp.(*kmsg.HeartbeatResponse).ErrorCode)
		}
	}()
	started := time.Now()
	if v == 0 {
		r := x.joined(t)
		elapsed := time.Since(started)
		close(stop)
		<-done
		if len(r.Members) != 1 || r.Members[0].MemberID != x.id || elapsed < 500*time.Millisecond {
			t.Errorf("JoinGroup v0 while the other member heartbeats without rejoining: got %d members after %v; want the leader alone after the 600ms session timeout", len(r.Members), elapsed)
		}
		return
	}
	expectWaiting(t, x.c, 900*time.Millisecond, "JoinGroup within a 20s rebalance timeout")
	close(stop)
	for _, code := range <-done {
		if code != errRebalance {
			t.Fatalf("Heartbeat of a member during the rebalance: got %s; want REBALANCE_IN_PROGRESS", errName(code))
		}
	}
	y.rejoin(t, v)
	if r := x.joined(t); len(r.Members) != 2 {
		t.Errorf("JoinGroup after the follower rejoined: got %d members; want 2", len(r.Members))
	}
	y.joined(t)
}

// testPendingMember: a member id handed out with MEMBER_ID_REQUIRED holds
// a rebalance until its member joins with it or its session timeout
// passes (Kafka's hasAllMembersJoined counts pending members).
func testPendingMember(t *testing.T, b *testBroker, vs versions) {
	l := newMember(t, b, "jg-pending")
	rebalance(t, vs, l)
	n := newMember(t, b, "jg-pending")
	n.sessionMs = 600
	r := call[*kmsg.JoinGroupResponse](t, n.c, vs.join, n.joinReq())
	checkCode(t, "JoinGroup of a new member", r.ErrorCode, errMemberIDRequired)
	pending, pendingID := time.Now(), r.MemberID
	l.rejoin(t, vs.join)
	expectWaiting(t, l.c, 300*time.Millisecond, "leader's JoinGroup while a member id is pending")
	r = l.joined(t)
	if elapsed := time.Since(pending); len(r.Members) != 1 || elapsed < 500*time.Millisecond {
		t.Errorf("leader's JoinGroup: got %d members after %v; want itself alone once the pending member's 600ms session passed", len(r.Members), elapsed)
	}
	// The pending id expired with it: joining with it is refused.
	n.id = pendingID
	checkCode(t, "JoinGroup with an expired pending member id", call[*kmsg.JoinGroupResponse](t, n.c, vs.join, n.joinReq()).ErrorCode, errUnknownMember)
}

// testJoinStatic: a static member joins at once (no MEMBER_ID_REQUIRED);
// the same group.instance.id joining again takes over under a new id
// without a rebalance, and the old id is fenced.
func testJoinStatic(t *testing.T, b *testBroker, c *client, vs versions) {
	s := newMember(t, b, "jg-static").static("instance-1")
	rebalance(t, vs, s)
	old, gen := s.id, s.gen
	s2 := newMember(t, b, "jg-static").static("instance-1")
	s2.enter(t, vs.join)
	r := s2.joined(t)
	if s2.id == old || r.Generation != gen {
		t.Errorf("static rejoin: got member %q generation %d; want a new id, generation %d", s2.id, r.Generation, gen)
	}
	if vs.join >= 9 {
		// the leader learns it leads, and skips the assignment
		if r.LeaderID != s2.id || !r.SkipAssignment || len(r.Members) != 1 {
			t.Errorf("static leader's rejoin v9: got leader %q, skip %v, %d members; want itself, true, 1", r.LeaderID, r.SkipAssignment, len(r.Members))
		}
	} else if r.LeaderID != old || len(r.Members) != 0 {
		t.Errorf("static leader's rejoin v%d: got leader %q, %d members; want the old id %q, none (no assignment)", vs.join, r.LeaderID, len(r.Members), old)
	}
	checkCode(t, "Heartbeat of the replaced static member", s.heartbeat(t, vs.hb), errFenced)
	s.rejoin(t, vs.join)
	checkCode(t, "JoinGroup of the replaced static member", await[*kmsg.JoinGroupResponse](t, *s.joining).ErrorCode, errFenced)
	checkCode(t, "Heartbeat of the new static member", s2.heartbeat(t, vs.hb), 0)
	d := describe(t, c, 5, "jg-static")[0]
	if d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != s2.id || deref(d.Members[0].InstanceID) != "instance-1" {
		t.Errorf("static group: got %s with %+v; want Stable with %q (instance-1)", d.State, d.Members, s2.id)
	}
}

// ---- SyncGroup (14) ----

func testSyncGroup(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	vs := newest
	vs.sync = v
	ms := formGroup(t, b, vs, "sg", 2) // the follower receives its assignment
	a, bm := ms[0], ms[1]
	// In a Stable group, SyncGroup returns the member's assignment again.
	r := call[*kmsg.SyncGroupResponse](t, bm.c, v, bm.syncReq(nil))
	if r.ErrorCode != 0 || !bytes.Equal(r.MemberAssignment, assignment(groupTopic, 1)) {
		t.Errorf("SyncGroup in a Stable group: got %s, %x; want 0, the assignment", errName(r.ErrorCode), r.MemberAssignment)
	}
	if v >= 5 && (deref(r.ProtocolType) != "consumer" || deref(r.Protocol) != "range") {
		t.Errorf("SyncGroup v5 protocol: got %s/%s; want consumer/range", deref(r.ProtocolType), deref(r.Protocol))
	}
	// Errors: unknown member, other generation, no group id.
	for _, tc := range []struct {
		what string
		edit func(*kmsg.SyncGroupRequest)
		code int16
	}{
		{"an unknown member", func(r *kmsg.SyncGroupRequest) { r.MemberID = "nobody" }, errUnknownMember},
		{"an older generation", func(r *kmsg.SyncGroupRequest) { r.Generation-- }, errIllegalGeneration},
		{"a newer generation", func(r *kmsg.SyncGroupRequest) { r.Generation++ }, errIllegalGeneration},
		{"group id \"\"", func(r *kmsg.SyncGroupRequest) { r.Group = "" }, errInvalidGroupID},
		{"an unknown group", func(r *kmsg.SyncGroupRequest) { r.Group = "sg-none" }, errUnknownMember},
	} {
		req := bm.syncReq(nil)
		tc.edit(req)
		checkCode(t, "SyncGroup from "+tc.what, call[*kmsg.SyncGroupResponse](t, bm.c, v, req).ErrorCode, tc.code)
	}
	if v >= 5 {
		for _, tc := range []struct {
			what string
			edit func(*kmsg.SyncGroupRequest)
		}{
			{"no protocol type", func(r *kmsg.SyncGroupRequest) { r.ProtocolType = nil }},
			{"no protocol name", func(r *kmsg.SyncGroupRequest) { r.Protocol = nil }},
			{"another protocol type", func(r *kmsg.SyncGroupRequest) { r.ProtocolType = kmsg.StringPtr("connect") }},
			{"another protocol", func(r *kmsg.SyncGroupRequest) { r.Protocol = kmsg.StringPtr("roundrobin") }},
		} {
			req := bm.syncReq(nil)
			tc.edit(req)
			checkCode(t, "SyncGroup v5 with "+tc.what, call[*kmsg.SyncGroupResponse](t, bm.c, v, req).ErrorCode, errInconsistent)
		}
	}
	if v >= 3 {
		req := bm.syncReq(nil)
		req.InstanceID = kmsg.StringPtr("not-mine")
		checkCode(t, "SyncGroup with an unknown group.instance.id", call[*kmsg.SyncGroupResponse](t, bm.c, v, req).ErrorCode, errUnknownMember)
	}
	// The leader rejoins: a new rebalance. A SyncGroup during it is
	// refused; the follower's is held for the leader's, and a member the
	// leader's assignment leaves out gets an empty one.
	a.rejoin(t, vs.join)
	bm.awaitRebalance(t, vs.hb)
	checkCode(t, "SyncGroup during PreparingRebalance", call[*kmsg.SyncGroupResponse](t, bm.c, v, bm.syncReq(nil)).ErrorCode, errRebalance)
	bm.rejoin(t, vs.join)
	a.joined(t)
	bm.joined(t)
	fb := start(t, bm.c, v, bm.syncReq(nil))
	expectWaiting(t, bm.c, 200*time.Millisecond, "a follower's SyncGroup before the leader's")
	fa := start(t, a.c, v, a.syncReq(map[string][]byte{a.id: assignment(groupTopic, 0, 1)}))
	ra, rb := await[*kmsg.SyncGroupResponse](t, fa), await[*kmsg.SyncGroupResponse](t, fb)
	if ra.ErrorCode != 0 || !bytes.Equal(ra.MemberAssignment, assignment(groupTopic, 0, 1)) || rb.ErrorCode != 0 || len(rb.MemberAssignment) != 0 {
		t.Errorf("SyncGroup answers: leader %s %x, follower %s %x; want 0 with both partitions, 0 with an empty assignment",
			errName(ra.ErrorCode), ra.MemberAssignment, errName(rb.ErrorCode), rb.MemberAssignment)
	}
	if d := describe(t, c, 5, "sg")[0]; d.State != "Stable" || len(d.Members) != 2 {
		t.Errorf("group after SyncGroup: got %s with %d members; want Stable with 2", d.State, len(d.Members))
	}
	testSyncDeadline(t, b, c, vs)
}

// testSyncDeadline: a member that joined a generation but sends no
// SyncGroup within the rebalance timeout is removed and the group
// rebalances (Kafka's pending sync expiration), though its session is
// long.
func testSyncDeadline(t *testing.T, b *testBroker, c *client, vs versions) {
	x, y := newMember(t, b, "sg-late"), newMember(t, b, "sg-late")
	for _, m := range []*gmember{x, y} {
		m.rebalMs = 600
	}
	rebalance(t, vs, x)
	y.enter(t, vs.join)
	x.awaitRebalance(t, vs.hb)
	x.rejoin(t, vs.join)
	x.joined(t)
	y.joined(t)
	joined := time.Now()
	r := call[*kmsg.SyncGroupResponse](t, x.c, vs.sync, x.syncReq(map[string][]byte{x.id: assignment(groupTopic, 0), y.id: assignment(groupTopic, 1)}))
	checkCode(t, "leader's SyncGroup", r.ErrorCode, 0)
	x.awaitRebalance(t, vs.hb)
	if elapsed := time.Since(joined); elapsed < 500*time.Millisecond {
		t.Errorf("rebalance after a member sent no SyncGroup: began %v after the join; want after the 600ms rebalance timeout", elapsed)
	}
	if d := describe(t, c, 5, "sg-late")[0]; len(d.Members) != 1 || d.Members[0].MemberID != x.id {
		t.Errorf("group after the sync deadline: got %+v; want the leader alone", d.Members)
	}
	checkCode(t, "Heartbeat of the member removed at the sync deadline", y.heartbeat(t, vs.hb), errUnknownMember)
}

// ---- Heartbeat (12) ----

func testHeartbeat(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	vs := newest
	vs.hb = v
	ms := formGroup(t, b, vs, "hb", 2)
	a := ms[0]
	checkCode(t, "Heartbeat in a Stable group", a.heartbeat(t, v), 0)
	for _, tc := range []struct {
		what  string
		group string
		id    string
		gen   int32
		code  int16
	}{
		{"an older generation", "hb", a.id, a.gen - 1, errIllegalGeneration},
		{"a newer generation", "hb", a.id, a.gen + 1, errIllegalGeneration},
		{"an unknown member", "hb", "nobody", a.gen, errUnknownMember},
		{"an unknown group", "hb-none", a.id, a.gen, errUnknownMember},
		{"group id \"\"", "", a.id, a.gen, errInvalidGroupID},
	} {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation = tc.group, tc.id, tc.gen
		checkCode(t, "Heartbeat from "+tc.what, call[*kmsg.HeartbeatResponse](t, a.c, v, req).ErrorCode, tc.code)
	}
	if v >= 3 {
		s := newMember(t, b, "hb-static").static("hb-instance")
		rebalance(t, vs, s)
		real := s.id
		s.id = "someone-else"
		checkCode(t, "Heartbeat with another member's group.instance.id", s.heartbeat(t, v), errFenced)
		s.id = real
		checkCode(t, "Heartbeat of the static member", s.heartbeat(t, v), 0)
	}
	// A member joining: REBALANCE_IN_PROGRESS (awaitRebalance fails
	// without it).
	cm := newMember(t, b, "hb")
	cm.enter(t, vs.join)
	a.awaitRebalance(t, v)
	checkCode(t, "second member's Heartbeat during the rebalance", ms[1].heartbeat(t, v), errRebalance)

	// Sessions: a member that heartbeats stays; one that stops is removed
	// once its session timeout passes.
	live := newMember(t, b, "hb-live")
	live.sessionMs, live.rebalMs = 800, 800
	rebalance(t, vs, live)
	var last time.Time // when the last heartbeat was sent
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		last = time.Now()
		if code := live.heartbeat(t, v); code != 0 {
			t.Fatalf("Heartbeat every 50ms with an 800ms session: got %s; want 0", errName(code))
		}
	}
	waitState(t, c, "hb-live", "Empty")
	// The broker's clock moves by ticks (every 10ms, later under load):
	// allow it to lag.
	if time.Since(last) < 700*time.Millisecond {
		t.Errorf("member without heartbeats: removed %v after its last one; want no sooner than its 800ms session", time.Since(last))
	}
	checkCode(t, "Heartbeat after the session expired", live.heartbeat(t, v), errUnknownMember)
}

// ---- LeaveGroup (13) ----

func leaveReq(group string, members ...kmsg.LeaveGroupRequestMember) *kmsg.LeaveGroupRequest {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	if len(members) == 1 {
		req.MemberID = members[0].MemberID
	}
	req.Members = members
	return req
}

func leaving(id string, instance *string) kmsg.LeaveGroupRequestMember {
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID, m.InstanceID, m.Reason = id, instance, kmsg.StringPtr("test")
	return m
}

func testLeaveGroup(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	vs := newest
	ms := formGroup(t, b, vs, "lv", 3)
	a, bm, cm := ms[0], ms[1], ms[2]
	if v < 3 {
		// One member per request; a member error is the top-level one.
		r := call[*kmsg.LeaveGroupResponse](t, cm.c, v, leaveReq("lv", leaving(cm.id, nil)))
		checkCode(t, "LeaveGroup of a member", r.ErrorCode, 0)
		a.awaitRebalance(t, vs.hb) // the group rebalances without it
		for _, tc := range []struct {
			group, id string
			code      int16
		}{{"lv", cm.id, errUnknownMember}, {"lv", "nobody", errUnknownMember}, {"lv-none", "nobody", errUnknownMember}, {"", a.id, errInvalidGroupID}} {
			r := call[*kmsg.LeaveGroupResponse](t, c, v, leaveReq(tc.group, leaving(tc.id, nil)))
			checkCode(t, fmt.Sprintf("LeaveGroup of %q from %q", tc.id, tc.group), r.ErrorCode, tc.code)
		}
		rebalance(t, vs, a, bm)
		for _, m := range []*gmember{a, bm} {
			checkCode(t, "LeaveGroup", call[*kmsg.LeaveGroupResponse](t, m.c, v, leaveReq("lv", leaving(m.id, nil))).ErrorCode, 0)
		}
	} else {
		// A batch: each member answered; the top-level code is 0.
		r := call[*kmsg.LeaveGroupResponse](t, c, v, leaveReq("lv", leaving(bm.id, nil), leaving("nobody", nil), leaving(cm.id, nil)))
		checkCode(t, "LeaveGroup batch", r.ErrorCode, 0)
		want := []int16{0, errUnknownMember, 0}
		if len(r.Members) != 3 {
			t.Fatalf("LeaveGroup batch: got %d members answered; want 3", len(r.Members))
		}
		for i, id := range []string{bm.id, "nobody", cm.id} {
			if r.Members[i].MemberID != id {
				t.Errorf("LeaveGroup batch answer %d: got member %q; want %q", i, r.Members[i].MemberID, id)
			}
			checkCode(t, fmt.Sprintf("LeaveGroup batch member %q", id), r.Members[i].ErrorCode, want[i])
		}
		a.awaitRebalance(t, vs.hb)
		rebalance(t, vs, a)
		if d := describe(t, c, 5, "lv")[0]; d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != a.id {
			t.Errorf("group after the batch left: got %s with %d members; want Stable with the leader alone", d.State, len(d.Members))
		}
		r = call[*kmsg.LeaveGroupResponse](t, c, v, leaveReq("", leaving(a.id, nil)))
		checkCode(t, "LeaveGroup from group \"\"", r.ErrorCode, errInvalidGroupID)
		// A static member removed by its group.instance.id alone.
		s := newMember(t, b, "lv-static").static("lv-instance")
		rebalance(t, vs, s)
		r = call[*kmsg.LeaveGroupResponse](t, c, v, leaveReq("lv-static", leaving("", kmsg.StringPtr("lv-instance")), leaving("", kmsg.StringPtr("lv-unknown"))))
		if checkCode(t, "LeaveGroup by group.instance.id", r.ErrorCode, 0) && len(r.Members) == 2 {
			checkCode(t, "LeaveGroup of lv-instance", r.Members[0].ErrorCode, 0)
			checkCode(t, "LeaveGroup of an unknown instance", r.Members[1].ErrorCode, errUnknownMember)
		}
		if st := stateOf(t, c, "lv-static"); st != "Empty" {
			t.Errorf("static group after its member left: got %s; want Empty", st)
		}
		checkCode(t, "LeaveGroup of the last member", call[*kmsg.LeaveGroupResponse](t, a.c, v, leaveReq("lv", leaving(a.id, nil))).ErrorCode, 0)
	}
	if d := describe(t, c, 5, "lv")[0]; d.State != "Empty" || len(d.Members) != 0 || d.ProtocolType != "consumer" {
		t.Errorf("group after every member left: got %s (type %q) with %d members; want Empty (consumer) with none", d.State, d.ProtocolType, len(d.Members))
	}
}

// ---- OffsetCommit (8) ----

func testOffsetCommit(t *testing.T, v int16) {
	b, c := groupBroker(t, map[string]string{"offsets.retention.check.interval.ms": "20"})
	createTopic(t, c, groupTopic, 3, nil)
	epoch := int32(-1)
	if v >= 6 {
		epoch = 5 // v6+ carry the leader epoch
	}
	// A group that only stores offsets: generation -1, no member. Unknown
	// topics and partitions are refused alone.
	p0 := tpo{groupTopic, 0, 10, 5, "m0", 0}
	p1 := tpo{groupTopic, 1, 11, 5, "", 0}
	codes := commitCodes(t, c, v, commitReq("oc", -1, "", p0, tpo{topic: "oc-none"}, p1, tpo{topic: groupTopic, part: 3}))
	checkCodes(t, fmt.Sprintf("OffsetCommit v%d", v), codes, map[string]int16{"gt/0": 0, "gt/1": 0, "oc-none/0": errUnknownTopicOrPart, "gt/3": errUnknownTopicOrPart})
	p0.epoch, p1.epoch = epoch, epoch
	checkCommitted(t, c, "oc", p0, p1)

	switch {
	case v == 1:
		// The commit timestamp is stored, and retention counts from it:
		// a commit stamped in 1970 expires at the next check.
		codes = commitCodes(t, c, v, commitReq("oc", -1, "", tpo{groupTopic, 2, 12, -1, "old", 1000}))
		checkCode(t, "OffsetCommit v1 with timestamp 1000", codes["gt/2"], 0)
		if rec := storedCommit(t, c, "oc", groupTopic, 2); rec == nil || rec.CommitTimestamp != 1000 {
			t.Errorf("stored commit of gt/2: got %+v; want CommitTimestamp 1000", rec)
		}
		waitOffsetGone(t, c, "oc", "gt/2")
		checkCommitted(t, c, "oc", p0, p1)
	case v >= 2 && v <= 4:
		// A retention time sets an expiry time.
		req := commitReq("oc", -1, "", tpo{groupTopic, 2, 12, -1, "short", 0})
		req.RetentionTimeMillis = 1
		checkCode(t, fmt.Sprintf("OffsetCommit v%d with retention 1ms", v), commitCodes(t, c, v, req)["gt/2"], 0)
		if rec := storedCommit(t, c, "oc", groupTopic, 2); rec == nil || rec.Version != 1 || rec.ExpireTimestamp != rec.CommitTimestamp+1 {
			t.Errorf("stored commit of gt/2: got %+v; want value v1 with ExpireTimestamp = CommitTimestamp + 1", rec)
		}
		waitOffsetGone(t, c, "oc", "gt/2")
		checkCommitted(t, c, "oc", p0, p1)
	}
	if v == 0 {
		// v0 commits (Kafka's ZooKeeper commits) check no membership.
		ms := formGroup(t, b, newest, "oc-members", 1)
		codes = commitCodes(t, c, v, commitReq("oc-members", -1, "", p0))
		checkCode(t, "OffsetCommit v0 to a group with members", codes["gt/0"], 0)
		checkCode(t, "Heartbeat after a v0 commit", ms[0].heartbeat(t, 4), 0)
		return
	}
	testOffsetCommitMembers(t, b, c, v)
}

// waitOffsetGone waits until group has no committed offset for key.
func waitOffsetGone(t testing.TB, c *client, group, key string) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for {
		if _, ok := committedOffsets(t, c, group)[key]; !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offset %s of %q: still there after %s; want it expired", key, group, closeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testOffsetCommitMembers: commits from members carry their generation.
func testOffsetCommitMembers(t *testing.T, b *testBroker, c *client, v int16) {
	ms := formGroup(t, b, newest, "ocm", 1)
	a := ms[0]
	o := tpo{groupTopic, 0, 20, 7, "member", 0}
	codes := commitCodes(t, a.c, v, commitReq("ocm", a.gen, a.id, o))
	checkCode(t, "OffsetCommit from a member", codes["gt/0"], 0)
	if v < 6 {
		o.epoch = -1
	}
	for _, tc := range []struct {
		what string
		gen  int32
		id   string
		code int16
	}{
		{"an older generation", a.gen - 1, a.id, errIllegalGeneration},
		{"an unknown member", a.gen, "nobody", errUnknownMember},
		{"no member, to a group with members", -1, "", errUnknownMember},
	} {
		codes := commitCodes(t, c, v, commitReq("ocm", tc.gen, tc.id, tpo{groupTopic, 0, 99, -1, "bad", 0}))
		checkCode(t, "OffsetCommit from "+tc.what, codes["gt/0"], tc.code)
	}
	checkCommitted(t, c, "ocm", o)
	// While the group prepares a rebalance, a member of the generation
	// still commits; between JoinGroup and SyncGroup the new generation
	// cannot.
	bm := newMember(t, b, "ocm")
	bm.enter(t, newest.join)
	a.awaitRebalance(t, newest.hb)
	o.offset = 21
	codes = commitCodes(t, a.c, v, commitReq("ocm", a.gen, a.id, tpo{groupTopic, 0, 21, 7, "member", 0}))
	checkCode(t, "OffsetCommit during PreparingRebalance", codes["gt/0"], 0)
	a.rejoin(t, newest.join)
	a.joined(t)
	bm.joined(t)
	codes = commitCodes(t, a.c, v, commitReq("ocm", a.gen, a.id, tpo{groupTopic, 0, 98, -1, "bad", 0}))
	checkCode(t, "OffsetCommit during CompletingRebalance", codes["gt/0"], errRebalance)
	checkCommitted(t, c, "ocm", o)
	if v < 7 {
		return
	}
	// v7+: a static member commits with its group.instance.id.
	s := newMember(t, b, "ocs").static("ocs-instance")
	rebalance(t, newest, s)
	req := commitReq("ocs", s.gen, s.id, tpo{groupTopic, 1, 30, -1, "", 0})
	req.InstanceID = s.instance
	checkCode(t, "OffsetCommit v7 from a static member", commitCodes(t, s.c, v, req)["gt/1"], 0)
	req.MemberID = "someone-else"
	checkCode(t, "OffsetCommit v7 with another member's group.instance.id", commitCodes(t, s.c, v, req)["gt/1"], errFenced)
	checkCommitted(t, c, "ocs", tpo{groupTopic, 1, 30, -1, "", 0})
}

// ---- OffsetFetch (9) ----

func testOffsetFetch(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "2"})
	c := b.dial(t)
	// Before the offsets topic exists this broker coordinates nothing: a
	// group-level NOT_COORDINATOR (v2+) with no partitions; v0-1, which
	// have no group-level error, get it on every partition asked for.
	code, parts := fetchOffsets(t, c, v, "of", false, map[string][]int32{groupTopic: {0}})
	switch {
	case v >= 2:
		checkCode(t, "OffsetFetch before the offsets topic exists", code, kerr.NotCoordinator.Code)
		if len(parts) != 0 {
			t.Errorf("OffsetFetch v%d with a group-level error: got partitions %v; want none", v, parts)
		}
	default:
		if p, ok := parts[groupTopic+"/0"]; len(parts) != 1 || !ok || p.code != kerr.NotCoordinator.Code || p.offset != -1 {
			t.Errorf("OffsetFetch v%d before the offsets topic exists: got partitions %v; want %s/0 at -1 with NOT_COORDINATOR", v, parts, groupTopic)
		}
	}
	waitCoordinator(t, c, "of")
	createTopic(t, c, groupTopic, 3, nil)
	mustCommit(t, c, "of", -1, "", tpo{groupTopic, 0, 5, 3, "a", 0}, tpo{groupTopic, 1, 6, -1, "", 0})
	code, parts = fetchOffsets(t, c, v, "of", false, map[string][]int32{groupTopic: {0, 1, 2}})
	checkCode(t, "OffsetFetch", code, 0)
	epoch := int32(-1)
	if v >= 5 {
		epoch = 3
	}
	none := fetchedPart{-1, -1, "", 0}
	if v == 0 {
		none.code = errUnknownTopicOrPart // Kafka's v0 (ZooKeeper) answer for no offset
	}
	want := map[string]fetchedPart{"gt/0": {5, epoch, "a", 0}, "gt/1": {6, -1, "", 0}, "gt/2": none}
	if !maps.Equal(parts, want) {
		t.Errorf("OffsetFetch v%d: got %v; want %v", v, parts, want)
	}
	if v >= 2 {
		// null topics: every committed partition
		_, all := fetchOffsets(t, c, v, "of", false, nil)
		delete(want, "gt/2")
		if !maps.Equal(all, want) {
			t.Errorf("OffsetFetch v%d of all partitions: got %v; want %v", v, all, want)
		}
		code, parts = fetchOffsets(t, c, v, "of-none", false, nil)
		if code != 0 || len(parts) != 0 {
			t.Errorf("OffsetFetch v%d of all partitions of an unknown group: got %s, %v; want 0, none", v, errName(code), parts)
		}
	}
	if v >= 8 {
		testOffsetFetchGroups(t, c, v)
	}
	if v >= 7 {
		testRequireStable(t, c, v)
	}
}

// testOffsetFetchGroups: v8+ ask for several groups at once, each
// answered on its own.
func testOffsetFetchGroups(t *testing.T, c *client, v int16) {
	mustCommit(t, c, "of-2", -1, "", tpo{groupTopic, 2, 8, -1, "two", 0})
	mustCommit(t, c, "", -1, "", tpo{groupTopic, 0, 1, -1, "empty id", 0})
	req := kmsg.NewPtrOffsetFetchRequest()
	for _, g := range []string{"of", "of-2", ""} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		if g == "of" {
			rt := kmsg.NewOffsetFetchRequestGroupTopic()
			rt.Topic, rt.Partitions = groupTopic, []int32{1}
			rg.Topics = append(rg.Topics, rt)
		}
		req.Groups = append(req.Groups, rg)
	}
	resp := call[*kmsg.OffsetFetchResponse](t, c, v, req)
	got := map[string]string{}
	for _, g := range resp.Groups {
		var s []string
		for _, rt := range g.Topics {
			for _, p := range rt.Partitions {
				s = append(s, fmt.Sprintf("%s/%d=%d:%s:%d", rt.Topic, p.Partition, p.Offset, deref(p.Metadata), p.ErrorCode))
			}
		}
		got[g.Group] = fmt.Sprintf("%d %v", g.ErrorCode, s)
	}
	want := map[string]string{"of": "0 [gt/1=6::0]", "of-2": "0 [gt/2=8:two:0]", "": "0 [gt/0=1:empty id:0]"}
	if !maps.Equal(got, want) {
		t.Errorf("OffsetFetch v%d of three groups: got %v; want %v", v, got, want)
	}
}

// testRequireStable: v7+ RequireStable answers a settled commit as
// usual. (A commit being written answers UNSTABLE_OFFSET_COMMIT; this
// runtime completes a commit's append and sync before it takes the next
// request, so only the core's tests, which hold completions, can see
// one pending: TestOffsetFetchRequireStable.)
func testRequireStable(t *testing.T, c *client, v int16) {
	mustCommit(t, c, "of", -1, "", tpo{groupTopic, 1, 7, -1, "", 0})
	code, parts := fetchOffsets(t, c, v, "of", true, map[string][]int32{groupTopic: {1}})
	if p := parts["gt/1"]; code != 0 || p.code != 0 || p.offset != 7 {
		t.Errorf("OffsetFetch v%d RequireStable of a settled commit: got %s, %+v; want 0, offset 7", v, errName(code), p)
	}
}

// ---- DescribeGroups (15) ----

func testDescribeGroups(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	ms := formGroup(t, b, newest, "dg", 2)
	check := func(what string, d kmsg.DescribeGroupsResponseGroup, state, protocol string, withData bool) {
		t.Helper()
		checkCode(t, what, d.ErrorCode, 0)
		if d.State != state || d.ProtocolType != "consumer" || d.Protocol != protocol || len(d.Members) != len(ms) {
			t.Errorf("%s: got %s, type %q, protocol %q, %d members; want %s, consumer, %q, %d", what, d.State, d.ProtocolType, d.Protocol, len(d.Members), state, protocol, len(ms))
			return
		}
		wantOps := int32(opsOmitted)
		if v >= 3 {
			wantOps = groupOps
		}
		if d.AuthorizedOperations != wantOps {
			t.Errorf("%s AuthorizedOperations: got %d; want %d", what, d.AuthorizedOperations, wantOps)
		}
		for i, m := range ms {
			dm := d.Members[slices.IndexFunc(d.Members, func(x kmsg.DescribeGroupsResponseGroupMember) bool { return x.MemberID == m.id })]
			meta, assign := []byte{}, []byte{}
			if withData {
				meta, assign = m.meta, assignment(groupTopic, int32(i))
			}
			if dm.ClientID != "conformance" || !strings.Contains(dm.ClientHost, "127.0.0.1") ||
				!bytes.Equal(dm.ProtocolMetadata, meta) || !bytes.Equal(dm.MemberAssignment, assign) || dm.InstanceID != nil {
				t.Errorf("%s member %d: got client %q at %q, metadata %x, assignment %x, instance %v; want conformance at 127.0.0.1, %x, %x, none",
					what, i, dm.ClientID, dm.ClientHost, dm.ProtocolMetadata, dm.MemberAssignment, deref(dm.InstanceID), meta, assign)
			}
		}
	}
	d := describe(t, c, v, "dg", "dg-none")
	check("DescribeGroups of a Stable group", d[0], "Stable", "range", true)
	if n := d[1]; n.ErrorCode != 0 || n.State != "Dead" || len(n.Members) != 0 {
		t.Errorf("DescribeGroups of an unknown group: got %s, %s, %d members; want 0, Dead, none", errName(n.ErrorCode), n.State, len(n.Members))
	}
	if v >= 3 {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"dg"}
		if ops := call[*kmsg.DescribeGroupsResponse](t, c, v, req).Groups[0].AuthorizedOperations; ops != opsOmitted {
			t.Errorf("AuthorizedOperations not asked for: got %d; want %d", ops, opsOmitted)
		}
	}
	// During a rebalance: no protocol, metadata or assignment.
	cm := newMember(t, b, "dg")
	cm.enter(t, newest.join)
	waitState(t, c, "dg", "PreparingRebalance")
	ms = append(ms, cm)
	check("DescribeGroups during PreparingRebalance", describe(t, c, v, "dg")[0], "PreparingRebalance", "", false)
	for _, m := range ms[:2] {
		m.awaitRebalance(t, newest.hb)
		m.rejoin(t, newest.join)
	}
	for _, m := range ms {
		m.joined(t)
	}
	check("DescribeGroups during CompletingRebalance", describe(t, c, v, "dg")[0], "CompletingRebalance", "", false)
	if v >= 4 {
		s := newMember(t, b, "dg-static").static("dg-instance")
		rebalance(t, newest, s)
		dm := describe(t, c, v, "dg-static")[0].Members
		if len(dm) != 1 || deref(dm[0].InstanceID) != "dg-instance" {
			t.Errorf("DescribeGroups v%d of a static member: got %+v; want its group.instance.id", v, dm)
		}
	}
}

// ---- ListGroups (16) ----

func testListGroups(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	createTopic(t, c, groupTopic, 1, nil)
	formGroup(t, b, newest, "lg-stable", 1)
	gone := formGroup(t, b, newest, "lg-empty", 1)[0]
	checkCode(t, "LeaveGroup", call[*kmsg.LeaveGroupResponse](t, gone.c, 5, leaveReq("lg-empty", leaving(gone.id, nil))).ErrorCode, 0)
	mustCommit(t, c, "lg-offsets", -1, "", tpo{groupTopic, 0, 1, -1, "", 0})
	list := func(states, types []string) string {
		t.Helper()
		req := kmsg.NewPtrListGroupsRequest()
		req.StatesFilter, req.TypesFilter = states, types
		resp := call[*kmsg.ListGroupsResponse](t, c, v, req)
		checkCode(t, "ListGroups", resp.ErrorCode, 0)
		var out []string
		for _, g := range resp.Groups {
			s := g.Group + ":" + g.ProtocolType
			if v >= 4 {
				s += ":" + g.GroupState
			}
			if v >= 5 {
				s += ":" + g.GroupType
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	want := "lg-empty:consumer lg-offsets: lg-stable:consumer"
	switch {
	case v >= 5:
		want = "lg-empty:consumer:Empty:classic lg-offsets::Empty:classic lg-stable:consumer:Stable:classic"
	case v >= 4:
		want = "lg-empty:consumer:Empty lg-offsets::Empty lg-stable:consumer:Stable"
	}
	if got := list(nil, nil); got != want {
		t.Errorf("ListGroups v%d: got %q; want %q", v, got, want)
	}
	if v >= 4 {
		for _, tc := range []struct {
			states []string
			want   string
		}{
			{[]string{"stable"}, "lg-stable"},
			{[]string{"Empty", "Dead"}, "lg-empty lg-offsets"},
			{[]string{"PreparingRebalance"}, ""},
		} {
			if got := names(list(tc.states, nil)); got != tc.want {
				t.Errorf("ListGroups v%d states %v: got %q; want %q", v, tc.states, got, tc.want)
			}
		}
	}
	if v >= 5 {
		all := "lg-empty lg-offsets lg-stable"
		for _, tc := range []struct {
			types []string
			want  string
		}{
			{[]string{"Classic"}, all},
			{[]string{"consumer"}, ""},
			{[]string{"share", "classic"}, all}, // any of the types
		} {
			if got := names(list(nil, tc.types)); got != tc.want {
				t.Errorf("ListGroups v5 types %v: got %q; want %q", tc.types, got, tc.want)
			}
		}
		if got := names(list([]string{"Stable"}, []string{"classic"})); got != "lg-stable" {
			t.Errorf("ListGroups v5 Stable classic groups: got %q; want lg-stable", got)
		}
	}
}

// names keeps the group ids of a list rendering.
func names(listed string) string {
	var out []string
	for _, f := range strings.Fields(listed) {
		out = append(out, strings.SplitN(f, ":", 2)[0])
	}
	return strings.Join(out, " ")
}

// ---- DeleteGroups (42) ----

func testDeleteGroups(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	createTopic(t, c, groupTopic, 2, nil)
	o := tpo{groupTopic, 0, 3, -1, "", 0}
	mustCommit(t, c, "del-offsets", -1, "", o)
	was := formGroup(t, b, newest, "del-was", 1)[0]
	mustCommit(t, c, "del-was", was.gen, was.id, o)
	checkCode(t, "LeaveGroup", call[*kmsg.LeaveGroupResponse](t, was.c, 5, leaveReq("del-was", leaving(was.id, nil))).ErrorCode, 0)
	live := formGroup(t, b, newest, "del-live", 1)[0]
	mustCommit(t, c, "del-live", live.gen, live.id, o)

	groups := []string{"del-offsets", "del-live", "del-none", "del-was"}
	wantCodes := []int16{0, kerr.NonEmptyGroup.Code, kerr.GroupIDNotFound.Code, 0}
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = groups
	resp := call[*kmsg.DeleteGroupsResponse](t, c, v, req)
	if len(resp.Groups) != len(groups) {
		t.Fatalf("DeleteGroups v%d of %d groups: got %d answers", v, len(groups), len(resp.Groups))
	}
	for i, g := range resp.Groups {
		if g.Group != groups[i] {
			t.Errorf("DeleteGroups answer %d: got %q; want %q", i, g.Group, groups[i])
		}
		checkCode(t, "DeleteGroups of "+groups[i], g.ErrorCode, wantCodes[i])
	}
	for _, g := range []string{"del-offsets", "del-was"} {
		checkCommitted(t, c, g)
		if st := stateOf(t, c, g); st != "Dead" {
			t.Errorf("deleted group %s: got state %s; want Dead", g, st)
		}
	}
	if rec := groupRecord(t, c, "del-was"); rec != nil {
		t.Errorf("deleted group's last record: got %+v; want a tombstone", rec)
	}
	if rec := offsetRecord(t, c, "del-offsets", groupTopic, 0); rec != nil {
		t.Errorf("deleted group's offset record: got %+v; want a tombstone", rec)
	}
	checkCommitted(t, c, "del-live", o)
	checkCode(t, "Heartbeat in the group that was not deleted", live.heartbeat(t, 4), 0)
	resp = call[*kmsg.DeleteGroupsResponse](t, c, v, req)
	checkCode(t, "DeleteGroups of a deleted group", resp.Groups[0].ErrorCode, kerr.GroupIDNotFound.Code)
	// A deleted group can be used again.
	mustCommit(t, c, "del-offsets", -1, "", o)
	checkCommitted(t, c, "del-offsets", o)
}

// ---- OffsetDelete (47) ----

func offsetDeleteReq(group string, offs ...tpo) *kmsg.OffsetDeleteRequest {
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = group
	for _, o := range offs {
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = o.topic
		p := kmsg.NewOffsetDeleteRequestTopicPartition()
		p.Partition = o.part
		rt.Partitions = append(rt.Partitions, p)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func testOffsetDelete(t *testing.T, v int16) {
	b, c := groupBroker(t, nil)
	createTopic(t, c, groupTopic, 2, nil)
	createTopic(t, c, "other", 1, nil)
	sub := tpo{groupTopic, 0, 4, -1, "", 0}
	unsub := tpo{"other", 0, 5, -1, "", 0}
	a := formGroup(t, b, newest, "od", 1)[0]
	mustCommit(t, c, "od", a.gen, a.id, sub, unsub)

	// A consumer group keeps the offsets of topics it subscribes to.
	resp := call[*kmsg.OffsetDeleteResponse](t, c, v, offsetDeleteReq("od", sub, unsub, tpo{topic: "od-none"}, tpo{topic: groupTopic, part: 2}))
	checkCode(t, "OffsetDelete", resp.ErrorCode, 0)
	want := []int16{kerr.GroupSubscribedToTopic.Code, 0, errUnknownTopicOrPart, errUnknownTopicOrPart}
	if len(resp.Topics) != len(want) {
		t.Fatalf("OffsetDelete: got %d topics answered; want %d", len(resp.Topics), len(want))
	}
	for i, rt := range resp.Topics {
		checkCode(t, fmt.Sprintf("OffsetDelete of %s/%d", rt.Topic, rt.Partitions[0].Partition), rt.Partitions[0].ErrorCode, want[i])
	}
	checkCommitted(t, c, "od", sub)
	if rec := offsetRecord(t, c, "od", "other", 0); rec != nil {
		t.Errorf("deleted offset's record: got %+v; want a tombstone", rec)
	}
	checkCode(t, "Heartbeat after OffsetDelete", a.heartbeat(t, 4), 0)

	for _, tc := range []struct {
		group string
		code  int16
	}{{"od-none", kerr.GroupIDNotFound.Code}, {"", errInvalidGroupID}} {
		checkCode(t, fmt.Sprintf("OffsetDelete in %q", tc.group), call[*kmsg.OffsetDeleteResponse](t, c, v, offsetDeleteReq(tc.group, sub)).ErrorCode, tc.code)
	}
	// A group of another protocol type with members: NON_EMPTY_GROUP.
	conn := newMember(t, b, "od-connect")
	req := conn.joinReq()
	req.ProtocolType = "connect"
	f := start(t, conn.c, 3, req)
	checkCode(t, "JoinGroup v3 of a connect member", await[*kmsg.JoinGroupResponse](t, f).ErrorCode, 0)
	checkCode(t, "OffsetDelete in a connect group with members", call[*kmsg.OffsetDeleteResponse](t, c, v, offsetDeleteReq("od-connect", unsub)).ErrorCode, kerr.NonEmptyGroup.Code)
	// An Empty group loses any offset.
	mustCommit(t, c, "od-empty", -1, "", sub, unsub)
	resp = call[*kmsg.OffsetDeleteResponse](t, c, v, offsetDeleteReq("od-empty", sub))
	if checkCode(t, "OffsetDelete in an Empty group", resp.ErrorCode, 0) {
		checkCode(t, "OffsetDelete in an Empty group", resp.Topics[0].Partitions[0].ErrorCode, 0)
	}
	checkCommitted(t, c, "od-empty", unsub)
}

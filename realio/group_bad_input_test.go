package realio

// Bad input to the group coordinator: each case checks Kafka's error and
// that the groups and offsets it was not aimed at did not change (the
// bystanders), and a restart replays committed offsets and groups from
// __consumer_offsets.

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupView renders what DescribeGroups v5 and OffsetFetch v8 tell of
// groups: states, generations as the members see them, members with
// their metadata and assignments, and every committed offset.
func groupView(t testing.TB, c *client, groups ...string) string {
	t.Helper()
	var sb strings.Builder
	for _, d := range describe(t, c, 5, groups...) {
		fmt.Fprintf(&sb, "%.20s: %s %s/%s code %d\n", d.Group, d.State, d.ProtocolType, d.Protocol, d.ErrorCode)
		ms := slices.Clone(d.Members)
		slices.SortFunc(ms, func(a, b kmsg.DescribeGroupsResponseGroupMember) int { return strings.Compare(a.MemberID, b.MemberID) })
		for _, m := range ms {
			fmt.Fprintf(&sb, "  member %s instance %s client %s@%s metadata %x assignment %x\n",
				m.MemberID, deref(m.InstanceID), m.ClientID, m.ClientHost, m.ProtocolMetadata, m.MemberAssignment)
		}
		offs := committedOffsets(t, c, d.Group)
		for _, k := range slices.Sorted(maps.Keys(offs)) {
			fmt.Fprintf(&sb, "  offset %s %+v\n", k, offs[k])
		}
	}
	return sb.String()
}

// bystanders are a Stable consumer group of two members with
// assignments and committed offsets, and a group that only stores
// offsets. Bad input aimed elsewhere must leave them as they were.
type bystanders struct {
	c       *client
	members []*gmember
	before  string
}

func newBystanders(t testing.TB, b *testBroker, c *client) *bystanders {
	t.Helper()
	createTopic(t, c, groupTopic, 3, nil)
	ms := formGroup(t, b, newest, "bystander", 2)
	mustCommit(t, c, "bystander", ms[0].gen, ms[0].id, tpo{groupTopic, 0, 100, 2, "by", 0}, tpo{groupTopic, 1, 101, -1, "", 0})
	mustCommit(t, c, "keeper", -1, "", tpo{groupTopic, 2, 200, -1, "keep", 0})
	return &bystanders{c: c, members: ms, before: groupView(t, c, "bystander", "keeper")}
}

// check fails if the bystanders changed, or their members may no longer
// heartbeat.
func (s *bystanders) check(t testing.TB, after string) {
	t.Helper()
	if got := groupView(t, s.c, "bystander", "keeper"); got != s.before {
		t.Errorf("after %s, the other groups: got\n%s\nwant them unchanged:\n%s", after, got, s.before)
	}
	for i, m := range s.members {
		checkCode(t, fmt.Sprintf("after %s, bystander %d's Heartbeat", after, i), m.heartbeat(t, 4), 0)
	}
}

func TestGroupBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		run   func(t *testing.T, b *testBroker, c *client)
	}{
		{"OversizedAssignment", nil, testOversizedAssignment},
		{"OversizedMetadata", nil, testOversizedMetadata},
		{"InconsistentProtocols", nil, testInconsistentProtocols},
		{"HugeGroupID", nil, testHugeGroupID},
		{"OverlongStrings", nil, testOverlongStrings},
		{"UnknownPartitions", nil, testUnknownPartitions},
		{"MetadataTooLarge", map[string]string{"offset.metadata.max.bytes": "16"}, testMetadataTooLarge},
		{"OversizedCommit", map[string]string{"offset.metadata.max.bytes": "2000000"}, testOversizedCommit},
		{"SessionTimeouts", map[string]string{"group.min.session.timeout.ms": "100", "group.max.session.timeout.ms": "60000"}, testSessionTimeouts},
		{"MaxSizeStorm", map[string]string{"group.max.size": "3"}, testMaxSizeStorm},
		{"EmptyGroupID", nil, testEmptyGroupID},
		{"StaleGeneration", nil, testStaleGeneration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, c := groupBroker(t, tc.props)
			tc.run(t, b, c)
		})
	}
}

// oversized is larger than message.max.bytes (default 1048588), the
// limit of a batch in __consumer_offsets.
const oversized = 1100 << 10

// testOversizedAssignment: a leader's assignment that makes the group
// record exceed the offsets topic's max.message.bytes: Kafka answers the
// SyncGroups with UNKNOWN_SERVER_ERROR (storeGroup's MESSAGE_TOO_LARGE)
// and the group rebalances; a sensible assignment then works.
func testOversizedAssignment(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	ms := formGroup(t, b, newest, "big", 2)
	a, bm := ms[0], ms[1]
	a.rejoin(t, newest.join)
	bm.awaitRebalance(t, newest.hb)
	bm.rejoin(t, newest.join)
	a.joined(t)
	bm.joined(t)
	fb := start(t, bm.c, 5, bm.syncReq(nil))
	huge := assignment(groupTopic, 0)
	huge = append(huge, make([]byte, oversized)...)
	fa := start(t, a.c, 5, a.syncReq(map[string][]byte{a.id: assignment(groupTopic, 0), bm.id: huge}))
	checkCode(t, "leader's SyncGroup with an oversized assignment", await[*kmsg.SyncGroupResponse](t, fa).ErrorCode, kerr.UnknownServerError.Code)
	// The follower's SyncGroup, sent first on its own connection, may
	// still reach the broker after the leader's failed: then the group is
	// rebalancing, and Kafka answers REBALANCE_IN_PROGRESS.
	if code := await[*kmsg.SyncGroupResponse](t, fb).ErrorCode; code != kerr.UnknownServerError.Code && code != kerr.RebalanceInProgress.Code {
		t.Errorf("follower's SyncGroup error code: got %s; want UNKNOWN_SERVER_ERROR (parked before the failure) or REBALANCE_IN_PROGRESS (arrived after it)", errName(code))
	}
	if st := stateOf(t, c, "big"); st != "PreparingRebalance" {
		t.Errorf("group after its assignment could not be stored: got %s; want PreparingRebalance", st)
	}
	s.check(t, "an oversized assignment")
	rebalance(t, newest, a, bm)
	if rec := groupRecord(t, c, "big"); rec == nil || rec.Generation != a.gen || len(rec.Members) != 2 {
		t.Errorf("stored group after the next rebalance: got %+v; want generation %d with 2 members", rec, a.gen)
	}
	s.check(t, "the rebalance after an oversized assignment")
}

// testOversizedMetadata: member metadata too large for the group record
// is accepted at JoinGroup (it is kept in memory) and fails the
// SyncGroup that stores it, as in Kafka; the member rejoins with less.
func testOversizedMetadata(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	m := newMember(t, b, "big-meta")
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics, md.UserData = []string{groupTopic}, make([]byte, oversized)
	m.meta = md.AppendTo(nil)
	m.enter(t, newest.join)
	r := m.joined(t)
	if len(r.Members) != 1 || !bytes.Equal(r.Members[0].ProtocolMetadata, m.meta) {
		t.Fatalf("leader's JoinGroup: got %d members; want itself with its %d-byte metadata", len(r.Members), len(m.meta))
	}
	resp := call[*kmsg.SyncGroupResponse](t, m.c, 5, m.syncReq(map[string][]byte{m.id: assignment(groupTopic, 0)}))
	checkCode(t, "SyncGroup storing oversized metadata", resp.ErrorCode, kerr.UnknownServerError.Code)
	if st := stateOf(t, c, "big-meta"); st != "PreparingRebalance" {
		t.Errorf("group after its metadata could not be stored: got %s; want PreparingRebalance", st)
	}
	s.check(t, "oversized metadata")
	m.meta = subscription(groupTopic)
	rebalance(t, newest, m)
	if st := stateOf(t, c, "big-meta"); st != "Stable" {
		t.Errorf("group after a rejoin with small metadata: got %s; want Stable", st)
	}
	s.check(t, "a rejoin with small metadata")
}

// testInconsistentProtocols: a member whose protocol type or protocols
// the group does not support, or a first member offering none, gets
// INCONSISTENT_GROUP_PROTOCOL and joins nothing.
func testInconsistentProtocols(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	for _, tc := range []struct {
		what  string
		group string
		edit  func(*kmsg.JoinGroupRequest)
	}{
		{"another protocol", "bystander", func(r *kmsg.JoinGroupRequest) { r.Protocols[0].Name = "roundrobin" }},
		{"another protocol type", "bystander", func(r *kmsg.JoinGroupRequest) { r.ProtocolType = "connect" }},
		{"no protocols", "bystander", func(r *kmsg.JoinGroupRequest) { r.Protocols = nil }},
		{"no protocols, first member", "proto-new", func(r *kmsg.JoinGroupRequest) { r.Protocols = nil }},
		{"no protocol type, first member", "proto-new", func(r *kmsg.JoinGroupRequest) { r.ProtocolType = "" }},
	} {
		for _, v := range []int16{0, 9} {
			m := newMember(t, b, tc.group)
			req := m.joinReq()
			tc.edit(req)
			r := call[*kmsg.JoinGroupResponse](t, m.c, v, req)
			checkCode(t, fmt.Sprintf("JoinGroup v%d with %s", v, tc.what), r.ErrorCode, kerr.InconsistentGroupProtocol.Code)
		}
	}
	if st := stateOf(t, c, "proto-new"); st != "Dead" {
		t.Errorf("group whose first member was refused: got %s; want Dead (no such group)", st)
	}
	s.check(t, "inconsistent protocols")
}

// testHugeGroupID: a group id of 32767 bytes (the longest a Kafka string
// holds) is an ordinary group, as Kafka accepts it.
func testHugeGroupID(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	id := strings.Repeat("g", 32767)
	waitCoordinator(t, c, id)
	ms := formGroup(t, b, newest, id, 2)
	mustCommit(t, c, id, ms[0].gen, ms[0].id, tpo{groupTopic, 0, 7, -1, "huge", 0})
	checkCommitted(t, c, id, tpo{groupTopic, 0, 7, -1, "huge", 0})
	if d := describe(t, c, 5, id)[0]; d.State != "Stable" || len(d.Members) != 2 {
		t.Errorf("DescribeGroups of the 32767-byte group: got %s with %d members; want Stable with 2", d.State, len(d.Members))
	}
	req := kmsg.NewPtrListGroupsRequest()
	listed := call[*kmsg.ListGroupsResponse](t, c, 5, req).Groups
	if !slices.ContainsFunc(listed, func(g kmsg.ListGroupsResponseGroup) bool { return g.Group == id }) {
		t.Errorf("ListGroups: the 32767-byte group is not listed")
	}
	for _, m := range ms {
		checkCode(t, "LeaveGroup of the 32767-byte group", call[*kmsg.LeaveGroupResponse](t, m.c, 5, leaveReq(id, leaving(m.id, nil))).ErrorCode, 0)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{id}
	checkCode(t, "DeleteGroups of the 32767-byte group", call[*kmsg.DeleteGroupsResponse](t, c, 2, del).Groups[0].ErrorCode, 0)
	checkCommitted(t, c, id)
	s.check(t, "a 32767-byte group id")
}

// testOverlongStrings: flexible versions can carry strings longer than
// 32767 bytes, which Kafka's request parser refuses by closing the
// connection; so does Cloud Kafka, for a group id, a member id and commit
// metadata, and nothing is stored (a longer group id would not fit the
// records of __consumer_offsets).
func testOverlongStrings(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	long := strings.Repeat("x", 32768)
	commit := func(group string, metadata *string) *kmsg.OffsetCommitRequest {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = group, -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = groupTopic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = 0, 3, metadata
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.MemberID, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "g-long", long, 10000, 10000, "consumer"
	jp := kmsg.NewJoinGroupRequestProtocol()
	jp.Name = "range"
	join.Protocols = append(join.Protocols, jp)
	for _, tc := range []struct {
		what string
		v    int16
		req  kmsg.Request
	}{
		{"OffsetCommit v8 with a 32768-byte group id", 8, commit(long, nil)},
		{"OffsetCommit v8 with 32768 bytes of metadata", 8, commit("g-long", &long)},
		{"JoinGroup v6 with a 32768-byte member id", 6, join},
	} {
		bad := b.dial(t)
		tc.req.SetVersion(tc.v)
		if _, err := bad.send(tc.req); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, bad)
		t.Logf("%s: connection closed", tc.what)
	}
	listed := call[*kmsg.ListGroupsResponse](t, c, 5, kmsg.NewPtrListGroupsRequest()).Groups
	if slices.ContainsFunc(listed, func(g kmsg.ListGroupsResponseGroup) bool { return len(g.Group) > 32767 || g.Group == "g-long" }) {
		t.Errorf("ListGroups after the refused requests lists a group they named")
	}
	checkCommitted(t, c, "g-long")
	s.check(t, "overlong strings")
}

// testUnknownPartitions: commits to unknown topics and partitions out of
// range get UNKNOWN_TOPIC_OR_PARTITION each; the others are committed.
func testUnknownPartitions(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	good0, good2 := tpo{groupTopic, 0, 1, -1, "a", 0}, tpo{groupTopic, 2, 3, -1, "b", 0}
	for _, v := range []int16{0, 1, 5, 9} {
		req := commitReq("unk", -1, "", good0, tpo{groupTopic, 3, 9, -1, "", 0}, tpo{groupTopic, -1, 9, -1, "", 0},
			tpo{"unk-none", 0, 9, -1, "", 0}, good2)
		codes := commitCodes(t, c, v, req)
		checkCodes(t, fmt.Sprintf("OffsetCommit v%d", v), codes, map[string]int16{
			"gt/0": 0, "gt/3": errUnknownTopicOrPart, "gt/-1": errUnknownTopicOrPart, "unk-none/0": errUnknownTopicOrPart, "gt/2": 0})
		checkCommitted(t, c, "unk", good0, good2)
	}
	if _, ok := metadataTopic(t, c, "unk-none"); ok {
		t.Errorf("a commit to an unknown topic created it")
	}
	// A member's commit too.
	m := formGroup(t, b, newest, "unk-member", 1)[0]
	codes := commitCodes(t, c, 9, commitReq("unk-member", m.gen, m.id, tpo{"unk-none", 0, 9, -1, "", 0}, good0))
	checkCodes(t, "member's OffsetCommit", codes, map[string]int16{"unk-none/0": errUnknownTopicOrPart, "gt/0": 0})
	s.check(t, "commits to unknown partitions")
}

// testMetadataTooLarge: metadata longer than offset.metadata.max.bytes
// (16 here; Java counts UTF-16 units) gets OFFSET_METADATA_TOO_LARGE for
// its partition alone, which keeps its offset.
func testMetadataTooLarge(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	old := tpo{groupTopic, 1, 5, -1, "old", 0}
	mustCommit(t, c, "meta", -1, "", old)
	fits := tpo{groupTopic, 0, 6, -1, strings.Repeat("€", 16), 0} // 48 bytes, 16 characters
	for _, v := range []int16{0, 1, 9} {
		codes := commitCodes(t, c, v, commitReq("meta", -1, "", fits, tpo{groupTopic, 1, 9, -1, strings.Repeat("a", 17), 0}))
		checkCodes(t, fmt.Sprintf("OffsetCommit v%d", v), codes, map[string]int16{"gt/0": 0, "gt/1": kerr.OffsetMetadataTooLarge.Code})
		checkCommitted(t, c, "meta", fits, old)
	}
	s.check(t, "metadata over offset.metadata.max.bytes")
}

// testOversizedCommit: a commit whose records exceed the offsets topic's
// max.message.bytes (metadata within offset.metadata.max.bytes) gets
// INVALID_COMMIT_OFFSET_SIZE for every partition, none of which is
// committed (GroupMetadataManager.storeOffsets maps MESSAGE_TOO_LARGE).
func testOversizedCommit(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	old := tpo{groupTopic, 1, 5, -1, "old", 0}
	mustCommit(t, c, "big-commit", -1, "", old)
	// Strings stop at 32767 bytes (longer ones close the connection, as
	// Kafka's parser does), so the batch is made big by many partitions:
	// 40 commits of partition 0 with 30,000 bytes of metadata each.
	var offs []tpo
	for range 40 {
		offs = append(offs, tpo{groupTopic, 0, 6, -1, strings.Repeat("m", 30000), 0})
	}
	offs = append(offs, tpo{groupTopic, 1, 7, -1, "", 0})
	for _, v := range []int16{2, 8, 9} {
		codes := commitCodes(t, c, v, commitReq("big-commit", -1, "", offs...))
		checkCodes(t, fmt.Sprintf("OffsetCommit v%d of oversized records", v), codes, map[string]int16{"gt/0": kerr.InvalidCommitOffsetSize.Code, "gt/1": kerr.InvalidCommitOffsetSize.Code})
		checkCommitted(t, c, "big-commit", old)
	}
	s.check(t, "an oversized commit")
}

// testSessionTimeouts: session timeouts outside group.min/max get
// INVALID_SESSION_TIMEOUT, for a new member as for a member rejoining,
// which stays as it was.
func testSessionTimeouts(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	for _, ms := range []int32{99, 60001, -1} {
		for _, v := range []int16{0, 9} {
			m := newMember(t, b, "sess")
			m.sessionMs = ms
			checkCode(t, fmt.Sprintf("JoinGroup v%d with session timeout %d", v, ms), call[*kmsg.JoinGroupResponse](t, m.c, v, m.joinReq()).ErrorCode, kerr.InvalidSessionTimeout.Code)
		}
	}
	if st := stateOf(t, c, "sess"); st != "Dead" {
		t.Errorf("group of refused members: got %s; want Dead (no such group)", st)
	}
	m := s.members[1]
	m.sessionMs = 60001
	m.rejoin(t, newest.join)
	checkCode(t, "rejoin with session timeout 60001", await[*kmsg.JoinGroupResponse](t, *m.joining).ErrorCode, kerr.InvalidSessionTimeout.Code)
	m.joining, m.sessionMs = nil, memberSessionMs
	for _, ms := range []int32{100, 60000} {
		m := newMember(t, b, fmt.Sprintf("sess-%d", ms))
		m.sessionMs = ms
		m.enter(t, newest.join)
		m.joined(t)
	}
	s.check(t, "session timeouts out of bounds")
}

// testMaxSizeStorm: with group.max.size 3, a storm of JoinGroups at a
// full Stable group is refused with GROUP_MAX_SIZE_REACHED and leaves it
// alone; a storm at a new group admits exactly three during the initial
// rebalance (Kafka's acceptJoiningMember counts the members awaiting it).
func testMaxSizeStorm(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	full := formGroup(t, b, newest, "full", 3)
	before := groupView(t, c, "full")
	storm := func(b *testBroker, group string, n int, v int16) []*kmsg.JoinGroupResponse {
		var wg sync.WaitGroup
		ms := make([]*gmember, n)
		for i := range ms {
			ms[i] = newMember(t, b, group)
		}
		out := make([]*kmsg.JoinGroupResponse, n)
		errs := make([]error, n)
		for i, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := m.joinReq()
				req.SetVersion(v)
				resp, err := m.c.roundTrip(req)
				if err != nil {
					errs[i] = err
					return
				}
				out[i] = resp.(*kmsg.JoinGroupResponse)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	for i, r := range storm(b, "full", 10, 9) {
		checkCode(t, fmt.Sprintf("JoinGroup %d into a full group", i), r.ErrorCode, kerr.GroupMaxSizeReached.Code)
	}
	if got := groupView(t, c, "full"); got != before {
		t.Errorf("full group after the storm: got\n%s\nwant\n%s", got, before)
	}
	for i, m := range full {
		checkCode(t, fmt.Sprintf("Heartbeat of member %d after the storm", i), m.heartbeat(t, 4), 0)
	}
	s.check(t, "a JoinGroup storm")

	// A new group: the first three arrivals wait out the initial delay
	// together, the rest are refused at once.
	b2, c2 := groupBroker(t, map[string]string{"group.max.size": "3", "group.initial.rebalance.delay.ms": "1000"})
	var ok, refused int
	for _, r := range storm(b2, "fresh", 8, 3) {
		switch r.ErrorCode {
		case 0:
			ok++
			if r.Generation != 1 {
				t.Errorf("admitted member: got generation %d; want 1", r.Generation)
			}
		case kerr.GroupMaxSizeReached.Code:
			refused++
		default:
			t.Errorf("JoinGroup in a storm: got %s; want 0 or GROUP_MAX_SIZE_REACHED", errName(r.ErrorCode))
		}
	}
	if d := describe(t, c2, 5, "fresh")[0]; ok != 3 || refused != 5 || len(d.Members) != 3 {
		t.Errorf("storm of 8 at a new group of at most 3: got %d admitted, %d refused, %d members; want 3, 5, 3", ok, refused, len(d.Members))
	}
}

// testEmptyGroupID: the group protocol refuses the empty group id
// (INVALID_GROUP_ID); offset commits and fetches accept it, as Kafka
// does for backward compatibility, and so do DescribeGroups and
// DeleteGroups.
func testEmptyGroupID(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	m := newMember(t, b, "")
	for _, v := range []int16{0, 4, 9} {
		checkCode(t, fmt.Sprintf("JoinGroup v%d of group \"\"", v), call[*kmsg.JoinGroupResponse](t, m.c, v, m.joinReq()).ErrorCode, errInvalidGroupID)
	}
	m.id, m.gen = "someone", 1
	checkCode(t, "SyncGroup of group \"\"", call[*kmsg.SyncGroupResponse](t, m.c, 5, m.syncReq(nil)).ErrorCode, errInvalidGroupID)
	checkCode(t, "Heartbeat of group \"\"", m.heartbeat(t, 4), errInvalidGroupID)
	checkCode(t, "LeaveGroup of group \"\"", call[*kmsg.LeaveGroupResponse](t, m.c, 5, leaveReq("", leaving(m.id, nil))).ErrorCode, errInvalidGroupID)
	checkCode(t, "OffsetDelete of group \"\"", call[*kmsg.OffsetDeleteResponse](t, c, 0, offsetDeleteReq("", tpo{topic: groupTopic})).ErrorCode, errInvalidGroupID)

	o := tpo{groupTopic, 0, 42, -1, "empty", 0}
	for _, v := range []int16{0, 1, 9} {
		checkCode(t, fmt.Sprintf("OffsetCommit v%d of group \"\"", v), commitCodes(t, c, v, commitReq("", -1, "", o))["gt/0"], 0)
	}
	for _, v := range []int16{1, 7} {
		_, parts := fetchOffsets(t, c, v, "", false, map[string][]int32{groupTopic: {0}})
		if p := parts["gt/0"]; p.code != 0 || p.offset != 42 {
			t.Errorf("OffsetFetch v%d of group \"\": got %+v; want offset 42", v, p)
		}
	}
	checkCommitted(t, c, "", o)
	if d := describe(t, c, 5, "")[0]; d.ErrorCode != 0 || d.State != "Empty" {
		t.Errorf("DescribeGroups of group \"\": got %s, %s; want 0, Empty", errName(d.ErrorCode), d.State)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{""}
	checkCode(t, "DeleteGroups of group \"\"", call[*kmsg.DeleteGroupsResponse](t, c, 2, del).Groups[0].ErrorCode, 0)
	checkCommitted(t, c, "")
	s.check(t, "the empty group id")
}

// testStaleGeneration: commits, heartbeats and SyncGroups from a
// generation other than the group's get ILLEGAL_GENERATION and change
// nothing.
func testStaleGeneration(t *testing.T, b *testBroker, c *client) {
	s := newBystanders(t, b, c)
	ms := formGroup(t, b, newest, "stale", 2)
	a := ms[0]
	o := tpo{groupTopic, 0, 10, -1, "", 0}
	mustCommit(t, c, "stale", a.gen, a.id, o)
	before := groupView(t, c, "stale")
	for _, gen := range []int32{a.gen - 1, a.gen + 1, 0} {
		for _, v := range []int16{1, 5, 9} {
			codes := commitCodes(t, c, v, commitReq("stale", gen, a.id, tpo{groupTopic, 0, 99, -1, "", 0}, tpo{groupTopic, 1, 99, -1, "", 0}))
			checkCodes(t, fmt.Sprintf("OffsetCommit v%d from generation %d of %d", v, gen, a.gen), codes, map[string]int16{"gt/0": errIllegalGeneration, "gt/1": errIllegalGeneration})
		}
		stale := *a
		stale.gen = gen
		checkCode(t, fmt.Sprintf("Heartbeat from generation %d", gen), stale.heartbeat(t, 4), errIllegalGeneration)
		checkCode(t, fmt.Sprintf("SyncGroup from generation %d", gen), call[*kmsg.SyncGroupResponse](t, a.c, 5, stale.syncReq(nil)).ErrorCode, errIllegalGeneration)
	}
	if got := groupView(t, c, "stale"); got != before {
		t.Errorf("group after stale requests: got\n%s\nwant\n%s", got, before)
	}
	s.check(t, "stale generations")
}

// TestGroupRestart: after a restart on the same log directory, committed
// offsets, a Stable group's members, metadata and assignments, a static
// member, and deletions are replayed from __consumer_offsets; members
// carry on with their ids and generation.
func TestGroupRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	props := map[string]string{"log.dirs": dir}
	b, c := groupBroker(t, props)
	s := newBystanders(t, b, c)
	st := newMember(t, b, "restart-static").static("restart-instance")
	rebalance(t, newest, st)
	mustCommit(t, c, "restart-static", st.gen, st.id, tpo{groupTopic, 1, 55, 4, "static", 0})
	// deletions must stay deleted
	mustCommit(t, c, "restart-deleted", -1, "", tpo{groupTopic, 0, 1, -1, "", 0})
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"restart-deleted"}
	checkCode(t, "DeleteGroups", call[*kmsg.DeleteGroupsResponse](t, c, 2, del).Groups[0].ErrorCode, 0)
	mustCommit(t, c, "restart-od", -1, "", tpo{groupTopic, 0, 1, -1, "", 0}, tpo{groupTopic, 1, 2, -1, "", 0})
	checkCode(t, "OffsetDelete", call[*kmsg.OffsetDeleteResponse](t, c, 0, offsetDeleteReq("restart-od", tpo{topic: groupTopic})).ErrorCode, 0)
	groups := []string{"bystander", "keeper", "restart-static", "restart-deleted", "restart-od"}
	before := groupView(t, c, groups...)
	b.shutdown(t)

	b2, c2 := groupBroker(t, props)
	waitLoaded(t, c2, groups)
	if got := groupView(t, c2, groups...); got != before {
		t.Errorf("groups after a restart: got\n%s\nwant\n%s", got, before)
	}
	if !strings.Contains(before, "bystander: Stable consumer/range") || !strings.Contains(before, "instance restart-instance") {
		t.Errorf("groups before the restart: got\n%s\nwant a Stable bystander and the static member", before)
	}
	// The members carry on: heartbeats, commits, a new rebalance.
	for _, m := range append(slices.Clone(s.members), st) {
		m.c = b2.dial(t)
		checkCode(t, fmt.Sprintf("Heartbeat of %s after the restart", m.id), m.heartbeat(t, 4), 0)
	}
	mustCommit(t, c2, "bystander", s.members[0].gen, s.members[0].id, tpo{groupTopic, 0, 150, -1, "", 0})
	gen := s.members[0].gen
	rebalance(t, newest, s.members[0], s.members[1], newMember(t, b2, "bystander"))
	if s.members[0].gen != gen+1 {
		t.Errorf("rebalance after the restart: got generation %d; want %d", s.members[0].gen, gen+1)
	}
	// A static member's old id is still fenced after its replacement.
	st2 := newMember(t, b2, "restart-static").static("restart-instance")
	st2.enter(t, newest.join)
	st2.joined(t)
	checkCode(t, "Heartbeat of the replaced static member after the restart", st.heartbeat(t, 4), errFenced)
}

// waitLoaded waits until DescribeGroups answers for every group: a
// partition of __consumer_offsets is served once it is replayed.
func waitLoaded(t testing.TB, c *client, groups []string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		loading := false
		for _, d := range describe(t, c, 5, groups...) {
			switch d.ErrorCode {
			case 0:
			case kerr.CoordinatorLoadInProgress.Code:
				loading = true
			default:
				t.Fatalf("DescribeGroups of %s after a restart: got %s; want 0 or COORDINATOR_LOAD_IN_PROGRESS", d.Group, errName(d.ErrorCode))
			}
		}
		if !loading {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("groups still loading after %s", ioTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGroupStateOutlivesRetention: time retention never deletes the
// records of __consumer_offsets, however short log.retention.ms is:
// Kafka compacts the topic and keeps the last record of every key, so a
// commit or a group that is not written again still survives a restart.
func TestGroupStateOutlivesRetention(t *testing.T) {
	t.Parallel()
	props := map[string]string{"log.dirs": t.TempDir(), "log.retention.ms": "100", "log.retention.check.interval.ms": "20",
		"offsets.topic.segment.bytes": "1024", "offsets.topic.num.partitions": "1"}
	b, c := groupBroker(t, props)
	createTopic(t, c, groupTopic, 1, nil)
	m := formGroup(t, b, newest, "kept", 1)[0]
	kept := tpo{groupTopic, 0, 1, -1, "kept", 0}
	mustCommit(t, c, "kept", m.gen, m.id, kept)
	for i := int64(0); i < 30; i++ { // enough to roll several 1024-byte segments
		mustCommit(t, c, "busy", -1, "", tpo{groupTopic, 0, i, -1, "", 0})
	}
	time.Sleep(300 * time.Millisecond) // three retention periods, fifteen checks
	if start, _ := offsets(t, c, "__consumer_offsets", 0); start != 0 {
		t.Errorf("__consumer_offsets/0 after retention: got log start %d; want 0, nothing deleted", start)
	}
	before := groupView(t, c, "kept", "busy")
	b.shutdown(t)
	_, c2 := groupBroker(t, props)
	waitLoaded(t, c2, []string{"kept", "busy"})
	if got := groupView(t, c2, "kept", "busy"); got != before {
		t.Errorf("groups after retention and a restart: got\n%s\nwant\n%s", got, before)
	}
}

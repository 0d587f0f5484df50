package core_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Offset expiry (offsets.retention.minutes), as Kafka's
// GroupMetadata.removeExpiredOffsets and
// GroupMetadataManager.cleanupGroupMetadata: a group that only stores
// offsets loses each retention after its commit; a consumer group keeps
// them while it has members and loses them retention after it became
// Empty; a Stable consumer group loses those of topics no member
// subscribes to. What expires is deleted by tombstones, and an Empty
// group left without offsets is deleted too.

// retentionProps: offsets kept one minute, checked every second.
var retentionProps = map[string]string{
	"offsets.retention.minutes":           "1",
	"offsets.retention.check.interval.ms": "1000",
	"offsets.topic.num.partitions":        "1",
	"group.initial.rebalance.delay.ms":    "0",
}

const retentionMs = 60_000

func retentionHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, retentionProps)
	h.offsetsReady()
	h.createTopic("t", 1, nil)
	h.createTopic("u", 1, nil)
	return h
}

// commitAs commits offset for topic's partition 0 as member of
// generation gen (a group that only stores offsets: "", -1) and returns
// the partition's error.
func commitAs(h *harness, group, member string, gen int32, topic string, offset int64) int16 {
	h.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, member, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 8, req)
	h.deliverAll()
	return commitCode(h.mustResponse(seq))
}

// fetchCommitted is OffsetFetch v8 of group's topic-0: the group's
// error, else the offset (-1: none).
func fetchCommitted(h *harness, group, topic string) (int16, int64) {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	resp := h.mustResponse(h.send(2, 8, req)).(*kmsg.OffsetFetchResponse)
	if code := resp.Groups[0].ErrorCode; code != 0 {
		return code, -1
	}
	return 0, resp.Groups[0].Topics[0].Partitions[0].Offset
}

// wantCommitted fails the test unless group's committed offset of
// topic-0 is want (-1: none).
func wantCommitted(h *harness, when, group, topic string, want int64) {
	h.t.Helper()
	if code, got := fetchCommitted(h, group, topic); code != 0 || got != want {
		h.t.Errorf("%s: OffsetFetch %s %s-0: got %s, offset %d; want NONE, %d", when, group, topic, codeName(code), got, want)
	}
}

// joinStable makes a one-member group of protocolType Stable, its
// member subscribed to topics, and returns the member id and generation.
func joinStable(h *harness, group, protocolType string, topics []string) (string, int32) {
	h.t.Helper()
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = topics
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = group, 600_000, 600_000, protocolType
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", md.AppendTo(nil)
	join.Protocols = append(join.Protocols, p)
	seq := h.send(1, 3, join)
	h.tick(1) // the initial rebalance delay, 0 ms, falls due
	h.deliverAll()
	jr := h.mustResponse(seq).(*kmsg.JoinGroupResponse)
	if jr.ErrorCode != 0 {
		h.t.Fatalf("JoinGroup %s: got %s; want NONE", group, codeName(jr.ErrorCode))
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, jr.MemberID
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID = jr.MemberID
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	seq = h.send(1, 1, sync)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.SyncGroupResponse).ErrorCode; code != 0 {
		h.t.Fatalf("SyncGroup %s: got %s; want NONE", group, codeName(code))
	}
	return jr.MemberID, jr.Generation
}

func leaveGroup(h *harness, group, member string) {
	h.t.Helper()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = group, member
	seq := h.send(1, 1, req)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.LeaveGroupResponse).ErrorCode; code != 0 {
		h.t.Fatalf("LeaveGroup %s: got %s; want NONE", group, codeName(code))
	}
}

// listedGroups is ListGroups v4: the groups and their states.
func listedGroups(h *harness) map[string]string {
	h.t.Helper()
	resp := h.mustResponse(h.send(1, 4, kmsg.NewPtrListGroupsRequest())).(*kmsg.ListGroupsResponse)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("ListGroups: got %s; want NONE", codeName(resp.ErrorCode))
	}
	out := map[string]string{}
	for _, g := range resp.Groups {
		out[g.Group] = g.GroupState
	}
	return out
}

// describedState is group's state in DescribeGroups v1.
func describedState(h *harness, group string) string {
	h.t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	g := h.mustResponse(h.send(1, 1, req)).(*kmsg.DescribeGroupsResponse).Groups[0]
	if g.ErrorCode != 0 {
		h.t.Fatalf("DescribeGroups %s: got %s; want NONE", group, codeName(g.ErrorCode))
	}
	return g.State
}

// offsetsTombstones lists the tombstones in __consumer_offsets-0's log:
// "group/topic-partition" for an offset's, "group" for a group's.
func offsetsTombstones(h *harness) []string {
	h.t.Helper()
	var out []string
	var codecs core.RecordCodecs
	defer codecs.Close()
	for _, b := range h.logs[offsets0] {
		hd, err := core.ParseBatchHeader(b)
		if err != nil {
			h.t.Fatal(err)
		}
		recs, err := codecs.Records(b, hd, 1<<20)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range recs {
			if r.Value != nil || len(r.Key) < 2 {
				continue
			}
			switch binary.BigEndian.Uint16(r.Key) {
			case 0, 1:
				var k kmsg.OffsetCommitKey
				if err := k.ReadFrom(r.Key); err != nil {
					h.t.Fatal(err)
				}
				out = append(out, k.Group+"/"+k.Topic+"-"+string(rune('0'+k.Partition)))
			case 2:
				var k kmsg.GroupMetadataKey
				if err := k.ReadFrom(r.Key); err != nil {
					h.t.Fatal(err)
				}
				out = append(out, k.Group)
			}
		}
	}
	return out
}

// restartedOn starts a new broker process on first's logs and
// coordination store, first's process gone, afterMs later, with the
// same properties; it returns with the start's completions held and
// Startup's effects in startup.
func restartedOn(t *testing.T, first *harness, props map[string]string, afterMs int64) (h *harness, startup []core.Effect) {
	t.Helper()
	cfg, err := core.ParseProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 43
	rec := core.Recovered{Znodes: first.coordWrites()}
	logs := map[core.TopicPartition][][]byte{}
	for _, tp := range sortedPartitions(first.logs) {
		logs[tp] = first.logs[tp]
		rec.Partitions = append(rec.Partitions, core.RecoveredPartition{Partition: tp, LogEndOffset: logEnd(t, first.logs[tp])})
	}
	first.coord.CloseSession(first.session)
	rec.CoordSession = first.coord.OpenSession()
	h = &harness{t: t, now: first.now + core.Instant(afterMs*1e6), logs: logs, coord: first.coord, session: rec.CoordSession}
	if h.b, err = core.New(cfg, rec); err != nil {
		t.Fatal(err)
	}
	startup = slices.Clone(h.b.Startup(nil))
	h.exec(startup)
	return h, startup
}

// restarted is restartedOn with the start completed: the offsets
// partition is replayed and served.
func restarted(t *testing.T, first *harness, props map[string]string, afterMs int64) *harness {
	t.Helper()
	h, _ := restartedOn(t, first, props, afterMs)
	h.deliverAll()
	h.step(core.Tick{Now: h.now})
	h.deliverAll()
	return h
}

func sortedPartitions(logs map[core.TopicPartition][][]byte) []core.TopicPartition {
	var tps []core.TopicPartition
	for tp := range logs {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b core.TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return tps
}

// TestGroupRetentionOffsetsOnly: a group that only stores offsets (no
// members, no protocol type) loses each committed offset once
// offsets.retention.minutes passed since its own commit, by a tombstone;
// with none left it is deleted (no group tombstone: it never had a
// generation), and a restart replays none of it back.
func TestGroupRetentionOffsetsOnly(t *testing.T) {
	h := retentionHarness(t)
	if code := commitAs(h, "simple", "", -1, "t", 5); code != 0 {
		t.Fatalf("commit t: got %s; want NONE", codeName(code))
	}
	h.tick(30_000)
	if code := commitAs(h, "simple", "", -1, "u", 6); code != 0 {
		t.Fatalf("commit u: got %s; want NONE", codeName(code))
	}
	h.tick(retentionMs - 30_000 - 1_000)
	h.deliverAll()
	wantCommitted(h, "just within retention of the commit to t", "simple", "t", 5)
	if _, ok := listedGroups(h)["simple"]; !ok {
		t.Errorf("ListGroups before expiry: got %v; want simple listed", listedGroups(h))
	}
	h.tick(1_500) // a check past retention of the commit to t
	h.deliverAll()
	wantCommitted(h, "retention after the commit to t", "simple", "t", -1)
	wantCommitted(h, "30 s after the commit to u", "simple", "u", 6)
	h.tick(30_000)
	h.deliverAll()
	wantCommitted(h, "retention after the commit to u", "simple", "u", -1)
	if gs := listedGroups(h); len(gs) != 0 {
		t.Errorf("ListGroups with every offset expired: got %v; want none", gs)
	}
	if got, want := offsetsTombstones(h), []string{"simple/t-0", "simple/u-0"}; !slices.Equal(got, want) {
		t.Errorf("tombstones in __consumer_offsets: got %q; want %q", got, want)
	}

	r := restarted(t, h, retentionProps, 1_000)
	wantCommitted(r, "after a restart", "simple", "t", -1)
	wantCommitted(r, "after a restart", "simple", "u", -1)
	if gs := listedGroups(r); len(gs) != 0 {
		t.Errorf("ListGroups after a restart: got %v; want none", gs)
	}
}

// TestGroupRetentionEmptyGroup: a consumer group with a member keeps its
// offsets while Stable (its member subscribes to their topic), however
// old the commit; once the member leaves and the group is Empty, they
// expire offsets.retention.minutes after it became Empty (Kafka's
// currentStateTimestamp), not after the commit. The group, Empty without
// offsets, is then Dead and deleted, by an offset and a group tombstone
// that a restart replays.
func TestGroupRetentionEmptyGroup(t *testing.T) {
	h := retentionHarness(t)
	member, gen := joinStable(h, "cg", "consumer", []string{"t"})
	if code := commitAs(h, "cg", member, gen, "t", 7); code != 0 {
		t.Fatalf("commit: got %s; want NONE", codeName(code))
	}
	for range 3 { // three minutes of checks while the group is Stable
		h.tick(retentionMs)
		h.deliverAll()
	}
	wantCommitted(h, "Stable, three retentions after the commit", "cg", "t", 7)

	leaveGroup(h, "cg", member)
	if s := describedState(h, "cg"); s != "Empty" {
		t.Fatalf("after the member left: state %s; want Empty", s)
	}
	h.tick(retentionMs - 1_000)
	h.deliverAll()
	wantCommitted(h, "Empty for just under retention", "cg", "t", 7)
	h.tick(1_500)
	h.deliverAll()
	wantCommitted(h, "Empty for retention", "cg", "t", -1)
	if s := describedState(h, "cg"); s != "Dead" {
		t.Errorf("Empty with every offset expired: state %s; want Dead", s)
	}
	if gs := listedGroups(h); len(gs) != 0 {
		t.Errorf("ListGroups with the group deleted: got %v; want none", gs)
	}
	if got, want := offsetsTombstones(h), []string{"cg/t-0", "cg"}; !slices.Equal(got, want) {
		t.Errorf("tombstones in __consumer_offsets: got %q; want %q", got, want)
	}

	r := restarted(t, h, retentionProps, 1_000)
	wantCommitted(r, "after a restart", "cg", "t", -1)
	if s := describedState(r, "cg"); s != "Dead" {
		t.Errorf("after a restart: state %s; want Dead", s)
	}
}

// TestGroupRetentionUnsubscribedTopic: a Stable consumer group loses,
// retention after their commit, the offsets of topics its members no
// longer subscribe to, and keeps those of subscribed ones; a Stable
// group of another protocol type, whose subscriptions Kafka does not
// read, keeps all of its offsets.
func TestGroupRetentionUnsubscribedTopic(t *testing.T) {
	h := retentionHarness(t)
	member, gen := joinStable(h, "cg", "consumer", []string{"t"})
	other, otherGen := joinStable(h, "conn", "connect", []string{"t"})
	for _, c := range []struct {
		group, member string
		gen           int32
		topic         string
		offset        int64
	}{{"cg", member, gen, "t", 3}, {"cg", member, gen, "u", 4}, {"conn", other, otherGen, "u", 8}} {
		if code := commitAs(h, c.group, c.member, c.gen, c.topic, c.offset); code != 0 {
			t.Fatalf("commit %s %s: got %s; want NONE", c.group, c.topic, codeName(code))
		}
	}
	h.tick(retentionMs - 1_000)
	h.deliverAll()
	wantCommitted(h, "just within retention", "cg", "u", 4)
	h.tick(1_500)
	h.deliverAll()
	wantCommitted(h, "retention after the commits", "cg", "u", -1)
	wantCommitted(h, "retention after the commits", "cg", "t", 3)
	wantCommitted(h, "retention after the commits", "conn", "u", 8)
	if gs := listedGroups(h); gs["cg"] != "Stable" || gs["conn"] != "Stable" {
		t.Errorf("ListGroups: got %v; want cg and conn Stable", gs)
	}
	if got, want := offsetsTombstones(h), []string{"cg/u-0"}; !slices.Equal(got, want) {
		t.Errorf("tombstones in __consumer_offsets: got %q; want %q", got, want)
	}
}

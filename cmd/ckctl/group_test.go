package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupBroker starts a broker that completes a group's first rebalance at
// once instead of waiting group.initial.rebalance.delay.ms (3 s by default).
func groupBroker(t *testing.T) string {
	t.Helper()
	return startBroker(t, "group.initial.rebalance.delay.ms=0")
}

// produceN appends n records to one partition with ckctl produce.
func produceN(t *testing.T, addr, topic string, partition, n int, tag string) {
	t.Helper()
	var in strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "%s-%d\n", tag, i)
	}
	mustCkctl(t, addr, in.String(), "produce", topic, "-p", fmt.Sprint(partition))
}

// commitOffsets commits offsets for group outside group membership.
func commitOffsets(t *testing.T, addr, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	os := make(kadm.Offsets)
	for topic, ps := range offsets {
		for p, at := range ps {
			os.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	if err := testAdmin(t, addr).CommitAllOffsets(bounded(t, 10*time.Second), group, os); err != nil {
		t.Fatalf("committing %v for group %s: %v", offsets, group, err)
	}
}

// committed returns the group's committed offsets, as OffsetFetch reports.
func committed(t *testing.T, addr, group string) map[string]map[int32]int64 {
	t.Helper()
	resps, err := testAdmin(t, addr).FetchOffsets(bounded(t, 10*time.Second), group)
	if err != nil {
		t.Fatalf("OffsetFetch for group %s: %v", group, err)
	}
	out := map[string]map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatalf("OffsetFetch for group %s: %s partition %d: %v", group, o.Topic, o.Partition, o.Err)
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

func checkCommitted(t *testing.T, addr, group string, want map[string]map[int32]int64) {
	t.Helper()
	got := committed(t, addr, group)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("committed offsets of group %s: got %v; want %v", group, got, want)
	}
}

// groupMember is a franz-go consumer in group that joins at once, reads
// topic from the start, and commits only when asked (consumeCommit).
func groupMember(t *testing.T, addr, group, topic string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}
	return testClient(t, addr, append(base, opts...)...)
}

// consumeCommit polls cl until it has n records, bounded, and commits them.
func consumeCommit(t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	const limit = 15 * time.Second
	ctx := bounded(t, limit)
	got := 0
	for got < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group consumer: waited %v; got %d records; want %d", limit, got, n)
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("group consumer: %s partition %d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		got += fetches.NumRecords()
	}
	if got != n {
		t.Fatalf("group consumer: got %d records; want %d", got, n)
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("group consumer: committing: %v", err)
	}
}

// waitGroupState polls DescribeGroups every 50 ms, bounded, until the group
// is in state want with members members.
func waitGroupState(t *testing.T, addr, group, want string, members int) {
	t.Helper()
	const limit = 15 * time.Second
	adm := testAdmin(t, addr)
	deadline := time.Now().Add(limit)
	var last string
	for {
		described, err := adm.DescribeGroups(bounded(t, 5*time.Second), group)
		if err == nil {
			g := described[group]
			if g.State == want && len(g.Members) == members {
				return
			}
			last = fmt.Sprintf("state %s with %d members", g.State, len(g.Members))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for group %s to be %s with %d members; last: %s", limit, group, want, members, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupListDescribe(t *testing.T) {
	b := groupBroker(t)
	mustCkctl(t, b, "", "topic", "create", "orders", "-p", "3")
	for p := 0; p < 3; p++ {
		produceN(t, b, "orders", p, 10, "first")
	}

	// A group that only has committed offsets (as a tool or an assign()
	// consumer leaves): Empty, no protocol type.
	commitOffsets(t, b, "offsets-only", map[string]map[int32]int64{"orders": {0: 4, 1: 10}})
	out := mustCkctl(t, b, "", "group", "list")
	if !hasLineFields(out, "offsets-only", "Empty", "-") {
		t.Errorf("group list: got %q; want a line \"offsets-only Empty -\"", out)
	}
	out = mustCkctl(t, b, "", "group", "describe", "offsets-only")
	// A partition of a consumed topic with no commit lags by its whole
	// log (kadm's lag rule: the group would read it from the start).
	wantLines(t, "describe offsets-only", out,
		[]string{"STATE", "Empty"}, []string{"MEMBERS", "0"}, []string{"TOTAL-LAG", "16"},
		[]string{"orders", "0", "4", "10", "6", "-", "-", "-"},
		[]string{"orders", "1", "10", "10", "0", "-", "-", "-"},
		[]string{"orders", "2", "-", "10", "10", "-", "-", "-"})
	produceN(t, b, "orders", 1, 5, "second")
	out = mustCkctl(t, b, "", "group", "describe", "offsets-only")
	wantLines(t, "describe offsets-only after producing 5 more", out,
		[]string{"TOTAL-LAG", "21"}, []string{"orders", "1", "10", "15", "5", "-", "-", "-"})

	// A live consumer with a static instance id consumes everything and
	// commits, then falls behind by what is produced next.
	cl := groupMember(t, b, "live", "orders", kgo.ClientID("live-client"), kgo.InstanceID("instance-a"))
	consumeCommit(t, cl, 35)
	waitGroupState(t, b, "live", "Stable", 1)
	memberID, _ := cl.GroupMetadata()
	produceN(t, b, "orders", 2, 3, "third")
	out = mustCkctl(t, b, "", "group", "describe", "live")
	wantLines(t, "describe live", out,
		[]string{"STATE", "Stable"}, []string{"PROTOCOL-TYPE", "consumer"},
		[]string{"PROTOCOL", "cooperative-sticky"}, []string{"MEMBERS", "1"}, []string{"TOTAL-LAG", "3"},
		[]string{"orders", "0", "10", "10", "0", memberID, "live-client"},
		[]string{"orders", "1", "15", "15", "0", memberID, "live-client"},
		[]string{"orders", "2", "10", "13", "3", memberID, "live-client"})
	if !hasLinePrefixFields(out, memberID, "instance-a", "live-client") || !strings.Contains(out, "orders[0,1,2]") {
		t.Errorf("describe live: got %q; want a member row %q instance-a live-client ... orders[0,1,2]", out, memberID)
	}
	out = mustCkctl(t, b, "", "group", "list")
	if !hasLineFields(out, "live", "Stable", "consumer") {
		t.Errorf("group list: got %q; want a line \"live Stable consumer\"", out)
	}

	// Several groups at once; a missing one fails the command but the
	// others are still shown.
	code, out, errOut := ckctl(t, b, "", "group", "describe", "live", "nope", "offsets-only")
	if code != 1 || !strings.Contains(errOut, "nope: group does not exist") {
		t.Errorf("describe with a missing group: got exit %d, stderr %q; want 1 and \"nope: group does not exist\"", code, errOut)
	}
	if strings.Count(out, "GROUP ") != 3 || !strings.Contains(out, "Dead") {
		t.Errorf("describe live nope offsets-only: got %q; want three groups, nope Dead", out)
	}
}

// wantLines checks that out has a line starting with each list of fields.
func wantLines(t *testing.T, what, out string, lines ...[]string) {
	t.Helper()
	for _, l := range lines {
		if !hasLinePrefixFields(out, l...) {
			t.Errorf("%s: got\n%s\nwant a line starting %q", what, out, strings.Join(l, " "))
		}
	}
}

func TestGroupSeek(t *testing.T) {
	b := groupBroker(t)
	mustCkctl(t, b, "", "topic", "create", "events", "-p", "2")
	mustCkctl(t, b, "", "topic", "create", "other", "-p", "1")
	// Ten records per partition of events, one second apart in record time.
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	prod := testClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 10; i++ {
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: []byte(fmt.Sprint(i)),
				Timestamp: base.Add(time.Duration(i) * time.Second)})
		}
	}
	recs = append(recs, &kgo.Record{Topic: "other", Value: []byte("x")}, &kgo.Record{Topic: "other", Value: []byte("y")})
	if err := prod.ProduceSync(bounded(t, 10*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
	commitOffsets(t, b, "g", map[string]map[int32]int64{"events": {0: 5, 1: 5}})

	seeks := []struct {
		args []string
		want map[int32]int64
	}{
		{[]string{"--to", "earliest"}, map[int32]int64{0: 0, 1: 0}},
		{[]string{"--to", "latest"}, map[int32]int64{0: 10, 1: 10}},
		{[]string{"--to", "3"}, map[int32]int64{0: 3, 1: 3}},
		{[]string{"--to", "100"}, map[int32]int64{0: 10, 1: 10}}, // clamped to the high watermark
		{[]string{"--to-timestamp", fmt.Sprint(base.Add(6500 * time.Millisecond).UnixMilli())}, map[int32]int64{0: 7, 1: 7}},
		{[]string{"--to-timestamp", fmt.Sprint(base.Add(2 * time.Second).UnixMilli())}, map[int32]int64{0: 2, 1: 2}},
		{[]string{"--to-timestamp", fmt.Sprint(base.Add(time.Hour * 48).UnixMilli())}, map[int32]int64{0: 10, 1: 10}},
	}
	for _, s := range seeks {
		args := append([]string{"group", "seek", "g"}, s.args...)
		out := mustCkctl(t, b, "", args...)
		checkCommitted(t, b, "g", map[string]map[int32]int64{"events": s.want})
		if !hasLinePrefixFields(out, "events", "1") || !strings.Contains(out, fmt.Sprint(s.want[1])) {
			t.Errorf("seek %q: got output %q; want a row for events 1 with %d", s.args, out, s.want[1])
		}
	}

	// A dry run changes nothing; --topics adds partitions never committed.
	out := mustCkctl(t, b, "", "group", "seek", "g", "--to", "earliest", "--dry-run")
	if !strings.Contains(out, "dry run") || !hasLineFields(out, "events", "0", "10", "0") {
		t.Errorf("seek --dry-run: got %q; want row \"events 0 10 0\" and a dry-run note", out)
	}
	checkCommitted(t, b, "g", map[string]map[int32]int64{"events": {0: 10, 1: 10}})
	out = mustCkctl(t, b, "", "group", "seek", "g", "--to", "latest", "--topics", "other")
	if !hasLineFields(out, "other", "0", "-", "2") {
		t.Errorf("seek --topics other: got %q; want row \"other 0 - 2\"", out)
	}
	checkCommitted(t, b, "g", map[string]map[int32]int64{"events": {0: 10, 1: 10}, "other": {0: 2}})

	// Refused while the group has a member; allowed again once it leaves.
	cl := groupMember(t, b, "g", "events")
	waitGroupState(t, b, "g", "Stable", 1)
	code, _, errOut := ckctl(t, b, "", "group", "seek", "g", "--to", "earliest")
	if code != 1 || !strings.Contains(errOut, "Stable with 1 member") || !strings.Contains(errOut, "inactive") {
		t.Errorf("seek with a member: got exit %d, stderr %q; want 1 and a refusal naming the Stable state", code, errOut)
	}
	checkCommitted(t, b, "g", map[string]map[int32]int64{"events": {0: 10, 1: 10}, "other": {0: 2}})
	cl.Close() // leaves the group
	waitGroupState(t, b, "g", "Empty", 0)
	mustCkctl(t, b, "", "group", "seek", "g", "--to", "1", "--topics", "events,other")
	checkCommitted(t, b, "g", map[string]map[int32]int64{"events": {0: 1, 1: 1}, "other": {0: 1}})

	// Without --topics only the committed partitions move.
	commitOffsets(t, b, "half", map[string]map[int32]int64{"events": {1: 4}})
	out = mustCkctl(t, b, "", "group", "seek", "half", "--to", "earliest")
	if hasLinePrefixFields(out, "events", "0") {
		t.Errorf("seek half: got %q; want no row for events partition 0 (never committed)", out)
	}
	checkCommitted(t, b, "half", map[string]map[int32]int64{"events": {1: 0}})

	// A new group may be seeded with --topics; without it there is nothing
	// to reset.
	mustCkctl(t, b, "", "group", "seek", "fresh", "--to", "earliest", "--topics", "other")
	checkCommitted(t, b, "fresh", map[string]map[int32]int64{"other": {0: 0}})
	errorCases := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"group", "seek", "never", "--to", "earliest"}, 1, "no committed offsets"},
		{[]string{"group", "seek", "g", "--to", "earliest", "--topics", "missing"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"group", "seek", "g"}, 2, "needs --to"},
		{[]string{"group", "seek", "g", "--to", "soon"}, 2, "want earliest, latest"},
		{[]string{"group", "seek", "g", "--to", "1", "--to-timestamp", "5"}, 2, "not both"},
		{[]string{"group", "seek", "--to", "1"}, 2, "takes 1 argument"},
	}
	for _, tt := range errorCases {
		code, _, errOut := ckctl(t, b, "", tt.args...)
		if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("ckctl %q: got exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.wantCode, tt.wantErr)
		}
	}
	checkCommitted(t, b, "g", map[string]map[int32]int64{"events": {0: 1, 1: 1}, "other": {0: 1}})
}

func TestGroupDelete(t *testing.T) {
	b := groupBroker(t)
	mustCkctl(t, b, "", "topic", "create", "jobs", "-p", "1")
	produceN(t, b, "jobs", 0, 4, "job")
	commitOffsets(t, b, "idle", map[string]map[int32]int64{"jobs": {0: 2}})
	commitOffsets(t, b, "idle2", map[string]map[int32]int64{"jobs": {0: 3}})
	cl := groupMember(t, b, "busy", "jobs")
	consumeCommit(t, cl, 4)
	waitGroupState(t, b, "busy", "Stable", 1)

	out := mustCkctl(t, b, "", "group", "delete", "idle")
	if out != "deleted group idle\n" {
		t.Errorf("delete idle: got %q; want \"deleted group idle\\n\"", out)
	}
	checkCommitted(t, b, "idle", map[string]map[int32]int64{})
	out = mustCkctl(t, b, "", "group", "list")
	if hasLinePrefixFields(out, "idle") || !hasLinePrefixFields(out, "idle2") {
		t.Errorf("group list after deleting idle: got %q; want idle gone and idle2 listed", out)
	}

	// A group with a member is refused; the others in the call still go.
	code, out, errOut := ckctl(t, b, "", "group", "delete", "busy", "idle2", "ghost")
	if code != 1 {
		t.Errorf("delete busy idle2 ghost: got exit %d; want 1", code)
	}
	for _, want := range []string{"busy: NON_EMPTY_GROUP", "ghost: GROUP_ID_NOT_FOUND"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("delete busy idle2 ghost: got stderr %q; want it to contain %q", errOut, want)
		}
	}
	if out != "deleted group idle2\n" {
		t.Errorf("delete busy idle2 ghost: got stdout %q; want \"deleted group idle2\\n\"", out)
	}
	checkCommitted(t, b, "busy", map[string]map[int32]int64{"jobs": {0: 4}})
	out = mustCkctl(t, b, "", "group", "list")
	if !hasLineFields(out, "busy", "Stable", "consumer") || hasLinePrefixFields(out, "idle2") {
		t.Errorf("group list: got %q; want busy still Stable and idle2 gone", out)
	}
	if code, _, errOut := ckctl(t, b, "", "group", "delete"); code != 2 || !strings.Contains(errOut, "one or more group names") {
		t.Errorf("delete without names: got exit %d, stderr %q; want 2 and a usage error", code, errOut)
	}
}

// TestGroupCommandsOnFreshBroker runs group commands as the first group
// requests a broker sees: it answers COORDINATOR_NOT_AVAILABLE until it has
// created __consumer_offsets, and ckctl must wait that out.
func TestGroupCommandsOnFreshBroker(t *testing.T) {
	for _, args := range [][]string{
		{"group", "seek", "first", "--to", "latest", "--topics", "t"},
		{"group", "describe", "first"},
		{"group", "delete", "first"},
	} {
		t.Run(args[1], func(t *testing.T) {
			b := startBroker(t)
			mustCkctl(t, b, "", "topic", "create", "t", "-p", "1")
			code, _, errOut := ckctl(t, b, "", args...)
			if strings.Contains(errOut, "COORDINATOR") || (code != 0 && args[1] == "seek") {
				t.Errorf("ckctl %q on a fresh broker: got exit %d, stderr %q; want no coordinator error", args, code, errOut)
			}
		})
	}
}

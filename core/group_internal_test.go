package core

import "testing"

// TestPartitionFor checks the group → __consumer_offsets partition
// mapping against Java's String.hashCode (UTF-16 code units, 32-bit
// overflow) and Kafka's Utils.abs (Math.abs, with Integer.MIN_VALUE, the
// hash of "polygenelubricants", mapped to 0).
func TestPartitionFor(t *testing.T) {
	for _, c := range []struct {
		group string
		want  int32
	}{
		{"g1", 42}, {"", 0}, {"test-group", 12}, {"console-consumer-12345", 6},
		{"grüppe", 12}, {"emoji-😀", 6}, {"polygenelubricants", 0},
	} {
		if got := partitionFor(c.group, 50); got != c.want {
			t.Errorf("partitionFor(%q, 50) = %d; want %d", c.group, got, c.want)
		}
	}
}

// TestOffsetsRecordsRoundTrip checks that the records the coordinator
// writes decode with Kafka's schemas into what was written, and that a
// batch of them replays into the same group state.
func TestOffsetsRecordsRoundTrip(t *testing.T) {
	b, err := New(DefaultConfig(), Recovered{})
	if err != nil {
		t.Fatal(err)
	}
	gc := b.groups
	tp := TopicPartition{Topic: "t", Partition: 3}
	c := &committed{offset: 42, leaderEpoch: 7, metadata: "m", commitMs: 1000, expireMs: -1}
	g := newGroup("grp", 0, 5)
	pt, pn, leader := "consumer", "range", "a-1"
	g.protocolType, g.protocolName, g.leader, g.generation, g.stateMs = &pt, &pn, &leader, 3, 5
	g.members = []*member{{id: "a-1", clientID: "a", clientHost: "/h", rebalanceTimeoutMs: 9, sessionTimeoutMs: 8,
		protocols: []memberProtocol{{name: "range", metadata: []byte{1, 2}}}}}
	batch := encodeBatch([]kv{
		{offsetKey("grp", tp), offsetValue(c)},
		{groupKey("grp"), groupValue(g, map[string][]byte{"a-1": {9}})},
		{offsetKey("grp", TopicPartition{Topic: "t", Partition: 4}), offsetValue(c)},
		{offsetKey("grp", TopicPartition{Topic: "t", Partition: 4}), nil},
	}, 77)
	h, err := CheckBatch(batch)
	if err != nil {
		t.Fatalf("the coordinator's batch does not validate: %v", err)
	}
	gc.replay(0, batch, h)
	got := gc.groups["grp"]
	if got == nil {
		t.Fatal("group not replayed")
	}
	if o := got.offsets[tp]; o == nil || o.offset != 42 || o.leaderEpoch != 7 || o.metadata != "m" || o.commitMs != 1000 || o.expireMs != -1 {
		t.Errorf("offset replayed as %+v", o)
	}
	if _, ok := got.offsets[TopicPartition{Topic: "t", Partition: 4}]; ok {
		t.Error("an offset deleted by a tombstone was replayed")
	}
	if got.generation != 3 || *got.protocolName != "range" || *got.leader != "a-1" || got.state != groupStable || len(got.members) != 1 {
		t.Fatalf("group replayed as generation %d protocol %v leader %v state %v members %d",
			got.generation, *got.protocolName, *got.leader, got.state, len(got.members))
	}
	m := got.members[0]
	if m.id != "a-1" || m.clientHost != "/h" || m.rebalanceTimeoutMs != 9 || m.sessionTimeoutMs != 8 ||
		string(m.assignment) != "\x09" || string(m.metadataFor("range")) != "\x01\x02" {
		t.Errorf("member replayed as %+v", m)
	}
}

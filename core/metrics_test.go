package core_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// topicStats returns the counters of one topic label, or zero.
func topicStats(s core.Stats, label string) core.TopicCounters {
	for _, t := range s.Topics {
		if t.Topic == label {
			return t.TopicCounters
		}
	}
	return core.TopicCounters{}
}

// TestStatsCountsProduceAndFetch: produced batches count their request
// bytes and records once (a retried duplicate of an idempotent producer
// does not count again), a consumer's fetch counts the record bytes it
// carries, and a produce to an unknown topic makes no series.
func TestStatsCountsProduceAndFetch(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	first := makeBatch(batchOpts{records: 3, pid: 7, epoch: 0, seq: 0})
	second := makeBatch(batchOpts{records: 2, pid: 7, epoch: 0, seq: 3})
	for _, b := range [][]byte{first, second, second} { // the last is a retry
		seq := h.send(1, 9, produceReq("t", 0, -1, b))
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce: got error %d; want 0", code)
		}
	}
	seq := h.send(1, 9, produceReq("nope", 0, -1, makeBatch(batchOpts{})))
	h.deliverAll()
	h.mustResponse(seq)

	got := topicStats(h.b.Stats(), "t")
	want := core.TopicCounters{BytesIn: uint64(len(first) + len(second)), MessagesIn: 5, ProduceRequests: 3}
	if got != want {
		t.Errorf("after produces: got %+v; want %+v", got, want)
	}
	seq = h.send(1, 11, fetchReq("t", 0, 0, 0, 0))
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.FetchResponse)
	sent := len(resp.Topics[0].Partitions[0].RecordBatches)
	if sent != len(first)+len(second) {
		t.Fatalf("fetch: got %d record bytes; want %d", sent, len(first)+len(second))
	}
	s := h.b.Stats()
	if got := topicStats(s, "t").BytesOut; got != uint64(sent) {
		t.Errorf("BytesOut: got %d; want %d", got, sent)
	}
	for _, ts := range s.Topics {
		if ts.Topic == "nope" {
			t.Errorf("Stats has a series for the unknown topic nope: %+v", ts)
		}
	}
	if s.PartitionCount != 1 || s.LeaderCount != 1 || s.UnderReplicated != 0 {
		t.Errorf("partitions: got %d hosted, %d led, %d under-replicated; want 1, 1, 0", s.PartitionCount, s.LeaderCount, s.UnderReplicated)
	}
}

// TestStatsTopicCap: with metrics.topics.max=2, the third topic's
// counters go to OtherLabel, the sum over labels stays the total, and a
// deleted topic's slot is folded into OtherLabel for the next topic.
func TestStatsTopicCap(t *testing.T) {
	h := newHarness(t, map[string]string{"metrics.topics.max": "2"})
	var total uint64
	for i, name := range []string{"a", "b", "c"} {
		h.createTopic(name, 1, nil)
		for j := 0; j <= i; j++ {
			if r := h.produce(name, 0, batchOpts{records: 2}); r.ErrorCode != 0 {
				t.Fatalf("produce to %s: error %d", name, r.ErrorCode)
			}
			total += 2
		}
	}
	s := h.b.Stats()
	labels := map[string]uint64{}
	var sum uint64
	for _, ts := range s.Topics {
		labels[ts.Topic] = ts.MessagesIn
		sum += ts.MessagesIn
	}
	if fmt.Sprint(labels) != fmt.Sprint(map[string]uint64{"a": 2, "b": 4, core.OtherLabel: 6}) {
		t.Errorf("MessagesIn by label: got %v; want a:2 b:4 %s:6", labels, core.OtherLabel)
	}
	if sum != total {
		t.Errorf("MessagesIn summed over labels: got %d; want %d", sum, total)
	}
	if got := s.TopicLabel("c"); got != core.OtherLabel {
		t.Errorf("TopicLabel(c): got %q; want %q", got, core.OtherLabel)
	}
	for _, l := range s.Logs {
		if l.Topic == "c" && l.Label != core.OtherLabel {
			t.Errorf("log of c: label %q; want %q", l.Label, core.OtherLabel)
		}
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"a"}
	seq := h.send(1, 4, del)
	h.deliverAll()
	h.mustResponse(seq)
	h.createTopic("d", 1, nil)
	h.produce("d", 0, batchOpts{records: 1})
	s = h.b.Stats()
	if got := topicStats(s, "d").MessagesIn; got != 1 {
		t.Errorf("d after a's deletion freed a slot: got %d messages in its own series; want 1", got)
	}
	if got := topicStats(s, core.OtherLabel).MessagesIn; got != 6+2 {
		t.Errorf("%s after a was folded in: got %d; want 8", core.OtherLabel, got)
	}
}

// TestStatsGroupLag: the lag of a group on a partition is the high
// watermark less its committed offset; a group without a commit on a
// partition has no entry; beyond metrics.groups.max, groups are summed
// under OtherLabel.
func TestStatsGroupLag(t *testing.T) {
	h := newHarness(t, map[string]string{"metrics.groups.max": "1"})
	h.offsetsReady()
	h.createTopic("t", 1, nil)
	for i := 0; i < 4; i++ {
		h.produce("t", 0, batchOpts{records: 5})
	}
	for _, c := range []struct {
		group  string
		offset int64
	}{{"g1", 12}, {"g2", 15}, {"g3", 20}} {
		seq := h.send(1, 8, commitOffset(c.group, c.offset))
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("commit %s: error %d", c.group, code)
		}
	}
	s := h.b.Stats()
	want := []core.GroupLag{
		{Group: core.OtherLabel, Topic: "t", Partition: 0, Committed: -1, HighWatermark: -1, Lag: 5 + 0},
		{Group: "g1", Topic: "t", Partition: 0, Committed: 12, HighWatermark: 20, Lag: 8},
	}
	if fmt.Sprint(s.Lag) != fmt.Sprint(want) {
		t.Errorf("Lag: got %+v; want %+v", s.Lag, want)
	}
	empty := 0
	for _, st := range s.GroupStates {
		if st.State == "Empty" {
			empty = st.Groups
		}
	}
	if empty != 3 {
		t.Errorf("groups in state Empty: got %d; want 3 (%+v)", empty, s.GroupStates)
	}
}

package sim

import (
	"strings"
	"testing"

	"cloudkafka/core"
)

// compactedHistory is a compacted topic's history that passes: keys a
// and b, a updated, b deleted (a tombstone at 3), then c; c0 read
// everything before cleaning, and the final reader, after the cleaner
// checkpoint reached 3, read what compaction keeps: a's latest, b's
// tombstone and c.
func compactedHistory() *History {
	const s = core.Instant(1e9) // instants in seconds, broker clocks too
	h := &History{Compacted: true, DeleteRetentionMs: 1000, CleanedTo: map[int32]core.Offset{0: 3},
		Incarnations: []Incarnation{{At: 0, FirstTick: 100 * s}}}
	produce := func(values, keys []string, tombs []bool, off core.Offset, call core.Instant) {
		h.begin(&Op{Client: "p0", Kind: OpProduce, Call: call, Return: call + 1, Outcome: OK, Partition: 0,
			Values: values, Keys: keys, Tombstones: tombs, Offset: off, ClockAtCall: 100*s + call})
	}
	produce([]string{"p0#0", "p0#1"}, []string{"a", "b"}, []bool{false, false}, 0, 1*s)
	produce([]string{"p0#2"}, []string{"a"}, []bool{false}, 2, 2*s)
	produce([]string{"p0#3"}, []string{"b"}, []bool{true}, 3, 3*s)
	produce([]string{"p0#4"}, []string{"c"}, []bool{false}, 4, 4*s)
	h.begin(&Op{Client: "c0", Kind: OpFetch, Call: 5 * s, Return: 5*s + 1, Outcome: OK, BrokerClock: 105 * s, Fetches: []FetchPart{
		{Partition: 0, From: 0, HighWatermark: 5, LogStart: 0, Next: 5, Records: []ReadRecord{
			{Offset: 0, Value: "p0#0"}, {Offset: 1, Value: "p0#1"}, {Offset: 2, Value: "p0#2"},
			{Offset: 3, Value: "p0#3", Tombstone: true}, {Offset: 4, Value: "p0#4"}}}}})
	h.begin(&Op{Client: finalReader, Kind: OpFetch, Call: 6 * s, Return: 6*s + 1, Outcome: OK, BrokerClock: 106 * s, Fetches: []FetchPart{
		{Partition: 0, From: 0, HighWatermark: 5, LogStart: 0, Next: 5, Records: []ReadRecord{
			{Offset: 2, Value: "p0#2"}, {Offset: 3, Value: "p0#3", Tombstone: true}, {Offset: 4, Value: "p0#4"}}}}})
	return h
}

// TestCompactionChecks proves that each compaction check can fail, and
// that what compaction legitimately does passes.
func TestCompactionChecks(t *testing.T) {
	final := func(h *History) *FetchPart { return &h.Ops[5].Fetches[0] }
	keep := func(h *History, offsets ...core.Offset) {
		fp := final(h)
		var kept []ReadRecord
		for _, r := range fp.Records {
			for _, o := range offsets {
				if r.Offset == o {
					kept = append(kept, r)
				}
			}
		}
		fp.Records = kept
	}
	cases := []struct {
		name   string
		mutate func(h *History)
		want   string
	}{
		{"ok", func(*History) {}, ""},
		{"superseded records are never read", func(h *History) { h.Ops[4].Fetches[0].Records = nil }, ""},
		{"latest value lost", func(h *History) { keep(h, 3, 4) }, "compaction-lost"},
		{"older value instead of the latest", func(h *History) {
			final(h).Records = []ReadRecord{{Offset: 0, Value: "p0#0"}, {Offset: 3, Value: "p0#3", Tombstone: true}, {Offset: 4, Value: "p0#4"}}
		}, "compaction-lost"},
		{"tombstone gone with an older value left", func(h *History) {
			final(h).Records = []ReadRecord{{Offset: 1, Value: "p0#1"}, {Offset: 2, Value: "p0#2"}, {Offset: 4, Value: "p0#4"}}
			final(h).Records[0].Offset, h.Ops[4].Fetches[0].Records = 1, nil
			h.Ops[5].BrokerClock = 200 * 1e9 // past the horizon: only compaction-lost can fail
		}, "compaction-lost"},
		{"a key twice below the cleaner checkpoint", func(h *History) {
			final(h).Records = append([]ReadRecord{{Offset: 0, Value: "p0#0"}}, final(h).Records...)
		}, "compaction-stale"},
		{"twice at and past the checkpoint is fine", func(h *History) {
			h.CleanedTo[0] = 2
			final(h).Records = append([]ReadRecord{{Offset: 0, Value: "p0#0"}}, final(h).Records...)
		}, ""},
		// The tombstone's produce began at broker time 103 s: its horizon
		// is 104 s at the earliest.
		{"tombstone removed before delete.retention.ms", func(h *History) {
			keep(h, 2, 4)
			h.Ops[5].BrokerClock = 103.5e9
		}, "tombstone-early"},
		{"tombstone removed after its horizon", func(h *History) {
			keep(h, 2, 4)
			h.Ops[5].BrokerClock = 104e9
		}, ""},
		{"a restart with an earlier clock lowers the horizon", func(h *History) {
			keep(h, 2, 4)
			h.Ops[5].BrokerClock = 103.5e9
			h.Incarnations = append(h.Incarnations, Incarnation{At: 3.5e9, FirstTick: 102e9})
		}, ""},
		{"tombstone superseded by a later value", func(h *History) {
			h.begin(&Op{Client: "p0", Kind: OpProduce, Call: 4.5e9, Return: 7e9, Outcome: OK, Partition: 0,
				Values: []string{"p0#5"}, Keys: []string{"b"}, Tombstones: []bool{false}, Offset: 5, ClockAtCall: 104.5e9})
			keep(h, 2, 4)
			h.Ops[5].BrokerClock = 103.5e9
			final(h).Records, final(h).HighWatermark = append(final(h).Records, ReadRecord{Offset: 5, Value: "p0#5"}), 6
		}, ""},
		{"tombstone read as a value", func(h *History) { final(h).Records[1].Tombstone = false }, "wrong-value"},
		{"a unique-key record never read is lost", func(h *History) {
			h.begin(&Op{Client: "p0", Kind: OpProduce, Call: 4.5e9, Return: 4.6e9, Outcome: OK, Partition: 0,
				Values: []string{"p0#5"}, Keys: []string{""}, Tombstones: []bool{false}, Offset: 5, ClockAtCall: -1})
		}, "lost-write"},
		{"fetches may skip offsets", func(h *History) {
			h.Ops[4].Fetches[0].Records = []ReadRecord{{Offset: 2, Value: "p0#2"}, {Offset: 4, Value: "p0#4"}}
			h.Ops[4].BrokerClock = 200e9
		}, ""},
		{"but never go back", func(h *History) {
			h.Ops[4].Fetches[0].Records = []ReadRecord{{Offset: 2, Value: "p0#2"}, {Offset: 1, Value: "p0#1"}}
		}, "gap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := compactedHistory()
			tc.mutate(h)
			got := CheckHistory(h, true)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("got failures %q; want none", got)
				}
				return
			}
			for _, f := range got {
				if strings.HasPrefix(f, tc.want+":") {
					return
				}
			}
			t.Fatalf("got failures %q; want one of kind %s", got, tc.want)
		})
	}
}

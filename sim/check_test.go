package sim

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"cloudkafka/core"
)

// A base history that passes: p0 writes two batches to partition 0, p1
// (idempotent) one; c0 reads everything in two fetches.
func okHistory() *History {
	h := &History{}
	h.begin(&Op{Client: "p0", Kind: OpProduce, Call: 10, Return: 20, Outcome: OK, Partition: 0, Values: []string{"p0#0", "p0#1"}, Offset: 0})
	h.begin(&Op{Client: "p1", Kind: OpProduce, Call: 15, Return: 30, Outcome: OK, Partition: 0, Values: []string{"p1#0"}, Offset: 2, Idempotent: true})
	h.begin(&Op{Client: "p1", Kind: OpProduce, Call: 16, Return: 31, Outcome: OK, Partition: 0, Values: []string{"p1#1"}, Offset: 3, Idempotent: true})
	h.begin(&Op{Client: "c0", Kind: OpFetch, Call: 40, Return: 50, Outcome: OK, Fetches: []FetchPart{
		{Partition: 0, From: 0, HighWatermark: 4, Records: []ReadRecord{{Offset: 0, Value: "p0#0"}, {Offset: 1, Value: "p0#1"}}}}})
	h.begin(&Op{Client: "c0", Kind: OpFetch, Call: 60, Return: 70, Outcome: OK, Fetches: []FetchPart{
		{Partition: 0, From: 2, HighWatermark: 4, Records: []ReadRecord{{Offset: 2, Value: "p1#0"}, {Offset: 3, Value: "p1#1"}}}}})
	return h
}

// TestCheckHistory proves that every check can fail: each case breaks the
// passing history in one way and names the failure kind it must cause.
func TestCheckHistory(t *testing.T) {
	fetch := func(h *History, i int) *FetchPart { return &h.Ops[i].Fetches[0] }
	cases := []struct {
		name   string
		mutate func(h *History)
		want   string
	}{
		{"ok", func(*History) {}, ""},
		{"inconsistent", func(h *History) {
			h.begin(&Op{Client: "c1", Kind: OpFetch, Call: 60, Return: 70, Outcome: OK, Fetches: []FetchPart{
				{Partition: 0, From: 0, HighWatermark: 4, Records: []ReadRecord{{Offset: 0, Value: "p0#1"}}}}})
		}, "inconsistent-offset"},
		{"phantom", func(h *History) { fetch(h, 4).Records[1].Value = "p9#9" }, "phantom"},
		{"wrong partition", func(h *History) { h.Ops[0].Partition = 1 }, "phantom"},
		{"aborted read", func(h *History) { h.Ops[0].Outcome = Failed }, "aborted-read"},
		{"lost write", func(h *History) { fetch(h, 4).Records = fetch(h, 4).Records[:1] }, "lost-write"},
		{"wrong value", func(h *History) { h.Ops[1].Offset = 3; h.Ops[2].Offset = 2 }, "wrong-value"},
		{"offset twice", func(h *History) { h.Ops[2].Offset = 2 }, "duplicate-assignment"},
		{"gap", func(h *History) { fetch(h, 4).From = 1 }, "gap"},
		{"duplicate", func(h *History) {
			h.begin(&Op{Client: "p1", Kind: OpProduce, Call: 80, Return: 90, Outcome: OK, Partition: 0, Values: []string{"p1#2"}, Offset: 4, Idempotent: true})
			h.begin(&Op{Client: "c0", Kind: OpFetch, Call: 95, Return: 99, Outcome: OK, Fetches: []FetchPart{
				{Partition: 0, From: 4, HighWatermark: 6, Records: []ReadRecord{{Offset: 4, Value: "p1#2"}, {Offset: 5, Value: "p1#0"}}}}})
		}, "duplicate"},
		{"reorder", func(h *History) {
			h.Ops[1].Offset, h.Ops[2].Offset = 3, 2
			fetch(h, 4).Records[0].Value, fetch(h, 4).Records[1].Value = "p1#1", "p1#0"
		}, "reorder"},
		{"nonmonotonic send", func(h *History) {
			h.begin(&Op{Client: "p0", Kind: OpProduce, Call: 21, Return: 25, Outcome: OK, Partition: 0, Values: []string{"p0#2"}, Offset: 1})
		}, "nonmonotonic-send"},
		{"nonmonotonic poll", func(h *History) {
			h.begin(&Op{Client: "c0", Kind: OpFetch, Call: 80, Return: 90, Outcome: OK, Fetches: []FetchPart{
				{Partition: 0, From: 1, HighWatermark: 4, Records: []ReadRecord{{Offset: 1, Value: "p0#1"}}}}})
		}, "nonmonotonic-poll"},
		{"hwm regress", func(h *History) { fetch(h, 3).HighWatermark = 5; fetch(h, 4).HighWatermark = 4 }, "hwm-regress"},
		{"stale read", func(h *History) { fetch(h, 3).HighWatermark = 2 }, "stale-read"},
		{"fetch error", func(h *History) { fetch(h, 4).ErrorCode = kerr.OffsetOutOfRange.Code }, "fetch-error"},
		{"produce error", func(h *History) { h.Ops[0].ErrorCode = kerr.MessageTooLarge.Code }, "produce-error"},
		// Retention: a record below a reported log start is not lost, a
		// consumer below it may get OFFSET_OUT_OF_RANGE; without
		// retention both still fail (the cases above).
		{"retention explains unread", func(h *History) {
			h.Retention = true
			fetch(h, 4).Records, fetch(h, 4).ErrorCode = nil, kerr.OffsetOutOfRange.Code
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 80, Return: 90, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: -2, Offset: 4}}})
		}, ""},
		{"retention does not explain above the log start", func(h *History) {
			h.Retention = true
			fetch(h, 4).Records = fetch(h, 4).Records[:1]
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 80, Return: 90, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: -2, Offset: 3}}})
		}, "lost-write"},
		// Media damage: a consumer that skipped a reported damaged range
		// to its end may find the log not there yet (the scrubber read an
		// append still completing); anywhere else the error still fails.
		{"damage skip explains out of range at its end", func(h *History) {
			h.Damaged = append(h.Damaged, DamagedRange{Partition: 0, From: 0, To: 2})
			h.begin(&Op{Client: "c1", Kind: OpFetch, Call: 80, Return: 90, Outcome: OK, Fetches: []FetchPart{
				{Partition: 0, From: 2, HighWatermark: 1, ErrorCode: kerr.OffsetOutOfRange.Code}}})
		}, ""},
		{"damage skip does not explain out of range elsewhere", func(h *History) {
			h.Damaged = append(h.Damaged, DamagedRange{Partition: 0, From: 0, To: 2})
			h.begin(&Op{Client: "c1", Kind: OpFetch, Call: 80, Return: 90, Outcome: OK, Fetches: []FetchPart{
				{Partition: 0, From: 3, HighWatermark: 1, ErrorCode: kerr.OffsetOutOfRange.Code}}})
		}, "fetch-error"},
		{"time lookup answers an earlier time", func(h *History) {
			msCalls(h)
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 80, Return: 90, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: 16, Offset: 2, Answered: 15}}})
		}, "time-lookup"},
		{"time lookup skips an earlier match", func(h *History) {
			// p1#0 (offset 2) was produced at 15, p1#1 (offset 3) at 16:
			// the first record at or after time 15 is offset 2.
			msCalls(h)
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 80, Return: 90, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: 15, Offset: 3, Answered: 16}}})
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 100, Return: 110, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: -2, Offset: 0}}})
		}, "time-lookup"},
		{"time lookup answered right", func(h *History) {
			msCalls(h)
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 80, Return: 90, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: 15, Offset: 2, Answered: 15}}})
			h.begin(&Op{Client: "c1", Kind: OpListOffsets, Call: 100, Return: 110, Outcome: OK,
				Listed: []ListedOffset{{Partition: 0, Timestamp: -2, Offset: 0}}})
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := okHistory()
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

// msCalls moves the base history's produces to millisecond instants, so
// that their records' timestamps (the Call instant in ms) are 10, 15, 16.
func msCalls(h *History) {
	for _, op := range h.Ops {
		if op.Kind == OpProduce {
			op.Call, op.Return = op.Call*1e6, op.Return*1e6
		}
	}
}

// TestBatchRoundTrip checks the sim's batch codec against the core's
// validator and against itself.
func TestBatchRoundTrip(t *testing.T) {
	b := encodeBatch(batchSpec{values: []string{"a", "bb", strings.Repeat("c", 300)}, producerID: 7, producerEpoch: 0, baseSequence: 5, timestampMs: 1000})
	h, err := core.CheckBatch(b)
	if err != nil {
		t.Fatalf("CheckBatch: %v", err)
	}
	if h.RecordCount != 3 || h.ProducerID != 7 || h.BaseSequence != 5 {
		t.Fatalf("header %+v; want 3 records, producer 7, sequence 5", h)
	}
	core.SetBaseOffset(b, 40, 0)
	recs, err := decodeBatches(append(b, b[:30]...)) // a partial trailing batch is ignored
	if err != nil {
		t.Fatalf("decodeBatches: %v", err)
	}
	if len(recs) != 3 || recs[2].offset != 42 || recs[2].value != strings.Repeat("c", 300) {
		t.Fatalf("got %+v; want offsets 40-42 with the values", recs)
	}
	b[70] ^= 1
	if _, err := decodeBatches(b); err == nil {
		t.Fatalf("decodeBatches accepted a batch with a flipped bit")
	}
}

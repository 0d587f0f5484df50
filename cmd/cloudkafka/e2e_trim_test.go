package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestE2EDeleteRecords: kadm's DeleteRecords trims one partition to an
// offset and another to its high watermark; a consumer that starts from
// the earliest offset no longer sees the trimmed records, and neither
// does one after the broker is killed and restarted.
func TestE2EDeleteRecords(t *testing.T) {
	b := startBroker(t)
	const topic = "trim"
	createTopic(t, b, topic, 2)
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produce := func(p int32, n int, tag string) {
		t.Helper()
		for i := range n {
			r := &kgo.Record{Partition: p, Value: []byte(seqValue(tag, i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("producing to partition %d: %v", p, err)
			}
		}
	}
	produce(0, 10, "p0")
	produce(1, 5, "p1")

	adm := kadm.NewClient(newClient(t, b))
	os := make(kadm.Offsets)
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 6, LeaderEpoch: -1})
	os.Add(kadm.Offset{Topic: topic, Partition: 1, At: -1, LeaderEpoch: -1})
	resps, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	for p, want := range map[int32]int64{0: 6, 1: 5} {
		r, ok := resps.Lookup(topic, p)
		if !ok || r.Err != nil || r.LowWatermark != want {
			t.Errorf("DeleteRecords partition %d: got %+v; want low watermark %d", p, r, want)
		}
	}
	produce(1, 1, "after")

	check := func(when string) {
		t.Helper()
		got := consumeAll(t, b, topic, 30*time.Second)
		per := map[int32][]int64{}
		for _, r := range got {
			per[r.partition] = append(per[r.partition], r.offset)
		}
		if len(per[0]) != 4 || per[0][0] != 6 || len(per[1]) != 1 || per[1][0] != 5 {
			t.Errorf("%s: a consumer from the earliest offset read offsets %v; want 6-9 of partition 0 and 5 of partition 1", when, per)
		}
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatalf("%s: ListOffsets(earliest): %v", when, err)
		}
		for p, want := range map[int32]int64{0: 6, 1: 5} {
			if o, ok := starts.Lookup(topic, p); !ok || o.Err != nil || o.Offset != want {
				t.Errorf("%s: earliest offset of partition %d: got %+v; want %d", when, p, o, want)
			}
		}
	}
	check("after the trim")
	b.Kill()
	b.Restart()
	check("after a kill and restart")
}

package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSinkProduceAndFetch: an idempotent acks=all franz-go producer gets
// increasing offsets per partition from the sink, and a consumer reading
// from the start gets as many records back, each with the value
// produced (franz-go checks each served batch's CRC).
func TestSinkProduceAndFetch(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const partitions, records = 3, 30
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr()), kgo.DefaultProduceTopic("t"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, "t"); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	value := bytes.Repeat([]byte("v"), 100)
	next := map[int32]int64{}
	for i := 0; i < records; i++ {
		r, err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).First()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if r.Offset != next[r.Partition] {
			t.Errorf("record %d to partition %d: offset %d; want %d", i, r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition] = r.Offset + 1
	}
	assign := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		assign[p] = kgo.NewOffset().AtStart()
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(s.addr()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"t": assign}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[int32]int64{}
	for n := 0; n < records && ctx.Err() == nil; {
		fs := cons.PollFetches(ctx)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch partition %d: %v", fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if r.Offset != got[r.Partition] {
				t.Errorf("fetched partition %d offset %d; want %d", r.Partition, r.Offset, got[r.Partition])
			}
			got[r.Partition] = r.Offset + 1
			if !bytes.Equal(r.Value, value) {
				t.Errorf("fetched value of %d bytes; want the %d produced", len(r.Value), len(value))
			}
		})
	}
	for p := int32(0); p < partitions; p++ {
		if got[p] != next[p] {
			t.Errorf("partition %d: fetched up to %d; want %d", p, got[p], next[p])
		}
	}
}

// TestCountRecords: the sink's count of a batch it built itself, and the
// template value it takes from it.
func TestCountRecords(t *testing.T) {
	b := buildBatch([]byte("abc"), 7, 1)
	two := append(b.AppendTo(nil), b.AppendTo(nil)...)
	n, value, err := countRecords(two, true)
	if err != nil || n != 14 || string(value) != "abc" {
		t.Errorf("countRecords of two 7-record batches: got %d, %q, %v; want 14, \"abc\", nil", n, value, err)
	}
	if _, _, err := countRecords(two[:len(two)-1], false); err == nil {
		t.Errorf("countRecords of a truncated batch: got no error; want one")
	}
	b.Attributes = 2 // snappy
	if _, _, err := countRecords(b.AppendTo(nil), false); err != errCompressed {
		t.Errorf("countRecords of a compressed batch: got %v; want errCompressed", err)
	}
}

package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFetchSessionsFranzGo: franz-go, which fetches through fetch
// sessions (KIP-227) by default, consumes 50 partitions while a producer
// writes to three of them at a time, round after round, and gets every
// record exactly once; the broker's metrics show that it answered
// incremental fetches within sessions. kcat (librdkafka, which sends
// sessionless fetches) then reads the same 50 partitions from the start,
// exactly once too.
func TestFetchSessionsFranzGo(t *testing.T) {
	admin := freeAddr(t)
	b := startBroker(t, "admin.listener="+admin)
	const (
		topic      = "sessions"
		partitions = 50
		rounds     = 30
		perRound   = 3  // partitions written per round
		perPart    = 10 // records per partition per round
	)
	createTopic(t, b, topic, partitions)
	assign := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		assign[p] = kgo.NewOffset().AtStart()
	}
	consumer := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchMaxWait(200*time.Millisecond))
	producer := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	acked := map[int]pos{}
	var got []seen
	next := map[int32]int64{}
	seq := 0
	for round := 0; round < rounds; round++ {
		var rs []*kgo.Record
		for k := 0; k < perRound; k++ {
			p := int32((round*7 + k*17) % partitions)
			for i := 0; i < perPart; i++ {
				rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(seqValue(topic, seq))})
				seq++
			}
		}
		results := producer.ProduceSync(ctx, rs...)
		if err := results.FirstErr(); err != nil {
			t.Fatalf("round %d: produce: %v", round, err)
		}
		ends := map[int32]int64{}
		for _, r := range results {
			s, _ := parseSeq(topic, r.Record.Value)
			acked[s] = pos{r.Record.Partition, r.Record.Offset}
			ends[r.Record.Partition] = max(ends[r.Record.Partition], r.Record.Offset+1)
		}
		// Read this round's records before the next round writes, so
		// that most fetches find most partitions unchanged.
		for !caughtUp(next, ends) {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("round %d: consuming: got through %v; want %v", round, next, ends)
			}
			for _, fe := range fetches.Errors() {
				t.Fatalf("round %d: consuming partition %d: %v", round, fe.Partition, fe.Err)
			}
			fetches.EachRecord(func(r *kgo.Record) {
				got = append(got, seen{partition: r.Partition, offset: r.Offset, value: r.Value})
				next[r.Partition] = r.Offset + 1
			})
		}
	}
	// A last long poll: nothing more may come.
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	consumer.PollFetches(short).EachRecord(func(r *kgo.Record) {
		got = append(got, seen{partition: r.Partition, offset: r.Offset, value: r.Value})
	})
	cancelShort()
	checkLog(t, topic, got, expect{tag: topic, acked: acked, exactly: seq})

	m := metricValues(t, admin)
	incrementals := m["kafka_server_fetchsessioncache_incrementalfetches_total{}"]
	sessions := m["kafka_server_fetchsessioncache_numincrementalfetchsessions{}"]
	cached := m["kafka_server_fetchsessioncache_numincrementalfetchpartitionscached{}"]
	t.Logf("broker: %v incremental fetches answered, %v sessions of %v partitions", incrementals, sessions, cached)
	if incrementals < rounds || sessions < 1 || cached < partitions {
		t.Errorf("fetch session metrics: got %v incremental fetches, %v sessions, %v partitions cached; want at least %d, 1 and %d",
			incrementals, sessions, cached, rounds, partitions)
	}

	t.Run("kcat", func(t *testing.T) {
		_, err := exec.LookPath("kcat")
		requireTool(t, "kcat", err)
		out := runTool(t, 60*time.Second, "", "kcat", "-b", b.addr, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p %o %s\n")
		var read []seen
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var p int32
			var o int64
			if _, err := fmt.Sscanf(line, "%d %d", &p, &o); err != nil {
				t.Fatalf("kcat output line %q: got %v; want \"PARTITION OFFSET VALUE\"", line, err)
			}
			fields := strings.SplitN(line, " ", 3)
			read = append(read, seen{partition: p, offset: o, value: []byte(fields[len(fields)-1])})
		}
		checkLog(t, "kcat "+topic, read, expect{tag: topic, acked: acked, exactly: seq})
		after := metricValues(t, admin)["kafka_server_fetchsessioncache_numincrementalfetchsessions{}"]
		t.Logf("broker: %v sessions after kcat's (sessionless) consume", after)
	})
}

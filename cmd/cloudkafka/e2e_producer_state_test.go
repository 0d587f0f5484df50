package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestForgottenProducerStartsOver: a partition that forgot an idempotent
// producer (here max.producers.per.partition=1 evicts it whenever the
// other producer writes) answers its next batch UNKNOWN_PRODUCER_ID
// instead of taking it on trust; franz-go then starts over at sequence 0
// under a new producer epoch (KIP-360's local bump), and every record is
// written once, in order.
func TestForgottenProducerStartsOver(t *testing.T) {
	b := startBroker(t, "max.producers.per.partition=1")
	const topic, rounds = "forgotten", 10
	createTopic(t, b, topic, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs logCapture
	clients := []*kgo.Client{
		newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.WithLogger(&logs), kgo.MetadataMinAge(50*time.Millisecond)),
		newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.MetadataMinAge(50*time.Millisecond)),
	}
	for i := 0; i < rounds; i++ {
		for c, cl := range clients {
			value := fmt.Sprintf("c%d-%d", c, i)
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
				t.Fatalf("producing %s: %v", value, err)
			}
		}
	}
	if n := logs.count("UNKNOWN_PRODUCER_ID"); n == 0 {
		t.Errorf("client 0 never logged UNKNOWN_PRODUCER_ID; want it refused after each eviction")
	}

	// Read everything back with the producer id and epoch of each record.
	cl := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(250*time.Millisecond))
	var got []string
	type producer struct {
		id    int64
		epoch int16
	}
	producers := map[string]map[producer]bool{"c0": {}, "c1": {}}
	for len(got) < 2*rounds && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			got = append(got, v)
			producers[v[:2]][producer{r.ProducerID, r.ProducerEpoch}] = true
		})
	}
	var want []string
	for i := 0; i < rounds; i++ {
		want = append(want, fmt.Sprintf("c0-%d", i), fmt.Sprintf("c1-%d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records read: got %v; want %v (each once, in order)", got, want)
	}
	// Client 0 was forgotten before each of its batches after the first:
	// each went out under a new producer epoch.
	if n := len(producers["c0"]); n != rounds {
		t.Errorf("client 0's records carry %d producer ids and epochs %v; want %d (a new one after each UNKNOWN_PRODUCER_ID)", n, producers["c0"], rounds)
	}
}

// logCapture is a franz-go logger that keeps what the client logs at
// info level and above, for a test to look for a line.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (l *logCapture) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(level, " ", msg, " ", keyvals))
}

// count is how many lines mention s.
func (l *logCapture) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

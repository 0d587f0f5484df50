package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// partitionConsumer reads one partition with franz-go in the background
// and keeps, in order, the records it returned and the data losses it
// reported (KIP-320: after a change of leader epoch franz-go validates
// its position with OffsetForLeaderEpoch and reports kgo.ErrDataLoss
// when the new leader's log ends below it).
type partitionConsumer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	records []*kgo.Record
	losses  []lossAt
	errs    []error // other fetch errors, for the log
}

// lossAt is a reported data loss and how many records came before it.
type lossAt struct {
	loss   *kgo.ErrDataLoss
	before int
}

func startPartitionConsumer(t *testing.T, seed *broker, topic string, opts ...kgo.Opt) *partitionConsumer {
	opts = append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.MetadataMaxAge(2 * time.Second),
	}, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	c := &partitionConsumer{cl: newClient(t, seed, opts...), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			fs := c.cl.PollFetches(ctx)
			c.mu.Lock()
			for _, fe := range fs.Errors() {
				var dl *kgo.ErrDataLoss
				switch {
				case errors.As(fe.Err, &dl):
					c.losses = append(c.losses, lossAt{loss: dl, before: len(c.records)})
				case !errors.Is(fe.Err, context.Canceled):
					c.errs = append(c.errs, fmt.Errorf("%s-%d: %w", fe.Topic, fe.Partition, fe.Err))
				}
			}
			fs.EachRecord(func(r *kgo.Record) { c.records = append(c.records, r) })
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *partitionConsumer) stop() {
	c.cancel()
	<-c.done
}

// snapshot returns what was read and reported so far.
func (c *partitionConsumer) snapshot() ([]*kgo.Record, []lossAt, []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.records), slices.Clone(c.losses), slices.Clone(c.errs)
}

// readAt says what a record read was: its offset and value.
type readAt struct {
	offset int64
	value  string
}

func readsOf(rs []*kgo.Record) []readAt {
	out := []readAt{}
	for _, r := range rs {
		out = append(out, readAt{r.Offset, string(r.Value)})
	}
	return out
}

// seqReads are the reads of tag's sequence numbers 0..n-1 from offset
// first on.
func seqReads(tag string, n int, first int64) []readAt {
	out := []readAt{}
	for i := 0; i < n; i++ {
		out = append(out, readAt{first + int64(i), seqValue(tag, i)})
	}
	return out
}

// produceAcks1 writes tag's sequence numbers 0..n-1 to partition 0 of
// topic with acks=1 (no idempotence: it needs acks=all) and wants each
// at its offset from first on.
func produceAcks1(t *testing.T, seed *broker, topic, tag string, n int, first int64) {
	t.Helper()
	cl := newClient(t, seed, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(60*time.Second))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := 0; i < n; i++ { // one at a time, so that the offsets are in order
		r := seqRecord(tag, i)
		r.Partition = 0
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("producing %s %d with acks=1: %v", tag, i, err)
		}
		if r.Offset != first+int64(i) {
			t.Fatalf("%s %d acknowledged at offset %d; want %d", tag, i, r.Offset, first+int64(i))
		}
	}
}

// gatedDialer dials as usual, except that while closed is set it
// refuses connections to addr: a client cut off from one broker.
func gatedDialer(addr string, closed *atomic.Bool) func(context.Context, string, string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		if host == addr && closed.Load() {
			return nil, fmt.Errorf("dial %s: cut off by the test", host)
		}
		return d.DialContext(ctx, network, host)
	}
}

// TestUncleanTruncationDetected: a topic with replication factor 2 and
// unclean.leader.election.enable=true. Its follower B dies and leaves
// the ISR; the leader A takes records with acks=1 that B never gets, and
// a franz-go consumer reads them. A dies; B returns and is elected
// uncleanly (a new leader epoch; its log is shorter) and takes new
// records at the offsets A's lost records had, and past them: the
// consumer cannot reach B until then, so that its position is inside
// B's log when it asks. It validates its position against B with
// OffsetForLeaderEpoch (KIP-320): B answers that the epoch the consumer
// read at ends, in its log, where its own log diverged, so franz-go
// reports kgo.ErrDataLoss from exactly there (not from its reset
// offset, which is the log start here) and reads B's new records, none
// of the old ones again. A broker answering with its log end instead
// would have the consumer read on from offset 20 and miss B's first new
// records. When A returns it
// truncates its log by leader epoch to B's and rejoins the ISR; led by A
// again, the partition holds B's history.
func TestUncleanTruncationDetected(t *testing.T) {
	const sessionMs = 3000
	c := startCluster(t, sessionMs, "replica.lag.time.max.ms=2000")
	const topic = "trunc"
	adm := kadm.NewClient(newClient(t, c.brokers[0]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 1, 2, map[string]*string{"unclean.leader.election.enable": kmsg.StringPtr("true")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("creating %s: %v %v", topic, err, resp.Err)
	}
	var st partitionState
	waitFor(t, 15*time.Second, topic+"-0 led with two in-sync replicas", func() bool {
		st = partitionStates(t, c.brokers[0], topic)[0]
		return st.leader >= 0 && len(st.isr) == 2
	})
	idA := st.leader
	idB := st.isr[0]
	if idB == idA {
		idB = st.isr[1]
	}
	a, b := c.brokers[idA-1], c.brokers[idB-1]
	var seed *broker // the third broker: it runs throughout, and clients start from it
	for i, br := range c.brokers {
		if id := int32(i + 1); id != idA && id != idB {
			seed = br
		}
	}
	state := func() partitionState { return partitionStates(t, seed, topic)[0] }
	t.Logf("%s-0: leader A = broker %d, follower B = broker %d", topic, idA, idB)

	produceSeqs(t, seed, topic, "old", 0, 10) // acks=all: on A and B, offsets 0-9
	var cutOff atomic.Bool
	cons := startPartitionConsumer(t, seed, topic, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Dialer(gatedDialer(b.addr, &cutOff)))
	waitRead := func(n int, what string) {
		waitFor(t, 60*time.Second, what, func() bool {
			rs, _, _ := cons.snapshot()
			return len(rs) >= n
		})
	}
	waitRead(10, "the consumer to read old 0-9")

	b.Kill()
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+20*time.Second, "the ISR to shrink to A", func() bool {
		s := state()
		return s.leader == idA && slices.Equal(s.isr, []int32{idA})
	})
	produceAcks1(t, seed, topic, "lost", 10, 10) // only on A: offsets 10-19
	waitRead(20, "the consumer to read lost 0-9 from A")

	a.Kill()
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+20*time.Second, topic+"-0 to have no leader once A died", func() bool {
		return state().leader == -1
	})
	cutOff.Store(true) // B is dead: the consumer holds no connection to it
	b.Restart()
	waitServing(t, b)
	waitFor(t, 30*time.Second, "B to be elected uncleanly", func() bool {
		s := state()
		return s.leader == idB && slices.Equal(s.isr, []int32{idB})
	})
	produceAcks1(t, seed, topic, "new", 15, 10) // B's log ended at 10: 10-24
	if rs, losses, _ := cons.snapshot(); len(rs) != 20 || len(losses) != 0 {
		t.Fatalf("consumer cut off from B: read %d records, reported %d losses; want 20, none yet", len(rs), len(losses))
	}
	cutOff.Store(false)

	// Wait, bounded, for the loss and B's 15 new records; without the
	// loss (missed), the checks below say what was read instead.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rs, losses, _ := cons.snapshot(); len(losses) > 0 && len(rs) >= losses[0].before+15 || len(rs) >= 35 {
			break
		}
	}
	time.Sleep(time.Second) // anything more it would read (old records again) comes now
	records, losses, errs := cons.snapshot()
	cons.stop()
	t.Logf("other fetch errors the consumer saw (retried): %v", errs)
	if len(losses) != 1 {
		t.Fatalf("data losses reported: %d (%v); want 1; read %v", len(losses), losses, readsOf(records))
	}
	dl := losses[0].loss
	t.Logf("franz-go reported: %v", dl)
	if dl.Topic != topic || dl.Partition != 0 || dl.ConsumedTo != 20 || dl.ResetTo != 10 {
		t.Errorf("ErrDataLoss: topic %s partition %d, consumed to %d, reset to %d; want %s 0, 20, 10 (where B's log diverged from A's)",
			dl.Topic, dl.Partition, dl.ConsumedTo, dl.ResetTo, topic)
	}
	before, after := readsOf(records[:losses[0].before]), readsOf(records[losses[0].before:])
	if want := append(seqReads("old", 10, 0), seqReads("lost", 10, 10)...); !slices.Equal(before, want) {
		t.Errorf("read before the loss was reported: %v; want %v", before, want)
	}
	if want := seqReads("new", 15, 10); !slices.Equal(after, want) {
		t.Errorf("read after the loss was reported: %v; want %v (B's new records, nothing again)", after, want)
	}

	// A returns: it truncates its log to B's by leader epoch and
	// rejoins; led by A alone afterwards, the partition holds B's history.
	a.Restart()
	waitServing(t, a)
	waitFor(t, 60*time.Second, "A back in the ISR", func() bool {
		return len(state().isr) == 2
	})
	b.Kill()
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+20*time.Second, "A to lead alone", func() bool {
		s := state()
		return s.leader == idA && slices.Equal(s.isr, []int32{idA})
	})
	again := startPartitionConsumer(t, seed, topic)
	want := append(seqReads("old", 10, 0), seqReads("new", 15, 10)...)
	waitFor(t, 60*time.Second, "a new consumer to read A's log", func() bool {
		rs, _, _ := again.snapshot()
		return len(rs) >= len(want)
	})
	time.Sleep(time.Second)
	rs, _, _ := again.snapshot()
	if got := readsOf(rs); !slices.Equal(got, want) {
		t.Errorf("A's log after it rejoined and B died: %v; want %v (old 0-9, then B's new records)", got, want)
	}
}

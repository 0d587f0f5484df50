package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Pause stops the broker's process without ending it (SIGSTOP): its
// sessions and connections stay open but nothing answers.
func (b *broker) Pause() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		b.t.Fatalf("SIGSTOP: %v", err)
	}
}

// Resume continues a paused broker (SIGCONT).
func (b *broker) Resume() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		b.t.Fatalf("SIGCONT: %v", err)
	}
}

// partitionState is one partition as Metadata describes it.
type partitionState struct {
	leader int32
	isr    []int32
}

// partitionStates asks broker b for topic's partitions.
func partitionStates(t *testing.T, b *broker, topic string) map[int32]partitionState {
	md := metadataFrom(t, b, topic)
	out := map[int32]partitionState{}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return out
	}
	for _, p := range md.Topics[0].Partitions {
		if p.ErrorCode != 0 && p.ErrorCode != kerr.ReplicaNotAvailable.Code {
			out[p.Partition] = partitionState{leader: -1}
			continue
		}
		out[p.Partition] = partitionState{leader: p.Leader, isr: p.ISR}
	}
	return out
}

// streamer produces sequence numbers of tag to topic until stopped, one
// at a time in flight per partition window, with acks=all and
// idempotence (franz-go's defaults), and logs what was acknowledged and
// when each partition last took a record.
type streamer struct {
	cl    *kgo.Client
	acks  *ackLog
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	last  map[int32]time.Time // per partition, the last acknowledgement
	sent  int
	fails []error
}

func startStreamer(t *testing.T, b *broker, topic, tag string) *streamer {
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(2*time.Minute), kgo.ProducerLinger(0))
	s := &streamer{cl: cl, acks: newAckLog(), stop: make(chan struct{}), done: make(chan struct{}), last: map[int32]time.Time{}}
	go func() {
		defer close(s.done)
		ctx := context.Background()
		for seq := 0; ; seq++ {
			select {
			case <-s.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			promise := s.acks.promise(seq)
			cl.Produce(ctx, seqRecord(tag, seq), func(r *kgo.Record, err error) {
				promise(r, err)
				s.mu.Lock()
				defer s.mu.Unlock()
				if err == nil {
					s.last[r.Partition] = time.Now()
				} else {
					s.fails = append(s.fails, err)
				}
			})
			s.mu.Lock()
			s.sent = seq + 1
			s.mu.Unlock()
		}
	}()
	return s
}

// lastAck is when partition last took a record.
func (s *streamer) lastAck(partition int32) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[partition]
}

// finish stops producing, waits for every record's outcome, and returns
// the acknowledged ones.
func (s *streamer) finish(t *testing.T) map[int]pos {
	close(s.stop)
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.cl.Flush(ctx); err != nil {
		t.Fatalf("streamer flush: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 0 {
		t.Errorf("streamer: %d records failed, the first: %v", len(s.fails), s.fails[0])
	}
	acked, _ := s.acks.result()
	t.Logf("streamer: %d records sent, %d acknowledged", s.sent, len(acked))
	return acked
}

// waitAcceptsAfter waits until partition takes a record after since
// and returns how long that took.
func (s *streamer) waitAcceptsAfter(t *testing.T, partition int32, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	var took time.Duration
	waitFor(t, timeout, fmt.Sprintf("partition %d to take writes again", partition), func() bool {
		if last := s.lastAck(partition); last.After(since) {
			took = last.Sub(since)
			return true
		}
		return false
	})
	return took
}

// TestReplication: three brokers and a real ZooKeeper, a topic with
// replication factor 3 and min.insync.replicas 2, and an idempotent
// acks=all producer streaming while the partition leaders are (a)
// killed and restarted, (b) paused past the ZooKeeper session timeout
// and resumed, (c) stopped gracefully and restarted. Each time the
// partition takes writes again from another leader, the broker that
// came back catches up and rejoins the ISR, and a consumer reads every
// acknowledged record exactly once and in order. With one replica left
// acks=all fails with NOT_ENOUGH_REPLICAS and acks=1 still succeeds.
func TestReplication(t *testing.T) {
	const sessionMs = 3000
	c := startCluster(t, sessionMs, "replica.lag.time.max.ms=3000")
	seed := c.brokers[0]
	adm := kadm.NewClient(newClient(t, seed))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("2")}, "repl")
	if err != nil || resp.Err != nil {
		t.Fatalf("creating repl: %v %v", err, resp.Err)
	}
	waitFor(t, 15*time.Second, "every partition led with three in-sync replicas", func() bool {
		ps := partitionStates(t, seed, "repl")
		for p := int32(0); p < 3; p++ {
			if st, ok := ps[p]; !ok || st.leader < 0 || len(st.isr) != 3 {
				return false
			}
		}
		return true
	})
	byID := func(id int32) *broker { return c.brokers[id-1] }
	other := func(not ...int32) *broker { // a running broker to ask
		for i, b := range c.brokers {
			skip := false
			for _, n := range not {
				skip = skip || int32(i+1) == n
			}
			if !skip {
				return b
			}
		}
		return nil
	}
	rejoined := func(id int32) {
		waitFor(t, 60*time.Second, fmt.Sprintf("broker %d back in every ISR", id), func() bool {
			ps := partitionStates(t, other(id), "repl")
			for p := int32(0); p < 3; p++ {
				st := ps[p]
				in := false
				for _, r := range st.isr {
					in = in || r == id
				}
				if st.leader < 0 || !in {
					return false
				}
			}
			return true
		})
	}

	s := startStreamer(t, seed, "repl", "r")
	time.Sleep(time.Second)
	var failovers []time.Duration

	// (a) SIGKILL of partition 0's leader, then its restart.
	lead := partitionStates(t, seed, "repl")[0].leader
	victim := byID(lead)
	killedAt := time.Now()
	victim.Kill()
	// Bounds, not timings: a client blocked on the dead leader's
	// connection retries only after its request timeout.
	failovers = append(failovers, s.waitAcceptsAfter(t, 0, killedAt, time.Duration(sessionMs)*time.Millisecond+60*time.Second))
	// An answer the leader sent just before it died may be read after
	// killedAt: the killed broker comes back only once another leads
	// (its session expired, so its registration is gone too).
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+60*time.Second, fmt.Sprintf("partition 0 led by a broker other than %d", lead), func() bool {
		l := partitionStates(t, other(lead), "repl")[0].leader
		return l >= 0 && l != lead
	})
	victim.Restart()
	waitServing(t, victim)
	rejoined(lead)

	// (b) SIGSTOP of partition 1's leader past the session timeout: it is
	// replaced; resumed, it must not acknowledge anything and rejoins as
	// a follower.
	lead = partitionStates(t, other(), "repl")[1].leader
	t.Logf("pausing broker %d, leader of partition 1: %+v", lead, partitionStates(t, other(), "repl"))
	paused := byID(lead)
	pausedAt := time.Now()
	paused.Pause()
	failovers = append(failovers, s.waitAcceptsAfter(t, 1, pausedAt, time.Duration(sessionMs)*time.Millisecond+60*time.Second))
	time.Sleep(time.Duration(sessionMs) * time.Millisecond)
	paused.Resume()
	rejoined(lead)

	// (c) A graceful stop of partition 2's leader: its leadership moves
	// before it stops.
	lead = partitionStates(t, other(), "repl")[2].leader
	stopped := byID(lead)
	stoppedAt := time.Now()
	stopped.Stop()
	failovers = append(failovers, s.waitAcceptsAfter(t, 2, stoppedAt, 30*time.Second))
	stopped.Restart()
	waitServing(t, stopped)
	rejoined(lead)

	acked := s.finish(t)
	sort.Slice(failovers, func(i, j int) bool { return failovers[i] < failovers[j] })
	t.Logf("partitions took writes again after: %v", failovers)
	checkLog(t, "repl after the failovers", consumeAll(t, other(), "repl", 90*time.Second), expect{tag: "r", acked: acked})

	// One replica left: acks=all is refused, acks=1 is taken.
	first, second := c.brokers[1], c.brokers[2]
	first.Stop()
	second.Stop()
	last := c.brokers[0]
	waitFor(t, 60*time.Second, "broker 1 alone in the ISRs", func() bool {
		for _, st := range partitionStates(t, last, "repl") {
			if st.leader != 1 || len(st.isr) != 1 {
				return false
			}
		}
		return true
	})
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := newClient(t, last, kgo.DefaultProduceTopic("repl"), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(1),
		kgo.DisableIdempotentWrite(), kgo.RecordDeliveryTimeout(10*time.Second))
	if err := all.ProduceSync(ctx, seqRecord("x", 0)).FirstErr(); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Errorf("acks=all with one in-sync replica of min.insync.replicas 2: got %v; want NOT_ENOUGH_REPLICAS", err)
	}
	one := newClient(t, last, kgo.DefaultProduceTopic("repl"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := one.ProduceSync(ctx, seqRecord("x", 1)).FirstErr(); err != nil {
		t.Errorf("acks=1 with one in-sync replica: %v; want it taken", err)
	}
}

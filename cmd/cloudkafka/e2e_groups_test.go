package main

// End-to-end tests of consumer groups with franz-go: members join and leave
// while a stream is produced; every record must be consumed, no partition
// owned twice at once, and the committed offsets must end where consumption
// ended. A SIGKILL of the broker must lose no acknowledged commit, and the
// members that outlive it must go on in the replayed group. Around them:
// a member killed without leaving (session expiry), static members, a
// member stalled past the rebalance timeout (fenced), and the group admin
// APIs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFranzGoGroupEagerRange and TestFranzGoGroupCooperativeSticky run
// the same scenario under the two rebalance protocols.
func TestFranzGoGroupEagerRange(t *testing.T) {
	testFranzGoGroup(t, "range", kgo.RangeBalancer())
}

func TestFranzGoGroupCooperativeSticky(t *testing.T) {
	testFranzGoGroup(t, "cooperative-sticky", kgo.CooperativeStickyBalancer())
}

// testFranzGoGroup starts two members on a six-partition topic, streams
// records to it, adds a third member a quarter into the stream and closes
// the first at half. It checks, from the members' assignment callbacks,
// that no partition had two owners at once and that every record polled
// came from a partition its member owned; from DescribeGroups, that no
// stable generation assigns a partition twice; that every record was
// consumed; and that the committed offsets are the log end offsets.
func testFranzGoGroup(t *testing.T, name string, balancer kgo.GroupBalancer) {
	b := startBroker(t, groupOverrides...)
	topic, group := "kgo-"+name, "kgo-group-"+name
	const partitions, n = 6, 12_000
	createTopic(t, b, topic, partitions)

	own, got := newOwnership(), newConsumed()
	mon := watchGroup(t, b, group)
	m1 := startKgoMember(t, b, "m1", group, topic, balancer, own, got)
	m2 := startKgoMember(t, b, "m2", group, topic, balancer, own, got)
	waitFor(t, groupWait, "m1 and m2 to own the six partitions", func() bool { return own.settled(partitions, "m1", "m2") })

	acks := newAckLog()
	stream := streamRecords(t, b, topic, n, acks)
	waitFor(t, groupWait, "a quarter of the stream acknowledged", func() bool { return acks.count() >= n/4 })
	m3 := startKgoMember(t, b, "m3", group, topic, balancer, own, got)
	waitFor(t, groupWait, "m1, m2 and m3 to share the partitions", func() bool { return own.settled(partitions, "m1", "m2", "m3") })
	waitFor(t, groupWait, "half of the stream acknowledged", func() bool { return acks.count() >= n/2 })
	if acks.count() >= n {
		t.Logf("the stream ended before m1 left: the rebalances took longer than the stream")
	}
	m1.close(t)
	waitFor(t, groupWait, "m2 and m3 to own the six partitions", func() bool { return own.settled(partitions, "m2", "m3") })

	acked := stream.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the group to consume the whole stream", func() bool { return got.reached(ends) })
	m2.close(t)
	m3.close(t)
	mon.stop(t)

	own.check(t)
	dups := checkConsumed(t, topic, got.records(), topic, acked, nil, ends)
	checkCommitted(t, name, b, group, topic, ends)
	checkGroupEmpty(t, name, b, group)
	t.Logf("%s: %d records, %d consumed twice; %d distinct stable assignments observed", name, n, dups, mon.stableAssignments())
}

// kgoMember is one franz-go group member polling in its own goroutine.
type kgoMember struct {
	name   string
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	errs   []error // written by the poll goroutine, read after done
}

// startKgoMember starts a member that autocommits every 500 ms and, on
// revocation, commits everything it polled (BlockRebalanceOnPoll keeps
// rebalances out of the span between a poll and its processing).
func startKgoMember(t *testing.T, b *broker, name, group, topic string, balancer kgo.GroupBalancer, own *ownership, got *consumed, opts ...kgo.Opt) *kgoMember {
	t.Helper()
	parts := func(m map[string][]int32) []int32 { return m[topic] }
	cl := newClient(t, b, append([]kgo.Opt{
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.SessionTimeout(groupSessionTimeout),
		kgo.HeartbeatInterval(groupHeartbeat),
		kgo.RebalanceTimeout(groupRebalanceTimeout),
		kgo.FetchMaxWait(groupFetchMaxWait),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitInterval(500 * time.Millisecond),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			own.assigned(name, parts(m))
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			own.ended(name, parts(m), "revoked")
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Errorf("%s: committing on revoke: %v", name, err)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			own.ended(name, parts(m), "lost")
		}),
	}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	m := &kgoMember{name: name, cl: cl, cancel: cancel, done: make(chan struct{})}
	go m.poll(ctx, own, got)
	return m
}

func (m *kgoMember) poll(ctx context.Context, own *ownership, got *consumed) {
	defer close(m.done)
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := m.cl.PollRecords(pctx, 1000)
		cancel()
		at := time.Now()
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !errors.Is(err, kgo.ErrClientClosed) {
				m.errs = append(m.errs, fmt.Errorf("%s: poll: %s/%d: %w", m.name, topic, p, err))
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			own.polled(m.name, r.Partition, r.Offset, at)
			got.add(seen{partition: r.Partition, offset: r.Offset, key: r.Key, value: r.Value})
		})
		m.cl.AllowRebalance()
	}
}

// close stops polling and closes the client, which revokes (committing)
// and leaves the group; bounded.
func (m *kgoMember) close(t *testing.T) {
	t.Helper()
	m.cancel()
	select {
	case <-m.done:
	case <-time.After(groupWait):
		t.Fatalf("%s: the poll loop did not stop within %v", m.name, groupWait)
	}
	closed := make(chan struct{})
	go func() { m.cl.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(groupWait):
		t.Fatalf("%s: Close (commit and LeaveGroup) did not return within %v", m.name, groupWait)
	}
	for _, err := range m.errs {
		t.Errorf("%v", err)
	}
}

// stream produces records in the background at a steady pace.
type stream struct {
	acks   *ackLog
	done   chan error
	pauses chan chan struct{} // a pause request: closed when resumed
	paused chan struct{}      // one value each time the stream has paused
}

// streamRecords produces n records of tag topic, 60 every 20 ms, so that
// group changes happen while it runs; opts are extra producer options.
func streamRecords(t *testing.T, b *broker, topic string, n int, acks *ackLog, opts ...kgo.Opt) *stream {
	t.Helper()
	cl := newClient(t, b, append([]kgo.Opt{kgo.DefaultProduceTopic(topic)}, opts...)...)
	s := &stream{acks: acks, done: make(chan error, 1), pauses: make(chan chan struct{}), paused: make(chan struct{})}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := 0; seq < n; {
			for end := min(seq+60, n); seq < end; seq++ {
				cl.Produce(ctx, seqRecord(topic, seq), acks.promise(seq))
			}
			select {
			case <-tick.C:
			case resume := <-s.pauses:
				if err := cl.Flush(ctx); err != nil {
					s.done <- err
					return
				}
				s.paused <- struct{}{}
				select {
				case <-resume:
				case <-ctx.Done():
				}
			case <-ctx.Done():
			}
		}
		s.done <- cl.Flush(ctx)
	}()
	return s
}

// pause stops the stream with every record so far acknowledged; closing
// the returned channel resumes it. Bounded.
func (s *stream) pause(t *testing.T) chan struct{} {
	t.Helper()
	resume := make(chan struct{})
	select {
	case s.pauses <- resume:
	case <-time.After(groupWait):
		t.Fatalf("stream: did not take a pause within %v (ended already?)", groupWait)
	}
	select {
	case <-s.paused:
	case <-time.After(groupWait):
		t.Fatalf("stream: did not flush for a pause within %v", groupWait)
	}
	return resume
}

// wait waits, bounded, for the stream's end and returns its
// acknowledgements; every record must have been acknowledged.
func (s *stream) wait(t *testing.T) map[int]pos {
	t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("stream: flush: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("stream: not done within 90s")
	}
	acked, err := s.acks.result()
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	return acked
}

// groupWatch polls DescribeGroups every 100 ms and checks that no Stable
// generation assigns a partition to two members.
type groupWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	errs   []string
	stable map[int]bool    // member counts seen in Stable states, for the log
	seen   map[string]bool // distinct Stable assignments, for the log
}

func watchGroup(t *testing.T, b *broker, group string) *groupWatch {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithCancel(context.Background())
	w := &groupWatch{cancel: cancel, done: make(chan struct{}), stable: map[int]bool{}, seen: map[string]bool{}}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			described, err := adm.DescribeGroups(dctx, group)
			dcancel()
			if err == nil {
				if d, ok := described[group]; ok {
					w.observe(d)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *groupWatch) observe(d kadm.DescribedGroup) {
	if d.Err != nil || d.State != "Stable" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	owner := map[string]string{}
	var sig []string
	for _, m := range d.Members {
		a, ok := m.Assigned.AsConsumer()
		if !ok {
			w.errs = append(w.errs, fmt.Sprintf("DescribeGroups: Stable member %s: got an assignment that does not parse as a consumer assignment", m.MemberID))
			continue
		}
		for _, tp := range a.Topics {
			for _, p := range tp.Partitions {
				k := fmt.Sprintf("%s/%d", tp.Topic, p)
				if prev, ok := owner[k]; ok {
					w.errs = append(w.errs, fmt.Sprintf("DescribeGroups: Stable: partition %s assigned to %s and %s", k, prev, m.MemberID))
				}
				owner[k] = m.MemberID
			}
		}
		sig = append(sig, m.MemberID)
	}
	w.stable[len(d.Members)] = true
	w.seen[fmt.Sprint(sig, owner)] = true
}

func (w *groupWatch) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("DescribeGroups watcher did not stop within 10s")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errs {
		t.Errorf("%s", e)
	}
	if len(w.stable) == 0 {
		t.Errorf("DescribeGroups: never saw the group Stable; want it Stable between rebalances")
	}
}

func (w *groupWatch) stableAssignments() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// TestGroupCommitsSurviveCrash streams records while a group member
// consumes them and commits after every poll, SIGKILLs the broker while
// commits are in flight, and restarts it. Every acknowledged commit must
// have survived: the committed offsets are no lower than the last
// acknowledged ones, no higher than the last attempted ones, and within the
// log. A new member of the group then starts exactly at the committed
// offsets.
func TestGroupCommitsSurviveCrash(t *testing.T) {
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions, n = "group-crash", "group-crash", 3, 200_000
	createTopic(t, b, topic, partitions)

	acks := newAckLog()
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(2000), kgo.RecordDeliveryTimeout(20*time.Second))
	if err != nil {
		t.Fatalf("creating the producer: %v", err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for seq := 0; seq < n && pctx.Err() == nil; seq++ {
			prod.Produce(pctx, seqRecord(topic, seq), acks.promise(seq))
			if seq%200 == 199 {
				time.Sleep(5 * time.Millisecond) // a stream, not a burst
			}
		}
	}()

	a := startCommitter(t, b, group, topic)
	waitFor(t, groupWait, "100 acknowledged commits", func() bool { return a.commitsAcked() >= 100 })
	b.Kill()
	a.stop(t)
	pcancel()
	<-produced
	closeBounded(t, "the producer after SIGKILL", prod)
	lastAcked, attempted := a.offsets()
	b.Restart()

	ends := endOffsets(t, b, topic)
	committed := committedOffsets(t, b, group, topic)
	checkCommitsKept(t, partitions, committed, lastAcked, attempted, ends)
	t.Logf("before SIGKILL: %d commits acknowledged, last %v, attempted up to %v; after restart: committed %v, log ends %v",
		a.commitsAcked(), lastAcked, attempted, committed, ends)

	// The member's client survived the crash; closing it now leaves the
	// replayed group, and it commits nothing more.
	closeBounded(t, "the committing member", a.cl)
	if after := committedOffsets(t, b, group, topic); fmt.Sprint(after) != fmt.Sprint(committed) {
		t.Fatalf("committed offsets changed while the member left: got %v; want %v", after, committed)
	}

	// New records after the restart, so that every partition has some past
	// its committed offset; a new member must start exactly there.
	more := produceSeqs(t, b, topic, topic+"-after", 0, 600)
	ends2 := endOffsets(t, b, topic)
	got := newConsumed()
	own := newOwnership()
	bm := startKgoMember(t, b, "b", group, topic, kgo.RangeBalancer(), own, got)
	waitFor(t, groupWait, "the new member to consume up to the log end", func() bool { return got.reached(ends2) })
	bm.close(t)
	checkAfterCrash(t, got.records(), topic, committed, ends2, len(more))
	checkCommitted(t, "after the new member", b, group, topic, ends2)
	checkGroupEmpty(t, "after the new member", b, group)
}

// checkCommitsKept checks the committed offsets after a crash against the
// commits before it: no lower than the last acknowledged, no higher than
// the last attempted, and within the log.
func checkCommitsKept(t *testing.T, partitions int32, committed, lastAcked, attempted, ends map[int32]int64) {
	t.Helper()
	for p := int32(0); p < partitions; p++ {
		c, ok := committed[p]
		switch {
		case lastAcked[p] > 0 && !ok:
			t.Errorf("partition %d after restart: got no committed offset; want at least %d (acknowledged before SIGKILL)", p, lastAcked[p])
		case c < lastAcked[p]:
			t.Errorf("partition %d after restart: got committed offset %d; want at least %d (acknowledged before SIGKILL)", p, c, lastAcked[p])
		case c > attempted[p]:
			t.Errorf("partition %d after restart: got committed offset %d; want at most %d (the last attempted)", p, c, attempted[p])
		case c > ends[p]:
			t.Errorf("partition %d after restart: got committed offset %d; want at most the log end %d", p, c, ends[p])
		}
	}
}

// checkAfterCrash checks the new member's records: each partition's first
// at the committed offset, offsets from there to ends without a gap, and
// every record produced after the restart.
func checkAfterCrash(t *testing.T, got []seen, topic string, committed, ends map[int32]int64, after int) {
	t.Helper()
	p := &problems{t: t}
	first := map[int32]int64{}
	for _, r := range got {
		if _, ok := first[r.partition]; !ok {
			first[r.partition] = r.offset
		}
	}
	for _, part := range sortedParts(ends) {
		if first[part] != committed[part] {
			p.add("partition %d: the new member started at offset %d; want the committed offset %d", part, first[part], committed[part])
		}
	}
	next := map[int32]int64{}
	for k, v := range committed {
		next[k] = v
	}
	fresh := 0
	for _, r := range got {
		if r.offset < next[r.partition] {
			continue // at-least-once: a re-read after a rebalance
		}
		if r.offset != next[r.partition] {
			p.add("after the crash: partition %d: got offset %d; want %d (no gap)", r.partition, r.offset, next[r.partition])
		}
		next[r.partition] = r.offset + 1
		if _, ok := parseSeq(topic+"-after", r.value); ok {
			fresh++
		} else if _, ok := parseSeq(topic, r.value); !ok {
			p.add("after the crash: partition %d offset %d: got value %.60q; want one of this test's records", r.partition, r.offset, r.value)
		}
	}
	if fmt.Sprint(next) != fmt.Sprint(ends) {
		p.add("after the crash: consumed up to %v; want the log ends %v", next, ends)
	}
	if fresh != after {
		p.add("after the crash: got %d of the records produced after the restart; want %d", fresh, after)
	}
	p.done("after the crash")
}

func closeBounded(t *testing.T, what string, cl *kgo.Client) {
	t.Helper()
	closed := make(chan struct{})
	go func() { cl.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(groupWait):
		t.Fatalf("closing %s: still blocked after %v", what, groupWait)
	}
}

// committer is a group member that commits what it polled after every
// poll, synchronously, and records which commits the broker acknowledged.
type committer struct {
	cl     *kgo.Client
	topic  string
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	acked     int
	lastAcked map[int32]int64 // the highest acknowledged commit per partition
	attempted map[int32]int64 // the highest commit sent per partition
	errs      []error
}

func startCommitter(t *testing.T, b *broker, group, topic string) *committer {
	t.Helper()
	cl := newClient(t, b,
		kgo.ClientID("committer"),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.SessionTimeout(groupSessionTimeout),
		kgo.HeartbeatInterval(groupHeartbeat),
		kgo.RebalanceTimeout(groupRebalanceTimeout),
		kgo.FetchMaxWait(groupFetchMaxWait),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// small polls: many commits, behind the log end
		kgo.FetchMaxBytes(4<<10),
		kgo.FetchMaxPartitionBytes(1<<10),
	)
	ctx, cancel := context.WithCancel(context.Background())
	c := &committer{cl: cl, topic: topic, cancel: cancel, done: make(chan struct{}),
		lastAcked: map[int32]int64{}, attempted: map[int32]int64{}}
	go c.run(ctx)
	return c
}

func (c *committer) run(ctx context.Context) {
	defer close(c.done)
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := c.cl.PollFetches(pctx)
		cancel()
		next := map[int32]kgo.EpochOffset{}
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		})
		if len(next) == 0 || ctx.Err() != nil {
			continue
		}
		c.mu.Lock()
		for p, eo := range next {
			c.attempted[p] = max(c.attempted[p], eo.Offset)
		}
		c.mu.Unlock()
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		c.cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{c.topic: next}, c.onCommitted)
		ccancel()
		time.Sleep(10 * time.Millisecond) // slower than the producer: the commits trail the log end
	}
}

func (c *committer) onCommitted(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err != nil {
		return // the broker may be gone: not acknowledged
	}
	sent := map[int32]int64{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			sent[rp.Partition] = rp.Offset
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := false
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				continue // a rebalance or a dying broker: not acknowledged
			}
			c.lastAcked[rp.Partition] = max(c.lastAcked[rp.Partition], sent[rp.Partition])
			ok = true
		}
	}
	if ok {
		c.acked++
	}
}

func (c *committer) commitsAcked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

func (c *committer) offsets() (lastAcked, attempted map[int32]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lastAcked, attempted = map[int32]int64{}, map[int32]int64{}
	for k, v := range c.lastAcked {
		lastAcked[k] = v
	}
	for k, v := range c.attempted {
		attempted[k] = v
	}
	return lastAcked, attempted
}

// stop ends the poll-and-commit loop, bounded; the client stays open.
func (c *committer) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(groupWait):
		t.Fatalf("committer: the loop did not stop within %v", groupWait)
	}
}

// TestGroupMemberKilled runs a group of a kcat member (librdkafka) and a
// franz-go member sharing the range protocol, SIGKILLs kcat mid-stream,
// and checks that the coordinator expires its session and hands all the
// partitions to the franz-go member, which then consumes everything: kcat
// commits nothing, so its partitions restart from the beginning.
func TestGroupMemberKilled(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions, n = "group-killed", "group-killed", 6, 12_000
	createTopic(t, b, topic, partitions)

	victim := exec.Command("kcat", "-b", b.addr, "-G", group, "-q", "-f", "%p %o\n",
		"-X", "enable.auto.commit=false", "-X", "auto.offset.reset=earliest",
		"-X", "session.timeout.ms=2000", "-X", "heartbeat.interval.ms=250", topic)
	var stderr bytes.Buffer
	victim.Stdout, victim.Stderr = io.Discard, &stderr
	if err := victim.Start(); err != nil {
		t.Fatalf("starting kcat: %v", err)
	}
	exited := make(chan struct{})
	go func() { victim.Wait(); close(exited) }()
	t.Cleanup(func() {
		victim.Process.Kill()
		<-exited
	})

	own, got := newOwnership(), newConsumed()
	m := startKgoMember(t, b, "survivor", group, topic, kgo.RangeBalancer(), own, got)
	waitFor(t, groupWait, "kcat and the franz-go member to share the partitions", func() bool {
		n := len(own.owners())
		return n > 0 && n < partitions
	})
	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks)
	waitFor(t, groupWait, "a third of the stream acknowledged", func() bool { return acks.count() >= n/3 })
	victim.Process.Signal(syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("kcat did not die within 10s of SIGKILL")
	}
	killed := time.Now()
	waitFor(t, groupWait, "the franz-go member to own every partition after kcat's session expired", func() bool {
		return own.settled(partitions, "survivor")
	})
	t.Logf("the survivor owned every partition %v after SIGKILL of kcat (session timeout 2s)", time.Since(killed).Round(time.Millisecond))

	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the survivor to consume the whole stream", func() bool { return got.reached(ends) })
	m.close(t)
	own.check(t)
	checkConsumed(t, topic, got.records(), topic, acked, nil, ends)
	checkCommitted(t, "after kcat's death", b, group, topic, ends)
	checkGroupEmpty(t, "after kcat's death", b, group)
	if t.Failed() {
		t.Logf("kcat stderr:\n%s", stderr.String())
	}
}

// TestGroupSurvivesBrokerCrash runs two franz-go members while records
// stream in, SIGKILLs the broker mid-stream and restarts it. The members
// keep running: they find the coordinator again once it has replayed the
// group from __consumer_offsets, and must go on from their committed
// offsets. Every acknowledged record must be consumed, no partition owned
// twice at once, and the commits must end at the log end.
func TestGroupSurvivesBrokerCrash(t *testing.T) {
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions, n = "group-survives", "group-survives", 6, 12_000
	createTopic(t, b, topic, partitions)
	own, got := newOwnership(), newConsumed()
	m1 := startKgoMember(t, b, "m1", group, topic, kgo.RangeBalancer(), own, got)
	m2 := startKgoMember(t, b, "m2", group, topic, kgo.RangeBalancer(), own, got)
	waitFor(t, groupWait, "m1 and m2 to own the six partitions", func() bool { return own.settled(partitions, "m1", "m2") })

	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks, kgo.RecordDeliveryTimeout(30*time.Second))
	waitFor(t, groupWait, "a third of the stream acknowledged", func() bool { return acks.count() >= n/3 })
	b.Kill()
	b.Restart()
	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the group to consume the whole stream after the restart", func() bool { return got.reached(ends) })
	waitFor(t, groupWait, "m1 and m2 to own the six partitions after the restart", func() bool { return own.settled(partitions, "m1", "m2") })
	m1.close(t)
	m2.close(t)
	own.check(t)
	dups := checkConsumed(t, topic, got.records(), topic, acked, nil, ends)
	checkCommitted(t, "after the crash", b, group, topic, ends)
	checkGroupEmpty(t, "after the crash", b, group)
	t.Logf("%d records, %d consumed twice", n, dups)
}

// TestFranzGoGroupStaticMembers runs two static members (KIP-345
// group.instance.id) while records stream in. One closes, which for a
// static member sends no LeaveGroup, and comes back under the same
// instance id within its session: the coordinator must hand it its
// partitions again without a rebalance (the other member keeps its
// partitions throughout) and it must go on from its committed offsets.
func TestFranzGoGroupStaticMembers(t *testing.T) {
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions, n = "kgo-static", "kgo-static", 6, 12_000
	createTopic(t, b, topic, partitions)
	own, got := newOwnership(), newConsumed()
	// A session long enough that s2's restart, however slow the machine,
	// falls inside it: within its session a static member comes back
	// without a rebalance.
	static := func(name string) *kgoMember {
		return startKgoMember(t, b, name, group, topic, kgo.RangeBalancer(), own, got, kgo.InstanceID(name),
			kgo.SessionTimeout(5*groupSessionTimeout))
	}
	s1, s2 := static("s1"), static("s2")
	waitFor(t, groupWait, "s1 and s2 to own the six partitions", func() bool { return own.settled(partitions, "s1", "s2") })
	before := own.owners()

	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks)
	waitFor(t, groupWait, "a third of the stream acknowledged", func() bool { return acks.count() >= n/3 })
	left := time.Now()
	s2.close(t)
	s2 = static("s2")
	waitFor(t, groupWait, "s2 to own its partitions again", func() bool { return own.settled(partitions, "s1", "s2") })
	if after := own.owners(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("owners after s2 came back: got %v; want %v, as before it left", after, before)
	}
	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the group to consume the whole stream", func() bool { return got.reached(ends) })
	own.mu.Lock()
	for _, sp := range own.spans {
		if sp.member == "s1" && sp.to.After(left) {
			t.Errorf("s1 lost partition %d at %.3fs while s2 came back; want no rebalance", sp.partition, sp.to.Sub(own.start).Seconds())
		}
	}
	own.mu.Unlock()
	s1.close(t)
	s2.close(t)
	own.check(t)
	dups := checkConsumed(t, topic, got.records(), topic, acked, nil, ends)
	checkCommitted(t, "static members", b, group, topic, ends)
	t.Logf("%d records, %d consumed twice", n, dups)
}

// TestGroupAdmin drives DeleteGroups and OffsetDelete with kadm around a
// franz-go group, and restarts the broker after each deletion: the
// tombstones in __consumer_offsets must keep what was deleted deleted.
// While a member is subscribed, the group cannot be deleted
// (NON_EMPTY_GROUP) nor its offsets of the subscribed topic
// (GROUP_SUBSCRIBED_TO_TOPIC).
func TestGroupAdmin(t *testing.T) {
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions = "group-admin", "group-admin", 3
	createTopic(t, b, topic, partitions)
	produceSeqs(t, b, topic, topic, 0, 300)
	ends := endOffsets(t, b, topic)
	own, got := newOwnership(), newConsumed()
	m := startKgoMember(t, b, "m", group, topic, kgo.RangeBalancer(), own, got)
	waitFor(t, groupWait, "the member to consume every partition", func() bool { return got.reached(ends) })

	adm := func() *kadm.Client { return kadm.NewClient(newClient(t, b)) }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r, _ := adm().DeleteGroup(ctx, group); !errors.Is(r.Err, kerr.NonEmptyGroup) {
		t.Errorf("DeleteGroups of a group with a member: got %v; want NON_EMPTY_GROUP", r.Err)
	}
	first := kadm.TopicsSet{topic: {0: {}}}
	if r, err := adm().DeleteOffsets(ctx, group, first); err != nil || !errors.Is(r[topic][0], kerr.GroupSubscribedToTopic) {
		t.Errorf("OffsetDelete of a subscribed topic: got %v, %v; want GROUP_SUBSCRIBED_TO_TOPIC", err, r)
	}
	m.close(t)
	checkCommitted(t, "after the member left", b, group, topic, ends)

	if r, err := adm().DeleteOffsets(ctx, group, first); err != nil || r[topic][0] != nil {
		t.Fatalf("OffsetDelete of partition 0 in the Empty group: got %v, %v; want success", err, r)
	}
	rest := map[int32]int64{1: ends[1], 2: ends[2]}
	checkCommitted(t, "after OffsetDelete", b, group, topic, rest)
	b.Stop()
	b.Restart()
	checkCommitted(t, "after OffsetDelete and a restart", b, group, topic, rest)

	if r, err := adm().DeleteGroup(ctx, group); err != nil || r.Err != nil {
		t.Fatalf("DeleteGroups of the Empty group: got %v, %v; want success", err, r.Err)
	}
	checkGroupGone(t, "after DeleteGroups", b, group, topic)
	b.Kill()
	b.Restart()
	checkGroupGone(t, "after DeleteGroups and a SIGKILL", b, group, topic)
}

// checkGroupGone checks that group is listed nowhere and has no offsets.
func checkGroupGone(t *testing.T, what string, b *broker, group, topic string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("%s: ListGroups: %v", what, err)
	}
	if l, ok := listed[group]; ok {
		t.Errorf("%s: ListGroups: got %+v; want %s not listed", what, l, group)
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("%s: DescribeGroups: %v", what, err)
	}
	if d := described[group]; d.State != "Dead" || len(d.Members) != 0 {
		t.Errorf("%s: DescribeGroups: got state %q with %d members; want Dead", what, d.State, len(d.Members))
	}
	if c := committedOffsets(t, b, group, topic); len(c) != 0 {
		t.Errorf("%s: committed offsets: got %v; want none", what, c)
	}
}

// TestGroupFencesStalledMember stalls a franz-go member inside its poll
// (BlockRebalanceOnPoll keeps it from rejoining) past the rebalance
// timeout while a second member joins. The coordinator must complete the
// rebalance without it, giving the second member every partition; refuse
// the stalled member's commit under its old member id and generation, so
// that the committed offsets stay as they were; and take it back once it
// rejoins.
func TestGroupFencesStalledMember(t *testing.T) {
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions = "group-stalled", "group-stalled", 2
	createTopic(t, b, topic, partitions)
	produceSeqs(t, b, topic, topic, 0, 1000)
	own := newOwnership()
	member := func(name string) *kgo.Client {
		return newClient(t, b, kgo.ClientID(name), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.Balancers(kgo.RangeBalancer()), kgo.SessionTimeout(groupSessionTimeout), kgo.HeartbeatInterval(groupHeartbeat),
			kgo.RebalanceTimeout(2*time.Second), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.assigned(name, m[topic]) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.ended(name, m[topic], "revoked") }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { own.ended(name, m[topic], "lost") }))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stalled := member("stalled")
	if fs := stalled.PollRecords(ctx, 10); fs.NumRecords() == 0 {
		t.Fatalf("the first member's first poll: got no records; want some (errors %v)", fs.Errors())
	}
	// The poll is held: no AllowRebalance until the end.
	oldID, oldGen := stalled.GroupMetadata()
	other := member("other")
	polling := make(chan struct{})
	go func() {
		defer close(polling)
		for ctx.Err() == nil {
			other.PollRecords(ctx, 100)
			other.AllowRebalance()
		}
	}()
	waitFor(t, groupWait, "the second member to own both partitions without the stalled one", func() bool {
		o := own.owners()
		return slices.Contains(o[0], "other") && slices.Contains(o[1], "other")
	})
	before := committedOffsets(t, b, group, topic)
	if code := commitAs(t, stalled, group, topic, oldID, oldGen); code != kerr.UnknownMemberID.Code && code != kerr.IllegalGeneration.Code {
		t.Errorf("a commit from the removed member (generation %d): got %v; want UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION", oldGen, kerr.ErrorForCode(code))
	}
	if after := committedOffsets(t, b, group, topic); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("committed offsets after the removed member's commit: got %v; want %v", after, before)
	}
	stalled.AllowRebalance()
	waitFor(t, groupWait, "the stalled member to rejoin and share the partitions", func() bool { return own.settled(partitions, "stalled", "other") })
	cancel()
	<-polling
}

// commitAs commits offset 999 of partition 0 as member id of generation
// gen, through cl, and returns the partition's error code.
func commitAs(t *testing.T, cl *kgo.Client, group, topic, id string, gen int32) int16 {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, id, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, 999
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("OffsetCommit as %s: %v", id, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("OffsetCommit as %s: got %d topics; want one with one partition", id, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

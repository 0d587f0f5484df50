package main

// Consumer groups with the other production clients: sarama's
// ConsumerGroup, kafka-go's Reader with a GroupID, kcat's balanced consumer
// (librdkafka), confluent-kafka-python and kafka-python. Two members of
// each consume a stream as a group through a join and a leave, and commit;
// a later member of the same group must start exactly at the committed
// offsets. Each member reports its assignment changes to an ownership
// tracker, which must find no partition owned by two members at once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	segkafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupMember is one member of a group under test, consuming in the
// background; stop closes it (committing what it consumed and leaving the
// group), bounded.
type groupMember interface{ stop(t *testing.T) }

// startMember starts a member named name of group on topic with one client
// library; it adds what it consumes to got.
type startMember func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember

// ownedMember returns a client library's startMember whose members report
// their assignment changes, and the records they consume, to own.
type ownedMember func(own *ownership) startMember

// groupClient is one client library under test.
type groupClient struct {
	name  string
	start ownedMember
	// quiesce: the first member leaves only once the stream is paused and
	// the group has consumed everything. kcat needs it: its consumer
	// loop drops a record polled (its offset already stored for the
	// commit) when a signal arrives before it prints it.
	quiesce bool
}

// testGroupClient runs a client's group on a four-partition topic, twice.
// The first run starts one member, streams 12,000 records, starts a second
// member a quarter into the stream and, once the second has consumed,
// stops the first at half; the stream then ends and the second member
// catches up. Every record must be consumed at least once, the committed
// offsets must end at the log end, and the group must be Empty once its
// members left. The second run starts one member after 500 more records:
// it must consume exactly those (starting at the committed offsets, not
// earlier and not later) and commit up to the new log end. In both runs
// no partition may have two owners at once.
func testGroupClient(t *testing.T, c groupClient) {
	name := c.name
	b := startBroker(t, groupOverrides...)
	topic, group := "group-"+name, "group-"+name
	const partitions, n1, n2 = 4, 12_000, 500
	createTopic(t, b, topic, partitions)

	began := time.Now()
	own := newOwnership()
	start := c.start(own)
	got1, got2 := newConsumed(), newConsumed()
	m1 := start(t, b, group, topic, name+"-1", got1)
	acks := newAckLog()
	s := streamRecords(t, b, topic, n1, acks, kgo.ProducerBatchCompression(kgo.NoCompression()))
	waitFor(t, groupWait, "a quarter of the stream acknowledged", func() bool { return acks.count() >= n1/4 })
	m2 := start(t, b, group, topic, name+"-2", got2)
	waitFor(t, groupWait, "half of the stream acknowledged and the second member consuming", func() bool {
		return acks.count() >= n1/2 && got2.count() > 0
	})
	if acks.count() >= n1 {
		t.Logf("the stream ended before the first member left")
	}
	if c.quiesce {
		resume := s.pause(t)
		ends := endOffsets(t, b, topic)
		waitFor(t, groupWait, "the members to consume everything before the pause", func() bool { return reachedTogether(ends, got1, got2) })
		m1.stop(t)
		close(resume)
	} else {
		m1.stop(t)
	}
	acked1 := s.wait(t)
	ends1 := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the members to consume up to the log end", func() bool { return reachedTogether(ends1, got1, got2) })
	m2.stop(t)
	own.check(t)
	own.checkAssigned(t, name+"-1", name+"-2")
	got := append(got1.records(), got2.records()...)
	dups := checkConsumed(t, name+" first run", got, topic, acked1, nil, ends1)
	checkCommitted(t, name+" first run", b, group, topic, ends1)
	checkGroupEmpty(t, name+" first run", b, group)
	t.Logf("%s first run: %d records, %d by the first member, %d by the second, %d consumed twice, %v",
		name, n1, got1.count(), got2.count(), dups, time.Since(began).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	acked2 := produceSeqs(t, b, topic, topic, n1, n2)
	ends2 := endOffsets(t, b, topic)
	began = time.Now()
	own = newOwnership()
	got3 := newConsumed()
	m3 := c.start(own)(t, b, group, topic, name+"-3", got3)
	waitFor(t, groupWait, "the third member to consume up to the log end", func() bool { return got3.reached(ends2) })
	m3.stop(t)
	own.check(t)
	own.checkAssigned(t, name+"-3")
	dups = checkConsumed(t, name+" second run", got3.records(), topic, mergeAcked(acked1, acked2), ends1, ends2)
	checkCommitted(t, name+" second run", b, group, topic, ends2)
	checkGroupEmpty(t, name+" second run", b, group)
	t.Logf("%s second run: %d records, %d consumed twice, %v", name, got3.count(), dups, time.Since(began).Round(time.Millisecond))
}

// reachedTogether reports whether the members together consumed every
// partition up to ends.
func reachedTogether(ends map[int32]int64, cs ...*consumed) bool {
	next := map[int32]int64{}
	for _, c := range cs {
		c.mu.Lock()
		for p, o := range c.next {
			next[p] = max(next[p], o)
		}
		c.mu.Unlock()
	}
	return caughtUp(next, ends)
}

// TestGroupClientsSurviveBrokerCrash runs two members of each client's
// group while records stream in, SIGKILLs the broker mid-stream and
// restarts it. The members keep running and must go on from the replayed
// group and their committed offsets: no partition owned by two members at
// once, the committed offsets not behind those committed before the kill,
// nothing below those consumed again after it, every acknowledged record
// consumed, the commits at the log end, the group Empty once they left.
// kcat exits by design once all its broker connections are down: its
// case, TestKcatGroupResumesAfterBrokerCrash, starts it again.
func TestGroupClientsSurviveBrokerCrash(t *testing.T) {
	clients := []struct {
		name  string
		start func(t *testing.T) ownedMember
	}{
		{"sarama", func(*testing.T) ownedMember { return saramaOwned }},
		{"kafkago", func(*testing.T) ownedMember { return kafkaGoOwned }},
		{"confluent-python", func(t *testing.T) ownedMember {
			py, err := pythonWithConfluent()
			requireTool(t, "python3 with confluent_kafka", err)
			return pythonOwned(py, confluentGroupScript)
		}},
		{"kafka-python", func(t *testing.T) ownedMember {
			py, err := pythonWithModule("kafka")
			requireTool(t, "python3 with kafka (kafka-python)", err)
			return pythonOwned(py, kafkaPythonGroupScript)
		}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testGroupClientCrash(t, c.name, c.start(t)) })
	}
}

func testGroupClientCrash(t *testing.T, name string, owned ownedMember) {
	b := startBroker(t, groupOverrides...)
	topic, group := "crash-"+name, "crash-"+name
	const partitions, n = 4, 12_000
	createTopic(t, b, topic, partitions)
	own := newOwnership()
	start := owned(own)
	got1, got2 := newConsumed(), newConsumed()
	m1 := start(t, b, group, topic, name+"-1", got1)
	m2 := start(t, b, group, topic, name+"-2", got2)
	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordDeliveryTimeout(30*time.Second))
	waitFor(t, groupWait, "a third of the stream acknowledged and both members consuming", func() bool {
		return acks.count() >= n/3 && got1.count() > 0 && got2.count() > 0
	})
	committed := waitCommitted(t, b, group, topic, partitions)
	killed := time.Now()
	b.Kill()
	b.Restart()
	checkNotBehind(t, name+" right after the restart", committed, committedOffsets(t, b, group, topic))
	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the members to consume the whole stream after the restart", func() bool { return reachedTogether(ends, got1, got2) })
	m1.stop(t)
	m2.stop(t)
	own.check(t)
	own.checkAssigned(t, name+"-1", name+"-2")
	checkResumed(t, name+" after the restart", append(got1.since(killed), got2.since(killed)...), committed)
	dups := checkConsumed(t, name+" through a crash", append(got1.records(), got2.records()...), topic, acked, nil, ends)
	checkCommitted(t, name+" through a crash", b, group, topic, ends)
	checkGroupEmpty(t, name+" through a crash", b, group)
	t.Logf("%s through a crash: %d records, %d by the first member, %d by the second, %d consumed twice; committed before the kill %v",
		name, n, got1.count(), got2.count(), dups, committed)
}

// waitCommitted waits until group has committed an offset past the start
// of every partition of topic, and returns its committed offsets.
func waitCommitted(t *testing.T, b *broker, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	var committed map[int32]int64
	waitFor(t, groupWait, "the group to commit on every partition", func() bool {
		committed = committedOffsets(t, b, group, topic)
		for p := int32(0); p < partitions; p++ {
			if committed[p] <= 0 {
				time.Sleep(50 * time.Millisecond) // a client per call: not every 20 ms
				return false
			}
		}
		return true
	})
	return committed
}

func TestSaramaGroup(t *testing.T) {
	captureSaramaLog(t)
	testGroupClient(t, groupClient{name: "sarama", start: saramaOwned})
}

func TestKafkaGoGroup(t *testing.T) {
	testGroupClient(t, groupClient{name: "kafkago", start: kafkaGoOwned})
}

func TestKcatGroup(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	testGroupClient(t, groupClient{name: "kcat", start: kcatOwned, quiesce: true})
}

func TestConfluentKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithConfluent()
	requireTool(t, "python3 with confluent_kafka", err)
	testGroupClient(t, groupClient{name: "confluent-python", start: pythonOwned(py, confluentGroupScript)})
}

func TestKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithModule("kafka")
	requireTool(t, "python3 with kafka (kafka-python)", err)
	testGroupClient(t, groupClient{name: "kafka-python", start: pythonOwned(py, kafkaPythonGroupScript)})
}

// ---- sarama ----

// saramaHandler records every message of its claims and marks it for the
// autocommit. A session's claims are its member's assignment: Setup runs
// before any ConsumeClaim of the session, Cleanup once they all returned
// and before the member joins the next generation.
type saramaHandler struct {
	name, topic string
	own         *ownership
	got         *consumed
}

func (h saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.own.assigned(h.name, s.Claims()[h.topic])
	return nil
}

func (h saramaHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	h.own.ended(h.name, s.Claims()[h.topic], "revoked")
	return nil
}

func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			at := time.Now()
			h.own.polled(h.name, m.Partition, m.Offset, at)
			h.got.addAt(seen{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value}, at)
			s.MarkMessage(m, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

// saramaMember is one sarama ConsumerGroup, autocommitting what its
// handler marked every 200 ms and on close.
type saramaMember struct {
	name   string
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// startSarama starts a sarama member whose assignments nothing checks.
func startSarama(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
	t.Helper()
	return saramaOwned(newOwnership())(t, b, group, topic, name, got)
}

// saramaOwned starts sarama members that report to own.
func saramaOwned(own *ownership) startMember {
	return func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
		t.Helper()
		return startSaramaMember(t, b, group, topic, name, own, got)
	}
}

func startSaramaMember(t *testing.T, b *broker, group, topic, name string, own *ownership, got *consumed) *saramaMember {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.ClientID = name
	cfg.Consumer.Group.Session.Timeout = groupSessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = groupHeartbeat
	cfg.Consumer.Group.Rebalance.Timeout = groupRebalanceTimeout
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.MaxWaitTime = groupFetchMaxWait
	cfg.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup([]string{b.addr}, group, cfg)
	if err != nil {
		t.Fatalf("%s: sarama.NewConsumerGroup: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaMember{name: name, cg: cg, cancel: cancel}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		for ctx.Err() == nil {
			err := cg.Consume(ctx, []string{topic}, saramaHandler{name: name, topic: topic, own: own, got: got})
			if err == nil || errors.Is(err, sarama.ErrClosedConsumerGroup) || ctx.Err() != nil {
				continue
			}
			m.record(fmt.Errorf("Consume: %w", err))
			time.Sleep(100 * time.Millisecond)
		}
	}()
	go func() {
		defer m.wg.Done()
		for err := range cg.Errors() {
			m.record(err)
		}
	}()
	return m
}

func (m *saramaMember) record(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errs = append(m.errs, err)
}

func (m *saramaMember) stop(t *testing.T) {
	t.Helper()
	m.cancel()
	closeWithin(t, m.name, m.cg.Close)
	waitGroupWithin(t, m.name+"'s goroutines", &m.wg)
	for _, err := range m.errs {
		if isDisconnect(err) {
			// the client's to retry (a broker restart shows so)
			t.Logf("%s: %v", m.name, err)
			continue
		}
		t.Errorf("%s: got error %v; want none", m.name, err)
	}
}

// isDisconnect reports a lost or refused connection.
func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sarama.ErrNotConnected) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// ---- kafka-go ----

// kafkaGoMember is one kafka-go Reader with a GroupID, committing every
// 100 ms and on close.
type kafkaGoMember struct {
	name   string
	own    *ownership
	r      *segkafka.Reader
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	errs   []error
	logged []string
	joined time.Time // when the latest JoinGroup answered
}

// kafkaGoOwned starts kafka-go members that report to own.
func kafkaGoOwned(own *ownership) startMember {
	return func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
		t.Helper()
		return startKafkaGo(t, b, group, topic, name, own, got)
	}
}

// kafkaGoPartition finds the partitions in the Reader's "subscribed to
// topics and partitions: map[{topic:T partition:P}:OFFSET ...]" log line.
var kafkaGoPartition = regexp.MustCompile(`partition:(\d+)\}`)

// traceGeneration follows the Reader's info log, the only place it tells
// its assignments: a generation's span opens when its JoinGroup answered
// ("Joined group ..."; the partitions come with "subscribed to topics and
// partitions: ..." once the Reader started fetching them) and closes when
// its commit loop stops ("stopped commit for group ..."), which the
// Reader waits for before it joins the next generation. Opening at the
// JoinGroup answer keeps the span ahead of every fetch of the generation;
// the answer comes only once the previous owners have rejoined, after
// their own spans closed.
func (m *kafkaGoMember) traceGeneration(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strings.HasPrefix(line, "Joined group "):
		m.joined = time.Now()
	case strings.HasPrefix(line, "subscribed to topics and partitions: "):
		var ps []int32
		for _, sub := range kafkaGoPartition.FindAllStringSubmatch(line, -1) {
			p, _ := strconv.Atoi(sub[1])
			ps = append(ps, int32(p))
		}
		slices.Sort(ps)
		at := m.joined
		if at.IsZero() {
			at = time.Now()
		}
		m.own.assignedAt(m.name, ps, at)
	case strings.HasPrefix(line, "stopped commit for group "):
		m.own.endAll(m.name, "revoked", time.Now())
	}
}

func startKafkaGo(t *testing.T, b *broker, group, topic, name string, own *ownership, got *consumed) groupMember {
	t.Helper()
	m := &kafkaGoMember{name: name, own: own, done: make(chan struct{})}
	m.r = segkafka.NewReader(segkafka.ReaderConfig{
		Brokers:           []string{b.addr},
		GroupID:           group,
		Topic:             topic,
		MinBytes:          1,
		MaxBytes:          1 << 20,
		MaxWait:           groupFetchMaxWait,
		HeartbeatInterval: groupHeartbeat,
		SessionTimeout:    groupSessionTimeout,
		RebalanceTimeout:  groupRebalanceTimeout,
		JoinGroupBackoff:  250 * time.Millisecond,
		CommitInterval:    100 * time.Millisecond,
		StartOffset:       segkafka.FirstOffset,
		GroupBalancers:    []segkafka.GroupBalancer{segkafka.RangeGroupBalancer{}},
		Logger: segkafka.LoggerFunc(func(format string, args ...any) {
			m.traceGeneration(fmt.Sprintf(format, args...))
		}),
		ErrorLogger: segkafka.LoggerFunc(func(format string, args ...any) {
			m.mu.Lock()
			m.logged = append(m.logged, fmt.Sprintf(format, args...))
			m.mu.Unlock()
		}),
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			msg, err := m.r.ReadMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					m.mu.Lock()
					m.errs = append(m.errs, err)
					m.mu.Unlock()
				}
				return
			}
			// the Reader may hand over a record it buffered after its
			// generation ended: delivered, not polled
			at := time.Now()
			own.delivered(name, int32(msg.Partition), msg.Offset, at)
			got.addAt(seen{partition: int32(msg.Partition), offset: msg.Offset, key: msg.Key, value: msg.Value}, at)
		}
	}()
	return m
}

func (m *kafkaGoMember) stop(t *testing.T) {
	t.Helper()
	m.cancel()
	select {
	case <-m.done:
	case <-time.After(groupWait):
		t.Fatalf("%s: ReadMessage did not return within %v of its context's end", m.name, groupWait)
	}
	closeWithin(t, m.name, m.r.Close)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, err := range m.errs {
		if isDisconnect(err) {
			t.Logf("%s: ReadMessage: %v", m.name, err)
			continue
		}
		t.Errorf("%s: ReadMessage: got %v; want no error", m.name, err)
	}
	if len(m.logged) > 0 {
		t.Logf("%s error log:\n%s", m.name, strings.Join(m.logged, "\n"))
	}
}

// ---- processes: kcat and the Python clients ----

// procMember is a group member in its own process. Each line it prints
// is a record, an assignment change, or a note (a client error, a failed
// commit); it is stopped by closing its standard input (the Python
// consumers) or with SIGINT (kcat), after which it commits, leaves the
// group and exits 0.
type procMember struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	sigint bool
	done   chan struct{} // closed once the output is read and the process waited
	stderr bytes.Buffer  // written by the stderr reader, read after done
	notes  []string      // written by the stdout reader, read after done
	err    error
}

// procEvent is one line of a member process's output.
type procEvent struct {
	rec    *seen   // a record, or
	change string  // "assigned", "revoked" or "lost",
	parts  []int32 // of these partitions
	// mono is when the process says the event happened, on
	// CLOCK_MONOTONIC; zero: the process does not say, and the event
	// counts from when its line was read.
	mono int64
}

// procParser reads one line of a member process's output; ok false: the
// line is none of its events.
type procParser func(line string) (ev procEvent, ok bool)

// startProc runs argv as member name: parseOut reads its standard output,
// parseErr (if not nil) its standard error. Records go to got, with
// assignment changes to own; a record the process stamped must also come
// from a partition it owned then (own.polled). Once the process has
// exited it owns nothing: a process that died without revoking (kcat once
// its brokers are down) has its spans closed there.
func startProc(t *testing.T, name string, own *ownership, got *consumed, parseOut, parseErr procParser, sigint bool, argv ...string) *procMember {
	t.Helper()
	m := &procMember{name: name, sigint: sigint, done: make(chan struct{})}
	m.cmd = exec.Command(argv[0], argv[1:]...)
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s: %v", name, argv[0], err)
	}
	apply := func(ev procEvent) {
		at := time.Now()
		if ev.mono != 0 {
			at = monoTime(ev.mono)
		}
		switch {
		case ev.rec != nil:
			if ev.mono != 0 {
				own.polled(name, ev.rec.partition, ev.rec.offset, at)
			}
			got.addAt(*ev.rec, at)
		case ev.change == "assigned":
			own.assignedAt(name, ev.parts, at)
		default:
			own.endedAt(name, ev.parts, ev.change, at)
		}
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if ev, ok := parseOut(sc.Text()); ok {
				apply(ev)
			} else {
				m.notes = append(m.notes, sc.Text())
			}
		}
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m.stderr.WriteString(sc.Text() + "\n")
			if parseErr == nil {
				continue
			}
			if ev, ok := parseErr(sc.Text()); ok {
				apply(ev)
			}
		}
	}()
	go func() {
		defer close(m.done)
		readers.Wait()
		m.err = m.cmd.Wait()
		own.endAll(name, "exited", time.Now())
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			m.cmd.Process.Kill()
			<-m.done
		}
	})
	return m
}

func (m *procMember) stop(t *testing.T) {
	t.Helper()
	if m.sigint {
		m.cmd.Process.Signal(syscall.SIGINT)
	} else {
		m.stdin.Close()
	}
	select {
	case <-m.done:
	case <-time.After(groupWait):
		m.cmd.Process.Kill()
		<-m.done
		t.Fatalf("%s: still running %v after it was asked to stop; stderr:\n%s", m.name, groupWait, m.stderr.String())
	}
	if m.err != nil {
		t.Errorf("%s: got %v; want exit status 0; stderr:\n%s", m.name, m.err, m.stderr.String())
	}
	if len(m.notes) > 0 {
		t.Logf("%s said:\n%s", m.name, strings.Join(m.notes, "\n"))
	}
}

// exited waits, bounded, for the process to exit by itself and returns
// how it exited.
func (m *procMember) exited(t *testing.T) error {
	t.Helper()
	select {
	case <-m.done:
		return m.err
	case <-time.After(groupWait):
		m.cmd.Process.Kill()
		<-m.done
		t.Fatalf("%s: still running %v later; want it to exit by itself; stderr:\n%s", m.name, groupWait, m.stderr.String())
		return nil
	}
}

// kcatOwned starts kcat members that report to own.
func kcatOwned(own *ownership) startMember {
	return func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
		t.Helper()
		return startKcat(t, b, group, topic, name, own, got)
	}
}

// startKcat runs kcat's balanced consumer (-G), autocommitting every 200
// ms and on close. Without -q it tells its rebalances on standard error;
// it does not stamp them, so they count from when their line is read. The
// gap that leaves is small beside the one it must not close: a member
// writes its revoke before it rejoins, and the next owner's assignment
// comes only after the coordinator has heard every member rejoin.
func startKcat(t *testing.T, b *broker, group, topic, name string, own *ownership, got *consumed) *procMember {
	t.Helper()
	ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
	return startProc(t, name, own, got, parseKcatLine, kcatRebalanceParser(topic), true, "kcat", "-b", b.addr, "-G", group, "-u",
		"-X", "client.id="+name,
		"-X", "auto.offset.reset=earliest",
		"-X", "auto.commit.interval.ms=200",
		"-X", "session.timeout.ms="+ms(groupSessionTimeout),
		"-X", "heartbeat.interval.ms="+ms(groupHeartbeat),
		"-X", "fetch.wait.max.ms="+ms(groupFetchMaxWait),
		"-f", "%p %o %s\n", topic)
}

// parseKcatLine reads "PARTITION OFFSET VALUE".
func parseKcatLine(line string) (procEvent, bool) {
	fields := strings.SplitN(line, " ", 3)
	if len(fields) != 3 {
		return procEvent{}, false
	}
	p, perr := strconv.Atoi(fields[0])
	o, oerr := strconv.ParseInt(fields[1], 10, 64)
	if perr != nil || oerr != nil {
		return procEvent{}, false
	}
	return procEvent{rec: &seen{partition: int32(p), offset: o, value: []byte(fields[2])}}, true
}

// kcatRebalanceParser reads kcat's rebalance lines of topic's partitions:
// "% Group G rebalanced (memberid M): assigned: T [0], T [1]" and the
// same with "revoked:".
func kcatRebalanceParser(topic string) procParser {
	return func(line string) (procEvent, bool) {
		if !strings.HasPrefix(line, "% Group ") || !strings.Contains(line, " rebalanced (memberid ") {
			return procEvent{}, false
		}
		var ev procEvent
		var list string
		for _, change := range []string{"assigned", "revoked"} {
			if i := strings.Index(line, "): "+change+": "); i >= 0 {
				ev.change, list = change, line[i+len("): "+change+": "):]
			} else if strings.HasSuffix(line, "): "+change+":") {
				ev.change = change
			}
		}
		if ev.change == "" {
			return procEvent{}, false
		}
		for _, item := range strings.Split(list, ", ") {
			rest, ok := strings.CutPrefix(item, topic+" [")
			if !ok {
				continue
			}
			p, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
			if err != nil {
				return procEvent{}, false
			}
			ev.parts = append(ev.parts, int32(p))
		}
		return ev, true
	}
}

// pythonWithModule finds a Python that can import module; Debian's
// packages install for /usr/bin/python3.
func pythonWithModule(module string) (string, error) {
	var tried []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, py+": not found")
			continue
		}
		out, err := exec.Command(path, "-c", "import "+module).CombinedOutput()
		if err == nil {
			return path, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v %s", path, err, strings.TrimSpace(string(out))))
	}
	return "", fmt.Errorf("no python3 imports %s: %s", module, strings.Join(tried, "; "))
}

// The Python group consumers take the broker, group, topic, client id and
// the client settings. They poll until their standard input closes (or
// 120 seconds pass), print each record as a JSON line, commit
// synchronously after every poll that returned records (a commit that a
// rebalance refuses is printed as a note), commit once more, revoke what
// they own, close, and print {"closed": true}. Their rebalance callbacks
// print {"assigned": [partitions]}, {"revoked": [...]} or {"lost": [...]}.
// Every record and callback line carries "t", the CLOCK_MONOTONIC instant
// in nanoseconds: a callback's when it began, a record's when it was
// printed, after the poll that returned it and before the next (the
// clients run their callbacks only inside a poll).
const pythonGroupPrelude = `
import json, sys, threading, time
addr, group, topic, client_id = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
session_ms, heartbeat_ms, wait_ms = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
stop = threading.Event()
def watch_stdin():
    sys.stdin.read()
    stop.set()
threading.Thread(target=watch_stdin, daemon=True).start()
deadline = time.monotonic() + 120
def running():
    return not stop.is_set() and time.monotonic() < deadline
def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
def record(p, o, v):
    emit({"p": p, "o": o, "v": v.decode(), "t": time.monotonic_ns()})
def change(how, tps):
    emit({how: sorted(tp.partition for tp in tps if tp.topic == topic), "t": time.monotonic_ns()})
`

// The librdkafka consumers (this one and kcat) keep librdkafka's default
// eager assignors: Debian's librdkafka 2.0, on an incremental
// (cooperative-sticky) rebalance, drops the records it has fetched but not
// yet delivered for the partitions a member keeps and fetches on after
// them, which loses them; librdkafka 2.4 fixed it. Its fetch log shows the
// broker's answers contiguous.
const confluentGroupScript = pythonGroupPrelude + `
from confluent_kafka import Consumer, KafkaException
c = Consumer({"bootstrap.servers": addr, "group.id": group, "client.id": client_id,
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": session_ms, "heartbeat.interval.ms": heartbeat_ms,
              "fetch.wait.max.ms": wait_ms})
c.subscribe([topic], on_assign=lambda c, ps: change("assigned", ps),
            on_revoke=lambda c, ps: change("revoked", ps), on_lost=lambda c, ps: change("lost", ps))
def commit():
    try:
        c.commit(asynchronous=False)
    except KafkaException as e:
        emit({"note": "commit: " + str(e)})
while running():
    ms = c.consume(num_messages=500, timeout=0.1)
    for m in ms:
        if m.error():
            emit({"note": "consume: " + str(m.error())})
            continue
        record(m.partition(), m.offset(), m.value())
    if ms:
        commit()
commit()
change("revoked", c.assignment())
c.close()
emit({"closed": True})
`

const kafkaPythonGroupScript = pythonGroupPrelude + `
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError
class Listener(ConsumerRebalanceListener):
    def on_partitions_assigned(self, assigned):
        change("assigned", assigned)
    def on_partitions_revoked(self, revoked):
        change("revoked", revoked)
c = KafkaConsumer(bootstrap_servers=addr, group_id=group, client_id=client_id,
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  session_timeout_ms=session_ms, heartbeat_interval_ms=heartbeat_ms,
                  fetch_max_wait_ms=wait_ms)
c.subscribe([topic], listener=Listener())
def commit():
    try:
        c.commit()
    except KafkaError as e:
        emit({"note": "commit: " + repr(e)})
while running():
    polled = c.poll(timeout_ms=100)
    for tp, ms in polled.items():
        for m in ms:
            record(m.partition, m.offset, m.value)
    if polled:
        commit()
commit()
change("revoked", c.assignment())
c.close()
emit({"closed": True})
`

// startPython runs one Python group consumer process whose assignments
// nothing checks.
func startPython(py, script string) startMember { return pythonOwned(py, script)(newOwnership()) }

// pythonOwned runs Python group consumer processes that report to own.
func pythonOwned(py, script string) ownedMember {
	return func(own *ownership) startMember {
		return func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
			t.Helper()
			ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
			return &pythonMember{startProc(t, name, own, got, parsePythonLine, nil, false, py, "-c", script, b.addr, group, topic, name,
				ms(groupSessionTimeout), ms(groupHeartbeat), ms(groupFetchMaxWait))}
		}
	}
}

// pythonMember is a procMember that must say it closed.
type pythonMember struct{ *procMember }

func (m *pythonMember) stop(t *testing.T) {
	t.Helper()
	m.procMember.stop(t)
	if !slices.Contains(m.notes, `{"closed": true}`) {
		t.Errorf("%s: got no {\"closed\": true} line; want the consumer to commit, close and say so", m.name)
	}
}

// parsePythonLine reads a record line or a rebalance callback's line.
func parsePythonLine(line string) (procEvent, bool) {
	var r struct {
		P        *int32  `json:"p"`
		O        int64   `json:"o"`
		V        string  `json:"v"`
		T        int64   `json:"t"`
		Assigned []int32 `json:"assigned"`
		Revoked  []int32 `json:"revoked"`
		Lost     []int32 `json:"lost"`
	}
	if json.Unmarshal([]byte(line), &r) != nil || r.T == 0 {
		return procEvent{}, false
	}
	switch {
	case r.P != nil:
		return procEvent{rec: &seen{partition: *r.P, offset: r.O, value: []byte(r.V)}, mono: r.T}, true
	case r.Assigned != nil:
		return procEvent{change: "assigned", parts: r.Assigned, mono: r.T}, true
	case r.Revoked != nil:
		return procEvent{change: "revoked", parts: r.Revoked, mono: r.T}, true
	case r.Lost != nil:
		return procEvent{change: "lost", parts: r.Lost, mono: r.T}, true
	}
	return procEvent{}, false
}

// ---- bounded closing ----

func closeWithin(t *testing.T, what string, closeFn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("closing %s: %v", what, err)
		}
	case <-time.After(groupWait):
		t.Fatalf("closing %s: still blocked after %v", what, groupWait)
	}
}

func waitGroupWithin(t *testing.T, what string, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(groupWait):
		t.Fatalf("waiting for %s: still running after %v", what, groupWait)
	}
}

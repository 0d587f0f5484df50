package main

// Consumer groups with the other production clients: sarama's
// ConsumerGroup, kafka-go's Reader with a GroupID, kcat's balanced consumer
// (librdkafka), confluent-kafka-python and kafka-python. Two members of
// each consume a stream as a group through a join and a leave, and commit;
// a later member of the same group must start exactly at the committed
// offsets.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
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

// groupClient is one client library under test.
type groupClient struct {
	name  string
	start startMember
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
// earlier and not later) and commit up to the new log end.
func testGroupClient(t *testing.T, c groupClient) {
	name, start := c.name, c.start
	b := startBroker(t, groupOverrides...)
	topic, group := "group-"+name, "group-"+name
	const partitions, n1, n2 = 4, 12_000, 500
	createTopic(t, b, topic, partitions)

	began := time.Now()
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
	got3 := newConsumed()
	m3 := start(t, b, group, topic, name+"-3", got3)
	waitFor(t, groupWait, "the third member to consume up to the log end", func() bool { return got3.reached(ends2) })
	m3.stop(t)
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
// group and their committed offsets: every acknowledged record consumed,
// the commits at the log end, the group Empty once they left. kcat is not
// among them: it exits by design once all its broker connections are down.
func TestGroupClientsSurviveBrokerCrash(t *testing.T) {
	clients := []struct {
		name  string
		start func(t *testing.T) startMember
	}{
		{"sarama", func(*testing.T) startMember { return startSarama }},
		{"kafkago", func(*testing.T) startMember { return startKafkaGo }},
		{"confluent-python", func(t *testing.T) startMember {
			py, err := pythonWithConfluent()
			requireTool(t, "python3 with confluent_kafka", err)
			return startPython(py, confluentGroupScript)
		}},
		{"kafka-python", func(t *testing.T) startMember {
			py, err := pythonWithModule("kafka")
			requireTool(t, "python3 with kafka (kafka-python)", err)
			return startPython(py, kafkaPythonGroupScript)
		}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testGroupClientCrash(t, c.name, c.start(t)) })
	}
}

func testGroupClientCrash(t *testing.T, name string, start startMember) {
	b := startBroker(t, groupOverrides...)
	topic, group := "crash-"+name, "crash-"+name
	const partitions, n = 4, 12_000
	createTopic(t, b, topic, partitions)
	got1, got2 := newConsumed(), newConsumed()
	m1 := start(t, b, group, topic, name+"-1", got1)
	m2 := start(t, b, group, topic, name+"-2", got2)
	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordDeliveryTimeout(30*time.Second))
	waitFor(t, groupWait, "a third of the stream acknowledged and both members consuming", func() bool {
		return acks.count() >= n/3 && got1.count() > 0 && got2.count() > 0
	})
	b.Kill()
	b.Restart()
	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the members to consume the whole stream after the restart", func() bool { return reachedTogether(ends, got1, got2) })
	m1.stop(t)
	m2.stop(t)
	dups := checkConsumed(t, name+" through a crash", append(got1.records(), got2.records()...), topic, acked, nil, ends)
	checkCommitted(t, name+" through a crash", b, group, topic, ends)
	checkGroupEmpty(t, name+" through a crash", b, group)
	t.Logf("%s through a crash: %d records, %d by the first member, %d by the second, %d consumed twice", name, n, got1.count(), got2.count(), dups)
}

func TestSaramaGroup(t *testing.T) {
	captureSaramaLog(t)
	testGroupClient(t, groupClient{name: "sarama", start: startSarama})
}

func TestKafkaGoGroup(t *testing.T) {
	testGroupClient(t, groupClient{name: "kafkago", start: startKafkaGo})
}

func TestKcatGroup(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	testGroupClient(t, groupClient{name: "kcat", start: startKcat, quiesce: true})
}

func TestConfluentKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithConfluent()
	requireTool(t, "python3 with confluent_kafka", err)
	testGroupClient(t, groupClient{name: "confluent-python", start: startPython(py, confluentGroupScript)})
}

func TestKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithModule("kafka")
	requireTool(t, "python3 with kafka (kafka-python)", err)
	testGroupClient(t, groupClient{name: "kafka-python", start: startPython(py, kafkaPythonGroupScript)})
}

// ---- sarama ----

// saramaHandler records every message of its claims and marks it for the
// autocommit.
type saramaHandler struct{ got *consumed }

func (h saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			h.got.add(seen{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value})
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

func startSarama(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
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
			err := cg.Consume(ctx, []string{topic}, saramaHandler{got})
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
	r      *segkafka.Reader
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	errs   []error
	logged []string
}

func startKafkaGo(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
	t.Helper()
	m := &kafkaGoMember{name: name, done: make(chan struct{})}
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
			got.add(seen{partition: int32(msg.Partition), offset: msg.Offset, key: msg.Key, value: msg.Value})
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

// procMember is a group member in its own process. Each line it prints is
// a record or a note (a client error, a failed commit); it is stopped by
// closing its standard input (the Python consumers) or with SIGINT (kcat),
// after which it commits, leaves the group and exits 0.
type procMember struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	sigint bool
	parse  func(line string) (seen, bool)
	done   chan struct{} // closed once the output is read and the process waited
	stderr bytes.Buffer
	notes  []string // written by the reader goroutine, read after done
	bad    []string
	err    error
}

func startProc(t *testing.T, name string, got *consumed, parse func(string) (seen, bool), sigint bool, argv ...string) *procMember {
	t.Helper()
	m := &procMember{name: name, sigint: sigint, parse: parse, done: make(chan struct{})}
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Stderr = &m.stderr
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("%s: starting %s: %v", name, argv[0], err)
	}
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if r, ok := m.parse(sc.Text()); ok {
				got.add(r)
			} else {
				m.notes = append(m.notes, sc.Text())
			}
		}
		m.err = m.cmd.Wait()
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

// startKcat runs kcat's balanced consumer (-G), autocommitting every 200
// ms and on close.
func startKcat(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
	t.Helper()
	ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
	return startProc(t, name, got, parseKcatLine, true, "kcat", "-b", b.addr, "-G", group, "-q", "-u",
		"-X", "client.id="+name,
		"-X", "auto.offset.reset=earliest",
		"-X", "auto.commit.interval.ms=200",
		"-X", "session.timeout.ms="+ms(groupSessionTimeout),
		"-X", "heartbeat.interval.ms="+ms(groupHeartbeat),
		"-X", "fetch.wait.max.ms="+ms(groupFetchMaxWait),
		"-f", "%p %o %s\n", topic)
}

// parseKcatLine reads "PARTITION OFFSET VALUE".
func parseKcatLine(line string) (seen, bool) {
	fields := strings.SplitN(line, " ", 3)
	if len(fields) != 3 {
		return seen{}, false
	}
	p, perr := strconv.Atoi(fields[0])
	o, oerr := strconv.ParseInt(fields[1], 10, 64)
	if perr != nil || oerr != nil {
		return seen{}, false
	}
	return seen{partition: int32(p), offset: o, value: []byte(fields[2])}, true
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
// rebalance refuses is printed as a note), commit once more, close, and
// print {"closed": true}.
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
    emit({"p": p, "o": o, "v": v.decode()})
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
c.subscribe([topic])
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
c.close()
emit({"closed": True})
`

const kafkaPythonGroupScript = pythonGroupPrelude + `
from kafka import KafkaConsumer
from kafka.errors import KafkaError
c = KafkaConsumer(topic, bootstrap_servers=addr, group_id=group, client_id=client_id,
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  session_timeout_ms=session_ms, heartbeat_interval_ms=heartbeat_ms,
                  fetch_max_wait_ms=wait_ms)
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
c.close()
emit({"closed": True})
`

// startPython runs one Python group consumer process.
func startPython(py, script string) startMember {
	return func(t *testing.T, b *broker, group, topic, name string, got *consumed) groupMember {
		t.Helper()
		ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
		return &pythonMember{startProc(t, name, got, parsePythonLine, false, py, "-c", script, b.addr, group, topic, name,
			ms(groupSessionTimeout), ms(groupHeartbeat), ms(groupFetchMaxWait))}
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

func parsePythonLine(line string) (seen, bool) {
	var r struct {
		P *int32 `json:"p"`
		O int64  `json:"o"`
		V string `json:"v"`
	}
	if json.Unmarshal([]byte(line), &r) != nil || r.P == nil {
		return seen{}, false
	}
	return seen{partition: *r.P, offset: r.O, value: []byte(r.V)}, true
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

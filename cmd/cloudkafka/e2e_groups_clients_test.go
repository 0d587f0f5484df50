package main

// Consumer groups with the other production clients: sarama's
// ConsumerGroup, kafka-go's Reader with a GroupID, kcat's balanced consumer
// (librdkafka), confluent-kafka-python and kafka-python. Each consumes a
// topic as a group and commits; a second run of the same group must start
// exactly at the committed offsets.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	segkafka "github.com/segmentio/kafka-go"
)

// groupRun consumes topic as group with one client library, with the given
// number of members, until the members together reach ends, and closes them
// (committing what they consumed) before it returns what they consumed.
type groupRun func(t *testing.T, b *broker, group, topic string, members int, from, ends map[int32]int64) []seen

// testGroupClient runs a client's group twice on one topic. The first run,
// with firstMembers members, consumes 2,000 records from an empty group
// (auto.offset.reset earliest); the second, with one member, consumes 500
// produced after the first closed. Each run must consume every record of
// its range, nothing before it (the second starts at the committed offsets,
// not earlier and not later), and leave the committed offsets at the log
// end.
func testGroupClient(t *testing.T, name string, firstMembers int, run groupRun) {
	b := startBroker(t, groupOverrides...)
	topic, group := "group-"+name, "group-"+name
	const partitions, n1, n2 = 4, 2000, 500
	createTopic(t, b, topic, partitions)

	acked1 := produceSeqs(t, b, topic, topic, 0, n1)
	ends1 := endOffsets(t, b, topic)
	start := time.Now()
	got := run(t, b, group, topic, firstMembers, nil, ends1)
	dups := checkConsumed(t, name+" first run", got, topic, acked1, nil, ends1)
	checkCommitted(t, name+" first run", b, group, topic, ends1)
	checkGroupEmpty(t, name+" first run", b, group)
	t.Logf("%s first run: %d members, %d records, %d consumed twice, %v", name, firstMembers, len(got), dups, time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	acked2 := produceSeqs(t, b, topic, topic, n1, n2)
	ends2 := endOffsets(t, b, topic)
	start = time.Now()
	got = run(t, b, group, topic, 1, ends1, ends2)
	dups = checkConsumed(t, name+" second run", got, topic, mergeAcked(acked1, acked2), ends1, ends2)
	checkCommitted(t, name+" second run", b, group, topic, ends2)
	checkGroupEmpty(t, name+" second run", b, group)
	t.Logf("%s second run: %d records, %d consumed twice, %v", name, len(got), dups, time.Since(start).Round(time.Millisecond))
}

func TestSaramaGroup(t *testing.T) { testGroupClient(t, "sarama", 2, runSaramaGroup) }

func TestKafkaGoGroup(t *testing.T) { testGroupClient(t, "kafkago", 2, runKafkaGoGroup) }

func TestKcatGroup(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	testGroupClient(t, "kcat", 1, runKcatGroup)
}

func TestConfluentKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithConfluent()
	requireTool(t, "python3 with confluent_kafka", err)
	testGroupClient(t, "confluent-python", 1, pythonGroupRun(py, confluentGroupScript))
}

func TestKafkaPythonGroup(t *testing.T) {
	py, err := pythonWithModule("kafka")
	requireTool(t, "python3 with kafka (kafka-python)", err)
	testGroupClient(t, "kafka-python", 1, pythonGroupRun(py, kafkaPythonGroupScript))
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

func runSaramaGroup(t *testing.T, b *broker, group, topic string, members int, _, ends map[int32]int64) []seen {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.ClientID = "cloudkafka-e2e"
	cfg.Consumer.Group.Session.Timeout = groupSessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = groupHeartbeat
	cfg.Consumer.Group.Rebalance.Timeout = groupRebalanceTimeout
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.MaxWaitTime = groupFetchMaxWait
	cfg.Consumer.Return.Errors = true
	got := newConsumed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var cgs []sarama.ConsumerGroup
	for i := 0; i < members; i++ {
		cg, err := sarama.NewConsumerGroup([]string{b.addr}, group, cfg)
		if err != nil {
			t.Fatalf("sarama.NewConsumerGroup: %v", err)
		}
		cgs = append(cgs, cg)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, saramaHandler{got}); err != nil {
					if errors.Is(err, sarama.ErrClosedConsumerGroup) || ctx.Err() != nil {
						return
					}
					mu.Lock()
					errs = append(errs, fmt.Errorf("Consume: %w", err))
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for err := range cg.Errors() {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	waitFor(t, groupWait, "the sarama group to consume up to "+fmt.Sprint(ends), func() bool { return got.reached(ends) })
	cancel()
	for i, cg := range cgs {
		closeWithin(t, fmt.Sprintf("sarama member %d", i), cg.Close)
	}
	waitGroupWithin(t, "the sarama members' goroutines", &wg)
	for _, err := range errs {
		t.Errorf("sarama group: got error %v; want none", err)
	}
	return got.records()
}

// ---- kafka-go ----

func runKafkaGoGroup(t *testing.T, b *broker, group, topic string, members int, _, ends map[int32]int64) []seen {
	t.Helper()
	got := newConsumed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var logged []string
	var readers []*segkafka.Reader
	for i := 0; i < members; i++ {
		r := segkafka.NewReader(segkafka.ReaderConfig{
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
				mu.Lock()
				logged = append(logged, fmt.Sprintf(format, args...))
				mu.Unlock()
			}),
		})
		readers = append(readers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
					return
				}
				got.add(seen{partition: int32(m.Partition), offset: m.Offset, key: m.Key, value: m.Value})
			}
		}()
	}
	waitFor(t, groupWait, "the kafka-go group to consume up to "+fmt.Sprint(ends), func() bool { return got.reached(ends) })
	cancel()
	waitGroupWithin(t, "the kafka-go readers' goroutines", &wg)
	for i, r := range readers {
		closeWithin(t, fmt.Sprintf("kafka-go reader %d", i), r.Close)
	}
	for _, err := range errs {
		t.Errorf("kafka-go ReadMessage: got %v; want no error", err)
	}
	if len(logged) > 0 {
		t.Logf("kafka-go error log:\n%s", strings.Join(logged, "\n"))
	}
	return got.records()
}

// ---- kcat ----

// runKcatGroup runs kcat's balanced consumer (-G), which exits once every
// assigned partition reached its end (-e) and commits as it closes.
func runKcatGroup(t *testing.T, b *broker, group, topic string, _ int, _, ends map[int32]int64) []seen {
	t.Helper()
	out := runTool(t, 60*time.Second, "", "kcat", "-b", b.addr, "-G", group,
		"-X", "auto.offset.reset=earliest",
		"-X", "session.timeout.ms="+strconv.Itoa(int(groupSessionTimeout.Milliseconds())),
		"-X", "heartbeat.interval.ms="+strconv.Itoa(int(groupHeartbeat.Milliseconds())),
		"-X", "fetch.wait.max.ms="+strconv.Itoa(int(groupFetchMaxWait.Milliseconds())),
		"-e", "-q", "-f", "%p %o %s\n", topic)
	var got []seen
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		p, perr := strconv.Atoi(fields[0])
		var o int64
		var oerr error = errors.New("missing")
		if len(fields) == 3 {
			o, oerr = strconv.ParseInt(fields[1], 10, 64)
		}
		if perr != nil || oerr != nil {
			t.Fatalf("kcat output line %q: want \"PARTITION OFFSET VALUE\"", line)
		}
		got = append(got, seen{partition: int32(p), offset: o, value: []byte(fields[2])})
	}
	return got
}

// ---- Python clients ----

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

// The Python group consumers take the broker, group, topic, the partitions
// to read up to (JSON {partition: end offset}) and the client settings;
// they poll until every listed partition reached its end or 60 seconds
// passed, commit synchronously, close, and print one JSON object.
const pythonGroupPrelude = `
import json, sys, time
addr, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
want = {int(p): o for p, o in json.loads(sys.argv[4]).items()}
session_ms, heartbeat_ms, wait_ms = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
recs, errors, nxt = [], [], {}
deadline = time.monotonic() + 60
def caught_up():
    return all(nxt.get(p, -1) >= e for p, e in want.items())
def seen(p, o, v):
    recs.append([p, o, v.decode()])
    nxt[p] = max(nxt.get(p, 0), o + 1)
`

const confluentGroupScript = pythonGroupPrelude + `
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": addr, "group.id": group, "client.id": "cloudkafka-e2e",
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": session_ms, "heartbeat.interval.ms": heartbeat_ms,
              "fetch.wait.max.ms": wait_ms})
c.subscribe([topic])
while not caught_up() and time.monotonic() < deadline:
    m = c.poll(0.25)
    if m is None:
        continue
    if m.error():
        errors.append(str(m.error()))
        continue
    seen(m.partition(), m.offset(), m.value())
done = caught_up()
if done:
    c.commit(asynchronous=False)
c.close()
print(json.dumps({"done": done, "errors": errors, "records": recs}))
`

const kafkaPythonGroupScript = pythonGroupPrelude + `
from kafka import KafkaConsumer
c = KafkaConsumer(topic, bootstrap_servers=addr, group_id=group, client_id="cloudkafka-e2e",
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  session_timeout_ms=session_ms, heartbeat_interval_ms=heartbeat_ms,
                  fetch_max_wait_ms=wait_ms)
while not caught_up() and time.monotonic() < deadline:
    for tp, ms in c.poll(timeout_ms=250).items():
        for m in ms:
            seen(m.partition, m.offset, m.value)
done = caught_up()
if done:
    c.commit()
c.close()
print(json.dumps({"done": done, "errors": errors, "records": recs}))
`

// pythonGroupRun runs one Python group consumer process.
func pythonGroupRun(py, script string) groupRun {
	return func(t *testing.T, b *broker, group, topic string, _ int, from, ends map[int32]int64) []seen {
		t.Helper()
		want := map[string]int64{}
		for p, end := range ends {
			if end > from[p] {
				want[strconv.Itoa(int(p))] = end
			}
		}
		wantJSON, _ := json.Marshal(want)
		out := runTool(t, 90*time.Second, "", py, "-c", script, b.addr, group, topic, string(wantJSON),
			strconv.Itoa(int(groupSessionTimeout.Milliseconds())), strconv.Itoa(int(groupHeartbeat.Milliseconds())),
			strconv.Itoa(int(groupFetchMaxWait.Milliseconds())))
		var res struct {
			Done    bool     `json:"done"`
			Errors  []string `json:"errors"`
			Records [][3]any `json:"records"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("python output: got %v parsing %.200q; want one JSON object", err, out)
		}
		if len(res.Errors) > 0 {
			t.Errorf("python consumer: got errors %q; want none", res.Errors)
		}
		if !res.Done {
			t.Errorf("python consumer: got %d records and no catch-up to %s within 60s", len(res.Records), wantJSON)
		}
		got := make([]seen, 0, len(res.Records))
		for _, r := range res.Records {
			p, _ := r[0].(float64)
			o, _ := r[1].(float64)
			v, _ := r[2].(string)
			got = append(got, seen{partition: int32(p), offset: int64(o), value: []byte(v)})
		}
		return got
	}
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

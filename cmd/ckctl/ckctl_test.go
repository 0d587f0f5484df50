package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloudkafka/internal/zktest"
)

// newCluster starts a single broker process for the test.
func newCluster(t *testing.T) string {
	t.Helper()
	return startBroker(t)
}

// ckctl runs one invocation in-process and returns its exit code and output.
func ckctl(t *testing.T, brokers, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	full := append([]string{"-b", brokers, "-timeout", "10s"}, args...)
	code = run(ctx, full, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustCkctl is ckctl that fails the test on a non-zero exit.
func mustCkctl(t *testing.T, brokers, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := ckctl(t, brokers, stdin, args...)
	if code != 0 {
		t.Fatalf("ckctl %q: exit code %d; want 0; stderr: %s", args, code, errOut)
	}
	return out
}

func TestTopicLifecycle(t *testing.T) {
	b := newCluster(t)
	out := mustCkctl(t, b, "", "topic", "create", "orders", "-p", "3", "-r", "1", "-c", "retention.ms=60000")
	if want := "created topic orders"; !strings.Contains(out, want) {
		t.Errorf("create output: got %q; want it to contain %q", out, want)
	}

	out = mustCkctl(t, b, "", "topic", "list")
	if !hasLineFields(out, "orders", "3", "1") {
		t.Errorf("list output: got %q; want a line \"orders 3 1\"", out)
	}

	out = mustCkctl(t, b, "", "topic", "describe", "orders")
	for _, want := range []string{"PARTITIONS  3", "retention.ms", "60000"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe output: got %q; want it to contain %q", out, want)
		}
	}
	for p := 0; p < 3; p++ {
		if !hasLinePrefixFields(out, fmt.Sprint(p), "0") {
			t.Errorf("describe output: got %q; want a row for partition %d led by broker 0", out, p)
		}
	}

	mustCkctl(t, b, "", "topic", "delete", "orders")
	out = mustCkctl(t, b, "", "topic", "list")
	if strings.Contains(out, "orders") {
		t.Errorf("list after delete: got %q; want no topic orders", out)
	}
}

func TestTopicErrors(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "dup", "-p", "1")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"create existing", []string{"topic", "create", "dup"}, 1, "TOPIC_ALREADY_EXISTS"},
		{"describe missing", []string{"topic", "describe", "nope"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"delete missing", []string{"topic", "delete", "nope"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"consume missing", []string{"consume", "nope"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"no command", nil, 2, "no command"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"create without name", []string{"topic", "create"}, 2, "takes 1 argument"},
		{"bad partitions", []string{"topic", "create", "x", "-p", "0"}, 2, "partitions must be positive"},
		{"bad config", []string{"topic", "create", "x", "-c", "novalue"}, 2, "not key=value"},
		{"bad offset", []string{"consume", "dup", "-o", "soon"}, 2, "want earliest, latest"},
		{"missing partition", []string{"consume", "dup", "-p", "7"}, 1, "no partition 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckctl(t, b, "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d; want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr: got %q; want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestProduceConsume(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "lines", "-p", "1")
	var in strings.Builder
	const n = 500
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "line-%04d\n", i)
	}
	out := mustCkctl(t, b, in.String(), "produce", "lines", "-v", "-k", "k1")
	acks := strings.Split(strings.TrimSpace(out), "\n")
	if len(acks) != n {
		t.Fatalf("produce -v: got %d acknowledgement lines; want %d", len(acks), n)
	}
	for i, line := range acks {
		if want := fmt.Sprintf("partition 0 offset %d", i); line != want {
			t.Fatalf("acknowledgement %d: got %q; want %q", i, line, want)
		}
	}

	out = mustCkctl(t, b, "", "consume", "lines", "-o", "earliest", "-n", fmt.Sprint(n))
	if out != in.String() {
		t.Errorf("consume -n %d: got %d bytes %q...; want the %d produced lines", n, len(out), head(out), n)
	}

	// Without -n, consume stops after being idle.
	start := time.Now()
	out = mustCkctl(t, b, "", "consume", "lines", "-o", "495")
	if want := "line-0495\nline-0496\nline-0497\nline-0498\nline-0499\n"; out != want {
		t.Errorf("consume -o 495: got %q; want %q", out, want)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("consume without -n took %v; want it to stop about 2 s after the last record", d)
	}

	// latest sees only records produced after it starts: none here.
	out = mustCkctl(t, b, "", "consume", "lines", "-o", "latest", "-idle", "500ms")
	if out != "" {
		t.Errorf("consume -o latest: got %q; want nothing", out)
	}
}

func TestConsumePartition(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "multi", "-p", "3")
	for p := 0; p < 3; p++ {
		in := fmt.Sprintf("p%d-a\np%d-b\n", p, p)
		mustCkctl(t, b, in, "produce", "multi", "-p", fmt.Sprint(p))
	}
	out := mustCkctl(t, b, "", "consume", "multi", "-p", "1", "-n", "2")
	if want := "p1-a\np1-b\n"; out != want {
		t.Errorf("consume -p 1: got %q; want %q", out, want)
	}
	out = mustCkctl(t, b, "", "consume", "multi", "-n", "6")
	if got := len(strings.Split(strings.TrimSpace(out), "\n")); got != 6 {
		t.Errorf("consume all partitions: got %d lines %q; want 6", got, out)
	}
}

func TestProduceErrorExitsNonZero(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "one", "-p", "1")
	// Partition 5 does not exist: every record fails.
	code, _, errOut := ckctl(t, b, "x\ny\n", "produce", "one", "-p", "5")
	if code != 1 {
		t.Errorf("produce to a missing partition: exit code %d; want 1 (stderr %q)", code, errOut)
	}
	if want := "2 of 2 records failed"; !strings.Contains(errOut, want) {
		t.Errorf("stderr: got %q; want it to contain %q", errOut, want)
	}
}

func TestBrokersFromEnvironment(t *testing.T) {
	b := newCluster(t)
	t.Setenv("CKCTL_BROKERS", b)
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := run(ctx, []string{"topic", "create", "envtopic"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("create with $CKCTL_BROKERS: exit code %d; want 0; stderr %q", code, errOut.String())
	}
}

func TestParseInterleaved(t *testing.T) {
	var g globals
	fs := newFlagSet("consume", &g)
	n := fs.Int("n", 0, "")
	pos, err := parseInterleaved(fs, []string{"-n", "3", "topic", "-b", "h:1", "--", "-x"})
	if err != nil {
		t.Fatalf("parseInterleaved: %v", err)
	}
	if got, want := strings.Join(pos, " "), "topic -x"; got != want {
		t.Errorf("positional: got %q; want %q", got, want)
	}
	if *n != 3 || g.brokers != "h:1" {
		t.Errorf("flags: got n=%d brokers=%q; want n=3 brokers=\"h:1\"", *n, g.brokers)
	}
}

func hasLineFields(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func hasLinePrefixFields(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

func head(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// TestTopicCreateConfigs checks that every -c reaches the broker: the
// configs read back through DescribeConfigs as topic-level settings.
func TestTopicCreateConfigs(t *testing.T) {
	b := startBroker(t)
	mustCkctl(t, b, "", "topic", "create", "short", "-p", "1", "-c", "retention.ms=1000",
		"--config", "segment.bytes=1048576", "-c", "max.message.bytes=2048")
	rcs, err := testAdmin(t, b).DescribeTopicConfigs(bounded(t, 10*time.Second), "short")
	if err != nil {
		t.Fatalf("DescribeConfigs short: %v", err)
	}
	want := map[string]string{"retention.ms": "1000", "segment.bytes": "1048576", "max.message.bytes": "2048"}
	for _, rc := range rcs {
		if rc.Err != nil {
			t.Fatalf("DescribeConfigs short: %v", rc.Err)
		}
		for _, c := range rc.Configs {
			w, ok := want[c.Key]
			if !ok {
				continue
			}
			delete(want, c.Key)
			if c.MaybeValue() != w || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
				t.Errorf("config %s: got %q from %v; want %q from DYNAMIC_TOPIC_CONFIG", c.Key, c.MaybeValue(), c.Source, w)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("DescribeConfigs short: configs %v missing", want)
	}
	out := mustCkctl(t, b, "", "topic", "describe", "short")
	if !hasLineFields(out, "retention.ms", "1000", "DYNAMIC_TOPIC_CONFIG") {
		t.Errorf("topic describe short: got %q; want a line \"retention.ms 1000 DYNAMIC_TOPIC_CONFIG\"", out)
	}
	// The broker, not ckctl, decides which configs and values exist: an
	// invalid value comes back as the broker's INVALID_CONFIG naming it.
	code, _, errOut := ckctl(t, b, "", "topic", "create", "bad", "-c", "retention.ms=soon")
	if code != 1 || !strings.Contains(errOut, "INVALID_CONFIG") || !strings.Contains(errOut, "retention.ms") {
		t.Errorf("create with retention.ms=soon: got exit %d, stderr %q; want 1 and INVALID_CONFIG naming retention.ms", code, errOut)
	}
}

// TestTopicCreateCompacted: `topic create -c cleanup.policy=compact`
// makes a compacted topic: DescribeConfigs and `topic describe` show the
// topic's own cleanup.policy, and the broker refuses a keyless record
// with INVALID_RECORD (Kafka's answer for a compacted topic) while a
// keyed one is stored.
func TestTopicCreateCompacted(t *testing.T) {
	b := startBroker(t)
	mustCkctl(t, b, "", "topic", "create", "compacted", "-c", "cleanup.policy=compact")
	rcs, err := testAdmin(t, b).DescribeTopicConfigs(bounded(t, 10*time.Second), "compacted")
	if err != nil {
		t.Fatalf("DescribeConfigs compacted: %v", err)
	}
	rc, err := rcs.On("compacted", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("DescribeConfigs compacted: %v, %v", err, rc.Err)
	}
	found := false
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			found = true
			if c.MaybeValue() != "compact" || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
				t.Errorf("cleanup.policy: got %q from %v; want \"compact\" from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
			}
		}
	}
	if !found {
		t.Errorf("DescribeConfigs compacted: no cleanup.policy in %+v", rc.Configs)
	}
	out := mustCkctl(t, b, "", "topic", "describe", "compacted")
	if !hasLineFields(out, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG") {
		t.Errorf("topic describe compacted: got %q; want a line \"cleanup.policy compact DYNAMIC_TOPIC_CONFIG\"", out)
	}
	code, _, errOut := ckctl(t, b, "no key\n", "produce", "compacted")
	if code != 1 || !strings.Contains(errOut, "INVALID_RECORD") {
		t.Errorf("keyless produce to a compacted topic: got exit %d, stderr %q; want 1 and INVALID_RECORD", code, errOut)
	}
	if out := mustCkctl(t, b, "v\n", "produce", "compacted", "-k", "k", "-v"); strings.TrimSpace(out) != "partition 0 offset 0" {
		t.Errorf("keyed produce to a compacted topic: got %q; want \"partition 0 offset 0\"", out)
	}
}

// TestClusterCommands: against three brokers of one ZooKeeper ensemble,
// `ckctl cluster` lists them with the controller and the cluster id, and
// `topic describe` shows each partition's leader, replicas and ISR, the
// partitions spread over the three.
func TestClusterCommands(t *testing.T) {
	zk := zktest.Start(t)
	addrs := make([]string, 3)
	for i := range addrs {
		addrs[i] = startBroker(t, "zookeeper.connect="+zk.Addr, fmt.Sprintf("broker.id=%d", i+1), fmt.Sprintf("broker.rack=r%d", i+1))
	}
	b := addrs[0]
	var out string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, o, _ := ckctl(t, b, "", "cluster")
		out = o
		if code == 0 && hasLinePrefixFields(out, "BROKER") && strings.Count(out, "\n") >= 7 || time.Now().After(deadline) {
			break
		}
	}
	for i, addr := range addrs {
		host, port, _ := strings.Cut(addr, ":")
		id := fmt.Sprint(i + 1)
		if !hasLineFields(out, id, host, port, "r"+id) && !hasLineFields(out, id+"*", host, port, "r"+id) {
			t.Errorf("cluster output: got %q; want a row for broker %s at %s with rack r%s", out, id, addr, id)
		}
	}
	if strings.Count(out, "*") != 1 || !strings.Contains(out, "CONTROLLER") || !strings.Contains(out, "CLUSTER") {
		t.Errorf("cluster output: got %q; want the cluster id, the controller, and one broker marked as it", out)
	}

	mustCkctl(t, b, "", "topic", "create", "spread", "-p", "6", "-r", "1")
	leads := map[string]int{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// the brokers learn of the topic from the controller, one after
		// the other: until then a broker does not know it
		_, out, _ = ckctl(t, b, "", "topic", "describe", "spread")
		clear(leads)
		for p := 0; p < 6; p++ {
			for id := 1; id <= 3; id++ {
				r := fmt.Sprintf("[%d]", id)
				if hasLinePrefixFields(out, fmt.Sprint(p), fmt.Sprint(id), "0", r, r) {
					leads[fmt.Sprint(id)]++
				}
			}
		}
		if len(leads) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if leads["1"] != 2 || leads["2"] != 2 || leads["3"] != 2 {
		t.Errorf("describe output: got %q; want rows \"P LEADER 0 [LEADER] [LEADER]\", two partitions led by each of brokers 1-3", out)
	}
}

package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudkafka/internal/zktest"
)

// zkDoc reads a znode's document with zkCli.sh, as an operator would.
func zkDoc(t *testing.T, zk *zktest.Server, path string) map[string]any {
	t.Helper()
	for _, line := range zk.Cli(t, "get", path) {
		if strings.HasPrefix(line, "{") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(line), &doc); err != nil {
				t.Fatalf("zkCli.sh get %s: %q is not JSON: %v", path, line, err)
			}
			return doc
		}
	}
	t.Fatalf("zkCli.sh get %s: no document in its output", path)
	return nil
}

// zkChildren lists a znode's children with zkCli.sh ("[a, b]").
func zkChildren(t *testing.T, zk *zktest.Server, path string) []string {
	t.Helper()
	for _, line := range zk.Cli(t, "ls", path) {
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			if line == "[]" {
				return nil
			}
			return strings.Split(strings.Trim(line, "[]"), ", ")
		}
	}
	t.Fatalf("zkCli.sh ls %s: no listing in its output", path)
	return nil
}

// TestZooKeeperBroker: with zookeeper.connect (and a chroot), a broker
// keeps its metadata in a real ZooKeeper in Kafka's layout, which
// zkCli.sh reads back: its ephemeral /brokers/ids/<id> (Kafka's version 5
// document), /cluster/id, and a created topic's assignment and config.
// Records survive a restart that recovers the metadata from ZooKeeper; a
// second broker with the same broker.id refuses to start, saying why;
// a clean stop removes the registration.
func TestZooKeeperBroker(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Addr + "/kafka-e2e"
	b := startBroker(t, "zookeeper.connect="+connect, "broker.id=1", "broker.rack=rack-a", "zookeeper.session.timeout.ms=6000")
	const topic, n = "zk-topic", 300
	createTopic(t, b, topic, 3)
	acked := produceSeqs(t, b, topic, topic, 0, n)

	ids := zkChildren(t, zk, "/kafka-e2e/brokers/ids")
	if !reflect.DeepEqual(ids, []string{"1"}) {
		t.Fatalf("zkCli.sh ls /kafka-e2e/brokers/ids: got %v; want [1]", ids)
	}
	reg := zkDoc(t, zk, "/kafka-e2e/brokers/ids/1")
	host, port, _ := strings.Cut(b.addr, ":")
	portNum, _ := strconv.Atoi(port)
	for k, want := range map[string]any{"version": 5.0, "host": host, "port": float64(portNum), "jmx_port": -1.0, "rack": "rack-a",
		"endpoints": []any{"PLAINTEXT://" + b.addr}, "listener_security_protocol_map": map[string]any{"PLAINTEXT": "PLAINTEXT"}} {
		if !reflect.DeepEqual(reg[k], want) {
			t.Errorf("/brokers/ids/1 %q: got %v; want %v (document %v)", k, reg[k], want, reg)
		}
	}
	if ts, err := strconv.ParseInt(reg["timestamp"].(string), 10, 64); err != nil || time.Since(time.UnixMilli(ts)) > 5*time.Minute {
		t.Errorf("/brokers/ids/1 timestamp: got %v; want the registration time in milliseconds", reg["timestamp"])
	}
	if id := zkDoc(t, zk, "/kafka-e2e/cluster/id"); id["version"] != "1" || id["id"] == "" {
		t.Errorf("/cluster/id: got %v; want version \"1\" and an id", id)
	}
	assign := zkDoc(t, zk, "/kafka-e2e/brokers/topics/"+topic)
	if want := map[string]any{"0": []any{1.0}, "1": []any{1.0}, "2": []any{1.0}}; !reflect.DeepEqual(assign["partitions"], want) || assign["version"] != 3.0 {
		t.Errorf("/brokers/topics/%s: got %v; want version 3 with partitions %v", topic, assign, want)
	}
	if cfg := zkDoc(t, zk, "/kafka-e2e/config/topics/"+topic); cfg["version"] != 1.0 {
		t.Errorf("/config/topics/%s: got %v; want version 1", topic, cfg)
	}

	// The same broker.id again: refused, with the reason.
	dup := exec.Command(brokerBin, "--override", "listeners=PLAINTEXT://"+freeAddr(t), "--override", "log.dirs="+t.TempDir(),
		"--override", "zookeeper.connect="+connect, "--override", "broker.id=1")
	timer := time.AfterFunc(brokerStartTimeout, func() { dup.Process.Kill() })
	out, err := dup.CombinedOutput()
	timer.Stop()
	if err == nil || !strings.Contains(string(out), "broker.id 1 is registered already") {
		t.Errorf("a second broker with broker.id 1: got exit %v; want a refusal naming the id, output:\n%s", err, out)
	}

	// A restart recovers topics from ZooKeeper and serves every record.
	b.Stop()
	if ids := zkChildren(t, zk, "/kafka-e2e/brokers/ids"); len(ids) != 0 {
		t.Errorf("/brokers/ids after a clean stop: got %v; want none (the session ended)", ids)
	}
	b.Restart()
	got := consumeAll(t, b, topic, 30*time.Second)
	checkLog(t, "after a restart from ZooKeeper", got, expect{tag: topic, acked: acked, exactly: n})
	if ids := zkChildren(t, zk, "/kafka-e2e/brokers/ids"); !reflect.DeepEqual(ids, []string{"1"}) {
		t.Errorf("/brokers/ids after the restart: got %v; want [1]", ids)
	}
}

// TestZooKeeperLateEnsemble: a broker whose ensemble is unreachable at
// start keeps retrying, logging each attempt, and serves no client until
// ZooKeeper comes up and it registered; then it works.
func TestZooKeeperLateEnsemble(t *testing.T) {
	zktest.Require(t)
	zkAddr := freeAddr(t)
	_, portStr, _ := strings.Cut(zkAddr, ":")
	port, _ := strconv.Atoi(portStr)
	b := startBroker(t, "zookeeper.connect="+zkAddr, "zookeeper.connection.timeout.ms=300", "zookeeper.session.timeout.ms=6000")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.logTail(), "retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged within 20s with ZooKeeper down:\n%s", b.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !b.running() {
		t.Fatalf("the broker exited while ZooKeeper was down:\n%s", b.logTail())
	}
	cl := newClient(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := cl.Ping(ctx)
	cancel()
	if err == nil {
		t.Errorf("a client request while ZooKeeper is down: answered; want no answer until the broker registered")
	}
	zk := zktest.StartOn(t, port)
	createTopic(t, b, "late", 2)
	acked := produceSeqs(t, b, "late", "late", 0, 50)
	checkLog(t, "after ZooKeeper came up", consumeAll(t, b, "late", 30*time.Second), expect{tag: "late", acked: acked, exactly: 50})
	if ids := zkChildren(t, zk, "/brokers/ids"); !reflect.DeepEqual(ids, []string{"0"}) {
		t.Errorf("/brokers/ids: got %v; want [0]", ids)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/internal/zktest"
	"cloudkafka/realio"
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

// waitServing waits until the broker answers a request: it listens from
// the start, but serves only once it registered.
func waitServing(t *testing.T, b *broker) {
	t.Helper()
	cl := newClient(t, b)
	deadline := time.Now().Add(60 * time.Second)
	for { // a client's own read timeout may end one attempt before registration does
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := cl.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker did not answer within 60s: %v\n%s", err, b.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
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

// TestZooKeeperSessionExpiry: when the ensemble expires the broker's
// session (here: the broker process is stopped for twice its session
// timeout, as a long pause would), the broker registers again on a new
// session once it runs again, and serves.
func TestZooKeeperSessionExpiry(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, "zookeeper.connect="+zk.Addr, "broker.id=4", "zookeeper.session.timeout.ms=3000")
	waitServing(t, b) // it serves once registered
	cl, err := realio.DialZooKeeper(realio.ZooKeeperConfig{Connect: zk.Addr, SessionTimeout: 6 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connecting to ZooKeeper: %v", err)
	}
	defer cl.Close()
	owner := func() int64 {
		res := cl.Apply(core.CoordOp{Kind: core.CoordExists, Path: "/brokers/ids/4"})
		if res.Err != nil {
			return 0
		}
		return res.Stat.EphemeralOwner
	}
	first := owner()
	if first == 0 {
		t.Fatalf("/brokers/ids/4 is missing after the broker started")
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(6 * time.Second)
	gone := owner()
	b.cmd.Process.Signal(syscall.SIGCONT)
	if gone != 0 {
		t.Fatalf("/brokers/ids/4 after the session timeout passed: still owned by session 0x%x; want it expired", gone)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if o := owner(); o != 0 && o != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/brokers/ids/4: not registered on a new session 30s after the pause\n%s", b.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for log := b.logTail(); !strings.Contains(log, "new session") || !strings.Contains(log, "registered again"); log = b.logTail() {
		if time.Now().After(deadline) {
			t.Fatalf("broker log: want the new session and the registration logged:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	createTopic(t, b, "after-expiry", 1)
	acked := produceSeqs(t, b, "after-expiry", "after-expiry", 0, 20)
	checkLog(t, "after a session expiry", consumeAll(t, b, "after-expiry", 30*time.Second), expect{tag: "after-expiry", acked: acked, exactly: 20})
}

// TestZooKeeperIDTakenWhilePaused: a broker whose session expired while
// it was paused, and whose broker.id another broker registered meanwhile,
// stops (exit status 1) when it finds the id taken; the other keeps it.
func TestZooKeeperIDTakenWhilePaused(t *testing.T) {
	zk := zktest.Start(t)
	a := startBroker(t, "zookeeper.connect="+zk.Addr, "broker.id=5", "zookeeper.session.timeout.ms=3000")
	waitServing(t, a)
	a.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(6 * time.Second) // the session expires; /brokers/ids/5 goes
	b := startBroker(t, "zookeeper.connect="+zk.Addr, "broker.id=5", "zookeeper.session.timeout.ms=3000")
	waitServing(t, b)
	a.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-a.exited:
		if a.waitErr == nil || !strings.Contains(a.logTail(), "broker.id 5 is registered already") {
			t.Errorf("the paused broker: exit %v; want exit status 1 naming broker.id 5\n%s", a.waitErr, a.logTail())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the paused broker still runs 30s after it resumed with its id taken\n%s", a.logTail())
	}
	waitServing(t, b)
	if ids := zkChildren(t, zk, "/brokers/ids"); !reflect.DeepEqual(ids, []string{"5"}) {
		t.Errorf("/brokers/ids: got %v; want [5] (the second broker's)", ids)
	}
}

// TestZooKeeperBrokersListEachOther: brokers registered in one ensemble
// list each other, with their racks, in Metadata and DescribeCluster,
// and a broker that stops drops out of the others' lists.
func TestZooKeeperBrokersListEachOther(t *testing.T) {
	zk := zktest.Start(t)
	a := startBroker(t, "zookeeper.connect="+zk.Addr+"/pair", "broker.id=1", "broker.rack=ra")
	b := startBroker(t, "zookeeper.connect="+zk.Addr+"/pair", "broker.id=2", "broker.rack=rb")
	waitServing(t, a)
	waitServing(t, b)
	cl := newClient(t, a)
	listed := func() string { // a request of its own: kadm would read kgo's cached metadata
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("Metadata from broker 1: %v", err)
		}
		var out []string
		for _, br := range md.Brokers {
			rack := ""
			if br.Rack != nil {
				rack = *br.Rack
			}
			out = append(out, fmt.Sprintf("%d@%s:%d/%s", br.NodeID, br.Host, br.Port, rack))
		}
		return strings.Join(out, " ")
	}
	want := fmt.Sprintf("1@%s/ra 2@%s/rb", a.addr, b.addr)
	var got string
	waitFor(t, 15*time.Second, "broker 1 to list both brokers", func() bool { got = listed(); return got == want })

	req := kmsg.NewPtrDescribeClusterRequest()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	resp, err := req.RequestWith(ctx, newClient(t, b))
	cancel()
	if err != nil || resp.ErrorCode != 0 || len(resp.Brokers) != 2 || resp.Brokers[0].NodeID != 1 || resp.Brokers[1].NodeID != 2 {
		t.Errorf("DescribeCluster from broker 2: got %+v, %v; want brokers 1 and 2", resp, err)
	}

	b.Stop()
	want = fmt.Sprintf("1@%s/ra", a.addr)
	waitFor(t, 15*time.Second, "broker 1 to drop the stopped broker", func() bool { got = listed(); return got == want })
}

// TestZooKeeperControllerFailover: of two brokers in one ensemble one is
// the controller (/controller, Kafka's document; /controller_epoch 1),
// and both report it in Metadata; SIGKILL of the controller makes the
// other the controller, with the next epoch, within the session timeout
// plus a bound.
func TestZooKeeperControllerFailover(t *testing.T) {
	zk := zktest.Start(t)
	const sessionMs = 3000
	props := []string{"zookeeper.connect=" + zk.Addr, fmt.Sprintf("zookeeper.session.timeout.ms=%d", sessionMs)}
	a := startBroker(t, append(props, "broker.id=1")...)
	waitServing(t, a)
	b := startBroker(t, append(props, "broker.id=2")...)
	waitServing(t, b)
	controllerOf := func(br *broker) int32 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, newClient(t, br))
		if err != nil {
			t.Fatalf("Metadata from %s: %v", br.addr, err)
		}
		return md.ControllerID
	}
	// broker 2 learns of the controller just after it registered
	waitFor(t, 10*time.Second, "brokers 1 and 2 to report broker 1 as the controller", func() bool { return controllerOf(a) == 1 && controllerOf(b) == 1 })
	ctl := zkDoc(t, zk, "/controller")
	if ctl["brokerid"] != 1.0 || ctl["version"] != 2.0 {
		t.Errorf("/controller: got %v; want Kafka's version 2 document naming broker 1", ctl)
	}
	epochLine := func() string {
		for _, l := range zk.Cli(t, "get", "/controller_epoch") {
			if _, err := strconv.Atoi(l); err == nil {
				return l
			}
		}
		return ""
	}
	if e := epochLine(); e != "1" {
		t.Errorf("/controller_epoch: got %q; want 1", e)
	}

	start := time.Now()
	a.Kill()
	bound := time.Duration(sessionMs)*time.Millisecond + 10*time.Second
	waitFor(t, bound, "broker 2 to become the controller", func() bool { return controllerOf(b) == 2 })
	t.Logf("controller failover after SIGKILL: %v (session timeout %dms)", time.Since(start).Round(time.Millisecond), sessionMs)
	if e := epochLine(); e != "2" {
		t.Errorf("/controller_epoch after the failover: got %q; want 2", e)
	}
	for _, br := range []*broker{a, b} {
		id := map[*broker]int{a: 1, b: 2}[br]
		if want := fmt.Sprintf("broker %d is the controller (controller epoch %d)", id, id); !strings.Contains(br.logTail(), want) {
			t.Errorf("broker %d's log does not say %q:\n%s", id, want, br.logTail())
		}
	}
}

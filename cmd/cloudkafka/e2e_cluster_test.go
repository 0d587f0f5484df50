package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/internal/zktest"
	"cloudkafka/realio"
)

// cluster is three brokers (ids 1-3) of one ensemble.
type cluster struct {
	zk      *zktest.Server
	brokers []*broker
}

func startCluster(t *testing.T, sessionMs int, overrides ...string) *cluster {
	return startClusterWith(t, sessionMs, nil, overrides...)
}

// startClusterWith is startCluster with properties of each broker's
// own: perBroker, if not nil, gives more key=value overrides for the
// broker with that id, which will listen on addr.
func startClusterWith(t *testing.T, sessionMs int, perBroker func(id int, addr string) []string, overrides ...string) *cluster {
	c := &cluster{zk: zktest.Start(t)}
	for id := 1; id <= 3; id++ {
		addr := freeAddr(t)
		props := append([]string{"zookeeper.connect=" + c.zk.Addr, "broker.id=" + strconv.Itoa(id),
			fmt.Sprintf("zookeeper.session.timeout.ms=%d", sessionMs)}, overrides...)
		if perBroker != nil {
			props = append(props, perBroker(id, addr)...)
		}
		c.brokers = append(c.brokers, startBrokerAt(t, addr, props...))
	}
	for _, b := range c.brokers {
		waitServing(t, b)
	}
	return c
}

// metadata asks broker b for the cluster's metadata with a request of
// its own (kadm would read kgo's cached metadata).
func metadataFrom(t *testing.T, b *broker, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	for _, n := range topics {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, mt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := newClient(t, b)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata from %s: %v", b.addr, err)
	}
	return resp
}

// leaders maps each partition of topic to its leader, as broker b says;
// ok is false while a partition has none.
func leaders(t *testing.T, b *broker, topic string) (map[int32]int32, bool) {
	md := metadataFrom(t, b, topic)
	out := map[int32]int32{}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return out, false
	}
	ok := len(md.Topics[0].Partitions) > 0
	for _, p := range md.Topics[0].Partitions {
		out[p.Partition] = p.Leader
		ok = ok && p.ErrorCode == 0 && p.Leader >= 0
	}
	return out, ok
}

// createVia creates topic through broker b itself (franz-go would send
// it to the controller).
func createVia(t *testing.T, b *broker, topic string, partitions int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, rt)
	cl := newClient(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	md := metadataFrom(t, b)
	var id int32 = -1
	for _, br := range md.Brokers {
		if br.Host+":"+strconv.Itoa(int(br.Port)) == b.addr {
			id = br.NodeID
		}
	}
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics %s through broker %d: %+v, %v", topic, id, resp, err)
	}
}

// TestClusterOfThree: three brokers and a real ZooKeeper. Topics created
// through each broker spread their partitions' leadership over all
// three; franz-go and kcat, given one seed broker, produce to and
// consume every partition; the partition state znodes are Kafka's
// documents. SIGKILL of a broker leaves its partitions without a leader
// (one replica each, as in Kafka) while the others serve; restarted, it
// serves them again with every acknowledged record. SIGKILL of the
// controller: another broker takes over, and topics can be created.
func TestClusterOfThree(t *testing.T) {
	const sessionMs = 3000
	c := startCluster(t, sessionMs)
	seed := c.brokers[0]
	// One cluster, one id: the one in /cluster/id, whichever broker
	// created it.
	clusterID := zkDoc(t, c.zk, "/cluster/id")["id"]
	for i, b := range c.brokers {
		got := "<none>"
		if md := metadataFrom(t, b); md.ClusterID != nil {
			got = *md.ClusterID
		}
		if got != clusterID {
			t.Errorf("broker %d's Metadata names cluster %s; want %v, the id in /cluster/id", i+1, got, clusterID)
		}
	}
	for i, b := range c.brokers {
		topic := fmt.Sprintf("spread-%d", i+1)
		createVia(t, b, topic, 6)
		// the broker that took the request knows at once; the others as
		// soon as the controller's UpdateMetadata reaches them
		var lead map[int32]int32
		waitFor(t, 10*time.Second, topic+" led as broker 1 sees it", func() bool {
			var ok bool
			lead, ok = leaders(t, seed, topic)
			return ok
		})
		count := map[int32]int{}
		for _, l := range lead {
			count[l]++
		}
		if len(count) != 3 || count[1] != 2 || count[2] != 2 || count[3] != 2 {
			t.Errorf("%s created through broker %d: leaders %v; want two partitions on each of brokers 1-3", topic, i+1, lead)
		}
	}

	// franz-go through one seed broker, every partition.
	acked := produceSeqs(t, seed, "spread-1", "kgo", 0, 600)
	checkLog(t, "spread-1 read through broker 1", consumeAll(t, seed, "spread-1", 60*time.Second), expect{tag: "kgo", acked: acked, exactly: 600})

	// kcat (librdkafka) through broker 3 alone.
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	var in strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&in, "key-%d:line-%03d\n", i, i) // keyed: spread over the partitions
	}
	runTool(t, 60*time.Second, in.String(), "kcat", "-b", c.brokers[2].addr, "-P", "-t", "spread-2", "-K:")
	out := runTool(t, 60*time.Second, "", "kcat", "-b", c.brokers[2].addr, "-C", "-t", "spread-2", "-o", "beginning", "-e", "-f", "%p %s\n")
	parts := map[string]bool{}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if p, v, ok := strings.Cut(line, " "); ok && strings.HasPrefix(v, "line-") {
			parts[p] = true
			lines++
		}
	}
	if lines != 60 || len(parts) < 3 {
		t.Errorf("kcat through broker 3: read %d lines from partitions %v; want 60 over several partitions", lines, parts)
	}

	// Kafka's partition state document.
	state := zkDoc(t, c.zk, "/brokers/topics/spread-1/partitions/0/state")
	lead, _ := leaders(t, seed, "spread-1")
	if state["version"] != 1.0 || state["leader"] != float64(lead[0]) || state["leader_epoch"] != 0.0 ||
		fmt.Sprint(state["isr"]) != fmt.Sprintf("[%d]", lead[0]) || state["controller_epoch"] == nil {
		t.Errorf("/brokers/topics/spread-1/partitions/0/state: got %v; want Kafka's version 1 document with leader %d", state, lead[0])
	}

	// A broker that is not the controller dies: its partitions have no
	// leader until it returns; the others are served meanwhile.
	ctl := metadataFrom(t, seed).ControllerID
	victim := c.brokers[0]
	for _, b := range c.brokers {
		if id := int32(slices.Index(c.brokers, b) + 1); id != ctl && b != seed {
			victim = b
		}
	}
	victimID := int32(slices.Index(c.brokers, victim) + 1)
	victim.Kill()
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+15*time.Second, "the dead broker's partitions to lose their leader", func() bool {
		md := metadataFrom(t, seed, "spread-1")
		for _, p := range md.Topics[0].Partitions {
			if lead[p.Partition] == victimID && p.Leader != -1 {
				return false
			}
		}
		return true
	})
	victim.Restart()
	waitServing(t, victim)
	waitFor(t, 30*time.Second, "the restarted broker to lead its partitions again", func() bool {
		got, ok := leaders(t, seed, "spread-1")
		return ok && fmt.Sprint(got) == fmt.Sprint(lead)
	})
	checkLog(t, "spread-1 after broker "+strconv.Itoa(int(victimID))+" restarted", consumeAll(t, seed, "spread-1", 60*time.Second),
		expect{tag: "kgo", acked: acked, exactly: 600})

	// The controller dies: another broker takes over, and topics can
	// still be created.
	var ctlBroker, other *broker
	for i, b := range c.brokers {
		if int32(i+1) == ctl {
			ctlBroker = b
		} else if b != victim {
			other = b
		}
	}
	if ctlBroker == nil || other == nil {
		t.Fatalf("controller %d: no such broker among 1-3", ctl)
	}
	start := time.Now()
	ctlBroker.Kill()
	// Also until the killed broker is gone from the metadata: the new
	// controller learns of its deregistration from its own watch, and a
	// topic created before then may put partitions on it, which never
	// get a leader (CreateTopics then times out, as Kafka's does).
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+15*time.Second, "another broker to become the controller, without the killed one", func() bool {
		md := metadataFrom(t, other)
		for _, br := range md.Brokers {
			if br.NodeID == ctl {
				return false
			}
		}
		return md.ControllerID != -1 && md.ControllerID != ctl
	})
	t.Logf("controller failover after SIGKILL of broker %d: %v", ctl, time.Since(start).Round(time.Millisecond))
	createVia(t, other, "after-failover", 4)
	if got, ok := leaders(t, other, "after-failover"); !ok {
		t.Errorf("after-failover: partitions without a leader: %v", got)
	}
	acked2 := produceSeqs(t, other, "after-failover", "late", 0, 100)
	checkLog(t, "after-failover", consumeAll(t, other, "after-failover", 60*time.Second), expect{tag: "late", acked: acked2, exactly: 100})
}

// TestClusterClients: through one seed broker each, sarama and
// confluent-kafka-python (librdkafka) produce to every partition of
// topics spread over three brokers, and a consumer group of each (its
// coordinator one broker, the partitions' leaders all three) consumes
// every acknowledged record.
func TestClusterClients(t *testing.T) {
	py, err := pythonWithConfluent()
	requireTool(t, "python3 with confluent_kafka", err)
	captureSaramaLog(t)
	c := startCluster(t, 6000, groupOverrides...)
	b1, b2, b3 := c.brokers[0], c.brokers[1], c.brokers[2]
	createVia(t, b1, "clients", 6)
	createVia(t, b3, "python", 6)
	for _, topic := range []string{"clients", "python"} {
		waitFor(t, 10*time.Second, topic+" led as every broker sees it", func() bool {
			for _, b := range c.brokers {
				if _, ok := leaders(t, b, topic); !ok {
					return false
				}
			}
			return true
		})
	}

	// sarama through broker 2
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Metadata.Retry.Max = 10
	producer, err := sarama.NewSyncProducer([]string{b2.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	const n = 600
	acked := map[int]pos{}
	parts := map[int32]bool{}
	for seq := 0; seq < n; seq++ {
		p, o, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "clients", Key: sarama.StringEncoder("k" + strconv.Itoa(seq)),
			Value: sarama.StringEncoder(seqValue("clients", seq))})
		if err != nil {
			producer.Close()
			t.Fatalf("sarama SendMessage seq %d through broker 2: %v", seq, err)
		}
		acked[seq], parts[p] = pos{p, o}, true
	}
	producer.Close()
	if len(parts) != 6 {
		t.Errorf("sarama wrote to partitions %v; want all six", parts)
	}

	// a sarama group through broker 3 consumes them all
	got := newConsumed()
	m := startSarama(t, b3, "cluster-group", "clients", "sarama-member", got)
	ends := endOffsets(t, b1, "clients")
	waitFor(t, groupWait, "the group to consume every partition up to its end", func() bool { return got.reached(ends) })
	m.stop(t)
	checkConsumed(t, "sarama group across three brokers", got.records(), "clients", acked, nil, ends)

	// confluent-kafka-python through broker 3
	out := runTool(t, 90*time.Second, "", py, "-c", confluentProducerScript, b3.addr, "python", strconv.Itoa(n))
	var res struct {
		Left       int      `json:"left"`
		ErrorCount int      `json:"error_count"`
		Reports    [][3]any `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Left != 0 || res.ErrorCount != 0 {
		t.Fatalf("confluent_kafka through broker 3: %v, %d undelivered, %d errors", err, res.Left, res.ErrorCount)
	}
	pyAcked := map[int]pos{}
	pyParts := map[int32]bool{}
	for _, r := range res.Reports {
		v, _ := r[0].(string)
		p, _ := r[1].(float64)
		o, _ := r[2].(float64)
		if seq, ok := parseSeq("python", []byte(v)); ok {
			pyAcked[seq], pyParts[int32(p)] = pos{int32(p), int64(o)}, true
		}
	}
	if len(pyAcked) != n || len(pyParts) < 3 {
		t.Errorf("confluent_kafka delivery reports: %d distinct over partitions %v; want %d over several", len(pyAcked), pyParts, n)
	}
	checkLog(t, "python read through broker 1", consumeAll(t, b1, "python", 60*time.Second), expect{tag: "python", acked: pyAcked, exactly: n})

	// and a confluent-kafka-python group through broker 2 reads them all
	pyGot := newConsumed()
	pm := startPython(py, confluentGroupScript)(t, b2, "py-group", "python", "py-member", pyGot)
	pyEnds := endOffsets(t, b1, "python")
	waitFor(t, groupWait, "the python group to consume every partition up to its end", func() bool { return pyGot.reached(pyEnds) })
	pm.stop(t)
	checkConsumed(t, "confluent-kafka-python group across three brokers", pyGot.records(), "python", pyAcked, nil, pyEnds)
}

// clusterFailovers is how many kills TestClusterFailoverTimes measures:
// one in CI (it checks the bounds), five to report medians:
//
//	go test ./cmd/cloudkafka -run TestClusterFailoverTimes -cluster.failovers 5 -v
var clusterFailovers = flag.Int("cluster.failovers", 1, "SIGKILLs of the controller, and of a broker, TestClusterFailoverTimes times")

// TestClusterFailoverTimes times, on three brokers with a 3 s session
// timeout: the controller's SIGKILL until another broker reports itself
// controller; and a broker's return (started again once its session
// expired) until its partitions have their leader again. Each must
// stay within the session timeout plus 10 s; the medians are logged.
func TestClusterFailoverTimes(t *testing.T) {
	const sessionMs = 3000
	c := startCluster(t, sessionMs)
	createVia(t, c.brokers[0], "timed", 6)
	var failovers, returns []time.Duration
	bound := time.Duration(sessionMs)*time.Millisecond + 10*time.Second
	for i := 0; i < *clusterFailovers; i++ {
		var ctl *broker
		var other *broker
		waitFor(t, bound, "a controller", func() bool {
			id := metadataFrom(t, c.brokers[i%3]).ControllerID
			ctl = nil
			if id >= 1 && id <= 3 {
				ctl = c.brokers[id-1]
			}
			return ctl != nil
		})
		for _, b := range c.brokers {
			if b != ctl {
				other = b
			}
		}
		start := time.Now()
		ctl.Kill()
		waitFor(t, bound, "another broker to become the controller", func() bool {
			id := metadataFrom(t, other).ControllerID
			return id >= 1 && c.brokers[id-1] != ctl
		})
		failovers = append(failovers, time.Since(start))
		// The killed broker comes back (its session expired: another
		// broker won /controller) and its partitions are led again.
		start = time.Now()
		ctl.Restart()
		waitFor(t, bound, "the returned broker's partitions to be led again", func() bool {
			_, ok := leaders(t, other, "timed")
			return ok
		})
		returns = append(returns, time.Since(start))
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2].Round(time.Millisecond)
	}
	t.Logf("controller failover after SIGKILL: median %v of %v (session timeout %dms)", median(failovers), failovers, sessionMs)
	t.Logf("leaders back after a broker's return: median %v of %v", median(returns), returns)
}

// TestClusterMalformedZnodes: znodes written by hand that do not parse
// (a topic's assignment, a partition's state) crash nothing: the
// controller skips the topic and elects the partition again, rewriting
// its state as Kafka's document, and the cluster goes on serving.
func TestClusterMalformedZnodes(t *testing.T) {
	c := startCluster(t, 6000)
	b := c.brokers[0]
	createVia(t, b, "good", 3)
	waitFor(t, 10*time.Second, "good led", func() bool { _, ok := leaders(t, b, "good"); return ok })
	c.zk.Cli(t, "set", "/brokers/topics/good/partitions/1/state", "garbage{")
	c.zk.Cli(t, "create", "/brokers/topics/bad", "not-json") // fires the controller's watch: it reloads
	waitFor(t, 15*time.Second, "the malformed state rewritten as Kafka's document", func() bool {
		for _, l := range c.zk.Cli(t, "get", "/brokers/topics/good/partitions/1/state") {
			if strings.HasPrefix(l, "{") && strings.Contains(l, `"leader_epoch"`) {
				return true
			}
		}
		return false
	})
	createVia(t, c.brokers[1], "after-garbage", 3)
	acked := produceSeqs(t, b, "after-garbage", "ag", 0, 30)
	checkLog(t, "after-garbage", consumeAll(t, b, "after-garbage", 30*time.Second), expect{tag: "ag", acked: acked, exactly: 30})
	if _, ok := leaders(t, b, "bad"); ok {
		t.Errorf("the malformed topic bad: listed with leaders; want it skipped")
	}
	for _, br := range c.brokers {
		if !br.running() {
			t.Errorf("broker %s stopped after the malformed znodes:\n%s", br.addr, br.logTail())
		}
	}
}

// TestClusterControlledShutdown: SIGTERM of a broker that is not the
// controller makes a controlled shutdown before it stops: its log says it
// succeeded, the controller's that it accepted it, and the process exits
// 0. Its partitions (one replica each) then have no leader, as in Kafka,
// while the others are served; restarted, it leads them again with every
// acknowledged record.
func TestClusterControlledShutdown(t *testing.T) {
	c := startCluster(t, 6000)
	seed := c.brokers[0]
	createVia(t, seed, "cs", 6)
	var lead map[int32]int32
	waitFor(t, 10*time.Second, "cs led as broker 1 sees it", func() bool {
		var ok bool
		lead, ok = leaders(t, seed, "cs")
		return ok
	})
	acked := produceSeqs(t, seed, "cs", "cs", 0, 300)
	ctl := metadataFrom(t, seed).ControllerID
	var victim, other *broker
	var victimID int32
	for i, b := range c.brokers {
		switch id := int32(i + 1); {
		case id == ctl:
		case victim == nil && b != seed:
			victim, victimID = b, id
		default:
			other = b
		}
	}
	if victim == nil || other == nil || ctl < 1 || ctl > 3 {
		t.Fatalf("controller %d: want one of brokers 1-3, and two others", ctl)
	}
	victim.Stop() // SIGTERM; fails the test unless it exits 0 in time
	if log := wholeLog(t, victim); !strings.Contains(log, "controlled shutdown succeeded") {
		t.Errorf("broker %d's log after SIGTERM does not say the controlled shutdown succeeded:\n%s", victimID, victim.logTail())
	}
	accepted := fmt.Sprintf("controller: broker %d is shutting down: controlled shutdown accepted", victimID)
	if log := wholeLog(t, c.brokers[ctl-1]); !strings.Contains(log, accepted) {
		t.Errorf("the controller's (broker %d) log does not say %q:\n%s", ctl, accepted, c.brokers[ctl-1].logTail())
	}
	waitFor(t, 15*time.Second, "the stopped broker's partitions to lose their leader", func() bool {
		md := metadataFrom(t, other, "cs")
		for _, p := range md.Topics[0].Partitions {
			if lead[p.Partition] == victimID && p.Leader != -1 {
				return false
			}
		}
		return true
	})
	md := metadataFrom(t, other, "cs")
	for _, p := range md.Topics[0].Partitions {
		if want := lead[p.Partition]; want != victimID && p.Leader != want {
			t.Errorf("cs-%d while broker %d is stopped: leader %d; want still %d", p.Partition, victimID, p.Leader, want)
		}
	}
	victim.Restart()
	waitServing(t, victim)
	waitFor(t, 30*time.Second, "the restarted broker to lead its partitions again", func() bool {
		got, ok := leaders(t, other, "cs")
		return ok && fmt.Sprint(got) == fmt.Sprint(lead)
	})
	checkLog(t, "cs after broker "+strconv.Itoa(int(victimID))+" returned", consumeAll(t, other, "cs", 60*time.Second),
		expect{tag: "cs", acked: acked, exactly: 300})
}

// wholeLog returns everything b's processes logged so far.
func wholeLog(t *testing.T, b *broker) string {
	t.Helper()
	var sb strings.Builder
	for i := 1; i <= b.starts; i++ {
		data, err := os.ReadFile(filepath.Join(b.logDir, fmt.Sprintf("broker-%d.log", i)))
		if err != nil {
			t.Fatalf("reading broker log %d: %v", i, err)
		}
		sb.Write(data)
	}
	return sb.String()
}

// TestClusterControlledShutdownGivesUp: a broker whose controller cannot
// be reached (killed, its session not expired yet, so still named in
// /controller) tries controlled.shutdown.max.retries times,
// controlled.shutdown.retry.backoff.ms apart, says it failed, and stops
// anyway with exit status 0.
func TestClusterControlledShutdownGivesUp(t *testing.T) {
	c := startCluster(t, 20000, "controlled.shutdown.max.retries=2", "controlled.shutdown.retry.backoff.ms=300")
	ctl := metadataFrom(t, c.brokers[0]).ControllerID
	if ctl < 1 || ctl > 3 {
		t.Fatalf("controller %d: want one of brokers 1-3", ctl)
	}
	victim := c.brokers[ctl%3] // the broker after the controller
	c.brokers[ctl-1].Kill()
	start := time.Now()
	victim.Stop() // fails the test unless it exits 0 in time
	took := time.Since(start)
	log := wholeLog(t, victim)
	for _, want := range []string{
		"controlled shutdown attempt 1 of 2 failed: sending to the controller, broker " + strconv.Itoa(int(ctl)),
		"retrying in 300 ms",
		"controlled shutdown failed after 2 attempts, shutting down anyway",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the stopping broker's log does not say %q:\n%s", want, victim.logTail())
		}
	}
	if strings.Contains(log, "controlled shutdown succeeded") {
		t.Errorf("the stopping broker's log says its controlled shutdown succeeded; want it failed:\n%s", victim.logTail())
	}
	// The core's clock is the last tick's reading (realio.TickInterval
	// old at most) when the signal arrives, so the backoff it waits may
	// end up to one tick interval before 300 ms of wall time have passed.
	if took < 300*time.Millisecond-realio.TickInterval {
		t.Errorf("stopped %v after SIGTERM; want at least the 300 ms backoff between the attempts (less one tick interval)", took)
	}
}

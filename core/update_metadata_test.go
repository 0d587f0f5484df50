package core_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// TestUpdateMetadataKeepsLeadersISR: a leader whose own ISR write is
// newer than the state an UpdateMetadata carries (same leader epoch, an
// older znode version, an ISR without the follower it added) keeps its
// ISR: the high watermark still waits for that follower. (Taking the
// older ISR let the high watermark pass a member the state znode holds,
// which could then be elected without the records.)
func TestUpdateMetadataKeepsLeadersISR(t *testing.T) {
	f := newEpochFixture(t)
	h := f.h
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/brokers/topics/t/partitions/0/state"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	ce, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: "/controller_epoch"})
	ctlEpoch, _ := strconv.Atoi(strings.TrimSpace(string(ce.Data)))
	req := kmsg.NewPtrUpdateMetadataRequest()
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = 1, int32(ctlEpoch), h.epochOf(1)
	ts := kmsg.NewUpdateMetadataRequestTopicState()
	ts.Topic, ts.TopicID = topicT, topicID(topicT)
	ps := kmsg.NewUpdateMetadataRequestTopicPartition()
	ps.Topic, ps.Partition, ps.ControllerEpoch, ps.Leader, ps.LeaderEpoch = topicT, 0, int32(ctlEpoch), 1, f.leaderEpoch(topicT)
	ps.ISR, ps.ZKVersion, ps.Replicas = []int32{1}, res.Stat.Version-1, []int32{1, 2}
	ts.PartitionStates = append(ts.PartitionStates, ps)
	req.TopicStates = append(req.TopicStates, ts)
	for _, id := range []int32{1, 2} {
		lb := kmsg.NewUpdateMetadataRequestLiveBroker()
		lb.ID = id
		ep := kmsg.NewUpdateMetadataRequestLiveBrokerEndpoint()
		ep.Host, ep.Port, ep.ListenerName = "peer-"+strconv.Itoa(int(id)), 9000+id, "PLAINTEXT"
		lb.Endpoints = append(lb.Endpoints, ep)
		req.LiveBrokers = append(req.LiveBrokers, lb)
	}
	seq := h.send(1, 8, req)
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.UpdateMetadataResponse); resp.ErrorCode != 0 {
		t.Fatalf("UpdateMetadata: %s", codeName(resp.ErrorCode))
	}
	f.produce(topicT, 1) // offset 6, not on broker 2 yet
	f.intact(t, topicT, 6)
	f.follow(topicT, 7, f.leaderEpoch(topicT)) // now it is
	f.intact(t, topicT, 7)
}

// TestFollowerRequestsDoNotWaitForMetadata: a broker that has not had
// the controller's first UpdateMetadata holds clients' requests, but
// answers followers' Fetch and OffsetForLeaderEpoch at once. A follower's
// request may share a connection with the controller's LeaderAndIsr,
// whose answer leaves after it; held, it held that answer, and the
// controller sends the UpdateMetadata that ends the wait only once the
// LeaderAndIsr is answered (a 4-broker simulator seed stalled there
// after a restart, request timeout after request timeout).
func TestFollowerRequestsDoNotWaitForMetadata(t *testing.T) {
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	// Broker 9 is the controller and has sent this broker nothing yet.
	tree := kio.NewZTree()
	if res, _ := tree.Apply(tree.OpenSession(), core.CoordOp{Kind: core.CoordCreate, Path: "/controller", Ephemeral: true,
		Data: []byte(`{"version":2,"brokerid":9,"timestamp":"0","kraftControllerEpoch":-1}`)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	rec := core.Recovered{CoordSession: tree.OpenSession()}
	b, err := core.New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, b: b, now: 1e12, logs: map[core.TopicPartition][][]byte{}, coord: tree, session: rec.CoordSession}
	h.exec(b.Startup(nil))
	h.deliverAll()
	h.tick(1)
	h.deliverAll()
	for _, l := range h.lifecycles {
		if l.Ready || l.Elected {
			t.Fatalf("fixture: broker 1 got %+v before any UpdateMetadata; want it waiting", l)
		}
	}

	follower := func(v int16) *kmsg.FetchRequest {
		req := fetchReq(topicT, 0, 0, 500, 1)
		if v >= 15 {
			req.ReplicaState.ID, req.ReplicaState.Epoch = 2, 1
		} else {
			req.ReplicaID = 2
		}
		return req
	}
	epochs := func(replica int32) *kmsg.OffsetForLeaderEpochRequest {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = replica
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = topicT
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, -1, 0
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
	answered := map[string]uint64{
		"follower Fetch v12":               h.send(2, 12, follower(12)),
		"follower Fetch v15":               h.send(3, 15, follower(15)),
		"follower OffsetForLeaderEpoch v4": h.send(4, 4, epochs(2)),
	}
	held := map[string]uint64{
		"consumer Fetch v12":               h.send(5, 12, fetchReq(topicT, 0, 0, 500, 1)),
		"consumer OffsetForLeaderEpoch v4": h.send(6, 4, epochs(-1)),
		"Metadata v9":                      h.send(7, 9, metadataReq()),
	}
	h.deliverAll()
	for _, what := range sortedNames(answered) {
		if h.response(answered[what]) == nil {
			t.Errorf("%s: got no answer before the first UpdateMetadata; want one at once", what)
		}
	}
	for _, what := range sortedNames(held) {
		if r := h.response(held[what]); r != nil {
			t.Errorf("%s: got %T before the first UpdateMetadata; want it held", what, r)
		}
	}
}

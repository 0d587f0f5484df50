package core_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
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

// TestReplicaRequestsNotHeldBeforeMetadata: until the controller's first
// UpdateMetadata, a broker holds clients' requests, but never a
// follower's replica fetch or epoch query: those share the link from the
// other broker with the controller's requests, which are answered in
// order, so one held would keep the controller's UpdateMetadata, the
// request that makes the broker ready, waiting behind it for good. (A
// broker restarted as the leader of partitions, and queried by a
// follower before the controller's metadata came, answered no one.)
func TestReplicaRequestsNotHeldBeforeMetadata(t *testing.T) {
	cfg := clusterBrokerConfig(t)
	// broker 2 is the controller, and sends broker 1 nothing here
	rec := core.Recovered{Znodes: []core.Znode{
		{Path: "/controller", Data: []byte(`{"version":2,"brokerid":2,"timestamp":"0","kraftControllerEpoch":-1}`)},
		{Path: "/controller_epoch", Data: []byte("1")},
	}}
	h := newHarnessFrom(t, cfg, rec)
	const clientConn, peerConn = 1, 2
	metadata := h.send(clientConn, 12, kmsg.NewPtrMetadataRequest())
	consumerQuery := h.send(clientConn, 3, epochQuery(-1))
	h.deliverAll()
	if h.response(metadata) != nil {
		t.Fatal("fixture: a client's Metadata was answered before the controller's metadata came")
	}

	followerFetch := fetchReq(topicT, 0, 0, 0, 1)
	followerFetch.ReplicaID = 2
	stateFetch := fetchReq(topicT, 0, 0, 0, 1)
	stateFetch.ReplicaID, stateFetch.ReplicaState.ID, stateFetch.ReplicaState.Epoch = -1, 2, h.epochOf(1)
	stateFetch.Topics[0].TopicID = topicID(topicT)
	for _, tc := range []struct {
		what string
		v    int16
		req  kmsg.Request
	}{
		{"a follower's OffsetForLeaderEpoch", 3, epochQuery(2)},
		{"a follower's Fetch (ReplicaID)", 12, followerFetch},
		{"a follower's Fetch (ReplicaState)", 15, stateFetch},
	} {
		seq := h.send(peerConn, tc.v, tc.req)
		h.deliverAll()
		if h.response(seq) == nil {
			t.Errorf("%s before the controller's metadata: no response; want one at once", tc.what)
		}
	}
	if h.response(consumerQuery) != nil {
		t.Errorf("a consumer's OffsetForLeaderEpoch before the controller's metadata: answered; want it held")
	}
}

// epochQuery is an OffsetForLeaderEpoch for t-0 at leader epoch 0 from
// replica (-1: a consumer).
func epochQuery(replica int32) *kmsg.OffsetForLeaderEpochRequest {
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

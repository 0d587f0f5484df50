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

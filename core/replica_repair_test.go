package core_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// TestFollowerRepairByOwnEpochEnd: a follower whose log has epoch 15 from
// offset 20 and then its own epoch 17 from 30 (written while it led, and
// never replicated) asks its new leader where epoch 17 ends; the leader
// never had epoch 17 and answers that its epoch 15 ends at 36. The
// follower has epoch 15 too, but its epoch 15 ends at 30: it truncates
// to 30, the smaller of the two ends (Kafka's
// AbstractFetcherThread.getOffsetTruncationState), not to 36, which
// would keep its epoch-17 records at 30-35 where the leader has others.
func TestFollowerRepairByOwnEpochEnd(t *testing.T) {
	tp := core.TopicPartition{Topic: "t", Partition: 0}
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	// t-0 on brokers 2 and 1, last led by broker 2 at epoch 18 with the
	// ISR [2]: offline until broker 2 registers.
	var uuid [16]byte
	uuid[15] = 1
	topicDoc := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":{"0":[2,1]},"adding_replicas":{},"removing_replicas":{}}`,
		base64.RawURLEncoding.EncodeToString(uuid[:]))
	rec := core.Recovered{
		Znodes: []core.Znode{{Path: "/brokers/topics/t", Data: []byte(topicDoc)},
			{Path: "/brokers/topics/t/partitions/0/state", Data: []byte(`{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":18,"isr":[2]}`)}},
		Partitions: []core.RecoveredPartition{{Partition: tp, LogEndOffset: 36, LeaderEpoch: 17,
			Epochs: []core.EpochStart{{Epoch: 15, Start: 20}, {Epoch: 17, Start: 30}}}}}
	h := newHarnessFrom(t, cfg, rec)
	var asked []int32
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		req, ok := ps.Request.(*kmsg.OffsetForLeaderEpochRequest)
		if !ok || ps.Broker != 2 {
			return core.PeerResponse{Err: errDisk}
		}
		resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewOffsetForLeaderEpochResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				asked = append(asked, rp.LeaderEpoch)
				p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				p.Partition, p.LeaderEpoch, p.EndOffset = rp.Partition, 15, 36
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return core.PeerResponse{Response: resp}
	}
	h.register(h.coord.OpenSession(), 2)
	h.tick(100)
	h.deliverAll()
	if leader, _, _ := h.partitionState("t", 0); leader != 2 {
		t.Fatalf("t-0 led by %d; want 2", leader)
	}
	if len(asked) == 0 || asked[0] != 17 {
		t.Fatalf("the follower asked about epochs %v; want 17 first (its latest)", asked)
	}
	if len(h.truncates) != 1 || h.truncates[0].Partition != tp || h.truncates[0].Offset != 30 {
		t.Fatalf("truncations: %+v; want one of t-0 to 30 (where its own epoch 15 ends)", h.truncates)
	}
}

// TestFollowerDropsEpochLeaderNeverHad: a follower's log has epoch 15
// from offset 20 and then epoch 90 from 30, a partition leader epoch a
// damaged batch header gave it (no CRC covers the field), while its
// leader leads at epoch 18. Asked where epoch 90 ends, the leader
// answers UNDEFINED (every epoch it knows is older), and will each time.
// The follower cuts its log where epoch 90 starts, asks about epoch 15,
// its latest then, and fetches from 30, instead of asking about 90
// forever and never fetching again.
func TestFollowerDropsEpochLeaderNeverHad(t *testing.T) {
	tp := core.TopicPartition{Topic: "t", Partition: 0}
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	var uuid [16]byte
	uuid[15] = 1
	topicDoc := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":{"0":[2,1]},"adding_replicas":{},"removing_replicas":{}}`,
		base64.RawURLEncoding.EncodeToString(uuid[:]))
	rec := core.Recovered{
		Znodes: []core.Znode{{Path: "/brokers/topics/t", Data: []byte(topicDoc)},
			{Path: "/brokers/topics/t/partitions/0/state", Data: []byte(`{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":18,"isr":[2]}`)}},
		Partitions: []core.RecoveredPartition{{Partition: tp, LogEndOffset: 36, LeaderEpoch: 90,
			Epochs: []core.EpochStart{{Epoch: 15, Start: 20}, {Epoch: 90, Start: 30}}}}}
	h := newHarnessFrom(t, cfg, rec)
	h.truncEpochs = func(tr core.Truncate) []core.EpochStart {
		if tr.Offset > 20 {
			return []core.EpochStart{{Epoch: 15, Start: 20}}
		}
		return nil
	}
	var asked []int32
	var fetchedFrom []int64
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		if ps.Broker != 2 {
			return core.PeerResponse{Err: errDisk}
		}
		switch req := ps.Request.(type) {
		case *kmsg.OffsetForLeaderEpochRequest:
			resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
			for _, rt := range req.Topics {
				t := kmsg.NewOffsetForLeaderEpochResponseTopic()
				t.Topic = rt.Topic
				for _, rp := range rt.Partitions {
					asked = append(asked, rp.LeaderEpoch)
					p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
					// The leader's epochs: 15 from 20, 18 from 36.
					p.Partition, p.LeaderEpoch, p.EndOffset = rp.Partition, -1, -1
					if rp.LeaderEpoch <= 18 {
						p.LeaderEpoch, p.EndOffset = 15, 36
					}
					t.Partitions = append(t.Partitions, p)
				}
				resp.Topics = append(resp.Topics, t)
			}
			return core.PeerResponse{Response: resp}
		case *kmsg.FetchRequest:
			for _, rt := range req.Topics {
				for _, rp := range rt.Partitions {
					fetchedFrom = append(fetchedFrom, rp.FetchOffset)
				}
			}
		}
		return core.PeerResponse{Err: errDisk}
	}
	h.register(h.coord.OpenSession(), 2)
	for i := 0; i < 20; i++ {
		h.tick(100)
		h.deliverAll()
	}
	if leader, _, _ := h.partitionState("t", 0); leader != 2 {
		t.Fatalf("t-0 led by %d; want 2", leader)
	}
	if !slices.Equal(asked, []int32{90, 15}) {
		t.Fatalf("the follower asked about epochs %v; want 90 (the leader has no such epoch), then 15", asked)
	}
	if len(h.truncates) != 1 || h.truncates[0].Partition != tp || h.truncates[0].Offset != 30 {
		t.Fatalf("truncations: %+v; want one of t-0 to 30 (where epoch 90 starts)", h.truncates)
	}
	if len(fetchedFrom) == 0 || fetchedFrom[0] != 30 {
		t.Fatalf("the follower fetched from %v; want 30 first", fetchedFrom)
	}
}

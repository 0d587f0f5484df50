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
	// t-0 on brokers 2 and 1, last led by broker 2 at epoch 18 with the
	// ISR [2]: offline until broker 2 registers.
	cfg, rec := followerStart(t, "[2,1]", 2, "[2]", 36, []core.EpochStart{{Epoch: 15, Start: 20}, {Epoch: 17, Start: 30}})
	h := newHarnessFrom(t, cfg, rec)
	var asked []int32
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		req, ok := ps.Request.(*kmsg.OffsetForLeaderEpochRequest)
		if !ok || ps.Broker != 2 {
			return core.PeerResponse{Err: errDisk}
		}
		return epochAnswer(req, func(epoch int32) (int32, int64) {
			asked = append(asked, epoch)
			return 15, 36
		})
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
	cfg, rec := followerStart(t, "[2,1]", 2, "[2]", 36, []core.EpochStart{{Epoch: 15, Start: 20}, {Epoch: 90, Start: 30}})
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
			return epochAnswer(req, func(epoch int32) (int32, int64) {
				asked = append(asked, epoch)
				// The leader's epochs: 15 from 20, 18 from 36.
				if epoch <= 18 {
					return 15, 36
				}
				return -1, -1
			})
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

// TestFollowerOneTruncateAtATime: a follower's cut for one leader is
// still running when the leader changes, and its new leader's answer
// asks for another cut. The second Truncate waits for the first to end:
// emitted while the first runs, it would cut the log the first leaves,
// from an end the store has not reached yet. Once the first is done the
// follower asks its new leader again and cuts where that leader says.
func TestFollowerOneTruncateAtATime(t *testing.T) {
	tp := core.TopicPartition{Topic: "t", Partition: 0}
	// t-0 on brokers 3, 1 and 2, last led by broker 3 at epoch 18 with
	// the ISR [3 2]. The follower's log has epoch 15 from 20 and its own
	// epoch 17 from 30, to 36.
	cfg, rec := followerStart(t, "[3,1,2]", 3, "[3,2]", 36, []core.EpochStart{{Epoch: 15, Start: 20}, {Epoch: 17, Start: 30}})
	// Brokers 3 and 2 are registered when broker 1 starts.
	tree := restoredTree(t, append(rec.Znodes, core.Znode{Path: "/brokers/ids"}))
	sessions := map[int]int64{}
	for _, id := range []int{3, 2} {
		sessions[id] = tree.OpenSession()
		if res, _ := tree.Apply(sessions[id], peerRegistration(id)); res.Err != nil {
			t.Fatalf("registering broker %d: %v", id, res.Err)
		}
	}
	h := newHarnessOn(t, cfg, rec, tree)
	h.truncEpochs = func(tr core.Truncate) []core.EpochStart {
		return []core.EpochStart{{Epoch: 15, Start: 20}}
	}
	// Broker 3 has epoch 15 to 36: the follower cuts to 30, where its
	// own epoch 15 ends. Broker 2 has epoch 15 only to 25.
	ends := map[core.BrokerID]int64{3: 36, 2: 25}
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		req, ok := ps.Request.(*kmsg.OffsetForLeaderEpochRequest)
		if !ok || ends[ps.Broker] == 0 {
			return core.PeerResponse{Err: errDisk}
		}
		return epochAnswer(req, func(int32) (int32, int64) { return 15, ends[ps.Broker] })
	}
	// Everything runs but the Truncates, which the test ends itself.
	notTruncated := func(ev core.Event) bool { _, ok := ev.(core.Truncated); return !ok }
	run := func() {
		for i := 0; i < 10; i++ {
			h.tick(100)
			h.deliver(notTruncated)
		}
	}
	run()
	if leader, _, _ := h.partitionState("t", 0); leader != 3 {
		t.Fatalf("t-0 led by %d; want 3", leader)
	}
	if len(h.truncates) != 1 || h.truncates[0].Partition != tp || h.truncates[0].Offset != 30 {
		t.Fatalf("truncations: %+v; want one of t-0 to 30, for broker 3", h.truncates)
	}

	// Broker 3 dies with the cut to 30 still running: broker 2 leads.
	h.deliverWatches(h.coord.CloseSession(sessions[3]))
	run()
	if leader, _, _ := h.partitionState("t", 0); leader != 2 {
		t.Fatalf("t-0 led by %d after broker 3 died; want 2", leader)
	}
	if len(h.truncates) != 1 {
		t.Fatalf("truncations while the first still runs: %+v; want only the first", h.truncates)
	}

	// The first cut ends: the follower asks broker 2 again and cuts to 25.
	h.deliverAll()
	run()
	h.deliverAll()
	if len(h.truncates) != 2 || h.truncates[1].Offset != 25 {
		t.Fatalf("truncations: %+v; want t-0 to 30, then to 25 for broker 2", h.truncates)
	}
}

// followerStart is broker 1's configuration and what it recovered: topic
// t's partition 0 on replicas (a JSON array), last led by leader at epoch
// 18 with the ISR isr (a JSON array), and a log to end with epochs, the
// last of which is the latest.
func followerStart(t *testing.T, replicas string, leader int, isr string, end core.Offset, epochs []core.EpochStart) (core.Config, core.Recovered) {
	t.Helper()
	cfg := clusterBrokerConfig(t)
	var uuid [16]byte
	uuid[15] = 1
	topicDoc := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":{"0":%s},"adding_replicas":{},"removing_replicas":{}}`,
		base64.RawURLEncoding.EncodeToString(uuid[:]), replicas)
	state := fmt.Sprintf(`{"controller_epoch":1,"leader":%d,"version":1,"leader_epoch":18,"isr":%s}`, leader, isr)
	return cfg, core.Recovered{
		Znodes: []core.Znode{{Path: "/brokers/topics/t", Data: []byte(topicDoc)},
			{Path: "/brokers/topics/t/partitions/0/state", Data: []byte(state)}},
		Partitions: []core.RecoveredPartition{{Partition: core.TopicPartition{Topic: "t", Partition: 0}, LogEndOffset: end,
			LeaderEpoch: epochs[len(epochs)-1].Epoch, Epochs: epochs}}}
}

// epochAnswer answers an OffsetForLeaderEpoch request, each partition
// with the epoch and end offset answer gives for the epoch asked about.
func epochAnswer(req *kmsg.OffsetForLeaderEpochRequest, answer func(asked int32) (epoch int32, end int64)) core.PeerResponse {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch, p.EndOffset = answer(rp.LeaderEpoch)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return core.PeerResponse{Response: resp}
}

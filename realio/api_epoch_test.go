package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch against one broker on its embedded coordinator,
// which leads its partitions at leader epoch 0. (Followers, fencing and
// older epochs are tested in core/leader_epoch_test.go, divergence as
// clients see it in cmd/cloudkafka/e2e_truncation_test.go.)

func init() {
	versionCases[23] = versionCase{0, 4, testOffsetForLeaderEpoch}
}

// testOffsetForLeaderEpoch: the latest epoch ends at the log end; a
// newer epoch is unknown (-1, -1); from v2 a newer current leader epoch
// is UNKNOWN_LEADER_EPOCH; an unknown partition is
// UNKNOWN_TOPIC_OR_PARTITION.
func testOffsetForLeaderEpoch(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "ofe", 1, nil)
	mustProduce(t, c, 9, "ofe", 0, plainBatch("ofe", 3).bytes())
	ask := func(epoch, current int32, part int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "ofe"
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.CurrentLeaderEpoch = part, epoch, current
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := call[*kmsg.OffsetForLeaderEpochResponse](t, c, v, req)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("OffsetForLeaderEpoch v%d: got %+v; want one partition", v, resp.Topics)
		}
		return resp.Topics[0].Partitions[0]
	}
	p := ask(0, -1, 0)
	checkCode(t, "epoch 0", p.ErrorCode, 0)
	if p.EndOffset != 3 || (v >= 1 && p.LeaderEpoch != 0) {
		t.Errorf("v%d epoch 0: end offset %d, epoch %d; want 3 (the log end), 0", v, p.EndOffset, p.LeaderEpoch)
	}
	p = ask(5, -1, 0)
	checkCode(t, "epoch 5", p.ErrorCode, 0)
	if p.EndOffset != -1 || (v >= 1 && p.LeaderEpoch != -1) {
		t.Errorf("v%d epoch 5 (newer than any): end offset %d, epoch %d; want -1, -1", v, p.EndOffset, p.LeaderEpoch)
	}
	if v >= 2 {
		checkCode(t, "current leader epoch 7", ask(0, 7, 0).ErrorCode, kerr.UnknownLeaderEpoch.Code)
	}
	checkCode(t, "ofe-4", ask(0, -1, 4).ErrorCode, kerr.UnknownTopicOrPartition.Code)
}

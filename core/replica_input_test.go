package core_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Replica fetches (Fetch with a replica id: ReplicaID up to v14,
// ReplicaState from v15) that a leader must refuse, checked against
// Kafka 3.x's Partition.fetchRecords: the leader's log and epoch first
// (localLogWithEpochOrThrow), then the replica (followerReplicaOrThrow),
// then the read (an offset outside the log is OFFSET_OUT_OF_RANGE). Each
// refusal comes before updateFollowerFetchState, so the follower's
// recorded position, the ISR and the high watermark stay as they were,
// and consumers read on as before.

// replicaFetchVersions: the last with ReplicaID and the first with
// ReplicaState.
var replicaFetchVersions = []int16{12, 15}

// isr is name-0's ISR as the state znode says.
func (f *epochFixture) isr(name string) []int32 {
	_, isr, _ := f.h.partitionState(name, 0)
	return isr
}

// TestReplicaFetchFromNonReplica: a fetch from a broker that is not one
// of the partition's followers (broker 3, registered or not, and the
// leader's own id) is UNKNOWN_LEADER_EPOCH when it names the current
// epoch (Kafka: the tuple replica, epoch is not yet known, the follower
// retries) and NOT_LEADER_OR_FOLLOWER when it names none, with no
// records; the ISR and high watermark do not move.
func TestReplicaFetchFromNonReplica(t *testing.T) {
	for _, v := range replicaFetchVersions {
		f := newEpochFixture(t)
		f.produce(topicT, 1) // 6, not yet on broker 2: the high watermark stays 6
		for _, id := range []int32{3, 1, 7} {
			for _, c := range []struct {
				epoch int32
				want  int16
			}{{3, kerr.UnknownLeaderEpoch.Code}, {-1, kerr.NotLeaderForPartition.Code}} {
				name := fmt.Sprintf("v%d fetch from broker %d naming epoch %d", v, id, c.epoch)
				p := f.replicaFetch(v, id, topicT, 7, c.epoch)
				if p.ErrorCode != c.want || len(p.RecordBatches) != 0 {
					t.Errorf("%s: got %s with %d bytes; want %s, none", name, codeName(p.ErrorCode), len(p.RecordBatches), codeName(c.want))
				}
			}
		}
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("v%d: ISR after fetches from non-replicas %v; want [1 2]", v, isr)
		}
		f.intact(t, topicT, 6)
		f.follow(topicT, 7, 3) // broker 2's fetch moves it: the check above could fail
		f.intact(t, topicT, 7)
	}
}

// TestReplicaFetchStaleEpoch: a follower's fetch naming an older leader
// epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH; the
// offset it names (here one that would advance the high watermark) is
// not taken as its position.
func TestReplicaFetchStaleEpoch(t *testing.T) {
	for _, v := range replicaFetchVersions {
		f := newEpochFixture(t)
		f.produce(topicT, 1) // 6
		for _, c := range []struct {
			epoch int32
			want  int16
		}{{2, kerr.FencedLeaderEpoch.Code}, {0, kerr.FencedLeaderEpoch.Code}, {4, kerr.UnknownLeaderEpoch.Code}} {
			p := f.replicaFetch(v, 2, topicT, 7, c.epoch)
			if p.ErrorCode != c.want || len(p.RecordBatches) != 0 {
				t.Errorf("v%d fetch from broker 2 at 7 naming epoch %d: got %s with %d bytes; want %s, none", v, c.epoch, codeName(p.ErrorCode), len(p.RecordBatches), codeName(c.want))
			}
		}
		f.intact(t, topicT, 6)
		f.follow(topicT, 7, 3)
		f.intact(t, topicT, 7)
	}
}

// TestReplicaFetchBeyondLogEnd: a follower's fetch at an offset past the
// leader's log end is OFFSET_OUT_OF_RANGE, and the offset is not taken
// as the follower's position: the high watermark does not advance to
// the leader's log end, and a follower outside the ISR is not added.
func TestReplicaFetchBeyondLogEnd(t *testing.T) {
	for _, v := range replicaFetchVersions {
		f := newEpochFixture(t)
		f.produce(topicT, 1) // 6: the log ends at 7
		for _, off := range []int64{8, 100, 1 << 62} {
			if p := f.replicaFetch(v, 2, topicT, off, 3); p.ErrorCode != kerr.OffsetOutOfRange.Code || len(p.RecordBatches) != 0 {
				t.Errorf("v%d fetch from broker 2 (in the ISR) at %d: got %s with %d bytes; want OFFSET_OUT_OF_RANGE, none", v, off, codeName(p.ErrorCode), len(p.RecordBatches))
			}
		}
		f.intact(t, topicT, 6)

		// broker 2 leaves the ISR (epoch 4), and returns without fetching
		h := f.h
		h.deliverWatches(h.coord.CloseSession(f.s2))
		h.deliverAll()
		f.s2 = h.coord.OpenSession()
		h.register(f.s2, 2)
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1}) {
			t.Fatalf("v%d: ISR once broker 2's session ended: %v; want [1]", v, isr)
		}
		f.produce(topicT, 1) // 7, at epoch 4: the log ends at 8
		for _, off := range []int64{9, 100} {
			if p := f.replicaFetch(v, 2, topicT, off, 4); p.ErrorCode != kerr.OffsetOutOfRange.Code {
				t.Errorf("v%d fetch from broker 2 (out of the ISR) at %d: got %s; want OFFSET_OUT_OF_RANGE", v, off, codeName(p.ErrorCode))
			}
		}
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1}) {
			t.Errorf("v%d: ISR after fetches past the log end: %v; want [1] (no expansion)", v, isr)
		}
		f.intact(t, topicT, 8) // the ISR is broker 1 alone
		f.follow(topicT, 8, 4)
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("v%d: ISR after broker 2 fetched at the log end: %v; want [1 2]", v, isr)
		}
		f.intact(t, topicT, 8)
	}
}

// TestReplicaFetchNegativeOffset: a follower's fetch at a negative
// offset is OFFSET_OUT_OF_RANGE (below the log start) and is not taken
// as its position: a caught-up follower stays in the ISR past
// replica.lag.time.max.ms. Had the leader taken -1 as its log end, it
// would have been dropped from the ISR as lagging.
func TestReplicaFetchNegativeOffset(t *testing.T) {
	for _, v := range replicaFetchVersions {
		f := newEpochFixture(t)
		for _, off := range []int64{-1, -2, -1 << 62} {
			if p := f.replicaFetch(v, 2, topicT, off, 3); p.ErrorCode != kerr.OffsetOutOfRange.Code || len(p.RecordBatches) != 0 {
				t.Errorf("v%d fetch from broker 2 at %d: got %s with %d bytes; want OFFSET_OUT_OF_RANGE, none", v, off, codeName(p.ErrorCode), len(p.RecordBatches))
			}
		}
		f.h.tick(30_001) // replica.lag.time.max.ms (30 s by default) passes
		f.h.deliverAll()
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("v%d: ISR past the lag time after fetches at negative offsets: %v; want [1 2] (broker 2 holds everything)", v, isr)
		}
		f.intact(t, topicT, 6)
	}
}

// TestISRExpansionWaitsForLogStart: a follower that caught up to the
// high watermark joins the ISR only once the log start its fetch
// reports is the leader's. Until then it holds records the leader's
// retention removed, and elected it would answer readers below a log
// start they were already told of. The leader's answer carries its log
// start, which the follower takes before its next fetch.
func TestISRExpansionWaitsForLogStart(t *testing.T) {
	for _, v := range replicaFetchVersions {
		f := newEpochFixture(t)
		h := f.h
		// broker 2 leaves the ISR (epoch 4) and returns without fetching
		h.deliverWatches(h.coord.CloseSession(f.s2))
		h.deliverAll()
		f.s2 = h.coord.OpenSession()
		h.register(f.s2, 2)
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1}) {
			t.Fatalf("v%d: ISR once broker 2's session ended: %v; want [1]", v, isr)
		}
		epoch := f.leaderEpoch(topicT)
		// the leader's retention deletes offsets 0-2
		h.retainStart = map[core.TopicPartition]core.Offset{{Topic: topicT, Partition: 0}: 3}
		h.tick(400000) // past log.retention.check.interval.ms
		h.deliverAll()
		if p := f.consumerFetch(12, topicT, 0, -1); p.ErrorCode != kerr.OffsetOutOfRange.Code {
			t.Fatalf("v%d: consumer fetch at 0 after retention: %s; want OFFSET_OUT_OF_RANGE", v, codeName(p.ErrorCode))
		}
		fetchFrom := func(logStart int64) kmsg.FetchResponseTopicPartition {
			t.Helper()
			req := fetchOne(topicT, 6, epoch)
			req.ReplicaID, req.ReplicaState.ID, req.ReplicaState.Epoch = 2, 2, h.epochOf(2)
			req.Topics[0].Partitions[0].LogStartOffset = logStart
			p := f.fetch(v, req)
			if p.ErrorCode != 0 || p.LogStartOffset != 3 {
				t.Fatalf("v%d: broker 2 fetching at its log end 6 with log start %d: %s, leader's log start %d; want NONE, 3", v, logStart, codeName(p.ErrorCode), p.LogStartOffset)
			}
			return p
		}
		fetchFrom(0) // caught up, but still holding 0-2
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1}) {
			t.Errorf("v%d: ISR after broker 2 fetched at the log end with log start 0: %v; want [1]", v, isr)
		}
		fetchFrom(3) // it took the leader's log start
		if isr := f.isr(topicT); !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("v%d: ISR after broker 2 fetched at the log end with log start 3: %v; want [1 2]", v, isr)
		}
	}
}

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createAssigned creates topic with the given replicas per partition.
func createAssigned(t *testing.T, b *broker, topic string, assignment ...[]int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for i, rs := range assignment {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(i), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, newClient(t, b))
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics %s %v: %+v, %v", topic, assignment, resp, err)
	}
}

// replicasOf is partition p of topic as broker b's Metadata shows it.
func replicasOf(t *testing.T, b *broker, topic string, p int32) (leader int32, replicas, isr []int32) {
	md := metadataFrom(t, b, topic)
	if len(md.Topics) != 1 {
		return -1, nil, nil
	}
	for _, mp := range md.Topics[0].Partitions {
		if mp.Partition == p {
			return mp.Leader, mp.Replicas, mp.ISR
		}
	}
	return -1, nil, nil
}

func sameSet(a, b []int32) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestAdminOperations: three brokers and a real ZooKeeper, the automatic
// rebalance off (so that only the request moves leaders).
//
//   - Reassignment: partition 0 of a topic on [1 2] moves to [2 3] while an
//     acks=all producer streams into it: the controller adds broker 3, waits
//     for it to catch up, drops broker 1 (its log directory goes) and
//     writes [2 3]; ListPartitionReassignments shows the move while it is
//     under way (when a look catches it) and nothing after; a consumer
//     then reads every acknowledged record exactly once.
//   - Preferred election: the preferred leader of a topic on [1 2 3] is
//     killed, its leadership moves, it restarts and rejoins the ISR, and
//     kadm's ElectLeaders (preferred) gives it the lead back.
//   - DescribeLogDirs: every broker lists the replicas it holds, those with
//     data at a size above 0.
func TestAdminOperations(t *testing.T) {
	c := startCluster(t, 3000, "replica.lag.time.max.ms=3000", "auto.leader.rebalance.enable=false")
	seed := c.brokers[0]
	adm := kadm.NewClient(newClient(t, seed))
	createAssigned(t, seed, "moving", []int32{1, 2})
	createAssigned(t, seed, "pref", []int32{1, 2, 3})
	waitFor(t, 20*time.Second, "moving-0 and pref-0 led with full ISRs", func() bool {
		l0, _, isr0 := replicasOf(t, seed, "moving", 0)
		l1, _, isr1 := replicasOf(t, seed, "pref", 0)
		return l0 == 1 && len(isr0) == 2 && l1 == 1 && len(isr1) == 3
	})

	// Reassignment under a stream of acks=all writes.
	s := startStreamer(t, seed, "moving", "m")
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("moving", 0, []int32{2, 3})
	resps, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatalf("AlterPartitionAssignments: %v", err)
	}
	if r := resps["moving"][0]; r.Err != nil {
		t.Fatalf("reassigning moving-0 to [2 3]: %v %s", r.Err, r.ErrMessage)
	}
	sawMove := false
	waitFor(t, 60*time.Second, "moving-0's reassignment to finish", func() bool {
		listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"moving": {0: {}}})
		if err != nil {
			t.Fatalf("ListPartitionReassignments: %v", err)
		}
		if r, ok := listed["moving"][0]; ok {
			if !sameSet(r.Replicas, []int32{1, 2, 3}) || !slices.Equal(r.AddingReplicas, []int32{3}) || !slices.Equal(r.RemovingReplicas, []int32{1}) {
				t.Errorf("moving-0 under way: replicas %v, adding %v, removing %v; want [2 3 1], [3], [1]", r.Replicas, r.AddingReplicas, r.RemovingReplicas)
			}
			sawMove = true
			if testing.Verbose() {
				leader, replicas, isr := replicasOf(t, seed, "moving", 0)
				t.Logf("moving-0 under way: leader %d, replicas %v, ISR %v; listed %+v", leader, replicas, isr, r)
			}
			time.Sleep(500 * time.Millisecond)
			return false
		}
		leader, replicas, isr := replicasOf(t, seed, "moving", 0)
		if testing.Verbose() {
			t.Logf("moving-0: leader %d, replicas %v, ISR %v; listed %+v", leader, replicas, isr, listed)
		}
		return slices.Equal(replicas, []int32{2, 3}) && sameSet(isr, []int32{2, 3}) && leader != 1 && leader >= 0
	})
	t.Logf("the reassignment was listed while under way: %v", sawMove)
	gone := filepath.Join(c.brokers[0].dataDir, "moving-0")
	waitFor(t, 20*time.Second, "broker 1's replica of moving-0 deleted", func() bool {
		_, err := os.Stat(gone)
		return os.IsNotExist(err)
	})
	time.Sleep(time.Second) // writes go on at the new replicas
	acked := s.finish(t)
	checkLog(t, "moving after its reassignment", consumeAll(t, seed, "moving", 90*time.Second), expect{tag: "m", acked: acked})

	// DescribeLogDirs: brokers 2 and 3 hold moving-0 with its data, broker
	// 1 no longer does; each holds pref-0.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatalf("DescribeAllLogDirs: %v", err)
	}
	for id := int32(1); id <= 3; id++ {
		ds := dirs[id]
		if len(ds) != 1 {
			t.Errorf("broker %d: %d log directories; want 1", id, len(ds))
			continue
		}
		for _, d := range ds {
			if d.Err != nil || d.Dir != c.brokers[id-1].dataDir {
				t.Errorf("broker %d: directory %s, error %v; want %s, none", id, d.Dir, d.Err, c.brokers[id-1].dataDir)
			}
			m, has := d.Topics.Lookup("moving", 0)
			if has != (id != 1) || has && m.Size <= 0 {
				t.Errorf("broker %d: moving-0 listed %v with size %d; want listed (with data) on brokers 2 and 3 only", id, has, m.Size)
			}
			if _, has := d.Topics.Lookup("pref", 0); !has {
				t.Errorf("broker %d: pref-0 not listed; want it", id)
			}
		}
	}

	// Preferred election: the preferred leader dies, returns, and is
	// given the lead back by ElectLeaders.
	first := c.brokers[0]
	first.Kill()
	waitFor(t, 30*time.Second, "pref-0 led by another broker", func() bool {
		l, _, _ := replicasOf(t, c.brokers[1], "pref", 0)
		return l == 2 || l == 3
	})
	first.Restart()
	waitServing(t, first)
	waitFor(t, 60*time.Second, "broker 1 back in pref-0's ISR", func() bool {
		l, _, isr := replicasOf(t, c.brokers[1], "pref", 0)
		return l >= 0 && slices.Contains(isr, 1)
	})
	time.Sleep(2 * time.Second)
	if l, _, _ := replicasOf(t, c.brokers[1], "pref", 0); l == 1 {
		t.Fatalf("pref-0 led by broker 1 before any election; want another leader (the automatic rebalance is off)")
	}
	adm2 := kadm.NewClient(newClient(t, c.brokers[1]))
	res, err := adm2.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"pref": {0: {}}})
	if err != nil {
		t.Fatalf("ElectLeaders: %v", err)
	}
	if r := res["pref"][0]; r.Err != nil {
		t.Fatalf("ElectLeaders pref-0: %v %s", r.Err, r.ErrMessage)
	}
	waitFor(t, 10*time.Second, "pref-0 led by broker 1 after the preferred election", func() bool {
		l, _, _ := replicasOf(t, c.brokers[1], "pref", 0)
		return l == 1
	})
	res, err = adm2.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"pref": {0: {}}})
	if r := res["pref"][0]; err != nil || !errors.Is(r.Err, kerr.ElectionNotNeeded) {
		t.Errorf("ElectLeaders pref-0 again: %v, %v; want ELECTION_NOT_NEEDED", err, r.Err)
	}
}

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const offsetsTopic = "__consumer_offsets"

// coordinatorOf asks broker b, with a client of its own (kgo caches
// coordinators), which broker coordinates group: -1 while none does.
func coordinatorOf(t *testing.T, b *broker, group string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, ok := kadm.NewClient(newClient(t, b)).FindGroupCoordinators(ctx, group)[group]
	if !ok || r.Err != nil {
		return -1
	}
	return r.NodeID
}

// tryCommitted is committedOffsets without failing: the offsets, or the
// error (a coordinator still loading, or none yet).
func tryCommitted(t *testing.T, b *broker, group, topic string) (map[int32]int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resps, err := kadm.NewClient(newClient(t, b)).FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var firstErr error
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out, firstErr
}

// offsetsReplicated waits until every partition of __consumer_offsets,
// as broker b says, has three replicas in sync and a leader.
func offsetsReplicated(t *testing.T, b *broker, what string) {
	t.Helper()
	waitFor(t, 90*time.Second, what, func() bool {
		ps := partitionStates(t, b, offsetsTopic)
		if len(ps) == 0 {
			return false
		}
		for _, st := range ps {
			if st.leader < 0 || len(st.isr) != 3 {
				return false
			}
		}
		return true
	})
}

// TestGroupCoordinatorFailover: three brokers with the default
// offsets.topic.replication.factor (3). A franz-go group member consumes
// and commits, and leaves; the group's coordinator is SIGKILLed. Another
// broker becomes the coordinator and serves the same committed offsets
// (kadm FetchOffsets); a new member of the group resumes from them,
// consuming exactly the records produced since; and the killed broker,
// restarted, rejoins every ISR of __consumer_offsets with the offsets
// intact.
func TestGroupCoordinatorFailover(t *testing.T) {
	const sessionMs = 3000
	c := startCluster(t, sessionMs, groupOverrides...)
	seed := c.brokers[0]
	topic, group := "gfo", "gfo-group"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(newClient(t, seed)).CreateTopic(ctx, 3, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("creating %s: %v %v", topic, err, resp.Err)
	}
	waitFor(t, 30*time.Second, topic+" led with three in-sync replicas", func() bool {
		ps := partitionStates(t, seed, topic)
		for p := int32(0); p < 3; p++ {
			if st, ok := ps[p]; !ok || st.leader < 0 || len(st.isr) != 3 {
				return false
			}
		}
		return true
	})

	acked1 := produceSeqs(t, seed, topic, topic, 0, 300)
	ends1 := endOffsets(t, seed, topic)
	own, got1 := newOwnership(), newConsumed()
	m1 := startKgoMember(t, seed, "m1", group, topic, kgo.RangeBalancer(), own, got1)
	waitFor(t, groupWait, "m1 to consume the first records", func() bool { return got1.reached(ends1) })
	m1.close(t) // commits what it consumed, and leaves
	checkConsumed(t, "before the failover", got1.records(), topic, acked1, nil, ends1)
	checkCommitted(t, "before the failover", seed, group, topic, ends1)

	// __consumer_offsets was created with the default factor, 3.
	offsetsReplicated(t, seed, "every __consumer_offsets partition with three in-sync replicas")
	coordinator := coordinatorOf(t, seed, group)
	if coordinator < 1 || coordinator > 3 {
		t.Fatalf("the group's coordinator: %d", coordinator)
	}
	victim := c.brokers[coordinator-1]
	survivor := c.brokers[coordinator%3]
	t.Logf("killing broker %d, the coordinator of %s", coordinator, group)
	killedAt := time.Now()
	victim.Kill()

	var moved int32
	waitFor(t, time.Duration(sessionMs)*time.Millisecond+30*time.Second, "another broker to coordinate the group", func() bool {
		moved = coordinatorOf(t, survivor, group)
		return moved > 0 && moved != coordinator
	})
	var got map[int32]int64
	waitFor(t, 30*time.Second, "the new coordinator to serve the group's offsets", func() bool {
		var err error
		got, err = tryCommitted(t, survivor, group, topic)
		return err == nil
	})
	t.Logf("broker %d coordinates %s %v after the SIGKILL", moved, group, time.Since(killedAt).Round(time.Millisecond))
	if fmt.Sprint(got) != fmt.Sprint(ends1) {
		t.Fatalf("committed offsets at the new coordinator (broker %d): got %v; want %v, committed before the SIGKILL", moved, got, ends1)
	}

	// The group resumes from its committed offsets.
	acked2 := produceSeqs(t, survivor, topic, topic, 300, 200)
	ends2 := endOffsets(t, survivor, topic)
	got2 := newConsumed()
	m2 := startKgoMember(t, survivor, "m2", group, topic, kgo.RangeBalancer(), own, got2)
	waitFor(t, groupWait, "m2 to consume the records produced after the failover", func() bool { return got2.reached(ends2) })
	m2.close(t)
	own.check(t)
	checkConsumed(t, "after the failover", got2.records(), topic, mergeAcked(acked1, acked2), ends1, ends2)
	checkCommitted(t, "after the failover", survivor, group, topic, ends2)

	// The killed broker comes back as a follower of its partitions.
	victim.Restart()
	waitServing(t, victim)
	offsetsReplicated(t, victim, fmt.Sprintf("broker %d back in every ISR of __consumer_offsets", coordinator))
	waitFor(t, 30*time.Second, "the offsets served through the restarted broker", func() bool {
		got, err := tryCommitted(t, victim, group, topic)
		return err == nil && fmt.Sprint(got) == fmt.Sprint(ends2)
	})
}

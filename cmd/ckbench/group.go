package main

// The group suite: how long a three-member franz-go group takes to
// rebalance after a member leaves, and the round-trip latency of offset
// commits. Both run against each target, the same way.
//
// Rebalance: three members consume a six-partition topic. A round closes
// one member (its Close sends LeaveGroup) and times, from the Close call,
// until the two that remain own all six partitions again, as their
// OnPartitionsAssigned callbacks report; the third member is then started
// again and the group left to settle before the next round. Remaining
// members learn of a rebalance from a heartbeat answer, so the time
// includes up to one -group-heartbeat; the rounds leave at phases spread
// over the heartbeat period.
//
// Commits: sequential OffsetCommit round trips of six partitions, from
// kadm (an admin commit, generation -1) and from a stable member (kgo
// CommitOffsetsSync, which the coordinator checks against the generation).

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const groupPartitions = 6

// groupResult is what the group suite measured on one target.
type groupResult struct {
	target    string
	rebalance map[string][]time.Duration // balancer → one duration per round
	commits   map[string][]time.Duration // "kadm" / "member" → round trips
}

var groupSeq atomic.Int64

func runGroupSuite(ctx context.Context, seeds []string, target string, o options) (groupResult, error) {
	res := groupResult{target: target, rebalance: map[string][]time.Duration{}, commits: map[string][]time.Duration{}}
	ctx, cancel := context.WithTimeout(ctx, o.groupDeadline)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return res, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	topic := fmt.Sprintf("ckbench-group-%d-%d", time.Now().UnixNano(), groupSeq.Add(1))
	if _, err := admin.CreateTopic(ctx, groupPartitions, 1, nil, topic); err != nil {
		return res, fmt.Errorf("creating topic %s: %w", topic, err)
	}
	for _, b := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{{"cooperative-sticky", kgo.CooperativeStickyBalancer()}, {"range", kgo.RangeBalancer()}} {
		ds, err := measureRebalances(ctx, seeds, topic, b.name, b.balancer, o, &res)
		res.rebalance[b.name] = ds
		if err != nil {
			return res, fmt.Errorf("rebalance (%s): %w", b.name, err)
		}
	}
	ds, err := measureAdminCommits(ctx, admin, topic, o.commits)
	res.commits["kadm"] = ds
	if err != nil {
		return res, fmt.Errorf("kadm commits: %w", err)
	}
	return res, nil
}

// benchGroup tracks which member owns which partition.
type benchGroup struct {
	mu    sync.Mutex
	owned map[string]map[int32]bool
}

func (g *benchGroup) set(member string, ps []int32, own bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owned[member] == nil {
		g.owned[member] = map[int32]bool{}
	}
	for _, p := range ps {
		if own {
			g.owned[member][p] = true
		} else {
			delete(g.owned[member], p)
		}
	}
}

// settled reports whether members own every partition, one owner each,
// and each member owns at least one.
func (g *benchGroup) settled(members ...string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	owners := map[int32]int{}
	for _, m := range members {
		if len(g.owned[m]) == 0 {
			return false
		}
		for p := range g.owned[m] {
			owners[p]++
		}
	}
	for p := int32(0); p < groupPartitions; p++ {
		if owners[p] != 1 {
			return false
		}
	}
	return len(owners) == groupPartitions
}

func (g *benchGroup) member(ctx context.Context, seeds []string, group, topic, name string, balancer kgo.GroupBalancer, o options) (*kgo.Client, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.HeartbeatInterval(o.groupHeartbeat),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { g.set(name, m[topic], true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { g.set(name, m[topic], false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { g.set(name, m[topic], false) }),
	)
	if err != nil {
		return nil, err
	}
	// A group member joins once it polls.
	go func() {
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() {
				return
			}
		}
	}()
	return cl, nil
}

// waitUntil polls cond every millisecond until it holds or ctx ends.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// measureRebalances runs o.groupRounds rounds of one member leaving and
// the other two taking over its partitions; then, with the group stable,
// it times o.commits member commits.
func measureRebalances(ctx context.Context, seeds []string, topic, name string, balancer kgo.GroupBalancer, o options, res *groupResult) ([]time.Duration, error) {
	group := fmt.Sprintf("ckbench-%s-%d", name, groupSeq.Add(1))
	g := &benchGroup{owned: map[string]map[int32]bool{}}
	var clients []*kgo.Client
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	start := func(member string) (*kgo.Client, error) {
		cl, err := g.member(ctx, seeds, group, topic, member, balancer, o)
		if err == nil {
			clients = append(clients, cl)
		}
		return cl, err
	}
	for _, m := range []string{"a", "b"} {
		if _, err := start(m); err != nil {
			return nil, err
		}
	}
	var ds []time.Duration
	for round := 0; round < o.groupRounds; round++ {
		leaver := fmt.Sprintf("c%d", round)
		cl, err := start(leaver)
		if err != nil {
			return ds, err
		}
		if err := waitUntil(ctx, "three members to share the partitions", func() bool { return g.settled("a", "b", leaver) }); err != nil {
			return ds, err
		}
		// Remaining members hear of the rebalance at their next
		// heartbeat, whose timers the last rebalance aligned: spread the
		// leave over the heartbeat period, (round+0.5)/rounds into it.
		time.Sleep(time.Duration(float64(o.groupHeartbeat) * (float64(round) + 0.5) / float64(o.groupRounds)))
		t0 := time.Now()
		cl.Close()
		if err := waitUntil(ctx, "two members to own every partition", func() bool { return g.settled("a", "b") }); err != nil {
			return ds, err
		}
		ds = append(ds, time.Since(t0))
	}
	// Member commits, on the stable group of two.
	commits, err := measureMemberCommits(ctx, clients[0], topic, o.commits)
	res.commits["member ("+name+")"] = commits
	return ds, err
}

func measureMemberCommits(ctx context.Context, cl *kgo.Client, topic string, n int) ([]time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		offsets := map[string]map[int32]kgo.EpochOffset{topic: {}}
		for p := int32(0); p < groupPartitions; p++ {
			offsets[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: int64(i)}
		}
		var cerr error
		t0 := time.Now()
		cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = commitErr(resp, err)
		})
		ds = append(ds, time.Since(t0))
		if cerr != nil {
			return ds, fmt.Errorf("commit %d: %w", i, cerr)
		}
	}
	return ds, nil
}

// commitErr is a commit's first error: the request's or a partition's.
func commitErr(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

func measureAdminCommits(ctx context.Context, admin *kadm.Client, topic string, n int) ([]time.Duration, error) {
	group := fmt.Sprintf("ckbench-commits-%d", groupSeq.Add(1))
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		var os kadm.Offsets
		for p := int32(0); p < groupPartitions; p++ {
			os.Add(kadm.Offset{Topic: topic, Partition: p, At: int64(i), LeaderEpoch: -1})
		}
		t0 := time.Now()
		resps, err := admin.CommitOffsets(ctx, group, os)
		ds = append(ds, time.Since(t0))
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return ds, fmt.Errorf("commit %d: %w", i, err)
		}
	}
	return ds, nil
}

func printGroupTable(w io.Writer, results []groupResult, o options) {
	fmt.Fprintf(w, "\ngroup rebalance: 3 franz-go members, %d partitions, one leaves (LeaveGroup); heartbeat %v; median of %d rounds\n",
		groupPartitions, o.groupHeartbeat, o.groupRounds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tbalancer\tmedian\tmin\tmax\trounds\t")
	for _, r := range results {
		for _, name := range sortedNames(r.rebalance) {
			ds := r.rebalance[name]
			if len(ds) == 0 {
				continue
			}
			lo, hi := minMax(ds)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\n", r.target, name, roundLatency(median(ds)), roundLatency(lo), roundLatency(hi), len(ds))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\noffset commit round trips: %d sequential commits of %d partitions each\n", o.commits, groupPartitions)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tcommitter\tp50\tp99\tcommits\t")
	for _, r := range results {
		for _, name := range sortedNames(r.commits) {
			ds := r.commits[name]
			if len(ds) == 0 {
				continue
			}
			p50, p99 := percentiles(ds)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t\n", r.target, name, roundLatency(p50), roundLatency(p99), len(ds))
		}
	}
	tw.Flush()
}

func sortedNames(m map[string][]time.Duration) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func minMax(ds []time.Duration) (lo, hi time.Duration) {
	lo, hi = ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

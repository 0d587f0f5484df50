package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"cloudkafka/linearizability"
)

// checkGroups checks the group members' history:
//   - ownership: within one generation no partition is assigned to two
//     members, and every member received what the generation's leader
//     sent for it;
//   - fencing: no commit with generation g is acknowledged once a member
//     had completed a SyncGroup of a later generation before the commit
//     was sent (the later generation was stored, so the group can never
//     be back at g);
//   - committed offsets are linearizable per partition: a register that
//     commits write and offset fetches read.
func checkGroups(h *History) []string {
	var fails []string
	fail := func(kind, format string, args ...any) {
		if len(fails) < 20 {
			fails = append(fails, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	type owner struct {
		member string
		op     *Op
	}
	owners := map[int32]map[int32]owner{} // generation → partition → owner
	sent := map[int32]*Op{}               // generation → the leader's SyncGroup
	var syncs []*Op
	for _, op := range h.Ops {
		if op.Kind != OpSync || op.Outcome != OK {
			continue
		}
		syncs = append(syncs, op)
		if op.Sent != nil {
			if prev := sent[op.Generation]; prev != nil && !sameAssignment(prev.Sent, op.Sent) {
				fail("ownership", "generation %d: two leaders' assignments acknowledged (op %d by %s, op %d by %s)",
					op.Generation, prev.ID, prev.Client, op.ID, op.Client)
			}
			sent[op.Generation] = op
		}
		if owners[op.Generation] == nil {
			owners[op.Generation] = map[int32]owner{}
		}
		// A static member that restarts takes over its own place in the
		// generation under a new member id: it is one owner.
		who := op.Member
		if op.Instance != "" {
			who = "instance " + op.Instance
		}
		for _, p := range op.Assigned {
			if o, ok := owners[op.Generation][p]; ok && o.member != who {
				fail("ownership", "generation %d: partition %d assigned to %s (op %d) and %s (op %d)",
					op.Generation, p, o.member, o.op.ID, op.Member, op.ID)
			}
			owners[op.Generation][p] = owner{who, op}
		}
	}
	for _, op := range syncs {
		l := sent[op.Generation]
		if l == nil {
			continue
		}
		sentTo, ok := l.Sent[op.Member]
		if !ok && op.Instance != "" {
			// A static member that took over its place under a new id
			// gets what was sent to its instance's earlier id, which
			// it may never have learned (a lost JoinGroup answer).
			// Static member ids are the instance id, "-" and a UUID.
			for _, id := range sortedMapKeys(l.Sent) {
				if strings.HasPrefix(id, op.Instance+"-") {
					sentTo, ok = l.Sent[id], true
				}
			}
		}
		want := slices.Clone(sentTo)
		got := slices.Clone(op.Assigned)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			fail("ownership", "generation %d: %s (op %d) received partitions %v; the leader (op %d) sent it %v",
				op.Generation, op.Member, op.ID, got, l.ID, want)
		}
	}
	// fencing: the latest generation synced before each instant
	sort.Slice(syncs, func(i, j int) bool { return syncs[i].Return < syncs[j].Return })
	for _, op := range h.Ops {
		if op.Kind != OpCommit || op.Outcome != OK {
			continue
		}
		i := sort.Search(len(syncs), func(i int) bool { return syncs[i].Return >= op.Call })
		for _, s := range syncs[:i] {
			if s.Generation > op.Generation {
				fail("stale-commit", "op %d: %s's commit of partition %d with generation %d was acknowledged; generation %d had been synced (op %d by %s) before it was sent",
					op.ID, op.Client, op.Partition, op.Generation, s.Generation, s.ID, s.Client)
				break
			}
		}
	}
	fails = append(fails, checkCommitLinearizable(h)...)
	return fails
}

func sameAssignment(a, b map[string][]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range sortedMapKeys(a) {
		x, y := slices.Clone(a[id]), slices.Clone(b[id])
		slices.Sort(x)
		slices.Sort(y)
		if !slices.Equal(x, y) {
			return false
		}
	}
	return true
}

func sortedMapKeys(m map[string][]int32) []string {
	keys := make([]string, 0, len(m))
	// order-independent: collected, then sorted
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkCommitLinearizable checks each partition's committed offset of
// simGroup against a register.
func checkCommitLinearizable(h *History) []string {
	regs := map[int32]*linearizability.CommitHistory{}
	reg := func(p int32) *linearizability.CommitHistory {
		if regs[p] == nil {
			regs[p] = &linearizability.CommitHistory{Key: fmt.Sprintf("%s/%d", simGroup, p)}
		}
		return regs[p]
	}
	for _, op := range h.Ops {
		label := fmt.Sprintf("op %d %s", op.ID, op.Client)
		switch {
		case op.Kind == OpCommit && op.Outcome == OK:
			reg(op.Partition).Commits = append(reg(op.Partition).Commits, linearizability.Commit{
				Call: int64(op.Call), Return: int64(op.Return), Offset: int64(op.Offset), Outcome: linearizability.OK, Label: label})
		case op.Kind == OpCommit && op.Outcome != Failed:
			reg(op.Partition).Commits = append(reg(op.Partition).Commits, linearizability.Commit{
				Call: int64(op.Call), Offset: int64(op.Offset), Outcome: linearizability.Unknown, Label: label})
		case op.Kind == OpOffsetFetch && op.Outcome == OK:
			for _, c := range op.Committed {
				reg(c.Partition).Reads = append(reg(c.Partition).Reads, linearizability.OffsetRead{
					Call: int64(op.Call), Return: int64(op.Return), Offset: int64(c.Offset), Label: label})
			}
		}
	}
	var fails []string
	parts := make([]int32, 0, len(regs))
	// order-independent: collected, then sorted
	for p := range regs {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for _, p := range parts {
		if r := linearizability.CheckCommits(*regs[p], linearizeTimeout); !r.Passed() {
			fails = append(fails, fmt.Sprintf("commit-linearizability: %s: %s", regs[p].Key, r))
		}
	}
	return fails
}

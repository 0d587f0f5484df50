package core

import "container/heap"

// The group coordinator's deadlines: session timeouts, pending members,
// rebalance (join) and sync timeouts. Each lives in one min-heap ordered
// by instant, then by sequence number, so that deadlines falling due at
// one tick fire in the order they were set. A deadline is never removed
// from the heap: whatever it guards records the sequence number of its
// current deadline, and a deadline that no longer matches is ignored when
// it falls due (rescheduling is a new entry).

type timerKind uint8

const (
	timerHeartbeat timerKind = iota + 1 // a member's session
	timerPending                        // a member id handed out with MEMBER_ID_REQUIRED
	timerJoin                           // a group's rebalance (PreparingRebalance)
	timerSync                           // a group's wait for every member's SyncGroup
	timerWrite                          // a write's offsets.commit.timeout.ms (gc.writes)
)

type groupTimer struct {
	at     Instant
	seq    uint64
	kind   timerKind
	group  string
	member string
}

type timerHeap []groupTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(groupTimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// schedule sets a deadline delayMs from now and returns its sequence
// number, which the guarded state keeps to recognize it.
func (gc *groupCoordinator) schedule(kind timerKind, g *group, memberID string, delayMs int64) uint64 {
	gc.timerSeq++
	heap.Push(&gc.timers, groupTimer{at: gc.now + Instant(delayMs*1e6), seq: gc.timerSeq, kind: kind, group: g.id, member: memberID})
	return gc.timerSeq
}

// fireTimers runs every deadline that is due.
func (gc *groupCoordinator) fireTimers() {
	for len(gc.timers) > 0 && gc.timers[0].at <= gc.now {
		t := heap.Pop(&gc.timers).(groupTimer)
		if t.kind == timerWrite {
			if w := gc.writes[t.seq]; w != nil {
				w.finish(gc, errRequestTimedOut, false)
			}
			continue
		}
		g := gc.groups[t.group]
		if g == nil {
			continue
		}
		switch t.kind {
		case timerHeartbeat:
			if m := g.member(t.member); m != nil && m.hbSeq == t.seq {
				gc.onHeartbeatExpired(g, m)
			}
		case timerPending:
			if g.pending[t.member] == t.seq {
				gc.removePending(g, t.member)
			}
		case timerJoin:
			if g.joinSeq == t.seq {
				g.joinSeq = 0
				gc.onJoinDeadline(g)
			}
		case timerSync:
			if g.syncSeq == t.seq {
				g.syncSeq = 0
				gc.onSyncDeadline(g)
			}
		}
	}
}

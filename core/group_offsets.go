package core

import (
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

var errUnstableOffsetCommit = kerr.UnstableOffsetCommit.Code

// commitPart is one partition of an OffsetCommit; code is its answer.
type commitPart struct {
	tp   TopicPartition
	c    committed
	code int16
}

// commitParams is one OffsetCommit, normalized across versions.
type commitParams struct {
	groupID    string
	memberID   string
	instanceID *string
	generation int32
	// unchecked: a v0 commit, which Kafka keeps outside the group
	// protocol (in ZooKeeper): no membership or generation checks.
	unchecked bool
	parts     []*commitPart // partitions of existing topics
}

// commit handles an OffsetCommit (handleCommitOffsets): done runs once
// every part's code is final.
func (gc *groupCoordinator) commit(p commitParams, done func()) {
	fail := func(code int16) {
		for _, cp := range p.parts {
			cp.code = code
		}
		done()
	}
	if code := gc.status(p.groupID, true); code != errNone {
		fail(code)
		return
	}
	g := gc.groups[p.groupID]
	if g == nil {
		if p.generation >= 0 && !p.unchecked {
			fail(errIllegalGeneration) // a commit from an older generation
			return
		}
		// a group that only stores offsets (assign() consumers, tools)
		g = newGroup(p.groupID, gc.partitionOf(p.groupID), gc.nowMs())
		gc.groups[p.groupID] = g
	}
	if !p.unchecked {
		if code := gc.validateCommit(g, p); code != errNone {
			if code == errIllegalGeneration {
				gc.cover(cover.GroupStaleCommitRejected)
			}
			fail(code)
			gc.dropIfUnused(g)
			return
		}
		switch g.state {
		case groupStable, groupPreparingRebalance:
			// a commit counts as a heartbeat
			if m := g.member(p.memberID); m != nil {
				m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
			}
		case groupCompletingRebalance:
			fail(errRebalanceInProgress)
			return
		}
	}
	gc.storeOffsets(g, p.parts, done)
}

// validateCommit is validateOffsetCommit.
func (gc *groupCoordinator) validateCommit(g *group, p commitParams) int16 {
	switch {
	case g.state == groupDead:
		return errCoordinatorNotAvailable
	case p.generation < 0 && g.state == groupEmpty:
		return errNone // an admin client or a consumer outside group management
	case p.generation >= 0 || p.memberID != "" || p.instanceID != nil:
		if code := g.validateMember(p.memberID, p.instanceID); code != errNone {
			return code
		}
		if p.generation != g.generation && !bugOn(BugStaleGenerationCommit) {
			return errIllegalGeneration // BUG SITE (simbugs): BugStaleGenerationCommit skips this check.
		}
		return errNone
	case g.state != groupEmpty:
		return errUnknownMemberID // only members commit to a group with members
	}
	return errNone
}

// utf16Len is a string's length as Java counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// storeOffsets writes the commits whose metadata fits
// offset.metadata.max.bytes as one batch, and applies them once it is
// acknowledgeable.
func (gc *groupCoordinator) storeOffsets(g *group, parts []*commitPart, done func()) {
	var recs []kv
	var writing []*commitPart
	for _, cp := range parts {
		if utf16Len(cp.c.metadata) > int(gc.cfg.OffsetMetadataMax) {
			cp.code = errOffsetMetadataTooLarge
			continue
		}
		writing = append(writing, cp)
		recs = append(recs, kv{offsetKey(g.id, cp.tp), offsetValue(&cp.c)})
	}
	if len(writing) == 0 {
		gc.dropIfUnused(g)
		done()
		return
	}
	for _, cp := range writing {
		g.inflight[cp.tp]++
	}
	var base Offset
	base, _ = gc.write(g.part, recs, func(code int16) {
		for _, cp := range writing {
			if g.inflight[cp.tp]--; g.inflight[cp.tp] == 0 {
				delete(g.inflight, cp.tp)
			}
			cp.code = commitError(code)
		}
		if code == errNone && g.state != groupDead {
			g.applyCommits(writing, base)
		}
		if g.state != groupDead {
			gc.dropIfUnused(g)
		}
		done()
	}, func() { gc.commitLate(g, writing, base) })
}

// applyCommits takes the commits of a batch at base in __consumer_offsets:
// of two commits of a partition, the later in the log wins.
func (g *group) applyCommits(parts []*commitPart, base Offset) {
	for _, cp := range parts {
		c := cp.c
		c.appendedAt = base
		if old := g.offsets[cp.tp]; old == nil || old.appendedAt < c.appendedAt {
			g.offsets[cp.tp] = &c
		}
	}
}

// commitLate takes commits whose write was answered with an error (it
// timed out, or the ISR shrank below min.insync.replicas) and that are
// committed after all: the offsets are then what a load of the log
// shows, and what this coordinator serves. Kafka's coordinator forgets
// them until it next loads the partition.
func (gc *groupCoordinator) commitLate(g *group, parts []*commitPart, base Offset) {
	cur := gc.groups[g.id]
	if cur == nil {
		if g.state == groupDead || gc.parts[g.part] != partLoaded {
			return // deleted, or the partition moved away
		}
		gc.groups[g.id], cur = g, g // dropped as unused after the error
	}
	if cur.state != groupDead {
		cur.applyCommits(parts, base)
	}
}

// offsetPart is one partition of an OffsetFetch answer.
type offsetPart struct {
	tp TopicPartition
	kmsg.OffsetFetchResponseGroupTopicPartition
}

// fetchOffsets is handleFetchOffsets: a group-level error, or the
// committed offsets of tps (every committed partition when all).
func (gc *groupCoordinator) fetchOffsets(groupID string, tps []TopicPartition, all, requireStable bool) (int16, []offsetPart) {
	if code := gc.status(groupID, true); code != errNone {
		return code, nil
	}
	g := gc.groups[groupID]
	if all {
		tps = nil
		if g != nil && g.state != groupDead {
			// order-independent: collected, then sorted
			for tp := range g.offsets {
				tps = append(tps, tp)
			}
			sortPartitions(tps)
		}
	}
	out := make([]offsetPart, 0, len(tps))
	for _, tp := range tps {
		fp := offsetPart{tp: tp, OffsetFetchResponseGroupTopicPartition: kmsg.NewOffsetFetchResponseGroupTopicPartition()}
		fp.Partition, fp.Offset, fp.LeaderEpoch = tp.Partition, -1, -1
		empty := ""
		fp.Metadata = &empty
		switch {
		case g == nil || g.state == groupDead:
		case requireStable && g.inflight[tp] > 0:
			fp.ErrorCode = errUnstableOffsetCommit
		default:
			if c := g.offsets[tp]; c != nil {
				md := c.metadata
				fp.Offset, fp.LeaderEpoch, fp.Metadata = c.offset, c.leaderEpoch, &md
			}
		}
		out = append(out, fp)
	}
	return errNone, out
}

// deleteGroups is handleDeleteGroups; done gets each group's code, in
// the order asked, once the deletions are durable.
func (gc *groupCoordinator) deleteGroups(ids []string, done func(codes []int16)) {
	codes := make([]int16, len(ids))
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			done(codes)
		}
	}
	for i, id := range ids {
		if code := gc.status(id, true); code != errNone {
			codes[i] = code
			continue
		}
		g := gc.groups[id]
		switch {
		case g == nil || g.state == groupDead:
			codes[i] = errGroupIDNotFound
		case g.state != groupEmpty:
			codes[i] = errNonEmptyGroup
		default:
			i := i
			pending++
			clear(g.pending) // their JoinGroups will find no group, as in Kafka
			gc.removeGroup(g, sortedOffsets(g), func(code int16) {
				codes[i] = code
				finish()
			})
		}
	}
	finish()
}

func sortedOffsets(g *group) []TopicPartition {
	tps := make([]TopicPartition, 0, len(g.offsets))
	// order-independent: collected, then sorted
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	sortPartitions(tps)
	return tps
}

// deletable says g holds nothing to keep it: Empty, no offsets, none
// being committed, and no member id handed out with MEMBER_ID_REQUIRED
// whose JoinGroup is still to come (deleting the group would answer that
// JoinGroup UNKNOWN_MEMBER_ID).
func (g *group) deletable() bool {
	return g.state == groupEmpty && len(g.offsets) == 0 && len(g.inflight) == 0 && len(g.pending) == 0
}

// removeGroup deletes offsets tps of g and, once g is deletable, g
// itself: tombstones for each (the group's only when it
// ever had a generation), written as one batch. done gets errNone once
// the tombstones are acknowledgeable, else the commit error.
func (gc *groupCoordinator) removeGroup(g *group, tps []TopicPartition, done func(code int16)) {
	var recs []kv
	for _, tp := range tps {
		if _, ok := g.offsets[tp]; ok {
			delete(g.offsets, tp)
			recs = append(recs, kv{key: offsetKey(g.id, tp)})
		}
		delete(g.inflight, tp)
	}
	if g.deletable() {
		g.state = groupDead
		delete(gc.groups, g.id)
		if g.generation > 0 {
			recs = append(recs, kv{key: groupKey(g.id)})
		}
	}
	if len(recs) == 0 {
		done(errNone)
		return
	}
	gc.write(g.part, recs, func(code int16) { done(commitError(code)) }, nil)
}

// deleteOffsets is handleDeleteOffsets: a group-level error, or each
// partition's.
func (gc *groupCoordinator) deleteOffsets(groupID string, tps []TopicPartition, done func(code int16, codes []int16)) {
	codes := make([]int16, len(tps))
	if code := gc.status(groupID, false); code != errNone {
		done(code, nil)
		return
	}
	g := gc.groups[groupID]
	if g == nil || g.state == groupDead {
		done(errGroupIDNotFound, nil)
		return
	}
	var eligible []TopicPartition
	switch {
	case g.state == groupEmpty:
		eligible = tps
	case g.isConsumerGroup():
		for i, tp := range tps {
			if g.subscribedTo(tp.Topic) {
				codes[i] = errGroupSubscribedToTopic
				continue
			}
			eligible = append(eligible, tp)
		}
	default:
		done(errNonEmptyGroup, nil)
		return
	}
	if len(eligible) == 0 {
		done(errNone, codes)
		return
	}
	gc.removeGroup(g, eligible, func(code int16) {
		if code != errNone {
			for i := range tps {
				if codes[i] == errNone {
					codes[i] = code
				}
			}
		}
		done(errNone, codes)
	})
}

// expireOffsets is Kafka's cleanupGroupMetadata with
// removeExpiredOffsets: offsets past offsets.retention.minutes go, and
// groups left Empty without offsets are deleted.
func (gc *groupCoordinator) expireOffsets() {
	now := gc.nowMs()
	retention := gc.cfg.OffsetsRetentionMs
	for _, id := range sortedKeys(gc.groups) {
		g := gc.groups[id]
		if gc.parts[g.part] != partLoaded {
			continue
		}
		var base func(c *committed) int64
		var skip map[string]bool
		switch {
		case g.protocolType != nil && g.state == groupEmpty:
			// since the group became Empty (or, unknown, the commit)
			base = func(c *committed) int64 {
				if g.stateMs >= 0 {
					return g.stateMs
				}
				return c.commitMs
			}
		case g.isConsumerGroup() && g.subscribed != nil && g.state == groupStable:
			// partitions of topics nobody subscribes to any more
			base, skip = func(c *committed) int64 { return c.commitMs }, g.subscribed
		case g.protocolType == nil:
			base = func(c *committed) int64 { return c.commitMs } // a group that only stores offsets
		default:
			continue
		}
		var expired []TopicPartition
		for _, tp := range sortedOffsets(g) {
			c := g.offsets[tp]
			if skip[tp.Topic] || g.inflight[tp] > 0 {
				continue
			}
			if c.expireMs >= 0 && now >= c.expireMs || c.expireMs < 0 && now-base(c) >= retention {
				expired = append(expired, tp)
			}
		}
		if len(expired) > 0 || g.deletable() {
			gc.removeGroup(g, expired, func(int16) {}) // lost tombstones are written again next time
		}
	}
}

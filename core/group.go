package core

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// The group coordinator: Kafka's classic group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup) and committed offsets, with Kafka's
// state machine and error codes (GroupCoordinator.scala is the
// reference). Its state is its own: groups, members, generations and
// offsets live here and nowhere else; the broker routes requests and ticks
// to it, and it writes through the broker's append path to the internal
// topic __consumer_offsets, whose records (Kafka's schemas) are the
// durable copy replayed at startup (group_store.go).
//
// A group's coordinator is the leader of partition
// abs(hashCode(group)) % offsets.topic.num.partitions (replicated
// offsets.topic.replication.factor times). A partition's groups are
// served once its records are replayed (COORDINATOR_LOAD_IN_PROGRESS
// until then), while this broker leads it and holds its leadership lease;
// when the leadership moves they are dropped, and their members told
// NOT_COORDINATOR.
//
// Requests that wait (JoinGroup until the rebalance completes, SyncGroup
// until the leader's assignment is stored) are kept in their member and
// answered when the group moves on; deadlines are on the core's clock
// (group_timer.go).

var (
	errCoordinatorLoadInProgress = kerr.CoordinatorLoadInProgress.Code
	errNotCoordinator            = kerr.NotCoordinator.Code
	errIllegalGeneration         = kerr.IllegalGeneration.Code
	errInconsistentGroupProtocol = kerr.InconsistentGroupProtocol.Code
	errInvalidGroupID            = kerr.InvalidGroupID.Code
	errUnknownMemberID           = kerr.UnknownMemberID.Code
	errInvalidSessionTimeout     = kerr.InvalidSessionTimeout.Code
	errRebalanceInProgress       = kerr.RebalanceInProgress.Code
	errInvalidCommitOffsetSize   = kerr.InvalidCommitOffsetSize.Code
	errOffsetMetadataTooLarge    = kerr.OffsetMetadataTooLarge.Code
	errGroupIDNotFound           = kerr.GroupIDNotFound.Code
	errNonEmptyGroup             = kerr.NonEmptyGroup.Code
	errMemberIDRequired          = kerr.MemberIDRequired.Code
	errFencedInstanceID          = kerr.FencedInstanceID.Code
	errGroupMaxSizeReached       = kerr.GroupMaxSizeReached.Code
	errGroupSubscribedToTopic    = kerr.GroupSubscribedToTopic.Code
)

type groupState uint8

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
	groupDead
)

var groupStateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s groupState) String() string { return groupStateNames[s] }

// canRebalance: the states PreparingRebalance may be entered from.
func (s groupState) canRebalance() bool {
	return s == groupStable || s == groupCompletingRebalance || s == groupEmpty
}

type memberProtocol struct {
	name     string
	metadata []byte
}

type member struct {
	id         string
	instanceID *string // group.instance.id: a static member
	clientID   string
	clientHost string

	rebalanceTimeoutMs int32
	sessionTimeoutMs   int32
	protocolType       string
	protocols          []memberProtocol
	assignment         []byte

	join  *Request // a JoinGroup awaiting the rebalance's end
	sync  *Request // a SyncGroup awaiting the assignment
	isNew bool     // joined in the current rebalance, not yet answered
	hbSeq uint64   // the session deadline in force (0: none)
}

func (m *member) awaitingJoin() bool { return m.join != nil }
func (m *member) awaitingSync() bool { return m.sync != nil }

// satisfied reports whether a session deadline falling due now leaves
// the member in the group: a member waiting in a rebalance counts as
// alive, unless it is new (it may have gone away while waiting).
func (m *member) satisfied() bool {
	return !m.isNew && (m.awaitingJoin() || m.awaitingSync())
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.name == protocol {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether protocols are the member's, in order.
func (m *member) matches(protocols []memberProtocol) bool {
	return slices.EqualFunc(m.protocols, protocols, func(a, b memberProtocol) bool {
		return a.name == b.name && string(a.metadata) == string(b.metadata)
	})
}

// vote is the member's preferred protocol among candidates.
func (m *member) vote(candidates map[string]bool) string {
	for _, p := range m.protocols {
		if candidates[p.name] {
			return p.name
		}
	}
	return ""
}

// committed is one committed offset.
type committed struct {
	offset      int64
	leaderEpoch int32 // -1: none
	metadata    string
	commitMs    int64
	expireMs    int64 // -1: none (expiry by offsets.retention.minutes)
	// appendedAt is the offset of the batch that holds the commit in
	// __consumer_offsets: of two commits, the later in the log wins.
	appendedAt Offset
}

type group struct {
	id    string
	part  int32 // its __consumer_offsets partition
	state groupState
	// stateMs is when the group entered its state (Kafka's
	// currentStateTimestamp), -1 when unknown.
	stateMs      int64
	generation   int32
	protocolType *string
	protocolName *string
	leader       *string

	members []*member // in join order; the order decides a new leader
	static  map[string]string
	// pending: member ids handed out with MEMBER_ID_REQUIRED, by the
	// sequence number of their deadline.
	pending        map[string]uint64
	pendingSync    map[string]bool
	newMemberAdded bool
	joinSeq        uint64 // the rebalance deadline in force (0: none)
	joinInitial    bool   // the deadline is the initial delay (group.initial.rebalance.delay.ms)
	joinDelay      int64  // the initial delay in force
	joinRemaining  int64  // what the initial delay may still extend by
	syncSeq        uint64

	// stored: the group's metadata is in __consumer_offsets (a replayed
	// record, not a tombstone): it survives with no members and no
	// offsets, as Kafka loads it.
	stored bool

	offsets map[TopicPartition]*committed
	// inflight counts, per partition, the commits being written: offsets
	// with one pending do not expire.
	inflight map[TopicPartition]int
	// subscribed: the consumer-protocol members' topics, when known.
	subscribed map[string]bool
}

func newGroup(id string, part int32, now int64) *group {
	return &group{id: id, part: part, stateMs: now, static: map[string]string{},
		pending: map[string]uint64{}, pendingSync: map[string]bool{},
		offsets: map[TopicPartition]*committed{}, inflight: map[TopicPartition]int{}}
}

func (g *group) member(id string) *member {
	for _, m := range g.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (g *group) isLeader(id string) bool { return g.leader != nil && *g.leader == id }

func (g *group) leaderOrEmpty() string {
	if g.leader == nil {
		return ""
	}
	return *g.leader
}

func (g *group) numAwaiting() int {
	n := 0
	for _, m := range g.members {
		if m.awaitingJoin() {
			n++
		}
	}
	return n
}

func (g *group) allJoined() bool { return g.numAwaiting() == len(g.members) && len(g.pending) == 0 }

func (g *group) rebalanceTimeoutMs() int64 {
	var t int32
	for _, m := range g.members {
		t = max(t, m.rebalanceTimeoutMs)
	}
	return int64(t)
}

func (g *group) isConsumerGroup() bool { return g.protocolType != nil && *g.protocolType == "consumer" }

// supports reports whether a member with these protocols may join.
func (g *group) supports(protocolType string, protocols []memberProtocol) bool {
	if g.state == groupEmpty {
		return protocolType != "" && len(protocols) > 0
	}
	if g.protocolType == nil || *g.protocolType != protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supportCount(p.name) == len(g.members) {
			return true
		}
	}
	return false
}

func (g *group) supportCount(protocol string) int {
	n := 0
	for _, m := range g.members {
		for _, p := range m.protocols {
			if p.name == protocol {
				n++
				break
			}
		}
	}
	return n
}

// selectProtocol picks the protocol every member supports that most
// members prefer; ties go to the name first in byte order.
func (g *group) selectProtocol() string {
	candidates := map[string]bool{}
	for _, p := range g.members[0].protocols {
		if g.supportCount(p.name) == len(g.members) {
			candidates[p.name] = true
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		votes[m.vote(candidates)]++
	}
	best := ""
	for _, name := range sortedKeys(votes) {
		if best == "" || votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

func (g *group) add(m *member) {
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		pt := m.protocolType
		g.protocolType = &pt
	}
	if g.leader == nil {
		id := m.id
		g.leader = &id
	}
	g.members = append(g.members, m)
	delete(g.pending, m.id)
}

func (g *group) remove(id string) {
	i := slices.IndexFunc(g.members, func(m *member) bool { return m.id == id })
	if i >= 0 {
		m := g.members[i]
		g.members = slices.Delete(g.members, i, i+1)
		m.hbSeq = 0
		if m.instanceID != nil {
			delete(g.static, *m.instanceID)
		}
	}
	if g.isLeader(id) {
		g.leader = nil
		if len(g.members) > 0 {
			l := g.members[0].id
			g.leader = &l
		}
	}
	delete(g.pending, id)
	delete(g.pendingSync, id)
}

// computeSubscribed collects the topics a consumer group's members
// subscribe to (nil when unknown: not a consumer group, or metadata that
// does not parse).
func (g *group) computeSubscribed() map[string]bool {
	if !g.isConsumerGroup() {
		return nil
	}
	if len(g.members) == 0 {
		return map[string]bool{}
	}
	if g.protocolName == nil {
		return nil
	}
	topics := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(*g.protocolName)); err != nil {
			return nil
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return topics
}

func (g *group) subscribedTo(topic string) bool {
	if g.subscribed == nil {
		return true // unknown: assume so, to be safe
	}
	return g.subscribed[topic]
}

// groupCoordinator owns every group of the partitions of
// __consumer_offsets this broker leads.
type groupCoordinator struct {
	*step            // shared with the broker's other sub-machines
	meta   *metadata // where __consumer_offsets and the groups' topics are looked up
	b      *Broker   // appends to, and creation of, __consumer_offsets, until replicas are a sub-machine of their own
	cfg    GroupConfig
	groups map[string]*group // iterate via sortedKeys
	// parts: the load state of each __consumer_offsets partition this
	// broker hosts, by partition number.
	parts map[int32]partLoad
	// replayed: per partition being loaded, the ids of the groups its
	// records named, in the order first seen
	replayed map[int32][]string
	// loads counts, per partition, the loads begun: a read of an older
	// one (leadership moved away meanwhile) is dropped.
	loads map[int32]int
	// movedFrom: per partition being loaded, the broker that led it
	// before this one (-1: none known).
	movedFrom map[int32]BrokerID
	timers    timerHeap
	timerSeq  uint64
	// writes are the writes to the offsets topic not yet answered, by
	// the sequence number of their deadline.
	writes     map[uint64]*groupWrite
	lastExpiry Instant
	creating   bool // the offsets topic's creation is outstanding
	// ticked: a tick has told the time. Partitions loaded before it
	// (unclocked) start their members' sessions at the first tick.
	ticked    bool
	unclocked []int32
}

type partLoad uint8

const (
	partLoading partLoad = iota + 1
	partLoaded
	partFailed // its log could not be read: its groups are not served
)

func newGroupCoordinator(b *Broker) *groupCoordinator {
	return &groupCoordinator{step: b.step, meta: b.metadata, b: b, cfg: b.cfg.Groups, groups: map[string]*group{}, parts: map[int32]partLoad{},
		replayed: map[int32][]string{}, loads: map[int32]int{}, movedFrom: map[int32]BrokerID{}, writes: map[uint64]*groupWrite{}}
}

// partitionFor is Kafka's Utils.abs(groupId.hashCode) % partitions, with
// Java's String.hashCode over UTF-16 code units. Utils.abs negates a
// negative hash code (it does not clear the sign bit) and maps
// Integer.MIN_VALUE to 0.
func partitionFor(group string, partitions int32) int32 {
	var h int32
	for _, r := range group {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return h % partitions
}

// offsetsPartitions is how many partitions the offsets topic has: the
// topic's own count once it exists, else the configured one.
func (gc *groupCoordinator) offsetsPartitions() int32 {
	if t := gc.meta.topics[OffsetsTopic]; t != nil && len(t.parts) > 0 {
		return int32(len(t.parts))
	}
	return gc.cfg.OffsetsPartitions
}

func (gc *groupCoordinator) partitionOf(groupID string) int32 {
	return partitionFor(groupID, gc.offsetsPartitions())
}

// status is validateGroupStatus: whether this broker serves groupID now.
// allowEmpty admits the empty id, which Kafka accepts for offset commits
// and fetches, DescribeGroups and DeleteGroups.
func (gc *groupCoordinator) status(groupID string, allowEmpty bool) int16 {
	if groupID == "" && !allowEmpty {
		return errInvalidGroupID
	}
	switch gc.parts[gc.partitionOf(groupID)] {
	case partLoading:
		return errCoordinatorLoadInProgress
	case partLoaded:
		p := gc.meta.partitionOf(OffsetsTopic, gc.partitionOf(groupID))
		if p == nil || !p.leading || p.offline || !gc.b.leaseHeld() {
			// (without the lease another broker may coordinate already)
			return errNotCoordinator
		}
		return errNone
	}
	return errNotCoordinator
}

func (gc *groupCoordinator) newMemberID(clientID string, instanceID *string) string {
	var id [16]byte
	gc.rng.fill(id[:])
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID, as Kafka's UUID.randomUUID
	id[8] = id[8]&0x3f | 0x80
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

func (gc *groupCoordinator) nowMs() int64 { return gc.now.Millis() }

func (gc *groupCoordinator) transition(g *group, s groupState) {
	g.state = s
	g.stateMs = gc.nowMs()
}

// joinParams is one JoinGroup, normalized across versions.
type joinParams struct {
	groupID            string
	memberID           string
	instanceID         *string
	requireKnownMember bool // v4+ without group.instance.id
	skipAssignment     bool // v9+: a static leader may skip assigning
	clientID           string
	clientHost         string
	rebalanceTimeoutMs int32
	sessionTimeoutMs   int32
	protocolType       string
	protocols          []memberProtocol
}

// joinResult is a JoinGroup answer.
type joinResult struct {
	members      []kmsg.JoinGroupResponseMember
	memberID     string
	generation   int32
	protocolType *string
	protocolName *string
	leader       string
	skip         bool
	code         int16
}

func joinError(memberID string, code int16) joinResult {
	return joinResult{memberID: memberID, generation: -1, code: code}
}

func (gc *groupCoordinator) replyJoin(r Request, res joinResult) {
	resp := r.Body.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.ErrorCode = res.code
	resp.Generation = res.generation
	resp.ProtocolType = res.protocolType
	resp.Protocol = res.protocolName
	resp.LeaderID = res.leader
	resp.MemberID = res.memberID
	resp.SkipAssignment = res.skip
	resp.Members = res.members
	gc.respond(r, resp)
}

// answerJoin answers the member's parked JoinGroup, if any.
func (gc *groupCoordinator) answerJoin(m *member, res joinResult) {
	if m.join == nil {
		return
	}
	r := *m.join
	m.join = nil
	gc.replyJoin(r, res)
}

func (gc *groupCoordinator) answerSync(m *member, code int16, g *group) bool {
	if m.sync == nil {
		return false
	}
	r := *m.sync
	m.sync = nil
	gc.replySync(r, code, g, m.assignment)
	return true
}

func (gc *groupCoordinator) replySync(r Request, code int16, g *group, assignment []byte) {
	resp := r.Body.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.ErrorCode = code
	if code == errNone && g != nil {
		resp.ProtocolType, resp.Protocol = g.protocolType, g.protocolName
		resp.MemberAssignment = assignment
	}
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	gc.respond(r, resp)
}

// currentMembers is what the leader's JoinGroup answer lists.
func (g *group) currentMembers() []kmsg.JoinGroupResponseMember {
	out := make([]kmsg.JoinGroupResponseMember, 0, len(g.members))
	for _, m := range g.members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID, jm.InstanceID = m.id, m.instanceID
		if g.protocolName != nil {
			jm.ProtocolMetadata = m.metadataFor(*g.protocolName)
		}
		out = append(out, jm)
	}
	return out
}

// join handles a JoinGroup (handleJoinGroup).
func (gc *groupCoordinator) join(r Request, p joinParams) {
	if code := gc.status(p.groupID, false); code != errNone {
		gc.replyJoin(r, joinError(p.memberID, code))
		return
	}
	if p.sessionTimeoutMs < gc.cfg.MinSessionTimeoutMs || p.sessionTimeoutMs > gc.cfg.MaxSessionTimeoutMs {
		gc.replyJoin(r, joinError(p.memberID, errInvalidSessionTimeout))
		return
	}
	unknown := p.memberID == ""
	g := gc.groups[p.groupID]
	if g == nil {
		if !unknown {
			gc.replyJoin(r, joinError(p.memberID, errUnknownMemberID))
			return
		}
		g = newGroup(p.groupID, gc.partitionOf(p.groupID), gc.nowMs())
		gc.groups[p.groupID] = g
	}
	if !gc.acceptJoining(g, p.memberID) {
		gc.removeMemberID(g, p.memberID)
		gc.replyJoin(r, joinError("", errGroupMaxSizeReached))
	} else if unknown {
		gc.newMemberJoin(r, g, p)
	} else {
		gc.currentMemberJoin(r, g, p)
	}
	if g.state == groupPreparingRebalance {
		gc.tryCompleteJoin(g)
	}
	gc.dropIfUnused(g)
}

// acceptJoining is acceptJoiningMember: group.max.size counts the members
// awaiting the rebalance, so that a lowered limit sheds the last ones.
func (gc *groupCoordinator) acceptJoining(g *group, memberID string) bool {
	switch g.state {
	case groupEmpty, groupDead:
		return true
	case groupPreparingRebalance:
		if m := g.member(memberID); m != nil && m.awaitingJoin() {
			return true
		}
		return g.numAwaiting() < int(gc.cfg.MaxSize)
	}
	return g.member(memberID) != nil || len(g.members) < int(gc.cfg.MaxSize)
}

// removeMemberID drops a member refused by group.max.size, answering
// what it was waiting for.
func (gc *groupCoordinator) removeMemberID(g *group, id string) {
	if m := g.member(id); m != nil {
		gc.answerJoin(m, joinError("", errGroupMaxSizeReached))
	}
	g.remove(id)
}

func (gc *groupCoordinator) newMemberJoin(r Request, g *group, p joinParams) {
	switch {
	case g.state == groupDead:
		gc.replyJoin(r, joinError("", errCoordinatorNotAvailable))
		return
	case !g.supports(p.protocolType, p.protocols):
		gc.replyJoin(r, joinError("", errInconsistentGroupProtocol))
		return
	}
	id := gc.newMemberID(p.clientID, p.instanceID)
	if p.instanceID != nil {
		if old, ok := g.static[*p.instanceID]; ok {
			gc.replaceStatic(r, g, old, id, p)
			return
		}
		gc.addMemberAndRebalance(r, g, id, p)
		return
	}
	if p.requireKnownMember {
		g.pending[id] = gc.schedule(timerPending, g, id, int64(p.sessionTimeoutMs))
		gc.cover(cover.GroupMemberIDRequired)
		gc.replyJoin(r, joinError(id, errMemberIDRequired))
		return
	}
	gc.addMemberAndRebalance(r, g, id, p)
}

func (gc *groupCoordinator) currentMemberJoin(r Request, g *group, p joinParams) {
	switch {
	case g.state == groupDead:
		gc.replyJoin(r, joinError(p.memberID, errCoordinatorNotAvailable))
		return
	case !g.supports(p.protocolType, p.protocols):
		gc.replyJoin(r, joinError(p.memberID, errInconsistentGroupProtocol))
		return
	}
	if _, ok := g.pending[p.memberID]; ok {
		gc.addMemberAndRebalance(r, g, p.memberID, p)
		return
	}
	if code := g.validateMember(p.memberID, p.instanceID); code != errNone {
		gc.replyJoin(r, joinError(p.memberID, code))
		return
	}
	m := g.member(p.memberID)
	current := func(withMembers bool) joinResult {
		res := joinResult{memberID: m.id, generation: g.generation, protocolType: g.protocolType,
			protocolName: g.protocolName, leader: g.leaderOrEmpty()}
		if withMembers {
			res.members = g.currentMembers()
		}
		return res
	}
	switch g.state {
	case groupPreparingRebalance:
		gc.updateMemberAndRebalance(r, g, m, p)
	case groupCompletingRebalance:
		if m.matches(p.protocols) {
			// the same metadata again (its answer was lost): the
			// current generation, as before
			gc.replyJoin(r, current(g.isLeader(m.id)))
			return
		}
		gc.updateMemberAndRebalance(r, g, m, p)
	case groupStable:
		if g.isLeader(m.id) || !m.matches(p.protocols) {
			// the leader rejoining asks for a rebalance (for changes
			// the metadata does not show, such as new partitions)
			gc.updateMemberAndRebalance(r, g, m, p)
			return
		}
		gc.replyJoin(r, current(false))
	default: // Empty: unexpected, let it rejoin afresh
		gc.replyJoin(r, joinError(p.memberID, errUnknownMemberID))
	}
}

// validateMember is validateCurrentMember: a static member's instance id
// must map to memberID, and memberID must be in the group.
func (g *group) validateMember(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		cur, ok := g.static[*instanceID]
		switch {
		case !ok:
			return errUnknownMemberID
		case cur != memberID:
			return errFencedInstanceID
		}
		return errNone
	}
	if g.member(memberID) == nil {
		return errUnknownMemberID
	}
	return errNone
}

func (gc *groupCoordinator) addMemberAndRebalance(r Request, g *group, id string, p joinParams) {
	m := &member{id: id, instanceID: p.instanceID, clientID: p.clientID, clientHost: p.clientHost,
		rebalanceTimeoutMs: p.rebalanceTimeoutMs, sessionTimeoutMs: p.sessionTimeoutMs,
		protocolType: p.protocolType, protocols: p.protocols, isNew: true}
	if g.state == groupPreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	g.add(m)
	req := r
	m.join = &req
	// A new member cannot heartbeat until answered: its first JoinGroup
	// may wait NewMemberJoinTimeoutMs, after which it is dropped (and
	// retries if it is still there).
	m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, NewMemberJoinTimeoutMs)
	gc.maybePrepareRebalance(g)
}

func (gc *groupCoordinator) updateMemberAndRebalance(r Request, g *group, m *member, p joinParams) {
	gc.updateMember(m, p, &r)
	gc.maybePrepareRebalance(g)
}

func (gc *groupCoordinator) updateMember(m *member, p joinParams, r *Request) {
	m.protocols = p.protocols
	m.rebalanceTimeoutMs, m.sessionTimeoutMs = p.rebalanceTimeoutMs, p.sessionTimeoutMs
	if r != nil {
		req := *r
		m.join = &req
	} else {
		m.join = nil
	}
}

// replaceStatic is updateStaticMemberAndRebalance: a known group.instance.id
// joins with no member id; it takes over the member under a new id, and
// the old id is fenced.
func (gc *groupCoordinator) replaceStatic(r Request, g *group, oldID, newID string, p joinParams) {
	gc.cover(cover.GroupStaticMemberReplaced)
	oldLeader := g.leaderOrEmpty()
	m := g.member(oldID)
	gc.answerJoin(m, joinError(oldID, errFencedInstanceID))
	if m.sync != nil {
		rs := *m.sync
		m.sync = nil
		gc.replySync(rs, errFencedInstanceID, nil, nil)
	}
	m.id = newID
	g.static[*p.instanceID] = newID
	if g.isLeader(oldID) {
		g.leader = &newID
	}
	delete(g.pendingSync, oldID)
	m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
	old := *m
	gc.updateMember(m, p, &r)

	switch g.state {
	case groupStable:
		if g.protocolName != nil && g.selectProtocol() == *g.protocolName {
			// the protocol stays: persist the new member id, no rebalance
			gen := g.generation
			gc.storeGroup(g, g.assignments(), func(code int16) {
				if code != errNone {
					// revert to the old member id
					fenced := m.join
					m.join = nil
					m.protocols, m.rebalanceTimeoutMs, m.sessionTimeoutMs = old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs
					m.id = oldID
					g.static[*p.instanceID] = oldID
					if g.isLeader(newID) {
						g.leader = &oldID
					}
					m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
					if fenced != nil {
						gc.replyJoin(*fenced, joinResult{memberID: "", generation: g.generation, protocolType: g.protocolType,
							protocolName: g.protocolName, leader: oldLeader, code: code})
					}
					return
				}
				res := joinResult{memberID: newID, generation: gen, protocolType: g.protocolType, protocolName: g.protocolName}
				if p.skipAssignment {
					// v9+: the leader learns it leads, and skips assigning
					res.leader = g.leaderOrEmpty()
					if g.isLeader(newID) {
						res.members, res.skip = g.currentMembers(), true
					}
				} else {
					// before v9 the old leader id keeps a returning
					// leader from assigning in a stable group
					res.leader = oldLeader
				}
				gc.answerJoin(m, res)
			})
			return
		}
		gc.maybePrepareRebalance(g)
	case groupCompletingRebalance:
		// the old id may already be in the leader's assignment
		gc.prepareRebalance(g)
	}
}

// assignments maps every member to its current assignment.
func (g *group) assignments() map[string][]byte {
	out := make(map[string][]byte, len(g.members))
	for _, m := range g.members {
		out[m.id] = m.assignment
	}
	return out
}

func (gc *groupCoordinator) maybePrepareRebalance(g *group) {
	if g.state.canRebalance() {
		gc.prepareRebalance(g)
	}
}

func (gc *groupCoordinator) prepareRebalance(g *group) {
	if g.state == groupCompletingRebalance {
		gc.resetAndPropagate(g, errRebalanceInProgress)
	}
	g.syncSeq = 0
	clear(g.pendingSync)
	wasEmpty := g.state == groupEmpty
	gc.transition(g, groupPreparingRebalance)
	if wasEmpty {
		delay := int64(gc.cfg.InitialRebalanceDelayMs)
		g.joinInitial, g.joinDelay = true, delay
		g.joinRemaining = max(g.rebalanceTimeoutMs()-delay, 0)
		g.joinSeq = gc.schedule(timerJoin, g, "", delay)
		return
	}
	g.joinInitial = false
	g.joinSeq = gc.schedule(timerJoin, g, "", g.rebalanceTimeoutMs())
	gc.tryCompleteJoin(g)
}

// tryCompleteJoin completes a rebalance every member has rejoined (never
// during the initial delay).
func (gc *groupCoordinator) tryCompleteJoin(g *group) {
	if g.state == groupPreparingRebalance && g.joinSeq != 0 && !g.joinInitial && g.allJoined() {
		g.joinSeq = 0
		gc.completeJoin(g)
	}
}

func (gc *groupCoordinator) onJoinDeadline(g *group) {
	if g.state != groupPreparingRebalance {
		return
	}
	if g.joinInitial && g.newMemberAdded && g.joinRemaining != 0 {
		// new members keep arriving: wait once more, within the
		// rebalance timeout
		g.newMemberAdded = false
		delay := min(int64(gc.cfg.InitialRebalanceDelayMs), g.joinRemaining)
		g.joinRemaining = max(g.joinRemaining-g.joinDelay, 0)
		g.joinDelay = delay
		g.joinSeq = gc.schedule(timerJoin, g, "", delay)
		return
	}
	gc.completeJoin(g)
}

// completeJoin is onCompleteJoin: members that did not rejoin are removed
// (static ones stay), and the next generation starts.
func (gc *groupCoordinator) completeJoin(g *group) {
	for _, m := range slices.Clone(g.members) {
		if !m.awaitingJoin() && m.instanceID == nil {
			g.remove(m.id)
		}
	}
	if g.state == groupDead {
		return
	}
	if !gc.electJoinedLeader(g) && len(g.members) > 0 {
		// nobody rejoined: wait another rebalance timeout, until
		// sessions remove the silent members
		g.joinInitial = false
		g.joinSeq = gc.schedule(timerJoin, g, "", g.rebalanceTimeoutMs())
		return
	}
	g.generation++
	gc.b.stats.rebalances++
	clear(g.pendingSync)
	if len(g.members) == 0 {
		g.protocolName = nil
		g.subscribed = g.computeSubscribed()
		gc.transition(g, groupEmpty)
		gc.storeGroup(g, nil, func(int16) {})
		return
	}
	gc.cover(cover.GroupRebalanceCompleted)
	name := g.selectProtocol()
	g.protocolName = &name
	g.subscribed = g.computeSubscribed()
	gc.transition(g, groupCompletingRebalance)
	for _, m := range g.members {
		res := joinResult{memberID: m.id, generation: g.generation, protocolType: g.protocolType,
			protocolName: g.protocolName, leader: g.leaderOrEmpty()}
		if g.isLeader(m.id) {
			res.members = g.currentMembers()
		}
		gc.answerJoin(m, res)
		m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
		m.isNew = false
		g.pendingSync[m.id] = true
	}
	g.syncSeq = gc.schedule(timerSync, g, "", g.rebalanceTimeoutMs())
}

// electJoinedLeader keeps the leader if it rejoined, else picks a member
// that did; false when the group has no leader or nobody rejoined.
func (gc *groupCoordinator) electJoinedLeader(g *group) bool {
	if g.leader == nil {
		return false
	}
	if l := g.member(*g.leader); l != nil && l.awaitingJoin() {
		return true
	}
	for _, m := range g.members {
		if m.awaitingJoin() {
			id := m.id
			g.leader = &id
			return true
		}
	}
	return false
}

// onSyncDeadline removes the members that did not send SyncGroup within
// the rebalance timeout, and rebalances.
func (gc *groupCoordinator) onSyncDeadline(g *group) {
	if (g.state != groupCompletingRebalance && g.state != groupStable) || len(g.pendingSync) == 0 {
		return
	}
	for _, id := range sortedKeys(g.pendingSync) {
		g.remove(id)
	}
	gc.prepareRebalance(g)
}

func (gc *groupCoordinator) onHeartbeatExpired(g *group, m *member) {
	if g.state == groupDead || m.satisfied() || bugOn(BugSessionNeverExpires) { // BUG SITE (simbugs): BugSessionNeverExpires keeps the member.
		m.hbSeq = 0
		return
	}
	gc.cover(cover.GroupSessionExpired)
	gc.removeMemberAndUpdate(g, m)
}

func (gc *groupCoordinator) removeMemberAndUpdate(g *group, m *member) {
	gc.answerJoin(m, joinError("", errUnknownMemberID))
	g.remove(m.id)
	switch g.state {
	case groupStable, groupCompletingRebalance:
		gc.maybePrepareRebalance(g)
	case groupPreparingRebalance:
		gc.tryCompleteJoin(g)
	}
}

func (gc *groupCoordinator) removePending(g *group, id string) {
	g.remove(id)
	if g.state == groupPreparingRebalance {
		gc.tryCompleteJoin(g)
	}
}

// resetAndPropagate clears every assignment and answers the parked
// SyncGroups with code.
func (gc *groupCoordinator) resetAndPropagate(g *group, code int16) {
	for _, m := range g.members {
		m.assignment = nil
	}
	gc.propagate(g, code)
}

func (gc *groupCoordinator) propagate(g *group, code int16) {
	for _, m := range g.members {
		if gc.answerSync(m, code, g) {
			// the session restarts once the member has its answer
			m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
		}
	}
}

// dropIfUnused forgets a group with no members, no pending members and no
// offsets that nothing was ever stored for (a JoinGroup refused before it
// joined anything).
func (gc *groupCoordinator) dropIfUnused(g *group) {
	if g.deletable() && g.generation == 0 && len(g.members) == 0 {
		delete(gc.groups, g.id)
	}
}

// syncParams is one SyncGroup, normalized across versions.
type syncParams struct {
	groupID      string
	generation   int32
	memberID     string
	instanceID   *string
	protocolType *string
	protocolName *string
	assignments  map[string][]byte
}

func (gc *groupCoordinator) syncGroup(r Request, p syncParams) {
	switch code := gc.status(p.groupID, false); code {
	case errNone:
	case errCoordinatorLoadInProgress:
		// the rebalance's state is lost: have the member rejoin
		gc.replySync(r, errRebalanceInProgress, nil, nil)
		return
	default:
		gc.replySync(r, code, nil, nil)
		return
	}
	g := gc.groups[p.groupID]
	if g == nil {
		gc.replySync(r, errUnknownMemberID, nil, nil)
		return
	}
	if code := gc.validateSync(g, p); code != errNone {
		gc.replySync(r, code, nil, nil)
		return
	}
	switch g.state {
	case groupEmpty:
		gc.replySync(r, errUnknownMemberID, nil, nil)
	case groupPreparingRebalance:
		gc.replySync(r, errRebalanceInProgress, nil, nil)
	case groupCompletingRebalance:
		m := g.member(p.memberID)
		req := r
		m.sync = &req
		delete(g.pendingSync, m.id)
		if !g.isLeader(m.id) {
			return
		}
		assignment := map[string][]byte{}
		for _, x := range g.members {
			a, ok := p.assignments[x.id]
			if !ok {
				a = []byte{}
			}
			assignment[x.id] = a
		}
		gen := g.generation
		gc.storeGroup(g, assignment, func(code int16) {
			if g.state != groupCompletingRebalance || g.generation != gen {
				return // the group moved on meanwhile
			}
			if code != errNone {
				gc.resetAndPropagate(g, code)
				gc.maybePrepareRebalance(g)
				return
			}
			for _, x := range g.members {
				x.assignment = assignment[x.id]
				if bugOn(BugSyncHandsLeaderAssignment) { // BUG SITE (simbugs): every member gets the leader's assignment.
					x.assignment = assignment[g.leaderOrEmpty()]
				}
			}
			gc.propagate(g, errNone)
			if !bugOn(BugRebalanceLeftOpen) { // BUG SITE (simbugs): BugRebalanceLeftOpen stays CompletingRebalance.
				gc.transition(g, groupStable)
			}
		})
	case groupStable:
		m := g.member(p.memberID)
		delete(g.pendingSync, m.id)
		gc.replySync(r, errNone, g, m.assignment)
		m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
	}
}

func (gc *groupCoordinator) validateSync(g *group, p syncParams) int16 {
	if g.state == groupDead {
		return errCoordinatorNotAvailable
	}
	if code := g.validateMember(p.memberID, p.instanceID); code != errNone {
		return code
	}
	switch {
	case p.generation != g.generation:
		return errIllegalGeneration
	case p.protocolType != nil && (g.protocolType == nil || *g.protocolType != *p.protocolType):
		return errInconsistentGroupProtocol
	case p.protocolName != nil && (g.protocolName == nil || *g.protocolName != *p.protocolName):
		return errInconsistentGroupProtocol
	}
	return errNone
}

// heartbeat returns a Heartbeat's error code.
func (gc *groupCoordinator) heartbeat(groupID, memberID string, instanceID *string, generation int32) int16 {
	switch code := gc.status(groupID, false); code {
	case errNone:
	case errCoordinatorLoadInProgress:
		return errNone // the group is loading: answer blindly
	default:
		return code
	}
	g := gc.groups[groupID]
	if g == nil {
		return errUnknownMemberID
	}
	if g.state == groupDead {
		return errCoordinatorNotAvailable
	}
	if code := g.validateMember(memberID, instanceID); code != errNone {
		return code
	}
	if generation != g.generation {
		return errIllegalGeneration
	}
	m := g.member(memberID)
	switch g.state {
	case groupEmpty:
		return errUnknownMemberID
	case groupPreparingRebalance:
		m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
		return errRebalanceInProgress
	}
	m.hbSeq = gc.schedule(timerHeartbeat, g, m.id, int64(m.sessionTimeoutMs))
	return errNone
}

// leaveMember is one member of a LeaveGroup.
type leaveMember struct {
	memberID   string
	instanceID *string
	code       int16
}

// leave handles a LeaveGroup: the top-level error and each member's.
func (gc *groupCoordinator) leave(groupID string, members []leaveMember) int16 {
	if code := gc.status(groupID, false); code != errNone {
		return code
	}
	g := gc.groups[groupID]
	if g == nil {
		for i := range members {
			members[i].code = errUnknownMemberID
		}
		return errNone
	}
	if g.state == groupDead {
		return errCoordinatorNotAvailable
	}
	for i := range members {
		lm := &members[i]
		switch {
		case lm.memberID == "":
			// removal by group.instance.id (administrative)
			id, ok := "", false
			if lm.instanceID != nil {
				id, ok = g.static[*lm.instanceID]
			}
			if !ok {
				lm.code = errUnknownMemberID
				continue
			}
			gc.removeMemberAndUpdate(g, g.member(id))
		case g.pending[lm.memberID] != 0:
			gc.removePending(g, lm.memberID)
		default:
			if lm.code = g.validateMember(lm.memberID, lm.instanceID); lm.code != errNone {
				continue
			}
			gc.removeMemberAndUpdate(g, g.member(lm.memberID))
		}
	}
	return errNone
}

// tick runs the coordinator's deadlines and, every
// offsets.retention.check.interval.ms, offset expiry.
func (gc *groupCoordinator) tick() {
	gc.ticked = true
	for _, part := range gc.unclocked {
		gc.serveLoaded(part)
	}
	gc.unclocked = nil
	gc.fireTimers()
	if (gc.now - gc.lastExpiry).Millis() >= gc.cfg.OffsetsCheckMs {
		gc.lastExpiry = gc.now
		gc.expireOffsets()
	}
}

// describe is one DescribeGroups entry.
func (gc *groupCoordinator) describe(groupID string) kmsg.DescribeGroupsResponseGroup {
	d := kmsg.NewDescribeGroupsResponseGroup()
	d.Group = groupID
	d.AuthorizedOperations = -2147483648
	if code := gc.status(groupID, true); code != errNone {
		d.ErrorCode = code
		return d
	}
	g := gc.groups[groupID]
	if g == nil || g.state == groupDead {
		d.State = groupDead.String()
		return d
	}
	d.State = g.state.String()
	if g.protocolType != nil {
		d.ProtocolType = *g.protocolType
	}
	stable := g.state == groupStable && g.protocolName != nil
	if stable {
		d.Protocol = *g.protocolName
	}
	for _, m := range g.members {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			dm.ProtocolMetadata = m.metadataFor(*g.protocolName)
			if dm.ProtocolMetadata == nil {
				dm.ProtocolMetadata = []byte{}
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

// list is ListGroups: the groups of loaded partitions, filtered by state
// (case-insensitive) and type (only "classic" exists here).
func (gc *groupCoordinator) list(states, types []string) (int16, []kmsg.ListGroupsResponseGroup) {
	code := errNone
	// order-independent: whether any partition is loading
	for _, s := range gc.parts {
		if s == partLoading {
			code = errCoordinatorLoadInProgress
		}
	}
	// The type filter keeps a group whose type is any of those listed
	// (Kafka's GroupCoordinator.handleListGroups); every group here is
	// classic.
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, "classic") }) {
		return code, nil
	}
	var out []kmsg.ListGroupsResponseGroup
	for _, id := range sortedKeys(gc.groups) {
		g := gc.groups[id]
		if g.state == groupDead || gc.parts[g.part] != partLoaded {
			continue
		}
		if len(states) > 0 && !slices.ContainsFunc(states, func(s string) bool { return strings.EqualFold(s, g.state.String()) }) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.GroupState, lg.GroupType = g.id, g.state.String(), "classic"
		if g.protocolType != nil {
			lg.ProtocolType = *g.protocolType
		}
		out = append(out, lg)
	}
	return code, out
}

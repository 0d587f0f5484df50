package sim

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// simGroup is the consumer group the simulated group members form.
const simGroup = "sim-group"

// memberState is where a group member is in the classic protocol.
type memberState uint8

const (
	mFinding memberState = iota // FindCoordinator
	mJoining                    // JoinGroup (again)
	mSyncing                    // SyncGroup
	mStable                     // fetching its partitions, committing, heartbeating
	mDown                       // the process is down (crashed, or left and not back yet)
)

// groupMember is a consumer in the group simGroup, as a Kafka consumer
// with subscribe() behaves: it finds the coordinator, joins (MEMBER_ID_
// REQUIRED, then again with its id, from v4), the leader assigns the
// topic's partitions with the range strategy, every member syncs, then
// reads its partitions from the committed offsets, commits what it read
// with its generation, and heartbeats. A heartbeat or commit refused
// with REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION makes it commit what
// it read and rejoin (eager rebalancing). Coordinator requests use their
// own connection, as Kafka clients do, so that long polls do not delay
// heartbeats. Some members are static (group.instance.id).
//
// While faults run it also leaves and comes back, crashes (goes away
// without a word and restarts as a new process), stalls past its session
// timeout (its next heartbeat must be refused: the coordinator removed
// it), and now and then sends a commit from its previous generation (as
// a commit delayed across a rebalance would arrive): the coordinator
// must refuse it.
type groupMember struct {
	w          *world
	name       string
	coord      *client // coordinator requests
	drt        *router // where fetches and ListOffsets go
	data       *client // the bootstrap connection for them
	fetches    int     // fetches sent: the broker asked turns with it
	instanceID *string

	vFind, vJoin, vSync, vHB, vLeave, vCommit, vOffFetch, vFetch int16
	sessionMs, rebalanceMs                                       int32
	hbInterval, commitInterval                                   core.Instant
	staleProb                                                    float64
	chaosMean                                                    core.Instant

	state      memberState
	memberID   string
	generation int32
	prevGen    int32 // the generation before the current one, or -1
	leader     bool
	members    []kmsg.JoinGroupResponseMember
	// syncedParts: the topic's partition count its leader assigned over
	// (carried in the assignment's user data); a member that learns of
	// more rejoins, so that they are assigned (Kafka's consumer leader does so on a metadata change; any
	// member here, since a static member back under a new id is told an
	// old leader id and may be the only one left).
	syncedParts int32
	skipAssign  bool // the leader was told to skip the assignment (v9)
	assigned    []int32
	pos         map[int32]core.Offset // next offset to read; unknown when < 0
	committed   map[int32]core.Offset // the last commit acknowledged per partition
	needOffset  bool                  // the committed offsets are to be fetched
	epoch       int                   // bumped whenever the member restarts or rejoins: older callbacks are ignored
	coordBusy   bool                  // a FindCoordinator, JoinGroup, SyncGroup, OffsetFetch or LeaveGroup is out
	hbOut       bool
	commitOut   bool
	fetchOut    bool
	stalled     bool
	// heardIn is the broker incarnation whose coordinator last accepted
	// the member (a SyncGroup or a heartbeat): its session was running
	// then. A restart reloads the group, and sessions start again once
	// it is loaded.
	heardIn int
	decomp  decompressor
}

func (w *world) newGroupMember(name string) *groupMember {
	coord := newClient(w, name+"-coord")
	drt := newRouter(w, name)
	m := &groupMember{w: w, name: name, coord: coord, drt: drt, data: drt.boot,
		vFind: int16(w.rng.IntN(7)), vJoin: int16(w.rng.IntN(10)), vSync: int16(w.rng.IntN(6)),
		vHB: int16(w.rng.IntN(5)), vLeave: int16(w.rng.IntN(6)), vCommit: 1 + int16(w.rng.IntN(9)),
		vOffFetch: 1 + int16(w.rng.IntN(9)), vFetch: 4 + int16(w.rng.IntN(9)),
		sessionMs: 1000 + w.rng.Int32N(4000), prevGen: -1,
		pos: map[int32]core.Offset{}, committed: map[int32]core.Offset{}}
	m.rebalanceMs = m.sessionMs + w.rng.Int32N(3000)
	if m.vJoin == 0 {
		m.rebalanceMs = m.sessionMs // v0 has no rebalance timeout: the session's serves
	}
	if m.vJoin >= 5 && w.rng.IntN(3) == 0 {
		id := name + "-instance"
		m.instanceID = &id
		// a static member speaks versions that carry its instance id
		m.vHB, m.vSync, m.vLeave = max(m.vHB, 3), max(m.vSync, 3), max(m.vLeave, 3)
		m.vCommit = max(m.vCommit, 7)
	}
	m.hbInterval = core.Instant(m.sessionMs) * 1e6 / 4
	m.commitInterval = core.Instant(20e6 + w.rng.Int64N(400e6))
	m.staleProb = w.rng.Float64() / 2
	m.chaosMean = core.Instant(3e9 + w.rng.Int64N(10e9))
	// JoinGroup waits for the rebalance: the request timeout covers it, as
	// Kafka's consumer adds the rebalance timeout to it.
	m.coord.requestTimeout += core.Instant(m.rebalanceMs) * 1e6
	m.drt.addTimeout(1e9)
	static := "dynamic"
	if m.instanceID != nil {
		static = "static"
	}
	w.mix = append(w.mix, fmt.Sprintf("%s(%s session=%dms join=v%d sync=v%d hb=v%d commit=v%d offsetfetch=v%d)",
		name, static, m.sessionMs, m.vJoin, m.vSync, m.vHB, m.vCommit, m.vOffFetch))
	return m
}

func (m *groupMember) start() {
	m.coord.onReady = m.kick
	m.drt.setOnReady(m.pumpData)
	m.state = mFinding
	m.coord.ensureConn()
	m.drt.start()
	m.heartbeatLoop()
	m.commitLoop()
	m.chaosLoop()
}

// gone says a callback belongs to an earlier life of the member.
func (m *groupMember) gone(epoch int) bool { return epoch != m.epoch || m.state == mDown }

// kick drives the protocol: one coordinator request at a time.
func (m *groupMember) kick() {
	if m.coordBusy || m.state == mDown || m.stalled {
		return
	}
	if !m.coord.ready() {
		m.coord.ensureConn()
		return
	}
	switch m.state {
	case mFinding:
		m.findCoordinator()
	case mJoining:
		m.join()
	case mSyncing:
		m.sync()
	case mStable:
		if m.needOffset {
			m.fetchCommitted()
		}
	}
}

// retry runs kick again after a backoff, from state s.
func (m *groupMember) retry(s memberState) {
	m.state = s
	ep := m.epoch
	m.w.after(m.coord.backoff(), func() {
		if !m.gone(ep) {
			m.kick()
		}
	})
}

// coordCall sends one of the protocol's coordinator requests (one at a
// time: coordBusy), recording op when given (begun now, ended at the
// answer). A lost connection makes op indefinite and, unless the member
// moved on meanwhile, sends it back to FindCoordinator; an answer goes to
// handle with the epoch the request was sent in.
func (m *groupMember) coordCall(req kmsg.Request, op *Op, handle func(r kmsg.Response, ep int)) {
	if op != nil {
		m.w.hist.begin(op)
	}
	m.coordBusy = true
	ep := m.epoch
	m.coord.send(req, func(r kmsg.Response, err error) {
		m.coordBusy = false
		if op != nil {
			op.Return = m.w.now
		}
		if err != nil {
			if op != nil {
				op.Outcome = Indefinite
			}
			if !m.gone(ep) {
				m.retry(mFinding)
			}
			return
		}
		handle(r, ep)
	})
}

// coordinatorError handles errors that send a member back to
// FindCoordinator; it says whether code was one.
func (m *groupMember) coordinatorError(code int16) bool {
	switch code {
	case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code:
		m.retry(mFinding)
		return true
	}
	return false
}

func (m *groupMember) findCoordinator() {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.SetVersion(m.vFind)
	req.CoordinatorKey = simGroup
	req.CoordinatorKeys = []string{simGroup}
	m.coordCall(req, nil, func(r kmsg.Response, ep int) {
		if m.gone(ep) {
			return
		}
		resp := r.(*kmsg.FindCoordinatorResponse)
		code := resp.ErrorCode
		if m.vFind >= 4 {
			if len(resp.Coordinators) != 1 {
				m.w.failf("protocol", "%s: FindCoordinator v%d answered %d coordinators for one key", m.name, m.vFind, len(resp.Coordinators))
				m.retry(mFinding)
				return
			}
			code = resp.Coordinators[0].ErrorCode
		}
		id := resp.NodeID
		if m.vFind >= 4 {
			id = resp.Coordinators[0].NodeID
		}
		switch code {
		case 0:
			m.state = mJoining
			if n := m.w.nodeByID(core.BrokerID(id)); n != nil && n != m.coordNode() {
				m.coord.retarget(n) // the coordinator is another broker: connect to it
				return
			}
			m.kick()
		case kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code, kerr.NotCoordinator.Code:
			m.retry(mFinding)
		default:
			m.w.failf("group-error", "%s: FindCoordinator v%d: %s", m.name, m.vFind, errName(code))
			m.retry(mFinding)
		}
	})
}

func (m *groupMember) subscription() []byte {
	md := kmsg.NewConsumerMemberMetadata()
	md.Version = int16(m.w.rng.IntN(4))
	md.Topics = []string{m.w.topic}
	return md.AppendTo(nil)
}

func (m *groupMember) join() {
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(m.vJoin)
	req.Group, req.MemberID, req.InstanceID = simGroup, m.memberID, m.instanceID
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = m.sessionMs, m.rebalanceMs
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", m.subscription()
	req.Protocols = append(req.Protocols, p)
	m.coordCall(req, nil, func(r kmsg.Response, ep int) {
		if m.gone(ep) {
			return
		}
		resp := r.(*kmsg.JoinGroupResponse)
		switch code := resp.ErrorCode; {
		case code == 0:
			m.memberID, m.leader, m.members = resp.MemberID, resp.LeaderID == resp.MemberID, resp.Members
			// v9: a static leader back in a stable group skips the
			// assignment; the group keeps the one it has
			m.skipAssign = resp.SkipAssignment
			if resp.Generation != m.generation {
				m.prevGen = m.generation
			}
			m.generation = resp.Generation
			m.state = mSyncing
			m.kick()
		case code == kerr.MemberIDRequired.Code:
			m.memberID = resp.MemberID
			m.kick()
		case code == kerr.UnknownMemberID.Code || code == kerr.FencedInstanceID.Code:
			m.memberID = ""
			m.retry(mJoining)
		case code == kerr.RebalanceInProgress.Code:
			m.retry(mJoining)
		case m.coordinatorError(code):
		default:
			m.w.failf("group-error", "%s: JoinGroup v%d: %s", m.name, m.vJoin, errName(code))
			m.retry(mJoining)
		}
	})
}

// rangeAssign is Kafka's range assignor for one topic: members sorted by
// id, each a contiguous run of partitions, the first ones one more.
func rangeAssign(members []string, partitions int32) map[string][]int32 {
	ids := slices.Clone(members)
	sort.Strings(ids)
	out := map[string][]int32{}
	n := int32(len(ids))
	if n == 0 {
		return out
	}
	per, extra := partitions/n, partitions%n
	next := int32(0)
	for i, id := range ids {
		k := per
		if int32(i) < extra {
			k++
		}
		for j := int32(0); j < k; j++ {
			out[id] = append(out[id], next)
			next++
		}
	}
	return out
}

// encodeAssignment encodes a member's partitions of topic, and in the
// user data the topic's partition count the leader assigned over.
func encodeAssignment(topic string, parts []int32, partitions int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	t := kmsg.NewConsumerMemberAssignmentTopic()
	t.Topic, t.Partitions = topic, parts
	a.Topics = append(a.Topics, t)
	a.UserData = binary.BigEndian.AppendUint32(nil, uint32(partitions))
	return a.AppendTo(nil)
}

func (m *groupMember) sync() {
	req := kmsg.NewPtrSyncGroupRequest()
	req.SetVersion(m.vSync)
	req.Group, req.Generation, req.MemberID, req.InstanceID = simGroup, m.generation, m.memberID, m.instanceID
	pt, pn := "consumer", "range"
	req.ProtocolType, req.Protocol = &pt, &pn
	op := &Op{Client: m.name, Kind: OpSync, Call: m.w.now, Member: m.memberID, Generation: m.generation}
	if m.instanceID != nil {
		op.Instance = *m.instanceID
	}
	if m.leader && !m.skipAssign {
		ids := make([]string, 0, len(m.members))
		for _, jm := range m.members {
			ids = append(ids, jm.MemberID)
		}
		n := m.w.partitions
		op.Sent = rangeAssign(ids, n)
		for _, id := range ids {
			a := kmsg.NewSyncGroupRequestGroupAssignment()
			a.MemberID, a.MemberAssignment = id, encodeAssignment(m.w.topic, op.Sent[id], n)
			req.GroupAssignment = append(req.GroupAssignment, a)
		}
	}
	var assignedOver int32
	m.coordCall(req, op, func(r kmsg.Response, ep int) {
		resp := r.(*kmsg.SyncGroupResponse)
		op.ErrorCode = resp.ErrorCode
		op.Outcome = Failed
		if resp.ErrorCode == 0 {
			op.Outcome = OK
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(resp.MemberAssignment); err != nil && len(resp.MemberAssignment) > 0 {
				m.w.failf("protocol", "%s: generation %d assignment does not parse: %v", m.name, m.generation, err)
			}
			assignedOver = m.w.partitions // an empty assignment: nothing to judge by
			if len(a.UserData) == 4 {
				assignedOver = int32(binary.BigEndian.Uint32(a.UserData))
			}
			for _, t := range a.Topics {
				if t.Topic == m.w.topic {
					op.Assigned = append(op.Assigned, t.Partitions...)
				}
			}
		}
		if m.gone(ep) {
			return
		}
		switch code := resp.ErrorCode; {
		case code == 0:
			m.syncedParts = assignedOver
			m.assigned = op.Assigned
			m.pos = map[int32]core.Offset{}
			for _, p := range m.assigned {
				m.pos[p] = posUnknown
			}
			m.state, m.needOffset = mStable, true
			m.heardIn = m.coordNode().incarnation
			m.epoch++
			m.maybeStaleCommit()
			m.kick()
			m.pumpData()
		case code == kerr.UnknownMemberID.Code || code == kerr.FencedInstanceID.Code:
			m.memberID = ""
			m.retry(mJoining)
		case code == kerr.RebalanceInProgress.Code || code == kerr.IllegalGeneration.Code:
			m.retry(mJoining)
		case m.coordinatorError(code):
		default:
			m.w.failf("group-error", "%s: SyncGroup v%d generation %d: %s", m.name, m.vSync, m.generation, errName(code))
			m.retry(mJoining)
		}
	})
}

// fetchCommitted reads the group's committed offsets of the member's
// partitions; positions start there (or at the log start when none).
func (m *groupMember) fetchCommitted() {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.SetVersion(m.vOffFetch)
	parts := slices.Clone(m.assigned)
	if m.vOffFetch >= 8 {
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = simGroup
		t := kmsg.NewOffsetFetchRequestGroupTopic()
		t.Topic, t.Partitions = m.w.topic, parts
		g.Topics = append(g.Topics, t)
		req.Groups = append(req.Groups, g)
	} else {
		req.Group = simGroup
		t := kmsg.NewOffsetFetchRequestTopic()
		t.Topic, t.Partitions = m.w.topic, parts
		req.Topics = append(req.Topics, t)
	}
	op := &Op{Client: m.name, Kind: OpOffsetFetch, Call: m.w.now}
	m.coordCall(req, op, func(r kmsg.Response, ep int) {
		resp := r.(*kmsg.OffsetFetchResponse)
		code := resp.ErrorCode
		var topics []kmsg.OffsetFetchResponseTopic
		if m.vOffFetch >= 8 {
			if len(resp.Groups) != 1 {
				m.w.failf("protocol", "%s: OffsetFetch v%d answered %d groups for one", m.name, m.vOffFetch, len(resp.Groups))
				op.Outcome = Failed
				return
			}
			code = resp.Groups[0].ErrorCode
			for _, t := range resp.Groups[0].Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p.Partition, p.Offset, p.ErrorCode
					rt.Partitions = append(rt.Partitions, rp)
				}
				topics = append(topics, rt)
			}
		} else {
			topics = resp.Topics
		}
		if m.vOffFetch < 2 {
			// v0-1 carry a group-level error on every partition (Kafka's
			// OffsetFetchResponse takes such a partition error for the
			// group's).
			for _, t := range topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 && p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
						code = p.ErrorCode
					}
				}
			}
		}
		op.ErrorCode, op.Outcome = code, Failed
		if code == 0 {
			op.Outcome = OK
			for _, t := range topics {
				for _, p := range t.Partitions {
					if t.Topic != m.w.topic || p.ErrorCode != 0 {
						m.w.failf("group-error", "%s: OffsetFetch v%d partition %s-%d: %s", m.name, m.vOffFetch, t.Topic, p.Partition, errName(p.ErrorCode))
						continue
					}
					op.Committed = append(op.Committed, CommittedOffset{Partition: p.Partition, Offset: core.Offset(p.Offset)})
				}
			}
			if len(op.Committed) != len(parts) {
				m.w.failf("protocol", "%s: OffsetFetch v%d answered %d of %d partitions", m.name, m.vOffFetch, len(op.Committed), len(parts))
			}
		}
		if m.gone(ep) {
			return
		}
		if code != 0 {
			if !m.coordinatorError(code) {
				m.w.failf("group-error", "%s: OffsetFetch v%d: %s", m.name, m.vOffFetch, errName(code))
				m.retry(mFinding)
			}
			return
		}
		m.needOffset = false
		for _, c := range op.Committed {
			if c.Offset >= 0 {
				m.seek(c.Partition, c.Offset)
				m.committed[c.Partition] = c.Offset
			}
		}
		m.pumpData()
	})
}

// seek moves the member's position of part (its new assignment starts
// at the committed offset).
func (m *groupMember) seek(part int32, to core.Offset) {
	m.pos[part] = to
	m.w.hist.begin(&Op{Client: m.name, Kind: OpSeek, Call: m.w.now, Return: m.w.now, Outcome: OK, Partition: part, Offset: to})
}

// pumpData fetches the member's partitions once their positions are
// known (resolving unknown ones at the log start first).
func (m *groupMember) pumpData() {
	if m.fetchOut || m.state != mStable || m.needOffset || m.stalled || len(m.assigned) == 0 {
		return
	}
	if m.drt.any() == nil {
		return // connecting
	}
	var unknown, known, order []int32
	for _, p := range m.assigned {
		if m.pos[p] < 0 {
			unknown = append(unknown, p)
		} else {
			known = append(known, p)
		}
	}
	if cl, parts := routeFirst(m.drt, unknown, unknown); cl != nil {
		m.listEarliest(cl, parts)
		return
	}
	// the broker asked turns from one fetch to the next
	for k := range known {
		order = append(order, known[(m.fetches+k)%len(known)])
	}
	cl, parts := routeFirst(m.drt, order, known)
	if cl == nil {
		return // a connection or a Metadata answer wakes the member
	}
	m.fetches++
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(m.vFetch)
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = -1, 200, 1, 1<<20, -1
	t := kmsg.NewFetchRequestTopic()
	t.Topic = m.w.topic
	op := &Op{Client: m.name, Kind: OpFetch, Call: m.w.now}
	for _, p := range parts {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = p, int64(m.pos[p]), 1<<16
		t.Partitions = append(t.Partitions, fp)
		op.Fetches = append(op.Fetches, FetchPart{Partition: p, From: m.pos[p], HighWatermark: -1, LogStart: -1})
	}
	req.Topics = append(req.Topics, t)
	m.w.hist.begin(op)
	m.fetchOut = true
	ep := m.epoch
	cl.send(req, func(r kmsg.Response, err error) {
		m.fetchOut = false
		op.Return = m.w.now
		if err != nil {
			op.Outcome = Indefinite
			m.lostData(cl)
			return
		}
		op.Outcome, op.BrokerClock, op.Broker = OK, cl.target.coreClock, cl.target.id
		resp := r.(*kmsg.FetchResponse)
		backoff := resp.ErrorCode != 0
		for i := range op.Fetches {
			fp := &op.Fetches[i]
			rp := findFetchPartition(resp, m.w.topic, fp.Partition)
			if rp == nil {
				m.w.failf("protocol", "%s: fetch response lacks partition %d", m.name, fp.Partition)
				continue
			}
			fp.ErrorCode, fp.HighWatermark = rp.ErrorCode, core.Offset(rp.HighWatermark)
			if leadershipError(rp.ErrorCode) {
				m.drt.stale(fp.Partition)
			}
			if m.vFetch >= 5 {
				fp.LogStart = core.Offset(rp.LogStartOffset)
			}
			if rp.ErrorCode != 0 {
				backoff = true
				if rp.ErrorCode == kerr.OffsetOutOfRange.Code && !m.gone(ep) {
					m.pos[fp.Partition] = posUnknown
				}
				if to, ok := m.w.skipDamage(fp.Partition, fp.From); ok && rp.ErrorCode == kerr.KafkaStorageError.Code && !m.gone(ep) && m.pos[fp.Partition] == fp.From {
					m.seek(fp.Partition, to) // past the damage the broker reported (scrub.go)
				}
				continue
			}
			recs, err := m.decomp.decodeBatches(rp.RecordBatches)
			if err != nil {
				m.w.corruptRead(m.name, fp.Partition, fp.From, op.Call, err)
			}
			for _, rec := range recs {
				if rec.offset >= fp.From {
					fp.Records = append(fp.Records, ReadRecord{Offset: rec.offset, Value: rec.value, Tombstone: rec.tombstone})
				}
			}
			// past the last record, or past the last batch when a
			// compacted batch ends after its last record
			fp.Next = fp.From
			if n := len(fp.Records); n > 0 {
				fp.Next = fp.Records[n-1].Offset + 1
			}
			if end := batchesEnd(rp.RecordBatches); err == nil && end > fp.Next {
				fp.Next = end
			}
			if fp.Next > fp.From && !m.gone(ep) && m.pos[fp.Partition] == fp.From {
				m.pos[fp.Partition] = fp.Next
			}
		}
		// the next fetch follows (for a new assignment, if the member
		// rejoined meanwhile)
		delay := core.Instant(m.w.rng.Int64N(20e6))
		if backoff {
			delay = m.data.backoff()
		}
		m.w.after(delay, m.pumpData)
	})
}

// lostData handles a fetch or ListOffsets that failed without an answer:
// the member asks Metadata again before trusting cl's leaderships, and
// its next request follows once the connection is back (or at once, to
// another broker).
func (m *groupMember) lostData(cl *client) {
	m.drt.lost(cl)
	if !m.drt.static {
		m.w.after(m.data.backoff(), m.pumpData)
	}
}

func (m *groupMember) listEarliest(cl *client, parts []int32) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(1)
	req.ReplicaID = -1
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = m.w.topic
	op := &Op{Client: m.name, Kind: OpListOffsets, Call: m.w.now}
	for _, p := range parts {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp, lp.CurrentLeaderEpoch = p, -2, -1
		t.Partitions = append(t.Partitions, lp)
		op.Listed = append(op.Listed, ListedOffset{Partition: p, Timestamp: -2, Offset: -1, Answered: -1})
	}
	req.Topics = append(req.Topics, t)
	m.w.hist.begin(op)
	m.fetchOut = true
	ep := m.epoch
	cl.send(req, func(r kmsg.Response, err error) {
		m.fetchOut = false
		op.Return = m.w.now
		if err != nil {
			op.Outcome = Indefinite
			m.lostData(cl)
			return
		}
		op.Outcome, op.Broker = OK, cl.target.id
		resp := r.(*kmsg.ListOffsetsResponse)
		backoff := false
		for i := range op.Listed {
			lo := &op.Listed[i]
			rp := findListPartition(resp, m.w.topic, lo.Partition)
			if rp == nil {
				m.w.failf("protocol", "%s: ListOffsets response lacks partition %d", m.name, lo.Partition)
				continue
			}
			lo.ErrorCode, lo.Offset, lo.Answered = rp.ErrorCode, core.Offset(rp.Offset), rp.Timestamp
			if leadershipError(rp.ErrorCode) {
				m.drt.stale(lo.Partition)
			}
			if rp.ErrorCode != 0 {
				backoff = true
				continue
			}
			if !m.gone(ep) && m.pos[lo.Partition] < 0 {
				m.pos[lo.Partition] = lo.Offset
			}
		}
		delay := core.Instant(0)
		if backoff {
			delay = m.data.backoff()
		}
		m.w.after(delay, m.pumpData)
	})
}

func (m *groupMember) heartbeatLoop() {
	m.w.after(m.hbInterval/2+core.Instant(m.w.rng.Int64N(int64(m.hbInterval/2)+1)), func() {
		if m.w.phase == phaseFinished {
			return
		}
		m.heartbeat()
		m.heartbeatLoop()
	})
}

func (m *groupMember) heartbeat() {
	if m.state != mStable || m.stalled || m.hbOut || !m.coord.ready() {
		return
	}
	if m.syncedParts != m.w.partitions && !m.coordBusy {
		m.revoke()
		m.state = mJoining
		m.kick()
		return
	}
	m.sendHeartbeat(func(code int16) {})
}

// sendHeartbeat sends one Heartbeat and reacts to its answer; seen gets
// the code (-1 for a lost connection).
func (m *groupMember) sendHeartbeat(seen func(code int16)) {
	req := kmsg.NewPtrHeartbeatRequest()
	req.SetVersion(m.vHB)
	req.Group, req.Generation, req.MemberID, req.InstanceID = simGroup, m.generation, m.memberID, m.instanceID
	m.hbOut = true
	ep := m.epoch
	m.coord.send(req, func(r kmsg.Response, err error) {
		m.hbOut = false
		if err != nil {
			seen(-1)
			return
		}
		code := r.(*kmsg.HeartbeatResponse).ErrorCode
		if code == 0 {
			m.heardIn = m.coordNode().incarnation
		}
		seen(code)
		if m.gone(ep) || m.state != mStable {
			return
		}
		m.react(code)
	})
}

// react handles a coordinator error seen by a stable member.
func (m *groupMember) react(code int16) {
	switch code {
	case 0, kerr.UnknownTopicOrPartition.Code: // (a commit refused for now: the next one goes again)
	case kerr.RebalanceInProgress.Code, kerr.IllegalGeneration.Code:
		m.revoke()
		m.state = mJoining
		m.kick()
	case kerr.UnknownMemberID.Code, kerr.FencedInstanceID.Code:
		m.revoke()
		m.memberID = ""
		m.state = mJoining
		m.kick()
	default:
		if !m.coordinatorError(code) {
			m.w.failf("group-error", "%s: Heartbeat v%d: %s", m.name, m.vHB, errName(code))
		}
	}
}

// revoke gives the partitions up before rejoining: what was read is
// committed first (with the generation it was read in), as an eager
// consumer does in its revoke callback.
func (m *groupMember) revoke() {
	m.commit(m.generation, false)
	m.assigned = nil
	m.epoch++
}

func (m *groupMember) commitLoop() {
	m.w.after(m.commitInterval, func() {
		if m.w.phase == phaseFinished {
			return
		}
		if m.state == mStable && !m.stalled && !m.needOffset {
			m.commit(m.generation, true)
		}
		m.commitLoop()
	})
}

// commit commits the positions of the member's partitions that moved
// past their last commit, with generation gen. Only one commit is out at
// a time unless force.
func (m *groupMember) commit(gen int32, onlyOne bool) {
	if (onlyOne && m.commitOut) || !m.coord.ready() {
		return
	}
	parts := map[int32]core.Offset{}
	for _, p := range m.assigned {
		if off := m.pos[p]; off >= 0 && off != m.committed[p] && !(off == 0 && m.committed[p] == 0) {
			parts[p] = off
		}
	}
	m.sendCommit(gen, parts)
}

// sendCommit commits offsets with generation gen, recording one OpCommit
// per partition.
func (m *groupMember) sendCommit(gen int32, offsets map[int32]core.Offset) {
	if len(offsets) == 0 {
		return
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(m.vCommit)
	req.Group, req.Generation, req.MemberID, req.InstanceID = simGroup, gen, m.memberID, m.instanceID
	req.RetentionTimeMillis = -1
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = m.w.topic
	ops := map[int32]*Op{}
	keys := make([]int32, 0, len(offsets))
	// order-independent: collected, then sorted
	for p := range offsets {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset, cp.LeaderEpoch = p, int64(offsets[p]), -1
		t.Partitions = append(t.Partitions, cp)
		ops[p] = m.w.hist.begin(&Op{Client: m.name, Kind: OpCommit, Call: m.w.now, Partition: p, Offset: offsets[p],
			Generation: gen, Member: m.memberID})
	}
	req.Topics = append(req.Topics, t)
	m.commitOut = true
	ep := m.epoch
	m.coord.send(req, func(r kmsg.Response, err error) {
		m.commitOut = false
		if err != nil {
			// order-independent: each op set alike
			for _, op := range ops {
				op.Return, op.Outcome = m.w.now, Indefinite
			}
			return
		}
		resp := r.(*kmsg.OffsetCommitResponse)
		worst := int16(0)
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				op := ops[rp.Partition]
				if rt.Topic != m.w.topic || op == nil || op.Return != 0 {
					m.w.failf("protocol", "%s: OffsetCommit answered %s-%d, not asked for", m.name, rt.Topic, rp.Partition)
					continue
				}
				op.Return, op.ErrorCode = m.w.now, rp.ErrorCode
				switch rp.ErrorCode {
				case 0:
					op.Outcome = OK
					if !m.gone(ep) || gen == m.generation {
						m.committed[rp.Partition] = op.Offset
					}
				case kerr.IllegalGeneration.Code, kerr.UnknownMemberID.Code, kerr.RebalanceInProgress.Code,
					kerr.FencedInstanceID.Code, kerr.CoordinatorLoadInProgress.Code,
					// (a coordinator the controller has not yet told of
					// new partitions refuses their commits, as Kafka's)
					kerr.UnknownTopicOrPartition.Code:
					op.Outcome = Failed // refused before anything was written
				case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.RequestTimedOut.Code:
					op.Outcome = Indefinite // the write may have happened
				default:
					op.Outcome = Indefinite
					m.w.failf("group-error", "%s: OffsetCommit v%d partition %d: %s", m.name, m.vCommit, rp.Partition, errName(rp.ErrorCode))
				}
				if worst == 0 {
					worst = rp.ErrorCode
				}
			}
		}
		for _, p := range slices.Sorted(maps.Keys(ops)) {
			if op := ops[p]; op.Return == 0 {
				op.Return, op.Outcome = m.w.now, Indefinite
				m.w.failf("protocol", "%s: OffsetCommit response lacks partition %d", m.name, p)
			}
		}
		if !m.gone(ep) && m.state == mStable && gen == m.generation {
			m.react(worst)
		}
	})
}

// maybeStaleCommit sends, now and then after a new generation, one
// commit with the previous generation, as a commit delayed across the
// rebalance would arrive. The coordinator must refuse it.
func (m *groupMember) maybeStaleCommit() {
	if m.prevGen < 1 || m.prevGen == m.generation || m.w.rng.Float64() >= m.staleProb || len(m.assigned) == 0 {
		return
	}
	offsets := map[int32]core.Offset{}
	for _, p := range m.assigned {
		if c, ok := m.committed[p]; ok {
			offsets[p] = c
		}
	}
	if len(offsets) == 0 {
		offsets[m.assigned[0]] = 0
	}
	m.sendCommit(m.prevGen, offsets)
}

// chaosLoop makes the member leave, crash or stall now and then while
// faults run.
func (m *groupMember) chaosLoop() {
	m.w.after(m.w.expInterval(m.chaosMean), func() {
		if !m.w.faulting() {
			return
		}
		switch m.w.rng.IntN(3) {
		case 0:
			m.leave()
		case 1:
			m.crash()
		case 2:
			m.stall()
		}
		m.chaosLoop()
	})
}

// leave sends LeaveGroup, closes its fetch connection and comes back as
// a new process a little later.
func (m *groupMember) leave() {
	if m.state != mStable || m.coordBusy || !m.coord.ready() {
		return
	}
	m.revoke()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.SetVersion(m.vLeave)
	req.Group, req.MemberID = simGroup, m.memberID
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID, lm.InstanceID = m.memberID, m.instanceID
	req.Members = append(req.Members, lm)
	m.coord.send(req, func(kmsg.Response, error) {})
	m.drt.close() // the process closes its fetch connections as it goes
	m.down(core.Instant(100e6 + m.w.rng.Int64N(2e9)))
}

// crash stops the member without a word: its connections break, and a
// new process starts later.
func (m *groupMember) crash() {
	if m.state == mDown {
		return
	}
	if m.coord.conn != nil {
		m.coord.abandon(m.coord.conn)
	}
	m.drt.close()
	m.down(core.Instant(100e6 + m.w.rng.Int64N(3e9)))
}

// down takes the process away for d; it comes back with no member id
// (a static member keeps its instance id) and no positions.
func (m *groupMember) down(d core.Instant) {
	m.state, m.stalled = mDown, false
	m.epoch++
	m.coordBusy, m.hbOut, m.commitOut, m.fetchOut = false, false, false, false
	m.assigned, m.pos, m.committed = nil, map[int32]core.Offset{}, map[int32]core.Offset{}
	m.w.after(d, func() {
		if m.w.phase == phaseFinished {
			return
		}
		m.memberID, m.generation, m.prevGen, m.leader = "", 0, -1, false
		m.epoch++
		m.state = mFinding
		m.kick()
	})
}

// stall stops the member for longer than its session timeout (a long GC
// pause, a stuck poll loop). When it wakes its first heartbeat must be
// refused: the coordinator removed it. That is judged only when the
// coordinator of the running incarnation had accepted the member before
// (a restart reloads the group and starts every session again once it
// is loaded, as Kafka's does) and nothing disturbed the broker's clock
// meanwhile: a restart, a pause or a clock stepped back delays the
// expiry.
func (m *groupMember) stall() {
	if m.state != mStable || m.stalled || m.coordBusy || m.hbOut || m.commitOut || len(m.coord.inflight) > 0 || !m.coord.ready() {
		return // a stalled member is not stalled again: the first stall's end would cut the second short
	}
	m.stalled = true
	start, inc, gen, heard := m.w.now, m.coordNode().incarnation, m.generation, m.heardIn == m.coordNode().incarnation
	d := core.Instant(m.sessionMs)*1e6 + 300e6 + core.Instant(m.w.rng.Int64N(1e9))
	ep := m.epoch
	m.w.after(d, func() {
		if m.gone(ep) {
			return
		}
		m.stalled = false
		m.pumpData() // the fetch loop stopped while stalled
		if !m.coord.ready() || m.state != mStable {
			m.kick()
			return
		}
		m.sendHeartbeat(func(code int16) {
			undisturbed := heard && m.coordNode().incarnation == inc && m.w.disturbedUntil <= start && m.coordNode().up && !m.coordNode().paused
			if code == 0 && undisturbed {
				m.w.failf("session-timeout", "%s (member %s, generation %d) stopped heartbeating at %s for %s, past its %dms session; its heartbeat was still accepted",
					m.name, m.memberID, gen, fmtInstant(start), fmtDur(d), m.sessionMs)
			}
		})
	})
}

// settled says the member is in the group with its partitions and has
// committed everything acknowledged in them.
func (m *groupMember) settled() bool {
	if m.state != mStable || m.needOffset || m.stalled {
		return false
	}
	for _, p := range m.assigned {
		if m.committed[p] < m.w.ackedEnd[p] {
			return false
		}
	}
	return true
}

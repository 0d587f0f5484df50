package core

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// The active controller's work (DESIGN.md, "Cluster shape"): from the
// coordination store's topics, partition states and deletion marks and
// the live brokers, it makes every partition led by a live replica
// when one can lead, and every broker know it.
//
// It is one reconciler rather than a handler per event. Any change it
// hears of (a watch on /brokers/topics, a topic's znode or
// /admin/delete_topics; the live brokers changing) reloads what it
// reads or re-runs the reconciliation, which:
//  1. writes the partition states that must change: a new partition's
//     first state (its first live replica leads), and a new leader
//     (leader epoch + 1) for a partition whose leader is not live,
//     chosen from its live ISR in assignment order, or no leader (-1)
//     when none is live (a replication factor 1 partition stays offline
//     until its broker returns, as in Kafka); every write is guarded by
//     /controller_epoch at the version this controller's win set, so a
//     deposed controller writes nothing;
//  2. once the states are written, brings each live broker up to date,
//     one request at a time per broker and in order: LeaderAndIsr for the
//     partitions it hosts whose state it has not taken, then
//     UpdateMetadata for the partitions whose state it has not cached
//     (topics being deleted as leaderDelete), then StopReplica (with
//     deletion) for the replicas of deleted topics it holds;
//  3. finishes a topic deletion once every live broker has unlisted it
//     and every replica has been deleted (a deletion waits while a
//     replica's broker is down, as in Kafka), by deleting its znodes and
//     then its mark.
//
// A broker registered anew (a new broker epoch) starts from nothing: it
// is sent everything again. A failed send is retried after
// peerRetryMs while the broker stays live; a failed write after
// ctlRetryMs.
type ctlState struct {
	loaded  bool
	loadGen int // answers to an older load are ignored
	topics  map[string]*ctlTopic
	marked  map[string]string // /admin/delete_topics: each mark's topic id ("": any)
	peers   map[BrokerID]*ctlPeer
	writes  int     // state writes outstanding
	reload  bool    // a write found the store changed: reload once writes settle
	retryAt Instant // reconcile again then (0: no retry due)
	// rebalanceAt is when the automatic preferred leader rebalance looks
	// next (rebalance.go); 0 with auto.leader.rebalance.enable=false.
	rebalanceAt Instant
	// demoting holds, per partition, a live leader this controller
	// replaced, until it took a state that demotes it (ctlAwaitsDemotion).
	demoting map[TopicPartition]demotion
}

// demotion is a live leader replaced: broker from, at its registration
// epoch then.
type demotion struct {
	from  BrokerID
	epoch int64
}

// settled says whether the controller has loaded the store and written
// the states it called for: what it answers from then is what the store
// says.
func (st *ctlState) settled() bool { return st.loaded && st.writes == 0 }

// deleting says whether ct is marked for deletion (a mark naming an
// older topic of its name does not count).
func (st *ctlState) deleting(ct *ctlTopic) bool {
	id, ok := st.marked[ct.name]
	return ok && (id == "" || id == encodeUUID(ct.id))
}

// ctlTopic is a topic as the controller read it.
type ctlTopic struct {
	name       string
	id         TopicID
	assignment [][]BrokerID // per partition, its replicas (RS while it is reassigned)
	// reassign holds, per partition, the reassignment under way (zero:
	// none), as the topic znode records it (reassign.go).
	reassign []partReassign
	version  int32           // the topic znode's version as read or written
	states   []*ctlPartState // nil: no state znode yet
}

// ctlPartState is a partition state znode's content and version.
type ctlPartState struct {
	leader      BrokerID
	leaderEpoch int32
	isr         []BrokerID
	zkVersion   int32
	ctlEpoch    int32
}

// key is the state of partition i of ct as the controller sends it.
func (s *ctlPartState) key(ct *ctlTopic, i int) stateKey {
	return stateKey{ct.id, s.leader, s.leaderEpoch, s.zkVersion, replicaKey(ct.sendReplicas(i))}
}

// stateKey identifies a partition state as sent to a broker (of one
// topic: a name deleted and created again is another), with the replicas
// sent along: a reassignment changes them without a new state.
type stateKey struct {
	topic       TopicID
	leader      BrokerID
	leaderEpoch int32
	zkVersion   int32
	replicas    string
}

func replicaKey(rs []BrokerID) string {
	var sb strings.Builder
	for _, r := range rs {
		sb.WriteString(strconv.Itoa(int(r)))
		sb.WriteByte(',')
	}
	return sb.String()
}

// ctlPeer is what one live broker (at one broker epoch) has taken.
type ctlPeer struct {
	epoch    int64
	inflight bool
	retryAt  Instant
	leaders  map[TopicPartition]stateKey // LeaderAndIsr taken
	cached   map[TopicPartition]stateKey // UpdateMetadata taken
	unlisted map[string]bool             // topics being deleted it has unlisted
	stopped  map[string]bool             // topics whose replicas it deleted
	// dropped holds the partitions whose replica a reassignment took off
	// the broker and it deleted (StopReplica), until it hosts one again.
	dropped  map[TopicPartition]bool
	informed bool // it took an UpdateMetadata (its first may be empty)
	// shuttingDown: the broker asked for a controlled shutdown in this
	// registration (Kafka's shuttingDownBrokerIds); it is elected leader
	// of nothing and joins no ISR. It ends with the peer: when the
	// registration goes, or a new one (a new epoch) replaces it.
	shuttingDown bool
}

// ctlPeerFor returns the controller's record of broker id as registered
// at lb, starting a new one for a new registration.
func (st *ctlState) ctlPeerFor(id BrokerID, lb liveBroker) *ctlPeer {
	peer := st.peers[id]
	if peer == nil || peer.epoch != lb.epoch {
		peer = &ctlPeer{epoch: lb.epoch, leaders: map[TopicPartition]stateKey{}, cached: map[TopicPartition]stateKey{},
			unlisted: map[string]bool{}, stopped: map[string]bool{}, dropped: map[TopicPartition]bool{}}
		st.peers[id] = peer
	}
	return peer
}

// eligible says whether broker id, live as lb, may be elected leader or
// join an ISR: not while it shuts down.
func (st *ctlState) eligible(id BrokerID, lb liveBroker) bool {
	p := st.peers[id]
	return p == nil || p.epoch != lb.epoch || !p.shuttingDown
}

const (
	ctlRetryMs  = 1000 // a failed write or load is tried again after this
	peerRetryMs = 200  // a failed or refused send is sent again after this
	// Versions of the controller's requests (Kafka 3.9's newest).
	leaderAndIsrVersion   = 7
	updateMetadataVersion = 8
	stopReplicaVersion    = 4
)

// ctlStart begins this broker's tenure as controller.
func (b *Broker) ctlStart() {
	b.ctl.state = &ctlState{peers: map[BrokerID]*ctlPeer{}, demoting: map[TopicPartition]demotion{}}
	b.scheduleRebalance(rebalanceFirstDelayMs)
	b.ctlLoad()
}

// ctlActive returns the controller state if this broker is the
// controller.
func (b *Broker) ctlActive() *ctlState {
	if !b.ctl.mine {
		return nil
	}
	return b.ctl.state
}

// ctlGuard fences a controller write with the epoch it won.
func (b *Broker) ctlGuard() *CoordGuard {
	return &CoordGuard{Path: zkControllerEpoch, Version: b.ctl.epochVersion}
}

// ctlLoad reads the topics, their partition states and the deletion
// marks, leaving watches that reload.
func (b *Broker) ctlLoad() {
	st := b.ctlActive()
	if st == nil {
		return
	}
	st.loadGen++
	gen := st.loadGen
	st.loaded = false
	topics := map[string]*ctlTopic{}
	marked := map[string]string{}
	pending, failed := 1, false
	done := func(ok bool) {
		failed = failed || !ok
		if pending--; pending > 0 || st != b.ctlActive() || gen != st.loadGen {
			return
		}
		if failed {
			st.retryAt = b.now + Instant(ctlRetryMs*1e6)
			return
		}
		st.topics, st.marked, st.loaded = topics, marked, true
		b.ctlReconcile()
		b.metadataChanged() // a ControlledShutdown waiting for the load is answered
	}
	pending++
	b.coordRead(CoordOp{Kind: CoordChildren, Path: strings.TrimSuffix(zkTopics, "/"), Watch: true}, func(r CoordResult) {
		if r.Err != nil && !errors.Is(r.Err, ErrCoordNoNode) {
			done(false)
			return
		}
		for _, name := range r.Children {
			name := name
			pending++
			b.ctlLoadTopic(name, func(ct *ctlTopic, ok bool) {
				if ct != nil {
					topics[name] = ct
				}
				done(ok)
			})
		}
		done(true)
	})
	// A leader that changed an ISR leaves a notification: the states are
	// read again with everything else, and the notifications go.
	pending++
	b.coordRead(CoordOp{Kind: CoordChildren, Path: zkISRChange, Watch: true}, func(r CoordResult) {
		if r.Err != nil && !errors.Is(r.Err, ErrCoordNoNode) {
			done(false)
			return
		}
		for _, name := range r.Children {
			b.coordWrite(CoordOp{Kind: CoordDelete, Path: zkISRChange + "/" + name, Version: CoordAnyVersion}, nil)
		}
		done(true)
	})
	pending++
	b.coordRead(CoordOp{Kind: CoordChildren, Path: zkDeleteTopics, Watch: true}, func(r CoordResult) {
		if r.Err != nil && !errors.Is(r.Err, ErrCoordNoNode) {
			done(false)
			return
		}
		for _, name := range r.Children {
			name := name
			pending++
			b.coordRead(CoordOp{Kind: CoordGet, Path: zkDeleteTopics + "/" + name}, func(r CoordResult) {
				switch {
				case r.Err == nil:
					marked[name] = string(r.Data)
					done(true)
				case errors.Is(r.Err, ErrCoordNoNode):
					done(true)
				default:
					done(false)
				}
			})
		}
		done(true)
	})
	done(true)
}

// coordRead emits a read; k gets its result.
func (b *Broker) coordRead(op CoordOp, k func(CoordResult)) {
	op.Token = awaitFor(b.step, k)
	b.emit(op)
}

// ctlLoadTopic reads one topic's assignment (watching it for growth)
// and its partition states. A topic znode that does not parse is
// skipped (nil); a state that does not parse is taken as leaderless, so
// that the next election rewrites it.
func (b *Broker) ctlLoadTopic(name string, done func(*ctlTopic, bool)) {
	b.coordRead(CoordOp{Kind: CoordGet, Path: zkTopics + name, Watch: true}, func(r CoordResult) {
		switch {
		case errors.Is(r.Err, ErrCoordNoNode):
			done(nil, true)
			return
		case r.Err != nil:
			done(nil, false)
			return
		}
		id, assignment, reassign, err := parseTopicZnodeFull(r.Data)
		if err != nil || validTopicName(name) != nil {
			done(nil, true)
			return
		}
		ct := &ctlTopic{name: name, id: id, assignment: assignment, reassign: reassign, version: r.Stat.Version,
			states: make([]*ctlPartState, len(assignment))}
		pending, failed := 1, false
		finish := func(ok bool) {
			failed = failed || !ok
			if pending--; pending == 0 {
				done(ct, !failed)
			}
		}
		for i := range assignment {
			i := i
			pending++
			b.coordRead(CoordOp{Kind: CoordGet, Path: statePath(name, int32(i))}, func(r CoordResult) {
				switch {
				case errors.Is(r.Err, ErrCoordNoNode):
					finish(true)
					return
				case r.Err != nil:
					finish(false)
					return
				}
				z, err := parsePartitionState(r.Data)
				if err != nil {
					ct.states[i] = &ctlPartState{leader: leaderNone, isr: slices.Clone(assignment[i][:1]), zkVersion: r.Stat.Version}
					finish(true)
					return
				}
				ct.states[i] = &ctlPartState{leader: BrokerID(z.Leader), leaderEpoch: z.LeaderEpoch, isr: brokerIDs(z.ISR),
					zkVersion: r.Stat.Version, ctlEpoch: z.ControllerEpoch}
				finish(true)
			})
		}
		finish(true)
	})
}

// ctlLive is the set of live brokers as the controller sees them: the
// last listing of /brokers/ids (itself included once registered).
func (b *Broker) ctlLive() map[BrokerID]liveBroker {
	live := map[BrokerID]liveBroker{}
	// order-independent: copied into a map
	for id, lb := range b.live {
		live[id] = lb
	}
	return live
}

// ctlReconcile is the controller's one mechanism (see ctlState).
func (b *Broker) ctlReconcile() {
	st := b.ctlActive()
	if st == nil || !st.loaded || st.writes > 0 {
		return
	}
	st.retryAt = 0
	live := b.ctlLive()
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		for i := range ct.assignment {
			want := b.ctlNextState(ct, i, live)
			if want == nil {
				want = b.ctlReassignState(ct, i, live)
			}
			if want != nil {
				b.ctlWriteState(ct, i, want)
			}
		}
	}
	if st.writes > 0 {
		return // brokers hear of the states once they are written
	}
	b.ctlFinishReassignments(live)
	if st.writes > 0 {
		return
	}
	b.ctlDeletions(live)
	if st.writes > 0 {
		return
	}
	ids := make([]BrokerID, 0, len(live))
	// order-independent: collected, then sorted
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// order-independent: deletions only
	for id := range st.peers {
		if _, ok := live[id]; !ok {
			delete(st.peers, id) // gone: a return starts from nothing
		}
	}
	for _, id := range ids {
		b.ctlSync(id, live[id])
	}
}

// ctlNextState is the state partition i of ct must move to, or nil. A
// live leader keeps its partition, even while it shuts down (with one
// replica, as in Kafka, the partition goes offline once its broker has
// stopped); new leaders and ISR members are live brokers that are not
// shutting down (Kafka's isReplicaOnline).
func (b *Broker) ctlNextState(ct *ctlTopic, i int, live map[BrokerID]liveBroker) *ctlPartState {
	replicas, s := ct.assignment[i], ct.states[i]
	st := b.ctlActive()
	isLive := func(id BrokerID) bool { _, ok := live[id]; return ok }
	canLead := func(id BrokerID) bool { lb, ok := live[id]; return ok && st.eligible(id, lb) }
	if s == nil {
		var isr []BrokerID
		for _, r := range replicas {
			if canLead(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			return nil // no replica to lead it yet; a broker's return brings it online
		}
		return &ctlPartState{leader: isr[0], isr: isr, zkVersion: -1}
	}
	if s.leader >= 0 && isLive(s.leader) {
		return b.ctlKeepLeader(replicas, s, canLead)
	}
	for _, r := range replicas {
		if canLead(r) && slices.Contains(s.isr, r) {
			isr := []BrokerID{}
			for _, m := range s.isr {
				if canLead(m) {
					isr = append(isr, m)
				}
			}
			return &ctlPartState{leader: r, leaderEpoch: s.leaderEpoch + 1, isr: isr, zkVersion: s.zkVersion}
		}
	}
	// BUG SITE (simbugs): BugElectOutsideISR elects outside the ISR.
	if b.uncleanElection(ct.name) || bugOn(BugElectOutsideISR) {
		// No live ISR member: a live replica outside it leads, and what it
		// lacks is lost (unclean.leader.election.enable).
		for _, r := range replicas {
			if canLead(r) {
				b.cover(cover.UncleanElection)
				b.emit(Lifecycle{UncleanElection: &UncleanElection{Partition: TopicPartition{Topic: ct.name, Partition: int32(i)},
					Leader: r, LeaderEpoch: s.leaderEpoch + 1, ISR: slices.Clone(s.isr)}})
				return &ctlPartState{leader: r, leaderEpoch: s.leaderEpoch + 1, isr: []BrokerID{r}, zkVersion: s.zkVersion}
			}
		}
	}
	if s.leader == leaderNone {
		return nil // offline until an ISR member returns
	}
	// No live ISR member: offline. The last ISR member stays in the ISR
	// (it is the only one that may lead again, uncleanly elections aside).
	isr := s.isr
	if len(isr) > 1 {
		isr = slices.DeleteFunc(slices.Clone(isr), func(m BrokerID) bool { return m == s.leader })
	}
	return &ctlPartState{leader: leaderNone, leaderEpoch: s.leaderEpoch + 1, isr: isr, zkVersion: s.zkVersion}
}

// ctlKeepLeader is the next state of a partition whose leader is live: a
// leader shutting down hands over to an ISR member that is not (Kafka's
// ControlledShutdownPartitionLeaderElectionStrategy); ISR members that
// are gone or shutting down leave the ISR (Kafka's OfflineReplica
// transition), with a new leader epoch either way. Nil: nothing to
// change.
func (b *Broker) ctlKeepLeader(replicas []BrokerID, s *ctlPartState, canLead func(BrokerID) bool) *ctlPartState {
	isr := slices.DeleteFunc(slices.Clone(s.isr), func(m BrokerID) bool { return m != s.leader && !canLead(m) })
	leader := s.leader
	if !canLead(s.leader) {
		for _, r := range replicas {
			if r != s.leader && canLead(r) && slices.Contains(isr, r) {
				leader = r
				b.cover(cover.LeaderHandedOver)
				break
			}
		}
		if leader != s.leader {
			isr = slices.DeleteFunc(isr, func(m BrokerID) bool { return m == s.leader })
		}
	}
	if leader == s.leader && len(isr) == len(s.isr) {
		return nil
	}
	return &ctlPartState{leader: leader, leaderEpoch: s.leaderEpoch + 1, isr: isr, zkVersion: s.zkVersion}
}

// uncleanElection says whether topic may elect a leader outside its
// ISR: its unclean.leader.election.enable, or the broker's default.
func (b *Broker) uncleanElection(topic string) bool {
	return b.cfg.settingsOf(b.topics[topic]).unclean
}

// ctlWriteState writes partition i's new state, creating the state
// znode of a new partition (zkVersion -1).
func (b *Broker) ctlWriteState(ct *ctlTopic, i int, want *ctlPartState) {
	b.ctlWriteStateThen(ct, i, want, func(bool) {})
}

// ctlWriteStateThen is ctlWriteState; done learns whether the state was
// written.
func (b *Broker) ctlWriteStateThen(ct *ctlTopic, i int, want *ctlPartState, done func(ok bool)) {
	want.ctlEpoch = b.ctl.epoch
	isr := make([]int32, len(want.isr))
	for j, m := range want.isr {
		isr[j] = int32(m)
	}
	data := mustJSON(partitionStateZnode{ControllerEpoch: want.ctlEpoch, Leader: int32(want.leader), Version: 1,
		LeaderEpoch: want.leaderEpoch, ISR: isr})
	op := CoordOp{Kind: CoordSet, Path: statePath(ct.name, int32(i)), Data: data, Version: want.zkVersion}
	if want.zkVersion < 0 {
		op = CoordOp{Kind: CoordCreate, Path: statePath(ct.name, int32(i)), Data: data, Parents: true}
	}
	if want.leader == leaderNone {
		b.cover(cover.PartitionOffline)
	} else if want.leaderEpoch > 0 {
		b.cover(cover.LeaderMoved)
	}
	st, prev := b.ctlActive(), ct.states[i]
	b.ctlWriteThen(op, func(r CoordResult) {
		if r.Err == nil {
			want.zkVersion = r.Stat.Version
			ct.states[i] = want
			if prev != nil && prev.leader >= 0 && want.leader != prev.leader {
				if lb, ok := b.ctlLive()[prev.leader]; ok && st == b.ctlActive() {
					st.demoting[TopicPartition{Topic: ct.name, Partition: int32(i)}] = demotion{prev.leader, lb.epoch}
				}
			}
		}
		done(r.Err == nil)
	})
}

// ctlWrite performs a fenced write; ok runs on success. A write the store
// refused because it changed (another version, a node created or gone)
// reloads once the writes settle; another failure retries later.
func (b *Broker) ctlWrite(op CoordOp, ok func(CoordResult)) {
	b.ctlWriteThen(op, func(r CoordResult) {
		if r.Err == nil {
			ok(r)
		}
	})
}

// ctlWriteThen is ctlWrite with a continuation that learns the outcome,
// success or not.
func (b *Broker) ctlWriteThen(op CoordOp, then func(CoordResult)) {
	st := b.ctlActive()
	op.Guard = b.ctlGuard()
	st.writes++
	op.Token = awaitFor(b.step, func(r CoordResult) {
		if st != b.ctlActive() {
			return
		}
		st.writes--
		if st.writes == 0 {
			defer b.metadataChanged() // a ControlledShutdown waiting for the writes is answered
		}
		then(r)
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, ErrCoordBadVersion), errors.Is(r.Err, ErrCoordNodeExists), errors.Is(r.Err, ErrCoordNoNode):
			st.reload = true
		default:
			st.retryAt = b.now + Instant(ctlRetryMs*1e6)
		}
		if st.writes > 0 {
			return
		}
		if st.reload {
			st.reload = false
			b.elect() // a deposed controller learns it here, a live one reloads
			b.ctlLoad()
			return
		}
		if st.retryAt == 0 {
			b.ctlReconcile()
		}
	})
	b.emit(op)
}

// ctlDeletions finishes the deletions every broker has taken part in.
func (b *Broker) ctlDeletions(live map[BrokerID]liveBroker) {
	st := b.ctlActive()
	for _, name := range sortedKeys(st.marked) {
		ct := st.topics[name]
		if ct == nil || st.marked[name] != "" && st.marked[name] != encodeUUID(ct.id) {
			// done already, or the mark of an older topic of that name
			b.ctlWrite(deleteTreeOp(zkDeleteTopics+"/"+name), func(CoordResult) { delete(st.marked, name) })
			continue
		}
		ready := true
		// order-independent: a conjunction
		for id := range live {
			if p := st.peers[id]; p == nil || !p.unlisted[name] {
				ready = false
			}
		}
		for _, rs := range ct.assignment {
			for _, r := range rs {
				_, ok := live[r]
				if !ok || st.peers[r] == nil || !st.peers[r].stopped[name] {
					ready = false
				}
			}
		}
		if !ready {
			continue
		}
		b.cover(cover.TopicDeleted)
		b.ctlWrite(deleteTreeOp(zkTopics+name), func(CoordResult) {})
		b.ctlWrite(deleteTreeOp(zkConfigs+name), func(CoordResult) {})
		b.ctlWrite(deleteTreeOp(zkDeleteTopics+"/"+name), func(CoordResult) {
			delete(st.topics, name)
			delete(st.marked, name)
			// order-independent: deletions only
			for _, p := range st.peers {
				delete(p.unlisted, name)
				delete(p.stopped, name)
			}
		})
	}
}

// ctlSync sends broker id the next request it needs, if none is in
// flight.
func (b *Broker) ctlSync(id BrokerID, lb liveBroker) {
	st := b.ctlActive()
	peer := st.ctlPeerFor(id, lb)
	if peer.inflight || b.now < peer.retryAt {
		return
	}
	if req, sent := b.ctlLeaderAndIsr(id, peer); req != nil {
		b.ctlSend(id, lb, peer, req, func(resp kmsg.Response) {
			refused := refusedStates(req, resp.(*kmsg.LeaderAndISRResponse))
			// order-independent: copied into a map
			for tp, k := range sent {
				if !refused[tp] {
					peer.leaders[tp] = k
					delete(peer.dropped, tp) // it hosts a replica again
				}
			}
			if len(refused) > 0 {
				// Sent again later: a leader handing over is not
				// demoted until it takes its new state.
				b.cover(cover.ControllerSendRetried)
				peer.retryAt = b.now + Instant(peerRetryMs*1e6)
			}
		})
		return
	}
	if req, sent, unlisted := b.ctlUpdateMetadata(peer); req != nil {
		b.ctlSend(id, lb, peer, req, func(kmsg.Response) {
			// order-independent: copied into a map
			for tp, k := range sent {
				peer.cached[tp] = k
			}
			for _, name := range unlisted {
				peer.unlisted[name] = true
			}
			peer.informed = true
		})
		return
	}
	if req, topics := b.ctlStopReplica(id, peer); req != nil {
		b.ctlSend(id, lb, peer, req, func(kmsg.Response) {
			for _, name := range topics {
				peer.stopped[name] = true
			}
		})
		return
	}
	if req, tps := b.ctlDropReplicas(id, peer); req != nil {
		b.ctlSend(id, lb, peer, req, func(kmsg.Response) {
			for _, tp := range tps {
				peer.dropped[tp] = true
				delete(peer.leaders, tp)
				// an UpdateMetadata it took while it led was not applied:
				// it is sent the partition's state again
				delete(peer.cached, tp)
				b.cover(cover.ReassignedReplicaRemoved)
			}
		})
	}
}

// ctlLeaderAndIsr builds the LeaderAndIsr broker id needs, or nil.
func (b *Broker) ctlLeaderAndIsr(id BrokerID, peer *ctlPeer) (*kmsg.LeaderAndISRRequest, map[TopicPartition]stateKey) {
	st := b.ctlActive()
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.SetVersion(leaderAndIsrVersion)
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = int32(b.cfg.BrokerID), b.ctl.epoch, peer.epoch
	sent := map[TopicPartition]stateKey{}
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		ts := kmsg.NewLeaderAndISRRequestTopicState()
		ts.Topic, ts.TopicID = name, ct.id
		for i, s := range ct.states {
			tp := TopicPartition{Topic: name, Partition: int32(i)}
			if k, ok := peer.leaders[tp]; s == nil || !slices.Contains(ct.sendReplicas(i), id) || ok && k == s.key(ct, i) {
				continue
			}
			if s.leader == id && b.ctlAwaitsDemotion(ct, i, s) {
				continue // the old leader first stops answering
			}
			ps := kmsg.NewLeaderAndISRRequestTopicPartition()
			ps.Partition, ps.ControllerEpoch, ps.Leader, ps.LeaderEpoch = int32(i), s.ctlEpoch, int32(s.leader), s.leaderEpoch
			ps.ISR, ps.ZKVersion, ps.Replicas = int32IDs(s.isr), s.zkVersion, int32IDs(ct.sendReplicas(i))
			if ct.reassigning(i) && !ct.dropping(i) {
				ps.AddingReplicas, ps.RemovingReplicas = int32IDs(ct.reassign[i].adding), int32IDs(ct.reassign[i].removing)
			}
			ts.PartitionStates = append(ts.PartitionStates, ps)
			sent[tp] = s.key(ct, i)
		}
		if len(ts.PartitionStates) > 0 {
			req.TopicStates = append(req.TopicStates, ts)
		}
	}
	if len(sent) == 0 {
		return nil, nil
	}
	for _, lid := range sortedKeys(b.ctlLive()) {
		lb := b.live[lid]
		ll := kmsg.NewLeaderAndISRRequestLiveLeader()
		ep := b.interBroker(lb) // Kafka's controller: the broker's node on the inter-broker listener
		ll.BrokerID, ll.Host, ll.Port = int32(lid), ep.Host, ep.Port
		req.LiveLeaders = append(req.LiveLeaders, ll)
	}
	return req, sent
}

// refusedStates are the partitions whose state a broker did not take
// (it could not host the log, say): an older state than the one it holds
// (STALE_CONTROLLER_EPOCH) or a partition it does not replicate is as
// good as taken.
func refusedStates(req *kmsg.LeaderAndISRRequest, resp *kmsg.LeaderAndISRResponse) map[TopicPartition]bool {
	names := map[TopicID]string{}
	for _, ts := range req.TopicStates {
		names[TopicID(ts.TopicID)] = ts.Topic
	}
	refused := map[TopicPartition]bool{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			switch rp.ErrorCode {
			case errNone, errStaleControllerEpoch, errUnknownTopic:
			default:
				refused[TopicPartition{Topic: names[TopicID(rt.TopicID)], Partition: rp.Partition}] = true
			}
		}
	}
	return refused
}

// ctlAwaitsDemotion says s makes a new leader of ct's partition i while
// another live broker may think it leads: one this controller replaced,
// or one it last told that it leads. The new leader is told only once the
// old one took a state that demotes it (or deleted its replica, when a
// reassignment removed it), so that the two never answer clients at once.
// (A broker that registered anew since leads nothing; a dead one's lease
// has lapsed.)
func (b *Broker) ctlAwaitsDemotion(ct *ctlTopic, i int, s *ctlPartState) bool {
	st := b.ctlActive()
	live := b.ctlLive()
	tp := TopicPartition{Topic: ct.name, Partition: int32(i)}
	// The leader this controller replaced, which it may not have told it
	// leads (a controller before it did).
	if d, ok := st.demoting[tp]; ok {
		lb, isLive := live[d.from]
		old := st.peers[d.from]
		k, told := stateKey{}, false
		if old != nil {
			k, told = old.leaders[tp]
		}
		switch {
		case !isLive || lb.epoch != d.epoch || d.from == s.leader:
			delete(st.demoting, tp)
		case old != nil && (old.dropped[tp] || told && k.topic == ct.id && k.leader != d.from):
			delete(st.demoting, tp)
		default:
			return true
		}
	}
	for _, r := range sortedKeys(live) {
		old := st.peers[r]
		if r == s.leader || old == nil || old.epoch != live[r].epoch || old.dropped[tp] {
			continue
		}
		if k, ok := old.leaders[tp]; ok && k.topic == ct.id && k.leader == r {
			return true
		}
	}
	return false
}

// ctlUpdateMetadata builds the UpdateMetadata a broker needs, or nil.
func (b *Broker) ctlUpdateMetadata(peer *ctlPeer) (*kmsg.UpdateMetadataRequest, map[TopicPartition]stateKey, []string) {
	st := b.ctlActive()
	req := kmsg.NewPtrUpdateMetadataRequest()
	req.SetVersion(updateMetadataVersion)
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = int32(b.cfg.BrokerID), b.ctl.epoch, peer.epoch
	sent := map[TopicPartition]stateKey{}
	var unlisted []string
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		ts := kmsg.NewUpdateMetadataRequestTopicState()
		ts.Topic, ts.TopicID = name, ct.id
		deleting := st.deleting(ct)
		if deleting && peer.unlisted[name] {
			continue
		}
		for i, s := range ct.states {
			tp := TopicPartition{Topic: name, Partition: int32(i)}
			if k, ok := peer.cached[tp]; !deleting && (s == nil || ok && k == s.key(ct, i)) {
				continue
			}
			ps := kmsg.NewUpdateMetadataRequestTopicPartition()
			ps.Partition, ps.Replicas = int32(i), int32IDs(ct.sendReplicas(i))
			if deleting {
				ps.Leader, ps.ISR = int32(leaderDelete), ps.Replicas
			} else {
				ps.ControllerEpoch, ps.Leader, ps.LeaderEpoch = s.ctlEpoch, int32(s.leader), s.leaderEpoch
				ps.ISR, ps.ZKVersion = int32IDs(s.isr), s.zkVersion
				sent[tp] = s.key(ct, i)
			}
			ts.PartitionStates = append(ts.PartitionStates, ps)
		}
		if deleting {
			unlisted = append(unlisted, name)
		}
		if len(ts.PartitionStates) > 0 {
			req.TopicStates = append(req.TopicStates, ts)
		}
	}
	if len(sent) == 0 && len(unlisted) == 0 && peer.informed {
		return nil, nil, nil
	}
	for _, lid := range sortedKeys(b.ctlLive()) {
		lb := b.live[lid]
		br := kmsg.NewUpdateMetadataRequestLiveBroker()
		br.ID = int32(lid)
		for _, e := range lb.endpoints {
			ep := kmsg.NewUpdateMetadataRequestLiveBrokerEndpoint()
			ep.Host, ep.Port, ep.ListenerName, ep.SecurityProtocol = e.Host, e.Port, e.Listener, protocolIDs[e.Protocol]
			br.Endpoints = append(br.Endpoints, ep)
		}
		if lb.rack != "" {
			br.Rack = kmsg.StringPtr(lb.rack)
		}
		req.LiveBrokers = append(req.LiveBrokers, br)
	}
	return req, sent, unlisted
}

// ctlStopReplica builds the StopReplica that deletes broker id's
// replicas of topics being deleted that every broker has unlisted.
func (b *Broker) ctlStopReplica(id BrokerID, peer *ctlPeer) (*kmsg.StopReplicaRequest, []string) {
	st := b.ctlActive()
	req := kmsg.NewPtrStopReplicaRequest()
	req.SetVersion(stopReplicaVersion)
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = int32(b.cfg.BrokerID), b.ctl.epoch, peer.epoch
	var topics []string
	for _, name := range sortedKeys(st.marked) {
		ct := st.topics[name]
		if ct == nil || !st.deleting(ct) || peer.stopped[name] || !peer.unlisted[name] {
			continue
		}
		rt := kmsg.NewStopReplicaRequestTopic()
		rt.Topic = name
		for i, rs := range ct.assignment {
			if slices.Contains(rs, id) {
				ps := kmsg.NewStopReplicaRequestTopicPartitionState()
				ps.Partition, ps.LeaderEpoch, ps.Delete = int32(i), -2, true
				rt.PartitionStates = append(rt.PartitionStates, ps)
			}
		}
		topics = append(topics, name)
		if len(rt.PartitionStates) > 0 {
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(topics) == 0 {
		return nil, nil
	}
	return req, topics
}

// ctlSend sends req to broker id (to itself directly); taken runs when
// the broker took it. A failed or refused send is retried later.
func (b *Broker) ctlSend(id BrokerID, lb liveBroker, peer *ctlPeer, req kmsg.Request, taken func(kmsg.Response)) {
	st := b.ctlActive()
	peer.inflight = true
	finish := func(resp kmsg.Response, err error) {
		if st != b.ctlActive() || st.peers[id] != peer {
			return
		}
		peer.inflight = false
		if err != nil || topError(resp) != errNone {
			b.cover(cover.ControllerSendRetried)
			peer.retryAt = b.now + Instant(peerRetryMs*1e6)
			return
		}
		taken(resp)
		b.ctlReconcile()
	}
	if id == b.cfg.BrokerID {
		b.deliverLocal(req, finish)
		return
	}
	tok := awaitFor(b.step, func(r PeerResponse) { finish(r.Response, r.Err) })
	b.emit(b.peerSendTo(tok, lb, req))
}

// deliverLocal hands one of the controller's requests to this broker's
// own side, as another broker would take it from the network.
func (b *Broker) deliverLocal(req kmsg.Request, done func(kmsg.Response, error)) {
	switch req := req.(type) {
	case *kmsg.LeaderAndISRRequest:
		b.applyLeaderAndIsr(req, func(resp *kmsg.LeaderAndISRResponse) { done(resp, nil) })
	case *kmsg.UpdateMetadataRequest:
		done(b.applyUpdateMetadata(req), nil)
	case *kmsg.StopReplicaRequest:
		done(b.applyStopReplica(req), nil)
	default:
		panic("core: the controller sends no " + strconv.Itoa(int(req.Key())))
	}
}

// topError is a controller request's top-level error code.
func topError(resp kmsg.Response) int16 {
	switch r := resp.(type) {
	case *kmsg.LeaderAndISRResponse:
		return r.ErrorCode
	case *kmsg.UpdateMetadataResponse:
		return r.ErrorCode
	case *kmsg.StopReplicaResponse:
		return r.ErrorCode
	}
	return errUnknownServer
}

// ctlTick retries what failed, when due.
func (b *Broker) ctlTick() {
	st := b.ctlActive()
	if st == nil {
		return
	}
	b.rebalanceTick()
	due := st.retryAt != 0 && b.now >= st.retryAt
	// order-independent: a disjunction
	for _, p := range st.peers {
		if p.retryAt != 0 && b.now >= p.retryAt {
			p.retryAt, due = 0, true
		}
	}
	if !due {
		return
	}
	if !st.loaded {
		if st.retryAt != 0 && b.now >= st.retryAt {
			st.retryAt = 0
			b.ctlLoad() // the last load failed
		}
		return // a load is under way: it reconciles when done
	}
	b.ctlReconcile()
}

func int32IDs(ids []BrokerID) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

package core

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Partition reassignment, the controller's side (Kafka's
// KafkaController.onPartitionReassignment, ZooKeeper mode). A
// reassignment of a partition from its original replicas ORS to target
// replicas TRS is recorded in the topic znode, so that a new controller
// resumes it: the partition's replicas become RS = TRS ++ ORS (targets
// first, no duplicates), with adding_replicas TRS − ORS and
// removing_replicas ORS − TRS (partReassign). Then the reconciler
// (controller_state.go) carries it through, level-triggered like
// everything it does:
//
//	phase A (TRS ⊄ ISR)  every replica of RS is told RS (LeaderAndIsr, with
//	                     the adding and removing replicas): the new ones
//	                     start following and the leader adds them to the
//	                     ISR once they caught up
//	phase B (TRS ⊆ ISR)  one state write: a leader from TRS if the leader
//	                     is not in TRS or cannot lead, the ISR without the
//	                     removed replicas, the leader epoch + 1; from then
//	                     on brokers are told TRS, and the removed replicas
//	                     get StopReplica with deletion (a leader among them
//	                     first, before its successor is told)
//	done                 once every live removed replica was deleted, the
//	                     topic znode is written with RS = TRS and no
//	                     adding or removing replicas
//
// The order is Kafka's: the final assignment is written last, because
// the topic znode is the only place that remembers ORS. A replica a
// changed or cancelled reassignment no longer lists, that took this
// controller's LeaderAndIsr, is deleted too (Kafka's step U3). A removed
// replica on a broker that is down is not waited for: the broker drops
// logs the store no longer assigns to it when it starts.
//
// Unlike Kafka, a topic may be deleted while one of its partitions is
// being reassigned: the deletion stops every replica of RS.

// reassigning says whether partition i is being reassigned.
func (ct *ctlTopic) reassigning(i int) bool { return i < len(ct.reassign) && ct.reassign[i].active() }

// target is partition i's target replicas (TRS: RS − removing).
func (ct *ctlTopic) target(i int) []BrokerID {
	if !ct.reassigning(i) {
		return ct.assignment[i]
	}
	return without(ct.assignment[i], ct.reassign[i].removing)
}

// origin is partition i's original replicas (ORS: RS − adding).
func (ct *ctlTopic) origin(i int) []BrokerID {
	if !ct.reassigning(i) {
		return ct.assignment[i]
	}
	return without(ct.assignment[i], ct.reassign[i].adding)
}

// dropping says whether partition i's reassignment reached its last
// stage: the target replicas are in sync, the removed ones are out of
// the ISR and none of them leads.
func (ct *ctlTopic) dropping(i int) bool {
	s := ct.states[i]
	if !ct.reassigning(i) || s == nil {
		return false
	}
	rr := ct.reassign[i].removing
	return subsetOf(ct.target(i), s.isr) && !slices.Contains(rr, s.leader) && !slices.ContainsFunc(s.isr, func(m BrokerID) bool {
		return slices.Contains(rr, m)
	})
}

// sendReplicas is the replica set brokers are told for partition i: RS,
// or TRS once the reassignment is in its last stage (Kafka's step B3, so
// that the leader adds no removed replica to the ISR again).
func (ct *ctlTopic) sendReplicas(i int) []BrokerID {
	if ct.dropping(i) {
		return ct.target(i)
	}
	return ct.assignment[i]
}

func without(rs, drop []BrokerID) []BrokerID {
	return slices.DeleteFunc(slices.Clone(rs), func(r BrokerID) bool { return slices.Contains(drop, r) })
}

func subsetOf(a, b []BrokerID) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// reassignTo is Kafka's ReplicaAssignment.reassignTo: the replicas and
// reassignment of a partition whose original replicas are origin, moving
// to target.
func reassignTo(origin, target []BrokerID) ([]BrokerID, partReassign) {
	var rs []BrokerID
	for _, r := range append(slices.Clone(target), origin...) {
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs, partReassign{adding: without(rs, origin), removing: without(rs, target)}
}

// ctlReassignState is the state partition i of ct must move to for its
// reassignment (phase B), or for an assignment that no longer lists its
// leader or ISR members (a cancelled reassignment), or nil. Kafka's
// ReassignPartitionLeaderElectionStrategy picks the leader: the current
// one if it stays and can lead, else the first target replica that can
// lead and is in the ISR.
func (b *Broker) ctlReassignState(ct *ctlTopic, i int, live map[BrokerID]liveBroker) *ctlPartState {
	s, st := ct.states[i], b.ctlActive()
	canLead := func(id BrokerID) bool { lb, ok := live[id]; return ok && st.eligible(id, lb) }
	if s == nil || s.leader < 0 && !ct.reassigning(i) {
		return nil
	}
	keep := ct.assignment[i]
	if ct.reassigning(i) {
		if keep = ct.target(i); !subsetOf(keep, s.isr) {
			return nil // phase A: the new replicas catch up
		}
	}
	isr := slices.DeleteFunc(slices.Clone(s.isr), func(m BrokerID) bool { return !slices.Contains(keep, m) })
	leaderStays := slices.Contains(keep, s.leader) && (canLead(s.leader) || !ct.reassigning(i))
	if leaderStays && len(isr) == len(s.isr) {
		return nil
	}
	leader := s.leader
	if !leaderStays {
		leader = leaderNone
		for _, r := range keep {
			if canLead(r) && slices.Contains(isr, r) {
				leader = r
				break
			}
		}
	}
	if leader == leaderNone || len(isr) == 0 {
		return nil // no target replica can lead yet
	}
	return &ctlPartState{leader: leader, leaderEpoch: s.leaderEpoch + 1, isr: isr, zkVersion: s.zkVersion}
}

// ctlFinishReassignments writes the final assignment of the partitions
// whose reassignment is in its last stage and whose removed replicas on
// live brokers are deleted: one write per topic.
func (b *Broker) ctlFinishReassignments(live map[BrokerID]liveBroker) {
	st := b.ctlActive()
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		var done []int
		for i := range ct.assignment {
			if ct.dropping(i) && b.ctlRemovedGone(ct, i, live) {
				done = append(done, i)
			}
		}
		if len(done) == 0 {
			continue
		}
		assignment, reassign := slices.Clone(ct.assignment), slices.Clone(ct.reassign)
		for _, i := range done {
			assignment[i], reassign[i] = ct.target(i), partReassign{}
		}
		// (The brokers' dropped marks stay: a leader the reassignment
		// removed is known to have stopped by them, and a broker given
		// the partition again takes a LeaderAndIsr first, which clears
		// its mark.)
		b.ctlWriteTopic(ct, assignment, reassign, func(ok bool) {
			if ok {
				for range done {
					b.cover(cover.ReassignmentCompleted)
				}
			}
		})
	}
}

// ctlRemovedGone says whether every removed replica of partition i on a
// live broker has been deleted.
func (b *Broker) ctlRemovedGone(ct *ctlTopic, i int, live map[BrokerID]liveBroker) bool {
	st := b.ctlActive()
	tp := TopicPartition{Topic: ct.name, Partition: int32(i)}
	for _, r := range ct.reassign[i].removing {
		lb, ok := live[r]
		if !ok {
			continue
		}
		if p := st.peers[r]; p == nil || p.epoch != lb.epoch || !p.dropped[tp] {
			return false
		}
	}
	return true
}

// ctlWriteTopic writes ct's znode with a new assignment and
// reassignments, conditionally on the version read (a CreatePartitions
// may have grown it meanwhile: the controller then reloads); done learns
// whether it was written.
func (b *Broker) ctlWriteTopic(ct *ctlTopic, assignment [][]BrokerID, reassign []partReassign, done func(ok bool)) {
	op := CoordOp{Kind: CoordSet, Path: zkTopics + ct.name, Data: topicZnodeDataFull(ct.id, assignment, reassign), Version: ct.version}
	b.ctlWriteThen(op, func(r CoordResult) {
		if r.Err == nil {
			ct.assignment, ct.reassign, ct.version = assignment, reassign, r.Stat.Version
		}
		done(r.Err == nil)
	})
}

// ctlDropReplicas builds the StopReplica (with deletion) that removes
// broker id's replicas that a reassignment takes away: those of
// partitions in their last stage that it holds among the removed
// replicas, and those it took a LeaderAndIsr for that the partition no
// longer lists (a reassignment changed or cancelled).
func (b *Broker) ctlDropReplicas(id BrokerID, peer *ctlPeer) (*kmsg.StopReplicaRequest, []TopicPartition) {
	st := b.ctlActive()
	req := kmsg.NewPtrStopReplicaRequest()
	req.SetVersion(stopReplicaVersion)
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = int32(b.cfg.BrokerID), b.ctl.epoch, peer.epoch
	var tps []TopicPartition
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		rt := kmsg.NewStopReplicaRequestTopic()
		rt.Topic = name
		for i := range ct.assignment {
			tp := TopicPartition{Topic: name, Partition: int32(i)}
			if slices.Contains(ct.sendReplicas(i), id) {
				continue
			}
			k, took := peer.leaders[tp]
			stale := took && k.topic == ct.id
			removed := ct.dropping(i) && slices.Contains(ct.reassign[i].removing, id) && !peer.dropped[tp]
			if !stale && !removed {
				continue
			}
			ps := kmsg.NewStopReplicaRequestTopicPartitionState()
			ps.Partition, ps.LeaderEpoch, ps.Delete = int32(i), -1, true
			if s := ct.states[i]; s != nil {
				ps.LeaderEpoch = s.leaderEpoch
			}
			rt.PartitionStates = append(rt.PartitionStates, ps)
			tps = append(tps, tp)
		}
		if len(rt.PartitionStates) > 0 {
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(tps) == 0 {
		return nil, nil
	}
	return req, tps
}

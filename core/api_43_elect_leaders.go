package core

import (
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// ElectLeaders: v0-2 (v0 elects preferred leaders; v1 adds the election
// type and a top-level error code; v2 is flexible)
//
// Behavior (Kafka's KafkaApis.handleElectLeaders, ReplicaManager.electLeaders
//   - Needs Alter on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED, at the top (v1+) and for each
//     partition named.
// and KafkaController.processReplicaLeaderElection, ZooKeeper mode):
//   - Only the active controller elects; every other broker answers
//     NOT_CONTROLLER for each partition asked (null topics: each
//     partition in its metadata cache), with no top-level error, as Kafka.
//   - Null topics means every partition of every topic not being deleted,
//     and the partitions that needed no election are left out of the
//     answer.
//   - Per partition: one that does not exist is UNKNOWN_TOPIC_OR_PARTITION;
//     one of a topic being deleted INVALID_TOPIC_EXCEPTION. Preferred
//     (type 0): ELECTION_NOT_NEEDED when the first replica leads; else it
//     leads if it is live, not shutting down and in the ISR (the ISR
//     stays), or PREFERRED_LEADER_NOT_AVAILABLE. Unclean (type 1):
//     ELECTION_NOT_NEEDED while the leader is a live broker; else the
//     first live replica in the ISR leads (the ISR keeps its live
//     members), or failing that the first live replica outside it, with
//     an ISR of itself (what it lacks is lost), whatever the topic's
//     unclean.leader.election.enable; with no live replica,
//     ELIGIBLE_LEADERS_NOT_AVAILABLE. Any other type is INVALID_REQUEST
//     as the top-level error.
//   - A live leader that loses its leadership takes its demotion before
//     the new one is told (controller_state.go), so the two never answer
//     clients at once.
//   - Kafka's ZooKeeper-mode controller runs an admin client's election
//     directly on the request (AdminClientTriggered); only
//     kafka-preferred-replica-election.sh's older path goes through
//     /admin/preferred_replica_election. The controller here does the
//     same: it writes the new states itself, as its reconciler does.
//   - The answer comes once this broker's metadata cache shows every
//     elected leader (Kafka's DelayedElectLeader); a partition not shown
//     by TimeoutMillis (30 s when not positive) is REQUEST_TIMED_OUT. The
//     request first waits while the controller loads the store or writes
//     states. A state write that finds the store changed is tried again
//     after the reload (three times at most, then UNKNOWN_SERVER_ERROR).

// Election types (Kafka's ElectionType).
const (
	electPreferred int8 = 0
	electUnclean   int8 = 1
)

var errInvalidTopicDeleting = kerr.InvalidTopicException.Code

// electResult is one partition's outcome.
type electResult struct {
	code   int16
	msg    string
	leader BrokerID // the leader elected, when code is errNone
}

func (b *Broker) handleElectLeaders(r Request) {
	req := r.Body.(*kmsg.ElectLeadersRequest)
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	kind := electPreferred
	if req.Version >= 1 {
		kind = req.ElectionType
	}
	if kind != electPreferred && kind != electUnclean {
		resp.ErrorCode = errInvalidRequest
		b.respond(r, resp)
		return
	}
	all := req.Topics == nil
	if !b.authorizedCluster(r, kmsg.ACLOperationAlter) {
		resp.ErrorCode = errClusterAuth
		results := map[TopicPartition]electResult{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				results[TopicPartition{Topic: t.Topic, Partition: p}] = electResult{code: errClusterAuth}
			}
		}
		resp.Topics = electAnswer(results, all)
		b.respond(r, resp)
		return
	}
	if b.ctlActive() == nil {
		results := map[TopicPartition]electResult{}
		for _, tp := range b.electTargets(req.Topics) {
			results[tp] = electResult{code: errNotController}
		}
		resp.Topics = electAnswer(results, all)
		b.respond(r, resp)
		return
	}
	deadline := b.now + Instant(int64(adminWaitMs(req.TimeoutMillis))*1e6)
	results := map[TopicPartition]electResult{}
	finish := func() {
		b.awaitElected(results, deadline, func() {
			resp.Topics = electAnswer(results, all)
			b.respond(r, resp)
		})
	}
	var attempt func(pending []TopicPartition, tries int)
	attempt = func(pending []TopicPartition, tries int) {
		b.ctlWhenIdle(deadline, func(ok bool) {
			if !ok || b.ctlActive() == nil {
				code := errRequestTimedOut
				if ok {
					code = errNotController
				}
				for _, tp := range pending {
					results[tp] = electResult{code: code}
				}
				finish()
				return
			}
			if pending == nil {
				pending = b.electTargets(req.Topics) // null topics: the controller's view
			}
			b.ctlElect(pending, kind, results, func(failed []TopicPartition) {
				switch {
				case len(failed) == 0:
					finish()
				case tries+1 >= ctlWriteTries:
					for _, tp := range failed {
						results[tp] = electResult{code: errUnknownServer, msg: "the partition's state changed under every attempt to write it"}
					}
					finish()
				default:
					attempt(failed, tries+1)
				}
			})
		})
	}
	attempt(nil, 0)
}

// electTargets lists the partitions an ElectLeaders asks for, once each:
// those named, or (nil) every partition of every topic this broker
// knows that is not being deleted (the controller's view on the
// controller, the metadata cache elsewhere).
func (b *Broker) electTargets(topics []kmsg.ElectLeadersRequestTopic) []TopicPartition {
	var out []TopicPartition
	seen := map[TopicPartition]bool{}
	add := func(tp TopicPartition) {
		if !seen[tp] {
			seen[tp] = true
			out = append(out, tp)
		}
	}
	switch st := b.ctlActive(); {
	case topics != nil:
		for _, t := range topics {
			for _, p := range t.Partitions {
				add(TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	case st != nil:
		for _, name := range sortedKeys(st.topics) {
			if ct := st.topics[name]; !st.deleting(ct) {
				for i := range ct.assignment {
					add(TopicPartition{Topic: name, Partition: int32(i)})
				}
			}
		}
	default:
		for _, name := range b.topicNames() {
			if t := b.listedTopic(name); t != nil {
				for i := range t.parts {
					add(TopicPartition{Topic: name, Partition: int32(i)})
				}
			}
		}
	}
	return out
}

// ctlElect runs the elections of one attempt: it records each
// partition's result and writes the new states; done gets the partitions
// whose write failed (to be judged again after the reload).
func (b *Broker) ctlElect(tps []TopicPartition, kind int8, results map[TopicPartition]electResult, done func(failed []TopicPartition)) {
	st := b.ctlActive()
	live := b.ctlLive()
	var failed []TopicPartition
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			done(failed)
		}
	}
	for _, tp := range tps {
		ct := st.topics[tp.Topic]
		switch {
		case ct == nil || tp.Partition < 0 || int(tp.Partition) >= len(ct.assignment):
			results[tp] = electResult{code: errUnknownTopic, msg: "The partition does not exist."}
			continue
		case st.deleting(ct):
			results[tp] = electResult{code: errInvalidTopicDeleting, msg: "The topic is being deleted"}
			continue
		}
		i := int(tp.Partition)
		want, res := b.ctlElectOne(ct, i, kind, live)
		results[tp] = res
		if want == nil {
			continue
		}
		tp := tp
		pending++
		b.ctlWriteStateThen(ct, i, want, func(ok bool) {
			if !ok {
				failed = append(failed, tp)
			} else if kind == electPreferred {
				b.cover(cover.PreferredLeaderElected)
			}
			finish()
		})
	}
	finish()
}

// ctlElectOne is the state an election of kind makes for partition i of
// ct, or nil with the result that says why none.
func (b *Broker) ctlElectOne(ct *ctlTopic, i int, kind int8, live map[BrokerID]liveBroker) (*ctlPartState, electResult) {
	st, s, replicas := b.ctlActive(), ct.states[i], ct.assignment[i]
	canLead := func(id BrokerID) bool { lb, ok := live[id]; return ok && st.eligible(id, lb) }
	if kind == electPreferred {
		pref := replicas[0]
		switch {
		case s != nil && s.leader == pref:
			return nil, electResult{code: errElectionNotNeeded}
		case s == nil || !canLead(pref) || !slices.Contains(s.isr, pref):
			return nil, electResult{code: errPreferredNotAvailable,
				msg: "Failed to elect leader for partition " + ct.name + "-" + strconv.Itoa(i) + " under strategy PreferredReplicaPartitionLeaderElectionStrategy"}
		}
		return &ctlPartState{leader: pref, leaderEpoch: s.leaderEpoch + 1, isr: slices.Clone(s.isr), zkVersion: s.zkVersion},
			electResult{leader: pref}
	}
	if s != nil && s.leader >= 0 {
		if _, ok := live[s.leader]; ok {
			return nil, electResult{code: errElectionNotNeeded}
		}
	}
	notAvailable := electResult{code: errEligibleNotAvailable,
		msg: "Failed to elect leader for partition " + ct.name + "-" + strconv.Itoa(i) + " under strategy OfflinePartitionLeaderElectionStrategy(true)"}
	if s == nil {
		return nil, notAvailable
	}
	for _, r := range replicas {
		if canLead(r) && slices.Contains(s.isr, r) {
			isr := slices.DeleteFunc(slices.Clone(s.isr), func(m BrokerID) bool { return !canLead(m) })
			return &ctlPartState{leader: r, leaderEpoch: s.leaderEpoch + 1, isr: isr, zkVersion: s.zkVersion}, electResult{leader: r}
		}
	}
	for _, r := range replicas {
		if canLead(r) {
			b.cover(cover.UncleanElection)
			return &ctlPartState{leader: r, leaderEpoch: s.leaderEpoch + 1, isr: []BrokerID{r}, zkVersion: s.zkVersion}, electResult{leader: r}
		}
	}
	return nil, notAvailable
}

// awaitElected waits, until the deadline, for this broker's metadata
// cache to show every elected leader in results; those it does not show
// then are REQUEST_TIMED_OUT. done runs once.
func (b *Broker) awaitElected(results map[TopicPartition]electResult, deadline Instant, done func()) {
	shown := func(tp TopicPartition, res electResult) bool {
		p := b.partitionOf(tp.Topic, tp.Partition)
		return p != nil && p.known && p.leader == res.leader
	}
	all := func() bool {
		// order-independent: a conjunction
		for tp, res := range results {
			if res.code == errNone && !shown(tp, res) {
				return false
			}
		}
		return true
	}
	left := max(int64(deadline-b.now)/1e6, 0)
	b.awaitMetadata(int32(min(left, 1<<30)), all, func(bool) {
		// order-independent: each entry on its own
		for tp, res := range results {
			if res.code == errNone && !shown(tp, res) {
				results[tp] = electResult{code: errRequestTimedOut}
			}
		}
		done()
	})
}

// electAnswer groups results by topic, in topic and partition order;
// with all (null topics) the partitions that needed no election are left
// out, as Kafka does.
func electAnswer(results map[TopicPartition]electResult, all bool) []kmsg.ElectLeadersResponseTopic {
	var tps []TopicPartition
	// order-independent: collected, then sorted
	for tp, res := range results {
		if !all || res.code != errElectionNotNeeded {
			tps = append(tps, tp)
		}
	}
	sortPartitions(tps)
	var out []kmsg.ElectLeadersResponseTopic
	for _, tp := range tps {
		if len(out) == 0 || out[len(out)-1].Topic != tp.Topic {
			t := kmsg.NewElectLeadersResponseTopic()
			t.Topic = tp.Topic
			out = append(out, t)
		}
		res := results[tp]
		p := kmsg.NewElectLeadersResponseTopicPartition()
		p.Partition, p.ErrorCode = tp.Partition, res.code
		if res.msg != "" {
			p.ErrorMessage = errMsg(res.msg)
		}
		out[len(out)-1].Partitions = append(out[len(out)-1].Partitions, p)
	}
	return out
}

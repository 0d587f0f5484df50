package core

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// AlterPartitionReassignments: v0 (KIP-455; v1's
// AllowReplicationFactorChange is not offered)
//
// Behavior (Kafka's KafkaController.processApiPartitionReassignment,
//   - Needs Alter on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED, at the top and for each partition.
// ZooKeeper mode):
//   - Only the active controller serves it: elsewhere NOT_CONTROLLER, as
//     the top-level error.
//   - Per partition, in this order: a replica list that is empty, has
//     duplicates or a negative id is INVALID_REPLICA_ASSIGNMENT; so is
//     one that would add replicas on brokers that are not live (or are
//     shutting down). A null list cancels the partition's reassignment
//     (its target becomes its original replicas), and is
//     NO_REASSIGNMENT_IN_PROGRESS when there is none. A partition that
//     does not exist, or whose topic is being deleted, is
//     UNKNOWN_TOPIC_OR_PARTITION.
//   - A new reassignment of a partition being reassigned replaces it,
//     from the same original replicas.
//   - Accepted reassignments are written to their topic's znode (one
//     write per topic) before the answer, which is NONE; the controller
//     then moves them (reassign.go). A target equal to the current
//     replicas changes nothing; a reordering is written at once.
//   - The request waits while the controller loads the store or writes
//     states, up to TimeoutMillis (30 s when not positive); after it,
//     REQUEST_TIMED_OUT as the top-level error. A write that finds the
//     topic changed is judged again after the reload (three times at
//     most, then UNKNOWN_SERVER_ERROR).

var (
	errNoReassignment        = kerr.NoReassignmentInProgress.Code
	errReassignmentUnderway  = kerr.ReassignmentInProgress.Code
	errElectionNotNeeded     = kerr.ElectionNotNeeded.Code
	errPreferredNotAvailable = kerr.PreferredLeaderNotAvailable.Code
	errEligibleNotAvailable  = kerr.EligibleLeadersNotAvailable.Code
)

// ctlAdminWaitMs bounds an admin request's wait for the controller to
// settle when it gives no timeout.
const ctlAdminWaitMs = 30000

// ctlWriteTries bounds how often a request's writes are tried again after
// the store changed under them.
const ctlWriteTries = 3

func (b *Broker) handleAlterPartitionReassignments(r Request) {
	req := r.Body.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if !b.authorizedCluster(r, kmsg.ACLOperationAlter) {
		resp.ErrorCode = errClusterAuth
		for _, rt := range req.Topics {
			out := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			out.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				op := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				op.Partition, op.ErrorCode = rp.Partition, errClusterAuth
				out.Partitions = append(out.Partitions, op)
			}
			resp.Topics = append(resp.Topics, out)
		}
		b.respond(r, resp)
		return
	}
	if b.ctlActive() == nil {
		resp.ErrorCode = errNotController
		b.respond(r, resp)
		return
	}
	// the answer's slots, in the request's order
	type slot struct {
		topic, part int
		target      []BrokerID // nil: cancel
	}
	var slots []slot
	for ti, rt := range req.Topics {
		out := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		out.Topic = rt.Topic
		for pi, rp := range rt.Partitions {
			op := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			op.Partition = rp.Partition
			out.Partitions = append(out.Partitions, op)
			var target []BrokerID
			if rp.Replicas != nil {
				target = brokerIDs(rp.Replicas)
			}
			slots = append(slots, slot{ti, pi, target})
		}
		resp.Topics = append(resp.Topics, out)
	}
	set := func(s slot, code int16, msg string) {
		p := &resp.Topics[s.topic].Partitions[s.part]
		p.ErrorCode = code
		if msg != "" {
			p.ErrorMessage = errMsg(msg)
		}
	}
	deadline := b.now + Instant(int64(adminWaitMs(req.TimeoutMillis))*1e6)
	var attempt func(pending []slot, tries int)
	attempt = func(pending []slot, tries int) {
		b.ctlWhenIdle(deadline, func(ok bool) {
			switch {
			case b.ctlActive() == nil:
				resp.ErrorCode, resp.Topics = errNotController, nil
				b.respond(r, resp)
				return
			case !ok:
				resp.ErrorCode, resp.Topics = errRequestTimedOut, nil
				b.respond(r, resp)
				return
			}
			plan := newReassignPlan(b)
			for _, s := range pending {
				code, msg := plan.add(req.Topics[s.topic].Topic, req.Topics[s.topic].Partitions[s.part].Partition, s.target)
				set(s, code, msg)
			}
			plan.write(func(failed func(topic string) bool) {
				var again []slot
				for _, s := range pending {
					if failed(req.Topics[s.topic].Topic) {
						again = append(again, s)
					}
				}
				switch {
				case len(again) == 0:
					b.respond(r, resp)
				case tries+1 >= ctlWriteTries:
					for _, s := range again {
						set(s, errUnknownServer, "the topic's assignment changed under every attempt to write it")
					}
					b.respond(r, resp)
				default:
					attempt(again, tries+1)
				}
			})
		})
	}
	attempt(slots, 0)
}

// adminWaitMs is how long an admin request with timeout timeoutMs waits.
func adminWaitMs(timeoutMs int32) int32 {
	if timeoutMs <= 0 {
		return ctlAdminWaitMs
	}
	return timeoutMs
}

// ctlWhenIdle runs k(true) once this broker is no controller or its
// controller has loaded the store and has no write outstanding, or
// k(false) at the deadline. It looks again after every wake: a request
// woken with others may find their writes under way.
func (b *Broker) ctlWhenIdle(deadline Instant, k func(ok bool)) {
	st := b.ctlActive()
	if st == nil || st.settled() {
		k(true)
		return
	}
	left := max(int64(deadline-b.now)/1e6, 0)
	b.awaitMetadata(int32(min(left, 1<<30)), func() bool { now := b.ctlActive(); return now != st || now.settled() }, func(ok bool) {
		if !ok {
			k(false)
			return
		}
		b.ctlWhenIdle(deadline, k)
	})
}

// reassignPlan gathers one request's accepted reassignments by topic.
type reassignPlan struct {
	b      *Broker
	topics map[string]*plannedTopic
}

type plannedTopic struct {
	ct         *ctlTopic
	assignment [][]BrokerID
	reassign   []partReassign
	changed    bool
}

func newReassignPlan(b *Broker) *reassignPlan {
	return &reassignPlan{b: b, topics: map[string]*plannedTopic{}}
}

// add judges one partition's reassignment (target nil: cancel) and
// plans it; it returns the partition's answer.
func (pl *reassignPlan) add(topic string, part int32, target []BrokerID) (int16, string) {
	b, st := pl.b, pl.b.ctlActive()
	ct := st.topics[topic]
	known := ct != nil && !st.deleting(ct) && part >= 0 && int(part) < len(ct.assignment)
	pt := pl.topics[topic]
	if known && pt == nil {
		pt = &plannedTopic{ct: ct, assignment: slices.Clone(ct.assignment), reassign: slices.Clone(ct.reassign)}
		for len(pt.reassign) < len(pt.assignment) {
			pt.reassign = append(pt.reassign, partReassign{})
		}
		pl.topics[topic] = pt
	}
	var origin []BrokerID
	var current partReassign
	if known {
		rs := pt.assignment[part]
		current = pt.reassign[part]
		origin = without(rs, current.adding)
	}
	if target != nil {
		if code, msg := b.validReassignTarget(origin, target); code != errNone {
			return code, msg
		}
	}
	if target == nil {
		if !known || !current.active() {
			return errNoReassignment, ""
		}
		target = origin
		b.cover(cover.ReassignmentCancelled)
	}
	if !known {
		return errUnknownTopic, "The partition does not exist."
	}
	rs, ra := reassignTo(origin, target)
	if slices.Equal(rs, pt.assignment[part]) && slices.Equal(ra.adding, current.adding) && slices.Equal(ra.removing, current.removing) {
		return errNone, "" // nothing to change
	}
	pt.assignment[part], pt.reassign[part], pt.changed = rs, ra, true
	if ra.active() {
		b.cover(cover.ReassignmentStarted)
	}
	return errNone, ""
}

// validReassignTarget is Kafka's validateReplicas: a target of distinct,
// non-negative ids, whose replicas beyond origin are on live brokers that
// are not shutting down.
func (b *Broker) validReassignTarget(origin, target []BrokerID) (int16, string) {
	st := b.ctlActive()
	switch {
	case len(target) == 0:
		return errInvalidAssignment, "Empty replica list specified in partition reassignment."
	case slices.ContainsFunc(target, func(r BrokerID) bool { return r < 0 }):
		return errInvalidAssignment, fmt.Sprintf("Invalid broker id in replica list: %v", target)
	}
	for i, r := range target {
		if slices.Contains(target[:i], r) {
			return errInvalidAssignment, fmt.Sprintf("Duplicate replica ids in partition reassignment replica list: %v", target)
		}
	}
	live := b.ctlLive()
	var dead []BrokerID
	for _, r := range without(target, origin) {
		if lb, ok := live[r]; !ok || !st.eligible(r, lb) {
			dead = append(dead, r)
		}
	}
	if len(dead) > 0 {
		return errInvalidAssignment, fmt.Sprintf("Replica assignment has brokers that are not alive. Replica list: %v, live broker list: %v",
			without(target, origin), sortedKeys(live))
	}
	return errNone, ""
}

// write writes every planned topic that changed, then calls done with a
// predicate naming the topics whose write failed.
func (pl *reassignPlan) write(done func(failed func(topic string) bool)) {
	failed := map[string]bool{}
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			done(func(topic string) bool { return failed[topic] })
		}
	}
	for _, name := range sortedKeys(pl.topics) {
		pt := pl.topics[name]
		if !pt.changed {
			continue
		}
		pending++
		pl.b.ctlWriteTopic(pt.ct, pt.assignment, pt.reassign, func(ok bool) {
			failed[name] = !ok
			finish()
		})
	}
	finish()
}

package core

import (
	"errors"
	"fmt"
	"slices"
)

// Topic administration as Kafka's brokers do it with ZooKeeper: the
// broker that takes a request writes the topic's znodes, and the
// controller, watching them, elects leaders and tells every broker. The
// request is answered once this broker's metadata cache shows the
// change (Kafka's delayed create and delete operations), or
// REQUEST_TIMED_OUT after the request's timeout (0: at once).

// topicPlan is a topic creation, validated.
type topicPlan struct {
	name       string
	id         TopicID
	assignment [][]BrokerID
	configs    map[string]string
}

// livePlaces lists the live brokers, by id, for assignment.
func (b *Broker) livePlaces() []brokerPlace {
	var out []brokerPlace
	for _, lb := range b.brokers() {
		out = append(out, brokerPlace{id: lb.id, rack: lb.rack})
	}
	return out
}

func (b *Broker) isLive(id BrokerID) bool {
	if id == b.cfg.BrokerID {
		return true
	}
	_, ok := b.live[id]
	return ok
}

// replicationProblem says why rf replicas cannot be placed (Cloud Kafka
// keeps one replica per partition), or returns "".
func replicationProblem(rf int32) string {
	switch {
	case rf <= 0:
		return "Replication factor must be larger than 0."
	}
	return ""
}

// planTopic validates a new topic and assigns its partitions: manual
// gives the replicas of each partition, else parts partitions of rf
// replicas are placed as Kafka places them.
func (b *Broker) planTopic(name string, parts, rf int32, manual [][]BrokerID, configs map[string]string) (topicPlan, int16, string) {
	if err := validTopicName(name); err != nil {
		return topicPlan{}, errInvalidTopic, err.Error()
	}
	if b.topics[name] != nil || b.creating[name] != nil {
		return topicPlan{}, errTopicExists, fmt.Sprintf("Topic '%s' already exists.", name)
	}
	if manual != nil {
		if parts != -1 || rf != -1 {
			return topicPlan{}, errInvalidRequest, "both a replica assignment and partitions or replication factor given"
		}
		parts, rf = int32(len(manual)), int32(len(manual[0]))
	}
	if parts == -1 {
		parts = b.cfg.NumPartitions
	}
	if rf == -1 {
		rf = b.cfg.DefaultReplication
	}
	if parts <= 0 {
		return topicPlan{}, errInvalidPartitions, fmt.Sprintf("Number of partitions must be larger than 0.")
	}
	if msg := replicationProblem(rf); msg != "" {
		return topicPlan{}, errInvalidReplication, msg
	}
	if code, msg := b.roomFor(int64(parts) * int64(rf)); code != errNone {
		return topicPlan{}, code, msg // before placing them: a request may ask for billions
	}
	assignment := manual
	if manual != nil {
		if code, msg := b.checkAssignment(manual, rf); code != errNone {
			return topicPlan{}, code, msg
		}
	} else {
		start := int(b.rng.next() % uint64(max(1, len(b.brokers()))))
		shift := int(b.rng.next() % uint64(max(1, len(b.brokers()))))
		var err error
		if assignment, err = assignReplicas(b.livePlaces(), parts, rf, start, shift, 0); err != nil {
			code := errInvalidReplication
			if err.Error() == errRackInfo {
				code = errUnknownServer
			}
			return topicPlan{}, code, err.Error()
		}
	}
	if code, msg := b.checkRoom(assignment); code != errNone {
		return topicPlan{}, code, msg
	}
	if err := validateTopicConfigs(configs); err != nil {
		return topicPlan{}, errInvalidConfig, err.Error()
	}
	var id TopicID
	for id == (TopicID{}) {
		b.rng.fill(id[:])
	}
	return topicPlan{name: name, id: id, assignment: assignment, configs: configs}, errNone, ""
}

// checkAssignment validates a manual assignment: rf distinct live
// brokers per partition.
func (b *Broker) checkAssignment(assignment [][]BrokerID, rf int32) (int16, string) {
	for i, rs := range assignment {
		if int32(len(rs)) != rf {
			return errInvalidAssignment, "All partitions should have the same number of replicas"
		}
		for j, r := range rs {
			if slices.Contains(rs[:j], r) {
				return errInvalidAssignment, fmt.Sprintf("Duplicate replica assignment found: partition %d, replicas %v", i, rs)
			}
			if !b.isLive(r) {
				return errInvalidAssignment, fmt.Sprintf("Unknown broker(s) in replica assignment: %d", r)
			}
		}
	}
	return errNone, ""
}

// roomFor refuses at once n replicas more than all live brokers could
// hold under max.partitions.per.broker.
func (b *Broker) roomFor(n int64) (int16, string) {
	if total := int64(b.cfg.PartitionsMax) * int64(len(b.brokers())); n > total {
		return errInvalidPartitions, fmt.Sprintf("%d partitions would exceed max.partitions.per.broker (%d) on the %d live brokers", n, b.cfg.PartitionsMax, len(b.brokers()))
	}
	return errNone, ""
}

// checkRoom applies max.partitions.per.broker to every broker the
// assignment places replicas on.
func (b *Broker) checkRoom(assignment [][]BrokerID) (int16, string) {
	add := map[BrokerID]int32{}
	for _, rs := range assignment {
		for _, r := range rs {
			add[r]++
		}
	}
	for _, id := range sortedKeys(add) {
		if room := b.cfg.PartitionsMax - b.hostedCount(id); add[id] > room {
			return errInvalidPartitions, fmt.Sprintf("%d more partitions on broker %d would exceed max.partitions.per.broker (%d more allowed)", add[id], id, max(room, 0))
		}
	}
	return errNone, ""
}

// writeTopic writes a planned topic's znodes: its configuration, then
// its assignment. done gets errNone, TOPIC_ALREADY_EXISTS, or
// UNKNOWN_SERVER_ERROR when the store failed (the topic may exist).
func (b *Broker) writeTopic(plan topicPlan, done func(int16, string)) {
	b.creating[plan.name] = plan.assignment
	b.coordWrite(upsertOp(zkConfigs+plan.name, mustJSON(configZnode{Version: 1, Config: plan.configs})), nil)
	b.coordWrite(createOp(zkTopics+plan.name, topicZnodeData(plan.id, plan.assignment)), func(err error) {
		delete(b.creating, plan.name)
		switch {
		case err == nil:
			done(errNone, "")
		case errors.Is(err, ErrCoordNodeExists):
			done(errTopicExists, fmt.Sprintf("Topic '%s' already exists.", plan.name))
		default:
			done(errUnknownServer, "persisting topic metadata failed: "+err.Error())
		}
	})
}

// createTopic writes a planned topic and waits, up to timeoutMs, for
// the cache to list it with a leader for every partition.
func (b *Broker) createTopic(plan topicPlan, timeoutMs int32, done func(int16, string)) {
	b.writeTopic(plan, func(code int16, msg string) {
		if code != errNone || timeoutMs <= 0 {
			done(code, msg)
			return
		}
		b.awaitMetadata(timeoutMs, func() bool {
			t := b.topics[plan.name]
			return t != nil && t.id == plan.id && len(t.parts) >= len(plan.assignment) && t.led()
		}, func(ok bool) {
			if !ok {
				done(errRequestTimedOut, "the topic's partitions got no leaders within the request's timeout")
				return
			}
			done(errNone, "")
		})
	})
}

// markDeleted marks a topic for deletion (the mark holds its id) and
// waits, up to timeoutMs, until the deletion is over: the controller
// deletes the mark last, after the topic's znodes.
func (b *Broker) markDeleted(t *topic, timeoutMs int32, done func(int16, string)) {
	mark := zkDeleteTopics + "/" + t.name
	b.coordWrite(createOp(mark, []byte(encodeUUID(t.id))), func(err error) {
		if err != nil && !errors.Is(err, ErrCoordNodeExists) {
			done(errUnknownServer, "marking the topic for deletion failed: "+err.Error())
			return
		}
		if timeoutMs <= 0 {
			done(errNone, "")
			return
		}
		gone := false
		b.coordRead(CoordOp{Kind: CoordExists, Path: mark, Watch: true}, func(r CoordResult) {
			if errors.Is(r.Err, ErrCoordNoNode) {
				gone = true
				b.metadataChanged()
				return
			}
			b.markWaits[t.name] = append(b.markWaits[t.name], func() { gone = true })
		})
		b.awaitMetadata(timeoutMs, func() bool { return gone && b.listedTopic(t.name) != t }, func(ok bool) {
			if !ok {
				done(errRequestTimedOut, "the topic is marked for deletion; its deletion did not finish within the request's timeout")
				return
			}
			done(errNone, "")
		})
	})
}

// markGone runs the waits on a deletion mark the watch saw go.
func (b *Broker) markGone(name string) {
	waits := b.markWaits[name]
	delete(b.markWaits, name)
	for _, w := range waits {
		w()
	}
	b.metadataChanged()
}

// growTopicTo adds partitions to t up to count (manual: the new
// partitions' replicas, or nil to place them as Kafka does), unless
// validateOnly, and waits up to timeoutMs for the cache to show them led.
func (b *Broker) growTopicTo(t *topic, count int32, manual [][]BrokerID, validateOnly bool, timeoutMs int32, done func(int16, string)) {
	b.coordRead(CoordOp{Kind: CoordGet, Path: zkTopics + t.name}, func(r CoordResult) {
		if r.Err != nil {
			done(errUnknownServer, "reading the topic's assignment failed: "+r.Err.Error())
			return
		}
		id, assignment, reassign, err := parseTopicZnodeFull(r.Data)
		if err != nil || id != t.id {
			done(errUnknownTopic, "")
			return
		}
		for _, ra := range reassign {
			if ra.active() {
				// As Kafka's ZkAdminManager.createPartitions: the write
				// would race the controller's reassignment writes.
				done(errReassignmentUnderway, fmt.Sprintf("A partition reassignment is in progress for the topic '%s'.", t.name))
				return
			}
		}
		cur := int32(len(assignment))
		if count <= cur {
			done(errInvalidPartitions, fmt.Sprintf("Topic currently has %d partitions, which is higher than the requested %d.", cur, count))
			return
		}
		rf := int32(len(assignment[0]))
		if code, msg := b.roomFor(int64(count-cur) * int64(rf)); code != errNone {
			done(code, msg)
			return
		}
		added := manual
		if manual != nil {
			if int32(len(manual)) != count-cur {
				done(errInvalidAssignment, fmt.Sprintf("Increasing the number of partitions by %d but %d assignments provided.", count-cur, len(manual)))
				return
			}
			if code, msg := b.checkAssignment(manual, rf); code != errNone {
				done(code, msg)
				return
			}
		} else {
			ids := make([]BrokerID, 0)
			for _, pl := range b.livePlaces() {
				ids = append(ids, pl.id)
			}
			start := max(0, slices.IndexFunc(ids, func(id BrokerID) bool { return id >= assignment[0][0] }))
			if added, err = assignReplicas(b.livePlaces(), count-cur, rf, start, start, int(cur)); err != nil {
				done(errInvalidReplication, err.Error())
				return
			}
		}
		if code, msg := b.checkRoom(added); code != errNone {
			done(code, msg)
			return
		}
		if validateOnly {
			done(errNone, "")
			return
		}
		all := append(slices.Clone(assignment), added...)
		op := CoordOp{Kind: CoordSet, Path: zkTopics + t.name, Data: topicZnodeData(t.id, all), Version: r.Stat.Version}
		b.coordWrite(op, func(err error) {
			switch {
			case errors.Is(err, ErrCoordBadVersion):
				b.growTopicTo(t, count, manual, validateOnly, timeoutMs, done) // changed meanwhile: judge again
				return
			case err != nil:
				done(errUnknownServer, "persisting topic metadata failed: "+err.Error())
				return
			case timeoutMs <= 0:
				done(errNone, "")
				return
			}
			b.awaitMetadata(timeoutMs, func() bool { return b.topics[t.name] == t && int32(len(t.parts)) >= count && t.led() },
				func(ok bool) {
					if !ok {
						done(errRequestTimedOut, "the new partitions got no leaders within the request's timeout")
						return
					}
					done(errNone, "")
				})
		})
	})
}

// replicaLists converts the wire's replica lists.
func replicaLists[A any](in []A, replicas func(A) []int32) [][]BrokerID {
	if len(in) == 0 {
		return nil
	}
	out := make([][]BrokerID, len(in))
	for i, a := range in {
		out[i] = brokerIDs(replicas(a))
	}
	return out
}

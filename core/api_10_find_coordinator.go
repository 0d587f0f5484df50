package core

import "github.com/twmb/franz-go/pkg/kmsg"

// FindCoordinator: v0-6
//
// Behavior:
//   - Needs Describe on the group (acl.go), else
//     GROUP_AUTHORIZATION_FAILED; a transaction key Describe on the
//     transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
//   - A group key (key type 0; v0 has only group keys) is coordinated by
//     the leader of the group's partition of __consumer_offsets, as this
//     broker's metadata says. The first request creates the topic
//     (offsets.topic.num.partitions, placed over the live brokers with
//     offsets.topic.replication.factor replicas, or one per live broker
//     if fewer are live, which the broker logs as a warning;
//     offsets.topic.segment.bytes, no retention: Kafka compacts it), and
//     the answer is COORDINATOR_NOT_AVAILABLE until it exists and while
//     the partition has no leader, as in Kafka.
//   - Transaction keys (type 1) get COORDINATOR_NOT_AVAILABLE: there is
//     no transaction coordinator. Share keys (type 2) get
//     INVALID_REQUEST, as from a broker without share groups (and before
//     v6); an unknown key type gets INVALID_REQUEST.
//   - v4+ answer each key of CoordinatorKeys; before v4 the one key is
//     answered at the top level, with an ErrorMessage from v1.

func (b *Broker) handleFindCoordinator(r Request) {
	req := r.Body.(*kmsg.FindCoordinatorRequest)
	ss := []*string{&req.CoordinatorKey}
	for i := range req.CoordinatorKeys {
		ss = append(ss, &req.CoordinatorKeys[i])
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	v := r.Header.Version
	if v < 4 {
		code, msg, ep := b.coordinatorFor(r, req.CoordinatorType, req.CoordinatorKey)
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = code, -1, "", -1
		if code == errNone {
			resp.NodeID, resp.Host, resp.Port = ep.id, ep.Host, ep.Port
		} else if msg != "" {
			resp.ErrorMessage = errMsg(msg)
		}
		b.respond(r, resp)
		return
	}
	for _, key := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		code, msg, ep := b.coordinatorFor(r, req.CoordinatorType, key)
		c.ErrorCode, c.NodeID, c.Host, c.Port = code, -1, "", -1
		if code == errNone {
			c.NodeID, c.Host, c.Port = ep.id, ep.Host, ep.Port
		} else if msg != "" {
			c.ErrorMessage = errMsg(msg)
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	b.respond(r, resp)
}

// coordinatorEndpoint is a coordinator's id and its endpoint on the
// request's listener.
type coordinatorEndpoint struct {
	id int32
	Endpoint
}

// coordinatorFor finds the broker that coordinates key of keyType, and
// its endpoint on listener (COORDINATOR_NOT_AVAILABLE when it has none,
// as Kafka answers).
func (b *Broker) coordinatorFor(r Request, keyType int8, key string) (int16, string, coordinatorEndpoint) {
	version, listener := r.Header.Version, r.Listener
	none := coordinatorEndpoint{}
	switch keyType {
	case 0:
		if !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, key) {
			return errGroupAuth, "", none
		}
		b.groups.ensureTopic()
		t := b.listedTopic(OffsetsTopic)
		if t == nil {
			return errCoordinatorNotAvailable, "the offsets topic is being created", none
		}
		p := t.parts[b.groups.partitionOf(key)]
		if p.leader == b.cfg.BrokerID && p.hosted() && p.offline {
			return errCoordinatorNotAvailable, "the group's offsets partition is offline", none
		}
		for _, lb := range b.brokers() {
			if lb.id != p.leader {
				continue
			}
			if ep, ok := lb.on(listener); ok {
				return errNone, "", coordinatorEndpoint{id: int32(lb.id), Endpoint: ep}
			}
			return errCoordinatorNotAvailable, "the coordinator has no endpoint on listener " + listener, none
		}
		return errCoordinatorNotAvailable, "the group's offsets partition has no leader", none
	case 1:
		if !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTransactionalId, key) {
			return errTxnalIDAuth, "", none
		}
		return errCoordinatorNotAvailable, "transactions are not supported", none
	case 2:
		if version < 6 {
			return errInvalidRequest, "share coordinators need FindCoordinator v6", none
		}
		return errInvalidRequest, "share groups are not supported", none
	}
	return errInvalidRequest, "unknown coordinator type", none
}

package core

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// ControlledShutdown: v2-3 (inter-broker: a broker about to stop asks the
// controller; brokers send v3)
//
// Behavior (Kafka's KafkaController.doControlledShutdown):
//   - Needs ClusterAction on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED and nothing changes.
//   - Only the active controller serves it: elsewhere NOT_CONTROLLER.
//   - The broker must be registered under /brokers/ids as the controller
//     last listed them (BROKER_NOT_AVAILABLE), at that registration's
//     broker epoch (STALE_BROKER_EPOCH). Only the coordination store tells
//     a broker's epoch, so this refuses a client that is not a broker, as
//     the broker epoch fences the controller's own requests (cluster.go).
//     Kafka refuses only an older epoch and takes -1 as unknown; here a
//     newer one is a registration the controller has not listed yet, and
//     the broker asks again after its backoff.
//   - Accepted, the broker is shutting down (Kafka's
//     shuttingDownBrokerIds) until its registration goes or a new one
//     replaces it: it is elected leader of no partition and joins no ISR
//     (controller_state.go). The answer lists the partitions it still
//     leads that have more than one replica, as Kafka's does
//     (partitionLeadersOnBroker), once the controller has written the
//     states that hand each of its leaderships to another in-sync replica
//     that is not shutting down and take it out of the ISRs of the
//     partitions it follows (ctlKeepLeader): what is left could not
//     move (no such replica). The new leader is told after the old one
//     took its demotion, so that the two never answer clients at once.
//     A partition with one replica stays with its broker, and goes
//     offline once it stopped.
//   - A request that arrives while the controller loads the topics, or
//     writes the partition states they call for, waits until it is done
//     (as Kafka's controller answers once its state changes are written),
//     for at most ctlShutdownWaitMs (REQUEST_TIMED_OUT after).
//   - v0 and v1 are not offered. They carry no broker epoch, so the
//     controller could not tell a broker from any client naming a
//     broker's id; only brokers older than Kafka 2.2 send them, and those
//     could not take this controller's LeaderAndIsr v7 anyway. (v0 also
//     has Kafka's request header without a client id, which
//     kio.DecodeRequest reads, so that it is refused as a version.)

// controlledShutdownVersion is the version a stopping broker sends.
const controlledShutdownVersion = 3

// ctlShutdownWaitMs bounds how long a ControlledShutdown waits for the
// controller to settle (ctlState.settled).
const ctlShutdownWaitMs = 5000

var (
	errNotController      = kerr.NotController.Code
	errBrokerNotAvailable = kerr.BrokerNotAvailable.Code
)

func (b *Broker) handleControlledShutdown(r Request) {
	if !b.authorizedCluster(r, kmsg.ACLOperationClusterAction) {
		resp := kmsg.NewPtrControlledShutdownResponse()
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	b.ctlControlledShutdown(r.Body.(*kmsg.ControlledShutdownRequest), func(resp *kmsg.ControlledShutdownResponse) { b.respond(r, resp) })
}

// ctlControlledShutdown judges a broker's request to shut down and
// passes the answer to done, once the controller has settled.
func (b *Broker) ctlControlledShutdown(req *kmsg.ControlledShutdownRequest, done func(*kmsg.ControlledShutdownResponse)) {
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	id := BrokerID(req.BrokerID)
	b.ctlWhenSettled(func(ok bool) {
		if !ok {
			resp.ErrorCode = errRequestTimedOut
			done(resp)
			return
		}
		if resp.ErrorCode = b.ctlShutdownBroker(id, req.BrokerEpoch); resp.ErrorCode != errNone {
			done(resp)
			return
		}
		// The states that move its leaderships away and take it out of
		// ISRs are written before the answer, as Kafka's controller
		// elects before it answers.
		b.ctlReconcile()
		b.ctlWhenSettled(func(ok bool) {
			if !ok {
				resp.ErrorCode = errRequestTimedOut
				done(resp)
				return
			}
			if b.ctlActive() == nil {
				resp.ErrorCode = errNotController // deposed meanwhile
				done(resp)
				return
			}
			resp.PartitionsRemaining = b.ctlLedBy(id)
			b.emit(Lifecycle{ShutdownAccepted: &ShutdownAccepted{Broker: id, Remaining: len(resp.PartitionsRemaining)}})
			done(resp)
		})
	})
}

// ctlWhenSettled runs k(true) once this broker's controller has loaded
// the store and written the states it called for (at once if it has, or
// if it is no controller), or k(false) after ctlShutdownWaitMs.
func (b *Broker) ctlWhenSettled(k func(bool)) {
	st := b.ctlActive()
	if st == nil || st.settled() {
		k(true)
		return
	}
	settled := func() bool { now := b.ctlActive(); return now != st || now.settled() }
	b.awaitMetadata(ctlShutdownWaitMs, settled, k)
}

// ctlShutdownBroker records broker id, at broker epoch, as shutting
// down, and returns the partitions it still leads that another replica
// could lead; or the error that refuses it.
func (b *Broker) ctlShutdownBroker(id BrokerID, epoch int64) int16 {
	st := b.ctlActive()
	if st == nil {
		return errNotController
	}
	lb, ok := b.live[id]
	switch {
	case !ok:
		return errBrokerNotAvailable
	case epoch != lb.epoch:
		return errStaleBrokerEpoch
	}
	st.ctlPeerFor(id, lb).shuttingDown = true
	b.cover(cover.ControlledShutdown)
	return errNone
}

// ctlLedBy lists the partitions with more than one replica that broker
// id leads, topics being deleted aside (Kafka's partitionLeadersOnBroker),
// in topic and partition order.
func (b *Broker) ctlLedBy(id BrokerID) []kmsg.ControlledShutdownResponsePartitionsRemaining {
	st := b.ctlActive()
	var out []kmsg.ControlledShutdownResponsePartitionsRemaining
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		for i, s := range ct.states {
			if s == nil || s.leader != id || len(ct.assignment[i]) < 2 {
				continue
			}
			rp := kmsg.NewControlledShutdownResponsePartitionsRemaining()
			rp.Topic, rp.Partition = name, int32(i)
			out = append(out, rp)
		}
	}
	return out
}

package core

import "github.com/twmb/franz-go/pkg/kmsg"

// LeaderAndIsr: v7 (inter-broker: the controller's own version)
//
// Behavior:
//   - Needs ClusterAction on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED and nothing changes.
//   - From the controller this broker knows (its id and epoch) to this
//     broker's current registration (its broker epoch); otherwise
//     STALE_CONTROLLER_EPOCH or STALE_BROKER_EPOCH and nothing changes
//     (see cluster.go).
//   - Each partition whose replicas include this broker is hosted here
//     (its log created if new) and led or followed as the state says; an
//     older state than the one taken is STALE_CONTROLLER_EPOCH, and a
//     partition not assigned to this broker UNKNOWN_TOPIC_OR_PARTITION.

func (b *Broker) handleLeaderAndIsr(r Request) {
	if !b.authorizedCluster(r, kmsg.ACLOperationClusterAction) {
		resp := kmsg.NewPtrLeaderAndISRResponse()
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	b.applyLeaderAndIsr(r.Body.(*kmsg.LeaderAndISRRequest), func(resp *kmsg.LeaderAndISRResponse) { b.respond(r, resp) })
}

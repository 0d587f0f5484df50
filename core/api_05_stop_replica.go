package core

import "github.com/twmb/franz-go/pkg/kmsg"

// StopReplica: v4 (inter-broker: the controller's own version)
//
// Behavior:
//   - Needs ClusterAction on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED and nothing changes.
//   - Fenced as LeaderAndIsr is.
//   - This broker stops leading each named partition it hosts, and with
//     Delete deletes its replica and log (a deleted topic).

func (b *Broker) handleStopReplica(r Request) {
	if !b.authorizedCluster(r, kmsg.ACLOperationClusterAction) {
		resp := kmsg.NewPtrStopReplicaResponse()
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	b.respond(r, b.applyStopReplica(r.Body.(*kmsg.StopReplicaRequest)))
}

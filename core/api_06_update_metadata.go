package core

import "github.com/twmb/franz-go/pkg/kmsg"

// UpdateMetadata: v8 (inter-broker: the controller's own version)
//
// Behavior:
//   - Needs ClusterAction on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED and nothing changes.
//   - Fenced as LeaderAndIsr is.
//   - The metadata cache takes each partition's leader, leader epoch,
//     replicas and ISR; a topic whose partitions are led by -2 is being
//     deleted and leaves Metadata. Waiting CreateTopics, CreatePartitions
//     and DeleteTopics answers see the change.

func (b *Broker) handleUpdateMetadata(r Request) {
	if !b.authorizedCluster(r, kmsg.ACLOperationClusterAction) {
		resp := kmsg.NewPtrUpdateMetadataResponse()
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	b.respond(r, b.applyUpdateMetadata(r.Body.(*kmsg.UpdateMetadataRequest)))
}

package core

import "github.com/twmb/franz-go/pkg/kmsg"

// ListPartitionReassignments: v0
//
// Behavior (Kafka's KafkaController.processListPartitionReassignments,
//   - Needs Describe on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED.
// ZooKeeper mode):
//   - Only the active controller serves it: elsewhere NOT_CONTROLLER, as
//     the top-level error.
//   - Null topics lists every partition being reassigned; otherwise the
//     named partitions that are (others, known or not, are left out).
//     Each shows its replicas (RS), adding and removing replicas, as the
//     topic znode records them, in topic and partition order.
//   - The answer waits while the controller loads the store or writes
//     states (so that it shows an AlterPartitionReassignments answered
//     before), up to TimeoutMillis (30 s when not positive); after it,
//     REQUEST_TIMED_OUT.

func (b *Broker) handleListPartitionReassignments(r Request) {
	req := r.Body.(*kmsg.ListPartitionReassignmentsRequest)
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !b.authorizedCluster(r, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	if b.ctlActive() == nil {
		resp.ErrorCode = errNotController
		b.respond(r, resp)
		return
	}
	b.ctlWhenIdle(b.now+Instant(int64(adminWaitMs(req.TimeoutMillis))*1e6), func(ok bool) {
		st := b.ctlActive()
		switch {
		case st == nil:
			resp.ErrorCode = errNotController
		case !ok:
			resp.ErrorCode = errRequestTimedOut
		default:
			resp.Topics = b.ctlListReassignments(req.Topics)
		}
		b.respond(r, resp)
	})
}

// ctlListReassignments lists the reassignments under way of the asked
// partitions (nil: all).
func (b *Broker) ctlListReassignments(asked []kmsg.ListPartitionReassignmentsRequestTopic) []kmsg.ListPartitionReassignmentsResponseTopic {
	st := b.ctlActive()
	want := func(string, int32) bool { return true }
	if asked != nil {
		set := map[TopicPartition]bool{}
		for _, t := range asked {
			for _, p := range t.Partitions {
				set[TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
		want = func(topic string, p int32) bool { return set[TopicPartition{Topic: topic, Partition: p}] }
	}
	var out []kmsg.ListPartitionReassignmentsResponseTopic
	for _, name := range sortedKeys(st.topics) {
		ct := st.topics[name]
		if st.deleting(ct) {
			continue
		}
		rt := kmsg.NewListPartitionReassignmentsResponseTopic()
		rt.Topic = name
		for i := range ct.assignment {
			if !ct.reassigning(i) || !want(name, int32(i)) {
				continue
			}
			rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			rp.Partition, rp.Replicas = int32(i), int32IDs(ct.assignment[i])
			rp.AddingReplicas, rp.RemovingReplicas = int32IDs(ct.reassign[i].adding), int32IDs(ct.reassign[i].removing)
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			out = append(out, rt)
		}
	}
	return out
}

package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// DescribeLogDirs: v0-4
//
// Behavior (Kafka's ReplicaManager.describeLogDirs):
//   - Needs Describe on the cluster (acl.go): else no directory, with
//     CLUSTER_AUTHORIZATION_FAILED from v3.
//   - One result for the broker's one log directory (log.dirs), named as
//     configured, with every replica this broker hosts there (leader or
//     follower) that the request asks for: null topics asks for all. A
//     topic with none of its partitions asked is left out.
//   - A partition's size is what the segment store measures of its .log
//     files (a Measure effect; segments below the log start that await
//     deletion not counted), its offset lag Kafka's: the high watermark
//     minus the log end offset, or 0 when that is negative (so a
//     follower behind its leader shows 0, as in Kafka). There are no
//     future replicas (is-future false: replicas do not move between
//     directories here).
//   - A replica whose log is offline after a storage error is left out
//     (Kafka takes the whole directory offline and answers
//     KAFKA_STORAGE_ERROR for it; here an error takes one partition
//     offline), as is one the store could not measure.
//   - v4's total and usable bytes are -1: the core does not see the file
//     system's space.
//   - Topics and partitions come in name and partition order.

func (b *Broker) handleDescribeLogDirs(r Request) {
	req := r.Body.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !b.authorizedCluster(r, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = errClusterAuth // v3+; before, an empty answer says it
		b.respond(r, resp)
		return
	}
	asked := func(TopicPartition) bool { return true }
	if req.Topics != nil {
		set := map[TopicPartition]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				set[TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
		asked = func(tp TopicPartition) bool { return set[tp] }
	}
	// sizes[i] is parts[i]'s size, -1 when it could not be measured
	var parts []*partition
	var sizes []int64
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			resp.Dirs = []kmsg.DescribeLogDirsResponseDir{b.logDirResult(parts, sizes)}
			b.respond(r, resp)
		}
	}
	for _, name := range b.topicNames() {
		for _, p := range b.topics[name].parts {
			if !p.hosted() || p.offline || p.deleted || !asked(p.tp) {
				continue
			}
			slot := len(parts)
			parts, sizes = append(parts, p), append(sizes, -1)
			pending++
			tok := awaitFor(b.step, func(ev Measured) {
				if ev.Err == nil {
					sizes[slot] = ev.Bytes
				}
				finish()
			})
			b.emit(Measure{Token: tok, Partition: p.tp})
		}
	}
	finish()
}

// logDirResult describes the log directory holding parts, measured as
// sizes (topic and partition order, as parts come).
func (b *Broker) logDirResult(parts []*partition, sizes []int64) kmsg.DescribeLogDirsResponseDir {
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = b.cfg.LogDirs[0]
	for i, p := range parts {
		if sizes[i] < 0 || !p.hosted() || p.deleted || p.offline {
			continue
		}
		if n := len(dir.Topics); n == 0 || dir.Topics[n-1].Topic != p.tp.Topic {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = p.tp.Topic
			dir.Topics = append(dir.Topics, t)
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition, dp.Size, dp.OffsetLag = p.tp.Partition, sizes[i], int64(max(p.hwm-p.leo, 0))
		t := &dir.Topics[len(dir.Topics)-1]
		t.Partitions = append(t.Partitions, dp)
		b.cover(cover.LogDirsDescribed)
	}
	return dir
}

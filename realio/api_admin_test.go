package realio

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Operations and admin APIs against one broker on its embedded
// coordinator, which is its own controller. (Moves between brokers are
// tested on a cluster: core/admin_test.go, cmd/cloudkafka/e2e_admin_test.go.)

func init() {
	versionCases[35] = versionCase{0, 4, testDescribeLogDirs}
	versionCases[43] = versionCase{0, 2, testElectLeaders}
	versionCases[45] = versionCase{0, 0, testAlterPartitionReassignments}
	versionCases[46] = versionCase{0, 0, testListPartitionReassignments}
}

// ---- DescribeLogDirs (35) ----

// testDescribeLogDirs: the log directory with each partition's size as
// its .log files hold it.
func testDescribeLogDirs(t *testing.T, v int16) {
	dir := t.TempDir()
	b := startBroker(t, map[string]string{"log.dirs": dir})
	c := b.dial(t)
	createTopic(t, c, "ld", 2, nil)
	raw := plainBatch("ld", 3).bytes()
	mustProduce(t, c, 9, "ld", 1, raw)
	resp := call[*kmsg.DescribeLogDirsResponse](t, c, v, kmsg.NewPtrDescribeLogDirsRequest())
	if len(resp.Dirs) != 1 || resp.Dirs[0].Dir != dir || resp.Dirs[0].ErrorCode != 0 {
		t.Fatalf("DescribeLogDirs v%d: got %+v; want one directory %s without error", v, resp.Dirs, dir)
	}
	got := ""
	for _, tp := range resp.Dirs[0].Topics {
		for _, p := range tp.Partitions {
			got += fmt.Sprintf("%s-%d:%d:%d ", tp.Topic, p.Partition, p.Size, p.OffsetLag)
		}
	}
	if want := fmt.Sprintf("ld-0:0:0 ld-1:%d:0 ", len(raw)); got != want {
		t.Errorf("DescribeLogDirs v%d partitions (topic-p:size:lag): got %q; want %q", v, got, want)
	}
}

// ---- ElectLeaders (43) ----

// testElectLeaders: the broker's one replica leads already
// (ELECTION_NOT_NEEDED; left out for null topics); an unknown partition
// is UNKNOWN_TOPIC_OR_PARTITION.
func testElectLeaders(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "el", 1, nil)
	req := kmsg.NewPtrElectLeadersRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewElectLeadersRequestTopic()
	rt.Topic, rt.Partitions = "el", []int32{0, 3}
	req.Topics = append(req.Topics, rt)
	resp := call[*kmsg.ElectLeadersResponse](t, c, v, req)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("ElectLeaders v%d: got %+v; want el-0 and el-3", v, resp.Topics)
	}
	ps := resp.Topics[0].Partitions
	checkCode(t, "el-0", ps[0].ErrorCode, kerr.ElectionNotNeeded.Code)
	checkCode(t, "el-3", ps[1].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	all := kmsg.NewPtrElectLeadersRequest()
	all.TimeoutMillis = 5000
	if resp := call[*kmsg.ElectLeadersResponse](t, c, v, all); len(resp.Topics) != 0 {
		t.Errorf("ElectLeaders v%d null topics: got %+v; want nothing (no election needed)", v, resp.Topics)
	}
}

// ---- AlterPartitionReassignments (45) ----

// testAlterPartitionReassignments: Kafka's refusals, and a target equal
// to the current replicas, which changes nothing.
func testAlterPartitionReassignments(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"broker.id": "1"})
	c := b.dial(t)
	createTopic(t, c, "ra", 3, nil)
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = "ra"
	for _, rs := range [][]int32{{1}, {5}, nil} {
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = int32(len(rt.Partitions)), rs
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := call[*kmsg.AlterPartitionAssignmentsResponse](t, c, v, req)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 3 {
		t.Fatalf("AlterPartitionReassignments v%d: got %+v; want three partitions' answers", v, resp)
	}
	ps := resp.Topics[0].Partitions
	checkCode(t, "ra-0 to [1] (unchanged)", ps[0].ErrorCode, 0)
	checkCode(t, "ra-1 to [5] (no such broker)", ps[1].ErrorCode, kerr.InvalidReplicaAssignment.Code)
	checkCode(t, "ra-2 cancelled (none under way)", ps[2].ErrorCode, kerr.NoReassignmentInProgress.Code)
}

// ---- ListPartitionReassignments (46) ----

// testListPartitionReassignments: nothing is being reassigned.
func testListPartitionReassignments(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "rl", 1, nil)
	resp := call[*kmsg.ListPartitionReassignmentsResponse](t, c, v, kmsg.NewPtrListPartitionReassignmentsRequest())
	if resp.ErrorCode != 0 || len(resp.Topics) != 0 {
		t.Errorf("ListPartitionReassignments v%d: got error %d, %+v; want none", v, resp.ErrorCode, resp.Topics)
	}
}

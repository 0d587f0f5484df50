package main

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// roundOf is a round whose single broker produced 1000 records in one
// second and whose cluster produced them in clusterMs milliseconds.
func roundOf(clusterMs int) replicationRound {
	c := cell{size: 1024, records: 1000}
	return replicationRound{
		single:  result{cell: c, produceElapsed: time.Second, consumeElapsed: time.Second},
		cluster: result{cell: c, produceElapsed: time.Duration(clusterMs) * time.Millisecond, consumeElapsed: 2 * time.Second},
	}
}

func TestMedianRatio(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clusterMs []int
		want      float64
	}{
		{"none", nil, 0},
		{"one", []int{2000}, 0.5},
		{"odd count takes the middle", []int{4000, 1000, 2000}, 0.5},
		{"even count averages the middle two", []int{4000, 1000, 2000, 5000}, (0.25 + 0.5) / 2},
	} {
		var rounds []replicationRound
		for _, ms := range tc.clusterMs {
			rounds = append(rounds, roundOf(ms))
		}
		if got := medianRatio(rounds); got != tc.want {
			t.Errorf("%s: medianRatio = %v; want %v", tc.name, got, tc.want)
		}
	}
	if got := roundOf(4000).consumeRatio(); got != 0.5 {
		t.Errorf("consumeRatio = %v; want 0.5", got)
	}
}

func TestReplicationCells(t *testing.T) {
	single, cluster := replicationCells(options{replicationRecords: 1234})
	want := cell{size: 1024, acks: "all", partitions: 6, records: 1234}
	if single != want {
		t.Errorf("single cell = %+v; want %+v", single, want)
	}
	want.replicas, want.minISR = 3, 2
	if cluster != want {
		t.Errorf("cluster cell = %+v; want %+v", cluster, want)
	}
	if got := cluster.String(); !strings.HasSuffix(got, " rf=3 min.insync=2") {
		t.Errorf("cluster cell String() = %q; want it to end in rf=3 min.insync=2", got)
	}
}

func TestReplicated(t *testing.T) {
	c := cell{partitions: 2, replicas: 3}
	md := func(errCode int16, parts ...kmsg.MetadataResponseTopicPartition) *kmsg.MetadataResponse {
		resp := kmsg.NewPtrMetadataResponse()
		tp := kmsg.NewMetadataResponseTopic()
		tp.ErrorCode, tp.Partitions = errCode, parts
		resp.Topics = append(resp.Topics, tp)
		return resp
	}
	part := func(p, leader int32, isr ...int32) kmsg.MetadataResponseTopicPartition {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.ISR = p, leader, isr
		return mp
	}
	for _, tc := range []struct {
		name string
		resp *kmsg.MetadataResponse
		want bool
	}{
		{"no topics", kmsg.NewPtrMetadataResponse(), false},
		{"unknown topic", md(3), false},
		{"one of two partitions", md(0, part(0, 1, 1, 2, 3)), false},
		{"no leader", md(0, part(0, 1, 1, 2, 3), part(1, -1, 1, 2, 3)), false},
		{"ISR short", md(0, part(0, 1, 1, 2, 3), part(1, 2, 2, 3)), false},
		{"ready", md(0, part(0, 1, 1, 2, 3), part(1, 2, 2, 3, 1)), true},
	} {
		got, why := replicated(tc.resp, c)
		if got != tc.want || got != (why == "") {
			t.Errorf("%s: replicated = %v, %q; want %v, with a reason only when false", tc.name, got, why, tc.want)
		}
	}
}

func TestParseReplicationFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.runs(suiteReplication) || o.replicationRecords != 200000 || o.replicationRounds != 3 {
		t.Errorf("defaults: suites %v, records %d, rounds %d; want replication among the suites, 200000, 3",
			o.suites, o.replicationRecords, o.replicationRounds)
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-suites", "replication", "-replication-records", "1000", "-replication-rounds", "1"}, true},
		{[]string{"-suites", "replicaton"}, false},
		{[]string{"-replication-records", "3"}, false},
		{[]string{"-replication-rounds", "0"}, false},
		{[]string{"-replication-rounds", "101"}, false},
	} {
		if _, err := parseFlags(tc.args); (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err = %v; want ok = %v", tc.args, err, tc.ok)
		}
	}
}

func TestZooKeeperConfigBindsLoopback(t *testing.T) {
	cfg := zooKeeperConfig("2181", "/tmp/zk")
	for _, line := range []string{"clientPortAddress=127.0.0.1", "clientPort=2181", "dataDir=/tmp/zk"} {
		if !strings.Contains(cfg, line+"\n") {
			t.Errorf("zooKeeperConfig: got\n%s\nwant a line %q", cfg, line)
		}
	}
}

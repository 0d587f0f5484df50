package core_test

import (
	"slices"
	"testing"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// TestUncleanElection: a partition whose ISR holds only a broker that is
// gone stays offline with unclean.leader.election.enable false (the
// default), keeping that broker as its ISR; with it true (a topic
// config), a live replica outside the ISR leads, alone in the ISR, at a
// new leader epoch, and the election is reported for the log.
func TestUncleanElection(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	s2, s3 := h.coord.OpenSession(), h.coord.OpenSession()
	h.register(s2, 2)
	h.register(s3, 3)
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/config/topics/lossy", Parents: true,
		Data: []byte(`{"version":1,"config":{"unclean.leader.election.enable":"true"}}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.writeTopic("clean", 1, map[string][]int{"0": {2, 3}})
	h.writeTopic("lossy", 2, map[string][]int{"0": {2, 3}})
	for _, name := range []string{"clean", "lossy"} {
		if leader, isr, _ := h.partitionState(name, 0); leader != 2 || !slices.Equal(isr, []int32{2, 3}) {
			t.Fatalf("%s-0 created: leader %d, ISR %v; want 2, [2 3]", name, leader, isr)
		}
		// broker 2, leading, shrinks the ISR to itself (broker 3 fell behind)
		path := "/brokers/topics/" + name + "/partitions/0/state"
		get, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: path})
		res, fired := h.coord.Apply(s2, core.CoordOp{Kind: core.CoordSet, Path: path, Version: get.Stat.Version,
			Data: []byte(`{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":0,"isr":[2]}`)})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		h.deliverWatches(fired)
	}
	h.deliverAll()
	if n := counts.Of(cover.UncleanElection); n != 0 {
		t.Fatalf("unclean elections before broker 2 went: %d", n)
	}
	h.deliverWatches(h.coord.CloseSession(s2))
	h.deliverAll()
	if leader, isr, _ := h.partitionState("clean", 0); leader != -1 || !slices.Equal(isr, []int32{2}) {
		t.Errorf("clean-0 after its only ISR member went: leader %d, ISR %v; want -1 (offline), [2]", leader, isr)
	}
	if leader, isr, _ := h.partitionState("lossy", 0); leader != 3 || !slices.Equal(isr, []int32{3}) {
		t.Errorf("lossy-0 (unclean.leader.election.enable=true) after its only ISR member went: leader %d, ISR %v; want 3, [3]", leader, isr)
	}
	if n := counts.Of(cover.UncleanElection); n != 1 {
		t.Errorf("unclean elections: %d; want 1", n)
	}
	var reports []core.UncleanElection
	for _, l := range h.lifecycles {
		if l.UncleanElection != nil {
			reports = append(reports, *l.UncleanElection)
		}
	}
	want := core.UncleanElection{Partition: core.TopicPartition{Topic: "lossy", Partition: 0}, Leader: 3, LeaderEpoch: 1, ISR: []core.BrokerID{2}}
	if len(reports) != 1 || reports[0].Partition != want.Partition || reports[0].Leader != 3 || !slices.Equal(reports[0].ISR, want.ISR) {
		t.Errorf("unclean elections reported (to be logged): %+v; want one, %+v", reports, want)
	}
}

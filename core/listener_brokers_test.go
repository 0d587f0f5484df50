package core_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// askOn issues a request at version v that came in on listener, and
// returns its response once every completion is delivered.
func (h *harness) askOn(listener string, v int16, req kmsg.Request) kmsg.Response {
	h.t.Helper()
	seq := h.sendOn(listener, 1, v, req)
	h.deliverAll()
	return h.mustResponse(seq)
}

// registerWith creates broker id's registration on a session of its own
// with the given advertised endpoints (Kafka's version 5 document).
func (h *harness) registerWith(id int, endpoints ...string) {
	h.t.Helper()
	eps := ""
	for i, e := range endpoints {
		if i > 0 {
			eps += ","
		}
		eps += fmt.Sprintf("%q", e)
	}
	doc := fmt.Sprintf(`{"version":5,"host":"peer-%d","port":9002,"endpoints":[%s],"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","SSL":"SSL"},"jmx_port":-1}`, id, eps)
	res, fired := h.coord.Apply(h.coord.OpenSession(), core.CoordOp{Kind: core.CoordCreate, Path: fmt.Sprintf("/brokers/ids/%d", id), Data: []byte(doc), Ephemeral: true})
	if res.Err != nil {
		h.t.Fatalf("registering broker %d: %v", id, res.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll()
}

// TestListenerLeavesOutBrokers: with brokers 2 (PLAINTEXT only) and 3
// (PLAINTEXT and SSL) registered beside broker 1, a request that came in
// on SSL is answered with each broker's SSL endpoint, and broker 2, live
// but without one, is left out as Kafka's metadata cache leaves it out:
// Metadata and DescribeCluster do not list it; a partition it leads has
// no leader on SSL (LISTENER_NOT_FOUND from Metadata v6, before that
// LEADER_NOT_AVAILABLE); a group it coordinates gets
// COORDINATOR_NOT_AVAILABLE. On PLAINTEXT all three are answered.
func TestListenerLeavesOutBrokers(t *testing.T) {
	h, _ := clusterHarness(t, with(pemSSL, "listeners", "PLAINTEXT://broker-1:9092,SSL://broker-1:9093",
		"offsets.topic.num.partitions", "2", "offsets.topic.replication.factor", "1"))
	h.registerWith(2, "PLAINTEXT://peer-2:9002")
	h.registerWith(3, "PLAINTEXT://peer-3:9002", "SSL://peer-3:9003")
	h.writeTopic("t", 1, map[string][]int{"0": {2}, "1": {3}})
	h.writeTopic(core.OffsetsTopic, 2, map[string][]int{"0": {2}, "1": {3}})
	for p, want := range []int32{2, 3} {
		if leader, _, _ := h.partitionState("t", p); leader != want {
			t.Fatalf("t-%d: leader %d; want %d", p, leader, want)
		}
	}

	type endpoint struct {
		id   int32
		host string
		port int32
	}
	all := []endpoint{{1, "broker-1", 9092}, {2, "peer-2", 9002}, {3, "peer-3", 9002}}
	ssl := []endpoint{{1, "broker-1", 9093}, {3, "peer-3", 9003}}
	for _, tt := range []struct {
		listener string
		brokers  []endpoint
	}{{"PLAINTEXT", all}, {"SSL", ssl}} {
		md := h.askOn(tt.listener, 12, kmsg.NewPtrMetadataRequest()).(*kmsg.MetadataResponse)
		var got []endpoint
		for _, br := range md.Brokers {
			got = append(got, endpoint{br.NodeID, br.Host, br.Port})
		}
		if !slices.Equal(got, tt.brokers) {
			t.Errorf("Metadata on %s: got brokers %v; want %v", tt.listener, got, tt.brokers)
		}
		dc := h.askOn(tt.listener, 0, kmsg.NewPtrDescribeClusterRequest()).(*kmsg.DescribeClusterResponse)
		got = nil
		for _, br := range dc.Brokers {
			got = append(got, endpoint{br.NodeID, br.Host, br.Port})
		}
		if !slices.Equal(got, tt.brokers) {
			t.Errorf("DescribeCluster on %s: got brokers %v; want %v", tt.listener, got, tt.brokers)
		}
	}

	// t-0 is led by broker 2, t-1 by broker 3.
	leaders := func(listener string, v int16) (out []string) {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("t")
		req.Topics = append(req.Topics, rt)
		md := h.askOn(listener, v, req).(*kmsg.MetadataResponse)
		for _, p := range md.Topics[0].Partitions {
			out = append(out, fmt.Sprintf("%d:%d:%s", p.Partition, p.Leader, codeName(p.ErrorCode)))
		}
		slices.Sort(out)
		return out
	}
	noListener, noLeader := kerr.ListenerNotFound.Message, kerr.LeaderNotAvailable.Message
	for _, tt := range []struct {
		listener string
		v        int16
		want     []string
	}{
		{"PLAINTEXT", 12, []string{"0:2:NONE", "1:3:NONE"}},
		{"SSL", 12, []string{"0:-1:" + noListener, "1:3:NONE"}},
		{"SSL", 6, []string{"0:-1:" + noListener, "1:3:NONE"}},
		{"SSL", 5, []string{"0:-1:" + noLeader, "1:3:NONE"}},
	} {
		if got := leaders(tt.listener, tt.v); !slices.Equal(got, tt.want) {
			t.Errorf("Metadata v%d on %s: got partitions (partition:leader:error) %v; want %v", tt.v, tt.listener, got, tt.want)
		}
	}

	// Group "b" hashes to __consumer_offsets-0 (broker 2's), "a" to
	// partition 1 (broker 3's): Java's String.hashCode is 98 and 97.
	coordinator := func(listener, group string) string {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKeys = []string{group}
		c := h.askOn(listener, 4, req).(*kmsg.FindCoordinatorResponse).Coordinators[0]
		return fmt.Sprintf("%d %s:%d %s", c.NodeID, c.Host, c.Port, codeName(c.ErrorCode))
	}
	for _, tt := range []struct{ listener, group, want string }{
		{"PLAINTEXT", "b", "2 peer-2:9002 NONE"},
		{"PLAINTEXT", "a", "3 peer-3:9002 NONE"},
		{"SSL", "b", "-1 :-1 " + kerr.CoordinatorNotAvailable.Message},
		{"SSL", "a", "3 peer-3:9003 NONE"},
	} {
		if got := coordinator(tt.listener, tt.group); got != tt.want {
			t.Errorf("FindCoordinator for group %q on %s: got %s; want %s", tt.group, tt.listener, got, tt.want)
		}
	}
}

package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { versionCases[60] = versionCase{0, 1, testDescribeCluster} }

// ---- DescribeCluster (60) ----

// testDescribeCluster: the cluster id Metadata gives, this broker as the
// controller, and the live brokers with their racks; v1 refuses endpoint
// types other than brokers with Kafka's KIP-919 errors.
func testDescribeCluster(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"broker.id": "3", "broker.rack": "r9"})
	c := b.dial(t)
	md := call[*kmsg.MetadataResponse](t, c, 12, kmsg.NewPtrMetadataRequest())
	resp := call[*kmsg.DescribeClusterResponse](t, c, v, kmsg.NewPtrDescribeClusterRequest())
	if resp.ErrorCode != 0 || md.ClusterID == nil || resp.ClusterID != *md.ClusterID || resp.ControllerID != 3 {
		t.Fatalf("DescribeCluster v%d: got error %d, cluster %q, controller %d; want 0, Metadata's %v, 3", v, resp.ErrorCode, resp.ClusterID, resp.ControllerID, md.ClusterID)
	}
	if len(resp.Brokers) != 1 {
		t.Fatalf("DescribeCluster v%d: got %d brokers; want this one", v, len(resp.Brokers))
	}
	br := resp.Brokers[0]
	if br.NodeID != 3 || br.Host != "127.0.0.1" || br.Port != b.port || br.Rack == nil || *br.Rack != "r9" {
		t.Errorf("DescribeCluster v%d broker: got %d at %s:%d rack %v; want 3 at 127.0.0.1:%d rack r9", v, br.NodeID, br.Host, br.Port, br.Rack, b.port)
	}
	if resp.ClusterAuthorizedOperations != -2147483648 {
		t.Errorf("DescribeCluster v%d: authorized operations %d; want -2147483648", v, resp.ClusterAuthorizedOperations)
	}
	if mb := md.Brokers; len(mb) != 1 || mb[0].Rack == nil || *mb[0].Rack != "r9" {
		t.Errorf("Metadata v12 brokers: got %+v; want this broker with rack r9", mb)
	}
	if v < 1 {
		return
	}
	for _, tc := range []struct {
		endpoint int8
		code     int16
	}{{2, 114}, {7, 115}} { // MISMATCHED_ENDPOINT_TYPE, UNSUPPORTED_ENDPOINT_TYPE
		req := kmsg.NewPtrDescribeClusterRequest()
		req.EndpointType = tc.endpoint
		if got := call[*kmsg.DescribeClusterResponse](t, c, v, req); got.ErrorCode != tc.code || len(got.Brokers) != 0 {
			t.Errorf("DescribeCluster v%d with endpoint type %d: got error %d, %d brokers; want %d, none", v, tc.endpoint, got.ErrorCode, len(got.Brokers), tc.code)
		}
	}
}

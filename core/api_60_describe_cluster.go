package core

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster: v0-1
//
// Behavior:
//   - The cluster id, the controller (as Metadata says; -1 when it is not
//     among the brokers listed) and
//     the live brokers registered under /brokers/ids, with their racks
//     and their endpoints on the request's listener (those without it
//     left out, as Metadata).
//   - v1's EndpointType must be 1 (brokers): 2 (controllers, a KRaft
//     notion) gets MISMATCHED_ENDPOINT_TYPE and any other
//     UNSUPPORTED_ENDPOINT_TYPE, as Kafka's brokers answer.
//   - Authorized operations, when asked, are the principal's on the
//     cluster if it may describe the cluster (every supported one
//     without an authorizer), else 0; not asked, "not requested"
//     (-2147483648), as Kafka answers.

// Kafka's error codes of KIP-919 (not in kerr).
const (
	errMismatchedEndpointType  int16 = 114
	errUnsupportedEndpointType int16 = 115
)

func (b *Broker) handleDescribeCluster(r Request) {
	req := r.Body.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID, resp.ControllerID, resp.ClusterAuthorizedOperations = b.clusterID, -1, -2147483648
	resp.EndpointType = 1
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = 0
		if b.authorizedCluster(r, kmsg.ACLOperationDescribe) {
			resp.ClusterAuthorizedOperations = b.authorizedOperations(r, kmsg.ACLResourceTypeCluster, clusterResource)
		}
	}
	if r.Header.Version >= 1 && req.EndpointType != 1 {
		resp.ErrorCode = errUnsupportedEndpointType
		if req.EndpointType == 2 {
			resp.ErrorCode = errMismatchedEndpointType
		}
		resp.ErrorMessage = errMsg(fmt.Sprintf("endpoint type %d: this is a broker endpoint (type 1)", req.EndpointType))
		b.respond(r, resp)
		return
	}
	for _, lb := range b.brokers() {
		ep, ok := lb.on(r.Listener)
		if !ok {
			continue // not reachable on this listener, as Metadata
		}
		if int32(lb.id) == b.controllerID() {
			resp.ControllerID = b.controllerID() // -1 unless listed, as Kafka answers
		}
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port = int32(lb.id), ep.Host, ep.Port
		if lb.rack != "" {
			br.Rack = kmsg.StringPtr(lb.rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	b.respond(r, resp)
}

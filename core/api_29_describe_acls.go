package core

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeAcls: v0-3
//
// Behavior (Kafka's AclApis.handleDescribeAcls):
//   - Needs Describe on the cluster: else CLUSTER_AUTHORIZATION_FAILED.
//   - Without an authorizer: SECURITY_DISABLED.
//   - A filter with an unknown element (or, at v0, a pattern type other
//     than LITERAL) is INVALID_REQUEST.
//   - The cached bindings the filter matches, grouped by resource
//     pattern (sorted by type, pattern type and name; entries sorted).

func (b *Broker) handleDescribeAcls(r Request) {
	req := r.Body.(*kmsg.DescribeACLsRequest)
	resp := kmsg.NewPtrDescribeACLsResponse()
	f := aclFilter{Type: req.ResourceType, Pattern: req.ResourcePatternType, Name: req.ResourceName, Principal: req.Principal,
		Host: req.Host, Operation: req.Operation, Permission: req.PermissionType}
	if req.Version == 0 {
		f.Pattern = kmsg.ACLResourcePatternTypeLiteral
	}
	switch {
	case !b.authorizedCluster(r, kmsg.ACLOperationDescribe):
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
	case !b.cfg.ACL.Enabled:
		resp.ErrorCode, resp.ErrorMessage = kerr.SecurityDisabled.Code, errMsg("No Authorizer is configured on the broker")
	case f.invalid() != "":
		resp.ErrorCode, resp.ErrorMessage = kerr.InvalidRequest.Code, errMsg("The filter has an unknown "+f.invalid())
	default:
		for _, res := range b.aclResources() {
			if !f.matchesResource(res) {
				continue
			}
			out := kmsg.NewDescribeACLsResponseResource()
			out.ResourceType, out.ResourceName, out.ResourcePatternType = res.Type, res.Name, res.Pattern
			for _, e := range b.acl.resources[res] {
				if f.matchesEntry(e) {
					a := kmsg.NewDescribeACLsResponseResourceACL()
					a.Principal, a.Host, a.Operation, a.PermissionType = e.Principal, e.Host, e.Operation, e.Permission
					out.ACLs = append(out.ACLs, a)
				}
			}
			if len(out.ACLs) > 0 {
				resp.Resources = append(resp.Resources, out)
			}
		}
	}
	b.respond(r, resp)
}

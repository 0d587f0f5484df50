package core

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateAcls: v0-3
//
// Behavior (Kafka's AclApis.handleCreateAcls and AclAuthorizer.createAcls):
//   - Needs Alter on the cluster: else every creation gets
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Without an authorizer: SECURITY_DISABLED for every creation.
//   - A creation is INVALID_REQUEST when an element is unknown or a
//     filter value (ANY, MATCH), the name is empty or holds "/", a
//     cluster resource is not named kafka-cluster, the principal is not
//     "<type>:<name>", or (v0) the pattern type is not LITERAL.
//   - The valid creations are added per resource pattern, each with a
//     conditional write retried when another broker wrote first; then
//     the other brokers are notified. Adding an existing binding
//     succeeds and changes nothing.
//   - Beyond authorizer.acl.bindings.max bindings, stored or being
//     added by creations in flight, the creations that would add new
//     ones get POLICY_VIOLATION.
//   - The answer leaves once every write is done: this broker already
//     enforces the new bindings.

func (b *Broker) handleCreateAcls(r Request) {
	req := r.Body.(*kmsg.CreateACLsRequest)
	resp := kmsg.NewPtrCreateACLsResponse()
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	fail := func(i int, code int16, msg string) {
		resp.Results[i] = kmsg.NewCreateACLsResponseResult()
		resp.Results[i].ErrorCode = code
		if msg != "" {
			resp.Results[i].ErrorMessage = errMsg(msg)
		}
	}
	clusterOK := b.authorizedCluster(r, kmsg.ACLOperationAlter)
	byResource := map[aclResource][]int{}
	var order []aclResource
	for i, c := range req.Creations {
		pattern := c.ResourcePatternType
		if req.Version == 0 {
			pattern = kmsg.ACLResourcePatternTypeLiteral
		}
		res := aclResource{Type: c.ResourceType, Pattern: pattern, Name: c.ResourceName}
		switch {
		case !clusterOK:
			fail(i, kerr.ClusterAuthorizationFailed.Code, "")
		case !b.cfg.ACL.Enabled:
			fail(i, kerr.SecurityDisabled.Code, "No Authorizer is configured.")
		default:
			if why := invalidCreation(res, c); why != "" {
				fail(i, kerr.InvalidRequest.Code, "Failed to create ACL: "+why)
				continue
			}
			if _, ok := byResource[res]; !ok {
				order = append(order, res)
			}
			byResource[res] = append(byResource[res], i)
		}
	}
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for _, res := range order {
		idx := byResource[res]
		pending++
		var refused []int
		added := 0 // the bindings this pattern's change reserved
		b.updateACLs(res, func(current []aclEntry) []aclEntry {
			refused = refused[:0]
			b.acl.reserved -= added // a retry computes the change anew
			added = 0
			room := b.cfg.ACL.BindingsMax - b.acl.count - b.acl.reserved
			for _, i := range idx {
				c := req.Creations[i]
				e := aclEntry{Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType}
				if slices.Contains(current, e) {
					continue
				}
				if room <= 0 {
					refused = append(refused, i)
					continue
				}
				room--
				added++
				current = append(current, e)
			}
			b.acl.reserved += added
			return current
		}, func(_, _ []aclEntry, err error) {
			b.acl.reserved -= added
			added = 0
			for _, i := range idx {
				switch {
				case err != nil:
					fail(i, kerr.UnknownServerError.Code, "writing the ACLs: "+err.Error())
				case slices.Contains(refused, i):
					fail(i, kerr.PolicyViolation.Code, fmt.Sprintf("authorizer.acl.bindings.max (%d) bindings are stored", b.cfg.ACL.BindingsMax))
				default:
					resp.Results[i] = kmsg.NewCreateACLsResponseResult()
				}
			}
			finish()
		})
	}
	finish()
}

// invalidCreation says why a creation cannot be a binding, or "".
func invalidCreation(res aclResource, c kmsg.CreateACLsRequestCreation) string {
	switch {
	case res.Type <= kmsg.ACLResourceTypeAny || res.Type > kmsg.ACLResourceTypeUser:
		return "invalid resource type " + res.Type.String()
	case res.Pattern != kmsg.ACLResourcePatternTypeLiteral && res.Pattern != kmsg.ACLResourcePatternTypePrefixed:
		return "invalid pattern type " + res.Pattern.String()
	case c.Operation <= kmsg.ACLOperationAny || c.Operation > kmsg.ACLOperationDescribeTokens:
		return "invalid operation " + c.Operation.String()
	case c.PermissionType != kmsg.ACLPermissionTypeAllow && c.PermissionType != kmsg.ACLPermissionTypeDeny:
		return "invalid permission type " + c.PermissionType.String()
	case res.Name == "":
		return "Invalid empty resource name"
	case strings.Contains(res.Name, "/"):
		return "ACL binding contains invalid resource name: " + res.Name
	case res.Type == kmsg.ACLResourceTypeCluster && res.Name != clusterResource:
		return "The only valid name for the CLUSTER resource is " + clusterResource
	case checkPrincipal(c.Principal) != nil:
		return checkPrincipal(c.Principal).Error()
	}
	return ""
}

package core

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteAcls: v0-3
//
// Behavior (Kafka's AclApis.handleDeleteAcls and AclAuthorizer.deleteAcls):
//   - Needs Alter on the cluster: else every filter's result is
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Without an authorizer: SECURITY_DISABLED for every filter.
//   - A filter with an unknown element (or, at v0, a pattern type
//     other than LITERAL) is INVALID_REQUEST.
//   - The resource patterns considered are the cached ones the filters
//     match, plus the one a filter names exactly (so that a binding
//     another broker just created is deleted too). Each is rewritten
//     once, conditionally, without the entries any filter matches; each
//     deleted binding is reported under the first filter that matched
//     it (sorted by resource pattern, then entry). A pattern whose
//     write failed gives each filter matching it UNKNOWN_SERVER_ERROR.
//   - The answer leaves once every write is done: this broker already
//     enforces the change.

func (b *Broker) handleDeleteAcls(r Request) {
	req := r.Body.(*kmsg.DeleteACLsRequest)
	resp := kmsg.NewPtrDeleteACLsResponse()
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	for i := range resp.Results {
		resp.Results[i] = kmsg.NewDeleteACLsResponseResult()
	}
	clusterOK := b.authorizedCluster(r, kmsg.ACLOperationAlter)
	var filters []aclFilter
	var filterIdx []int
	for i, rf := range req.Filters {
		f := aclFilter{Type: rf.ResourceType, Pattern: rf.ResourcePatternType, Name: rf.ResourceName, Principal: rf.Principal,
			Host: rf.Host, Operation: rf.Operation, Permission: rf.PermissionType}
		if req.Version == 0 {
			f.Pattern = kmsg.ACLResourcePatternTypeLiteral
		}
		res := &resp.Results[i]
		switch {
		case !clusterOK:
			res.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		case !b.cfg.ACL.Enabled:
			res.ErrorCode, res.ErrorMessage = kerr.SecurityDisabled.Code, errMsg("No Authorizer is configured.")
		case f.invalid() != "":
			res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, errMsg("The filter has an unknown "+f.invalid())
		default:
			filters = append(filters, f)
			filterIdx = append(filterIdx, i)
		}
	}
	resources := b.aclResources()
	for _, f := range filters {
		for _, res := range f.exactResources() {
			if !slices.Contains(resources, res) {
				resources = append(resources, res)
			}
		}
	}
	pending := 1
	finish := func() {
		if pending--; pending == 0 {
			b.respond(r, resp)
		}
	}
	for _, res := range resources {
		var matching []int // indexes into filters
		for k, f := range filters {
			if f.matchesResource(res) {
				matching = append(matching, k)
			}
		}
		if len(matching) == 0 {
			continue
		}
		pending++
		b.updateACLs(res, func(current []aclEntry) []aclEntry {
			return slices.DeleteFunc(current, func(e aclEntry) bool { return firstMatch(filters, matching, e) >= 0 })
		}, func(before, after []aclEntry, err error) {
			if err != nil {
				for _, k := range matching {
					out := &resp.Results[filterIdx[k]]
					out.ErrorCode, out.ErrorMessage = kerr.UnknownServerError.Code, errMsg("writing the ACLs of "+res.String()+": "+err.Error())
				}
			}
			for _, e := range before {
				k := firstMatch(filters, matching, e)
				if k < 0 || (err == nil && slices.Contains(after, e)) {
					continue
				}
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = res.Type, res.Name, res.Pattern
				m.Principal, m.Host, m.Operation, m.PermissionType = e.Principal, e.Host, e.Operation, e.Permission
				if err != nil {
					m.ErrorCode, m.ErrorMessage = kerr.UnknownServerError.Code, errMsg("writing the ACLs: "+err.Error())
				}
				out := &resp.Results[filterIdx[k]]
				out.MatchingACLs = append(out.MatchingACLs, m)
			}
			finish()
		})
	}
	finish()
}

// firstMatch is the first of the matching filters whose entry filter
// matches e, or -1.
func firstMatch(filters []aclFilter, matching []int, e aclEntry) int {
	for _, k := range matching {
		if filters[k].matchesEntry(e) {
			return k
		}
	}
	return -1
}

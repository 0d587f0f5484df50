package core

import "github.com/twmb/franz-go/pkg/kmsg"

// DescribeGroups: v0-5
//
// Behavior: each group's state, protocol type, and members (client id and
//   - Needs Describe on each group (acl.go): else that group answers
//     GROUP_AUTHORIZATION_FAILED and nothing else. Authorized operations
//     (v3+), when asked, are the principal's on the group.
// host, group.instance.id from v4); the protocol and each member's
// metadata and assignment only when Stable. A group that does not exist
// is described as Dead with no error, as Kafka does before v6.
// AuthorizedOperations (v3+) are all of a group's operations when asked
// for: there is no authorizer.

func (b *Broker) handleDescribeGroups(r Request) {
	req := r.Body.(*kmsg.DescribeGroupsRequest)
	ss := make([]*string, len(req.Groups))
	for i := range req.Groups {
		ss[i] = &req.Groups[i]
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		if !b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, id) {
			d := kmsg.NewDescribeGroupsResponseGroup()
			d.Group, d.ErrorCode, d.AuthorizedOperations = id, errGroupAuth, -2147483648
			resp.Groups = append(resp.Groups, d)
			continue
		}
		d := b.groups.describe(id)
		if req.IncludeAuthorizedOperations {
			d.AuthorizedOperations = b.authorizedOperations(r, kmsg.ACLResourceTypeGroup, id)
		}
		resp.Groups = append(resp.Groups, d)
	}
	b.respond(r, resp)
}

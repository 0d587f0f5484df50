package core

import "github.com/twmb/franz-go/pkg/kmsg"

// DescribeGroups: v0-5
//
// Behavior: each group's state, protocol type, and members (client id and
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
		resp.Groups = append(resp.Groups, b.groups.describe(id, req.IncludeAuthorizedOperations))
	}
	b.respond(r, resp)
}

package core

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups: v0-5
//
// Behavior: every group of the loaded offsets partitions, with its state
//   - Describe on the cluster lists every group (acl.go); else only the
//     groups the principal may describe, silently.
// (v4+) and type (v5+, always "classic"); v4+ filter by state
// (case-insensitive), v5+ by type. COORDINATOR_LOAD_IN_PROGRESS while a
// partition loads, with the groups already served.

func (b *Broker) handleListGroups(r Request) {
	req := r.Body.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	resp.ErrorCode, resp.Groups = b.groups.list(req.StatesFilter, req.TypesFilter)
	if !b.authorizedQuietly(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeCluster, clusterResource) {
		resp.Groups = slices.DeleteFunc(resp.Groups, func(g kmsg.ListGroupsResponseGroup) bool {
			return !b.authorizedQuietly(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, g.Group)
		})
	}
	b.respond(r, resp)
}

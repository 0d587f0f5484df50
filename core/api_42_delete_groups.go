package core

import "github.com/twmb/franz-go/pkg/kmsg"

// DeleteGroups: v0-2
//
// Behavior: an Empty group is deleted with its offsets (tombstones in
//   - Needs Delete on each group (acl.go): else that group answers
//     GROUP_AUTHORIZATION_FAILED (after the others, as in Kafka) and is
//     kept.
// __consumer_offsets; answered once the ISR holds them); a group
// with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.

func (b *Broker) handleDeleteGroups(r Request) {
	req := r.Body.(*kmsg.DeleteGroupsRequest)
	ss := make([]*string, len(req.Groups))
	for i := range req.Groups {
		ss[i] = &req.Groups[i]
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	var allowed, denied []string
	for _, id := range req.Groups {
		if b.authorized(r, kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, id) {
			allowed = append(allowed, id)
		} else {
			denied = append(denied, id)
		}
	}
	b.groups.deleteGroups(allowed, func(codes []int16) {
		for i, id := range allowed {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, codes[i]
			resp.Groups = append(resp.Groups, g)
		}
		for _, id := range denied {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, errGroupAuth
			resp.Groups = append(resp.Groups, g)
		}
		b.respond(r, resp)
	})
}

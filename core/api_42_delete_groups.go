package core

import "github.com/twmb/franz-go/pkg/kmsg"

// DeleteGroups: v0-2
//
// Behavior: an Empty group is deleted with its offsets (tombstones in
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
	b.groups.deleteGroups(req.Groups, func(codes []int16) {
		for i, id := range req.Groups {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, codes[i]
			resp.Groups = append(resp.Groups, g)
		}
		b.respond(r, resp)
	})
}

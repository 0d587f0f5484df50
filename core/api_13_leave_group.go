package core

import "github.com/twmb/franz-go/pkg/kmsg"

// LeaveGroup: v0-5
//
// Behavior:
//   - Needs Read on the group (acl.go): else GROUP_AUTHORIZATION_FAILED
//     and the group is not touched.
//   - v0-2 carry one member id; v3+ a batch of members, each by member id
//     or (administrative removal) by group.instance.id alone.
//   - v3+ answer each member; v0-2 carry only one error: the top-level
//     one, else the member's.

func (b *Broker) handleLeaveGroup(r Request) {
	req := r.Body.(*kmsg.LeaveGroupRequest)
	ss := []*string{&req.Group, &req.MemberID}
	for i := range req.Members {
		ss = append(ss, &req.Members[i].MemberID, req.Members[i].InstanceID, req.Members[i].Reason)
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, req.Group) {
		resp.ErrorCode = errGroupAuth
		b.respond(r, resp)
		return
	}
	var members []leaveMember
	if r.Header.Version < 3 {
		members = []leaveMember{{memberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			members = append(members, leaveMember{memberID: m.MemberID, instanceID: m.InstanceID})
		}
	}
	resp.ErrorCode = b.groups.leave(req.Group, members)
	if r.Header.Version < 3 {
		if resp.ErrorCode == errNone && len(members) == 1 {
			resp.ErrorCode = members[0].code
		}
		b.respond(r, resp)
		return
	}
	if resp.ErrorCode == errNone {
		for _, m := range members {
			rm := kmsg.NewLeaveGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ErrorCode = m.memberID, m.instanceID, m.code
			resp.Members = append(resp.Members, rm)
		}
	}
	b.respond(r, resp)
}

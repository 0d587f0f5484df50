package core

import "github.com/twmb/franz-go/pkg/kmsg"

// Heartbeat: v0-4
//
// Behavior: keeps the member's session; REBALANCE_IN_PROGRESS tells it to
//   - Needs Read on the group (acl.go): else GROUP_AUTHORIZATION_FAILED
//     and the group is not touched.
// rejoin, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID that it fell out, and
// FENCED_INSTANCE_ID (v3+) that another member took its
// group.instance.id. While the group loads, the answer is a blind success.

func (b *Broker) handleHeartbeat(r Request) {
	req := r.Body.(*kmsg.HeartbeatRequest)
	if b.refuseLongStrings(r, &req.Group, &req.MemberID, req.InstanceID) {
		return
	}
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if !b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, req.Group) {
		resp.ErrorCode = errGroupAuth
		b.respond(r, resp)
		return
	}
	resp.ErrorCode = b.groups.heartbeat(req.Group, req.MemberID, req.InstanceID, req.Generation)
	b.respond(r, resp)
}

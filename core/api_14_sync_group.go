package core

import "github.com/twmb/franz-go/pkg/kmsg"

// SyncGroup: v0-5
//
// Behavior:
//   - Needs Read on the group (acl.go): else GROUP_AUTHORIZATION_FAILED
//     and the group is not touched.
//   - The leader's SyncGroup carries every member's assignment (members
//     it leaves out get an empty one); it is stored in __consumer_offsets
//     and every waiting member gets its own once the write is
//     acknowledged (replicated to the ISR, as an OffsetCommit's); on a
//     failed write, every member gets the mapped error and the group
//     rebalances. Followers wait for it.
//   - v5 requires ProtocolType and ProtocolName, which must match the
//     group's (INCONSISTENT_GROUP_PROTOCOL).

func (b *Broker) handleSyncGroup(r Request) {
	req := r.Body.(*kmsg.SyncGroupRequest)
	ss := []*string{&req.Group, &req.MemberID, req.InstanceID, req.ProtocolType, req.Protocol}
	for i := range req.GroupAssignment {
		ss = append(ss, &req.GroupAssignment[i].MemberID)
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	if !b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, req.Group) {
		b.groups.replySync(r, errGroupAuth, nil, nil)
		return
	}
	if r.Header.Version >= 5 && (req.ProtocolType == nil || req.Protocol == nil) {
		b.groups.replySync(r, errInconsistentGroupProtocol, nil, nil)
		return
	}
	p := syncParams{groupID: req.Group, generation: req.Generation, memberID: req.MemberID, instanceID: req.InstanceID,
		protocolType: req.ProtocolType, protocolName: req.Protocol, assignments: map[string][]byte{}}
	for _, a := range req.GroupAssignment {
		p.assignments[a.MemberID] = a.MemberAssignment
	}
	b.groups.syncGroup(r, p)
}

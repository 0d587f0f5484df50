package core

import "github.com/twmb/franz-go/pkg/kmsg"

// JoinGroup: v0-9
//
// Behavior (see group.go for the protocol):
//   - Needs Read on the group (acl.go): else GROUP_AUTHORIZATION_FAILED
//     and the group is not touched.
//   - v0 has no rebalance timeout: the session timeout serves as one.
//   - v4+ members without group.instance.id first get MEMBER_ID_REQUIRED
//     with their member id and join again with it; older versions get
//     an id at once.
//   - v9+ lets a static leader that rejoins a stable group skip the
//     assignment (SkipAssignment).
//   - The answer waits until the rebalance completes.

func (b *Broker) handleJoinGroup(r Request) {
	req := r.Body.(*kmsg.JoinGroupRequest)
	ss := []*string{&req.Group, &req.MemberID, req.InstanceID, &req.ProtocolType}
	for i := range req.Protocols {
		ss = append(ss, &req.Protocols[i].Name)
	}
	if b.refuseLongStrings(r, ss...) {
		return
	}
	if !b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, req.Group) {
		b.groups.replyJoin(r, joinResult{code: errGroupAuth, generation: -1})
		return
	}
	v := r.Header.Version
	p := joinParams{
		groupID: req.Group, memberID: req.MemberID, instanceID: req.InstanceID,
		requireKnownMember: v >= 4 && req.InstanceID == nil, skipAssignment: v >= 9,
		clientID: r.Header.ClientID, clientHost: r.ClientHost,
		rebalanceTimeoutMs: req.RebalanceTimeoutMillis, sessionTimeoutMs: req.SessionTimeoutMillis,
		protocolType: req.ProtocolType,
	}
	if v == 0 {
		p.rebalanceTimeoutMs = req.SessionTimeoutMillis
	}
	for _, pr := range req.Protocols {
		p.protocols = append(p.protocols, memberProtocol{name: pr.Name, metadata: pr.Metadata})
	}
	b.groups.join(r, p)
}

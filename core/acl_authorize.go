package core

import (
	"net/netip"
	"slices"
	"strings"

	"cloudkafka/core/cover"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Authorization checks (Kafka's AclAuthorizer.authorize and
// authorizeByResourceType; see acl.go). Every API handler asks before it
// acts; apiAuthorization (acl_apis.go) lists what each API checks.

// authorized says whether r's principal may perform op on the resource
// of type typ named name. A denial of an action the request names
// explicitly is audited (acl_audit.go).
func (b *Broker) authorized(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if b.allows(r, op, typ, name) {
		return true
	}
	b.cover(cover.ACLDenied)
	b.auditDenied(r, op, typ, name)
	return false
}

// authorizedQuietly is authorized for an action the request did not
// name (a filter over all topics or groups): a denial is not audited.
func (b *Broker) authorizedQuietly(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	return b.allows(r, op, typ, name)
}

// authorizedCluster is authorized on the cluster resource.
func (b *Broker) authorizedCluster(r Request, op kmsg.ACLOperation) bool {
	return b.authorized(r, op, kmsg.ACLResourceTypeCluster, clusterResource)
}

func (b *Broker) allows(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if !b.cfg.ACL.Enabled || slices.Contains(b.cfg.ACL.SuperUsers, r.Principal) {
		return true
	}
	host := clientAddress(r.ClientHost)
	found := false
	denied, allowed := false, false
	b.matchingACLs(typ, name, func(e aclEntry) {
		found = true
		if !e.matches(r.Principal, host) {
			return
		}
		switch e.Permission {
		case kmsg.ACLPermissionTypeDeny:
			denied = denied || e.Operation == op || e.Operation == kmsg.ACLOperationAll
		case kmsg.ACLPermissionTypeAllow:
			allowed = allowed || e.Operation == kmsg.ACLOperationAll || slices.Contains(impliedBy(op), e.Operation)
		}
	})
	if !found {
		return b.cfg.ACL.AllowIfNoACL
	}
	return !denied && allowed
}

// impliedBy lists the operations whose allowance allows op.
func impliedBy(op kmsg.ACLOperation) []kmsg.ACLOperation {
	switch op {
	case kmsg.ACLOperationDescribe:
		return []kmsg.ACLOperation{op, kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter}
	case kmsg.ACLOperationDescribeConfigs:
		return []kmsg.ACLOperation{op, kmsg.ACLOperationAlterConfigs}
	}
	return []kmsg.ACLOperation{op}
}

// matches says whether the entry names the principal (or every user)
// and the client address (or every host). Addresses compare as
// addresses: "::1" names the client Kafka shows as 0:0:0:0:0:0:0:1.
func (e aclEntry) matches(principal string, host netip.Addr) bool {
	if e.Principal != principal && e.Principal != wildcardUser {
		return false
	}
	if e.Host == wildcardHost {
		return true
	}
	a, err := netip.ParseAddr(e.Host)
	return err == nil && host.IsValid() && a.Unmap() == host
}

// clientAddress is the address of a Request's ClientHost ("/127.0.0.1";
// invalid when it is not an address).
func clientAddress(clientHost string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimPrefix(clientHost, "/"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// matchingACLs calls f with every entry that applies to the resource:
// the literal name's, the wildcard's and every stored prefix's.
func (b *Broker) matchingACLs(typ kmsg.ACLResourceType, name string, f func(aclEntry)) {
	each := func(r aclResource) {
		for _, e := range b.acl.resources[r] {
			f(e)
		}
	}
	each(aclResource{Type: typ, Pattern: kmsg.ACLResourcePatternTypeLiteral, Name: name})
	if name != wildcardName {
		each(aclResource{Type: typ, Pattern: kmsg.ACLResourcePatternTypeLiteral, Name: wildcardName})
	}
	lens := b.acl.prefixLens[typ]
	for i, n := range lens {
		if (i > 0 && lens[i-1] == n) || n > len(name) {
			continue
		}
		each(aclResource{Type: typ, Pattern: kmsg.ACLResourcePatternTypePrefixed, Name: name[:n]})
	}
}

// authorizedAny says whether r's principal may perform op on some
// resource of type typ (Kafka's authorizeByResourceType, which
// InitProducerId asks for Write on any topic): a literal or prefixed
// allow entry for it that no deny entry dominates, or, with
// allow.everyone.if.no.acl.found, no deny entry on every name.
func (b *Broker) authorizedAny(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	if !b.cfg.ACL.Enabled || slices.Contains(b.cfg.ACL.SuperUsers, r.Principal) {
		return true
	}
	host := clientAddress(r.ClientHost)
	names := func(pattern kmsg.ACLResourcePatternType, perm kmsg.ACLPermissionType) []string {
		var out []string
		for _, res := range b.aclResources() {
			if res.Type != typ || res.Pattern != pattern {
				continue
			}
			for _, e := range b.acl.resources[res] {
				if e.Permission == perm && (e.Operation == op || e.Operation == kmsg.ACLOperationAll) && e.matches(r.Principal, host) {
					out = append(out, res.Name)
					break
				}
			}
		}
		return out
	}
	denyLiterals := names(kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLPermissionTypeDeny)
	if slices.Contains(denyLiterals, wildcardName) {
		return false
	}
	if b.cfg.ACL.AllowIfNoACL {
		return true
	}
	denyPrefixes := names(kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLPermissionTypeDeny)
	dominated := func(name string) bool {
		for _, p := range denyPrefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	for _, p := range names(kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLPermissionTypeAllow) {
		if !dominated(p) {
			return true
		}
	}
	for _, l := range names(kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLPermissionTypeAllow) {
		if l == wildcardName || (!slices.Contains(denyLiterals, l) && !dominated(l)) {
			return true
		}
	}
	return false
}

// supportedOperations are the operations of each resource type (Kafka's
// AclEntry.supportedOperations), which authorized-operations fields
// report on.
func supportedOperations(typ kmsg.ACLResourceType) []kmsg.ACLOperation {
	switch typ {
	case kmsg.ACLResourceTypeTopic:
		return []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate, kmsg.ACLOperationDescribe,
			kmsg.ACLOperationDelete, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	case kmsg.ACLResourceTypeGroup: // with Kafka 4's group configurations
		return []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
			kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	case kmsg.ACLResourceTypeCluster:
		return []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction, kmsg.ACLOperationDescribeConfigs,
			kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe}
	case kmsg.ACLResourceTypeTransactionalId:
		return []kmsg.ACLOperation{kmsg.ACLOperationDescribe, kmsg.ACLOperationWrite}
	case kmsg.ACLResourceTypeDelegationToken:
		return []kmsg.ACLOperation{kmsg.ACLOperationDescribe}
	case kmsg.ACLResourceTypeUser:
		return []kmsg.ACLOperation{kmsg.ACLOperationCreateTokens, kmsg.ACLOperationDescribeTokens}
	}
	return nil
}

// authorizedOperations is the bit field of the operations r's principal
// may perform on the resource (bit n: operation n), as the
// authorized-operations fields of Metadata, DescribeGroups and
// DescribeCluster report it. Without an authorizer every supported
// operation is, as in Kafka.
func (b *Broker) authorizedOperations(r Request, typ kmsg.ACLResourceType, name string) int32 {
	var bits int32
	for _, op := range supportedOperations(typ) {
		if b.allows(r, op, typ, name) {
			bits |= 1 << op
		}
	}
	return bits
}

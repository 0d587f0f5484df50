package core

import "github.com/twmb/franz-go/pkg/kmsg"

// The authorizer's decisions, opened to the black-box tests of
// acl_test.go: they create ACLs through CreateAcls, as a client does,
// and then ask the checks every handler asks, for any action on any
// resource, whichever request will carry it.

// AllowsForTest says whether principal, connected from clientHost
// ("/10.0.0.1"), may perform op on the resource of type typ named name.
func (b *Broker) AllowsForTest(principal, clientHost string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	return b.allows(Request{Principal: principal, ClientHost: clientHost}, op, typ, name)
}

// AuthorizedAnyForTest says whether principal, connected from
// clientHost, may perform op on some resource of type typ (Kafka's
// authorizeByResourceType).
func (b *Broker) AuthorizedAnyForTest(principal, clientHost string, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	return b.authorizedAny(Request{Principal: principal, ClientHost: clientHost}, op, typ)
}

// AuthorizeForTest asks what a handler asks for an action r names, and
// returns the decision with the effects it emitted (its audit report).
func (b *Broker) AuthorizeForTest(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) (bool, []Effect) {
	b.out = nil
	ok := b.authorized(r, op, typ, name)
	out := b.out
	b.out = nil
	return ok, out
}

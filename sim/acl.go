package sim

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// ACLs under traffic (Config.SASL): the brokers run Kafka's authorizer,
// with the workload's principal (User:sim) and the brokers' and
// operators' (User:ANONYMOUS, on PLAINTEXT) as super users. One more
// producer, aclProducer, authenticates as User:victim, who may do
// nothing until an ACL says so. The ACL actor grants User:victim Write on
// the workload topic (a literal or a prefixed pattern) once the topic
// exists, and later, during traffic, deletes that ACL through one
// broker. The victim's produces refused for want of the ACL answer
// TOPIC_AUTHORIZATION_FAILED and fail definitely (the checker holds them
// to it: never read). After the removal the actor asks every broker
// (DescribeAcls) until each shows the ACL gone; the broker that answered
// the DeleteAcls shows it gone with that answer. Once a broker showed it
// gone, no produce the victim sent it afterwards may be acknowledged
// (checkACL); and the drain waits until every broker shows it gone: the
// change reaches every broker.

const (
	aclProducer   = "aclp" // the producer (and its connections) that authenticates as aclUser
	aclUser       = "victim"
	aclPassword   = "victim-secret"
	aclSuperUsers = "User:ANONYMOUS;User:" + simSASLUser
)

// ACLHistory is what the run did with the victim's ACL.
type ACLHistory struct {
	// Subject is the client name of the producer whose ACL changes.
	Subject string
	// Removed: the DeleteAcls that removed its ACL was answered. Gone
	// holds, per broker, when an answer of that broker (the DeleteAcls,
	// or a DescribeAcls) first showed the ACL gone.
	Removed bool
	Gone    map[core.BrokerID]core.Instant
}

// aclActor grants and removes the victim's ACL.
type aclActor struct {
	w        *world
	cls      map[core.BrokerID]*client // one PLAINTEXT connection per broker
	resource kmsg.ACLResourcePatternType
	name     string // the pattern's name: the topic, or a prefix of it
	granted  bool
	removing bool // a DeleteAcls is out
	polling  bool // a DescribeAcls round is scheduled
}

func newACLActor(w *world) *aclActor {
	a := &aclActor{w: w, cls: map[core.BrokerID]*client{}, resource: kmsg.ACLResourcePatternTypeLiteral, name: w.topic}
	if w.rng.IntN(2) == 0 {
		a.resource, a.name = kmsg.ACLResourcePatternTypePrefixed, w.topic[:1+w.rng.IntN(len(w.topic))]
	}
	for _, n := range w.nodes {
		cl := newClient(w, fmt.Sprintf("operator-acl-%d", n.id))
		cl.target = n
		a.cls[n.id] = cl
	}
	w.hist.ACL.Subject = aclProducer
	w.mix = append(w.mix, fmt.Sprintf("acl=%s:%s", strings.ToLower(a.resource.String()), a.name))
	return a
}

// start grants the ACL soon, and removes it during the fault phase.
func (a *aclActor) start() {
	for _, id := range sortedKeys(a.cls) {
		a.cls[id].onReady = func() {}
		a.cls[id].ensureConn()
	}
	a.w.after(core.Instant(a.w.rng.Int64N(2e9)), a.grant)
}

// binding is the victim's Write ACL.
func (a *aclActor) creation() kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, a.name, a.resource
	c.Principal, c.Host, c.Operation, c.PermissionType = "User:"+aclUser, "*", kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow
	return c
}

// target is a broker to ask: the leader of partition 0 as the victim's
// producer last learned it, so that the broker that answers is one the
// victim writes to, else any live one.
func (a *aclActor) target() *client {
	if p := a.w.aclProducer(); p != nil {
		if cl := p.rt.leader(0); cl != nil && a.cls[cl.target.id].ready() {
			return a.cls[cl.target.id]
		}
	}
	for _, id := range sortedKeys(a.cls) {
		if cl := a.cls[id]; cl.ready() {
			return cl
		}
		a.cls[id].ensureConn()
	}
	return nil
}

func (a *aclActor) grant() {
	if a.w.phase == phaseFinished {
		return
	}
	cl := a.target()
	if cl == nil {
		a.w.after(100e6, a.grant)
		return
	}
	req := kmsg.NewPtrCreateACLsRequest()
	req.SetVersion(1 + int16(a.w.rng.IntN(3)))
	req.Creations = append(req.Creations, a.creation())
	op := a.w.hist.begin(&Op{Client: cl.name, Kind: OpAdmin, Call: a.w.now, Admin: "create-acls " + a.name})
	cl.send(req, func(r kmsg.Response, err error) {
		op.Return, op.Outcome = a.w.now, OK
		if err != nil {
			op.Outcome = Indefinite
			a.w.after(cl.backoff(), a.grant)
			return
		}
		if code := r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode; code != 0 {
			if !indefiniteCode(code) && code != kerr.UnknownServerError.Code {
				a.w.failf("acl", "CreateAcls through broker %d: %s", cl.target.id, errName(code))
			}
			a.w.after(cl.backoff(), a.grant)
			return
		}
		a.granted = true
		a.w.logf("acl: User:%s may write %s (broker %d answered)", aclUser, a.name, cl.target.id)
		if end := a.w.end - a.w.now; end > 0 {
			a.w.after(core.Instant(a.w.rng.Int64N(int64(end))), a.remove)
		}
	})
}

func (a *aclActor) remove() {
	if a.w.phase == phaseFinished || a.w.hist.ACL.Removed || a.removing {
		return
	}
	cl := a.target()
	if cl == nil || !a.granted {
		a.w.after(100e6, a.remove)
		return
	}
	a.removing = true
	req := kmsg.NewPtrDeleteACLsRequest()
	req.SetVersion(1 + int16(a.w.rng.IntN(3)))
	c := a.creation()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = c.ResourceType, &c.ResourceName, c.ResourcePatternType
	f.Principal, f.Host, f.Operation, f.PermissionType = &c.Principal, &c.Host, c.Operation, c.PermissionType
	req.Filters = append(req.Filters, f)
	op := a.w.hist.begin(&Op{Client: cl.name, Kind: OpAdmin, Call: a.w.now, Admin: "delete-acls " + a.name})
	cl.send(req, func(r kmsg.Response, err error) {
		a.removing = false
		op.Return, op.Outcome = a.w.now, OK
		if err != nil {
			op.Outcome = Indefinite
			a.w.after(cl.backoff(), a.remove)
			return
		}
		res := r.(*kmsg.DeleteACLsResponse).Results[0]
		if res.ErrorCode != 0 {
			if !indefiniteCode(res.ErrorCode) && res.ErrorCode != kerr.UnknownServerError.Code {
				a.w.failf("acl", "DeleteAcls through broker %d: %s", cl.target.id, errName(res.ErrorCode))
			}
			a.w.after(cl.backoff(), a.remove)
			return
		}
		// An empty match is an earlier attempt's deletion whose answer
		// was lost: the ACL is gone all the same.
		h := &a.w.hist.ACL
		h.Removed, h.Gone = true, map[core.BrokerID]core.Instant{cl.target.id: a.w.now}
		a.w.logf("acl: User:%s may no longer write %s (broker %d answered, %d bindings deleted)", aclUser, a.name, cl.target.id, len(res.MatchingACLs))
		a.poll()
	})
}

// aclPollEvery spaces the rounds of DescribeAcls after the removal.
const aclPollEvery = 300e6

// poll asks every broker that has not shown the ACL gone yet whether it
// still has it, round after round, until every broker showed it gone.
func (a *aclActor) poll() {
	if a.w.phase == phaseFinished || a.settled() {
		return
	}
	for _, n := range a.w.nodes {
		if _, gone := a.w.hist.ACL.Gone[n.id]; gone {
			continue
		}
		cl := a.cls[n.id]
		if !cl.ready() {
			cl.ensureConn()
			continue
		}
		req := kmsg.NewPtrDescribeACLsRequest()
		req.SetVersion(1 + int16(a.w.rng.IntN(3)))
		c := a.creation()
		req.ResourceType, req.ResourceName, req.ResourcePatternType = c.ResourceType, &c.ResourceName, c.ResourcePatternType
		req.Principal, req.Host, req.Operation, req.PermissionType = &c.Principal, &c.Host, c.Operation, c.PermissionType
		id := n.id
		cl.send(req, func(r kmsg.Response, err error) {
			if err != nil {
				return
			}
			resp := r.(*kmsg.DescribeACLsResponse)
			if _, gone := a.w.hist.ACL.Gone[id]; resp.ErrorCode == 0 && len(resp.Resources) == 0 && !gone {
				a.w.hist.ACL.Gone[id] = a.w.now
				a.w.logf("acl: broker %d shows the ACL of User:%s gone", id, aclUser)
			}
		})
	}
	a.w.after(aclPollEvery, a.poll)
}

// settled says the ACL was removed and every broker showed it gone.
func (a *aclActor) settled() bool {
	return a.w.hist.ACL.Removed && len(a.w.hist.ACL.Gone) == len(a.w.nodes)
}

// drain removes the ACL now if the fault phase ended before it did.
func (a *aclActor) drain() { a.remove() }

// report says where the removal stands, for the liveness report.
func (a *aclActor) report() string {
	return fmt.Sprintf(" acl: granted=%v removed=%v gone on %d of %d brokers;", a.granted, a.w.hist.ACL.Removed, len(a.w.hist.ACL.Gone), len(a.w.nodes))
}

// aclProducer is the victim's producer, or nil.
func (w *world) aclProducer() *producer {
	for _, p := range w.producers {
		if p.cl.name == aclProducer {
			return p
		}
	}
	return nil
}

// aclSubject says an op is the victim's.
func (h *History) aclSubject(op *Op) bool {
	return h.ACL.Subject != "" && op.Client == h.ACL.Subject
}

// checkACL: no produce the victim sent a broker after that broker showed
// its ACL gone was acknowledged.
func (c *checker) checkACL(h *History) {
	if !h.ACL.Removed {
		return
	}
	for _, op := range h.Ops {
		if op.Kind != OpProduce || !h.aclSubject(op) || op.Outcome != OK {
			continue
		}
		if gone, ok := h.ACL.Gone[op.Broker]; ok && op.LastSent >= gone {
			c.fail("acl-write-after-removal", "op %d (%s) sent at %s to broker %d was acknowledged at offset %d of partition %d; the broker showed its ACL gone at %s",
				op.ID, op.Client, fmtInstant(op.LastSent), op.Broker, op.Offset, op.Partition, fmtInstant(gone))
		}
	}
}

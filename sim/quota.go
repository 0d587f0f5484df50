package sim

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Client quotas under traffic: in some seeds, once the workload's topic
// exists, the quota actor gives one producer a producer_byte_rate below
// what it sends, or a request_percentage below the handling time its
// requests take (the simulated runtime's model of it: requestCost) (AlterClientQuotas through some broker; the others hear
// of it through /config/changes). Its requests are then answered with
// throttle_time_ms and its connections held back (the simulated network
// mutes them as realio does); none of its records may be lost,
// duplicated or reordered for it: the workload's checks hold as ever.
// Consumers get no quota here: a throttled consumer would lag behind
// the delivery checks by design (core and end-to-end tests cover fetch
// quotas).

// quotaActor sets the drawn quota.
type quotaActor struct {
	w      *world
	cls    map[core.BrokerID]*client // one PLAINTEXT connection per broker
	entity []kmsg.AlterClientQuotasRequestEntryEntity
	key    string
	rate   float64
	set    bool
}

// drawQuota draws, for about one seed in three, a produce quota on one
// producer (by its client id, by user and client id, or on the default
// client id of its user); nil: none.
func (w *world) drawQuota() *quotaActor {
	// Producers that read throttle_time_ms (Produce v6+, KIP-219) and
	// never send large batches: an old client's answer waits out the
	// throttle, which with one large batch over a small quota outlasts
	// its request timeout at every retry (as it would with Kafka); the
	// end-to-end tests cover old clients.
	var eligible []*producer
	for _, p := range w.producers {
		if p.version >= 6 && p.largePerMille == 0 && p.legacyMagic < 0 && p.cl.name != aclProducer {
			eligible = append(eligible, p)
		}
	}
	if len(eligible) == 0 || w.rng.IntN(3) != 0 {
		return nil
	}
	p := eligible[w.rng.IntN(len(eligible))]
	// The workload's records are small: a producer sends a few KiB a
	// second and a few hundred requests.
	a := &quotaActor{w: w, cls: map[core.BrokerID]*client{}, key: "producer_byte_rate", rate: float64(1<<10 + w.rng.IntN(7<<10))}
	if w.rng.IntN(2) == 0 {
		a.key, a.rate = "request_percentage", 0.05+float64(w.rng.IntN(25))/100
	}
	user := core.PrincipalAnonymous[len("User:"):]
	if p.cl.sasl {
		user = p.cl.saslUser
	}
	ent := func(typ string, name *string) kmsg.AlterClientQuotasRequestEntryEntity {
		e := kmsg.NewAlterClientQuotasRequestEntryEntity()
		e.Type, e.Name = typ, name
		return e
	}
	what := ""
	if w.rng.IntN(2) == 0 {
		a.entity = append(a.entity, ent("client-id", &p.cl.name))
		what = "client-id=" + p.cl.name
	} else {
		a.entity = append(a.entity, ent("user", &user), ent("client-id", &p.cl.name))
		what = "user=" + user + ",client-id=" + p.cl.name
	}
	for _, n := range w.nodes {
		cl := newClient(w, fmt.Sprintf("operator-quota-%d", n.id))
		cl.target = n
		a.cls[n.id] = cl
	}
	w.mix = append(w.mix, fmt.Sprintf("quota(%s %s=%g)", what, a.key, a.rate))
	return a
}

// start sets the quota soon after the workload starts.
func (a *quotaActor) start() {
	for _, id := range sortedKeys(a.cls) {
		a.cls[id].onReady = func() {}
		a.cls[id].ensureConn()
	}
	a.w.after(core.Instant(a.w.rng.Int64N(3e9)), a.alter)
}

func (a *quotaActor) alter() {
	if a.set || a.w.phase == phaseFinished {
		return
	}
	var cl *client
	for _, id := range sortedKeys(a.cls) {
		if a.cls[id].ready() {
			cl = a.cls[id]
			break
		}
		a.cls[id].ensureConn()
	}
	if cl == nil {
		a.w.after(100e6, a.alter)
		return
	}
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.SetVersion(int16(a.w.rng.IntN(2)))
	e := kmsg.NewAlterClientQuotasRequestEntry()
	e.Entity = a.entity
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = a.key, a.rate
	e.Ops = append(e.Ops, op)
	req.Entries = append(req.Entries, e)
	hop := a.w.hist.begin(&Op{Client: cl.name, Kind: OpAdmin, Call: a.w.now, Admin: "alter-client-quotas"})
	cl.send(req, func(r kmsg.Response, err error) {
		hop.Return, hop.Outcome = a.w.now, OK
		if err != nil {
			hop.Outcome = Indefinite
			a.w.after(cl.backoff(), a.alter)
			return
		}
		if code := r.(*kmsg.AlterClientQuotasResponse).Entries[0].ErrorCode; code != 0 {
			if !indefiniteCode(code) && code != kerr.UnknownServerError.Code { // the store failed: again
				a.w.failf("quota", "AlterClientQuotas through broker %d: %s", cl.target.id, errName(code))
			}
			a.w.after(cl.backoff(), a.alter)
			return
		}
		a.set = true
		a.w.logf("quota: %s=%g set (broker %d answered)", a.key, a.rate, cl.target.id)
	})
}

package sim

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Dynamic configuration under traffic: in some runs an operator changes
// configurations now and then during the fault phase, through any live
// broker, with IncrementalAlterConfigs: the workload topic's
// segment.bytes (its logs roll at the new size at once), the cluster-wide
// log.segment.bytes (never below the static size, which the producers'
// batches fit), and one broker's own log.roll.ms, each set to a value or
// deleted.
//
// Checks:
//   - the broker that acknowledged a change shows it at once
//     (DescribeConfigs right after the answer): config-not-applied;
//   - a change is never refused with a definite error: every one is
//     valid (config-refused);
//   - once faults stop, every broker comes to show, for each entity, the
//     last acknowledged value or one sent after it whose outcome is
//     unknown; the drain waits for it, so a change that never reaches a
//     broker fails the run's liveness.
type dynConfigActor struct {
	w       *world
	cls     map[core.BrokerID]*client // one connection per broker
	asking  bool
	targets []*dynTarget
	// settledOn holds the brokers whose last answers showed every
	// entity as expected, in the drain.
	settledOn map[core.BrokerID]bool
	polling   bool
}

// dynTarget is one config of one entity and what it may show: the last
// acknowledged value ("" is deleted: the broker's static or default
// value shows) and the values sent whose outcome is unknown.
type dynTarget struct {
	resource kmsg.ConfigResourceType
	name     string // the resource name ("" for the cluster-wide default)
	config   string
	values   []string // what it may be set to
	acked    string
	maybe    []string
}

const dynConfigMean = core.Instant(3e9)

func (w *world) drawDynConfig() *dynConfigActor {
	if w.rng.IntN(2) != 0 {
		return nil
	}
	a := &dynConfigActor{w: w, cls: map[core.BrokerID]*client{}}
	for _, n := range w.nodes {
		cl := newClient(w, fmt.Sprintf("operator-cfg-%d", n.id))
		cl.target = n
		a.cls[n.id] = cl
	}
	// never below the static segment size: the producers size their
	// large batches to fit it, and a larger batch is refused
	// (RECORD_LIST_TOO_LARGE)
	segment, err := strconv.ParseInt(w.brokerProps["log.segment.bytes"], 10, 64)
	if err != nil {
		panic(fmt.Sprintf("sim: log.segment.bytes: %v", err))
	}
	var sizes []string
	for _, f := range []int64{1, 2, 8} {
		sizes = append(sizes, strconv.FormatInt(min(f*segment, math.MaxInt32), 10))
	}
	a.targets = []*dynTarget{
		{resource: kmsg.ConfigResourceTypeTopic, name: w.topic, config: "segment.bytes", values: sizes},
		{resource: kmsg.ConfigResourceTypeBroker, name: "", config: "log.segment.bytes", values: sizes},
	}
	n := w.nodes[w.rng.IntN(len(w.nodes))]
	a.targets = append(a.targets, &dynTarget{resource: kmsg.ConfigResourceTypeBroker, name: strconv.Itoa(int(n.id)),
		config: "log.roll.ms", values: []string{"2000", "10000", "60000"}})
	w.mix = append(w.mix, "dynamic-config")
	return a
}

func (a *dynConfigActor) start() {
	for _, id := range sortedKeys(a.cls) {
		a.cls[id].onReady = func() {}
		a.cls[id].ensureConn()
	}
	a.w.after(a.w.expInterval(dynConfigMean), a.loop)
}

func (a *dynConfigActor) loop() {
	if !a.w.faulting() {
		return
	}
	if !a.asking {
		a.change(a.targets[a.w.rng.IntN(len(a.targets))])
	}
	a.w.after(a.w.expInterval(dynConfigMean), a.loop)
}

// via picks the broker to send a change of t to: its own broker for a
// broker's config, else any connected one.
func (a *dynConfigActor) via(t *dynTarget) *client {
	if t.resource == kmsg.ConfigResourceTypeBroker && t.name != "" {
		id, _ := strconv.Atoi(t.name)
		cl := a.cls[core.BrokerID(id)]
		if !cl.ready() {
			cl.ensureConn()
			return nil
		}
		return cl
	}
	ids := sortedKeys(a.cls)
	start := a.w.rng.IntN(len(ids))
	for i := range ids {
		if cl := a.cls[ids[(start+i)%len(ids)]]; cl.ready() {
			return cl
		} else {
			cl.ensureConn()
		}
	}
	return nil
}

func (a *dynConfigActor) change(t *dynTarget) {
	cl := a.via(t)
	if cl == nil {
		return
	}
	value := ""
	if a.w.rng.IntN(4) != 0 {
		value = t.values[a.w.rng.IntN(len(t.values))]
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.SetVersion(int16(a.w.rng.IntN(2)))
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = t.resource, t.name
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op = t.config, kmsg.IncrementalAlterConfigOpDelete
	if value != "" {
		c.Op, c.Value = kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
	}
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	what := fmt.Sprintf("alter-config %s %q %s=%s", t.resource, t.name, t.config, value)
	a.asking = true
	op := a.w.hist.begin(&Op{Client: cl.name, Kind: OpAdmin, Call: a.w.now, Admin: what})
	t.maybe = append(t.maybe, value)
	cl.send(req, func(r kmsg.Response, err error) {
		op.Return, op.Outcome = a.w.now, Indefinite
		if err != nil {
			a.asking = false
			return
		}
		code := r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode
		op.ErrorCode = code
		if code != 0 {
			a.asking = false
			// UNKNOWN_SERVER_ERROR: the broker does not know whether the
			// store took the write (indefinite, as for the admin's changes)
			if !indefiniteCode(code) && code != kerr.UnknownServerError.Code {
				op.Outcome = Failed
				a.w.failf("config-refused", "%s through broker %d: %s", what, cl.target.id, errName(code))
			}
			return
		}
		op.Outcome = OK
		// Values sent earlier whose outcome is unknown stay possible: a
		// broker that lost the client may still write one after this.
		t.acked = value
		t.maybe = slices.DeleteFunc(t.maybe, func(v string) bool { return v == value })
		a.w.logf("config: %s (broker %d answered)", what, cl.target.id)
		a.describe(cl, t, func(ok bool, got string, source kmsg.ConfigSource) {
			a.asking = false
			if ok && !t.shows(got, source, value) {
				a.w.failf("config-not-applied", "broker %d acknowledged %s but then described %s=%s (source %d)", cl.target.id, what, t.config, got, source)
			}
		})
	})
}

// shows says whether a described value and source match value ("":
// deleted, so not from this entity's dynamic level).
func (t *dynTarget) shows(got string, source kmsg.ConfigSource, value string) bool {
	dynamic := kmsg.ConfigSource(2) // DYNAMIC_BROKER_CONFIG
	switch {
	case t.resource == kmsg.ConfigResourceTypeTopic:
		dynamic = 1 // DYNAMIC_TOPIC_CONFIG
	case t.name == "":
		dynamic = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG
	}
	if value == "" {
		return source != dynamic
	}
	return source == dynamic && got == value
}

// describe asks cl's broker for t's effective value there; done gets
// ok false when no answer came.
func (a *dynConfigActor) describe(cl *client, t *dynTarget, done func(ok bool, value string, source kmsg.ConfigSource)) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.SetVersion(1 + int16(a.w.rng.IntN(4)))
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName, res.ConfigNames = t.resource, t.name, []string{t.config}
	if t.resource == kmsg.ConfigResourceTypeBroker {
		res.ResourceName = strconv.Itoa(int(cl.target.id)) // the value in effect there
	}
	req.Resources = append(req.Resources, res)
	cl.send(req, func(r kmsg.Response, err error) {
		if err != nil {
			done(false, "", 0)
			return
		}
		resp := r.(*kmsg.DescribeConfigsResponse)
		if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) != 1 {
			done(false, "", 0)
			return
		}
		c := resp.Resources[0].Configs[0]
		v := ""
		if c.Value != nil {
			v = *c.Value
		}
		done(true, v, c.Source)
	})
}

// relevant says whether t is in effect on broker id (a broker's own
// config only there).
func (t *dynTarget) relevant(id core.BrokerID) bool {
	return !(t.resource == kmsg.ConfigResourceTypeBroker && t.name != "" && t.name != strconv.Itoa(int(id)))
}

// poll asks every broker not settled yet for every config, round after
// round, until each showed every entity's acknowledged value or one of
// its unknown outcomes.
func (a *dynConfigActor) poll() {
	if a.w.phase == phaseFinished || a.settled() {
		return
	}
	if a.settledOn == nil {
		a.settledOn = map[core.BrokerID]bool{}
	}
	for _, n := range a.w.nodes {
		if a.settledOn[n.id] {
			continue
		}
		cl := a.cls[n.id]
		if !cl.ready() {
			cl.ensureConn()
			continue
		}
		id := n.id
		pending, good := 0, true
		for _, t := range a.targets {
			if !t.relevant(id) {
				continue
			}
			pending++
			a.describe(cl, t, func(ok bool, got string, source kmsg.ConfigSource) {
				good = good && ok && (t.shows(got, source, t.acked) || slices.ContainsFunc(t.maybe, func(v string) bool { return t.shows(got, source, v) }))
				if pending--; pending == 0 && good {
					a.settledOn[id] = true
					a.w.logf("config: broker %d shows every acknowledged configuration", id)
				}
			})
		}
	}
	a.w.after(aclPollEvery, a.poll)
}

// settled says every broker showed every configuration as expected.
func (a *dynConfigActor) settled() bool { return len(a.settledOn) == len(a.w.nodes) }

// drain starts the final rounds once no change is out.
func (a *dynConfigActor) drain() {
	if a.asking {
		a.w.after(100e6, a.drain)
		return
	}
	a.poll()
}

func (a *dynConfigActor) report() string {
	return fmt.Sprintf(" config: settled on %d of %d brokers;", len(a.settledOn), len(a.w.nodes))
}

package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// admin creates the workload's topic with CreateTopics, retrying across
// lost connections and crashes; a retry that finds the topic already
// there (TOPIC_ALREADY_EXISTS) counts as success: the first attempt did
// it. During the fault phase it then changes the cluster now and then:
// CreatePartitions on the workload's topic (producers and consumers use
// the new partitions once the admin learns of them) and CreateTopics of
// extra topics. After every change it reads Metadata, which must show
// every acknowledged change, even after crashes: an acknowledged admin
// change is durable. The drain phase waits for one such Metadata.
//
// Each request is an OpAdmin in the history. A change answered with a
// definite (non-retriable) error must not show up afterwards.
type admin struct {
	w        *world
	cl       *client
	version  int16 // CreateTopics version
	cpVer    int16 // CreatePartitions version
	delVer   int16 // DeleteTopics version
	mdVer    int16 // Metadata version
	done     bool  // the workload's topic exists
	asking   bool
	changeAt changeRequest // the change to make next, if any
	extras   int           // extra topics asked for so far
	acked    []adminTopic  // acknowledged topics and partition counts, by name order of creation
	// eventual holds the workload topic when its creation was answered
	// TOPIC_ALREADY_EXISTS: an earlier attempt wrote it, and in a cluster
	// the brokers learn of it from the controller a little later. It must
	// show by the drain's verification, and is acked once it shows.
	eventual []adminTopic
	refused  []adminTopic // changes refused with a definite error
	deleted  []string     // topics whose deletion was acknowledged: never seen again
	check    bool         // a Metadata read is due
	verifyAt int          // complete Metadata reads asked for since the drain began
}

// adminTopic is a topic with a partition count.
type adminTopic struct {
	name       string
	partitions int32
}

// changeRequest is a pending admin change; zero is none.
type changeRequest struct {
	create     bool // CreateTopics; else CreatePartitions
	delete     bool // DeleteTopics
	topic      string
	partitions int32
	tries      int
}

const (
	partitionsMax   = 8
	extraTopicsMax  = 5
	adminChangeMean = 8e9
)

func newAdmin(w *world) *admin {
	return &admin{w: w, cl: newClient(w, "admin"), version: 2 + int16(w.rng.IntN(6)),
		cpVer: int16(w.rng.IntN(4)), mdVer: 1 + int16(w.rng.IntN(12)), delVer: 1 + int16(w.rng.IntN(6))}
}

func (a *admin) start() {
	a.cl.onReady = a.pump
	a.cl.ensureConn()
}

// startChanges begins the fault phase's admin changes.
func (a *admin) startChanges() {
	a.w.after(a.w.expInterval(adminChangeMean), a.changeLoop)
	if a.w.operating {
		newOperator(a.w).start() // elections, reassignments, log directories
	}
}

func (a *admin) changeLoop() {
	if !a.w.faulting() {
		return
	}
	if a.changeAt.topic == "" {
		switch {
		case a.w.rng.IntN(2) == 0 && a.w.partitions < partitionsMax:
			n := min(partitionsMax, a.w.partitions+1+a.w.rng.Int32N(2))
			a.changeAt = changeRequest{topic: a.w.topic, partitions: n}
		case a.extras < extraTopicsMax:
			a.extras++
			a.changeAt = changeRequest{create: true, topic: fmt.Sprintf("extra%d", a.extras), partitions: 1 + a.w.rng.Int32N(3)}
		}
		if t, ok := a.deletable(); ok && a.w.rng.IntN(3) == 0 {
			a.changeAt = changeRequest{delete: true, topic: t}
		}
		a.pump()
	}
	a.w.after(a.w.expInterval(adminChangeMean), a.changeLoop)
}

// verify asks for a final Metadata read once faults have stopped.
func (a *admin) verify() {
	a.check = true
	a.pump()
}

// verified says a Metadata read after the drain began showed every
// acknowledged change.
func (a *admin) verified() bool { return a.verifyAt > 0 }

func (a *admin) pump() {
	if a.asking {
		return
	}
	if !a.cl.ready() {
		a.cl.ensureConn()
		return
	}
	switch {
	case !a.done:
		a.createMain()
	case a.check:
		a.metadata()
	case a.changeAt.topic != "" && a.w.faulting():
		a.change()
	}
}

func (a *admin) begin(what string) *Op {
	a.asking = true
	return a.w.hist.begin(&Op{Client: a.cl.name, Kind: OpAdmin, Call: a.w.now, Admin: what})
}

// end finishes a request; the next one, if any, follows after a backoff
// (or a reconnect).
func (a *admin) end(op *Op, outcome Outcome, code int16) {
	a.asking = false
	op.Return, op.Outcome, op.ErrorCode = a.w.now, outcome, code
	a.w.after(a.cl.backoff(), a.pump)
}

func (a *admin) createMain() {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(a.version)
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = a.w.topic, a.w.partitions, int16(max(a.w.rf, 1))
	if a.w.minISR > 1 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr(strconv.Itoa(int(a.w.minISR)))
		t.Configs = append(t.Configs, c)
	}
	for _, kv := range a.w.policy.configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = kv[0], kmsg.StringPtr(kv[1])
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	op := a.begin(fmt.Sprintf("create-topics %s %d", a.w.topic, a.w.partitions))
	a.cl.send(req, func(r kmsg.Response, err error) {
		if err != nil {
			a.end(op, Indefinite, 0)
			return
		}
		resp := r.(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) != 1 {
			a.w.fatalf("admin", "CreateTopics answered %d topics for 1", len(resp.Topics))
			return
		}
		switch code := resp.Topics[0].ErrorCode; {
		case code == 0 || code == kerr.TopicAlreadyExists.Code:
			a.end(op, OK, code)
			a.done = true
			if code == 0 {
				a.acked = append(a.acked, adminTopic{a.w.topic, a.w.partitions})
			} else {
				a.eventual = append(a.eventual, adminTopic{a.w.topic, a.w.partitions})
			}
			a.w.topicReady()
		case kerr.IsRetriable(kerr.ErrorForCode(code)):
			a.end(op, Indefinite, code)
		case code == kerr.InvalidReplicationFactor.Code:
			// Fewer brokers have registered than the topic's replicas
			// (the cluster is starting): wait and try again, as an
			// operator's script does. A broker that never counts them
			// all leaves the workload without a topic, which the
			// progress checks catch.
			a.end(op, Failed, code)
		default:
			a.w.fatalf("admin", "CreateTopics failed: %s", errName(code))
		}
	})
}

// change sends the pending CreateTopics or CreatePartitions.
func (a *admin) change() {
	ch := &a.changeAt
	ch.tries++
	var req kmsg.Request
	var what string
	if ch.delete {
		// from now on the topic may be gone at any moment
		a.acked = slices.DeleteFunc(a.acked, func(t adminTopic) bool { return t.name == ch.topic })
		a.refused = slices.DeleteFunc(a.refused, func(t adminTopic) bool { return t.name == ch.topic })
		r := kmsg.NewPtrDeleteTopicsRequest()
		r.SetVersion(a.delVer)
		r.TimeoutMillis = 30000
		r.TopicNames = []string{ch.topic}
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(ch.topic)
		r.Topics = []kmsg.DeleteTopicsRequestTopic{t}
		req, what = r, "delete-topics "+ch.topic
	} else if ch.create {
		r := kmsg.NewPtrCreateTopicsRequest()
		r.SetVersion(a.version)
		r.TimeoutMillis = 30000
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = ch.topic, ch.partitions, 1
		if a.w.rf > 1 {
			// Replicated like the workload, and lossy: their partitions
			// may elect a leader outside the ISR (ensemble.go).
			t.ReplicationFactor = int16(a.w.rf)
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = "unclean.leader.election.enable", kmsg.StringPtr("true")
			t.Configs = append(t.Configs, c)
			if a.w.uncleanTopics == nil {
				a.w.uncleanTopics = map[string]bool{}
			}
			a.w.uncleanTopics[ch.topic] = true
		}
		r.Topics = append(r.Topics, t)
		req, what = r, fmt.Sprintf("create-topics %s %d", ch.topic, ch.partitions)
	} else {
		r := kmsg.NewPtrCreatePartitionsRequest()
		r.SetVersion(a.cpVer)
		r.TimeoutMillis = 30000
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = ch.topic, ch.partitions
		r.Topics = append(r.Topics, t)
		req, what = r, fmt.Sprintf("create-partitions %s %d", ch.topic, ch.partitions)
	}
	if !ch.delete {
		// A refusal says its own request changed nothing; this one may
		// legitimately bring the topic to what an earlier one was refused.
		a.refused = slices.DeleteFunc(a.refused, func(t adminTopic) bool { return t.name == ch.topic && t.partitions <= ch.partitions })
	}
	op := a.begin(what)
	a.cl.send(req, func(r kmsg.Response, err error) {
		if err != nil {
			a.end(op, Indefinite, 0)
			a.mayHaveApplied(*ch)
			a.check = true // learn what happened from Metadata
			return
		}
		code, ok := changeCode(r)
		if !ok {
			a.w.failf("protocol", "admin: %s answered no topic", what)
			a.end(op, Indefinite, 0)
			return
		}
		a.changed(op, *ch, code)
	})
}

func changeCode(r kmsg.Response) (int16, bool) {
	switch r := r.(type) {
	case *kmsg.DeleteTopicsResponse:
		if len(r.Topics) == 1 {
			return r.Topics[0].ErrorCode, true
		}
	case *kmsg.CreateTopicsResponse:
		if len(r.Topics) == 1 {
			return r.Topics[0].ErrorCode, true
		}
	case *kmsg.CreatePartitionsResponse:
		if len(r.Topics) == 1 {
			return r.Topics[0].ErrorCode, true
		}
	}
	return 0, false
}

// changed handles the answer to a change. A retry of a change whose
// earlier attempt was indefinite may find it done (TOPIC_ALREADY_EXISTS,
// INVALID_PARTITIONS): Metadata then tells.
func (a *admin) changed(op *Op, ch changeRequest, code int16) {
	a.check = true
	if ch.delete {
		a.deletedOne(op, ch.topic, code)
		return
	}
	switch {
	case code == 0:
		a.end(op, OK, 0)
		a.acked = append(a.acked, adminTopic{ch.topic, ch.partitions})
		if !ch.create {
			a.w.addPartitions(ch.partitions)
		}
		// A refused change that this one covers is now legitimately seen.
		kept := a.refused[:0]
		for _, t := range a.refused {
			if t.name != ch.topic || t.partitions > ch.partitions {
				kept = append(kept, t)
			}
		}
		a.refused = kept
		a.changeAt = changeRequest{}
	case indefiniteCode(code) || code == kerr.UnknownServerError.Code:
		// UNKNOWN_SERVER_ERROR says the broker does not know what
		// happened (the coordinator write failed after the change was
		// made in memory): indefinite, as Jepsen's clients treat it.
		a.end(op, Indefinite, code)
		a.mayHaveApplied(ch)
	case ch.tries > 1 && (code == kerr.TopicAlreadyExists.Code || code == kerr.InvalidPartitions.Code):
		a.end(op, Indefinite, code) // an earlier attempt may have done it
		a.changeAt = changeRequest{}
	default:
		a.end(op, Failed, code)
		a.w.logf("admin: %s refused: %s", op.Admin, errName(code))
		// TOPIC_ALREADY_EXISTS and INVALID_PARTITIONS refuse a change
		// the topic may already cover (another change got there first);
		// only other refusals say the state must stay below it.
		covered := code == kerr.TopicAlreadyExists.Code || code == kerr.InvalidPartitions.Code
		if ch.tries == 1 && !covered {
			a.refused = append(a.refused, adminTopic{ch.topic, ch.partitions})
		}
		a.changeAt = changeRequest{}
	}
}

// mayHaveApplied forgets the refused changes that a change with an
// indefinite outcome covers: it may have been made, and show.
func (a *admin) mayHaveApplied(ch changeRequest) {
	if ch.delete {
		return
	}
	a.refused = slices.DeleteFunc(a.refused, func(t adminTopic) bool { return t.name == ch.topic && t.partitions <= ch.partitions })
}

// metadata reads the topics the admin knows of and checks them against
// the acknowledged and refused changes.
func (a *admin) metadata() {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(a.mdVer)
	names := []string{a.w.topic}
	for i := 1; i <= a.extras; i++ {
		names = append(names, fmt.Sprintf("extra%d", i))
	}
	for _, n := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	op := a.begin("metadata")
	verifying := a.w.phase == phaseDrain
	a.cl.send(req, func(r kmsg.Response, err error) {
		if err != nil {
			a.end(op, Indefinite, 0)
			return
		}
		resp := r.(*kmsg.MetadataResponse)
		op.Seen = map[string]int32{}
		retry := false
		for _, t := range resp.Topics {
			if t.Topic == nil {
				continue
			}
			for _, p := range t.Partitions {
				if verifying && p.ErrorCode != 0 && !a.offlineForGood(*t.Topic, p.Partition) {
					retry = true // every partition must have a leader once faults healed
				}
			}
			switch {
			case t.ErrorCode == 0:
				op.Seen[*t.Topic] = int32(len(t.Partitions))
			case t.ErrorCode != kerr.UnknownTopicOrPartition.Code:
				retry = true // e.g. LEADER_NOT_AVAILABLE: ask again
			}
		}
		if verifying && a.w.broker.up {
			// The brokers listed must come to be exactly the registered
			// ones (the broker follows /brokers/ids with a watch): until
			// they are, ask again; the drain's liveness bound judges.
			var listed []int32
			for _, br := range resp.Brokers {
				listed = append(listed, br.NodeID)
			}
			sort.Slice(listed, func(i, j int) bool { return listed[i] < listed[j] })
			holder := a.w.controllerHolder()
			switch {
			case fmt.Sprint(listed) != fmt.Sprint(a.w.registeredBrokers()):
				retry = true
			case resp.ControllerID != holder: // the controller must be /controller's holder
				retry = true
			case !a.w.holderKnows(holder):
				retry = true // the broker holding /controller does not know it won
			}
		}
		a.end(op, OK, 0)
		a.checkSeen(op)
		if verifying && len(a.eventual) > 0 {
			retry = true // not visible yet: ask again (the drain's bound judges)
		}
		if n := op.Seen[a.w.topic]; n > a.w.partitions {
			a.w.addPartitions(n)
		}
		switch {
		case retry:
		case verifying:
			a.check = false
			a.verifyAt++
		case a.w.phase != phaseDrain:
			a.check = false // a read sent before the drain does not verify it
		}
	})
}

// deletable picks an acknowledged extra topic to delete, if any.
func (a *admin) deletable() (string, bool) {
	for _, t := range a.acked {
		if t.name != a.w.topic {
			return t.name, true
		}
	}
	return "", false
}

// deletedOne handles a DeleteTopics answer: acknowledged, the topic must
// never show again; otherwise it may or may not be gone, and is no
// longer required to show.
func (a *admin) deletedOne(op *Op, name string, code int16) {
	a.changeAt = changeRequest{}
	if code == 0 {
		a.end(op, OK, 0)
		a.deleted = append(a.deleted, name)
		return
	}
	a.end(op, Indefinite, code)
}

// offlineForGood says an extra topic's partition can have no leader
// again by Kafka's rules: none, an ISR none of whose members is among
// its replicas (a reassignment replaced or cancelled after the original
// replicas left the ISR, then the leader failed), and no unclean
// election. Kafka's controller leaves such a partition offline until an
// operator elects a leader; the workload's topic is never reassigned
// that way.
func (a *admin) offlineForGood(topic string, part int32) bool {
	if topic == a.w.topic {
		return false
	}
	var config struct {
		Config map[string]string `json:"config"`
	}
	if cfg := a.w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: "/config/topics/" + topic}); cfg.Err == nil {
		if json.Unmarshal(cfg.Data, &config) == nil && config.Config["unclean.leader.election.enable"] == "true" {
			return false // the controller elects a live replica
		}
	}
	st := a.w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: core.TopicPath(topic) + "/partitions/" + strconv.Itoa(int(part)) + "/state"})
	asg := a.w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: core.TopicPath(topic)})
	var state struct {
		Leader int32   `json:"leader"`
		ISR    []int32 `json:"isr"`
	}
	var assignment struct {
		Partitions map[string][]int32 `json:"partitions"`
	}
	if st.Err != nil || asg.Err != nil || json.Unmarshal(st.Data, &state) != nil || json.Unmarshal(asg.Data, &assignment) != nil || state.Leader >= 0 {
		return false
	}
	for _, m := range state.ISR {
		if slices.Contains(assignment.Partitions[strconv.Itoa(int(part))], m) {
			return false
		}
	}
	a.w.logf("admin: %s-%d is offline by Kafka's rules: ISR %v, replicas %v", topic, part, state.ISR, assignment.Partitions[strconv.Itoa(int(part))])
	return true
}

// checkSeen fails the run if a Metadata answer lacks an acknowledged
// change (admin-lost) or shows one the broker refused definitely
// (admin-refused-applied).
func (a *admin) checkSeen(op *Op) {
	kept := a.eventual[:0]
	for _, t := range a.eventual {
		if op.Seen[t.name] >= t.partitions {
			a.acked = append(a.acked, t)
		} else {
			kept = append(kept, t)
		}
	}
	a.eventual = kept
	for _, t := range a.acked {
		if got := op.Seen[t.name]; got < t.partitions {
			a.w.failf("admin-lost", "metadata op %d shows topic %s with %d partitions; %d were acknowledged", op.ID, t.name, got, t.partitions)
		}
	}
	for _, name := range a.deleted {
		if got, ok := op.Seen[name]; ok {
			a.w.failf("admin-resurrected", "metadata op %d shows topic %s with %d partitions; its deletion was acknowledged", op.ID, name, got)
		}
	}
	for _, t := range a.refused {
		if got := op.Seen[t.name]; got >= t.partitions {
			a.w.failf("admin-refused-applied", "metadata op %d shows topic %s with %d partitions; creating %d was refused with a definite error", op.ID, t.name, got, t.partitions)
		}
	}
}

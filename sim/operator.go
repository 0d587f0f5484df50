package sim

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// operator is a cluster's operator at work during the fault phase: now
// and then it asks the controller (the /controller holder, or the
// workload's broker when there is none) for a preferred leader election,
// an unclean one of an extra topic, a partition reassignment (cancelled
// at once, sometimes) or the list of reassignments, and asks a broker
// for its log directories. Each request is an OpAdmin in the history;
// what the answers say is not checked here: the workload's own checks
// (no acknowledged write lost, one leader per epoch, the drain's
// liveness) must hold whatever the operator does.
//
// The workload topic's partitions are reassigned only when it is
// replicated (its producers then use acks=all, the checks judge a
// replicated log: a topic of one replica keeps one), and only ever given
// more replicas, or the same ones in another order, never fewer: the
// simulator's record of each partition's replicas (replicasOf, read
// once) is widened first to every broker a reassignment may add, so
// that it always holds every broker that may acknowledge a write. Extra
// topics (no data) move freely, and only their reassignments are
// cancelled.
type operator struct {
	w      *world
	cls    map[core.BrokerID]*client // one connection per broker
	asking bool
	// cancel, when set, is an extra topic's partition whose
	// reassignment was just accepted: it is cancelled next.
	cancel *core.TopicPartition
}

const operatorMean = core.Instant(1500e6)

func newOperator(w *world) *operator {
	o := &operator{w: w, cls: map[core.BrokerID]*client{}}
	for _, n := range w.nodes {
		cl := newClient(w, fmt.Sprintf("operator-%d", n.id))
		cl.target = n
		o.cls[n.id] = cl
	}
	return o
}

func (o *operator) start() {
	for _, n := range o.w.nodes {
		o.cls[n.id].ensureConn()
	}
	o.w.after(o.w.expInterval(operatorMean), o.loop)
}

func (o *operator) loop() {
	if !o.w.faulting() {
		return
	}
	if !o.asking {
		switch pick := o.w.rng.IntN(10); {
		case pick < 3:
			o.elect()
		case pick < 7:
			o.reassign()
		case pick < 8:
			o.list()
		default:
			o.describeLogDirs()
		}
	}
	o.w.after(o.w.expInterval(operatorMean), o.loop)
}

// controller is the node holding /controller, or the workload's broker.
func (o *operator) controller() *node {
	if n := o.w.nodeByID(core.BrokerID(o.w.controllerHolder())); n != nil {
		return n
	}
	return o.w.broker
}

// send sends req to n, recorded as an OpAdmin named what; done gets the
// answer. Not connected to n (it is down, or the connection broke), it
// connects again and leaves the request for a later round.
func (o *operator) send(n *node, req kmsg.Request, what string, done func(kmsg.Response)) {
	cl := o.cls[n.id]
	if !cl.ready() {
		cl.ensureConn()
		return
	}
	o.asking = true
	op := o.w.hist.begin(&Op{Client: cl.name, Kind: OpAdmin, Call: o.w.now, Admin: what})
	cl.send(req, func(r kmsg.Response, err error) {
		o.asking = false
		op.Return, op.Outcome = o.w.now, OK
		if err != nil {
			op.Outcome = Indefinite
			return
		}
		o.w.logf("operator: %s answered", what)
		done(r)
	})
}

// elect asks for a preferred election of every partition or of the
// workload topic's, or for an unclean election of an extra topic's.
func (o *operator) elect() {
	w := o.w
	req := kmsg.NewPtrElectLeadersRequest()
	req.SetVersion(int16(w.rng.IntN(3)))
	req.TimeoutMillis = 1000
	what := "elect-leaders preferred all"
	switch extra := o.extraTopic(); {
	case extra != "" && req.Version >= 1 && w.rng.IntN(3) == 0:
		req.ElectionType = 1
		t := kmsg.NewElectLeadersRequestTopic()
		t.Topic, t.Partitions = extra, []int32{0}
		req.Topics = append(req.Topics, t)
		what = "elect-leaders unclean " + extra
		// An unclean election asked for elects outside the ISR whatever
		// the topic's unclean.leader.election.enable (ensemble.go).
		if w.uncleanTopics == nil {
			w.uncleanTopics = map[string]bool{}
		}
		w.uncleanTopics[extra] = true
	case w.rng.IntN(2) == 0:
		t := kmsg.NewElectLeadersRequestTopic()
		t.Topic = w.topic
		for p := int32(0); p < w.partitions; p++ {
			t.Partitions = append(t.Partitions, p)
		}
		req.Topics = append(req.Topics, t)
		what = "elect-leaders preferred " + w.topic
	}
	o.send(o.controller(), req, what, func(kmsg.Response) {})
}

// extraTopic is an acknowledged extra topic, or "".
func (o *operator) extraTopic() string {
	var names []string
	for _, t := range o.w.admin.acked {
		if t.name != o.w.topic {
			names = append(names, t.name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[o.w.rng.IntN(len(names))]
}

// assignment reads a topic's replicas from the ensemble (nil: none).
func (o *operator) assignment(topic string) [][]core.BrokerID {
	res := o.w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: core.TopicPath(topic)})
	if res.Err != nil {
		return nil
	}
	a, err := core.TopicAssignment(res.Data)
	if err != nil {
		return nil
	}
	return a
}

// reassign sends the pending cancellation, or reassigns a partition of
// the workload topic (a broker more, or another order) or of an extra
// topic (anywhere).
func (o *operator) reassign() {
	w := o.w
	if o.cancel != nil {
		tp := *o.cancel
		o.cancel = nil
		o.alter(tp, nil, "reassign-cancel")
		return
	}
	topic := w.topic
	if extra := o.extraTopic(); extra != "" && (w.rng.IntN(2) == 0 || w.rf < 2) {
		topic = extra
	}
	if topic == w.topic && w.rf < 2 {
		return
	}
	a := o.assignment(topic)
	if len(a) == 0 {
		return
	}
	part := int32(w.rng.IntN(len(a)))
	rs := a[part]
	var others []core.BrokerID
	for _, n := range w.nodes {
		if !slices.Contains(rs, n.id) {
			others = append(others, n.id)
		}
	}
	var target []core.BrokerID
	switch {
	case topic != w.topic && w.rng.IntN(2) == 0:
		target = []core.BrokerID{w.nodes[w.rng.IntN(len(w.nodes))].id}
	case len(others) > 0 && (topic != w.topic && len(rs) < 3 || topic == w.topic && len(rs) < 4):
		target = append(slices.Clone(rs), others[w.rng.IntN(len(others))])
	default:
		target = append(slices.Clone(rs[1:]), rs[0]) // the next replica is preferred
	}
	if topic == w.topic {
		if known := w.replicasOf(part); known != nil {
			for _, id := range target {
				if !slices.Contains(known, id) {
					w.replicas[part] = append(w.replicas[part], id)
				}
			}
		}
	}
	o.alter(core.TopicPartition{Topic: topic, Partition: part}, target, "reassign")
}

// alter sends one partition's AlterPartitionReassignments (target nil:
// cancel); an accepted reassignment of an extra topic is sometimes
// cancelled at once.
func (o *operator) alter(tp core.TopicPartition, target []core.BrokerID, what string) {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 1000
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = tp.Topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition = tp.Partition
	if target != nil {
		rp.Replicas = make([]int32, len(target))
		for i, id := range target {
			rp.Replicas[i] = int32(id)
		}
	}
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	what = fmt.Sprintf("%s %s %v", what, tp, target)
	o.send(o.controller(), req, what, func(r kmsg.Response) {
		resp := r.(*kmsg.AlterPartitionAssignmentsResponse)
		ok := resp.ErrorCode == 0 && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 &&
			resp.Topics[0].Partitions[0].ErrorCode == 0
		if ok && target != nil && tp.Topic != o.w.topic && o.w.rng.IntN(2) == 0 {
			o.cancel = &tp
			o.reassign()
		}
	})
}

// list asks the controller for the reassignments under way.
func (o *operator) list() {
	o.send(o.controller(), kmsg.NewPtrListPartitionReassignmentsRequest(), "list-reassignments", func(kmsg.Response) {})
}

// describeLogDirs asks a random broker for its log directories; the
// answer must be well formed.
func (o *operator) describeLogDirs() {
	w := o.w
	n := w.nodes[w.rng.IntN(len(w.nodes))]
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.SetVersion(int16(w.rng.IntN(5)))
	o.send(n, req, fmt.Sprintf("describe-log-dirs broker-%d", n.id), func(r kmsg.Response) {
		resp := r.(*kmsg.DescribeLogDirsResponse)
		for _, d := range resp.Dirs {
			if d.ErrorCode != 0 && d.ErrorCode != kerr.KafkaStorageError.Code {
				w.failf("protocol", "DescribeLogDirs of broker %d: directory error %s", n.id, errName(d.ErrorCode))
			}
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					if p.Size < 0 || p.OffsetLag < 0 || p.IsFuture {
						w.failf("protocol", "DescribeLogDirs of broker %d: %s-%d size %d lag %d future %v", n.id, t.Topic, p.Partition, p.Size, p.OffsetLag, p.IsFuture)
					}
				}
			}
		}
	})
}

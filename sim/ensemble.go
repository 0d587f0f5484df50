package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// ensemble is the simulated ZooKeeper ensemble of a cluster run: one
// tree of znodes that every node reaches over its own link, with the
// network's latency, in order in each direction (a ZooKeeper client
// connection). A session lives while the ensemble hears from its node;
// one it has not heard from for the session timeout (the node crashed,
// paused, or cut off from it) expires: its ephemeral znodes go and the
// other sessions' watches fire. A node learns of its expiry once it
// reaches the ensemble again, and goes on with a new session, as
// ZooKeeper's clients do.
type ensemble struct {
	w       *world
	tree    *kio.ZTree
	timeout core.Instant // zookeeper.session.timeout.ms
}

// zkLink is one node's view of the ensemble.
type zkLink struct {
	session  int64        // the node's current session (0: none yet)
	heard    core.Instant // when the ensemble last heard from the node
	cutUntil core.Instant // the link is cut until then
	// Arrival instants of the last message each way, so that messages
	// of one direction arrive in order.
	toLast, fromLast core.Instant
}

func newEnsemble(w *world, timeout core.Instant) *ensemble {
	return &ensemble{w: w, tree: kio.NewZTree(), timeout: timeout}
}

// reachable says whether the ensemble hears from n now.
func (e *ensemble) reachable(n *node) bool {
	return n.up && !n.paused && e.w.now >= n.zk.cutUntil
}

// check runs at every world tick: it notes which nodes the ensemble
// hears from, expires the sessions of those it has not heard from for
// the timeout, and tells a node that reaches it again after its session
// expired of its new session.
func (e *ensemble) check() {
	w := e.w
	for _, n := range w.nodes {
		z := &n.zk
		if z.session == 0 {
			continue
		}
		if e.reachable(n) {
			z.heard = w.now
			if !e.tree.HasSession(z.session) {
				e.renew(n)
			}
			continue
		}
		if e.tree.HasSession(z.session) && w.now-z.heard > e.timeout {
			e.expire(n)
		}
	}
}

// expire ends n's session as the ensemble does when it has not heard
// from the node within the timeout.
func (e *ensemble) expire(n *node) {
	w := e.w
	w.logf("node %d: coordination session %d expired", n.id, n.zk.session)
	w.trace.fold(w.now, trSessionExpiry, uint64(n.zk.session), uint64(n.id), nil)
	e.notify(e.tree.CloseSession(n.zk.session))
	n.registered, n.elected = 0, 0
}

// renew gives a node whose session expired a new one and tells it.
func (e *ensemble) renew(n *node) {
	s := e.tree.OpenSession()
	e.w.logf("node %d: new coordination session %d", n.id, s)
	n.zk.session = s
	n.zkDeliver(core.CoordNewSession{Session: s})
}

// open starts the session of a node's new incarnation.
func (e *ensemble) open(n *node) {
	n.zk.session, n.zk.heard = e.tree.OpenSession(), e.w.now
}

// notify delivers watch notifications to the nodes whose sessions they
// belong to.
func (e *ensemble) notify(fired []kio.WatchFired) {
	for _, f := range fired {
		e.w.noteIDsChange(f.Path)
		for _, n := range e.w.nodes {
			if n.zk.session == f.Session {
				n.zkDeliver(core.CoordWatchFired{Path: f.Path, Type: f.Type})
			}
		}
	}
}

// zkArrival is when a message sent now on n's link arrives (toEnsemble:
// from the node), after a latency, after the previous message that way,
// and after a cut of the link heals.
func (n *node) zkArrival(toEnsemble bool) core.Instant {
	w := n.w
	at := w.now + w.latency()
	if n.zk.cutUntil > w.now {
		at = max(at, n.zk.cutUntil+w.latency())
	}
	last := &n.zk.fromLast
	if toEnsemble {
		last = &n.zk.toLast
	}
	at = max(at, *last)
	*last = at
	return at
}

// coordinate is the driver's Coordinate hook in a cluster run: the
// operation travels to the ensemble, is applied there on the session it
// was sent on (an expired one answers ErrCoordSessionExpired), and its
// result travels back after the notifications it fired for this node.
func (n *node) coordinate(op core.CoordOp) {
	w, e := n.w, n.w.ens
	session, inc := n.zk.session, n.incarnation
	w.schedule(n.zkArrival(true), func() {
		if n.incarnation != inc {
			return // the process that sent it is gone, and its connection
		}
		res := core.CoordResult{Token: op.Token, Err: fmt.Errorf("%w: session %d", core.ErrCoordSessionExpired, session)}
		if e.tree.HasSession(session) {
			var fired []kio.WatchFired
			res, fired = e.tree.Apply(session, op)
			w.trace.fold(w.now, trCoord, uint64(op.Kind), uint64(n.id), []byte(op.Path))
			if op.Kind == core.CoordSet || op.Kind == core.CoordCreate {
				if strings.HasSuffix(op.Path, "/state") && res.Err == nil {
					w.logf("node %d wrote %s: %s", n.id, op.Path, op.Data)
					w.stateWritten(op.Path, op.Data, op.Kind == core.CoordCreate)
				}
			}
			if op.Kind == core.CoordCreate && op.Path == offsetsTopicPath && res.Err == nil {
				w.checkOffsetsTopic(n.id, op.Data)
			}
			e.notify(fired)
		}
		n.zkDeliver(res)
	})
}

// zkDeliver hands the node a message of the ensemble once it arrives,
// if the incarnation it was meant for still runs.
func (n *node) zkDeliver(ev core.Event) {
	inc := n.incarnation
	n.w.schedule(n.zkArrival(false), func() {
		if n.up && n.incarnation == inc {
			n.handle(ev)
		}
	})
}

// ensembleCoordinator is a node incarnation's kio.Coordinator in a
// cluster run: once the broker runs, its operations go through the
// driver's Coordinate hook (node.coordinate); before, at its start, it
// reads the tree and applies its first writes at once, as a starting
// broker's blocking calls do.
type ensembleCoordinator struct{ n *node }

func (c ensembleCoordinator) Load() ([]core.Znode, error) { return c.n.w.ens.tree.Persistent(), nil }
func (c ensembleCoordinator) Session() int64              { return c.n.zk.session }
func (c ensembleCoordinator) TakeWatches() []core.CoordWatchFired {
	return nil
}

// Apply is the start's blocking call.
func (c ensembleCoordinator) Apply(op core.CoordOp) core.CoordResult {
	e := c.n.w.ens
	res, fired := e.tree.Apply(c.n.zk.session, op)
	e.notify(fired)
	return res
}

// clusterStream seeds the draws of a cluster run's own parameters and
// faults, so that a seed's other draws are those of its single-broker
// run.
const clusterStream = 0x636c7573746572 // "cluster"

// drawCluster sets up a cluster run: the ensemble, with a drawn session
// timeout.
func (w *world) drawCluster() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, clusterStream))
	timeout := core.Instant(1e9 + r.Int64N(5e9))
	w.ens = newEnsemble(w, timeout)
	w.mix = append(w.mix, fmt.Sprintf("brokers=%d zk-session=%s", len(w.nodes), fmtDur(timeout)))
	// Half the clusters replicate the workload: three replicas, an ISR
	// of at least one or two, followers dropped from it after a drawn
	// lag.
	w.rf, w.minISR = 1, 1
	if r.IntN(2) == 0 || w.cfg.Directed == DirectForgottenProducer {
		w.rf = min(3, int32(len(w.nodes)))
		w.minISR = 1 + r.Int32N(2)
		if w.cfg.Directed == DirectForgottenProducer {
			w.minISR = 1 // the leader writes on while a follower is cut off
		}
		w.replicaLagMs = 500 + r.Int64N(5000)
		w.mix = append(w.mix, fmt.Sprintf("rf=%d min.insync=%d replica.lag=%dms", w.rf, w.minISR, w.replicaLagMs))
	}
	// The controller's automatic preferred leader rebalance looks often
	// enough to act within a run.
	w.imbalanceCheckSec = 2 + r.Int64N(19)
	w.mix = append(w.mix, fmt.Sprintf("leader.imbalance.check=%ds", w.imbalanceCheckSec))
	// Half the clusters have an operator at work (operator.go); the
	// others keep leaderships where failures put them, which some
	// checks need to see (a follower elected before it caught up).
	if w.operating = r.IntN(2) == 0; w.operating {
		w.mix = append(w.mix, "operator")
	}
}

// clusterFaults draws the faults only a cluster has: brokers other than
// the workload's crashing and coming back (peer-churn), and links to the
// ensemble cut for a while, at times past the session timeout
// (zk-partition).
func (w *world) clusterFaults() []fault {
	r := rand.New(rand.NewPCG(w.cfg.Seed, clusterStream+1))
	var out []fault
	if r.Float64() < 0.7 {
		out = append(out, &peerChurnFault{meanInterval: core.Instant(500e6 + r.Int64N(8e9)), downMax: 3 * w.ens.timeout})
	}
	if r.Float64() < 0.7 {
		out = append(out, &zkPartitionFault{meanInterval: core.Instant(500e6 + r.Int64N(8e9)), lengthMax: 2 * w.ens.timeout})
	}
	if r.Float64() < 0.6 {
		out = append(out, &brokerPartitionFault{meanInterval: core.Instant(500e6 + r.Int64N(8e9)), lengthMax: core.Instant(100e6 + r.Int64N(10e9))})
	}
	out = append(out, w.drawPeerStop(r)...)
	return out
}

// brokerPartitionFault cuts the path between two brokers for a while, in
// one direction or both: the controller's requests to the other stall,
// time out and are sent again once it heals.
type brokerPartitionFault struct{ meanInterval, lengthMax core.Instant }

func (f *brokerPartitionFault) name() string { return "broker-partition" }
func (f *brokerPartitionFault) describe() string {
	return fmt.Sprintf("broker-partition(every~%s,for<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax))
}

func (f *brokerPartitionFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		var links []*client
		for _, n := range w.nodes {
			for _, id := range sortedKeys(n.peerClients) {
				links = append(links, n.peerClients[id])
			}
		}
		if len(links) > 0 {
			cl := links[w.rng.IntN(len(links))]
			until := w.now + 1 + core.Instant(w.rng.Int64N(int64(f.lengthMax)))
			c := cut{toBroker: until, toClient: until}
			switch w.rng.IntN(4) {
			case 0:
				c.toClient = 0
			case 1:
				c.toBroker = 0
			}
			w.count(f.name())
			w.cuts[cl] = &c
			w.logf("broker-partition: %s cut (to broker until %s, back until %s)", cl.name, fmtInstant(c.toBroker), fmtInstant(c.toClient))
			w.schedule(until, func() {
				if w.cuts[cl] == &c {
					delete(w.cuts, cl)
				}
			})
		}
		f.arm(w)
	})
}

// zkRead reads the coordination store as an operator would, outside
// any broker's session.
func (w *world) zkRead(op core.CoordOp) core.CoordResult {
	if w.ens != nil {
		res, _ := w.ens.tree.Apply(0, op)
		return res
	}
	return w.broker.coord.Apply(op)
}

// peerChurnFault crashes a broker other than the workload's; it comes
// back after a drawn downtime (once its session expired). The others'
// watches on /brokers/ids fire both times, and the final Metadata must
// list exactly the registered brokers.
type peerChurnFault struct{ meanInterval, downMax core.Instant }

func (f *peerChurnFault) name() string { return "peer-churn" }
func (f *peerChurnFault) describe() string {
	return fmt.Sprintf("peer-churn(every~%s,down<%s)", fmtDur(f.meanInterval), fmtDur(f.downMax))
}

func (f *peerChurnFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		if n := w.nodes[1+w.rng.IntN(len(w.nodes)-1)]; n.up {
			w.count(f.name())
			n.crash()
			w.after(1+core.Instant(w.rng.Int64N(int64(f.downMax))), n.restart)
		}
		f.arm(w)
	})
}

// zkPartitionFault cuts one broker's link to the ensemble for a while:
// what it sends and what the ensemble sends it waits (TCP), and a cut
// longer than the session timeout expires its session.
type zkPartitionFault struct{ meanInterval, lengthMax core.Instant }

func (f *zkPartitionFault) name() string { return "zk-partition" }
func (f *zkPartitionFault) describe() string {
	return fmt.Sprintf("zk-partition(every~%s,for<%s)", fmtDur(f.meanInterval), fmtDur(f.lengthMax))
}

func (f *zkPartitionFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		n := w.nodes[w.rng.IntN(len(w.nodes))]
		if n.zk.cutUntil <= w.now {
			w.count(f.name())
			n.zk.cutUntil = w.now + 1 + core.Instant(w.rng.Int64N(int64(f.lengthMax)))
			w.disturb(n.zk.cutUntil - w.now)
			w.logf("node %d cut off from the ensemble until %s", n.id, fmtInstant(n.zk.cutUntil))
		}
		f.arm(w)
	})
}

// partitionState is the part of a partition state znode the checks read.
type partitionState struct {
	Leader int32   `json:"leader"`
	ISR    []int32 `json:"isr"`
}

// stateWritten checks a partition state the ensemble took: a leader
// outside the ISR of the state before it is an unclean election, which
// only the topics created with unclean.leader.election.enable may hold.
// A created state (a new partition, or a topic created again) starts
// afresh.
func (w *world) stateWritten(path string, data []byte, created bool) {
	var st partitionState
	if json.Unmarshal(data, &st) != nil {
		w.failf("protocol", "partition state %s is not JSON: %q", path, data)
		return
	}
	if w.states == nil {
		w.states = map[string]partitionState{}
	}
	prev, ok := w.states[path]
	w.states[path] = st
	if created || !ok || st.Leader < 0 || st.Leader == prev.Leader || slices.Contains(prev.ISR, st.Leader) {
		return
	}
	// /brokers/topics/<topic>/partitions/<n>/state
	if topic := strings.Split(path, "/")[3]; w.uncleanTopics[topic] {
		w.logf("unclean election: %s led by %d, outside the ISR %v", path, st.Leader, prev.ISR)
		return
	}
	w.failf("unclean-election", "%s: broker %d elected outside the ISR %v with unclean leader election disabled", path, st.Leader, prev.ISR)
}

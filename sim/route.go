package sim

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// router is where a workload client sends each partition's requests, as
// Kafka's clients decide it: the leaders of the workload topic's
// partitions, learned from Metadata, and one connection per broker,
// opened when first needed. A leader is forgotten when a request for its
// partition fails with a leadership error or its connection drops; the
// next request for the partition asks Metadata again, at most once per
// backoff (retry.backoff.ms). With one broker there is one place to send
// anything: that router knows it from the start and never asks.
type router struct {
	w    *world
	boot *client // the connection to the bootstrap server, node 0
	// conns holds one connection per broker, boot included; each is
	// named as the client (its client.id) and wakes the client when it
	// connects.
	conns   map[core.BrokerID]*client
	leaders []core.BrokerID // per partition of the workload topic; noLeader when unknown
	static  bool
	version int16 // Metadata version
	asking  bool  // a Metadata request is out
	// askAfter holds the next Metadata request back (the backoff after
	// one that failed or left a leader unknown).
	askAfter  core.Instant
	askWake   bool // a wake-up at askAfter is scheduled
	bootNext  int  // the node the next bootstrap attempt dials
	onReady   func()
	extraWait core.Instant // added to every connection's request timeout
	// onDenied, when set, hears that Metadata refused the workload topic
	// for want of an ACL (TOPIC_AUTHORIZATION_FAILED).
	onDenied func()
}

// noLeader marks a partition whose leader the router does not know.
const noLeader core.BrokerID = -1

func newRouter(w *world, name string) *router {
	r := &router{w: w, boot: newClient(w, name), conns: map[core.BrokerID]*client{}, static: len(w.nodes) == 1}
	r.boot.target = w.broker
	r.conns[w.broker.id] = r.boot
	if !r.static {
		r.version = 1 + int16(w.rng.IntN(12))
	}
	r.grow(w.partitions)
	return r
}

// grow makes room for partitions up to n (the topic grew).
func (r *router) grow(n int32) {
	for int32(len(r.leaders)) < n {
		id := noLeader
		if r.static {
			id = r.w.broker.id
		}
		r.leaders = append(r.leaders, id)
	}
}

// setOnReady makes every connection, and every Metadata answer, wake f.
func (r *router) setOnReady(f func()) {
	r.onReady = f
	// order-independent: sets a field of each
	for _, cl := range r.conns {
		cl.onReady = f
	}
}

// addTimeout lengthens every connection's request timeout by d (a
// consumer's long polls).
func (r *router) addTimeout(d core.Instant) {
	r.extraWait += d
	// order-independent: sets a field of each
	for _, cl := range r.conns {
		cl.requestTimeout += d
	}
}

// start dials the bootstrap server.
func (r *router) start() { r.boot.ensureConn() }

// conn is the connection to broker id, dialing it when down; nil when
// no such broker exists.
func (r *router) conn(id core.BrokerID) *client {
	cl := r.conns[id]
	if cl == nil {
		n := r.w.nodeByID(id)
		if n == nil {
			return nil
		}
		cl = newClient(r.w, r.boot.name)
		cl.target, cl.onReady, cl.closesExpected = n, r.onReady, r.boot.closesExpected
		cl.requestTimeout += r.extraWait
		r.conns[id] = cl
	}
	cl.ensureConn()
	return cl
}

// leader is the connection to part's leader, or nil while the leader is
// unknown (Metadata is asked).
func (r *router) leader(part int32) *client {
	id := r.leaders[part]
	if id == noLeader {
		r.refresh()
		return nil
	}
	return r.conn(id)
}

// leaderID is part's leader as the router knows it.
func (r *router) leaderID(part int32) core.BrokerID { return r.leaders[part] }

// stale forgets part's leader after a leadership error.
func (r *router) stale(part int32) {
	if r.static {
		return
	}
	r.leaders[part] = noLeader
}

// lost forgets the leadership of every partition led by the broker of
// cl, whose request failed without an answer.
func (r *router) lost(cl *client) {
	if r.static {
		return
	}
	for p, id := range r.leaders {
		if r.conns[id] == cl {
			r.leaders[p] = noLeader
		}
	}
}

// any is a connected connection, for requests any broker answers; nil
// while none is (a bootstrap server is dialed).
func (r *router) any() *client {
	for _, id := range sortedKeys(r.conns) {
		if cl := r.conns[id]; cl.ready() {
			return cl
		}
	}
	r.dialNext()
	return nil
}

// dialNext dials the next broker in turn, as a client does through its
// bootstrap servers.
func (r *router) dialNext() {
	n := r.w.nodes[r.bootNext%len(r.w.nodes)]
	r.bootNext++
	r.conn(n.id)
}

// refresh asks Metadata for the workload topic, unless a request is out
// or the backoff holds it; the answer wakes the client.
func (r *router) refresh() {
	if r.static || r.asking {
		return
	}
	if r.w.now < r.askAfter {
		if !r.askWake {
			r.askWake = true
			r.w.schedule(r.askAfter, func() {
				r.askWake = false
				r.wake()
			})
		}
		return
	}
	cl := r.any()
	if cl == nil {
		return // a connection wakes the client
	}
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(r.version)
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(r.w.topic)
	req.Topics = append(req.Topics, t)
	r.asking = true
	cl.send(req, func(resp kmsg.Response, err error) {
		r.asking = false
		r.askAfter = r.w.now + r.boot.backoff()
		if err == nil {
			r.learn(resp.(*kmsg.MetadataResponse))
		}
		r.wake()
	})
}

func (r *router) wake() {
	if r.onReady != nil {
		r.onReady()
	}
}

// learn adopts the leaders a Metadata answer gives; a partition without
// one (offline, or unknown to that broker yet) stays unknown.
func (r *router) learn(resp *kmsg.MetadataResponse) {
	for i := range resp.Topics {
		t := &resp.Topics[i]
		if t.Topic != nil && *t.Topic == r.w.topic && t.ErrorCode == kerr.TopicAuthorizationFailed.Code && r.onDenied != nil {
			r.onDenied()
		}
		if t.Topic == nil || *t.Topic != r.w.topic || t.ErrorCode != 0 {
			continue
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if p.Partition < 0 || int(p.Partition) >= len(r.leaders) {
				continue
			}
			r.leaders[p.Partition] = noLeader
			if p.ErrorCode == 0 && p.Leader >= 0 {
				r.leaders[p.Partition] = core.BrokerID(p.Leader)
			}
		}
	}
}

// conns lists the router's connections in broker order.
func (r *router) list() []*client {
	var out []*client
	for _, id := range sortedKeys(r.conns) {
		out = append(out, r.conns[id])
	}
	return out
}

// describe lists the connections' states, for reports.
func (r *router) describe() string {
	var out []string
	for _, id := range sortedKeys(r.conns) {
		cl := r.conns[id]
		out = append(out, fmt.Sprintf("%d:ready=%v,dialing=%v,inflight=%d", id, cl.ready(), cl.dialing, len(cl.inflight)))
	}
	return strings.Join(out, " ")
}

// close drops every connection (the client process is gone).
func (r *router) close() {
	for _, cl := range r.list() {
		if cl.conn != nil {
			cl.abandon(cl.conn)
		}
	}
}

// leadershipError says a partition's error means its leader moved or is
// not known to the broker asked, so the client asks Metadata again.
func leadershipError(code int16) bool {
	switch code {
	case kerr.NotLeaderForPartition.Code, kerr.UnknownTopicOrPartition.Code, kerr.LeaderNotAvailable.Code,
		kerr.FencedLeaderEpoch.Code, kerr.UnknownLeaderEpoch.Code, kerr.KafkaStorageError.Code:
		return true
	}
	return false
}

// hostOf is the node holding the workload partition part's first
// replica, as the topic's assignment says (the broker itself with one
// broker). Nil while the cluster has not placed it.
func (w *world) hostOf(part int32) *node {
	rs := w.replicasOf(part)
	if len(rs) == 0 {
		return nil
	}
	return w.nodeByID(rs[0])
}

// replicasOf is the workload partition part's replicas, as the topic's
// assignment says; nil while the cluster has not placed it.
func (w *world) replicasOf(part int32) []core.BrokerID {
	if w.ens == nil {
		return []core.BrokerID{w.broker.id}
	}
	if int(part) >= len(w.replicas) {
		res := w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: core.TopicPath(w.topic)})
		if res.Err != nil {
			return nil
		}
		assignment, err := core.TopicAssignment(res.Data)
		if err != nil {
			w.failf("topic-znode", "the workload topic's znode does not parse: %v", err)
			return nil
		}
		w.replicas = assignment
		if int(part) >= len(w.replicas) {
			return nil
		}
	}
	return w.replicas[part]
}

// storageDelayMax is the longest any node's storage queue holds an
// operation.
func (w *world) storageDelayMax() core.Instant {
	var d core.Instant
	for _, n := range w.nodes {
		d = max(d, n.storage.delayMax)
	}
	return d
}

// brokersAnswering counts the brokers that acknowledged produces.
func (h *History) brokersAnswering() int {
	by := map[core.BrokerID]bool{}
	for _, op := range h.Ops {
		if op.Kind == OpProduce && op.Outcome == OK {
			by[op.Broker] = true
		}
	}
	return len(by)
}

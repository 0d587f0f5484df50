package sim

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// errNoPeerConn fails a controller request sent while its connection to
// the other broker is down; the controller sends it again later.
var errNoPeerConn = errors.New("no connection to the broker")

// Send implements driver.Transport: the controller's request travels to
// the other node over a simulated connection of this node's (one per
// destination, reconnecting with backoff, as the network treats every
// connection), and the response or the failure comes back to this
// incarnation.
func (t *transport) Send(ps core.PeerSend) {
	n, w := t.n, t.w
	dest := w.nodeByID(ps.Broker)
	reply := func(resp kmsg.Response, err error) {
		if n.incarnation != t.incarnation || !n.up {
			return
		}
		n.handle(core.PeerResponse{Token: ps.Token, Response: resp, Err: err})
	}
	if dest == nil {
		w.after(w.latency(), func() { reply(nil, fmt.Errorf("no broker %d", ps.Broker)) })
		return
	}
	cl := n.peerClients[ps.Broker]
	if cl == nil {
		cl = newClient(w, fmt.Sprintf("broker-%d-to-%d", n.id, ps.Broker))
		cl.target = dest
		n.peerClients[ps.Broker] = cl
	}
	if !cl.ready() {
		cl.ensureConn()
		w.after(w.latency(), func() { reply(nil, errNoPeerConn) })
		return
	}
	cl.send(ps.Request, reply)
}

// nodeByID finds the node running broker id.
func (w *world) nodeByID(id core.BrokerID) *node {
	for _, n := range w.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// dropPeerClients closes a node's connections to the other brokers (its
// process is gone).
func (n *node) dropPeerClients() {
	for _, id := range sortedKeys(n.peerClients) {
		cl := n.peerClients[id]
		cl.stopped = true
		if cl.conn != nil {
			cl.abandon(cl.conn)
		}
	}
	n.peerClients = map[core.BrokerID]*client{}
}

// leaderKey is one leadership: a partition at a leader epoch.
type leaderKey struct {
	tp    core.TopicPartition
	epoch int32
}

// noteLeader records that broker id took the leadership of tp at epoch;
// two brokers leading one partition at one epoch fail the run (Kafka's
// "at most one leader per leader epoch").
func (w *world) noteLeader(tp core.TopicPartition, epoch int32, id core.BrokerID) {
	if w.leaders == nil {
		w.leaders = map[leaderKey]core.BrokerID{}
	}
	k := leaderKey{tp, epoch}
	if prev, ok := w.leaders[k]; ok && prev != id {
		w.failf("leader-epoch", "%s at leader epoch %d led by broker %d, then by broker %d", tp, epoch, prev, id)
		return
	}
	w.leaders[k] = id
}

// retarget points the client at another broker: it drops its connection
// (failing what is in flight) and connects to n.
func (c *client) retarget(n *node) {
	c.target = n
	if c.conn != nil {
		c.abandon(c.conn)
	}
	c.ensureConn()
}

// coordNode is the broker the member's coordinator connection goes to.
func (m *groupMember) coordNode() *node {
	if m.coord.target != nil {
		return m.coord.target
	}
	return m.w.broker
}

package sim

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// netParams is the simulated network's latency model: every frame takes
// latencyMin plus a uniform share of latencyJitter, and with spikeProb a
// spike of up to spikeMax more. Frames of one connection and direction
// never overtake each other (TCP).
type netParams struct {
	latencyMin    core.Instant
	latencyJitter core.Instant
	spikeProb     float64
	spikeMax      core.Instant
}

func (w *world) latency() core.Instant {
	n := w.net
	d := n.latencyMin
	if n.latencyJitter > 0 {
		d += core.Instant(w.rng.Int64N(int64(n.latencyJitter)))
	}
	if n.spikeProb > 0 && w.rng.Float64() < n.spikeProb {
		d += core.Instant(w.rng.Int64N(int64(n.spikeMax) + 1))
		w.count("latency-spike")
	}
	return d
}

// conn is one simulated TCP connection. Each side has its own idea of
// whether it is open: data in flight towards a side that closed is lost.
type conn struct {
	id          core.ConnID
	listener    string // the broker listener it came in on
	cl          *client
	n           *node // the broker it connects to
	incarnation int   // the broker incarnation it was accepted by
	brokerOpen  bool
	clientOpen  bool
	// Arrival instant of the last frame scheduled in each direction, so
	// that frames of one direction arrive in order.
	toBrokerLast core.Instant
	toClientLast core.Instant

	reqSeq    uint64              // next request sequence number (broker side)
	respNext  uint64              // next response to write, in request order
	respReady map[uint64][]byte   // completed responses waiting for their turn (nil = none)
	respHas   map[uint64]struct{} // which seqs are in respReady
	closeAt   uint64              // with closing: close once respNext reaches it
	closing   bool
	// checked holds the Produce, Fetch and ListOffsets requests awaiting
	// a response, by sequence number, for checkResponse.
	checked map[uint64]checkedRequest
	// A client over its quota: mutedUntil holds its requests back
	// (held, in arrival order, released then); holds names the
	// responses that wait themselves (clients before KIP-219).
	mutedUntil core.Instant
	held       [][]byte
	holds      map[uint64]core.Instant
}

// checkedRequest is a request awaiting its response, with the instant it
// reached the broker.
type checkedRequest struct {
	req kmsg.Request
	at  core.Instant
}

// cut is a network partition between one client and the broker: frames
// in a direction stall until its instant (TCP retransmits them once the
// path heals, unless the connection was given up meanwhile). Zero means
// that direction flows; both set is a full partition.
type cut struct {
	toBroker, toClient core.Instant
}

// stalledUntil says until when frames from cl (toBroker) or to cl stall.
func (w *world) stalledUntil(cl *client, toBroker bool) core.Instant {
	c := w.cuts[cl]
	switch {
	case c == nil:
		return 0
	case toBroker && c.toBroker > w.now:
		return c.toBroker
	case !toBroker && c.toClient > w.now:
		return c.toClient
	}
	return 0
}

// arrival is when a frame sent now towards the broker (or the client)
// of c arrives: after a latency, after the previous frame of that
// direction, and after a partition of the path heals.
func (w *world) arrival(c *conn, toBroker bool) core.Instant {
	at := w.now + w.latency()
	if until := w.stalledUntil(c.cl, toBroker); until > 0 {
		at = max(at, until+w.latency())
	}
	if toBroker {
		at = max(at, c.toBrokerLast)
		c.toBrokerLast = at
	} else {
		at = max(at, c.toClientLast)
		c.toClientLast = at
	}
	return at
}

// dial opens a connection for cl: the SYN reaches the broker after one
// latency, the answer comes back after another. Across a partition the
// SYN is lost and the client's connect attempt times out.
func (w *world) dial(cl *client) {
	target := cl.target
	if target == nil {
		target = w.broker
	}
	if w.stalledUntil(cl, true) > 0 || w.stalledUntil(cl, false) > 0 {
		w.after(cl.requestTimeout, cl.dialFailed)
		return
	}
	w.after(w.latency(), func() {
		n := target
		if !n.up {
			w.after(w.latency(), cl.dialFailed)
			return
		}
		w.nextConn++
		c := &conn{id: w.nextConn, cl: cl, n: n, incarnation: n.incarnation, brokerOpen: true, clientOpen: true,
			respReady: map[uint64][]byte{}, respHas: map[uint64]struct{}{}, listener: core.ProtocolPlaintext}
		if cl.sasl {
			c.listener = core.ProtocolSASLPlaintext
		}
		n.conns[c.id] = c
		n.connList = append(n.connList, c)
		w.trace.fold(w.now, trConnect, uint64(c.id), 0, []byte(cl.name))
		w.schedule(w.arrival(c, false), func() {
			if !c.clientOpen {
				cl.dialFailed()
				return
			}
			cl.connected(c)
		})
	})
}

// sendToBroker puts a request frame (with its length prefix) on the wire.
func (w *world) sendToBroker(c *conn, frame []byte) {
	w.schedule(w.arrival(c, true), func() {
		if !c.brokerOpen || !c.n.up || c.incarnation != c.n.incarnation {
			return
		}
		c.n.admitRequest(c, frame)
	})
}

// admitRequest hands a request to the broker unless the connection is
// throttled: then it waits, behind any already waiting, until the
// throttle ends.
func (n *node) admitRequest(c *conn, frame []byte) {
	w := n.w
	if w.now >= c.mutedUntil && len(c.held) == 0 {
		n.deliverRequest(c, frame)
		return
	}
	c.held = append(c.held, frame)
	if len(c.held) > 1 {
		return // a release is scheduled
	}
	inc := n.incarnation
	// open: the connection still reaches the broker process the frames
	// were sent to. A delivery may crash the broker (an injected crash
	// at IO), so it is asked again before each.
	open := func() bool {
		return c.brokerOpen && n.up && c.incarnation == n.incarnation && inc == n.incarnation
	}
	var release func()
	release = func() {
		if !open() {
			c.held = nil
			return
		}
		if w.now < c.mutedUntil {
			w.schedule(c.mutedUntil, release)
			return
		}
		for len(c.held) > 0 && w.now >= c.mutedUntil {
			if !open() {
				c.held = nil
				return
			}
			f := c.held[0]
			c.held = c.held[1:]
			n.deliverRequest(c, f)
		}
		if len(c.held) > 0 {
			w.schedule(c.mutedUntil, release)
		}
	}
	w.schedule(max(c.mutedUntil, w.now), release)
}

func (n *node) deliverRequest(c *conn, frame []byte) {
	w := n.w
	w.trace.fold(w.now, trRequest, uint64(c.id), c.reqSeq, frame)
	h, body, err := kio.DecodeRequest(frame[4:])
	if err != nil {
		// The sim's clients only send valid frames: this is a codec bug.
		w.failf("codec", "broker could not decode a request from %s: %v", c.cl.name, err)
		w.closeConn(c, "undecodable request")
		return
	}
	seq := c.reqSeq
	c.reqSeq++
	if k := body.Key(); k <= 2 {
		if c.checked == nil {
			c.checked = map[uint64]checkedRequest{}
		}
		c.checked[seq] = checkedRequest{body, w.now}
	}
	// The simulated network has a PLAINTEXT listener and, when the seed
	// draws SASL, a SASL_PLAINTEXT one whose connections the core
	// authenticates.
	ev := core.Request{Conn: c.id, Seq: seq, Header: h, Body: body, ClientHost: "/" + c.cl.name,
		Listener: c.listener, Principal: core.PrincipalAnonymous, Size: len(frame) - 4}
	if w.burstWindow == 0 {
		n.handle(ev)
		return
	}
	// Requests arriving within the window are read in one wakeup and
	// handled in one burst (one group commit covers all their appends).
	n.inbox = append(n.inbox, ev)
	if len(n.inbox) == 1 {
		inc := n.incarnation
		w.after(core.Instant(w.rng.Int64N(int64(w.burstWindow))), func() {
			if n.up && n.incarnation == inc && len(n.inbox) > 0 {
				evs := n.inbox
				n.inbox = nil
				n.handleBurst(evs)
			}
		})
	}
}

// transport is the driver's Transport for one broker incarnation.
type transport struct {
	w           *world
	n           *node
	incarnation int
}

// Throttle mutes the connection for ms from when the response to seq is
// written (or, with hold, delays that response ms and mutes meanwhile).
func (t *transport) Throttle(id core.ConnID, seq uint64, ms int32, hold bool) {
	c := t.n.conns[id]
	if c == nil || !c.brokerOpen || t.incarnation != t.n.incarnation {
		return
	}
	d := core.Instant(ms) * 1e6
	c.mutedUntil = max(c.mutedUntil, t.w.now+d)
	if hold {
		if c.holds == nil {
			c.holds = map[uint64]core.Instant{}
		}
		c.holds[seq] = max(c.holds[seq], t.w.now+d)
	}
}

func (t *transport) Respond(id core.ConnID, seq uint64, parts kio.Frame) {
	var frame []byte // the sim's network carries frames in one piece
	var spanErr error
	if parts.Parts != nil {
		frame, spanErr = parts.AppendTo(make([]byte, 0, parts.Len()))
	}
	w := t.w
	w.trace.fold(w.now, trRespond, uint64(id), seq, frame)
	c := t.n.conns[id]
	if c == nil || !c.brokerOpen || t.incarnation != t.n.incarnation {
		return
	}
	if spanErr != nil {
		// A span of the frame cannot be read (its file was cut or
		// closed since the read, or the read failed): realio's writer
		// closes the connection after the responses before it, as here.
		w.logf("broker drops connection %d of %s at request %d: %v", id, c.cl.name, seq, spanErr)
		c.closing, c.closeAt = true, seq
		w.flushResponses(c)
		return
	}
	if _, dup := c.respHas[seq]; dup || seq < c.respNext {
		w.failf("driver", "second response to request %d on connection %d", seq, id)
		return
	}
	if cr, ok := c.checked[seq]; ok {
		delete(c.checked, seq)
		if frame != nil {
			t.n.checkResponse(cr, frame)
		}
	}
	if at, ok := c.holds[seq]; ok {
		delete(c.holds, seq)
		inc := t.incarnation
		w.schedule(at, func() {
			if c.brokerOpen && inc == t.n.incarnation {
				c.respReady[seq] = frame
				c.respHas[seq] = struct{}{}
				w.flushResponses(c)
			}
		})
		return
	}
	c.respReady[seq] = frame
	c.respHas[seq] = struct{}{}
	w.flushResponses(c)
}

func (t *transport) Lifecycle(l core.Lifecycle) {
	w := t.w
	if t.incarnation != t.n.incarnation {
		return
	}
	switch {
	case l.Damaged != (core.TopicPartition{}):
		w.scrubReported(t.n, l.Damaged, l.Damage)
	case l.Leading != (core.TopicPartition{}):
		w.noteLeader(l.Leading, l.LeaderEpoch, t.n.id)
	case l.Ready:
		// Requests that came before the controller's metadata waited for
		// it: their latency is not the broker's to answer for (what
		// clients see is judged as before).
		w.disturbedUntil = max(w.disturbedUntil, w.now+1)
	case l.Fatal != "":
		w.failf("fatal", "the broker stopped itself: %s", l.Fatal)
	case l.Registered:
		t.n.registered = t.incarnation
	case l.Elected:
		t.n.elected = t.incarnation
		w.controllerElected(l.ControllerEpoch, fmt.Sprintf("broker %d incarnation %d", t.n.id, t.incarnation))
	}
}

func (t *transport) Close(id core.ConnID, seq uint64, reason string) {
	w := t.w
	w.trace.fold(w.now, trClose, uint64(id), seq, []byte(reason))
	c := t.n.conns[id]
	if c == nil || !c.brokerOpen || t.incarnation != t.n.incarnation {
		return
	}
	if !c.cl.closesExpected {
		w.failf("broker-close", "broker closed connection %d of %s at request %d: %s", id, c.cl.name, seq, reason)
	}
	c.closing, c.closeAt = true, seq
	w.flushResponses(c)
}

// flushResponses writes the responses that are next in request order.
func (w *world) flushResponses(c *conn) {
	for {
		if _, ok := c.respHas[c.respNext]; !ok {
			break
		}
		frame := c.respReady[c.respNext]
		delete(c.respReady, c.respNext)
		delete(c.respHas, c.respNext)
		c.respNext++
		if frame != nil {
			w.sendToClient(c, frame)
		}
	}
	if c.closing && c.respNext >= c.closeAt {
		w.closeConn(c, "closed by the broker")
	}
}

func (w *world) sendToClient(c *conn, frame []byte) {
	w.schedule(w.arrival(c, false), func() {
		if !c.clientOpen {
			return
		}
		w.trace.fold(w.now, trDeliver, uint64(c.id), 0, frame)
		c.cl.receive(c, frame)
	})
}

// closeConn is an orderly close by the broker: data already written still
// reaches the client, then the client sees the end of the stream.
func (w *world) closeConn(c *conn, reason string) {
	w.forgetConn(c)
	w.schedule(w.arrival(c, false), func() { w.clientLost(c) })
	// As its own event: this may run inside the driver's Handle, which
	// must not be re-entered.
	w.after(0, func() { c.n.brokerLost(c) })
}

// resetConn breaks a connection abruptly (a network fault): both sides
// lose what is in flight and learn of it after a latency.
func (w *world) resetConn(c *conn) {
	w.trace.fold(w.now, trFault, uint64(c.id), 0, []byte("reset"))
	w.forgetConn(c)
	c.clientOpen = false
	cl := c.cl
	w.after(w.latency(), func() {
		w.trace.fold(w.now, trDisconnect, uint64(c.id), 0, nil)
		cl.lost(c)
	})
	// The broker hears of it once the path lets the reset through.
	w.schedule(max(w.now, w.stalledUntil(cl, true))+w.latency(), func() { c.n.brokerLost(c) })
}

func (w *world) clientLost(c *conn) {
	if !c.clientOpen {
		return
	}
	c.clientOpen = false
	w.trace.fold(w.now, trDisconnect, uint64(c.id), 0, nil)
	c.cl.lost(c)
}

// brokerLost tells the broker a connection is gone, if the broker that
// accepted it is still running.
func (n *node) brokerLost(c *conn) {
	w := n.w
	if !n.up || c.incarnation != n.incarnation {
		return
	}
	w.trace.fold(w.now, trConnClosed, uint64(c.id), 0, nil)
	n.handle(core.ConnClosed{Conn: c.id})
}

// forgetConn closes the broker side of c and drops it from the tables.
func (w *world) forgetConn(c *conn) {
	c.brokerOpen = false
	delete(c.n.conns, c.id)
	for i, o := range c.n.connList {
		if o == c {
			c.n.connList = append(c.n.connList[:i], c.n.connList[i+1:]...)
			break
		}
	}
}

func (c *conn) String() string { return fmt.Sprintf("conn %d (%s)", c.id, c.cl.name) }

// Authenticated implements driver.Transport: the simulated clients do
// not use the v0 handshake's bare tokens, so nothing changes here.
func (t *transport) Authenticated(core.Authenticated) {}

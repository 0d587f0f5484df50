package sim

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// errDisconnected completes every in-flight call of a connection that
// broke: the request may or may not have been processed.
var errDisconnected = errors.New("connection lost")

// client is the connection half of every simulated client: one
// connection at a time, pipelined requests answered in order, reconnect
// with backoff. A request unanswered for requestTimeout makes the client
// give up the connection, as Kafka clients do (request.timeout.ms): every
// call in flight on it ends with errDisconnected, an indefinite outcome.
// The workload on top (admin, producer, consumer) sees callbacks only.
type client struct {
	w        *world
	name     string
	target   *node // the broker it connects to; nil: the workload's broker
	conn     *conn
	dialing  bool
	stopped  bool
	corr     int32
	inflight []*call // sent, unanswered, in send order

	backoffMin, backoffMax core.Instant
	requestTimeout         core.Instant // also the connect timeout
	timerSet               bool         // a timeout check is scheduled
	closesExpected         bool         // acks=0: the broker closes the connection on errors
	onReady                func()       // connected; may send
	// sasl: the client connects to the SASL_PLAINTEXT listener and
	// authenticates with PLAIN before anything else; authing is set
	// while it does (not ready yet).
	sasl    bool
	authing bool
	// throttledUntil: the broker answered throttle_time_ms (a quota), and
	// the client sends nothing before then; onReady wakes it.
	throttledUntil core.Instant
	// saslUser and saslPassword are the PLAIN credentials: the
	// workload's, or the ACL victim's (acl.go).
	saslUser, saslPassword string
}

type call struct {
	corr     int32
	req      kmsg.Request
	done     func(kmsg.Response, error)
	deadline core.Instant
}

func newClient(w *world, name string) *client {
	c := &client{w: w, name: name, backoffMin: 5e6, backoffMax: 200e6,
		requestTimeout: core.Instant(2e9 + w.rng.Int64N(8e9)),
		sasl:           w.sasl && !strings.HasPrefix(name, "broker-") && !strings.HasPrefix(name, "operator-"),
		saslUser:       simSASLUser, saslPassword: simSASLPassword}
	if name == aclProducer {
		c.saslUser, c.saslPassword = aclUser, aclPassword
	}
	return c
}

// ready says the client may send on its connection: connected,
// authenticated, and not holding back for a throttle the broker asked
// for (throttle_time_ms, KIP-219), as Kafka's clients hold back.
func (c *client) ready() bool {
	return c.conn != nil && !c.authing && c.w.now >= c.throttledUntil
}

// ensureConn dials unless connected or dialing.
func (c *client) ensureConn() {
	if c.conn != nil || c.dialing || c.stopped {
		return
	}
	c.dialing = true
	c.w.dial(c)
}

func (c *client) backoff() core.Instant {
	return c.backoffMin + core.Instant(c.w.rng.Int64N(int64(c.backoffMax-c.backoffMin)+1))
}

func (c *client) dialFailed() {
	c.dialing = false
	c.w.after(c.backoff(), c.ensureConn)
}

func (c *client) connected(cn *conn) {
	c.dialing = false
	c.conn = cn
	if c.sasl {
		c.authenticate(cn)
		return
	}
	if c.onReady != nil {
		c.onReady()
	}
}

// Simulated SASL credentials: the brokers' PLAIN user (see drawBroker).
const (
	simSASLUser     = "sim"
	simSASLPassword = "sim-secret"
)

// authenticate runs SaslHandshake v1 and SaslAuthenticate (PLAIN) on a
// new connection; the client is ready once the broker accepted it. A
// refusal is a failure of the run: the credentials are right.
func (c *client) authenticate(cn *conn) {
	c.authing = true
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, core.MechanismPlain
	c.send(hs, func(r kmsg.Response, err error) {
		if err != nil || cn != c.conn {
			return // lost: a reconnect authenticates again
		}
		if code := r.(*kmsg.SASLHandshakeResponse).ErrorCode; code != 0 {
			c.w.failf("sasl", "%s: SaslHandshake PLAIN: error %d", c.name, code)
			c.abandon(cn)
			return
		}
		a := kmsg.NewPtrSASLAuthenticateRequest()
		a.Version, a.SASLAuthBytes = 2, []byte("\x00"+c.saslUser+"\x00"+c.saslPassword)
		c.send(a, func(r kmsg.Response, err error) {
			if err != nil || cn != c.conn {
				return
			}
			if code := r.(*kmsg.SASLAuthenticateResponse).ErrorCode; code != 0 {
				c.w.failf("sasl", "%s: SaslAuthenticate PLAIN: error %d", c.name, code)
				c.abandon(cn)
				return
			}
			c.authing = false
			if c.onReady != nil {
				c.onReady()
			}
		})
	})
}

// send pipelines req on the current connection; done gets the decoded
// response or errDisconnected. The caller checks ready first.
func (c *client) send(req kmsg.Request, done func(kmsg.Response, error)) {
	if c.conn == nil {
		panic("sim: send without a connection")
	}
	c.corr++
	frame := kio.AppendRequest(nil, c.corr, c.name, req)
	c.inflight = append(c.inflight, &call{corr: c.corr, req: req, done: done, deadline: c.w.now + c.requestTimeout})
	c.w.sendToBroker(c.conn, frame)
	c.armTimeout()
}

// sendOneWay writes a request that gets no response (an acks=0 produce).
func (c *client) sendOneWay(req kmsg.Request) {
	if c.conn == nil {
		panic("sim: send without a connection")
	}
	c.corr++
	c.w.sendToBroker(c.conn, kio.AppendRequest(nil, c.corr, c.name, req))
}

// armTimeout schedules a check at the oldest call's deadline. Deadlines
// grow in send order, so the oldest call is the first to expire.
func (c *client) armTimeout() {
	if c.timerSet || len(c.inflight) == 0 {
		return
	}
	c.timerSet = true
	c.w.schedule(c.inflight[0].deadline, func() {
		c.timerSet = false
		if c.conn != nil && len(c.inflight) > 0 && c.inflight[0].deadline <= c.w.now {
			c.w.logf("%s: request %d (%s) timed out; dropping %s", c.name, c.inflight[0].corr, kmsg.NameForKey(c.inflight[0].req.Key()), c.conn)
			c.w.timeouts++
			c.abandon(c.conn)
			return
		}
		c.armTimeout()
	})
}

// receive matches a response frame to the oldest in-flight call.
func (c *client) receive(cn *conn, frame []byte) {
	if cn != c.conn {
		return
	}
	if len(c.inflight) == 0 {
		c.w.failf("protocol", "%s got a response with no request in flight", c.name)
		c.abandon(cn)
		return
	}
	k := c.inflight[0]
	c.inflight = c.inflight[1:]
	resp, err := kio.DecodeResponse(k.req, frame)
	if err == nil && int32(binary.BigEndian.Uint32(frame[4:])) != k.corr {
		err = errors.New("correlation id does not match the oldest request")
	}
	if err != nil {
		c.w.failf("protocol", "%s: response to key %d v%d: %v", c.name, k.req.Key(), k.req.GetVersion(), err)
		k.done(nil, errDisconnected)
		c.abandon(cn)
		return
	}
	if t, ok := resp.(kmsg.ThrottleResponse); ok {
		if ms, after := t.Throttle(); after && ms > 0 {
			until := c.w.now + core.Instant(ms)*1e6
			if until > c.throttledUntil {
				c.throttledUntil = until
				c.w.schedule(until, func() {
					if c.onReady != nil && c.ready() {
						c.onReady()
					}
				})
			}
		}
	}
	k.done(resp, nil)
}

// abandon drops a connection the client no longer trusts.
func (c *client) abandon(cn *conn) {
	c.w.resetConn(cn)
	c.lost(cn)
}

// lost fails every in-flight call of cn and schedules a reconnect.
func (c *client) lost(cn *conn) {
	if cn != c.conn {
		return
	}
	c.conn, c.authing = nil, false
	calls := c.inflight
	c.inflight = nil
	for _, k := range calls {
		k.done(nil, errDisconnected)
	}
	c.w.after(c.backoff(), c.ensureConn)
}

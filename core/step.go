package core

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// step is what the sub-machines of one broker share while it consumes an
// event (DESIGN.md, "Cluster shape"): the configuration, the clock, the
// seeded random source, the effects of the current Step, and each
// outstanding effect's token and continuation. The Broker routes events
// to its sub-machines; each holds the step and emits through it.
type step struct {
	cfg       Config
	rng       splitmix
	now       Instant
	nextToken Token
	// waits maps each outstanding effect's token to the continuation
	// that consumes its completion event.
	waits map[Token]func(ev Event)
	out   []Effect // the effects of the current Step
}

func newStep(cfg Config) *step {
	return &step{cfg: cfg, rng: splitmix{state: cfg.Seed}, waits: map[Token]func(Event){}}
}

// emit appends an effect to the current Step's.
func (s *step) emit(e Effect) { s.out = append(s.out, e) }

// cover counts a coverage point (see package cover); it changes nothing.
func (s *step) cover(p cover.Point) { s.cfg.Coverage.Hit(p) }

// await registers the continuation for an effect's completion and returns
// the token to put in the effect.
func (s *step) await(k func(Event)) Token {
	s.nextToken++
	s.waits[s.nextToken] = k
	return s.nextToken
}

// awaitFor registers k for the completion, of type E, of the effect that
// will carry the returned token: the one place a completion's type is
// asserted (a mismatch is a broken invariant of the runtime, and panics).
func awaitFor[E Event](s *step, k func(E)) Token {
	return s.await(func(ev Event) { k(ev.(E)) })
}

// complete runs the continuation of the effect tok names.
func (s *step) complete(tok Token, ev Event) {
	k, ok := s.waits[tok]
	if !ok {
		panic(fmt.Sprintf("core: completion %T for unknown token %d", ev, tok))
	}
	delete(s.waits, tok)
	k(ev)
}

// respondThrottled answers r with body and throttles its connection for
// ms (quota.go): the body's throttle_time_ms says at least ms, and the
// runtime holds back the connection's next requests; a client that does
// not read throttle_time_ms (before KIP-219) gets the answer that much
// later too.
func (s *step) respondThrottled(r Request, body kmsg.Response, ms int32) {
	s.respondWith(r, body, ms, nil)
}

// respondWith is respondThrottled of a fetch response whose record sets
// records were read by reference.
func (s *step) respondWith(r Request, body kmsg.Response, ms int32, records []RecordsAt) {
	if ms <= 0 {
		if body != nil {
			body.SetVersion(r.Header.Version)
		}
		s.emit(Respond{Conn: r.Conn, Seq: r.Seq, CorrelationID: r.Header.CorrelationID, Body: body, Records: records})
		return
	}
	if body != nil {
		body.SetVersion(r.Header.Version)
		if t, ok := body.(interface {
			Throttle() (int32, bool)
			SetThrottle(int32)
		}); ok {
			cur, _ := t.Throttle()
			t.SetThrottle(max(cur, ms))
		}
	}
	s.emit(Throttle{Conn: r.Conn, Seq: r.Seq, Ms: ms, Hold: !clientThrottles(r)})
	s.emit(Respond{Conn: r.Conn, Seq: r.Seq, CorrelationID: r.Header.CorrelationID, Body: body, Records: records})
}

// clientThrottles says whether the client of r reads throttle_time_ms
// and holds back itself (KIP-219: the response version that says so),
// so that its response need not wait.
func clientThrottles(r Request) bool {
	if r.Body == nil {
		return false
	}
	resp := r.Body.ResponseKind()
	resp.SetVersion(r.Header.Version)
	t, ok := resp.(interface{ Throttle() (int32, bool) })
	if !ok {
		return false
	}
	_, after := t.Throttle()
	return after
}

// respond answers request r with body (nil: no response, but r's place in
// its connection's order is released).
func (s *step) respond(r Request, body kmsg.Response) {
	if body != nil {
		body.SetVersion(r.Header.Version)
	}
	s.emit(Respond{Conn: r.Conn, Seq: r.Seq, CorrelationID: r.Header.CorrelationID, Body: body})
}

package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// A consumer's side of fetch sessions (KIP-227), as Kafka's
// FetchSessionHandler keeps it: one session per broker. The first fetch
// to a broker is full (epoch 0) and the answer's SessionID opens the
// session; each later fetch is incremental: it lists the partitions
// whose fetch offset the broker does not have yet and forgets those the
// consumer no longer asks that broker for (its random subsets while
// faults run, a moved leader, a position to resolve again). A session
// error, a session the broker did not open, or (unless the consumer
// retries lost requests) a lost answer starts over with a full fetch.
//
// An incremental answer leaves out the partitions that did not change.
// The consumer records them in the history as a fetch that returned no
// records at the high watermark and log start the session last told:
// that is what the answer claims, so the checkers (linearizability, real
// time, delivery) judge it like any other answer. A throttled answer is
// empty and claims nothing.

// sessionStream seeds the fetch session draws' own random source, so
// that seeds without sessions draw as they did before.
const sessionStream = 0x73657373696f6e // "session"

// sessionHandler is one consumer's sessions and how it uses them.
type sessionHandler struct {
	rng *rand.Rand
	// onLoss is what the consumer does after a lost answer.
	onLoss lossMode
	// repeatProb is the chance, per incremental fetch, of sending the
	// previous epoch again, as a duplicated request would.
	repeatProb float64
	// closeProb is the chance that a full fetch closes the session it
	// replaces with epoch -1, answered without a session.
	closeProb float64
	byBroker  map[core.BrokerID]*brokerSession
}

// lossMode is what a consumer does with its session after a fetch got
// no answer.
type lossMode uint8

const (
	// lossClose starts over with a full fetch that closes the session,
	// as Kafka's FetchSessionHandler.handleError does.
	lossClose lossMode = iota
	// lossKeep continues the session with the epoch it sent (a retry):
	// the broker may have taken that epoch (INVALID_FETCH_SESSION_EPOCH)
	// or not.
	lossKeep
	// lossAbandon starts over with a full fetch that names no session,
	// as a client process that restarted does: the old session stays in
	// the broker's cache until a new one takes its slot.
	lossAbandon
)

func (m lossMode) String() string { return [...]string{"close", "keep", "abandon"}[m] }

// brokerSession is the session with one broker. id 0: none.
type brokerSession struct {
	id    int32
	epoch int32                 // of the next request; 0 asks for a full fetch
	sent  map[int32]core.Offset // the fetch offsets the broker holds, as of the last answer
	told  map[int32]toldState   // what the broker last told of each partition
}

// toldState is a partition's high watermark and log start as an answer
// gave them; ok is false after an error (the broker tells again).
type toldState struct {
	hwm, logStart core.Offset
	ok            bool
}

// sessionPlan is what one fetch request sends within a session.
type sessionPlan struct {
	sess   *brokerSession // the session it was planned in (one a restart abandoned since takes its answer all the same)
	full   bool
	id     int32
	epoch  int32
	listed map[int32]core.Offset // partitions listed, at their offsets
	forget []int32
}

// drawSessions makes some consumers of some seeds fetch through
// sessions, and draws the brokers' session cache: few slots and a short
// eviction time in some, so that sessions are evicted.
func (w *world) drawSessions() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, sessionStream))
	if r.IntN(3) == 0 {
		return
	}
	var names []string
	var first *sessionHandler
	for _, c := range w.consumers {
		if c.legacyMagic >= 0 || r.IntN(4) == 0 {
			continue
		}
		if c.version < 7 {
			c.version = 7 + int16(r.IntN(6)) // sessions are v7+; names v12 at most
		}
		c.sess = &sessionHandler{rng: rand.New(rand.NewPCG(r.Uint64(), sessionStream)), onLoss: lossMode(r.IntN(3)),
			byBroker: map[core.BrokerID]*brokerSession{}}
		if r.IntN(2) == 0 {
			c.sess.repeatProb = r.Float64() * 0.05
		}
		if r.IntN(2) == 0 {
			c.sess.closeProb = r.Float64() * 0.5
		}
		if first == nil {
			first = c.sess
		}
		names = append(names, fmt.Sprintf("%s(v%d loss=%s repeat=%.3f close=%.2f)", c.cl.name, c.version, c.sess.onLoss, c.sess.repeatProb, c.sess.closeProb))
	}
	if len(names) == 0 {
		return
	}
	// Most seeds give the brokers no more slots than consumers in
	// sessions, and sessions that age in a second or less: new sessions
	// take the slots of old ones (evictFor), abandoned ones among them.
	slots := "1000"
	w.sessionEvictionMs = []int64{120_000, 10_000, 1000, 100}[r.IntN(4)]
	if r.IntN(4) != 0 {
		slots = strconv.Itoa(1 + r.IntN(len(names)))
		w.brokerProps["max.incremental.fetch.session.cache.slots"] = slots
		w.sessionEvictionMs = []int64{1000, 300, 100}[r.IntN(3)]
		first.onLoss = lossAbandon // its abandoned sessions hold slots until evicted
		names[0] = strings.Replace(names[0], "loss="+lossMode(0).String(), "loss=abandon", 1)
		names[0] = strings.Replace(names[0], "loss="+lossKeep.String(), "loss=abandon", 1)
	}
	w.mix = append(w.mix, fmt.Sprintf("sessions=%s slots=%s eviction=%dms", strings.Join(names, ","), slots, w.sessionEvictionMs))
}

// plan decides the session fields and partitions of the next fetch to
// broker, whose partitions the consumer wants at offsets want.
func (h *sessionHandler) plan(broker core.BrokerID, want map[int32]core.Offset) *sessionPlan {
	s := h.byBroker[broker]
	if s == nil {
		s = &brokerSession{}
		h.byBroker[broker] = s
	}
	p := &sessionPlan{sess: s, id: s.id, epoch: s.epoch, listed: map[int32]core.Offset{}}
	if s.id == 0 || s.epoch == 0 {
		p.full, p.epoch = true, 0
		if s.id != 0 && h.rng.Float64() < h.closeProb {
			p.epoch = -1 // close it; no new one
		}
		p.listed = want
		return p
	}
	// order-independent: fills a set
	for part, off := range want {
		if had, ok := s.sent[part]; !ok || had != off {
			p.listed[part] = off
		}
	}
	for _, part := range sortedKeys(s.sent) {
		if _, ok := want[part]; !ok {
			p.forget = append(p.forget, part)
		}
	}
	if s.epoch > 1 && h.rng.Float64() < h.repeatProb {
		p.epoch = s.epoch - 1 // a duplicate of the previous request's epoch
	}
	return p
}

// abandon forgets every session without closing it, as a consumer
// process that restarts does.
func (h *sessionHandler) abandon() {
	h.byBroker = map[core.BrokerID]*brokerSession{}
}

// lost handles a fetch that got no answer.
func (h *sessionHandler) lost(p *sessionPlan) {
	s := p.sess
	switch h.onLoss {
	case lossClose:
		s.epoch = 0 // Kafka's nextCloseExisting: a full fetch closes it
	case lossAbandon:
		*s = brokerSession{}
	}
}

// sessionErrorCode says whether code is a fetch session error, which
// starts the session over.
func sessionErrorCode(code int16) bool {
	return code == kerr.FetchSessionIDNotFound.Code || code == kerr.InvalidFetchSessionEpoch.Code || code == kerr.FetchSessionTopicIDError.Code
}

// answered takes an answer to a request of plan p into the session. It
// returns what the session last told of the partitions the answer left
// out (nil when the answer claims nothing of them: a full or throttled
// answer), or an error describing a protocol violation.
func (h *sessionHandler) answered(p *sessionPlan, resp *kmsg.FetchResponse, topic string) (map[int32]toldState, error) {
	s := p.sess
	if sessionErrorCode(resp.ErrorCode) {
		*s = brokerSession{} // start over: a full fetch, no session named
		if resp.ErrorCode == kerr.InvalidFetchSessionEpoch.Code {
			s.id = p.id // Kafka's nextCloseExisting
		}
		return nil, nil
	}
	if p.full {
		*s = brokerSession{id: resp.SessionID, sent: map[int32]core.Offset{}, told: map[int32]toldState{}}
		if resp.SessionID == 0 {
			return nil, nil
		}
		if p.epoch == -1 {
			return nil, fmt.Errorf("a fetch at epoch -1 got SessionID %d; want 0", resp.SessionID)
		}
		s.epoch = 1
		// order-independent: fills a map
		for part, off := range p.listed {
			s.sent[part] = off
		}
		return nil, s.tell(resp, topic)
	}
	switch resp.SessionID {
	case 0:
		*s = brokerSession{} // closed: the consumer asks a full fetch
		return nil, nil
	case s.id:
	default:
		return nil, fmt.Errorf("an incremental fetch in session %d got SessionID %d", s.id, resp.SessionID)
	}
	// order-independent: fills a map
	for part, off := range p.listed {
		s.sent[part] = off
	}
	for _, part := range p.forget {
		delete(s.sent, part)
		delete(s.told, part)
	}
	s.epoch = nextEpoch(p.epoch)
	if err := s.tell(resp, topic); err != nil {
		return nil, err
	}
	if t, _ := resp.Throttle(); t > 0 {
		return nil, nil // an empty answer for the quota claims nothing
	}
	return s.told, nil
}

// tell records what an answer said of each partition it listed; every
// one must belong to the session.
func (s *brokerSession) tell(resp *kmsg.FetchResponse, topic string) error {
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			if _, ok := s.sent[rp.Partition]; !ok || t.Topic != topic {
				return fmt.Errorf("session %d's answer lists %s/%d, which the session does not hold", s.id, t.Topic, rp.Partition)
			}
			s.told[rp.Partition] = toldState{hwm: core.Offset(rp.HighWatermark), logStart: core.Offset(rp.LogStartOffset), ok: rp.ErrorCode == 0}
		}
	}
	return nil
}

// nextEpoch is Kafka's FetchMetadata.nextEpoch for the epochs a session
// takes.
func nextEpoch(e int32) int32 {
	if e == 1<<31-1 {
		return 1
	}
	return e + 1
}

// request sets req's session fields and partitions for plan p, in the
// order of parts, the partitions the consumer wants.
func (p *sessionPlan) request(req *kmsg.FetchRequest, t *kmsg.FetchRequestTopic, topic string) {
	req.SessionID, req.SessionEpoch = p.id, p.epoch
	t.Partitions = slices.DeleteFunc(t.Partitions, func(rp kmsg.FetchRequestTopicPartition) bool {
		_, ok := p.listed[rp.Partition]
		return !ok
	})
	if len(p.forget) > 0 {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.Partitions = topic, p.forget
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
}

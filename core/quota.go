package core

import (
	"math"
	"sort"
	"strings"

	"cloudkafka/core/cover"
)

// Client quotas (KIP-13, KIP-55, KIP-546), with the semantics of Kafka's
// ClientQuotaManager: a produce byte rate (producer_byte_rate) and a
// fetch byte rate (consumer_byte_rate) per user (the principal's name),
// per client id, or per user and client id, with <default> entities.
//
// A request's quota is the first of these entity configurations that
// sets the key, and the entity it is counted against (the sensor) is
// what that level names:
//
//	users/<u>/clients/<c>                 user u, client c
//	users/<u>/clients/<default>           user u, client c
//	users/<u>                             user u (all its clients)
//	users/<default>/clients/<c>           user u, client c
//	users/<default>/clients/<default>     user u, client c
//	users/<default>                       user u (all its clients)
//	clients/<c>                           client c (all users)
//	clients/<default>                     client c (all users)
//
// The rate is Kafka's: bytes recorded in quota.window.num samples of
// quota.window.size.seconds each, over the time they span (at least the
// samples less one, whole). A request that takes the rate over the quota
// is answered with throttle_time_ms, the time that brings the rate back
// to the quota, (rate - quota) / quota × window; the connection is then
// muted that long (clients that know throttle_time_ms, KIP-219: Produce
// v6+, Fetch v8+) or its answer held that long first (older clients).
// A throttled fetch is answered without records, its bytes not counted.
// Nothing is ever dropped: a produce over its quota is written, and only
// the client's next requests wait.

const (
	quotaProduce = "producer_byte_rate"
	quotaFetch   = "consumer_byte_rate"
	// Kafka's other client quota keys, stored and described: the share
	// of request handler time, and the rate of partition mutations
	// (KIP-599).
	quotaRequest  = "request_percentage"
	quotaMutation = "controller_mutation_rate"
	// quotaDefault is the name of the default entity in the store.
	quotaDefault = "<default>"
)

// quotaKeys are the client quota keys AlterClientQuotas takes.
var quotaKeys = []string{quotaMutation, quotaFetch, quotaProduce, quotaRequest}

// quotaState is the broker's client quota configuration and rates.
type quotaState struct {
	// entities holds each entity's quotas by its path in the store,
	// names sanitized as stored ("users/alice/clients/app").
	entities map[string]map[string]float64
	sensors  map[sensorKey]*rateSensor
	// epoch orders reloads; reloadAt, when set, is when to reload after
	// a read failed.
	epoch    int
	reloadAt Instant
}

// sensorKey is what a rate is counted against: a quota key and the
// entity tags its level gives (user "", client "" where it names none).
type sensorKey struct {
	key          string
	user, client string
}

// quotaFor finds the quota of key for user (the principal's name) and
// client id: its bound and the sensor it counts against; ok false when
// none applies.
func (b *Broker) quotaFor(key, user, client string) (bound float64, sk sensorKey, ok bool) {
	if len(b.quota.entities) == 0 {
		return 0, sensorKey{}, false
	}
	u, c := "users/"+sanitizeName(user), "clients/"+sanitizeName(client)
	du, dc := "users/"+quotaDefault, "clients/"+quotaDefault
	levels := []struct {
		path         string
		user, client string
	}{
		{u + "/" + c, user, client},
		{u + "/" + dc, user, client},
		{u, user, ""},
		{du + "/" + c, user, client},
		{du + "/" + dc, user, client},
		{du, user, ""},
		{c, "", client},
		{dc, "", client},
	}
	for _, l := range levels {
		if v, set := b.quota.entities[l.path][key]; set {
			return v, sensorKey{key: key, user: l.user, client: l.client}, true
		}
	}
	return 0, sensorKey{}, false
}

// quotaUser is the user a request's quotas are looked up by: its
// principal's name ("ANONYMOUS" without authentication), as Kafka does.
func quotaUser(principal string) string {
	_, name, ok := strings.Cut(principal, ":")
	if !ok {
		return principal
	}
	return name
}

// recordQuota counts bytes of r against the quota of key and returns the
// throttle time it earns (0: within the quota, or none applies).
func (b *Broker) recordQuota(r Request, key string, bytes int) int32 {
	bound, sk, ok := b.quotaFor(key, quotaUser(r.Principal), r.Header.ClientID)
	if !ok {
		return 0
	}
	s := b.sensor(sk)
	s.record(b.quotaWindow(), float64(bytes), b.now)
	rate, window := s.rate(b.quotaWindow(), b.now)
	if rate <= bound {
		return 0
	}
	ms := math.Round((rate - bound) / bound * float64(window) / 1e6)
	if ms < 1 {
		return 0
	}
	b.cover(cover.QuotaThrottled)
	return int32(min(ms, math.MaxInt32))
}

// unrecordQuota takes back bytes recorded for r (a throttled fetch
// returns none of them).
func (b *Broker) unrecordQuota(r Request, key string, bytes int) {
	if _, sk, ok := b.quotaFor(key, quotaUser(r.Principal), r.Header.ClientID); ok {
		b.sensor(sk).record(b.quotaWindow(), -float64(bytes), b.now)
	}
}

// requestTimed counts a request's handling time against its client's
// request_percentage quota, as Kafka's ClientRequestQuotaManager: the
// time as a percentage of one second, against the percentage allowed;
// over it the connection is throttled, at most one window
// (quota.window.size.seconds). Exempt, as in Kafka: the brokers' own
// requests (LeaderAndIsr, StopReplica, UpdateMetadata,
// ControlledShutdown, a follower's Fetch and OffsetForLeaderEpoch) and
// those served before authentication (ApiVersions, the SASL APIs).
func (b *Broker) requestTimed(ev RequestTimed) {
	r := ev.Request
	if requestQuotaExempt(r) {
		return
	}
	bound, sk, ok := b.quotaFor(quotaRequest, quotaUser(r.Principal), r.Header.ClientID)
	if !ok {
		return
	}
	w := b.quotaWindow()
	s := b.sensor(sk)
	s.record(w, float64(ev.Nanos)*100/1e9, b.now)
	rate, window := s.rate(w, b.now)
	if rate <= bound {
		return
	}
	ms := min(math.Round((rate-bound)/bound*float64(window)/1e6), float64(w.size/1e6))
	if ms < 1 {
		return
	}
	b.cover(cover.QuotaThrottled)
	b.emit(Throttle{Conn: r.Conn, Seq: r.Seq, Ms: int32(ms), Hold: !clientThrottles(r)})
}

// requestQuotaExempt says a request does not count against
// request_percentage.
func requestQuotaExempt(r Request) bool {
	switch r.Header.Key {
	case 4, 5, 6, 7, 17, 18, 36:
		return true
	}
	return fromReplica(r)
}

// quotaWindowBytesMax is the most bytes r may be sent at once under its
// quota of key: what the quota allows over the window's samples less
// one, Kafka's getMaxValueInQuotaWindow. More at once would alone be
// over the quota, so that a fetch for them is throttled (and not
// counted) at every attempt. ok is false when no quota applies.
func (b *Broker) quotaWindowBytesMax(r Request, key string) (bytes int, ok bool) {
	bound, _, ok := b.quotaFor(key, quotaUser(r.Principal), r.Header.ClientID)
	if !ok {
		return 0, false
	}
	q := b.cfg.Quota
	return int(min(bound*float64(q.WindowNum-1)*float64(q.WindowSizeSeconds), math.MaxInt32)), true
}

func (b *Broker) quotaWindow() quotaWindow {
	return quotaWindow{samples: b.cfg.Quota.WindowNum, size: Instant(b.cfg.Quota.WindowSizeSeconds) * 1e9}
}

// sensor returns the rate of sk, made when first needed; beyond
// quota.sensors.max the idle ones are forgotten first.
func (b *Broker) sensor(sk sensorKey) *rateSensor {
	if s := b.quota.sensors[sk]; s != nil {
		return s
	}
	if b.quota.sensors == nil {
		b.quota.sensors = map[sensorKey]*rateSensor{}
	}
	if len(b.quota.sensors) >= b.cfg.Quota.SensorsMax {
		b.pruneSensors()
	}
	s := &rateSensor{}
	b.quota.sensors[sk] = s
	return s
}

// pruneSensors forgets the sensors that recorded nothing within a whole
// window (their rate is 0), then, if still too many, the longest idle.
func (b *Broker) pruneSensors() {
	w := b.quotaWindow()
	keys := make([]sensorKey, 0, len(b.quota.sensors))
	// order-independent: collected, then sorted
	for k := range b.quota.sensors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		si, sj := b.quota.sensors[keys[i]], b.quota.sensors[keys[j]]
		if si.last != sj.last {
			return si.last < sj.last
		}
		ki, kj := keys[i], keys[j]
		return ki.key+"\x00"+ki.user+"\x00"+ki.client < kj.key+"\x00"+kj.user+"\x00"+kj.client
	})
	for i, k := range keys {
		idle := b.now-b.quota.sensors[k].last >= Instant(w.samples)*w.size
		if !idle && i >= len(keys)/2 {
			break
		}
		delete(b.quota.sensors, k)
	}
}

// quotaWindow is the rate's sampling: samples of size each.
type quotaWindow struct {
	samples int
	size    Instant
}

// rateSensor is Kafka's Rate over a SampledStat (as of Kafka 3.8):
// samples begun at the time of their first record, each covering one
// window size, one more kept than the window has (the oldest may begin
// before the window and still overlap it).
type rateSensor struct {
	samples []rateSample // at most quotaWindow.samples+1
	current int
	last    Instant // the last record
}

type rateSample struct {
	start Instant
	last  Instant // the sample's last record
	value float64
}

// record adds value at now, in the current sample or a new one.
func (s *rateSensor) record(w quotaWindow, value float64, now Instant) {
	s.last = now
	if len(s.samples) == 0 {
		s.samples = append(s.samples, rateSample{start: now})
		s.current = 0
	}
	if cur := &s.samples[s.current]; now-cur.start >= w.size {
		if len(s.samples) < w.samples+1 {
			s.samples = append(s.samples, rateSample{start: now})
			s.current = len(s.samples) - 1
		} else {
			s.current = (s.current + 1) % len(s.samples)
			s.samples[s.current] = rateSample{start: now}
		}
	}
	s.samples[s.current].value += value
	s.samples[s.current].last = now
}

// rate is the rate per second at now and the window (in Instant units)
// it is measured over, as Kafka's Rate.measure and windowSize: samples
// whose last record is older than the whole window are reset first.
func (s *rateSensor) rate(w quotaWindow, now Instant) (float64, Instant) {
	expire := Instant(w.samples) * w.size
	total := 0.0
	oldest := now
	for i := range s.samples {
		if now-s.samples[i].last >= expire {
			s.samples[i] = rateSample{start: now, last: now}
		}
		total += s.samples[i].value
		oldest = min(oldest, s.samples[i].start)
	}
	elapsed := now - oldest
	if full := int(elapsed / w.size); full < w.samples-1 {
		elapsed += Instant(w.samples-1-full) * w.size
	}
	elapsed = max(elapsed, 1e6) // at least 1 ms, as Kafka's
	return total / (float64(elapsed) / 1e9), elapsed
}

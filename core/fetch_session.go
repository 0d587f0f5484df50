package core

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Fetch sessions (KIP-227), as Kafka's FetchSession.scala keeps them
// (FetchManager, FetchSessionCache, CachedPartition).
//
// A fetch session remembers, for one consumer or follower, the
// partitions it fetches: their request parameters (fetch offset,
// partition limit, epochs) as the fetcher last sent them, and the high
// watermark and log start it was last told. A full fetch (epoch 0)
// names every partition, is answered in full, and opens a session whose
// id the answer carries. An incremental fetch names the session and the
// epoch it expects, lists only the partitions that are new or whose
// parameters changed and forgets those it no longer wants; its answer
// carries only the partitions that changed: records, a new high
// watermark or log start, an error. So a consumer of many quiet
// partitions sends and receives a few bytes per fetch.
//
//	request (SessionID, SessionEpoch)     what the broker does
//	v0-6 (no such fields)                 no session (Kafka's FetchMetadata.LEGACY)
//	any id, epoch -1 (FINAL)              closes session id if any; answers without a session (SessionID 0)
//	any id, epoch 0 (INITIAL)             closes session id if any; answers in full and opens a session
//	                                      if the cache has room (else SessionID 0)
//	id, epoch n > 0                       FETCH_SESSION_ID_NOT_FOUND if no session id,
//	                                      INVALID_FETCH_SESSION_EPOCH unless n is its next epoch,
//	                                      FETCH_SESSION_TOPIC_ID_ERROR if opened at v13+ (by topic id)
//	                                      and continued before, or the reverse; else updates it and
//	                                      answers what changed (a session left with no partition is
//	                                      closed, and the fetch answered without one)
//
// A session's epoch goes 1, 2, ... MaxInt32, 1 (Kafka's
// FetchMetadata.nextEpoch). A request takes the epoch when it arrives;
// its answer, built later (after its reads, or a long poll), finds the
// session at that epoch or says INVALID_FETCH_SESSION_EPOCH: another
// request took the session meanwhile.
//
// Sessions live in the broker's memory only: a restart loses them, and
// fetchers open new ones after FETCH_SESSION_ID_NOT_FOUND. A session
// stays until its fetcher closes it or a new one takes its slot
// (evictFor). Its partitions are bounded by max.partitions.per.broker: a
// session that would grow past it is closed (FETCH_SESSION_ID_NOT_FOUND,
// which sends the fetcher back to a full fetch), and a full fetch of
// more opens none. Kafka has no such bound.

// fetchSessionEvictionMsDefault is Kafka's
// KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS.
const fetchSessionEvictionMsDefault = 120000

// Error codes of fetch sessions.
const (
	errInvalidFetchSessionEpoch = int16(71)  // kerr.InvalidFetchSessionEpoch
	errFetchSessionTopicID      = int16(106) // kerr.FetchSessionTopicIDError
)

// fetchSessionCache holds a broker's fetch sessions (Kafka's
// FetchSessionCacheShard: one shard here, as there is one event loop).
type fetchSessionCache struct {
	// sessions by id; at most Config.FetchSessionSlots. Lookups only:
	// every choice among sessions is by a total order (evictFor).
	sessions map[int32]*fetchSession
	// partitions counts the partitions of every session as of its last
	// touch (Kafka's NumIncrementalFetchPartitionsCached).
	partitions int
	// evictions counts the sessions that gave their slot to a new one;
	// incrementals the incremental fetches answered within a session.
	evictions, incrementals uint64
}

// fetchSession is one session (Kafka's FetchSession).
type fetchSession struct {
	id int32
	// privileged: a follower's; a follower's new session may take a
	// consumer's slot (evictFor).
	privileged bool
	// byTopicID: opened by a v13+ request; its partitions are keyed by
	// topic id, and only v13+ requests continue it.
	byTopicID bool
	created   Instant
	lastUsed  Instant // the last request that took it (touch)
	epoch     int32   // the epoch the next incremental request must carry
	// parts are the session's partitions in no order (removal swaps the
	// last in); index finds them by key. Their order in answers is by
	// seq.
	parts   []*sessionPart
	index   map[sessionKey]*sessionPart
	nextSeq uint64
	// size is len(parts) at the last touch (Kafka's cachedSize: what
	// eviction compares); evictableByFollower and evictableByAll are
	// what the last touch decided (Kafka's evictableByPrivileged and
	// evictableByAll trees).
	size                              int
	evictableByFollower, evictableAll bool
}

// sessionKey names a session's partition: by topic name (sessions of
// v7-12), or by topic id (v13+), never both.
type sessionKey struct {
	topic     string
	id        TopicID
	partition int32
}

// sessionPart is one partition of a session (Kafka's CachedPartition).
type sessionPart struct {
	key  sessionKey
	slot int    // its index in the session's parts
	seq  uint64 // answers list partitions by seq; one that returned records goes last
	// The request parameters as the fetcher last sent them.
	fetchOffset        Offset
	maxBytes           int32
	currentLeaderEpoch int32
	lastFetchedEpoch   int32
	fetcherLogStart    int64 // a follower's log start
	// highWatermark and logStart are what the last answer that listed
	// the partition told; -1: tell again (new, or answered an error).
	highWatermark, logStart int64
}

// nextFetchEpoch is Kafka's FetchMetadata.nextEpoch.
func nextFetchEpoch(e int32) int32 {
	switch {
	case e < 0:
		return fetchEpochFinal
	case e == 1<<31-1:
		return 1
	}
	return e + 1
}

func keyOf(byTopicID bool, topic string, id [16]byte, partition int32) sessionKey {
	if byTopicID {
		return sessionKey{id: id, partition: partition}
	}
	return sessionKey{topic: topic, partition: partition}
}

// holds says whether the session has a partition of p.
func (s *fetchSession) holds(p *partition) bool {
	if p.topic == nil {
		return false
	}
	_, ok := s.index[keyOf(s.byTopicID, p.tp.Topic, p.topic.id, p.tp.Partition)]
	return ok
}

// put adds or updates the partition rp of a request (Kafka's
// FetchSession.update for one partition).
func (s *fetchSession) put(k sessionKey, rp *kmsg.FetchRequestTopicPartition) *sessionPart {
	sp := s.index[k]
	if sp == nil {
		sp = &sessionPart{key: k, slot: len(s.parts), seq: s.nextSeq, highWatermark: -1, logStart: -1,
			fetchOffset: Offset(rp.FetchOffset)}
		s.nextSeq++
		s.parts = append(s.parts, sp)
		s.index[k] = sp
	} else if !bugOn(BugSessionKeepsFetchOffset) { // BUG SITE (simbugs): BugSessionKeepsFetchOffset ignores a new fetch offset.
		sp.fetchOffset = Offset(rp.FetchOffset)
	}
	sp.maxBytes, sp.currentLeaderEpoch, sp.lastFetchedEpoch = rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch
	sp.fetcherLogStart = rp.LogStartOffset
	return sp
}

// forget removes a partition, if the session has it; it says whether it
// did.
func (s *fetchSession) forget(k sessionKey) bool {
	sp := s.index[k]
	if sp == nil {
		return false
	}
	last := s.parts[len(s.parts)-1]
	s.parts[sp.slot], last.slot = last, sp.slot
	s.parts = s.parts[:len(s.parts)-1]
	delete(s.index, k)
	return true
}

// update applies an incremental request: its partitions are added or
// updated, its forgotten ones removed. It says whether any were.
func (s *fetchSession) update(req *kmsg.FetchRequest) (forgot bool) {
	for ti := range req.Topics {
		t := &req.Topics[ti]
		for pi := range t.Partitions {
			rp := &t.Partitions[pi]
			s.put(keyOf(s.byTopicID, t.Topic, t.TopicID, rp.Partition), rp)
		}
	}
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			if s.forget(keyOf(s.byTopicID, ft.Topic, ft.TopicID, p)) {
				forgot = true
			}
		}
	}
	return forgot
}

// request is the partition as a request would list it.
func (sp *sessionPart) request() kmsg.FetchRequestTopicPartition {
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = sp.key.partition, int64(sp.fetchOffset), sp.maxBytes
	rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = sp.currentLeaderEpoch, sp.lastFetchedEpoch, sp.fetcherLogStart
	return rp
}

// answered takes what an answer says of the partition and says whether
// the answer must list it (Kafka's
// CachedPartition.maybeUpdateResponseData): records, a high watermark or
// log start other than the last told, an error (which is told again
// until it goes), a preferred read replica, a diverging epoch.
func (sp *sessionPart) answered(rp *kmsg.FetchResponseTopicPartition, records bool) bool {
	must := records
	if sp.highWatermark != rp.HighWatermark && !bugOn(BugSessionHidesHighWatermark) { // BUG SITE (simbugs): BugSessionHidesHighWatermark.
		must, sp.highWatermark = true, rp.HighWatermark
	}
	if sp.logStart != rp.LogStartOffset {
		must, sp.logStart = true, rp.LogStartOffset
	}
	if rp.ErrorCode != errNone {
		must, sp.highWatermark = true, -1
	}
	if rp.PreferredReadReplica >= 0 || rp.DivergingEpoch.Epoch != -1 || rp.DivergingEpoch.EndOffset != -1 {
		must = true
	}
	return must
}

// newFetchSessionID draws an id no session has, never 0 (Kafka's
// INVALID_SESSION_ID), from the broker's seeded random source.
func (b *Broker) newFetchSessionID() int32 {
	for {
		id := int32(b.rng.next() & (1<<31 - 1))
		if id != 0 && b.fetchSessions.sessions[id] == nil {
			return id
		}
	}
}

// touch marks s used now and reckons, as Kafka's
// FetchSessionCacheShard.touch, what may take its slot: a follower's
// new session any consumer's, and any new one a session that has lived
// longer than the eviction time.
func (b *Broker) touchFetchSession(s *fetchSession) {
	c := &b.fetchSessions
	c.partitions += len(s.parts) - s.size
	s.size, s.lastUsed = len(s.parts), b.now
	old := (b.now - s.created).Millis() > b.cfg.FetchSessionEvictionMs
	s.evictableByFollower = !s.privileged || old
	s.evictableAll = old
}

// removeFetchSession closes session id, if it exists.
func (b *Broker) removeFetchSession(id int32) {
	c := &b.fetchSessions
	s := c.sessions[id]
	if s == nil {
		return
	}
	c.partitions -= s.size
	delete(c.sessions, id)
}

// evictFor frees a slot for a new session of size partitions, as
// Kafka's FetchSessionCacheShard.tryEvict, and says whether it did: the
// least recently used session if it is unused for longer than the
// eviction time; else the least valuable that the newcomer may take
// (consumers' before followers', smaller before larger, lower id
// first), if the newcomer is worth more (a follower's against a
// consumer's, else larger). The sessions are searched in full: this
// runs only when the cache is full and a full fetch asks for a session.
func (b *Broker) evictFor(privileged bool, size int) bool {
	var lru, least *fetchSession
	// order-independent: the minimum of a total order (lastUsed, id), and of (privileged, size, id)
	for _, s := range b.fetchSessions.sessions {
		if lru == nil || s.lastUsed < lru.lastUsed || (s.lastUsed == lru.lastUsed && s.id < lru.id) {
			lru = s
		}
		if ok := s.evictableAll || (privileged && s.evictableByFollower); ok && (least == nil || lessValuable(s, least)) {
			least = s
		}
	}
	victim := (*fetchSession)(nil)
	switch {
	case lru == nil:
	case (b.now - lru.lastUsed).Millis() > b.cfg.FetchSessionEvictionMs:
		victim = lru
	case least != nil && worthMore(privileged, size, least):
		victim = least
	}
	if victim == nil {
		return false
	}
	b.removeFetchSession(victim.id)
	b.fetchSessions.evictions++
	b.cover(cover.FetchSessionEvicted)
	return true
}

// lessValuable orders sessions by Kafka's EvictableKey: (privileged,
// size, id).
func lessValuable(a, b *fetchSession) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if a.size != b.size {
		return a.size < b.size
	}
	return a.id < b.id
}

// worthMore says whether a new session (privileged, size) outranks s by
// the same key, its id counting as 0 (so a tie keeps s).
func worthMore(privileged bool, size int, s *fetchSession) bool {
	if privileged != s.privileged {
		return privileged
	}
	return size > s.size
}

// openFetchSession applies the request's session fields, as Kafka's
// FetchManager.newContext does, before any partition is looked at. It
// says whether the fetch goes on; a session error is answered here.
func (b *Broker) openFetchSession(fw *fetchWait) bool {
	req, version := fw.req, fw.r.Header.Version
	if version < 7 {
		return true
	}
	if req.SessionEpoch == fetchEpochInitial || req.SessionEpoch == fetchEpochFinal {
		b.removeFetchSession(req.SessionID) // a full fetch closes the session it names
		fw.newSession = req.SessionEpoch == fetchEpochInitial
		return true
	}
	s := b.fetchSessions.sessions[req.SessionID]
	code := errNone
	switch {
	case s == nil:
		code = errFetchSessionNotFound
	case s.epoch != req.SessionEpoch:
		code = errInvalidFetchSessionEpoch
	case s.byTopicID != (version >= 13):
		code = errFetchSessionTopicID
	}
	if code == errNone {
		if s.update(req) {
			b.cover(cover.FetchSessionForgot)
		}
		switch {
		case len(s.parts) > int(b.cfg.PartitionsMax):
			b.removeFetchSession(s.id)
			code = errFetchSessionNotFound
		case len(s.parts) == 0:
			// Nothing left: the session closes, and the request's own
			// partitions (if any) are answered without one.
			b.removeFetchSession(s.id)
			return true
		}
	}
	if code != errNone {
		b.fetchSessionError(fw.r, code, 0)
		return false
	}
	b.touchFetchSession(s)
	s.epoch = nextFetchEpoch(s.epoch)
	fw.sess, fw.sessEpoch = s, s.epoch
	return true
}

// fetchSessionError answers a fetch with a session error and no
// partitions.
func (b *Broker) fetchSessionError(r Request, code int16, sessionID int32) {
	switch code {
	case errInvalidFetchSessionEpoch:
		b.cover(cover.FetchSessionEpochError)
	case errFetchSessionNotFound:
		b.cover(cover.FetchSessionNotFound)
	}
	resp := r.Body.ResponseKind().(*kmsg.FetchResponse)
	resp.ErrorCode, resp.SessionID = code, sessionID
	b.respond(r, resp)
}

// readSessionFetch (re)reads an incremental fetch: what its request
// names are the session's partitions that may have changed, in the
// session's order; the others are left out of the answer, unread.
// initial is false when a long poll is woken or expires: then no
// follower's position is taken again.
func (b *Broker) readSessionFetch(fw *fetchWait, initial bool) {
	fw.sessParts = b.sessionCandidates(fw)
	req := *fw.sessReq
	req.Topics, req.ForgottenTopics = nil, nil
	for _, sp := range fw.sessParts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != sp.key.topic || req.Topics[n-1].TopicID != sp.key.id {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = sp.key.topic, sp.key.id
			req.Topics = append(req.Topics, t)
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, sp.request())
	}
	fw.req, fw.parts = &req, nil
	b.addFetchParts(fw, initial)
	b.readFetch(fw)
}

// sessionCandidates lists, in the session's order, the partitions of
// fw's session that its answer may have to list. A follower's are all
// of them: each fetch is also the follower's position in every one
// (replication.go), as in Kafka. A consumer's are those with an error,
// data below the high watermark at their fetch offset, or a high
// watermark or log start other than the last told; the rest cannot
// change the answer and are not read. This pass costs a few map
// lookups and comparisons per partition, and allocates nothing for
// those it leaves out.
func (b *Broker) sessionCandidates(fw *fetchWait) []*sessionPart {
	var out []*sessionPart
	for _, sp := range fw.sess.parts {
		if fw.replica >= 0 || b.sessionPartMayChange(fw, sp) {
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(x, y *sessionPart) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

// sessionPartMayChange says whether a consumer's session partition
// must be looked at: it resolves it as handleFetch and readFetch would,
// without auditing a denial (the fetch audits it when it looks).
func (b *Broker) sessionPartMayChange(fw *fetchWait, sp *sessionPart) bool {
	version := fw.r.Header.Version
	rt := kmsg.FetchRequestTopic{Topic: sp.key.topic, TopicID: sp.key.id}
	t := b.fetchTopic(version, rt)
	if t == nil || !b.allows(fw.r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, t.name) || bugOn(BugFetchPastHighWatermark) {
		return true
	}
	fp := fetchPart{offset: sp.fetchOffset}
	fp.p, fp.code = b.resolveFetchPartition(version, t, rt, sp.request(), fw.replica)
	if fp.code == errNone {
		b.recheckFetchPart(fw, &fp)
	}
	if fp.code != errNone || fp.offset < fp.p.hwm {
		return true
	}
	return int64(fp.p.hwm) != sp.highWatermark || int64(fp.p.logStart) != sp.logStart
}

// sessionStale says whether fw's session was taken by another request
// since fw took it: its answer is then INVALID_FETCH_SESSION_EPOCH.
func (fw *fetchWait) sessionStale() bool {
	return fw.sess != nil && fw.sess.epoch != fw.sessEpoch
}

// finishFetchSession completes an answer for the session its request
// had or asked for: an incremental answer keeps only the partitions
// that changed and records what it told; a full fetch at epoch 0 opens
// a session, if the cache has room. A throttled answer (empty) changes
// no session, as in Kafka.
func (b *Broker) finishFetchSession(fw *fetchWait, resp *kmsg.FetchResponse, throttled bool) {
	switch {
	case fw.sess != nil:
		resp.SessionID = fw.sess.id
		if !throttled {
			b.keepChanged(fw, resp)
		}
	case fw.newSession && !throttled:
		resp.SessionID = b.createFetchSession(fw, resp)
	}
}

// keepChanged filters an incremental answer down to the partitions
// that changed, records what it tells, and moves the partitions that
// returned records to the end of the session's order, as Kafka's
// IncrementalFetchContext does, so that the next answers' byte limits
// serve the others first.
func (b *Broker) keepChanged(fw *fetchWait, resp *kmsg.FetchResponse) {
	keep := make([][]bool, len(resp.Topics))
	for ti := range resp.Topics {
		keep[ti] = make([]bool, len(resp.Topics[ti].Partitions))
	}
	if len(fw.parts) != len(fw.sessParts) {
		panic("core: an incremental fetch's partitions are not its session's")
	}
	next := make([]int, len(resp.Topics)) // per topic, the answer's next partition
	kept := 0
	for i, fp := range fw.parts {
		k := next[fp.topicIdx]
		next[fp.topicIdx]++
		rp, sp := &resp.Topics[fp.topicIdx].Partitions[k], fw.sessParts[i]
		if keep[fp.topicIdx][k] = sp.answered(rp, fp.n > 0); !keep[fp.topicIdx][k] {
			continue
		}
		kept++
		if fp.n > 0 {
			sp.seq = fw.sess.nextSeq
			fw.sess.nextSeq++
		}
	}
	topics := resp.Topics[:0]
	for ti, t := range resp.Topics {
		parts := t.Partitions[:0]
		for k, rp := range t.Partitions {
			if keep[ti][k] {
				parts = append(parts, rp)
			}
		}
		if len(parts) > 0 {
			t.Partitions = parts
			topics = append(topics, t)
		}
	}
	resp.Topics = topics
	b.fetchSessions.incrementals++
	if kept < len(fw.sess.parts) {
		b.cover(cover.FetchSessionIncremental)
	}
}

// createFetchSession opens a session for a full fetch's answer (Kafka's
// FullFetchContext.updateAndGenerateResponseData) and returns its id, or
// 0 when the cache has no room for it.
func (b *Broker) createFetchSession(fw *fetchWait, resp *kmsg.FetchResponse) int32 {
	c := &b.fetchSessions
	privileged, size := fw.replica >= 0, len(fw.parts)
	if size > int(b.cfg.PartitionsMax) || b.cfg.FetchSessionSlots <= 0 {
		return 0
	}
	if len(c.sessions) >= b.cfg.FetchSessionSlots && !b.evictFor(privileged, size) {
		return 0
	}
	s := &fetchSession{id: b.newFetchSessionID(), privileged: privileged, byTopicID: fw.r.Header.Version >= 13,
		created: b.now, epoch: nextFetchEpoch(fetchEpochInitial), index: make(map[sessionKey]*sessionPart, size)}
	next := make([]int, len(resp.Topics))
	for _, fp := range fw.parts {
		k := next[fp.topicIdx]
		next[fp.topicIdx]++
		rt := &fw.req.Topics[fp.topicIdx]
		sp := s.put(keyOf(s.byTopicID, rt.Topic, rt.TopicID, rt.Partitions[fp.partIdx].Partition), &rt.Partitions[fp.partIdx])
		sp.answered(&resp.Topics[fp.topicIdx].Partitions[k], fp.n > 0)
	}
	if c.sessions == nil {
		c.sessions = map[int32]*fetchSession{}
	}
	c.sessions[s.id] = s
	b.touchFetchSession(s)
	b.cover(cover.FetchSessionCreated)
	return s.id
}

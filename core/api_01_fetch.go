package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"
	"slices"

	"cloudkafka/core/cover"
)

// Fetch: v0-16
//
// Behavior:
//   - A consumer's answer counts its records against the client's
//     consumer_byte_rate quota (quota.go); over the quota the answer is
//     empty (no topics), not counted, carries throttle_time_ms, and the
//     connection is held back that long. The response limit is at most
//     what the quota allows over the window's samples less one, as
//     Kafka's, so that no answer is over the quota on its own.
//   - Needs Read on each topic (acl.go), a follower's fetch
//     ClusterAction on the cluster: a denied topic's partitions get
//     TOPIC_AUTHORIZATION_FAILED and no records. At v13+ a topic id
//     this broker does not know is UNKNOWN_TOPIC_ID first.
//   - Fetch sessions (KIP-227, v7+) as Kafka's FetchManager keeps them
//     (fetch_session.go): a full fetch at epoch 0 opens one if
//     max.incremental.fetch.session.cache.slots has room (else SessionID
//     0), epoch -1 answers without one, and an incremental fetch lists
//     what changed in its request and gets what changed in its answer.
//     FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH and
//     FETCH_SESSION_TOPIC_ID_ERROR (a v13+ session continued below v13,
//     or the reverse) come with no partitions and SessionID 0, or the
//     session's id for an epoch another request took meanwhile.
//   - Cost of an incremental fetch: a pass over its session's
//     partitions, each a few lookups and comparisons (resolution and
//     authorization, as Kafka's foreachPartition), and then reads,
//     response entries and bytes only for the partitions that changed
//     (records below the high watermark at their fetch offset, a new
//     high watermark or log start, an error); a follower's session is
//     read in full, as each fetch is its position in every partition.
//     A write wakes the parked fetches that wait on its partition: a
//     parked incremental fetch is found by one lookup in its session,
//     not a walk of its partitions, and looks at its session anew.
//   - v13+ address topics by id (UNKNOWN_TOPIC_ID for unknown ids).
//   - Consumers read up to the high watermark; with no transactions the
//     last stable offset equals it, for read_committed too.
//   - Long poll: when fewer than MinBytes are available the request parks
//     until data arrives on one of its partitions or MaxWaitMillis passes.
//     At most queued.max.requests fetches park; beyond that they are
//     answered at once with what there is.
//   - Partition and response byte limits apply at batch granularity, but
//     the first partition with data returns at least one whole batch even
//     when it is larger than both limits, as Kafka does.
//   - v0-3 read message formats 0 and 1: the batches are converted down
//     (fetch_legacy.go), and v0-2's limits are hard. Their partitions are
//     read one after another, each within what is left of the response
//     limit, as Kafka's ReplicaManager.readFromLog reads them.
//   - A fetch with a replica id (ReplicaState from v15) is a follower's
//     (replication.go): it reads up to the leader's written end, not the
//     high watermark, parks until new data is written, and its offset is
//     the follower's log end. A replica id that is not one of the
//     partition's followers gets UNKNOWN_LEADER_EPOCH when the request
//     names a leader epoch, else NOT_LEADER_OR_FOLLOWER, as Kafka's
//     Partition.followerReplicaOrThrow answers.
//   - CurrentLeaderEpoch (v9+) is checked before leadership, as Kafka's
//     Partition.getLocalLog does (leaderCode): a follower answers a stale
//     epoch FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH, and
//     NOT_LEADER_OR_FOLLOWER otherwise.
//   - A leader answers consumers LEADER_NOT_AVAILABLE until its high
//     watermark reaches the log end it had when it took the lead, so
//     that no consumer sees the high watermark go back across a change of
//     leader or a restart.

// fetchWait is one fetch request in progress: its reads, or its park.
type fetchWait struct {
	r        Request
	req      *kmsg.FetchRequest
	replica  BrokerID // the follower fetching, or -1 for a consumer
	deadline Instant
	parts    []*fetchPart
	reading  int // reads outstanding
	parked   bool
	done     bool
	// The fetch session (fetch_session.go): sess is an incremental
	// fetch's, taken at epoch sessEpoch; req is then built from the
	// session's partitions that may have changed, sessParts, in order
	// (fw.parts match them one to one), and sessReq is the request as
	// it came. newSession: a full fetch at epoch 0, which opens one.
	sess       *fetchSession
	sessEpoch  int32
	sessParts  []*sessionPart
	sessReq    *kmsg.FetchRequest
	newSession bool
}

// fetchPart is one requested partition and its result so far.
type fetchPart struct {
	topicIdx, partIdx int
	p                 *partition
	code              int16
	offset            Offset
	maxBytes          int32
	data              []byte      // the records read as bytes (down-conversion)
	ref               *RecordsRef // or by reference
	n                 int         // bytes of records the answer carries
}

func (b *Broker) handleFetch(r Request) {
	req := r.Body.(*kmsg.FetchRequest)
	wait := int64(req.MaxWaitMillis) // int32 milliseconds cannot overflow in nanoseconds
	fw := &fetchWait{r: r, req: req, deadline: b.now + Instant(wait*1e6), replica: BrokerID(req.ReplicaID)}
	if r.Header.Version >= 15 {
		fw.replica = BrokerID(req.ReplicaState.ID)
	}
	if fw.replica < 0 {
		fw.replica = -1
	}
	if !b.openFetchSession(fw) {
		return // answered with a session error
	}
	if fw.sess != nil {
		fw.sessReq = req
		b.readSessionFetch(fw, true)
		return
	}
	b.addFetchParts(fw, true)
	b.readFetch(fw)
}

// addFetchParts resolves the partitions fw.req names into fw.parts. A
// follower's fetch offsets are its positions (replication.go): initial
// takes them; a long poll read again does not.
func (b *Broker) addFetchParts(fw *fetchWait, initial bool) {
	r, req := fw.r, fw.req
	replicaOK := fw.replica < 0 || b.authorizedCluster(r, kmsg.ACLOperationClusterAction)
	for ti, t := range req.Topics {
		p0 := b.fetchTopic(r.Header.Version, t)
		allowed := replicaOK
		if name := t.Topic; fw.replica < 0 && (r.Header.Version < 13 || p0 != nil) {
			if p0 != nil {
				name = p0.name
			}
			allowed = b.authorized(r, kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, name)
		}
		for pi, rp := range t.Partitions {
			fp := &fetchPart{topicIdx: ti, partIdx: pi, offset: Offset(rp.FetchOffset), maxBytes: rp.PartitionMaxBytes}
			if !allowed {
				fp.code = errTopicAuth
				fw.parts = append(fw.parts, fp)
				continue
			}
			fp.p, fp.code = b.resolveFetchPartition(r.Header.Version, p0, t, rp, fw.replica)
			if initial && fw.replica >= 0 && fp.code == errNone {
				b.followerFetched(fp.p, fp.p.followerOf(fw.replica), fp.offset, Offset(rp.LogStartOffset))
			}
			fw.parts = append(fw.parts, fp)
		}
	}
}

// Fetch session epochs (KIP-227, Kafka's FetchMetadata).
const (
	fetchEpochInitial int32 = 0  // full fetch; asks for a new session
	fetchEpochFinal   int32 = -1 // full fetch; asks for no session
)

// fetchTopic resolves a requested topic by name (v4-12) or id (v13+).
func (b *Broker) fetchTopic(version int16, t kmsg.FetchRequestTopic) *topic {
	if version >= 13 {
		return b.topicsByID[TopicID(t.TopicID)]
	}
	return b.topics[t.Topic]
}

func (b *Broker) resolveFetchPartition(version int16, t *topic, rt kmsg.FetchRequestTopic, rp kmsg.FetchRequestTopicPartition, replica BrokerID) (*partition, int16) {
	if t == nil {
		if version >= 13 {
			return nil, errUnknownTopicID
		}
		return nil, errUnknownTopic
	}
	if rp.Partition < 0 || int(rp.Partition) >= len(t.parts) {
		return nil, errUnknownTopic
	}
	p := t.parts[rp.Partition]
	if code := leaderCode(p, rp.CurrentLeaderEpoch); code != errNone {
		if !p.leading {
			p = nil // a follower's offsets are not the partition's
		}
		return p, code
	}
	if replica < 0 && !b.leaseHeld() {
		return nil, errNotLeader // another broker may lead it by now (lease.go)
	}
	if replica < 0 && !p.serving() {
		return p, errLeaderNotAvailable // a new leader, until its high watermark caught up
	}
	if replica >= 0 && p.followerOf(replica) == nil {
		if rp.CurrentLeaderEpoch >= 0 {
			return nil, errUnknownLeaderEpoch
		}
		return nil, errNotLeader
	}
	if off := Offset(rp.FetchOffset); off < p.logStart || off > p.written {
		if off < p.logStart {
			b.cover(cover.FetchBelowLogStart)
		}
		return p, errOffsetOutOfRange
	}
	return p, errNone
}

// readFetch emits a Read for every readable partition of fw; the response
// is built when all have completed. Reads by reference (v4+) go out at
// once. A down-converting fetch (v0-3) reads its partitions' bytes into
// memory, so it reads them one after another, each within what is left
// of the response limit, as Kafka's ReplicaManager.readFromLog does: the
// first partition with data reads at least one batch, and once the limit
// is used up the others read nothing. Its memory is then bounded by the
// response limit plus one batch, not by the sum of the partition limits.
func (b *Broker) readFetch(fw *fetchWait) {
	byRef := fetchMagic(fw.r.Header.Version) == 2 // else the records are down-converted
	var queue []*fetchPart
	for _, fp := range fw.parts {
		fp.data, fp.ref = nil, nil
		b.recheckFetchPart(fw, fp)
		if fp.code != errNone || fp.offset >= b.fetchEnd(fw, fp) && !bugOn(BugFetchPastHighWatermark) {
			continue
		}
		if !byRef {
			queue = append(queue, fp)
			continue
		}
		fw.reading++
		b.readFetchPart(fw, fp, fp.maxBytes, true, func() {
			if fw.reading--; fw.reading == 0 {
				b.fetchReadsDone(fw)
			}
		})
	}
	if !byRef {
		b.readLegacyParts(fw, queue, b.fetchLimit(fw), true)
		return
	}
	if fw.reading == 0 {
		b.fetchReadsDone(fw)
	}
}

// readLegacyParts reads queue's partitions in turn within room bytes,
// then builds the response. Each is checked again before its read: the
// reads before it took steps, in which its partition may have changed.
func (b *Broker) readLegacyParts(fw *fetchWait, queue []*fetchPart, room int, first bool) {
	for len(queue) > 0 {
		fp := queue[0]
		b.recheckFetchPart(fw, fp)
		if fp.code == errNone && (fp.offset < b.fetchEnd(fw, fp) || bugOn(BugFetchPastHighWatermark)) {
			break
		}
		queue = queue[1:]
	}
	if len(queue) == 0 || room <= 0 {
		b.fetchReadsDone(fw)
		return
	}
	fp := queue[0]
	fw.reading = 1
	b.readFetchPart(fw, fp, min(fp.maxBytes, int32(room)), first, func() {
		fw.reading = 0
		n := len(fp.data)
		b.readLegacyParts(fw, queue[1:], room-n, first && n == 0)
	})
}

// fetchEnd is where fp's read stops: consumers read up to the high
// watermark, followers what is written.
func (b *Broker) fetchEnd(fw *fetchWait, fp *fetchPart) Offset {
	if fw.replica >= 0 {
		return fp.p.written
	}
	return fp.p.hwm
}

// readFetchPart emits the Read of one partition, of at most maxBytes
// (the first batch whole if minOne), and runs then once it is done.
func (b *Broker) readFetchPart(fw *fetchWait, fp *fetchPart, maxBytes int32, minOne bool, then func()) {
	tok := awaitFor(b.step, func(rd ReadDone) {
		if rd.Err != nil {
			fp.code = errStorage
		} else {
			fp.data, fp.ref = rd.Data, rd.Ref
			b.coverMidBatch(fp)
		}
		then()
	})
	below := b.fetchEnd(fw, fp)
	if bugOn(BugFetchPastHighWatermark) {
		below = fp.p.written // BUG SITE (simbugs): BugFetchPastHighWatermark reads unacknowledged data.
	}
	b.emit(Read{Token: tok, Partition: fp.p.tp, Offset: fp.offset, Below: below,
		MaxBytes: maxBytes, MinOne: minOne, ByRef: fetchMagic(fw.r.Header.Version) == 2})
}

// recheckFetchPart sets fp's error for what changed since its partition
// was resolved: the leadership moved, the log went offline, the topic
// went, the partition was led anew or the lease lapsed.
func (b *Broker) recheckFetchPart(fw *fetchWait, fp *fetchPart) {
	if fp.p != nil && fp.code == errNone && !fp.p.leading {
		fp.code = errNotLeader // moved away while parked
		if fp.p.deleted || fp.p.topic.unlisted || b.topics[fp.p.tp.Topic] != fp.p.topic {
			fp.code = errUnknownTopic // or deleted
		}
		fp.p = nil
	}
	if fp.p != nil && fp.code == errNone && fp.p.offline {
		fp.code = errStorage
		if fp.p.deleted {
			fp.code = errUnknownTopic
		}
	}
	if fp.code == errNone && fw.replica < 0 && !fp.p.serving() {
		fp.code = errLeaderNotAvailable // led anew while parked
	}
	if fp.code == errNone && fw.replica < 0 && !b.leaseHeld() {
		fp.code, fp.p = errNotLeader, nil // the lease lapsed while parked
	}
}

func (b *Broker) fetchReadsDone(fw *fetchWait) {
	resp, size, hasErr := b.buildFetchResponse(fw)
	if fw.sessionStale() {
		// Another request took the session meanwhile (Kafka's "possible
		// duplicate request"): the reads are not answered.
		fw.done = true
		b.fetchSessionError(fw.r, errInvalidFetchSessionEpoch, fw.sess.id)
		return
	}
	if size >= int(fw.req.MinBytes) || hasErr || fw.req.MaxWaitMillis <= 0 || b.now >= fw.deadline || len(b.fetches) >= b.cfg.QueuedMaxRequests {
		fw.done = true
		throttle := int32(0)
		if fw.replica < 0 {
			if throttle = b.recordQuota(fw.r, quotaFetch, size); throttle > 0 {
				// Over the quota: an empty answer, whose bytes do not
				// count, as Kafka's.
				b.unrecordQuota(fw.r, quotaFetch, size)
				resp.Topics = nil
			}
		}
		b.countFetched(fw, resp)
		b.finishFetchSession(fw, resp, throttle > 0)
		b.respondWith(fw.r, resp, throttle, fw.recordsByRef(resp))
		return
	}
	fw.parked = true
	b.fetches = append(b.fetches, fw)
}

// recordsByRef lists the record sets of resp read by reference, in the
// order of its partitions: the partitions of fw that carry records (an
// incremental answer keeps every one of them), unless a quota emptied
// the answer.
func (fw *fetchWait) recordsByRef(resp *kmsg.FetchResponse) []RecordsAt {
	if resp.Topics == nil {
		return nil
	}
	var out []RecordsAt
	for _, fp := range fw.parts {
		if fp.ref == nil || fp.n == 0 {
			continue
		}
		t := &fw.req.Topics[fp.topicIdx]
		ref := *fp.ref
		ref.Len = int64(fp.n)
		out = append(out, RecordsAt{Topic: t.Topic, TopicID: t.TopicID, Partition: t.Partitions[fp.partIdx].Partition, Ref: ref})
	}
	return out
}

// buildFetchResponse assembles the response from the reads, applying the
// response byte limit at batch boundaries (by reference, as Kafka does:
// the last batch may be cut). size is the bytes of records it carries,
// which a consumer's answer counts against its consumer_byte_rate quota.
func (b *Broker) buildFetchResponse(fw *fetchWait) (*kmsg.FetchResponse, int, bool) {
	req, version := fw.req, fw.r.Header.Version
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	limit := b.fetchLimit(fw)
	size, hasErr := 0, false
	for _, t := range req.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		resp.Topics = append(resp.Topics, rt)
	}
	for _, fp := range fw.parts {
		if fp.p != nil && !fp.p.hosted() {
			fp.code, fp.p, fp.data, fp.ref = errNotLeader, nil, nil, nil // deleted while read
		}
		if fp.code == errNone && fp.offset < fp.p.logStart {
			// Retention moved the log start past the offset while the
			// read was in flight: answer as a fetch arriving now would,
			// so that the response's data and offsets agree.
			fp.code, fp.data, fp.ref = errOffsetOutOfRange, nil, nil
		}
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = req.Topics[fp.topicIdx].Partitions[fp.partIdx].Partition
		rp.ErrorCode = fp.code
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
		if fp.p != nil {
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = int64(fp.p.hwm), int64(fp.p.hwm), int64(fp.p.logStart)
		}
		if fp.code == errOffsetOutOfRange && fw.replica >= 0 && fp.p != nil && fp.p.leading && fp.offset < fp.p.logStart {
			tagProducers(&rp, fp.p) // the follower starts over at the log start (producer_transfer.go)
		}
		if fp.code != errNone {
			hasErr = true
		}
		// The partition limit and the response limit both apply, except
		// that the first partition with data returns at least one batch.
		room := limit - size
		if int(fp.maxBytes) < room {
			room = int(fp.maxBytes)
		}
		var data []byte
		fp.n = 0
		switch magic := fetchMagic(version); {
		case fp.ref != nil && fp.code == errNone:
			if fp.n = trimRef(fp.ref, room, size == 0); fp.n > 0 && int64(fp.n) < fp.ref.Len {
				b.cover(cover.FetchRecordsCut)
			}
		case magic < 2 && fp.code == errNone && len(fp.data) > 0:
			var code int16
			data, code = b.downConvert(fp.p, fp.data, fp.offset, magic, room, size == 0 && version == 3, version <= 2)
			if code != errNone {
				rp.ErrorCode, hasErr = code, true
			}
			fp.n = len(data)
		default:
			data = trimBatches(fp.data, room, size == 0)
			fp.n = len(data)
		}
		size += fp.n
		if data == nil {
			data = []byte{} // an empty record set, never null: clients reject null
		}
		rp.RecordBatches = data
		rt := &resp.Topics[fp.topicIdx]
		rt.Partitions = append(rt.Partitions, rp)
	}
	return resp, size, hasErr
}

// fetchLimit is the response byte limit of fw: its MaxBytes within
// fetch.max.bytes and, for a consumer, what its quota allows.
func (b *Broker) fetchLimit(fw *fetchWait) int {
	limit := int(fw.req.MaxBytes)
	if limit <= 0 || limit > int(b.cfg.FetchMaxBytes) {
		limit = int(b.cfg.FetchMaxBytes)
	}
	if quotaMax, ok := b.quotaWindowBytesMax(fw.r, quotaFetch); ok && fw.replica < 0 {
		limit = min(limit, quotaMax)
	}
	return limit
}

// trimRef is how many bytes of a record set read by reference fit in
// room: up to room, the last batch possibly cut, as Kafka's fetch cuts
// its file slice; but a first batch that does not fit whole goes whole
// when first is true, else nothing does.
func trimRef(ref *RecordsRef, room int, first bool) int {
	n := min(ref.Len, int64(max(room, 0)))
	if n < int64(ref.FirstSize) {
		if !first {
			return 0
		}
		n = int64(ref.FirstSize)
	}
	return int(n)
}

// trimBatches keeps the whole batches of data that fit in room; when first
// is true at least one batch is kept regardless.
func trimBatches(data []byte, room int, first bool) []byte {
	n := 0
	for n < len(data) {
		h, err := ParseBatchHeader(data[n:])
		if err != nil || n+h.Size() > len(data) {
			break
		}
		if n+h.Size() > room && !(first && n == 0) {
			break
		}
		n += h.Size()
	}
	return data[:n]
}

// wakeFetches re-reads parked fetches that include p and says how many.
func (b *Broker) wakeFetches(p *partition) int {
	return b.wakeFetchesIf(p, func(*fetchWait) bool { return true })
}

// wakeReplicaFetches re-reads the parked follower fetches that include
// p: new data was written.
func (b *Broker) wakeReplicaFetches(p *partition) {
	b.wakeFetchesIf(p, func(fw *fetchWait) bool { return fw.replica >= 0 })
}

func (b *Broker) wakeFetchesIf(p *partition, cond func(*fetchWait) bool) int {
	var woken []*fetchWait
	kept := b.fetches[:0]
	for _, fw := range b.fetches {
		if fw.includes(p) && cond(fw) {
			woken = append(woken, fw)
			continue
		}
		kept = append(kept, fw)
	}
	b.fetches = kept
	for _, fw := range woken {
		fw.parked = false
		b.rereadFetch(fw)
	}
	return len(woken)
}

// rereadFetch reads a parked fetch again; an incremental fetch looks at
// its session anew.
func (b *Broker) rereadFetch(fw *fetchWait) {
	if fw.sess != nil {
		b.readSessionFetch(fw, false)
		return
	}
	b.readFetch(fw)
}

// coverMidBatch counts a read that starts inside its first batch.
func (b *Broker) coverMidBatch(fp *fetchPart) {
	if fp.ref != nil {
		if fp.ref.FirstBase < fp.offset {
			b.cover(cover.MidBatchRead)
		}
		return
	}
	if h, err := ParseBatchHeader(fp.data); err == nil && h.BaseOffset < fp.offset {
		b.cover(cover.MidBatchRead)
	}
}

func (fw *fetchWait) includes(p *partition) bool {
	if fw.sess != nil {
		return fw.sess.holds(p) // any of its session's partitions may change the answer
	}
	for _, fp := range fw.parts {
		if fp.p == p {
			return true
		}
	}
	return false
}

// expireFetches answers parked fetches whose wait is over.
func (b *Broker) expireFetches() {
	var due []*fetchWait
	kept := b.fetches[:0]
	for _, fw := range b.fetches {
		if b.now >= fw.deadline {
			due = append(due, fw)
			continue
		}
		kept = append(kept, fw)
	}
	b.fetches = kept
	if len(due) > 0 {
		b.cover(cover.FetchExpired)
	}
	for _, fw := range due {
		fw.parked = false
		b.rereadFetch(fw) // the deadline has passed: this read answers
	}
}

// dropConn forgets parked requests of a closed connection.
func (b *Broker) dropConn(c ConnID) {
	b.early = slices.DeleteFunc(b.early, func(r Request) bool { return r.Conn == c })
	kept := b.fetches[:0]
	for _, fw := range b.fetches {
		if fw.r.Conn != c {
			kept = append(kept, fw)
		}
	}
	b.fetches = kept
}

package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// consumer reads every partition sequentially with Fetch requests, one
// request at a time, as a consumer with manual assignment does:
// sessionless, or in some seeds through fetch sessions
// (fetch_session.go). Each Fetch is one Op; its position in a partition advances past
// the records it returned.
//
// Positions start unknown and are resolved with ListOffsets by the
// consumer's reset policy (auto.offset.reset: earliest or latest), and
// again after OFFSET_OUT_OF_RANGE or when the consumer restarts without
// committed offsets (it forgets its positions now and then). Retriable
// errors (NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR, ...) are retried
// after a backoff. The first consumer always resets to earliest and never
// restarts, so that it reads every record.
type consumer struct {
	w       *world
	rt      *router // where each partition's requests go
	cl      *client // the bootstrap connection; its name is the consumer's
	version int16   // Fetch version (names only: v0-12)
	// legacyMagic is the message format a Kafka 0.9 (Fetch v0-1: 0) or
	// 0.10 (v2-3: 1) consumer reads (legacy.go), or -1.
	legacyMagic int8

	pos          []core.Offset // next offset per partition; unknown when < 0
	reset        int64         // ListOffsets timestamp for unknown positions: -2 earliest, -1 latest
	listVersion  int16         // ListOffsets version
	restartMean  core.Instant  // mean time between restarts; 0 never
	maxWaitMs    int32
	maxBytes     int32
	partMaxBytes int32
	isolation    int8
	pollGap      core.Instant // at most this long between one answer and the next request (processing)
	// maxPollRecords keeps at most this many records of a partition per
	// fetch, as max.poll.records does: the next fetch resumes mid-batch.
	// 0 keeps all; so does the drain, where consumers must catch up.
	maxPollRecords int
	seekProb       float64 // chance, per fetch, of seeking a partition first
	probeProb      float64 // chance, per fetch, of a ListOffsets probe first (earliest, latest, by time)
	lastHWM        []core.Offset
	skipped        int  // the partition skipped by the last fetch, or -1
	leader         bool // the first consumer: reads every record, never restarts
	// awaitFrom is, per partition, the offset of an acknowledged record
	// this consumer was caught up to when it was acknowledged, or -1;
	// awaitAt is when. See world.expectDelivery.
	awaitFrom    []core.Offset
	awaitAt      []core.Instant
	busy         map[*client]bool // a request is out on the connection (one per broker, as Kafka's consumer)
	stopped      bool
	fetches      int
	decompressor decompressor // keeps codec decoders between fetches
	// sess, when set, fetches through fetch sessions (fetch_session.go).
	sess *sessionHandler
}

// logUniform draws from [2^lo, 2^hi) with every power of two equally
// likely: small fetch sizes are exercised without every seed's consumers
// crawling.
func logUniform(w *world, lo, hi int) int32 {
	e := lo + w.rng.IntN(hi-lo)
	return 1<<e + w.rng.Int32N(1<<e)
}

// consumerWaitMax bounds a consumer's MaxWaitMillis.
const consumerWaitMax core.Instant = 500e6

// posUnknown marks a partition whose position must be resolved.
const posUnknown core.Offset = -1

func newConsumer(w *world, name string, first bool) *consumer {
	rt := newRouter(w, name)
	c := &consumer{w: w, rt: rt, cl: rt.boot, busy: map[*client]bool{}, version: 4 + int16(w.rng.IntN(9)), legacyMagic: -1,
		pos: make([]core.Offset, w.partitions), reset: -2, listVersion: 1 + int16(w.rng.IntN(6)),
		maxWaitMs: w.rng.Int32N(int32(consumerWaitMax / 1e6)), maxBytes: logUniform(w, 10, 17),
		partMaxBytes: logUniform(w, 8, 15), isolation: int8(w.rng.IntN(2)),
		pollGap: core.Instant(2e6 + w.rng.Int64N(40e6))}
	c.rt.addTimeout(core.Instant(c.maxWaitMs) * 1e6)
	if !first {
		if w.rng.IntN(2) == 0 {
			c.reset = -1
		}
		if w.rng.IntN(2) == 0 {
			c.restartMean = core.Instant(10e9 + w.rng.Int64N(60e9))
		}
	}
	for i := range c.pos {
		c.pos[i] = posUnknown
	}
	c.lastHWM = make([]core.Offset, len(c.pos))
	c.leader = first
	c.awaitFrom, c.awaitAt = make([]core.Offset, len(c.pos)), make([]core.Instant, len(c.pos))
	c.clearAwaits()
	c.skipped = -1
	if w.rng.IntN(2) == 0 {
		c.maxPollRecords = 1 + w.rng.IntN(5)
	}
	if w.rng.IntN(2) == 0 {
		c.seekProb = w.rng.Float64() * 0.1
	}
	if w.rng.IntN(4) != 0 {
		c.probeProb = w.rng.Float64() * 0.2
	}
	return c
}

func (c *consumer) start() {
	c.rt.setOnReady(c.pump)
	c.rt.start()
	if c.restartMean > 0 {
		c.restartLoop()
	}
}

// restartLoop forgets every position now and then, as a consumer
// process restarting without committed offsets would.
func (c *consumer) restartLoop() {
	c.w.after(c.w.expInterval(c.restartMean), func() {
		if !c.w.faulting() {
			return
		}
		for i := range c.pos {
			c.pos[i] = posUnknown
		}
		c.clearAwaits()
		if c.sess != nil {
			c.sess.abandon()
		}
		c.restartLoop()
	})
}

// pump sends a request to every broker that leads some of the
// consumer's partitions and has none out.
func (c *consumer) pump() {
	if c.stopped {
		return
	}
	if c.rt.any() == nil {
		return // connecting
	}
	for c.pumpOne() {
	}
}

// pumpOne sends the next request to a broker with none out, and says
// whether it did.
func (c *consumer) pumpOne() bool {
	var unknown, known []int32
	n := len(c.pos)
	for k := range n {
		// in the order the fetches rotate through (see fetch)
		if i := int32((c.fetches + k) % n); c.pos[i] < 0 {
			unknown = append(unknown, i)
		} else {
			known = append(known, i)
		}
	}
	if cl, parts := c.target(unknown); cl != nil {
		c.listOffsets(cl, parts)
		return true
	}
	cl, parts := c.target(known)
	if cl == nil {
		return false // a connection, an answer or a Metadata answer wakes the consumer
	}
	if c.w.rng.Float64() < c.probeProb {
		c.probe(cl, parts)
		return true
	}
	if c.w.faulting() && c.w.rng.Float64() < c.seekProb {
		c.seek(parts)
	}
	c.fetch(cl, parts)
	return true
}

// target picks the broker of the next request: the leader of the first
// of parts whose leader is known, connected and has no request of the
// consumer's out. It returns that connection and the partitions of parts
// it leads, in parts' order.
func (c *consumer) target(parts []int32) (*client, []int32) {
	var order []int32
	for _, p := range parts {
		if cl := c.rt.leader(p); cl == nil || !c.busy[cl] {
			order = append(order, p)
		}
	}
	return routeFirst(c.rt, order, parts)
}

// routeFirst picks the broker of a client's next request: the leader of
// the first partition in order whose leader is known and connected. It
// returns that connection and the partitions of parts it leads, in
// parts' order.
func routeFirst(rt *router, order, parts []int32) (*client, []int32) {
	for _, p := range order {
		if cl := rt.leader(p); cl != nil && cl.ready() {
			var led []int32
			for _, q := range parts {
				if rt.leaderID(q) == rt.leaderID(p) {
					led = append(led, q)
				}
			}
			return cl, led
		}
	}
	return nil, nil
}

// seek moves the position of one of parts (whose positions are known)
// to an offset drawn below the high watermark last seen (mid-batch as
// often as not); the first consumer, which must read everything, only
// seeks backwards.
func (c *consumer) seek(parts []int32) {
	parts = slices.Sorted(slices.Values(parts))
	part := parts[c.w.rng.IntN(len(parts))]
	hi := c.lastHWM[part]
	if !c.first() {
		hi = max(hi, c.pos[part])
	} else {
		hi = min(hi, c.pos[part])
	}
	to := core.Offset(c.w.rng.Int64N(int64(hi) + 1))
	c.pos[part] = to
	c.awaitFrom[part] = -1
	c.w.hist.begin(&Op{Client: c.cl.name, Kind: OpSeek, Call: c.w.now, Return: c.w.now, Outcome: OK,
		Partition: int32(part), Offset: to})
}

func (c *consumer) first() bool { return c.leader }

// probe asks ListOffsets for every partition cl leads: earliest, latest
// or the first offset at or after a time drawn since the run began,
// concurrent with appends. Positions do not change; the answers are
// checked.
func (c *consumer) probe(cl *client, parts []int32) {
	op := &Op{Client: c.cl.name, Kind: OpListOffsets, Call: c.w.now}
	for _, i := range slices.Sorted(slices.Values(parts)) {
		ts := []int64{-2, -1, (epoch + core.Instant(c.w.rng.Int64N(int64(c.w.now-epoch)+1))).Millis()}[c.w.rng.IntN(3)]
		op.Listed = append(op.Listed, ListedOffset{Partition: i, Timestamp: ts, Offset: -1, Answered: -1})
	}
	c.sendList(cl, op)
}

// sendList sends op's ListOffsets (one partition per Listed entry) to cl
// and records the answer in op.
func (c *consumer) sendList(cl *client, op *Op) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(c.listVersion)
	req.ReplicaID = -1
	req.IsolationLevel = c.isolation
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = c.w.topic
	for _, lo := range op.Listed {
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Partition, p.Timestamp, p.CurrentLeaderEpoch = lo.Partition, lo.Timestamp, -1
		t.Partitions = append(t.Partitions, p)
	}
	req.Topics = append(req.Topics, t)
	c.w.hist.begin(op)
	c.busy[cl] = true
	cl.send(req, func(r kmsg.Response, err error) {
		op.Return = c.w.now
		if err != nil {
			op.Outcome = Indefinite
			delete(c.busy, cl)
			c.lost(cl)
			return
		}
		op.Outcome, op.Broker = OK, cl.target.id
		c.finish(cl, c.listed(op, r.(*kmsg.ListOffsetsResponse)))
	})
}

// finish ends a request: the next one follows after a short pause, or a
// backoff after an error.
func (c *consumer) finish(cl *client, backoff bool) {
	delete(c.busy, cl)
	delay := core.Instant(c.w.rng.Int64N(int64(c.pollGap)))
	if backoff {
		delay = c.cl.backoff()
	}
	if c.w.cfg.canary == canaryStallConsumer && c.w.rng.IntN(20) == 0 {
		delay = 5e9 // planted: the consumer stops polling for a while
	}
	c.w.after(delay, c.pump)
}

// listOffsets resolves unknown positions of partitions cl leads by the
// reset policy.
func (c *consumer) listOffsets(cl *client, parts []int32) {
	op := &Op{Client: c.cl.name, Kind: OpListOffsets, Call: c.w.now}
	for _, i := range slices.Sorted(slices.Values(parts)) {
		op.Listed = append(op.Listed, ListedOffset{Partition: i, Timestamp: c.reset, Offset: -1, Answered: -1})
	}
	c.sendList(cl, op)
}

// lost handles a request that failed without an answer: the client asks
// Metadata again before trusting cl's leaderships, and its next request
// follows once the connection is back (or at once, to another broker).
func (c *consumer) lost(cl *client) {
	c.rt.lost(cl)
	if !c.rt.static {
		c.w.after(c.cl.backoff(), c.pump)
	}
}

// listed records a ListOffsets answer and adopts its offsets; it says
// whether an error asks for a backoff.
func (c *consumer) listed(op *Op, resp *kmsg.ListOffsetsResponse) bool {
	backoff := false
	for i := range op.Listed {
		lo := &op.Listed[i]
		rp := findListPartition(resp, c.w.topic, lo.Partition)
		if rp == nil {
			c.w.failf("protocol", "%s: ListOffsets response lacks partition %d", c.cl.name, lo.Partition)
			backoff = true
			continue
		}
		lo.ErrorCode = rp.ErrorCode
		if leadershipError(rp.ErrorCode) {
			c.rt.stale(lo.Partition)
		}
		if rp.ErrorCode != 0 {
			backoff = true
			continue
		}
		lo.Offset, lo.Answered = core.Offset(rp.Offset), rp.Timestamp
		if lo.Timestamp >= 0 {
			continue // by time: -1 (none) is a valid answer; positions stay
		}
		if lo.Offset < 0 {
			c.w.failf("protocol", "%s: ListOffsets answered offset %d for partition %d", c.cl.name, lo.Offset, lo.Partition)
			backoff = true
			continue
		}
		if int(lo.Partition) < len(c.pos) && c.pos[lo.Partition] < 0 {
			c.pos[lo.Partition] = lo.Offset
		}
	}
	return backoff
}

func findListPartition(resp *kmsg.ListOffsetsResponse, topic string, partition int32) *kmsg.ListOffsetsResponseTopicPartition {
	for i := range resp.Topics {
		if resp.Topics[i].Topic != topic {
			continue
		}
		for j := range resp.Topics[i].Partitions {
			if rp := &resp.Topics[i].Partitions[j]; rp.Partition == partition {
				return rp
			}
		}
	}
	return nil
}

// fetch reads the partitions cl leads, parts, in the rotating order.
func (c *consumer) fetch(cl *client, parts []int32) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(c.version)
	req.ReplicaID = -1
	req.MaxWaitMillis = c.maxWaitMs
	req.MinBytes = 1
	req.MaxBytes = c.maxBytes
	req.IsolationLevel = c.isolation
	req.SessionEpoch = -1
	t := kmsg.NewFetchRequestTopic()
	t.Topic = c.w.topic
	op := &Op{Client: c.cl.name, Kind: OpFetch, Call: c.w.now}
	skipped := c.skipped
	c.skipped = -1
	// Partitions are asked for in an order that rotates from one fetch to
	// the next, as Kafka's consumer does (KIP-74), so that a busy
	// partition cannot take every response's byte budget.
	n := len(parts)
	for k, i32 := range parts {
		i := int(i32)
		off := c.pos[i]
		// Ask for a random non-empty subset of partitions while faults
		// run (never skipping one twice in a row); for all of them, as a
		// real consumer does, once they stop.
		if c.w.faulting() && n > 1 && i != skipped && c.skipped < 0 && c.w.rng.IntN(3) == 0 && !(k == n-1 && len(t.Partitions) == 0) {
			c.skipped = i
			continue
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition, p.FetchOffset, p.PartitionMaxBytes = int32(i), int64(off), c.partMaxBytes
		t.Partitions = append(t.Partitions, p)
		op.Fetches = append(op.Fetches, FetchPart{Partition: int32(i), From: off, HighWatermark: -1, LogStart: -1})
	}
	var plan *sessionPlan
	if c.sess != nil {
		want := map[int32]core.Offset{}
		for _, fp := range op.Fetches {
			want[fp.Partition] = fp.From
		}
		plan = c.sess.plan(cl.target.id, want)
		plan.request(req, &t, c.w.topic)
	}
	if len(t.Partitions) > 0 {
		req.Topics = append(req.Topics, t)
	}
	c.w.hist.begin(op)
	c.busy[cl] = true
	c.fetches++
	cl.send(req, func(r kmsg.Response, err error) {
		op.Return = c.w.now
		if err != nil {
			op.Outcome = Indefinite
			if plan != nil {
				c.sess.lost(plan)
			}
			delete(c.busy, cl)
			c.lost(cl)
			return
		}
		op.Outcome, op.BrokerClock, op.Broker = OK, cl.target.coreClock, cl.target.id
		c.finish(cl, c.fetched(op, r.(*kmsg.FetchResponse), plan))
	})
}

// fetched records the response in op and advances positions; it says
// whether an error asks for a backoff. plan is the fetch's session
// request, or nil.
func (c *consumer) fetched(op *Op, resp *kmsg.FetchResponse, plan *sessionPlan) bool {
	backoff := false
	var told map[int32]toldState // an incremental answer's unchanged partitions
	if plan != nil {
		var err error
		if told, err = c.sess.answered(plan, resp, c.w.topic); err != nil {
			c.w.failf("protocol", "%s: %v", c.cl.name, err)
			return true
		}
		if sessionErrorCode(resp.ErrorCode) {
			op.Fetches = nil // the answer says nothing of the partitions; the next fetch is full
			return false
		}
		if !plan.full && told == nil {
			// A throttled incremental answer is empty: it says nothing
			// of the partitions it leaves out.
			op.Fetches = slices.DeleteFunc(op.Fetches, func(fp FetchPart) bool {
				return findFetchPartition(resp, c.w.topic, fp.Partition) == nil
			})
		}
	}
	if resp.ErrorCode != 0 {
		c.w.failf("fetch-error", "%s: fetch failed as a whole with %s", c.cl.name, errName(resp.ErrorCode))
		return true
	}
	// A partition whose position moved while the fetch was out (a fetch
	// of it sent to its new leader answered first) is discarded, as
	// Kafka's consumer discards a fetch whose offset no longer matches
	// the position: it is left out of the history too.
	op.Fetches = slices.DeleteFunc(op.Fetches, func(fp FetchPart) bool {
		return int(fp.Partition) < len(c.pos) && c.pos[fp.Partition] != fp.From
	})
	for i := range op.Fetches {
		fp := &op.Fetches[i]
		rp := findFetchPartition(resp, c.w.topic, fp.Partition)
		if rp == nil && told != nil {
			// Left out of an incremental answer: unchanged since the
			// session last told it, which the history records as such.
			ts := told[fp.Partition]
			if !ts.ok {
				c.w.failf("protocol", "%s: an incremental fetch answer leaves out partition %d, whose state the session was not told", c.cl.name, fp.Partition)
				backoff = true
				continue
			}
			fp.HighWatermark, fp.LogStart, fp.Next = ts.hwm, ts.logStart, fp.From
			c.lastHWM[fp.Partition] = ts.hwm
			continue
		}
		if rp == nil {
			c.w.failf("protocol", "%s: fetch response lacks partition %d", c.cl.name, fp.Partition)
			backoff = true
			continue
		}
		fp.ErrorCode, fp.HighWatermark = rp.ErrorCode, core.Offset(rp.HighWatermark)
		if leadershipError(rp.ErrorCode) {
			c.rt.stale(fp.Partition)
		}
		if rp.ErrorCode == 0 && int(fp.Partition) < len(c.lastHWM) {
			c.lastHWM[fp.Partition] = fp.HighWatermark
		}
		if c.version >= 5 {
			fp.LogStart = core.Offset(rp.LogStartOffset)
		}
		if rp.ErrorCode == kerr.OffsetOutOfRange.Code {
			// Re-resolve by the reset policy, as a real consumer does.
			// The checker reports it: without retention or truncation
			// of acknowledged data, a position reached by reading never
			// falls out of range.
			c.pos[fp.Partition] = posUnknown
			c.awaitFrom[fp.Partition] = -1
			continue
		}
		if rp.ErrorCode != 0 {
			backoff = true // retriable or not, wait before asking again
			if rp.ErrorCode == kerr.KafkaStorageError.Code {
				c.skipDamage(fp.Partition)
			}
			continue
		}
		c.record(fp, rp.RecordBatches, op.Call)
	}
	return backoff
}

// skipDamage moves the position of part, refused with
// KAFKA_STORAGE_ERROR there, past the damaged range the broker reported,
// if it lies in one (sim/scrub.go); else the consumer asks again.
func (c *consumer) skipDamage(part int32) {
	to, ok := c.w.skipDamage(part, c.pos[part])
	if !ok {
		return
	}
	c.pos[part] = to
	c.awaitFrom[part] = -1
	c.w.hist.begin(&Op{Client: c.cl.name, Kind: OpSeek, Call: c.w.now, Return: c.w.now, Outcome: OK, Partition: part, Offset: to})
}

// record decodes one partition's batches, answered to a fetch sent at
// call, into fp and advances the position past them.
func (c *consumer) record(fp *FetchPart, batches []byte, call core.Instant) {
	if c.legacyMagic >= 0 {
		c.recordLegacy(fp, batches)
		return
	}
	recs, err := c.decompressor.decodeBatches(batches)
	if err != nil {
		c.w.corruptRead(c.cl.name, fp.Partition, fp.From, call, err)
	}
	kept := true // every record returned was kept
	for _, r := range recs {
		if r.offset < fp.From {
			continue // a fetch returns whole batches
		}
		if r.offset >= fp.HighWatermark {
			c.w.failf("read-past-hwm", "%s: partition %d offset %d read past the high watermark %d", c.cl.name, fp.Partition, r.offset, fp.HighWatermark)
		}
		if c.w.cfg.canary == canaryMisrecordRead && c.w.rng.IntN(1000) == 0 {
			r.offset++ // planted bug: the consumer records the wrong offset
		}
		fp.Records = append(fp.Records, ReadRecord{Offset: r.offset, Value: r.value, Tombstone: r.tombstone})
		if c.maxPollRecords > 0 && len(fp.Records) == c.maxPollRecords && c.w.faulting() {
			kept = false
			break // the rest waits for the next poll, which resumes mid-batch
		}
	}
	fp.Next = fp.From
	if n := len(fp.Records); n > 0 {
		fp.Next = fp.Records[n-1].Offset + 1
	}
	if end := batchesEnd(batches); kept && err == nil && end > fp.Next {
		fp.Next = end
	}
	if fp.Next > fp.From && c.pos[fp.Partition] >= 0 {
		c.pos[fp.Partition] = fp.Next
		if c.awaitFrom[fp.Partition] >= 0 && c.pos[fp.Partition] > c.awaitFrom[fp.Partition] {
			c.awaitFrom[fp.Partition] = -1 // delivered
		}
	}
}

func findFetchPartition(resp *kmsg.FetchResponse, topic string, partition int32) *kmsg.FetchResponseTopicPartition {
	for i := range resp.Topics {
		if resp.Topics[i].Topic != topic {
			continue
		}
		for j := range resp.Topics[i].Partitions {
			if rp := &resp.Topics[i].Partitions[j]; rp.Partition == partition {
				return rp
			}
		}
	}
	return nil
}

// caughtUp says the consumer has read every acknowledged record.
func (c *consumer) caughtUp() bool {
	for p, off := range c.pos {
		if off < c.w.ackedEnd[p] {
			return false
		}
	}
	return true
}

func (c *consumer) clearAwaits() {
	for i := range c.awaitFrom {
		c.awaitFrom[i] = -1
	}
}

// clientSettle is how long after a fault the delivery check waits before
// judging again: long enough for request timeouts, reconnects and a
// restarted broker's recovery.
const clientSettle = core.Instant(12e9)

// expectDelivery is told of every acknowledged produce. A consumer caught
// up on every partition, whose next record of part is the one just
// acknowledged at base, must read it within a bound: a poll gap, a long
// poll that left part out, one that includes it, and their round trips.
// Stretches after faults are not judged.
func (w *world) expectDelivery(part int32, base core.Offset) {
	for _, c := range w.consumers {
		if c.pos[part] != base || c.awaitFrom[part] >= 0 || !c.caughtUpTo(w.ackedEnd) || !c.caughtUpTo(c.lastHWM) {
			continue
		}
		c.awaitFrom[part], c.awaitAt[part] = base, w.now
		rtt := 2 * (w.net.latencyMin + w.net.latencyJitter)
		// A long poll that left part out, then up to one fetch per
		// partition until the rotation puts part first, each with its
		// poll gap, round trip and storage reads.
		round := c.pollGap + rtt + 2*w.storageDelayMax() + w.burstWindow
		bound := 2*core.Instant(c.maxWaitMs)*1e6 + core.Instant(len(c.pos)+2)*round + 200e6
		at, c := w.now, c
		w.after(bound, func() {
			if c.awaitFrom[part] != base || c.awaitAt[part] != at || w.clientDisturbedUntil > at || w.phase == phaseFinished {
				return
			}
			w.failf("slow-delivery", "%s was caught up when partition %d offset %d was acknowledged at %s, and has not read it %s later",
				c.cl.name, part, base, fmtInstant(at), fmtDur(w.now-at))
		})
	}
}

// caughtUpTo says the consumer's positions reach ends on every partition.
func (c *consumer) caughtUpTo(ends []core.Offset) bool {
	for p, off := range c.pos {
		if off < ends[p] {
			return false
		}
	}
	return true
}

// makeLegacy turns a consumer into a Kafka 0.9 (Fetch v0-1) or 0.10
// (v2-3) one.
func (c *consumer) makeLegacy(r *rand.Rand) string {
	c.version = int16(r.IntN(4))
	c.legacyMagic = 0
	if c.version >= 2 {
		c.legacyMagic = 1
	}
	return fmt.Sprintf("%s:legacy(v%d)", c.cl.name, c.version)
}

// legacyPartMaxBytes caps how far a legacy consumer grows its partition
// fetch size when a message does not fit (as Kafka 0.9's consumer is told
// to, and librdkafka does by itself): past the largest message the broker
// takes.
const legacyPartMaxBytes = 4 << 20

// recordLegacy is record for a legacy consumer: messages, not batches. A
// wrapper may hold messages below the fetch offset, which the consumer
// skips; the position moves past the last message. A fetch whose data
// holds no complete message (the first did not fit the partition's
// limit) doubles the consumer's partition fetch size.
func (c *consumer) recordLegacy(fp *FetchPart, data []byte) {
	recs, used, err := c.decompressor.decodeLegacy(data, c.legacyMagic)
	if err != nil {
		c.w.failf("corrupt-read", "%s: partition %d at offset %d: %v", c.cl.name, fp.Partition, fp.From, err)
	}
	if used == 0 && len(data) > 0 && c.partMaxBytes < legacyPartMaxBytes {
		c.partMaxBytes = min(2*c.partMaxBytes, legacyPartMaxBytes)
	}
	for _, r := range recs {
		if r.offset < fp.From {
			continue
		}
		if r.offset >= fp.HighWatermark {
			c.w.failf("read-past-hwm", "%s: partition %d offset %d read past the high watermark %d", c.cl.name, fp.Partition, r.offset, fp.HighWatermark)
		}
		fp.Records = append(fp.Records, ReadRecord{Offset: r.offset, Value: r.value})
	}
	fp.Next = fp.From
	if n := len(fp.Records); n > 0 {
		fp.Next = fp.Records[n-1].Offset + 1
	}
	if fp.Next > fp.From && c.pos[fp.Partition] >= 0 {
		c.pos[fp.Partition] = fp.Next
		if c.awaitFrom[fp.Partition] >= 0 && c.pos[fp.Partition] > c.awaitFrom[fp.Partition] {
			c.awaitFrom[fp.Partition] = -1 // delivered
		}
	}
}

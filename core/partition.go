package core

import (
	"slices"
	"sort"

	"cloudkafka/core/cover"
)

// partition is one partition as this broker knows it: its topic, its
// replicas, leader, leader epoch and ISR as the controller last said
// (the metadata), and the replica this broker hosts, if it is one of
// the replicas. Only a leading replica (made leader by a LeaderAndIsr
// and not moved away since) serves produces and fetches.
type partition struct {
	tp       TopicPartition
	topic    *topic
	epoch    LeaderEpoch
	leader   BrokerID // -1: none
	replicas []BrokerID
	isr      []BrokerID
	// zkVersion is the version of the partition's state znode the
	// controller's last word came from (Kafka's partition epoch).
	zkVersion int32
	// ctlEpoch is the controller epoch of the state's last writer.
	ctlEpoch int32
	// known: the controller has described the partition (LeaderAndIsr or
	// UpdateMetadata); until then Metadata does not list it.
	known bool
	// leading: this broker leads the partition at epoch, as the
	// controller's last LeaderAndIsr for it said; taken: a LeaderAndIsr
	// for it was taken since this broker started (an older one is
	// refused after).
	leading, taken bool
	*replica       // nil when this broker hosts no replica of the partition
}

// hosted says whether this broker holds a replica of p.
func (p *partition) hosted() bool { return p.replica != nil }

// replica is this broker's replica of a partition: its offsets and
// producer state. The log bytes live in the segment store; the core knows
// offsets only.
//
// Invariants: logStart <= hwm <= localEnd <= written <= leo. leo is the
// next offset to assign (it includes appends still in flight); written is
// the end of the appends the store has completed, in order; localEnd is
// the end of the prefix of appends that are written and, where the flush
// policy demanded it, synced: locally durable, what acks=1 waits for. hwm,
// the high watermark, is what consumers see and acks=all waits for: on a
// leader, localEnd bounded by every in-sync follower's log end
// (replication.go); on a follower, the leader's as its fetches tell,
// bounded by localEnd.
type replica struct {
	logStart Offset
	leo      Offset
	written  Offset
	localEnd Offset
	hwm      Offset

	// inflight lists the appends not yet covered by localEnd, in offset
	// order.
	inflight []*appendOp
	// hwmWaits are acks=all produces (and their duplicates) waiting for
	// the high watermark, in offset order. A change of leadership fails
	// them together (NOT_LEADER_OR_FOLLOWER).
	hwmWaits []hwmWait
	// epochs lists the leader epochs that wrote the log and where each
	// began, oldest first (Kafka's leader epoch cache).
	epochs []EpochStart
	// repl is the replication state: a leader's view of its followers,
	// or a follower's fetch position (replication.go).
	repl replication
	// syncedEnd is the end of the appends covered by completed Syncs:
	// everything below it is durable. flush.messages bounds the records
	// past it, as Kafka counts unflushed messages from its recovery point.
	syncedEnd Offset
	// unsyncedMsgs counts records appended since the last Sync was
	// emitted; unsyncedSince is when the first of them was appended
	// (flush.ms counts from it).
	unsyncedMsgs  int64
	unsyncedSince Instant
	syncsPending  int // Syncs emitted and not completed

	producers map[ProducerID]*producerState
	offline   bool // a storage error took the log offline
	retaining bool // a Retain is outstanding
	// filesDueMs is when the store next deletes the files of removed
	// segments (file.delete.delay.ms), as its last Retained, Truncated
	// or Cleaned said; 0: none wait. A Retain with FilesOnly is asked
	// for then; deletingFiles says one is outstanding.
	filesDueMs    int64
	deletingFiles bool
	// truncating: a Truncate is outstanding; the recovery point
	// checkpoint leaves the partition out meanwhile (CheckpointRecovery).
	truncating bool
	deleted    bool // the topic was deleted
	// forgotProducers says the idempotence state may lack a producer that
	// wrote here: one was evicted under max.producers.per.partition, or
	// the log no longer starts at 0 and this replica may never have seen
	// a producer's batches below its start (a follower that started over
	// at its leader's log start). A producer it has no state of is then
	// answered UNKNOWN_PRODUCER_ID unless it starts at sequence 0 (see
	// producerState.check).
	// Until then the state is complete (restarts rebuild it from the log
	// and its snapshot), so a producer it does not know has never written
	// here.
	forgotProducers bool

	// trimTo is the log start a DeleteRecords asked this leader for; a
	// Retain carries it to the store (api_21_delete_records.go).
	trimTo Offset

	cleaning bool // a Clean is outstanding
	// cleanDue is when the cleaner next looks at the partition: at once
	// after a clean that ran (there may be more to do),
	// log.cleaner.backoff.ms after one that found nothing to do.
	cleanDue Instant
}

// appendOp is one batch on its way into the log.
type appendOp struct {
	base, last Offset
	records    int64
	appended   bool
	needsSync  bool
	synced     bool
	failed     error
	done       func(err error) // called once the append is acknowledgeable or failed
}

// newPartition is partition idx of t, as the metadata describes it
// before the controller does: no leader, no replica here.
func newPartition(t *topic, idx int32) *partition {
	return &partition{tp: TopicPartition{Topic: t.name, Partition: idx}, topic: t, leader: -1}
}

// host gives p a replica on this broker (an empty one, until restore).
func (p *partition) host() {
	if p.replica == nil {
		p.replica = &replica{producers: map[ProducerID]*producerState{}}
	}
}

// restore applies what recovery found in the log.
func (p *partition) restore(rp RecoveredPartition, cfg Config) {
	// The high watermark is not known after a restart: the data may
	// include records no other replica has. It is set again once this
	// broker leads (replication.go) or follows.
	p.logStart, p.leo, p.written, p.hwm = rp.LogStartOffset, rp.LogEndOffset, rp.LogEndOffset, rp.LogStartOffset
	p.localEnd, p.syncedEnd = rp.LogEndOffset, rp.LogEndOffset
	p.epoch = rp.LeaderEpoch
	p.epochs = append([]EpochStart(nil), rp.Epochs...)
	// Recovery keeps at most max.producers.per.partition producers: at
	// the bound, some may have been dropped.
	ids := map[ProducerID]bool{}
	for _, pb := range rp.Producers {
		ids[pb.ProducerID] = true
	}
	// A log that no longer starts at 0 may lack producers whose batches
	// all lay below its start: retention's producer snapshot keeps a
	// leader's, but a follower that started over at its leader's log start
	// never had them.
	p.forgotProducers = len(ids) >= cfg.ProducersPerPartMax || rp.LogStartOffset > 0
	if bugOn(BugForgetProducerWindow) {
		p.forgotProducers = true
		return // BUG SITE (simbugs): BugForgetProducerWindow ignores rp.Producers, as if evicted.
	}
	for _, pb := range rp.Producers {
		p.producer(pb.ProducerID, cfg).remember(pb, cfg.ProducerWindow)
	}
}

// append assigns offsets to one validated batch and emits the effects
// that write it; done runs when the batch is acknowledgeable. frame is
// the hold on the request frame batch lies in, if any (Append.Frame).
func (b *Broker) appendBatch(p *partition, batch []byte, h BatchHeader, frame FrameRef, done func(error)) (Offset, int64) {
	base := p.leo
	SetBaseOffset(batch, base, p.epoch)
	p.noteEpoch(p.epoch, base)
	maxTime := h.MaxTimestamp
	if b.cfg.settingsOf(p.topic).logAppendTime {
		maxTime = b.now.Millis()
		SetLogAppendTime(batch, maxTime)
		b.cover(cover.LogAppendTimeBatch)
	}
	if h.Compression() != 0 {
		b.cover(cover.CompressedBatchAppended)
	}
	if len(batch) > 64<<10 {
		b.cover(cover.LargeBatchAppended)
	}
	n := int64(h.LastOffsetDelta) + 1
	op := &appendOp{base: base, last: base + Offset(n) - 1, records: n, done: done}
	p.leo += Offset(n)
	p.inflight = append(p.inflight, op)
	tok := awaitFor(b.step, func(a Appended) { b.appended(p, op, a.Err) })
	b.emit(Append{Token: tok, Partition: p.tp, Data: batch, Base: base, Last: op.last,
		MaxTime: maxTime, Now: b.now, Config: b.cfg.logConfig(p.topic), Frame: frame})
	if p.unsyncedMsgs == 0 {
		p.unsyncedSince = b.now
	}
	p.unsyncedMsgs += n
	// A batch that takes the records past the durable point to
	// flush.messages is acknowledged only once a sync covers it. Counting
	// from the durable point (not from the last Sync emitted) keeps the
	// bound while earlier Syncs, a timed flush's among them, are pending.
	if p.leo-p.syncedEnd >= Offset(b.cfg.settingsOf(p.topic).flushMessages) {
		op.needsSync = true
		b.syncPartition(p)
	}
	return base, maxTime
}

func mustTopicConfig(name string) topicConfig {
	tc, ok := findTopicConfig(name)
	if !ok {
		panic("unknown topic config " + name)
	}
	return tc
}

// syncPartition emits a Sync covering every append emitted so far.
func (b *Broker) syncPartition(p *partition) {
	ops := append([]*appendOp(nil), p.inflight...)
	end := p.leo
	p.unsyncedMsgs = 0
	p.syncsPending++
	tok := awaitFor(b.step, func(sy Synced) {
		p.syncsPending--
		if err := sy.Err; err != nil {
			b.takeOffline(p, err)
			return
		}
		if end > p.syncedEnd {
			p.syncedEnd = end
		}
		for _, op := range ops {
			op.synced = true
		}
		b.advance(p)
	})
	b.emit(Sync{Token: tok, Partition: p.tp})
}

func (b *Broker) maybeTimedFlush(p *partition) {
	if p.offline || p.syncsPending > 0 || p.unsyncedMsgs == 0 {
		return
	}
	// Compared in milliseconds: flush.ms defaults to the largest long,
	// which would overflow in nanoseconds.
	if (b.now - p.unsyncedSince).Millis() >= b.cfg.settingsOf(p.topic).flushMs {
		b.cover(cover.TimedFlush)
		b.syncPartition(p)
	}
}

func (b *Broker) appended(p *partition, op *appendOp, err error) {
	if err != nil {
		op.failed = err
		b.takeOffline(p, err)
		return
	}
	op.appended = true
	if op.last+1 > p.written {
		p.written = op.last + 1
		if p.leading && len(p.repl.followers) > 0 {
			b.wakeReplicaFetches(p)
		}
	}
	b.advance(p)
}

// advance moves localEnd over the locally durable prefix of in-flight
// appends, releasing their local acknowledgements in order, and then the
// high watermark as far as replication allows. The released appends
// leave the in-flight list before their completions run, which see the
// partition as it now is (a follower's fetcher sends its next fetch for
// it only once nothing is in flight).
func (b *Broker) advance(p *partition) {
	i := 0
	for ; i < len(p.inflight); i++ {
		op := p.inflight[i]
		// BUG SITE (simbugs): BugAckBeforeSync acknowledges without the sync.
		if !op.appended || (op.needsSync && !op.synced && !bugOn(BugAckBeforeSync)) {
			break
		}
		p.localEnd = max(p.localEnd, op.last+1)
	}
	released := slices.Clone(p.inflight[:i])
	p.inflight = append(p.inflight[:0], p.inflight[i:]...)
	for _, op := range released {
		op.done(nil)
	}
	b.updateHWM(p)
}

// setHWM raises the high watermark to hwm: the acks=all produces it
// covers are answered, and parked fetches read again.
func (b *Broker) setHWM(p *partition, hwm Offset) {
	if bugOn(BugHighWatermarkAtWrite) {
		hwm = max(hwm, p.written) // BUG SITE (simbugs): BugHighWatermarkAtWrite ignores the sync.
	}
	if hwm <= p.hwm {
		return
	}
	p.hwm = hwm
	i := 0
	for ; i < len(p.hwmWaits) && p.hwmWaits[i].last < hwm; i++ {
		p.hwmWaits[i].done(nil)
	}
	p.hwmWaits = append(p.hwmWaits[:0], p.hwmWaits[i:]...)
	if bugOn(BugLongPollNotWoken) {
		return // BUG SITE (simbugs): BugLongPollNotWoken leaves long polls parked.
	}
	if b.wakeFetches(p) > 0 {
		b.cover(cover.FetchWokenByData)
	}
}

// hwmWait is an acknowledgement waiting for the high watermark to pass
// last.
type hwmWait struct {
	last Offset
	done func(error)
}

// awaitHWM runs done once the high watermark passes last, or with
// errLeadershipLost if the broker stops leading p first. A broker that
// no longer leads p fails it at once: an append that completed after
// its demotion may be cut by the follower's repair, and the high
// watermark it then follows is another leader's, over other records.
func (b *Broker) awaitHWM(p *partition, last Offset, done func(error)) {
	if !p.leading {
		done(errLeadershipLost)
		return
	}
	if last < p.hwm {
		done(nil)
		return
	}
	i := len(p.hwmWaits)
	for i > 0 && p.hwmWaits[i-1].last > last {
		i--
	}
	p.hwmWaits = slices.Insert(p.hwmWaits, i, hwmWait{last, done})
}

// failHWMWaits answers every acks=all wait of p with err.
func (p *partition) failHWMWaits(err error) {
	waits := p.hwmWaits
	p.hwmWaits = nil
	for _, w := range waits {
		w.done(err)
	}
}

// noteEpoch records that leader epoch e writes from offset start, if it
// is newer than every epoch the cache holds. Earlier epochs that wrote
// nothing (they start at start too) are dropped, as Kafka's
// LeaderEpochFileCache.assign drops the entries a new one makes
// non-monotonic: start offsets strictly increase, and OffsetForLeaderEpoch
// for an epoch that wrote nothing answers the epoch before it.
func (p *partition) noteEpoch(e LeaderEpoch, start Offset) {
	if e < 0 {
		return
	}
	n := len(p.epochs)
	if n > 0 && p.epochs[n-1].Epoch >= e {
		return
	}
	for n > 0 && p.epochs[n-1].Start >= start {
		n--
	}
	p.epochs = append(p.epochs[:n], EpochStart{Epoch: e, Start: start})
}

// endOffsetFor answers OffsetForLeaderEpoch for epoch e from the cache,
// as Kafka's LeaderEpochFileCache.endOffsetFor does: the largest epoch at
// or below e and the start of the first epoch above it (the log end for
// the latest epoch); -1, -1 for an epoch above the latest.
func (p *partition) endOffsetFor(e LeaderEpoch) (LeaderEpoch, Offset) {
	n := len(p.epochs)
	switch {
	case e < 0 || n == 0:
		return -1, -1
	case p.epochs[n-1].Epoch == e:
		return e, p.leo
	case p.epochs[n-1].Epoch < e:
		return -1, -1
	}
	i := sort.Search(n, func(i int) bool { return p.epochs[i].Epoch > e }) // the first above e
	if i == 0 {
		return e, p.epochs[0].Start
	}
	return p.epochs[i-1].Epoch, p.epochs[i].Start
}

// takeOffline applies the storage-error policy: the partition stops
// serving (KAFKA_STORAGE_ERROR) until restart and recovery, and every
// append not yet acknowledged fails with that error, because it may or may
// not be on disk.
func (b *Broker) takeOffline(p *partition, err error) {
	if !p.offline {
		p.offline = true
	}
	for _, op := range p.inflight {
		op.done(err)
	}
	p.inflight = nil
	p.failHWMWaits(err)
	b.wakeFetches(p)
}

// producerState is the idempotence window of one producer on one
// partition: its epoch and its last few batches.
type producerState struct {
	id      ProducerID
	epoch   int16
	batches []ProducerBatch // oldest first, at most cfg.ProducerWindow
	lastUse Offset
}

func (p *partition) producer(id ProducerID, cfg Config) *producerState {
	ps := p.producers[id]
	if ps == nil {
		if len(p.producers) >= cfg.ProducersPerPartMax {
			p.evictProducer()
		}
		ps = &producerState{id: id, epoch: -1}
		p.producers[id] = ps
	}
	return ps
}

// evictProducer forgets the producer that wrote least recently (ties by
// id), keeping the map within max.producers.per.partition.
func (p *partition) evictProducer() {
	ids := make([]ProducerID, 0, len(p.producers))
	// order-independent: ids collected, then sorted
	for id := range p.producers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, c := p.producers[ids[i]], p.producers[ids[j]]
		if a.lastUse != c.lastUse {
			return a.lastUse < c.lastUse
		}
		return ids[i] < ids[j]
	})
	delete(p.producers, ids[0])
	p.forgotProducers = true
}

func (ps *producerState) remember(pb ProducerBatch, window int) {
	if pb.ProducerEpoch != ps.epoch {
		ps.batches = ps.batches[:0]
		ps.epoch = pb.ProducerEpoch
	}
	ps.batches = append(ps.batches, pb)
	if len(ps.batches) > window {
		ps.batches = append(ps.batches[:0], ps.batches[len(ps.batches)-window:]...)
	}
	ps.lastUse = pb.LastOffset
}

// depthOf says how far from the newest batch of the window pb is: 1 for
// the newest.
func (ps *producerState) depthOf(pb *ProducerBatch) int {
	for i := range ps.batches {
		if &ps.batches[i] == pb {
			return len(ps.batches) - i
		}
	}
	panic("core: duplicate batch not in its producer's window")
}

// seqOutcome is the idempotence verdict on a batch.
type seqOutcome int8

const (
	seqAppend    seqOutcome = iota // new, in sequence: append it
	seqDuplicate                   // a retry of a batch in the window
	seqOutOfOrder
	seqFencedEpoch
	seqUnknownProducer // no state of the producer, which may have been forgotten
)

// check applies Kafka's sequence rules (KIP-98, KIP-360) to a batch.
func (ps *producerState) check(h BatchHeader, forgotProducers bool) (seqOutcome, *ProducerBatch) {
	last := h.BaseSequence + h.LastOffsetDelta
	for i := range ps.batches {
		pb := &ps.batches[i]
		if pb.ProducerEpoch == h.ProducerEpoch && pb.FirstSeq == h.BaseSequence && pb.LastSeq == last {
			return seqDuplicate, pb
		}
	}
	switch {
	case ps.epoch == -1 && len(ps.batches) == 0:
		// Unknown producer: it must start at sequence 0. Here the state
		// is complete until a producer is forgotten, so a producer that
		// never wrote here going on past 0 sent a later batch that
		// overtook its first (refused while the broker did not lead the
		// partition yet): OUT_OF_ORDER_SEQUENCE_NUMBER, and the producer
		// sends it again after that one.
		// Once producers may have been forgotten, the producer may be one
		// of them, or a batch that overtook its predecessor on the way to
		// a new leader that never saw the producer's earlier batches.
		// Taking it (as Kafka has since KIP-360) would write it ahead of
		// that predecessor; it is answered UNKNOWN_PRODUCER_ID with the
		// log start offset instead, as Kafka 0.11 to 2.4 answer it, and
		// the producer starts over under a new producer id or epoch
		// (every client that supports idempotence handles it so).
		if h.BaseSequence != 0 {
			if forgotProducers {
				return seqUnknownProducer, nil
			}
			return seqOutOfOrder, nil
		}
		return seqAppend, nil
	case h.ProducerEpoch < ps.epoch:
		return seqFencedEpoch, nil
	case h.ProducerEpoch > ps.epoch:
		if h.BaseSequence != 0 {
			return seqOutOfOrder, nil
		}
		return seqAppend, nil
	}
	if len(ps.batches) == 0 {
		return seqAppend, nil
	}
	prev := ps.batches[len(ps.batches)-1].LastSeq
	if h.BaseSequence != nextSeq(prev) {
		return seqOutOfOrder, nil
	}
	return seqAppend, nil
}

// nextSeq follows Kafka's wrap-around of sequence numbers at MaxInt32.
func nextSeq(s int32) int32 {
	if s == 1<<31-1 {
		return 0
	}
	return s + 1
}

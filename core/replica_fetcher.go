package core

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Replication, the follower's side. A follower of a partition first
// repairs its log against the leader's by leader epoch (KIP-101, KIP-279):
// it asks the leader, with OffsetForLeaderEpoch, where its latest epoch
// ends in the leader's log, and truncates what lies past it; when the
// leader answers with an older epoch, the follower cuts back to where
// that epoch ends in its own log and asks again. It never truncates to
// its high watermark. Then it fetches (Fetch with its replica id) from
// its log end, appends the leader's batches unchanged and takes the
// leader's high watermark, bounded by what it holds durably.
//
// The follower partitions of one leader are fetched together by
// num.replica.fetchers fetchers, a partition going to one by Kafka's hash
// of its name and number; each fetcher has one request out at a time, and
// sends the next once the appends of the last are written.

// fetcher fetches the partitions this broker follows on one leader.
type fetcher struct {
	key   fetcherKey
	parts []*partition // sorted by topic and partition
	// busy: a request is out, or appends from the last response are
	// being written.
	busy    bool
	retryAt Instant
}

type fetcherKey struct {
	leader BrokerID
	index  int
}

// fetcherIndex is Kafka's AbstractFetcherManager.getFetcherId: the
// partition's place among numFetchers fetchers.
func fetcherIndex(tp TopicPartition, numFetchers int) int {
	h := int32(0)
	for _, c := range tp.Topic { // Java's String.hashCode over UTF-16
		for _, u := range utf16Units(c) {
			h = 31*h + int32(u)
		}
	}
	v := 31*h + tp.Partition
	if v == -1<<31 {
		v = 0 // Kafka's Utils.abs maps MinValue to 0
	} else if v < 0 {
		v = -v
	}
	return int(v) % max(numFetchers, 1)
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)}
}

// becomeFollower starts following p's leader: the log is repaired first,
// then fetched. With no leader the partition waits for the controller. A
// broker shutting down that the controller took out of the ISR stops
// fetching, as Kafka's StopReplica to a shutting-down broker's replicas
// makes it (fetching on, it would soon be taken back in).
func (b *Broker) becomeFollower(p *partition) {
	b.stopFollowing(p)
	p.repl = replication{leaderHWM: -1, truncEpoch: -1}
	if p.leader < 0 || p.leader == b.cfg.BrokerID || p.offline {
		return
	}
	if b.shutdown.requested && !p.inISR(b.cfg.BrokerID) {
		return
	}
	key := fetcherKey{p.leader, fetcherIndex(p.tp, b.cfg.NumReplicaFetchers)}
	f := b.fetchers[key]
	if f == nil {
		f = &fetcher{key: key}
		b.fetchers[key] = f
	}
	f.parts = append(f.parts, p)
	slices.SortFunc(f.parts, func(x, y *partition) int {
		return cmp.Or(cmp.Compare(x.tp.Topic, y.tp.Topic), cmp.Compare(x.tp.Partition, y.tp.Partition))
	})
	p.repl.fetcher = f
	b.cover(cover.FollowerStarted)
	b.pumpFetcher(f)
}

// stopFollowing takes p off its fetcher.
func (b *Broker) stopFollowing(p *partition) {
	if !p.hosted() || p.repl.fetcher == nil {
		return
	}
	f := p.repl.fetcher
	f.parts = slices.DeleteFunc(f.parts, func(q *partition) bool { return q == p })
	p.repl.fetcher = nil
	if len(f.parts) == 0 && !f.busy {
		delete(b.fetchers, f.key)
	}
}

// following says p is still followed by f at epoch.
func (p *partition) following(f *fetcher, epoch LeaderEpoch) bool {
	return p.hosted() && p.repl.fetcher == f && p.epoch == epoch && !p.leading && !p.offline
}

// tickFetchers sends what the fetchers may send now.
func (b *Broker) tickFetchers() {
	for _, key := range sortedFetcherKeys(b.fetchers) {
		b.pumpFetcher(b.fetchers[key])
	}
}

func sortedFetcherKeys(m map[fetcherKey]*fetcher) []fetcherKey {
	keys := make([]fetcherKey, 0, len(m))
	// order-independent: collected, then sorted
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y fetcherKey) int {
		return cmp.Or(cmp.Compare(x.leader, y.leader), cmp.Compare(x.index, y.index))
	})
	return keys
}

// pumpFetcher sends f's next request: OffsetForLeaderEpoch for the
// partitions still to repair, else a Fetch for the others.
func (b *Broker) pumpFetcher(f *fetcher) {
	if f.busy || b.now < f.retryAt {
		return
	}
	if len(f.parts) == 0 {
		delete(b.fetchers, f.key)
		return
	}
	lb, ok := b.live[f.key.leader]
	if !ok {
		return // the leader is not registered: the controller will move it
	}
	var repair, fetch []*partition
	for _, p := range f.parts {
		// A partition is asked for only once what it appended is
		// durable (its fetch offset tells the leader what it holds), and
		// repaired only once its appends and syncs from when it led are
		// done; an offline log is neither.
		switch {
		case p.offline || !p.storageIdle():
		case p.repl.truncated:
			fetch = append(fetch, p)
		default:
			repair = append(repair, p)
		}
	}
	switch {
	case len(repair) > 0:
		b.sendEpochQuery(f, lb, repair)
	case len(fetch) > 0:
		b.sendReplicaFetch(f, lb, fetch)
	}
}

// backoff holds f's next request for replica.fetch.backoff.ms.
func (b *Broker) backoff(f *fetcher) {
	f.retryAt = b.now + Instant(b.cfg.ReplicaFetchBackoffMs)*1e6
}

// sendEpochQuery asks the leader where each partition's latest epoch
// (or the epoch of the last round) ends in its log.
func (b *Broker) sendEpochQuery(f *fetcher, lb liveBroker, parts []*partition) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.SetVersion(3)
	req.ReplicaID = int32(b.cfg.BrokerID)
	// query is what was asked about a partition: its log's epoch, at
	// the leader epoch the partition followed.
	type query struct{ asked, current LeaderEpoch }
	queries := map[*partition]query{}
	for _, p := range parts {
		asked := p.repl.truncEpoch
		if asked < 0 {
			asked = latestEpoch(p)
		}
		if asked < 0 {
			p.repl.truncated = true // an empty log has nothing to repair
			continue
		}
		queries[p] = query{asked, p.epoch}
		rt := topicOf(&req.Topics, p.tp.Topic, func(name string) kmsg.OffsetForLeaderEpochRequestTopic {
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = name
			return t
		})
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p.tp.Partition, int32(p.epoch), int32(asked)
		rt.Partitions = append(rt.Partitions, rp)
	}
	if len(req.Topics) == 0 {
		b.pumpFetcher(f)
		return
	}
	f.busy = true
	b.peerSend(lb, req, func(resp kmsg.Response, err error) {
		f.busy = false
		if err != nil {
			b.backoff(f)
			b.pumpFetcher(f)
			return
		}
		failed := false
		for _, t := range resp.(*kmsg.OffsetForLeaderEpochResponse).Topics {
			for _, rp := range t.Partitions {
				p := b.partitionOf(t.Topic, rp.Partition)
				q, ok := queries[p]
				if p == nil || !ok || !p.following(f, q.current) {
					continue
				}
				switch {
				case rp.ErrorCode != errNone:
					failed = true // not the leader (yet), or fenced: ask again later
				case rp.LeaderEpoch < 0 || rp.EndOffset < 0:
					b.dropUnknownEpoch(f, p, q.asked)
				default:
					b.repair(f, p, LeaderEpoch(rp.LeaderEpoch), Offset(rp.EndOffset))
				}
			}
		}
		if failed {
			b.backoff(f)
		}
		b.pumpFetcher(f)
	})
}

// latestEpoch is the newest epoch in p's log, or -1.
func latestEpoch(p *partition) LeaderEpoch {
	if n := len(p.epochs); n > 0 {
		return p.epochs[n-1].Epoch
	}
	return -1
}

// repair applies the leader's answer: epoch ends at end in its log. The
// follower cuts its log to where both agree, as Kafka's
// AbstractFetcherThread.getOffsetTruncationState: if the follower has the
// epoch, to the smaller of the two ends (its own epoch may end earlier,
// where a later epoch of its own wrote what the leader does not have);
// else to where its own largest epoch below ends, and asks again about
// that one.
func (b *Broker) repair(f *fetcher, p *partition, epoch LeaderEpoch, end Offset) {
	own, ownEnd := p.endOffsetFor(epoch)
	target, done := min(end, ownEnd, p.leo), true
	if own != epoch {
		// With nothing at or below the epoch, none of the log is the
		// leader's: it all goes, and the follower fetches from its start.
		target, done = min(ownEnd, p.leo), own < 0
		if own < 0 {
			target = p.logStart
		}
		p.repl.truncEpoch = own
	}
	if bugOn(BugFollowerSkipsRepair) {
		target, done = p.leo, true // BUG SITE (simbugs): BugFollowerSkipsRepair keeps the whole log.
	}
	if bugOn(BugTruncateToHighWatermark) {
		target, done = min(p.hwm, p.leo), true // BUG SITE (simbugs): BugTruncateToHighWatermark truncates to the high watermark.
	}
	b.cutForRepair(f, p, target, done)
}

// dropUnknownEpoch applies the leader's answer that it knows no epoch at
// or above the one asked (UNDEFINED). The leader's latest epoch is its
// current one, the epoch the follower follows at (CurrentLeaderEpoch is
// checked), so no controller gave the epoch asked about: it comes from a
// damaged batch header (the partition leader epoch is outside the CRC)
// that the follower recovered or copied, and the leader answers UNDEFINED
// however often it is asked. Nothing of the follower's log from where
// that epoch starts is known to match the leader's: the follower cuts it
// there and asks again about its latest epoch before it, as when the
// leader answers with an older epoch (KIP-279). Kafka's follower
// truncates to its high watermark instead; a follower here repairs by
// leader epoch only, never by high watermark.
func (b *Broker) dropUnknownEpoch(f *fetcher, p *partition, asked LeaderEpoch) {
	p.repl.truncEpoch = -1
	i := slices.IndexFunc(p.epochs, func(e EpochStart) bool { return e.Epoch >= asked })
	if i < 0 {
		return // no longer in the log: ask about its latest epoch
	}
	start := max(p.epochs[i].Start, p.logStart)
	if start >= p.leo {
		// No record of the log carries it (a leader's entry for an epoch
		// it wrote nothing in, or a batch below the log start): the
		// entry goes alone.
		p.epochs = p.epochs[:i]
		return
	}
	b.cutForRepair(f, p, start, false)
}

// cutForRepair truncates p's log to target (never below its start: below
// it nothing is read again, and the store truncates no further); done
// says the repair is then over and the follower fetches, else it asks
// the leader again.
func (b *Broker) cutForRepair(f *fetcher, p *partition, target Offset, done bool) {
	target = max(target, p.logStart)
	if target >= p.leo {
		p.repl.truncated = done
		return
	}
	if !p.storageIdle() {
		return // asked again once its appends and syncs are done
	}
	b.cover(cover.FollowerTruncated)
	f.busy = true
	epochNow := p.epoch
	p.truncating = true
	b.checkpointRecovery()
	tok := awaitFor(b.step, func(t Truncated) {
		f.busy = false
		p.truncating = false
		if t.Err != nil {
			b.takeOffline(p, t.Err)
			b.pumpFetcher(f)
			return
		}
		b.truncated(p, t)
		if p.following(f, epochNow) {
			p.repl.truncated = done
		}
		b.pumpFetcher(f)
	})
	b.emit(Truncate{Token: tok, Partition: p.tp, Offset: target, Now: b.now, Config: b.cfg.logConfig(p.topic)})
}

// restartAt empties p's log and starts it at the leader's log start,
// which lies past its end (Kafka's truncateFullyAndStartAt), with the
// producer windows the leader sent for what lies below it
// (producer_transfer.go).
func (b *Broker) restartAt(f *fetcher, p *partition, start Offset, producers []ProducerBatch) {
	b.cover(cover.FollowerRestarted)
	if len(producers) > 0 {
		b.cover(cover.FollowerTookProducers)
	}
	epochNow := p.epoch
	p.repl.restarting, p.truncating = true, true
	b.checkpointRecovery()
	tok := awaitFor(b.step, func(t Truncated) {
		p.repl.restarting, p.truncating = false, false
		if t.Err != nil {
			b.takeOffline(p, t.Err)
			b.pumpFetcher(f)
			return
		}
		b.truncated(p, t)
		p.logStart = t.LogEnd
		p.hwm = max(p.hwm, p.logStart)
		// The leader's windows of the producers whose batches all lay
		// below its log start came with its answer; without them (a
		// leader that sent none) those producers are unknown here, and
		// one of them going on past sequence 0 is answered
		// UNKNOWN_PRODUCER_ID once this replica leads
		// (producerState.check). The leader may have forgotten some
		// itself: the state is never taken for complete.
		p.forgotProducers = true
		if p.following(f, epochNow) {
			p.repl.truncated = true
		}
		b.pumpFetcher(f)
	})
	b.emit(Truncate{Token: tok, Partition: p.tp, Offset: start, RestartAt: true, Producers: producers, Now: b.now, Config: b.cfg.logConfig(p.topic)})
}

// storageIdle says no append, sync, retention or truncation of p is
// outstanding: a Truncate may be emitted. (Two answers to epoch queries
// may both ask for a cut: the second, emitted while the first was
// outstanding, would cut what the follower fetched after the first,
// which its leader may already count as replicated.)
func (p *partition) storageIdle() bool {
	return len(p.inflight) == 0 && p.syncsPending == 0 && p.leo == p.written && !p.retaining && !p.truncating && !p.repl.restarting
}

// truncated takes the log's state after a Truncate: its end, its epochs
// and its producers, as the store rebuilt them from what is left.
func (b *Broker) truncated(p *partition, t Truncated) {
	end := t.LogEnd
	p.leo, p.written, p.localEnd = end, end, end
	p.syncedEnd = min(p.syncedEnd, end)
	p.hwm = min(p.hwm, end)
	p.unsyncedMsgs = 0
	p.filesDueMs = t.FilesDueMs
	p.epochs = append(p.epochs[:0], t.Epochs...)
	p.producers = map[ProducerID]*producerState{}
	for _, pb := range t.Producers {
		p.producer(pb.ProducerID, b.cfg).remember(pb, b.cfg.ProducerWindow)
	}
}

// sendReplicaFetch fetches parts from their leader at their log ends.
func (b *Broker) sendReplicaFetch(f *fetcher, lb liveBroker, parts []*partition) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID = int32(b.cfg.BrokerID)
	req.MaxWaitMillis = b.cfg.ReplicaFetchWaitMaxMs
	req.MinBytes = b.cfg.ReplicaFetchMinBytes
	req.MaxBytes = b.cfg.ReplicaFetchResponseMaxBytes
	req.SessionEpoch = -1
	type asked struct {
		offset Offset
		epoch  LeaderEpoch
	}
	sent := map[*partition]asked{}
	for _, p := range parts {
		rt := topicOf(&req.Topics, p.tp.Topic, func(name string) kmsg.FetchRequestTopic {
			t := kmsg.NewFetchRequestTopic()
			t.Topic = name
			return t
		})
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch = p.tp.Partition, int64(p.leo), int32(p.epoch)
		rp.LogStartOffset, rp.PartitionMaxBytes = int64(p.logStart), b.cfg.ReplicaFetchMaxBytes
		rt.Partitions = append(rt.Partitions, rp)
		sent[p] = asked{p.leo, p.epoch}
	}
	f.busy = true
	b.peerSend(lb, req, func(resp kmsg.Response, err error) {
		if err != nil {
			f.busy = false
			b.backoff(f)
			b.pumpFetcher(f)
			return
		}
		pending, failed := 1, false
		finish := func() {
			if pending--; pending > 0 {
				return
			}
			f.busy = false
			if failed {
				b.backoff(f)
			}
			b.pumpFetcher(f)
		}
		for _, t := range resp.(*kmsg.FetchResponse).Topics {
			for _, rp := range t.Partitions {
				p := b.partitionOf(t.Topic, rp.Partition)
				a, ok := sent[p]
				if p == nil || !ok || !p.following(f, a.epoch) || p.leo != a.offset {
					continue
				}
				switch rp.ErrorCode {
				case errNone:
				case errOffsetOutOfRange:
					if start := Offset(rp.LogStartOffset); start > p.leo && p.storageIdle() {
						producers, _ := taggedProducers(&rp, start)
						b.restartAt(f, p, start, producers) // behind the leader's log start: start over there
						continue
					}
					p.repl.truncated = false // the logs disagree: repair again
					failed = true
					continue
				default:
					failed = true // not the leader (yet), or fenced: the controller's word comes
					continue
				}
				p.repl.leaderHWM = max(p.repl.leaderHWM, Offset(rp.HighWatermark))
				if ls := min(Offset(rp.LogStartOffset), p.leo); ls > p.logStart && !p.retaining {
					b.retain(p, ls) // the leader's retention: its log start is the partition's
				}
				pending++
				b.appendAsFollower(p, rp.RecordBatches, finish)
				b.updateHWM(p)
			}
		}
		finish()
	})
}

// appendAsFollower appends the leader's batches as they are (offsets and
// leader epochs kept), from p's log end; done runs once they are written.
// Only whole, valid batches that continue the log are taken.
func (b *Broker) appendAsFollower(p *partition, data []byte, done func()) {
	var batches []byte
	var first, last Offset = -1, -1
	var maxTime int64 = -1
	expect := p.leo // offsets only grow; compaction leaves gaps between batches
	_ = SplitBatches(data, func(batch []byte, h BatchHeader) error {
		if h.LastOffset() < expect && first < 0 {
			return nil // before the fetch offset (a fetch returns whole batches)
		}
		if h.BaseOffset < expect {
			return errStopScan // the leader's batch straddles this log's end: repaired later
		}
		if _, err := CheckStoredBatch(batch); err != nil {
			return errStopScan // damaged: the next fetch asks again
		}
		if first < 0 {
			first = h.BaseOffset
		}
		last, maxTime, expect = h.LastOffset(), max(maxTime, h.MaxTimestamp), h.LastOffset()+1
		batches = append(batches, batch...)
		p.noteEpoch(h.PartitionLeaderEpoch, h.BaseOffset)
		if h.ProducerID >= 0 && h.BaseSequence >= 0 {
			p.producer(ProducerID(h.ProducerID), b.cfg).remember(ProducerBatch{ProducerID: ProducerID(h.ProducerID), ProducerEpoch: h.ProducerEpoch,
				FirstSeq: h.BaseSequence, LastSeq: h.BaseSequence + h.LastOffsetDelta,
				BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), Timestamp: h.MaxTimestamp}, b.cfg.ProducerWindow)
		}
		return nil
	})
	if first < 0 {
		done()
		return
	}
	b.cover(cover.FollowerAppended)
	n := int64(last - p.leo + 1)
	// The next fetch, whose offset tells the leader what this replica
	// holds, waits until the batches are durable as the flush policy
	// says: an acks=all record is then on every in-sync replica's disk
	// as it is on the leader's.
	op := &appendOp{base: p.leo, last: last, records: n, done: func(error) { done() }}
	p.leo = last + 1
	p.inflight = append(p.inflight, op)
	tok := awaitFor(b.step, func(a Appended) { b.appended(p, op, a.Err) })
	b.emit(Append{Token: tok, Partition: p.tp, Data: batches, Base: first, Last: last,
		MaxTime: maxTime, Now: b.now, Config: b.cfg.logConfig(p.topic), Replica: true})
	if p.unsyncedMsgs == 0 {
		p.unsyncedSince = b.now
	}
	p.unsyncedMsgs += n
	if p.leo-p.syncedEnd >= Offset(b.cfg.settingsOf(p.topic).flushMessages) {
		op.needsSync = true
		b.syncPartition(p)
	}
}

// topicOf finds or adds the request topic named name in *ts.
func topicOf[T any](ts *[]T, name string, mk func(string) T) *T {
	for i := range *ts {
		if topicName(&(*ts)[i]) == name {
			return &(*ts)[i]
		}
	}
	*ts = append(*ts, mk(name))
	return &(*ts)[len(*ts)-1]
}

func topicName(t any) string {
	switch t := t.(type) {
	case *kmsg.FetchRequestTopic:
		return t.Topic
	case *kmsg.OffsetForLeaderEpochRequestTopic:
		return t.Topic
	}
	panic("core: not a request topic")
}

// peerSend sends req to another broker; done gets the response or the
// error that kept it from coming.
func (b *Broker) peerSend(lb liveBroker, req kmsg.Request, done func(kmsg.Response, error)) {
	tok := awaitFor(b.step, func(r PeerResponse) { done(r.Response, r.Err) })
	b.emit(b.peerSendTo(tok, lb, req))
}

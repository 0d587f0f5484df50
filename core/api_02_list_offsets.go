package core

import (
	"cloudkafka/core/cover"
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets: v0-9
//
// Behavior:
//   - Needs Describe on each topic (acl.go): a denied topic's
//     partitions get TOPIC_AUTHORIZATION_FAILED.
//   - Timestamp -2 answers the log start offset, -1 the high watermark
//     (equal to the last stable offset: there are no transactions).
//   - A timestamp >= 0 answers, as Kafka does, the offset and timestamp
//     of the first committed record whose timestamp is at or after it
//     (every record of a LogAppendTime batch has the batch's append time),
//     with the leader epoch of the batch holding it; none answers offset
//     -1 and timestamp -1. The segment store finds the first batch whose
//     MaxTimestamp reaches the target (FindTime); the core reads that one
//     batch and decodes its records (records.go).
//   - A batch whose MaxTimestamp reaches the target but none of whose
//     records do (possible only for a batch whose producer wrote a
//     MaxTimestamp above its records': the produce path validates headers,
//     not records) is passed over and the scan goes on with the next batch,
//     batch by batch, skipping batches whose MaxTimestamp is below the
//     target, as Kafka's segment search does. Answering that batch's base
//     offset instead would name a record earlier than the target.
//   - A stored batch that fails its CRC or whose records cannot be decoded
//     (or decompress beyond the limit in records.go) answers
//     KAFKA_STORAGE_ERROR, as does a failed read: the stored data, not the
//     request, is at fault, and the client retries or fails over.
//   - A read that fails because retention deleted the batch after the
//     lookup found it restarts the lookup from the new log start.
//   - Timestamp -3 (v7+, KIP-734) answers the committed record with the
//     largest timestamp, the first of equals: the segment store finds
//     the batch with the largest MaxTimestamp below the high watermark
//     (FindTime with Max), the core reads it and answers the offset of
//     its first record carrying that timestamp, with the batch's leader
//     epoch; no timestamped record answers -1, -1. (Kafka looks at the
//     whole log and answers none when that record is not committed yet;
//     here the largest among committed records answers.)
//   - There is no tiered storage, so, as Kafka without remote storage:
//     -4 (v8+, earliest local) answers the log start like -2, and -5
//     (v9+, latest tiered) offset -1, timestamp -1, leader epoch -1.
//   - A negative timestamp the version does not serve (-3 before v7, -4
//     before v8, -5 before v9, any other below -2) answers
//     UNSUPPORTED_VERSION before anything else but authorization, as
//     Kafka's timestampMinSupportedVersion check does.
//   - v4+ CurrentLeaderEpoch is checked (FENCED_/UNKNOWN_LEADER_EPOCH), at
//     a follower too, before NOT_LEADER_OR_FOLLOWER, in Kafka's order
//     (leaderCode).
//   - A leader whose high watermark has not reached the log end it had
//     when it took the lead answers OFFSET_NOT_AVAILABLE (KIP-207).
//   - v0 answers an array of at most MaxNumOffsets offsets, newest first
//     (oldStyleOffsets): -1 gives the high watermark and then the log
//     start, -2 the log start, as Kafka's do when the log is one segment.
//     Kafka's v0 answered a timestamp with the base offset of the last
//     segment modified before it (file times, which Cloud Kafka does not
//     keep); here it gets the record lookup of v1+, the first offset at
//     or after the time, or no offset.

func (b *Broker) handleListOffsets(r Request) {
	req := r.Body.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	g := b.gather(r, resp)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
		slots := resp.Topics[len(resp.Topics)-1].Partitions
		allowed := b.authorized(r, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, t.Topic)
		for i, in := range t.Partitions {
			out := &slots[i]
			*out = kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition, out.Timestamp, out.Offset = in.Partition, -1, -1
			p := b.partitionOf(t.Topic, in.Partition)
			switch {
			case !allowed:
				out.ErrorCode = errTopicAuth
				continue
			case !timestampServed(in.Timestamp, r.Header.Version):
				out.ErrorCode = errUnsupportedVersion
				continue
			case p == nil:
				out.ErrorCode = errUnknownTopic
				continue
			case leaderCode(p, in.CurrentLeaderEpoch) != errNone:
				out.ErrorCode = leaderCode(p, in.CurrentLeaderEpoch)
				continue
			case !b.leaseHeld():
				out.ErrorCode = errNotLeader // another broker may lead it by now (lease.go)
				continue
			}
			if !p.serving() {
				out.ErrorCode = errOffsetNotAvailable // KIP-207: a new leader's high watermark is behind
				continue
			}
			out.LeaderEpoch = int32(p.epoch)
			if p.leo > p.hwm {
				b.cover(cover.ListOffsetsDuringAppend)
			}
			done := g.done
			if r.Header.Version == 0 {
				done = func() { oldStyleOffsets(p, in, out); g.done() }
			}
			switch ts := in.Timestamp; {
			case ts == -2 || ts == -4: // no tiered storage: the local log start is the log start
				out.Offset = int64(p.logStart)
			case ts == -1:
				out.Offset = int64(p.hwm)
			case ts == -5: // no tiered storage: nothing tiered
				out.LeaderEpoch = -1
			case ts == -3:
				g.add()
				b.findMaxTime(&timeLookup{p: p, ts: ts, out: out, done: done})
				continue
			default:
				g.add()
				b.findTime(&timeLookup{p: p, ts: ts, out: out, done: done})
				continue
			}
			if r.Header.Version == 0 {
				oldStyleOffsets(p, in, out)
			}
		}
	}
	g.done()
}

// timestampServed says whether version serves a ListOffsets timestamp:
// any time, and the special negative ones from the version that brought
// each (Kafka's timestampMinSupportedVersion; v0 knows -1 and -2).
func timestampServed(ts int64, version int16) bool {
	switch ts {
	case -1, -2:
		return true
	case -3:
		return version >= 7
	case -4:
		return version >= 8
	case -5:
		return version >= 9
	}
	return ts >= 0
}

// timeLookup is one partition's ListOffsets-by-timestamp in progress. It
// ends by calling done exactly once, with out holding the answer: the
// record found, or offset and timestamp -1, or an error code.
type timeLookup struct {
	p    *partition
	ts   int64 // the target timestamp, ms
	out  *kmsg.ListOffsetsResponseTopicPartition
	done func()
	// restartedAt is the log start offset when the lookup last restarted
	// after retention overtook it; a restart needs the log start to have
	// moved past it, so restarts are bounded by retention's progress.
	restartedAt Offset
}

// findTime asks the segment store for the first batch whose MaxTimestamp
// reaches the target, then reads it.
func (b *Broker) findTime(l *timeLookup) {
	tok := awaitFor(b.step, func(tf TimeFound) {
		switch {
		case tf.Err != nil:
			b.failTimeLookup(l)
		case !tf.Found:
			l.done()
		default:
			b.readTimeBatch(l, tf.Offset)
		}
	})
	b.emit(FindTime{Token: tok, Partition: l.p.tp, Timestamp: l.ts, From: l.p.logStart, Below: l.p.hwm})
}

// timeLookupReadBytes bounds each read of a timestamp lookup that walks
// on from the batch FindTime found: a batch whose header's maximum
// timestamp reaches the target may no longer hold the record that
// carried it (the cleaner removed it), and a compacted log may hold
// thousands of such batches in a row; one read each would make the
// lookup outlast the client's request timeout.
const timeLookupReadBytes = 64 << 10

// readTimeBatch reads the batches from the one holding offset (at least
// that one, about timeLookupReadBytes) and answers from their records,
// or moves on past them.
func (b *Broker) readTimeBatch(l *timeLookup, offset Offset) {
	if offset >= l.p.hwm {
		l.done() // no committed record qualifies: -1, -1
		return
	}
	tok := awaitFor(b.step, func(rd ReadDone) {
		switch {
		case rd.Err != nil && offset < l.p.logStart && l.p.logStart > l.restartedAt && !l.p.offline:
			l.restartedAt = l.p.logStart
			b.findTime(l)
		case rd.Err != nil:
			b.failTimeLookup(l)
		default:
			next, answered := b.answerFromBatches(l, rd.Data)
			switch {
			case answered:
				l.done()
			case next <= offset:
				// The store returned a batch ending before the offset
				// asked for: reading on could loop forever.
				b.failTimeLookup(l)
			default:
				b.readTimeBatch(l, next)
			}
		}
	})
	b.emit(Read{Token: tok, Partition: l.p.tp, Offset: offset, Below: l.p.hwm, MaxBytes: timeLookupReadBytes, MinOne: true})
}

// answerFromBatches looks for the answer in the batches read (one, with
// MaxBytes 1). answered is true when out holds the answer (or an error);
// otherwise the scan continues at next.
func (b *Broker) answerFromBatches(l *timeLookup, data []byte) (next Offset, answered bool) {
	if len(data) == 0 {
		return 0, true // nothing below the high watermark any more
	}
	batchMax := b.cfg.batchBytesMax(l.p.topic)
	err := SplitBatches(data, func(batch []byte, _ BatchHeader) error {
		h, err := CheckStoredBatch(batch) // a cleaned batch may hold fewer records than offsets
		if err != nil {
			return err
		}
		next = h.LastOffset() + 1
		if h.MaxTimestamp < l.ts {
			return nil // no record of this batch can qualify
		}
		off, ts, found, err := findRecordTime(batch, h, l.ts, l.p.logStart, recordsBytesMax(batchMax, len(batch)))
		switch {
		case err != nil:
			return err
		case !found:
			return nil
		}
		answered = true
		if off < l.p.hwm {
			l.out.Offset, l.out.Timestamp, l.out.LeaderEpoch = int64(off), ts, int32(h.PartitionLeaderEpoch)
			b.cover(cover.TimestampLookup)
		}
		return errStopScan
	})
	if err != nil && !errors.Is(err, errStopScan) {
		l.out.ErrorCode = errStorage
		return 0, true
	}
	return next, answered
}

// errStopScan ends a SplitBatches walk once the answer is found.
var errStopScan = errors.New("answer found")

// failTimeLookup answers a lookup whose storage failed: unknown topic if
// the topic was deleted meanwhile, otherwise KAFKA_STORAGE_ERROR.
func (b *Broker) failTimeLookup(l *timeLookup) {
	l.out.ErrorCode = errStorage
	if l.p.deleted {
		l.out.ErrorCode = errUnknownTopic
	}
	l.out.Offset, l.out.Timestamp = -1, -1
	l.done()
}

// oldStyleOffsets fills v0's offsets array from the answer in out.
func oldStyleOffsets(p *partition, in kmsg.ListOffsetsRequestTopicPartition, out *kmsg.ListOffsetsResponseTopicPartition) {
	if out.ErrorCode != errNone || out.Offset < 0 {
		return
	}
	offs := []int64{out.Offset}
	if in.Timestamp == -1 && int64(p.logStart) < out.Offset {
		offs = append(offs, int64(p.logStart))
	}
	out.OldStyleOffsets = offs[:min(len(offs), max(int(in.MaxNumOffsets), 0))]
}

// findMaxTime asks the segment store for the committed batch with the
// largest MaxTimestamp (the first of equals), then reads it for the
// first record carrying that timestamp.
func (b *Broker) findMaxTime(l *timeLookup) {
	tok := awaitFor(b.step, func(tf TimeFound) {
		switch {
		case tf.Err != nil:
			b.failTimeLookup(l)
		case !tf.Found || tf.Offset >= l.p.hwm:
			l.done() // no committed record has a timestamp: -1, -1
		default:
			b.readMaxTimeBatch(l, tf.Offset)
		}
	})
	b.emit(FindTime{Token: tok, Partition: l.p.tp, Max: true, From: l.p.logStart, Below: l.p.hwm})
}

// readMaxTimeBatch reads the one batch at offset and answers from it.
func (b *Broker) readMaxTimeBatch(l *timeLookup, offset Offset) {
	tok := awaitFor(b.step, func(rd ReadDone) {
		switch {
		case rd.Err != nil && offset < l.p.logStart && l.p.logStart > l.restartedAt && !l.p.offline:
			l.restartedAt = l.p.logStart // retention or a trim took the batch: look again
			b.findMaxTime(l)
		case rd.Err != nil:
			b.failTimeLookup(l)
		default:
			b.answerMaxTime(l, rd.Data)
			l.done()
		}
	})
	b.emit(Read{Token: tok, Partition: l.p.tp, Offset: offset, Below: l.p.hwm, MaxBytes: 1, MinOne: true})
}

// answerMaxTime answers from the first batch of data: the offset of its
// first record whose timestamp is the batch's MaxTimestamp (Kafka's
// RecordBatch.offsetOfMaxTimestamp), or none when no record carries it.
func (b *Broker) answerMaxTime(l *timeLookup, data []byte) {
	batchMax := b.cfg.batchBytesMax(l.p.topic)
	err := SplitBatches(data, func(batch []byte, _ BatchHeader) error {
		h, err := CheckStoredBatch(batch)
		if err != nil {
			return err
		}
		off, ts, found, err := findRecordTime(batch, h, h.MaxTimestamp, l.p.logStart, recordsBytesMax(batchMax, len(batch)))
		if err != nil {
			return err
		}
		if found && ts == h.MaxTimestamp && off < l.p.hwm {
			l.out.Offset, l.out.Timestamp, l.out.LeaderEpoch = int64(off), ts, int32(h.PartitionLeaderEpoch)
			b.cover(cover.MaxTimestampLookup)
		}
		return errStopScan
	})
	if err != nil && !errors.Is(err, errStopScan) {
		l.out.ErrorCode, l.out.Offset, l.out.Timestamp = errStorage, -1, -1
	}
}

package core

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// DeleteRecords: v0-2
//
// Behavior (Kafka's KafkaApis.handleDeleteRecordsRequest,
// ReplicaManager.deleteRecords, Partition.deleteRecordsOnLeader and
// lowWatermarkIfLeader, DelayedDeleteRecords):
//   - Needs Delete on each topic (acl.go): a denied topic's partitions
//     get TOPIC_AUTHORIZATION_FAILED. A partition the metadata does not
//     know is UNKNOWN_TOPIC_OR_PARTITION; __consumer_offsets is
//     INVALID_TOPIC_EXCEPTION (internal).
//   - Only the partition's leader deletes: a broker hosting no replica,
//     or a follower, answers NOT_LEADER_OR_FOLLOWER, an offline log
//     KAFKA_STORAGE_ERROR (leaderCode). A topic whose cleanup.policy
//     lacks delete (compact only) answers POLICY_VIOLATION.
//   - Offset -1 means the high watermark. Any other negative offset, or
//     one past the high watermark, is OFFSET_OUT_OF_RANGE. One at or
//     below the log start changes nothing.
//   - The leader moves its log start up to the offset with a Retain
//     whose StartAtLeast is the offset: the store checkpoints the new log
//     start durably (io/segment start.go) before the core adopts it, so
//     a restart or crash never brings trimmed records back; the
//     segments wholly below it go in the next retention pass. Fetches
//     below it then get OFFSET_OUT_OF_RANGE, ListOffsets earliest
//     answers it, and followers take it from the LogStartOffset of their
//     fetch responses (replica_fetcher.go).
//   - The answer waits, as Kafka's DelayedDeleteRecords does, until the
//     partition's low watermark reaches the offset: the smallest log
//     start among the leader and the followers on live brokers, as each
//     follower last reported it in a fetch (-1 until it fetched from
//     this leader). It then carries the low watermark. At TimeoutMillis
//     a partition still short of it answers REQUEST_TIMED_OUT with the
//     low watermark it had when the request came; one whose leader
//     moved meanwhile NOT_LEADER_OR_FOLLOWER (low watermark -1).
//   - Waiting requests are bounded by queued.max.requests: beyond it a
//     request that would wait is answered at once, REQUEST_TIMED_OUT.

var errPolicyViolation = kerr.PolicyViolation.Code

// trimWait is one DeleteRecords answer waiting for low watermarks.
type trimWait struct {
	r        Request
	resp     *kmsg.DeleteRecordsResponse
	deadline Instant
	parts    []trimPart
}

// trimPart is one partition of a waiting DeleteRecords.
type trimPart struct {
	p      *partition
	offset Offset // the offset the low watermark must reach
	out    *kmsg.DeleteRecordsResponseTopicPartition
}

func (b *Broker) handleDeleteRecords(r Request) {
	req := r.Body.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	w := &trimWait{r: r, resp: resp, deadline: b.now + Instant(int64(max(req.TimeoutMillis, 0))*1e6)}
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
		slots := resp.Topics[len(resp.Topics)-1].Partitions
		allowed := b.authorized(r, kmsg.ACLOperationDelete, kmsg.ACLResourceTypeTopic, t.Topic)
		for i, in := range t.Partitions {
			out := &slots[i]
			*out = kmsg.NewDeleteRecordsResponseTopicPartition()
			out.Partition, out.LowWatermark = in.Partition, -1
			if !allowed {
				out.ErrorCode = errTopicAuth
				continue
			}
			p := b.partitionOf(t.Topic, in.Partition)
			offset, code := b.trimOffset(p, Offset(in.Offset))
			if out.ErrorCode = code; code != errNone {
				continue
			}
			b.trim(p, offset)
			out.LowWatermark = int64(b.lowWatermark(p))
			out.ErrorCode = errRequestTimedOut // until the low watermark reaches the offset
			w.parts = append(w.parts, trimPart{p: p, offset: offset, out: out})
		}
	}
	if len(b.trimWaits) >= b.cfg.QueuedMaxRequests {
		b.answerTrim(w)
		return
	}
	b.trimWaits = append(b.trimWaits, w)
	b.settleTrims(false)
}

// trimOffset validates a DeleteRecords offset for p, in Kafka's order,
// and resolves -1 to the high watermark.
func (b *Broker) trimOffset(p *partition, offset Offset) (Offset, int16) {
	switch {
	case p == nil:
		return 0, errUnknownTopic
	case p.tp.Topic == OffsetsTopic:
		return 0, errInvalidTopic
	case leaderCode(p, -1) != errNone:
		return 0, leaderCode(p, -1)
	case !b.leaseHeld():
		return 0, errNotLeader // another broker may lead it by now (lease.go)
	}
	if !b.cfg.settingsOf(p.topic).deletes {
		return 0, errPolicyViolation
	}
	if offset == -1 {
		offset = p.hwm
	}
	if offset < 0 || offset > p.hwm {
		return 0, errOffsetOutOfRange
	}
	return offset, errNone
}

// trim moves a leader's log start up to offset: a Retain carries it to
// the store, at once or after the Retain outstanding.
func (b *Broker) trim(p *partition, offset Offset) {
	if offset <= p.logStart {
		return
	}
	b.cover(cover.RecordsDeleted)
	if bugOn(BugTrimInMemory) {
		p.logStart = offset // BUG SITE (simbugs): BugTrimInMemory skips the store's checkpoint.
		return
	}
	p.trimTo = max(p.trimTo, offset)
	if !p.retaining {
		b.retain(p, p.trimTo)
	}
}

// lowWatermark is Kafka's low watermark of a partition p leads: the
// smallest log start among its own and its followers' on live brokers.
func (b *Broker) lowWatermark(p *partition) Offset {
	lw := p.logStart
	for _, f := range p.repl.followers {
		if _, alive := b.live[f.id]; alive && f.logStart < lw {
			lw = f.logStart
		}
	}
	return lw
}

// settleTrims answers the DeleteRecords whose partitions all reached
// their offsets or failed, and, on a tick, those past their timeout.
func (b *Broker) settleTrims(tick bool) {
	var due []*trimWait
	kept := b.trimWaits[:0]
	for _, w := range b.trimWaits {
		if b.trimSettled(w) || tick && b.now >= w.deadline {
			due = append(due, w)
			continue
		}
		kept = append(kept, w)
	}
	clear(b.trimWaits[len(kept):])
	b.trimWaits = kept
	for _, w := range due {
		b.answerTrim(w)
	}
}

// trimSettled updates w's partitions and says whether none waits any
// more (DelayedDeleteRecords.tryComplete).
func (b *Broker) trimSettled(w *trimWait) bool {
	settled := true
	for i := range w.parts {
		tp := &w.parts[i]
		if tp.out.ErrorCode != errRequestTimedOut {
			continue
		}
		p := tp.p
		switch {
		case !p.hosted() || p.deleted:
			tp.out.ErrorCode, tp.out.LowWatermark = errUnknownTopic, -1
		case p.offline:
			tp.out.ErrorCode, tp.out.LowWatermark = errStorage, -1
		case !p.leading:
			tp.out.ErrorCode, tp.out.LowWatermark = errNotLeader, -1
		default:
			if lw := b.lowWatermark(p); lw >= tp.offset {
				tp.out.ErrorCode, tp.out.LowWatermark = errNone, int64(lw)
				continue
			}
			settled = false
		}
	}
	return settled
}

func (b *Broker) answerTrim(w *trimWait) {
	for _, tp := range w.parts {
		if tp.out.ErrorCode == errNone {
			b.cover(cover.TrimAcknowledged)
		}
	}
	b.respond(w.r, w.resp)
}

package core

import (
	"encoding/binary"
	"fmt"

	"cloudkafka/core/cover"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce: v0-11
//
// Behavior:
//   - Its size counts against the client's producer_byte_rate quota
//     (quota.go) once it is answered; over the quota the answer carries
//     throttle_time_ms and the connection is held back that long.
//   - Needs Write on each topic (acl.go): a denied topic's partitions
//     get TOPIC_AUTHORIZATION_FAILED, before any other check, and
//     nothing of them is written.
//   - v0-2 carry message formats 0 and 1 (legacy.go): each partition's
//     message set is checked and converted to one v2 batch without a
//     producer id, which then goes the way of any batch. An empty set
//     appends nothing and answers no error, as Kafka does.
//   - Each partition's records must be exactly one record batch of magic
//     2 (INVALID_RECORD otherwise) with a valid CRC (CORRUPT_MESSAGE), no
//     larger than max.message.bytes (MESSAGE_TOO_LARGE). Transactional and
//     control batches are refused (INVALID_RECORD): transactions are not
//     offered. INVALID_RECORD is the answer at every version, as Kafka's
//     (InvalidRecordException is an ApiException, answered as itself;
//     only the per-record errors and error message wait for v8).
//   - The internal topic __consumer_offsets refuses appends with
//     INVALID_TOPIC_EXCEPTION, except from the client id "__admin_client",
//     as in Kafka.
//   - Batches stay bytes: the broker rewrites the base offset and leader
//     epoch in the header (and, for LogAppendTime topics, the max
//     timestamp and CRC) and never decodes records.
//   - Idempotent batches follow Kafka's sequence rules: a retry of one of
//     the producer's last 5 batches answers NONE with the original offset;
//     a gap answers OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch answers
//     INVALID_PRODUCER_EPOCH. A producer the partition does not know must
//     start at sequence 0 (OUT_OF_ORDER_SEQUENCE_NUMBER otherwise), unless
//     max.producers.per.partition made it forget producers, where any
//     first sequence is taken, as Kafka takes it.
//   - A topic whose cleanup.policy includes compact refuses a batch with a
//     record without a key, as Kafka's LogValidator.validateKey does:
//     INVALID_RECORD with one record error per keyless record (v8+). This is the one place the produce path decodes
//     records; records that do not decode answer CORRUPT_MESSAGE.
//   - acks=0 gets no response, except that an error closes the
//     connection so the producer notices, as Kafka does. acks=1 is
//     answered once every partition's batch is locally durable (written,
//     and synced where the flush policy demands it); acks=-1 once the high
//     watermark covers it, that is once every in-sync replica holds it
//     durably (replication.go). An acks=-1 batch is refused with
//     NOT_ENOUGH_REPLICAS, before it is appended, when the ISR is smaller
//     than the topic's min.insync.replicas, and answered
//     NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below it by the
//     time the batch was replicated, as Kafka's Partition does. A
//     duplicate (an idempotent retry) is answered as its original, and at
//     once if that is committed, whatever the ISR now.

// adminClientID is the client id Kafka lets append to internal topics
// (AdminUtils.ADMIN_CLIENT_ID).
const adminClientID = "__admin_client"

func (b *Broker) handleProduce(r Request) {
	req := r.Body.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		for _, t := range req.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.LogAppendTime, rp.LogStartOffset = p.Partition, errInvalidRequiredAcks, -1, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		b.respond(r, resp)
		return
	}
	pending := 1 // released after the loop, so a synchronous finish cannot answer early
	failed := false
	finish := func() {
		pending--
		if pending > 0 {
			return
		}
		throttle := b.recordQuota(r, quotaProduce, produceSize(r, req))
		if req.Acks == 0 {
			if failed {
				b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: "acks=0 produce failed"})
				return
			}
			b.respondThrottled(r, nil, throttle)
			return
		}
		b.respondThrottled(r, resp, throttle)
	}
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
		slots := resp.Topics[len(resp.Topics)-1].Partitions
		allowed := b.authorized(r, kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic, t.Topic)
		for i, p := range t.Partitions {
			rp := &slots[i]
			*rp = kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = p.Partition, -1, -1, -1
			if !allowed {
				rp.ErrorCode, failed = errTopicAuth, true
				continue
			}
			pending++
			topic := t.Topic
			b.producePartition(r, req.Acks, t.Topic, p, rp, func(code int16) {
				b.countProduceAnswer(topic, code)
				if code != errNone {
					failed = true
				}
				finish()
			})
		}
	}
	finish()
}

// produceSize is the size a produce counts against its client's byte
// rate quota: the request's size as received, else (a runtime that does
// not tell) its records'.
func produceSize(r Request, req *kmsg.ProduceRequest) int {
	if r.Size > 0 {
		return r.Size
	}
	n := 0
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			n += len(p.Records)
		}
	}
	return n
}

// producePartition validates and appends one partition's batch, filling rp;
// done runs exactly once, when rp is final.
func (b *Broker) producePartition(r Request, acks int16, topicName string, in kmsg.ProduceRequestTopicPartition, rp *kmsg.ProduceResponseTopicPartition, done func(int16)) {
	version, clientID := r.Header.Version, r.Header.ClientID
	var p *partition
	fail := func(code int16, msg string) {
		rp.ErrorCode = code
		switch code {
		case errUnknownTopic, errNotLeader, errMessageTooLarge, errRecordListTooLarge, errCorruptMessage, errStorage:
		default:
			// The log start offset comes with every other error from a
			// leader, as Kafka's ReplicaManager sends it: an idempotent
			// producer judges by it whether its earlier batches may lie
			// below it.
			if p.leading {
				rp.LogStartOffset = int64(p.logStart)
			}
		}
		if version >= 8 && msg != "" {
			rp.ErrorMessage = errMsg(msg)
		}
		done(code)
	}
	p = b.partitionOf(topicName, in.Partition)
	switch {
	case p == nil:
		fail(errUnknownTopic, "")
		return
	case topicName == OffsetsTopic && clientID != adminClientID:
		fail(errInvalidTopic, "cannot append to internal topic "+OffsetsTopic)
		return
	case !p.leading:
		fail(errNotLeader, "this broker does not lead the partition")
		return
	case !b.leaseHeld():
		fail(errNotLeader, "this broker's coordination session is not confirmed: another broker may lead the partition")
		return
	case p.offline:
		fail(errStorage, "the partition's log is offline after a storage error")
		return
	}
	records := in.Records
	if version < 3 {
		if len(records) == 0 {
			done(errNone) // Kafka appends nothing and reports no error
			return
		}
		if int64(len(records)) > b.cfg.settingsOf(p.topic).maxMessageBytes {
			fail(errMessageTooLarge, fmt.Sprintf("message set of %d bytes exceeds max.message.bytes", len(records)))
			return
		}
		conv, err := b.convertLegacy(p, records)
		if err != nil {
			fail(err.code, err.msg)
			return
		}
		records = conv
	}
	h, err := b.validateBatch(p, records)
	if version < 3 && err == nil {
		b.cover(cover.LegacyProduceConverted)
		if h.Compression() != 0 {
			b.cover(cover.LegacyCompressedProduceConverted)
		}
	}
	if err == nil {
		err = b.validateKeys(p, records, h, version, rp)
	}
	if err != nil {
		fail(err.code, err.msg)
		return
	}
	ps, outcome, dup := b.checkSequence(p, h)
	switch outcome {
	case seqDuplicate:
		b.cover(cover.DedupDepth(ps.depthOf(dup)))
		rp.BaseOffset, rp.LogStartOffset = int64(dup.BaseOffset), int64(p.logStart)
		if dup.Timestamp >= 0 && b.logAppendTime(p) {
			rp.LogAppendTime = dup.Timestamp
		}
		// A duplicate is acknowledged once the original is: at once if it
		// is committed already, whatever the ISR now.
		check := acks // the ISR is checked for a duplicate not yet committed
		if dup.LastOffset < p.hwm {
			check = 1
		}
		b.whenAcked(p, dup.LastOffset, acks, func(err error) { b.finishProduce(p, check, rp, err, done) })
		return
	case seqOutOfOrder:
		fail(errOutOfOrderSequence, fmt.Sprintf("sequence %d does not follow the producer's last", h.BaseSequence))
		return
	case seqFencedEpoch:
		fail(errInvalidProducerEpoch, "producer epoch is older than the current one")
		return
	case seqUnknownProducer:
		// The log start tells the producer whether its last acknowledged
		// batch lies below it (its state went with the records, nothing
		// is lost) or not.
		b.cover(cover.UnknownProducerID)
		fail(errUnknownProducerID, fmt.Sprintf("no state of producer %d at sequence %d: its earlier batches may lie below the log start offset %d", h.ProducerID, h.BaseSequence, p.logStart))
		return
	}
	if acks == -1 && b.cfg.settingsOf(p.topic).minInsync > int64(len(p.isr)) {
		// after the duplicate check: a retry of a committed batch is
		// acknowledged whatever the ISR now
		fail(errNotEnoughReplicas, fmt.Sprintf("the ISR %v is smaller than min.insync.replicas", p.isr))
		return
	}
	var base Offset
	var maxTime int64
	base, maxTime = b.appendBatch(p, records, h, r.Frame, func(err error) {
		if err != nil || acks != -1 {
			b.finishProduce(p, acks, rp, err, done)
			return
		}
		b.awaitHWM(p, base+Offset(h.LastOffsetDelta), func(err error) { b.finishProduce(p, acks, rp, err, done) })
	})
	b.countProduced(topicName, len(in.Records), int64(h.RecordCount))
	rp.BaseOffset = int64(base)
	if bugOn(BugOffsetOffByOne) && h.RecordCount > 1 {
		rp.BaseOffset++ // BUG SITE (simbugs): BugOffsetOffByOne reports base+1.
	}
	if b.logAppendTime(p) {
		rp.LogAppendTime = maxTime
	}
	if ps != nil {
		ps.remember(ProducerBatch{ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch,
			FirstSeq: h.BaseSequence, LastSeq: h.BaseSequence + h.LastOffsetDelta,
			BaseOffset: base, LastOffset: base + Offset(h.LastOffsetDelta), Timestamp: maxTime}, b.cfg.ProducerWindow)
	}
}

// finishProduce answers one partition of a produce; with acks -1 it
// checks that the ISR is still at min.insync.replicas.
func (b *Broker) finishProduce(p *partition, acks int16, rp *kmsg.ProduceResponseTopicPartition, err error, done func(int16)) {
	code := errNone
	switch {
	case err == errLeadershipLost:
		code = errNotLeader
	case err != nil && p.deleted:
		code = errUnknownTopic
	case err != nil:
		code = errStorage
	case acks == -1 && b.cfg.settingsOf(p.topic).minInsync > int64(len(p.isr)):
		// replicated to the ISR, which shrank below the minimum since
		// the append (Kafka's Partition.checkEnoughReplicasReachOffset)
		code = errNotEnoughReplicasAfterAppend
	}
	if code != errNone {
		rp.ErrorCode, rp.BaseOffset, rp.LogAppendTime = code, -1, -1
		done(code)
		return
	}
	rp.LogStartOffset = int64(p.logStart)
	done(errNone)
}

func (b *Broker) logAppendTime(p *partition) bool {
	return b.cfg.settingsOf(p.topic).logAppendTime
}

// whenAcked runs fn once offset last may be acknowledged with acks: for
// acks=1 once it is locally durable, for acks=all once the high
// watermark passes it; or with the error if the partition goes offline
// or its leadership moves first.
func (b *Broker) whenAcked(p *partition, last Offset, acks int16, fn func(error)) {
	then := fn
	// BUG SITE (simbugs): BugAckBeforeISR answers acks=all as acks=1.
	if acks == -1 && !bugOn(BugAckBeforeISR) {
		then = func(err error) {
			if err != nil {
				fn(err)
				return
			}
			b.awaitHWM(p, last, fn)
		}
	}
	if last < p.localEnd {
		then(nil)
		return
	}
	for _, op := range p.inflight {
		if op.last >= last {
			prev := op.done
			op.done = func(err error) { prev(err); then(err) }
			return
		}
	}
	panic(fmt.Sprintf("core: offset %d of %s neither committed nor in flight", last, p.tp))
}

type produceErr struct {
	code int16
	msg  string
}

// validateBatch checks the records of one partition produce: exactly one
// magic-2 batch with a valid CRC, within max.message.bytes.
func (b *Broker) validateBatch(p *partition, records []byte) (BatchHeader, *produceErr) {
	if len(records) == 0 {
		return BatchHeader{}, &produceErr{errInvalidRecord, "no record batch"}
	}
	if int64(len(records)) > b.cfg.settingsOf(p.topic).maxMessageBytes {
		return BatchHeader{}, &produceErr{errMessageTooLarge, fmt.Sprintf("batch of %d bytes exceeds max.message.bytes", len(records))}
	}
	if int64(len(records)) > b.cfg.settingsOf(p.topic).segmentBytes {
		return BatchHeader{}, &produceErr{errRecordListTooLarge, "batch larger than segment.bytes"}
	}
	if e := framingError(records); e != nil {
		return BatchHeader{}, e
	}
	h, err := ParseBatchHeader(records)
	if err != nil {
		return h, &produceErr{errCorruptMessage, err.Error()}
	}
	if _, err := CheckBatch(records); err == ErrBatchCounts {
		// Kafka's LogValidator: "Inconsistent batch offset range".
		return h, &produceErr{errInvalidRecord, err.Error()}
	} else if err != nil {
		return h, &produceErr{errCorruptMessage, err.Error()}
	}
	if h.Attributes&(AttrTransactional|AttrControl) != 0 {
		return h, &produceErr{errInvalidRecord, "transactional and control batches are not accepted"}
	}
	if h.RecordCount == 0 {
		return h, &produceErr{errInvalidRecord, "record batch holds no records"}
	}
	return h, nil
}

// framingError judges how the bytes of one partition's records frame
// batches, in the order and with the answers of Kafka's produce path: its
// batch iterator (ByteBufferLogInputStream) finds no whole batch in too
// few bytes (INVALID_RECORD: a produce v3+ carries exactly one), refuses a
// length below the smallest message or an unknown magic (CORRUPT_MESSAGE),
// then the request's own check wants one batch of magic 2
// (INVALID_RECORD), and the batch's a full header (CORRUPT_MESSAGE).
// Bytes after the batch are refused whole or partial; Kafka drops a
// partial batch at the end and appends the first.
func framingError(records []byte) *produceErr {
	const (
		magicAt          = 16
		smallestMessage  = 14 // a magic 0 message's overhead, the least length the iterator accepts
		noWholeBatch     = "produce requests may carry exactly one record batch per partition; these bytes hold no whole batch"
		exactlyOneBatch  = "produce requests may carry exactly one record batch per partition"
		batchHeaderShort = "record batch length smaller than a batch header"
	)
	if len(records) < batchLengthOverhead {
		return &produceErr{errInvalidRecord, noWholeBatch}
	}
	length := int32(binary.BigEndian.Uint32(records[8:]))
	if length < smallestMessage {
		return &produceErr{errCorruptMessage, fmt.Sprintf("record batch length %d below the smallest message's", length)}
	}
	if len(records) <= magicAt {
		return &produceErr{errInvalidRecord, noWholeBatch}
	}
	magic := int8(records[magicAt])
	if magic < 0 || magic > 2 {
		return &produceErr{errCorruptMessage, fmt.Sprintf("unknown magic %d", magic)}
	}
	size := int64(length) + batchLengthOverhead
	switch {
	case int64(len(records)) < size:
		return &produceErr{errInvalidRecord, noWholeBatch}
	case magic != 2:
		return &produceErr{errInvalidRecord, "produce v3+ accepts only record batches of magic 2"}
	case int64(len(records)) > size:
		return &produceErr{errInvalidRecord, exactlyOneBatch}
	case size < BatchHeaderSize:
		return &produceErr{errCorruptMessage, batchHeaderShort}
	}
	return nil
}

// checkSequence applies idempotence to an idempotent batch; plain batches
// (producer id -1) always append.
func (b *Broker) checkSequence(p *partition, h BatchHeader) (*producerState, seqOutcome, *ProducerBatch) {
	if h.ProducerID < 0 {
		return nil, seqAppend, nil
	}
	ps := p.producer(h.ProducerID, b.cfg)
	outcome, dup := ps.check(h, p.forgotProducers)
	return ps, outcome, dup
}

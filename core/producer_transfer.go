package core

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Producer state for a follower that starts over.
//
// A follower whose log ends below its leader's log start empties its log
// and starts it there (restartAt). The batches below that point are gone
// from every log, but the leader still remembers their producers'
// idempotence windows (retention keeps them in the producer snapshot, as
// Kafka keeps producer state past its batches). Rebuilt from what it
// fetches, the follower would not: once it leads, a producer's retry of a
// batch that only the deleted segments held (its first, at sequence 0,
// say, sent again after its acknowledgement was lost) would be appended a
// second time. So the leader's answer OFFSET_OUT_OF_RANGE to a follower
// fetching below its log start carries the windows of the batches below
// that log start, in a tagged field of the partition's answer that only
// Cloud Kafka brokers send and read (tag producerStateTag; Kafka's own
// followers skip unknown tags, and a Kafka leader sends none, which
// leaves the follower as Kafka's: see partition.forgotProducers). The
// follower restarts its log with them (Truncate.Producers), and the store
// keeps them in its producer snapshot, so that a restart keeps them too.
// What the follower then fetches from the log start rebuilds the rest of
// the windows as the leader's were built.
//
// Encoding (big-endian): a count (int32), then per batch, in offset
// order: producer id (int64), epoch (int16), first and last sequence
// (int32 each), base and last offset (int64 each), max timestamp (int64).

// producerStateTag is the tagged field of a FetchResponse partition that
// carries the windows below the leader's log start.
const producerStateTag = 0x636b7073 // "ckps"

const producerBatchWire = 8 + 2 + 4 + 4 + 8 + 8 + 8

// producersBelow lists the batches of p's windows that lie below off, in
// offset order.
func (p *partition) producersBelow(off Offset) []ProducerBatch {
	var out []ProducerBatch
	// order-independent: collected, then sorted
	for _, ps := range p.producers {
		for _, pb := range ps.batches {
			if pb.LastOffset < off {
				out = append(out, pb)
			}
		}
	}
	slices.SortFunc(out, func(a, b ProducerBatch) int {
		return cmp.Or(cmp.Compare(a.BaseOffset, b.BaseOffset), cmp.Compare(a.ProducerID, b.ProducerID))
	})
	return out
}

// tagProducers puts the windows below p's log start on a follower's
// OFFSET_OUT_OF_RANGE answer (see the top of the file).
func tagProducers(rp *kmsg.FetchResponseTopicPartition, p *partition) {
	batches := p.producersBelow(p.logStart)
	b := make([]byte, 0, 4+len(batches)*producerBatchWire)
	b = binary.BigEndian.AppendUint32(b, uint32(len(batches)))
	for _, pb := range batches {
		b = binary.BigEndian.AppendUint64(b, uint64(pb.ProducerID))
		b = binary.BigEndian.AppendUint16(b, uint16(pb.ProducerEpoch))
		b = binary.BigEndian.AppendUint32(b, uint32(pb.FirstSeq))
		b = binary.BigEndian.AppendUint32(b, uint32(pb.LastSeq))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.BaseOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.LastOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(pb.Timestamp))
	}
	rp.UnknownTags.Set(producerStateTag, b)
}

// taggedProducers reads the windows a leader put on rp; ok is false when
// it sent none or they do not parse, or a batch lies at or past below
// (the leader's log start, where the follower restarts).
func taggedProducers(rp *kmsg.FetchResponseTopicPartition, below Offset) (batches []ProducerBatch, ok bool) {
	var b []byte
	rp.UnknownTags.Each(func(key uint32, val []byte) {
		if key == producerStateTag {
			b, ok = val, true
		}
	})
	if !ok || len(b) < 4 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint32(b))
	if b = b[4:]; n < 0 || len(b) != n*producerBatchWire {
		return nil, false
	}
	batches = make([]ProducerBatch, n)
	for i := range batches {
		pb := &batches[i]
		pb.ProducerID = ProducerID(binary.BigEndian.Uint64(b))
		pb.ProducerEpoch = int16(binary.BigEndian.Uint16(b[8:]))
		pb.FirstSeq = int32(binary.BigEndian.Uint32(b[10:]))
		pb.LastSeq = int32(binary.BigEndian.Uint32(b[14:]))
		pb.BaseOffset = Offset(binary.BigEndian.Uint64(b[18:]))
		pb.LastOffset = Offset(binary.BigEndian.Uint64(b[26:]))
		pb.Timestamp = int64(binary.BigEndian.Uint64(b[34:]))
		if pb.LastOffset >= below || (i > 0 && pb.BaseOffset <= batches[i-1].BaseOffset) {
			return nil, false
		}
		b = b[producerBatchWire:]
	}
	return batches, true
}

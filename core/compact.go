package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record-level helpers for log compaction. The segment store's cleaner
// (io/segment) decides which records a cleaned batch keeps; it decodes and
// rebuilds batches with these, because the codecs belong to the core's
// imports. They follow Kafka's MemoryRecords.filterTo:
//
//   - A rebuilt batch keeps the original's base offset, last offset delta
//     (so the producer's last sequence stays derivable from the header),
//     producer id, epoch and base sequence, partition leader epoch,
//     timestamp type and codec; RecordCount becomes the number of records
//     kept, so RecordCount <= LastOffsetDelta+1 in a cleaned log.
//   - A batch that held tombstones gets a delete horizon when it is first
//     rewritten (KIP-534): attribute bit 6 is set and BaseTimestamp holds
//     the horizon (the cleaning time plus delete.retention.ms); every
//     record's timestamp delta is re-based on it, so record timestamps do
//     not change.
//   - A batch whose records all go but whose header must stay (it carries
//     a producer's sequence) becomes Kafka's empty batch: the 61-byte
//     header with RecordCount 0, no codec, BaseTimestamp -1 and the
//     original MaxTimestamp.
//
// Everything here is pure and synchronous, like records.go.

// AttrDeleteHorizon is attribute bit 6: BaseTimestamp is the batch's
// delete horizon (Kafka's DELETE_HORIZON_FLAG_MASK).
const AttrDeleteHorizon = 0x40

// DeleteHorizon returns the batch's delete horizon, if it has one.
func (h BatchHeader) DeleteHorizon() (int64, bool) {
	if h.Attributes&AttrDeleteHorizon == 0 {
		return 0, false
	}
	return h.BaseTimestamp, true
}

// RecordsBytesMax is the decompression limit for a stored batch of
// batchBytes bytes in a topic whose max.message.bytes is maxMessageBytes
// (see recordsExpansionMax).
func RecordsBytesMax(maxMessageBytes int64, batchBytes int) int {
	return recordsBytesMax(maxMessageBytes, batchBytes)
}

// CheckStoredBatch is CheckBatch for a batch read back from a log, where
// compaction may have removed records: RecordCount may be anything from 0
// to LastOffsetDelta+1.
func CheckStoredBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		return h, ErrBatchLength
	}
	if crc32.Checksum(b[offAttributes:], crcTable) != h.CRC {
		return h, ErrBatchCRC
	}
	if h.Compression() > 4 {
		return h, ErrBatchCodec
	}
	if h.RecordCount < 0 || h.LastOffsetDelta < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		return h, ErrBatchCounts
	}
	return h, nil
}

// BatchRecords decodes every record of the validated batch (header h),
// decompressing within limit bytes. Keys, values and headers alias batch
// (uncompressed) or the decompressed buffer.
func BatchRecords(batch []byte, h BatchHeader, limit int) ([]kmsg.Record, error) {
	it, err := newRecordIter(batch, h, limit)
	if err != nil {
		return nil, err
	}
	return iterRecords(it)
}

// iterRecords collects what it yields.
func iterRecords(it *recordIter) ([]kmsg.Record, error) {
	out := make([]kmsg.Record, 0, max(it.h.RecordCount, 0))
	for {
		var r kmsg.Record // fresh each time: kmsg reuses a record's headers slice
		if !it.next(&r) {
			break
		}
		out = append(out, r)
	}
	if it.err != nil {
		return nil, it.err
	}
	return out, nil
}

// RecordTimestamp is the timestamp of record r of the batch with header h.
func RecordTimestamp(h BatchHeader, r *kmsg.Record) int64 {
	if h.Attributes&AttrTimestampLogAppend != 0 {
		return h.MaxTimestamp
	}
	return h.BaseTimestamp + r.TimestampDelta64
}

// IsXerial says whether a snappy batch's records are in snappy-java's
// framing, so that a rebuilt batch keeps the framing its producer chose.
func IsXerial(batch []byte, h BatchHeader) bool {
	return h.Compression() == 2 && bytes.HasPrefix(batch[BatchHeaderSize:], xerialMagic)
}

// RebuildBatch builds the batch that keeps records (decoded from the
// batch with header h, in offset order, at least one) as Kafka's cleaner
// does (see the top of this file). horizonMs >= 0 sets the delete
// horizon; otherwise a horizon h already had is kept.
func RebuildBatch(h BatchHeader, records []kmsg.Record, horizonMs int64, xerial bool) ([]byte, error) {
	return rebuildBatch(h, records, horizonMs, func(codec int, recs []byte) ([]byte, error) {
		return compress(codec, recs, xerial)
	})
}

func rebuildBatch(h BatchHeader, records []kmsg.Record, horizonMs int64, compress func(codec int, recs []byte) ([]byte, error)) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("core: a rebuilt batch needs at least one record")
	}
	attrs := h.Attributes
	base := h.BaseTimestamp
	if horizonMs >= 0 {
		attrs |= AttrDeleteHorizon
		base = horizonMs
	}
	maxTs := h.MaxTimestamp
	if h.Attributes&AttrTimestampLogAppend == 0 {
		maxTs = -1
	}
	size := 0
	for i := range records {
		size += len(records[i].Key) + len(records[i].Value) + recordOverheadEstimate
	}
	recs := make([]byte, 0, size)
	var body []byte
	for i := range records {
		r := records[i] // a copy: the caller's records keep their deltas
		ts := RecordTimestamp(h, &r)
		if h.Attributes&AttrTimestampLogAppend == 0 {
			maxTs = max(maxTs, ts)
		}
		if h.Attributes&AttrTimestampLogAppend == 0 || horizonMs >= 0 {
			r.TimestampDelta, r.TimestampDelta64 = 0, h.BaseTimestamp+records[i].TimestampDelta64-base
		}
		// Encoded once into a reused buffer with a zero Length (one varint
		// byte), then copied after the real length.
		r.Length = 0
		body = r.AppendTo(body[:0])
		recs = binary.AppendVarint(recs, int64(len(body)-1))
		recs = append(recs, body[1:]...)
	}
	recs, err := compress(h.Compression(), recs)
	if err != nil {
		return nil, err
	}
	out := make([]byte, BatchHeaderSize, BatchHeaderSize+len(recs))
	writeHeader(out, h, attrs, base, maxTs, int32(len(records)), len(recs))
	out = append(out, recs...)
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], crcTable))
	return out, nil
}

// recordOverheadEstimate is a record's encoded size beyond its key and
// value, generously: length, attributes, deltas and lengths as varints,
// and a few header bytes. It only sizes a buffer.
const recordOverheadEstimate = 24

// EmptyBatch is Kafka's DefaultRecordBatch.writeEmptyHeader for the batch
// with header h: its header alone, with RecordCount 0.
func EmptyBatch(h BatchHeader) []byte {
	attrs := h.Attributes &^ (AttrCompressionMask | AttrDeleteHorizon)
	out := make([]byte, BatchHeaderSize)
	writeHeader(out, h, attrs, -1, h.MaxTimestamp, 0, 0)
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], crcTable))
	return out
}

// writeHeader fills the 61-byte header of a batch derived from h (the CRC
// is left for the caller).
func writeHeader(out []byte, h BatchHeader, attrs int16, baseTs, maxTs int64, count int32, recordsBytes int) {
	binary.BigEndian.PutUint64(out[0:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(out[8:], uint32(BatchHeaderSize-batchLengthOverhead+recordsBytes))
	binary.BigEndian.PutUint32(out[12:], uint32(h.PartitionLeaderEpoch))
	out[16] = 2
	binary.BigEndian.PutUint16(out[21:], uint16(attrs))
	binary.BigEndian.PutUint32(out[23:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(out[27:], uint64(baseTs))
	binary.BigEndian.PutUint64(out[35:], uint64(maxTs))
	binary.BigEndian.PutUint64(out[43:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(out[51:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(out[53:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(out[57:], uint32(count))
}

// xerialBlockBytes is snappy-java's default block size.
const xerialBlockBytes = 32 << 10

// compress compresses a records section with codec (0 returns it as is),
// with each codec's default settings, as Kafka's cleaner does (lz4 in
// Kafka's 64 KiB blocks).
func compress(codec int, recs []byte, xerial bool) ([]byte, error) {
	switch codec {
	case 0:
		return recs, nil
	case 1:
		var buf bytes.Buffer
		w, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return closeWriter(&buf, w, recs)
	case 2:
		if !xerial {
			return snappy.Encode(nil, recs), nil
		}
		out := append([]byte(nil), xerialMagic...)
		out = binary.BigEndian.AppendUint32(out, 1)
		out = binary.BigEndian.AppendUint32(out, 1)
		for len(recs) > 0 {
			n := min(len(recs), xerialBlockBytes)
			block := snappy.Encode(nil, recs[:n])
			out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
			out = append(out, block...)
			recs = recs[n:]
		}
		return out, nil
	case 3:
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ConcurrencyOption(1)); err != nil {
			return nil, fmt.Errorf("lz4: %w", err)
		}
		return closeWriter(&buf, w, recs)
	case 4:
		// EncodeAll with concurrency 1 runs in the calling goroutine.
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		out := e.EncodeAll(recs, nil)
		if err := e.Close(); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, ErrBatchCodec
}

// writeCloser is the part of a codec's stream writer compress uses.
type writeCloser interface {
	Write(p []byte) (int, error)
	Close() error
}

func closeWriter(buf *bytes.Buffer, w writeCloser, recs []byte) ([]byte, error) {
	if _, err := w.Write(recs); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}

// validateKeys refuses, for a compacted topic, a batch holding a record
// without a key (Kafka's LogValidator.validateKey), filling rp's record
// errors (v8+) with Kafka's messages.
func (b *Broker) validateKeys(p *partition, batch []byte, h BatchHeader, version int16, rp *kmsg.ProduceResponseTopicPartition) *produceErr {
	if !b.cfg.settingsOf(p.topic).compacts {
		return nil
	}
	recs, err := BatchRecords(batch, h, recordsBytesMax(b.cfg.settingsOf(p.topic).maxMessageBytes, len(batch)))
	if err != nil {
		return &produceErr{errCorruptMessage, fmt.Sprintf("records do not decode: %v", err)}
	}
	var msgs []string
	for i := range recs {
		if recs[i].Key != nil {
			continue
		}
		msg := fmt.Sprintf("Compacted topic cannot accept message without key in topic partition %s-%d", p.tp.Topic, p.tp.Partition)
		msgs = append(msgs, fmt.Sprintf("RecordError(batchIndex=%d, message='%s')", i, msg))
		if version >= 8 {
			e := kmsg.NewProduceResponseTopicPartitionErrorRecord()
			e.RelativeOffset, e.ErrorMessage = int32(i), kmsg.StringPtr(msg)
			rp.ErrorRecords = append(rp.ErrorRecords, e)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &produceErr{errInvalidRecord, fmt.Sprintf("One or more records have been rejected due to %d record errors in total, and only showing the first three errors at most: [%s]",
		len(msgs), strings.Join(msgs[:min(len(msgs), 3)], ", "))}
}

package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// The simulated clients build and parse record batches themselves: kmsg
// provides the batch and record codecs but no batch builder or raw-bytes
// batch parser. Batches are uncompressed magic-2 batches; the CRC-32C
// (Castagnoli) covers the bytes from the attributes (offset 21) to the end
// and sits at offset 17, as core/batch.go draws it.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchSpec is one batch as a producer builds it.
type batchSpec struct {
	values        []string
	producerID    int64 // -1 for a plain producer
	producerEpoch int16 // -1 for a plain producer
	baseSequence  int32 // -1 for a plain producer
	timestampMs   int64
}

// encodeBatch returns the batch's wire bytes with base offset 0.
func encodeBatch(s batchSpec) []byte {
	var recs []byte
	for i, v := range s.values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // the zero Length took one varint byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		Length:               int32(core.BatchHeaderSize - 12 + len(recs)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(s.values) - 1),
		FirstTimestamp:       s.timestampMs,
		MaxTimestamp:         s.timestampMs,
		ProducerID:           s.producerID,
		ProducerEpoch:        s.producerEpoch,
		FirstSequence:        s.baseSequence,
		NumRecords:           int32(len(s.values)),
		Records:              recs,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], castagnoli))
	return out
}

// readRecord is one record as a consumer saw it.
type readRecord struct {
	offset core.Offset
	value  string
}

var errRecordFraming = errors.New("record framing does not match the batch")

// decodeBatches parses the concatenated whole batches of a fetch response,
// verifying every CRC, and returns their records in order. A trailing
// partial batch is allowed (a broker may cut a response short) and ignored.
func decodeBatches(data []byte) ([]readRecord, error) {
	var out []readRecord
	for len(data) > 0 {
		h, err := core.ParseBatchHeader(data)
		if err != nil || h.Size() > len(data) {
			if len(data) < core.BatchHeaderSize || (err == nil && h.Size() > len(data)) {
				return out, nil // partial trailing batch
			}
			return out, fmt.Errorf("batch header: %w", err)
		}
		raw := data[:h.Size()]
		data = data[h.Size():]
		if _, err := core.CheckBatch(raw); err != nil {
			return out, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		if h.Compression() != 0 {
			return out, fmt.Errorf("batch at offset %d: compressed batches are not produced by the sim", h.BaseOffset)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(raw); err != nil {
			return out, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		recs, err := decodeRecords(rb.Records, int(rb.NumRecords))
		if err != nil {
			return out, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		for _, r := range recs {
			out = append(out, readRecord{offset: core.Offset(rb.FirstOffset) + core.Offset(r.OffsetDelta), value: string(r.Value)})
		}
	}
	return out, nil
}

// decodeRecords splits n length-prefixed records and decodes each.
func decodeRecords(b []byte, n int) ([]kmsg.Record, error) {
	out := make([]kmsg.Record, 0, n)
	for i := 0; i < n; i++ {
		l, k := binary.Varint(b)
		if k <= 0 || l < 0 || int64(len(b)-k) < l {
			return nil, errRecordFraming
		}
		var r kmsg.Record
		if err := r.ReadFrom(b[:k+int(l)]); err != nil {
			return nil, err
		}
		out = append(out, r)
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errRecordFraming
	}
	return out, nil
}

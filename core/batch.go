package core

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A record batch (magic 2) starts with a fixed 61-byte header. The broker
// reads and rewrites only this header on the produce and fetch paths; the
// records after it stay opaque bytes.
//
//	offset  size  field                    covered by CRC
//	 0       8    BaseOffset               no  (rewritten by the broker)
//	 8       4    BatchLength              no  (bytes after this field)
//	12       4    PartitionLeaderEpoch     no  (rewritten by the broker)
//	16       1    Magic (= 2)              no
//	17       4    CRC-32C                  no  (covers bytes 21..end)
//	21       2    Attributes               yes
//	23       4    LastOffsetDelta          yes
//	27       8    BaseTimestamp            yes
//	35       8    MaxTimestamp             yes (rewritten for LogAppendTime)
//	43       8    ProducerId               yes
//	51       2    ProducerEpoch            yes
//	53       4    BaseSequence             yes
//	57       4    RecordCount              yes
//	61       ...  records
//
// This layout is part of Kafka's wire and disk format; do not change it.
const (
	BatchHeaderSize     = 61
	batchLengthOverhead = 12 // BaseOffset + BatchLength precede the counted bytes
	offCRC              = 17
	offAttributes       = 21
	offMaxTimestamp     = 35
)

// Batch attribute bits.
const (
	AttrCompressionMask    = 0x07
	AttrTimestampLogAppend = 0x08
	AttrTransactional      = 0x10
	AttrControl            = 0x20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the decoded fixed header of one record batch.
type BatchHeader struct {
	BaseOffset           Offset
	Length               int32 // bytes after the length field
	PartitionLeaderEpoch LeaderEpoch
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           ProducerID
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the batch's total size in bytes.
func (h BatchHeader) Size() int { return int(h.Length) + batchLengthOverhead }

// LastOffset is the offset of the batch's last record.
func (h BatchHeader) LastOffset() Offset { return h.BaseOffset + Offset(h.LastOffsetDelta) }

// Compression returns the codec number (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
func (h BatchHeader) Compression() int { return int(h.Attributes & AttrCompressionMask) }

// Errors of batch parsing. They are values, not wrapped IO errors: a batch
// that fails here is bad input.
var (
	ErrBatchShort  = errors.New("record batch shorter than its header")
	ErrBatchLength = errors.New("record batch length field out of range")
	ErrBatchMagic  = errors.New("record batch magic is not 2")
	ErrBatchCRC    = errors.New("record batch CRC mismatch")
	ErrBatchCounts = errors.New("record batch record count inconsistent with last offset delta")
	ErrBatchCodec  = errors.New("record batch uses an unknown compression codec")
)

// ParseBatchHeader decodes the header at the start of b. It checks the
// length and magic only; CheckBatch also verifies the CRC.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < BatchHeaderSize {
		return h, ErrBatchShort
	}
	h.BaseOffset = Offset(binary.BigEndian.Uint64(b[0:]))
	h.Length = int32(binary.BigEndian.Uint32(b[8:]))
	h.PartitionLeaderEpoch = LeaderEpoch(binary.BigEndian.Uint32(b[12:]))
	h.Magic = int8(b[16])
	h.CRC = binary.BigEndian.Uint32(b[17:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[21:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[23:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[27:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[35:]))
	h.ProducerID = ProducerID(binary.BigEndian.Uint64(b[43:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[51:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[53:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[57:]))
	if h.Magic != 2 {
		return h, ErrBatchMagic
	}
	if h.Length < BatchHeaderSize-batchLengthOverhead {
		return h, ErrBatchLength
	}
	return h, nil
}

// CheckBatch parses and fully validates the single batch that fills b:
// length, magic, CRC, codec and record counts.
func CheckBatch(b []byte) (BatchHeader, error) {
	h, err := CheckStoredBatch(b)
	if err == nil && h.RecordCount > 0 && h.LastOffsetDelta != h.RecordCount-1 {
		err = ErrBatchCounts // only compaction leaves fewer records than offsets
	}
	return h, err
}

// SplitBatches walks the concatenated batches in b and calls fn with each
// whole batch. A trailing partial batch stops the walk and is reported as
// ErrBatchShort or ErrBatchLength; the bytes before it were valid batches.
func SplitBatches(b []byte, fn func(batch []byte, h BatchHeader) error) error {
	for len(b) > 0 {
		h, err := ParseBatchHeader(b)
		if err != nil {
			return err
		}
		if h.Size() > len(b) {
			return ErrBatchShort
		}
		if err := fn(b[:h.Size()], h); err != nil {
			return err
		}
		b = b[h.Size():]
	}
	return nil
}

// SetBaseOffset rewrites the base offset and partition leader epoch of the
// batch at the start of b. Neither field is covered by the CRC.
func SetBaseOffset(b []byte, base Offset, epoch LeaderEpoch) {
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[12:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime with the given max
// timestamp and recomputes the CRC, which covers both fields.
func SetLogAppendTime(b []byte, ms int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:]) | AttrTimestampLogAppend
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ms))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], crcTable))
}

package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/OneOfOne/xxhash"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Legacy message sets: message formats 0 and 1 (magic 0 and 1), which
// Kafka 0.9 (magic 0) and 0.10 (magic 1) clients produce with Produce
// v0-2 and read with Fetch v0-3. The log keeps one format, record batch
// v2, as Kafka 3.x does: a legacy produce is converted on append, and a
// legacy fetch gets its batches converted down (fetch_legacy.go).
//
// A message set is messages back to back, with no count:
//
//	offset int64 | size int32 | crc uint32 | magic int8 | attributes int8 |
//	[timestamp int64, magic 1] | key bytes | value bytes
//
// size counts what follows it; crc is CRC-32 (IEEE) over magic to the end.
// Attribute bits 0-2 are the codec, bit 3 (magic 1) LogAppendTime. A
// compressed message set is one wrapper message whose value is the
// compressed inner set; magic 1 inner offsets are relative (the wrapper
// carries the absolute offset of the last inner message), magic 0 inner
// offsets absolute.
//
// Conversion follows Kafka's LogValidator. The produce's messages become
// one v2 batch without a producer id, with consecutive offsets, each
// message's key, value and timestamp (magic 0 has none: -1), compressed
// with the codec they came with. What it refuses, as Kafka does:
//
//   - a CRC that does not match, a size out of range, a set truncated
//     mid-message, a magic other than 0 or 1 (magic 2 batches belong in
//     Produce v3+): CORRUPT_MESSAGE;
//   - a compressed wrapper with other messages beside it, a wrapper
//     without a value or without inner messages, compressed inner
//     messages, inner messages of another magic, a magic 1 wrapper offset
//     below its last inner one, zstd (which no legacy format carries),
//     messages of different magics in one set: INVALID_RECORD, as
//     Kafka 3.x answers it at every Produce version (InvalidRecordException
//     from its legacy record iterator and LogValidator);
//   - a producer that sets the LogAppendTime bit (unless it gives a
//     timestamp on a CreateTime topic): INVALID_TIMESTAMP;
//   - a codec that does not exist, or a wrapper whose payload does not
//     decompress: UNKNOWN_SERVER_ERROR, as Kafka, whose decompression
//     errors are not protocol errors.
//
// Inner offsets are otherwise not checked: the records take consecutive
// offsets in their order, as Kafka renumbers them (sarama before 0.10
// writes every inner offset as 0).

const (
	legacyLogOverhead = 12 // offset and size
	legacyOverheadV0  = 14 // crc, magic, attributes, key and value lengths
	legacyOverheadV1  = 22 // and the timestamp

	legacyAttrCodec         = 0x07
	legacyAttrLogAppendTime = 0x08
)

// legacyRecord is one message of a legacy set, as the v2 batch keeps it.
type legacyRecord struct {
	ts         int64
	key, value []byte // nil: null
	lat        bool   // its message (or wrapper) set the LogAppendTime bit
}

// legacySet is a decoded legacy produce.
type legacySet struct {
	magic   int8
	codec   int
	xerial  bool // snappy in snappy-java's framing
	records []legacyRecord
}

// legacyMessage is one message of a set: its offset and the message.
type legacyMessage struct {
	offset int64
	magic  int8
	attrs  int8
	ts     int64
	key    []byte
	value  []byte
}

// nextLegacyMessage splits the first message off data and checks its size
// and CRC.
func nextLegacyMessage(data []byte) (legacyMessage, []byte, *produceErr) {
	if len(data) < legacyLogOverhead {
		return legacyMessage{}, nil, &produceErr{errCorruptMessage, "message set truncated inside a message's offset and size"}
	}
	size := int32(binary.BigEndian.Uint32(data[8:]))
	if size < legacyOverheadV0 {
		return legacyMessage{}, nil, &produceErr{errCorruptMessage, fmt.Sprintf("message size %d is below the minimum %d", size, legacyOverheadV0)}
	}
	if int64(size) > int64(len(data)-legacyLogOverhead) {
		return legacyMessage{}, nil, &produceErr{errCorruptMessage, fmt.Sprintf("message set truncated: a message of %d bytes has %d", size, len(data)-legacyLogOverhead)}
	}
	entry, rest := data[:legacyLogOverhead+int(size)], data[legacyLogOverhead+int(size):]
	m := legacyMessage{offset: int64(binary.BigEndian.Uint64(entry)), magic: int8(entry[16]), attrs: int8(entry[17]), ts: -1}
	switch m.magic {
	case 0, 1:
	case 2:
		return m, nil, &produceErr{errCorruptMessage, "a record batch (magic 2) in a legacy message set: Produce v0-2 carry magic 0 and 1"}
	default:
		return m, nil, &produceErr{errCorruptMessage, fmt.Sprintf("unknown magic %d", m.magic)}
	}
	if got, want := crc32.ChecksumIEEE(entry[16:]), binary.BigEndian.Uint32(entry[12:]); got != want {
		return m, nil, &produceErr{errCorruptMessage, fmt.Sprintf("message CRC %08x does not match its contents (%08x)", want, got)}
	}
	overhead := legacyOverheadV0
	if m.magic == 0 {
		var v kmsg.MessageV0
		if err := v.ReadFrom(entry); err != nil {
			return m, nil, &produceErr{errCorruptMessage, "malformed message: " + err.Error()}
		}
		m.key, m.value = v.Key, v.Value
	} else {
		overhead = legacyOverheadV1
		if int(size) < overhead {
			return m, nil, &produceErr{errCorruptMessage, fmt.Sprintf("message size %d is below the magic 1 minimum %d", size, overhead)}
		}
		var v kmsg.MessageV1
		if err := v.ReadFrom(entry); err != nil {
			return m, nil, &produceErr{errCorruptMessage, "malformed message: " + err.Error()}
		}
		m.key, m.value, m.ts = v.Key, v.Value, v.Timestamp
	}
	if overhead+len(m.key)+len(m.value) != int(size) {
		return m, nil, &produceErr{errCorruptMessage, "the message's key and value lengths disagree with its size"}
	}
	return m, rest, nil
}

// decodeLegacySet decodes and checks a legacy produce. limit bounds the
// decompressed size of a wrapper's inner set.
func decodeLegacySet(data []byte, limit int) (legacySet, *produceErr) {
	var s legacySet
	var outer []legacyMessage
	for rest := data; len(rest) > 0; {
		m, next, err := nextLegacyMessage(rest)
		if err != nil {
			return s, err
		}
		if len(outer) > 0 && m.magic != outer[0].magic {
			return s, &produceErr{errInvalidRecord, fmt.Sprintf("messages of magic %d and %d in one message set", outer[0].magic, m.magic)}
		}
		outer = append(outer, m)
		rest = next
	}
	if len(outer) == 0 {
		return s, &produceErr{errCorruptMessage, "empty message set"}
	}
	s.magic = outer[0].magic
	for _, m := range outer {
		if codec := int(m.attrs & legacyAttrCodec); codec != 0 {
			if len(outer) > 1 {
				return s, &produceErr{errInvalidRecord, "a compressed wrapper message must be alone in its partition's message set"}
			}
			return decodeWrapper(m, limit)
		}
		s.records = append(s.records, legacyRecord{ts: m.ts, key: m.key, value: m.value,
			lat: m.magic == 1 && m.attrs&legacyAttrLogAppendTime != 0})
	}
	return s, nil
}

// decodeWrapper decodes a compressed wrapper's inner messages.
func decodeWrapper(w legacyMessage, limit int) (legacySet, *produceErr) {
	s := legacySet{magic: w.magic, codec: int(w.attrs & legacyAttrCodec)}
	switch {
	case s.codec > 4:
		return s, &produceErr{errUnknownServer, fmt.Sprintf("unknown compression codec %d", s.codec)}
	case s.codec == 4:
		return s, &produceErr{errInvalidRecord, "zstd is not a codec of message formats 0 and 1"}
	case w.value == nil:
		return s, &produceErr{errInvalidRecord, "a compressed wrapper message without a value"}
	}
	payload := w.value
	if s.codec == 3 && w.magic == 0 {
		payload = lz4FixHeaderChecksum(payload)
	}
	s.xerial = s.codec == 2 && bytes.HasPrefix(payload, xerialMagic)
	inner, err := decompress(s.codec, payload, limit)
	if err != nil {
		return s, &produceErr{errUnknownServer, "the wrapper message's payload does not decompress: " + err.Error()}
	}
	var offsets []int64
	for rest := inner; len(rest) > 0; {
		m, next, perr := nextLegacyMessage(rest)
		if perr != nil {
			return s, perr
		}
		switch {
		case m.attrs&legacyAttrCodec != 0:
			return s, &produceErr{errInvalidRecord, "compressed messages inside a compressed wrapper"}
		case m.magic != w.magic:
			return s, &produceErr{errInvalidRecord, fmt.Sprintf("an inner message of magic %d in a wrapper of magic %d", m.magic, w.magic)}
		}
		offsets = append(offsets, m.offset)
		ts := m.ts
		if w.magic == 1 && w.attrs&legacyAttrLogAppendTime != 0 {
			ts = w.ts
		}
		s.records = append(s.records, legacyRecord{ts: ts, key: m.key, value: m.value,
			lat: w.magic == 1 && w.attrs&legacyAttrLogAppendTime != 0})
		rest = next
	}
	if len(s.records) == 0 {
		return s, &produceErr{errInvalidRecord, "a compressed wrapper message without inner messages"}
	}
	if w.magic == 1 && w.offset != 0 && w.offset < offsets[len(offsets)-1] {
		return s, &produceErr{errInvalidRecord, fmt.Sprintf("wrapper offset %d is below its last inner offset %d", w.offset, offsets[len(offsets)-1])}
	}
	return s, nil
}

// lz4FixHeaderChecksum returns an LZ4 frame with its header checksum
// recomputed. Kafka's magic 0 frames carry a checksum computed over the
// wrong bytes (the magic number too); Kafka skips it when reading magic
// 0, and so does this, by repairing it for the decoder.
func lz4FixHeaderChecksum(frame []byte) []byte {
	if len(frame) < 7 || binary.LittleEndian.Uint32(frame) != 0x184D2204 {
		return frame // not a frame: the decoder says so
	}
	hc := 6
	if frame[4]&0x08 != 0 {
		hc += 8 // content size
	}
	if frame[4]&0x01 != 0 {
		hc += 4 // dictionary id
	}
	if len(frame) <= hc {
		return frame
	}
	out := append([]byte(nil), frame...)
	out[hc] = byte(xxhash.Checksum32(out[4:hc]) >> 8)
	return out
}

// legacyLZ4 compresses a magic 0 or 1 inner set as Kafka writes it: 64 KiB
// blocks, no content checksum, and for magic 0 the header checksum
// computed over the magic number too, which Kafka 0.9 readers require.
func legacyLZ4(magic int8, inner []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false), lz4.ConcurrencyOption(1)); err != nil {
		return nil, fmt.Errorf("lz4: %w", err)
	}
	out, err := closeWriter(&buf, w, inner)
	if err != nil {
		return nil, err
	}
	if magic == 0 && len(out) > 6 {
		out[6] = byte(xxhash.Checksum32(out[0:6]) >> 8)
	}
	return out, nil
}

// convertLegacy turns a legacy produce into the v2 batch the log keeps,
// checked against the topic's timestamp type.
func (b *Broker) convertLegacy(p *partition, data []byte) ([]byte, *produceErr) {
	limit := recordsBytesMax(b.cfg.batchBytesMax(p.topic), len(data))
	s, perr := decodeLegacySet(data, limit)
	if perr != nil {
		return nil, perr
	}
	// Kafka's LogValidator.validateTimestamp: a producer's LogAppendTime
	// bit passes only on a CreateTime topic with a timestamp given.
	topicLAT := b.logAppendTime(p)
	for _, r := range s.records {
		if r.lat && (topicLAT || r.ts == -1) {
			return nil, &produceErr{errInvalidTimestamp, "producers must not set the LogAppendTime timestamp type"}
		}
	}
	out, err := legacyBatch(s)
	if err != nil {
		return nil, &produceErr{errUnknownServer, err.Error()}
	}
	return out, nil
}

// legacyBatch builds the v2 batch of a decoded legacy set: base offset 0
// (the append assigns it), no producer id, CreateTime (the append sets
// LogAppendTime where the topic says so).
func legacyBatch(s legacySet) ([]byte, error) {
	if bugOn(BugLegacyDropsLastMessage) && len(s.records) > 1 {
		s.records = s.records[:len(s.records)-1] // BUG SITE (simbugs): BugLegacyDropsLastMessage loses a message.
	}
	h := BatchHeader{PartitionLeaderEpoch: -1, Magic: 2, Attributes: int16(s.codec),
		LastOffsetDelta: int32(len(s.records) - 1), BaseTimestamp: s.records[0].ts,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	recs := make([]kmsg.Record, len(s.records))
	for i, r := range s.records {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: r.ts - h.BaseTimestamp, Key: r.key, Value: r.value}
	}
	return RebuildBatch(h, recs, -1, s.xerial)
}

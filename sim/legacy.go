package sim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/OneOfOne/xxhash"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Legacy clients: Kafka 0.9 and 0.10 producers and consumers, which speak
// message formats 0 and 1 (magic 0 with Produce v0-1 and Fetch v0-1,
// magic 1 with Produce v2 and Fetch v2-3). A legacy producer sends its
// batch as a message set: one message per record, or, with a codec, one
// wrapper message holding them compressed (inner offsets 0..n-1, which
// magic 1 reads as relative to the wrapper's, the last). Magic 1
// messages carry the batch's timestamp. Some magic 0 producers write LZ4
// frames with the header checksum Kafka 0.9 computed over the wrong bytes,
// which the broker must accept. The formats have no headers, so legacy
// producers write no tombstones (the sim names a tombstone in a header),
// and legacy consumers read only topics without them.

// encodeLegacySet encodes s as a message set of magic.
func encodeLegacySet(s batchSpec, magic int8, brokenLZ4 bool) []byte {
	var msgs []byte
	for i, v := range s.values {
		var key []byte
		if s.keys != nil {
			key = s.keys[i]
		}
		msgs = appendLegacyMessage(msgs, magic, int64(i), 0, s.timestampMs, key, []byte(v))
	}
	if s.compressor == nil || s.compressor.codec == codecNone {
		return msgs
	}
	payload := s.compressor.compress(msgs)
	if s.compressor.codec == codecLZ4 && magic == 0 && brokenLZ4 {
		payload[6] = byte(xxhash.Checksum32(payload[0:6]) >> 8)
	}
	return appendLegacyMessage(nil, magic, int64(len(s.values)-1), int8(s.compressor.codec), s.timestampMs, nil, payload)
}

// appendLegacyMessage appends one message with its size and CRC.
func appendLegacyMessage(dst []byte, magic int8, offset int64, attrs int8, ts int64, key, value []byte) []byte {
	start := len(dst)
	if magic == 0 {
		m := kmsg.MessageV0{Offset: offset, Attributes: attrs, Key: key, Value: value}
		dst = m.AppendTo(dst)
	} else {
		m := kmsg.MessageV1{Offset: offset, Magic: 1, Attributes: attrs, Timestamp: ts, Key: key, Value: value}
		dst = m.AppendTo(dst)
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(len(dst)-start-12))
	binary.BigEndian.PutUint32(dst[start+12:], crc32.ChecksumIEEE(dst[start+16:]))
	return dst
}

// decodeLegacy decodes a legacy fetch's message set of magic as an old
// consumer does: every CRC checked, wrappers decompressed (LZ4 magic 0
// frames with either header checksum), magic 1 inner offsets made
// absolute, a partial message at the end skipped. It also returns the
// bytes of the complete messages.
func (d *decompressor) decodeLegacy(data []byte, magic int8) ([]readRecord, int, error) {
	var out []readRecord
	used := 0
	for len(data) >= 12 {
		size := int(binary.BigEndian.Uint32(data[8:]))
		if size > len(data)-12 {
			break // a partial message ends the set
		}
		entry := data[:12+size]
		data = data[12+size:]
		m, err := readLegacyMessage(entry, magic)
		if err != nil {
			return out, used, err
		}
		used += len(entry)
		codec := int(m.Attributes & 7)
		if codec == codecNone {
			out = append(out, readRecord{offset: core.Offset(m.Offset), value: string(m.Value)})
			continue
		}
		payload := m.Value
		if codec == codecLZ4 && magic == 0 && len(payload) > 6 {
			payload = append([]byte(nil), payload...)
			payload[6] = byte(xxhash.Checksum32(payload[4:6]) >> 8) // Kafka ignores magic 0's header checksum
		}
		inner, err := d.decompress(codec, payload)
		if err != nil {
			return out, used, fmt.Errorf("wrapper at offset %d: %s: %w", m.Offset, codecName(codec), err)
		}
		inner = append([]byte(nil), inner...) // the decompressor reuses its buffer
		var innerRecs []readRecord
		var lastInner int64
		for len(inner) > 0 {
			if len(inner) < 12 || int(binary.BigEndian.Uint32(inner[8:])) > len(inner)-12 {
				return out, used, fmt.Errorf("wrapper at offset %d: truncated inner message", m.Offset)
			}
			e := inner[:12+int(binary.BigEndian.Uint32(inner[8:]))]
			inner = inner[len(e):]
			im, err := readLegacyMessage(e, magic)
			if err != nil {
				return out, used, fmt.Errorf("wrapper at offset %d: %w", m.Offset, err)
			}
			if im.Attributes&7 != 0 {
				return out, used, fmt.Errorf("wrapper at offset %d: compressed inner message", m.Offset)
			}
			innerRecs = append(innerRecs, readRecord{offset: core.Offset(im.Offset), value: string(im.Value)})
			lastInner = im.Offset
		}
		base := int64(0)
		if magic == 1 {
			base = m.Offset - lastInner
		}
		for _, r := range innerRecs {
			r.offset += core.Offset(base)
			out = append(out, r)
		}
	}
	return out, used, nil
}

// readLegacyMessage checks one message's magic and CRC and decodes it.
func readLegacyMessage(entry []byte, magic int8) (kmsg.MessageV1, error) {
	var m kmsg.MessageV1
	if len(entry) < 26 || int8(entry[16]) != magic {
		return m, fmt.Errorf("message of %d bytes, magic %d; want magic %d", len(entry), int8(entry[16]), magic)
	}
	if got, want := crc32.ChecksumIEEE(entry[16:]), binary.BigEndian.Uint32(entry[12:]); got != want {
		return m, fmt.Errorf("message at offset %d: CRC %08x, contents %08x", int64(binary.BigEndian.Uint64(entry)), want, got)
	}
	if magic == 1 {
		err := m.ReadFrom(entry)
		return m, err
	}
	var m0 kmsg.MessageV0
	if err := m0.ReadFrom(entry); err != nil {
		return m, err
	}
	m.Offset, m.Attributes, m.Key, m.Value = m0.Offset, m0.Attributes, m0.Key, m0.Value
	return m, nil
}

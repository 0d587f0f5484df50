package core

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Down-conversion for Fetch v0-3, as Kafka's RecordsUtil.downConvert does
// it: v0-1 consumers get magic 0, v2-3 consumers magic 1. Each batch read
// becomes, if uncompressed, one message per record (records below the
// fetch offset dropped), and if compressed, one wrapper message holding
// its records recompressed with the batch's codec (magic 1 inner offsets
// relative to the first, the wrapper at the last). Offsets are kept,
// headers dropped (the legacy formats have none); magic 1 keeps
// timestamps, with the batch's LogAppendTime on every message of a
// LogAppendTime batch. Control batches are never sent. A zstd batch
// cannot be converted: UNSUPPORTED_COMPRESSION_TYPE if it is the first,
// otherwise the data stops before it.
//
// Memory stays bounded by the fetch's own limits: the partitions are read
// one after another, each within what is left of the response limit
// (readFetch), and conversion walks the batches a read returned (at most
// that, or one batch), one at a time, and stops once the converted bytes
// fill the room. Sizes: v0-2 have a hard limit, so their data is cut at the room,
// and may end in a partial message, as Kafka's brokers of that era sent
// (old clients skip a trailing partial message, and grow their fetch
// size when it is the first); v3 keeps whole converted batches, and the
// first partition with data gets at least one whole, as for v4+.

// fetchMagic is the message format a fetch version reads.
func fetchMagic(version int16) int8 {
	switch {
	case version <= 1:
		return 0
	case version <= 3:
		return 1
	}
	return 2
}

// downConvert converts data, whole v2 batches read from offset from, to
// magic, within room bytes; first says the first-batch exemption applies
// (v3). It returns the converted bytes and a partition error code.
func (b *Broker) downConvert(p *partition, data []byte, from Offset, magic int8, room int, first, hard bool) ([]byte, int16) {
	var out []byte
	for n := 0; n < len(data); {
		h, err := ParseBatchHeader(data[n:])
		if err != nil || n+h.Size() > len(data) {
			break
		}
		batch := data[n : n+h.Size()]
		n += h.Size()
		if h.Attributes&AttrControl != 0 || h.RecordCount == 0 {
			continue
		}
		if h.Compression() == 4 {
			if len(out) == 0 {
				return nil, errUnsupportedCompression
			}
			break
		}
		conv, err := convertBatch(batch, h, from, magic, recordsBytesMax(b.cfg.batchBytesMax(p.topic), len(batch)))
		if err != nil {
			if len(out) == 0 {
				return nil, errCorruptMessage
			}
			break
		}
		if len(conv) == 0 {
			continue
		}
		b.cover(cover.LegacyFetchConverted)
		if h.Compression() != 0 {
			b.cover(cover.LegacyCompressedFetchConverted)
		}
		if len(out)+len(conv) > room {
			switch {
			case hard && room > len(out):
				out = append(out, conv[:room-len(out)]...)
			case first && len(out) == 0:
				out = conv
			}
			break
		}
		out = append(out, conv...)
	}
	return out, errNone
}

// convertBatch converts one v2 batch to messages of magic.
func convertBatch(batch []byte, h BatchHeader, from Offset, magic int8, limit int) ([]byte, error) {
	recs, err := BatchRecords(batch, h, limit)
	if err != nil {
		return nil, err
	}
	lat := h.Attributes&AttrTimestampLogAppend != 0
	codec := h.Compression()
	ts := func(r *kmsg.Record) int64 {
		if lat {
			return h.MaxTimestamp
		}
		return RecordTimestamp(h, r)
	}
	var attrs int8
	if lat && magic == 1 {
		attrs = legacyAttrLogAppendTime
	}
	// Each message is at most the record's key and value plus the magic 1
	// overhead; the buffers are sized once.
	size := 0
	for i := range recs {
		size += legacyLogOverhead + legacyOverheadV1 + len(recs[i].Key) + len(recs[i].Value)
	}
	if codec == 0 {
		out := make([]byte, 0, size)
		for i := range recs {
			off := int64(h.BaseOffset) + int64(recs[i].OffsetDelta)
			if off < int64(from) {
				continue // as Kafka: uncompressed batches start at the fetch offset
			}
			out = appendLegacyMessage(out, magic, off, attrs, ts(&recs[i]), recs[i].Key, recs[i].Value)
		}
		return out, nil
	}
	if len(recs) == 0 {
		return nil, nil
	}
	first := int64(h.BaseOffset) + int64(recs[0].OffsetDelta)
	last := int64(h.BaseOffset) + int64(recs[len(recs)-1].OffsetDelta)
	inner := make([]byte, 0, size)
	maxTs := int64(-1)
	for i := range recs {
		off := int64(h.BaseOffset) + int64(recs[i].OffsetDelta)
		if magic == 1 {
			off -= first // relative inner offsets
		}
		t := ts(&recs[i])
		maxTs = max(maxTs, t)
		inner = appendLegacyMessage(inner, magic, off, attrs, t, recs[i].Key, recs[i].Value)
	}
	var payload []byte
	if codec == 3 {
		payload, err = legacyLZ4(magic, inner)
	} else {
		payload, err = compress(codec, inner, true) // snappy in snappy-java's framing, as Kafka writes it
	}
	if err != nil {
		return nil, err
	}
	if bugOn(BugLegacyWrapperAtFirst) {
		last = first // BUG SITE (simbugs): BugLegacyWrapperAtFirst stamps the wrapper with its first inner offset.
	}
	return appendLegacyMessage(nil, magic, last, attrs|int8(codec), maxTs, nil, payload), nil
}

// appendLegacyMessage appends one message of magic (0 or 1) to dst, with
// its size and CRC.
func appendLegacyMessage(dst []byte, magic int8, offset int64, attrs int8, ts int64, key, value []byte) []byte {
	start := len(dst)
	if magic == 0 {
		m := kmsg.MessageV0{Offset: offset, Magic: 0, Attributes: attrs, Key: key, Value: value}
		dst = m.AppendTo(dst)
	} else {
		m := kmsg.MessageV1{Offset: offset, Magic: 1, Attributes: attrs, Timestamp: ts, Key: key, Value: value}
		dst = m.AppendTo(dst)
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(len(dst)-start-legacyLogOverhead))
	binary.BigEndian.PutUint32(dst[start+12:], crc32.ChecksumIEEE(dst[start+16:]))
	return dst
}

package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Records decoding. The produce and fetch paths never look past a batch's
// 61-byte header; the few features that need individual records (today:
// ListOffsets by timestamp) decompress one batch and walk its records here.
// Everything in this file is pure: no goroutines (every codec runs
// synchronously), no package-level state, and any input bytes give either
// records or an error, never a panic.
//
// The records section of a batch (after the header, decompressed as the
// codec in attribute bits 0-2 says) is RecordCount records back to back:
//
//	length          varint   bytes that follow in this record
//	attributes      int8     unused
//	timestampDelta  varlong  from the batch's BaseTimestamp, ms
//	offsetDelta     varint   from the batch's BaseOffset
//	key             varint length (-1 = null), bytes
//	value           varint length (-1 = null), bytes
//	headers         varint count, then per header: varint-length key, varint-length value
//
// Varints are zigzag-encoded, as encoding/binary.Varint reads them. This is
// Kafka's wire and disk format; do not change it.

// Limits on decompression. A stored batch is at most max.message.bytes
// (checked when it was produced), but a few hundred bytes of zstd or gzip
// can expand to gigabytes, so the decompressed records of one batch may be
// at most recordsExpansionMax times the larger of the topic's
// max.message.bytes and the batch's own size (a batch stored before
// max.message.bytes was lowered stays readable), and never less than
// recordsBytesFloor. With the default max.message.bytes (1 MiB) that is
// 64 MiB: more than any client builds (producers size batches by their
// uncompressed bytes, 16 KiB to 1 MiB by default), and a bound on the memory
// a hostile batch can take.
const (
	recordsExpansionMax = 64
	recordsBytesFloor   = 1 << 20
)

// recordsBytesMax is the decompression limit for a batch of batchBytes
// bytes in a topic whose batches are at most maxMessageBytes (see
// batchBytesMax).
func recordsBytesMax(maxMessageBytes int64, batchBytes int) int {
	n := max(maxMessageBytes, int64(batchBytes)) * recordsExpansionMax
	return int(min(max(n, recordsBytesFloor), 1<<40))
}

// batchBytesMax is the largest batch produce can have stored in t: the
// topic's max.message.bytes, but no more than socket.request.max.bytes,
// since a batch arrives inside one request. Kafka lets message.max.bytes
// exceed the request limit (200000000 is a common test setting); the
// decompression limit stays tied to what can arrive.
func (c Config) batchBytesMax(t *topic) int64 {
	return min(c.settingsOf(t).maxMessageBytes, int64(c.RequestMaxBytes))
}

// Errors of records decoding. A stored batch that fails here was corrupted
// after its CRC was checked, or was malformed inside a valid CRC (the
// produce path validates headers only).
var (
	ErrRecordsTooLarge  = errors.New("records decompress beyond the limit")
	ErrRecordsMalformed = errors.New("records malformed")
	errXerialMalformed  = errors.New("snappy xerial framing malformed")
)

// xerialMagic opens snappy data in the framing of snappy-java's
// SnappyOutputStream, which the Java client uses: the magic, a big-endian
// int32 version and an int32 minimum compatible version, then blocks of
// [int32 compressed length][raw snappy block]. Other clients (librdkafka,
// franz-go, sarama by default) send one raw snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16 // magic, version, compatible version

// decompress returns the records section data decompressed with codec
// (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), failing with
// ErrRecordsTooLarge rather than producing more than limit bytes. With
// codec 0 it returns data itself.
func decompress(codec int, data []byte, limit int) ([]byte, error) {
	switch codec {
	case 0:
		return data, nil
	case 1:
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readCapped(r, limit)
	case 2:
		if bytes.HasPrefix(data, xerialMagic) {
			return unxerial(data, limit)
		}
		return unsnappy(nil, data, limit)
	case 3:
		return readCapped(lz4.NewReader(bytes.NewReader(data)), limit)
	case 4:
		// One decoder per call: DecodeAll with concurrency 1 runs in the
		// calling goroutine, and nothing outlives the call. The memory
		// limit applies to the whole decoded output.
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer d.Close()
		out, err := d.DecodeAll(data, nil)
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || len(out) > limit:
			return nil, ErrRecordsTooLarge
		case err != nil:
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, ErrBatchCodec
}

// unsnappy appends the decoding of one raw snappy block to out, keeping
// the total within limit. The block states its decoded length first, so
// the limit is checked before anything is allocated.
func unsnappy(out, block []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if n > limit-len(out) {
		return nil, ErrRecordsTooLarge
	}
	start := len(out)
	out = slices.Grow(out, n)[:start+n]
	if _, err := snappy.Decode(out[start:], block); err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	return out, nil
}

// unxerial decodes snappy-java's framing (see xerialMagic).
func unxerial(data []byte, limit int) ([]byte, error) {
	if len(data) < xerialHeaderSize {
		return nil, errXerialMalformed
	}
	data = data[xerialHeaderSize:]
	out := []byte{}
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, errXerialMalformed
		}
		n := binary.BigEndian.Uint32(data)
		data = data[4:]
		if uint64(n) > uint64(len(data)) {
			return nil, errXerialMalformed
		}
		var err error
		if out, err = unsnappy(out, data[:n], limit); err != nil {
			return nil, err
		}
		data = data[n:]
	}
	return out, nil
}

// reader is the method of io.Reader that readCapped needs; the core does
// not import io, but the codecs' readers satisfy it.
type reader interface {
	Read(p []byte) (int, error)
}

// cappedReader fails with ErrRecordsTooLarge once more than left bytes
// have been read through it. It asks for at most one byte past the limit,
// so that a stream of exactly the limit still succeeds.
type cappedReader struct {
	r    reader
	left int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if len(p) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= n; c.left < 0 {
		return n, ErrRecordsTooLarge
	}
	return n, err
}

// readCapped reads r to its end, failing past limit bytes.
func readCapped(r reader, limit int) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&cappedReader{r: r, left: limit}); err != nil {
		if errors.Is(err, ErrRecordsTooLarge) {
			return nil, ErrRecordsTooLarge
		}
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return buf.Bytes(), nil
}

// recordIter walks the records of one batch in order. After next returns
// false, err says why: nil when exactly RecordCount records filled the
// records section, otherwise ErrRecordsMalformed (or the decoding error).
//
// Beyond kmsg's decoding it checks that offset deltas increase strictly
// and stay within [0, LastOffsetDelta], so that every offset it yields lies
// inside the batch.
type recordIter struct {
	h     BatchHeader
	body  []byte // decompressed records not yet read
	left  int32  // records the header promises that are not yet read
	delta int32  // the last offset delta read; -1 before the first
	err   error
}

// newRecordIter decompresses the records of the validated batch (header
// h) within limit bytes.
func newRecordIter(batch []byte, h BatchHeader, limit int) (*recordIter, error) {
	body, err := decompress(h.Compression(), batch[BatchHeaderSize:], limit)
	if err != nil {
		return nil, err
	}
	return &recordIter{h: h, body: body, left: h.RecordCount, delta: -1}, nil
}

// next decodes the next record into r; false at the end or on an error.
// Key, Value and header values alias the iterator's buffer.
func (it *recordIter) next(r *kmsg.Record) bool {
	if it.err != nil {
		return false
	}
	if it.left == 0 {
		if len(it.body) > 0 {
			it.err = fmt.Errorf("%w: %d bytes after the last record", ErrRecordsMalformed, len(it.body))
		}
		return false
	}
	length, n := binary.Varint(it.body)
	if n <= 0 || length < 0 || length > int64(len(it.body)-n) {
		it.err = fmt.Errorf("%w: record length", ErrRecordsMalformed)
		return false
	}
	rec := it.body[:n+int(length)]
	if err := r.ReadFrom(rec); err != nil {
		it.err = fmt.Errorf("%w: %v", ErrRecordsMalformed, err)
		return false
	}
	if r.OffsetDelta <= it.delta || r.OffsetDelta > it.h.LastOffsetDelta {
		it.err = fmt.Errorf("%w: offset delta %d after %d, last %d", ErrRecordsMalformed, r.OffsetDelta, it.delta, it.h.LastOffsetDelta)
		return false
	}
	it.body, it.left, it.delta = it.body[len(rec):], it.left-1, r.OffsetDelta
	return true
}

// timestamp is record r's timestamp: the batch's MaxTimestamp for every
// record of a LogAppendTime batch (the broker stamped the batch, not the
// records), otherwise BaseTimestamp plus the record's delta.
func (it *recordIter) timestamp(r *kmsg.Record) int64 {
	if it.h.Attributes&AttrTimestampLogAppend != 0 {
		return it.h.MaxTimestamp
	}
	return it.h.BaseTimestamp + r.TimestampDelta64
}

// findRecordTime returns the offset and timestamp of the first record of
// the validated batch (header h) whose timestamp is >= ts and whose offset
// is >= minOffset, as Kafka's ListOffsets answers; found is false when no
// record of the batch qualifies. Records after the answer are not decoded.
func findRecordTime(batch []byte, h BatchHeader, ts int64, minOffset Offset, limit int) (off Offset, recordTs int64, found bool, err error) {
	it, err := newRecordIter(batch, h, limit)
	if err != nil {
		return 0, 0, false, err
	}
	var r kmsg.Record
	for it.next(&r) {
		off, recordTs = h.BaseOffset+Offset(r.OffsetDelta), it.timestamp(&r)
		if recordTs >= ts && off >= minOffset {
			return off, recordTs, true, nil
		}
	}
	return 0, 0, false, it.err
}

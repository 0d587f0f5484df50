package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// The simulated clients build and parse record batches themselves: kmsg
// provides the batch and record codecs but no batch builder or raw-bytes
// batch parser, and the sim's codec must not share the broker's code (a
// bug common to both would check itself). Batches are magic-2 batches;
// the records section after the 61-byte header is compressed as a whole
// when the producer's codec (attribute bits 0-2) says so, and the header's
// BatchLength and CRC-32C (Castagnoli, over the bytes from the attributes
// at offset 21 to the end, stored at offset 17, as core/batch.go draws it)
// cover the compressed bytes.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchSpec is one batch as a producer builds it.
type batchSpec struct {
	values        []string
	keys          [][]byte // one per value, or nil for null keys
	tombstones    []bool   // one per value, or nil: a tombstone's value is null and its identity an "id" header
	producerID    int64    // -1 for a plain producer
	producerEpoch int16    // -1 for a plain producer
	baseSequence  int32    // -1 for a plain producer
	timestampMs   int64
	compressor    *compressor // nil: uncompressed
}

// encodeBatch returns the batch's wire bytes with base offset 0.
func encodeBatch(s batchSpec) []byte {
	var recs []byte
	for i, v := range s.values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		if s.keys != nil {
			r.Key = s.keys[i]
		}
		if s.tombstones != nil && s.tombstones[i] {
			r.Value, r.Headers = nil, []kmsg.Header{{Key: "id", Value: []byte(v)}}
		}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // the zero Length took one varint byte
		recs = r.AppendTo(recs)
	}
	var attrs int16
	if s.compressor != nil {
		recs = s.compressor.compress(recs)
		attrs = int16(s.compressor.codec)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		Length:               int32(core.BatchHeaderSize - 12 + len(recs)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
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

// readRecord is one record as a consumer saw it: its value, or for a
// tombstone (null value) the "id" header that names it.
type readRecord struct {
	offset    core.Offset
	value     string
	tombstone bool
}

var errRecordFraming = errors.New("record framing does not match the batch")

// decodeBatches decodes data with decoders of its own; see
// decompressor.decodeBatches.
func decodeBatches(data []byte) ([]readRecord, error) {
	return new(decompressor).decodeBatches(data)
}

// batchError is what decodeBatches finds wrong with one batch, whose
// header names base as its base offset.
type batchError struct {
	base core.Offset
	err  error
}

func (e *batchError) Error() string { return fmt.Sprintf("batch at offset %d: %v", e.base, e.err) }
func (e *batchError) Unwrap() error { return e.err }

// decodeBatches parses the concatenated whole batches of a fetch response,
// verifying every CRC, decompressing every compressed records section and
// checking its record framing, and returns their records in order. A
// trailing partial batch is allowed (a broker may cut a response short)
// and ignored.
func (d *decompressor) decodeBatches(data []byte) ([]readRecord, error) {
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
		if _, err := core.CheckStoredBatch(raw); err != nil {
			return out, &batchError{h.BaseOffset, err}
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(raw); err != nil {
			return out, &batchError{h.BaseOffset, err}
		}
		section, err := d.decompress(h.Compression(), rb.Records)
		if err != nil {
			return out, &batchError{h.BaseOffset, fmt.Errorf("%s: %w", codecName(h.Compression()), err)}
		}
		recs, err := decodeRecords(section, int(rb.NumRecords))
		if err != nil {
			return out, &batchError{h.BaseOffset, err}
		}
		for _, r := range recs {
			rr := readRecord{offset: core.Offset(rb.FirstOffset) + core.Offset(r.OffsetDelta), value: string(r.Value)}
			if r.Value == nil {
				rr.tombstone = true
				for _, hd := range r.Headers {
					if hd.Key == "id" {
						rr.value = string(hd.Value)
					}
				}
			}
			out = append(out, rr)
		}
	}
	return out, nil
}

// batchesEnd returns the offset after the last whole batch of data, or -1
// when it holds none. A consumer that took every record of a fetch moves
// its position there, as Kafka's consumers do: a cleaned batch may end
// with offsets it no longer holds records for, or hold none at all.
func batchesEnd(data []byte) core.Offset {
	end := core.Offset(-1)
	for len(data) >= core.BatchHeaderSize {
		h, err := core.ParseBatchHeader(data)
		if err != nil || h.Size() > len(data) {
			break
		}
		end = h.LastOffset() + 1
		data = data[h.Size():]
	}
	return end
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

// The compression codecs, numbered as attribute bits 0-2 number them.
const (
	codecNone = iota
	codecGzip
	codecSnappy
	codecLZ4
	codecZstd
	codecCount
)

func codecName(codec int) string {
	if codec < 0 || codec >= codecCount {
		return fmt.Sprintf("codec-%d", codec)
	}
	return [codecCount]string{"none", "gzip", "snappy", "lz4", "zstd"}[codec]
}

// compressor compresses one producer's records sections with its codec,
// as a Kafka producer's compression.type does. Each producer owns one and
// keeps its encoder between batches (building one costs more than using
// it); nothing is shared between worlds, which run in parallel goroutines.
// Every encoder here runs in the calling goroutine and gives the same
// bytes for the same input, which the trace hash relies on.
type compressor struct {
	codec int
	// xerial frames snappy as snappy-java's SnappyOutputStream does (the
	// Java client); otherwise snappy is one raw block (librdkafka,
	// franz-go, sarama). The broker must accept both, as Kafka does.
	xerial bool
	gz     *gzip.Writer
	lz     *lz4.Writer
	zs     *zstd.Encoder
}

// compress returns recs compressed with the codec, with the settings of
// Kafka's Java producer where they matter: gzip at the default level, lz4
// frames of independent 64 KiB blocks, zstd at its default level. Writes
// into a bytes.Buffer cannot fail, so an error is a broken invariant.
func (c *compressor) compress(recs []byte) []byte {
	var buf bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch c.codec {
	case codecNone:
		return recs
	case codecSnappy:
		if c.xerial {
			return xerial.Encode(nil, recs)
		}
		return snappy.Encode(nil, recs)
	case codecZstd:
		if c.zs == nil {
			// A batch never exceeds max.message.bytes (1 MiB): a larger
			// window would only cost memory.
			c.zs = must(zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20)))
		}
		return c.zs.EncodeAll(recs, nil)
	case codecGzip:
		if c.gz == nil {
			c.gz = must(gzip.NewWriterLevel(nil, gzip.DefaultCompression))
		}
		c.gz.Reset(&buf)
		w = c.gz
	case codecLZ4:
		if c.lz == nil {
			c.lz = lz4.NewWriter(nil)
			if err := c.lz.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ConcurrencyOption(1)); err != nil {
				panic(err)
			}
		}
		c.lz.Reset(&buf)
		w = c.lz
	default:
		panic(fmt.Sprintf("sim: compressor with codec %d", c.codec))
	}
	if _, err := w.Write(recs); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// recordsBytesMax bounds a decompressed records section. The sim's
// producers build batches of at most largeBatchBytesCap and some small
// records; a section that expands past this bound is corrupt, and the
// bound keeps a corrupt one from taking the process's memory.
const recordsBytesMax = 4 << 20

var errTooLarge = errors.New("records section decompresses beyond the bound")

// decompressor decompresses records sections for one consumer. It keeps
// its decoders and output buffer between batches: building a gzip or zstd
// decoder costs more than decoding most batches. A section it returns is
// valid until its next call. Every decoder here runs in the calling
// goroutine.
type decompressor struct {
	gz      *gzip.Reader
	lz      *lz4.Reader
	zs      *zstd.Decoder
	scratch []byte // the last section decoded
}

// decompress returns a batch's records section decompressed with codec.
// It checks what the codec can check (gzip's CRC-32, the lz4 frame's and
// zstd's content checksums, snappy's lengths); the record framing after it
// catches the rest.
func (d *decompressor) decompress(codec int, data []byte) ([]byte, error) {
	var out []byte
	var err error
	switch codec {
	case codecNone:
		return data, nil
	case codecGzip:
		if d.gz == nil {
			d.gz = new(gzip.Reader)
		}
		if err = d.gz.Reset(bytes.NewReader(data)); err == nil {
			out, err = d.readAll(d.gz)
		}
	case codecSnappy:
		if bytes.HasPrefix(data, xerialMagic) {
			out, err = unxerial(d.scratch[:0], data)
		} else {
			out, err = unsnappy(d.scratch[:0], data)
		}
	case codecLZ4:
		if d.lz == nil {
			d.lz = lz4.NewReader(nil)
		}
		d.lz.Reset(bytes.NewReader(data))
		out, err = d.readAll(d.lz)
	case codecZstd:
		if d.zs == nil {
			// Without a stream to read (nil) the decoder starts no
			// goroutines; DecodeAll runs in the caller's.
			d.zs = must(zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(recordsBytesMax)))
		}
		out, err = d.zs.DecodeAll(data, d.scratch[:0])
	default:
		return nil, fmt.Errorf("unknown compression codec %d", codec)
	}
	if cap(out) > cap(d.scratch) {
		d.scratch = out[:0]
	}
	return out, err
}

// readAll reads r to its end into the scratch buffer, failing past
// recordsBytesMax bytes.
func (d *decompressor) readAll(r io.Reader) ([]byte, error) {
	buf := d.scratch[:0]
	for len(buf) <= recordsBytesMax {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, errTooLarge
}

// xerialMagic opens snappy-java's framing: the magic, a big-endian int32
// version and an int32 minimum compatible version (both 1), then blocks
// of [int32 length][raw snappy block].
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

var errXerial = errors.New("snappy xerial framing malformed")

// unxerial appends the decoding of snappy-java's framing to out, block by
// block.
func unxerial(out, data []byte) ([]byte, error) {
	if len(data) < 16 || binary.BigEndian.Uint32(data[8:]) != 1 || binary.BigEndian.Uint32(data[12:]) != 1 {
		return nil, errXerial
	}
	data = data[16:]
	for len(data) > 0 {
		if len(data) < 4 || uint64(binary.BigEndian.Uint32(data)) > uint64(len(data)-4) {
			return nil, errXerial
		}
		n := binary.BigEndian.Uint32(data)
		var err error
		if out, err = unsnappy(out, data[4:4+n]); err != nil {
			return nil, err
		}
		data = data[4+n:]
	}
	return out, nil
}

// unsnappy appends the decoding of one raw snappy block to out. It uses
// the strict decoder: standard snappy, as Kafka's clients read it, without
// the s2 extensions the lenient one accepts.
func unsnappy(out, block []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if n > recordsBytesMax-len(out) {
		return nil, errTooLarge
	}
	start := len(out)
	out = slices.Grow(out, n)[:start+n]
	if _, err := snappy.DecodeStrict(out[start:], block); err != nil {
		return nil, err
	}
	return out, nil
}

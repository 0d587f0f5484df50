package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"cloudkafka/core"
)

// codecCases are the compressors a producer can draw: every codec, and
// snappy in both framings.
var codecCases = []struct {
	name string
	c    compressor
}{
	{"none", compressor{codec: codecNone}},
	{"gzip", compressor{codec: codecGzip}},
	{"snappy", compressor{codec: codecSnappy}},
	{"snappy-xerial", compressor{codec: codecSnappy, xerial: true}},
	{"lz4", compressor{codec: codecLZ4}},
	{"zstd", compressor{codec: codecZstd}},
}

// testSpec is a batch of n records; with keyBytes > 0 each record gets a
// key of that many bytes, random (incompressible) or a repeated pattern.
func testSpec(n, keyBytes int, random bool) batchSpec {
	s := batchSpec{producerID: 7, producerEpoch: 1, baseSequence: 5, timestampMs: 1000}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		s.values = append(s.values, fmt.Sprintf("p0#%d", i))
		if keyBytes == 0 {
			continue
		}
		k := bytes.Repeat([]byte{byte(i), 'k'}, keyBytes/2+1)[:keyBytes]
		if random {
			for j := range k {
				k[j] = byte(rng.Uint32())
			}
		}
		s.keys = append(s.keys, k)
	}
	return s
}

// decodeKeys returns the keys of the single batch b, decoded without
// decodeBatches, which drops them.
func decodeKeys(t *testing.T, b []byte) [][]byte {
	t.Helper()
	h, err := core.CheckBatch(b)
	if err != nil {
		t.Fatalf("CheckBatch: %v", err)
	}
	section, err := new(decompressor).decompress(h.Compression(), b[core.BatchHeaderSize:])
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	recs, err := decodeRecords(section, int(h.RecordCount))
	if err != nil {
		t.Fatalf("decodeRecords: %v", err)
	}
	var keys [][]byte
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	return keys
}

// TestCodecRoundTrip encodes small and large batches with every codec and
// decodes them back: header checks, codec bits, offsets, values and keys.
// Two batches of different codecs in one response check that the
// decompressor's reused buffers do not leak between batches.
func TestCodecRoundTrip(t *testing.T) {
	sizes := []struct {
		name     string
		spec     batchSpec
		wireMin  int // the encoded batch is at least this large
		wireMore int // and at most this much larger than the keys
	}{
		{"small", testSpec(3, 0, false), 0, 1 << 10},
		{"large-random", testSpec(4, 40<<10, true), 160 << 10, 4 << 10},
		{"large-pattern", testSpec(5, 60<<10, false), 0, 4 << 10},
	}
	for _, cc := range codecCases {
		for _, sz := range sizes {
			t.Run(cc.name+"/"+sz.name, func(t *testing.T) {
				c := cc.c
				spec := sz.spec
				spec.compressor = &c
				b := encodeBatch(spec)
				if again := encodeBatch(spec); !bytes.Equal(again, b) {
					t.Fatalf("encoding twice with one compressor gave different bytes")
				}
				fresh := cc.c
				spec.compressor = &fresh
				if again := encodeBatch(spec); !bytes.Equal(again, b) {
					t.Fatalf("encoding with a fresh compressor gave different bytes")
				}
				keyBytes := 0
				for _, k := range spec.keys {
					keyBytes += len(k)
				}
				if len(b) < sz.wireMin || len(b) > keyBytes+sz.wireMore {
					t.Fatalf("batch of %d bytes with %d key bytes; want %d..%d", len(b), keyBytes, sz.wireMin, keyBytes+sz.wireMore)
				}
				checkRoundTrip(t, b, spec, cc.c.codec)
			})
		}
	}
}

func checkRoundTrip(t *testing.T, b []byte, spec batchSpec, codec int) {
	t.Helper()
	h, err := core.CheckBatch(b)
	if err != nil {
		t.Fatalf("CheckBatch: %v", err)
	}
	if h.Compression() != codec || int(h.RecordCount) != len(spec.values) || h.ProducerID != 7 || h.BaseSequence != 5 {
		t.Fatalf("header %+v; want codec %d, %d records, producer 7, sequence 5", h, codec, len(spec.values))
	}
	if codec == codecSnappy && bytes.HasPrefix(b[core.BatchHeaderSize:], xerialMagic) != spec.compressor.xerial {
		t.Fatalf("snappy framing: xerial magic present = %v; want %v", !spec.compressor.xerial, spec.compressor.xerial)
	}
	keys := decodeKeys(t, b)
	for i := range spec.values {
		var want []byte // null without keys
		if spec.keys != nil {
			want = spec.keys[i]
		}
		if !bytes.Equal(keys[i], want) || (keys[i] == nil) != (want == nil) {
			t.Fatalf("record %d: key of %d bytes (nil %v) differs from the %d bytes written", i, len(keys[i]), keys[i] == nil, len(want))
		}
	}
	other := encodeBatch(batchSpec{values: []string{"q#0", "q#1"}, producerID: -1, producerEpoch: -1,
		baseSequence: -1, compressor: &compressor{codec: (codec + 1) % codecCount}})
	core.SetBaseOffset(b, 40, 0)
	core.SetBaseOffset(other, 40+core.Offset(len(spec.values)), 0)
	wire := append(append(append([]byte{}, b...), other...), b[:30]...) // a partial trailing batch is ignored
	recs, err := decodeBatches(wire)
	if err != nil {
		t.Fatalf("decodeBatches: %v", err)
	}
	want := append(append([]string{}, spec.values...), "q#0", "q#1")
	if len(recs) != len(want) {
		t.Fatalf("got %d records; want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.offset != 40+core.Offset(i) || r.value != want[i] {
			t.Fatalf("record %d: got offset %d value %q; want offset %d value %q", i, r.offset, r.value, 40+i, want[i])
		}
	}
}

// reseal recomputes a batch's length and CRC after its records section
// changed, so that only the codec can notice.
func reseal(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// TestCorruptCompressedBatchRefused damages compressed batches in ways a
// CRC does or does not catch; decodeBatches must refuse every one.
func TestCorruptCompressedBatchRefused(t *testing.T) {
	for _, cc := range codecCases[1:] {
		c := cc.c
		spec := testSpec(4, 20<<10, true)
		spec.compressor = &c
		good := encodeBatch(spec)
		mid := core.BatchHeaderSize + (len(good)-core.BatchHeaderSize)/2
		damage := map[string][]byte{
			"bit-flip":  flipped(good, mid),
			"truncated": reseal(bytes.Clone(good[:len(good)-5])),
			"garbage":   reseal(append(bytes.Clone(good[:core.BatchHeaderSize]), bytes.Repeat([]byte{0xa5}, 300)...)),
			"empty":     reseal(bytes.Clone(good[:core.BatchHeaderSize])),
		}
		// Snappy has no checksum: a flipped bit inside a literal decodes
		// to other bytes that may still frame as records.
		if cc.c.codec != codecSnappy {
			damage["resealed-bit-flip"] = reseal(flipped(good, mid))
		}
		for _, name := range []string{"bit-flip", "truncated", "garbage", "empty", "resealed-bit-flip"} {
			b, ok := damage[name]
			if !ok {
				continue
			}
			if recs, err := decodeBatches(b); err == nil {
				t.Errorf("%s/%s: decodeBatches accepted the batch (%d records)", cc.name, name, len(recs))
			}
		}
	}
}

func flipped(b []byte, at int) []byte {
	b = bytes.Clone(b)
	b[at] ^= 0x10
	return b
}

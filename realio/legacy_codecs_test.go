package realio

// Legacy wrappers of every codec the legacy formats carry (gzip, snappy,
// lz4), produced at Produce v1 (magic 0) and v2 (magic 1) and fetched
// back at Fetch v0-3. The wrappers are built and read here with the
// codecs' own libraries, not the broker's code.

import (
	"bytes"
	"fmt"
	stdio "io"
	"testing"

	"github.com/OneOfOne/xxhash"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/pierrec/lz4/v4"

	"cloudkafka/core"
)

// lz4HeaderChecksum is the LZ4 frame header checksum over hashed:
// (xxhash32 >> 8) & 0xff.
func lz4HeaderChecksum(hashed []byte) byte { return byte(xxhash.Checksum32(hashed) >> 8 & 0xff) }

// lz4Frame compresses b into an LZ4 frame in Kafka's shape (64 KiB
// blocks, no content size); kafka09 writes the header checksum as Kafka
// 0.9's KafkaLZ4BlockOutputStream did, over the magic number too.
func lz4Frame(t testing.TB, b []byte, kafka09 bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	if frame[4]&0x09 != 0 {
		t.Fatalf("lz4 frame FLG %02x has a content size or dictionary id", frame[4])
	}
	if kafka09 {
		frame[6] = lz4HeaderChecksum(frame[0:6])
	}
	return frame
}

// decompressWrapper decompresses a fetched wrapper's value. A fetched LZ4
// frame must carry the header checksum its magic's readers check: Kafka
// 0.9's (magic 0) or the frame format's (magic 1).
func decompressWrapper(t testing.TB, magic int8, codec int8, value []byte) []byte {
	t.Helper()
	var r stdio.Reader
	switch codec {
	case 1:
		zr, err := gzip.NewReader(bytes.NewReader(value))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case 2:
		var out []byte
		var err error
		if bytes.HasPrefix(value, []byte("\x82SNAPPY\x00")) {
			out, err = xerial.Decode(value)
		} else {
			out, err = snappy.Decode(nil, value)
		}
		if err != nil {
			t.Fatalf("snappy wrapper: %v", err)
		}
		return out
	case 3:
		if len(value) < 7 || value[4]&0x09 != 0 {
			t.Fatalf("lz4 wrapper: %x is not a frame of Kafka's shape", value)
		}
		hashed := value[4:6]
		if magic == 0 {
			hashed = value[0:6]
		}
		if want := lz4HeaderChecksum(hashed); value[6] != want {
			t.Fatalf("magic %d lz4 wrapper: header checksum %02x; want %02x, the checksum over % x its readers check", magic, value[6], want, hashed)
		}
		frame := append([]byte(nil), value...)
		frame[6] = lz4HeaderChecksum(frame[4:6]) // the frame format's, for the decoder
		r = lz4.NewReader(bytes.NewReader(frame))
	default:
		t.Fatalf("fetched a wrapper of codec %d", codec)
	}
	out, err := stdio.ReadAll(r)
	if err != nil {
		t.Fatalf("codec %d wrapper: %v", codec, err)
	}
	return out
}

// codecWrapper builds a wrapper of codec around msgs with compress, inner
// offsets and wrapper as gzipWrapper sets them.
func codecWrapper(magic int8, codec int8, compress func([]byte) []byte, msgs ...legacyMsg) []byte {
	var inner []byte
	maxTs := int64(-1)
	for i, m := range msgs {
		m.offset = int64(i)
		maxTs = max(maxTs, m.ts)
		inner = appendMsg(inner, magic, m)
	}
	return appendMsg(nil, magic, legacyMsg{offset: int64(len(msgs) - 1), attrs: codec, ts: maxTs, value: compress(inner)})
}

// TestLegacyCodecs: wrappers of gzip, snappy (snappy-java's framing, and
// plain) and lz4 (for magic 0 with Kafka 0.9's header checksum and with
// the frame format's, which Kafka does not check for magic 0) are
// produced at v1 and v2, stored as v2 batches of their codec, and fetched
// back at v0-3 each as one wrapper of the same codec with the same
// messages.
func TestLegacyCodecs(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	id := createTopic(t, c, "lc", 1, nil)
	type produced struct {
		what  string
		magic int8
		codec int8
		base  int64
		msgs  []legacyMsg
	}
	var all []produced
	next := int64(0)
	for _, pv := range []int16{1, 2} {
		magic := produceMagic(pv)
		codecs := []struct {
			what     string
			codec    int8
			compress func([]byte) []byte
		}{
			{"gzip", 1, func(b []byte) []byte { return gzipBytes(t, b) }},
			{"snappy (snappy-java framing)", 2, func(b []byte) []byte { return xerial.Encode(nil, b) }},
			{"snappy (plain)", 2, func(b []byte) []byte { return snappy.Encode(nil, b) }},
			{"lz4 (frame format header checksum)", 3, func(b []byte) []byte { return lz4Frame(t, b, false) }},
		}
		if magic == 0 {
			codecs = append(codecs, struct {
				what     string
				codec    int8
				compress func([]byte) []byte
			}{"lz4 (Kafka 0.9 header checksum)", 3, func(b []byte) []byte { return lz4Frame(t, b, true) }})
		}
		for _, cd := range codecs {
			var msgs []legacyMsg
			for i := range 3 {
				ts := int64(-1)
				if magic == 1 {
					ts = baseTimestampMs + next + int64(i)
				}
				msgs = append(msgs, legacyMsg{ts: ts, key: []byte(fmt.Sprintf("k%d", next+int64(i))), value: bytes.Repeat([]byte(cd.what), 5+i)})
			}
			what := fmt.Sprintf("Produce v%d of a %s wrapper", pv, cd.what)
			if base := mustProduce(t, c, pv, "lc", 0, codecWrapper(magic, cd.codec, cd.compress, msgs...)); base != next {
				t.Fatalf("%s: got base offset %d; want %d", what, base, next)
			}
			all = append(all, produced{what: what, magic: magic, codec: cd.codec, base: next, msgs: msgs})
			next += 3
		}
	}
	// Stored: one v2 batch per produce, of the wrapper's codec.
	batches := splitBatches(t, fetchPart(t, c, 12, "lc", id, 0, 0).RecordBatches)
	if len(batches) != len(all) {
		t.Fatalf("stored %d batches; want %d", len(batches), len(all))
	}
	for i, p := range all {
		if h, err := core.CheckBatch(batches[i]); err != nil || h.Compression() != int(p.codec) || h.BaseOffset != core.Offset(p.base) {
			t.Errorf("%s: stored batch %+v (%v); want codec %d at %d", p.what, h, err, p.codec, p.base)
		}
	}
	for v := int16(0); v <= 3; v++ {
		magic := int8(0)
		if v >= 2 {
			magic = 1
		}
		for _, p := range all {
			rp := fetchPart(t, c, v, "lc", id, 0, p.base)
			checkCode(t, fmt.Sprintf("Fetch v%d after %s", v, p.what), rp.ErrorCode, 0)
			outer := outerMsgs(t, rp.RecordBatches, magic)
			if len(outer) == 0 || outer[0].attrs&7 != p.codec || outer[0].offset != p.base+2 {
				t.Errorf("Fetch v%d after %s: got %s; want first a wrapper of codec %d at offset %d", v, p.what, describeOuter(outer), p.codec, p.base+2)
				continue
			}
			first := appendMsg(nil, magic, outer[0])
			got := readLegacy(t, first, magic)
			if len(got) != len(p.msgs) {
				t.Errorf("Fetch v%d after %s: the wrapper holds %d messages; want %d", v, p.what, len(got), len(p.msgs))
				continue
			}
			for i, m := range got {
				w := p.msgs[i]
				wantTs := int64(-1)
				if magic == 1 {
					wantTs = w.ts
					if p.magic == 0 {
						wantTs = -1 // magic 0 had none to keep
					}
				}
				if m.offset != p.base+int64(i) || !bytes.Equal(m.key, w.key) || !bytes.Equal(m.value, w.value) || m.ts != wantTs {
					t.Errorf("Fetch v%d after %s message %d: got offset %d key %q value %q ts %d; want %d %q %q %d",
						v, p.what, i, m.offset, m.key, m.value, m.ts, p.base+int64(i), w.key, w.value, wantTs)
				}
			}
		}
	}
}

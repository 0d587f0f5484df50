package core

import (
	"bytes"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// legacyTestSet builds a legacy message set of magic from records: one
// message each, or one wrapper with codec (inner offsets 0..n-1, the
// wrapper at the last; for magic 0 LZ4, Kafka 0.9's header checksum).
// fataler is what these helpers need of testing.TB and rapid.T.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func legacyTestSet(t fataler, magic int8, codec int, recs []legacyRecord) []byte {
	var msgs []byte
	maxTs := int64(-1)
	for i, r := range recs {
		msgs = appendLegacyMessage(msgs, magic, int64(i), 0, r.ts, r.key, r.value)
		maxTs = max(maxTs, r.ts)
	}
	if codec == 0 {
		return msgs
	}
	var payload []byte
	var err error
	if codec == 3 {
		payload, err = legacyLZ4(magic, msgs)
	} else {
		payload, err = compress(codec, msgs, codec == 2)
	}
	if err != nil {
		t.Fatal(err)
	}
	return appendLegacyMessage(nil, magic, int64(len(recs)-1), int8(codec), maxTs, nil, payload)
}

// legacyRoundTrip converts a decoded legacy set up to a v2 batch and back
// down to both magics, and checks that keys, values (null stays null) and,
// where both formats carry them, timestamps survive.
func legacyRoundTrip(t fataler, magic int8, s legacySet) {
	batch, err := legacyBatch(s)
	if err != nil {
		t.Fatalf("legacyBatch: %v", err)
	}
	h, err := CheckBatch(batch)
	if err != nil || int(h.RecordCount) != len(s.records) || h.Compression() != s.codec || h.ProducerID != -1 {
		t.Fatalf("converted batch: %+v, %v; want %d records, codec %d, no producer id", h, err, len(s.records), s.codec)
	}
	for _, down := range []int8{0, 1} {
		conv, err := convertBatch(batch, h, 0, down, 1<<24)
		if err != nil {
			t.Fatalf("convertBatch to magic %d: %v", down, err)
		}
		checkDownConverted(t, magic, down, s, conv)
	}
}

// checkDownConverted checks conv, a v2 batch made of s converted down to
// magic down: one message per record if s is uncompressed, else one
// wrapper of s's own codec (snappy in snappy-java's framing, as Kafka
// writes it), with s's keys, values and, magic 1 to magic 1, timestamps.
func checkDownConverted(t fataler, magic, down int8, s legacySet, conv []byte) {
	back, perr := decodeLegacySet(conv, 1<<24)
	if perr != nil {
		t.Fatalf("decoding the magic %d conversion: %s", down, perr.msg)
	}
	if back.magic != down || back.codec != s.codec || back.xerial != (s.codec == 2) {
		t.Fatalf("magic %d conversion: got magic %d, codec %d (xerial %v); want magic %d, the source codec %d (xerial %v)",
			down, back.magic, back.codec, back.xerial, down, s.codec, s.codec == 2)
	}
	if s.codec != 0 {
		if _, rest, perr := nextLegacyMessage(conv); perr != nil || len(rest) != 0 {
			t.Fatalf("magic %d conversion of codec %d: got more than one wrapper message", down, s.codec)
		}
	}
	if len(back.records) != len(s.records) {
		t.Fatalf("magic %d: got %d records back; want %d", down, len(back.records), len(s.records))
	}
	for i, r := range back.records {
		w := s.records[i]
		if !sameBytes(r.key, w.key) || !sameBytes(r.value, w.value) {
			t.Fatalf("magic %d record %d: got key %q value %q; want %q %q", down, i, r.key, r.value, w.key, w.value)
		}
		if down == 1 && magic == 1 && r.ts != w.ts {
			t.Fatalf("magic 1 record %d: got timestamp %d; want %d", i, r.ts, w.ts)
		}
	}
}

// sameBytes compares two byte slices, null apart from empty.
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// TestLegacyRoundTrip: any legacy set of any codec converts up to one v2
// batch and back down with its keys, values and timestamps.
func TestLegacyRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		magic := int8(rapid.IntRange(0, 1).Draw(rt, "magic"))
		codec := rapid.IntRange(0, 3).Draw(rt, "codec")
		n := rapid.IntRange(1, 20).Draw(rt, "records")
		nullable := func(label string) []byte {
			if rapid.IntRange(0, 4).Draw(rt, label+"-null") == 0 {
				return nil
			}
			return rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(rt, label)
		}
		recs := make([]legacyRecord, n)
		for i := range recs {
			recs[i] = legacyRecord{ts: -1, key: nullable(fmt.Sprintf("key%d", i)), value: nullable(fmt.Sprintf("value%d", i))}
			if magic == 1 {
				recs[i].ts = rapid.Int64Range(-1, 1<<42).Draw(rt, fmt.Sprintf("ts%d", i))
			}
		}
		data := legacyTestSet(rt, magic, codec, recs)
		s, perr := decodeLegacySet(data, 1<<24)
		if perr != nil {
			rt.Fatalf("decodeLegacySet: %s", perr.msg)
		}
		if s.magic != magic || s.codec != codec || len(s.records) != n {
			rt.Fatalf("decoded magic %d codec %d, %d records; want %d, %d, %d", s.magic, s.codec, len(s.records), magic, codec, n)
		}
		legacyRoundTrip(rt, magic, s)
	})
}

// FuzzLegacySet feeds arbitrary bytes to what Produce v0-2 and Fetch
// v0-3 run: convertLegacy must refuse them with an error code or accept
// them, never panic, and what it accepts must be one valid v2 batch of
// the set's records and codec that downConvert turns back into them, in
// both legacy formats.
func FuzzLegacySet(f *testing.F) {
	recs := []legacyRecord{{ts: 5, key: []byte("k"), value: []byte("v")}, {ts: 9, value: nil}, {ts: -1, key: []byte{}, value: []byte("x")}}
	for _, magic := range []int8{0, 1} {
		for codec := 0; codec <= 3; codec++ {
			f.Add(legacyTestSet(f, magic, codec, recs))
		}
	}
	cfg, err := ParseProperties(map[string]string{})
	if err != nil {
		f.Fatal(err)
	}
	b := &Broker{step: newStep(cfg)}
	p := &partition{topic: &topic{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		batch, perr := b.convertLegacy(p, data)
		if perr != nil {
			if perr.code == errNone {
				t.Fatalf("refused with no error code: %s", perr.msg)
			}
			return
		}
		s, perr := decodeLegacySet(data, 1<<24)
		if perr != nil {
			t.Fatalf("convertLegacy took a set the decoder refuses: %s", perr.msg)
		}
		h, err := CheckBatch(batch)
		if err != nil || int(h.RecordCount) != len(s.records) || h.Compression() != s.codec || h.ProducerID != -1 {
			t.Fatalf("converted batch: %+v, %v; want %d records, codec %d, no producer id", h, err, len(s.records), s.codec)
		}
		for _, down := range []int8{0, 1} {
			conv, code := b.downConvert(p, batch, 0, down, 1<<24, true, false)
			if code != errNone {
				t.Fatalf("downConvert to magic %d: error %d", down, code)
			}
			checkDownConverted(t, s.magic, down, s, conv)
		}
	})
}

// TestLegacyConversionAllocations: converting a legacy set up, and a
// batch down, allocates per set and as the codec does for the bytes, not
// per record: 2,000 messages of 1 KiB take no more allocations than 20 of
// 100 KiB, give or take the doubling growth of a few buffers.
func TestLegacyConversionAllocations(t *testing.T) {
	for _, codec := range []int{0, 1, 2, 3} {
		allocs := func(n int) (up, down float64) {
			recs := make([]legacyRecord, n)
			for i := range recs {
				recs[i] = legacyRecord{ts: int64(i), key: []byte(fmt.Sprintf("key-%d", i)), value: bytes.Repeat([]byte{'v'}, 2000*1024/n)}
			}
			data := legacyTestSet(t, 1, codec, recs)
			// The codec's own allocations for these bytes: compressing and
			// decompressing the inner set once.
			var inner []byte
			for i, r := range recs {
				inner = appendLegacyMessage(inner, 1, int64(i), 0, r.ts, r.key, r.value)
			}
			codecOnly := testing.AllocsPerRun(5, func() {
				if codec == 0 {
					return
				}
				c, err := compress(codec, inner, codec == 2)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := decompress(codec, c, 1<<28); err != nil {
					t.Fatal(err)
				}
			})
			var batch []byte
			up = testing.AllocsPerRun(5, func() {
				s, perr := decodeLegacySet(data, 1<<28)
				if perr != nil {
					t.Fatal(perr.msg)
				}
				var err error
				if batch, err = legacyBatch(s); err != nil {
					t.Fatal(err)
				}
			})
			h, err := CheckBatch(batch)
			if err != nil {
				t.Fatal(err)
			}
			down = testing.AllocsPerRun(5, func() {
				if _, err := convertBatch(batch, h, 0, 1, 1<<28); err != nil {
					t.Fatal(err)
				}
			})
			return up - codecOnly, down - codecOnly
		}
		up20, down20 := allocs(20)
		up2k, down2k := allocs(2000)
		t.Logf("codec %d: beyond the codec's, up %.0f → %.0f allocations, down %.0f → %.0f, for 20 → 2,000 records", codec, up20, up2k, down20, down2k)
		if up2k > up20+40 || down2k > down20+40 {
			t.Errorf("codec %d: 20 → 2,000 records took up %.0f → %.0f and down %.0f → %.0f allocations; want no more than 40 more (buffer growth), not one per record",
				codec, up20, up2k, down20, down2k)
		}
	}
}

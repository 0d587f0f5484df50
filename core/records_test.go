package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Codec names for the tests; "xerial" is snappy (2) in the Java client's
// framing.
var testCodecs = []struct {
	name  string
	codec int
}{{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"xerial", 2}, {"lz4", 3}, {"zstd", 4}}

// compressFor compresses raw as the named codec's producer would.
func compressFor(t testing.TB, name string, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch name {
	case "none":
		return raw
	case "gzip":
		w := gzip.NewWriter(&buf)
		mustWrite(t, w.Write, w.Close, raw)
	case "snappy":
		return snappy.Encode(nil, raw)
	case "xerial":
		return xerial.Encode(nil, raw)
	case "lz4":
		w := lz4.NewWriter(&buf)
		mustWrite(t, w.Write, w.Close, raw)
	case "zstd":
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		return w.EncodeAll(raw, nil)
	default:
		t.Fatalf("unknown codec %q", name)
	}
	return buf.Bytes()
}

func mustWrite(t testing.TB, write func([]byte) (int, error), closeFn func() error, p []byte) {
	t.Helper()
	if _, err := write(p); err != nil {
		t.Fatal(err)
	}
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
}

// testRecord is one record of a test batch.
type testRecord struct {
	offsetDelta int32
	tsDelta     int64
}

// encodeRecords encodes records with kmsg.Record.AppendTo, each with a
// key, a value of valueBytes bytes and one header.
func encodeRecords(recs []testRecord, valueBytes int) []byte {
	var out []byte
	for i, tr := range recs {
		r := kmsg.Record{
			TimestampDelta64: tr.tsDelta,
			OffsetDelta:      tr.offsetDelta,
			Key:              []byte(fmt.Sprintf("k%d", i)),
			Value:            bytes.Repeat([]byte{'v'}, valueBytes),
			Headers:          []kmsg.Header{{Key: "h", Value: []byte("x")}},
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a zero Length encodes as one byte
		out = r.AppendTo(out)
	}
	return out
}

// buildBatch wraps an already compressed records section in a magic-2
// batch header with a valid length and CRC.
func buildBatch(base int64, codec int, attrs int16, firstTS, maxTS int64, lastDelta, count int32, records []byte) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset:          base,
		PartitionLeaderEpoch: 7,
		Magic:                2,
		Attributes:           int16(codec) | attrs,
		LastOffsetDelta:      lastDelta,
		FirstTimestamp:       firstTS,
		MaxTimestamp:         maxTS,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           count,
		Records:              records,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-batchLengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], crc32.Checksum(raw[offAttributes:], crcTable))
	return raw
}

// simpleBatch is a batch of n records at firstTS, firstTS+step, ...
func simpleBatch(t testing.TB, codecName string, codec int, base, firstTS, step int64, n int) []byte {
	recs := make([]testRecord, n)
	for i := range recs {
		recs[i] = testRecord{int32(i), step * int64(i)}
	}
	body := compressFor(t, codecName, encodeRecords(recs, 100))
	return buildBatch(base, codec, 0, firstTS, firstTS+step*int64(n-1), int32(n-1), int32(n), body)
}

func mustCheck(t testing.TB, batch []byte) BatchHeader {
	t.Helper()
	h, err := CheckBatch(batch)
	if err != nil {
		t.Fatalf("CheckBatch: %v", err)
	}
	return h
}

// TestRecordIterCodecs: every codec yields the exact offsets and
// timestamps of the records it was built from.
func TestRecordIterCodecs(t *testing.T) {
	recs := []testRecord{{0, 0}, {1, 10}, {2, 20}, {3, -5}, {4, 1 << 40}}
	for _, c := range testCodecs {
		t.Run(c.name, func(t *testing.T) {
			body := compressFor(t, c.name, encodeRecords(recs, 3000))
			batch := buildBatch(100, c.codec, 0, 1000, 1000+1<<40, 4, 5, body)
			h := mustCheck(t, batch)
			it, err := newRecordIter(batch, h, 1<<20)
			if err != nil {
				t.Fatalf("newRecordIter: %v", err)
			}
			var r kmsg.Record
			i := 0
			for ; it.next(&r); i++ {
				if i >= len(recs) {
					t.Fatalf("record %d: got more records than the %d built", i, len(recs))
				}
				if off, want := h.BaseOffset+Offset(r.OffsetDelta), Offset(100+recs[i].offsetDelta); off != want {
					t.Errorf("record %d offset: got %d; want %d", i, off, want)
				}
				if ts, want := it.timestamp(&r), 1000+recs[i].tsDelta; ts != want {
					t.Errorf("record %d timestamp: got %d; want %d", i, ts, want)
				}
				if want := fmt.Sprintf("k%d", i); string(r.Key) != want || len(r.Value) != 3000 {
					t.Errorf("record %d: got key %q, %d value bytes; want %q, 3000", i, r.Key, len(r.Value), want)
				}
			}
			if it.err != nil || i != len(recs) {
				t.Errorf("iteration: got %d records, err %v; want %d, nil", i, it.err, len(recs))
			}
		})
	}
}

// TestFindRecordTime: the first record at or after the target, as Kafka
// answers ListOffsets, for every codec and for LogAppendTime batches.
func TestFindRecordTime(t *testing.T) {
	for _, c := range testCodecs {
		batch := simpleBatch(t, c.name, c.codec, 10, 1000, 10, 3) // 1000, 1010, 1020 at 10, 11, 12
		h := mustCheck(t, batch)
		lat := append([]byte(nil), batch...)
		SetLogAppendTime(lat, 5000)
		hLat := mustCheck(t, lat)
		for _, q := range []struct {
			batch     []byte
			h         BatchHeader
			ts        int64
			minOffset Offset
			off       Offset
			recordTs  int64
			found     bool
		}{
			{batch, h, 0, 0, 10, 1000, true},
			{batch, h, 1000, 0, 10, 1000, true},
			{batch, h, 1001, 0, 11, 1010, true},
			{batch, h, 1015, 0, 12, 1020, true},
			{batch, h, 1020, 0, 12, 1020, true},
			{batch, h, 1021, 0, 0, 0, false},
			{batch, h, 0, 11, 11, 1010, true}, // below the log start offset
			{lat, hLat, 1015, 0, 10, 5000, true},
			{lat, hLat, 5000, 0, 10, 5000, true},
			{lat, hLat, 5001, 0, 0, 0, false},
		} {
			off, ts, found, err := findRecordTime(q.batch, q.h, q.ts, q.minOffset, 1<<20)
			if err != nil || off != q.off || ts != q.recordTs || found != q.found {
				t.Errorf("%s LogAppendTime=%v findRecordTime(%d, min %d): got %d, %d, %v, %v; want %d, %d, %v, nil",
					c.name, q.h.Attributes&AttrTimestampLogAppend != 0, q.ts, q.minOffset, off, ts, found, err, q.off, q.recordTs, q.found)
			}
		}
	}
}

// TestDecompressLimit: a batch that decompresses to more than the limit
// fails with ErrRecordsTooLarge before allocating it (zip bomb), and
// exactly the limit succeeds.
func TestDecompressLimit(t *testing.T) {
	const limit = 64 << 10
	for _, c := range testCodecs {
		if c.codec == 0 {
			continue
		}
		exact := compressFor(t, c.name, make([]byte, limit))
		if out, err := decompress(c.codec, exact, limit); err != nil || len(out) != limit {
			t.Errorf("%s: decompress of exactly the limit: got %d bytes, %v; want %d, nil", c.name, len(out), err, limit)
		}
		bomb := compressFor(t, c.name, make([]byte, 16<<20))
		if out, err := decompress(c.codec, bomb, limit); !errors.Is(err, ErrRecordsTooLarge) {
			t.Errorf("%s: decompress of %d bytes (16 MiB inflated): got %d bytes, %v; want ErrRecordsTooLarge", c.name, len(bomb), len(out), err)
		}
	}
	if got := recordsBytesMax(1048588, 100); got != 64*1048588 {
		t.Errorf("recordsBytesMax(default, 100): got %d; want %d", got, 64*1048588)
	}
	if got := recordsBytesMax(0, 100); got != recordsBytesFloor {
		t.Errorf("recordsBytesMax(0, 100): got %d; want the floor %d", got, recordsBytesFloor)
	}
	if got := recordsBytesMax(1000, 1<<20); got != 64<<20 {
		t.Errorf("recordsBytesMax(1000, 1 MiB batch): got %d; want %d", got, 64<<20)
	}
}

// TestBatchBytesMaxIsBoundByRequestSize: message.max.bytes above
// socket.request.max.bytes is accepted, as in Kafka, and the largest batch
// that can be stored is the request limit.
func TestBatchBytesMaxIsBoundByRequestSize(t *testing.T) {
	cfg, err := ParseProperties(map[string]string{"message.max.bytes": "200000000"})
	if err != nil {
		t.Fatalf("message.max.bytes=200000000 with the default socket.request.max.bytes: got %v; want accepted", err)
	}
	tp := &topic{name: "t", configs: map[string]string{}}
	if got, want := cfg.batchBytesMax(tp), int64(104857600); got != want {
		t.Errorf("batchBytesMax: got %d; want socket.request.max.bytes %d", got, want)
	}
	tp.setConfigs(map[string]string{"max.message.bytes": "1000"})
	if got := cfg.batchBytesMax(tp); got != 1000 {
		t.Errorf("batchBytesMax with max.message.bytes=1000: got %d; want 1000", got)
	}
}

// TestRecordsMalformed: records that contradict their header are errors.
func TestRecordsMalformed(t *testing.T) {
	three := []testRecord{{0, 0}, {1, 10}, {2, 20}}
	for _, q := range []struct {
		name      string
		recs      []testRecord
		lastDelta int32
		count     int32
		extra     []byte
	}{
		{"fewer records than RecordCount", three, 3, 4, nil},
		{"bytes after the last record", three, 2, 3, []byte{0}},
		{"offset delta past LastOffsetDelta", []testRecord{{0, 0}, {2, 10}}, 1, 2, nil},
		{"offset deltas not increasing", []testRecord{{0, 0}, {0, 10}}, 1, 2, nil},
		{"negative offset delta", []testRecord{{-1, 0}}, 0, 1, nil},
	} {
		batch := buildBatch(0, 0, 0, 1000, 1020, q.lastDelta, q.count, append(encodeRecords(q.recs, 1), q.extra...))
		h, err := CheckBatch(batch)
		if err != nil {
			// The header itself rejects inconsistent counts; decode anyway.
			h, _ = ParseBatchHeader(batch)
		}
		_, _, found, err := findRecordTime(batch, h, 5000, 0, 1<<20)
		if !errors.Is(err, ErrRecordsMalformed) || found {
			t.Errorf("%s: got found %v, err %v; want ErrRecordsMalformed", q.name, found, err)
		}
	}
	if _, err := decompress(2, append(append([]byte{}, xerialMagic...), 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1), 1<<20); err == nil {
		t.Errorf("xerial block longer than its data: got nil; want an error")
	}
	if _, err := decompress(5, []byte{1}, 1<<20); !errors.Is(err, ErrBatchCodec) {
		t.Errorf("codec 5: got %v; want ErrBatchCodec", err)
	}
}

// TestRecordsNeverPanic: random bytes, and valid batches with random
// bytes flipped, decode to records or an error, never a panic, and never
// yield an offset outside the batch.
func TestRecordsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var valid [][]byte
	for _, c := range testCodecs {
		valid = append(valid, simpleBatch(t, c.name, c.codec, 50, 1000, 10, 5))
	}
	for i := 0; i < 5000; i++ {
		var batch []byte
		if i%2 == 0 {
			batch = append([]byte(nil), valid[rng.IntN(len(valid))]...)
			for n := 1 + rng.IntN(4); n > 0; n-- {
				j := BatchHeaderSize + rng.IntN(len(batch)-BatchHeaderSize)
				batch[j] ^= byte(1 + rng.IntN(255))
			}
		} else {
			body := make([]byte, rng.IntN(300))
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
			if rng.IntN(4) == 0 {
				body = append(append([]byte{}, xerialMagic...), body...)
			}
			batch = buildBatch(50, rng.IntN(5), 0, 1000, 1040, 4, 5, body)
		}
		h, _ := ParseBatchHeader(batch)
		off, _, found, _ := findRecordTime(batch, h, int64(rng.IntN(1100)), 0, 1<<20)
		if found && (off < 50 || off > 54) {
			t.Fatalf("input %d: got offset %d; want one inside the batch, [50, 54]", i, off)
		}
	}
}

// FuzzFindRecordTime: arbitrary codec and records bytes never panic. Its
// seeds (every codec's valid batch) run with go test.
func FuzzFindRecordTime(f *testing.F) {
	for _, c := range testCodecs {
		f.Add(uint8(c.codec), simpleBatch(f, c.name, c.codec, 0, 1000, 10, 3)[BatchHeaderSize:], int64(1015))
	}
	f.Fuzz(func(t *testing.T, codec uint8, body []byte, ts int64) {
		batch := buildBatch(0, int(codec%8), 0, 1000, 1020, 2, 3, body)
		h, _ := ParseBatchHeader(batch)
		off, _, found, _ := findRecordTime(batch, h, ts, 0, 1<<20)
		if found && (off < 0 || off > 2) {
			t.Fatalf("got offset %d; want one inside the batch, [0, 2]", off)
		}
	})
}

// timeLookupRig drives one ListOffsets-by-timestamp through Broker.Step,
// answering its storage effects by hand, so that the rare paths (corrupt
// batch, failed read, retention overtaking the lookup) are reachable.
type timeLookupRig struct {
	t   *testing.T
	b   *Broker
	p   *partition
	out []Effect
}

func newTimeLookupRig(t *testing.T, hwm Offset) *timeLookupRig {
	cfg, err := ParseProperties(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, Recovered{})
	if err != nil {
		t.Fatal(err)
	}
	b.ready = true
	tp := &topic{name: "t", configs: map[string]string{}}
	tp.parts = []*partition{newPartition(tp, 0)}
	b.topics["t"] = tp
	p := tp.parts[0]
	p.host()
	p.leading = true
	p.epoch, p.leo, p.written, p.hwm = 3, hwm, hwm, hwm
	return &timeLookupRig{t: t, b: b, p: p}
}

// ask sends ListOffsets v6 for timestamp ts; the FindTime is the only
// effect.
func (r *timeLookupRig) ask(ts int64) FindTime {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(6)
	req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: ts, CurrentLeaderEpoch: -1}}}}
	return only[FindTime](r, Request{Header: RequestHeader{Key: 2, Version: 6}, Body: req})
}

// only steps ev and returns its single effect, which must be an E.
func only[E Effect](r *timeLookupRig, ev Event) E {
	r.t.Helper()
	r.out = r.b.Step(r.out[:0], ev)
	if len(r.out) != 1 {
		r.t.Fatalf("after %T: got effects %+v; want one %T", ev, r.out, *new(E))
	}
	e, ok := r.out[0].(E)
	if !ok {
		r.t.Fatalf("after %T: got %T; want %T", ev, r.out[0], *new(E))
	}
	return e
}

// answer unwraps the one-partition response.
func (r *timeLookupRig) answer(resp Respond) kmsg.ListOffsetsResponseTopicPartition {
	r.t.Helper()
	lo := resp.Body.(*kmsg.ListOffsetsResponse)
	if len(lo.Topics) != 1 || len(lo.Topics[0].Partitions) != 1 {
		r.t.Fatalf("ListOffsets response: got %+v; want one partition", lo.Topics)
	}
	return lo.Topics[0].Partitions[0]
}

type readFailed struct{}

func (readFailed) Error() string { return "injected read error" }

// TestListOffsetsTimePaths: the handler's continuation through batches and
// its error answers.
func TestListOffsetsTimePaths(t *testing.T) {
	b0 := simpleBatch(t, "zstd", 4, 0, 1000, 10, 3) // 1000, 1010, 1020 at 0..2
	lying := append([]byte(nil), b0...)             // MaxTimestamp 5000 above its records
	binary.BigEndian.PutUint64(lying[offMaxTimestamp:], 5000)
	binary.BigEndian.PutUint32(lying[offCRC:], crc32.Checksum(lying[offAttributes:], crcTable))
	low := simpleBatch(t, "none", 0, 3, 1100, 10, 2)   // 1100, 1110 at 3..4: MaxTimestamp below 1500
	later := simpleBatch(t, "gzip", 1, 5, 6000, 10, 2) // 6000, 6010 at 5..6
	corrupt := append([]byte(nil), b0...)
	corrupt[len(corrupt)-1] ^= 1

	t.Run("record inside the batch", func(t *testing.T) {
		r := newTimeLookupRig(t, 7)
		ft := r.ask(1015)
		if ft.Timestamp != 1015 || ft.Below != 7 {
			t.Errorf("FindTime: got %+v; want timestamp 1015 below 7", ft)
		}
		rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 0, Timestamp: 1020, Found: true})
		if rd.Offset != 0 || rd.Below != 7 || rd.MaxBytes != timeLookupReadBytes || !rd.MinOne {
			t.Errorf("Read: got %+v; want offset 0 below 7, at least one whole batch, about %d bytes", rd, timeLookupReadBytes)
		}
		got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: b0}))
		if got.ErrorCode != 0 || got.Offset != 2 || got.Timestamp != 1020 || got.LeaderEpoch != 7 {
			t.Errorf("answer: got code %d, offset %d, timestamp %d, epoch %d; want 0, 2, 1020, 7 (the batch's epoch)", got.ErrorCode, got.Offset, got.Timestamp, got.LeaderEpoch)
		}
	})
	t.Run("scan past a batch whose MaxTimestamp is above its records", func(t *testing.T) {
		r := newTimeLookupRig(t, 7)
		ft := r.ask(1500)
		rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 0, Timestamp: 5000, Found: true})
		rd = only[Read](r, ReadDone{Token: rd.Token, Data: lying})
		if rd.Offset != 3 {
			t.Fatalf("second Read: got offset %d; want 3, after the batch with no qualifying record", rd.Offset)
		}
		rd = only[Read](r, ReadDone{Token: rd.Token, Data: low})
		if rd.Offset != 5 {
			t.Fatalf("third Read: got offset %d; want 5, past the batch whose MaxTimestamp is below the target", rd.Offset)
		}
		got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: later}))
		if got.ErrorCode != 0 || got.Offset != 5 || got.Timestamp != 6000 {
			t.Errorf("answer: got code %d, offset %d, timestamp %d; want 0, 5, 6000", got.ErrorCode, got.Offset, got.Timestamp)
		}
	})
	t.Run("one read walks many batches", func(t *testing.T) {
		// A cleaned log holds long runs of batches whose records no
		// longer reach their header's MaxTimestamp: one read covers many.
		r := newTimeLookupRig(t, 7)
		ft := r.ask(1500)
		rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 0, Timestamp: 5000, Found: true})
		run := append(append(append([]byte(nil), lying...), low...), later...)
		got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: run}))
		if got.ErrorCode != 0 || got.Offset != 5 || got.Timestamp != 6000 {
			t.Errorf("answer from one read of three batches: got code %d, offset %d, timestamp %d; want 0, 5, 6000", got.ErrorCode, got.Offset, got.Timestamp)
		}
	})
	t.Run("scan reaches the high watermark", func(t *testing.T) {
		r := newTimeLookupRig(t, 3)
		ft := r.ask(1500)
		rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 0, Timestamp: 5000, Found: true})
		got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: lying}))
		if got.ErrorCode != 0 || got.Offset != -1 || got.Timestamp != -1 {
			t.Errorf("answer: got code %d, offset %d, timestamp %d; want 0, -1, -1", got.ErrorCode, got.Offset, got.Timestamp)
		}
	})
	for _, q := range []struct {
		name string
		data []byte
		err  error
	}{
		{"corrupt batch", corrupt, nil},
		{"undecodable records", buildBatch(0, 2, 0, 1000, 1020, 2, 3, []byte{0xff, 0xff}), nil},
		{"failed read", nil, readFailed{}},
		{"batch before the offset asked for", simpleBatch(t, "none", 0, 0, 0, 0, 1), nil},
	} {
		t.Run(q.name, func(t *testing.T) {
			r := newTimeLookupRig(t, 7)
			ft := r.ask(10)
			rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 1, Timestamp: 1020, Found: true})
			got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: q.data, Err: q.err}))
			if got.ErrorCode != errStorage || got.Offset != -1 || got.Timestamp != -1 {
				t.Errorf("answer: got code %d, offset %d, timestamp %d; want KAFKA_STORAGE_ERROR (%d), -1, -1", got.ErrorCode, got.Offset, got.Timestamp, errStorage)
			}
		})
	}
	t.Run("retention overtakes the lookup", func(t *testing.T) {
		r := newTimeLookupRig(t, 7)
		ft := r.ask(1000)
		rd := only[Read](r, TimeFound{Token: ft.Token, Offset: 0, Timestamp: 1020, Found: true})
		r.p.logStart = 5 // a Retained completion arrived before the Read ran
		ft = only[FindTime](r, ReadDone{Token: rd.Token, Err: readFailed{}})
		rd = only[Read](r, TimeFound{Token: ft.Token, Offset: 5, Timestamp: 6010, Found: true})
		got := r.answer(only[Respond](r, ReadDone{Token: rd.Token, Data: later}))
		if got.ErrorCode != 0 || got.Offset != 5 || got.Timestamp != 6000 {
			t.Errorf("answer: got code %d, offset %d, timestamp %d; want 0, 5, 6000", got.ErrorCode, got.Offset, got.Timestamp)
		}
	})
}

// TestBatchRecordsKeepsEachRecordsHeaders: decoding every record of a
// batch gives each its own headers (kmsg reuses a record's headers slice
// when one Record is decoded into twice).
func TestBatchRecordsKeepsEachRecordsHeaders(t *testing.T) {
	h := BatchHeader{BaseOffset: 5, Magic: 2, LastOffsetDelta: 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	recs := []kmsg.Record{
		{OffsetDelta: 0, Key: []byte("a"), Headers: []kmsg.Header{{Key: "id", Value: []byte("first")}}},
		{OffsetDelta: 1, Key: []byte("b"), Headers: []kmsg.Header{{Key: "id", Value: []byte("second")}}},
	}
	b, err := RebuildBatch(h, recs, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	if h, err = CheckBatch(b); err != nil {
		t.Fatal(err)
	}
	got, err := BatchRecords(b, h, 1<<20)
	if err != nil || len(got) != 2 || string(got[0].Headers[0].Value) != "first" || string(got[1].Headers[0].Value) != "second" {
		t.Fatalf("got %v, %v; want each record's own header", got, err)
	}
}

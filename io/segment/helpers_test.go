package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// spec describes a test batch. Zero values give a plain batch of one
// record with no producer.
type spec struct {
	base       core.Offset
	records    int // >= 1
	maxTs      int64
	epoch      core.LeaderEpoch
	pid        core.ProducerID // 0 means no producer (-1 on the wire)
	pepoch     int16
	seq        int32
	valueBytes int
	control    bool
}

// makeBatch builds a valid v2 record batch with kmsg and fixes its CRC.
func makeBatch(s spec) []byte {
	if s.records < 1 {
		s.records = 1
	}
	var recs []byte
	for i := range s.records {
		r := kmsg.Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte{byte(i)}, s.valueBytes)}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // the zero Length took one varint byte
		recs = r.AppendTo(recs)
	}
	pid, seq := int64(-1), int32(-1)
	if s.pid != 0 {
		pid, seq = int64(s.pid), s.seq
	}
	var attrs int16
	if s.control {
		attrs |= core.AttrControl
	}
	b := kmsg.RecordBatch{
		FirstOffset:          int64(s.base),
		Length:               int32(core.BatchHeaderSize - 12 + len(recs)),
		PartitionLeaderEpoch: int32(s.epoch),
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.maxTs,
		MaxTimestamp:         s.maxTs,
		ProducerID:           pid,
		ProducerEpoch:        s.pepoch,
		FirstSequence:        seq,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := core.CheckBatch(out); err != nil {
		panic(fmt.Sprintf("test batch invalid: %v", err))
	}
	return out
}

// testCfg is a small configuration: 1 KiB segments, an index entry every
// 100 bytes, nothing retained by age or size, no age rolling.
func testCfg() core.LogConfig {
	return core.LogConfig{SegmentBytes: 1024, SegmentMs: 0, RetentionMs: -1, RetentionBytes: -1,
		IndexIntervalBytes: 100, SegmentIndexBytes: 10 << 20}
}

const testDir = "/data/topic-7"

func openLog(t tb, fsys *memfs.FS, cfg core.LogConfig) *Log {
	t.Helper()
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// appendN appends n single-batch appends of records records each with
// timestamps ts0, ts0+1, ... and returns the batches.
func appendN(t tb, l *Log, cfg core.LogConfig, n, records int, ts0 int64) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, records: records, maxTs: ts0 + int64(i), valueBytes: 20})
		if err := l.Append(b, base, base+core.Offset(records-1), ts0+int64(i), ts0+int64(i), cfg); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, b)
	}
	return out
}

// readAll reads everything from offset to the end, one call.
func readAll(t tb, l *Log, from core.Offset) []byte {
	t.Helper()
	b, err := l.Read(from, l.LogEndOffset(), 1<<30, true)
	if err != nil {
		t.Fatalf("Read(%d): %v", from, err)
	}
	return b
}

// headers splits concatenated batches into their headers.
func headers(t tb, b []byte) []core.BatchHeader {
	t.Helper()
	var hs []core.BatchHeader
	if err := core.SplitBatches(b, func(batch []byte, h core.BatchHeader) error {
		_, err := core.CheckBatch(batch)
		hs = append(hs, h)
		return err
	}); err != nil {
		t.Fatalf("returned bytes are not whole valid batches: %v", err)
	}
	return hs
}

func concat(bs [][]byte) []byte { return bytes.Join(bs, nil) }

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

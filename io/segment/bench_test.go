// The benchmarks live in the external test package so that they can use
// realio.OSFS, which imports this package.
package segment_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"path"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
	"cloudkafka/io/segment"
	"cloudkafka/realio"
)

// benchBatch builds a valid batch of one record with a value of
// valueBytes at offset base.
func benchBatch(base core.Offset, valueBytes int) []byte {
	r := kmsg.Record{Value: bytes.Repeat([]byte{'v'}, valueBytes)}
	body := r.AppendTo(nil)
	r.Length = int32(len(body) - 1) // the zero Length took one varint byte
	recs := r.AppendTo(nil)
	b := kmsg.RecordBatch{
		FirstOffset: int64(base), Length: int32(core.BatchHeaderSize - 12 + len(recs)),
		Magic: 2, ProducerID: -1, FirstSequence: -1, NumRecords: 1, Records: recs,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// benchLog opens a log in dir of fsys holding batches single-record
// batches of about 1 KiB each, in one segment, indexed every 4 KiB as
// Kafka's default index.interval.bytes.
func benchLog(b *testing.B, fsys kio.FS, dir string, batches int) *segment.Log {
	b.Helper()
	cfg := core.LogConfig{SegmentBytes: 1 << 30, SegmentMs: -1, RetentionMs: -1, RetentionBytes: -1,
		IndexIntervalBytes: 4096, SegmentIndexBytes: 10 << 20}
	l, err := segment.Open(fsys, dir, cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range batches {
		o := core.Offset(i)
		if err := l.Append(benchBatch(o, 1000), o, o, 0, 0, cfg); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkRead fetches sequentially through a log of 1,000 batches of
// about 1 KiB, as a consumer does, with fetches of 64 KiB and of one batch
// (maxBytes 1 with minOne), over the in-memory FS and the OS's.
func BenchmarkRead(b *testing.B) {
	const batches = 1000
	fss := []struct {
		name string
		open func(b *testing.B) (kio.FS, string)
	}{
		{"memfs", func(*testing.B) (kio.FS, string) { return memfs.New(), "/d/t-0" }},
		{"osfs", func(b *testing.B) (kio.FS, string) { return realio.OSFS{}, path.Join(b.TempDir(), "t-0") }},
	}
	fetches := []struct {
		name     string
		maxBytes int32
	}{{"64KiB", 64 << 10}, {"batch", 1}}
	for _, fs := range fss {
		for _, f := range fetches {
			b.Run(fs.name+"/"+f.name, func(b *testing.B) {
				fsys, dir := fs.open(b)
				l := benchLog(b, fsys, dir, batches)
				defer l.Close()
				end := l.LogEndOffset()
				b.ReportAllocs()
				b.ResetTimer()
				var o core.Offset
				var n int64
				for b.Loop() {
					data, err := l.Read(o, end, f.maxBytes, true)
					if err != nil || len(data) == 0 {
						b.Fatalf("Read(%d): %d bytes, %v", o, len(data), err)
					}
					n += int64(len(data))
					if o = lastOffset(data) + 1; o >= end {
						o = 0
					}
				}
				b.SetBytes(n / int64(max(b.N, 1)))
			})
		}
	}
}

// lastOffset is the last offset of the last batch in data.
func lastOffset(data []byte) core.Offset {
	var last core.Offset
	core.SplitBatches(data, func(_ []byte, h core.BatchHeader) error {
		last = h.LastOffset()
		return nil
	})
	return last
}

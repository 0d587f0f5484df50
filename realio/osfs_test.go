package realio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/io/segment"
)

func TestOSFSRoundTrip(t *testing.T) {
	var o OSFS
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := o.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "f")
	if _, err := o.OpenFile(name, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want ErrNotExist", err)
	}
	f, err := o.OpenFile(name, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello world"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := o.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Size(); err != nil || n != 5 {
		t.Fatalf("got size %d, %v; want 5", n, err)
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 5 || err != io.EOF {
		t.Fatalf("got %d, %v; want 5, io.EOF", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Rename(name, filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	names, err := o.ReadDir(dir)
	if err != nil || !slices.Equal(names, []string{"g"}) {
		t.Fatalf("got %v, %v; want [g]", names, err)
	}
	if !o.Exists(filepath.Join(dir, "g")) || o.Exists(name) {
		t.Fatal("Exists disagrees with the rename")
	}
	if err := o.Remove(filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	if err := o.RemoveAll(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	if o.Exists(dir) {
		t.Fatal("RemoveAll left the directory")
	}
}

// testBatch builds a valid v2 record batch of n records at base.
func testBatch(base core.Offset, n int, ts int64) []byte {
	var recs []byte
	for i := range n {
		r := kmsg.Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte{'v'}, 40)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	b := (&kmsg.RecordBatch{
		FirstOffset: int64(base), Length: int32(core.BatchHeaderSize - 12 + len(recs)), Magic: 2,
		LastOffsetDelta: int32(n - 1), FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: -1, FirstSequence: -1, NumRecords: int32(n), Records: recs,
	}).AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestSegmentLogOverOSFS runs the partition log on a real directory:
// appends across rolls, reopen, lookups, a torn tail, retention, delete.
func TestSegmentLogOverOSFS(t *testing.T) {
	var o OSFS
	dir := filepath.Join(t.TempDir(), "orders-3")
	cfg := core.LogConfig{SegmentBytes: 2048, RetentionMs: -1, RetentionBytes: -1,
		IndexIntervalBytes: 256, SegmentIndexBytes: 1 << 20}
	l, err := segment.Open(o, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for i := range 60 {
		base := l.LogEndOffset()
		b := testBatch(base, 2, int64(1000+i))
		if err := l.Append(b, base, base+1, int64(1000+i), 0, cfg); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := o.ReadDir(dir)
	var active string
	for _, n := range names {
		if filepath.Ext(n) == ".log" {
			active = n
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, active), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(testBatch(120, 2, 5)[:70]); err != nil { // a torn batch
		t.Fatal(err)
	}
	f.Close()

	l, err = segment.Open(o, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Recovered(); got.LogEndOffset != 120 || got.Partition.Topic != "orders" || got.Partition.Partition != 3 {
		t.Fatalf("got %+v; want LEO 120 of orders-3", got)
	}
	got, err := l.Read(0, 120, 1<<20, true)
	if err != nil || !bytes.Equal(got, all) {
		t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(all))
	}
	if off, ts, ok, err := l.FindTime(1030, 0, 120); err != nil || !ok || off != 60 || ts != 1030 {
		t.Fatalf("FindTime: got %d %d %v %v; want 60 1030 true", off, ts, ok, err)
	}
	cfg.RetentionBytes = 3000
	start, err := l.Retain(0, l.LogEndOffset(), cfg)
	if err != nil || start == 0 {
		t.Fatalf("Retain: got %d, %v; want a new start", start, err)
	}
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if o.Exists(dir) {
		t.Fatal("Delete left the directory")
	}
}

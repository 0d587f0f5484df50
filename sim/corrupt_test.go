package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	"cloudkafka/io/memfs"
	"cloudkafka/io/segment"
)

// testLog is a partition log written by io/segment into a fresh memfs:
// batches of two records each (all the same size), the first of them
// synced, the rest written after the last sync.
type testLog struct {
	fs    *memfs.FS
	dir   string
	bases []core.Offset // of each batch; the last entry is the log end
	batch int64         // bytes of every batch
}

const testLogDir = "/data/t-0"

func testLogConfig(segmentBytes int64) core.LogConfig {
	return core.LogConfig{SegmentBytes: segmentBytes, RetentionMs: -1, RetentionBytes: -1, IndexIntervalBytes: 4096, SegmentIndexBytes: 1 << 20}
}

func newTestLog(t *testing.T, synced, unsynced int, segmentBytes int64) *testLog {
	t.Helper()
	tl := &testLog{fs: memfs.New(), dir: testLogDir}
	cfg := testLogConfig(segmentBytes)
	l, err := segment.Open(tl.fs, tl.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range synced + unsynced {
		b, base := testBatch(i), core.Offset(2*i)
		if err := l.Append(b, base, base+1, 1000, 1000, cfg); err != nil {
			t.Fatal(err)
		}
		tl.bases, tl.batch = append(tl.bases, base), int64(len(b))
		if i == synced-1 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	tl.bases = append(tl.bases, core.Offset(2*(synced+unsynced)))
	return tl
}

// testBatch is the i-th batch of a testLog: two records, base offset 2i,
// leader epoch 0.
func testBatch(i int) []byte {
	b := encodeBatch(batchSpec{values: []string{fmt.Sprintf("a%02d", i), fmt.Sprintf("b%02d", i)},
		producerID: -1, producerEpoch: -1, baseSequence: -1, timestampMs: 1000 + int64(i)})
	core.SetBaseOffset(b, core.Offset(2*i), 0)
	return b
}

func (tl *testLog) segment(base core.Offset) string {
	return fmt.Sprintf("%s/%020d.log", tl.dir, base)
}

func (tl *testLog) image(t *testing.T, name string) []byte {
	t.Helper()
	b, err := tl.fs.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var cutPoints = []cover.Point{cover.RecoveryCutShort, cover.RecoveryCutLength, cover.RecoveryCutMagic,
	cover.RecoveryCutCRC, cover.RecoveryCutOffsets, cover.RecoveryCutSegment}

// recoverAndCheck runs io/segment recovery over the crashed disk and
// checks that it cut for reason want (0: no cut) and no other, and that
// the log ends at end.
func (tl *testLog) recoverAndCheck(t *testing.T, want cover.Point, end core.Offset) {
	t.Helper()
	var counts cover.Counts
	cfg := testLogConfig(1 << 20)
	cfg.Coverage = &counts
	l, err := segment.Open(tl.fs, tl.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cutPoints {
		n, wantN := counts.Of(p), uint64(0)
		if p == want {
			wantN = 1
		}
		if n != wantN {
			t.Errorf("%s fired %d times; want %d", p, n, wantN)
		}
	}
	if got := l.LogEndOffset(); got != end {
		t.Errorf("log end %d after recovery; want %d", got, end)
	}
}

// changed lists the positions where a and b differ (b may be longer).
func changed(a, b []byte) []int64 {
	var out []int64
	for i := range b {
		if i >= len(a) || a[i] != b[i] {
			out = append(out, int64(i))
		}
	}
	return out
}

func TestTailBatchesAreTheUnsyncedOnes(t *testing.T) {
	tl := newTestLog(t, 3, 2, 1<<20)
	tail, ok := readTail(tl.fs, tl.segment(0))
	if !ok {
		t.Fatal("no unsynced tail found")
	}
	want := []span{{3 * tl.batch, tl.batch}, {4 * tl.batch, tl.batch}}
	if tail.synced != 3*tl.batch || tail.written != 5*tl.batch || fmt.Sprint(tail.batches) != fmt.Sprint(want) {
		t.Fatalf("got tail %+v; want synced %d, written %d, batches %v", tail, 3*tl.batch, 5*tl.batch, want)
	}
}

// TestHeaderFlip damages each field outside the CRC in a batch of the
// unsynced tail: only the field's bytes change, the crash keeps them, and
// recovery cuts exactly at that batch for the field's reason. A damaged
// leader epoch is the exception: nothing in a batch can show it (Kafka's
// recovery does not check it either), so recovery keeps the batch.
func TestHeaderFlip(t *testing.T) {
	for _, f := range uncoveredFields {
		seen := map[cover.Point]bool{}
		for seed := range uint64(80) {
			tl := newTestLog(t, 3, 3, 1<<20)
			rng := rand.New(rand.NewPCG(seed, 1))
			name := tl.segment(0)
			tail, _ := readTail(tl.fs, name)
			i := int(seed % 3)
			b := tail.batches[i]
			before := tl.image(t, name)
			keep, err := flipField(tl.fs, rng, tail, i, f)
			if err != nil {
				t.Fatal(err)
			}
			after := tl.image(t, name)
			diff := changed(before, after)
			if len(diff) == 0 || diff[0] < b.pos+f.off || diff[len(diff)-1] >= b.pos+f.off+f.size {
				t.Fatalf("%s: changed bytes %v; want some, all in [%d, %d)", f.name, diff, b.pos+f.off, b.pos+f.off+f.size)
			}
			if keep < b.end() || keep > tail.written || (keep-tail.synced)%tl.batch != 0 {
				t.Fatalf("%s: kept %d; want a batch end in [%d, %d]", f.name, keep, b.end(), tail.written)
			}
			tl.fs.Crash(rng)
			if got := tl.image(t, name); !bytes.Equal(got, after[:keep]) {
				t.Fatalf("%s: the crash left %d bytes, not the damaged image's first %d", f.name, len(got), keep)
			}
			want, end := flipCut(f, after[b.pos:], b.pos, keep), tl.bases[3+i]
			if want == 0 {
				end = tl.bases[3+int((keep-tail.synced)/tl.batch)]
			}
			tl.recoverAndCheck(t, want, end)
			seen[want] = true
		}
		// A damaged length shows in each of three ways.
		if f.name == "batch-length" && !(seen[cover.RecoveryCutLength] && seen[cover.RecoveryCutShort] && seen[cover.RecoveryCutCRC]) {
			t.Errorf("damaged lengths cut as %v; want length, short and crc cuts", seen)
		}
	}
}

// flipCut is the recovery cut a damaged field must cause: hdr is the
// damaged batch onwards, at pos of a file of size bytes.
func flipCut(f headerField, hdr []byte, pos, size int64) cover.Point {
	switch f.name {
	case "base-offset":
		return cover.RecoveryCutOffsets
	case "magic":
		return cover.RecoveryCutMagic
	case "crc":
		return cover.RecoveryCutCRC
	case "leader-epoch":
		return 0
	}
	length := int64(int32(binary.BigEndian.Uint32(hdr[8:])))
	switch {
	case length < core.BatchHeaderSize-12:
		return cover.RecoveryCutLength
	case pos+12+length > size:
		return cover.RecoveryCutShort
	}
	return cover.RecoveryCutCRC // the CRC over the wrong bytes
}

// TestHeaderTearAtEveryHeaderByte cuts the tail at every place inside a
// batch header: recovery cuts there as a short batch.
func TestHeaderTearAtEveryHeaderByte(t *testing.T) {
	for k := int64(1); k < core.BatchHeaderSize; k++ {
		tl := newTestLog(t, 2, 3, 1<<20)
		name := tl.segment(0)
		tail, _ := readTail(tl.fs, name)
		keep, err := tearAt(tl.fs, tail, 1, k)
		if err != nil {
			t.Fatal(err)
		}
		img := tl.image(t, name)
		tl.fs.Crash(rand.New(rand.NewPCG(uint64(k), 2)))
		if got := tl.image(t, name); keep != tail.batches[1].pos+k || !bytes.Equal(got, img[:keep]) {
			t.Fatalf("tear %d: the crash left %d bytes; want the first %d", k, len(got), tail.batches[1].pos+k)
		}
		tl.recoverAndCheck(t, cover.RecoveryCutShort, tl.bases[3])
	}
}

// TestStaleBatch replays an old batch past the end of a file that lost
// its tail: it lands only where the lost tail was, and recovery cuts at
// it for its offsets.
func TestStaleBatch(t *testing.T) {
	for seed := range uint64(10) {
		tl := newTestLog(t, 3, 2, 1<<20)
		name := tl.segment(0)
		tail, _ := readTail(tl.fs, name)
		rng := rand.New(rand.NewPCG(seed, 3))
		tl.fs.Crash(rng) // the zero policy drops the whole tail
		size, _ := tl.fs.WrittenSize(name)
		before := tl.image(t, name)
		copied, ok, err := appendStale(tl.fs, rng, name, tail.written-size)
		if err != nil || !ok {
			t.Fatalf("appendStale: ok %v, err %v; want a batch appended", ok, err)
		}
		after := tl.image(t, name)
		if int64(len(after)) > tail.written || !bytes.Equal(after[:size], before) || !bytes.Equal(after[size:], before[copied.pos:copied.end()]) {
			t.Fatalf("after %d bytes came %d; want a copy of the batch at %d, within the written %d", size, len(after)-len(before), copied.pos, tail.written)
		}
		tl.recoverAndCheck(t, cover.RecoveryCutOffsets, tl.bases[3])
	}
	// No room: nothing may be written past what the tail held.
	tl := newTestLog(t, 3, 2, 1<<20)
	tl.fs.Crash(rand.New(rand.NewPCG(0, 0)))
	if _, ok, err := appendStale(tl.fs, rand.New(rand.NewPCG(0, 0)), tl.segment(0), tl.batch-1); ok || err != nil {
		t.Fatalf("appendStale with too little room: ok %v, err %v; want neither", ok, err)
	}
}

// TestSegmentGap: a segment rolled with its predecessor's tail unsynced
// (a broker that syncs less often than every append). If the directory's
// names were committed before the crash, the later segment survives the
// loss of that tail and recovery drops it at the break; otherwise the new
// name is lost and nothing breaks.
func TestSegmentGap(t *testing.T) {
	for _, commit := range []bool{true, false} {
		// Three batches fit a segment of three batches' bytes; the
		// fourth rolls.
		tl := newTestLog(t, 2, 2, 3*int64(len(testBatch(0))))
		first, later := tl.segment(0), tl.segment(tl.bases[3])
		tail, ok := readTail(tl.fs, first)
		if !ok || !tl.fs.Exists(later) || nextSegment(tl.fs.Files(), first) != later {
			t.Fatalf("setup: files %v, tail of %s %+v; want a tail and %s after it", tl.fs.Files(), first, tail, later)
		}
		if commit {
			if err := openGap(tl.fs, tail); err != nil {
				t.Fatal(err)
			}
		}
		tl.fs.Crash(rand.New(rand.NewPCG(4, 4)))
		if tl.fs.Exists(later) != commit {
			t.Fatalf("commit %v: %s exists %v after the crash", commit, later, !commit)
		}
		if commit {
			tl.recoverAndCheck(t, cover.RecoveryCutSegment, tl.bases[2])
			if tl.fs.Exists(later) {
				t.Fatalf("recovery kept %s after the break", later)
			}
		} else {
			tl.recoverAndCheck(t, 0, tl.bases[2])
		}
	}
}

package segment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path"
	"slices"
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

func segmentBases(t *testing.T, fsys *memfs.FS) []core.Offset {
	t.Helper()
	names, err := fsys.ReadDir(testDir)
	if err != nil {
		t.Fatal(err)
	}
	bases, _, _ := dirListing(names)
	return bases
}

func TestAppendReadAcrossSizeRolls(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	batches := appendN(t, l, cfg, 40, 3, 1000) // ~150 B each, ~6 per segment
	if got := len(l.segs); got < 5 {
		t.Fatalf("got %d segments; want >= 5 after rolling", got)
	}
	for _, s := range l.segs[:len(l.segs)-1] {
		if s.size > cfg.SegmentBytes {
			t.Fatalf("segment %d has %d bytes; want <= %d", s.base, s.size, cfg.SegmentBytes)
		}
	}
	if got, want := readAll(t, l, 0), concat(batches); !bytes.Equal(got, want) {
		t.Fatalf("read all: got %d bytes; want %d", len(got), len(want))
	}
	for i, b := range batches {
		for d := range core.Offset(3) {
			got, err := l.Read(core.Offset(i*3)+d, l.LogEndOffset(), 1, true)
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("Read(%d) minOne: got %d bytes, %v; want batch %d", core.Offset(i*3)+d, len(got), err, i)
			}
		}
	}
	if got := len(segmentBases(t, fsys)); got != len(l.segs) {
		t.Fatalf("got %d .log files; want %d", got, len(l.segs))
	}
}

func TestReadLimits(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	bs := appendN(t, l, cfg, 20, 2, 0)
	size := int32(len(bs[0]))
	tests := []struct {
		name      string
		off, bel  core.Offset
		max       int32
		minOne    bool
		wantFirst int
		wantN     int
	}{
		{"maxBytes exact two", 4, 40, 2 * size, false, 2, 2},
		{"maxBytes short of one", 4, 40, size - 1, false, 2, 0},
		{"minOne overrides", 5, 40, 1, true, 2, 1},
		{"below stops", 0, 6, 1 << 20, false, 0, 3},
		{"below beats minOne", 6, 6, 1 << 20, true, 3, 0},
		{"at end", 40, 40, 1 << 20, true, 0, 0},
		{"spans segments", 10, 40, 1 << 20, false, 5, 15},
	}
	for _, tc := range tests {
		got, err := l.Read(tc.off, tc.bel, tc.max, tc.minOne)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := concat(bs[tc.wantFirst : tc.wantFirst+tc.wantN])
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes; want %d", tc.name, len(got), len(want))
		}
	}
	for _, off := range []core.Offset{-1, 41} {
		if _, err := l.Read(off, 100, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Errorf("Read(%d): got %v; want ErrOffsetOutOfRange", off, err)
		}
	}
}

func TestRollByTime(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 20
	cfg.SegmentMs = 100
	l := openLog(t, fsys, cfg)
	now := int64(1000)
	for i := range 10 {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, maxTs: now})
		if err := l.Append(b, base, base, now, now, cfg); err != nil {
			t.Fatal(err)
		}
		now += 30 // a segment is older than 100 ms at its 5th append
		_ = i
	}
	if got, want := segmentBasesOf(l), []core.Offset{0, 4, 8}; !slices.Equal(got, want) {
		t.Fatalf("got segments %v; want %v", got, want)
	}
	// After a restart the age base is the first batch's timestamp.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	if got := l.active().rollBaseMs; got != 1000+8*30 {
		t.Fatalf("got roll base %d after reopen; want %d", got, 1000+8*30)
	}
}

func segmentBasesOf(l *Log) []core.Offset {
	var out []core.Offset
	for _, s := range l.segs {
		out = append(out, s.base)
	}
	return out
}

func TestIndexRebuildEqualsAppend(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 50, 2, 500)
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		names, _ := fsys.ReadDir(testDir)
		for _, n := range names {
			b, _ := fsys.ReadFile(path.Join(testDir, n))
			m[n] = b
		}
		return m
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot()
	l = openLog(t, fsys, cfg)
	after := snapshot()
	var idxEntries int
	for n, b := range before {
		if !bytes.Equal(b, after[n]) {
			t.Errorf("%s: got %d bytes after rebuild; want the %d appended", n, len(after[n]), len(b))
		}
		if path.Ext(n) == indexExt {
			idxEntries += len(b) / offsetEntrySize
		}
	}
	if idxEntries == 0 {
		t.Fatal("no index entries written; the test proves nothing")
	}
	for o := range l.LogEndOffset() {
		got, err := l.Read(o, l.LogEndOffset(), 1, true)
		if err != nil {
			t.Fatal(err)
		}
		if h := headers(t, got)[0]; h.BaseOffset > o || h.LastOffset() < o {
			t.Fatalf("Read(%d) got batch %d..%d", o, h.BaseOffset, h.LastOffset())
		}
	}
}

func TestFindTime(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	// Timestamps 10, 20, 20, 15, 30, ... not monotonic, as clients send.
	tss := []int64{10, 20, 20, 15, 30, 25, 40, 50, 45, 60, 70, 65, 80, 90, 85, 100}
	for _, ts := range tss {
		base := l.LogEndOffset()
		if err := l.Append(makeBatch(spec{base: base, maxTs: ts, valueBytes: 60}), base, base, ts, 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	for q := int64(0); q <= 105; q++ {
		wantOff, found := -1, false
		for i, ts := range tss {
			if ts >= q {
				wantOff, found = i, true
				break
			}
		}
		off, ts, ok, err := l.FindTime(q, l.LogStartOffset(), l.LogEndOffset())
		if err != nil {
			t.Fatal(err)
		}
		if ok != found || (ok && (int(off) != wantOff || ts != tss[wantOff])) {
			t.Fatalf("FindTime(%d): got %d ts %d found %v; want %d found %v", q, off, ts, ok, wantOff, found)
		}
	}
	if _, _, ok, _ := l.FindTime(95, 0, 15); ok {
		t.Fatal("FindTime ignored below")
	}
}

func TestRetentionByTime(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 40, 3, 1000) // ts 1000..1039, ~6 batches a segment
	cfg.RetentionMs = 20
	start, err := l.Retain(1040, l.LogEndOffset(), cfg) // deletes segments whose max ts < 1020
	if err != nil {
		t.Fatal(err)
	}
	if start != l.LogStartOffset() || start == 0 {
		t.Fatalf("got log start %d; want > 0 and equal to %d", start, l.LogStartOffset())
	}
	// The expired segments stay until the next pass deletes them.
	first := l.segs[l.segmentFor(start)]
	if nowMinus := 1040 - first.maxTs; nowMinus > 20 || first.base != start {
		t.Fatalf("kept a segment at %d with max ts %d; want it to start at %d", first.base, first.maxTs, start)
	}
	if data, err := l.Read(start-1, 1000, 100, true); err != nil || len(data) == 0 {
		t.Fatalf("read below start before deletion: got %d bytes, %v; want the batch", len(data), err)
	}
	if again, err := l.Retain(1040, l.LogEndOffset(), cfg); err != nil || again != start || l.segs[0].base != start {
		t.Fatalf("second pass: start %d, first segment %d, err %v; want both %d", again, l.segs[0].base, err, start)
	}
	if got := readStart(fsys, l.Dir()); got != start {
		t.Fatalf("checkpointed log start %d; want %d", got, start)
	}
	cfg.RetentionMs = 0
	for range 2 {
		if _, err := l.Retain(1<<40, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.segs) != 1 {
		t.Fatalf("got %d segments; want only the active one", len(l.segs))
	}
	if got := segmentBases(t, fsys); !slices.Equal(got, segmentBasesOf(l)) {
		t.Fatalf("files %v; want %v", got, segmentBasesOf(l))
	}
	if _, err := l.Read(0, 1000, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: got %v; want ErrOffsetOutOfRange", err)
	}
}

func TestRetentionBySize(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 40, 3, 1000)
	cfg.RetentionBytes = 2000
	for range 2 { // the second pass deletes what the first expired
		if _, err := l.Retain(0, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if l.Size() < 2000 || l.Size()-l.segs[0].size >= 2000 {
		t.Fatalf("got size %d with first segment %d; want the smallest suffix >= 2000", l.Size(), l.segs[0].size)
	}
	if got, want := readAll(t, l, l.LogStartOffset()), l.Size(); int64(len(got)) != want {
		t.Fatalf("read %d bytes; want %d", len(got), want)
	}
}

func TestRecoveryTornTail(t *testing.T) {
	for seed := range uint64(30) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 1, GarbageProb: 0.5, GarbageBytesMax: 200}
		cfg := testCfg()
		l := openLog(t, fsys, cfg)
		synced := concat(appendN(t, l, cfg, 10, 2, 0))
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		all := append(synced, concat(appendN(t, l, cfg, 10, 2, 100))...)
		fsys.Crash(rand.New(rand.NewPCG(seed, 1)))
		l = openLog(t, fsys, cfg)
		got := readAll(t, l, 0)
		if !bytes.HasPrefix(got, synced) || !bytes.HasPrefix(all, got) {
			t.Fatalf("seed %d: recovered %d bytes; want a batch prefix of %d with the %d synced", seed, len(got), len(all), len(synced))
		}
		headers(t, got)
		if want := core.Offset(len(headers(t, got)) * 2); l.LogEndOffset() != want {
			t.Fatalf("seed %d: got LEO %d; want %d", seed, l.LogEndOffset(), want)
		}
		// The log keeps working after recovery.
		appendN(t, l, cfg, 3, 1, 0)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecoveryFlippedBit(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	bs := appendN(t, l, cfg, 40, 3, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Flip a bit in the value of the 3rd batch of the second segment.
	bases := segmentBases(t, fsys)
	second := bases[1]
	k := int(second) / 3 // index of the segment's first batch
	off := int64(len(bs[k])+len(bs[k+1])) + int64(len(bs[k+2])) - 5
	if err := fsys.Corrupt(fileName(testDir, second, logExt), off); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	if want := core.Offset(3 * (k + 2)); l.LogEndOffset() != want {
		t.Fatalf("got LEO %d; want %d (truncated at the corrupt batch)", l.LogEndOffset(), want)
	}
	if got, want := segmentBases(t, fsys), bases[:2]; !slices.Equal(got, want) {
		t.Fatalf("got segments %v; want %v (later ones deleted)", got, want)
	}
	if got := readAll(t, l, 0); !bytes.Equal(got, concat(bs[:k+2])) {
		t.Fatalf("got %d bytes; want %d", len(got), len(concat(bs[:k+2])))
	}
}

func TestRecoveryGapBetweenSegments(t *testing.T) {
	// A later segment whose base is not the previous one's next offset is
	// what a crash leaves when a rolled segment's name became durable but
	// the tail of the previous one did not: it is cut.
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 40, 3, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	bases := segmentBases(t, fsys)
	f, _ := fsys.OpenFile(fileName(testDir, bases[1], logExt), false)
	size, _ := f.Size()
	_ = f.Truncate(size - 10) // tear the last batch of the second segment
	l = openLog(t, fsys, cfg)
	if got, want := segmentBases(t, fsys), bases[:2]; !slices.Equal(got, want) {
		t.Fatalf("got segments %v; want %v", got, want)
	}
	if l.LogEndOffset() >= bases[2] {
		t.Fatalf("got LEO %d; want below %d", l.LogEndOffset(), bases[2])
	}
}

func TestLargeBatchBeyondReadWindow(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 20
	l := openLog(t, fsys, cfg)
	big := makeBatch(spec{base: 0, records: 3, valueBytes: 50 << 10})
	small := makeBatch(spec{base: 3})
	if err := l.Append(big, 0, 2, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(small, 3, 3, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	l = openLog(t, fsys, cfg)
	if l.LogEndOffset() != 4 {
		t.Fatalf("got LEO %d; want 4", l.LogEndOffset())
	}
	_ = l.Close()
	if err := fsys.Corrupt(fileName(testDir, 0, logExt), int64(len(big))-100); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	if l.LogEndOffset() != 0 {
		t.Fatalf("got LEO %d; want 0 after the large batch's CRC failed", l.LogEndOffset())
	}
}

func TestProducerWindowRebuilt(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	add := func(s spec) {
		s.base = l.LogEndOffset()
		if s.records == 0 {
			s.records = 2
		}
		last := s.base + core.Offset(s.records-1)
		if err := l.Append(makeBatch(s), s.base, last, s.maxTs, 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		add(spec{pid: 7, pepoch: 1, seq: int32(2 * i), maxTs: int64(i)})
		add(spec{pid: 9, pepoch: 0, seq: int32(2 * i)})
	}
	add(spec{pid: 9, pepoch: 1, seq: 0})                 // new epoch resets the window
	add(spec{pid: 7, pepoch: 1, seq: -1, control: true}) // control: ignored
	add(spec{pid: 11, pepoch: 0, seq: 2147483647, records: 3})
	add(spec{}) // no producer
	want := l.Recovered()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := openLog(t, fsys, cfg).Recovered()
	if !slices.Equal(got.Producers, want.Producers) {
		t.Fatalf("rebuilt producers differ:\n got %v\nwant %v", got.Producers, want.Producers)
	}
	per := map[core.ProducerID][]core.ProducerBatch{}
	for _, b := range got.Producers {
		per[b.ProducerID] = append(per[b.ProducerID], b)
	}
	if n := len(per[7]); n != ProducerWindow || per[7][0].FirstSeq != 6 || per[7][4].LastSeq != 15 {
		t.Fatalf("producer 7: got %v; want seqs 6..15 in 5 batches", per[7])
	}
	if n := len(per[9]); n != 1 || per[9][0].ProducerEpoch != 1 {
		t.Fatalf("producer 9: got %v; want only the epoch-1 batch", per[9])
	}
	if b := per[11]; len(b) != 1 || b[0].LastSeq != 1 {
		t.Fatalf("producer 11: got %v; want last seq wrapped to 1", b)
	}
	if got.Partition != (core.TopicPartition{Topic: "topic", Partition: 7}) {
		t.Fatalf("got partition %v; want topic-7", got.Partition)
	}
}

func TestLeaderEpochCheckpoint(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	for i, e := range []core.LeaderEpoch{0, 0, 2, 2, 5} {
		b := makeBatch(spec{base: core.Offset(i), epoch: e})
		if err := l.Append(b, core.Offset(i), core.Offset(i), 0, 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := fsys.ReadFile(path.Join(testDir, epochFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0\n3\n0 0\n2 2\n5 4\n"; string(got) != want {
		t.Fatalf("got checkpoint %q; want %q", got, want)
	}
	if e := l.Recovered().LeaderEpoch; e != 5 {
		t.Fatalf("got leader epoch %d; want 5", e)
	}
}

func TestSyncFailurePoisonsUntilReopen(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 3, 1, 0)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("EIO")
	fsys.Inject = func(op, _ string) error {
		if op == memfs.OpSync {
			return boom
		}
		return nil
	}
	appendN(t, l, cfg, 2, 1, 0)
	if err := l.Sync(); !errors.Is(err, boom) || !errors.Is(err, ErrFailed) {
		t.Fatalf("got %v; want ErrFailed wrapping EIO", err)
	}
	if err := l.Append(makeBatch(spec{base: 5}), 5, 5, 0, 0, cfg); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after failure: got %v; want ErrFailed", err)
	}
	fsys.Inject = nil
	fsys.Crash(rand.New(rand.NewPCG(3, 3)))
	l = openLog(t, fsys, cfg)
	if l.LogEndOffset() != 3 {
		t.Fatalf("got LEO %d; want the 3 synced records", l.LogEndOffset())
	}
}

func TestWriteFailureDiskFull(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 3, 1, 0)
	fsys.Inject = func(op, p string) error {
		if op == memfs.OpWrite && path.Ext(p) == logExt {
			return errors.New("ENOSPC")
		}
		return nil
	}
	if err := l.Append(makeBatch(spec{base: 3}), 3, 3, 0, 0, cfg); !errors.Is(err, ErrFailed) {
		t.Fatalf("got %v; want ErrFailed", err)
	}
	fsys.Inject = nil
	l = openLog(t, fsys, cfg)
	if l.LogEndOffset() != 3 {
		t.Fatalf("got LEO %d; want 3", l.LogEndOffset())
	}
}

func TestBadAppend(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 2, 1, 0)
	b := makeBatch(spec{base: 1})
	tests := []struct {
		name       string
		data       []byte
		base, last core.Offset
	}{
		{"below log end", b, 1, 1},
		{"empty", nil, 2, 2},
		{"torn", makeBatch(spec{base: 2})[:70], 2, 2},
		{"wrong last", makeBatch(spec{base: 2}), 2, 3},
	}
	for _, tc := range tests {
		if err := l.Append(tc.data, tc.base, tc.last, 0, 0, cfg); !errors.Is(err, ErrBadAppend) {
			t.Errorf("%s: got %v; want ErrBadAppend", tc.name, err)
		}
	}
	if l.LogEndOffset() != 2 {
		t.Fatalf("got LEO %d; want 2", l.LogEndOffset())
	}
	if err := l.Append(makeBatch(spec{base: 10}), 10, 10, 0, 0, cfg); !errors.Is(err, ErrBadAppend) {
		t.Fatalf("append with a gap: got %v; want ErrBadAppend", err)
	}
}

func TestStraysRemovedAndDelete(t *testing.T) {
	fsys := memfs.New()
	_ = fsys.MkdirAll(testDir)
	for _, n := range []string{"00000000000000000050.index", "leader-epoch-checkpoint.tmp"} {
		f, _ := fsys.OpenFile(path.Join(testDir, n), true)
		_, _ = f.WriteAt([]byte("junk"), 0)
	}
	l := openLog(t, fsys, testCfg())
	names, _ := fsys.ReadDir(testDir)
	want := []string{"00000000000000000000.index", "00000000000000000000.log", "00000000000000000000.timeindex"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v; want %v", names, want)
	}
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if fsys.Exists(testDir) {
		t.Fatal("Delete left the directory")
	}
}

func TestRetainTrimsDerivedStateLikeRecovery(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	for i := range 30 {
		base := l.LogEndOffset()
		s := spec{base: base, records: 2, pid: core.ProducerID(1 + i%4), seq: int32(2 * (i / 4)),
			epoch: core.LeaderEpoch(i / 10), valueBytes: 30}
		if err := l.Append(makeBatch(s), base, base+1, 0, 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	cfg.RetentionBytes = 1500
	if _, err := l.Retain(0, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	before := l.Recovered()
	if before.LogStartOffset == 0 {
		t.Fatal("retention deleted nothing; the test proves nothing")
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	ckpt, _ := fsys.ReadFile(path.Join(testDir, epochFile))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	after := l.Recovered()
	if !slices.Equal(after.Producers, before.Producers) || after.LeaderEpoch != before.LeaderEpoch ||
		after.LogStartOffset != before.LogStartOffset {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", after, before)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if again, _ := fsys.ReadFile(path.Join(testDir, epochFile)); !bytes.Equal(again, ckpt) {
		t.Fatalf("epoch checkpoint after reopen %q; want %q", again, ckpt)
	}
}

func TestTruncateToMatchesReopen(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	var all [][]byte
	for i := range 30 {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, records: 2, pid: 5, seq: int32(2 * i), epoch: core.LeaderEpoch(i / 8), maxTs: int64(i)})
		if err := l.Append(b, base, base+1, 0, 0, cfg); err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
	}
	if err := l.TruncateTo(33, 0, cfg); err != nil { // mid-batch: batch 32..33 goes
		t.Fatal(err)
	}
	if l.LogEndOffset() != 32 {
		t.Fatalf("got LEO %d; want 32", l.LogEndOffset())
	}
	if got := readAll(t, l, 0); !bytes.Equal(got, concat(all[:16])) {
		t.Fatalf("got %d bytes; want %d", len(got), len(concat(all[:16])))
	}
	want := l.Recovered()
	if want.LeaderEpoch != 1 || want.Producers[len(want.Producers)-1].LastSeq != 31 {
		t.Fatalf("derived state not rebuilt: %+v", want)
	}
	if err := l.Append(makeBatch(spec{base: 32, epoch: 9}), 32, 32, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	// What TruncateTo kept is durable without another Sync; the new
	// batch is not.
	fsys.Crash(rand.New(rand.NewPCG(1, 1)))
	l = openLog(t, fsys, cfg)
	if got := l.Recovered(); got.LogEndOffset != 32 || !slices.Equal(got.Producers, want.Producers) || got.LeaderEpoch != 1 {
		t.Fatalf("after crash got %+v; want %+v", got, want)
	}
}

func TestReadRefusesDamagedBatch(t *testing.T) {
	fsys := memfs.New()
	cfg := core.LogConfig{SegmentBytes: 1 << 20, SegmentMs: -1, RetentionMs: -1, RetentionBytes: -1, IndexIntervalBytes: 4096, SegmentIndexBytes: 1 << 20}
	l, err := Open(fsys, "/d/t-0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(spec{records: 3})
	if err := l.Append(b, 0, 2, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(0, 3, 1<<20, true); err != nil {
		t.Fatalf("intact read: %v", err)
	}
	if err := fsys.Corrupt("/d/t-0/00000000000000000000.log", int64(len(b)-1)); err != nil {
		t.Fatal(err)
	}
	if data, err := l.Read(0, 3, 1<<20, true); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of a damaged batch: got %d bytes, err %v; want ErrCorrupt", len(data), err)
	}
}

// A damaged base offset is outside the CRC; recovery catches it as a break
// in the contiguous offsets and truncates there.
func TestRecoveryTruncatesAtDamagedBaseOffset(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	first := makeBatch(spec{base: 0, records: 2})
	second := makeBatch(spec{base: 2, records: 2})
	if err := l.Append(append(append([]byte(nil), first...), second...), 0, 3, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Corrupt(path.Join(testDir, "00000000000000000000.log"), int64(len(first)+5)); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	if got := l.LogEndOffset(); got != 2 {
		t.Fatalf("log end after a damaged base offset: got %d; want 2", got)
	}
}

// TestProducersOutliveRetention: once retention deleted every batch of a
// producer, its idempotence window still comes back after a restart (the
// producer snapshot), as Kafka keeps producer state past the log start.
func TestProducersOutliveRetention(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	for i := range 3 {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, records: 2, pid: 7, seq: int32(2 * i), maxTs: 10, valueBytes: 300})
		if err := l.Append(b, base, base+1, 10, 10, cfg); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, l, cfg, 20, 1, 100_000) // producer-less batches, rolling segments
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	cfg.RetentionMs = 1000
	for range 2 { // adopt, then delete
		if _, err := l.Retain(100_000, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if l.segs[0].base <= 3 {
		t.Fatalf("first segment at %d; want the producer's first batches (offsets 0-3) deleted", l.segs[0].base)
	}
	fsys.Crash(rand.New(rand.NewPCG(1, 1)))
	got := openLog(t, fsys, cfg).Recovered()
	var seqs []int32
	for _, b := range got.Producers {
		if b.ProducerID == 7 {
			seqs = append(seqs, b.LastSeq)
		}
	}
	if !slices.Equal(seqs, []int32{1, 3, 5}) {
		t.Fatalf("producer 7 after retention and a crash: last sequences %v; want [1 3 5]", seqs)
	}
}

// TestRetentionWithoutTimestamps: segments whose batches carry no
// timestamp (legacy magic 0 data) age by their last append, as Kafka ages
// them by file modification time; after a restart, from the first pass.
func TestRetentionWithoutTimestamps(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	for i := range 40 {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, records: 3, maxTs: -1, valueBytes: 20})
		if err := l.Append(b, base, base+2, -1, 1000+int64(i), cfg); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if len(l.segs) < 3 {
		t.Fatalf("got %d segments; want several", len(l.segs))
	}
	cfg.RetentionMs = 20
	start, err := l.Retain(1030, l.LogEndOffset(), cfg) // last appends before 1010 expire
	if err != nil {
		t.Fatal(err)
	}
	first := l.segs[l.segmentFor(start)]
	if start == 0 || first.lastAppendMs < 1010 {
		t.Fatalf("got log start %d, its segment last appended at %d; want segments last appended before 1010 expired", start, first.lastAppendMs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg)
	if got, err := l.Retain(1<<40, l.LogEndOffset(), cfg); err != nil || got != start {
		t.Fatalf("first pass after a restart: log start %d, %v; want %d (ages start now)", got, err, start)
	}
	if got, err := l.Retain(1<<40+21, l.LogEndOffset(), cfg); err != nil || got <= start {
		t.Fatalf("a pass retention.ms later: log start %d, %v; want past %d", got, err, start)
	}
}

// TestAppendReplicaGaps: a follower's copy of a compacted leader log may
// skip offsets, before its first batch and between two; AppendReplica
// takes them (Append does not), recovery keeps them, and a crash that
// loses the unsynced batches leaves the log ending at the base of the
// last batch that followed a gap, from which the follower fetches again.
func TestAppendReplicaGaps(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 2, 1, 0) // offsets 0 and 1
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	gapped := concat([][]byte{makeBatch(spec{base: 5, records: 2}), makeBatch(spec{base: 9})})
	if err := l.Append(gapped, 5, 9, 0, 0, cfg); !errors.Is(err, ErrBadAppend) {
		t.Fatalf("Append with gaps: got %v; want ErrBadAppend", err)
	}
	if err := l.AppendReplica(makeBatch(spec{base: 1}), 1, 1, 0, 0, cfg); !errors.Is(err, ErrBadAppend) {
		t.Fatalf("AppendReplica below the log end: got %v; want ErrBadAppend", err)
	}
	if err := l.AppendReplica(gapped, 5, 9, 0, 0, cfg); err != nil {
		t.Fatalf("AppendReplica with gaps: %v", err)
	}
	if l.LogEndOffset() != 10 {
		t.Fatalf("LEO after the gapped batches: %d; want 10", l.LogEndOffset())
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, fsys, cfg) // recovery takes the gaps
	var bases []core.Offset
	for _, h := range headers(t, readAll(t, l, 0)) {
		bases = append(bases, h.BaseOffset)
	}
	if want := []core.Offset{0, 1, 5, 9}; !slices.Equal(bases, want) || l.LogEndOffset() != 10 {
		t.Fatalf("recovered batches at %v, LEO %d; want %v, 10", bases, l.LogEndOffset(), want)
	}
	// Unsynced gapped batches lost in a crash: the log ends at the last
	// gap's far side.
	if err := l.AppendReplica(makeBatch(spec{base: 20}), 20, 20, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	fsys.Policy = memfs.CrashPolicy{}
	fsys.Crash(rand.New(rand.NewPCG(1, 1)))
	l = openLog(t, fsys, cfg)
	if l.LogEndOffset() != 20 {
		t.Fatalf("LEO after losing the batch at 20: %d; want 20 (where the follower fetches again)", l.LogEndOffset())
	}
	if err := l.AppendReplica(makeBatch(spec{base: 20}), 20, 20, 0, 0, cfg); err != nil {
		t.Fatalf("fetching it again: %v", err)
	}
}

// TestAppendBuffersIndexEntries: appends leave their index entries in
// memory until about flushBytesMax of them accumulated (one write of the
// .index per 512 entries, not one per append), lookups find the unwritten
// ones, and Close writes the rest, so that a clean restart's index is
// whole.
func TestAppendBuffersIndexEntries(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes, cfg.IndexIntervalBytes = 1<<30, 0 // one segment; every batch indexed
	l := openLog(t, fsys, cfg)
	writes := map[string]int{}
	fsys.Inject = func(op, p string) error {
		if op == "write" {
			writes[path.Ext(p)]++
		}
		return nil
	}
	const n = 2000
	batches := appendN(t, l, cfg, n, 1, 1000)
	fsys.Inject = nil
	if want := n*offsetEntrySize/flushBytesMax + 1; writes[".index"] > want || writes[".log"] != n {
		t.Errorf("%d appends wrote the .index %d times and the .log %d times; want at most %d and %d", n, writes[".index"], writes[".log"], want, n)
	}
	for _, off := range []core.Offset{0, 1, n / 2, n - 2, n - 1} { // the last entries are unwritten
		if got := readAll(t, l, off); !bytes.HasPrefix(got, batches[off]) {
			t.Fatalf("read at %d does not start with the batch appended there", off)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	size, err := fsys.WrittenSize(fileName(testDir, 0, indexExt))
	if err != nil || size != (n-1)*offsetEntrySize {
		t.Fatalf("after Close the .index holds %d bytes (%v); want %d, an entry per batch but the first", size, err, (n-1)*offsetEntrySize)
	}
}

// TestNewLogSyncsOnlyItsParent: creating a log fsyncs the data
// directory (so the new directory survives) and nothing else; its first
// Sync makes the segment's names durable. A power loss before that Sync
// leaves at most an empty log, which opens again.
func TestNewLogSyncsOnlyItsParent(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	ops := map[string][]string{}
	fsys.Inject = func(op, p string) error {
		if op == memfs.OpSyncDir || op == memfs.OpSync {
			ops[op] = append(ops[op], p)
		}
		return nil
	}
	l := openLog(t, fsys, cfg)
	if want := []string{path.Dir(testDir)}; !slices.Equal(ops[memfs.OpSyncDir], want) || len(ops[memfs.OpSync]) != 0 {
		t.Fatalf("creating a log synced directories %v and files %v; want %v and none", ops[memfs.OpSyncDir], ops[memfs.OpSync], want)
	}
	fsys.Inject = nil
	fsys.Crash(rand.New(rand.NewPCG(1, 2)))
	l = openLog(t, fsys, cfg)
	if rec := l.Recovered(); rec.LogStartOffset != 0 || rec.LogEndOffset != 0 {
		t.Fatalf("after a power loss right after the creation: log [%d, %d); want empty at 0", rec.LogStartOffset, rec.LogEndOffset)
	}
	appendN(t, l, cfg, 3, 1, 1000)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	fsys.Crash(rand.New(rand.NewPCG(1, 3)))
	if rec := openLog(t, fsys, cfg).Recovered(); rec.LogEndOffset != 3 {
		t.Fatalf("after a Sync and a power loss: log end %d; want 3", rec.LogEndOffset)
	}
}

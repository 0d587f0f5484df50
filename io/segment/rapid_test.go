package segment

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// model is the log as a list of batches; synced counts the batches made
// durable by the last Sync (relative to the whole history, not the start).
type model struct {
	batches []modelBatch
	start   int         // index of the first batch retained
	floor   core.Offset // one past the last offset deleted by retention
	synced  int         // batches [0, synced) are durable
}

type modelBatch struct {
	data []byte
	h    core.BatchHeader
}

func (m *model) live() []modelBatch { return m.batches[m.start:] }

func (m *model) leo() core.Offset {
	if len(m.batches) == 0 {
		return 0
	}
	return m.batches[len(m.batches)-1].h.LastOffset() + 1
}

// read is the specification of Log.Read.
func (m *model) read(off, below core.Offset, maxBytes int32, minOne bool) []byte {
	var out []byte
	for _, b := range m.live() {
		if b.h.LastOffset() < off {
			continue
		}
		if b.h.BaseOffset >= below {
			break
		}
		if len(out)+len(b.data) > int(maxBytes) && !(minOne && len(out) == 0) {
			break
		}
		out = append(out, b.data...)
	}
	return out
}

// spanBytes reads what a ReadSpans result names.
func spanBytes(t *rapid.T, ref *core.RecordsRef) []byte {
	if ref == nil {
		return nil
	}
	var out []byte
	for _, s := range ref.Handle.([]kio.Span) {
		b := make([]byte, s.N)
		if err := s.Read(b); err != nil {
			t.Fatalf("reading a span: %v", err)
		}
		out = append(out, b...)
	}
	if int64(len(out)) != ref.Len {
		t.Fatalf("spans of %d bytes; Len %d", len(out), ref.Len)
	}
	return out
}

// readEither reads with Read or, drawn, ReadSpans, checking it against
// the model, and returns what it read.
func readEither(t *rapid.T, l *Log, m *model, off, below core.Offset, maxBytes int32, minOne bool) []byte {
	if !rapid.Bool().Draw(t, "byRef") {
		got, err := l.Read(off, below, maxBytes, minOne)
		if err != nil {
			t.Fatalf("Read(%d, %d, %d, %v): %v", off, below, maxBytes, minOne, err)
		}
		if want := m.read(off, below, maxBytes, minOne); !bytes.Equal(got, want) {
			t.Fatalf("Read(%d, %d, %d, %v): got %d bytes; want %d", off, below, maxBytes, minOne, len(got), len(want))
		}
		return got
	}
	ref, err := l.ReadSpans(off, below, maxBytes, minOne)
	if err != nil {
		t.Fatalf("ReadSpans(%d, %d, %d, %v): %v", off, below, maxBytes, minOne, err)
	}
	got := spanBytes(t, ref)
	want := m.read(off, below, maxBytes, minOne) // the very batches Read returns
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadSpans(%d, %d, %d, %v): got %d bytes; want %d", off, below, maxBytes, minOne, len(got), len(want))
	}
	if hs := headers(t, got); ref != nil && (int(ref.FirstSize) != hs[0].Size() || ref.FirstBase != hs[0].BaseOffset) {
		t.Fatalf("ReadSpans(%d, %d, %d, %v): first batch %d bytes at %d; want %d at %d", off, below, maxBytes, minOne, ref.FirstSize, ref.FirstBase, hs[0].Size(), hs[0].BaseOffset)
	}
	return got
}

// findTime is the specification of Log.FindTime.
func (m *model) findTime(ts int64, below core.Offset) (core.Offset, int64, bool) {
	for _, b := range m.live() {
		if b.h.MaxTimestamp >= ts {
			if b.h.BaseOffset >= below {
				return 0, 0, false
			}
			return b.h.BaseOffset, b.h.MaxTimestamp, true
		}
	}
	return 0, 0, false
}

func drawCfg(t *rapid.T) core.LogConfig {
	return core.LogConfig{
		SegmentBytes:       rapid.Int64Range(100, 3000).Draw(t, "segmentBytes"),
		SegmentMs:          rapid.SampledFrom([]int64{0, 50, 500}).Draw(t, "segmentMs"),
		RetentionMs:        -1,
		RetentionBytes:     -1,
		IndexIntervalBytes: rapid.Int32Range(0, 400).Draw(t, "indexInterval"),
		SegmentIndexBytes:  rapid.SampledFrom([]int32{0, 64, 10 << 20}).Draw(t, "segmentIndexBytes"),
		FileDeleteDelayMs:  rapid.SampledFrom([]int64{0, 30, 300}).Draw(t, "fileDeleteDelayMs"),
	}
}

// TestLogMatchesModel drives a Log with random appends, reads, time
// lookups, retention, syncs, reopens and crashes, and compares every
// answer with the model.
func TestLogMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 0.7, GarbageProb: 0.5, GarbageBytesMax: 64}
		cfg := drawCfg(t)
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := &model{}
		now := int64(1000)
		steps := rapid.IntRange(1, 80).Draw(t, "steps")
		for range steps {
			now += rapid.Int64Range(0, 40).Draw(t, "tick")
			switch rapid.IntRange(0, 10).Draw(t, "op") {
			case 0, 1, 2:
				stepAppend(t, l, m, cfg, now)
			case 3, 4:
				stepRead(t, l, m)
			case 5:
				stepFindTime(t, l, m)
			case 6:
				stepRetain(t, l, m, cfg, now)
			case 7:
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				m.synced = len(m.batches)
			case 8:
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				m.synced = len(m.batches)
				l = reopen(t, fsys, cfg, m)
			case 10:
				stepTruncate(t, l, m, cfg, now)
			case 9:
				fsys.Crash(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "crashSeed"), 0)))
				l = reopen(t, fsys, cfg, m)
			}
			checkSummary(t, l, m)
		}
	})
}

func stepAppend(t *rapid.T, l *Log, m *model, cfg core.LogConfig, now int64) {
	base := m.leo()
	var data []byte
	var added []modelBatch
	n := rapid.IntRange(1, 3).Draw(t, "batches")
	for range n {
		b := makeBatch(spec{
			base:       base,
			records:    rapid.IntRange(1, 4).Draw(t, "records"),
			maxTs:      rapid.Int64Range(900, now+50).Draw(t, "ts"),
			epoch:      core.LeaderEpoch(rapid.IntRange(0, 3).Draw(t, "epoch")),
			valueBytes: rapid.IntRange(0, 120).Draw(t, "valueBytes"),
		})
		h, _ := core.ParseBatchHeader(b)
		added = append(added, modelBatch{b, h})
		data = append(data, b...)
		base = h.LastOffset() + 1
	}
	first, last := added[0].h.BaseOffset, added[len(added)-1].h.LastOffset()
	if err := l.Append(data, first, last, 0, now, cfg); err != nil {
		t.Fatalf("Append %d..%d: %v", first, last, err)
	}
	m.batches = append(m.batches, added...)
}

func stepRead(t *rapid.T, l *Log, m *model) {
	lo := l.LogStartOffset()
	off := rapid.Int64Range(int64(lo), int64(m.leo())).Draw(t, "off")
	below := core.Offset(rapid.Int64Range(int64(lo), int64(m.leo())+1).Draw(t, "below"))
	maxBytes := rapid.Int32Range(0, 2000).Draw(t, "maxBytes")
	minOne := rapid.Bool().Draw(t, "minOne")
	readEither(t, l, m, core.Offset(off), below, maxBytes, minOne)
}

func stepFindTime(t *rapid.T, l *Log, m *model) {
	ts := rapid.Int64Range(800, 3000).Draw(t, "findTs")
	below := m.leo() - core.Offset(rapid.IntRange(0, 5).Draw(t, "belowBack"))
	off, bts, ok, err := l.FindTime(ts, l.LogStartOffset(), below)
	if err != nil {
		t.Fatal(err)
	}
	wo, wts, wok := m.findTime(ts, below)
	if off != wo || bts != wts || ok != wok {
		t.Fatalf("FindTime(%d, %d): got %d %d %v; want %d %d %v", ts, below, off, bts, ok, wo, wts, wok)
	}
}

// stepTruncate cuts the log like a follower; everything kept is durable.
func stepTruncate(t *rapid.T, l *Log, m *model, cfg core.LogConfig, now int64) {
	off := core.Offset(rapid.Int64Range(int64(l.LogStartOffset()), int64(m.leo())).Draw(t, "truncateTo"))
	if err := l.TruncateTo(off, now, cfg); err != nil {
		t.Fatalf("TruncateTo(%d): %v", off, err)
	}
	kept := len(m.batches)
	for kept > m.start && m.batches[kept-1].h.LastOffset() >= off {
		kept--
	}
	m.batches = m.batches[:kept]
	m.synced = kept
}

// stepRetain checks what retention may delete: a prefix of whole batches
// never reaching into the active segment, and under each enabled rule
// only what the rule allows.
func stepRetain(t *rapid.T, l *Log, m *model, cfg core.LogConfig, now int64) {
	cfg.RetentionMs = rapid.SampledFrom([]int64{-1, 0, 100, 1000}).Draw(t, "retentionMs")
	cfg.RetentionBytes = rapid.SampledFrom([]int64{-1, 0, 500, 5000}).Draw(t, "retentionBytes")
	var sizeBefore int64
	for _, b := range m.live() {
		sizeBefore += int64(len(b.data))
	}
	startBefore := l.LogStartOffset()
	activeBase := l.active().base
	start, err := l.Retain(now, l.LogEndOffset(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if due, ok := l.DeletionDueMs(); ok && due <= now {
		t.Fatalf("Retain at %d left a deletion due at %d", now, due)
	}
	if start != startBefore && start > activeBase {
		t.Fatalf("retention moved start %d into the active segment at %d", start, activeBase)
	}
	if cfg.RetentionMs < 0 && cfg.RetentionBytes < 0 && start != startBefore {
		t.Fatalf("retention disabled but start moved to %d", start)
	}
	// Batches below the start the log had already (a checkpointed start
	// recovery adopted) went earlier.
	for len(m.live()) > 0 && m.live()[0].h.BaseOffset < startBefore {
		sizeBefore -= int64(len(m.live()[0].data))
		m.floor = m.live()[0].h.LastOffset() + 1
		m.start++
	}
	var gone int64
	for len(m.live()) > 0 && m.live()[0].h.BaseOffset < start {
		b := m.live()[0]
		gone += int64(len(b.data))
		tooOld := cfg.RetentionMs >= 0 && b.h.MaxTimestamp >= 0 && now-b.h.MaxTimestamp > cfg.RetentionMs
		if !tooOld && cfg.RetentionBytes < 0 {
			// a segment is deleted by age only if its largest timestamp is
			// old, so each of its batches is old too
			t.Fatalf("retention deleted batch %d with ts %d at now %d", b.h.BaseOffset, b.h.MaxTimestamp, now)
		}
		m.start++
		m.floor = b.h.LastOffset() + 1
	}
	if cfg.RetentionMs < 0 && cfg.RetentionBytes >= 0 && sizeBefore-gone < cfg.RetentionBytes && gone > 0 {
		t.Fatalf("size retention left %d bytes; want >= %d", sizeBefore-gone, cfg.RetentionBytes)
	}
}

// firstLive bounds the log start offset from above: the first live
// batch's base, or the log end. (From below it is floor; a segment's base
// may precede its first batch when appends left a gap.)
func (m *model) firstLive() core.Offset {
	if live := m.live(); len(live) > 0 {
		return live[0].h.BaseOffset
	}
	return m.leo()
}

// reopen opens the log after a close or crash and cuts the model to the
// batches recovered, which must include every synced one.
func reopen(t *rapid.T, fsys *memfs.FS, cfg core.LogConfig, m *model) *Log {
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	leo := l.LogEndOffset()
	kept := len(m.batches)
	for kept > 0 && m.batches[kept-1].h.LastOffset() >= leo {
		kept--
	}
	if kept < m.synced {
		t.Fatalf("recovered LEO %d lost synced batches (%d of %d kept)", leo, kept, m.synced)
	}
	if kept > 0 && m.batches[kept-1].h.LastOffset()+1 != leo {
		t.Fatalf("recovered LEO %d is not at a batch end", leo)
	}
	m.batches = m.batches[:kept]
	m.start = min(m.start, kept)
	m.floor = min(m.floor, leo) // a crash may lose the tail the log start lay in
	m.synced = kept
	return l
}

func checkSummary(t *rapid.T, l *Log, m *model) {
	if got, want := l.LogEndOffset(), m.leo(); got != want {
		t.Fatalf("LogEndOffset: got %d; want %d", got, want)
	}
	if got, lo, hi := l.LogStartOffset(), m.floor, m.firstLive(); got < lo || got > hi {
		t.Fatalf("LogStartOffset: got %d; want in [%d, %d]", got, lo, hi)
	}
	var size int64
	for _, b := range m.live() {
		size += int64(len(b.data))
	}
	// Size counts whole segments not wholly below the log start: exactly
	// the live batches, except that after a crash cut the log below a
	// checkpointed start, the start's segment also holds older batches.
	var all int64
	for _, b := range m.batches {
		all += int64(len(b.data))
	}
	if got := l.Size(); got < size || got > all || (got != size && l.LogStartOffset() == l.segs[l.segmentFor(l.LogStartOffset())].base) {
		t.Fatalf("Size: got %d; want %d (at most %d with the start inside a segment)", got, size, all)
	}
	for i := 1; i < len(l.segs); i++ {
		if l.segs[i].base != l.segs[i-1].next || l.segs[i-1].size == 0 {
			t.Fatalf("segments not contiguous or empty before the active one: %v", segmentBasesOf(l))
		}
	}
}

// TestRecoveryKeepsExactlyTheValidPrefix writes valid batches, then
// appends arbitrary bytes straight to the active .log file: recovery must
// keep exactly the valid batches.
func TestRecoveryKeepsExactlyTheValidPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := memfs.New()
		cfg := testCfg()
		cfg.SegmentBytes = rapid.Int64Range(200, 5000).Draw(t, "segmentBytes")
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var valid []byte
		n := rapid.IntRange(0, 20).Draw(t, "batches")
		for range n {
			base := l.LogEndOffset()
			recs := rapid.IntRange(1, 5).Draw(t, "records")
			b := makeBatch(spec{base: base, records: recs, maxTs: 5, valueBytes: rapid.IntRange(0, 200).Draw(t, "v")})
			if err := l.Append(b, base, base+core.Offset(recs-1), 0, 0, cfg); err != nil {
				t.Fatal(err)
			}
			valid = append(valid, b...)
		}
		leo, active := l.LogEndOffset(), l.active().name
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		junk := drawJunk(t, leo)
		f, err := fsys.OpenFile(active, false)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := f.Size()
		if _, err := f.WriteAt(junk, size); err != nil {
			t.Fatal(err)
		}
		l, err = Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.LogEndOffset(); got != leo {
			t.Fatalf("got LEO %d; want %d", got, leo)
		}
		if got := readAll(t, l, 0); !bytes.Equal(got, valid) {
			t.Fatalf("got %d bytes; want the %d valid ones", len(got), len(valid))
		}
		if l.active().size != int64(len(valid))-sizeBeforeActive(l) {
			t.Fatalf("active segment size %d not truncated to its valid batches", l.active().size)
		}
	})
}

func sizeBeforeActive(l *Log) int64 { return l.Size() - l.active().size }

// drawJunk draws bytes that are not a valid next batch: random bytes, a
// torn next batch, a valid batch with offsets going backwards, or a next
// batch with one CRC-covered or length byte changed. (BaseOffset and PartitionLeaderEpoch are not covered by the
// CRC, so a batch with only those changed may legitimately be valid.)
func drawJunk(t *rapid.T, leo core.Offset) []byte {
	next := makeBatch(spec{base: leo, records: 2, maxTs: 9, valueBytes: 10})
	switch rapid.IntRange(0, 3).Draw(t, "junkKind") {
	case 0:
		return rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "junk")
	case 1:
		return next[:rapid.IntRange(1, len(next)-1).Draw(t, "tornAt")]
	case 2:
		// a whole valid batch whose offsets go backwards, as stale data of
		// an earlier incarnation of the file would
		back := core.Offset(rapid.IntRange(1, 5).Draw(t, "back"))
		return makeBatch(spec{base: leo - back, records: 2, maxTs: 9})
	default:
		i := rapid.SampledFrom([]int{8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 25, 30, 40, 60, len(next) - 1}).Draw(t, "flipAt")
		next[i] ^= byte(rapid.IntRange(1, 255).Draw(t, "flipBits"))
		return next
	}
}

// TestConsumerReadsMatchModel drives consumers that read on from where
// their last read stopped, as fetches do (the segment read hint serves
// those), between appends, truncations, retention, reopens and crashes,
// and compares every answer with the model.
func TestConsumerReadsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 0.7, GarbageProb: 0.5, GarbageBytesMax: 64}
		cfg := drawCfg(t)
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := &model{}
		cursors := make([]core.Offset, rapid.IntRange(1, 3).Draw(t, "consumers"))
		now := int64(1000)
		for range rapid.IntRange(1, 100).Draw(t, "steps") {
			now += rapid.Int64Range(0, 40).Draw(t, "tick")
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2:
				stepAppend(t, l, m, cfg, now)
			case 3, 4, 5, 6:
				i := rapid.IntRange(0, len(cursors)-1).Draw(t, "consumer")
				cursors[i] = stepReadOn(t, l, m, cursors[i])
			case 7:
				stepTruncate(t, l, m, cfg, now)
			case 8:
				stepRetain(t, l, m, cfg, now)
			case 9:
				if rapid.Bool().Draw(t, "crash") {
					fsys.Crash(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "crashSeed"), 0)))
				} else if err := l.Close(); err != nil {
					t.Fatal(err)
				} else {
					m.synced = len(m.batches)
				}
				l = reopen(t, fsys, cfg, m)
			}
		}
	})
}

// stepReadOn reads from cursor (moved into the log's range first, as a
// consumer resets its position) up to a drawn bound and returns where the
// consumer reads next: one past the last offset returned.
func stepReadOn(t *rapid.T, l *Log, m *model, cursor core.Offset) core.Offset {
	cursor = min(max(cursor, l.LogStartOffset()), l.LogEndOffset())
	below := m.leo() - core.Offset(rapid.IntRange(0, 3).Draw(t, "belowBack"))
	maxBytes := rapid.SampledFrom([]int32{1, 100, 300, 1000, 1 << 20}).Draw(t, "maxBytes")
	got := readEither(t, l, m, cursor, below, maxBytes, true)
	if hs := headers(t, got); len(hs) > 0 {
		return hs[len(hs)-1].LastOffset() + 1
	}
	return cursor
}

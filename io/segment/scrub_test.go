package segment

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// scrubPass scrubs in steps of maxBytes until a pass completes and
// returns what the steps reported together; it fails after steps calls.
func scrubPass(t *testing.T, l *Log, maxBytes int64, steps int) ScrubReport {
	t.Helper()
	var all ScrubReport
	for range steps {
		rep, err := l.Scrub(maxBytes)
		if err != nil {
			t.Fatalf("Scrub: %v", err)
		}
		all.Checked += rep.Checked
		all.Damaged = append(all.Damaged, rep.Damaged...)
		if rep.PassDone {
			all.PassDone = true
			return all
		}
	}
	t.Fatalf("no pass completed in %d steps of %d bytes", steps, maxBytes)
	return all
}

// batchAt locates batch i of a log built by appendN: its segment and its
// position there.
func batchAt(t *testing.T, l *Log, batches [][]byte, i int) (*segment, int64) {
	t.Helper()
	h, err := core.ParseBatchHeader(batches[i])
	if err != nil {
		t.Fatal(err)
	}
	s := l.segs[l.segmentFor(h.BaseOffset)]
	pos := int64(0)
	for _, b := range batches[:i] {
		if bh, _ := core.ParseBatchHeader(b); bh.BaseOffset >= s.base {
			pos += int64(len(b))
		}
	}
	return s, pos
}

// TestScrubFindsDamage flips one bit of a stored batch in each place a
// batch can be damaged and scrubs in small steps: the damage is reported
// once, at the batch's position; reads from there to the segment's end
// are refused while the batches before it and the later segments stay
// readable; and Scrub writes nothing.
func TestScrubFindsDamage(t *testing.T) {
	places := []struct {
		name string
		off  func(size int) int64 // the byte flipped, within the batch
	}{
		{"record", func(size int) int64 { return int64(size - 3) }},
		{"crc", func(int) int64 { return 18 }},
		{"length", func(int) int64 { return 11 }},
		{"base offset", func(int) int64 { return 7 }}, // outside the CRC: the offsets no longer follow
		{"record count", func(int) int64 { return 60 }},
	}
	for _, place := range places {
		t.Run(place.name, func(t *testing.T) {
			fsys := memfs.New()
			cfg := testCfg()
			l := openLog(t, fsys, cfg)
			batches := appendN(t, l, cfg, 40, 3, 1000) // ~6 batches a segment
			const victim = 15
			s, pos := batchAt(t, l, batches, victim)
			if s == l.active() || pos == 0 {
				t.Fatalf("batch %d lies at %d of segment %d; the test wants it inside a sealed segment", victim, pos, s.base)
			}
			var writes []string
			fsys.Inject = func(op, name string) error {
				if op != memfs.OpRead && op != memfs.OpSize {
					writes = append(writes, op+" "+name)
				}
				return nil
			}
			if err := fsys.Corrupt(s.name, pos+place.off(len(batches[victim]))); err != nil {
				t.Fatal(err)
			}
			rep := scrubPass(t, l, 100, 200)
			first := core.Offset(victim * 3)
			want := core.ScrubDamage{Segment: s.name, SegmentBase: s.base, Position: pos, Offset: first, End: s.next}
			if len(rep.Damaged) != 1 {
				t.Fatalf("got damage %+v; want one at %+v", rep.Damaged, want)
			}
			got := rep.Damaged[0]
			if got.Reason == "" {
				t.Errorf("damage %+v gives no reason", got)
			}
			got.Reason = ""
			if got != want {
				t.Fatalf("got damage %+v; want %+v", got, want)
			}
			if wantChecked := l.Size() - (s.size - pos); rep.Checked != wantChecked {
				t.Errorf("checked %d bytes; want %d (everything but the damaged segment from the damage on)", rep.Checked, wantChecked)
			}
			if len(writes) > 0 {
				t.Errorf("Scrub wrote: %v", writes)
			}
			if again := scrubPass(t, l, 1<<20, 10); len(again.Damaged) != 0 {
				t.Errorf("a second pass reported %+v again", again.Damaged)
			}
			checkDamagedReads(t, l, batches, victim, s)
		})
	}
}

// readers are the two read paths: copied (Read) and by reference
// (ReadSpans, whose spans are read here), each of everything from an
// offset to the log end.
var readers = []struct {
	name string
	read func(l *Log, from core.Offset) ([]byte, error)
}{
	{"Read", func(l *Log, from core.Offset) ([]byte, error) { return l.Read(from, l.LogEndOffset(), 1<<30, true) }},
	{"ReadSpans", func(l *Log, from core.Offset) ([]byte, error) {
		ref, err := l.ReadSpans(from, l.LogEndOffset(), 1<<30, true)
		if err != nil || ref == nil {
			return nil, err
		}
		var out []byte
		for _, sp := range ref.Handle.([]kio.Span) {
			b := make([]byte, sp.N)
			if err := sp.Read(b); err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
		return out, nil
	}},
}

// checkDamagedReads: by either read path, a read from the damaged batch
// or past it within its segment s is refused; one from before it returns
// the batches up to it and nothing after; the next segment reads as
// before.
func checkDamagedReads(t *testing.T, l *Log, batches [][]byte, victim int, s *segment) {
	t.Helper()
	for _, r := range readers {
		checkDamagedReadsBy(t, l, batches, victim, s, r.name, r.read)
	}
}

func checkDamagedReadsBy(t *testing.T, l *Log, batches [][]byte, victim int, s *segment, name string, read func(*Log, core.Offset) ([]byte, error)) {
	t.Helper()
	for o := core.Offset(victim * 3); o < s.next; o++ {
		if data, err := read(l, o); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s(%d) at or past the damage: got %d bytes, %v; want ErrCorrupt", name, o, len(data), err)
		}
	}
	firstOfSeg := 0
	for firstOfSeg < victim {
		if h, _ := core.ParseBatchHeader(batches[firstOfSeg]); h.BaseOffset >= s.base {
			break
		}
		firstOfSeg++
	}
	for _, c := range []struct {
		what string
		from core.Offset
		want []byte
	}{
		{"the damaged segment's start", s.base, concat(batches[firstOfSeg:victim])},
		{"the log start", 0, concat(batches[:victim])},
	} {
		if got, err := read(l, c.from); err != nil || !bytes.Equal(got, c.want) {
			t.Fatalf("%s from %s: got %d bytes, %v; want the %d bytes before the damage", name, c.what, len(got), err, len(c.want))
		}
	}
	after := 0
	for after < len(batches) {
		if h, _ := core.ParseBatchHeader(batches[after]); h.BaseOffset >= s.next {
			break
		}
		after++
	}
	if got, err := read(l, s.next); err != nil || !bytes.Equal(got, concat(batches[after:])) {
		t.Fatalf("%s of the next segment: got %d bytes, %v; want %d", name, len(got), err, len(concat(batches[after:])))
	}
}

// TestScrubDamagedActiveSegmentRolls: damage in the active segment is
// found, and the next append goes to a new segment, which reads.
func TestScrubDamagedActiveSegmentRolls(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 3, 2, 1000)
	s := l.active()
	if err := fsys.Corrupt(s.name, s.size-1); err != nil {
		t.Fatal(err)
	}
	rep := scrubPass(t, l, 1<<20, 5)
	if len(rep.Damaged) != 1 || rep.Damaged[0].Segment != s.name || rep.Damaged[0].End != 6 {
		t.Fatalf("got damage %+v; want one in %s ending at offset 6", rep.Damaged, s.name)
	}
	more := appendN(t, l, cfg, 2, 2, 2000)
	if l.active() == s || l.active().base != 6 {
		t.Fatalf("the append after the damage went to segment %d; want a new one at 6", l.active().base)
	}
	if got := readAll(t, l, 6); !bytes.Equal(got, concat(more)) {
		t.Fatalf("read past the damaged segment: got %d bytes; want %d", len(got), len(concat(more)))
	}
	if _, err := l.Read(4, l.LogEndOffset(), 1<<20, true); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of the damaged batch: got %v; want ErrCorrupt", err)
	}
}

// TestScrubLargeBatch: damage at the end of a batch larger than the
// verification window is found.
func TestScrubLargeBatch(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes = 1 << 20
	l := openLog(t, fsys, cfg)
	big := makeBatch(spec{records: 3, valueBytes: 50 << 10})
	if err := l.Append(big, 0, 2, 0, 0, cfg); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, cfg, 2, 1, 0)
	if rep := scrubPass(t, l, 1, 10); len(rep.Damaged) != 0 || rep.Checked != l.Size() {
		t.Fatalf("sound log: got damage %+v, %d bytes checked; want none, %d", rep.Damaged, rep.Checked, l.Size())
	}
	if err := fsys.Corrupt(l.active().name, int64(len(big)-2)); err != nil {
		t.Fatal(err)
	}
	rep := scrubPass(t, l, 1, 10)
	if len(rep.Damaged) != 1 || rep.Damaged[0].Position != 0 || rep.Damaged[0].Offset != 0 {
		t.Fatalf("got damage %+v; want one at position 0, offset 0", rep.Damaged)
	}
}

// TestScrubCursor: a pass ends at the log end it began with, though
// segments were appended and rolled meanwhile (the next pass covers
// them), so that a log written faster than it is scrubbed still completes
// passes; the cursor starts over at the first segment when its own is
// deleted by retention or replaced by a truncation.
func TestScrubCursor(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 20, 3, 1000)
	if rep := scrubPass(t, l, 1<<20, 2); rep.Checked != l.Size() {
		t.Fatalf("a pass checked %d bytes; want the log's %d", rep.Checked, l.Size())
	}
	size := l.Size()
	rep, err := l.Scrub(size / 2)
	if err != nil || rep.PassDone {
		t.Fatalf("half a pass: %+v, %v; want it unfinished", rep, err)
	}
	half := rep.Checked
	appendN(t, l, cfg, 20, 3, 2000)
	if rest := scrubPass(t, l, 300, 100); half+rest.Checked != size {
		t.Fatalf("a pass across rolls checked %d+%d bytes; want the %d the log held when it began", half, rest.Checked, size)
	}
	if next := scrubPass(t, l, 300, 100); next.Checked != l.Size() {
		t.Fatalf("the next pass checked %d bytes; want the log's %d", next.Checked, l.Size())
	}
	// Appends outpacing the scrubber: passes still end.
	passes := 0
	for range 60 {
		rep, err := l.Scrub(100)
		if err != nil {
			t.Fatal(err)
		}
		if rep.PassDone {
			passes++
		}
		appendN(t, l, cfg, 2, 3, 3000)
	}
	if passes == 0 {
		t.Fatalf("no pass completed while appends outpaced the scrubber")
	}
	// Into a segment that retention then deletes: the next call starts
	// at the new first segment.
	for l.scrub.seg != l.segs[2] {
		if _, err := l.Scrub(1); err != nil {
			t.Fatal(err)
		}
	}
	cfg.RetentionBytes = l.Size() - l.segs[0].size - l.segs[1].size - l.segs[2].size // the first three go
	for range 2 {
		if _, err := l.Retain(0, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if slices.Contains(l.segs, l.scrub.seg) {
		t.Fatalf("retention kept the cursor's segment %d (first now %d); the test wants it deleted", l.scrub.seg.base, l.segs[0].base)
	}
	if rep := scrubPass(t, l, 300, 100); rep.Checked != l.Size() {
		t.Fatalf("after retention a pass checked %d bytes; want the log's %d", rep.Checked, l.Size())
	}
	// Into the active segment, which a truncation then replaces.
	for l.scrub.seg != l.active() {
		if _, err := l.Scrub(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.TruncateTo(l.LogEndOffset()-3, 0, cfg); err != nil {
		t.Fatal(err)
	}
	if rep := scrubPass(t, l, 300, 100); rep.Checked != l.Size() || len(rep.Damaged) != 0 {
		t.Fatalf("after a truncation a pass checked %d bytes, damage %+v; want the log's %d, none", rep.Checked, rep.Damaged, l.Size())
	}
}

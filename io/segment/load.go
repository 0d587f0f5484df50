package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
)

// loadSegment opens the segment at base without reading its batches:
// it trusts its bytes and its indexes (see the package doc, "Restart")
// once they pass the sanity check, as Kafka's LogSegment.sanityCheck
// and its lazy loading do:
//
//   - both index files exist, hold whole entries, and their entries
//     increase (offset index: relative offsets and positions; time
//     index: timestamps, and relative offsets do not go back);
//   - the last offset index entry lies within the .log and names a batch
//     that starts there and ends at the entry's offset;
//   - from there the batch headers run, offsets following, exactly to
//     the end of the .log (the next offset is found so, reading
//     IndexIntervalBytes and a batch at most);
//   - the last time index entry lies within the segment's offsets.
//
// The size comes from the file, the newest timestamp from the last time
// index entry and the headers read, the age base from the first batch's
// header. bad says why the check failed (nil when it passed); err is an
// IO error. gaps and limit are segment.recover's.
func loadSegment(fsys kio.FS, dir string, base core.Offset, gaps bool, limit core.Offset) (s *segment, bad, err error) {
	s = &segment{base: base, next: base, name: fileName(dir, base, logExt),
		maxTs: noTimestamp, maxTsOffset: base, lastTimeTs: noTimestamp, lastAppendMs: noTimestamp}
	s.idx.name, s.tidx.name = fileName(dir, base, indexExt), fileName(dir, base, timeIndexExt)
	for _, name := range []string{s.idx.name, s.tidx.name} {
		if !fsys.Exists(name) {
			return nil, fmt.Errorf("%s is missing", name), nil
		}
	}
	if s.log, err = fsys.OpenFile(s.name, false); err == nil {
		if s.idx.f, err = fsys.OpenFile(s.idx.name, false); err == nil {
			s.tidx.f, err = fsys.OpenFile(s.tidx.name, false)
		}
	}
	if err == nil {
		bad, err = s.trust(gaps, limit)
	}
	if err != nil || bad != nil {
		s.close()
		if err != nil {
			return nil, nil, fmt.Errorf("segment: load %s: %w", s.name, err)
		}
		return nil, fmt.Errorf("%s: %w", s.name, bad), nil
	}
	return s, nil, nil
}

// trust runs loadSegment's sanity check and fills s from it.
func (s *segment) trust(gaps bool, limit core.Offset) (bad, err error) {
	if s.size, err = s.log.Size(); err != nil {
		return nil, err
	}
	if s.size > segmentBytesMax {
		return fmt.Errorf("%d bytes exceed the segment limit", s.size), nil
	}
	offs, bad, err := readEntries(&s.idx, offsetEntrySize)
	if bad != nil || err != nil {
		return bad, err
	}
	times, bad, err := readEntries(&s.tidx, timeEntrySize)
	if bad != nil || err != nil {
		return bad, err
	}
	if bad = checkOffsetEntries(offs, s.size); bad != nil {
		return bad, nil
	}
	if bad = checkTimeEntries(times); bad != nil {
		return bad, nil
	}
	if n := len(offs); n > 0 {
		s.lastIndexPos = int64(binary.BigEndian.Uint32(offs[n-offsetEntrySize+4:]))
	}
	if n := len(times); n > 0 {
		s.lastTimeTs = int64(binary.BigEndian.Uint64(times[n-timeEntrySize:]))
		s.maxTs, s.maxTsOffset = s.lastTimeTs, s.base+core.Offset(binary.BigEndian.Uint32(times[n-4:]))
	}
	lastTs, lastTsOffset := s.maxTs, s.maxTsOffset
	if bad, err = s.walkTail(offs, gaps, limit); bad != nil || err != nil {
		return bad, err
	}
	if len(times) > 0 {
		if bad, err = s.checkTimeEntry(offs, lastTs, lastTsOffset); bad != nil || err != nil {
			return bad, err
		}
	}
	return s.readFirstTimestamp()
}

// checkTimeEntry checks the last time index entry, which the newest
// timestamp comes from: the batch ending at its offset exists (found
// from the offset index) and has its timestamp.
func (s *segment) checkTimeEntry(offs []byte, ts int64, off core.Offset) (bad, err error) {
	if off >= s.next {
		return fmt.Errorf("time index entry at offset %d past the segment's end %d", off, s.next), nil
	}
	pos := int64(0)
	for i := 0; i < len(offs); i += offsetEntrySize {
		if s.base+core.Offset(binary.BigEndian.Uint32(offs[i:])) > off {
			break
		}
		pos = int64(binary.BigEndian.Uint32(offs[i+4:]))
	}
	r := &blockReader{f: s.log, name: s.name, end: s.size, buf: make([]byte, 0, scanWindowBytes)}
	for pos < s.size {
		h, err := s.headerAt(r, pos)
		if err != nil {
			return fmt.Errorf("looking up the time index entry: %w", err), nil
		}
		if h.LastOffset() >= off {
			if h.LastOffset() != off || h.MaxTimestamp != ts {
				return fmt.Errorf("time index entry (%d, %d) names no batch (the batch at %d ends at %d with timestamp %d)", ts, off, pos, h.LastOffset(), h.MaxTimestamp), nil
			}
			return nil, nil
		}
		pos += int64(h.Size())
	}
	return fmt.Errorf("time index entry at offset %d: no batch ends there", off), nil
}

// readEntries reads a whole index file; bad when it holds a partial entry.
func readEntries(w *indexWriter, entrySize int) (entries []byte, bad, err error) {
	size, err := w.f.Size()
	if err != nil {
		return nil, nil, err
	}
	if size%int64(entrySize) != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-byte entries", w.name, size, entrySize), nil
	}
	w.size = size
	buf := make([]byte, size)
	if size == 0 {
		return buf, nil, nil
	}
	if _, err := w.f.ReadAt(buf, 0); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", w.name, err)
	}
	return buf, nil, nil
}

// checkOffsetEntries checks that offsets and positions strictly increase
// and that every position lies inside the .log, past its first batch.
func checkOffsetEntries(b []byte, logSize int64) error {
	var prevRel, prevPos int64 = -1, 0
	for i := 0; i < len(b); i += offsetEntrySize {
		rel, pos := int64(binary.BigEndian.Uint32(b[i:])), int64(binary.BigEndian.Uint32(b[i+4:]))
		if rel <= prevRel || pos <= prevPos || pos >= logSize || rel > math.MaxInt32 {
			return fmt.Errorf("offset index entry %d (%d, %d) does not follow (%d, %d) within %d bytes", i/offsetEntrySize, rel, pos, prevRel, prevPos, logSize)
		}
		prevRel, prevPos = rel, pos
	}
	return nil
}

// checkTimeEntries checks that timestamps strictly increase and offsets
// do not go back.
func checkTimeEntries(b []byte) error {
	prevTs, prevRel := int64(math.MinInt64), int64(-1)
	for i := 0; i < len(b); i += timeEntrySize {
		ts, rel := int64(binary.BigEndian.Uint64(b[i:])), int64(binary.BigEndian.Uint32(b[i+8:]))
		if ts <= prevTs || rel < prevRel || rel > math.MaxInt32 {
			return fmt.Errorf("time index entry %d (%d, %d) does not follow (%d, %d)", i/timeEntrySize, ts, rel, prevTs, prevRel)
		}
		prevTs, prevRel = ts, rel
	}
	return nil
}

// walkTail reads the batch headers from the last offset index entry (or
// the start) to the end of the .log: they must start where the entry
// says, at its offset, follow one another and end exactly at the file's
// end. It sets next and folds their timestamps into maxTs.
func (s *segment) walkTail(offs []byte, gaps bool, limit core.Offset) (bad, err error) {
	r := &blockReader{f: s.log, name: s.name, end: s.size, buf: make([]byte, 0, scanWindowBytes)}
	pos, wantLast := int64(0), core.Offset(-1)
	if n := len(offs); n > 0 {
		pos = s.lastIndexPos
		wantLast = s.base + core.Offset(binary.BigEndian.Uint32(offs[n-offsetEntrySize:]))
	}
	for pos < s.size {
		hdr, err := r.peek(pos, core.BatchHeaderSize)
		if errors.Is(err, errPastEnd) {
			return fmt.Errorf("header at %d past the end %d", pos, s.size), nil
		}
		if err != nil {
			return nil, err
		}
		h, perr := core.ParseBatchHeader(hdr)
		if perr != nil {
			return fmt.Errorf("header at %d: %w", pos, perr), nil
		}
		var follows bool
		switch {
		case pos == s.lastIndexPos && wantLast >= 0: // the first, at the last index entry
			if h.LastOffset() != wantLast {
				return fmt.Errorf("the last offset index entry says the batch at %d ends at offset %d; it ends at %d", pos, wantLast, h.LastOffset()), nil
			}
			follows = h.BaseOffset >= s.base
		case pos == 0:
			follows = h.BaseOffset == s.base || (gaps && h.BaseOffset > s.base)
		default:
			follows = h.BaseOffset == s.next || (gaps && h.BaseOffset > s.next)
		}
		end := pos + int64(h.Size())
		if !follows || end > s.size || h.LastOffsetDelta < 0 || h.LastOffset()-s.base > math.MaxInt32 || (gaps && h.LastOffset() >= limit) {
			return fmt.Errorf("the batch at %d (offsets %d..%d, %d bytes) does not follow offset %d (index entry %d) within %d bytes",
				pos, h.BaseOffset, h.LastOffset(), h.Size(), s.next-1, wantLast, s.size), nil
		}
		if h.MaxTimestamp > s.maxTs {
			s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
		s.next, pos = h.LastOffset()+1, end
	}
	return nil, nil
}

// readFirstTimestamp sets the age base and first timestamp from the
// first batch's header.
func (s *segment) readFirstTimestamp() (bad, err error) {
	if s.size == 0 {
		return nil, nil
	}
	hdr := make([]byte, core.BatchHeaderSize)
	if _, err := s.log.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.name, err)
	}
	h, perr := core.ParseBatchHeader(hdr)
	if perr != nil || h.BaseOffset < s.base || h.LastOffset() >= s.next {
		return fmt.Errorf("first batch header does not parse or lies outside the segment"), nil
	}
	s.firstTs, s.rollBaseMs = h.MaxTimestamp, h.MaxTimestamp
	return nil, nil
}

// OpenOptions says what OpenWith may trust (see the package doc,
// "Restart").
type OpenOptions struct {
	// CleanShutdown: the log directory held the clean-shutdown marker,
	// so every file is as the last Close left it, synced.
	CleanShutdown bool
	// RecoveryPoint is the log's entry in the log directory's
	// recovery-point-offset-checkpoint, or -1 when it has none.
	RecoveryPoint core.Offset
}

// LoadMode is how OpenWith loaded a log.
type LoadMode uint8

const (
	// RecoveredFully: every batch was checked (no shortcut allowed, or
	// one failed its sanity check).
	RecoveredFully LoadMode = iota
	// LoadedClean: after a clean shutdown, nothing was scanned.
	LoadedClean
	// LoadedFromRecoveryPoint: the segments before the one holding the
	// recovery point were trusted; that one was read from its start,
	// headers only below the recovery point; the rest were checked.
	LoadedFromRecoveryPoint
)

func (m LoadMode) String() string {
	switch m {
	case LoadedClean:
		return "loaded after a clean shutdown"
	case LoadedFromRecoveryPoint:
		return "recovered from its recovery point"
	}
	return "recovered fully"
}

// Loaded says how OpenWith loaded a log, for the broker's log.
type Loaded struct {
	Mode LoadMode
	// FellBack says why a shortcut the options allowed was not taken
	// (a sanity check failed), or is empty.
	FellBack string
	// RecoveryPoint is the checkpointed recovery point used (-1: none).
	RecoveryPoint core.Offset
	// TrustedSegments were loaded without reading their batches;
	// TrustedBytes counts their bytes and the bytes whose headers alone
	// were read; CheckedBytes those whose CRCs were checked.
	TrustedSegments int
	TrustedBytes    int64
	CheckedBytes    int64
}

// Loaded says how Open loaded the log.
func (l *Log) Loaded() Loaded { return l.loaded }

// Partition is the log's partition, from its directory's name.
func (l *Log) Partition() core.TopicPartition { return partitionOf(path.Base(l.dir)) }

// RecoveryPoint is an offset below which the log is durable as a restart
// may trust it: every batch below it is synced, and so are the indexes
// of every segment wholly below the segment holding it. It is the log
// end offset as of the last Sync that completed, or the base of the
// first sealed segment whose indexes changed since their last fsync
// (a roll since that Sync), whichever is lower.
func (l *Log) RecoveryPoint() core.Offset {
	r := l.syncedEnd
	if bugOn(BugRecoveryPointAtLogEnd) {
		r = l.LogEndOffset() // BUG SITE (simbugs): BugRecoveryPointAtLogEnd vouches for unsynced batches.
	}
	for _, s := range l.segs[:max(len(l.segs)-1, 0)] {
		if s.idx.dirty || s.tidx.dirty {
			return min(r, s.base)
		}
	}
	return r
}

// syncSealedIndexes fsyncs the indexes of every sealed segment that
// changed since their last fsync.
func (l *Log) syncSealedIndexes() error {
	for _, s := range l.segs[:max(len(l.segs)-1, 0)] {
		if err := s.tidx.sync(); err != nil { // the time index first: see installIndexes
			return err
		}
		if err := s.idx.sync(); err != nil {
			return err
		}
	}
	return nil
}

// load fills segs and the derived state from the segment files bases,
// trusting what opts allow, else recovering every segment.
func (l *Log) load(bases []core.Offset, cfg core.LogConfig, opts OpenOptions) error {
	l.loaded = Loaded{RecoveryPoint: opts.RecoveryPoint}
	snap := readProducers(l.fs, l.dir)
	if (opts.CleanShutdown || opts.RecoveryPoint >= 0) && len(bases) > 0 {
		ok, err := l.loadTrusting(bases, snap, cfg, opts)
		if err != nil {
			return err
		}
		if ok {
			switch {
			case l.loaded.Mode == LoadedClean:
				cfg.Coverage.Hit(cover.RecoveryLoadedClean)
			case l.loaded.TrustedBytes > 0:
				cfg.Coverage.Hit(cover.RecoveryFromPoint)
			}
			return nil
		}
		cfg.Coverage.Hit(cover.RecoveryFellBack)
		l.closeFiles()
		*l = Log{fs: l.fs, dir: l.dir, cleanedTo: l.cleanedTo, rewriteBound: l.rewriteBound,
			loaded: Loaded{RecoveryPoint: opts.RecoveryPoint, FellBack: l.loaded.FellBack}}
	}
	if err := l.recoverSegments(bases, 0, 0, cfg); err != nil {
		return err
	}
	l.producers = l.producers.withSnapshot(snap.batches, l.segs[0].base)
	l.snapshotAt = snap.asOf
	return nil
}

// loadTrusting loads the log as the package doc's "Restart" says:
// segments trusted (loadSegment) up to the end after a clean shutdown,
// else up to the segment holding the recovery point, which is read from
// its start (headers only below the recovery point) like every later
// one. ok is false, with l.loaded.FellBack saying why, when a trusted
// file fails its check (found before anything is written), or when what
// was recovered contradicts the recovery point (found after: the full
// recovery that follows repeats whatever was repaired).
func (l *Log) loadTrusting(bases []core.Offset, snap producerSnapshot, cfg core.LogConfig, opts OpenOptions) (ok bool, err error) {
	n, trustBelow := len(bases), core.Offset(math.MaxInt64)
	if !opts.CleanShutdown {
		trustBelow = opts.RecoveryPoint
		n = 0 // the segments before the last one whose base is <= the recovery point
		for n+1 < len(bases) && bases[n+1] <= trustBelow {
			n++
		}
	}
	for i := range n {
		limit := core.Offset(math.MaxInt64)
		if i+1 < len(bases) {
			limit = bases[i+1]
		}
		s, bad, err := loadSegment(l.fs, l.dir, bases[i], bases[i] < l.rewriteBound, limit)
		if err != nil {
			return false, err
		}
		if bad == nil && len(l.segs) > 0 && !l.follows(l.active(), bases[i]) {
			s.close()
			bad = fmt.Errorf("segment %d does not follow segment %d, which ends at %d", bases[i], l.active().base, l.active().next)
		}
		if bad != nil {
			l.loaded.FellBack = bad.Error()
			return false, nil
		}
		l.segs = append(l.segs, s)
		l.loaded.TrustedSegments++
		l.loaded.TrustedBytes += s.size
	}
	replayFrom := l.trustedEnd(bases, n)
	epochs, bad := l.readEpochs(replayFrom)
	if bad != nil {
		l.loaded.FellBack = bad.Error()
		return false, nil
	}
	l.epochs = epochs
	l.loaded.Mode = LoadedClean
	if n < len(bases) {
		l.loaded.Mode = LoadedFromRecoveryPoint
		if err := l.recoverSegments(bases, n, trustBelow, cfg); err != nil {
			return false, err
		}
		// The segment holding the recovery point held batches below it
		// when the Sync that made it the recovery point synced the
		// directory: if it is the last and all was below, every name is
		// durable already.
		l.namesDurable = n == len(bases)-1 && len(l.segs) == len(bases) && bases[n] < trustBelow && l.loaded.CheckedBytes == 0
	} else if err := l.ensureActive(); err != nil {
		return false, err
	}
	if bad, err := l.alignEpochs(); err != nil || bad != nil {
		if bad != nil {
			l.loaded.FellBack = bad.Error()
		}
		return false, err
	}
	if leo := l.LogEndOffset(); !opts.CleanShutdown && opts.RecoveryPoint > leo {
		// The checkpoint vouched for batches the log does not hold: it
		// cannot be trusted for what it said below either.
		l.loaded.FellBack = fmt.Sprintf("recovery point %d is past the recovered log end %d", opts.RecoveryPoint, leo)
		return false, nil
	}
	return true, l.settleProducers(snap, replayFrom, n)
}

// alignEpochs makes the epoch cache of a trusted load what a full
// recovery derives from the batches the log holds: the checkpoint's
// first entry may have been moved up to a log start (truncateFromStart)
// past which the log's first batch with its epoch lies (compaction
// removed the ones between), or name a log start at a log end that holds
// no batch. So the first entry is the log's first batch's epoch at its
// offset, followed by the later entries.
func (l *Log) alignEpochs() (bad, err error) {
	for _, s := range l.segs {
		if s.size == 0 {
			continue
		}
		hdr := make([]byte, core.BatchHeaderSize)
		if _, err := s.log.ReadAt(hdr, 0); err != nil {
			return nil, fmt.Errorf("segment: read %s: %w", s.name, err)
		}
		h, perr := core.ParseBatchHeader(hdr)
		if perr != nil || h.PartitionLeaderEpoch < 0 {
			return fmt.Errorf("%s: the first batch has no leader epoch or does not parse", s.name), nil
		}
		out := []epochEntry{{h.PartitionLeaderEpoch, h.BaseOffset}}
		for _, e := range l.epochs.entries {
			if e.Start > h.BaseOffset && e.Epoch > h.PartitionLeaderEpoch {
				out = append(out, e)
			}
		}
		l.epochs.entries = out
		return nil, nil
	}
	l.epochs.entries = nil // no batch to derive an epoch from
	return nil, nil
}

// bytes is the total size of the segments.
func (l *Log) bytes() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n
}

// trustedEnd is where the batches recovery reads begin: the base of the
// first segment not trusted, or the end of the trusted ones.
func (l *Log) trustedEnd(bases []core.Offset, n int) core.Offset {
	if n < len(bases) {
		return bases[n]
	}
	return l.active().next
}

// readEpochs reads the leader epoch checkpoint for a trusted load: the
// entries that start below replayFrom, whose batches the load trusts;
// those after come from the batches read. One at replayFrom is kept only
// where the log start is (the first entry moved up to a log start at the
// log end, which no batch shows): anywhere else it names a batch at
// replayFrom, which the batches read show again if recovery keeps it.
// A checkpoint that does not parse, or is missing while trusted batches
// exist, fails the load.
func (l *Log) readEpochs(replayFrom core.Offset) (epochCache, error) {
	entries, present, err := readEpochFile(l.fs, l.dir)
	if err != nil {
		return epochCache{}, err
	}
	if !present && l.bytes() > 0 {
		return epochCache{}, fmt.Errorf("%s is missing", epochFile)
	}
	var c epochCache
	start := readStart(l.fs, l.dir)
	for _, e := range entries {
		if e.Start < replayFrom || e.Start == replayFrom && replayFrom <= start {
			c.entries = append(c.entries, e)
		}
	}
	return c, nil
}

// settleProducers makes the producer windows of a trusted load: the
// snapshot stands for the batches below replayFrom when it is as of an
// offset in [replayFrom, log end] (so the batches between replayFrom and
// it were read again and are the same); else the headers of the n
// trusted segments are read, as a full recovery would.
func (l *Log) settleProducers(snap producerSnapshot, replayFrom core.Offset, n int) error {
	l.snapshotAt = snap.asOf
	if snap.asOf >= replayFrom && snap.asOf <= l.LogEndOffset() {
		l.producers = l.producers.withSnapshot(snap.batches, replayFrom)
		return nil
	}
	var early producerState
	for _, s := range l.segs[:n] {
		r := newBlockReader(s.log, s.name, s.size)
		for pos := int64(0); pos < s.size; {
			h, err := s.headerAt(r, pos)
			if err != nil {
				return err
			}
			early.note(h)
			pos += int64(h.Size())
		}
	}
	for _, b := range l.producers.list() {
		early.remember(b)
	}
	l.producers = early.withSnapshot(snap.batches, l.segs[0].base)
	return nil
}

// Summary describes the log's state as recovery derives it, one line per
// part: log start and end, leader epochs, producer windows, and each
// segment's base, size, next offset, newest timestamp (and the offset
// it was found at) and age base. Two loads of the same files must give
// the same summary however much they trusted (the simulator compares a
// trusted load with a full recovery).
func (l *Log) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %d end %d\nepochs %v\nproducers %v\n", l.start, l.LogEndOffset(), l.epochs.entries, l.producers.list())
	for _, s := range l.segs {
		fmt.Fprintf(&b, "segment %d: %d bytes, next %d, max timestamp %d at %d, first timestamp %d\n",
			s.base, s.size, s.next, s.maxTs, s.maxTsOffset, s.rollBaseMs)
	}
	return b.String()
}

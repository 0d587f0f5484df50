package segment

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
)

// Errors of the Log. IO errors from the FS are wrapped with %w after them.
var (
	// ErrOffsetOutOfRange: a read below the log start or past the log end.
	ErrOffsetOutOfRange = errors.New("segment: offset out of range")
	// ErrBadAppend: Append got data that does not parse as whole batches or
	// whose offsets do not follow the log end; a caller bug.
	ErrBadAppend = errors.New("segment: bad append")
	// ErrCorrupt: a recovered segment no longer parses (changed on disk
	// after Open); reopening the log repairs it by truncation.
	ErrCorrupt = errors.New("segment: corrupt segment")
	// ErrFailed: an earlier write or sync failed; reopen the log.
	ErrFailed = errors.New("segment: log failed, reopen it")
	// ErrClosed: the Log was closed or deleted.
	ErrClosed = errors.New("segment: log closed")
)

// Log is one partition's log: a directory of segments. It is not safe for
// concurrent use.
//
// Invariants while usable: len(segs) >= 1; segs are in base order and
// contiguous (segs[i+1].base == segs[i].next), except that a segment
// below rewriteBound may end before the next one begins (the cleaner
// removed its last records); only the last (active) segment and segments
// below rewriteBound may be empty.
type Log struct {
	fs   kio.FS
	dir  string
	segs []*segment
	// start is the log start offset: segs[0].base <= start <= the log
	// end. Retention moves it (durably, see start.go) before it deletes
	// the segments wholly below it.
	start     core.Offset
	epochs    epochCache
	producers producerState
	// cleanedTo is the cleaner checkpoint: the first offset of the dirty
	// section (the cleaner has deduplicated everything below it).
	// rewriteBound is an offset below which the cleaner may have
	// rewritten segments, so that their offsets may have gaps; it is made
	// durable before any rewrite (see clean.go).
	cleanedTo    core.Offset
	rewriteBound core.Offset
	dirDirty     bool  // names in dir changed since the last SyncDir
	failed       error // sticky; wraps ErrFailed
	closed       bool
	scanBuf      []byte // window of the header scans of Read and FindTime, reused

	// syncedEnd is the log end offset as of the last Sync that
	// completed (or Open): every batch below it is durable. See
	// RecoveryPoint.
	syncedEnd core.Offset
	// snapshotAt is the offset the producer snapshot on disk is as of
	// (-1: none usable). Sync writes a new one once the active segment
	// begins past it, so that it always lies in or past the segment
	// holding the recovery point.
	snapshotAt core.Offset
	loaded     Loaded // how Open loaded the log
	// namesDurable: Open found every segment name durable already.
	namesDurable bool
	scrub        scrubCursor
	// pending are the segments removed from segs whose files wait for
	// their delayed deletion (deletion.go), in removal order; at most
	// pendingDeletionsMax.
	pending []pendingDeletion
}

// Open opens the partition log in dir, creating dir if missing, and
// recovers it (see the package doc): every batch is verified, the log is
// truncated at the first invalid one and the indexes are rebuilt.
func Open(fsys kio.FS, dir string, cfg core.LogConfig) (*Log, error) {
	return OpenWith(fsys, dir, cfg, OpenOptions{RecoveryPoint: -1})
}

// OpenWith opens the partition log in dir, creating dir if missing, and
// loads it as opts allow (see the package doc, "Restart"): trusting what
// a clean shutdown or the recovery point vouches for, and recovering the
// rest as Open does. How it went is in Loaded.
func OpenWith(fsys kio.FS, dir string, cfg core.LogConfig, opts OpenOptions) (*Log, error) {
	created, err := makeDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("segment: list %s: %w", dir, err)
	}
	l := &Log{fs: fsys, dir: dir}
	bases, swaps, strays := dirListing(names)
	for _, n := range strays {
		if strings.HasSuffix(n, cleanedExt) {
			cfg.Coverage.Hit(cover.CleanerLeftoverDiscarded)
		}
		if err := l.remove(path.Join(dir, n)); err != nil {
			return nil, err
		}
	}
	l.cleanedTo = readCheckpoint(fsys, dir, cleanerFile)
	l.rewriteBound = max(readCheckpoint(fsys, dir, rewriteFile), 0)
	if bases, err = l.completeSwaps(bases, swaps, cfg); err != nil {
		return nil, err
	}
	if err := l.load(bases, cfg, opts); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.finishOpen(created); err != nil {
		l.closeFiles()
		return nil, err
	}
	return l, nil
}

// finishOpen settles what the loaded segments imply: the log start, the
// epoch cache's start, durable names and indexes, a producer snapshot
// as of the log end, and the recovery point. created says Open made the
// directory: its first segment's names are made durable by the first
// Sync or durable write (until then a power loss may take them, and with
// them nothing but an empty log, which the next start makes again).
func (l *Log) finishOpen(created bool) error {
	ckpt := readStart(l.fs, l.dir)
	l.start = min(max(ckpt, l.segs[0].base), l.LogEndOffset())
	if ckpt > l.start {
		// The crash lost the tail the checkpoint's start lay in: offsets
		// written from here on are new and must stay above the start.
		if err := writeStart(l.fs, l.dir, l.start); err != nil {
			return err
		}
	}
	l.epochs.truncateFromStart(l.start)
	// The names recovery kept may not be durable yet (a process crash
	// keeps names a power loss would not): make them so (a clean
	// shutdown left them durable, and so did the last Sync when only
	// what lay below the recovery point was kept; see loadTrusting). So must be the indexes recovery
	// rebuilt for sealed segments, before the recovery point may pass
	// them.
	l.dirDirty = l.dirDirty || !(l.loaded.Mode == LoadedClean || l.namesDurable)
	if err := l.syncSealedIndexes(); err != nil {
		return err
	}
	if !created {
		if err := l.syncDirIfDirty(); err != nil {
			return err
		}
	}
	// The recovery point is the log end from here: the epoch checkpoint
	// must hold the entries of every batch below it.
	if !l.epochs.matchesFile(l.fs, l.dir) {
		if err := l.epochs.writeCheckpoint(l.fs, l.dir); err != nil {
			return err
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("segment: sync dir %s: %w", l.dir, err)
		}
	}
	if leo := l.LogEndOffset(); l.snapshotAt > leo || l.snapshotNeeded() {
		// The snapshot describes batches a crash took, or is older than
		// the active segment: a restart could not use it.
		if err := writeProducers(l.fs, l.dir, leo, l.producers.list()); err != nil {
			return err
		}
		l.snapshotAt = leo
	}
	l.syncedEnd = l.LogEndOffset()
	return nil
}

// makeDir creates dir if missing and then syncs its parent, so that the
// new partition directory itself survives a crash; created says it was
// missing.
func makeDir(fsys kio.FS, dir string) (created bool, err error) {
	if fsys.Exists(dir) {
		return false, nil
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return false, fmt.Errorf("segment: mkdir %s: %w", dir, err)
	}
	if err := fsys.SyncDir(path.Dir(dir)); err != nil {
		return false, fmt.Errorf("segment: sync dir %s: %w", path.Dir(dir), err)
	}
	return true, nil
}

// recoverSegments opens and scans the segments bases[from:] in order
// (those before are loaded already), cutting the log at the first
// invalid batch or discontinuity, and leaves at least one segment open.
// The headers of batches below trustBelow in the first of them are
// trusted (see scan). Segments below rewriteBound may have gaps (see
// segment.recover); if the last of them ends the log, an empty active
// segment starts at rewriteBound, because every offset below it was
// assigned before (a crash lost the segments after it) and must not be
// assigned again.
func (l *Log) recoverSegments(bases []core.Offset, from int, trustBelow core.Offset, cfg core.LogConfig) error {
	cut := false
	for i := from; i < len(bases); i++ {
		base := bases[i]
		if !cut && len(l.segs) > 0 && !l.follows(l.active(), base) {
			cut = true
			cfg.Coverage.Hit(cover.RecoveryCutSegment)
		}
		if cut {
			if err := l.removeSegmentFiles(base); err != nil {
				return err
			}
			continue
		}
		if len(l.segs) > 0 {
			if err := l.active().seal(); err != nil {
				return err
			}
		}
		s, err := openSegment(l.fs, l.dir, base, tmpExt)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
		sc := scan{intervalBytes: cfg.IndexIntervalBytes, gaps: base < l.rewriteBound, limit: math.MaxInt64,
			cov: cfg.Coverage, visit: l.noteBatch}
		if i+1 < len(bases) {
			sc.limit = bases[i+1]
		}
		if i == from {
			sc.trustBelow = trustBelow
		}
		cut, err = s.recover(&sc)
		l.loaded.TrustedBytes += sc.trusted
		l.loaded.CheckedBytes += sc.checked
		if err != nil {
			return err
		}
		if err := l.installIndexes(s); err != nil {
			return err
		}
	}
	return l.ensureActive()
}

// ensureActive leaves at least one segment, the last at or past the
// rewrite bound (see recoverSegments).
func (l *Log) ensureActive() error {
	if len(l.segs) == 0 {
		return l.addSegment(max(l.rewriteBound, 0))
	}
	if s := l.active(); s.next < l.rewriteBound {
		if err := s.seal(); err != nil {
			return err
		}
		return l.addSegment(l.rewriteBound)
	}
	return nil
}

// follows says whether a segment at base may follow prev: right after
// it, or, after a segment the cleaner may have rewritten, anywhere past
// its last batch.
func (l *Log) follows(prev *segment, base core.Offset) bool {
	if prev.base < l.rewriteBound {
		return base >= prev.next
	}
	return base == prev.next
}

// noteBatch updates the state derived from batch headers.
func (l *Log) noteBatch(h core.BatchHeader) {
	l.producers.note(h)
	l.epochs.note(h)
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// installIndexes writes out the indexes a recovery rebuilt in s under
// temporary names (openSegment) and renames them into place, the time
// index first: a time index ahead of the offset index is one a load
// trusts rightly (its entries name batches it finds from any offset
// index entry before), the other way round it is not.
func (l *Log) installIndexes(s *segment) error {
	for _, w := range []*indexWriter{&s.tidx, &s.idx} {
		final, ok := strings.CutSuffix(w.name, tmpExt)
		if !ok {
			continue
		}
		if err := w.flush(); err != nil {
			return err
		}
		if err := l.fs.Rename(w.name, final); err != nil {
			return fmt.Errorf("segment: install %s: %w", final, err)
		}
		w.name = final
		l.dirDirty = true
	}
	return nil
}

// addSegment creates an empty active segment at base.
func (l *Log) addSegment(base core.Offset) error {
	s, err := openSegment(l.fs, l.dir, base, "")
	if err == nil {
		err = s.log.Truncate(0)
	}
	if err != nil {
		return fmt.Errorf("segment: create %d in %s: %w", base, l.dir, err)
	}
	l.segs = append(l.segs, s)
	l.dirDirty = true
	return nil
}

func (l *Log) remove(name string) error {
	if err := l.fs.Remove(name); err != nil {
		return fmt.Errorf("segment: remove %s: %w", name, err)
	}
	l.dirDirty = true
	return nil
}

// removeSegmentFiles deletes the three files of the segment at base,
// whichever exist.
func (l *Log) removeSegmentFiles(base core.Offset) error {
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		if name := fileName(l.dir, base, ext); l.fs.Exists(name) {
			if err := l.remove(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Log) syncDirIfDirty() error {
	if !l.dirDirty {
		return nil
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("segment: sync dir %s: %w", l.dir, err)
	}
	l.dirDirty = false
	return nil
}

func (l *Log) closeFiles() error {
	var first error
	for _, s := range l.segs {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// usable returns why the log cannot be used, or nil.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// fail poisons the log with err and returns the poisoned error.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return l.failed
}

// Recovered summarizes the log as it is now; right after Open that is what
// recovery found. Partition is parsed from a "<topic>-<n>" directory name.
func (l *Log) Recovered() core.RecoveredPartition {
	return core.RecoveredPartition{
		Partition:      partitionOf(path.Base(l.dir)),
		LogStartOffset: l.LogStartOffset(),
		LogEndOffset:   l.LogEndOffset(),
		LeaderEpoch:    l.epochs.latest(),
		Epochs:         l.epochs.list(),
		Producers:      l.producers.list(),
	}
}

// LogStartOffset is the first offset kept: the first segment's base.
func (l *Log) LogStartOffset() core.Offset { return l.start }

// LogEndOffset is the offset the next appended record will get at least.
func (l *Log) LogEndOffset() core.Offset { return l.active().next }

// Size is the total bytes of the .log files.
func (l *Log) Size() int64 {
	var n int64
	for i, s := range l.segs {
		if l.rangeEnd(i) > l.start {
			n += s.size // segments wholly below the log start await deletion
		}
	}
	return n
}

// Segments is how many segments the log holds (Kafka's NumLogSegments),
// counting those below the log start that await deletion.
func (l *Log) Segments() int { return len(l.segs) }

// rangeEnd is where the offsets of segment i end: the next segment's base,
// or the log end for the last. It is segs[i].next except after a segment
// the cleaner emptied at its end.
func (l *Log) rangeEnd(i int) core.Offset {
	if i+1 < len(l.segs) {
		return l.segs[i+1].base
	}
	return l.segs[i].next
}

// Dir is the partition directory.
func (l *Log) Dir() string { return l.dir }

// segmentFor returns the index of the segment holding offset o: the last
// one whose base is <= o.
func (l *Log) segmentFor(o core.Offset) int {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > o })
	return max(i-1, 0)
}

// Append writes data, one or more whole batches whose offsets were
// assigned (first base offset base, last offset last, base >= the log end
// offset), at the log end, first rolling the active segment as cfg says
// (see shouldRoll). The batches become durable at the next Sync.
// maxTimestampMs is accepted for symmetry with core.Append and not used:
// timestamps come from the batch headers, so that the time index Append
// writes equals the one recovery rebuilds.
func (l *Log) Append(data []byte, base, last core.Offset, maxTimestampMs int64, nowMs int64, cfg core.LogConfig) error {
	if err := l.usable(); err != nil {
		return err
	}
	hs, err := l.checkAppend(data, base, last, false)
	if err != nil {
		return err
	}
	return l.appendChecked(data, hs, last, nowMs, cfg)
}

// AppendReplica appends batches a follower copied from its leader, as
// they are: their offsets increase but may skip where the leader's
// cleaner removed records (a gap before the first batch or between two),
// as Kafka's follower appends allow. Before the write the rewrite bound
// is raised, durably, to the base of the last batch that follows a gap,
// so that recovery takes the gap for compaction's and not for damage; a
// crash that loses the batches leaves the log ending at that bound, from
// which the follower fetches them again.
func (l *Log) AppendReplica(data []byte, base, last core.Offset, maxTimestampMs int64, nowMs int64, cfg core.LogConfig) error {
	if err := l.usable(); err != nil {
		return err
	}
	hs, err := l.checkAppend(data, base, last, true)
	if err != nil {
		return err
	}
	prev, gapAt := l.LogEndOffset()-1, core.Offset(-1)
	for _, h := range hs {
		if h.BaseOffset != prev+1 {
			gapAt = h.BaseOffset
		}
		prev = h.LastOffset()
	}
	if gapAt > l.rewriteBound {
		if err := writeCheckpoint(l.fs, l.dir, rewriteFile, gapAt); err != nil {
			return l.fail(err)
		}
		l.rewriteBound = gapAt
	}
	return l.appendChecked(data, hs, last, nowMs, cfg)
}

// appendChecked writes batches checkAppend took.
func (l *Log) appendChecked(data []byte, hs []core.BatchHeader, last core.Offset, nowMs int64, cfg core.LogConfig) error {
	base := hs[0].BaseOffset
	if err := l.maybeRoll(int64(len(data)), len(hs), last, nowMs, cfg); err != nil {
		return l.fail(err)
	}
	s := l.active()
	if last-s.base > math.MaxInt32 || s.size+int64(len(data)) > segmentBytesMax {
		return fmt.Errorf("%w: offsets %d..%d or %d bytes do not fit segment %d", ErrBadAppend, base, last, len(data), s.base)
	}
	if _, err := s.log.WriteAt(data, s.size); err != nil {
		return l.fail(fmt.Errorf("segment: write %s: %w", s.name, err))
	}
	s.dirty = true
	if s.size == 0 {
		s.rollBaseMs = nowMs
	}
	s.lastAppendMs = nowMs
	pos := s.size
	for _, h := range hs {
		if err := s.noteBatch(h, pos, cfg.IndexIntervalBytes); err != nil {
			return l.fail(err)
		}
		l.noteBatch(h)
		pos += int64(h.Size())
	}
	return nil
}

// checkAppend parses data's headers and checks that the batches are whole,
// ordered and follow the log end offset: contiguously, or, with gaps (a
// follower's copy of a compacted log), at increasing offsets.
func (l *Log) checkAppend(data []byte, base, last core.Offset, gaps bool) ([]core.BatchHeader, error) {
	var hs []core.BatchHeader
	prev := l.LogEndOffset() - 1
	err := core.SplitBatches(data, func(_ []byte, h core.BatchHeader) error {
		// A leader's appends are contiguous: only the cleaner (or a
		// follower copying its work) leaves gaps, below the rewrite
		// bound, so recovery can treat any other gap as damage.
		follows := h.BaseOffset == prev+1 || gaps && h.BaseOffset > prev
		if h.LastOffsetDelta < 0 || !follows {
			return fmt.Errorf("batch at offset %d does not follow offset %d", h.BaseOffset, prev)
		}
		prev = h.LastOffset()
		hs = append(hs, h)
		return nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadAppend, err)
	case len(hs) == 0:
		return nil, fmt.Errorf("%w: no batches", ErrBadAppend)
	case hs[0].BaseOffset != base || prev != last:
		return nil, fmt.Errorf("%w: batches span %d..%d, caller said %d..%d", ErrBadAppend, hs[0].BaseOffset, prev, base, last)
	}
	return hs, nil
}

// shouldRoll reports whether an append of n bytes in batches batches with
// last offset last must go to a new segment: the active one is non-empty
// and the scrubber marked it damaged, or the append would overflow
// segment.bytes, the 2 GiB position limit, segment.index.bytes or the
// relative offset range, or the segment is older than segment.ms
// (SegmentMs <= 0 disables age rolling).
func shouldRoll(s *segment, n int64, batches int, last core.Offset, nowMs int64, cfg core.LogConfig) bool {
	if s.size == 0 {
		return false
	}
	if _, damaged := s.damagedFrom(); damaged {
		return true // batches appended past the damage could never be read
	}
	idxFull := cfg.SegmentIndexBytes > 0 &&
		(s.idx.size+int64(batches)*offsetEntrySize > int64(cfg.SegmentIndexBytes) ||
			s.tidx.size+int64(batches+1)*timeEntrySize > int64(cfg.SegmentIndexBytes))
	return s.size+n > cfg.SegmentBytes ||
		s.size+n > segmentBytesMax ||
		idxFull ||
		last-s.base > math.MaxInt32 ||
		(cfg.SegmentMs > 0 && nowMs-s.rollBaseMs > cfg.SegmentMs)
}

func (l *Log) maybeRoll(n int64, batches int, last core.Offset, nowMs int64, cfg core.LogConfig) error {
	s := l.active()
	if !shouldRoll(s, n, batches, last, nowMs, cfg) {
		return nil
	}
	switch _, damaged := s.damagedFrom(); {
	case damaged: // rolled away from the scrubber's damage mark
	case cfg.SegmentMs > 0 && nowMs-s.rollBaseMs > cfg.SegmentMs:
		cfg.Coverage.Hit(cover.SegmentRolledByTime)
	default:
		cfg.Coverage.Hit(cover.SegmentRolledBySize)
	}
	if err := s.seal(); err != nil {
		return err
	}
	return l.addSegment(s.next)
}

// Sync makes everything appended so far durable: it fsyncs every .log
// written since the last Sync in offset order and the indexes of every
// segment sealed since, rewrites the leader epoch checkpoint if it
// changed and the producer snapshot if a segment rolled, and fsyncs the
// directory if names changed. Then the recovery point is the log end.
func (l *Log) Sync() error {
	if err := l.usable(); err != nil {
		return err
	}
	for _, s := range l.segs {
		if !s.dirty {
			continue
		}
		if err := s.log.Sync(); err != nil {
			return l.fail(fmt.Errorf("segment: sync %s: %w", s.name, err))
		}
		s.dirty = false
	}
	if err := l.syncSealedIndexes(); err != nil {
		return l.fail(err)
	}
	if l.epochs.dirty {
		if err := l.epochs.writeCheckpoint(l.fs, l.dir); err != nil {
			return l.fail(err)
		}
		l.dirDirty = true
	}
	if bugOn(BugSkipDirSync) {
		// (nor the producer snapshot, whose durable write would sync the
		// directory and with it the new names)
		return nil // BUG SITE (simbugs): BugSkipDirSync leaves new segment names volatile.
	}
	if l.snapshotNeeded() {
		if err := l.writeSnapshot(); err != nil {
			return l.fail(err)
		}
	}
	if err := l.syncDirIfDirty(); err != nil {
		return l.fail(err)
	}
	l.syncedEnd = l.LogEndOffset()
	return nil
}

// snapshotNeeded says the producer snapshot is older than the active
// segment while sealed segments exist: a restart that trusts them would
// have to read their headers to rebuild the producer windows.
func (l *Log) snapshotNeeded() bool {
	return len(l.segs) > 1 && l.snapshotAt < l.active().base
}

// writeSnapshot writes the producer snapshot as of the log end; the
// caller has synced the log, so that the snapshot describes durable
// batches only.
func (l *Log) writeSnapshot() error {
	leo := l.LogEndOffset()
	if err := writeProducers(l.fs, l.dir, leo, l.producers.list()); err != nil {
		return err
	}
	l.snapshotAt = leo
	return nil
}

// Read returns a fresh copy of whole, CRC-checked batches, beginning with
// the batch holding offset (or the first after it), in offset order across
// segments. It stops before a batch whose base offset is >= below and
// before a batch that would take the total past maxBytes, except that
// with minOne the first batch is returned whatever its size. offset must
// be within [LogStartOffset, LogEndOffset]; at the end it returns nothing.
//
// Data damaged on the medium after recovery is refused, never served:
// every batch handed out is checked against its CRC, in the very bytes
// handed out (see segment.readFrom), and a segment the scrubber marked
// damaged (scrub.go) is read only up to the damage: a read that would
// start at or past it fails with ErrCorrupt. The result is allocated
// once, sized by maxBytes and the bytes the log holds past offset.
func (l *Log) Read(offset, below core.Offset, maxBytes int32, minOne bool) ([]byte, error) {
	return l.ReadInto(nil, offset, below, maxBytes, minOne)
}

// ReadInto is Read with the result's buffer from alloc, which returns an
// empty buffer with room for at least n bytes (nil: a fresh allocation).
// Only a first batch larger than that room grows it afresh.
func (l *Log) ReadInto(alloc func(n int) []byte, offset, below core.Offset, maxBytes int32, minOne bool) ([]byte, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	// Segments below the log start stay readable until the next
	// retention pass deletes them: the broker, which decides what its
	// clients may read, adopts a new log start only after Retain returns.
	if offset < l.segs[0].base || offset > l.LogEndOffset() {
		return nil, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, l.segs[0].base, l.LogEndOffset())
	}
	var out []byte
	for i := l.segmentFor(offset); i < len(l.segs); i++ {
		s := l.segs[i]
		r := l.scanner(s)
		start, err := s.positionOf(&r, offset)
		if err != nil {
			return nil, err
		}
		if start == s.size {
			continue // offset lies past this segment's batches
		}
		if p, damaged := s.damagedFrom(); damaged && start >= p {
			if len(out) > 0 {
				break // what lies before the damage is served; the next read is refused
			}
			return nil, s.damageError(start)
		}
		if out == nil {
			n := int(chunkBytes(int64(maxBytes), l.bytesFrom(i, start), minOne))
			if alloc != nil {
				out = alloc(n)
			} else {
				out = make([]byte, 0, n)
			}
		}
		full := false
		if out, full, err = s.readFrom(out, start, below, int64(maxBytes)-int64(len(out)), minOne && len(out) == 0); err != nil {
			return nil, err
		}
		if full {
			break
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// bytesFrom is the number of bytes of the log from position start of
// segment i to the log end.
func (l *Log) bytesFrom(i int, start int64) int64 {
	n := l.segs[i].size - start
	for _, s := range l.segs[i+1:] {
		n += s.size
	}
	return n
}

// scanner is a blockReader of s over the Log's reused scan window, for
// locating a position by headers; its bytes are not kept between calls.
func (l *Log) scanner(s *segment) blockReader {
	if l.scanBuf == nil {
		l.scanBuf = make([]byte, 0, scanWindowBytes)
	}
	return reuseBlockReader(s.log, s.name, s.size, l.scanBuf)
}

// FindTime returns the base offset and MaxTimestamp of the first batch
// at or past offset from whose MaxTimestamp is >= ts, if that batch's
// base offset is below below. (Kafka's ListOffsets answers with the first
// record's offset; decoding records is left to the caller.)
//
// from may lie inside a segment (the log start does after AdvanceStart,
// or after a crash lost the tail a checkpointed start lay in), and a
// segment's maxTs covers its batches below from too: a segment whose
// maxTs reaches ts may hold no batch at or past from that does, and the
// answer then lies in a later segment.
func (l *Log) FindTime(ts int64, from, below core.Offset) (off core.Offset, batchTs int64, found bool, err error) {
	if err := l.usable(); err != nil {
		return 0, 0, false, err
	}
	for _, s := range l.segs {
		if s.maxTs < ts || s.next <= from {
			continue // too old, or wholly below from
		}
		r := l.scanner(s)
		h, ok, err := s.findTime(&r, ts, from)
		if err != nil {
			return 0, 0, false, err
		}
		if !ok && s.maxTsOffset < from {
			continue // only batches below from reach ts
		}
		if !ok {
			// The batch holding maxTs lies at or past from and reaches ts.
			return 0, 0, false, fmt.Errorf("%w: %s: no batch reaches its max timestamp %d", ErrCorrupt, s.name, s.maxTs)
		}
		if h.BaseOffset >= below {
			return 0, 0, false, nil
		}
		return h.BaseOffset, h.MaxTimestamp, true, nil
	}
	return 0, 0, false, nil
}

// Retain applies retention in two steps (see start.go). It first deletes
// the segments wholly below the log start a previous pass adopted. Then
// it finds the whole non-active segments the policy expires, oldest
// first: those whose largest timestamp is more than RetentionMs before
// nowMs (a segment without timestamps is never old), then, as Kafka does,
// the oldest while the remaining total stays >= RetentionBytes (negative
// settings disable each rule). Their end becomes the new log start,
// checkpointed durably before Retain returns it; the segments themselves
// go in the next pass. As in Kafka, only segments wholly below
// highWatermark expire: the log start never passes the high watermark.
//
// The segments it removes, as those TruncateTo, RestartAt and Clean
// remove, have their files deleted cfg.FileDeleteDelayMs after nowMs;
// Retain also deletes the files of earlier removals that are due by
// nowMs (deletion.go).
func (l *Log) Retain(nowMs int64, highWatermark core.Offset, cfg core.LogConfig) (core.Offset, error) {
	if err := l.usable(); err != nil {
		return 0, err
	}
	if err := l.deleteBelowStart(nowMs, cfg); err != nil {
		return 0, err
	}
	if err := l.deleteDue(nowMs, cfg); err != nil {
		return 0, l.fail(err)
	}
	n := l.expired(nowMs, cfg)
	for n > 0 && l.segs[n-1].next > highWatermark {
		n--
	}
	if n == 0 || l.segs[n].base <= l.start {
		return l.start, nil
	}
	start := l.segs[n].base
	if err := writeStart(l.fs, l.dir, start); err != nil {
		return 0, l.fail(err)
	}
	l.start = start
	l.epochs.truncateFromStart(start)
	return start, nil
}

// AdvanceStart moves the log start up to start, within the log (a
// follower takes its leader's log start, which may lie inside a
// segment); the next Retain deletes the segments wholly below it.
func (l *Log) AdvanceStart(start core.Offset) error {
	if err := l.usable(); err != nil {
		return err
	}
	start = min(start, l.LogEndOffset())
	if start <= l.start {
		return nil
	}
	if err := writeStart(l.fs, l.dir, start); err != nil {
		return l.fail(err)
	}
	l.start = start
	l.epochs.truncateFromStart(start)
	return nil
}

// RestartAt empties the log and starts it at offset, above its end: a
// follower whose log ends below its leader's log start takes the leader's
// log from there (Kafka's truncateFullyAndStartAt); the old segments'
// files are deleted cfg.FileDeleteDelayMs after nowMs (deletion.go), and
// the new log takes nothing else of cfg. producers are the
// leader's idempotence windows of the batches below offset, in offset
// order: they become the log's, as retention's deleted batches' do, and
// its producer snapshot keeps them. The snapshot is written first, then
// the new log start is checkpointed and the new segment made before the
// old ones go, so that a crash midway leaves the new log with its
// windows, or the old one, whole or emptied (a start checkpoint past its
// end): still below the leader's log start, it is restarted again. Its
// load takes from the snapshot only the windows of batches below its
// first segment, as after retention.
func (l *Log) RestartAt(offset core.Offset, producers []core.ProducerBatch, nowMs int64, cfg core.LogConfig) error {
	if err := l.usable(); err != nil {
		return err
	}
	if offset <= l.LogEndOffset() {
		return fmt.Errorf("segment: restart %s at %d, not past its end %d", l.dir, offset, l.LogEndOffset())
	}
	var windows producerState
	for _, pb := range producers {
		if pb.LastOffset < offset {
			windows.remember(pb)
		}
	}
	if err := writeProducers(l.fs, l.dir, offset, windows.list()); err != nil {
		return l.fail(err)
	}
	l.snapshotAt = -1 // the old segments' windows are no longer in it
	if err := writeStart(l.fs, l.dir, offset); err != nil {
		return l.fail(err)
	}
	old := l.segs
	if err := l.addSegment(offset); err != nil {
		return l.fail(err)
	}
	l.segs = l.segs[len(old):]
	for _, s := range old {
		if err := l.discard(s, nowMs, cfg); err != nil {
			return l.fail(err)
		}
	}
	l.start = offset
	l.producers = windows
	l.epochs = epochCache{dirty: true}
	l.snapshotAt = offset
	if err := l.lowerCleanerCheckpoints(offset); err != nil {
		return l.fail(err)
	}
	if err := l.syncDirIfDirty(); err != nil {
		return l.fail(err)
	}
	return l.Sync()
}

// expired counts the leading segments the retention policy expires.
func (l *Log) expired(nowMs int64, cfg core.LogConfig) int {
	n := 0
	for ; n < len(l.segs)-1 && cfg.RetentionMs >= 0; n++ {
		s := l.segs[n]
		age := s.maxTs
		if bugOn(BugRetentionByOldest) {
			age = s.rollBaseMs // BUG SITE (simbugs): BugRetentionByOldest ages by the oldest batch.
		}
		if s.size == 0 {
			continue // emptied by the cleaner: holds nothing to keep
		}
		if s.maxTs == noTimestamp {
			// No batch carries a timestamp: age the segment by its last
			// append; one recovered so has aged from this call on.
			if s.lastAppendMs == noTimestamp {
				s.lastAppendMs = nowMs
			}
			age = s.lastAppendMs
		}
		if nowMs-age <= cfg.RetentionMs {
			break
		}
	}
	if cfg.RetentionBytes >= 0 {
		rest := l.Size()
		for _, s := range l.segs[:n] {
			rest -= s.size
		}
		for ; n < len(l.segs)-1 && rest-l.segs[n].size >= cfg.RetentionBytes; n++ {
			rest -= l.segs[n].size
		}
	}
	return n
}

// deleteBelowStart deletes the segments wholly below the log start and
// syncs the directory.
func (l *Log) deleteBelowStart(nowMs int64, cfg core.LogConfig) error {
	n := 0
	for n < len(l.segs)-1 && l.rangeEnd(n) <= l.start {
		n++
	}
	if n == 0 {
		return nil
	}
	cfg.Coverage.Hit(cover.RetentionDeletedSegment)
	// The producers' windows outlive the batches they describe. The
	// snapshot is as of the log end, synced first so that a restart may
	// also use it for the batches the segments still hold.
	l.producers.trim(cfg.ProducersMax)
	if err := l.Sync(); err != nil {
		return err
	}
	if err := l.writeSnapshot(); err != nil {
		return l.fail(err)
	}
	gone := l.segs[:n:n]
	l.segs = l.segs[n:]
	for _, s := range gone {
		if err := l.discard(s, nowMs, cfg); err != nil {
			return l.fail(err)
		}
	}
	if err := l.syncDirIfDirty(); err != nil {
		return l.fail(err)
	}
	return nil
}

// Close carries out the pending deletions (deletion.go), syncs the log
// (unless it failed), writes the producer snapshot as of the log end,
// syncs the indexes and closes every file: after it every file is as a
// restart after a clean shutdown may trust it. The Log is unusable
// afterwards.
func (l *Log) Close() error {
	if l.closed {
		return ErrClosed
	}
	perr := l.deleteAllPending()
	err := l.Sync()
	if err == nil && l.snapshotAt != l.LogEndOffset() {
		if err = l.writeSnapshot(); err != nil {
			err = l.fail(err)
		}
	}
	for _, s := range l.segs {
		for _, w := range []*indexWriter{&s.tidx, &s.idx} { // see installIndexes
			if serr := w.sync(); serr != nil && err == nil && l.failed == nil {
				err = serr
			}
		}
	}
	if cerr := l.closeFiles(); err == nil {
		err = cerr
	}
	if err == nil {
		err = perr
	}
	l.closed = true
	return err
}

// Delete closes the log and removes its directory with every file in it.
// (Its recovery point left the log directory's checkpoint before: see
// RecoveryPoints.)
func (l *Log) Delete() error {
	if l.closed {
		return ErrClosed
	}
	l.closePending()
	l.closeFiles()
	l.closed = true
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("segment: remove %s: %w", l.dir, err)
	}
	return nil
}

// TruncateTo removes every batch whose last offset is >= offset, as a
// follower does after OffsetForLeaderEpoch: the batch holding offset goes
// too, so the new log end offset is at a batch boundary <= offset. Later
// segments are removed (their files deleted cfg.FileDeleteDelayMs after
// nowMs, the broker's clock: deletion.go), the cut segment is rescanned (its indexes
// rebuilt) and becomes active, and the producer and epoch state are
// rebuilt from the remaining batch headers. Everything kept is durable
// on return (TruncateTo ends with a Sync, also when offset is at or past
// the end and nothing is cut). offset must be >= LogStartOffset.
func (l *Log) TruncateTo(offset core.Offset, nowMs int64, cfg core.LogConfig) error {
	if err := l.usable(); err != nil {
		return err
	}
	if offset < l.LogStartOffset() {
		return fmt.Errorf("%w: truncate to %d below start %d", ErrOffsetOutOfRange, offset, l.LogStartOffset())
	}
	if offset >= l.LogEndOffset() {
		return l.Sync()
	}
	i := l.segmentFor(offset)
	// A restart must not trust what is cut, nor what is written in its
	// place: the recovery point may lie no further than the cut segment.
	// (A checkpointed one the runtime removed before it asked for this:
	// see RecoveryPoints.)
	l.syncedEnd = min(l.syncedEnd, l.segs[i].base)
	gone := l.segs[i+1:]
	l.segs = l.segs[: i+1 : i+1]
	for _, s := range gone {
		if err := l.discard(s, nowMs, cfg); err != nil {
			return l.fail(err)
		}
	}
	if err := l.cutActive(offset, cfg); err != nil {
		return l.fail(err)
	}
	if err := l.lowerCleanerCheckpoints(l.LogEndOffset()); err != nil {
		return l.fail(err)
	}
	if err := l.rebuildDerived(); err != nil {
		return l.fail(err)
	}
	if err := l.Sync(); err != nil {
		return err
	}
	if l.snapshotAt != l.LogEndOffset() {
		if err := l.writeSnapshot(); err != nil {
			return l.fail(err)
		}
	}
	return nil
}

// cutActive truncates the (now last) segment before the batch holding
// offset, fsyncs it and reopens it so that its indexes are rebuilt.
func (l *Log) cutActive(offset core.Offset, cfg core.LogConfig) error {
	s := l.active()
	pos, err := s.positionOf(newBlockReader(s.log, s.name, s.size), offset)
	if err != nil {
		return err
	}
	if err := s.log.Truncate(pos); err != nil {
		return fmt.Errorf("segment: truncate %s to %d: %w", s.name, pos, err)
	}
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("segment: sync %s: %w", s.name, err)
	}
	if err := s.close(); err != nil {
		return err
	}
	ns, err := openSegment(l.fs, l.dir, s.base, tmpExt)
	if err != nil {
		return err
	}
	l.segs[len(l.segs)-1] = ns
	if _, err = ns.recover(&scan{intervalBytes: cfg.IndexIntervalBytes, gaps: ns.base < l.rewriteBound, limit: math.MaxInt64,
		visit: func(core.BatchHeader) {}}); err != nil {
		return err
	}
	return l.installIndexes(ns)
}

// rebuildDerived recomputes the producer and epoch state from the headers
// of every segment, reading headers only.
func (l *Log) rebuildDerived() error {
	l.producers = producerState{}
	old, unwritten := l.epochs.encode(), l.epochs.dirty
	l.epochs = epochCache{}
	for _, s := range l.segs {
		r := newBlockReader(s.log, s.name, s.size)
		for pos := int64(0); pos < s.size; {
			h, err := s.headerAt(r, pos)
			if err != nil {
				return err
			}
			l.noteBatch(h)
			pos += int64(h.Size())
		}
	}
	l.producers = l.producers.withSnapshot(readProducers(l.fs, l.dir).batches, l.segs[0].base)
	l.epochs.dirty = unwritten || !bytes.Equal(old, l.epochs.encode())
	return nil
}

package segment

import (
	"fmt"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The cleaner: log compaction (cleanup.policy=compact), after Kafka's
// LogCleaner. Clean keeps, below the first uncleanable offset, the last
// record of every key; records keep their offsets, so a cleaned log has
// gaps.
//
// # One clean
//
//  1. Plan. The dirty section runs from the cleaner checkpoint (the log
//     start if the checkpoint is below it or past the log end) to the
//     first uncleanable offset: the base of the segment holding the
//     smallest of the offset the broker passes (never past the high
//     watermark), the active segment's base, and, with
//     min.compaction.lag.ms, the first dirty segment holding a batch
//     younger than the lag. The log is cleaned when the dirty bytes are
//     more than min.cleanable.dirty.ratio of the bytes from the log start
//     to the first uncleanable offset, or, whatever the ratio, when a
//     dirty segment's first batch is older than max.compaction.lag.ms.
//  2. Map. The keys of the dirty section go into a map of key -> last
//     offset (offsetMap) bounded by log.cleaner.dedupe.buffer.size. When
//     it fills, the clean covers the prefix it mapped (Kafka's
//     endOffset) and the next clean goes on from there.
//  3. Rewrite. Every segment from the log start up to that end is
//     rewritten, in groups of consecutive segments whose sizes add up to
//     at most segment.bytes (and their indexes to segment.index.bytes), as
//     Kafka's groupSegmentsBySize does, so that segments which cleaning
//     shrank merge. A record stays if it lies past the map's end, or if
//     no later offset of its key was mapped and it is not a tombstone
//     whose delete horizon has passed. A batch keeps its base and last
//     offsets; one that holds mapped tombstones and no horizon yet gets
//     one: now + delete.retention.ms (KIP-534: a tombstone goes once that
//     much time has passed since the clean that first mapped it, which
//     removed its key's older values; one past the map's end waits). A batch whose records
//     all go is dropped, except that its header stays (Kafka's empty
//     batch) when it is in its producer's idempotence window, or may be
//     once a crash took the producer's unsynced batches (Kafka keeps
//     only each producer's last batch, and restores the rest from a
//     producer snapshot, which this store does not write at cleaning
//     time), or when it starts a leader epoch, so that recovery, which
//     rebuilds both from batch headers, finds them unchanged. Control batches stay
//     as they are. A batch whose records do not decode stays whole and
//     adds no keys.
//  4. Checkpoint the end: the next clean's dirty section starts there.
//
// # Crash safety
//
// Before the first rewrite the end is made durable as the rewrite bound
// (cleaner-rewrite-offset-checkpoint): recovery lets the offsets of the
// segments below it have gaps, and keeps the log end at or past it. Each
// group is then written and replaced on its own, in offset order, with
// Kafka's swap protocol:
//
//	write <base>.log.cleaned, fsync
//	rename it to <base>.log.swap, fsync the directory   (the commit)
//	delete the group's other segments, rename the swap over <base>.log,
//	fsync the directory
//
// Recovery deletes a .log.cleaned (not committed) and completes a
// .log.swap: it deletes the .log segments whose base lies inside the
// swap's offsets and renames the swap over <base>.log. A group's other
// segments that hold no offset of the swap stay as they were: their
// records are a superset of what the clean kept, which is safe to keep.
// Groups are committed in offset order and the cleaner checkpoint moves
// only after the last one, so a crash leaves a prefix of groups cleaned
// and the next clean maps the same keys again: a tombstone never goes
// while an older value of its key a lost group still holds remains.
//
// Cleaning reads through the log.cleaner.io.buffer.size buffers, grown
// for a larger batch, and holds one batch's records at a time.

// CleanStats says what one Clean did.
type CleanStats struct {
	Ran               bool        // segments were rewritten
	FirstDirty        core.Offset // the cleaner checkpoint afterwards
	BytesBefore       int64       // bytes of the segments rewritten
	BytesAfter        int64       // bytes of their replacements
	RecordsRemoved    int64
	TombstonesRemoved int64
	EmptyBatchesKept  int64 // headers kept for producer state or epochs
	UndecodedBatches  int64 // batches kept whole: their records did not decode
	MapFull           bool  // the dedupe buffer filled: a prefix was cleaned
}

// cleanPlan is what step 1 decided.
type cleanPlan struct {
	firstDirty core.Offset
	upper      core.Offset // the first uncleanable offset, a segment base
	dirtyBytes int64
	cleanBytes int64
	needNow    bool // max.compaction.lag.ms forces a clean
}

func (p cleanPlan) eligible(minRatio float64) bool {
	if p.dirtyBytes == 0 {
		return false
	}
	return p.needNow || float64(p.dirtyBytes)/float64(p.dirtyBytes+p.cleanBytes) > minRatio
}

// Clean compacts the log once if cfg.Compact and the plan finds it
// eligible (see the top of this file). uncleanable bounds what may be
// cleaned from above: the broker passes its high watermark. nowMs is the
// broker's clock, for the compaction lags and delete horizons.
func (l *Log) Clean(nowMs int64, uncleanable core.Offset, cfg core.LogConfig) (CleanStats, error) {
	if err := l.usable(); err != nil {
		return CleanStats{}, err
	}
	p := l.planClean(nowMs, uncleanable, cfg)
	if !cfg.Compact || !p.eligible(cfg.MinCleanableRatio) {
		return CleanStats{FirstDirty: p.firstDirty}, nil
	}
	st, err := l.clean(p, nowMs, cfg)
	if err != nil {
		return st, l.fail(err)
	}
	return st, nil
}

// firstDirty is where the dirty section begins.
func (l *Log) firstDirty() core.Offset {
	if l.cleanedTo < l.start || l.cleanedTo > l.LogEndOffset() {
		return l.start
	}
	return l.cleanedTo
}

func (l *Log) planClean(nowMs int64, uncleanable core.Offset, cfg core.LogConfig) cleanPlan {
	p := cleanPlan{firstDirty: l.firstDirty()}
	upper := min(uncleanable, l.active().base)
	nonActive := l.segs[:len(l.segs)-1]
	if cfg.MinCompactionLagMs > 0 {
		for _, s := range nonActive {
			if s.next > p.firstDirty && s.size > 0 && nowMs-s.maxTs < cfg.MinCompactionLagMs {
				upper = min(upper, s.base)
				break
			}
		}
	}
	p.upper = l.segs[l.segmentFor(max(upper, p.firstDirty))].base
	firstTs := int64(math.MaxInt64)
	for i, s := range l.segs {
		switch {
		case l.rangeEnd(i) <= l.start:
			continue // awaiting deletion by retention
		case s.base < p.firstDirty:
			p.cleanBytes += s.size
		}
		if s.base < p.upper && s.next > p.firstDirty {
			p.dirtyBytes += s.size
		}
	}
	for _, s := range nonActive {
		if s.next > p.firstDirty && s.size > 0 && s.firstTs > 0 {
			firstTs = min(firstTs, s.firstTs)
		}
	}
	p.needNow = firstTs != math.MaxInt64 && nowMs-firstTs > cfg.MaxCompactionLagMs
	return p
}

// clean runs steps 2 to 4.
func (l *Log) clean(p cleanPlan, nowMs int64, cfg core.LogConfig) (CleanStats, error) {
	st := CleanStats{Ran: true}
	var codecs core.RecordCodecs
	defer codecs.Close()
	records, err := l.countRecords(p.firstDirty, p.upper)
	if err != nil {
		return st, err
	}
	m := newOffsetMap(offsetMapSlots(cfg.DedupeBufferBytes, cfg.DedupeLoadFactor, records), cfg.DedupeLoadFactor)
	if st.MapFull, err = l.buildOffsetMap(m, p.firstDirty, p.upper, cfg, &codecs); err != nil {
		return st, err
	}
	if st.MapFull {
		cfg.Coverage.Hit(cover.CleanerDedupeBufferFull)
	}
	end := m.latest + 1
	if end <= p.firstDirty {
		st.Ran, st.FirstDirty = false, p.firstDirty
		return st, nil
	}
	if l.rewriteBound < end {
		if err := writeCheckpoint(l.fs, l.dir, rewriteFile, end); err != nil {
			return st, err
		}
		l.rewriteBound = end
	}
	for _, g := range l.groups(end, cfg) {
		if err := l.cleanGroup(g, m, nowMs, cfg, &st, &codecs); err != nil {
			return st, err
		}
	}
	if err := writeCheckpoint(l.fs, l.dir, cleanerFile, end); err != nil {
		return st, err
	}
	l.cleanedTo, st.FirstDirty = end, end
	cfg.Coverage.Hit(cover.CleanerRan)
	return st, nil
}

// countRecords sums the record counts of the batches in [from, upper),
// reading headers only, to size the offset map.
func (l *Log) countRecords(from, upper core.Offset) (int64, error) {
	var n int64
	err := l.walkBatches(from, upper, false, func(_ *segment, h core.BatchHeader, _ []byte) error {
		n += int64(h.RecordCount)
		return nil
	})
	return n, err
}

// buildOffsetMap maps the keys of [from, upper) (Kafka's buildOffsetMap):
// record by record until the map is full, moving m.latest past every
// batch it finished and, at a segment's end, to the offset before the
// next segment. It reports whether the map filled.
func (l *Log) buildOffsetMap(m *offsetMap, from, upper core.Offset, cfg core.LogConfig, codecs *core.RecordCodecs) (bool, error) {
	full := false
	var last *segment
	err := l.walkBatches(from, upper, true, func(s *segment, h core.BatchHeader, batch []byte) error {
		if last != nil && s != last {
			m.latest = max(m.latest, s.base-1)
		}
		last = s
		if h.Attributes&core.AttrControl == 0 {
			recs, err := codecs.Records(batch, h, core.RecordsBytesMax(cfg.MaxMessageBytes, len(batch)))
			if err != nil {
				recs = nil // kept whole when cleaned; its keys stay unmapped
			}
			for i := range recs {
				off := h.BaseOffset + core.Offset(recs[i].OffsetDelta)
				if recs[i].Key == nil || off < from {
					continue
				}
				if m.full() {
					full = true
					return errStopWalk
				}
				m.put(recs[i].Key, off)
			}
		}
		m.latest = max(m.latest, h.LastOffset())
		return nil
	})
	if err != nil {
		return false, err
	}
	if !full {
		m.latest = max(m.latest, upper-1) // the dirty section ends at upper
	}
	return full, nil
}

// errStopWalk ends a walkBatches early without an error.
var errStopWalk = fmt.Errorf("segment: walk stopped")

// walkBatches calls fn for every batch of the segments overlapping
// [from, upper) whose last offset is >= from, in order, with its bytes
// when withData (CRC-checked; valid until the next call).
func (l *Log) walkBatches(from, upper core.Offset, withData bool, fn func(*segment, core.BatchHeader, []byte) error) error {
	var buf []byte
	for i := l.segmentFor(from); i < len(l.segs) && l.segs[i].base < upper; i++ {
		s := l.segs[i]
		r := newBlockReader(s.log, s.name, s.size)
		pos, err := s.positionOf(r, from)
		if err != nil {
			return err
		}
		for pos < s.size {
			h, err := s.headerAt(r, pos)
			if err != nil {
				return err
			}
			var data []byte
			if withData {
				if buf, err = s.readBatch(buf, pos, h); err != nil {
					return err
				}
				data = buf
			}
			if err := fn(s, h, data); err == errStopWalk {
				return nil
			} else if err != nil {
				return err
			}
			pos += int64(h.Size())
		}
	}
	return nil
}

// readBatch reads the whole batch h at pos into buf (grown as needed) and
// checks it.
func (s *segment) readBatch(buf []byte, pos int64, h core.BatchHeader) ([]byte, error) {
	buf, err := s.readAppend(buf[:0], pos, int64(h.Size()))
	if err != nil {
		return nil, err
	}
	if verr := verifyBatch(buf, h); verr != nil {
		return nil, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.name, pos, verr)
	}
	return buf, nil
}

// groups splits the segments to rewrite (those below end not wholly
// below the log start) into consecutive groups, as Kafka's
// groupSegmentsBySize: at most segment.bytes of data and
// segment.index.bytes of each index per group, and offsets within a
// segment's int32 range. Groups are returned by base offset: the
// segments themselves change as groups are replaced.
func (l *Log) groups(end core.Offset, cfg core.LogConfig) [][]core.Offset {
	var out [][]core.Offset
	var size, idx, tidx int64
	var first *segment
	for i, s := range l.segs {
		if l.rangeEnd(i) <= l.start || s.size == 0 && s == l.active() {
			continue
		}
		if s.base >= end {
			break
		}
		fits := first != nil && size+s.size <= cfg.SegmentBytes &&
			(cfg.SegmentIndexBytes <= 0 || (idx+s.idx.size <= int64(cfg.SegmentIndexBytes) && tidx+s.tidx.size <= int64(cfg.SegmentIndexBytes))) &&
			s.next-1-first.base <= math.MaxInt32
		if !fits {
			out = append(out, nil)
			first, size, idx, tidx = s, 0, 0, 0
		}
		out[len(out)-1] = append(out[len(out)-1], s.base)
		size, idx, tidx = size+s.size, idx+s.idx.size, tidx+s.tidx.size
	}
	return out
}

// cleanGroup rewrites the segments at bases into one and swaps it in.
func (l *Log) cleanGroup(bases []core.Offset, m *offsetMap, nowMs int64, cfg core.LogConfig, st *CleanStats, codecs *core.RecordCodecs) error {
	i := l.segmentFor(bases[0])
	group := l.segs[i : i+len(bases)]
	if group[0].base != bases[0] || group[len(group)-1].base != bases[len(bases)-1] {
		panic(fmt.Sprintf("segment: cleaner group %v not found in %s", bases, l.dir))
	}
	cleaned := fileName(l.dir, bases[0], cleanedExt)
	n, err := l.writeCleaned(cleaned, group, m, nowMs, cfg, st, codecs)
	if err != nil {
		return err
	}
	for _, s := range group {
		st.BytesBefore += s.size
	}
	st.BytesAfter += n
	swap := fileName(l.dir, bases[0], swapExt)
	if err := l.fs.Rename(cleaned, swap); err != nil {
		return fmt.Errorf("segment: rename %s: %w", cleaned, err)
	}
	l.dirDirty = true
	if err := l.syncDirIfDirty(); err != nil {
		return err
	}
	for _, s := range group[1:] {
		if err := l.discard(s, nowMs, cfg); err != nil {
			return err
		}
	}
	// The first segment's indexes go before its .log is replaced, so
	// that no restart pairs them with the new .log: a segment without
	// indexes is recovered, never trusted. With a deletion delay its
	// .log is renamed aside with them (deletion.go).
	if err := l.discardReplaced(group[0], nowMs, cfg); err != nil {
		return err
	}
	if err := l.syncDirIfDirty(); err != nil {
		return err
	}
	if err := l.fs.Rename(swap, fileName(l.dir, bases[0], logExt)); err != nil {
		return fmt.Errorf("segment: rename %s: %w", swap, err)
	}
	l.dirDirty = true
	if err := l.syncDirIfDirty(); err != nil {
		return err
	}
	ns, err := adoptSegment(l, bases[0], cfg)
	if err != nil {
		return err
	}
	l.segs = slices.Replace(l.segs, i, i+len(group), ns)
	return nil
}

// discardReplaced discards s, the first segment of a cleaner group, whose
// .log the swap is about to replace: with a deletion delay wholly, as
// discard does; without, only its indexes, the rename of the swap over
// its .log removing that.
func (l *Log) discardReplaced(s *segment, nowMs int64, cfg core.LogConfig) error {
	if cfg.FileDeleteDelayMs > 0 {
		return l.discard(s, nowMs, cfg)
	}
	s.close()
	for _, ext := range []string{indexExt, timeIndexExt} {
		if idx := fileName(l.dir, s.base, ext); l.fs.Exists(idx) {
			if err := l.remove(idx); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeCleaned writes the kept batches of group to name, fsyncs it and
// returns its size.
func (l *Log) writeCleaned(name string, group []*segment, m *offsetMap, nowMs int64, cfg core.LogConfig, st *CleanStats, codecs *core.RecordCodecs) (int64, error) {
	f, err := l.fs.OpenFile(name, true)
	if err != nil {
		return 0, fmt.Errorf("segment: open %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return 0, fmt.Errorf("segment: truncate %s: %w", name, err)
	}
	w := cleanWriter{f: f, name: name, buf: make([]byte, 0, max(cfg.CleanerIOBufferBytes/2, 4<<10))}
	first, last := group[0].base, group[len(group)-1].next
	err = l.walkBatches(first, last, true, func(s *segment, h core.BatchHeader, batch []byte) error {
		out, err := l.filterBatch(batch, h, m, nowMs, cfg, st, codecs)
		if err != nil {
			return err
		}
		return w.write(out)
	})
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return 0, err
	}
	if w.size > segmentBytesMax {
		return 0, fmt.Errorf("segment: cleaned segment %s would be %d bytes", name, w.size)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("segment: sync %s: %w", name, err)
	}
	return w.size, nil
}

// cleanWriter appends to a file through a bounded buffer.
type cleanWriter struct {
	f interface {
		WriteAt([]byte, int64) (int, error)
	}
	name string
	buf  []byte
	size int64 // bytes written or buffered
}

func (w *cleanWriter) write(b []byte) error {
	if len(w.buf)+len(b) > cap(w.buf) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if len(b) > cap(w.buf) {
		if _, err := w.f.WriteAt(b, w.size); err != nil {
			return fmt.Errorf("segment: write %s: %w", w.name, err)
		}
		w.size += int64(len(b))
		return nil
	}
	w.buf = append(w.buf, b...)
	w.size += int64(len(b))
	return nil
}

func (w *cleanWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.f.WriteAt(w.buf, w.size-int64(len(w.buf))); err != nil {
		return fmt.Errorf("segment: write %s: %w", w.name, err)
	}
	w.buf = w.buf[:0]
	return nil
}

// filterBatch returns what of one batch stays (see the top of this
// file): the batch itself, a rebuilt batch, its empty header, or nothing.
func (l *Log) filterBatch(batch []byte, h core.BatchHeader, m *offsetMap, nowMs int64, cfg core.LogConfig, st *CleanStats, codecs *core.RecordCodecs) ([]byte, error) {
	if h.Attributes&core.AttrControl != 0 {
		return batch, nil
	}
	recs, err := codecs.Records(batch, h, core.RecordsBytesMax(cfg.MaxMessageBytes, len(batch)))
	if err != nil {
		st.UndecodedBatches++
		return batch, nil
	}
	horizon, hasHorizon := h.DeleteHorizon()
	kept := recs[:0:0]
	tombstones := false
	for i := range recs {
		r := &recs[i]
		off := h.BaseOffset + core.Offset(r.OffsetDelta)
		if l.retain(r, off, m, hasHorizon && nowMs >= horizon) {
			kept = append(kept, *r)
			// A tombstone's delete.retention.ms starts once the map holds
			// it, when this clean removes its key's older values: one
			// past the map (a prefix clean) would otherwise start its
			// time with older values still readable, and a consumer
			// within delete.retention.ms could read an old value and then
			// miss the tombstone.
			tombstones = tombstones || (r.Value == nil && off <= m.latest)
			continue
		}
		st.RecordsRemoved++
		if r.Value == nil && r.Key != nil && off >= m.get(r.Key) {
			st.TombstonesRemoved++
			cfg.Coverage.Hit(cover.CleanerRemovedTombstone)
		}
	}
	needHorizon := tombstones && !hasHorizon
	switch {
	case len(kept) > 0 && len(kept) == len(recs) && !needHorizon:
		return batch, nil
	case len(kept) > 0:
		hz := int64(-1)
		if needHorizon {
			hz = addSaturating(nowMs, cfg.DeleteRetentionMs)
		}
		return codecs.Rebuild(h, kept, hz, core.IsXerial(batch, h))
	case l.producers.mayHold(h, l.syncedEnd) || l.epochs.starts(h.BaseOffset):
		st.EmptyBatchesKept++
		cfg.Coverage.Hit(cover.CleanerKeptEmptyBatch)
		if h.RecordCount == 0 {
			return batch, nil
		}
		return core.EmptyBatch(h), nil
	}
	return nil, nil
}

// retain is Kafka's shouldRetainRecord: a record past the map's end
// stays; a record without a key goes; otherwise it stays if no later
// offset of its key was mapped, unless it is a tombstone whose delete
// horizon has passed (horizonPassed).
func (l *Log) retain(r *kmsg.Record, off core.Offset, m *offsetMap, horizonPassed bool) bool {
	if off > m.latest {
		return true
	}
	if r.Key == nil {
		return false
	}
	latest := m.get(r.Key)
	if off < latest || (bugOn(BugCleanerDropsLatest) && off == latest && r.Value != nil) {
		return false // BUG SITE (simbugs): BugCleanerDropsLatest compares with <= and drops a key's latest value.
	}
	if r.Value != nil {
		return true
	}
	if bugOn(BugCleanerEarlyTombstone) {
		return false // BUG SITE (simbugs): BugCleanerEarlyTombstone ignores delete.retention.ms.
	}
	return !horizonPassed
}

func addSaturating(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// adoptSegment opens the segment a clean just swapped in at base and
// rebuilds its indexes and summary from its batch headers (the cleaner
// wrote and synced the bytes; recovery checks them after a crash). The
// indexes are written under temporary names, fsynced, and renamed into
// place (then the directory synced), so that a restart finds them whole
// or not at all.
func adoptSegment(l *Log, base core.Offset, cfg core.LogConfig) (*segment, error) {
	s := &segment{base: base, next: base, name: fileName(l.dir, base, logExt),
		maxTs: noTimestamp, maxTsOffset: base, lastTimeTs: noTimestamp, lastAppendMs: noTimestamp}
	var err error
	if s.log, err = l.fs.OpenFile(s.name, false); err != nil {
		return nil, fmt.Errorf("segment: open %s: %w", s.name, err)
	}
	for _, w := range []*indexWriter{&s.idx, &s.tidx} {
		ext := indexExt
		if w == &s.tidx {
			ext = timeIndexExt
		}
		w.name = fileName(l.dir, base, ext) + tmpExt
		if w.f, err = l.fs.OpenFile(w.name, true); err == nil {
			err = w.f.Truncate(0)
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("segment: open %s: %w", w.name, err)
		}
	}
	if err := s.adopt(cfg.IndexIntervalBytes); err != nil {
		s.close()
		return nil, err
	}
	for _, w := range []*indexWriter{&s.idx, &s.tidx} {
		w.dirty = true
		err := w.sync()
		final := w.name[:len(w.name)-len(tmpExt)]
		if err == nil {
			err = l.fs.Rename(w.name, final)
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("segment: install %s: %w", final, err)
		}
		w.name = final
	}
	l.dirDirty = true
	if err := l.syncDirIfDirty(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *segment) adopt(intervalBytes int32) error {
	size, err := s.log.Size()
	if err != nil {
		return fmt.Errorf("segment: size %s: %w", s.name, err)
	}
	r := newBlockReader(s.log, s.name, size)
	for s.size < size {
		hdr, err := r.peek(s.size, core.BatchHeaderSize)
		if err != nil {
			return fmt.Errorf("%w: %s: header at %d: %w", ErrCorrupt, s.name, s.size, err)
		}
		h, err := core.ParseBatchHeader(hdr)
		if err != nil || s.size+int64(h.Size()) > size {
			return fmt.Errorf("%w: %s: batch at %d does not parse or overruns %d", ErrCorrupt, s.name, s.size, size)
		}
		if err := s.noteBatch(h, s.size, intervalBytes); err != nil {
			return err
		}
	}
	s.rollBaseMs = s.firstTs
	return s.seal()
}

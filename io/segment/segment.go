package segment

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"path"
	"slices"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
)

// noTimestamp is Kafka's RecordBatch.NO_TIMESTAMP.
const noTimestamp = -1

// segmentBytesMax keeps file positions within the index's int32.
const segmentBytesMax = math.MaxInt32

// crcTable is made once: crc32.Checksum with the Castagnoli table uses the
// CPU's CRC-32C instruction (SSE4.2, ARMv8) where there is one.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// crcStart is the first byte of a batch covered by its CRC; see
// core.BatchHeader.
const crcStart = 21

// errOffsets marks a batch whose offsets break the segment's ordering.
var errOffsets = errors.New("record batch offsets not increasing or outside the segment")

// segment is one .log file and its two indexes.
//
// Invariants: size is the byte length of the whole batches in the .log
// (the file is exactly that long); next is the last batch's last offset + 1,
// or base when empty; the index writers are flushed between calls.
type segment struct {
	base core.Offset
	log  kio.File
	name string // path of the .log
	idx  indexWriter
	tidx indexWriter

	size         int64
	next         core.Offset
	lastIndexPos int64       // position of the batch of the last .index entry, 0 if none
	maxTs        int64       // largest batch MaxTimestamp, noTimestamp if none
	maxTsOffset  core.Offset // last offset of the first batch holding maxTs
	lastTimeTs   int64       // timestamp of the last .timeindex entry, noTimestamp if none
	rollBaseMs   int64       // age base for segment.ms; meaningful when size > 0
	// lastAppendMs is the broker's clock at the segment's last append,
	// noTimestamp if unknown (recovered): retention ages a segment whose
	// batches carry no timestamps (legacy magic 0 data) by it, as Kafka
	// ages one by its file's modification time.
	lastAppendMs int64
	firstTs      int64 // MaxTimestamp of the first batch (max.compaction.lag.ms); meaningful when size > 0
	dirty        bool  // .log written since its last fsync

	// The read hint: the batch at hintPos is the first whose last offset
	// is >= hintNext, remembered where the last read stopped, so that a
	// consumer's next fetch skips the index lookup and header scan. It
	// holds while hintPos > 0 (and <= size): appends never move batches,
	// and TruncateTo replaces the segment it cuts.
	hintNext core.Offset
	hintPos  int64

	// damaged is set when the scrubber found a batch at damagedPos that
	// no longer verifies: reads refuse the bytes from there on (see
	// scrub.go and damagedFrom). damagedNext is the offset after the last
	// sound batch before damagedPos (base at 0).
	damaged     bool
	damagedPos  int64
	damagedNext core.Offset
}

func fileName(dir string, base core.Offset, ext string) string {
	return path.Join(dir, fmt.Sprintf("%020d%s", int64(base), ext))
}

// openSegment opens (or creates) the three files of the segment at base
// and truncates both indexes: the caller either recovers the segment,
// which rebuilds them, or starts it empty. indexSuffix names the indexes
// it writes: "" for their own names; tmpExt for a recovery, which
// installs them once whole (Log.installIndexes), so that a crash while it
// rebuilds them leaves the old ones, or none, never one index behind the
// other.
func openSegment(fsys kio.FS, dir string, base core.Offset, indexSuffix string) (*segment, error) {
	s := &segment{base: base, next: base, name: fileName(dir, base, logExt),
		maxTs: noTimestamp, maxTsOffset: base, lastTimeTs: noTimestamp, lastAppendMs: noTimestamp}
	var err error
	if s.log, err = fsys.OpenFile(s.name, true); err != nil {
		return nil, fmt.Errorf("segment: open %s: %w", s.name, err)
	}
	for _, w := range []*indexWriter{&s.idx, &s.tidx} {
		ext := indexExt
		if w == &s.tidx {
			ext = timeIndexExt
		}
		w.name = fileName(dir, base, ext) + indexSuffix
		if w.f, err = fsys.OpenFile(w.name, true); err == nil {
			err = w.f.Truncate(0)
			w.dirty = true
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("segment: open %s: %w", w.name, err)
		}
	}
	return s, nil
}

// close closes the files it opened and returns the first error.
func (s *segment) close() error {
	var first error
	for _, f := range []kio.File{s.log, s.idx.f, s.tidx.f} {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil && first == nil {
			first = fmt.Errorf("segment: close %s: %w", s.name, err)
		}
	}
	return first
}

// rel converts an offset of this segment to its index form.
func (s *segment) rel(o core.Offset) uint32 {
	d := o - s.base
	if d < 0 || d > math.MaxInt32 {
		panic(fmt.Sprintf("segment: offset %d outside segment %d", o, s.base))
	}
	return uint32(d)
}

// noteBatch accounts the batch h just placed at pos: indexes, timestamps,
// size and next offset. Append and recovery both call it, batch by batch,
// so the indexes Append writes equal those recovery rebuilds.
func (s *segment) noteBatch(h core.BatchHeader, pos int64, intervalBytes int32) error {
	if pos != s.size || h.BaseOffset < s.next {
		panic(fmt.Sprintf("segment: batch %d at %d does not follow size %d next %d", h.BaseOffset, pos, s.size, s.next))
	}
	if h.MaxTimestamp > s.maxTs {
		s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
	}
	if pos == 0 {
		s.firstTs = h.MaxTimestamp
	}
	if pos-s.lastIndexPos > int64(intervalBytes) {
		if err := s.idx.addOffset(s.rel(h.LastOffset()), uint32(pos)); err != nil {
			return err
		}
		if err := s.maybeAddTime(); err != nil {
			return err
		}
		s.lastIndexPos = pos
	}
	s.size = pos + int64(h.Size())
	s.next = h.LastOffset() + 1
	return nil
}

// maybeAddTime appends a .timeindex entry when the running maximum
// timestamp passed the last entry's.
func (s *segment) maybeAddTime() error {
	if s.maxTs <= s.lastTimeTs {
		return nil
	}
	s.lastTimeTs = s.maxTs
	return s.tidx.addTime(s.maxTs, s.rel(s.maxTsOffset))
}

// seal is called when the segment stops being active: it records the final
// maximum timestamp in the time index, as Kafka's onBecomeInactiveSegment.
func (s *segment) seal() error {
	if err := s.maybeAddTime(); err != nil {
		return err
	}
	return s.flush()
}

func (s *segment) flush() error {
	if err := s.idx.flush(); err != nil {
		return err
	}
	return s.tidx.flush()
}

// scan says how recover checks a segment.
type scan struct {
	intervalBytes int32
	// gaps: a segment the cleaner may have rewritten may skip offsets
	// between its batches; its batches must still go up and end below
	// limit, the next segment's base. Any other segment's offsets are
	// contiguous.
	gaps  bool
	limit core.Offset
	// trustBelow: batches wholly below it were synced (it is the log's
	// recovery point), so their headers are checked and their CRCs not.
	// The first batch that reaches it, or whose header fails, and every
	// batch after are checked in full.
	trustBelow core.Offset
	cov        *cover.Counts
	visit      func(core.BatchHeader)
	// trusted and checked count the bytes kept without and with a CRC
	// check.
	trusted, checked int64
}

// recover scans the whole .log, validating every batch (see scan),
// rebuilding both indexes and calling visit for each valid batch in
// order. At the first invalid batch it truncates and fsyncs the .log and
// reports truncated.
func (s *segment) recover(sc *scan) (truncated bool, err error) {
	fileSize, err := s.log.Size()
	if err != nil {
		return false, fmt.Errorf("segment: size %s: %w", s.name, err)
	}
	r := newBlockReader(s.log, s.name, fileSize)
	var hr *blockReader // headers only, below trustBelow
	if sc.trustBelow > s.base {
		hr = &blockReader{f: s.log, name: s.name, end: fileSize, buf: make([]byte, 0, scanWindowBytes)}
	}
	for s.size < fileSize {
		h, ok := core.BatchHeader{}, false
		if hr != nil {
			if h, ok, err = s.trustedHeaderAt(hr, s.size, sc); err != nil {
				return false, err
			}
			if !ok {
				hr = nil // from here on every batch is checked in full
			}
		}
		if !ok {
			var bad error
			if h, bad, err = s.checkBatchAt(r, s.size, sc.gaps, sc.limit); err != nil {
				return false, err
			}
			if bad != nil {
				sc.cov.Hit(cutPoint(bad))
				break
			}
			sc.checked += int64(h.Size())
		} else {
			sc.trusted += int64(h.Size())
		}
		if s.size == 0 {
			s.rollBaseMs = h.MaxTimestamp
		}
		if err := s.noteBatch(h, s.size, sc.intervalBytes); err != nil {
			return false, err
		}
		sc.visit(h)
	}
	if err := s.flush(); err != nil {
		return false, err
	}
	if s.size == fileSize {
		// What recovery keeps it will serve, and the broker counts it
		// durable: after a process crash the page cache may still hold
		// it unsynced, so make it durable now (what it trusted is).
		if sc.checked == 0 && s.size > 0 {
			return false, nil
		}
		if err := s.log.Sync(); err != nil {
			return false, fmt.Errorf("segment: sync %s: %w", s.name, err)
		}
		return false, nil
	}
	if err := s.log.Truncate(s.size); err != nil {
		return true, fmt.Errorf("segment: truncate %s to %d: %w", s.name, s.size, err)
	}
	if err := s.log.Sync(); err != nil {
		return true, fmt.Errorf("segment: sync %s: %w", s.name, err)
	}
	return true, nil
}

// trustedHeaderAt reads the header of the batch at pos and checks what a
// header shows (magic, length within the file, codec, counts, offsets
// following s.next), not the CRC; ok is false when a check fails or the
// batch reaches sc.trustBelow: that batch must be checked in full.
func (s *segment) trustedHeaderAt(r *blockReader, pos int64, sc *scan) (core.BatchHeader, bool, error) {
	hdr, err := r.peek(pos, core.BatchHeaderSize)
	if errors.Is(err, errPastEnd) {
		return core.BatchHeader{}, false, nil
	}
	if err != nil {
		return core.BatchHeader{}, false, err
	}
	h, bad := core.ParseBatchHeader(hdr)
	if bad != nil || checkFields(h) != nil || h.LastOffset() >= sc.trustBelow {
		return h, false, nil
	}
	end := pos + int64(h.Size())
	follows := h.BaseOffset == s.next
	if sc.gaps {
		follows = h.BaseOffset >= s.next && h.LastOffset() < sc.limit
	}
	if end > r.end || end > segmentBytesMax || !follows || h.LastOffset()-s.base > math.MaxInt32 {
		return h, false, nil
	}
	return h, true, nil
}

// cutPoint names the coverage point of a recovery cut for its reason.
func cutPoint(bad error) cover.Point {
	switch {
	case errors.Is(bad, core.ErrBatchShort):
		return cover.RecoveryCutShort
	case errors.Is(bad, core.ErrBatchLength):
		return cover.RecoveryCutLength
	case errors.Is(bad, core.ErrBatchMagic):
		return cover.RecoveryCutMagic
	case errors.Is(bad, errOffsets):
		return cover.RecoveryCutOffsets
	}
	return cover.RecoveryCutCRC // CRC, codec and counts: the CRC covers the last two
}

// checkBatchAt validates the batch at pos fully (header, length, CRC,
// codec, counts, offsets; see recover for gaps and limit). bad says why
// it is invalid; err is an IO error.
func (s *segment) checkBatchAt(r *blockReader, pos int64, gaps bool, limit core.Offset) (h core.BatchHeader, bad, err error) {
	hdr, err := r.peek(pos, core.BatchHeaderSize)
	if errors.Is(err, errPastEnd) {
		return h, core.ErrBatchShort, nil
	}
	if err != nil {
		return h, nil, err
	}
	if h, bad = core.ParseBatchHeader(hdr); bad != nil {
		return h, bad, nil
	}
	size := int64(h.Size())
	if bugOn(BugSkipRecoveryCRC) && h.BaseOffset >= s.next && pos+size <= min(r.end+bugTornSlack, segmentBytesMax) {
		return h, nil, nil // BUG SITE (simbugs): BugSkipRecoveryCRC trusts a header that parses.
	}
	if pos+size > r.end || pos+size > segmentBytesMax {
		return h, core.ErrBatchShort, nil
	}
	if size <= int64(cap(r.buf)) {
		b, err := r.peek(pos, int(size))
		if err != nil {
			return h, nil, err
		}
		if bad = verifyBatch(b, h); bad != nil {
			return h, bad, nil
		}
	} else if bad, err = checkLargeBatch(r, pos, h); bad != nil || err != nil {
		return h, bad, err
	}
	// The base offset is not covered by the CRC: a damaged one shows only
	// as a break in the contiguous offsets (or, where the cleaner left
	// gaps, as offsets going back or past the next segment).
	follows := h.BaseOffset == s.next
	if gaps {
		follows = h.BaseOffset >= s.next && h.LastOffset() < limit
	}
	if !follows || h.LastOffset()-s.base > math.MaxInt32 {
		return h, errOffsets, nil
	}
	return h, nil, nil
}

// checkLargeBatch does core.CheckBatch's work for a batch larger than the
// read window, computing the CRC window by window.
func checkLargeBatch(r *blockReader, pos int64, h core.BatchHeader) (bad, err error) {
	crc := uint32(0)
	end := pos + int64(h.Size())
	for p := pos + crcStart; p < end; {
		n := int(min(int64(cap(r.buf)), end-p))
		b, err := r.peek(p, n)
		if err != nil {
			return nil, err
		}
		crc = crc32.Update(crc, crcTable, b)
		p += int64(n)
	}
	if crc != h.CRC {
		return core.ErrBatchCRC, nil
	}
	return checkFields(h), nil
}

// headerAt reads the header of the batch at pos of a recovered segment. A
// header that does not parse or overruns the segment means the file
// changed under us (media corruption after recovery): ErrCorrupt.
func (s *segment) headerAt(r *blockReader, pos int64) (core.BatchHeader, error) {
	hdr, err := r.peek(pos, core.BatchHeaderSize)
	if errors.Is(err, errPastEnd) {
		return core.BatchHeader{}, fmt.Errorf("%w: %s: header at %d past size %d", ErrCorrupt, s.name, pos, s.size)
	}
	if err != nil {
		return core.BatchHeader{}, err
	}
	h, err := core.ParseBatchHeader(hdr)
	if err != nil {
		return h, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.name, pos, err)
	}
	if pos+int64(h.Size()) > s.size {
		return h, fmt.Errorf("%w: %s: batch at %d overruns size %d", ErrCorrupt, s.name, pos, s.size)
	}
	return h, nil
}

// positionOf returns the position of the first batch whose last offset is
// >= o (s.size if none): the read hint's position when o is where the last
// read stopped, else the offset index's entry and a forward scan of
// headers from there.
func (s *segment) positionOf(r *blockReader, o core.Offset) (int64, error) {
	if o <= s.base || s.size == 0 {
		return 0, nil // every batch's last offset is >= s.base
	}
	if s.hintPos > 0 && s.hintNext == o && s.hintPos <= s.size {
		return s.hintPos, nil
	}
	pos, err := s.idx.lookupOffset(s.rel(min(o, s.next-1)))
	if err != nil {
		return 0, err
	}
	for pos < s.size {
		h, err := s.headerAt(r, pos)
		if err != nil {
			return 0, err
		}
		if h.LastOffset() >= o {
			return pos, nil
		}
		pos += int64(h.Size())
	}
	return pos, nil
}

// minOneReadBytes is what a read that must return one batch reads at
// least, whatever its budget, so that a batch of up to this size costs one
// file read (a ListOffsets lookup reads with a budget of 1 byte).
const minOneReadBytes = 4 << 10

// chunkBytes is how much a read of budget bytes reads at once when avail
// bytes follow its start: the budget, or with minOne enough for a typical
// first batch, never past avail.
func chunkBytes(budget, avail int64, minOne bool) int64 {
	n := min(max(budget, 0), avail)
	if minOne {
		n = max(n, min(minOneReadBytes, avail))
	}
	return n
}

// readFrom appends to out the whole batches of s from position start (a
// batch boundary): batches with base offset < below, at most budget bytes
// unless minOne lets the first batch through alone. full reports that the
// read stopped for a reason other than the segment's end.
//
// It reads [start, start+chunk) with one ReadAt straight into out, then
// walks the batch headers in those bytes, cutting at the bound and
// verifying each batch it keeps: the bytes checked are the bytes
// returned. Only a first batch larger than the chunk costs a second read.
// The bytes of a cut-off batch past the bound are read and dropped.
func (s *segment) readFrom(out []byte, start int64, below core.Offset, budget int64, minOne bool) ([]byte, bool, error) {
	n := len(out)
	end := s.readEnd() // a damaged segment is read up to its damage only
	if start >= end && end < s.size {
		return nil, false, s.damageError(start)
	}
	out, err := s.readAppend(out, start, chunkBytes(budget, end-start, minOne))
	if err != nil {
		return nil, false, err
	}
	k, pos := n, start // out[k:] holds the file's bytes from pos, a batch boundary
	for k < len(out) {
		first := minOne && k == n
		if len(out)-k < core.BatchHeaderSize {
			if pos+core.BatchHeaderSize > end {
				return nil, false, fmt.Errorf("%w: %s: header at %d past size %d", ErrCorrupt, s.name, pos, end)
			}
			break // the chunk ends within the header: past the budget
		}
		h, perr := core.ParseBatchHeader(out[k:])
		if perr != nil {
			return nil, false, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.name, pos, perr)
		}
		if h.BaseOffset >= below {
			break
		}
		size := h.Size()
		if pos+int64(size) > end {
			return nil, false, fmt.Errorf("%w: %s: batch at %d overruns size %d", ErrCorrupt, s.name, pos, end)
		}
		if !first && int64(k-n+size) > budget {
			break
		}
		if have := len(out) - k; size > have { // only a first batch outgrows the chunk
			if out, err = s.readAppend(out, pos+int64(have), int64(size-have)); err != nil {
				return nil, false, err
			}
		}
		if verr := verifyBatch(out[k:k+size], h); verr != nil {
			return nil, false, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.name, pos, verr)
		}
		k, pos = k+size, pos+int64(size)
		s.hintNext, s.hintPos = h.LastOffset()+1, pos
	}
	return out[:k], pos < s.size, nil
}

// readAppend appends the n bytes of the .log at pos to out.
func (s *segment) readAppend(out []byte, pos, n int64) ([]byte, error) {
	k := len(out)
	out = slices.Grow(out, int(n))[:k+int(n)]
	if _, err := s.log.ReadAt(out[k:], pos); err != nil {
		return nil, fmt.Errorf("segment: read %s at %d: %w", s.name, pos, err)
	}
	return out, nil
}

// verifyBatch checks what core.CheckBatch checks beyond the header that
// h was parsed from b: length, CRC, codec and record counts.
func verifyBatch(b []byte, h core.BatchHeader) error {
	if len(b) != h.Size() {
		return core.ErrBatchLength
	}
	if crc32.Checksum(b[crcStart:], crcTable) != h.CRC {
		return core.ErrBatchCRC
	}
	return checkFields(h)
}

// checkFields checks the header fields not covered by parsing: codec and
// record counts. A cleaned batch may hold fewer records than its offsets
// span (none, for a header kept for its producer's sequence).
func checkFields(h core.BatchHeader) error {
	switch {
	case h.Compression() > 4:
		return core.ErrBatchCodec
	case h.RecordCount < 0 || h.LastOffsetDelta < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1:
		return core.ErrBatchCounts
	}
	return nil
}

// findTime returns the first batch with MaxTimestamp >= ts, using the time
// index for a start offset and the offset index for its position.
func (s *segment) findTime(r *blockReader, ts int64, minOffset core.Offset) (core.BatchHeader, bool, error) {
	rel, ok, err := s.tidx.lookupTime(ts)
	if err != nil {
		return core.BatchHeader{}, false, err
	}
	from := s.base
	if ok {
		from = s.base + core.Offset(rel)
	}
	pos, err := s.positionOf(r, max(from, minOffset))
	if err != nil {
		return core.BatchHeader{}, false, err
	}
	for pos < s.size {
		h, err := s.headerAt(r, pos)
		if err != nil {
			return h, false, err
		}
		if h.MaxTimestamp >= ts {
			return h, true, nil
		}
		pos += int64(h.Size())
	}
	return core.BatchHeader{}, false, nil
}

package segment

import (
	"errors"
	"fmt"
	"math"

	"cloudkafka/core"
)

// The scrubber: background re-verification of stored batches.
//
// Batches are verified when they are stored (the broker checks a
// produce's CRC, a follower its leader's batches) and when recovery scans
// the log; reads that send segment bytes by reference do not check them
// again. Damage on the medium after that is found by Scrub, which the
// broker calls at a configured rate (log.scrub.bytes.per.second), so that
// a damaged batch is found within one pass over the logs:
//
//	segs[0]            segs[1]                      segs[n-1] (active)
//	┌────────────────┐ ┌──────────────────────────┐ ┌──────────────┐
//	│ ✓ ✓ ✓ ✓ ✓ ✓ ✓  │ │ ✓ ✓ ✓ ▲ . . . . . . . .  │ │ . . . . .     │
//	└────────────────┘ └───────┼──────────────────┘ └──────────────┘
//	                           cursor: a segment and a batch boundary in it
//
// Each call verifies whole batches from the cursor (header, length within
// the segment, CRC-32C, codec and counts, offsets following the previous
// batch as recovery requires), about maxBytes of them, and moves the
// cursor on; at the log end it goes back to the first segment and reports
// a completed pass. A pass ends at the log end as it was when the pass
// began, so that a partition written faster than it is scrubbed still
// completes passes. A segment the cursor was in that is gone (deleted by
// retention, replaced by a clean or a truncation) starts a new pass at the
// first segment.
//
// A batch that fails marks its segment damaged from the batch's position:
// every read path refuses the segment's bytes from there on (segment
// damagedFrom), since a damaged length leaves no sound way to find the
// batches after it, and the cursor goes on at the next segment. The next
// append to a damaged active segment rolls it first, so that new batches
// stay readable. Scrub only reads; the mark is kept in memory, and after a
// restart recovery, which verifies every batch, cuts the log at the
// damage instead.

// ScrubReport says what one Scrub did.
type ScrubReport struct {
	Checked  int64 // bytes of the whole batches verified
	PassDone bool  // the cursor reached the log end and went back to the first segment
	// Damaged lists the damage found, each place once (a segment's
	// verified prefix ends at its mark, so a later pass does not find it
	// again).
	Damaged []core.ScrubDamage
}

// scrubCursor is where the next Scrub starts: a batch boundary of seg.
type scrubCursor struct {
	seg  *segment    // nil: a pass starts at the first segment
	pos  int64       // a batch boundary of seg, <= its size
	next core.Offset // the offset after the batch before pos (seg.base at 0)
	// passEnd is the log end when the pass began: the pass is done once
	// the batches below it are verified.
	passEnd core.Offset
	buf     []byte // the verification window, reused
}

// moveTo puts the cursor at the start of s.
func (c *scrubCursor) moveTo(s *segment) { c.seg, c.pos, c.next = s, 0, s.base }

// startPass puts the cursor at the start of the first segment, for a pass
// up to the log end as it is now.
func (l *Log) startPass() {
	l.scrub.moveTo(l.segs[0])
	l.scrub.passEnd = l.LogEndOffset()
}

// passReached says the cursor is past every batch below the pass's end.
func (c *scrubCursor) passReached() bool { return c.next >= c.passEnd }

// damagedFrom says whether the scrubber marked s damaged, and from which
// position: no read may return, or send by reference, bytes of s at or
// past pos.
func (s *segment) damagedFrom() (pos int64, ok bool) { return s.damagedPos, s.damaged }

// readEnd is where reads of s must stop: its size, or its damage mark.
func (s *segment) readEnd() int64 {
	if pos, ok := s.damagedFrom(); ok {
		return min(pos, s.size)
	}
	return s.size
}

// damageError is the error of a read of s at position pos at or past its
// damage mark.
func (s *segment) damageError(pos int64) error {
	from, _ := s.damagedFrom()
	return fmt.Errorf("%w: %s: read at %d refused, damaged from %d", ErrCorrupt, s.name, pos, from)
}

// markDamaged marks s damaged from pos (a lower mark stays) and describes
// it; next is the offset after the last sound batch before pos.
func (s *segment) markDamaged(pos int64, next core.Offset, why error) core.ScrubDamage {
	if !s.damaged || pos < s.damagedPos {
		s.damaged, s.damagedPos, s.damagedNext = true, pos, next
	}
	return core.ScrubDamage{Segment: s.name, SegmentBase: s.base, Position: pos, Offset: next, End: s.next, Reason: why.Error()}
}

// Scrub verifies about maxBytes of whole batches from where the previous
// Scrub stopped (at least one batch, whatever its size) and marks what
// fails as damaged (see the top of this file). It stops at the end of a
// pass, so that a small log is not verified many times in one call. An
// IO error ends it with what was checked so far.
func (l *Log) Scrub(maxBytes int64) (ScrubReport, error) {
	var rep ScrubReport
	if err := l.usable(); err != nil {
		return rep, err
	}
	for i := l.scrubSegment(); ; i++ {
		done, err := l.scrubIn(l.segs[i], maxBytes, &rep)
		if err != nil || !done {
			return rep, err
		}
		if i+1 == len(l.segs) || l.scrub.passReached() {
			l.startPass()
			rep.PassDone = true
			return rep, nil
		}
		l.scrub.moveTo(l.segs[i+1])
		if rep.Checked >= maxBytes {
			return rep, nil
		}
	}
}

// scrubSegment returns the index of the cursor's segment, first starting
// a pass at the first segment if its own is gone.
func (l *Log) scrubSegment() int {
	c := &l.scrub
	if c.seg != nil {
		for i, s := range l.segs {
			if s == c.seg && c.pos <= s.size {
				return i
			}
		}
	}
	l.startPass()
	return 0
}

// scrubIn verifies batches of s from the cursor until the budget is
// spent (done false) or the segment's verifiable bytes end (done true):
// at its size, at its damage mark, at a batch that fails, which it marks,
// or at the end of the pass.
func (l *Log) scrubIn(s *segment, maxBytes int64, rep *ScrubReport) (done bool, err error) {
	c := &l.scrub
	end := s.readEnd()
	if c.buf == nil {
		c.buf = make([]byte, 0, readBlockBytes)
	}
	r := reuseBlockReader(s.log, s.name, end, c.buf)
	gaps := s.base < l.rewriteBound
	for c.pos < end && !c.passReached() {
		h, bad, err := s.scrubHeaderAt(&r, c.pos)
		if err != nil {
			return false, err
		}
		if bad == nil && rep.Checked > 0 && rep.Checked+int64(h.Size()) > maxBytes {
			return false, nil // the budget is spent; this batch opens the next call
		}
		if bad == nil {
			bad, err = s.scrubBatchAt(&r, c.pos, h, c.next, gaps)
			if err != nil {
				return false, err
			}
		}
		if bad != nil {
			if bugOn(BugScrubSkipsDamage) {
				return true, nil // BUG SITE (simbugs): BugScrubSkipsDamage passes over the damage unmarked.
			}
			rep.Damaged = append(rep.Damaged, s.markDamaged(c.pos, c.next, bad))
			return true, nil
		}
		rep.Checked += int64(h.Size())
		c.pos, c.next = c.pos+int64(h.Size()), h.LastOffset()+1
	}
	return true, nil
}

// scrubHeaderAt parses the header of the batch at pos: bad says why it is
// damaged (a header cut off by the segment's end counts), err is an IO
// error.
func (s *segment) scrubHeaderAt(r *blockReader, pos int64) (h core.BatchHeader, bad, err error) {
	hdr, err := r.peek(pos, core.BatchHeaderSize)
	if errors.Is(err, errPastEnd) {
		return h, core.ErrBatchShort, nil // a header past the segment's recorded end, or a file shorter than it
	}
	if err != nil {
		return h, nil, err
	}
	h, bad = core.ParseBatchHeader(hdr)
	return h, bad, nil
}

// scrubBatchAt verifies the rest of the batch h at pos as recovery does
// (see segment.checkBatchAt): within the verifiable bytes, CRC, codec and
// counts, and its offsets following next (the offset after the batch
// before it) and below the segment's end; with gaps (a segment the
// cleaner may have rewritten) a batch may start past next.
func (s *segment) scrubBatchAt(r *blockReader, pos int64, h core.BatchHeader, next core.Offset, gaps bool) (bad, err error) {
	size := int64(h.Size())
	if pos+size > r.end {
		return core.ErrBatchShort, nil
	}
	if size <= int64(cap(r.buf)) {
		b, err := r.peek(pos, int(size))
		if errors.Is(err, errPastEnd) {
			return core.ErrBatchShort, nil // the file is shorter than the segment's recorded size
		}
		if err != nil {
			return nil, err
		}
		bad = verifyBatch(b, h)
	} else {
		bad, err = checkLargeBatch(r, pos, h)
		if errors.Is(err, errPastEnd) {
			return core.ErrBatchShort, nil
		}
	}
	if bad != nil || err != nil {
		return bad, err
	}
	follows := h.BaseOffset == next
	if gaps {
		follows = h.BaseOffset >= next
	}
	if !follows || h.LastOffset() >= s.next || h.LastOffset()-s.base > math.MaxInt32 {
		return errOffsets, nil
	}
	return nil, nil
}

package segment

import (
	"fmt"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// ReadSpans is Read by reference (core.Read.ByRef): the same whole
// batches Read returns, from the batch holding offset (or the first after
// it) up to the first batch whose base offset is >= below and within
// maxBytes (with minOne, a first batch larger than maxBytes goes whole),
// returned as spans of the segment files rather than read: the response's
// writer sends them from the files. It reads only the headers it needs
// to place the start and the end (the offset index finds a batch
// boundary near the byte limit), and checks no CRC: served bytes were
// checked when appended, or by the recovery after a crash past the
// recovery point (a restart trusts what lies below it, as Kafka's does),
// and the scrubber re-verifies them (see the README's Durability
// section); a read stops at the damage the scrubber marked, and one that
// would start there is refused with ErrCorrupt (see damagedFrom). At the
// log end it returns nil.
func (l *Log) ReadSpans(offset, below core.Offset, maxBytes int32, minOne bool) (*core.RecordsRef, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	if offset < l.segs[0].base || offset > l.LogEndOffset() {
		return nil, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, l.segs[0].base, l.LogEndOffset())
	}
	var ref *core.RecordsRef
	var spans []kio.Span
	budget := int64(maxBytes)
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
			if ref != nil {
				break // what lies before the damage is served; the next read is refused
			}
			return nil, s.damageError(start)
		}
		h, err := s.headerAt(&r, start)
		if err != nil {
			return nil, err
		}
		if h.BaseOffset >= below {
			break
		}
		end, endBase, err := s.spansEnd(&r, below)
		if err != nil {
			return nil, err
		}
		full := end-start > budget
		if full {
			if end, endBase, err = s.boundaryWithin(&r, start, start+budget); err != nil {
				return nil, err
			}
			if end == start && minOne && ref == nil {
				end, endBase = start+int64(h.Size()), h.LastOffset()+1
			}
		}
		if end > start {
			if ref == nil {
				ref = &core.RecordsRef{FirstSize: int32(h.Size()), FirstBase: h.BaseOffset}
			}
			spans = append(spans, kio.Span{File: s.log, Off: start, N: end - start, Gen: s.log.Generation()})
			ref.Len += end - start
			budget -= end - start
			s.hintNext, s.hintPos = endBase, end // the next fetch starts here
		}
		if full || end < s.size {
			break // the budget or below ends the read in this segment
		}
		offset = s.next
	}
	if ref == nil {
		return nil, nil
	}
	ref.Handle = spans
	return ref, nil
}

// spansEnd is where a read of s by reference ends for below: the first
// batch at or past below (positionBelow), or the scrubber's damage mark if
// that comes first (the headers past it are not trusted to find below).
func (s *segment) spansEnd(r *blockReader, below core.Offset) (int64, core.Offset, error) {
	if p, damaged := s.damagedFrom(); damaged && below >= s.damagedNext {
		return p, s.damagedNext, nil
	}
	return s.positionBelow(r, below)
}

// positionBelow is the position in s of the first batch whose base
// offset is >= below, and that offset (s.size and s.next if no batch of
// s reaches below).
func (s *segment) positionBelow(r *blockReader, below core.Offset) (int64, core.Offset, error) {
	if below >= s.next {
		return s.size, s.next, nil
	}
	pos, err := s.positionOf(r, below)
	if err != nil || pos == s.size {
		return s.size, s.next, err
	}
	h, err := s.headerAt(r, pos)
	if err != nil {
		return 0, 0, err
	}
	if h.BaseOffset < below { // a batch across below is read whole, as Read does
		return s.nextBatch(r, pos, h)
	}
	return pos, h.BaseOffset, nil
}

// boundaryWithin is the last batch boundary of s in [start, limit] and
// the base offset of the batch there (the offset past s if none): the
// offset index gives one at or before limit, and the headers from there
// on (at most an index interval and a batch) the last.
func (s *segment) boundaryWithin(r *blockReader, start, limit int64) (int64, core.Offset, error) {
	pos, err := s.idx.lookupPosition(limit)
	if err != nil {
		return 0, 0, err
	}
	pos = max(pos, start)
	for pos < s.size {
		h, err := s.headerAt(r, pos)
		if err != nil {
			return 0, 0, err
		}
		if pos+int64(h.Size()) > limit {
			return pos, h.BaseOffset, nil
		}
		pos += int64(h.Size())
	}
	return pos, s.next, nil
}

// nextBatch is the position and base offset of the batch after h, at pos
// (s.size and s.next after the last).
func (s *segment) nextBatch(r *blockReader, pos int64, h core.BatchHeader) (int64, core.Offset, error) {
	pos += int64(h.Size())
	if pos == s.size {
		return s.size, s.next, nil
	}
	next, err := s.headerAt(r, pos)
	if err != nil {
		return 0, 0, err
	}
	return pos, next.BaseOffset, nil
}

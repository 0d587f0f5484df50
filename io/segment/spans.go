package segment

import (
	"fmt"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// ReadSpans is Read by reference (core.Read.ByRef): it finds, from the
// batch holding offset (or the first after it), the log's bytes up to the
// first batch whose base offset is >= below, and returns them as spans of
// the segment files rather than reading them: the response's writer sends
// them from the files. Like Kafka's fetch, it cuts at maxBytes wherever
// that falls, so the last batch may be partial (clients drop it); with
// minOne a first batch larger than maxBytes goes whole. It reads only
// the headers it needs to place the start and the end, and checks no
// CRC: served bytes were checked when appended or recovered (see the
// README's Durability section). At the log end it returns nil.
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
		h, err := s.headerAt(&r, start)
		if err != nil {
			return nil, err
		}
		if h.BaseOffset >= below {
			break
		}
		end, endBase, err := s.positionBelow(&r, below)
		if err != nil {
			return nil, err
		}
		if ref == nil {
			ref = &core.RecordsRef{FirstSize: int32(h.Size()), FirstBase: h.BaseOffset}
		}
		n := end - start
		cut := n > budget
		if cut {
			n = max(budget, 0)
			if minOne && len(spans) == 0 && n < int64(h.Size()) {
				n = int64(h.Size())
			}
		}
		if n == 0 {
			break
		}
		spans = append(spans, kio.Span{File: s.log, Off: start, N: n, Gen: s.log.Generation()})
		ref.Len += n
		budget -= n
		if cut {
			break
		}
		s.hintNext, s.hintPos = endBase, end // the next fetch starts here
		if end < s.size {
			break // below lies in this segment
		}
		offset = s.next
	}
	if ref == nil {
		return nil, nil
	}
	ref.Handle = spans
	return ref, nil
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
		pos += int64(h.Size())
		if pos == s.size {
			return s.size, s.next, nil
		}
		if h, err = s.headerAt(r, pos); err != nil {
			return 0, 0, err
		}
	}
	return pos, h.BaseOffset, nil
}

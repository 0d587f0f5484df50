package segment

import "cloudkafka/core"

// FindMaxTime returns the base offset and MaxTimestamp of the batch with
// the largest MaxTimestamp among those whose offsets lie at or past from
// and whose base offset is below below, the first of equals (ListOffsets
// by max timestamp, KIP-734; Kafka's UnifiedLog picks the first segment
// with the largest timestamp and its first batch reaching it). A batch
// without a timestamp (-1) is never found.
//
// A segment wholly inside the range answers from its largest timestamp
// (maxTs), found with the time index; a segment the range cuts (the
// first, at the log start, and the last, at the high watermark) is
// scanned batch by batch. Segments whose maxTs cannot beat the best
// found so far are skipped, so a lookup reads at most two segments' headers
// in full.
func (l *Log) FindMaxTime(from, below core.Offset) (off core.Offset, batchTs int64, found bool, err error) {
	if err := l.usable(); err != nil {
		return 0, 0, false, err
	}
	bestTs := int64(-1)
	for _, s := range l.segs {
		if s.size == 0 || s.next <= from || s.base >= below || s.maxTs <= bestTs {
			continue // empty, outside the range, or unable to beat the best
		}
		r := l.scanner(s)
		if s.base >= from && s.next <= below {
			h, ok, err := s.findTime(&r, s.maxTs, from)
			if err != nil {
				return 0, 0, false, err
			}
			if ok && h.BaseOffset < below {
				off, bestTs, found = h.BaseOffset, h.MaxTimestamp, true
			}
			continue
		}
		pos, err := s.positionOf(&r, max(s.base, from))
		if err != nil {
			return 0, 0, false, err
		}
		for pos < s.size {
			h, err := s.headerAt(&r, pos)
			if err != nil {
				return 0, 0, false, err
			}
			if h.BaseOffset >= below {
				break
			}
			if h.LastOffset() >= from && h.MaxTimestamp > bestTs {
				off, bestTs, found = h.BaseOffset, h.MaxTimestamp, true
			}
			pos += int64(h.Size())
		}
	}
	return off, bestTs, found, nil
}

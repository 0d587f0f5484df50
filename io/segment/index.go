package segment

import (
	"encoding/binary"
	"fmt"

	kio "cloudkafka/io"
)

// Entry sizes of the index files; part of the format, do not change.
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

// indexWriter buffers entries for one index file and writes them at its
// end. Invariant: size is the file's length once flushed plus len(buf).
type indexWriter struct {
	f    kio.File
	name string
	size int64  // bytes of entries, flushed or buffered
	buf  []byte // entries not yet written
	// dirty: the file was written or truncated since its last fsync. A
	// restart trusts the indexes of a sealed segment below the recovery
	// point, so Sync fsyncs them once the segment is sealed (see
	// Log.RecoveryPoint).
	dirty bool
}

// flushBytesMax bounds the entries an indexWriter holds unwritten:
// appends and recovery write them in pieces of about this size (an
// append's own entries stay in memory until then, one write per 512
// offset entries instead of one per append), and seal, Sync of a sealed
// segment and Close write the rest. Lookups read the unwritten entries
// from the buffer. Unwritten entries lost in a crash are rebuilt by
// recovery, which rebuilds the index of every segment past the recovery
// point.
const flushBytesMax = 4 << 10

func (w *indexWriter) entries(entrySize int) int64 { return w.size / int64(entrySize) }

func (w *indexWriter) add(entry []byte) error {
	w.buf = append(w.buf, entry...)
	w.size += int64(len(entry))
	if len(w.buf) >= flushBytesMax {
		return w.flush()
	}
	return nil
}

func (w *indexWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	at := w.size - int64(len(w.buf))
	w.dirty = true
	if _, err := w.f.WriteAt(w.buf, at); err != nil {
		return fmt.Errorf("segment: write %s: %w", w.name, err)
	}
	w.buf = w.buf[:0]
	return nil
}

// sync flushes the buffer and fsyncs the file if it changed since its
// last fsync.
func (w *indexWriter) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if !w.dirty {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("segment: sync %s: %w", w.name, err)
	}
	w.dirty = false
	return nil
}

func (w *indexWriter) addOffset(rel uint32, pos uint32) error {
	var e [offsetEntrySize]byte
	binary.BigEndian.PutUint32(e[0:], rel)
	binary.BigEndian.PutUint32(e[4:], pos)
	return w.add(e[:])
}

func (w *indexWriter) addTime(ts int64, rel uint32) error {
	var e [timeEntrySize]byte
	binary.BigEndian.PutUint64(e[0:], uint64(ts))
	binary.BigEndian.PutUint32(e[8:], rel)
	return w.add(e[:])
}

// entry reads entry i of size entrySize, from the buffer if it is not
// written yet.
func (w *indexWriter) entry(i int64, entrySize int, dst []byte) error {
	at := i * int64(entrySize)
	if written := w.size - int64(len(w.buf)); at >= written {
		copy(dst[:entrySize], w.buf[at-written:])
		return nil
	}
	if _, err := w.f.ReadAt(dst[:entrySize], at); err != nil {
		return fmt.Errorf("segment: read %s entry %d: %w", w.name, i, err)
	}
	return nil
}

// lookupOffset returns the position of the last offset index entry whose
// relative offset is <= rel, or 0. It binary-searches the file with one
// 8-byte read per probe, so it never loads the index.
func (w *indexWriter) lookupOffset(rel uint32) (int64, error) {
	var e [offsetEntrySize]byte
	lo, hi := int64(0), w.entries(offsetEntrySize) // answer in [lo-1, hi)
	pos := int64(0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if err := w.entry(mid, offsetEntrySize, e[:]); err != nil {
			return 0, err
		}
		if binary.BigEndian.Uint32(e[0:]) <= rel {
			pos = int64(binary.BigEndian.Uint32(e[4:]))
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return pos, nil
}

// lookupPosition returns the position of the last offset index entry
// whose position is <= limit, or 0: a batch boundary at or before limit.
func (w *indexWriter) lookupPosition(limit int64) (int64, error) {
	var e [offsetEntrySize]byte
	lo, hi := int64(0), w.entries(offsetEntrySize)
	pos := int64(0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if err := w.entry(mid, offsetEntrySize, e[:]); err != nil {
			return 0, err
		}
		if p := int64(binary.BigEndian.Uint32(e[4:])); p <= limit {
			pos = p
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return pos, nil
}

// lookupTime returns the relative offset of the last time index entry
// whose timestamp is < ts, and whether there is one.
func (w *indexWriter) lookupTime(ts int64) (uint32, bool, error) {
	var e [timeEntrySize]byte
	lo, hi := int64(0), w.entries(timeEntrySize)
	var rel uint32
	found := false
	for lo < hi {
		mid := lo + (hi-lo)/2
		if err := w.entry(mid, timeEntrySize, e[:]); err != nil {
			return 0, false, err
		}
		if int64(binary.BigEndian.Uint64(e[0:])) < ts {
			rel, found = binary.BigEndian.Uint32(e[8:]), true
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return rel, found, nil
}

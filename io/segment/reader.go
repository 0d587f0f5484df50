package segment

import (
	"errors"
	"fmt"
	"io"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// errPastEnd says a read reached past the given end of a file: on the
// recovery path it marks a torn tail, elsewhere a log shorter than its
// recorded size.
var errPastEnd = errors.New("read past the end of the segment")

// blockReader reads one file forward through a fixed window so that a scan
// of small batches costs one read per window, not one per header, and a
// scan of any file needs only len(buf) bytes of memory.
//
// Invariant: buf holds the file's bytes [off, off+len(buf)).
type blockReader struct {
	f    kio.File
	name string
	end  int64 // bytes of the file that may be read
	buf  []byte
	off  int64
}

// readBlockBytes is the window of a blockReader that scans a whole file
// (recovery, rebuilding derived state).
const readBlockBytes = 64 << 10

// scanWindowBytes is the window of the blockReader a Log reuses to find a
// position for Read and FindTime: the scan runs forward from an index
// entry, which lies at most about IndexIntervalBytes (Kafka's default is
// 4 KiB) plus one batch before the target, so one page usually holds every
// header of the scan.
const scanWindowBytes = 4 << 10

// newBlockReader is a blockReader of the first end bytes of f whose window
// is readBlockBytes, or less for a shorter file: a scan of a small
// segment allocates no more than the segment's size (but at least one
// header, so that peeking a header past the end reports errPastEnd).
func newBlockReader(f kio.File, name string, end int64) *blockReader {
	window := min(max(end, core.BatchHeaderSize), readBlockBytes)
	return &blockReader{f: f, name: name, end: end, buf: make([]byte, 0, window)}
}

// reuseBlockReader is a blockReader of f over buf's capacity, empty: no
// bytes of an earlier use of buf are trusted, since the file may have
// changed since.
func reuseBlockReader(f kio.File, name string, end int64, buf []byte) blockReader {
	return blockReader{f: f, name: name, end: end, buf: buf[:0]}
}

// peek returns the n bytes at pos, valid until the next call. n must not
// exceed the window; bytes past end are errPastEnd.
func (r *blockReader) peek(pos int64, n int) ([]byte, error) {
	if n > cap(r.buf) {
		panic(fmt.Sprintf("segment: peek of %d bytes exceeds the %d-byte window", n, cap(r.buf)))
	}
	if pos < 0 || pos+int64(n) > r.end {
		return nil, errPastEnd
	}
	if pos >= r.off && pos+int64(n) <= r.off+int64(len(r.buf)) {
		return r.buf[pos-r.off : pos-r.off+int64(n)], nil
	}
	m := min(int64(cap(r.buf)), r.end-pos)
	r.buf = r.buf[:m]
	k, err := r.f.ReadAt(r.buf, pos)
	if err != nil && !(errors.Is(err, io.EOF) && k == len(r.buf)) {
		r.buf, r.off = r.buf[:0], 0
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("segment: read %s at %d: file shorter than %d: %w", r.name, pos, r.end, errPastEnd)
		}
		return nil, fmt.Errorf("segment: read %s at %d: %w", r.name, pos, err)
	}
	r.off = pos
	return r.buf[:n], nil
}

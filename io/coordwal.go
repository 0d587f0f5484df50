package kio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The embedded coordinator's write-ahead log (see FileCoordinator for how
// it pairs with the snapshot, and for the crash story).
//
// # coordinator.wal
//
// A header, then records back to back, each one write that changed
// persistent znodes. Big endian.
//
//	header (walHeaderBytes = 20):
//	┌──────────────┬────────────────┬───────────────────┬────────────────────┐
//	│ magic "CKCW" │ version uint32 │ generation uint64 │ crc32c uint32 of   │
//	│              │ (1)            │                   │ the 16 bytes before│
//	└──────────────┴────────────────┴───────────────────┴────────────────────┘
//
//	record:
//	┌────────────────┬──────────────────────────┬───────────────────────────┐
//	│ length uint32  │ crc32c uint32 of the     │ payload (length bytes,    │
//	│ of the payload │ length field and payload │ 1..walRecordBytesMax)     │
//	└────────────────┴──────────────────────────┴───────────────────────────┘
//
//	payload:  count uvarint, then count changes, sorted by path
//	change:   kind byte ('P' put, 'D' delete), path (uvarint length, bytes),
//	          then for a put: version, cversion, creates (zigzag varints),
//	          data (uvarint length, bytes)
//
// A put is the znode's whole persistent state after the write (its data
// and the versions that SavedZnode keeps); a delete says the path holds no
// persistent znode any more. A write's record lists every persistent znode
// it changed (a recursive delete lists each node of the subtree), so
// replaying records over the snapshot's znodes, in order, gives the
// znodes the snapshot of the same moment would hold. The CRC-32C is
// Castagnoli's, as in the rest of the storage; it covers the length so
// that a torn or damaged length is caught too.
//
// Part of the format; do not change.
const (
	walMagic         = "CKCW"
	walFormatVersion = 1
	walHeaderBytes   = 20
	walFrameBytes    = 8 // length and CRC before each payload
	// walRecordBytesMax bounds a record's payload: a larger length field
	// is damage. A write whose record would exceed it is refused.
	walRecordBytesMax = 256 << 20

	walPut    = 'P'
	walDelete = 'D'
)

var walCRCTable = crc32.MakeTable(crc32.Castagnoli)

// errWALRecordTooLarge refuses a write whose record exceeds
// walRecordBytesMax.
var errWALRecordTooLarge = errors.New("coordinator write too large for one log record")

// appendWALHeader appends the header of a log of generation gen.
func appendWALHeader(dst []byte, gen uint64) []byte {
	start := len(dst)
	dst = append(dst, walMagic...)
	dst = binary.BigEndian.AppendUint32(dst, walFormatVersion)
	dst = binary.BigEndian.AppendUint64(dst, gen)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], walCRCTable))
}

// parseWALHeader returns the generation of the log whose bytes start b.
func parseWALHeader(b []byte) (uint64, error) {
	switch {
	case len(b) < walHeaderBytes:
		return 0, fmt.Errorf("header of %d bytes, want %d", len(b), walHeaderBytes)
	case string(b[:4]) != walMagic:
		return 0, fmt.Errorf("magic %q, want %q", b[:4], walMagic)
	case crc32.Checksum(b[:16], walCRCTable) != binary.BigEndian.Uint32(b[16:20]):
		return 0, errors.New("header CRC mismatch")
	case binary.BigEndian.Uint32(b[4:8]) != walFormatVersion:
		return 0, fmt.Errorf("format version %d, want %d", binary.BigEndian.Uint32(b[4:8]), walFormatVersion)
	}
	return binary.BigEndian.Uint64(b[8:16]), nil
}

// appendWALRecord appends the record of changes (sorted by path, at
// least one) to dst.
func appendWALRecord(dst []byte, changes []ZChange) ([]byte, error) {
	if len(changes) == 0 {
		panic("coordinator log: a record without changes")
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // the frame, filled in below
	dst = binary.AppendUvarint(dst, uint64(len(changes)))
	for _, ch := range changes {
		z := ch.Znode
		if ch.Deleted {
			dst = append(dst, walDelete)
			dst = appendWALBytes(dst, []byte(z.Path))
			continue
		}
		dst = append(dst, walPut)
		dst = appendWALBytes(dst, []byte(z.Path))
		dst = binary.AppendVarint(dst, int64(z.Version))
		dst = binary.AppendVarint(dst, int64(z.CVersion))
		dst = binary.AppendVarint(dst, int64(z.Creates))
		dst = appendWALBytes(dst, z.Data)
	}
	n := len(dst) - start - walFrameBytes
	if n > walRecordBytesMax {
		return dst[:start], fmt.Errorf("%w: %d bytes, at most %d", errWALRecordTooLarge, n, walRecordBytesMax)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	crc := crc32.Checksum(dst[start:start+4], walCRCTable)
	crc = crc32.Update(crc, walCRCTable, dst[start+walFrameBytes:])
	binary.BigEndian.PutUint32(dst[start+4:], crc)
	return dst, nil
}

func appendWALBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// readWALRecord checks the record at the start of b and returns its
// payload and its size with the frame, or why it is not a whole, intact
// record.
func readWALRecord(b []byte) (payload []byte, size int, bad string) {
	if len(b) < walFrameBytes {
		return nil, 0, fmt.Sprintf("%d bytes left, less than a record frame", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	switch {
	case n == 0 || n > walRecordBytesMax:
		return nil, 0, fmt.Sprintf("record length %d outside 1..%d", n, walRecordBytesMax)
	case uint64(n) > uint64(len(b)-walFrameBytes):
		return nil, 0, fmt.Sprintf("record length %d past the end of the file (%d bytes left)", n, len(b)-walFrameBytes)
	}
	payload = b[walFrameBytes : walFrameBytes+int(n)]
	crc := crc32.Update(crc32.Checksum(b[:4], walCRCTable), walCRCTable, payload)
	if crc != binary.BigEndian.Uint32(b[4:8]) {
		return nil, 0, "record CRC mismatch"
	}
	return payload, walFrameBytes + int(n), ""
}

// parseWALPayload decodes a record's changes. It never panics: a payload
// whose CRC matched yet does not parse is an error.
func parseWALPayload(p []byte) ([]ZChange, error) {
	d := walDecoder{b: p}
	count := d.uvarint()
	if d.err == nil && count > uint64(len(p)) { // each change takes 2 bytes at least
		d.fail("change count %d exceeds the payload", count)
	}
	var out []ZChange
	for i := uint64(0); i < count && d.err == nil; i++ {
		kind := d.byte()
		ch := ZChange{Znode: SavedZnode{Path: string(d.bytes())}}
		switch kind {
		case walDelete:
			ch.Deleted = true
		case walPut:
			ch.Znode.Version, ch.Znode.CVersion, ch.Znode.Creates = d.int32(), d.int32(), d.int32()
			ch.Znode.Data = d.bytes()
		default:
			d.fail("change kind %d", kind)
		}
		if d.err == nil {
			if err := CheckZPath(ch.Znode.Path); err != nil {
				d.fail("%v", err)
			}
		}
		out = append(out, ch)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the last change", len(d.b))
	}
	return out, d.err
}

// walDecoder reads a payload; the first failure sticks, and every read
// after it returns zero values.
type walDecoder struct {
	b   []byte
	err error
}

func (d *walDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *walDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated change")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *walDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if d.err != nil || n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *walDecoder) int32() int32 {
	v, n := binary.Varint(d.b)
	if d.err != nil || n <= 0 || int64(int32(v)) != v {
		d.fail("bad int32 varint")
		return 0
	}
	d.b = d.b[n:]
	return int32(v)
}

func (d *walDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail("length %d past the payload", n)
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// scanWAL replays, through apply, the records of a log's bytes (header
// included), and returns where the good records end. Bytes after them
// that hold no intact record are a torn tail, a crash in the middle of
// an append: torn says why they were cut (empty when there are none). A
// record that fails its checks with an intact record after it cannot be
// a torn append (appends are synced one at a time): that is damage, an
// error, and nothing is cut. So is an intact record that does not parse.
func scanWAL(data []byte, apply func([]ZChange)) (end int, torn string, err error) {
	pos := walHeaderBytes
	for pos < len(data) {
		payload, size, bad := readWALRecord(data[pos:])
		if bad != "" {
			next, sure := nextWALRecord(data, pos+1)
			switch {
			case !sure:
				return pos, "", fmt.Errorf("record at byte %d is damaged (%s), and the %d bytes after it are too many to tell a torn append from damage", pos, bad, len(data)-pos)
			case next >= 0:
				return pos, "", fmt.Errorf("record at byte %d is damaged (%s), yet an intact record follows at byte %d", pos, bad, next)
			}
			return pos, fmt.Sprintf("%s at byte %d", bad, pos), nil
		}
		changes, err := parseWALPayload(payload)
		if err != nil {
			return pos, "", fmt.Errorf("record at byte %d passed its CRC but does not parse: %w", pos, err)
		}
		apply(changes)
		pos += size
	}
	return pos, "", nil
}

// walResyncBytesMax bounds the bytes nextWALRecord checksums: every
// position of a damaged tail whose length field fits the file costs a
// CRC over that length, which random bytes keep rare, yet crafted or
// unlucky ones need not.
const walResyncBytesMax = 64 << 20

// nextWALRecord returns the first position at or after from where an
// intact record starts, or -1; sure is false when it gave up within
// walResyncBytesMax.
func nextWALRecord(data []byte, from int) (next int, sure bool) {
	budget := walResyncBytesMax
	for q := from; q+walFrameBytes < len(data); q++ {
		n := binary.BigEndian.Uint32(data[q:])
		if n == 0 || uint64(n) > uint64(len(data)-q-walFrameBytes) {
			continue // implausible: no CRC to compute
		}
		if budget -= int(n); budget < 0 {
			return -1, false
		}
		if payload, _, bad := readWALRecord(data[q:]); bad == "" {
			if _, err := parseWALPayload(payload); err == nil {
				return q, true
			}
		}
	}
	return -1, true
}

package kio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"cloudkafka/core"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Frame is a response frame in parts, to be written back to back: what
// the encoder wrote and, between its pieces, the record sets of a fetch
// response, either from the buffers they were read into (written with
// one writev) or, read by reference, as spans of segment files (sent
// with sendfile), so that fetched bytes are never copied into the frame.
// Bufs are the buffers the parts live in; whoever writes the frame may
// recycle them afterwards. A nil Parts is no response.
//
//	Parts: ┌─────────────────────┐┌──────────┐┌───────────┐┌──────────┐┌──────┐
//	       │ size, header, ...,  ││ records  ││ ..., len  ││ records  ││ rest │
//	       │ partition, ..., len ││ (read    ││           ││ (file    ││      │
//	       └─────────────────────┘│  buffer) │└───────────┘│  span)   │└──────┘
//	                              └──────────┘             └──────────┘
type Frame struct {
	Parts []Part
	Bufs  [][]byte
}

// Part is a piece of a frame: Bytes, or when Bytes is nil, Span.
type Part struct {
	Bytes []byte
	Span  Span
}

// Len is the part's size in bytes.
func (p Part) Len() int64 {
	if p.Bytes != nil {
		return int64(len(p.Bytes))
	}
	return p.Span.N
}

// BytesFrame is a frame of one piece, b.
func BytesFrame(b []byte) Frame {
	return Frame{Parts: []Part{{Bytes: b}}, Bufs: [][]byte{b}}
}

// Len is the frame's size in bytes, its size prefix included.
func (f Frame) Len() int64 {
	var n int64
	for _, p := range f.Parts {
		n += p.Len()
	}
	return n
}

// HasSpans says whether some part is a file span.
func (f Frame) HasSpans() bool {
	for _, p := range f.Parts {
		if p.Bytes == nil && p.Span.N > 0 {
			return true
		}
	}
	return false
}

// AppendTo appends the frame's bytes to dst, as one piece, reading its
// spans from their files. A stale span (its file cut or closed since)
// fails it: the frame cannot be written.
func (f Frame) AppendTo(dst []byte) ([]byte, error) {
	for _, p := range f.Parts {
		if p.Bytes != nil {
			dst = append(dst, p.Bytes...)
			continue
		}
		k := len(dst)
		dst = slices.Grow(dst, int(p.Span.N))[:k+int(p.Span.N)]
		if err := p.Span.Read(dst[k:]); err != nil {
			return dst[:k], err
		}
	}
	return dst, nil
}

// SpliceMinBytes is the smallest record set EncodeResponse leaves out of
// the encoded bytes: smaller ones cost less to copy than a part.
const SpliceMinBytes = 4096

// spliceMarkerBytes is the size of the stand-in a spliced record set
// has while the response is encoded.
const spliceMarkerBytes = 16

// EncodeResponse encodes a response frame, as AppendResponse does, into
// a buffer from get (an empty buffer with room for at least n bytes; nil:
// a fresh allocation). The record sets of a fetch response of at least
// SpliceMinBytes, and those read by reference (refs, in the order of the
// body's partitions; their Handle is the []Span of the read), are not
// copied: each is encoded as a 16-byte stand-in (nonce, then its index)
// that is then cut out of the bytes, its length prefix rewritten, and the
// record set itself becomes a part, or parts, of the frame. nonce makes a
// stand-in unlikely to occur in the response's other bytes (names,
// messages); a stand-in not found where the encoding puts it, or a ref
// that matches no partition, is a broken invariant. The body's record
// sets are the frame's from here on.
func EncodeResponse(get func(int) []byte, corr int32, body kmsg.Response, nonce [8]byte, refs []core.RecordsAt) Frame {
	if get == nil {
		get = func(n int) []byte { return make([]byte, 0, n) }
	}
	f, ok := body.(*kmsg.FetchResponse)
	if !ok {
		return BytesFrame(AppendResponse(get(ResponseSizeHint(body)), corr, body))
	}
	var sets []recordSet
	hint, next := 512, 0
	for i := range f.Topics {
		t := &f.Topics[i]
		hint += 64 + len(t.Topic)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			hint += 64
			if next < len(refs) && refs[next].Partition == p.Partition && refs[next].Topic == t.Topic && refs[next].TopicID == t.TopicID {
				sets = append(sets, spanSet(refs[next].Ref))
				next++
			} else if len(p.RecordBatches) >= SpliceMinBytes {
				sets = append(sets, recordSet{parts: []Part{{Bytes: p.RecordBatches}}, n: int64(len(p.RecordBatches)), buf: p.RecordBatches})
			} else {
				hint += len(p.RecordBatches)
				continue
			}
			p.RecordBatches = spliceMarker(nonce, len(sets)-1)
		}
	}
	if next != len(refs) {
		panic(fmt.Sprintf("kio: %d of %d records read by reference match no partition of the fetch response", len(refs)-next, len(refs)))
	}
	enc := AppendResponse(get(hint), corr, body)
	if len(sets) == 0 {
		return BytesFrame(enc)
	}
	return splice(enc, sets, nonce, f.IsFlexible())
}

// recordSet is a record set spliced into a frame: its parts, its size,
// and the buffer it lives in (nil: spans).
type recordSet struct {
	parts []Part
	n     int64
	buf   []byte
}

// spanSet is the first ref.Len bytes of a record set read by reference.
func spanSet(ref core.RecordsRef) recordSet {
	spans, _ := ref.Handle.([]Span)
	set := recordSet{n: ref.Len}
	left := ref.Len
	for _, s := range spans {
		if left == 0 {
			break
		}
		s.N = min(s.N, left)
		left -= s.N
		set.parts = append(set.parts, Part{Span: s})
	}
	if left != 0 {
		panic(fmt.Sprintf("kio: a record set read by reference is %d bytes short of the %d its fetch response carries", left, ref.Len))
	}
	return set
}

func spliceMarker(nonce [8]byte, i int) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, spliceMarkerBytes), nonce[:]...), uint64(i))
}

// splice cuts each set's stand-in out of enc and puts the set in its
// place, with its real length prefix, then fixes the frame's size.
func splice(enc []byte, sets []recordSet, nonce [8]byte, flexible bool) Frame {
	parts := make([]Part, 0, 3*len(sets)+1)
	bufs := make([][]byte, 0, len(sets)+1)
	bufs = append(bufs, enc)
	prefixes := make([]byte, 0, 5*len(sets))
	var total int64
	pos := 0
	for i, set := range sets {
		// The stand-in follows its length prefix: int32 16, or in
		// flexible versions the compact (uvarint length+1) 17; both are
		// looked for together.
		var prefix []byte
		if flexible {
			prefix = []byte{spliceMarkerBytes + 1}
		} else {
			prefix = binary.BigEndian.AppendUint32(nil, spliceMarkerBytes)
		}
		at := bytes.Index(enc[pos:], append(prefix, spliceMarker(nonce, i)...))
		if at < 0 {
			panic(fmt.Sprintf("kio: record set %d's stand-in not in the encoded fetch response", i))
		}
		at += pos
		n := len(prefixes)
		if flexible {
			prefixes = binary.AppendUvarint(prefixes, uint64(set.n)+1)
		} else {
			prefixes = binary.BigEndian.AppendUint32(prefixes, uint32(set.n))
		}
		parts = append(parts, Part{Bytes: enc[pos:at]}, Part{Bytes: prefixes[n:len(prefixes):len(prefixes)]})
		parts = append(parts, set.parts...)
		if set.buf != nil {
			bufs = append(bufs, set.buf)
		}
		total += int64(at-pos+len(prefixes)-n) + set.n
		pos = at + len(prefix) + spliceMarkerBytes
	}
	parts = append(parts, Part{Bytes: enc[pos:]})
	total += int64(len(enc) - pos)
	binary.BigEndian.PutUint32(enc, uint32(total-4))
	return Frame{Parts: parts, Bufs: bufs}
}

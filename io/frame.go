package kio

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Frame is a response frame in parts, to be written back to back (a
// writev): what the encoder wrote and, between its pieces, the record
// sets of a fetch response written from the buffers they were read into,
// so that fetched bytes are never copied into the frame. Bufs are the
// buffers the parts live in; whoever writes the frame may recycle them
// afterwards. A nil Parts is no response.
//
//	Parts: ┌─────────────────────┐┌──────────┐┌───────────┐┌──────────┐┌──────┐
//	       │ size, header, ...,  ││ records  ││ ..., len  ││ records  ││ rest │
//	       │ partition, ..., len ││ (read    ││           ││          ││      │
//	       └─────────────────────┘│  buffer) │└───────────┘└──────────┘└──────┘
//	                              └──────────┘
type Frame struct {
	Parts [][]byte
	Bufs  [][]byte
}

// Len is the frame's size in bytes, its size prefix included.
func (f Frame) Len() int {
	n := 0
	for _, p := range f.Parts {
		n += len(p)
	}
	return n
}

// AppendTo appends the frame's bytes to dst, as one piece.
func (f Frame) AppendTo(dst []byte) []byte {
	for _, p := range f.Parts {
		dst = append(dst, p...)
	}
	return dst
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
// SpliceMinBytes are not copied: each is encoded as a 16-byte stand-in
// (nonce, then its index) that is then cut out of the bytes, its length
// prefix rewritten, and the record set itself becomes a part of the
// frame. nonce makes a stand-in unlikely to occur in the response's
// other bytes (names, messages); a stand-in not found where the encoding
// puts it is a broken invariant. The body's record sets are the frame's
// from here on.
func EncodeResponse(get func(int) []byte, corr int32, body kmsg.Response, nonce [8]byte) Frame {
	if get == nil {
		get = func(n int) []byte { return make([]byte, 0, n) }
	}
	f, ok := body.(*kmsg.FetchResponse)
	if !ok {
		b := AppendResponse(get(ResponseSizeHint(body)), corr, body)
		return Frame{Parts: [][]byte{b}, Bufs: [][]byte{b}}
	}
	var sets [][]byte
	hint := 512
	for i := range f.Topics {
		hint += 64 + len(f.Topics[i].Topic)
		for j := range f.Topics[i].Partitions {
			p := &f.Topics[i].Partitions[j]
			hint += 64
			if len(p.RecordBatches) < SpliceMinBytes {
				hint += len(p.RecordBatches)
				continue
			}
			sets = append(sets, p.RecordBatches)
			p.RecordBatches = spliceMarker(nonce, len(sets)-1)
		}
	}
	enc := AppendResponse(get(hint), corr, body)
	if len(sets) == 0 {
		return Frame{Parts: [][]byte{enc}, Bufs: [][]byte{enc}}
	}
	return splice(enc, sets, nonce, f.IsFlexible())
}

func spliceMarker(nonce [8]byte, i int) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, spliceMarkerBytes), nonce[:]...), uint64(i))
}

// splice cuts each set's stand-in out of enc and puts the set in its
// place, with its real length prefix, then fixes the frame's size.
func splice(enc []byte, sets [][]byte, nonce [8]byte, flexible bool) Frame {
	parts := make([][]byte, 0, 3*len(sets)+1)
	bufs := make([][]byte, 0, len(sets)+1)
	bufs = append(bufs, enc)
	prefixes := make([]byte, 0, 5*len(sets))
	total, pos := 0, 0
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
			prefixes = binary.AppendUvarint(prefixes, uint64(len(set))+1)
		} else {
			prefixes = binary.BigEndian.AppendUint32(prefixes, uint32(len(set)))
		}
		parts = append(parts, enc[pos:at], prefixes[n:len(prefixes):len(prefixes)], set)
		bufs = append(bufs, set)
		total += at - pos + len(prefixes) - n + len(set)
		pos = at + len(prefix) + spliceMarkerBytes
	}
	parts = append(parts, enc[pos:])
	total += len(enc) - pos
	binary.BigEndian.PutUint32(enc, uint32(total-4))
	return Frame{Parts: parts, Bufs: bufs}
}

package kio

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"cloudkafka/core"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// fetchShape is a fetch response drawn by rapid: its version and, per
// topic, its name and its partitions' record set sizes.
type fetchShape struct {
	version int16
	topics  []string
	sets    [][]int
	fill    byte
}

func drawFetch(t *rapid.T) fetchShape {
	s := fetchShape{version: rapid.Int16Range(0, 16).Draw(t, "version"), fill: rapid.Byte().Draw(t, "fill")}
	nt := rapid.IntRange(0, 4).Draw(t, "topics")
	for i := range nt {
		s.topics = append(s.topics, rapid.StringN(0, 40, -1).Draw(t, "topic"))
		s.sets = append(s.sets, rapid.SliceOfN(rapid.SampledFrom([]int{0, 1, 100, SpliceMinBytes - 1, SpliceMinBytes, SpliceMinBytes + 1, 70_000, 200_000}), 0, 5).Draw(t, "sets"))
		_ = i
	}
	return s
}

// build makes the response; each record set holds its own bytes.
func (s fetchShape) build() *kmsg.FetchResponse {
	r := kmsg.NewPtrFetchResponse()
	r.SetVersion(s.version)
	r.SessionID = 7
	for i, name := range s.topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = name
		rt.TopicID[0] = byte(i)
		for j, n := range s.sets[i] {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.HighWatermark, rp.LogStartOffset = int32(j), int64(n), 3
			rp.RecordBatches = bytes.Repeat([]byte{s.fill + byte(j)}, n)
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	return r
}

// TestEncodeResponseSplicesRecords checks that a frame with its large
// record sets spliced in as parts, and some sets read by reference (spans
// of a file, cut to the length the response carries), has exactly the
// bytes of the same response encoded in one piece, for every fetch
// version; that the spliced sets are the body's own buffers, never
// copies; and that the spans are parts of the frame as they are.
func TestEncodeResponseSplicesRecords(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawFetch(t)
		wantBody := s.build()
		body := s.build()
		file := &bytesFile{}
		var refs []core.RecordsAt
		var large [][]byte
		for i := range body.Topics {
			rt := &body.Topics[i]
			for j := range rt.Partitions {
				rp := &rt.Partitions[j]
				if len(rp.RecordBatches) > 0 && rapid.Bool().Draw(t, "byRef") {
					// By reference: the set lies in the file, in one to
					// three spans with bytes after it that the response
					// does not carry.
					n := int64(len(rp.RecordBatches))
					extra := rapid.Int64Range(0, 3).Draw(t, "extra")
					at := int64(len(file.b))
					file.b = append(append(file.b, rp.RecordBatches...), bytes.Repeat([]byte{0xEE}, int(extra))...)
					var spans []Span
					for off, left := at, n+extra; left > 0; {
						k := rapid.Int64Range(1, left).Draw(t, "span")
						spans = append(spans, Span{File: file, Off: off, N: k})
						off, left = off+k, left-k
					}
					refs = append(refs, core.RecordsAt{Topic: rt.Topic, TopicID: rt.TopicID, Partition: rp.Partition,
						Ref: core.RecordsRef{Len: n, Handle: spans}})
					rp.RecordBatches = []byte{}
					continue
				}
				if len(rp.RecordBatches) >= SpliceMinBytes {
					large = append(large, rp.RecordBatches)
				}
			}
		}
		want := AppendResponse(nil, 42, wantBody)
		f := EncodeResponse(nil, 42, body, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, refs)
		got, err := f.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: spliced frame of %d bytes differs from the plain encoding of %d bytes", s.version, len(got), len(want))
		}
		if f.Len() != int64(len(want)) {
			t.Fatalf("v%d: Len %d; want %d", s.version, f.Len(), len(want))
		}
		if f.HasSpans() != (len(refs) > 0) {
			t.Fatalf("v%d: HasSpans %v with %d sets by reference", s.version, f.HasSpans(), len(refs))
		}
		k := 0
		for _, p := range f.Parts {
			if k < len(large) && len(p.Bytes) > 0 && &p.Bytes[0] == &large[k][0] {
				k++
			}
		}
		if k != len(large) {
			t.Fatalf("v%d: %d of %d large record sets are parts of the frame as they are; want all", s.version, k, len(large))
		}
	})
}

// TestFrameStaleSpan checks that a frame whose span's file was cut after
// the span was taken cannot be written.
func TestFrameStaleSpan(t *testing.T) {
	file := &bytesFile{b: []byte("0123456789")}
	f := Frame{Parts: []Part{{Bytes: []byte("ab")}, {Span: Span{File: file, Off: 2, N: 5, Gen: file.Generation()}}}}
	if got, err := f.AppendTo(nil); err != nil || string(got) != "ab23456" {
		t.Fatalf("AppendTo = %q, %v; want \"ab23456\"", got, err)
	}
	if err := file.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.AppendTo(nil); !errors.Is(err, ErrStaleSpan) {
		t.Fatalf("AppendTo after a cut: %v; want ErrStaleSpan", err)
	}
}

// bytesFile is a File of bytes in memory, for spans.
type bytesFile struct {
	b   []byte
	gen uint64
}

func (f *bytesFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(f.b)) {
		return 0, io.EOF
	}
	n := copy(p, f.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (f *bytesFile) WriteAt(p []byte, off int64) (int, error) { panic("unused") }
func (f *bytesFile) Size() (int64, error)                     { return int64(len(f.b)), nil }
func (f *bytesFile) Truncate(size int64) error {
	f.b, f.gen = f.b[:size], f.gen+1
	return nil
}
func (f *bytesFile) Sync() error        { return nil }
func (f *bytesFile) Close() error       { return nil }
func (f *bytesFile) Generation() uint64 { return f.gen }
func (f *bytesFile) ReadSpan(p []byte, off int64, gen uint64) error {
	if gen != f.gen {
		return ErrStaleSpan
	}
	if n, _ := f.ReadAt(p, off); n < len(p) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// TestEncodeResponseOtherBodies checks that a response other than a
// fetch is one part, equal to AppendResponse's.
func TestEncodeResponseOtherBodies(t *testing.T) {
	body := kmsg.NewPtrMetadataResponse()
	body.SetVersion(12)
	body.Topics = append(body.Topics, kmsg.NewMetadataResponseTopic())
	f := EncodeResponse(nil, 9, body, [8]byte{}, nil)
	if len(f.Parts) != 1 || !bytes.Equal(f.Parts[0].Bytes, AppendResponse(nil, 9, body)) {
		t.Fatalf("metadata: got %d parts; want one, the plain encoding", len(f.Parts))
	}
}

package kio

import (
	"bytes"
	"testing"

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
// record sets spliced in as parts has exactly the bytes of the same
// response encoded in one piece, for every fetch version, and that the
// spliced sets are the body's own buffers, never copies.
func TestEncodeResponseSplicesRecords(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawFetch(t)
		want := AppendResponse(nil, 42, s.build())
		body := s.build()
		var large [][]byte
		for _, rt := range body.Topics {
			for _, rp := range rt.Partitions {
				if len(rp.RecordBatches) >= SpliceMinBytes {
					large = append(large, rp.RecordBatches)
				}
			}
		}
		f := EncodeResponse(nil, 42, body, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
		if got := f.AppendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("v%d: spliced frame of %d bytes differs from the plain encoding of %d bytes", s.version, len(got), len(want))
		}
		if f.Len() != len(want) {
			t.Fatalf("v%d: Len %d; want %d", s.version, f.Len(), len(want))
		}
		k := 0
		for _, p := range f.Parts {
			if k < len(large) && len(p) > 0 && &p[0] == &large[k][0] {
				k++
			}
		}
		if k != len(large) {
			t.Fatalf("v%d: %d of %d large record sets are parts of the frame as they are; want all", s.version, k, len(large))
		}
	})
}

// TestEncodeResponseOtherBodies checks that a response other than a
// fetch is one part, equal to AppendResponse's.
func TestEncodeResponseOtherBodies(t *testing.T) {
	body := kmsg.NewPtrMetadataResponse()
	body.SetVersion(12)
	body.Topics = append(body.Topics, kmsg.NewMetadataResponseTopic())
	f := EncodeResponse(nil, 9, body, [8]byte{})
	if len(f.Parts) != 1 || !bytes.Equal(f.Parts[0], AppendResponse(nil, 9, body)) {
		t.Fatalf("metadata: got %d parts; want one, the plain encoding", len(f.Parts))
	}
}

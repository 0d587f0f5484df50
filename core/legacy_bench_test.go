package core

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkLegacyConvert measures converting 1,000 records of 1 KiB up
// from a magic 1 set and back down, per codec.
func BenchmarkLegacyConvert(b *testing.B) {
	for _, codec := range []int{0, 1, 2, 3} {
		recs := make([]legacyRecord, 1000)
		for i := range recs {
			recs[i] = legacyRecord{ts: int64(i), key: []byte(fmt.Sprintf("key-%d", i)), value: bytes.Repeat([]byte{byte('a' + i%26)}, 1024)}
		}
		data := legacyTestSet(b, 1, codec, recs)
		s, perr := decodeLegacySet(data, 1<<28)
		if perr != nil {
			b.Fatal(perr.msg)
		}
		batch, err := legacyBatch(s)
		if err != nil {
			b.Fatal(err)
		}
		h, err := CheckBatch(batch)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("up/codec=%d", codec), func(b *testing.B) {
			b.SetBytes(int64(len(recs)) * 1024)
			b.ReportAllocs()
			for range b.N {
				s, _ := decodeLegacySet(data, 1<<28)
				if _, err := legacyBatch(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("down/codec=%d", codec), func(b *testing.B) {
			b.SetBytes(int64(len(recs)) * 1024)
			b.ReportAllocs()
			for range b.N {
				if _, err := convertBatch(batch, h, 0, 1, 1<<28); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

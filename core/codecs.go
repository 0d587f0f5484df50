package core

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RecordCodecs decodes and rebuilds the records of many batches, keeping
// its codecs' encoders and decoders between batches: building a zstd or
// gzip one costs far more than most batches (the cleaner decodes every
// batch it rewrites, and rebuilds many). Its methods do what BatchRecords
// and RebuildBatch do, with the same results. One RecordCodecs serves one
// caller at a time (the cleaner makes one per clean); the zero value is
// ready. Every codec runs in the calling goroutine.
type RecordCodecs struct {
	zd       *zstd.Decoder
	zdMemory int // the memory limit zd was built with
	ze       *zstd.Encoder
	gr       *gzip.Reader
	gw       *gzip.Writer
	lr       *lz4.Reader
	lw       *lz4.Writer
}

// Records is BatchRecords with c's codecs.
func (c *RecordCodecs) Records(batch []byte, h BatchHeader, limit int) ([]kmsg.Record, error) {
	body, err := c.decompress(h.Compression(), batch[BatchHeaderSize:], limit)
	if err != nil {
		return nil, err
	}
	return iterRecords(&recordIter{h: h, body: body, left: h.RecordCount, delta: -1})
}

// Rebuild is RebuildBatch with c's codecs.
func (c *RecordCodecs) Rebuild(h BatchHeader, records []kmsg.Record, horizonMs int64, xerial bool) ([]byte, error) {
	return rebuildBatch(h, records, horizonMs, func(codec int, recs []byte) ([]byte, error) {
		return c.compress(codec, recs, xerial)
	})
}

// Close releases the codecs.
func (c *RecordCodecs) Close() {
	if c.zd != nil {
		c.zd.Close()
	}
	if c.ze != nil {
		c.ze.Close()
	}
	*c = RecordCodecs{}
}

// decompress is the package's decompress with reused decoders.
func (c *RecordCodecs) decompress(codec int, data []byte, limit int) ([]byte, error) {
	switch codec {
	case 1:
		if c.gr == nil {
			c.gr = new(gzip.Reader)
		}
		if err := c.gr.Reset(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readCapped(c.gr, limit)
	case 3:
		if c.lr == nil {
			c.lr = lz4.NewReader(nil)
		}
		c.lr.Reset(bytes.NewReader(data))
		return readCapped(c.lr, limit)
	case 4:
		if c.zd == nil || c.zdMemory < limit {
			if c.zd != nil {
				c.zd.Close()
			}
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
			if err != nil {
				return nil, fmt.Errorf("zstd: %w", err)
			}
			c.zd, c.zdMemory = d, limit
		}
		out, err := c.zd.DecodeAll(data, nil)
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || len(out) > limit:
			return nil, ErrRecordsTooLarge
		case err != nil:
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return decompress(codec, data, limit) // none and snappy keep no state
}

// compress is the package's compress with reused encoders.
func (c *RecordCodecs) compress(codec int, recs []byte, xerial bool) ([]byte, error) {
	switch codec {
	case 1:
		var buf bytes.Buffer
		if c.gw == nil {
			w, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
			if err != nil {
				return nil, fmt.Errorf("gzip: %w", err)
			}
			c.gw = w
		}
		c.gw.Reset(&buf)
		return closeWriter(&buf, c.gw, recs)
	case 3:
		var buf bytes.Buffer
		if c.lw == nil {
			c.lw = lz4.NewWriter(nil)
			if err := c.lw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ConcurrencyOption(1)); err != nil {
				return nil, fmt.Errorf("lz4: %w", err)
			}
		}
		c.lw.Reset(&buf)
		return closeWriter(&buf, c.lw, recs)
	case 4:
		if c.ze == nil {
			e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, fmt.Errorf("zstd: %w", err)
			}
			c.ze = e
		}
		return c.ze.EncodeAll(recs, nil), nil
	}
	return compress(codec, recs, xerial) // none and snappy keep no state
}

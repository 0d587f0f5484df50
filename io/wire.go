package kio

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Kafka frames are a 4-byte big-endian length followed by that many bytes.
// A request's bytes begin with its header:
//
//	int16  api key
//	int16  api version
//	int32  correlation id
//	int16  client id length (-1 = null), then the client id bytes
//	[tagged fields, uvarint-counted, in flexible versions only]
//	body   (kmsg encodes and decodes it)
//
// except ControlledShutdown v0, whose header (Kafka's request header v0)
// ends at the correlation id: it has no client id.
//
// A response frame is the length, the correlation id, an empty tagged
// field section in flexible versions (never for ApiVersions, whose
// response header is always v0), and the body.

// Errors returned by DecodeRequest. Each means the connection is closed
// with the error logged as the reason.
var (
	ErrFrameShort = errors.New("request frame shorter than its header")
	ErrUnknownKey = errors.New("unknown API key")
	ErrBadVersion = errors.New("unsupported API version")
)

// DecodeRequest decodes one request frame (without its length prefix). The
// body of an ApiVersions request whose version is newer than this codec
// knows is returned as nil with no error, so it can be answered with
// UNSUPPORTED_VERSION; any other undecodable request is an error.
func DecodeRequest(frame []byte) (core.RequestHeader, kmsg.Request, error) {
	var h core.RequestHeader
	if len(frame) < 8 {
		return h, nil, ErrFrameShort
	}
	h.Key = int16(binary.BigEndian.Uint16(frame[0:]))
	h.Version = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	rest := frame[8:]
	if !headerV0(h.Key, h.Version) {
		if len(rest) < 2 {
			return h, nil, ErrFrameShort
		}
		n := int16(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if n > 0 {
			if int(n) > len(rest) {
				return h, nil, ErrFrameShort
			}
			h.ClientID, rest = string(rest[:n]), rest[n:]
		}
	}
	req := kmsg.RequestForKey(h.Key)
	if req == nil {
		return h, nil, fmt.Errorf("%w %d", ErrUnknownKey, h.Key)
	}
	if h.Version < 0 || h.Version > req.MaxVersion() {
		if h.Key == 18 && h.Version >= 0 {
			return h, nil, nil
		}
		return h, nil, fmt.Errorf("%w %d of key %d", ErrBadVersion, h.Version, h.Key)
	}
	req.SetVersion(h.Version)
	if req.IsFlexible() {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return h, nil, err
		}
	}
	if err := req.ReadFrom(rest); err != nil {
		return h, nil, fmt.Errorf("decoding key %d v%d: %w", h.Key, h.Version, err)
	}
	return h, req, nil
}

// headerV0 says whether requests of key at version have Kafka's request
// header v0, without a client id: only ControlledShutdown v0.
func headerV0(key, version int16) bool { return key == 7 && version == 0 }

// skipTags skips a tagged-field section: a count, then (tag, size, bytes).
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, ErrFrameShort
	}
	b = b[n:]
	for i := uint64(0); i < count; i++ {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, ErrFrameShort
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, ErrFrameShort
		}
		b = b[n+int(size):]
	}
	return b, nil
}

// AppendResponse appends a whole response frame, length prefix included.
func AppendResponse(dst []byte, corr int32, body kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if body.IsFlexible() && body.Key() != 18 {
		dst = append(dst, 0)
	}
	dst = body.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// ResponseSizeHint estimates a response frame's size so that it can be
// encoded into one allocation: the record bytes of a fetch dominate it.
func ResponseSizeHint(body kmsg.Response) int {
	n := 512
	if f, ok := body.(*kmsg.FetchResponse); ok {
		for _, t := range f.Topics {
			n += 64 + len(t.Topic)
			for _, p := range t.Partitions {
				n += 64 + len(p.RecordBatches)
			}
		}
	}
	return n
}

// AppendRequest appends a whole request frame, for clients of our own (the
// simulator's, tests, tools).
func AppendRequest(dst []byte, corr int32, clientID string, req kmsg.Request) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if !headerV0(req.Key(), req.GetVersion()) {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(clientID)))
		dst = append(dst, clientID...)
	}
	if req.IsFlexible() {
		dst = append(dst, 0)
	}
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// DecodeResponse parses a response frame (length prefix included) at
// the request's version: length, correlation id, a tagged-field section
// when the response is flexible (never for ApiVersions), then the body.
func DecodeResponse(req kmsg.Request, frame []byte) (kmsg.Response, error) {
	if len(frame) < 8 || int(binary.BigEndian.Uint32(frame)) != len(frame)-4 {
		return nil, errors.New("bad frame length")
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := frame[8:]
	if resp.IsFlexible() && resp.Key() != 18 {
		n, k := binary.Uvarint(body)
		if k <= 0 || n != 0 {
			return nil, errors.New("bad response header tags")
		}
		body = body[k:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	return resp, nil
}

package sim

import (
	"encoding/binary"
	"hash"
	"hash/fnv"

	"cloudkafka/core"
)

// tracer folds every event the world delivers and every output it sees
// into one FNV-64a hash. Two runs of a seed are the same run exactly when
// their trace hashes match: the canonical record is
//
//	int64 virtual instant | byte kind | uint64 a | uint64 b | uint32 len | bytes
//
// where a and b are kind-specific (usually connection and request seq).
type tracer struct {
	h   hash.Hash64
	buf []byte
	n   int // records folded
}

// Trace record kinds.
const (
	trRequest       = 'Q' // request frame delivered to the broker (conn, seq)
	trTick          = 'T' // tick delivered to the broker
	trConnClosed    = 'c' // ConnClosed delivered to the broker (conn)
	trRespond       = 'R' // broker response frame (conn, seq)
	trClose         = 'X' // broker closes a connection (conn, seq)
	trDeliver       = 'D' // frame delivered to a client (conn, corr)
	trDisconnect    = 'd' // client learns its connection is gone (conn)
	trConnect       = 'C' // connection established (conn)
	trCrash         = 'K' // broker crash
	trRestart       = 'O' // broker restarted (incarnation)
	trFS            = 'F' // file-system operation (op, size)
	trFault         = 'f' // fault injected (fault name in bytes)
	trHeld          = 'H' // a held storage completion delivered to the broker
	trSessionExpiry = 'Z' // the coordination session expired (new session)
	trCoord         = 'z' // a coordination operation applied by the simulated ensemble (kind, node)
)

func newTracer() *tracer { return &tracer{h: fnv.New64a()} }

func (t *tracer) fold(now core.Instant, kind byte, a, b uint64, data []byte) {
	t.buf = binary.BigEndian.AppendUint64(t.buf[:0], uint64(now))
	t.buf = append(t.buf, kind)
	t.buf = binary.BigEndian.AppendUint64(t.buf, a)
	t.buf = binary.BigEndian.AppendUint64(t.buf, b)
	t.buf = binary.BigEndian.AppendUint32(t.buf, uint32(len(data)))
	t.h.Write(t.buf)
	t.h.Write(data)
	t.n++
}

func (t *tracer) sum() uint64 { return t.h.Sum64() }

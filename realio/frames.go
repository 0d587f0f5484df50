package realio

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// framePool recycles the buffers of response frames and of fetch reads,
// so that large fetches are not allocated (and zeroed) afresh each time
// (driver.Buffers): the driver encodes a response into a buffer from Get
// and gives back the read buffers encoded into it; the connection's
// writer puts the frame back once it is handed to the socket. Buffers
// come in power-of-two classes from frameClassMin to frameClassMax
// bytes; larger frames are allocated and left to the collector.
type framePool struct {
	classes [frameClasses]sync.Pool
}

const (
	frameShiftMin = 12 // 4 KiB
	frameShiftMax = 26 // 64 MiB
	frameClasses  = frameShiftMax - frameShiftMin + 1
)

// class is the index of the smallest class holding n bytes; false when
// n is beyond the largest.
func frameClass(n int) (int, bool) {
	if n <= 1<<frameShiftMin {
		return 0, true
	}
	shift := bits.Len(uint(n - 1))
	return shift - frameShiftMin, shift <= frameShiftMax
}

// Get returns an empty buffer with room for at least n bytes.
func (p *framePool) Get(n int) []byte {
	c, ok := frameClass(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if b, _ := p.classes[c].Get().(*[]byte); b != nil {
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<(c+frameShiftMin))
}

// Put recycles b, which nothing may use after; a buffer whose capacity
// is not exactly a class (grown by append, or oversized) is dropped.
func (p *framePool) Put(b []byte) {
	c, ok := frameClass(cap(b))
	if !ok || cap(b) != 1<<(c+frameShiftMin) {
		return
	}
	b = b[:0]
	p.classes[c].Put(&b)
}

// reqFrame is the hold on a produce request's frame buffer
// (core.FrameRef), from the pool: one reference is the response's,
// released once it is written, and each Append of the request's records
// holds one while it waits and writes. The last release gives the buffer
// back; a hold never released (a connection closed first) leaves it to
// the collector.
type reqFrame struct {
	buf  []byte
	refs atomic.Int32
	pool *framePool
}

func newReqFrame(buf []byte, pool *framePool) *reqFrame {
	f := &reqFrame{buf: buf, pool: pool}
	f.refs.Store(1)
	return f
}

// Hold implements core.FrameRef.
func (f *reqFrame) Hold() { f.refs.Add(1) }

// Release implements core.FrameRef.
func (f *reqFrame) Release() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.pool.Put(f.buf)
	case n < 0:
		panic("realio: request frame released more often than held")
	}
}

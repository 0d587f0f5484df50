package realio

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// framePool recycles the buffers of request and response frames and of
// fetch reads, so that large ones are not allocated (and zeroed, and on
// a virtual machine faulted in) afresh each time (driver.Buffers): a
// produce's frame comes back once its records are written and answered
// (reqFrame), a response frame once the writer handed it to the socket,
// a fetch's read buffer once the response that carries it is written.
// Buffers come in power-of-two classes from 4 KiB to 64 MiB; larger ones
// are allocated and left to the collector. At most max bytes (the
// buffer.pool.max.bytes property) wait idle in the pool; a buffer put
// beyond that is dropped. Unlike a sync.Pool, a collection does not
// empty it, so the buffers are reused at any allocation rate.
type framePool struct {
	mu    sync.Mutex
	free  [frameClasses][][]byte
	bytes int64 // the capacity of the buffers in free
	max   int64
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
	p.mu.Lock()
	if k := len(p.free[c]); k > 0 {
		b := p.free[c][k-1]
		p.free[c][k-1] = nil
		p.free[c] = p.free[c][:k-1]
		p.bytes -= int64(cap(b))
		p.mu.Unlock()
		return b[:0]
	}
	p.mu.Unlock()
	return make([]byte, 0, 1<<(c+frameShiftMin))
}

// Put recycles b, which nothing may use after; a buffer whose capacity
// is not exactly a class (grown by append, or oversized) is dropped, as
// is one the pool has no room left for.
func (p *framePool) Put(b []byte) {
	c, ok := frameClass(cap(b))
	if !ok || cap(b) != 1<<(c+frameShiftMin) {
		return
	}
	p.mu.Lock()
	if p.bytes+int64(cap(b)) <= p.max {
		p.free[c] = append(p.free[c], b[:0])
		p.bytes += int64(cap(b))
	}
	p.mu.Unlock()
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

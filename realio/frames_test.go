package realio

import (
	"runtime"
	"testing"
)

// TestFramePool checks the size classes: a buffer has room for what was
// asked, comes back empty, is recycled only at its class's exact
// capacity, and frames beyond the largest class are plain allocations.
func TestFramePool(t *testing.T) {
	p := framePool{max: 1 << 30}
	for _, n := range []int{0, 1, 4096, 4097, 100_000, 1 << 20, 1<<26 - 1, 1 << 26} {
		b := p.Get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("get(%d): len %d cap %d; want len 0, cap >= %d", n, len(b), cap(b), n)
		}
		if c, ok := frameClass(n); !ok || cap(b) != 1<<(c+frameShiftMin) {
			t.Fatalf("get(%d): cap %d; want class %d's %d", n, cap(b), c, 1<<(c+frameShiftMin))
		}
	}
	if _, ok := frameClass(1<<26 + 1); ok {
		t.Fatalf("frameClass(64 MiB + 1): got a class; want none")
	}
	if b := p.Get(1<<26 + 1); cap(b) < 1<<26+1 {
		t.Fatalf("get(64 MiB + 1): cap %d; want room for it", cap(b))
	}
	// A recycled buffer comes back empty with its capacity; an odd-sized
	// one is never handed out again.
	b := append(p.Get(5000), "response"...)
	p.Put(b)
	p.Put(make([]byte, 10, 6000))
	for range 100 {
		got := p.Get(5000)
		if len(got) != 0 || cap(got) != 8192 {
			t.Fatalf("get(5000) after put: len %d cap %d; want len 0, cap 8192", len(got), cap(got))
		}
	}
}

// TestReqFrameHolds checks the holds on a produce's frame: it goes back
// to the pool only when the response's hold and every Append's are
// released, in any order, and a release too many is a broken invariant.
func TestReqFrameHolds(t *testing.T) {
	p := framePool{max: 1 << 30}
	buf := p.Get(10000)[:10000]
	f := newReqFrame(buf, &p)
	f.Hold() // an Append taken
	f.Hold() // a second one
	f.Release()
	f.Release() // the response written: one Append still writing
	if n := f.refs.Load(); n != 1 {
		t.Fatalf("holds after the response and one Append: %d; want 1", n)
	}
	if got := p.Get(10000); &got[:1][0] == &buf[0] {
		t.Fatalf("the frame came back while an Append still held it")
	}
	f.Release()
	if got := p.Get(10000); &got[:1][0] != &buf[0] {
		t.Fatalf("after the last release: Get handed out another buffer; want the frame back")
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("a release past the last hold: got no panic; want one")
		}
	}()
	f.Release()
}

// TestFramePoolBound checks that at most max bytes wait in the pool and
// that a collection does not empty it.
func TestFramePoolBound(t *testing.T) {
	p := framePool{max: 3 << 12}
	a, b, c, d := p.Get(4096), p.Get(4096), p.Get(4096), p.Get(4096)
	for _, x := range [][]byte{a, b, c, d} {
		p.Put(x)
	}
	if p.bytes != 3<<12 || len(p.free[0]) != 3 {
		t.Fatalf("after putting 4 buffers of 4 KiB under a 12 KiB bound: %d bytes, %d buffers kept; want 12288, 3", p.bytes, len(p.free[0]))
	}
	runtime.GC()
	if got := p.Get(100); &got[:1][0] != &c[:1][0] {
		t.Fatalf("after a collection: Get did not hand out the last buffer put; want it kept")
	}
	if p.bytes != 2<<12 {
		t.Fatalf("after one Get: %d bytes kept; want 8192", p.bytes)
	}
}

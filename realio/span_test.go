package realio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/segment"
)

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { dialed.Close(); server.Close() })
	return server.(*net.TCPConn), dialed.(*net.TCPConn)
}

func openSpanFile(t *testing.T, data []byte) kio.File {
	t.Helper()
	f, err := OSFS{}.OpenFile(filepath.Join(t.TempDir(), "00000000000000000000.log"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWriteFrameSendsSpans writes a frame of bytes and file spans over
// TCP (sendfile) and through a writer without a raw connection (the TLS
// path), and checks the reader gets the frame's bytes in order.
func TestWriteFrameSendsSpans(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 KB: more than a socket buffer
	f := openSpanFile(t, data)
	defer f.Close()
	gen := f.Generation()
	frame := kio.Frame{Parts: []kio.Part{
		{Bytes: []byte("head")},
		{Span: kio.Span{File: f, Off: 3, N: 300_000, Gen: gen}},
		{Bytes: []byte("mid")},
		{Span: kio.Span{File: f, Off: 300_003, N: 200_000, Gen: gen}},
		{Span: kio.Span{File: f, Off: 10, N: 5, Gen: gen}},
		{Bytes: []byte("tail")},
	}}
	want, err := frame.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tls := range []bool{false, true} {
		server, client := tcpPair(t)
		var nc net.Conn = server
		if tls {
			nc = struct{ net.Conn }{server} // not a *net.TCPConn: no sendfile
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
			got <- b
		}()
		w := bufio.NewWriterSize(nc, 64<<10)
		if err := writeFrame(w, nc, frame); err != nil {
			t.Fatalf("tls=%v: writeFrame: %v", tls, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if b := <-got; !bytes.Equal(b, want) {
			t.Fatalf("tls=%v: read %d bytes, differing from the frame's %d", tls, len(b), len(want))
		}
	}
}

// TestStaleSpanIsNotSent checks that a span whose file was cut or closed
// after it was taken fails to send, over TCP and through the writer,
// rather than sending other bytes.
func TestStaleSpanIsNotSent(t *testing.T) {
	for _, change := range []string{"truncate", "close"} {
		f := openSpanFile(t, bytes.Repeat([]byte{7}, 10_000))
		span := kio.Span{File: f, Off: 100, N: 5000, Gen: f.Generation()}
		if change == "truncate" {
			if err := f.Truncate(50); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(bytes.Repeat([]byte{9}, 10_000), 50); err != nil {
				t.Fatal(err)
			}
		} else if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		for _, tls := range []bool{false, true} {
			server, _ := tcpPair(t)
			var nc net.Conn = server
			if tls {
				nc = struct{ net.Conn }{server}
			}
			w := bufio.NewWriter(nc)
			err := writeFrame(w, nc, kio.Frame{Parts: []kio.Part{{Bytes: []byte("x")}, {Span: span}}})
			if !errors.Is(err, kio.ErrStaleSpan) {
				t.Errorf("%s, tls=%v: writeFrame: %v; want ErrStaleSpan", change, tls, err)
			}
		}
		if change == "truncate" {
			f.Close()
		}
	}
}

// TestSpansRaceTruncation sends spans while another goroutine cuts and
// rewrites the file (run under -race by make race): every send either
// fails as stale or delivers the bytes the span named when it was taken,
// never the rewritten ones.
func TestSpansRaceTruncation(t *testing.T) {
	const size, rounds = 256 << 10, 40
	f := openSpanFile(t, bytes.Repeat([]byte{1}, size))
	defer f.Close()
	server, client := tcpPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	stop := make(chan struct{})
	go func() { // the IO worker: cut and rewrite with other bytes
		defer wg.Done()
		fill := byte(2)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := f.Truncate(0); err != nil {
				t.Error(err)
				return
			}
			if _, err := f.WriteAt(bytes.Repeat([]byte{fill}, size), 0); err != nil {
				t.Error(err)
				return
			}
			fill++
		}
	}()
	sent, stale := 0, 0
	buf := make([]byte, size)
	for range rounds {
		// Take a span of bytes all equal, as the IO worker would after
		// a write; the cutter may change the file from here on.
		var span kio.Span
		for {
			span = kio.Span{File: f, Off: 0, N: size, Gen: f.Generation()}
			if err := span.Read(buf); err == nil && buf[0] == buf[size-1] && bytes.Count(buf, buf[:1]) == size {
				break
			}
		}
		done := make(chan []byte, 1)
		go func() {
			b := make([]byte, size)
			n, _ := io.ReadFull(client, b)
			done <- b[:n]
		}()
		w := bufio.NewWriter(server)
		err := writeFrame(w, server, kio.Frame{Parts: []kio.Part{{Span: span}}})
		if err != nil {
			if !errors.Is(err, kio.ErrStaleSpan) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("writeFrame: %v", err)
			}
			stale++
			// The stream is broken now, as the connection would be
			// closed: start a new one.
			server.Close()
			<-done
			server, client = tcpPair(t)
			continue
		}
		got := <-done
		if len(got) != size || bytes.Count(got, buf[:1]) != size {
			t.Fatalf("a span sent whole delivered other bytes than it named (first %d, want all %d)", got[0], buf[0])
		}
		sent++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d spans sent whole, %d stale", sent, stale)
}

// TestSpanOfRemovedSegmentIsSent: a fetch answered by reference from the
// oldest segment, which retention then removes with a deletion delay, is
// still sent whole (over TCP with sendfile, and through the writer) from
// the segment's renamed, open file; once the delay passed and the file
// was deleted, the span is refused as stale rather than sent.
func TestSpanOfRemovedSegmentIsSent(t *testing.T) {
	var o OSFS
	dir := filepath.Join(t.TempDir(), "orders-0")
	cfg := core.LogConfig{SegmentBytes: 2048, RetentionMs: -1, RetentionBytes: -1,
		IndexIntervalBytes: 256, SegmentIndexBytes: 1 << 20, FileDeleteDelayMs: 1000}
	l, err := segment.Open(o, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 60 {
		base := l.LogEndOffset()
		if err := l.Append(testBatch(base, 2, int64(1000+i)), base, base+1, int64(1000+i), 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	want, err := l.Read(0, l.LogEndOffset(), 1500, true)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := l.ReadSpans(0, l.LogEndOffset(), 1500, true)
	if err != nil || ref == nil || ref.Len != int64(len(want)) {
		t.Fatalf("ReadSpans: %v, %+v; want %d bytes", err, ref, len(want))
	}
	spans := ref.Handle.([]kio.Span)
	frame := kio.Frame{Parts: []kio.Part{{Bytes: []byte("head")}}}
	for _, s := range spans {
		frame.Parts = append(frame.Parts, kio.Part{Span: s})
	}
	// Retention moves the log start past the first segments, then
	// removes them.
	rc := cfg
	rc.RetentionBytes = l.Size() / 2
	for _, now := range []int64{100, 200} {
		if _, err := l.Retain(now, l.LogEndOffset(), rc); err != nil {
			t.Fatal(err)
		}
	}
	first := filepath.Join(dir, "00000000000000000000.log")
	if _, err := os.Stat(first); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the first segment is still there: %v", err)
	}
	if _, err := os.Stat(first + ".deleted"); err != nil {
		t.Fatalf("the first segment was not renamed aside: %v", err)
	}
	send := func(tls bool) ([]byte, error) {
		server, client := tcpPair(t)
		var nc net.Conn = server
		if tls {
			nc = struct{ net.Conn }{server} // not a *net.TCPConn: no sendfile
		}
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(client, int64(len("head")+len(want))))
			got <- b
		}()
		w := bufio.NewWriter(nc)
		err := writeFrame(w, nc, frame)
		if err == nil {
			err = w.Flush()
		}
		server.Close()
		return <-got, err
	}
	for _, tls := range []bool{false, true} {
		b, err := send(tls)
		if err != nil || !bytes.Equal(b, append([]byte("head"), want...)) {
			t.Fatalf("tls=%v: after the removal: writeFrame %v, %d bytes; want the %d bytes read before", tls, err, len(b), 4+len(want))
		}
	}
	if _, err := l.Retain(1200, l.LogEndOffset(), rc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first + ".deleted"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the renamed segment outlived the delay: %v", err)
	}
	for _, tls := range []bool{false, true} {
		if _, err := send(tls); !errors.Is(err, kio.ErrStaleSpan) {
			t.Fatalf("tls=%v: after the deletion: writeFrame %v; want ErrStaleSpan", tls, err)
		}
	}
}

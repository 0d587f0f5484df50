package realio

// Bad input: each case runs on its own connection while a healthy
// connection keeps producing and fetching. A case ends with its connection
// closed (and the reason logged) or with the right error code; either way
// nothing else is disturbed: the healthy connection keeps making progress,
// and data written before stays byte-identical.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	badRequestBytesMax = 10240 // socket.request.max.bytes of the bad-input broker
	badMessageBytesMax = 4096  // message.max.bytes of the bad-input broker
)

// rawFrame builds a request frame by hand: length, key, version,
// correlation id, client id "x", then body.
func rawFrame(key, version int16, body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, 0)
	f = binary.BigEndian.AppendUint16(f, uint16(key))
	f = binary.BigEndian.AppendUint16(f, uint16(version))
	f = binary.BigEndian.AppendUint32(f, 1)
	f = binary.BigEndian.AppendUint16(f, 1)
	f = append(f, 'x')
	f = append(f, body...)
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	return f
}

// writeRaw writes bytes the broker may reject mid-way; a write error after
// the broker closed the connection is expected and ignored.
func writeRaw(c *client, b []byte) {
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	c.nc.Write(b)
}

// healthyWorker produces to and fetches from topic "live" on its own
// connection until stopped, checking every answer.
type healthyWorker struct {
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	iters int
	sent  [][]byte // every batch produced, in offset order
	err   error
}

func startWorker(t *testing.T, b *testBroker) *healthyWorker {
	w := &healthyWorker{stop: make(chan struct{}), done: make(chan struct{})}
	c := b.dial(t)
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			if err := w.step(c, i); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	t.Cleanup(w.halt)
	return w
}

// step produces one two-record batch and fetches it back.
func (w *healthyWorker) step(c *client, i int) error {
	raw := plainBatch(fmt.Sprintf("live%d", i), 2).bytes()
	resp, err := c.roundTrip(withVersion(produceReq(-1, "live", 0, raw), 9))
	if err != nil {
		return fmt.Errorf("healthy produce %d: %w", i, err)
	}
	rp := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	if rp.ErrorCode != 0 || rp.BaseOffset != int64(2*i) {
		return fmt.Errorf("healthy produce %d: got %s at %d; want 0 at %d", i, errName(rp.ErrorCode), rp.BaseOffset, 2*i)
	}
	fresp, err := c.roundTrip(withVersion(fetchReq("live", [16]byte{}, 0, int64(2*i)), 11))
	if err != nil {
		return fmt.Errorf("healthy fetch %d: %w", i, err)
	}
	fp := fresp.(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if fp.ErrorCode != 0 || len(fp.RecordBatches) != len(raw) || !bytes.Equal(fp.RecordBatches[8:12], raw[8:12]) || !bytes.Equal(fp.RecordBatches[16:], raw[16:]) {
		return fmt.Errorf("healthy fetch %d: got %s with %x; want 0 with the produced batch %x", i, errName(fp.ErrorCode), fp.RecordBatches, raw)
	}
	w.mu.Lock()
	w.iters++
	w.sent = append(w.sent, raw)
	w.mu.Unlock()
	return nil
}

func (w *healthyWorker) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *healthyWorker) progress() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.iters, w.err
}

// waitProgress waits until the worker completed more than from iterations.
func (w *healthyWorker) waitProgress(t *testing.T, from int) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		n, err := w.progress()
		if err != nil {
			t.Fatalf("healthy connection: %v", err)
		}
		if n > from+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthy connection: got %d round trips in %s; want more than %d", n, ioTimeout, from+1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type badCase struct {
	name string
	// closes: the broker must close the connection, logging a line that
	// contains logged.
	closes bool
	logged string
	run    func(t *testing.T, c *client)
}

func TestBadInput(t *testing.T) {
	b := startBroker(t, map[string]string{
		"socket.request.max.bytes": fmt.Sprint(badRequestBytesMax),
		"message.max.bytes":        fmt.Sprint(badMessageBytesMax),
	})
	setup := b.dial(t)
	for _, name := range []string{"stored", "live", "target"} {
		createTopic(t, setup, name, 1, nil)
	}
	for i := 0; i < 3; i++ {
		mustProduce(t, setup, 9, "stored", 0, plainBatch(fmt.Sprintf("stored%d", i), 3).bytes())
	}
	stored := fetchPart(t, setup, 11, "stored", [16]byte{}, 0, 0).RecordBatches
	if len(splitBatches(t, stored)) != 3 {
		t.Fatalf("stored batches: got %d; want 3", len(splitBatches(t, stored)))
	}
	w := startWorker(t, b)

	cases := append(framingCases(), batchCases(t, setup)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := w.progress()
			lines := b.logLines()
			c := b.dial(t)
			tc.run(t, c)
			if tc.closes {
				expectClosed(t, c)
				b.waitLog(t, lines, tc.logged)
			}
			if got := fetchPart(t, setup, 11, "stored", [16]byte{}, 0, 0); !bytes.Equal(got.RecordBatches, stored) || got.HighWatermark != 9 {
				t.Errorf("stored data after the bad input: got %d bytes, high watermark %d; want the %d bytes written before, high watermark 9", len(got.RecordBatches), got.HighWatermark, len(stored))
			}
			w.waitProgress(t, before)
		})
	}

	w.halt()
	n, err := w.progress()
	if err != nil {
		t.Fatalf("healthy connection: %v", err)
	}
	got := splitBatches(t, fetchPart(t, setup, 11, "live", [16]byte{}, 0, 0).RecordBatches)
	if len(got) != n {
		t.Fatalf("live batches: got %d; want %d", len(got), n)
	}
	for i := range got {
		sameBatch(t, fmt.Sprintf("live batch %d", i), got[i], w.sent[i], int64(2*i), 0)
	}
}

// framingCases break the framing, header or version: each closes the
// connection.
func framingCases() []badCase {
	lenOnly := func(n uint32) func(*testing.T, *client) {
		return func(t *testing.T, c *client) { writeRaw(c, binary.BigEndian.AppendUint32(nil, n)) }
	}
	request := func(v int16, req kmsg.Request) func(*testing.T, *client) {
		return func(t *testing.T, c *client) {
			req.SetVersion(v)
			writeRaw(c, appendFrame(nil, 1, req))
		}
	}
	return []badCase{
		{"http request", true, "closing connection", func(t *testing.T, c *client) {
			writeRaw(c, []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		}},
		{"random bytes", true, "closing connection", func(t *testing.T, c *client) {
			r := rand.New(rand.NewPCG(1, 2))
			junk := make([]byte, 2*badRequestBytesMax)
			for i := range junk {
				junk[i] = byte(r.Uint32())
			}
			writeRaw(c, junk)
		}},
		{"truncated frame", false, "", func(t *testing.T, c *client) {
			f := binary.BigEndian.AppendUint32(nil, 100)
			f = append(f, rawFrame(3, 1, nil)[4:]...)
			f = append(f, make([]byte, 20-(len(f)-4))...)
			writeRaw(c, f)
			if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			expectClosed(t, c)
		}},
		{"length above socket.request.max.bytes", true, "socket.request.max.bytes", lenOnly(badRequestBytesMax + 1)},
		{"length 2^31-1", true, "socket.request.max.bytes", lenOnly(1<<31 - 1)},
		{"negative length", true, "closing connection", lenOnly(0xffffff00)},
		{"frame shorter than a header", true, "closing connection", func(t *testing.T, c *client) {
			writeRaw(c, []byte{0, 0, 0, 6, 0, 3, 0, 1, 0, 0})
		}},
		{"unknown API key 999", true, "unknown API key", func(t *testing.T, c *client) {
			writeRaw(c, rawFrame(999, 0, nil))
		}},
		{"ApiVersions v-1", true, "closing connection", func(t *testing.T, c *client) {
			writeRaw(c, rawFrame(18, -1, nil))
		}},
		{"Fetch v17", true, "unsupported version", request(17, fetchReq("stored", [16]byte{}, 0, 0))},
		{"DescribeConfigs v0", true, "unsupported version", request(0, kmsg.NewPtrDescribeConfigsRequest())},
		{"Produce v12", true, "unsupported version", request(12, produceReq(-1, "target", 0, plainBatch("v12", 1).bytes()))},
		{"Metadata v13", true, "unsupported version", request(13, kmsg.NewPtrMetadataRequest())},
		{"ListOffsets v10", true, "unsupported version", request(10, kmsg.NewPtrListOffsetsRequest())},
		{"Metadata v9 with a truncated body", true, "closing connection", func(t *testing.T, c *client) {
			// Flexible v9: header tags, then a topic array claiming 5 entries.
			writeRaw(c, rawFrame(3, 9, []byte{0, 6}))
		}},
		{"valid request then garbage", true, "closing connection", func(t *testing.T, c *client) {
			if _, hwm := offsets(t, c, "stored", 0); hwm != 9 {
				t.Errorf("high watermark before the garbage: got %d; want 9", hwm)
			}
			writeRaw(c, rawFrame(0x7a7a, 0x7a7a, []byte("zzzz")))
		}},
	}
}

// batchCases send malformed record batches in well-formed produce
// requests: each is answered with an error code, nothing is stored, and
// the connection stays usable.
func batchCases(t *testing.T, setup *client) []badCase {
	good := func() []byte { return plainBatch("target", 3).bytes() }
	mutate := func(f func(b []byte) []byte) []byte { return f(good()) }
	cases := []struct {
		name    string
		records []byte
		code    int16
	}{
		{"flipped CRC byte", mutate(func(b []byte) []byte { b[18] ^= 0xff; return b }), kerr.CorruptMessage.Code},
		{"flipped record byte", mutate(func(b []byte) []byte { b[70] ^= 0x01; return b }), kerr.CorruptMessage.Code},
		{"magic 1", mutate(func(b []byte) []byte { b[16] = 1; return b }), kerr.InvalidRecord.Code},
		{"magic 0", mutate(func(b []byte) []byte { b[16] = 0; return b }), kerr.InvalidRecord.Code},
		{"truncated batch", mutate(func(b []byte) []byte { return b[:len(b)-10] }), kerr.InvalidRecord.Code},
		{"shorter than a batch header", good()[:40], kerr.InvalidRecord.Code},
		{"shorter than a length field", good()[:11], kerr.InvalidRecord.Code},
		{"length below the smallest message", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 13); return b }), kerr.CorruptMessage.Code},
		{"length below a batch header", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 30); return b[:42] }), kerr.CorruptMessage.Code},
		{"unknown magic 3", mutate(func(b []byte) []byte { b[16] = 3; return b }), kerr.CorruptMessage.Code},
		{"record count disagrees with last offset delta", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 7)
			fixCRC(b)
			return b
		}), kerr.InvalidRecord.Code},
		{"batch larger than message.max.bytes", plainBatch("big", 2).sized(badMessageBytesMax/2 + 100).bytes(), kerr.MessageTooLarge.Code},
		{"two batches", append(good(), plainBatch("second", 1).bytes()...), kerr.InvalidRecord.Code},
		{"transactional batch", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[21:], 0x10)
			fixCRC(b)
			return b
		}), kerr.InvalidRecord.Code},
		{"empty records", []byte{}, kerr.InvalidRecord.Code},
		{"null records", nil, kerr.InvalidRecord.Code},
	}
	var out []badCase
	for _, bc := range cases {
		out = append(out, badCase{name: bc.name, run: func(t *testing.T, c *client) {
			if len(bc.records) > badRequestBytesMax-200 {
				t.Fatalf("test batch of %d bytes does not fit socket.request.max.bytes %d", len(bc.records), badRequestBytesMax)
			}
			_, before := offsets(t, setup, "target", 0)
			for _, v := range []int16{3, 9, 11} {
				rp := producePart(t, c, v, "target", 0, bc.records)
				// INVALID_RECORD at every version, as Kafka answers it
				checkCode(t, fmt.Sprintf("Produce v%d of a %s", v, bc.name), rp.ErrorCode, bc.code)
				if rp.BaseOffset != -1 {
					t.Errorf("Produce v%d of a %s BaseOffset: got %d; want -1", v, bc.name, rp.BaseOffset)
				}
			}
			if _, after := offsets(t, setup, "target", 0); after != before {
				t.Errorf("target high watermark after a %s: got %d; want %d (nothing stored)", bc.name, after, before)
			}
			// The connection still serves a good batch.
			if base := mustProduce(t, c, 9, "target", 0, good()); base != before {
				t.Errorf("good batch after a %s: got base %d; want %d", bc.name, base, before)
			}
		}})
	}
	return out
}

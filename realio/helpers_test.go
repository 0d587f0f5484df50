package realio

// Shared helpers for the protocol conformance tests: an in-process broker,
// a raw Kafka client that speaks one request at an exact version, record
// batch construction, and connection-state checks.
//
// Every wait is bounded and says what it waited for.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	stdio "io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

const (
	// ioTimeout bounds every read of a response frame.
	ioTimeout = 10 * time.Second
	// closeTimeout bounds how long a test waits for the broker to close a
	// connection it should close.
	closeTimeout = 5 * time.Second
	// frameBytesMax is a sanity bound on a response frame's length prefix.
	frameBytesMax = 64 << 20
	// baseTimestampMs is the default FirstTimestamp of test batches.
	baseTimestampMs = int64(1_700_000_000_000)
)

// testBroker is one in-process broker and the log lines it wrote.
type testBroker struct {
	*Server
	t    testing.TB
	port int32

	mu      sync.Mutex
	lines   []string
	closed  bool // the test is over: stop forwarding log lines to t
	stopped bool // shutdown already ran
}

// shutdown stops the broker before the test ends (for restarts).
func (b *testBroker) shutdown(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	done := b.stopped
	b.stopped = true
	b.mu.Unlock()
	if !done {
		if err := b.Shutdown(); err != nil {
			t.Errorf("Shutdown: got %v; want nil", err)
		}
	}
}

// startBroker starts a broker on a free loopback port with a fresh log
// directory. overrides are Kafka properties applied over the defaults. The
// broker is shut down when the test ends.
func startBroker(t testing.TB, overrides map[string]string) *testBroker {
	t.Helper()
	props := map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:0",
		"log.dirs":  t.TempDir(),
	}
	for k, v := range overrides {
		props[k] = v
	}
	cfg, err := core.ParseProperties(props)
	if err != nil {
		t.Fatalf("ParseProperties(%v): %v", props, err)
	}
	b := &testBroker{t: t}
	s, err := Start(cfg, b.logf)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	b.Server = s
	t.Cleanup(func() {
		b.shutdown(t)
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
	})
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok || addr.Port == 0 {
		t.Fatalf("Addr: got %v; want a TCP address with a real port", s.Addr())
	}
	b.port = int32(addr.Port)
	return b
}

func (b *testBroker) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if !b.closed {
		b.t.Logf("broker: %s", line)
	}
}

// logLines returns how many lines the broker has logged so far.
func (b *testBroker) logLines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines)
}

// waitLog waits until a line logged after line number from contains sub.
func (b *testBroker) waitLog(t testing.TB, from int, sub string) {
	t.Helper()
	deadline := time.Now().Add(closeTimeout)
	for {
		b.mu.Lock()
		for _, l := range b.lines[from:] {
			if strings.Contains(l, sub) {
				b.mu.Unlock()
				return
			}
		}
		got := append([]string(nil), b.lines[from:]...)
		b.mu.Unlock()
		if time.Now().After(deadline) {
			t.Errorf("broker log after %s: got %q; want a line containing %q", closeTimeout, got, sub)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a raw Kafka connection: it sends exactly the bytes kmsg
// encodes for a request at the version the request carries.
type client struct {
	t    testing.TB
	nc   net.Conn
	r    *bufio.Reader
	corr int32
}

func (b *testBroker) dial(t testing.TB) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", b.Addr().String(), ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", b.Addr(), err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// appendFrame frames req at its version with correlation id corr.
func appendFrame(dst []byte, corr int32, req kmsg.Request) []byte {
	return kio.AppendRequest(dst, corr, "conformance", req)
}

// send writes one request frame and returns its correlation id.
func (c *client) send(req kmsg.Request) (int32, error) {
	c.corr++
	frame := appendFrame(nil, c.corr, req)
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.nc.Write(frame); err != nil {
		return 0, fmt.Errorf("writing %s v%d: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return c.corr, nil
}

// readFrame reads one response frame (without its length prefix).
func (c *client) readFrame(what string) ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	var size [4]byte
	if _, err := stdio.ReadFull(c.r, size[:]); err != nil {
		return nil, fmt.Errorf("waiting %s for the length of the response to %s: %w", ioTimeout, what, err)
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > frameBytesMax {
		return nil, fmt.Errorf("response to %s: got frame length %d; want 4..%d", what, n, frameBytesMax)
	}
	frame := make([]byte, n)
	if _, err := stdio.ReadFull(c.r, frame); err != nil {
		return nil, fmt.Errorf("waiting %s for the %d-byte response to %s: %w", ioTimeout, n, what, err)
	}
	return frame, nil
}

// recv reads the response to req, sent with correlation id corr, and
// decodes it at req's version.
func (c *client) recv(req kmsg.Request, corr int32) (kmsg.Response, error) {
	what := fmt.Sprintf("%s v%d (correlation %d)", kmsg.NameForKey(req.Key()), req.GetVersion(), corr)
	frame, err := c.readFrame(what)
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	return resp, decodeResponse(frame, corr, resp, what)
}

// decodeResponse checks a response frame's header and decodes its body
// into resp, whose version is already set.
func decodeResponse(frame []byte, corr int32, resp kmsg.Response, what string) error {
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		return fmt.Errorf("response to %s: got correlation id %d; want %d", what, got, corr)
	}
	body := frame[4:]
	if resp.IsFlexible() && resp.Key() != 18 {
		if len(body) == 0 || body[0] != 0 {
			return fmt.Errorf("response to %s: got header tag section %x; want 00", what, body[:min(1, len(body))])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		return fmt.Errorf("decoding the response to %s: %w", what, err)
	}
	return nil
}

// roundTrip sends req at its version and returns the decoded response.
func (c *client) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	corr, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return c.recv(req, corr)
}

// call sends req at version v and returns the decoded response, failing
// the test on any transport or decoding error.
func call[R kmsg.Response](t testing.TB, c *client, v int16, req kmsg.Request) R {
	t.Helper()
	req.SetVersion(v)
	resp, err := c.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.(R)
}

// expectClosed checks that the broker closes c: a read returns EOF or a
// reset within closeTimeout and no response bytes arrive first.
func expectClosed(t testing.TB, c *client) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
	buf := make([]byte, 512)
	n, err := c.r.Read(buf)
	switch {
	case n > 0:
		t.Errorf("connection: got %d bytes (%x); want it closed with no response", n, buf[:min(n, 32)])
	case isTimeout(err):
		t.Errorf("connection: still open after %s; want the broker to close it", closeTimeout)
	case !isClosed(err):
		t.Errorf("connection read: got %v; want EOF or connection reset", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosed(err error) bool {
	return errors.Is(err, stdio.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// errName renders a Kafka error code with its name.
func errName(code int16) string {
	if code == 0 {
		return "0 (NONE)"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return fmt.Sprintf("%d (%s)", code, ke.Message)
		}
	}
	return fmt.Sprintf("%d", code)
}

// checkCode reports a mismatched error code.
func checkCode(t testing.TB, what string, got, want int16) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s error code: got %s; want %s", what, errName(got), errName(want))
		return false
	}
	return true
}

// ---- record batches ----

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchSpec describes one magic-2 record batch to build.
type batchSpec struct {
	tag        string // prefix of every value, to keep batches distinct
	records    int
	valueBytes int   // size of each value, at least len(tag)+4
	firstTS    int64 // FirstTimestamp; record i has firstTS + 10*i
	producerID int64
	epoch      int16
	seq        int32
}

// plainBatch is a non-idempotent batch of n records.
func plainBatch(tag string, n int) batchSpec {
	return batchSpec{tag: tag, records: n, valueBytes: 16, firstTS: baseTimestampMs, producerID: -1, epoch: -1, seq: -1}
}

func (s batchSpec) idem(pid int64, epoch int16, seq int32) batchSpec {
	s.producerID, s.epoch, s.seq = pid, epoch, seq
	return s
}

func (s batchSpec) at(firstTS int64) batchSpec { s.firstTS = firstTS; return s }

func (s batchSpec) sized(valueBytes int) batchSpec { s.valueBytes = valueBytes; return s }

func (s batchSpec) maxTS() int64 { return s.firstTS + 10*int64(s.records-1) }

// bytes encodes the batch: records via kmsg.Record.AppendTo, the header
// via kmsg.RecordBatch.AppendTo, then Length and the CRC-32C over [21:].
func (s batchSpec) bytes() []byte {
	var recs []byte
	for i := 0; i < s.records; i++ {
		val := []byte(fmt.Sprintf("%s-%d-", s.tag, i))
		for len(val) < s.valueBytes {
			val = append(val, 'v')
		}
		r := kmsg.Record{
			TimestampDelta64: 10 * int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte(fmt.Sprintf("k%d", i)),
			Value:            val,
			Headers:          []kmsg.Header{{Key: "h", Value: []byte(s.tag)}},
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a zero Length encodes as one byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.firstTS,
		MaxTimestamp:         s.maxTS(),
		ProducerID:           s.producerID,
		ProducerEpoch:        s.epoch,
		FirstSequence:        s.seq,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	fixCRC(raw)
	return raw
}

// fixCRC recomputes the CRC-32C of the batch at the start of raw.
func fixCRC(raw []byte) {
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], castagnoli))
}

// splitBatches cuts concatenated batches at their length fields.
func splitBatches(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 61 {
			t.Fatalf("record data: got a %d-byte tail; want whole batches of at least 61 bytes", len(data))
		}
		n := int(int32(binary.BigEndian.Uint32(data[8:]))) + 12
		if n < 61 || n > len(data) {
			t.Fatalf("record data: got batch length %d with %d bytes left; want 61..%d", n, len(data), len(data))
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// sameBatch compares a fetched batch with the produced one: identical
// except for BaseOffset [0:8] and PartitionLeaderEpoch [12:16], which must
// hold base and epoch.
func sameBatch(t testing.TB, what string, got, produced []byte, base int64, epoch int32) {
	t.Helper()
	if len(got) != len(produced) {
		t.Errorf("%s: got %d bytes; want %d", what, len(got), len(produced))
		return
	}
	if b := int64(binary.BigEndian.Uint64(got)); b != base {
		t.Errorf("%s BaseOffset: got %d; want %d", what, b, base)
	}
	if e := int32(binary.BigEndian.Uint32(got[12:])); e != epoch {
		t.Errorf("%s PartitionLeaderEpoch: got %d; want %d", what, e, epoch)
	}
	for i := 8; i < len(got); i++ {
		if (i < 12 || i >= 16) && got[i] != produced[i] {
			lo, hi := max(i-4, 0), min(i+8, len(got))
			t.Errorf("%s: got bytes %x at [%d:%d]; want %x (the produced bytes, apart from offset and epoch)", what, got[lo:hi], lo, hi, produced[lo:hi])
			return
		}
	}
}

// ---- common requests ----

func produceReq(acks int16, topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// producePart sends one batch with acks=-1 at version v and returns the
// single partition response.
func producePart(t testing.TB, c *client, v int16, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp := call[*kmsg.ProduceResponse](t, c, v, produceReq(-1, topic, partition, records))
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response: got %d topics; want 1 topic with 1 partition: %+v", len(resp.Topics), resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// mustProduce produces one batch at v and fails unless it is accepted.
func mustProduce(t testing.TB, c *client, v int16, topic string, partition int32, records []byte) int64 {
	t.Helper()
	rp := producePart(t, c, v, topic, partition, records)
	if rp.ErrorCode != 0 {
		t.Fatalf("produce to %s/%d: got %s; want 0", topic, partition, errName(rp.ErrorCode))
	}
	return rp.BaseOffset
}

func fetchReq(topic string, id [16]byte, partition int32, offset int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes = 0, 0
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic, ft.TopicID = topic, id
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = partition, offset, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	return req
}

// fetchPart fetches one partition at v without waiting and returns its
// response.
func fetchPart(t testing.TB, c *client, v int16, topic string, id [16]byte, partition int32, offset int64) kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp := call[*kmsg.FetchResponse](t, c, v, fetchReq(topic, id, partition, offset))
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch response: got error %s, topics %+v; want 1 topic with 1 partition", errName(resp.ErrorCode), resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// createTopic creates a topic with CreateTopics v7 and returns its id.
func createTopic(t testing.TB, c *client, name string, partitions int32, configs map[string]string) [16]byte {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	resp := call[*kmsg.CreateTopicsResponse](t, c, 7, req)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics %s: got %+v; want one topic without error", name, resp.Topics)
	}
	return resp.Topics[0].TopicID
}

// metadataTopic looks one topic up with Metadata v12 without creating it;
// ok is false when the broker answers UNKNOWN_TOPIC_OR_PARTITION.
func metadataTopic(t testing.TB, c *client, name string) (kmsg.MetadataResponseTopic, bool) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(name)
	req.Topics = append(req.Topics, mt)
	req.AllowAutoTopicCreation = false
	resp := call[*kmsg.MetadataResponse](t, c, 12, req)
	if len(resp.Topics) != 1 {
		t.Fatalf("Metadata for %s: got %d topics; want 1", name, len(resp.Topics))
	}
	rt := resp.Topics[0]
	switch rt.ErrorCode {
	case 0:
		return rt, true
	case kerr.UnknownTopicOrPartition.Code:
		return rt, false
	}
	t.Fatalf("Metadata for %s: got %s; want 0 or 3", name, errName(rt.ErrorCode))
	return rt, false
}

// offsets returns a partition's log start offset and high watermark via
// ListOffsets v6.
func offsets(t testing.TB, c *client, topic string, partition int32) (start, hwm int64) {
	t.Helper()
	get := func(ts int64) int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = partition, ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := call[*kmsg.ListOffsetsResponse](t, c, 6, req)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("ListOffsets %s/%d ts %d: got %+v; want one partition without error", topic, partition, ts, resp.Topics)
		}
		return resp.Topics[0].Partitions[0].Offset
	}
	return get(-2), get(-1)
}

// initProducerID returns a fresh idempotent producer id via
// InitProducerId v4.
func initProducerID(t testing.TB, c *client) int64 {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = 60000
	resp := call[*kmsg.InitProducerIDResponse](t, c, 4, req)
	if resp.ErrorCode != 0 || resp.ProducerID < 0 || resp.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId: got error %s, id %d, epoch %d; want 0, an id >= 0, epoch 0", errName(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch)
	}
	return resp.ProducerID
}

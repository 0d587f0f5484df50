package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The sink target is the client's ceiling: a Kafka-speaking server on
// 127.0.0.1 inside ckbench that does the least a broker can do, so that
// what the franz-go producer and consumer reach against it is what the
// client itself can reach on this machine. A broker whose ratio to the
// sink is near 1 is no longer what limits the benchmark.
//
// Behavior:
//   - Every request and response is decoded and encoded by kmsg; only the
//     frame (a 4-byte size) and the response header (the correlation ID,
//     and an empty tag section for flexible responses other than
//     ApiVersions) are written here, with kbin.
//   - ApiVersions lists the keys below, at the versions in sinkAPIs. A
//     newer ApiVersions is answered in v0 with UNSUPPORTED_VERSION, as
//     Kafka does, so the client downgrades. Any other key or version
//     closes the connection.
//   - Metadata: one broker (node 0, the sink itself), leader of every
//     partition with leader epoch 0; topics without IDs, so that the
//     client fetches by name (Fetch is capped at v12 for that).
//   - CreateTopics remembers a topic and its partition count; nothing
//     else of it (replication factor, configs) matters.
//   - InitProducerID hands out increasing producer IDs, epoch 0, so that
//     idempotent producers work. Sequence numbers are not checked.
//   - Produce stores nothing: per partition it reads each batch's header
//     (kmsg.RecordBatch) for its record count, and answers with the
//     partition's next offset, which then advances by that count. The
//     first record produced to a topic is kept, as its template.
//     Compressed batches are refused (UNSUPPORTED_COMPRESSION_TYPE): the
//     sink serves back what it was sent, and cannot without
//     decompressing. acks=0 is answered with nothing, as Kafka does.
//   - Fetch serves, from the requested offset up to the partition's next
//     offset, one record batch of copies of the topic's template record
//     (at most sinkFetchBatchBytes of records): a real v2 batch with a
//     correct CRC, built once per topic and record count and cached; per
//     response only its base offset changes, which the CRC does not cover
//     (it covers the attributes onward). The response stops adding
//     partitions at the request's MaxBytes. With nothing to serve it
//     waits the request's MaxWaitMillis (at most sinkFetchWaitMax) once,
//     then answers what there is. No fetch sessions: SessionID 0.
//   - ListOffsets: -1 (latest) is the partition's next offset; anything
//     else is 0, the start of every partition.
//   - DeleteTopics forgets the topic.
//
// Everything the sink holds is bounded: sinkTopicsMax topics of at most
// sinkPartitionsMax partitions, sinkConnsMax connections, frames of
// sinkFrameBytesMax, sinkBatchCacheMax cached batches per topic.

const (
	sinkTopicsMax      = 1024
	sinkPartitionsMax  = 10000
	sinkConnsMax       = 4096
	sinkFrameBytesMax  = 100 << 20 // socket.request.max.bytes's default
	sinkBatchCacheMax  = 16
	sinkFetchWaitMax   = 500 * time.Millisecond
	sinkFetchBatchMax  = 512 << 10 // bytes of records in one served batch, about
	sinkResponseMaxDef = 50 << 20  // a Fetch's MaxBytes when it gives none (v0-v2)
	sinkNodeID         = 0

	// batchCRCStart is where a v2 record batch's CRC coverage begins:
	// after FirstOffset (8 bytes), Length (4), PartitionLeaderEpoch (4),
	// Magic (1) and the CRC itself (4). Part of Kafka's format.
	batchCRCStart = 21
	// batchHeaderBytes is a v2 batch's size before its records; Length
	// counts all but the first 12 (FirstOffset and Length).
	batchHeaderBytes = 61
)

// sinkAPIs are the keys and versions the sink answers. Fetch stops at
// v12, the last to name topics, because the sink gives topics no IDs.
var sinkAPIs = []struct{ key, min, max int16 }{
	{0, 3, 11}, // Produce: v3 is the first with record batches
	{1, 4, 12}, // Fetch
	{2, 1, 7},  // ListOffsets
	{3, 1, 12}, // Metadata
	{18, 0, 3}, // ApiVersions
	{19, 2, 7}, // CreateTopics
	{20, 1, 5}, // DeleteTopics: by name
	{22, 0, 4}, // InitProducerID
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sink is the server; see the Behavior note above.
type sink struct {
	ln     net.Listener
	closed chan struct{} // closed by close, to end fetch waits
	wg     sync.WaitGroup

	mu         sync.Mutex
	topics     map[string]*sinkTopic
	conns      map[net.Conn]struct{}
	producerID int64 // the last handed out
}

// sinkTopic is one topic's state.
type sinkTopic struct {
	// logEndOffsets[p] is partition p's next offset: how many records
	// it has acknowledged.
	logEndOffsets []int64
	// value is the value of the first record produced to the topic; nil
	// until then. Fetch serves copies of it.
	value []byte
	// batches holds built batches by record count (at most
	// sinkBatchCacheMax); their FirstOffset is 0.
	batches map[int32]*kmsg.RecordBatch
}

// startSink listens on a free 127.0.0.1 port and serves until close.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the sink: %w", err)
	}
	s := &sink{ln: ln, closed: make(chan struct{}), topics: map[string]*sinkTopic{}, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

// close stops listening, closes every connection and waits for their
// goroutines, which end on the closed sockets.
func (s *sink) close() {
	close(s.closed)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *sink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		full := len(s.conns) >= sinkConnsMax
		if !full {
			s.conns[c] = struct{}{}
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if full {
			c.Close()
			continue
		}
		go s.serve(c)
	}
}

// serve answers one connection's requests in order until it closes or
// sends something the sink does not answer.
func (s *sink) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	var frame, out, scratch []byte
	var size [4]byte
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return
		}
		n := (&kbin.Reader{Src: size[:]}).Int32()
		if n < 8 || n > sinkFrameBytesMax {
			return
		}
		if cap(frame) < int(n) {
			frame = make([]byte, n)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		var err error
		out, scratch, err = s.handle(frame, out[:0], scratch[:0])
		if err != nil {
			return
		}
		if len(out) == 0 {
			continue // acks=0
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// handle decodes one request frame and appends its framed response to
// out (nothing for acks=0); scratch holds the fetched batches until the
// response is encoded. An error closes the connection.
func (s *sink) handle(frame, out, scratch []byte) ([]byte, []byte, error) {
	rd := kbin.Reader{Src: frame}
	key, version, corr := rd.Int16(), rd.Int16(), rd.Int32()
	rd.NullableString() // client ID
	req := kmsg.RequestForKey(key)
	if req == nil {
		return out, scratch, fmt.Errorf("unknown key %d", key)
	}
	if key == 18 && version > sinkMaxVersion(18) {
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		resp.ApiKeys = sinkAPIKeys()
		return appendResponse(out, corr, resp), scratch, nil
	}
	if !sinkSupports(key, version) {
		return out, scratch, fmt.Errorf("key %d version %d not served", key, version)
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
	}
	if err := req.ReadFrom(rd.Src); err != nil {
		return out, scratch, fmt.Errorf("decoding key %d v%d: %w", key, version, err)
	}
	var resp kmsg.Response
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		r := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		r.ApiKeys = sinkAPIKeys()
		resp = r
	case *kmsg.MetadataRequest:
		resp = s.metadata(req)
	case *kmsg.CreateTopicsRequest:
		resp = s.createTopics(req)
	case *kmsg.DeleteTopicsRequest:
		resp = s.deleteTopics(req)
	case *kmsg.InitProducerIDRequest:
		resp = s.initProducerID(req)
	case *kmsg.ProduceRequest:
		r := s.produce(req)
		if req.Acks == 0 {
			return out, scratch, nil
		}
		resp = r
	case *kmsg.FetchRequest:
		resp, scratch = s.fetch(req, scratch)
	case *kmsg.ListOffsetsRequest:
		resp = s.listOffsets(req)
	default:
		return out, scratch, fmt.Errorf("key %d not served", key)
	}
	return appendResponse(out, corr, resp), scratch, nil
}

// appendResponse appends resp framed: its size, the correlation ID, the
// empty tag section of a flexible response header (ApiVersions always
// answers with header v0), then resp as kmsg encodes it.
func appendResponse(out []byte, corr int32, resp kmsg.Response) []byte {
	start := len(out)
	out = kbin.AppendInt32(out, 0) // the size, set below
	out = kbin.AppendInt32(out, corr)
	if resp.IsFlexible() && resp.Key() != 18 {
		out = kbin.AppendUvarint(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out
}

func sinkMaxVersion(key int16) int16 {
	for _, a := range sinkAPIs {
		if a.key == key {
			return a.max
		}
	}
	return -1
}

func sinkSupports(key, version int16) bool {
	for _, a := range sinkAPIs {
		if a.key == key {
			return version >= a.min && version <= a.max
		}
	}
	return false
}

func sinkAPIKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(sinkAPIs))
	for _, a := range sinkAPIs {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		keys = append(keys, k)
	}
	return keys
}

func (s *sink) metadata(req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port, _ := net.SplitHostPort(s.addr())
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host = sinkNodeID, host
	fmt.Sscan(port, &b.Port)
	resp.Brokers = append(resp.Brokers, b)
	resp.ControllerID = sinkNodeID
	resp.ClusterID = kmsg.StringPtr("ckbench-sink")
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	if req.Topics == nil {
		for name := range s.topics {
			names = append(names, name)
		}
		sort.Strings(names)
	}
	for _, rt := range req.Topics {
		if rt.Topic != nil {
			names = append(names, *rt.Topic)
		}
	}
	for _, name := range names {
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = kmsg.StringPtr(name)
		t, ok := s.topics[name]
		if !ok {
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		} else {
			for p := range t.logEndOffsets {
				mp := kmsg.NewMetadataResponseTopicPartition()
				mp.Partition, mp.Leader, mp.LeaderEpoch = int32(p), sinkNodeID, 0
				mp.Replicas, mp.ISR = []int32{sinkNodeID}, []int32{sinkNodeID}
				mt.Partitions = append(mt.Partitions, mp)
			}
		}
		resp.Topics = append(resp.Topics, mt)
	}
	return resp
}

func (s *sink) createTopics(req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range req.Topics {
		ct := kmsg.NewCreateTopicsResponseTopic()
		ct.Topic = rt.Topic
		n := rt.NumPartitions
		if n == -1 {
			n = 1
		}
		_, exists := s.topics[rt.Topic]
		switch {
		case exists:
			ct.ErrorCode = kerr.TopicAlreadyExists.Code
		case n < 1 || n > sinkPartitionsMax:
			ct.ErrorCode = kerr.InvalidPartitions.Code
		case len(s.topics) >= sinkTopicsMax:
			ct.ErrorCode = kerr.PolicyViolation.Code
			ct.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("the sink holds at most %d topics", sinkTopicsMax))
		default:
			ct.NumPartitions, ct.ReplicationFactor = n, 1
			if !req.ValidateOnly {
				s.topics[rt.Topic] = &sinkTopic{logEndOffsets: make([]int64, n), batches: map[int32]*kmsg.RecordBatch{}}
			}
		}
		resp.Topics = append(resp.Topics, ct)
	}
	return resp
}

func (s *sink) deleteTopics(req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range req.TopicNames {
		dt := kmsg.NewDeleteTopicsResponseTopic()
		dt.Topic = kmsg.StringPtr(name)
		if _, ok := s.topics[name]; ok {
			delete(s.topics, name)
		} else {
			dt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		resp.Topics = append(resp.Topics, dt)
	}
	return resp
}

func (s *sink) initProducerID(req *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	s.mu.Lock()
	s.producerID++
	resp.ProducerID, resp.ProducerEpoch = s.producerID, 0
	s.mu.Unlock()
	return resp
}

func (s *sink) produce(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.ErrorCode = s.append(rt.Topic, rp.Partition, rp.Records)
			if sp.ErrorCode == 0 {
				sp.LogStartOffset = 0
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// append acknowledges the batches of records to partition p of topic:
// it returns the offset of their first record, or -1 and an error code.
func (s *sink) append(topic string, p int32, records []byte) (int64, int16) {
	s.mu.Lock()
	t, ok := s.topics[topic]
	wantValue := ok && t.value == nil
	s.mu.Unlock()
	if !ok || p < 0 || int(p) >= len(t.logEndOffsets) {
		return -1, kerr.UnknownTopicOrPartition.Code
	}
	n, value, err := countRecords(records, wantValue)
	if err != nil {
		if errors.Is(err, errCompressed) {
			return -1, kerr.UnsupportedCompressionType.Code
		}
		return -1, kerr.CorruptMessage.Code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics[topic] != t {
		return -1, kerr.UnknownTopicOrPartition.Code // deleted meanwhile
	}
	if t.value == nil && value != nil {
		t.value = value
	}
	base := t.logEndOffsets[p]
	t.logEndOffsets[p] += int64(n)
	return base, 0
}

var errCompressed = errors.New("compressed batch")

// countRecords counts the records of the v2 batches in records, reading
// only their headers, and returns a copy of the first record's value if
// wantValue. Each batch advances at least batchHeaderBytes, so the loop
// ends within len(records)/batchHeaderBytes rounds.
func countRecords(records []byte, wantValue bool) (n int, value []byte, err error) {
	for len(records) > 0 {
		var b kmsg.RecordBatch
		if err := b.ReadFrom(records); err != nil {
			return 0, nil, fmt.Errorf("batch header: %w", err)
		}
		size := int(b.Length) + 12
		if b.Magic != 2 || size < batchHeaderBytes || size > len(records) || b.NumRecords < 0 {
			return 0, nil, fmt.Errorf("batch of magic %d, %d bytes, %d records, in %d bytes", b.Magic, size, b.NumRecords, len(records))
		}
		if b.Attributes&0x7 != 0 {
			return 0, nil, errCompressed
		}
		if wantValue && value == nil && b.NumRecords > 0 {
			var r kmsg.Record
			if err := r.ReadFrom(b.Records); err != nil {
				return 0, nil, fmt.Errorf("first record: %w", err)
			}
			value = append([]byte{}, r.Value...)
		}
		n += int(b.NumRecords)
		records = records[size:]
	}
	return n, value, nil
}

// fetch answers req from the acknowledged offsets; the batches are
// appended to scratch, which the response refers to until it is encoded.
func (s *sink) fetch(req *kmsg.FetchRequest, scratch []byte) (*kmsg.FetchResponse, []byte) {
	resp, scratch, served := s.fetchOnce(req, scratch)
	if served || req.MaxWaitMillis <= 0 {
		return resp, scratch
	}
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, sinkFetchWaitMax)
	select {
	case <-time.After(wait):
	case <-s.closed:
	}
	resp, scratch, _ = s.fetchOnce(req, scratch[:0])
	return resp, scratch
}

// fetchOnce builds one response; served says whether it holds records.
func (s *sink) fetchOnce(req *kmsg.FetchRequest, scratch []byte) (*kmsg.FetchResponse, []byte, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = sinkResponseMaxDef
	}
	served := false
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.PreferredReadReplica = -1
			var batch *kmsg.RecordBatch
			sp.HighWatermark, batch, sp.ErrorCode = s.read(rt.Topic, rp.Partition, rp.FetchOffset, budget > 0)
			sp.LastStableOffset, sp.LogStartOffset = sp.HighWatermark, 0
			if batch != nil {
				b := *batch // shares Records, which no one writes
				b.FirstOffset = rp.FetchOffset
				start := len(scratch)
				scratch = b.AppendTo(scratch)
				sp.RecordBatches = scratch[start:]
				budget -= len(sp.RecordBatches)
				served = true
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, scratch, served
}

// read returns partition p's next offset and, if build and there are
// records at offset, a batch of them (FirstOffset 0), or an error code.
func (s *sink) read(topic string, p int32, offset int64, build bool) (int64, *kmsg.RecordBatch, int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[topic]
	if !ok || p < 0 || int(p) >= len(t.logEndOffsets) {
		return -1, nil, kerr.UnknownTopicOrPartition.Code
	}
	end := t.logEndOffsets[p]
	if offset < 0 || offset > end {
		return end, nil, kerr.OffsetOutOfRange.Code
	}
	if !build || offset == end || t.value == nil {
		return end, nil, 0
	}
	perBatch := int64(max(1, sinkFetchBatchMax/(len(t.value)+8)))
	n := int32(min(end-offset, perBatch))
	if b, ok := t.batches[n]; ok {
		return end, b, 0
	}
	b := buildBatch(t.value, n, time.Now().UnixMilli())
	if len(t.batches) < sinkBatchCacheMax {
		t.batches[n] = b
	}
	return end, b, 0
}

// buildBatch makes an uncompressed v2 batch of n records with value,
// offsets 0 to n-1 and timestamp ms, its lengths and CRC set.
func buildBatch(value []byte, n int32, ms int64) *kmsg.RecordBatch {
	var records []byte
	for i := int32(0); i < n; i++ {
		r := kmsg.NewRecord()
		r.OffsetDelta, r.Value = i, value
		// Length counts what follows it: the record encoded with a
		// Length of 0 (a varint of one byte), less that byte.
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	b := kmsg.NewRecordBatch()
	b.Length = int32(batchHeaderBytes - 12 + len(records))
	b.PartitionLeaderEpoch, b.Magic = 0, 2
	b.LastOffsetDelta, b.NumRecords = n-1, n
	b.FirstTimestamp, b.MaxTimestamp = ms, ms
	b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
	b.Records = records
	b.CRC = int32(crc32.Checksum(b.AppendTo(nil)[batchCRCStart:], castagnoli))
	return &b
}

func (s *sink) listOffsets(req *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			end, _, code := s.read(rt.Topic, rp.Partition, 0, false)
			sp.ErrorCode = code
			if code == 0 {
				sp.Offset, sp.LeaderEpoch = 0, 0
				if rp.Timestamp == -1 {
					sp.Offset = end
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

package fuzz

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/driver"
	"cloudkafka/io/memfs"
)

// frames collects what the broker sends back.
type frames struct {
	out    [][]byte
	closed int
}

func (f *frames) Respond(_ core.ConnID, _ uint64, frame kio.Frame) {
	if frame.Parts != nil {
		b, err := frame.AppendTo(nil)
		if err != nil {
			panic(err) // the fuzzed broker's records are in memory: nothing goes stale
		}
		f.out = append(f.out, b)
	}
}
func (f *frames) Close(core.ConnID, uint64, string)         { f.closed++ }
func (f *frames) Lifecycle(core.Lifecycle)                  {}
func (f *frames) Send(core.PeerSend)                        {}
func (f *frames) Authenticated(core.Authenticated)          {}
func (f *frames) Throttle(core.ConnID, uint64, int32, bool) {}

func seedFrames() [][]byte {
	var seeds [][]byte
	add := func(req kmsg.Request, v int16) {
		req.SetVersion(v)
		seeds = append(seeds, kio.AppendRequest(nil, 7, "fuzz", req)[4:])
	}
	for v := int16(0); v <= 3; v++ {
		add(kmsg.NewPtrApiVersionsRequest(), v)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	add(md, 1)
	add(md, 12)
	prod := kmsg.NewPtrProduceRequest()
	prod.Acks = -1
	prod.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch()}}}}
	add(prod, 7)
	add(prod, 9)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes, fetch.SessionEpoch = 100, 1, 1<<20, -1
	fetch.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}
	add(fetch, 11)
	lo := kmsg.NewPtrListOffsetsRequest()
	lo.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1}}}}
	add(lo, 4)
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "u", NumPartitions: 2, ReplicationFactor: 1}}
	add(ct, 5)
	add(kmsg.NewPtrInitProducerIDRequest(), 4)
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: 2, ResourceName: "t"}}
	add(dc, 4)
	cs := kmsg.NewPtrControlledShutdownRequest()
	cs.BrokerEpoch = 1
	add(cs, 0) // Kafka's header v0: no client id
	add(cs, 3)
	return seeds
}

// batch builds one valid uncompressed record batch of one record.
func batch() []byte {
	rec := kmsg.NewRecord()
	rec.Value = []byte("value")
	rec.Length = int32(len(rec.AppendTo(nil)) - 1) // the body after a one-byte zero length
	rb := kmsg.NewRecordBatch()
	rb.Magic, rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = 2, -1, -1, -1
	rb.NumRecords = 1
	rb.Records = rec.AppendTo(nil)
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// FuzzRequest drives arbitrary bytes through the request path: decoding,
// then the broker core with its storage over an in-memory disk. Nothing may
// panic, and every response the broker sends must decode again.
func FuzzRequest(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, body, err := kio.DecodeRequest(frame)
		if err != nil {
			return
		}
		out := &frames{}
		d := newBroker(t, out)
		d.Handle(core.Request{Conn: 2, Seq: 0, Header: h, Body: body, Listener: core.ProtocolPlaintext, Principal: core.PrincipalAnonymous})
		d.Handle(core.Tick{Now: 10e9}) // past any long poll
		d.Handle(core.ConnClosed{Conn: 2})
		for _, fr := range out.out {
			checkResponse(t, h, fr)
		}
	})
}

func newBroker(t *testing.T, out *frames) *driver.Driver {
	cfg := core.DefaultConfig()
	cfg.Seed = 1
	cfg.PartitionsMax = 64 // keeps each input's work small; the limit itself is under test
	fs := memfs.New()
	coord, err := kio.OpenFileCoordinator(fs, "/data")
	if err != nil {
		t.Fatal(err)
	}
	d, err := driver.Open(cfg, fs, "/data", coord, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Handle(core.Tick{Now: 1e9})
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.SetVersion(5)
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "t", NumPartitions: 1, ReplicationFactor: 1}}
	d.Handle(core.Request{Conn: 1, Seq: 0, Header: core.RequestHeader{Key: 19, Version: 5}, Body: ct, Listener: core.ProtocolPlaintext, Principal: core.PrincipalAnonymous})
	out.out = out.out[:0]
	return d
}

// checkResponse decodes a response frame at the request's key and version
// (v0 for an ApiVersions refusal): it must parse without error and carry
// the request's correlation id.
func checkResponse(t *testing.T, h core.RequestHeader, frame []byte) {
	if len(frame) < 8 || int(binary.BigEndian.Uint32(frame)) != len(frame)-4 {
		t.Fatalf("response frame length prefix %d; want %d", binary.BigEndian.Uint32(frame), len(frame)-4)
	}
	if corr := int32(binary.BigEndian.Uint32(frame[4:])); corr != h.CorrelationID {
		t.Fatalf("correlation id %d; want %d", corr, h.CorrelationID)
	}
	req := kmsg.RequestForKey(h.Key)
	resp := req.ResponseKind()
	version := h.Version
	if h.Key == 18 && h.Version > 3 {
		version = 0
	}
	resp.SetVersion(version)
	body := frame[8:]
	if resp.IsFlexible() && h.Key != 18 {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("response to key %d v%d does not decode: %v", h.Key, version, err)
	}
}

package realio

// Protocol conformance: every advertised (API key, version) gets a subtest
// named like "Produce/v9" that sends meaningful requests at exactly that
// version over a raw connection and checks what the handler's Behavior
// comment (core/api_*.go) promises.

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// versionCase is the test of one API key and the versions it covers.
type versionCase struct {
	min, max int16
	run      func(t *testing.T, v int16)
}

// versionCases must cover every advertised (key, version): TestAPIVersions
// fails for an advertised key or version missing here.
var versionCases = map[int16]versionCase{
	0:  {0, 11, testProduce},
	1:  {0, 16, testFetch},
	2:  {0, 9, testListOffsets},
	3:  {0, 12, testMetadata},
	4:  {7, 7, testLeaderAndIsr},
	5:  {4, 4, testStopReplica},
	6:  {8, 8, testUpdateMetadata},
	7:  {2, 3, testControlledShutdown},
	18: {0, 3, testApiVersions},
	19: {2, 7, testCreateTopics},
	20: {1, 6, testDeleteTopics},
	22: {0, 4, testInitProducerID},
	32: {1, 4, testDescribeConfigs},
	37: {0, 3, testCreatePartitions},
}

func TestAPIVersions(t *testing.T) {
	for _, k := range core.SupportedAPIs() {
		name := kmsg.NameForKey(k.ApiKey)
		vc, ok := versionCases[k.ApiKey]
		if !ok {
			t.Errorf("%s (key %d) v%d-%d: advertised but no test covers it", name, k.ApiKey, k.MinVersion, k.MaxVersion)
			continue
		}
		if k.MinVersion < vc.min || k.MaxVersion > vc.max {
			t.Errorf("%s (key %d): advertised v%d-%d; tests cover only v%d-%d", name, k.ApiKey, k.MinVersion, k.MaxVersion, vc.min, vc.max)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for v := k.MinVersion; v <= k.MaxVersion; v++ {
				t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) { vc.run(t, v) })
			}
		})
	}
}

// ---- ApiVersions (18) ----

func checkAPIKeys(t *testing.T, what string, got []kmsg.ApiVersionsResponseApiKey) {
	t.Helper()
	type triple struct{ key, min, max int16 }
	var g, w []triple
	for _, k := range got {
		g = append(g, triple{k.ApiKey, k.MinVersion, k.MaxVersion})
	}
	for _, k := range core.SupportedAPIs() {
		w = append(w, triple{k.ApiKey, k.MinVersion, k.MaxVersion})
	}
	if !slices.Equal(g, w) {
		t.Errorf("%s api keys: got %v; want %v", what, g, w)
	}
}

func testApiVersions(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "conformance-test", "1.2.3"
	resp := call[*kmsg.ApiVersionsResponse](t, c, v, req)
	checkCode(t, "ApiVersions", resp.ErrorCode, 0)
	checkAPIKeys(t, "ApiVersions", resp.ApiKeys)
	if v >= 1 && resp.ThrottleMillis != 0 {
		t.Errorf("ThrottleMillis: got %d; want 0", resp.ThrottleMillis)
	}
	if v < 3 {
		return
	}
	for _, sw := range [][2]string{{"-bad name!", "1.0"}, {"", "1.0"}, {"client", "1.0-"}, {"client", "1 0"}} {
		bad := kmsg.NewPtrApiVersionsRequest()
		bad.ClientSoftwareName, bad.ClientSoftwareVersion = sw[0], sw[1]
		resp := call[*kmsg.ApiVersionsResponse](t, c, v, bad)
		checkCode(t, fmt.Sprintf("ApiVersions with software %q %q", sw[0], sw[1]), resp.ErrorCode, kerr.InvalidRequest.Code)
	}
	// The connection still serves after an INVALID_REQUEST answer.
	resp = call[*kmsg.ApiVersionsResponse](t, c, v, req)
	checkCode(t, "ApiVersions after INVALID_REQUEST", resp.ErrorCode, 0)
}

// TestApiVersionsAboveMax: a version newer than the broker knows is
// answered in the v0 format (header and body) with UNSUPPORTED_VERSION and
// the key list, and the connection stays usable.
func TestApiVersionsAboveMax(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	for _, v := range []int16{4, 5, 127} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.ClientSoftwareName, req.ClientSoftwareVersion = "conformance-test", "1.0"
		req.SetVersion(v)
		corr, err := c.send(req)
		if err != nil {
			t.Fatal(err)
		}
		frame, err := c.readFrame(fmt.Sprintf("ApiVersions v%d", v))
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.SetVersion(0)
		if err := decodeResponse(frame, corr, resp, fmt.Sprintf("ApiVersions v%d read as v0", v)); err != nil {
			t.Fatal(err)
		}
		checkCode(t, fmt.Sprintf("ApiVersions v%d", v), resp.ErrorCode, kerr.UnsupportedVersion.Code)
		checkAPIKeys(t, fmt.Sprintf("ApiVersions v%d", v), resp.ApiKeys)
		if enc := resp.AppendTo(nil); !bytes.Equal(enc, frame[4:]) {
			t.Errorf("ApiVersions v%d body: got %x; want exactly the v0 encoding %x", v, frame[4:], enc)
		}
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "conformance-test", "1.0"
	resp := call[*kmsg.ApiVersionsResponse](t, c, 3, req)
	checkCode(t, "ApiVersions v3 after the downgrade", resp.ErrorCode, 0)
}

// TestKafkaPythonProbe: kafka-python sends ApiVersions v0 and, without
// waiting, Metadata v0 on one connection; both are answered, in order.
func TestKafkaPythonProbe(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(0)
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(0)
	md.Topics = []kmsg.MetadataRequestTopic{}
	frames := append(appendFrame(nil, 7, av), appendFrame(nil, 8, md)...)
	if _, err := c.nc.Write(frames); err != nil {
		t.Fatalf("writing the pipelined probe: %v", err)
	}
	avResp, err := c.recv(av, 7)
	if err != nil {
		t.Fatal(err)
	}
	checkCode(t, "ApiVersions v0", avResp.(*kmsg.ApiVersionsResponse).ErrorCode, 0)
	checkAPIKeys(t, "ApiVersions v0", avResp.(*kmsg.ApiVersionsResponse).ApiKeys)
	mdResp, err := c.recv(md, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got := mdResp.(*kmsg.MetadataResponse).Brokers; len(got) != 1 || got[0].Port != b.port {
		t.Errorf("Metadata v0 brokers: got %+v; want one broker on port %d", got, b.port)
	}
}

// ---- Metadata (3) ----

func metadataReq(v int16, allowAuto bool, names ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = allowAuto
	if names != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, n := range names {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, mt)
	}
	return req
}

// allTopics lists every topic name via Metadata at version v.
func allTopics(t *testing.T, c *client, v int16) []string {
	t.Helper()
	req := metadataReq(v, false)
	if v == 0 {
		req.Topics = []kmsg.MetadataRequestTopic{} // v0: an empty list asks for all
	}
	resp := call[*kmsg.MetadataResponse](t, c, v, req)
	var names []string
	for _, rt := range resp.Topics {
		checkCode(t, "all-topics Metadata entry", rt.ErrorCode, 0)
		names = append(names, *rt.Topic)
	}
	return names
}

func checkMetadataTopic(t *testing.T, v int16, rt kmsg.MetadataResponseTopic, name string, parts int, id [16]byte) {
	t.Helper()
	if rt.Topic == nil || *rt.Topic != name {
		t.Errorf("Metadata topic name: got %v; want %q", rt.Topic, name)
	}
	if !checkCode(t, "Metadata topic "+name, rt.ErrorCode, 0) {
		return
	}
	if len(rt.Partitions) != parts {
		t.Errorf("Metadata %s partitions: got %d; want %d", name, len(rt.Partitions), parts)
	}
	for i, p := range rt.Partitions {
		if p.Partition != int32(i) || p.Leader != 0 || p.ErrorCode != 0 ||
			!slices.Equal(p.Replicas, []int32{0}) || !slices.Equal(p.ISR, []int32{0}) {
			t.Errorf("Metadata %s partition %d: got %+v; want partition %d, leader 0, replicas [0], ISR [0], no error", name, i, p, i)
		}
	}
	if v >= 10 && id != ([16]byte{}) && rt.TopicID != id {
		t.Errorf("Metadata %s topic id: got %x; want %x", name, rt.TopicID, id)
	}
}

func testMetadata(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"num.partitions": "2"})
	c := b.dial(t)
	id := createTopic(t, c, "meta", 3, nil)

	resp := call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, false, "meta"))
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 0 || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != b.port {
		t.Errorf("Metadata brokers: got %+v; want one broker 0 at 127.0.0.1:%d", resp.Brokers, b.port)
	}
	if v >= 1 && resp.ControllerID != 0 {
		t.Errorf("ControllerID: got %d; want 0", resp.ControllerID)
	}
	if v >= 2 && (resp.ClusterID == nil || *resp.ClusterID == "") {
		t.Errorf("ClusterID: got %v; want a non-empty id", resp.ClusterID)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("Metadata for meta: got %d topics; want 1", len(resp.Topics))
	}
	checkMetadataTopic(t, v, resp.Topics[0], "meta", 3, id)
	if v >= 10 {
		if id == ([16]byte{}) {
			t.Errorf("topic id: got all zeros; want a non-zero id")
		}
		again := call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, false, "meta"))
		if len(again.Topics) != 1 || again.Topics[0].TopicID != resp.Topics[0].TopicID {
			t.Errorf("topic id across calls: got %+v; want %x again", again.Topics, resp.Topics[0].TopicID)
		}
	}
	if v >= 1 { // an empty, non-null list asks for no topics
		none := call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, false, []string{}...))
		if len(none.Topics) != 0 {
			t.Errorf("Metadata with an empty topic list: got %d topics; want 0", len(none.Topics))
		}
	}
	if got := allTopics(t, c, v); !slices.Equal(got, []string{"meta"}) {
		t.Errorf("all topics: got %v; want [meta]", got)
	}
	if v >= 12 {
		byID := kmsg.NewPtrMetadataRequest()
		for _, tid := range [][16]byte{id, randomID(t)} {
			mt := kmsg.NewMetadataRequestTopic()
			mt.TopicID = tid
			byID.Topics = append(byID.Topics, mt)
		}
		r := call[*kmsg.MetadataResponse](t, c, v, byID)
		if len(r.Topics) != 2 {
			t.Fatalf("Metadata by id: got %d topics; want 2", len(r.Topics))
		}
		checkMetadataTopic(t, v, r.Topics[0], "meta", 3, id)
		checkCode(t, "Metadata for a random topic id", r.Topics[1].ErrorCode, kerr.UnknownTopicID.Code)
	}

	if v >= 4 { // below, asking for an unknown topic creates it
		testMetadataOperations(t, c, v)
	}

	// Auto-creation: always requested below v4; v4+ says per request.
	if v >= 4 {
		r := call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, false, "auto-off"))
		if len(r.Topics) != 1 {
			t.Fatalf("Metadata auto-off: got %d topics; want 1", len(r.Topics))
		}
		checkCode(t, "Metadata auto-off with AllowAutoTopicCreation=false", r.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
		if got := allTopics(t, c, v); slices.Contains(got, "auto-off") {
			t.Errorf("all topics after AllowAutoTopicCreation=false: got %v; want no auto-off", got)
		}
	}
	// As Kafka's, the answer that creates a topic says LEADER_NOT_AVAILABLE;
	// the controller elects its leaders, and asking again finds them.
	r := call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, true, "auto-on", "bad name!"))
	if len(r.Topics) != 2 {
		t.Fatalf("Metadata auto-on: got %d topics; want 2", len(r.Topics))
	}
	checkCode(t, "Metadata creating auto-on", r.Topics[0].ErrorCode, kerr.LeaderNotAvailable.Code)
	checkCode(t, "Metadata for the illegal name \"bad name!\"", r.Topics[1].ErrorCode, kerr.InvalidTopicException.Code)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r = call[*kmsg.MetadataResponse](t, c, v, metadataReq(v, true, "auto-on", "bad name!"))
		if r.Topics[0].ErrorCode == 0 || time.Now().After(deadline) {
			break
		}
	}
	checkMetadataTopic(t, v, r.Topics[0], "auto-on", 2, [16]byte{})
	if v >= 10 && r.Topics[0].TopicID == ([16]byte{}) {
		t.Errorf("auto-created topic id: got zeros; want a non-zero id")
	}
	checkCode(t, "Metadata for the illegal name \"bad name!\"", r.Topics[1].ErrorCode, kerr.InvalidTopicException.Code)
	if got := allTopics(t, c, v); !slices.Equal(got, []string{"auto-on", "meta"}) {
		t.Errorf("all topics after auto-creation: got %v; want [auto-on meta]", got)
	}

	// With auto.create.topics.enable=false nothing is created, whatever
	// the request says.
	off := startBroker(t, map[string]string{"auto.create.topics.enable": "false"})
	oc := off.dial(t)
	r = call[*kmsg.MetadataResponse](t, oc, v, metadataReq(v, true, "never"))
	if len(r.Topics) != 1 {
		t.Fatalf("Metadata never: got %d topics; want 1", len(r.Topics))
	}
	checkCode(t, "Metadata with auto.create.topics.enable=false", r.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	if got := allTopics(t, oc, v); len(got) != 0 {
		t.Errorf("all topics with auto-creation disabled: got %v; want none", got)
	}
}

// testMetadataOperations: the authorized-operations fields (v8+) as
// Kafka fills them without an authorizer: every operation a topic
// supports (Read, Write, Create, Delete, Alter, Describe,
// DescribeConfigs, AlterConfigs: bits 3-8, 10, 11), for a known topic
// and an unknown one alike, and the cluster's (Create, Alter, Describe,
// ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite: bits
// 5, 7-12) through v10; -2147483648 when not asked for.
func testMetadataOperations(t *testing.T, c *client, v int16) {
	const topicOps, clusterOps, omitted = 3576, 8096, -2147483648
	for _, ask := range []bool{false, true} {
		req := metadataReq(v, false, "meta", "unknown-ops")
		req.IncludeTopicAuthorizedOperations, req.IncludeClusterAuthorizedOperations = ask, ask
		r := call[*kmsg.MetadataResponse](t, c, v, req)
		wantTopic, wantCluster := int32(omitted), int32(omitted)
		if ask && v >= 8 {
			wantTopic = topicOps
			if v <= 10 {
				wantCluster = clusterOps
			}
		}
		if len(r.Topics) != 2 {
			t.Fatalf("Metadata meta, unknown-ops: got %d topics; want 2", len(r.Topics))
		}
		checkCode(t, "Metadata unknown-ops", r.Topics[1].ErrorCode, kerr.UnknownTopicOrPartition.Code)
		for _, rt := range r.Topics {
			if v >= 8 && rt.AuthorizedOperations != wantTopic {
				t.Errorf("Metadata v%d %s AuthorizedOperations (asked: %v): got %d; want %d", v, *rt.Topic, ask, rt.AuthorizedOperations, wantTopic)
			}
		}
		if v >= 8 && v <= 10 && r.AuthorizedOperations != wantCluster {
			t.Errorf("Metadata v%d cluster AuthorizedOperations (asked: %v): got %d; want %d", v, ask, r.AuthorizedOperations, wantCluster)
		}
	}
}

func randomID(t *testing.T) [16]byte {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	return id
}

// ---- Produce (0) ----

func testProduce(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "p", 1, nil)
	if v < 3 {
		testProduceLegacy(t, c, v)
		return
	}
	testProduceOffsets(t, b, c, v)
	testProduceAcks(t, b, c, v)
	testProduceLogAppendTime(t, c, v)
	testProduceIdempotent(t, c, v)
}

func testProduceOffsets(t *testing.T, b *testBroker, c *client, v int16) {
	next := int64(0)
	for i, n := range []int{3, 2, 1} {
		rp := producePart(t, c, v, "p", 0, plainBatch(fmt.Sprintf("b%d", i), n).bytes())
		checkCode(t, fmt.Sprintf("produce batch %d", i), rp.ErrorCode, 0)
		if rp.BaseOffset != next {
			t.Errorf("batch %d BaseOffset: got %d; want %d", i, rp.BaseOffset, next)
		}
		if rp.LogAppendTime != -1 {
			t.Errorf("batch %d LogAppendTime on a CreateTime topic: got %d; want -1", i, rp.LogAppendTime)
		}
		if v >= 5 && rp.LogStartOffset != 0 {
			t.Errorf("batch %d LogStartOffset: got %d; want 0", i, rp.LogStartOffset)
		}
		next += int64(n)
	}
	// acks=1 is answered like acks=-1 with one replica.
	resp := call[*kmsg.ProduceResponse](t, c, v, produceReq(1, "p", 0, plainBatch("acks1", 1).bytes()))
	if rp := resp.Topics[0].Partitions[0]; rp.ErrorCode != 0 || rp.BaseOffset != next {
		t.Errorf("acks=1 produce: got %s at %d; want 0 at %d", errName(rp.ErrorCode), rp.BaseOffset, next)
	}
	rp := producePart(t, c, v, "nope", 0, plainBatch("x", 1).bytes())
	checkCode(t, "produce to an unknown topic", rp.ErrorCode, kerr.UnknownTopicOrPartition.Code)
	rp = producePart(t, c, v, "p", 7, plainBatch("x", 1).bytes())
	checkCode(t, "produce to an unknown partition", rp.ErrorCode, kerr.UnknownTopicOrPartition.Code)
	if _, hwm := offsets(t, c, "p", 0); hwm != next+1 {
		t.Errorf("high watermark: got %d; want %d", hwm, next+1)
	}
}

func testProduceAcks(t *testing.T, b *testBroker, c *client, v int16) {
	_, before := offsets(t, c, "p", 0)
	// acks=0: no response. The next request on the connection is answered
	// first (its correlation id), and sees the acks=0 batch.
	req := produceReq(0, "p", 0, plainBatch("acks0", 4).bytes())
	req.SetVersion(v)
	if _, err := c.send(req); err != nil {
		t.Fatal(err)
	}
	if _, hwm := offsets(t, c, "p", 0); hwm != before+4 {
		t.Errorf("high watermark after an acks=0 produce of 4 records: got %d; want %d", hwm, before+4)
	}
	// acks=2 is not a valid setting.
	resp := call[*kmsg.ProduceResponse](t, c, v, produceReq(2, "p", 0, plainBatch("acks2", 1).bytes()))
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("acks=2 response: got %+v; want one partition", resp.Topics)
	}
	checkCode(t, "acks=2 produce", resp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidRequiredAcks.Code)
	if _, hwm := offsets(t, c, "p", 0); hwm != before+4 {
		t.Errorf("high watermark after acks=2: got %d; want %d", hwm, before+4)
	}
	// A failed acks=0 produce closes the connection so the producer notices.
	c2 := b.dial(t)
	bad := produceReq(0, "p", 9, plainBatch("lost", 1).bytes())
	bad.SetVersion(v)
	if _, err := c2.send(bad); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c2)
}

func testProduceLogAppendTime(t *testing.T, c *client, v int16) {
	createTopic(t, c, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	spec := plainBatch("lat", 3).at(1000)
	sent := spec.bytes()
	before := time.Now().UnixMilli()
	rp := producePart(t, c, v, "lat", 0, sent)
	after := time.Now().UnixMilli()
	checkCode(t, "LogAppendTime produce", rp.ErrorCode, 0)
	if rp.LogAppendTime < before-1000 || rp.LogAppendTime > after+1000 {
		t.Errorf("LogAppendTime: got %d; want the broker's clock, within 1s of [%d, %d]", rp.LogAppendTime, before, after)
	}
	fp := fetchPart(t, c, 11, "lat", [16]byte{}, 0, 0)
	got := splitBatches(t, fp.RecordBatches)
	if len(got) != 1 {
		t.Fatalf("fetched LogAppendTime batches: got %d; want 1", len(got))
	}
	g := got[0]
	if attrs := binary.BigEndian.Uint16(g[21:]); attrs&0x08 == 0 {
		t.Errorf("fetched attributes: got %#x; want the LogAppendTime bit 0x08 set", attrs)
	}
	if maxTS := int64(binary.BigEndian.Uint64(g[35:])); maxTS != rp.LogAppendTime {
		t.Errorf("fetched MaxTimestamp: got %d; want the LogAppendTime %d", maxTS, rp.LogAppendTime)
	}
	if first := int64(binary.BigEndian.Uint64(g[27:])); first != 1000 {
		t.Errorf("fetched FirstTimestamp: got %d; want 1000 (unchanged)", first)
	}
	if crc := crc32.Checksum(g[21:], castagnoli); crc != binary.BigEndian.Uint32(g[17:]) {
		t.Errorf("fetched CRC: got %#x stored; want %#x computed", binary.BigEndian.Uint32(g[17:]), crc)
	}
	if !bytes.Equal(g[61:], sent[61:]) || !bytes.Equal(g[43:61], sent[43:61]) {
		t.Errorf("fetched LogAppendTime batch: records or producer fields changed")
	}
}

func testProduceIdempotent(t *testing.T, c *client, v int16) {
	createTopic(t, c, "idem", 1, nil)
	pid := initProducerID(t, c)
	s1 := plainBatch("i1", 3).idem(pid, 0, 2).bytes()
	steps := []struct {
		what  string
		batch []byte
		code  int16
		base  int64
	}{
		{"seq 0", plainBatch("i0", 2).idem(pid, 0, 0).bytes(), 0, 0},
		{"seq 2", s1, 0, 2},
		{"seq 5", plainBatch("i2", 1).idem(pid, 0, 5).bytes(), 0, 5},
		{"retry of seq 2", s1, 0, 2},
		{"gap to seq 7", plainBatch("gap", 1).idem(pid, 0, 7).bytes(), kerr.OutOfOrderSequenceNumber.Code, -1},
		{"epoch 1 seq 0", plainBatch("e1", 1).idem(pid, 1, 0).bytes(), 0, 6},
		{"older epoch 0 seq 6", plainBatch("e0", 1).idem(pid, 0, 6).bytes(), kerr.InvalidProducerEpoch.Code, -1},
		{"epoch 1 seq 1", plainBatch("e1b", 1).idem(pid, 1, 1).bytes(), 0, 7},
		{"new epoch 2 not starting at seq 0", plainBatch("e2", 1).idem(pid, 2, 2).bytes(), kerr.OutOfOrderSequenceNumber.Code, -1},
	}
	for _, s := range steps {
		rp := producePart(t, c, v, "idem", 0, s.batch)
		if checkCode(t, s.what, rp.ErrorCode, s.code) && s.code == 0 && rp.BaseOffset != s.base {
			t.Errorf("%s BaseOffset: got %d; want %d", s.what, rp.BaseOffset, s.base)
		}
		if s.code != 0 && v >= 8 && rp.ErrorMessage == nil {
			t.Errorf("%s ErrorMessage (v8+): got null; want a message", s.what)
		}
	}
	fp := fetchPart(t, c, 11, "idem", [16]byte{}, 0, 0)
	var bases []int64
	for _, g := range splitBatches(t, fp.RecordBatches) {
		bases = append(bases, int64(binary.BigEndian.Uint64(g)))
	}
	if want := []int64{0, 2, 5, 6, 7}; !slices.Equal(bases, want) || fp.HighWatermark != 8 {
		t.Errorf("stored idempotent batches: got bases %v, high watermark %d; want %v, 8 (the retry stored once)", bases, fp.HighWatermark, want)
	}
}

// ---- Fetch (1) ----

func fetchMulti(topic string, id [16]byte, parts []int32, offset int64, partMax int32) *kmsg.FetchRequest {
	req := fetchReq(topic, id, parts[0], offset)
	req.Topics[0].Partitions[0].PartitionMaxBytes = partMax
	for _, p := range parts[1:] {
		fp := req.Topics[0].Partitions[0]
		fp.Partition = p
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, fp)
	}
	return req
}

func testFetch(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	if v < 4 {
		testFetchLegacy(t, c, v)
		return
	}
	id := createTopic(t, c, "f", 3, nil)
	md, _ := metadataTopic(t, c, "f")
	epoch := md.Partitions[0].LeaderEpoch
	var sent [][]byte
	var bases []int64
	for i, n := range []int{3, 2, 4} {
		raw := plainBatch(fmt.Sprintf("f%d", i), n).sized(100).bytes()
		sent = append(sent, raw)
		bases = append(bases, mustProduce(t, c, 9, "f", 0, raw))
	}
	const hwm = 9

	rp := fetchPart(t, c, v, "f", id, 0, 0)
	checkCode(t, "fetch f/0", rp.ErrorCode, 0)
	if rp.HighWatermark != hwm || rp.LastStableOffset != hwm || (v >= 5 && rp.LogStartOffset != 0) {
		t.Errorf("fetch offsets: got HighWatermark %d, LastStableOffset %d, LogStartOffset %d; want %d, %d, 0", rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset, hwm, hwm)
	}
	got := splitBatches(t, rp.RecordBatches)
	if len(got) != len(sent) {
		t.Fatalf("fetched batches: got %d; want %d", len(got), len(sent))
	}
	for i := range got {
		sameBatch(t, fmt.Sprintf("fetched batch %d", i), got[i], sent[i], bases[i], epoch)
	}
	// read_committed reads the same: without transactions the last stable
	// offset is the high watermark.
	rc := fetchReq("f", id, 0, 0)
	rc.IsolationLevel = 1
	if rcp := call[*kmsg.FetchResponse](t, c, v, rc).Topics[0].Partitions[0]; !bytes.Equal(rcp.RecordBatches, rp.RecordBatches) || rcp.LastStableOffset != hwm {
		t.Errorf("read_committed fetch: got %d bytes, LastStableOffset %d; want the %d read_uncommitted bytes, %d", len(rcp.RecordBatches), rcp.LastStableOffset, len(rp.RecordBatches), hwm)
	}
	// An offset inside a batch returns that whole batch first.
	if mid := splitBatches(t, fetchPart(t, c, v, "f", id, 0, 4).RecordBatches); len(mid) == 0 || !bytes.Equal(mid[0], got[1]) {
		t.Errorf("fetch from offset 4: got %d batches; want the batch at 3 first", len(mid))
	}
	if atEnd := fetchPart(t, c, v, "f", id, 0, hwm); atEnd.ErrorCode != 0 || len(atEnd.RecordBatches) != 0 {
		t.Errorf("fetch at the high watermark: got %s with %d bytes; want 0 with none", errName(atEnd.ErrorCode), len(atEnd.RecordBatches))
	}
	checkCode(t, "fetch beyond the end", fetchPart(t, c, v, "f", id, 0, hwm+1).ErrorCode, kerr.OffsetOutOfRange.Code)
	checkCode(t, "fetch of an unknown partition", fetchPart(t, c, v, "f", id, 5, 0).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	if v >= 13 {
		resp := call[*kmsg.FetchResponse](t, c, v, fetchReq("", id, 0, 0))
		if len(resp.Topics) != 1 || resp.Topics[0].TopicID != id {
			t.Errorf("fetch by id: got topics %+v; want topic id %x", resp.Topics, id)
		}
		checkCode(t, "fetch of a random topic id", fetchPart(t, c, v, "", randomID(t), 0, 0).ErrorCode, kerr.UnknownTopicID.Code)
	} else {
		checkCode(t, "fetch of an unknown topic", fetchPart(t, c, v, "nope", [16]byte{}, 0, 0).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	}
	if v >= 9 {
		req := fetchReq("f", id, 0, 0)
		req.Topics[0].Partitions[0].CurrentLeaderEpoch = epoch + 5
		resp := call[*kmsg.FetchResponse](t, c, v, req)
		checkCode(t, "fetch with a future CurrentLeaderEpoch", resp.Topics[0].Partitions[0].ErrorCode, kerr.UnknownLeaderEpoch.Code)
	}
	testFetchLimits(t, c, v, id, sent)
	testFetchSessions(t, c, v, id)
	testFetchLongPoll(t, b, c, v, id)
}

func testFetchLimits(t *testing.T, c *client, v int16, id [16]byte, sent [][]byte) {
	b1 := plainBatch("p1", 2).sized(100).bytes()
	mustProduce(t, c, 9, "f", 1, b1)
	// PartitionMaxBytes smaller than a batch: the first partition still
	// returns its first whole batch, and only that one.
	resp := call[*kmsg.FetchResponse](t, c, v, fetchMulti("f", id, []int32{0}, 0, 10))
	if got := splitBatches(t, resp.Topics[0].Partitions[0].RecordBatches); len(got) != 1 || len(got[0]) != len(sent[0]) {
		t.Errorf("fetch with PartitionMaxBytes 10: got %d batches; want exactly the first, whole (%d bytes)", len(got), len(sent[0]))
	}
	// A later partition gets nothing when its PartitionMaxBytes is below
	// its first batch and an earlier partition already returned data.
	resp = call[*kmsg.FetchResponse](t, c, v, fetchMulti("f", id, []int32{0, 1}, 0, 10))
	if ps := resp.Topics[0].Partitions; len(ps) != 2 {
		t.Errorf("fetch of partitions 0 and 1: got %d partitions; want 2", len(ps))
	} else {
		if !(len(splitBatches(t, ps[0].RecordBatches)) == 1 && len(ps[1].RecordBatches) == 0) {
			t.Errorf("fetch of partitions 0 and 1 with PartitionMaxBytes 10: got %d and %d bytes; want one whole batch of partition 0 (%d bytes) and none of partition 1",
				len(ps[0].RecordBatches), len(ps[1].RecordBatches), len(sent[0]))
		}
	}
	// The response MaxBytes stops later batches and partitions. As in
	// Kafka, the record set is cut at the limit: two whole batches, then
	// the first 10 bytes of the third, which clients drop.
	req := fetchMulti("f", id, []int32{0, 1}, 0, 1<<20)
	req.MaxBytes = int32(len(sent[0]) + len(sent[1]) + 10)
	resp = call[*kmsg.FetchResponse](t, c, v, req)
	ps := resp.Topics[0].Partitions
	if len(ps) != 2 || len(ps[0].RecordBatches) != int(req.MaxBytes) || len(splitBatches(t, ps[0].RecordBatches[:len(sent[0])+len(sent[1])])) != 2 || len(ps[1].RecordBatches) != 0 {
		t.Errorf("fetch with MaxBytes %d: got %d and %d bytes; want two batches and 10 bytes of the third of partition 0 and none of partition 1", req.MaxBytes, len(ps[0].RecordBatches), len(ps[len(ps)-1].RecordBatches))
	}
	// A response limit below the first batch still returns that batch.
	req.MaxBytes = 1
	resp = call[*kmsg.FetchResponse](t, c, v, req)
	if ps := resp.Topics[0].Partitions; len(ps) != 2 || len(splitBatches(t, ps[0].RecordBatches)) != 1 || len(ps[1].RecordBatches) != 0 {
		t.Errorf("fetch with MaxBytes 1: got %d and %d bytes; want one batch of partition 0 and none of partition 1", len(ps[0].RecordBatches), len(ps[len(ps)-1].RecordBatches))
	}
}

func testFetchSessions(t *testing.T, c *client, v int16, id [16]byte) {
	if v < 7 {
		return // sessions arrived in v7
	}
	// Epochs 0 and -1 are full fetches whatever the SessionID, as in
	// Kafka: -1 opens no session, 0 opens one, which the next epoch
	// continues; any other epoch names a session that must exist.
	for _, s := range []struct{ id, epoch int32 }{{0, -1}, {-1, -1}, {12345, -1}, {0, 0}, {12345, 0}} {
		req := fetchReq("f", id, 0, 0)
		req.SessionID, req.SessionEpoch = s.id, s.epoch
		resp := call[*kmsg.FetchResponse](t, c, v, req)
		what := fmt.Sprintf("full fetch, SessionID %d epoch %d", s.id, s.epoch)
		checkCode(t, what, resp.ErrorCode, 0)
		if (resp.SessionID != 0) != (s.epoch == 0) || len(resp.Topics) != 1 {
			t.Errorf("%s: got SessionID %d and %d topics; want a session only at epoch 0, and 1 topic", what, resp.SessionID, len(resp.Topics))
		}
		if s.epoch != 0 || resp.SessionID == 0 {
			continue
		}
		req = fetchReq("f", id, 0, 0)
		req.SessionID, req.SessionEpoch = resp.SessionID, 1
		checkCode(t, what+", then epoch 1", call[*kmsg.FetchResponse](t, c, v, req).ErrorCode, 0)
	}
	for _, s := range []struct{ id, epoch int32 }{{12345, 1}, {0, 1}} {
		req := fetchReq("f", id, 0, 0)
		req.SessionID, req.SessionEpoch = s.id, s.epoch
		resp := call[*kmsg.FetchResponse](t, c, v, req)
		checkCode(t, fmt.Sprintf("incremental fetch, SessionID %d epoch %d", s.id, s.epoch), resp.ErrorCode, kerr.FetchSessionIDNotFound.Code)
	}
}

func testFetchLongPoll(t *testing.T, b *testBroker, c *client, v int16, id [16]byte) {
	// Partition 2 is empty: MinBytes 1 waits MaxWaitMillis and returns none.
	const waitMs = 200
	req := fetchReq("f", id, 2, 0)
	req.MaxWaitMillis, req.MinBytes = waitMs, 1
	start := time.Now()
	resp := call[*kmsg.FetchResponse](t, c, v, req)
	elapsed := time.Since(start)
	rp := resp.Topics[0].Partitions[0]
	if rp.ErrorCode != 0 || len(rp.RecordBatches) != 0 {
		t.Errorf("long poll on an empty partition: got %s with %d bytes; want 0 with none", errName(rp.ErrorCode), len(rp.RecordBatches))
	}
	if elapsed < waitMs*time.Millisecond*8/10 || elapsed > 5*time.Second {
		t.Errorf("long poll of MaxWaitMillis %d: got an answer after %v; want about %dms", waitMs, elapsed, waitMs)
	}
	// A produce on another connection ends the wait early.
	req.MaxWaitMillis = 20000
	raw := plainBatch("wake", 1).bytes()
	errc := make(chan error, 1)
	pc := b.dial(t)
	go func() {
		time.Sleep(100 * time.Millisecond)
		resp, err := pc.roundTrip(withVersion(produceReq(-1, "f", 2, raw), 9))
		if err == nil && resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode != 0 {
			err = fmt.Errorf("waking produce: got %s; want 0", errName(resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode))
		}
		errc <- err
	}()
	start = time.Now()
	resp = call[*kmsg.FetchResponse](t, c, v, req)
	elapsed = time.Since(start)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	rp = resp.Topics[0].Partitions[0]
	if got := splitBatches(t, rp.RecordBatches); len(got) != 1 || elapsed > 10*time.Second {
		t.Errorf("long poll woken by a produce: got %d batches after %v; want 1 batch well before MaxWaitMillis 20000", len(got), elapsed)
	}
}

func withVersion[R kmsg.Request](r R, v int16) R { r.SetVersion(v); return r }

// ---- ListOffsets (2) ----

func testListOffsets(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "lo", 1, nil)
	createTopic(t, c, "lo2", 1, nil)
	md, _ := metadataTopic(t, c, "lo")
	epoch := md.Partitions[0].LeaderEpoch
	specs := []batchSpec{plainBatch("a", 3).at(1000), plainBatch("b", 2).at(2000), plainBatch("c", 2).at(3000)}
	var bases []int64
	for _, s := range specs {
		bases = append(bases, mustProduce(t, c, 9, "lo", 0, s.bytes()))
	}
	list := func(topic string, partition int32, ts int64, current int32) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, ts, current
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := call[*kmsg.ListOffsetsResponse](t, c, v, req)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("ListOffsets %s/%d: got %+v; want one partition", topic, partition, resp.Topics)
		}
		return resp.Topics[0].Partitions[0]
	}
	if v == 0 {
		testListOffsetsV0(t, c)
		return
	}
	for _, q := range []struct {
		ts    int64
		off   int64
		batch int // index into specs, -1 for none
	}{
		{-2, 0, -1}, {-1, 7, -1},
		{0, 0, 0}, {1015, 2, 0}, {1020, 2, 0}, {1021, 3, 1}, {1500, 3, 1}, {2005, 4, 1},
		{2011, 5, 2}, {3010, 6, 2}, {3011, -1, -1},
	} {
		what := fmt.Sprintf("ListOffsets timestamp %d", q.ts)
		got := list("lo", 0, q.ts, -1)
		if !checkCode(t, what, got.ErrorCode, 0) {
			continue
		}
		if got.Offset != q.off {
			t.Errorf("%s offset: got %d; want %d", what, got.Offset, q.off)
		}
		switch {
		case q.ts < 0 || q.batch < 0:
			if got.Timestamp != -1 {
				t.Errorf("%s timestamp: got %d; want -1", what, got.Timestamp)
			}
		default:
			s := specs[q.batch]
			if got.Timestamp < max(q.ts, s.firstTS) || got.Timestamp > s.maxTS() {
				t.Errorf("%s timestamp: got %d; want one of batch %d's record timestamps >= %d, in [%d, %d]", what, got.Timestamp, bases[q.batch], q.ts, s.firstTS, s.maxTS())
			}
		}
		if v >= 4 && got.LeaderEpoch != epoch {
			t.Errorf("%s LeaderEpoch: got %d; want %d", what, got.LeaderEpoch, epoch)
		}
	}
	testListOffsetsSpecial(t, v, list, specs[2].maxTS(), epoch)
	if v >= 7 {
		testListOffsetsMaxTime(t, c, v)
	}
	checkCode(t, "ListOffsets of an unknown partition", list("lo", 4, -1, -1).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	checkCode(t, "ListOffsets of an unknown topic", list("nope", 0, -1, -1).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	if v >= 4 {
		checkCode(t, "ListOffsets with the current leader epoch", list("lo", 0, -1, epoch).ErrorCode, 0)
		checkCode(t, "ListOffsets with a future leader epoch", list("lo", 0, -1, epoch+3).ErrorCode, kerr.UnknownLeaderEpoch.Code)
	}
}

// testListOffsetsSpecial checks the special timestamps of v7+ over the
// records testListOffsets wrote (the largest timestamp, maxTS, is the
// last record's, offset 6), and UNSUPPORTED_VERSION below the versions
// that brought them.
func testListOffsetsSpecial(t *testing.T, v int16, list func(string, int32, int64, int32) kmsg.ListOffsetsResponseTopicPartition, maxTS int64, epoch int32) {
	type answer struct {
		code           int16
		off, ts, epoch int64
	}
	for _, q := range []struct {
		ts      int64
		since   int16 // the version that serves it
		want    answer
		comment string
	}{
		{-3, 7, answer{0, 6, maxTS, int64(epoch)}, "max timestamp"},
		{-4, 8, answer{0, 0, -1, int64(epoch)}, "earliest local: the log start"},
		{-5, 9, answer{0, -1, -1, -1}, "latest tiered: none without tiered storage"},
		{-6, 100, answer{}, "not a special timestamp"},
	} {
		got := list("lo", 0, q.ts, -1)
		want := q.want
		if v < q.since {
			want = answer{kerr.UnsupportedVersion.Code, -1, -1, -1}
		}
		g := answer{got.ErrorCode, got.Offset, got.Timestamp, int64(got.LeaderEpoch)}
		if v < 4 {
			g.epoch = want.epoch // no LeaderEpoch field
		}
		if g != want {
			t.Errorf("ListOffsets v%d timestamp %d (%s): got %+v; want %+v", v, q.ts, q.comment, g, want)
		}
	}
	if v >= 7 {
		// Max timestamp of an empty partition and of an unknown one.
		if got := list("lo2", 0, -3, -1); got.ErrorCode != 0 || got.Offset != -1 || got.Timestamp != -1 {
			t.Errorf("ListOffsets -3 of an empty partition: got %s, offset %d, timestamp %d; want 0, -1, -1", errName(got.ErrorCode), got.Offset, got.Timestamp)
		}
		checkCode(t, "ListOffsets -3 of an unknown partition", list("lo", 4, -3, -1).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	}
}

// testListOffsetsMaxTime: the record with the largest timestamp is not
// the last one: an older batch follows it. (Once per version test run,
// with -3 from v7.)
func testListOffsetsMaxTime(t *testing.T, c *client, v int16) {
	createTopic(t, c, "lo3", 1, nil)
	mustProduce(t, c, 9, "lo3", 0, plainBatch("new", 3).at(5000).bytes()) // 0-2, ts 5000..5020
	mustProduce(t, c, 9, "lo3", 0, plainBatch("old", 2).at(1000).bytes()) // 3-4, ts 1000..1010
	mustProduce(t, c, 9, "lo3", 0, plainBatch("eq", 1).at(5020).bytes())  // 5, ts 5020: not the first of equals
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "lo3"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -3
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	got := call[*kmsg.ListOffsetsResponse](t, c, v, req).Topics[0].Partitions[0]
	if got.ErrorCode != 0 || got.Offset != 2 || got.Timestamp != 5020 {
		t.Errorf("ListOffsets v%d -3: got %s, offset %d, timestamp %d; want 0, offset 2, timestamp 5020", v, errName(got.ErrorCode), got.Offset, got.Timestamp)
	}
}

// testListOffsetsV0: v0 answers arrays of offsets, newest first, at
// most MaxNumOffsets of them, over the 7 records testListOffsets wrote.
func testListOffsetsV0(t *testing.T, c *client) {
	list := func(topic string, partition int32, ts int64, maxNum int32) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.MaxNumOffsets = partition, ts, maxNum
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := call[*kmsg.ListOffsetsResponse](t, c, 0, req)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("ListOffsets v0 %s/%d: got %+v; want one partition", topic, partition, resp.Topics)
		}
		return resp.Topics[0].Partitions[0]
	}
	for _, q := range []struct {
		ts     int64
		maxNum int32
		want   []int64
	}{
		{-2, 1, []int64{0}}, {-1, 1, []int64{7}}, {-1, 5, []int64{7, 0}}, {-2, 5, []int64{0}},
		{-1, 0, []int64{}}, {1500, 1, []int64{3}}, {3011, 1, []int64{}},
	} {
		what := fmt.Sprintf("ListOffsets v0 timestamp %d max %d", q.ts, q.maxNum)
		got := list("lo", 0, q.ts, q.maxNum)
		if checkCode(t, what, got.ErrorCode, 0) && fmt.Sprint(got.OldStyleOffsets) != fmt.Sprint(q.want) {
			t.Errorf("%s: got offsets %v; want %v", what, got.OldStyleOffsets, q.want)
		}
	}
	checkCode(t, "ListOffsets v0 timestamp -3", list("lo", 0, -3, 1).ErrorCode, kerr.UnsupportedVersion.Code)
	checkCode(t, "ListOffsets v0 of an unknown partition", list("lo", 4, -1, 1).ErrorCode, kerr.UnknownTopicOrPartition.Code)
}

// ---- CreateTopics (19) ----

func newTopic(name string, parts int32, rf int16, configs ...string) kmsg.CreateTopicsRequestTopic {
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, rf
	for i := 0; i+1 < len(configs); i += 2 {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, cfg)
	}
	return rt
}

func testCreateTopics(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"num.partitions": "4"})
	c := b.dial(t)
	create := func(validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) []kmsg.CreateTopicsResponseTopic {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis, req.ValidateOnly, req.Topics = 10000, validateOnly, topics
		resp := call[*kmsg.CreateTopicsResponse](t, c, v, req)
		if len(resp.Topics) != len(topics) {
			t.Fatalf("CreateTopics: got %d topics; want %d", len(resp.Topics), len(topics))
		}
		for i := range topics {
			if resp.Topics[i].Topic != topics[i].Topic {
				t.Errorf("CreateTopics answer %d: got topic %q; want %q", i, resp.Topics[i].Topic, topics[i].Topic)
			}
		}
		return resp.Topics
	}
	exists := func(name string, parts int) {
		t.Helper()
		rt, ok := metadataTopic(t, c, name)
		switch {
		case parts == 0 && ok:
			t.Errorf("topic %s: got it in metadata; want it absent", name)
		case parts > 0 && !ok:
			t.Errorf("topic %s: got UNKNOWN_TOPIC_OR_PARTITION; want it created", name)
		case parts > 0 && len(rt.Partitions) != parts:
			t.Errorf("topic %s partitions: got %d; want %d", name, len(rt.Partitions), parts)
		}
	}

	got := create(false, newTopic("ct", 2, 1, "retention.ms", "1000"))[0]
	checkCode(t, "create ct", got.ErrorCode, 0)
	exists("ct", 2)
	if v >= 5 {
		if got.NumPartitions != 2 || got.ReplicationFactor != 1 {
			t.Errorf("create ct v5+: got NumPartitions %d, ReplicationFactor %d; want 2, 1", got.NumPartitions, got.ReplicationFactor)
		}
		checkCreatedConfig(t, got.Configs, "retention.ms", "1000", 1)
		checkCreatedConfig(t, got.Configs, "cleanup.policy", "delete", 5)
	}
	if v >= 7 {
		rt, _ := metadataTopic(t, c, "ct")
		if got.TopicID == ([16]byte{}) || got.TopicID != rt.TopicID {
			t.Errorf("create ct v7 TopicID: got %x; want non-zero, equal to Metadata's %x", got.TopicID, rt.TopicID)
		}
	}
	dup := create(false, newTopic("ct", 1, 1))[0]
	checkCode(t, "create ct again", dup.ErrorCode, kerr.TopicAlreadyExists.Code)
	if dup.ErrorMessage == nil {
		t.Errorf("create ct again ErrorMessage: got null; want a message")
	}

	val := create(true, newTopic("ct-val", 3, 1))[0]
	checkCode(t, "validate-only create", val.ErrorCode, 0)
	if v >= 5 && val.NumPartitions != 3 {
		t.Errorf("validate-only NumPartitions: got %d; want 3", val.NumPartitions)
	}
	exists("ct-val", 0)

	for _, bad := range []struct {
		what string
		rt   kmsg.CreateTopicsRequestTopic
		code int16
	}{
		{"retention.ms=abc", newTopic("ct-cfg", 1, 1, "retention.ms", "abc"), kerr.InvalidConfig.Code},
		{"an unknown config", newTopic("ct-cfg2", 1, 1, "no.such.config", "1"), kerr.InvalidConfig.Code},
		{"replication factor 3", newTopic("ct-rf", 1, 3), kerr.InvalidReplicationFactor.Code},
		{"0 partitions", newTopic("ct-zero", 0, 1), kerr.InvalidPartitions.Code},
		{"an illegal name", newTopic("bad/name", 1, 1), kerr.InvalidTopicException.Code},
	} {
		got := create(false, bad.rt)[0]
		checkCode(t, "create with "+bad.what, got.ErrorCode, bad.code)
		if validTopic(bad.rt.Topic) {
			exists(bad.rt.Topic, 0)
		}
	}
	twice := create(false, newTopic("ct-twice", 1, 1), newTopic("ct-twice", 2, 1))
	for i, g := range twice {
		checkCode(t, fmt.Sprintf("create ct-twice, entry %d", i), g.ErrorCode, kerr.InvalidRequest.Code)
	}
	exists("ct-twice", 0)

	if v >= 4 {
		def := create(false, newTopic("ct-def", -1, -1))[0]
		checkCode(t, "create with -1 partitions and replication", def.ErrorCode, 0)
		exists("ct-def", 4)
		if v >= 5 && (def.NumPartitions != 4 || def.ReplicationFactor != 1) {
			t.Errorf("create with defaults: got NumPartitions %d, ReplicationFactor %d; want 4, 1", def.NumPartitions, def.ReplicationFactor)
		}
	}
}

func validTopic(name string) bool {
	for _, r := range name {
		if !(r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return name != ""
}

func checkCreatedConfig(t *testing.T, cfgs []kmsg.CreateTopicsResponseTopicConfig, name, value string, source int8) {
	t.Helper()
	for _, c := range cfgs {
		if c.Name == name {
			if c.Value == nil || *c.Value != value || c.Source != source {
				t.Errorf("created config %s: got value %v source %d; want %q source %d", name, c.Value, c.Source, value, source)
			}
			return
		}
	}
	t.Errorf("created configs: got no %s among %d; want it", name, len(cfgs))
}

// ---- DeleteTopics (20) ----

func testDeleteTopics(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	ids := map[string][16]byte{}
	for _, n := range []string{"d1", "d2"} {
		ids[n] = createTopic(t, c, n, 2, nil)
		mustProduce(t, c, 9, n, 0, plainBatch(n, 3).bytes())
	}
	del := func(name *string, id [16]byte) kmsg.DeleteTopicsResponseTopic {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.TimeoutMillis = 10000
		if v >= 6 {
			dt := kmsg.NewDeleteTopicsRequestTopic()
			dt.Topic, dt.TopicID = name, id
			req.Topics = append(req.Topics, dt)
		} else {
			req.TopicNames = append(req.TopicNames, *name)
		}
		resp := call[*kmsg.DeleteTopicsResponse](t, c, v, req)
		if len(resp.Topics) != 1 {
			t.Fatalf("DeleteTopics: got %d topics; want 1", len(resp.Topics))
		}
		return resp.Topics[0]
	}
	// A fetch parked on d1 is answered when d1 is deleted.
	parked := b.dial(t)
	preq := withVersion(fetchReq("d1", ids["d1"], 1, 0), 11)
	preq.MaxWaitMillis, preq.MinBytes = 20000, 1
	pcorr, err := parked.send(preq)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the fetch park
	start := time.Now()
	got := del(kmsg.StringPtr("d1"), [16]byte{})
	presp, err := parked.recv(preq, pcorr)
	if err != nil {
		t.Fatal(err)
	}
	if pp := presp.(*kmsg.FetchResponse).Topics[0].Partitions[0]; pp.ErrorCode != kerr.UnknownTopicOrPartition.Code || time.Since(start) > 5*time.Second {
		t.Errorf("fetch parked on a deleted topic: got %s after %v; want %s at once", errName(pp.ErrorCode), time.Since(start), errName(kerr.UnknownTopicOrPartition.Code))
	}
	checkCode(t, "delete d1", got.ErrorCode, 0)
	if got.Topic == nil || *got.Topic != "d1" || (v >= 6 && got.TopicID != ids["d1"]) {
		t.Errorf("delete d1 answer: got topic %v id %x; want d1 (and id %x at v6)", got.Topic, got.TopicID, ids["d1"])
	}
	if _, ok := metadataTopic(t, c, "d1"); ok {
		t.Errorf("d1 after delete: got it in metadata; want it gone")
	}
	checkCode(t, "delete an unknown topic", del(kmsg.StringPtr("nope"), [16]byte{}).ErrorCode, kerr.UnknownTopicOrPartition.Code)
	if v >= 6 {
		got := del(nil, ids["d2"])
		checkCode(t, "delete d2 by id", got.ErrorCode, 0)
		if got.Topic == nil || *got.Topic != "d2" {
			t.Errorf("delete d2 by id answer: got topic %v; want d2", got.Topic)
		}
		if _, ok := metadataTopic(t, c, "d2"); ok {
			t.Errorf("d2 after delete by id: got it in metadata; want it gone")
		}
		checkCode(t, "delete a random topic id", del(nil, randomID(t)).ErrorCode, kerr.UnknownTopicID.Code)
	}
	// A re-created topic starts empty, under a new id.
	id := createTopic(t, c, "d1", 1, nil)
	if id == ids["d1"] {
		t.Errorf("re-created d1 id: got the old id %x; want a new one", id)
	}
	if start, hwm := offsets(t, c, "d1", 0); start != 0 || hwm != 0 {
		t.Errorf("re-created d1 offsets: got [%d, %d); want [0, 0)", start, hwm)
	}
}

// ---- InitProducerId (22) ----

func testInitProducerID(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	seen := map[int64]bool{}
	prev := int64(-1)
	for i := 0; i < 3; i++ {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionTimeoutMillis = 60000
		if v >= 3 && prev >= 0 { // an existing producer asking again
			req.ProducerID, req.ProducerEpoch = prev, 0
		}
		resp := call[*kmsg.InitProducerIDResponse](t, c, v, req)
		checkCode(t, "InitProducerId", resp.ErrorCode, 0)
		if resp.ProducerID < 0 || resp.ProducerEpoch != 0 || seen[resp.ProducerID] {
			t.Errorf("InitProducerId %d: got id %d epoch %d (seen %v); want a fresh id >= 0, epoch 0", i, resp.ProducerID, resp.ProducerEpoch, seen)
		}
		seen[resp.ProducerID] = true
		prev = resp.ProducerID
	}
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr("txn"), 60000
	resp := call[*kmsg.InitProducerIDResponse](t, c, v, req)
	checkCode(t, "InitProducerId with a transactional id", resp.ErrorCode, kerr.TransactionalIDAuthorizationFailed.Code)
	if resp.ProducerID != -1 || resp.ProducerEpoch != -1 {
		t.Errorf("refused InitProducerId: got id %d epoch %d; want -1, -1", resp.ProducerID, resp.ProducerEpoch)
	}
}

// ---- DescribeConfigs (32) ----

func testDescribeConfigs(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"log.segment.bytes": "1048576"})
	c := b.dial(t)
	createTopic(t, c, "dc", 1, map[string]string{"retention.ms": "12345"})
	describe := func(typ kmsg.ConfigResourceType, name string, synonyms bool, names ...string) kmsg.DescribeConfigsResponseResource {
		req := kmsg.NewPtrDescribeConfigsRequest()
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType, res.ResourceName, res.ConfigNames = typ, name, names
		req.Resources, req.IncludeSynonyms = append(req.Resources, res), synonyms
		resp := call[*kmsg.DescribeConfigsResponse](t, c, v, req)
		if len(resp.Resources) != 1 || resp.Resources[0].ResourceName != name || resp.Resources[0].ResourceType != typ {
			t.Fatalf("DescribeConfigs %d %q: got %+v; want that one resource", typ, name, resp.Resources)
		}
		return resp.Resources[0]
	}
	find := func(res kmsg.DescribeConfigsResponseResource, name string) *kmsg.DescribeConfigsResponseResourceConfig {
		for i := range res.Configs {
			if res.Configs[i].Name == name {
				return &res.Configs[i]
			}
		}
		t.Errorf("DescribeConfigs %s: got no %s among %d configs; want it", res.ResourceName, name, len(res.Configs))
		return nil
	}
	type syn struct {
		name, value string
		source      kmsg.ConfigSource
	}
	check := func(cfg *kmsg.DescribeConfigsResponseResourceConfig, value string, source kmsg.ConfigSource, syns []syn) {
		t.Helper()
		if cfg == nil {
			return
		}
		if cfg.Value == nil || *cfg.Value != value || cfg.Source != source || cfg.IsSensitive {
			t.Errorf("config %s: got value %v source %d sensitive %v; want %q source %d, not sensitive", cfg.Name, cfg.Value, cfg.Source, cfg.IsSensitive, value, source)
		}
		var got []syn
		for _, s := range cfg.ConfigSynonyms {
			val := "<null>"
			if s.Value != nil {
				val = *s.Value
			}
			got = append(got, syn{s.Name, val, s.Source})
		}
		if syns != nil && !slices.Equal(got, syns) {
			t.Errorf("config %s synonyms: got %v; want %v", cfg.Name, got, syns)
		}
	}

	res := describe(2, "dc", true)
	checkCode(t, "DescribeConfigs topic dc", res.ErrorCode, 0)
	ret := find(res, "retention.ms")
	// Kafka's synonyms: the override, then each level's broker synonyms,
	// the default only for the coarsest (log.retention.hours)
	check(ret, "12345", 1, []syn{{"retention.ms", "12345", 1}, {"log.retention.hours", "168", 5}})
	check(find(res, "cleanup.policy"), "delete", 5, []syn{{"log.cleanup.policy", "delete", 5}})
	check(find(res, "segment.bytes"), "1048576", 4, []syn{{"log.segment.bytes", "1048576", 4}, {"log.segment.bytes", "1073741824", 5}})
	if v >= 3 && ret != nil && (ret.Documentation == nil || *ret.Documentation == "") {
		t.Errorf("retention.ms Documentation (v3+): got none; want its description")
	}
	if v >= 3 && ret != nil && ret.ConfigType != kmsg.ConfigTypeLong {
		t.Errorf("retention.ms ConfigType (v3+): got %d; want %d (LONG)", ret.ConfigType, kmsg.ConfigTypeLong)
	}

	one := describe(2, "dc", false, "retention.ms")
	if len(one.Configs) != 1 {
		t.Errorf("DescribeConfigs dc [retention.ms]: got %d configs; want 1", len(one.Configs))
	} else {
		check(&one.Configs[0], "12345", 1, nil)
		if len(one.Configs[0].ConfigSynonyms) != 0 {
			t.Errorf("synonyms without IncludeSynonyms: got %d; want 0", len(one.Configs[0].ConfigSynonyms))
		}
	}

	br := describe(4, "0", true)
	checkCode(t, "DescribeConfigs broker 0", br.ErrorCode, 0)
	check(find(br, "log.segment.bytes"), "1048576", 4, []syn{{"log.segment.bytes", "1048576", 4}, {"log.segment.bytes", "1073741824", 5}})
	check(find(br, "log.retention.bytes"), "-1", 5, nil)
	if few := describe(4, "0", false, "log.segment.bytes", "no.such.property"); len(few.Configs) != 1 {
		t.Errorf("DescribeConfigs broker 0 [log.segment.bytes no.such.property]: got %d configs; want 1", len(few.Configs))
	}
	checkCode(t, "DescribeConfigs broker 7", describe(4, "7", false).ErrorCode, kerr.InvalidRequest.Code)
	checkCode(t, "DescribeConfigs unknown topic", describe(2, "nope", false).ErrorCode, kerr.UnknownTopicOrPartition.Code)
}

// ---- CreatePartitions (37) ----

func testCreatePartitions(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "cp", 1, nil)
	grow := func(name string, count int32, validateOnly bool, assign ...[]int32) kmsg.CreatePartitionsResponseTopic {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.TimeoutMillis, req.ValidateOnly = 10000, validateOnly
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, count
		for _, a := range assign {
			pa := kmsg.NewCreatePartitionsRequestTopicAssignment()
			pa.Replicas = a
			rt.Assignment = append(rt.Assignment, pa)
		}
		req.Topics = append(req.Topics, rt)
		resp := call[*kmsg.CreatePartitionsResponse](t, c, v, req)
		if len(resp.Topics) != 1 || resp.Topics[0].Topic != name {
			t.Fatalf("CreatePartitions %s: got %+v; want that one topic", name, resp.Topics)
		}
		return resp.Topics[0]
	}
	parts := func() int {
		rt, ok := metadataTopic(t, c, "cp")
		if !ok {
			t.Fatalf("cp: got UNKNOWN_TOPIC_OR_PARTITION; want it to exist")
		}
		return len(rt.Partitions)
	}
	checkCode(t, "grow cp to 3", grow("cp", 3, false).ErrorCode, 0)
	if n := parts(); n != 3 {
		t.Errorf("cp partitions after growing to 3: got %d; want 3", n)
	}
	if base := mustProduce(t, c, 9, "cp", 2, plainBatch("new", 1).bytes()); base != 0 {
		t.Errorf("produce to new partition 2: got base %d; want 0", base)
	}
	checkCode(t, "shrink cp to 2", grow("cp", 2, false).ErrorCode, kerr.InvalidPartitions.Code)
	checkCode(t, "keep cp at 3", grow("cp", 3, false).ErrorCode, kerr.InvalidPartitions.Code)
	checkCode(t, "validate-only grow to 5", grow("cp", 5, true).ErrorCode, 0)
	if n := parts(); n != 3 {
		t.Errorf("cp partitions after validate-only: got %d; want 3", n)
	}
	checkCode(t, "grow with an assignment to broker 1", grow("cp", 4, false, []int32{1}).ErrorCode, kerr.InvalidReplicaAssignment.Code)
	checkCode(t, "grow with an assignment to broker 0", grow("cp", 4, false, []int32{0}).ErrorCode, 0)
	if n := parts(); n != 4 {
		t.Errorf("cp partitions after assigned growth: got %d; want 4", n)
	}
	checkCode(t, "grow an unknown topic", grow("nope", 2, false).ErrorCode, kerr.UnknownTopicOrPartition.Code)
}

// TestFetchParkLimit: at most queued.max.requests fetches park; one more
// is answered at once with what there is, and a produce wakes the parked.
func TestFetchParkLimit(t *testing.T) {
	b := startBroker(t, map[string]string{"queued.max.requests": "2"})
	c := b.dial(t)
	createTopic(t, c, "park", 1, nil)
	req := withVersion(fetchReq("park", [16]byte{}, 0, 0), 11)
	req.MaxWaitMillis, req.MinBytes = 20000, 1
	var parked []*client
	var corrs []int32
	for i := 0; i < 2; i++ {
		pc := b.dial(t)
		corr, err := pc.send(req)
		if err != nil {
			t.Fatal(err)
		}
		parked, corrs = append(parked, pc), append(corrs, corr)
	}
	time.Sleep(100 * time.Millisecond) // let both fetches park
	start := time.Now()
	resp := call[*kmsg.FetchResponse](t, b.dial(t), 11, req)
	if rp := resp.Topics[0].Partitions[0]; rp.ErrorCode != 0 || len(rp.RecordBatches) != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("third fetch beyond queued.max.requests 2: got %s with %d bytes after %v; want 0 with none at once", errName(rp.ErrorCode), len(rp.RecordBatches), time.Since(start))
	}
	raw := plainBatch("wake", 2).bytes()
	mustProduce(t, c, 9, "park", 0, raw)
	for i, pc := range parked {
		r, err := pc.recv(req, corrs[i])
		if err != nil {
			t.Fatal(err)
		}
		got := splitBatches(t, r.(*kmsg.FetchResponse).Topics[0].Partitions[0].RecordBatches)
		if len(got) != 1 || time.Since(start) > 10*time.Second {
			t.Errorf("parked fetch %d after a produce: got %d batches after %v; want the produced batch well before MaxWaitMillis", i, len(got), time.Since(start))
			continue
		}
		sameBatch(t, fmt.Sprintf("parked fetch %d", i), got[0], raw, 0, 0)
	}
}

// TestRestartKeepsState: producer ids stay unique across a restart (the
// persisted block), and topics, ids and data survive it byte for byte.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, map[string]string{"log.dirs": dir})
	c := b.dial(t)
	id := createTopic(t, c, "keep", 2, map[string]string{"retention.ms": "-1"})
	pid := initProducerID(t, c)
	raw := plainBatch("keep", 3).idem(pid, 0, 0).bytes()
	mustProduce(t, c, 9, "keep", 1, raw)
	before := fetchPart(t, c, 11, "keep", id, 1, 0).RecordBatches
	b.shutdown(t)

	b2 := startBroker(t, map[string]string{"log.dirs": dir})
	c2 := b2.dial(t)
	rt, ok := metadataTopic(t, c2, "keep")
	if !ok || rt.TopicID != id || len(rt.Partitions) != 2 {
		t.Fatalf("keep after restart: got found=%v id %x, %d partitions; want id %x, 2 partitions", ok, rt.TopicID, len(rt.Partitions), id)
	}
	if pid2 := initProducerID(t, c2); pid2 <= pid {
		t.Errorf("producer id after restart: got %d; want one above %d", pid2, pid)
	}
	after := fetchPart(t, c2, 11, "keep", id, 1, 0)
	if !bytes.Equal(after.RecordBatches, before) || after.HighWatermark != 3 {
		t.Errorf("keep/1 after restart: got %d bytes, high watermark %d; want the %d bytes from before, 3", len(after.RecordBatches), after.HighWatermark, len(before))
	}
	// The producer's window survived: a retry is a duplicate, the next
	// sequence appends.
	if rp := producePart(t, c2, 9, "keep", 1, raw); rp.ErrorCode != 0 || rp.BaseOffset != 0 {
		t.Errorf("retry after restart: got %s at %d; want 0 at the original offset 0", errName(rp.ErrorCode), rp.BaseOffset)
	}
	if base := mustProduce(t, c2, 9, "keep", 1, plainBatch("next", 1).idem(pid, 0, 3).bytes()); base != 3 {
		t.Errorf("next sequence after restart: got base %d; want 3", base)
	}
}

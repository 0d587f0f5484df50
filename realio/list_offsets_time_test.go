package realio

// ListOffsets by timestamp at record granularity: the answer is the offset
// and timestamp of the first committed record whose timestamp is at or
// after the target, as Kafka answers, whatever the batch's codec; for
// LogAppendTime batches every record carries the append time.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// listOffsetsVersions returns the ListOffsets versions the broker
// advertises that answer an offset and its timestamp: v1 on (v0 answers
// an array of offsets; testListOffsetsV0 covers it).
func listOffsetsVersions(t *testing.T) []int16 {
	t.Helper()
	for _, k := range core.SupportedAPIs() {
		if k.ApiKey == 2 {
			var vs []int16
			for v := max(k.MinVersion, 1); v <= k.MaxVersion; v++ {
				vs = append(vs, v)
			}
			return vs
		}
	}
	t.Fatalf("SupportedAPIs: got no ListOffsets (key 2); want it advertised")
	return nil
}

// listAt asks for one partition's offset at timestamp ts at version v.
func listAt(t *testing.T, c *client, v int16, topic string, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := call[*kmsg.ListOffsetsResponse](t, c, v, req)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("ListOffsets %s ts %d: got %+v; want one partition", topic, ts, resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// timeQuery is one ListOffsets-by-timestamp question and its answer.
type timeQuery struct {
	topic  string
	ts     int64
	offset int64
	recTs  int64 // -1 with offset -1: no record qualifies
}

// checkTimeQueries asks every query at every advertised version.
func checkTimeQueries(t *testing.T, c *client, epochs map[string]int32, qs []timeQuery) {
	t.Helper()
	for _, v := range listOffsetsVersions(t) {
		for _, q := range qs {
			what := fmt.Sprintf("ListOffsets v%d %s timestamp %d", v, q.topic, q.ts)
			got := listAt(t, c, v, q.topic, q.ts)
			if !checkCode(t, what, got.ErrorCode, 0) {
				continue
			}
			if got.Offset != q.offset || got.Timestamp != q.recTs {
				t.Errorf("%s: got offset %d, timestamp %d; want %d, %d", what, got.Offset, got.Timestamp, q.offset, q.recTs)
			}
			if v >= 4 && got.LeaderEpoch != epochs[q.topic] {
				t.Errorf("%s LeaderEpoch: got %d; want %d", what, got.LeaderEpoch, epochs[q.topic])
			}
		}
	}
}

// compressed re-encodes a batch's records section with codec ("gzip",
// "snappy", "xerial" = snappy in the Java client's framing, "lz4",
// "zstd"), sets the codec bits, the length and the CRC.
func compressed(t *testing.T, raw []byte, codec string) []byte {
	t.Helper()
	recs := raw[61:]
	var body []byte
	var bits uint16
	var buf bytes.Buffer
	switch codec {
	case "gzip":
		w := gzip.NewWriter(&buf)
		w.Write(recs)
		w.Close()
		body, bits = buf.Bytes(), 1
	case "snappy":
		body, bits = snappy.Encode(nil, recs), 2
	case "xerial":
		body, bits = xerial.Encode(nil, recs), 2
	case "lz4":
		w := lz4.NewWriter(&buf)
		w.Write(recs)
		w.Close()
		body, bits = buf.Bytes(), 3
	case "zstd":
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		body, bits = w.EncodeAll(recs, nil), 4
		w.Close()
	default:
		t.Fatalf("unknown codec %q", codec)
	}
	out := append(append([]byte(nil), raw[:61]...), body...)
	binary.BigEndian.PutUint16(out[21:], binary.BigEndian.Uint16(out[21:])&^7|bits)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	fixCRC(out)
	return out
}

// TestListOffsetsRecordTime: the first record at or after the target,
// within a batch, in a later batch, past the end, and for each codec.
func TestListOffsetsRecordTime(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	epochs := map[string]int32{}
	topics := []string{"plain", "gzip", "snappy", "xerial", "lz4", "zstd"}
	for _, name := range topics {
		createTopic(t, c, name, 1, nil)
		md, _ := metadataTopic(t, c, name)
		epochs[name] = md.Partitions[0].LeaderEpoch
		first := plainBatch(name+"-a", 3).at(1000).bytes()  // 1000, 1010, 1020 at 0, 1, 2
		second := plainBatch(name+"-b", 2).at(2000).bytes() // 2000, 2010 at 3, 4
		if name != "plain" {
			first, second = compressed(t, first, name), compressed(t, second, name)
		}
		mustProduce(t, c, 9, name, 0, first)
		mustProduce(t, c, 9, name, 0, second)
	}
	var qs []timeQuery
	for _, name := range topics {
		qs = append(qs,
			timeQuery{name, 0, 0, 1000},
			timeQuery{name, 1000, 0, 1000},
			timeQuery{name, 1001, 1, 1010},
			timeQuery{name, 1015, 2, 1020},
			timeQuery{name, 1020, 2, 1020},
			timeQuery{name, 1021, 3, 2000},
			timeQuery{name, 2005, 4, 2010},
			timeQuery{name, 2010, 4, 2010},
			timeQuery{name, 2011, -1, -1},
		)
	}
	checkTimeQueries(t, c, epochs, qs)
}

// TestListOffsetsLogAppendTime: in a LogAppendTime topic every record of a
// batch has the batch's append time, so the answer is the first record of
// the first batch appended at or after the target, with its append time.
func TestListOffsetsLogAppendTime(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	md, _ := metadataTopic(t, c, "lat")
	epochs := map[string]int32{"lat": md.Partitions[0].LeaderEpoch}
	rp1 := producePart(t, c, 9, "lat", 0, plainBatch("lat-a", 3).at(1000).bytes())
	// Let the broker's clock (ticked every TickInterval) move on, so that
	// the second batch gets a later append time.
	time.Sleep(3 * TickInterval)
	rp2 := producePart(t, c, 9, "lat", 0, compressed(t, plainBatch("lat-b", 2).at(1000).bytes(), "zstd"))
	checkCode(t, "produce to a LogAppendTime topic", rp1.ErrorCode, 0)
	checkCode(t, "produce to a LogAppendTime topic", rp2.ErrorCode, 0)
	t1, t2 := rp1.LogAppendTime, rp2.LogAppendTime
	if t1 < 0 || t2 < t1 {
		t.Fatalf("LogAppendTime: got %d then %d; want non-negative and non-decreasing", t1, t2)
	}
	qs := []timeQuery{
		{"lat", 0, 0, t1},
		{"lat", 1015, 0, t1}, // the records' own CreateTime does not count
		{"lat", t1, 0, t1},
		{"lat", t2 + 1, -1, -1},
	}
	if t2 > t1 {
		qs = append(qs, timeQuery{"lat", t1 + 1, 3, t2})
	}
	checkTimeQueries(t, c, epochs, qs)
}

// TestListOffsetsBatchMaxTimestampAbove: a batch whose MaxTimestamp header
// field is above all of its records' timestamps (the broker validates
// headers, not records) reaches the target only in its header; the
// answer is the first qualifying record of a later batch, or none.
func TestListOffsetsBatchMaxTimestampAbove(t *testing.T) {
	b := startBroker(t, nil)
	c := b.dial(t)
	epochs := map[string]int32{}
	lying := plainBatch("lie", 3).at(1000).bytes() // records 1000, 1010, 1020
	binary.BigEndian.PutUint64(lying[35:], 5000)
	fixCRC(lying)
	for _, name := range []string{"lie-then-more", "lie-last"} {
		createTopic(t, c, name, 1, nil)
		md, _ := metadataTopic(t, c, name)
		epochs[name] = md.Partitions[0].LeaderEpoch
		mustProduce(t, c, 9, name, 0, append([]byte(nil), lying...))
	}
	mustProduce(t, c, 9, "lie-then-more", 0, plainBatch("more", 2).at(6000).bytes()) // 6000, 6010 at 3, 4
	checkTimeQueries(t, c, epochs, []timeQuery{
		{"lie-then-more", 1015, 2, 1020},
		{"lie-then-more", 1500, 3, 6000},
		{"lie-then-more", 6001, 4, 6010},
		{"lie-last", 1015, 2, 1020},
		{"lie-last", 1500, -1, -1},
	})
}

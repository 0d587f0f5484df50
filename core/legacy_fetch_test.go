package core_test

// Fetch v0-3 through the broker: what down-conversion sends legacy
// consumers, read from the harness's log.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/OneOfOne/xxhash"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// legacyOut is one message of a fetched legacy set.
type legacyOut struct {
	offset     int64
	magic      int8
	attrs      int8
	ts         int64
	key, value []byte
}

// legacyOuter splits a fetched legacy set into its outer messages
// (wrappers stay wrapped), checking sizes and CRCs; a partial message at
// the end is dropped, as clients drop it.
func legacyOuter(t *testing.T, data []byte) []legacyOut {
	t.Helper()
	var out []legacyOut
	for len(data) >= 12 {
		size := int(binary.BigEndian.Uint32(data[8:]))
		if len(data) < 12+size {
			break
		}
		entry := data[:12+size]
		data = data[12+size:]
		if got, want := crc32.ChecksumIEEE(entry[16:]), binary.BigEndian.Uint32(entry[12:]); got != want {
			t.Fatalf("fetched message CRC %08x; its contents hash to %08x", want, got)
		}
		m := legacyOut{offset: int64(binary.BigEndian.Uint64(entry)), magic: int8(entry[16]), attrs: int8(entry[17]), ts: -1}
		switch m.magic {
		case 0:
			var v kmsg.MessageV0
			if err := v.ReadFrom(entry); err != nil {
				t.Fatal(err)
			}
			m.key, m.value = v.Key, v.Value
		case 1:
			var v kmsg.MessageV1
			if err := v.ReadFrom(entry); err != nil {
				t.Fatal(err)
			}
			m.key, m.value, m.ts = v.Key, v.Value, v.Timestamp
		default:
			t.Fatalf("fetched a message of magic %d", m.magic)
		}
		out = append(out, m)
	}
	return out
}

// v2Batch builds a v2 batch of n records of valueBytes each, compressed
// with codec, with CreateTime timestamps from 1000.
func v2Batch(t *testing.T, codec, n, valueBytes int) []byte {
	t.Helper()
	recs := make([]kmsg.Record, n)
	for i := range recs {
		recs[i] = kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i),
			Key: []byte(fmt.Sprintf("k%d", i)), Value: bytes.Repeat([]byte{byte('a' + i%26)}, valueBytes)}
	}
	h := core.BatchHeader{Magic: 2, PartitionLeaderEpoch: -1, Attributes: int16(codec), LastOffsetDelta: int32(n - 1),
		BaseTimestamp: 1000, MaxTimestamp: 1000 + int64(n-1), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, RecordCount: int32(n)}
	b, err := core.RebuildBatch(h, recs, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// produceRaw sends records at Produce v9 and returns the partition answer.
func (h *harness) produceRaw(topic string, part int32, records []byte) kmsg.ProduceResponseTopicPartition {
	h.t.Helper()
	seq := h.send(1, 9, produceReq(topic, part, -1, records))
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// fetchAt fetches one partition from offset at version v.
func (h *harness) fetchAt(v int16, topic string, part int32, offset int64) kmsg.FetchResponseTopicPartition {
	h.t.Helper()
	seq := h.send(2, v, fetchReq(topic, part, offset, 0, 0))
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.FetchResponse).Topics[0].Partitions[0]
}

// TestLegacyFetchLZ4HeaderChecksum: an LZ4 batch fetched at v0-1 comes
// back as a magic 0 wrapper whose LZ4 frame carries the header checksum
// Kafka 0.9's KafkaLZ4BlockOutputStream writes, (xxhash32 of the magic
// number, FLG and BD) >> 8, which Kafka 0.9 consumers check; at v2-3 the
// magic 1 wrapper carries the LZ4 frame format's own, over FLG and BD
// only, as Kafka 0.10+ writes it.
func TestLegacyFetchLZ4HeaderChecksum(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	if rp := h.produceRaw("t", 0, v2Batch(t, 3, 4, 30)); rp.ErrorCode != 0 {
		t.Fatalf("produce lz4: error %d", rp.ErrorCode)
	}
	for _, v := range []int16{0, 1, 2, 3} {
		rp := h.fetchAt(v, "t", 0, 0)
		msgs := legacyOuter(t, rp.RecordBatches)
		magic := int8(0)
		if v >= 2 {
			magic = 1
		}
		if rp.ErrorCode != 0 || len(msgs) != 1 || msgs[0].magic != magic || msgs[0].attrs&7 != 3 {
			t.Fatalf("Fetch v%d: got error %d, %d messages %+v; want one lz4 wrapper of magic %d", v, rp.ErrorCode, len(msgs), msgs, magic)
		}
		frame := msgs[0].value
		if len(frame) < 7 || binary.LittleEndian.Uint32(frame) != 0x184D2204 {
			t.Fatalf("Fetch v%d: the wrapper's value %x is not an LZ4 frame", v, frame)
		}
		if flg := frame[4]; flg&0x09 != 0 {
			t.Fatalf("Fetch v%d: FLG %02x sets content size or dictionary id; Kafka's frames have neither, so the header checksum is byte 6", v, flg)
		}
		hashed := frame[4:6] // FLG and BD
		if magic == 0 {
			hashed = frame[0:6] // Kafka 0.9 hashed the magic number too
		}
		if want := byte(xxhash.Checksum32(hashed) >> 8 & 0xff); frame[6] != want {
			t.Errorf("Fetch v%d: LZ4 header checksum %02x; want %02x (xxhash32 of % x >> 8)", v, frame[6], want, hashed)
		}
	}
}

// TestLegacyFetchZstd: a zstd batch cannot be converted to a legacy
// format (neither has the codec). A legacy fetch whose first batch is
// zstd gets UNSUPPORTED_COMPRESSION_TYPE for that partition, as Kafka's
// RecordsUtil.downConvert and KafkaApis answer it; one that reaches zstd
// after convertible batches gets those, and the error when it fetches
// from the zstd batch.
func TestLegacyFetchZstd(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	for i, b := range [][]byte{v2Batch(t, 0, 2, 10), v2Batch(t, 4, 3, 10)} {
		if rp := h.produceRaw("t", 0, b); rp.ErrorCode != 0 {
			t.Fatalf("produce batch %d: error %d", i, rp.ErrorCode)
		}
	}
	for v := int16(0); v <= 3; v++ {
		rp := h.fetchAt(v, "t", 0, 0)
		msgs := legacyOuter(t, rp.RecordBatches)
		if rp.ErrorCode != 0 || len(msgs) != 2 || msgs[0].offset != 0 || msgs[1].offset != 1 {
			t.Errorf("Fetch v%d from 0: got error %d, %d messages; want none, the plain batch's 2 at offsets 0 and 1", v, rp.ErrorCode, len(msgs))
		}
		rp = h.fetchAt(v, "t", 0, 2)
		if rp.ErrorCode != kerr.UnsupportedCompressionType.Code || len(rp.RecordBatches) != 0 {
			t.Errorf("Fetch v%d from the zstd batch: got error %d and %d bytes; want UNSUPPORTED_COMPRESSION_TYPE (%d) and no records",
				v, rp.ErrorCode, len(rp.RecordBatches), kerr.UnsupportedCompressionType.Code)
		}
		if rp := h.fetchAt(12, "t", 0, 2); rp.ErrorCode != 0 || len(rp.RecordBatches) == 0 {
			t.Errorf("Fetch v12 from the zstd batch: got error %d and %d bytes; want the batch", rp.ErrorCode, len(rp.RecordBatches))
		}
	}
}

// controlBatch is a transaction marker (an abort) at base, as a
// transaction coordinator writes it.
func controlBatch(base core.Offset) []byte {
	rb := kmsg.NewRecordBatch()
	rb.FirstOffset, rb.Magic, rb.Attributes = int64(base), 2, 0x30 // transactional, control
	rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = 7, 0, -1
	rb.NumRecords, rb.LastOffsetDelta, rb.PartitionLeaderEpoch = 1, 0, 0
	r := kmsg.NewRecord()
	r.Key = []byte{0, 0, 0, 0}         // version 0, type 0: abort
	r.Value = []byte{0, 0, 0, 0, 0, 0} // version 0, coordinator epoch 0
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	rb.Records = r.AppendTo(nil)
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestLegacyFetchSkipsControlBatches: a transaction marker in the log is
// never sent to a legacy consumer (Kafka's RecordsUtil.downConvert skips
// control batches), and the data after it keeps its offsets. The log
// holds one only if a coordinator wrote it: Produce refuses control and
// transactional batches from clients (INVALID_RECORD), so this test puts
// the marker into the log directly, in place of a one-record batch.
func TestLegacyFetchSkipsControlBatches(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	for _, attrs := range []int16{0x30, 0x10} {
		b := v2Batch(t, 0, 1, 5)
		binary.BigEndian.PutUint16(b[21:], uint16(attrs))
		binary.BigEndian.PutUint64(b[43:], 7) // a producer id
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		if rp := h.produceRaw("t", 0, b); rp.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("produce of a batch with attributes %#x: got error %d; want INVALID_RECORD", attrs, rp.ErrorCode)
		}
	}
	for i, n := range []int{2, 1, 2} {
		if rp := h.produceRaw("t", 0, v2Batch(t, 0, n, 5)); rp.ErrorCode != 0 {
			t.Fatalf("produce batch %d: error %d", i, rp.ErrorCode)
		}
	}
	tp := core.TopicPartition{Topic: "t"}
	if len(h.logs[tp]) != 3 {
		t.Fatalf("log holds %d batches; want 3", len(h.logs[tp]))
	}
	h.logs[tp][1] = controlBatch(2)
	if _, err := core.CheckBatch(h.logs[tp][1]); err != nil {
		t.Fatalf("the marker is not a valid batch: %v", err)
	}
	for v := int16(0); v <= 3; v++ {
		for _, from := range []int64{0, 2} {
			rp := h.fetchAt(v, "t", 0, from)
			var offs []int64
			for _, m := range legacyOuter(t, rp.RecordBatches) {
				if bytes.Equal(m.key, []byte{0, 0, 0, 0}) {
					t.Errorf("Fetch v%d from %d: got the marker's record at offset %d", v, from, m.offset)
				}
				offs = append(offs, m.offset)
			}
			want := []int64{0, 1, 3, 4}
			if from == 2 {
				want = want[2:]
			}
			if rp.ErrorCode != 0 || fmt.Sprint(offs) != fmt.Sprint(want) {
				t.Errorf("Fetch v%d from %d: got error %d, offsets %v; want none, %v (the marker at 2 skipped)", v, from, rp.ErrorCode, offs, want)
			}
		}
	}
}

// TestLegacyFetchV3ResponseLimit: a v3 fetch of many partitions with a
// small response MaxBytes reads its partitions one after another within
// what is left of MaxBytes, as Kafka's ReplicaManager.readFromLog does,
// so the bytes it holds in memory for down-conversion, and its answer,
// stay within MaxBytes plus one batch, whatever the partition limits add
// up to; the first partition with data gets its batch whole even when
// that alone is over MaxBytes.
func TestLegacyFetchV3ResponseLimit(t *testing.T) {
	const parts = 20
	h := newHarness(t, nil)
	h.createTopic("m", parts, nil)
	batch := v2Batch(t, 0, 10, 100)
	for p := int32(0); p < parts; p++ {
		if rp := h.produceRaw("m", p, batch); rp.ErrorCode != 0 {
			t.Fatalf("produce to m/%d: error %d", p, rp.ErrorCode)
		}
	}
	for _, maxBytes := range []int32{100, 3000} {
		req := fetchReq("m", 0, 0, 0, 0)
		req.MaxBytes = maxBytes
		for p := int32(1); p < parts; p++ {
			fp := req.Topics[0].Partitions[0]
			fp.Partition = p
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, fp)
		}
		seq := h.send(2, 3, req)
		read, reads := 0, 0
		h.deliver(func(ev core.Event) bool {
			if rd, ok := ev.(core.ReadDone); ok {
				read += len(rd.Data)
				reads++
			}
			return true
		})
		resp := h.mustResponse(seq).(*kmsg.FetchResponse)
		sent, withData, converted := 0, 0, 0
		for _, rp := range resp.Topics[0].Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("MaxBytes %d: partition %d error %d", maxBytes, rp.Partition, rp.ErrorCode)
			}
			sent += len(rp.RecordBatches)
			if n := len(legacyOuter(t, rp.RecordBatches)); n > 0 {
				withData++
				converted = max(converted, len(rp.RecordBatches))
				if n != 10 {
					t.Errorf("MaxBytes %d: partition %d got %d messages; want the batch's 10 whole", maxBytes, rp.Partition, n)
				}
			}
		}
		t.Logf("MaxBytes %d: %d reads of %d bytes in all, %d partitions answered with data, %d bytes sent (batch %d bytes, converted %d)",
			maxBytes, reads, read, withData, sent, len(batch), converted)
		if read > int(maxBytes)+len(batch) {
			t.Errorf("MaxBytes %d: the fetch read %d bytes of the log; want at most MaxBytes plus one batch (%d)", maxBytes, read, int(maxBytes)+len(batch))
		}
		if sent > int(maxBytes)+converted {
			t.Errorf("MaxBytes %d: the answer carries %d bytes of records; want at most MaxBytes plus one converted set (%d)", maxBytes, sent, int(maxBytes)+converted)
		}
		if want := max(1, int(maxBytes)/converted); withData < want {
			t.Errorf("MaxBytes %d: %d partitions answered with data; want at least %d", maxBytes, withData, want)
		}
	}
}

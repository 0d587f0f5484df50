package realio

// Produce v0-2 and Fetch v0-3: message formats 0 and 1 in and out. The
// message sets here are built and read by this file's own code (kmsg's
// message types, CRC-32 IEEE, klauspost's gzip), not the broker's.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// legacyMsg is one message of a legacy set, as tests build and read them.
type legacyMsg struct {
	offset     int64
	attrs      int8
	ts         int64 // magic 1 only
	key, value []byte
}

// appendMsg appends one message of magic with its size and CRC.
func appendMsg(dst []byte, magic int8, m legacyMsg) []byte {
	start := len(dst)
	if magic == 0 {
		v := kmsg.MessageV0{Offset: m.offset, Magic: 0, Attributes: m.attrs, Key: m.key, Value: m.value}
		dst = v.AppendTo(dst)
	} else {
		v := kmsg.MessageV1{Offset: m.offset, Magic: 1, Attributes: m.attrs, Timestamp: m.ts, Key: m.key, Value: m.value}
		dst = v.AppendTo(dst)
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(len(dst)-start-12))
	binary.BigEndian.PutUint32(dst[start+12:], crc32.ChecksumIEEE(dst[start+16:]))
	return dst
}

// legacySet builds an uncompressed set of msgs.
func legacySet(magic int8, msgs ...legacyMsg) []byte {
	var out []byte
	for _, m := range msgs {
		out = appendMsg(out, magic, m)
	}
	return out
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipWrapper builds a gzip wrapper message around msgs, with inner
// offsets as the magic's clients write them (magic 1 relative, the wrapper
// at the last) and the wrapper timestamp the largest inner one.
func gzipWrapper(t testing.TB, magic int8, msgs ...legacyMsg) []byte {
	var inner []byte
	maxTs := int64(-1)
	for i, m := range msgs {
		m.offset = int64(i)
		maxTs = max(maxTs, m.ts)
		inner = appendMsg(inner, magic, m)
	}
	return appendMsg(nil, magic, legacyMsg{offset: int64(len(msgs) - 1), attrs: 1, ts: maxTs, value: gzipBytes(t, inner)})
}

// outerMsgs splits a fetched legacy set into its outer messages, wrappers
// left compressed; a partial message at the end is skipped.
func outerMsgs(t testing.TB, data []byte, magic int8) []legacyMsg {
	t.Helper()
	var out []legacyMsg
	for len(data) >= 12 {
		size := int(binary.BigEndian.Uint32(data[8:]))
		if len(data) < 12+size {
			break
		}
		out = append(out, decodeMsg(t, data[:12+size], magic))
		data = data[12+size:]
	}
	return out
}

// describeOuter says what outer messages are, for failures.
func describeOuter(outer []legacyMsg) string {
	s := fmt.Sprintf("%d outer messages", len(outer))
	for i, m := range outer {
		if i == 3 {
			return s + ", ..."
		}
		s += fmt.Sprintf(", codec %d at offset %d", m.attrs&7, m.offset)
	}
	return s
}

// readLegacy decodes a fetched legacy set, checking every CRC, decompressing
// wrappers (decompressWrapper) and resolving inner offsets; a partial
// message at the end is skipped, as clients skip it.
func readLegacy(t testing.TB, data []byte, magic int8) []legacyMsg {
	t.Helper()
	var out []legacyMsg
	for len(data) >= 12 {
		size := int(binary.BigEndian.Uint32(data[8:]))
		if len(data) < 12+size {
			break // a partial message ends the set
		}
		entry := data[:12+size]
		data = data[12+size:]
		if entry[16] != byte(magic) {
			t.Fatalf("fetched message of magic %d; want %d", entry[16], magic)
		}
		if got, want := crc32.ChecksumIEEE(entry[16:]), binary.BigEndian.Uint32(entry[12:]); got != want {
			t.Fatalf("fetched message CRC %08x; its contents hash to %08x", want, got)
		}
		m := decodeMsg(t, entry, magic)
		if m.attrs&7 == 0 {
			out = append(out, m)
			continue
		}
		innerMsgs := readLegacy(t, decompressWrapper(t, magic, m.attrs&7, m.value), magic)
		if len(innerMsgs) == 0 {
			t.Fatalf("a fetched wrapper holds no messages")
		}
		base := int64(0)
		if magic == 1 {
			base = m.offset - innerMsgs[len(innerMsgs)-1].offset
		}
		for _, im := range innerMsgs {
			im.offset += base
			out = append(out, im)
		}
	}
	return out
}

func decodeMsg(t testing.TB, entry []byte, magic int8) legacyMsg {
	t.Helper()
	if magic == 0 {
		var v kmsg.MessageV0
		if err := v.ReadFrom(entry); err != nil {
			t.Fatal(err)
		}
		return legacyMsg{offset: v.Offset, attrs: v.Attributes, ts: -1, key: v.Key, value: v.Value}
	}
	var v kmsg.MessageV1
	if err := v.ReadFrom(entry); err != nil {
		t.Fatal(err)
	}
	return legacyMsg{offset: v.Offset, attrs: v.Attributes, ts: v.Timestamp, key: v.Key, value: v.Value}
}

// produceMagic is the message format a produce version carries.
func produceMagic(v int16) int8 {
	if v < 2 {
		return 0
	}
	return 1
}

// testProduceLegacy: Produce v0-2 message sets are converted to one v2
// batch each, bad ones refused with nothing stored.
func testProduceLegacy(t *testing.T, c *client, v int16) {
	magic := produceMagic(v)
	ts := func(i int) int64 {
		if magic == 0 {
			return -1
		}
		return baseTimestampMs + int64(i)
	}
	msg := func(i int) legacyMsg {
		return legacyMsg{ts: ts(i), key: []byte(fmt.Sprintf("k%d", i)), value: []byte(fmt.Sprintf("v%d-%d", v, i))}
	}
	plain := legacySet(magic, msg(0), msg(1), msg(2))
	if base := mustProduce(t, c, v, "p", 0, plain); base != 0 {
		t.Errorf("Produce v%d of 3 messages: got base offset %d; want 0", v, base)
	}
	wrapped := gzipWrapper(t, magic, msg(3), msg(4))
	if base := mustProduce(t, c, v, "p", 0, wrapped); base != 3 {
		t.Errorf("Produce v%d of a gzip wrapper: got base offset %d; want 3", v, base)
	}
	// Inner offsets are renumbered, as Kafka does: sarama before 0.10
	// writes them all 0.
	zeros := func() []byte {
		var inner []byte
		for i := 5; i < 7; i++ {
			inner = appendMsg(inner, magic, legacyMsg{offset: 0, ts: ts(i), key: msg(i).key, value: msg(i).value})
		}
		return appendMsg(nil, magic, legacyMsg{offset: 0, attrs: 1, ts: ts(6), value: gzipBytes(t, inner)})
	}()
	if base := mustProduce(t, c, v, "p", 0, zeros); base != 5 {
		t.Errorf("Produce v%d of a wrapper whose inner offsets are all 0: got base offset %d; want 5", v, base)
	}
	// The log holds two v2 batches: no producer id, the messages' keys,
	// values and timestamps (magic 0: none, -1), the wrapper's codec kept.
	id := topicID(t, c, "p")
	rp := fetchPart(t, c, 12, "p", id, 0, 0)
	batches := splitBatches(t, rp.RecordBatches)
	if len(batches) != 3 {
		t.Fatalf("stored batches after three legacy produces: got %d; want 3", len(batches))
	}
	for bi, want := range [][]int{{0, 1, 2}, {3, 4}, {5, 6}} {
		h, err := core.CheckBatch(batches[bi])
		if err != nil {
			t.Fatalf("stored batch %d: %v", bi, err)
		}
		if codec := min(bi, 1); h.ProducerID != -1 || h.BaseOffset != core.Offset(want[0]) || int(h.RecordCount) != len(want) || h.Compression() != codec {
			t.Errorf("stored batch %d: got producer id %d, base %d, %d records, codec %d; want -1, %d, %d, %d",
				bi, h.ProducerID, h.BaseOffset, h.RecordCount, h.Compression(), want[0], len(want), codec)
		}
		recs, err := core.BatchRecords(batches[bi], h, 1<<20)
		if err != nil {
			t.Fatalf("stored batch %d records: %v", bi, err)
		}
		for ri, r := range recs {
			m := msg(want[ri])
			if string(r.Key) != string(m.key) || string(r.Value) != string(m.value) || core.RecordTimestamp(h, &r) != m.ts {
				t.Errorf("stored record %d: got key %q value %q timestamp %d; want %q %q %d", want[ri], r.Key, r.Value, core.RecordTimestamp(h, &r), m.key, m.value, m.ts)
			}
		}
	}

	// Bad input: each refused, nothing stored.
	innerCompressed := appendMsg(nil, magic, legacyMsg{attrs: 1, ts: ts(0),
		value: gzipBytes(t, gzipWrapper(t, magic, msg(0)))})
	badCRC := legacySet(magic, msg(0))
	badCRC[len(badCRC)-1] ^= 1
	// A magic 1 wrapper must carry at least its last inner offset (0
	// aside: old librdkafka leaves it 0).
	wrapperBelow := func() []byte {
		inner := appendMsg(appendMsg(nil, magic, legacyMsg{offset: 0, ts: ts(0), key: []byte("a"), value: []byte("x")}),
			magic, legacyMsg{offset: 5, ts: ts(0), key: []byte("b"), value: []byte("y")})
		return appendMsg(nil, magic, legacyMsg{offset: 3, attrs: 1, ts: ts(0), value: gzipBytes(t, inner)})
	}()
	otherMagic := legacySet(1-magic, msg(0))
	// The wrapper's own CRC is right; its second inner message's is not.
	innerBadCRC := func() []byte {
		inner := legacySet(magic, msg(0), msg(1))
		inner[len(inner)-1] ^= 1
		return appendMsg(nil, magic, legacyMsg{offset: 1, attrs: 1, ts: ts(1), value: gzipBytes(t, inner)})
	}()
	cases := []struct {
		what string
		data []byte
		code int16
	}{
		{"a message whose CRC does not match", badCRC, kerr.CorruptMessage.Code},
		{"a set truncated mid-message", plain[:len(plain)-3], kerr.CorruptMessage.Code},
		{"a record batch (magic 2)", plainBatch("m2", 1).bytes(), kerr.CorruptMessage.Code},
		{"an unknown magic", func() []byte { b := legacySet(magic, msg(0)); b[16] = 7; return b }(), kerr.CorruptMessage.Code},
		{"a wrapper holding a compressed message", innerCompressed, kerr.InvalidRecord.Code},

		{"a wrapper beside another message", append(gzipWrapper(t, magic, msg(0)), legacySet(magic, msg(1))...), kerr.InvalidRecord.Code},
		{"a wrapper with a garbage payload", appendMsg(nil, magic, legacyMsg{attrs: 1, ts: ts(0), value: []byte("not gzip at all")}), kerr.UnknownServerError.Code},
		{"a wrapper with a truncated payload", appendMsg(nil, magic, legacyMsg{attrs: 1, ts: ts(0), value: gzipBytes(t, plain)[:20]}), kerr.UnknownServerError.Code},
		{"messages of two magics", append(legacySet(magic, msg(0)), otherMagic...), kerr.InvalidRecord.Code},
		{"a wrapper whose inner message's CRC does not match", innerBadCRC, kerr.CorruptMessage.Code},
	}
	if magic == 1 {
		cases = append(cases, struct {
			what string
			data []byte
			code int16
		}{"a wrapper whose offset is below its last inner offset", wrapperBelow, kerr.InvalidRecord.Code})
	}
	for _, tc := range cases {
		rp := producePart(t, c, v, "p", 0, tc.data)
		checkCode(t, fmt.Sprintf("Produce v%d of %s", v, tc.what), rp.ErrorCode, tc.code)
	}
	if _, hwm := offsets(t, c, "p", 0); hwm != 7 {
		t.Errorf("high watermark after the refused produces: got %d; want 7", hwm)
	}

	// LogAppendTime: v2 answers the append time, and the stored batch
	// carries it.
	createTopic(t, c, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	rp2 := producePart(t, c, v, "lat", 0, legacySet(magic, msg(0)))
	checkCode(t, fmt.Sprintf("Produce v%d to a LogAppendTime topic", v), rp2.ErrorCode, 0)
	if (v >= 2) != (rp2.LogAppendTime > 0) {
		t.Errorf("Produce v%d to a LogAppendTime topic: got LogAppendTime %d; want the append time from v2 on, -1 before", v, rp2.LogAppendTime)
	}
	stored := splitBatches(t, fetchPart(t, c, 12, "lat", topicID(t, c, "lat"), 0, 0).RecordBatches)
	if len(stored) != 1 {
		t.Fatalf("Produce v%d to a LogAppendTime topic: %d batches stored; want 1", v, len(stored))
	}
	if h, err := core.CheckBatch(stored[0]); err != nil || h.Attributes&core.AttrTimestampLogAppend == 0 ||
		h.MaxTimestamp <= ts(0) || v >= 2 && h.MaxTimestamp != rp2.LogAppendTime {
		t.Errorf("Produce v%d to a LogAppendTime topic: stored %+v (%v); want the LogAppendTime attribute and the broker's append time (answered %d), not the message's %d",
			v, h, err, rp2.LogAppendTime, ts(0))
	}
	if magic == 1 {
		// A producer must not set the LogAppendTime bit itself
		// (LogValidator.validateTimestamp): refused on a LogAppendTime
		// topic, and on a CreateTime topic unless the message has a
		// timestamp, which is then taken as its create time.
		lat := legacyMsg{attrs: 8, ts: ts(0), key: []byte("k"), value: []byte("v")}
		rp := producePart(t, c, v, "lat", 0, legacySet(magic, lat))
		checkCode(t, fmt.Sprintf("Produce v%d with the LogAppendTime bit to a LogAppendTime topic", v), rp.ErrorCode, kerr.InvalidTimestamp.Code)
		createTopic(t, c, "cat", 1, nil)
		rp = producePart(t, c, v, "cat", 0, legacySet(magic, lat))
		checkCode(t, fmt.Sprintf("Produce v%d with the LogAppendTime bit and a timestamp to a CreateTime topic", v), rp.ErrorCode, 0)
		lat.ts = -1
		rp = producePart(t, c, v, "cat", 0, legacySet(magic, lat))
		checkCode(t, fmt.Sprintf("Produce v%d with the LogAppendTime bit and no timestamp to a CreateTime topic", v), rp.ErrorCode, kerr.InvalidTimestamp.Code)
		stored := splitBatches(t, fetchPart(t, c, 12, "cat", topicID(t, c, "cat"), 0, 0).RecordBatches)
		if len(stored) != 1 {
			t.Fatalf("Produce v%d with the LogAppendTime bit to a CreateTime topic: %d batches stored; want the 1 accepted", v, len(stored))
		}
		if h, err := core.CheckBatch(stored[0]); err != nil || h.Attributes&core.AttrTimestampLogAppend != 0 || h.MaxTimestamp != ts(0) {
			t.Errorf("Produce v%d with the LogAppendTime bit to a CreateTime topic: stored %+v (%v); want a CreateTime batch at the message's timestamp %d", v, h, err, ts(0))
		}
	}
}

// topicID looks a topic's id up.
func topicID(t testing.TB, c *client, name string) [16]byte {
	t.Helper()
	md, ok := metadataTopic(t, c, name)
	if !ok {
		t.Fatalf("Metadata: %s does not exist", name)
	}
	return md.TopicID
}

// testFetchLegacy: Fetch v0-3 get the log's batches converted down.
func testFetchLegacy(t *testing.T, c *client, v int16) {
	magic := int8(0)
	if v >= 2 {
		magic = 1
	}
	createTopic(t, c, "fl", 1, nil)
	id := topicID(t, c, "fl")
	plain := plainBatch("fl", 4).sized(40).bytes()
	mustProduce(t, c, 9, "fl", 0, plain)
	// A gzip batch of the same shape: its records, recompressed.
	ph, _ := core.CheckBatch(plain)
	recs, err := core.BatchRecords(plain, ph, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	gh := ph
	gh.Attributes |= 1
	gz, err := core.RebuildBatch(gh, recs, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	mustProduce(t, c, 9, "fl", 0, gz)

	check := func(what string, got []legacyMsg, from int64) {
		t.Helper()
		want := int64(8) - from
		if int64(len(got)) != want {
			t.Fatalf("%s: got %d messages; want %d", what, len(got), want)
		}
		for i, m := range got {
			off := from + int64(i)
			r := recs[off%4]
			wantTs := int64(-1)
			if magic == 1 {
				wantTs = core.RecordTimestamp(ph, &r)
			}
			if m.offset != off || string(m.key) != string(r.Key) || string(m.value) != string(r.Value) || m.ts != wantTs {
				t.Errorf("%s message %d: got offset %d key %q value %q ts %d; want %d %q %q %d", what, i, m.offset, m.key, m.value, m.ts, off, r.Key, r.Value, wantTs)
			}
		}
	}
	rp := fetchPart(t, c, v, "fl", id, 0, 0)
	checkCode(t, fmt.Sprintf("Fetch v%d", v), rp.ErrorCode, 0)
	check(fmt.Sprintf("Fetch v%d from 0", v), readLegacy(t, rp.RecordBatches, magic), 0)
	// From inside the uncompressed batch: its earlier records are not sent.
	rp = fetchPart(t, c, v, "fl", id, 0, 2)
	check(fmt.Sprintf("Fetch v%d from 2", v), readLegacy(t, rp.RecordBatches, magic), 2)

	// A partition limit below the first converted batch: v0-2 get the
	// limit's worth (a partial message, which clients skip), v3 the whole
	// first batch.
	req := fetchReq("fl", id, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 30
	resp := call[*kmsg.FetchResponse](t, c, v, req)
	data := resp.Topics[0].Partitions[0].RecordBatches
	switch {
	case v <= 2 && len(data) != 30:
		t.Errorf("Fetch v%d with PartitionMaxBytes 30: got %d bytes; want exactly 30 (a hard limit)", v, len(data))
	case v == 3 && len(readLegacy(t, data, magic)) != 4:
		t.Errorf("Fetch v3 with PartitionMaxBytes 30: got %d bytes; want the first batch's 4 messages whole", len(data))
	}

	// The gzip batch comes back as one wrapper, recompressed with the
	// batch's own codec, at the batch's last offset.
	rp = fetchPart(t, c, v, "fl", id, 0, 4)
	if outer := outerMsgs(t, rp.RecordBatches, magic); len(outer) != 1 || outer[0].attrs&7 != 1 || outer[0].offset != 7 {
		t.Errorf("Fetch v%d of the gzip batch: got %s; want one gzip wrapper at offset 7", v, describeOuter(outer))
	}

	testFetchLegacyLogAppendTime(t, c, v, plain, gz)
}

// testFetchLegacyLogAppendTime: a LogAppendTime topic's batches fetched at
// v2-3 are magic 1 messages (and wrappers) with the LogAppendTime bit and
// the batch's append time, its max timestamp, as Kafka's
// RecordsUtil.convertRecordBatch writes them; at v0-1 magic 0 messages,
// which carry neither.
func testFetchLegacyLogAppendTime(t *testing.T, c *client, v int16, batches ...[]byte) {
	magic := int8(0)
	if v >= 2 {
		magic = 1
	}
	createTopic(t, c, "fla", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	id := topicID(t, c, "fla")
	for _, b := range batches {
		mustProduce(t, c, 9, "fla", 0, b)
	}
	appendTime := map[int64]int64{} // offset: its batch's append time
	for _, sb := range splitBatches(t, fetchPart(t, c, 12, "fla", id, 0, 0).RecordBatches) {
		h, err := core.CheckBatch(sb)
		if err != nil || h.Attributes&core.AttrTimestampLogAppend == 0 || h.MaxTimestamp <= baseTimestampMs+1000 {
			t.Fatalf("stored LogAppendTime batch: %+v (%v); want the LogAppendTime attribute and the append time", h, err)
		}
		for o := h.BaseOffset; o <= h.LastOffset(); o++ {
			appendTime[int64(o)] = h.MaxTimestamp
		}
	}
	rp := fetchPart(t, c, v, "fla", id, 0, 0)
	checkCode(t, fmt.Sprintf("Fetch v%d of a LogAppendTime topic", v), rp.ErrorCode, 0)
	check := func(what string, m legacyMsg) {
		t.Helper()
		wantAttr, wantTs := int8(0), int64(-1)
		if magic == 1 {
			wantAttr, wantTs = 8, appendTime[m.offset]
		}
		if m.attrs&8 != wantAttr || m.ts != wantTs {
			t.Errorf("Fetch v%d of a LogAppendTime topic, %s at offset %d: got LogAppendTime bit %d, timestamp %d; want %d, %d",
				v, what, m.offset, m.attrs&8, m.ts, wantAttr, wantTs)
		}
	}
	msgs := readLegacy(t, rp.RecordBatches, magic)
	if len(msgs) != len(appendTime) {
		t.Fatalf("Fetch v%d of a LogAppendTime topic: got %d messages; want %d", v, len(msgs), len(appendTime))
	}
	for _, m := range msgs {
		check("message", m)
	}
	for _, m := range outerMsgs(t, rp.RecordBatches, magic) {
		if m.attrs&7 != 0 {
			check("wrapper", m)
		}
	}
}

package main

// Kafka 0.9/0.10-era clients against a real broker process: kcat
// (librdkafka) told the broker is 0.9.0.1 or 0.10.0.1 instead of asking it,
// kafka-python with api_version (0, 9) and (0, 10), and sarama with
// Version V0_9_0_0 and V0_10_0_0. Each produces, consumes and commits with
// the requests of its era (Produce v0-2, Fetch v0-2, ListOffsets v0,
// Metadata v0, the group APIs from v0), and a modern franz-go consumer
// checks what landed in the log.

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kversion"
)

// kcatLegacy is the start of a kcat command line that does not ask the
// broker for its API versions and speaks those of fallback instead (but see
// versionProxy: from 0.10.0 on, librdkafka asks all the same).
func kcatLegacy(b *broker, fallback string) []string {
	return []string{"-b", b.addr, "-X", "client.id=" + kcatClientID(fallback),
		"-X", "api.version.request=false", "-X", "broker.version.fallback=" + fallback}
}

// kcatClientID names kcat's connections for the proxy.
func kcatClientID(fallback string) string { return "legacy-kcat-" + fallback }

// parseKcatStamped reads kcat output in the format "%p %o %T %k %s\n".
func parseKcatStamped(t *testing.T, what, out string) []stamped {
	t.Helper()
	var got []stamped
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 5)
		if len(f) != 5 {
			t.Fatalf("%s: kcat output line %q: want \"PARTITION OFFSET TIMESTAMP KEY VALUE\"", what, line)
		}
		p, perr := strconv.Atoi(f[0])
		o, oerr := strconv.ParseInt(f[1], 10, 64)
		ts, terr := strconv.ParseInt(f[2], 10, 64)
		if perr != nil || oerr != nil || terr != nil {
			t.Fatalf("%s: kcat output line %q: want \"PARTITION OFFSET TIMESTAMP KEY VALUE\"", what, line)
		}
		got = append(got, stamped{seen{partition: int32(p), offset: o, key: []byte(f[3]), value: []byte(f[4])}, ts})
	}
	return got
}

// kcatProduce produces sequence numbers first..first+n-1 of tag, keyed
// "key-SEQ", with kcat speaking fallback's versions.
func kcatProduce(t *testing.T, b *broker, fallback, codec, topic string, first, n int) {
	t.Helper()
	var in strings.Builder
	for seq := first; seq < first+n; seq++ {
		fmt.Fprintf(&in, "key-%d:%s\n", seq, seqValue(topic, seq))
	}
	args := append(kcatLegacy(b, fallback), "-P", "-t", topic, "-K", ":", "-X", "message.timeout.ms=30000",
		"-X", "compression.codec="+codec, "-X", "linger.ms=5")
	runTool(t, legacyWait, in.String(), "kcat", args...)
}

// kcatGroupConsume runs kcat's balanced consumer (-G) speaking fallback's
// versions until every assigned partition reaches its end (-e); it commits
// what it consumed as it closes.
func kcatGroupConsume(t *testing.T, b *broker, fallback, group, topic string) []stamped {
	t.Helper()
	ms := func(d time.Duration) string { return strconv.Itoa(int(d.Milliseconds())) }
	args := append(kcatLegacy(b, fallback), "-G", group, "-q", "-e",
		"-X", "auto.offset.reset=earliest",
		"-X", "session.timeout.ms="+ms(groupSessionTimeout),
		"-X", "heartbeat.interval.ms="+ms(groupHeartbeat),
		"-X", "fetch.wait.max.ms="+ms(groupFetchMaxWait),
		"-f", "%p %o %T %k %s\n", topic)
	return parseKcatStamped(t, "kcat -G "+group, runTool(t, legacyWait, "", "kcat", args...))
}

// TestLegacyKcat drives kcat with api.version.request=false and
// broker.version.fallback 0.9.0.1 (Produce v1 with magic 0, Fetch v1,
// ListOffsets v0, Metadata v0, group APIs v0) and 0.10.0.1 (Produce v2 with
// magic 1 and timestamps, Fetch v2; librdkafka asks for ApiVersions from
// 0.10.0 on, and a proxy answers with Kafka 0.10.0's table, as a 0.10.0
// broker would), uncompressed and snappy. The proxy checks that kcat sent
// only requests of its version. What kcat
// produced must read back through kcat in the same version with keys,
// values and offsets (and with 0.10, the producer's timestamps), must be
// stored as contiguous v2 batches with the producer's codec and no producer
// id, and must read the same through a modern franz-go consumer. A
// balanced consumer group (-G) in the same version consumes everything and
// commits the log end; after more records, a second run of the group
// consumes exactly the new ones.
func TestLegacyKcat(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	proxy := startVersionProxy(t, "legacy-kcat-", kversion.V0_10_0())
	b := startBroker(t, append([]string{"advertised.listeners=PLAINTEXT://" + proxy.addr}, groupOverrides...)...)
	proxy.setUpstream(b.addr)
	for _, fallback := range []string{"0.9.0.1", "0.10.0.1"} {
		for _, codec := range []string{"none", "snappy"} {
			t.Run(fallback+"/"+codec, func(t *testing.T) {
				proxy.reset()
				testLegacyKcat(t, b, fallback, codec)
				got, answered := proxy.versions()
				const produce, fetch, listOffsets, metadata, offsetCommit, offsetFetch, joinGroup, apiVersions = 0, 1, 2, 3, 8, 9, 11, 18
				if fallback == "0.9.0.1" {
					checkVersionsWithin(t, "kcat "+fallback, got, kversion.V0_9_0(), map[int16]int16{produce: 1, fetch: 1,
						listOffsets: 0, metadata: 0, offsetCommit: 2, offsetFetch: 1, joinGroup: 0})
					if answered > 0 {
						t.Errorf("kcat %s: sent %d ApiVersions requests; want none (api.version.request=false)", fallback, answered)
					}
				} else {
					// The proxy answered ApiVersions; the broker saw none.
					delete(got, apiVersions)
					checkVersionsWithin(t, "kcat "+fallback, got, kversion.V0_10_0(), map[int16]int16{produce: 2, fetch: 2,
						offsetCommit: 2, offsetFetch: 1, joinGroup: 0})
					if answered == 0 {
						t.Errorf("kcat %s: sent no ApiVersions request; want librdkafka to ask (it does from 0.10.0 on) and get 0.10.0's table", fallback)
					}
				}
			})
		}
	}
}

func testLegacyKcat(t *testing.T, b *broker, fallback, codec string) {
	topic := "kcat-" + strings.ReplaceAll(fallback, ".", "") + "-" + codec
	group := topic + "-group"
	what := "kcat " + fallback + " " + codec
	const partitions, n1, n2 = 2, 1000, 200
	createTopic(t, b, topic, partitions)
	withTimestamps := fallback != "0.9.0.1"

	before := time.Now().UnixMilli()
	kcatProduce(t, b, fallback, codec, topic, 0, n1)
	after := time.Now().UnixMilli()

	// kcat reads it back in the same version.
	args := append(kcatLegacy(b, fallback), "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %T %k %s\n")
	got := parseKcatStamped(t, what, runTool(t, legacyWait, "", "kcat", args...))
	at := checkLog(t, what, unstamp(got), expect{tag: topic, exactly: n1})
	checkKeysFor(t, what, topic, got)
	p := &problems{t: t}
	for _, r := range got {
		switch {
		case withTimestamps && (r.ts < before-1000 || r.ts > after+1000):
			p.add("%s: partition %d offset %d: got timestamp %d; want the produce time, in [%d, %d] give or take a second", what, r.partition, r.offset, r.ts, before, after)
		case !withTimestamps && r.ts > 0:
			p.add("%s: partition %d offset %d: got timestamp %d; want none (magic 0 has no timestamps)", what, r.partition, r.offset, r.ts)
		}
	}
	p.done(what + " timestamps")
	if t.Failed() {
		return
	}

	// The log holds v2 batches with kcat's codec, and a modern consumer
	// reads the same records (with -1 for magic 0's missing timestamps).
	wantCodec := int16(codecNone)
	if codec == "snappy" {
		wantCodec = codecSnappy
	}
	ends := endOffsets(t, b, topic)
	for _, part := range sortedParts(ends) {
		checkLegacyBatches(t, fmt.Sprintf("%s partition %d", what, part), rawBatches(t, b, topic, part), ends[part], wantCodec)
	}
	modern := consumeAllKgo(t, b, what+", modern consumer", topic)
	if !withTimestamps {
		for i := range got {
			got[i].ts = -1
		}
	}
	checkSameRecords(t, what+" read by a modern franz-go consumer", modern, got, true)

	// A balanced consumer group in the same version.
	acked := map[int]pos{}
	for seq, where := range at {
		acked[seq] = where
	}
	g1 := kcatGroupConsume(t, b, fallback, group, topic)
	checkConsumed(t, what+" group, first run", unstamp(g1), topic, acked, nil, ends)
	checkCommitted(t, what+" group, first run", b, group, topic, ends)
	if t.Failed() {
		return
	}
	kcatProduce(t, b, fallback, codec, topic, n1, n2)
	ends2 := endOffsets(t, b, topic)
	all := consumeAllKgo(t, b, what+", modern consumer", topic)
	for _, r := range all {
		if seq, ok := parseSeq(topic, r.value); ok {
			acked[seq] = pos{r.partition, r.offset}
		}
	}
	if len(acked) != n1+n2 {
		t.Fatalf("%s: got %d records after producing %d more; want %d", what, len(acked), n2, n1+n2)
	}
	g2 := kcatGroupConsume(t, b, fallback, group, topic)
	checkConsumed(t, what+" group, second run", unstamp(g2), topic, acked, ends, ends2)
	checkCommitted(t, what+" group, second run", b, group, topic, ends2)
	t.Logf("%s: %d records, then %d more; the group's second run read %d", what, n1, n2, len(g2))
}

// kafkaPythonScript produces or consumes with kafka-python pinned to an
// api_version. Its arguments: mode, broker, topic, api_version ("0.9").
//
//	produce FIRST N TS_BASE: gzip, acks=all; value "TOPIC SEQ",
//	  key "key-SEQ", timestamp TS_BASE+SEQ when TS_BASE > 0. Prints
//	  {"acks": [[seq, partition, offset], ...], "errors": [...]}.
//	consume GROUP WANT: a group member that polls until it has WANT records
//	  (or 30 s pass), commits synchronously, closes and prints
//	  {"records": [[p, o, key, value, ts], ...], "committed": {p: o}}.
const kafkaPythonScript = `
import json, sys, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
mode, addr, topic = sys.argv[1], sys.argv[2], sys.argv[3]
ver = tuple(int(x) for x in sys.argv[4].split("."))
client_id = "legacy-kafka-python-" + sys.argv[4]
if mode == "produce":
    first, n, ts_base = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    p = KafkaProducer(bootstrap_servers=addr, api_version=ver, compression_type="gzip", acks="all",
                      linger_ms=5, retries=0, client_id=client_id)
    futs = []
    for seq in range(first, first + n):
        value = ("%s %09d" % (topic, seq)).encode()
        ts = ts_base + seq if ts_base > 0 else None
        futs.append((seq, p.send(topic, key=b"key-%d" % seq, value=value, timestamp_ms=ts)))
    p.flush(30)
    acks, errors = [], []
    for seq, f in futs:
        try:
            md = f.get(timeout=30)
            acks.append([seq, md.partition, md.offset])
        except Exception as e:
            errors.append("seq %d: %r" % (seq, e))
    p.close(10)
    print(json.dumps({"acks": acks, "errors": errors[:20]}))
else:
    group, want = sys.argv[5], int(sys.argv[6])
    c = KafkaConsumer(topic, bootstrap_servers=addr, api_version=ver, group_id=group, client_id=client_id,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=250, fetch_max_wait_ms=250)
    records = []
    deadline = time.monotonic() + 30
    while len(records) < want and time.monotonic() < deadline:
        for tp, ms in c.poll(timeout_ms=200).items():
            for m in ms:
                ts = m.timestamp if m.timestamp is not None else -1
                records.append([m.partition, m.offset, m.key.decode(), m.value.decode(), ts])
    c.commit()
    committed = {}
    for p in c.assignment():
        committed[p.partition] = c.committed(p)
    c.close()
    print(json.dumps({"records": records, "committed": committed}))
`

// kafkaPythonProduce produces sequence numbers first..first+n-1 with
// kafka-python pinned to ver and returns where each was acknowledged.
func kafkaPythonProduce(t *testing.T, py string, b *broker, topic, ver string, first, n int, tsBase int64) map[int]pos {
	t.Helper()
	out := runTool(t, 2*legacyWait, "", py, "-c", kafkaPythonScript, "produce", b.addr, topic, ver,
		strconv.Itoa(first), strconv.Itoa(n), strconv.FormatInt(tsBase, 10))
	var res struct {
		Acks   [][3]int64 `json:"acks"`
		Errors []string   `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("kafka-python %s producer output: got %v parsing %.200q; want one JSON object", ver, err, out)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("kafka-python %s producer: got errors %q; want none", ver, res.Errors)
	}
	acked := map[int]pos{}
	for _, a := range res.Acks {
		acked[int(a[0])] = pos{int32(a[1]), a[2]}
	}
	if len(acked) != n {
		t.Fatalf("kafka-python %s producer: got %d acknowledgements; want %d", ver, len(acked), n)
	}
	return acked
}

// kafkaPythonGroupConsume runs one kafka-python group member pinned to ver
// until it has want records; it returns them and what it read back as
// committed.
func kafkaPythonGroupConsume(t *testing.T, py string, b *broker, topic, ver, group string, want int) ([]stamped, map[int32]int64) {
	t.Helper()
	out := runTool(t, 2*legacyWait, "", py, "-c", kafkaPythonScript, "consume", b.addr, topic, ver, group, strconv.Itoa(want))
	var res struct {
		Records   [][5]any         `json:"records"`
		Committed map[string]int64 `json:"committed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("kafka-python %s consumer output: got %v parsing %.200q; want one JSON object", ver, err, out)
	}
	var got []stamped
	for _, r := range res.Records {
		p, _ := r[0].(float64)
		o, _ := r[1].(float64)
		k, _ := r[2].(string)
		v, _ := r[3].(string)
		ts, _ := r[4].(float64)
		got = append(got, stamped{seen{partition: int32(p), offset: int64(o), key: []byte(k), value: []byte(v)}, int64(ts)})
	}
	committed := map[int32]int64{}
	for p, o := range res.Committed {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("kafka-python %s consumer: committed partition %q: %v", ver, p, err)
		}
		committed[int32(n)] = o
	}
	return got, committed
}

// TestLegacyKafkaPython drives kafka-python with api_version (0, 9) and
// (0, 10): a gzip producer (with (0, 10), explicit timestamps), whose
// records a modern consumer reads back at the acknowledged offsets with
// keys, values and timestamps, stored as gzip v2 batches; and a group
// consumer that reads everything, commits, and reads back its commits (the
// modern OffsetFetch must see the same). A proxy checks that kafka-python
// sent only requests of its version. After a clean broker restart and
// more records, a new member of the group must read exactly the new ones.
func TestLegacyKafkaPython(t *testing.T) {
	py, err := pythonWithModule("kafka")
	requireTool(t, "python3 with kafka (kafka-python)", err)
	proxy := startVersionProxy(t, "legacy-kafka-python-", nil)
	b := startBroker(t, append([]string{"advertised.listeners=PLAINTEXT://" + proxy.addr}, groupOverrides...)...)
	proxy.setUpstream(b.addr)
	for _, c := range []struct {
		ver            string
		pin            *kversion.Versions
		produce, fetch int16
	}{{"0.9", kversion.V0_9_0(), 1, 1}, {"0.10", kversion.V0_10_0(), 2, 2}} {
		t.Run(c.ver, func(t *testing.T) {
			proxy.reset()
			testLegacyKafkaPython(t, py, b, c.ver)
			got, _ := proxy.versions()
			checkVersionsWithin(t, "kafka-python api_version "+c.ver, got, c.pin, map[int16]int16{0: c.produce, 1: c.fetch, 11: 0})
		})
	}
}

// plainValue is the value seqValue gives, as a function of seq.
func plainValue(tag string) func(int) string {
	return func(seq int) string { return seqValue(tag, seq) }
}

func testLegacyKafkaPython(t *testing.T, py string, b *broker, ver string) {
	topic := "kafka-python-" + strings.ReplaceAll(ver, ".", "")
	group := topic + "-group"
	what := "kafka-python api_version " + ver
	const partitions, n1, n2 = 2, 600, 150
	createTopic(t, b, topic, partitions)
	var tsBase int64
	var ts func(int) int64
	if ver != "0.9" {
		tsBase = time.Now().Add(-time.Hour).UnixMilli()
		ts = func(seq int) int64 { return tsBase + int64(seq) }
	}

	acked1 := kafkaPythonProduce(t, py, b, topic, ver, 0, n1, tsBase)
	ends1 := endOffsets(t, b, topic)
	for _, part := range sortedParts(ends1) {
		checkLegacyBatches(t, fmt.Sprintf("%s partition %d", what, part), rawBatches(t, b, topic, part), ends1[part], codecGzip)
	}
	modern := consumeAllKgo(t, b, what+", modern consumer", topic)
	checkSameRecords(t, what+" producer, read by a modern consumer", modern, asStamped(acked1, plainValue(topic), ts), true)

	got1, committed1 := kafkaPythonGroupConsume(t, py, b, topic, ver, group, n1)
	checkConsumed(t, what+" group, first run", unstamp(got1), topic, acked1, nil, ends1)
	checkSameRecords(t, what+" group, first run", got1, asStamped(acked1, plainValue(topic), ts), true)
	if fmt.Sprint(committed1) != fmt.Sprint(ends1) {
		t.Errorf("%s group, first run: the consumer read back committed offsets %v; want %v", what, committed1, ends1)
	}
	checkCommitted(t, what+" group, first run", b, group, topic, ends1)
	if t.Failed() {
		return
	}

	b.Stop()
	b.Restart()
	acked2 := kafkaPythonProduce(t, py, b, topic, ver, n1, n2, tsBase)
	ends2 := endOffsets(t, b, topic)
	got2, committed2 := kafkaPythonGroupConsume(t, py, b, topic, ver, group, n2)
	checkConsumed(t, what+" group after a broker restart", unstamp(got2), topic, mergeAcked(acked1, acked2), ends1, ends2)
	checkSameRecords(t, what+" group after a broker restart", got2, asStamped(acked2, plainValue(topic), ts), true)
	if fmt.Sprint(committed2) != fmt.Sprint(ends2) {
		t.Errorf("%s group after a broker restart: the consumer read back committed offsets %v; want %v", what, committed2, ends2)
	}
	checkCommitted(t, what+" group after a broker restart", b, group, topic, ends2)
}

// TestLegacySarama drives sarama with Version V0_9_0_0 (Produce v0 with
// magic 0, Fetch v1, ListOffsets v0, OffsetCommit v2, OffsetFetch v1) and
// V0_10_0_0 (Produce v2 with magic 1, Fetch v2): SyncProducer records read
// back by a PartitionConsumer of the same version at their acknowledged
// offsets with keys and values; with 0.10, explicit message timestamps
// round-trip through the 0.10 consumer and a modern one. With 0.9, the
// OffsetManager commits offsets and metadata that a second OffsetManager
// and a modern OffsetFetch read back. A proxy checks that sarama sent only
// requests of its version.
func TestLegacySarama(t *testing.T) {
	proxy := startVersionProxy(t, "legacy-sarama-", nil)
	b := startBroker(t, "advertised.listeners=PLAINTEXT://"+proxy.addr)
	proxy.setUpstream(b.addr)
	const produce, fetch, listOffsets, offsetCommit, offsetFetch = 0, 1, 2, 8, 9
	t.Run("V0_9_0_0", func(t *testing.T) {
		captureSaramaLog(t)
		proxy.reset()
		defer func() {
			got, _ := proxy.versions()
			checkVersionsWithin(t, "sarama V0_9_0_0", got, kversion.V0_9_0(), map[int16]int16{produce: 0, fetch: 1,
				listOffsets: 0, offsetCommit: 2, offsetFetch: 1})
		}()
		const topic, n = "sarama-09", 600
		createTopic(t, b, topic, 2)
		cfg := legacySaramaConfig(sarama.V0_9_0_0, "legacy-sarama-09")
		acked := saramaProduce(t, b, cfg, topic, topic, 0, n, nil)
		want := asStamped(acked, franzValue(topic), nil)
		got := saramaConsumeAll(t, b, cfg, topic)
		checkLog(t, "sarama 0.9 consumer", unstamp(got), expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
		checkSameRecords(t, "sarama 0.9 consumer", got, want, true)
		checkSameRecords(t, "sarama 0.9 producer, read by a modern consumer", consumeAllKgo(t, b, "modern consumer", topic), want, true)
		ends := endOffsets(t, b, topic)
		for _, part := range sortedParts(ends) {
			checkLegacyBatches(t, fmt.Sprintf("sarama 0.9 partition %d", part), rawBatches(t, b, topic, part), ends[part], codecNone)
		}

		// OffsetManager: commit, then read back with a new one and a modern client.
		const group = "sarama-09-offsets"
		commit := map[int32]int64{0: ends[0] - 7, 1: ends[1]}
		saramaCommit(t, b, cfg, group, topic, commit, "sarama-09-meta")
		if got, meta := saramaFetchCommitted(t, b, cfg, group, topic, 2); fmt.Sprint(got) != fmt.Sprint(commit) || !allEqual(meta, "sarama-09-meta") {
			t.Errorf("sarama 0.9 OffsetManager after a commit: got offsets %v, metadata %q; want %v, sarama-09-meta", got, meta, commit)
		}
		checkCommittedWithMeta(t, "sarama 0.9 commit read by a modern client", b, group, topic, commit, "sarama-09-meta")
	})
	t.Run("V0_10_0_0", func(t *testing.T) {
		captureSaramaLog(t)
		proxy.reset()
		defer func() {
			got, _ := proxy.versions()
			checkVersionsWithin(t, "sarama V0_10_0_0", got, kversion.V0_10_0(), map[int16]int16{produce: 2, fetch: 2})
		}()
		const topic, n = "sarama-010", 600
		createTopic(t, b, topic, 2)
		cfg := legacySaramaConfig(sarama.V0_10_0_0, "legacy-sarama-010")
		base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
		ts := func(seq int) time.Time { return base.Add(time.Duration(seq*37) * time.Millisecond) }
		acked := saramaProduce(t, b, cfg, topic, topic, 0, n, ts)
		want := asStamped(acked, franzValue(topic), func(seq int) int64 { return ts(seq).UnixMilli() })
		got := saramaConsumeAll(t, b, cfg, topic)
		checkLog(t, "sarama 0.10 consumer", unstamp(got), expect{tag: topic, acked: acked, exactly: n, value: franzValue(topic)})
		checkSameRecords(t, "sarama 0.10 consumer", got, want, true)
		checkSameRecords(t, "sarama 0.10 producer, read by a modern consumer", consumeAllKgo(t, b, "modern consumer", topic), want, true)
	})
}

// saramaOffsetManager opens a sarama client and an OffsetManager of group
// on it; the caller closes both.
func saramaOffsetManager(t *testing.T, b *broker, cfg *sarama.Config, group string) (sarama.Client, sarama.OffsetManager) {
	t.Helper()
	client, err := sarama.NewClient([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama %v: NewClient: %v", cfg.Version, err)
	}
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		client.Close()
		t.Fatalf("sarama %v: NewOffsetManagerFromClient(%s): %v", cfg.Version, group, err)
	}
	return client, om
}

// saramaCommit commits offsets of topic for group with sarama's
// OffsetManager and closes it.
func saramaCommit(t *testing.T, b *broker, cfg *sarama.Config, group, topic string, offsets map[int32]int64, metadata string) {
	t.Helper()
	client, om := saramaOffsetManager(t, b, cfg, group)
	defer client.Close()
	var poms []sarama.PartitionOffsetManager
	for _, p := range sortedParts(offsets) {
		pom, err := om.ManagePartition(topic, p)
		if err != nil {
			t.Fatalf("sarama %v: ManagePartition(%s, %d): %v", cfg.Version, topic, p, err)
		}
		pom.MarkOffset(offsets[p], metadata)
		poms = append(poms, pom)
	}
	om.Commit()
	for _, pom := range poms {
		closeWithin(t, "a sarama PartitionOffsetManager", pom.Close)
		for err := range pom.Errors() {
			t.Errorf("sarama %v: committing for %s: got %v; want no error", cfg.Version, group, err)
		}
	}
	closeWithin(t, "the sarama OffsetManager", om.Close)
}

// saramaFetchCommitted reads group's committed offsets and metadata of
// partitions 0..partitions-1 with a new sarama OffsetManager.
func saramaFetchCommitted(t *testing.T, b *broker, cfg *sarama.Config, group, topic string, partitions int32) (map[int32]int64, []string) {
	t.Helper()
	client, om := saramaOffsetManager(t, b, cfg, group)
	defer client.Close()
	defer om.Close()
	got := map[int32]int64{}
	var meta []string
	for p := range partitions {
		pom, err := om.ManagePartition(topic, p)
		if err != nil {
			t.Fatalf("sarama %v: ManagePartition(%s, %d): %v", cfg.Version, topic, p, err)
		}
		o, m := pom.NextOffset()
		got[p] = o
		meta = append(meta, m)
		pom.AsyncClose()
	}
	return got, meta
}

func allEqual(ss []string, want string) bool {
	for _, s := range ss {
		if s != want {
			return false
		}
	}
	return len(ss) > 0
}

// checkCommittedWithMeta checks group's committed offsets of topic and
// their metadata with a modern OffsetFetch.
func checkCommittedWithMeta(t *testing.T, what string, b *broker, group, topic string, want map[int32]int64, metadata string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), legacyWait)
	defer cancel()
	resps, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("%s: OffsetFetch %s: %v", what, group, err)
	}
	got := map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Topic != topic {
			return
		}
		if o.Err != nil || o.Metadata != metadata {
			t.Errorf("%s: %s/%d: got error %v, metadata %q; want none, %q", what, o.Topic, o.Partition, o.Err, o.Metadata, metadata)
		}
		got[o.Partition] = o.At
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: committed offsets of %s: got %v; want %v", what, group, got, want)
	}
}

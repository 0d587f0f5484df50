package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"

	"cloudkafka/internal/zktest"
)

// batchOverheadBytes is a v2 record batch's header (base offset through
// record count): franz-go's batch metrics count the records' bytes
// without it, while Kafka's BytesInPerSec and BytesOutPerSec count whole
// batches.
const batchOverheadBytes = 61

// scrape fetches the admin listener's path and returns status and body.
func scrape(t *testing.T, admin, path string) (int, string) {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + admin + path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", admin, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s%s: reading the body: %v", admin, path, err)
	}
	return resp.StatusCode, string(body)
}

// metricValues scrapes /metrics, parses it as Prometheus does, and
// returns each sample by name and labels ("name{k=v,...}", labels
// sorted).
func metricValues(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	code, body := scrape(t, admin, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: got %d; want 200\n%s", code, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key+"count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// batchTally sums what franz-go's hooks report of batches written and
// read.
type batchTally struct {
	mu                                    sync.Mutex
	producedBytes, producedRecords        int
	fetchedBytes, fetchedRecords, batches int
}

func (b *batchTally) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.producedBytes += m.CompressedBytes + batchOverheadBytes
	b.producedRecords += m.NumRecords
}

func (b *batchTally) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fetchedBytes += m.CompressedBytes + batchOverheadBytes
	b.fetchedRecords += m.NumRecords
	b.batches++
}

func (b *batchTally) get() (pb, pr, fb, fr int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.producedBytes, b.producedRecords, b.fetchedBytes, b.fetchedRecords
}

// produceTallied produces n records to partition 0 of topic, in several
// batches, and waits for every acknowledgement.
func produceTallied(t *testing.T, b *broker, tally *batchTally, topic string, from, n int) {
	t.Helper()
	cl := newClient(t, b, kgo.WithHooks(tally), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := from; i < from+n; i += 10 {
		var rs []*kgo.Record
		for j := i; j < min(i+10, from+n); j++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: 0, Value: []byte(fmt.Sprintf("metrics-%06d", j))})
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
}

// TestMetricsProduceConsume: a real broker process's /metrics, scraped
// during and after a produce and consume run with franz-go, moves
// bytes and messages in by exactly the batches the producer's hooks
// counted (whole batches, as Kafka's BytesInPerSec), bytes out by
// exactly what the consumer's hooks counted; a group stopped part way
// exports its lag as the records it has left to read on the partition
// it committed, and nothing on the partition it never committed; the
// page parses as Prometheus text; an unknown path is a 404.
func TestMetricsProduceConsume(t *testing.T) {
	admin := freeAddr(t)
	b := startBroker(t, "admin.listener="+admin, "group.initial.rebalance.delay.ms=0")
	createTopic(t, b, "m", 2)
	tally := &batchTally{}
	key := func(name, labels string) string { return name + "{" + labels + "}" }
	bytesIn := key("kafka_server_brokertopicmetrics_bytesin_total", "topic=m")
	msgsIn := key("kafka_server_brokertopicmetrics_messagesin_total", "topic=m")
	bytesOut := key("kafka_server_brokertopicmetrics_bytesout_total", "topic=m")

	before := metricValues(t, admin)
	produceTallied(t, b, tally, "m", 0, 120)
	during := metricValues(t, admin)
	pb, pr, _, _ := tally.get()
	if got := during[bytesIn] - before[bytesIn]; got != float64(pb) {
		t.Errorf("bytes in after 120 records: moved by %v; want %d (the producer's batches)", got, pb)
	}
	if got := during[msgsIn] - before[msgsIn]; got != float64(pr) || pr != 120 {
		t.Errorf("messages in after 120 records: moved by %v; want %d (the producer counted %d)", got, 120, pr)
	}
	produceTallied(t, b, tally, "m", 120, 80)

	// A consumer reads every record: bytes out moves by what it fetched
	// (its next fetch, in flight, finds nothing new).
	reader := newClient(t, b, kgo.WithHooks(tally), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"m": {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxBytes(2000), kgo.FetchMaxPartitionBytes(2000))
	if n := pollN(t, reader, 200); n != 200 {
		t.Fatalf("the reader got %d records; want 200", n)
	}
	read := metricValues(t, admin)
	reader.Close()
	_, _, fb, fr := tally.get()
	if got := read[bytesOut] - before[bytesOut]; got != float64(fb) || fr != 200 {
		t.Errorf("bytes out after reading 200 records: moved by %v; want %d (the consumer's fetched batches, %d records)", got, fb, fr)
	}

	// A group reads and commits 150 records of partition 0, then stops.
	const committed = 150
	group := newClient(t, b, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("m"), kgo.DisableAutoCommit(),
		kgo.FetchMaxBytes(2000), kgo.FetchMaxPartitionBytes(2000))
	last := pollUpTo(t, group, committed)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := group.CommitRecords(ctx, last); err != nil {
		t.Fatalf("commit: %v", err)
	}
	group.Close()
	after := metricValues(t, admin)
	pb, pr, _, _ = tally.get()
	if got := after[bytesIn] - before[bytesIn]; got != float64(pb) {
		t.Errorf("bytes in after the run: moved by %v; want %d", got, pb)
	}
	if got := after[msgsIn] - before[msgsIn]; got != float64(pr) || pr != 200 {
		t.Errorf("messages in after the run: moved by %v; want 200 (the producer counted %d)", got, pr)
	}
	lag := key("kafka_consumergroup_lag", "consumergroup=g,partition=0,topic=m")
	if got, ok := after[lag]; !ok || got != 200-committed {
		t.Errorf("%s: got %v (present %v); want %d, the records the stopped group has left", lag, got, ok, 200-committed)
	}
	if got := after[key("kafka_consumergroup_current_offset", "consumergroup=g,partition=0,topic=m")]; got != committed {
		t.Errorf("committed offset of g on m-0: got %v; want %d", got, committed)
	}
	if got, ok := after[key("kafka_consumergroup_lag", "consumergroup=g,partition=1,topic=m")]; ok {
		t.Errorf("lag of g on m-1, where it never committed: got %v; want no series", got)
	}
	if got := after[key("kafka_log_log_logendoffset", "partition=0,topic=m")]; got != 200 {
		t.Errorf("log end offset of m-0: got %v; want 200", got)
	}
	if after[key("kafka_log_log_size", "partition=0,topic=m")] < float64(pb) {
		t.Errorf("log size of m-0: got %v; want at least the %d bytes produced", after[key("kafka_log_log_size", "partition=0,topic=m")], pb)
	}
	if got := after[key("kafka_network_requestmetrics_requests_total", "request=Produce,version="+produceVersion(after))]; got < 20 {
		t.Errorf("produce requests counted: got %v; want at least the 20 sent", got)
	}
	if code, body := scrape(t, admin, "/no/such/page"); code != 404 || len(body) > 200 {
		t.Errorf("GET /no/such/page: got %d %q; want 404 with a short message", code, body)
	}
}

// pollN polls until n records came or 60s passed, and returns how many
// came.
func pollN(t *testing.T, cl *kgo.Client, n int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := 0
	for got < n && ctx.Err() == nil {
		fs := cl.PollRecords(ctx, n-got)
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				t.Fatalf("consuming %s-%d: %v", topic, p, err)
			}
		})
		got += len(fs.Records())
	}
	return got
}

// pollUpTo polls exactly n records (within 60s) and returns the last.
func pollUpTo(t *testing.T, cl *kgo.Client, n int) *kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last *kgo.Record
	for got := 0; got < n; {
		fs := cl.PollRecords(ctx, n-got)
		if ctx.Err() != nil {
			t.Fatalf("the group read %d records in 60s; want %d", got, n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("consuming %s-%d: %v", topic, p, err) })
		rs := fs.Records()
		got += len(rs)
		if len(rs) > 0 {
			last = rs[len(rs)-1]
		}
	}
	return last
}

// produceVersion finds the Produce version franz-go used, from the
// requests counted.
func produceVersion(values map[string]float64) string {
	for k := range values {
		if rest, ok := strings.CutPrefix(k, "kafka_network_requestmetrics_requests_total{request=Produce,version="); ok {
			v := strings.TrimSuffix(rest, "}")
			if _, err := strconv.Atoi(v); err == nil {
				return v
			}
		}
	}
	return "none"
}

// TestMetricsReadyzAfterRegistration: while the broker cannot reach
// ZooKeeper it is not registered, and /readyz answers 503 with a reason
// (while /healthz answers 200); once ZooKeeper is up and the broker
// registered, /readyz answers 200.
func TestMetricsReadyzAfterRegistration(t *testing.T) {
	zktest.Require(t)
	zkAddr := freeAddr(t)
	_, portStr, _ := strings.Cut(zkAddr, ":")
	port, _ := strconv.Atoi(portStr)
	admin := freeAddr(t)
	startBroker(t, "admin.listener="+admin, "zookeeper.connect="+zkAddr, "zookeeper.connection.timeout.ms=300", "zookeeper.session.timeout.ms=6000")
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, err := tryScrape(admin, "/healthz")
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz: got %d (%v) for 10s; want 200 while the process runs", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := scrape(t, admin, "/readyz"); code != 503 || !strings.Contains(body, "not ready") || strings.Count(body, "\n") != 1 {
		t.Errorf("/readyz with ZooKeeper down: got %d %q; want 503 with a one-line reason", code, body)
	}
	zktest.StartOn(t, port)
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, body := scrape(t, admin, "/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz 30s after ZooKeeper came up: got %d %q; want 200", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tryScrape is scrape without failing the test on a connection error.
func tryScrape(admin, path string) (int, string, error) {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + admin + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

package main

// Dynamic configuration end to end: a real broker process changed at
// run time through kadm (IncrementalAlterConfigs) and sarama's
// ClusterAdmin (AlterConfigs and IncrementalAlterConfigs), the effects
// seen by franz-go and kcat clients, and every change still in effect
// after a restart.

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDynamicConfigEndToEnd(t *testing.T) {
	captureSaramaLog(t)
	b := startBroker(t, "log.retention.check.interval.ms=300")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(newClient(t, b))
	createTopicWithConfigs(t, b, "dyn", map[string]string{"max.message.bytes": "100000"})
	createTopic(t, b, "plain", 1)

	scfg := sarama.NewConfig()
	scfg.Version = sarama.V2_8_0_0
	scfg.Net.DialTimeout = 5 * time.Second
	sadm, err := sarama.NewClusterAdmin([]string{b.addr}, scfg)
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	defer sadm.Close()

	producer := newClient(t, b, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(3),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.MaxBufferedBytes(16<<20))
	produce := func(topic string, size int) error {
		rec := &kgo.Record{Topic: topic, Value: []byte(strings.Repeat("v", size))}
		return producer.ProduceSync(ctx, rec).FirstErr()
	}
	topicConfig := func(topic, name string) (string, string) {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			t.Fatalf("DescribeTopicConfigs %s: %v", topic, err)
		}
		rc, err := rcs.On(topic, nil)
		if err != nil || rc.Err != nil {
			t.Fatalf("DescribeTopicConfigs %s: %v %v", topic, err, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == name {
				return c.MaybeValue(), c.Source.String()
			}
		}
		t.Fatalf("DescribeTopicConfigs %s: no %s", topic, name)
		return "", ""
	}

	// max.message.bytes: a 200 KB batch is refused, then let in once the
	// limit is raised (sarama's legacy AlterConfigs replaces the set).
	if err := produce("dyn", 200_000); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("200 KB record to dyn under max.message.bytes=100000: got %v; want MESSAGE_TOO_LARGE", err)
	}
	big := "400000"
	if err := sadm.AlterConfig(sarama.TopicResource, "dyn", map[string]*string{"max.message.bytes": &big}, false); err != nil {
		t.Fatalf("sarama AlterConfig dyn max.message.bytes=400000: %v", err)
	}
	if err := produce("dyn", 200_000); err != nil {
		t.Fatalf("200 KB record to dyn under max.message.bytes=400000: got %v; want it written", err)
	}

	// A broker-wide default applies to a topic without an override
	// (sarama's IncrementalAlterConfigs on the cluster-wide resource).
	if err := produce("plain", 200_000); err != nil {
		t.Fatalf("200 KB record to plain under the default message.max.bytes: got %v; want it written", err)
	}
	small := "150000"
	if err := sadm.IncrementalAlterConfig(sarama.BrokerResource, "", map[string]sarama.IncrementalAlterConfigsEntry{
		"message.max.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &small}}, false); err != nil {
		t.Fatalf("sarama IncrementalAlterConfig cluster-wide message.max.bytes=150000: %v", err)
	}
	if err := produce("plain", 200_000); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("200 KB record to plain under the cluster-wide message.max.bytes=150000: got %v; want MESSAGE_TOO_LARGE", err)
	}
	if v, src := topicConfig("plain", "max.message.bytes"); v != small || src != "DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("plain max.message.bytes: got %s from %s; want %s from DYNAMIC_DEFAULT_BROKER_CONFIG", v, src, small)
	}
	if err := produce("dyn", 200_000); err != nil { // its override still wins
		t.Errorf("200 KB record to dyn (override 400000 over the default 150000): got %v; want it written", err)
	}

	// Bad input changes nothing.
	for _, bad := range []kadm.AlterConfig{{Name: "no.such.config", Value: kadm.StringPtr("1")}, {Name: "retention.ms", Value: kadm.StringPtr("soon")}} {
		resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{bad}, "dyn")
		if err != nil {
			t.Fatalf("AlterTopicConfigs dyn %s: %v", bad.Name, err)
		}
		if r, _ := resps.On("dyn", nil); !errors.Is(r.Err, kerr.InvalidConfig) {
			t.Errorf("AlterTopicConfigs dyn %s=%s: got %v; want INVALID_CONFIG", bad.Name, *bad.Value, r.Err)
		}
	}

	// retention.ms lowered on a live topic: old segments go within the
	// check interval, as a kcat consumer from the beginning sees.
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: kadm.StringPtr("2048")}}, "dyn")
	if err == nil {
		_, err = resps.On("dyn", func(r *kadm.AlterConfigsResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatalf("AlterTopicConfigs dyn segment.bytes=2048: %v", err)
	}
	for i := 0; i < 40; i++ {
		if err := produce("dyn", 1000); err != nil {
			t.Fatalf("producing to dyn: %v", err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // the records age past the retention set next
	resps, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "dyn")
	if err == nil {
		_, err = resps.On("dyn", func(r *kadm.AlterConfigsResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatalf("AlterTopicConfigs dyn retention.ms=1000: %v", err)
	}
	start := int64(0)
	for deadline := time.Now().Add(20 * time.Second); start == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		starts, err := adm.ListStartOffsets(ctx, "dyn")
		if err != nil {
			t.Fatalf("ListStartOffsets dyn: %v", err)
		}
		if o, ok := starts.Lookup("dyn", 0); ok {
			start = o.Offset
		}
	}
	if start == 0 {
		t.Fatalf("dyn: the log still starts at 0 20 s after retention.ms=1000; want old segments deleted")
	}
	kcat, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	out := runTool(t, 30*time.Second, "", kcat, "-b", b.addr, "-C", "-t", "dyn", "-p", "0", "-o", "beginning", "-e", "-f", "%o\n")
	first, err := strconv.ParseInt(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0], 10, 64)
	if err != nil || first < start {
		t.Errorf("kcat from the beginning of dyn: first offset %q; want at least the log start %d", out, start)
	}

	// Deleting the small segment size lets large batches in again.
	resps, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "segment.bytes"}}, "dyn")
	if err == nil {
		_, err = resps.On("dyn", func(r *kadm.AlterConfigsResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatalf("AlterTopicConfigs dyn delete segment.bytes: %v", err)
	}

	// Every change is still in effect after a restart.
	b.Stop()
	b.Restart()
	adm = kadm.NewClient(newClient(t, b))
	producer = newClient(t, b, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(3),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.MaxBufferedBytes(16<<20))
	for _, want := range []struct{ topic, name, value, source string }{
		{"dyn", "retention.ms", "1000", "DYNAMIC_TOPIC_CONFIG"},
		{"dyn", "max.message.bytes", "400000", "DYNAMIC_TOPIC_CONFIG"},
		{"dyn", "segment.bytes", "1073741824", "DEFAULT_CONFIG"},
		{"plain", "max.message.bytes", small, "DYNAMIC_DEFAULT_BROKER_CONFIG"},
	} {
		if v, src := topicConfig(want.topic, want.name); v != want.value || src != want.source {
			t.Errorf("after a restart, %s %s: got %s from %s; want %s from %s", want.topic, want.name, v, src, want.value, want.source)
		}
	}
	if err := produce("plain", 200_000); !errors.Is(err, kerr.MessageTooLarge) {
		t.Errorf("after a restart, 200 KB record to plain: got %v; want MESSAGE_TOO_LARGE", err)
	}
	if err := produce("dyn", 200_000); err != nil {
		t.Errorf("after a restart, 200 KB record to dyn: got %v; want it written", err)
	}
}

// TestCleanupPolicyChangedLive: a topic written with the default delete
// policy, then switched to compact while the broker runs, is compacted:
// a reader from the start sees only the latest values of its keys (and
// the segment the cleaner may not touch yet).
func TestCleanupPolicyChangedLive(t *testing.T) {
	b := startBroker(t, "log.cleaner.backoff.ms=50")
	createTopicWithConfigs(t, b, "kv", map[string]string{"segment.bytes": "2048"})
	cl := newClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const records, keys = 200, 5
	for i := 0; i < records; i++ {
		rec := &kgo.Record{Topic: "kv", Key: []byte(fmt.Sprintf("key-%d", i%keys)), Value: []byte(seqValue("v", i) + strings.Repeat(".", 80))}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	if got := len(consumeAll(t, b, "kv", 30*time.Second)); got != records {
		t.Fatalf("before the change: read %d records; want all %d (delete policy keeps them)", got, records)
	}
	adm := kadm.NewClient(cl)
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
		{Name: "min.cleanable.dirty.ratio", Value: kadm.StringPtr("0.01")},
		{Name: "segment.ms", Value: kadm.StringPtr("100")}}, "kv")
	if err == nil {
		_, err = resps.On("kv", func(r *kadm.AlterConfigsResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatalf("AlterTopicConfigs kv cleanup.policy=compact: %v", err)
	}
	// A record more rolls the active segment (segment.ms) so that what
	// came before it may be cleaned.
	time.Sleep(200 * time.Millisecond)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "kv", Key: []byte("key-0"), Value: []byte("last")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	var got []seen
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if got = consumeAll(t, b, "kv", 30*time.Second); len(got) < records/4 {
			break
		}
	}
	if len(got) >= records/4 {
		t.Fatalf("30 s after cleanup.policy=compact: %d of %d records left; want the old values of the %d keys cleaned away", len(got), records+1, keys)
	}
	latest := map[string]string{}
	for _, r := range got {
		latest[string(r.key)] = string(r.value)
	}
	if len(latest) != keys || latest["key-0"] != "last" || !strings.HasPrefix(latest["key-4"], seqValue("v", records-1)) {
		t.Errorf("after compaction: latest values %v; want every key's last value", latest)
	}
}

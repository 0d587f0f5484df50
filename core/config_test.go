package core_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// Kafka's verdicts at start-up.
const (
	kafkaStarts  = true
	kafkaRefuses = false
)

// kafkaPropertyVerdicts lists broker properties and values with what
// Apache Kafka (a broker with ZooKeeper) decides when it starts: its
// ConfigDef types and ranges (KafkaConfig, ServerConfigs, ServerLogConfigs,
// SocketServerConfigs, ReplicationConfigs, ZkConfigs, GroupCoordinatorConfig,
// TransactionLogConfig, and LogConfig for the topic defaults) and
// KafkaConfig.validateValues. INT is a 32-bit integer, SHORT 16-bit, LONG
// 64-bit.
var kafkaPropertyVerdicts = []struct {
	name, value string
	also        map[string]string // other properties set alongside
	kafka       bool
	rule        string // Kafka's rule
}{
	{"broker.id", "0", nil, kafkaStarts, "INT; -1..reserved.broker.max.id with broker.id.generation.enable"},
	{"broker.id", "1000", nil, kafkaStarts, "at most reserved.broker.max.id (1000)"},
	{"broker.id", "1001", nil, kafkaRefuses, "above reserved.broker.max.id while broker.id.generation.enable"},
	{"broker.id", "1001", map[string]string{"broker.id.generation.enable": "false"}, kafkaStarts, "no upper bound without generation"},
	{"broker.id", "5000", map[string]string{"reserved.broker.max.id": "10000"}, kafkaStarts, "at most reserved.broker.max.id"},
	{"broker.id", "-2", nil, kafkaRefuses, "at least -1"},
	{"broker.id", "-1", map[string]string{"broker.id.generation.enable": "false"}, kafkaRefuses, "at least 0 without generation"},
	{"broker.id", "2147483648", nil, kafkaRefuses, "INT"},
	{"reserved.broker.max.id", "-1", nil, kafkaRefuses, "INT atLeast(0)"},
	{"num.partitions", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"num.partitions", "2000000", nil, kafkaStarts, "INT atLeast(1)"},
	{"default.replication.factor", "3", nil, kafkaStarts, "INT, no range: topic creation refuses it later"},
	{"default.replication.factor", "0", nil, kafkaStarts, "INT, no range"},
	{"log.segment.bytes", "13", nil, kafkaRefuses, "INT atLeast(14)"},
	{"log.segment.bytes", "14", nil, kafkaStarts, "INT atLeast(14)"},
	{"log.segment.bytes", "2147483648", nil, kafkaRefuses, "INT"},
	{"log.roll.ms", "0", nil, kafkaRefuses, "validateValues: log.roll.ms >= 1"},
	{"log.roll.ms", "1", nil, kafkaStarts, "validateValues: log.roll.ms >= 1"},
	{"log.roll.hours", "0", map[string]string{"log.roll.ms": "1000"}, kafkaRefuses, "INT atLeast(1), even when log.roll.ms wins"},
	{"log.retention.ms", "0", nil, kafkaRefuses, "validateValues: -1 or >= 1"},
	{"log.retention.ms", "-1", nil, kafkaStarts, "unlimited"},
	{"log.retention.ms", "-5", nil, kafkaStarts, "any negative resolves to -1"},
	{"log.retention.minutes", "0", nil, kafkaRefuses, "resolves to 0 ms"},
	{"log.retention.minutes", "-5", nil, kafkaStarts, "any negative resolves to -1"},
	{"log.retention.minutes", "2147483648", nil, kafkaRefuses, "INT"},
	{"log.retention.hours", "0", nil, kafkaRefuses, "resolves to 0 ms"},
	{"log.retention.hours", "0", map[string]string{"log.retention.ms": "1000"}, kafkaStarts, "log.retention.ms wins"},
	{"log.retention.hours", "-2", nil, kafkaStarts, "any negative resolves to -1"},
	{"log.retention.bytes", "-5", nil, kafkaStarts, "LONG, no range; negative is unlimited"},
	{"log.retention.check.interval.ms", "0", nil, kafkaRefuses, "LONG atLeast(1)"},
	{"log.flush.offset.checkpoint.interval.ms", "0", nil, kafkaStarts, "INT atLeast(0)"},
	{"log.flush.offset.checkpoint.interval.ms", "-1", nil, kafkaRefuses, "INT atLeast(0)"},
	{"log.flush.offset.checkpoint.interval.ms", "2147483648", nil, kafkaRefuses, "INT"},
	{"log.flush.start.offset.checkpoint.interval.ms", "-1", nil, kafkaRefuses, "INT atLeast(0)"},
	{"log.segment.delete.delay.ms", "-1", nil, kafkaRefuses, "LONG atLeast(0)"},
	{"log.segment.delete.delay.ms", "0", nil, kafkaStarts, "LONG atLeast(0)"},
	{"log.index.interval.bytes", "-1", nil, kafkaRefuses, "INT atLeast(0)"},
	{"log.index.interval.bytes", "0", nil, kafkaStarts, "INT atLeast(0)"},
	{"log.index.size.max.bytes", "3", nil, kafkaRefuses, "INT atLeast(4)"},
	{"log.flush.interval.messages", "0", nil, kafkaRefuses, "LONG atLeast(1)"},
	{"log.flush.interval.ms", "0", nil, kafkaStarts, "flush.ms atLeast(0) in the broker's LogConfig"},
	{"log.flush.interval.ms", "-1", nil, kafkaRefuses, "flush.ms atLeast(0) in the broker's LogConfig"},
	{"log.message.timestamp.type", "LogAppendTime", nil, kafkaStarts, "ValidString.in(CreateTime, LogAppendTime)"},
	{"log.message.timestamp.type", "logappendtime", nil, kafkaRefuses, "ValidString is case-sensitive"},
	{"message.max.bytes", "200000000", nil, kafkaStarts, "INT atLeast(0); no check against socket.request.max.bytes"},
	{"message.max.bytes", "200000000", map[string]string{"socket.request.max.bytes": "1024"}, kafkaStarts, "no cross-check"},
	{"message.max.bytes", "-1", nil, kafkaRefuses, "INT atLeast(0)"},
	{"socket.request.max.bytes", "1", nil, kafkaStarts, "INT atLeast(1)"},
	{"socket.request.max.bytes", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"fetch.max.bytes", "1023", nil, kafkaRefuses, "INT atLeast(1024)"},
	{"queued.max.requests", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"queued.max.requests", "2000000", nil, kafkaStarts, "INT atLeast(1)"},
	{"min.insync.replicas", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"min.insync.replicas", "2", nil, kafkaStarts, "INT atLeast(1); acks=all produce fails later"},
	{"unclean.leader.election.enable", "TRUE", nil, kafkaStarts, "BOOLEAN, any case"},
	{"unclean.leader.election.enable", "yes", nil, kafkaRefuses, "BOOLEAN"},
	{"zookeeper.session.timeout.ms", "0", nil, kafkaStarts, "INT, no range"},
	{"zookeeper.connection.timeout.ms", "2147483648", nil, kafkaRefuses, "INT"},
	{"num.network.threads", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"num.io.threads", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"num.io.threads", "16", nil, kafkaStarts, "INT atLeast(1)"},
	{"socket.send.buffer.bytes", "-1", nil, kafkaStarts, "INT, no range (-1: the OS default)"},
	{"socket.receive.buffer.bytes", "2147483648", nil, kafkaRefuses, "INT"},
	{"num.recovery.threads.per.data.dir", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"offsets.topic.replication.factor", "0", nil, kafkaRefuses, "SHORT atLeast(1)"},
	{"offsets.topic.replication.factor", "32768", nil, kafkaRefuses, "SHORT"},
	{"offsets.topic.replication.factor", "3", nil, kafkaStarts, "SHORT atLeast(1)"},
	{"offsets.commit.required.acks", "-2", nil, kafkaRefuses, "SHORT, at least -1 (validateValues)"},
	{"offsets.commit.required.acks", "3", nil, kafkaStarts, "at most offsets.topic.replication.factor (default 3)"},
	{"offsets.commit.required.acks", "2", map[string]string{"offsets.topic.replication.factor": "1"}, kafkaRefuses, "at most offsets.topic.replication.factor"},
	{"transaction.state.log.replication.factor", "0", nil, kafkaRefuses, "SHORT atLeast(1)"},
	{"transaction.state.log.min.isr", "0", nil, kafkaRefuses, "INT atLeast(1)"},
	{"group.initial.rebalance.delay.ms", "-1", nil, kafkaStarts, "INT, no range"},
	{"controlled.shutdown.enable", "FALSE", nil, kafkaStarts, "BOOLEAN, any case"},
	{"controlled.shutdown.enable", "no", nil, kafkaRefuses, "BOOLEAN"},
	{"controlled.shutdown.max.retries", "-1", nil, kafkaStarts, "INT, no range"},
	{"controlled.shutdown.max.retries", "2147483648", nil, kafkaRefuses, "INT"},
	{"controlled.shutdown.retry.backoff.ms", "-1", nil, kafkaStarts, "LONG, no range"},
	{"controlled.shutdown.retry.backoff.ms", "9223372036854775808", nil, kafkaRefuses, "LONG"},
	{"listeners", "PLAINTEXT://0.0.0.0:9092", nil, kafkaRefuses, "advertised (here: listeners) cannot be 0.0.0.0"},
	{"listeners", "PLAINTEXT://0.0.0.0:9092", map[string]string{"advertised.listeners": "PLAINTEXT://localhost:9092"}, kafkaStarts, "advertised address is routable"},
	{"advertised.listeners", "PLAINTEXT://0.0.0.0:9092", nil, kafkaRefuses, "cannot use the nonroutable meta-address 0.0.0.0"},
	// validateValues: replica.fetch.wait.max.ms <= replica.lag.time.max.ms
	// (Kafka also requires it <= replica.socket.timeout.ms, 30000 by
	// default, raised here to isolate the lag rule).
	{"replica.fetch.wait.max.ms", "30001", map[string]string{"replica.socket.timeout.ms": "60000"}, kafkaRefuses, "validateValues: at most replica.lag.time.max.ms (30000)"},
	{"replica.fetch.wait.max.ms", "20000", map[string]string{"replica.lag.time.max.ms": "20000"}, kafkaStarts, "validateValues: equal to replica.lag.time.max.ms is allowed"},
	{"replica.lag.time.max.ms", "499", nil, kafkaRefuses, "validateValues: at least replica.fetch.wait.max.ms (500)"},
	{"replica.lag.time.max.ms", "500", nil, kafkaStarts, "validateValues: at least replica.fetch.wait.max.ms (500)"},
	// validateValues: with a SASL inter-broker listener,
	// sasl.mechanism.inter.broker.protocol must be among that listener's
	// enabled mechanisms (listener.name.<l>.sasl.enabled.mechanisms, else
	// sasl.enabled.mechanisms).
	{"sasl.mechanism.inter.broker.protocol", "PLAIN", saslInterBroker("SCRAM-SHA-256", nil), kafkaRefuses, "validateValues: must be in sasl.enabled.mechanisms"},
	{"sasl.mechanism.inter.broker.protocol", "PLAIN", saslInterBroker("PLAIN", nil), kafkaStarts, "validateValues: in sasl.enabled.mechanisms"},
	{"sasl.mechanism.inter.broker.protocol", "PLAIN", saslInterBroker("SCRAM-SHA-256", map[string]string{"listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN"}), kafkaStarts, "validateValues: the listener's own list wins"},
	{"sasl.mechanism.inter.broker.protocol", "PLAIN", saslInterBroker("PLAIN", map[string]string{"listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-256"}), kafkaRefuses, "validateValues: the listener's own list wins"},
	{"sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512", saslInterBroker("PLAIN", map[string]string{"security.inter.broker.protocol": "PLAINTEXT",
		"listeners": "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093"}), kafkaStarts, "validateValues: only checked when inter-broker traffic uses SASL"},
}

// saslInterBroker is a broker whose only listener, the inter-broker one,
// is SASL_PLAINTEXT with enabled mechanisms and a PLAIN login module for
// that listener, with extra properties over them.
func saslInterBroker(enabled string, extra map[string]string) map[string]string {
	props := map[string]string{
		"listeners":                      "SASL_PLAINTEXT://127.0.0.1:9092",
		"security.inter.broker.protocol": "SASL_PLAINTEXT",
		"sasl.enabled.mechanisms":        enabled,
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="b" password="p" user_b="p";`,
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

func TestPropertyBoundsMatchKafka(t *testing.T) {
	for _, tt := range kafkaPropertyVerdicts {
		props := map[string]string{tt.name: tt.value}
		for k, v := range tt.also {
			props[k] = v
		}
		_, err := core.ParseProperties(props)
		if got := err == nil; got != tt.kafka {
			t.Errorf("%s=%s (with %v): got accepted=%v (%v); want accepted=%v, as Kafka (%s)", tt.name, tt.value, tt.also, got, err, tt.kafka, tt.rule)
		}
	}
}

// TestPropertyNotSupported lists values Kafka accepts that Cloud Kafka
// refuses, each with a reason in the error.
func TestPropertyNotSupported(t *testing.T) {
	for _, tt := range []struct{ name, value, reason string }{
		{"broker.id", "-1", "generated broker id"},
		{"log.dirs", "/a,/b", "exactly one directory"},
	} {
		_, err := core.ParseProperties(map[string]string{tt.name: tt.value})
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s=%s: got %v; want an error saying %q", tt.name, tt.value, err, tt.reason)
		}
	}
}

// TestPropertyMeaning checks what accepted values resolve to.
func TestPropertyMeaning(t *testing.T) {
	tests := []struct {
		props map[string]string
		got   func(core.Config) any
		want  any
	}{
		{map[string]string{"log.retention.ms": "-5"}, func(c core.Config) any { return c.Log.RetentionMs }, int64(-1)},
		{map[string]string{"zookeeper.session.timeout.ms": "6000"}, func(c core.Config) any { return c.ZookeeperConnectionMs }, int64(6000)},
		{map[string]string{"zookeeper.session.timeout.ms": "6000", "zookeeper.connection.timeout.ms": "100"}, func(c core.Config) any { return c.ZookeeperConnectionMs }, int64(100)},
		{map[string]string{"zookeeper.connect": " zk1:2181,zk2:2181/kafka "}, func(c core.Config) any { return c.ZookeeperConnect }, "zk1:2181,zk2:2181/kafka"},
		{map[string]string{"broker.rack": "rack-a"}, func(c core.Config) any { return c.Rack }, "rack-a"},
		{map[string]string{"log.retention.minutes": "-5"}, func(c core.Config) any { return c.Log.RetentionMs }, int64(-1)},
		{map[string]string{"log.retention.hours": "0", "log.retention.ms": "1000"}, func(c core.Config) any { return c.Log.RetentionMs }, int64(1000)},
		{map[string]string{"log.retention.bytes": "-5"}, func(c core.Config) any { return c.Log.RetentionBytes }, int64(-5)},
		{map[string]string{"default.replication.factor": "3"}, func(c core.Config) any { return c.DefaultReplication }, int32(3)},
		{map[string]string{"message.max.bytes": "200000000"}, func(c core.Config) any { return c.MessageMaxBytes }, int32(200000000)},
		{map[string]string{}, func(c core.Config) any { return c.AdvertisedListeners[0].Host }, "localhost"},
		{map[string]string{}, func(c core.Config) any { return c.ControlledShutdown },
			core.ControlledShutdown{Enable: true, MaxRetries: 3, RetryBackoffMs: 5000}},
		{map[string]string{"controlled.shutdown.enable": "false", "controlled.shutdown.max.retries": "7", "controlled.shutdown.retry.backoff.ms": "250"},
			func(c core.Config) any { return c.ControlledShutdown }, core.ControlledShutdown{MaxRetries: 7, RetryBackoffMs: 250}},
		{map[string]string{"controlled.shutdown.retry.backoff.ms": "-5"}, func(c core.Config) any { return c.ControlledShutdown.RetryBackoffMs }, int64(0)},
		{map[string]string{"controlled.shutdown.enable": "true"}, func(c core.Config) any { return c.NoEffect() }, []string(nil)},
		{map[string]string{"num.network.threads": "16", "unclean.leader.election.enable": "true", "num.partitions": "3"},
			func(c core.Config) any { return c.NoEffect() }, []string{"num.network.threads"}},
		{map[string]string{"num.io.threads": "3"}, func(c core.Config) any { return c.IOThreads }, 3},
	}
	for _, tt := range tests {
		c, err := core.ParseProperties(tt.props)
		if err != nil {
			t.Errorf("%v: got %v; want accepted", tt.props, err)
			continue
		}
		if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: got %v; want %v", tt.props, got, tt.want)
		}
	}
}

// kafkaTopicConfigVerdicts lists topic-level configs and values with what
// Kafka's LogConfig (ConfigDef types and ranges, LogConfig.validate)
// answers to CreateTopics: NONE or INVALID_CONFIG.
var kafkaTopicConfigVerdicts = []struct {
	name, value string
	kafka       bool // true: Kafka creates the topic
	rule        string
}{
	{"min.insync.replicas", "2", true, "INT atLeast(1)"},
	{"min.insync.replicas", "0", false, "INT atLeast(1)"},
	{"retention.bytes", "-5", true, "LONG, no range"},
	{"retention.ms", "-1", true, "LONG atLeast(-1)"},
	{"retention.ms", "-2", false, "LONG atLeast(-1)"},
	{"unclean.leader.election.enable", "TRUE", true, "BOOLEAN, any case"},
	{"unclean.leader.election.enable", "yes", false, "BOOLEAN"},
	{"max.message.bytes", "200000000", true, "INT atLeast(0)"},
	{"max.message.bytes", "-1", false, "INT atLeast(0)"},
	{"max.message.bytes", "2147483648", false, "INT"},
	{"segment.bytes", "13", false, "INT atLeast(14)"},
	{"segment.index.bytes", "3", false, "INT atLeast(4)"},
	{"segment.ms", "0", false, "LONG atLeast(1)"},
	{"flush.messages", "0", false, "LONG atLeast(1)"},
	{"flush.ms", "-1", false, "LONG atLeast(0)"},
	{"index.interval.bytes", "-1", false, "INT atLeast(0)"},
	{"file.delete.delay.ms", "-1", false, "LONG atLeast(0)"},
	{"file.delete.delay.ms", "0", true, "LONG atLeast(0)"},
	{"message.timestamp.type", "LogAppendTime", true, "ValidString.in(CreateTime, LogAppendTime)"},
	{"message.timestamp.type", "logappendtime", false, "ValidString is case-sensitive"},
}

func TestTopicConfigBoundsMatchKafka(t *testing.T) {
	h := newHarness(t, nil)
	for i, tt := range kafkaTopicConfigVerdicts {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("t%d", i), 1, 1
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = tt.name, kmsg.StringPtr(tt.value)
		rt.Configs = append(rt.Configs, c)
		req.Topics = append(req.Topics, rt)
		req.ValidateOnly = true
		seq := h.send(1, 5, req)
		h.deliverAll()
		code := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
		want := kerr.InvalidConfig.Code
		if tt.kafka {
			want = 0
		}
		if code != want {
			t.Errorf("%s=%s: got error %d; want %d, as Kafka (%s)", tt.name, tt.value, code, want, tt.rule)
		}
	}
}

// TestMinInsyncReplicasAboveOne: Kafka accepts min.insync.replicas 2 and
// refuses acks=all produce with NOT_ENOUGH_REPLICAS while the ISR is
// smaller; acks=1 is unaffected.
func TestMinInsyncReplicasAboveOne(t *testing.T) {
	for _, tt := range []struct {
		what   string
		broker map[string]string
		topic  map[string]string
	}{
		{"broker default", map[string]string{"min.insync.replicas": "2"}, nil},
		{"topic override", nil, map[string]string{"min.insync.replicas": "2"}},
	} {
		h := newHarness(t, tt.broker)
		h.createTopic("t", 1, tt.topic)
		if got := h.produce("t", 0, batchOpts{}); got.ErrorCode != kerr.NotEnoughReplicas.Code {
			t.Errorf("%s: acks=all produce: got error %d; want NOT_ENOUGH_REPLICAS (%d)", tt.what, got.ErrorCode, kerr.NotEnoughReplicas.Code)
		}
		seq := h.send(1, 9, produceReq("t", 0, 1, makeBatch(batchOpts{})))
		h.deliverAll()
		if p := h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
			t.Errorf("%s: acks=1 produce: got error %d offset %d; want 0 at offset 0 (nothing appended by the refused produce)", tt.what, p.ErrorCode, p.BaseOffset)
		}
	}
}

// TestDefaultReplicationFactorAboveOne: Kafka starts with
// default.replication.factor 3 and fails creations that use it, through
// CreateTopics or auto-creation, with INVALID_REPLICATION_FACTOR.
func TestDefaultReplicationFactorAboveOne(t *testing.T) {
	h := newHarness(t, map[string]string{"default.replication.factor": "3"})
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "t", 1, -1
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 5, req)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != kerr.InvalidReplicationFactor.Code {
		t.Errorf("CreateTopics with replication factor -1: got error %d; want INVALID_REPLICATION_FACTOR (%d)", code, kerr.InvalidReplicationFactor.Code)
	}
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("auto")
	meta.Topics, meta.AllowAutoTopicCreation = append(meta.Topics, mt), true
	seq = h.send(1, 9, meta)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.MetadataResponse).Topics[0].ErrorCode; code != kerr.InvalidReplicationFactor.Code {
		t.Errorf("auto-creation: got error %d; want INVALID_REPLICATION_FACTOR (%d)", code, kerr.InvalidReplicationFactor.Code)
	}
	rt.ReplicationFactor = 1
	req.Topics[0] = rt
	seq = h.send(1, 5, req)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Errorf("CreateTopics with replication factor 1: got error %d; want 0", code)
	}
}

// TestDeleteTopicDisabled: with delete.topic.enable=false Kafka refuses
// DeleteTopics with TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3) and
// the topic stays.
func TestDeleteTopicDisabled(t *testing.T) {
	h := newHarness(t, map[string]string{"delete.topic.enable": "false"})
	h.createTopic("t", 1, nil)
	for _, tt := range []struct {
		version int16
		want    int16
	}{{1, kerr.InvalidRequest.Code}, {3, kerr.TopicDeletionDisabled.Code}, {6, kerr.TopicDeletionDisabled.Code}} {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.TopicNames = []string{"t"}
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic = kmsg.StringPtr("t")
		req.Topics = append(req.Topics, rt)
		seq := h.send(1, tt.version, req)
		h.deliverAll()
		if code := h.mustResponse(seq).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code != tt.want {
			t.Errorf("DeleteTopics v%d: got error %d; want %d", tt.version, code, tt.want)
		}
	}
	if p := h.produce("t", 0, batchOpts{}); p.ErrorCode != 0 {
		t.Errorf("produce after the refused deletions: got error %d; want 0 (the topic stays)", p.ErrorCode)
	}
}

// TestUnknownPropertiesKept: a name no property has is not an error, as
// in Kafka; it is listed, sorted, for the runtime to log.
func TestUnknownPropertiesKept(t *testing.T) {
	c, err := core.ParseProperties(map[string]string{"zz.plugin.setting": "1", "listener.name.ssl.ssl.bogus": "x", "log.retention.ms": "1000"})
	if err != nil {
		t.Fatalf("ParseProperties with unknown names: %v; want no error", err)
	}
	if got := strings.Join(c.Unknown, ","); got != "listener.name.ssl.ssl.bogus,zz.plugin.setting" {
		t.Errorf("Unknown: got %q; want the two unknown names, sorted", got)
	}
	if c.Log.RetentionMs != 1000 {
		t.Errorf("log.retention.ms: got %d; want 1000 (known properties still apply)", c.Log.RetentionMs)
	}
}

package realio

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// The metrics on /metrics carry Kafka's meanings under the names the
// Prometheus JMX exporter gives Kafka's MBeans with its example rules
// (example_configs/kafka-2_0_0.yml, lowercaseOutputName): a meter
// kafka.<domain><type=T, name=NPerSec, k=v><>Count becomes the counter
// kafka_<domain>_<t>_<n>_total{k="v"}, a gauge's Value becomes
// kafka_<domain>_<t>_<name>{k="v"}, and a histogram's Count becomes
// kafka_<domain>_<t>_<name>_count. The mapping:
//
//	kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=T        kafka_server_brokertopicmetrics_bytesin_total{topic}
//	  ...name=BytesOutPerSec,topic=T                                       kafka_server_brokertopicmetrics_bytesout_total{topic}
//	  ...name=MessagesInPerSec,topic=T                                     kafka_server_brokertopicmetrics_messagesin_total{topic}
//	  ...name=TotalProduceRequestsPerSec,topic=T                           kafka_server_brokertopicmetrics_totalproducerequests_total{topic}
//	  ...name=FailedProduceRequestsPerSec,topic=T                          kafka_server_brokertopicmetrics_failedproducerequests_total{topic}
//	  ...name=ReplicationBytesOutPerSec                                    kafka_server_brokertopicmetrics_replicationbytesout_total
//	kafka.network:type=RequestMetrics,name=RequestsPerSec,request=R,version=V  kafka_network_requestmetrics_requests_total{request,version}
//	  ...name=ErrorsPerSec,request=R,error=E                               kafka_network_requestmetrics_errors_total{request,error}
//	  ...name=TotalTimeMs,request=R (a histogram; version added here)      kafka_network_requestmetrics_totaltimems{request,version} (_bucket, _sum, _count)
//	kafka.network:type=RequestChannel,name=RequestQueueSize                 kafka_network_requestchannel_requestqueuesize
//	kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions         kafka_server_replicamanager_underreplicatedpartitions
//	  ...name=PartitionCount / LeaderCount                                 kafka_server_replicamanager_partitioncount / _leadercount
//	  ...name=IsrShrinksPerSec / IsrExpandsPerSec                          kafka_server_replicamanager_isrshrinks_total / _isrexpands_total
//	kafka.controller:type=KafkaController,name=ActiveControllerCount        kafka_controller_kafkacontroller_activecontrollercount
//	  ...name=OfflinePartitionsCount                                       kafka_controller_kafkacontroller_offlinepartitionscount
//	kafka.log:type=Log,name=Size,topic=T,partition=P                        kafka_log_log_size{topic,partition}
//	  ...name=NumLogSegments / LogStartOffset / LogEndOffset               kafka_log_log_numlogsegments / _logstartoffset / _logendoffset
//	kafka.coordinator.group:type=GroupMetadataManager,name=NumGroupsStable  kafka_coordinator_group_groupmetadatamanager_numgroupsstable
//	  (and NumGroups, NumGroupsPreparingRebalance, NumGroupsCompletingRebalance, NumGroupsEmpty, NumGroupsDead)
//
//	kafka.server:type=FetchSessionCache,name=NumIncrementalFetchSessions     kafka_server_fetchsessioncache_numincrementalfetchsessions
//	  ...name=NumIncrementalFetchPartitionsCached                          kafka_server_fetchsessioncache_numincrementalfetchpartitionscached
//	  ...name=IncrementalFetchSessionEvictionsPerSec                       kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total
//
// Kafka 2.x has no MBean for these; they follow the same pattern:
//
//	generations completed by the coordinated groups   kafka_coordinator_group_groupmetadatamanager_rebalances_total
//	incremental fetches answered within a session      kafka_server_fetchsessioncache_incrementalfetches_total
//
// Cloud Kafka's own, with no Kafka counterpart (the log scrubber,
// log.scrub.bytes.per.second):
//
//	bytes of stored batches the scrubber verified      cloudkafka_log_scrub_bytes_total
//	damaged batches it found (each refused from then)  cloudkafka_log_scrub_damaged_batches_total
//
// Consumer lag is not a broker MBean in Kafka (tools compute it); the
// names are those of the widely used kafka_exporter:
//
//	kafka_consumergroup_lag{consumergroup,topic,partition}             high watermark less committed offset
//	kafka_consumergroup_current_offset{consumergroup,topic,partition}  the committed offset
//
// Kafka also exports an all-topics BytesInPerSec without a topic label;
// a Prometheus metric keeps one set of labels, so sum() over topics
// stands for it. Topics and groups beyond metrics.topics.max and
// metrics.groups.max are summed under the label value "__other"
// (core.OtherLabel).

// requestMetrics are what only the runtime sees: requests by API and
// version as answered, the error codes in the answers, the time from a
// request's arrival to its response's write, and the requests waiting
// for the loop. They live in the server's own registry, never the
// process-wide default one.
type requestMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	totalMs  *prometheus.HistogramVec
	queued   atomic.Int64 // requests read, handed to the loop, not yet stepped
}

func newRequestMetrics() *requestMetrics {
	m := &requestMetrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_requestmetrics_requests_total",
		Help: "Requests answered, by API and version (Kafka's RequestMetrics RequestsPerSec)."}, []string{"request", "version"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_network_requestmetrics_errors_total",
		Help: "Error codes in responses, NONE included, by API (Kafka's RequestMetrics ErrorsPerSec: every error code field of the response)."}, []string{"request", "error"})
	m.totalMs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kafka_network_requestmetrics_totaltimems",
		Help:    "Milliseconds from a request's arrival to its response's write, by API and version (Kafka's RequestMetrics TotalTimeMs).",
		Buckets: prometheus.ExponentialBuckets(0.125, 2, 18)}, []string{"request", "version"})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kafka_network_requestchannel_requestqueuesize",
		Help: "Requests read from connections and waiting for the broker's event loop (Kafka's RequestChannel RequestQueueSize)."},
		func() float64 { return float64(m.queued.Load()) })
	m.reg.MustRegister(m.requests, m.errors, m.totalMs, queue)
	return m
}

// requestName is the API's name as Kafka spells it (ApiKeys.name), which
// kmsg capitalizes differently for some.
func requestName(key int16) string {
	if key >= 0 && int(key) < len(requestNames) {
		return requestNames[key]
	}
	return kafkaRequestName(key)
}

// requestNames are the names of the keys kmsg knows, spelled once.
var requestNames = func() []string {
	out := make([]string, kmsg.MaxKey+1)
	for k := range out {
		out[k] = kafkaRequestName(int16(k))
	}
	return out
}()

func kafkaRequestName(key int16) string {
	n := kmsg.NameForKey(key)
	if n == "" {
		return "Unknown" + strconv.Itoa(int(key))
	}
	if n == "AlterPartitionAssignments" {
		return "AlterPartitionReassignments"
	}
	n = strings.NewReplacer("ACLs", "Acls", "ISR", "Isr", "SASL", "Sasl", "SCRAM", "Scram", "IDs", "Ids").Replace(n)
	if strings.HasSuffix(n, "ID") {
		n = n[:len(n)-2] + "Id"
	}
	return n
}

// responded counts an answer; it runs on the loop goroutine.
func (m *requestMetrics) responded(r core.Respond) {
	if r.Body == nil {
		return // no response (acks=0): counted when the request completes
	}
	name := requestName(r.Body.Key())
	m.requests.WithLabelValues(name, strconv.Itoa(int(r.Body.GetVersion()))).Inc()
	countErrorCodes(reflect.ValueOf(r.Body), func(code int16) {
		m.errors.WithLabelValues(name, errorName(code)).Inc()
	})
}

// requestDone observes the time from a request's arrival to its
// response's write (or, with no response, to its completion).
func (m *requestMetrics) requestDone(key, version int16, arrived time.Time, answered bool) {
	v := strconv.Itoa(int(version))
	if !answered {
		m.requests.WithLabelValues(requestName(key), v).Inc()
	}
	m.totalMs.WithLabelValues(requestName(key), v).Observe(float64(time.Since(arrived).Nanoseconds()) / 1e6)
}

func errorName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if err, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return err.Message
	}
	return "UNKNOWN_SERVER_ERROR"
}

// countErrorCodes calls fn with every int16 field named ErrorCode in v,
// however deep, as Kafka's AbstractResponse.errorCounts counts a
// response's errors. Which fields of a type can lead to one is worked
// out once per type.
func countErrorCodes(v reflect.Value, fn func(int16)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			countErrorCodes(v.Elem(), fn)
		}
	case reflect.Slice:
		if !errorPaths(v.Type().Elem()).any {
			return
		}
		for i := 0; i < v.Len(); i++ {
			countErrorCodes(v.Index(i), fn)
		}
	case reflect.Struct:
		ep := errorPaths(v.Type())
		if ep.code >= 0 {
			fn(int16(v.Field(ep.code).Int()))
		}
		for _, i := range ep.nested {
			countErrorCodes(v.Field(i), fn)
		}
	}
}

// errorFields says where a type's ErrorCode fields are.
type errorFields struct {
	any    bool  // the type holds an ErrorCode somewhere
	code   int   // the struct's own ErrorCode field, or -1
	nested []int // fields (structs, pointers, slices) that hold one
}

var errorFieldsByType sync.Map // reflect.Type -> errorFields

func errorPaths(t reflect.Type) errorFields {
	if ef, ok := errorFieldsByType.Load(t); ok {
		return ef.(errorFields)
	}
	ef := errorFields{code: -1}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		ef.any = errorPaths(t.Elem()).any
	case reflect.Struct:
		errorFieldsByType.Store(t, ef) // a recursive type meets itself as none
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			switch {
			case f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16:
				ef.code, ef.any = i, true
			case f.Type.Kind() == reflect.Struct || f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice:
				if errorPaths(f.Type).any {
					ef.nested, ef.any = append(ef.nested, i), true
				}
			}
		}
	}
	errorFieldsByType.Store(t, ef)
	return ef
}

// snapshot is what the loop reports for one scrape: the core's Stats and
// the log sizes the segment store knows.
type snapshot struct {
	stats core.Stats
	logs  map[core.TopicPartition]logSize
}

type logSize struct {
	bytes    int64
	segments int
}

// takeSnapshot runs on the loop goroutine, which alone touches
// lastSizes.
func (s *Server) takeSnapshot() snapshot {
	st := s.driver.Broker().Stats()
	snap := snapshot{stats: st, logs: make(map[core.TopicPartition]logSize, len(st.Logs))}
	for _, l := range st.Logs {
		tp := core.TopicPartition{Topic: l.Topic, Partition: l.Partition}
		bytes, segs, ok := s.driver.LogSize(tp)
		if !ok {
			// cleaning in the background: the last size known
			ls, known := s.lastSizes[tp]
			if !known {
				continue
			}
			bytes, segs = ls.bytes, ls.segments
		}
		snap.logs[tp] = logSize{bytes, segs}
	}
	s.lastSizes = snap.logs // only hosted logs: bounded by them
	return snap
}

// snapshotTimeout bounds how long a scrape or a readiness check waits
// for the loop.
const snapshotTimeout = 5 * time.Second

// errLoopBusy says the loop did not answer in time; errStopping that the
// server is stopping; errRecovering that the loop has not started.
type snapshotError string

func (e snapshotError) Error() string { return string(e) }

const (
	errLoopBusy   = snapshotError("the broker's event loop did not answer within 5s")
	errStopping   = snapshotError("the broker is shutting down")
	errRecovering = snapshotError("the broker is starting: connecting to its coordinator and recovering its log directory")
)

// snapshot asks the loop for a snapshot and waits, bounded, for it.
func (s *Server) snapshot() (snapshot, error) {
	if !s.looping.Load() {
		return snapshot{}, errRecovering
	}
	reply := make(chan snapshot, 1) // the loop never blocks on it
	t := time.NewTimer(snapshotTimeout)
	defer t.Stop()
	select {
	case s.snapshots <- reply:
	case <-s.quit:
		return snapshot{}, errStopping
	case <-t.C:
		return snapshot{}, errLoopBusy
	}
	select {
	case snap := <-reply:
		return snap, nil
	case <-s.quit:
		return snapshot{}, errStopping
	case <-t.C:
		return snapshot{}, errLoopBusy
	}
}

// snapshotCollector turns one snapshot into metrics. It is registered
// in a registry of one scrape; Describe says nothing (an unchecked
// collector), since the series depend on the snapshot.
type snapshotCollector struct{ snap snapshot }

func (snapshotCollector) Describe(chan<- *prometheus.Desc) {}

func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.snap.stats
	c.topics(ch, st)
	gauge := func(name, help string, v float64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v)
	}
	counter := func(name, help string, v uint64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, float64(v))
	}
	gauge("kafka_server_replicamanager_underreplicatedpartitions", "Partitions this broker leads whose ISR is smaller than their replicas.", float64(st.UnderReplicated))
	gauge("kafka_server_replicamanager_partitioncount", "Partition replicas this broker hosts.", float64(st.PartitionCount))
	gauge("kafka_server_replicamanager_leadercount", "Partitions this broker leads.", float64(st.LeaderCount))
	counter("kafka_server_replicamanager_isrshrinks_total", "ISR shrinks this broker wrote as leader.", st.IsrShrinks)
	counter("kafka_server_replicamanager_isrexpands_total", "ISR expansions this broker wrote as leader.", st.IsrExpands)
	counter("kafka_server_brokertopicmetrics_replicationbytesout_total", "Record bytes sent to followers.", st.ReplicationBytesOut)
	active := 0.0
	if st.Controller {
		active = 1
	}
	gauge("kafka_controller_kafkacontroller_activecontrollercount", "1 on the active controller, else 0.", active)
	gauge("kafka_controller_kafkacontroller_offlinepartitionscount", "On the controller, partitions with no live leader; 0 elsewhere.", float64(st.OfflinePartitions))
	total := 0
	for _, g := range st.GroupStates {
		total += g.Groups
		gauge("kafka_coordinator_group_groupmetadatamanager_numgroups"+strings.ToLower(g.State), "Groups this broker coordinates in state "+g.State+".", float64(g.Groups))
	}
	gauge("kafka_coordinator_group_groupmetadatamanager_numgroups", "Groups this broker coordinates.", float64(total))
	counter("kafka_coordinator_group_groupmetadatamanager_rebalances_total", "Generations completed by the groups this broker coordinated.", st.Rebalances)
	gauge("kafka_server_fetchsessioncache_numincrementalfetchsessions", "Incremental fetch sessions (KIP-227) this broker keeps.", float64(st.FetchSessions))
	gauge("kafka_server_fetchsessioncache_numincrementalfetchpartitionscached", "Partitions held by the incremental fetch sessions this broker keeps.", float64(st.FetchSessionPartitions))
	counter("kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total", "Incremental fetch sessions that gave their slot to a new one.", st.FetchSessionEvictions)
	counter("kafka_server_fetchsessioncache_incrementalfetches_total", "Incremental fetches answered within a fetch session.", st.IncrementalFetches)
	counter("cloudkafka_log_scrub_bytes_total", "Bytes of stored record batches the log scrubber verified.", st.ScrubBytes)
	counter("cloudkafka_log_scrub_damaged_batches_total", "Stored record batches the log scrubber found damaged; reads of them are refused.", st.ScrubDamagedBatches)
	c.logs(ch, st)
	c.lag(ch, st)
}

var topicCounterDescs = []struct {
	name, help string
	value      func(core.TopicCounters) uint64
}{
	{"kafka_server_brokertopicmetrics_bytesin_total", "Bytes of the record batches produce requests appended on this broker as leader.", func(c core.TopicCounters) uint64 { return c.BytesIn }},
	{"kafka_server_brokertopicmetrics_messagesin_total", "Records produce requests appended on this broker as leader.", func(c core.TopicCounters) uint64 { return c.MessagesIn }},
	{"kafka_server_brokertopicmetrics_bytesout_total", "Record bytes of the answers to consumers' fetches.", func(c core.TopicCounters) uint64 { return c.BytesOut }},
	{"kafka_server_brokertopicmetrics_totalproducerequests_total", "Partitions of produce requests answered.", func(c core.TopicCounters) uint64 { return c.ProduceRequests }},
	{"kafka_server_brokertopicmetrics_failedproducerequests_total", "Partitions of produce requests answered with an error.", func(c core.TopicCounters) uint64 { return c.FailedProduceRequests }},
}

func (snapshotCollector) topics(ch chan<- prometheus.Metric, st core.Stats) {
	for _, d := range topicCounterDescs {
		desc := prometheus.NewDesc(d.name, d.help, []string{"topic"}, nil)
		for _, t := range st.Topics {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(d.value(t.TopicCounters)), t.Topic)
		}
	}
}

// logs exports each hosted replica's size and offsets; those of topics
// beyond metrics.topics.max are summed into one series (offsets are not
// summed: they mean nothing together).
func (c snapshotCollector) logs(ch chan<- prometheus.Metric, st core.Stats) {
	labels := []string{"topic", "partition"}
	size := prometheus.NewDesc("kafka_log_log_size", "Bytes of the partition's log segments on disk.", labels, nil)
	segs := prometheus.NewDesc("kafka_log_log_numlogsegments", "Segments of the partition's log.", labels, nil)
	start := prometheus.NewDesc("kafka_log_log_logstartoffset", "The partition's log start offset.", labels, nil)
	end := prometheus.NewDesc("kafka_log_log_logendoffset", "The partition's log end offset.", labels, nil)
	var other logSize
	others := false
	for _, l := range st.Logs {
		ls, ok := c.snap.logs[core.TopicPartition{Topic: l.Topic, Partition: l.Partition}]
		if l.Label == core.OtherLabel {
			other.bytes += ls.bytes
			other.segments += ls.segments
			others = true
			continue
		}
		p := strconv.Itoa(int(l.Partition))
		if ok {
			ch <- prometheus.MustNewConstMetric(size, prometheus.GaugeValue, float64(ls.bytes), l.Label, p)
			ch <- prometheus.MustNewConstMetric(segs, prometheus.GaugeValue, float64(ls.segments), l.Label, p)
		}
		ch <- prometheus.MustNewConstMetric(start, prometheus.GaugeValue, float64(l.LogStartOffset), l.Label, p)
		ch <- prometheus.MustNewConstMetric(end, prometheus.GaugeValue, float64(l.LogEndOffset), l.Label, p)
	}
	if others {
		ch <- prometheus.MustNewConstMetric(size, prometheus.GaugeValue, float64(other.bytes), core.OtherLabel, "-1")
		ch <- prometheus.MustNewConstMetric(segs, prometheus.GaugeValue, float64(other.segments), core.OtherLabel, "-1")
	}
}

func (snapshotCollector) lag(ch chan<- prometheus.Metric, st core.Stats) {
	labels := []string{"consumergroup", "topic", "partition"}
	lag := prometheus.NewDesc("kafka_consumergroup_lag", "The partition's high watermark on this broker less the group's committed offset (at least 0), for the groups this broker coordinates.", labels, nil)
	cur := prometheus.NewDesc("kafka_consumergroup_current_offset", "The group's committed offset.", labels, nil)
	for _, l := range st.Lag {
		p := strconv.Itoa(int(l.Partition))
		ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, float64(l.Lag), l.Group, l.Topic, p)
		if l.Committed >= 0 {
			ch <- prometheus.MustNewConstMetric(cur, prometheus.GaugeValue, float64(l.Committed), l.Group, l.Topic, p)
		}
	}
}

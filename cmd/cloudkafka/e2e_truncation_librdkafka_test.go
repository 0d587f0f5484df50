//go:build cgo

package main

// librdkafka in the unclean-truncation scenario, through
// confluent-kafka-go, which links the static librdkafka it bundles
// (2.11 here). librdkafka validates its position with
// OffsetForLeaderEpoch after a leader epoch change (KIP-320, since 2.1).
// When the new leader's log ends below the position, what it does
// depends on auto.offset.reset, as the Java consumer's does:
//
//   - earliest or latest: it seeks to where the logs diverged (the end
//     offset the leader answered) and tells the application nothing;
//   - error: it stops fetching the partition and raises a consumer error
//     with code ErrAutoOffsetReset (not ErrLogTruncation, which only
//     names the cause in the text) that reads, for example,
//     "Partition log truncation detected at offset 20 (leader epoch 1):
//     broker end offset is 10 (offset leader epoch 0). Reset to INVALID.:
//     Local: Partition log truncation detected (broker 2)". The error
//     names no partition; the application decides where to go on from.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// rdkafkaLogLinesMax bounds the librdkafka log lines a reader keeps.
const rdkafkaLogLinesMax = 100

// rdkafkaReader reads partition 0 of a topic with librdkafka in the
// background (Assign, no group membership, no commits) and keeps what
// it read and the truncations it was told of.
type rdkafkaReader struct {
	t        *testing.T
	name     string
	c        *kafka.Consumer
	topic    string
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu   sync.Mutex
	view readerView
	logs []string // librdkafka's own log, the first rdkafkaLogLinesMax lines
}

func startRdkafkaReader(t *testing.T, name, bootstrap, topic, clientID, autoOffsetReset string) *rdkafkaReader {
	logs := make(chan kafka.LogEvent, 64)
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":                  bootstrap,
		"client.id":                          clientID,
		"group.id":                           clientID, // required; Assign joins no group
		"enable.auto.commit":                 false,
		"auto.offset.reset":                  autoOffsetReset,
		"fetch.wait.max.ms":                  500,
		"topic.metadata.refresh.interval.ms": 2000,
		"reconnect.backoff.max.ms":           1000,
		"go.logs.channel.enable":             true,
		"go.logs.channel":                    logs,
	})
	if err != nil {
		t.Fatalf("%s: creating a librdkafka consumer: %v", name, err)
	}
	r := &rdkafkaReader{t: t, name: name, c: c, topic: topic, quit: make(chan struct{}), done: make(chan struct{})}
	if err := c.Assign([]kafka.TopicPartition{{Topic: &r.topic, Partition: 0, Offset: 0}}); err != nil {
		c.Close()
		t.Fatalf("%s: assigning %s-0 at offset 0: %v", name, topic, err)
	}
	go r.keepLogs(logs)
	go r.poll()
	t.Cleanup(r.stop)
	return r
}

// keepLogs drains librdkafka's log channel (librdkafka blocks on a full
// one) until the reader is done.
func (r *rdkafkaReader) keepLogs(logs chan kafka.LogEvent) {
	for {
		select {
		case <-r.done:
			return
		case ev := <-logs:
			r.mu.Lock()
			if len(r.logs) < rdkafkaLogLinesMax {
				r.logs = append(r.logs, fmt.Sprintf("%s %s: %s", ev.Timestamp.Format("15:04:05.000"), ev.Tag, ev.Message))
			}
			r.mu.Unlock()
		}
	}
}

// poll returns librdkafka's events to the reader until stopped; Close
// comes here, after the last Poll, as the binding requires.
func (r *rdkafkaReader) poll() {
	defer close(r.done)
	defer r.c.Close()
	for {
		select {
		case <-r.quit:
			return
		default:
		}
		switch ev := r.c.Poll(100).(type) {
		case *kafka.Message:
			r.record(ev)
		case kafka.Error:
			r.told(ev)
		}
	}
}

func (r *rdkafkaReader) record(m *kafka.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.TopicPartition.Error != nil {
		r.view.errs = append(r.view.errs, m.TopicPartition.Error)
		return
	}
	r.view.reads = append(r.view.reads, readAt{int64(m.TopicPartition.Offset), string(m.Value)})
}

// rdkafkaTruncationText is the part of librdkafka's truncation error
// (auto.offset.reset=error) that says where the logs diverged.
var rdkafkaTruncationText = regexp.MustCompile(`Partition log truncation detected at offset (\d+) \(leader epoch -?\d+\): broker end offset is (\d+)`)

// told keeps an error event. A truncation is reported, and the reader
// goes on from where the logs diverged, as librdkafka itself would under
// auto.offset.reset=earliest: the partition is assigned again there
// (librdkafka stopped fetching it; a seek is refused in that state).
func (r *rdkafkaReader) told(e kafka.Error) {
	m := rdkafkaTruncationText.FindStringSubmatch(e.String())
	if e.Code() != kafka.ErrAutoOffsetReset || !strings.Contains(e.String(), kafka.ErrLogTruncation.String()) || m == nil {
		r.mu.Lock()
		r.view.errs = append(r.view.errs, e)
		r.mu.Unlock()
		return
	}
	consumedTo, _ := strconv.ParseInt(m[1], 10, 64)
	divergedAt, _ := strconv.ParseInt(m[2], 10, 64)
	r.mu.Lock()
	r.view.reports = append(r.view.reports, truncationReport{text: fmt.Sprintf("[%d %v] %s", int(e.Code()), e.Code(), e), topic: r.topic,
		partition: 0, consumedTo: consumedTo, divergedAt: divergedAt, before: len(r.view.reads)}) // the only partition assigned
	r.mu.Unlock()
	if err := r.c.Assign([]kafka.TopicPartition{{Topic: &r.topic, Partition: 0, Offset: kafka.Offset(divergedAt)}}); err != nil {
		r.mu.Lock()
		r.view.errs = append(r.view.errs, fmt.Errorf("assigning %s-0 at offset %d after the truncation: %w", r.topic, divergedAt, err))
		r.mu.Unlock()
	}
}

// stop closes the consumer and logs what librdkafka logged.
func (r *rdkafkaReader) stop() {
	r.stopOnce.Do(func() {
		close(r.quit)
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		r.t.Logf("%s: librdkafka's log (first %d lines):\n%s", r.name, rdkafkaLogLinesMax, strings.Join(r.logs, "\n"))
	})
}

func (r *rdkafkaReader) snapshot() readerView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return readerView{slices.Clone(r.view.reads), slices.Clone(r.view.reports), slices.Clone(r.view.errs)}
}

// TestUncleanTruncationDetectedLibrdkafka runs the scenario with two
// librdkafka consumers at once: one with auto.offset.reset=error, which
// must be told of the truncation (and then goes on from where the logs
// diverged), and one with auto.offset.reset=earliest, which is told
// nothing and must go on from there by itself: from offset 10, not from
// its reset offset (0) nor from its position (20).
func TestUncleanTruncationDetectedLibrdkafka(t *testing.T) {
	t.Logf("confluent-kafka-go links %s", kafka.LibrdkafkaLinkInfo)
	_, version := kafka.LibraryVersion()
	t.Logf("librdkafka %s", version)
	reader := func(name, autoOffsetReset string) func(*testing.T, string, string, string) truncationReader {
		return func(t *testing.T, bootstrap, topic, clientID string) truncationReader {
			return startRdkafkaReader(t, name, bootstrap, topic, clientID, autoOffsetReset)
		}
	}
	runUncleanTruncation(t,
		readerUnderTest{name: "librdkafka (auto.offset.reset=error)", tells: true, start: reader("librdkafka (auto.offset.reset=error)", "error")},
		readerUnderTest{name: "librdkafka (auto.offset.reset=earliest)", tells: false, start: reader("librdkafka (auto.offset.reset=earliest)", "earliest")},
	)
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRestartShortcuts: a broker stopped with SIGTERM leaves the clean
// shutdown marker and the recovery point checkpoint, and its next start
// loads every log without recovery (its log says so) and deletes the
// marker; a broker killed with SIGKILL leaves no marker, and its next
// start recovers each log from its recovery point. Every acknowledged
// record is there after both.
func TestRestartShortcuts(t *testing.T) {
	b := startBroker(t, "log.segment.bytes=65536", "log.flush.offset.checkpoint.interval.ms=200")
	const topic = "restart"
	createTopic(t, b, topic, 3)
	acked := map[int]pos{}
	produceSeq(t, b, topic, 0, 3000, acked)

	b.Stop()
	marker := filepath.Join(b.dataDir, ".kafka_cleanshutdown")
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("after SIGTERM: %v; want the clean shutdown marker", err)
	}
	checkpoint, err := os.ReadFile(filepath.Join(b.dataDir, "recovery-point-offset-checkpoint"))
	if err != nil || !strings.Contains(string(checkpoint), topic+" 0 ") {
		t.Fatalf("after SIGTERM: recovery-point-offset-checkpoint %q (%v); want an entry for %s-0", checkpoint, err, topic)
	}

	b.Restart()
	log := b.startedLog()
	for _, want := range []string{"clean shutdown marker found", "recovered " + topic + "-0: ", "loaded after a clean shutdown"} {
		if !strings.Contains(log, want) {
			t.Fatalf("broker log after a restart from SIGTERM: no %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "recovered fully") {
		t.Fatalf("broker log after a restart from SIGTERM: a log was recovered fully:\n%s", log)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("after the restart: the marker is still there (%v); want it deleted at start", err)
	}
	checkLog(t, topic+" after SIGTERM", consumeAll(t, b, topic, 60*time.Second), expect{tag: topic, acked: acked, exactly: 3000})

	produceSeq(t, b, topic, 3000, 1000, acked)
	time.Sleep(500 * time.Millisecond) // past log.flush.offset.checkpoint.interval.ms: a checkpoint after the writes
	b.Kill()
	b.Restart()
	log = b.startedLog()
	for _, want := range []string{"no clean shutdown marker: recovering logs from their recovery points", "recovered from its recovery point"} {
		if !strings.Contains(log, want) {
			t.Fatalf("broker log after a restart from SIGKILL: no %q:\n%s", want, log)
		}
	}
	checkLog(t, topic+" after SIGKILL", consumeAll(t, b, topic, 60*time.Second), expect{tag: topic, acked: acked, exactly: 4000})
}

// produceSeq produces records from..from+n-1 of tag topic, in batches,
// and records where each was acknowledged.
func produceSeq(t *testing.T, b *broker, topic string, from, n int, acked map[int]pos) {
	t.Helper()
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const chunk = 200
	for lo := from; lo < from+n; lo += chunk {
		var rs []*kgo.Record
		for seq := lo; seq < min(lo+chunk, from+n); seq++ {
			rs = append(rs, &kgo.Record{Key: []byte("k" + strconv.Itoa(seq)), Value: []byte(seqValue(topic, seq))})
		}
		for _, res := range cl.ProduceSync(ctx, rs...) {
			seq, _ := parseSeq(topic, res.Record.Value)
			if res.Err != nil {
				t.Fatalf("producing seq %d: %v", seq, res.Err)
			}
			acked[seq] = pos{res.Record.Partition, res.Record.Offset}
		}
	}
}

// currentLog returns what the running broker process has logged so far.
func (b *broker) currentLog() string {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join(b.logDir, fmt.Sprintf("broker-%d.log", b.starts)))
	if err != nil {
		b.t.Fatalf("reading the broker log: %v", err)
	}
	return string(data)
}

// startedLog waits, bounded, until the current start's log says the
// broker serves clients (its listener accepts connections before its
// logs are loaded), and returns the log.
func (b *broker) startedLog() string {
	b.t.Helper()
	deadline := time.Now().Add(brokerStartTimeout)
	for {
		log := b.currentLog()
		if strings.Contains(log, "serving clients") {
			return log
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for the broker to serve clients; its log:\n%s", brokerStartTimeout, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKcatGroupResumesAfterBrokerCrash runs two kcat balanced consumers
// (librdkafka, autocommitting) as a group while records stream in, and
// SIGKILLs the broker mid-stream. kcat exits by design once all its broker
// connections are down, so both members die with it; the broker restarts
// and two new kcat members join the same group. The group's committed
// offsets after the restart must be at least those committed just before
// the kill (nothing committed lost), the new members must consume exactly
// from them to the log end (nothing below them read again, nothing
// skipped), the two runs together every acknowledged record, and no
// partition may have had two owners at once.
func TestKcatGroupResumesAfterBrokerCrash(t *testing.T) {
	_, err := exec.LookPath("kcat")
	requireTool(t, "kcat", err)
	b := startBroker(t, groupOverrides...)
	const topic, group, partitions, n = "crash-kcat", "crash-kcat", 4, 12_000
	createTopic(t, b, topic, partitions)

	own := newOwnership()
	got1, got2 := newConsumed(), newConsumed()
	k1 := startKcat(t, b, group, topic, "kcat-1", own, got1)
	k2 := startKcat(t, b, group, topic, "kcat-2", own, got2)
	acks := newAckLog()
	s := streamRecords(t, b, topic, n, acks, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordDeliveryTimeout(30*time.Second))
	waitFor(t, groupWait, "a third of the stream acknowledged and both kcat members consuming", func() bool {
		return acks.count() >= n/3 && got1.count() > 0 && got2.count() > 0
	})
	committed := waitCommitted(t, b, group, topic, partitions)
	b.Kill()
	for _, k := range []*procMember{k1, k2} {
		err := k.exited(t)
		t.Logf("%s exited after the broker's SIGKILL: %v", k.name, err)
	}
	b.Restart()
	restarted := committedOffsets(t, b, group, topic)
	checkNotBehind(t, "kcat group right after the restart", committed, restarted)

	got3, got4 := newConsumed(), newConsumed()
	k3 := startKcat(t, b, group, topic, "kcat-3", own, got3)
	k4 := startKcat(t, b, group, topic, "kcat-4", own, got4)
	acked := s.wait(t)
	ends := endOffsets(t, b, topic)
	waitFor(t, groupWait, "the new kcat members to consume up to the log end", func() bool { return reachedTogether(ends, got3, got4) })
	k3.stop(t)
	k4.stop(t)
	own.check(t)
	own.checkAssigned(t, "kcat-1", "kcat-2", "kcat-3", "kcat-4")

	second := append(got3.records(), got4.records()...)
	checkResumed(t, "kcat members after the restart", second, committed)
	checkConsumed(t, "kcat members after the restart", second, topic, acked, restarted, ends)
	all := append(append(got1.records(), got2.records()...), second...)
	dups := checkConsumed(t, "kcat across the crash", all, topic, acked, nil, ends)
	checkCommitted(t, "kcat across the crash", b, group, topic, ends)
	checkGroupEmpty(t, "kcat across the crash", b, group)
	t.Logf("%d records: %d before the kill, %d after; committed before the kill %v, after the restart %v; %d consumed twice",
		n, got1.count()+got2.count(), len(second), committed, restarted, dups)
}

package realio

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// TestCleanDoesNotStallOtherPartitions holds a clean of one partition
// that did work, on its goroutine, and checks that another partition
// produces and fetches meanwhile, that the cleaned partition's own
// produces wait for the clean (the log is the clean's until it
// finishes), and that they complete once the clean is let go.
func TestCleanDoesNotStallOtherPartitions(t *testing.T) {
	b := startBroker(t, map[string]string{"log.cleaner.backoff.ms": "10"})
	held, letGo := holdIOWork(t, b, func(_ core.TopicPartition, ev core.Event) bool {
		c, ok := ev.(core.Cleaned)
		return ok && c.Ran
	})

	c := b.dial(t)
	createTopic(t, c, "compacted", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024",
		"min.cleanable.dirty.ratio": "0.01"})
	plainID := createTopic(t, c, "plain", 1, nil)

	// Batches of the same 4 keys, pipelined on one connection: segments
	// roll, and a clean that removes old values starts among them.
	const updates = 12
	producer := b.dial(t)
	var reqs []*kmsg.ProduceRequest
	var corrs []int32
	for i := 0; i < updates; i++ {
		req := produceReq(-1, "compacted", 0, plainBatch(fmt.Sprintf("u%02d", i), 4).sized(64).bytes())
		req.SetVersion(9)
		corr, err := producer.send(req)
		if err != nil {
			t.Fatalf("send produce %d to compacted-0: %v", i, err)
		}
		reqs, corrs = append(reqs, req), append(corrs, corr)
	}
	select {
	case ev := <-held:
		t.Logf("holding a clean of compacted-0 up to offset %d", ev.(core.Cleaned).FirstDirty)
	case <-time.After(ioTimeout):
		t.Fatalf("no clean of compacted-0 did work within %s", ioTimeout)
	}

	// The clean is held. A produce to its partition sent now waits.
	waiting := b.dial(t)
	late := produceReq(-1, "compacted", 0, plainBatch("late", 4).sized(64).bytes())
	late.SetVersion(9)
	lateCorr, err := waiting.send(late)
	if err != nil {
		t.Fatalf("send a produce to compacted-0: %v", err)
	}
	// Another partition produces and fetches meanwhile.
	other := b.dial(t)
	off := mustProduce(t, other, 9, "plain", 0, plainBatch("other", 3).bytes())
	rp := fetchPart(t, other, 12, "plain", plainID, 0, off)
	if rp.ErrorCode != 0 || rp.HighWatermark != off+3 || len(splitBatches(t, rp.RecordBatches)) != 1 {
		t.Fatalf("fetch plain-0 during the clean: got error %s, high watermark %d, %d bytes; want the produced batch up to %d",
			errName(rp.ErrorCode), rp.HighWatermark, len(rp.RecordBatches), off+3)
	}
	// Everything above was answered, so the produce to compacted-0, sent
	// first, would have been answered too had it not waited.
	waiting.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := waiting.r.Peek(1); !isTimeout(err) {
		t.Fatalf("produce to compacted-0 during its clean: got a response (err %v); want it held until the clean finishes", err)
	}

	letGo()
	next := int64(-1)
	for i, req := range reqs {
		resp, err := producer.recv(req, corrs[i])
		if err != nil {
			t.Fatalf("produce %d to compacted-0: %v", i, err)
		}
		p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.BaseOffset <= next {
			t.Fatalf("produce %d to compacted-0: got %s at offset %d; want 0 above %d", i, errName(p.ErrorCode), p.BaseOffset, next)
		}
		next = p.BaseOffset
	}
	resp, err := waiting.recv(late, lateCorr)
	if err != nil {
		t.Fatalf("produce to compacted-0 after the clean: %v", err)
	}
	if p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != updates*4 {
		t.Fatalf("produce to compacted-0 after the clean: got %s at offset %d; want 0 at %d", errName(p.ErrorCode), p.BaseOffset, updates*4)
	}
}

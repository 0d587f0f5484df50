package realio

import (
	"fmt"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/io/driver"
)

// TestFsyncDoesNotStallOtherPartitions holds an IO worker right after
// it fsynced one partition (log.flush.interval.messages=1: every append
// is synced before it is acknowledged) and checks that another
// partition produces and fetches meanwhile, that the held partition's
// produce is answered only once the worker is let go, and that produces
// sent to it meanwhile wait behind it in order.
func TestFsyncDoesNotStallOtherPartitions(t *testing.T) {
	b := startBroker(t, map[string]string{"log.flush.interval.messages": "1", "num.io.threads": "2"})
	c := b.dial(t)
	createTopic(t, c, "slow", 1, nil)
	fastID := createTopic(t, c, "fast", 1, nil)

	held, letGo := holdIOWork(t, b, func(tp core.TopicPartition, ev core.Event) bool {
		_, ok := ev.(core.Synced)
		return ok && tp == core.TopicPartition{Topic: "slow"}
	})

	slow := b.dial(t)
	var reqs []*kmsg.ProduceRequest
	var corrs []int32
	for i := range 3 {
		req := produceReq(-1, "slow", 0, plainBatch(fmt.Sprintf("s%d", i), 2).bytes())
		req.SetVersion(9)
		corr, err := slow.send(req)
		if err != nil {
			t.Fatalf("send produce %d to slow-0: %v", i, err)
		}
		reqs, corrs = append(reqs, req), append(corrs, corr)
	}
	select {
	case <-held:
	case <-time.After(ioTimeout):
		t.Fatalf("no fsync of slow-0 within %s", ioTimeout)
	}

	// The worker that synced slow-0 is held; the other worker serves
	// fast-0, produce and fetch, through its own fsyncs.
	other := b.dial(t)
	for i := range 3 {
		off := mustProduce(t, other, 9, "fast", 0, plainBatch(fmt.Sprintf("f%d", i), 3).bytes())
		rp := fetchPart(t, other, 12, "fast", fastID, 0, off)
		if rp.ErrorCode != 0 || rp.HighWatermark != off+3 || len(splitBatches(t, rp.RecordBatches)) != 1 {
			t.Fatalf("fetch fast-0 at %d while slow-0's fsync is held: got error %s, high watermark %d, %d bytes; want the batch up to %d",
				off, errName(rp.ErrorCode), rp.HighWatermark, len(rp.RecordBatches), off+3)
		}
	}
	// Everything above was answered, so slow-0's first produce, sent
	// first, would have been answered too had it not waited.
	slow.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := slow.r.Peek(1); !isTimeout(err) {
		t.Fatalf("produce to slow-0 while its fsync is held: got a response (err %v); want it held", err)
	}
	slow.nc.SetReadDeadline(time.Time{})

	letGo()
	for i, req := range reqs {
		resp, err := slow.recv(req, corrs[i])
		if err != nil {
			t.Fatalf("produce %d to slow-0: %v", i, err)
		}
		if p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != int64(2*i) {
			t.Fatalf("produce %d to slow-0: got %s at offset %d; want 0 at %d", i, errName(p.ErrorCode), p.BaseOffset, 2*i)
		}
	}
}

// TestConcurrentProduceFetchFsync drives several partitions at once from
// several connections, every append fsynced, while other connections
// fetch them, on more IO workers than partitions; run with -race it
// checks the loop and the workers share nothing unguarded. Every batch
// must come back once, in order, at the offset its produce was given.
func TestConcurrentProduceFetchFsync(t *testing.T) {
	const parts, batches = 4, 30
	b := startBroker(t, map[string]string{"log.flush.interval.messages": "1", "num.io.threads": "6"})
	c := b.dial(t)
	id := createTopic(t, c, "busy", parts, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 2*parts)
	for p := range int32(parts) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- producePartition(b, t, p, batches)
		}()
		go func() {
			defer wg.Done()
			errs <- fetchPartition(b, t, id, p, batches)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// producePartition produces batches of 3 records to busy-p, pipelined
// five at a time, and checks each got the next offsets.
func producePartition(b *testBroker, t *testing.T, p int32, batches int) error {
	c := b.dial(t)
	for i := 0; i < batches; i += 5 {
		var reqs []*kmsg.ProduceRequest
		var corrs []int32
		for j := i; j < i+5; j++ {
			req := produceReq(-1, "busy", p, plainBatch(fmt.Sprintf("p%d-%d", p, j), 3).bytes())
			req.SetVersion(9)
			corr, err := c.send(req)
			if err != nil {
				return fmt.Errorf("send produce %d to busy-%d: %w", j, p, err)
			}
			reqs, corrs = append(reqs, req), append(corrs, corr)
		}
		for k, req := range reqs {
			resp, err := c.recv(req, corrs[k])
			if err != nil {
				return fmt.Errorf("produce %d to busy-%d: %w", i+k, p, err)
			}
			rp := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
			if want := int64(3 * (i + k)); rp.ErrorCode != 0 || rp.BaseOffset != want {
				return fmt.Errorf("produce %d to busy-%d: got %s at offset %d; want 0 at %d", i+k, p, errName(rp.ErrorCode), rp.BaseOffset, want)
			}
		}
	}
	return nil
}

// fetchPartition fetches busy-p from offset 0 until it has every batch,
// checking that each comes once and in order.
func fetchPartition(b *testBroker, t *testing.T, id [16]byte, p int32, batches int) error {
	c := b.dial(t)
	next := int64(0)
	deadline := time.Now().Add(ioTimeout)
	for next < int64(3*batches) {
		if time.Now().After(deadline) {
			return fmt.Errorf("fetch busy-%d: at offset %d after %s; want %d", p, next, ioTimeout, 3*batches)
		}
		req := fetchReq("busy", id, p, next)
		req.MaxWaitMillis = 50
		req.SetVersion(12)
		resp, err := c.roundTrip(req)
		if err != nil {
			return fmt.Errorf("fetch busy-%d at %d: %w", p, next, err)
		}
		rp := resp.(*kmsg.FetchResponse).Topics[0].Partitions[0]
		if rp.ErrorCode != 0 {
			return fmt.Errorf("fetch busy-%d at %d: %s", p, next, errName(rp.ErrorCode))
		}
		for _, raw := range splitBatches(t, rp.RecordBatches) {
			var batch kmsg.RecordBatch
			if err := batch.ReadFrom(raw); err != nil {
				return fmt.Errorf("fetch busy-%d at %d: %w", p, next, err)
			}
			if crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)); crc != uint32(batch.CRC) {
				return fmt.Errorf("fetch busy-%d: batch at %d has CRC %08x, its bytes %08x: served bytes changed under the response", p, batch.FirstOffset, uint32(batch.CRC), crc)
			}
			if batch.FirstOffset != next || batch.NumRecords != 3 {
				return fmt.Errorf("fetch busy-%d: got a batch at %d of %d records; want 3 at %d", p, batch.FirstOffset, batch.NumRecords, next)
			}
			next += 3
		}
	}
	return nil
}

// TestQueuedMaxRequestBytes spends the request budget
// (queued.max.request.bytes) with one produce whose append is held on
// its IO worker, and checks that no other request is read, from any
// connection, until that produce is answered; then both are answered.
func TestQueuedMaxRequestBytes(t *testing.T) {
	b := startBroker(t, map[string]string{"queued.max.request.bytes": "1"})
	c := b.dial(t)
	createTopic(t, c, "slow", 1, nil)

	held, letGo := holdIOWork(t, b, func(tp core.TopicPartition, ev core.Event) bool {
		_, ok := ev.(core.Appended)
		return ok && tp == core.TopicPartition{Topic: "slow"}
	})

	slow := b.dial(t)
	req := produceReq(-1, "slow", 0, plainBatch("s", 2).bytes())
	req.SetVersion(9)
	corr, err := slow.send(req)
	if err != nil {
		t.Fatalf("send produce to slow-0: %v", err)
	}
	select {
	case <-held:
	case <-time.After(ioTimeout):
		t.Fatalf("no append to slow-0 within %s", ioTimeout)
	}
	if used := b.budget.inUse(); used <= 0 {
		t.Fatalf("request budget in use while the produce is held: %d bytes; want its frame's", used)
	}
	other := b.dial(t)
	meta := kmsg.NewPtrMetadataRequest()
	meta.SetVersion(9)
	metaCorr, err := other.send(meta)
	if err != nil {
		t.Fatalf("send metadata: %v", err)
	}
	other.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := other.r.Peek(1); !isTimeout(err) {
		t.Fatalf("metadata while the budget is spent: got a response (err %v); want it unread until the produce is answered", err)
	}
	other.nc.SetReadDeadline(time.Time{})

	letGo()
	resp, err := slow.recv(req, corr)
	if err != nil {
		t.Fatalf("produce to slow-0: %v", err)
	}
	if p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce to slow-0: got %s at offset %d; want 0 at 0", errName(p.ErrorCode), p.BaseOffset)
	}
	if _, err := other.recv(meta, metaCorr); err != nil {
		t.Fatalf("metadata once the budget is free: %v", err)
	}
}

// holdIOWork holds the first IO work whose outcome matches on its
// worker, before the loop learns of it: held receives the matching
// completion, and letGo lets the worker go on (also at the test's end,
// before the broker's shutdown, which was registered earlier).
func holdIOWork(t *testing.T, b *testBroker, match func(tp core.TopicPartition, ev core.Event) bool) (held <-chan core.Event, letGo func()) {
	ch := make(chan core.Event, 1)
	release := make(chan struct{})
	var releaseOnce, holdOnce sync.Once
	letGo = func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo)
	hold := func(f driver.Finished) {
		for _, ev := range f.Events() {
			if match(f.Partition(), ev) {
				holdOnce.Do(func() {
					ch <- ev
					<-release
				})
			}
		}
	}
	b.afterBackground.Store(&hold)
	return ch, letGo
}

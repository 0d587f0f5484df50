package sim

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// consumer reads every partition sequentially from offset 0 with
// sessionless Fetch requests, one at a time. Each Fetch is one Op; its
// position in a partition advances past the records it returned.
type consumer struct {
	w       *world
	cl      *client
	version int16 // Fetch version (names only: v4-12)

	pos          []core.Offset // next offset per partition
	maxWaitMs    int32
	maxBytes     int32
	partMaxBytes int32
	isolation    int8
	busy         bool
	stopped      bool
	fetches      int
}

func (c *consumer) start() {
	c.cl.onReady = c.pump
	c.cl.ensureConn()
}

func (c *consumer) pump() {
	if c.busy || c.stopped {
		return
	}
	if !c.cl.ready() {
		c.cl.ensureConn()
		return
	}
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(c.version)
	req.ReplicaID = -1
	req.MaxWaitMillis = c.maxWaitMs
	req.MinBytes = 1
	req.MaxBytes = c.maxBytes
	req.IsolationLevel = c.isolation
	req.SessionEpoch = -1
	t := kmsg.NewFetchRequestTopic()
	t.Topic = c.w.topic
	op := &Op{Client: c.cl.name, Kind: OpFetch, Call: c.w.now}
	for i, off := range c.pos {
		// Ask for a random non-empty subset of partitions.
		if len(c.pos) > 1 && c.w.rng.IntN(3) == 0 && !(i == len(c.pos)-1 && len(t.Partitions) == 0) {
			continue
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition, p.FetchOffset, p.PartitionMaxBytes = int32(i), int64(off), c.partMaxBytes
		t.Partitions = append(t.Partitions, p)
		op.Fetches = append(op.Fetches, FetchPart{Partition: int32(i), From: off, HighWatermark: -1})
	}
	req.Topics = append(req.Topics, t)
	c.w.hist.begin(op)
	c.busy = true
	c.fetches++
	c.cl.send(req, func(r kmsg.Response, err error) {
		c.busy = false
		op.Return = c.w.now
		if err != nil {
			op.Outcome = Indefinite
			return // pump runs again on reconnect
		}
		op.Outcome = OK
		retry := c.fetched(op, r.(*kmsg.FetchResponse))
		delay := core.Instant(c.w.rng.Int64N(2e6))
		if retry {
			delay = c.cl.backoff()
		}
		c.w.after(delay, c.pump)
	})
}

// fetched records the response in op and advances positions; it says
// whether an error asks for a backoff.
func (c *consumer) fetched(op *Op, resp *kmsg.FetchResponse) bool {
	backoff := false
	if resp.ErrorCode != 0 {
		c.w.failf("fetch-error", "%s: fetch failed as a whole with %s", c.cl.name, errName(resp.ErrorCode))
		return true
	}
	for i := range op.Fetches {
		fp := &op.Fetches[i]
		rp := findFetchPartition(resp, c.w.topic, fp.Partition)
		if rp == nil {
			c.w.failf("protocol", "%s: fetch response lacks partition %d", c.cl.name, fp.Partition)
			backoff = true
			continue
		}
		fp.ErrorCode, fp.HighWatermark = rp.ErrorCode, core.Offset(rp.HighWatermark)
		if rp.ErrorCode != 0 {
			backoff = true // retriable or not, wait before asking again
			continue
		}
		recs, err := decodeBatches(rp.RecordBatches)
		if err != nil {
			c.w.failf("corrupt-read", "%s: partition %d at offset %d: %v", c.cl.name, fp.Partition, fp.From, err)
			backoff = true
		}
		for _, r := range recs {
			if r.offset < fp.From {
				continue // a fetch returns whole batches
			}
			if r.offset >= fp.HighWatermark {
				c.w.failf("read-past-hwm", "%s: partition %d offset %d read past the high watermark %d", c.cl.name, fp.Partition, r.offset, fp.HighWatermark)
			}
			if c.w.cfg.canary == canaryMisrecordRead && c.w.rng.IntN(1000) == 0 {
				r.offset++ // planted bug: the consumer records the wrong offset
			}
			fp.Records = append(fp.Records, ReadRecord{Offset: r.offset, Value: r.value})
		}
		if n := len(fp.Records); n > 0 {
			c.pos[fp.Partition] = fp.Records[n-1].Offset + 1
		}
	}
	return backoff
}

func findFetchPartition(resp *kmsg.FetchResponse, topic string, partition int32) *kmsg.FetchResponseTopicPartition {
	for i := range resp.Topics {
		if resp.Topics[i].Topic != topic {
			continue
		}
		for j := range resp.Topics[i].Partitions {
			if rp := &resp.Topics[i].Partitions[j]; rp.Partition == partition {
				return rp
			}
		}
	}
	return nil
}

// caughtUp says the consumer has read every acknowledged record.
func (c *consumer) caughtUp() bool {
	for p, off := range c.pos {
		if off < c.w.ackedEnd[p] {
			return false
		}
	}
	return true
}

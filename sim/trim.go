package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// trimmer is an operator who deletes records (DeleteRecords) from a
// topic of its own during the fault phase, between small produces to it,
// and checks what the brokers say afterwards: once a DeleteRecords is
// acknowledged with low watermark L, no broker may answer a request sent
// later as if records below L were still there, across crashes,
// restarts and failovers:
//
//   - trim-regress: a ListOffsets earliest (-2, or earliest local -4)
//     answered an offset below L;
//   - trim-visible: a Fetch at an offset below L was answered with no
//     error (it must be OFFSET_OUT_OF_RANGE: the log starts at L or
//     later);
//   - trim-low-watermark: a DeleteRecords was acknowledged with a low
//     watermark below the offset it asked for.
//
// It also asks for the record with the largest timestamp (ListOffsets
// -3; its batches carry timestamps out of order) and describes the
// workload topic's producers (DescribeProducers), whose answers must be
// well formed. Each request goes to a broker drawn at random: one that
// does not lead the partition answers NOT_LEADER_OR_FOLLOWER, which
// checks nothing.
//
// The topic is created with flush.messages=1, as the workload's
// acknowledged records are durable: a crash may not take committed
// records, and with them the trimmed log start, back below L. The
// trimmer draws from a random source of its own, so the seed's other
// draws are as they were without it; its traffic still moves them.
type trimmer struct {
	w      *world
	rng    *rand.Rand
	cls    map[core.BrokerID]*client
	asking bool
	ready  bool // the topic exists
	// end is the largest committed end (high watermark) an answer showed.
	end core.Offset
	// floor is the largest low watermark a DeleteRecords acknowledged,
	// floorAt when that answer came: requests sent from then on are held
	// to it.
	floor   core.Offset
	floorAt core.Instant
}

const (
	trimTopic  = "trimmed"
	trimMean   = core.Instant(700e6)
	trimStream = 0x7472696d // "trim"
)

func newTrimmer(w *world) *trimmer {
	t := &trimmer{w: w, rng: rand.New(rand.NewPCG(w.cfg.Seed, trimStream)), cls: map[core.BrokerID]*client{}, floorAt: -1}
	for _, n := range w.nodes {
		cl := newClient(w, fmt.Sprintf("trimmer-%d", n.id))
		cl.target = n
		t.cls[n.id] = cl
	}
	return t
}

func (t *trimmer) start() { t.w.after(t.interval(), t.loop) }

func (t *trimmer) interval() core.Instant {
	return core.Instant(t.rng.ExpFloat64() * float64(trimMean))
}

func (t *trimmer) loop() {
	if !t.w.faulting() {
		return
	}
	if !t.asking {
		n := t.w.nodes[t.rng.IntN(len(t.w.nodes))]
		switch pick := t.rng.IntN(10); {
		case !t.ready:
			t.create(n)
		case pick < 3:
			t.produce(n)
		case pick < 5:
			t.trim(n)
		case pick < 6:
			t.earliest(n)
		case pick < 7:
			t.fetch(n)
		case pick < 8:
			t.maxTime(n)
		default:
			t.describeProducers(n)
		}
	}
	t.w.after(t.interval(), t.loop)
}

// send sends req to n; done gets the answer sent at sentAt. A node not
// connected to is connected to, and the request left for a later round.
func (t *trimmer) send(n *node, req kmsg.Request, done func(r kmsg.Response, sentAt core.Instant)) {
	cl := t.cls[n.id]
	if !cl.ready() {
		cl.ensureConn()
		return
	}
	t.asking = true
	sentAt := t.w.now
	cl.send(req, func(r kmsg.Response, err error) {
		t.asking = false
		if err == nil {
			done(r, sentAt)
		}
	})
}

func (t *trimmer) create(n *node) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(int16(2 + t.rng.IntN(6)))
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = trimTopic, 1, int16(max(t.w.rf, 1))
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "flush.messages", kmsg.StringPtr("1")
	rt.Configs = append(rt.Configs, c)
	if t.w.minISR > 1 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr(strconv.Itoa(int(t.w.minISR)))
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	t.send(n, req, func(r kmsg.Response, _ core.Instant) {
		resp := r.(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) == 1 && (resp.Topics[0].ErrorCode == 0 || resp.Topics[0].ErrorCode == kerr.TopicAlreadyExists.Code) {
			t.ready = true
		}
	})
}

// produce writes a batch of one to three records whose timestamps go
// back up to five seconds, so that the largest is rarely the last.
func (t *trimmer) produce(n *node) {
	values := make([]string, 1+t.rng.IntN(3))
	for i := range values {
		values[i] = fmt.Sprintf("trim-%d-%d", t.w.now, i)
	}
	spec := batchSpec{values: values, producerID: -1, producerEpoch: -1, baseSequence: -1,
		timestampMs: t.w.now.Millis() - t.rng.Int64N(5000)}
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(int16(3 + t.rng.IntN(9)))
	req.Acks, req.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = trimTopic
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = encodeBatch(spec)
	pt.Partitions = append(pt.Partitions, pp)
	req.Topics = append(req.Topics, pt)
	t.send(n, req, func(r kmsg.Response, _ core.Instant) {
		if p, ok := trimPartition(r.(*kmsg.ProduceResponse).Topics); ok && p.ErrorCode == 0 {
			t.end = max(t.end, core.Offset(p.BaseOffset)+core.Offset(len(values)))
		}
	})
}

// trimPartition is the one partition of a produce answer.
func trimPartition(ts []kmsg.ProduceResponseTopic) (kmsg.ProduceResponseTopicPartition, bool) {
	if len(ts) != 1 || len(ts[0].Partitions) != 1 {
		return kmsg.ProduceResponseTopicPartition{}, false
	}
	return ts[0].Partitions[0], true
}

// trim deletes up to an offset between the floor and the end seen, or
// up to the high watermark (-1).
func (t *trimmer) trim(n *node) {
	offset := int64(-1)
	if t.rng.IntN(4) > 0 {
		offset = int64(t.floor) + t.rng.Int64N(int64(t.end-t.floor)+1)
	}
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(int16(t.rng.IntN(3)))
	req.TimeoutMillis = 3000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = trimTopic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	t.send(n, req, func(r kmsg.Response, _ core.Instant) {
		resp := r.(*kmsg.DeleteRecordsResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.w.failf("protocol", "trimmer: DeleteRecords answered %+v", resp.Topics)
			return
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			return
		}
		lw := core.Offset(p.LowWatermark)
		if p.LowWatermark < offset {
			t.w.failf("trim-low-watermark", "DeleteRecords of %s-0 to %d acknowledged by broker %d with low watermark %d", trimTopic, offset, n.id, lw)
		}
		t.w.logf("trimmer: %s-0 trimmed to %d by broker %d: low watermark %d", trimTopic, offset, n.id, lw)
		t.end = max(t.end, lw)
		if lw > t.floor {
			t.floor, t.floorAt = lw, t.w.now
		}
	})
}

// held says whether an answer to a request sent at sentAt must respect
// the floor.
func (t *trimmer) held(sentAt core.Instant) bool { return t.floorAt >= 0 && sentAt >= t.floorAt }

func listOffsetsReq(topic string, v int16, ts int64) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(v)
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp, rp.MaxNumOffsets = ts, 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func listOffsetsAnswer(r kmsg.Response) (kmsg.ListOffsetsResponseTopicPartition, bool) {
	resp := r.(*kmsg.ListOffsetsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return kmsg.ListOffsetsResponseTopicPartition{}, false
	}
	return resp.Topics[0].Partitions[0], true
}

// earliest asks the log start (-2, or -4 from v8) and holds it to the
// floor.
func (t *trimmer) earliest(n *node) {
	v, ts := int16(1+t.rng.IntN(9)), int64(-2)
	if v >= 8 && t.rng.IntN(2) == 0 {
		ts = -4
	}
	t.send(n, listOffsetsReq(trimTopic, v, ts), func(r kmsg.Response, sentAt core.Instant) {
		p, ok := listOffsetsAnswer(r)
		if !ok || p.ErrorCode != 0 {
			return
		}
		if t.held(sentAt) && core.Offset(p.Offset) < t.floor {
			t.w.failf("trim-regress", "ListOffsets %d of %s-0 answered by broker %d: log start %d, below the low watermark %d acknowledged at %s",
				ts, trimTopic, n.id, p.Offset, t.floor, fmtInstant(t.floorAt))
		}
	})
}

// fetch reads from an offset at or below the end seen, often below the
// floor.
func (t *trimmer) fetch(n *node) {
	offset := t.rng.Int64N(int64(t.end) + 1)
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(int16(4 + t.rng.IntN(9)))
	req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = -1, 1<<20, 0
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = trimTopic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = offset, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	t.send(n, req, func(r kmsg.Response, sentAt core.Instant) {
		resp := r.(*kmsg.FetchResponse)
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode == 0 && t.held(sentAt) && core.Offset(offset) < t.floor {
			t.w.failf("trim-visible", "Fetch of %s-0 at %d answered by broker %d with %d bytes, log start %d; the low watermark %d was acknowledged at %s",
				trimTopic, offset, n.id, len(p.RecordBatches), p.LogStartOffset, t.floor, fmtInstant(t.floorAt))
		}
	})
}

// maxTime asks for the record with the largest timestamp (v7+).
func (t *trimmer) maxTime(n *node) {
	t.send(n, listOffsetsReq(trimTopic, int16(7+t.rng.IntN(3)), -3), func(r kmsg.Response, sentAt core.Instant) {
		p, ok := listOffsetsAnswer(r)
		if !ok || p.ErrorCode != 0 || p.Offset < 0 {
			return
		}
		if t.held(sentAt) && core.Offset(p.Offset) < t.floor {
			t.w.failf("trim-regress", "ListOffsets -3 of %s-0 answered by broker %d: offset %d, below the low watermark %d acknowledged at %s",
				trimTopic, n.id, p.Offset, t.floor, fmtInstant(t.floorAt))
		}
	})
}

// describeProducers describes a partition of the workload's topic.
func (t *trimmer) describeProducers(n *node) {
	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = t.w.topic, []int32{t.rng.Int32N(max(t.w.partitions, 1))}
	req.Topics = append(req.Topics, rt)
	t.send(n, req, func(r kmsg.Response, _ core.Instant) {
		resp := r.(*kmsg.DescribeProducersResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.w.failf("protocol", "trimmer: DescribeProducers answered %+v", resp.Topics)
			return
		}
		for _, ap := range resp.Topics[0].Partitions[0].ActiveProducers {
			if ap.ProducerID < 0 || ap.ProducerEpoch < 0 || ap.LastSequence < 0 || ap.CoordinatorEpoch != -1 || ap.CurrentTxnStartOffset != -1 {
				t.w.failf("protocol", "trimmer: DescribeProducers of broker %d lists %+v", n.id, ap)
			}
		}
	})
}

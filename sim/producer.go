package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// producer is a simulated Kafka producer. Plain producers with acks=0
// send and forget (every batch's outcome is indefinite); with acks=1 or
// -1 they retry a batch up to attemptsMax times; idempotent producers get a
// producer id with InitProducerId, number their records per partition and
// retry forever in sequence order, as Kafka's producer does with
// enable.idempotence=true. Each batch is one Op in the history; its
// records' values are "<producer>#<n>", unique in the run.
//
// Each producer keeps one compression codec, as compression.type does,
// and some make a batch large now and then by giving its records large
// keys of random bytes (see largeKeys).
type producer struct {
	w          *world
	rt         *router // where each partition's batches go
	cl         *client // the bootstrap connection; its name is the producer's
	idempotent bool
	acks       int16
	version    int16 // Produce version
	pidVersion int16 // InitProducerId version

	requestsInflightMax  int             // requests in flight per connection
	requestsInflight     map[*client]int // per connection
	batchesPerPartMax    int             // batches in flight per partition (Kafka: 5 with idempotence)
	queuedPerPartMax     int             // batches waiting per partition before new ones are held back
	intervalMax          core.Instant
	burstMax             int // batches made at once, at most (0 or 1: one)
	recordsPerBatchMax   int
	attemptsMax          int
	compressor           compressor
	largePerMille        int // batches per thousand made large; 0 never
	largeBatchBytesMax   int // bound on a large batch's keys, in bytes
	producerID           int64
	producerEpoch        int16
	pidState             int8 // pidNone, pidAsking, pidReady
	parts                []*prodPart
	nextRecord           int
	stopped              bool // draining: no new batches
	broken               bool // a definite error broke the sequence: stop
	startingOver         bool // a new producer id is due (see startOver)
	pumpScheduledAt      core.Instant
	pumpScheduled        bool
	opsStarted, opsAcked int
	// legacyMagic is the message format of a Kafka 0.9 (0) or 0.10 (1)
	// producer (legacy.go), or -1; brokenLZ4 writes magic 0's LZ4 header
	// checksum as Kafka 0.9 did.
	legacyMagic int8
	brokenLZ4   bool
}

const (
	pidNone int8 = iota
	pidAsking
	pidReady
)

type prodPart struct {
	partition int32
	nextSeq   int32
	batches   int         // batches made, numbering them
	queue     []*pbatch   // unacknowledged, in creation (sequence) order
	lastAcked core.Offset // offset of the last record acknowledged; -1: none
}

type pbatch struct {
	op        *Op
	keys      [][]byte // one per value, kept for retries; nil for null keys
	seq       int32    // base sequence (idempotent only)
	nth       int      // the partition's nth batch of the producer
	inflight  bool
	ambiguous bool // an attempt may have been written
	notBefore core.Instant
}

func (p *producer) start() {
	p.rt.setOnReady(p.pump)
	p.rt.onDenied = p.denied
	p.rt.start()
	p.w.after(core.Instant(p.w.rng.Int64N(int64(p.intervalMax))), p.produceLoop)
}

// produceLoop makes a new batch now and then until the producer stops.
func (p *producer) produceLoop() {
	if p.stopped || p.broken {
		return
	}
	part := p.parts[p.w.rng.IntN(len(p.parts))]
	burst := 1
	if p.burstMax > 1 {
		burst = 1 + p.w.rng.IntN(p.burstMax)
	}
	made := false
	for range burst {
		if len(part.queue) < p.queuedPerPartMax {
			p.newBatch(part)
			made = true
		}
	}
	if made {
		p.pump()
	}
	p.w.after(1+core.Instant(p.w.rng.Int64N(int64(p.intervalMax))), p.produceLoop)
}

func (p *producer) newBatch(part *prodPart) {
	n := 1 + p.w.rng.IntN(p.recordsPerBatchMax)
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("%s#%d", p.cl.name, p.nextRecord)
		p.nextRecord++
	}
	op := p.w.hist.begin(&Op{Client: p.cl.name, Kind: OpProduce, Call: p.w.now,
		Partition: part.partition, Values: values, Offset: -1, Idempotent: p.idempotent, NoTimestamp: p.legacyMagic == 0})
	b := &pbatch{op: op, seq: -1, nth: part.batches}
	part.batches++
	if p.largePerMille > 0 && p.w.rng.IntN(1000) < p.largePerMille {
		b.keys = p.largeKeys(n)
	}
	if p.w.policy.compact {
		p.keyBatch(b)
	}
	if p.idempotent {
		b.seq = part.nextSeq
		part.nextSeq += int32(n)
	}
	part.queue = append(part.queue, b)
	p.opsStarted++
}

// keyBatch gives the records of a batch for a compacted topic their keys
// (every record of a compacted topic needs one): one of the seed's few
// keys, some hot and some cold, some records tombstones. A large batch keeps its random keys, one
// per record and never repeated. The drain's probe writes under a key of
// its own, so that nothing ever supersedes its records.
func (p *producer) keyBatch(b *pbatch) {
	c, op, rng := &p.w.policy.compaction, b.op, p.w.rng
	op.Keys, op.Tombstones = make([]string, len(op.Values)), make([]bool, len(op.Values))
	op.ClockAtCall = -1
	if n := p.w.hostOf(op.Partition); n != nil && n.up {
		op.ClockAtCall = n.incClock
	}
	if b.keys != nil {
		return // large: unique random keys
	}
	b.keys = make([][]byte, len(op.Values))
	for i := range op.Values {
		// Skewed: low keys are hot, high ones rarely written, so that the
		// latest values of some keys lie in segments the cleaner rewrites.
		op.Keys[i] = fmt.Sprintf("k%d", min(rng.IntN(c.keys), rng.IntN(c.keys)))
		if p == p.w.probe {
			op.Keys[i] = "probe"
		}
		b.keys[i] = []byte(op.Keys[i])
		op.Tombstones[i] = p != p.w.probe && p.legacyMagic < 0 && rng.IntN(1000) < c.tombstonePerMille
	}
}

// Large batches: their keys total largeBatchBytesMin to
// producer.largeBatchBytesMax bytes, so that the batch is over 64 KiB on
// the wire whatever the codec (random bytes do not compress). The upper
// bound stays well under the broker's default max.message.bytes (1 MiB)
// and under the seed's segment.bytes, less largeBatchOverheadMax for the
// batch header, the values and the codec's framing: Kafka refuses a batch
// larger than a segment with RECORD_LIST_TOO_LARGE, which would break an
// idempotent producer's sequence.
const (
	largeBatchBytesMin    = 64<<10 + 1<<10
	largeBatchBytesCap    = 300 << 10
	largeBatchOverheadMax = 4 << 10
)

// largeKeys returns n keys of random bytes that together make a large
// batch. The size is the minimum plus a uniform draw below a uniform
// bound: most large batches stay near 64 KiB, which keeps the bytes a
// seed moves (and the simulator's speed) moderate, and a few reach the
// maximum. The bytes come from a ChaCha8 stream seeded from the world's
// rng: much faster per byte than drawing words from the rng itself.
func (p *producer) largeKeys(n int) [][]byte {
	rng := p.w.rng
	total := largeBatchBytesMin + rng.IntN(1+rng.IntN(p.largeBatchBytesMax-largeBatchBytesMin+1))
	per := total / n
	var seed [32]byte
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], rng.Uint64())
	}
	buf := make([]byte, per*n)
	_, _ = rand.NewChaCha8(seed).Read(buf) // never fails
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = buf[i*per : (i+1)*per : (i+1)*per]
	}
	return keys
}

// drawBatches draws the producer's codec, snappy framing and share of
// large batches, and returns them for the world's mix. About two
// producers in five leave compression off, Kafka's default. Seeds whose
// segments cannot hold a large batch get none.
func (p *producer) drawBatches() string {
	rng := p.w.rng
	if rng.IntN(5) >= 2 {
		p.compressor.codec = 1 + rng.IntN(codecCount-1)
	}
	if p.compressor.codec == codecSnappy {
		p.compressor.xerial = rng.IntN(2) == 0
	}
	segment, err := strconv.Atoi(p.w.brokerProps["log.segment.bytes"])
	if err != nil {
		panic(fmt.Sprintf("sim: log.segment.bytes: %v", err))
	}
	p.largeBatchBytesMax = min(largeBatchBytesCap, segment-largeBatchOverheadMax)
	if rng.IntN(3) != 0 && p.largeBatchBytesMax > largeBatchBytesMin {
		p.largePerMille = 5 + rng.IntN(16)
	}
	desc := fmt.Sprintf("%s=%s", p.cl.name, codecName(p.compressor.codec))
	if p.compressor.xerial {
		desc += "-xerial"
	}
	if p.largePerMille > 0 {
		desc += fmt.Sprintf(",large=%.1f%%", float64(p.largePerMille)/10)
	}
	return desc
}

// pump sends what may be sent now.
func (p *producer) pump() {
	if p.broken {
		return
	}
	cl := p.rt.any()
	if cl == nil {
		return // connecting
	}
	if p.startingOver {
		if p.produceRequestsInflight() > 0 {
			return // each response pumps again
		}
		p.startOver()
	}
	if p.idempotent && p.pidState != pidReady {
		if p.pidState == pidNone {
			p.initProducerID(cl)
		}
		return
	}
	for {
		batches := p.sendable()
		if len(batches) == 0 {
			break
		}
		// one request per leader, in the order of its first partition
		for len(batches) > 0 {
			cl := p.rt.leader(batches[0].op.Partition)
			var to, rest []*pbatch
			for _, b := range batches {
				if p.rt.leader(b.op.Partition) == cl {
					to = append(to, b)
				} else {
					rest = append(rest, b)
				}
			}
			p.sendProduce(cl, to)
			batches = rest
		}
	}
}

// routable says the batches of part may go out now: its leader is
// known, connected, and has room for another request.
func (p *producer) routable(part int32) bool {
	cl := p.rt.leader(part)
	return cl != nil && cl.ready() && p.requestsInflight[cl] < p.requestsInflightMax
}

// sendable picks at most one batch per partition whose leader may take
// a request: the oldest queued one whose backoff is over and, for
// idempotent producers, whose predecessors are all in flight (sequence
// order on the wire) within the window.
func (p *producer) sendable() []*pbatch {
	var out []*pbatch
	var wake core.Instant
	for _, part := range p.parts {
		if len(part.queue) == 0 || !p.routable(part.partition) {
			continue
		}
		inflight := 0
		for _, b := range part.queue {
			if b.inflight {
				inflight++
				continue
			}
			if inflight >= p.batchesPerPartMax {
				break
			}
			if p.idempotent && b.nth-part.queue[0].nth >= p.batchesPerPartMax {
				// At most that many batches past the oldest unacknowledged
				// one, as Kafka's producer keeps (max.in.flight): a
				// retry of it then still finds it in the broker's
				// window of a producer's last batches.
				break
			}
			if b.notBefore > p.w.now {
				if wake == 0 || b.notBefore < wake {
					wake = b.notBefore
				}
				if p.idempotent {
					break
				}
				continue
			}
			out = append(out, b)
			break
		}
	}
	if len(out) == 0 && wake != 0 {
		p.pumpAt(wake)
	}
	return out
}

func (p *producer) pumpAt(at core.Instant) {
	if p.pumpScheduled && p.pumpScheduledAt <= at {
		return
	}
	p.pumpScheduled, p.pumpScheduledAt = true, at
	p.w.schedule(at, func() {
		if p.pumpScheduledAt == at {
			p.pumpScheduled = false
		}
		p.pump()
	})
}

func (p *producer) sendProduce(cl *client, batches []*pbatch) {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(p.version)
	req.Acks = p.acks
	req.TimeoutMillis = 30000
	t := kmsg.NewProduceRequestTopic()
	t.Topic = p.w.topic
	for _, b := range batches {
		b.inflight = true
		b.op.Attempts++
		b.op.LastSent = p.w.now
		pid, epoch := int64(-1), int16(-1)
		if p.idempotent {
			pid, epoch = p.producerID, p.producerEpoch
		}
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = b.op.Partition
		spec := batchSpec{values: b.op.Values, keys: b.keys, tombstones: b.op.Tombstones, producerID: pid, producerEpoch: epoch,
			baseSequence: b.seq, timestampMs: b.op.Call.Millis(), compressor: &p.compressor}
		if p.legacyMagic >= 0 {
			rp.Records = encodeLegacySet(spec, p.legacyMagic, p.brokenLZ4)
		} else {
			rp.Records = encodeBatch(spec)
		}
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	if p.acks == 0 {
		// No response will come: the outcome is indefinite at once.
		cl.sendOneWay(req)
		for _, b := range batches {
			p.remove(b)
			b.op.Outcome, b.op.Return = Indefinite, p.w.now
		}
		return
	}
	p.requestsInflight[cl]++
	cl.send(req, func(r kmsg.Response, err error) {
		p.requestsInflight[cl]--
		p.produced(cl, batches, r, err)
		p.pump()
	})
}

func (p *producer) produced(cl *client, batches []*pbatch, r kmsg.Response, err error) {
	if err != nil {
		p.rt.lost(cl)
		for _, b := range batches {
			b.ambiguous = true
			p.retry(b, 0)
		}
		return
	}
	resp := r.(*kmsg.ProduceResponse)
	for _, b := range batches {
		rp := findProducePartition(resp, p.w.topic, b.op.Partition)
		if rp != nil && leadershipError(rp.ErrorCode) {
			p.rt.stale(b.op.Partition) // the retry goes where Metadata says
		}
		switch {
		case rp == nil:
			p.w.failf("protocol", "%s: produce response lacks partition %d", p.cl.name, b.op.Partition)
			b.ambiguous = true
			p.retry(b, 0)
		case rp.ErrorCode == 0:
			b.op.Broker = cl.target.id
			if !slices.Contains(p.w.replicasOf(b.op.Partition), cl.target.id) {
				p.w.failf("wrong-broker", "%s: broker %d acknowledged a batch for partition %d, which it does not hold", p.cl.name, cl.target.id, b.op.Partition)
			}
			p.ack(b, core.Offset(rp.BaseOffset))
		case p.predecessorUnacked(b, rp.ErrorCode):
			// Refused, not written: an earlier batch is not written
			// yet. It goes again after that one; this is no error.
			p.retry(b, 0)
		case p.forgotten(b, rp):
			// The partition's oldest batch, refused: the leader has no
			// state of this producer's last batches. The producer starts
			// over.
			p.retry(b, 0)
			p.startingOver = true
		case indefiniteCode(rp.ErrorCode):
			// A retriable error may still have written the batch
			// (KAFKA-13574); so may KAFKA_STORAGE_ERROR.
			b.ambiguous = true
			p.retry(b, rp.ErrorCode)
		default:
			p.fail(b, rp.ErrorCode)
		}
	}
}

func findProducePartition(resp *kmsg.ProduceResponse, topic string, partition int32) *kmsg.ProduceResponseTopicPartition {
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

// predecessorUnacked says an OUT_OF_ORDER_SEQUENCE_NUMBER or
// UNKNOWN_PRODUCER_ID is the expected result of an earlier batch of the
// partition not having been written yet.
func (p *producer) predecessorUnacked(b *pbatch, code int16) bool {
	if !p.idempotent || code != kerr.OutOfOrderSequenceNumber.Code && code != kerr.UnknownProducerID.Code {
		return false
	}
	part := p.partOf(b)
	return part.queue[0] != b
}

// forgotten says the leader refused the partition's oldest batch because
// it has no state of the producer's last batches: UNKNOWN_PRODUCER_ID
// (it knows nothing of the producer), or OUT_OF_ORDER_SEQUENCE_NUMBER
// with a log start past the producer's last acknowledged record (the
// batches after it, which may have been written, may lie below that
// start: retention deleted them, or this replica started over past
// them). Kafka's clients start over then (KIP-360). Produce before v5
// carries no log start (nor does an answer that tells none, -1): there
// an oldest batch that may have been written (and so may lie below it)
// is enough. Any other
// OUT_OF_ORDER_SEQUENCE_NUMBER for the oldest batch is an error.
func (p *producer) forgotten(b *pbatch, rp *kmsg.ProduceResponseTopicPartition) bool {
	if !p.idempotent {
		return false
	}
	part := p.partOf(b)
	switch {
	case rp.ErrorCode == kerr.UnknownProducerID.Code:
		return true
	case rp.ErrorCode != kerr.OutOfOrderSequenceNumber.Code || part.queue[0] != b:
		return false
	case p.version < 5 || rp.LogStartOffset < 0:
		return b.ambiguous
	}
	return core.Offset(rp.LogStartOffset) > part.lastAcked
}

func (p *producer) partOf(b *pbatch) *prodPart {
	for _, part := range p.parts {
		if part.partition == b.op.Partition {
			return part
		}
	}
	panic("sim: batch of an unknown partition")
}

func (p *producer) remove(b *pbatch) {
	part := p.partOf(b)
	for i, o := range part.queue {
		if o == b {
			part.queue = append(part.queue[:i], part.queue[i+1:]...)
			return
		}
	}
	panic("sim: batch not queued")
}

func (p *producer) ack(b *pbatch, base core.Offset) {
	// With one broker a producer's requests share one connection, answered
	// in order, so acknowledgements come in sequence order. In a cluster
	// an earlier batch may be answered by a deposed leader (and sent again)
	// after a later one was acknowledged by the new leader, which holds
	// both: the order of the records in the log is what the history's
	// reorder check holds them to.
	if p.idempotent && p.partOf(b).queue[0] != b && p.w.ens == nil {
		p.w.failf("idempotence", "%s: batch at sequence %d of partition %d acknowledged before an earlier batch", p.cl.name, b.seq, b.op.Partition)
	}
	p.remove(b)
	b.op.Outcome, b.op.Return, b.op.Offset = OK, p.w.now, base
	p.opsAcked++
	end := base + core.Offset(len(b.op.Values))
	if part := p.partOf(b); end-1 > part.lastAcked {
		part.lastAcked = end - 1
	}
	p.w.expectDelivery(b.op.Partition, base)
	if end > p.w.ackedEnd[b.op.Partition] {
		p.w.ackedEnd[b.op.Partition] = end
	}
}

func (p *producer) retry(b *pbatch, code int16) {
	b.inflight = false
	if code != 0 {
		b.op.ErrorCode = code
	}
	if !p.idempotent && b.op.Attempts >= p.attemptsMax {
		p.remove(b)
		b.op.Outcome, b.op.Return = Indefinite, p.w.now
		return
	}
	b.notBefore = p.w.now + p.cl.backoff()
	p.pumpAt(b.notBefore)
}

// fail ends a batch on a non-retriable error. The sim never provokes one,
// so the checker reports it; an idempotent producer's sequence is broken
// by it and the producer stops, leaving its other batches pending.
func (p *producer) fail(b *pbatch, code int16) {
	p.remove(b)
	b.inflight = false
	b.op.ErrorCode, b.op.Return = code, p.w.now
	b.op.Outcome = Failed
	if b.ambiguous {
		b.op.Outcome = Indefinite
	}
	if p.idempotent {
		p.broken = true
	}
}

// denied fails the batches waiting to be sent: Metadata refused the
// topic for want of an ACL, as Kafka's producer fails them with a
// TopicAuthorizationException. Batches in flight get their own answers.
func (p *producer) denied() {
	var waiting []*pbatch
	for _, part := range p.parts {
		for _, b := range part.queue {
			if !b.inflight {
				waiting = append(waiting, b)
			}
		}
	}
	for _, b := range waiting {
		p.fail(b, kerr.TopicAuthorizationFailed.Code)
	}
}

// produceRequestsInflight counts the producer's produce requests
// awaiting an answer, over all its connections.
func (p *producer) produceRequestsInflight() int {
	n := 0
	// order-independent: a sum
	for _, c := range p.requestsInflight {
		n += c
	}
	return n
}

// startOver gives up the producer id after a leader answered
// UNKNOWN_PRODUCER_ID to a partition's oldest batch, as Kafka's clients
// do (KIP-360; franz-go reloads its producer id): once no produce request
// is in flight, the batches whose earlier attempts may have been written
// end indefinite (sent again under a new id, a written one would be
// written twice), the others are numbered again from sequence 0 on every
// partition, and they go out under a new producer id.
func (p *producer) startOver() {
	p.startingOver = false
	for _, part := range p.parts {
		kept := part.queue[:0]
		for _, b := range part.queue {
			if b.ambiguous {
				b.op.Outcome, b.op.Return = Indefinite, p.w.now
				continue
			}
			kept = append(kept, b)
		}
		clear(part.queue[len(kept):])
		part.queue = kept
		part.nextSeq = 0
		for _, b := range part.queue {
			b.seq = part.nextSeq
			part.nextSeq += int32(len(b.op.Values))
		}
	}
	p.pidState = pidNone
	p.w.logf("%s: no state at a leader; starting over under a new producer id", p.cl.name)
}

func (p *producer) initProducerID(cl *client) {
	p.pidState = pidAsking
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(p.pidVersion)
	req.TransactionTimeoutMillis = 60000
	cl.send(req, func(r kmsg.Response, err error) {
		p.pidState = pidNone
		if err != nil {
			return // pump runs again on reconnect
		}
		resp := r.(*kmsg.InitProducerIDResponse)
		switch {
		case resp.ErrorCode == 0:
			p.pidState, p.producerID, p.producerEpoch = pidReady, resp.ProducerID, resp.ProducerEpoch
			p.pump()
		case kerr.IsRetriable(kerr.ErrorForCode(resp.ErrorCode)):
			p.w.after(p.cl.backoff(), p.pump)
		default:
			p.w.failf("init-producer-id", "%s: InitProducerId failed: %s", p.cl.name, errName(resp.ErrorCode))
			p.broken = true
		}
	})
}

// idle says the producer has nothing left to do.
func (p *producer) idle() bool {
	if p.broken {
		return true
	}
	for _, part := range p.parts {
		if len(part.queue) > 0 {
			return false
		}
	}
	return true
}

// makeLegacy turns a plain producer into a Kafka 0.9 or 0.10 one: Produce
// v0-1 with magic 0 or v2 with magic 1, and no zstd, which those formats
// lack.
func (p *producer) makeLegacy(r *rand.Rand) string {
	p.legacyMagic = int8(r.IntN(2))
	p.version = 2
	if p.legacyMagic == 0 {
		p.version = int16(r.IntN(2))
		p.brokenLZ4 = r.IntN(2) == 0
	}
	if p.compressor.codec == codecZstd {
		p.compressor.codec = codecGzip
	}
	return fmt.Sprintf("%s:legacy(magic=%d,v%d,%s)", p.cl.name, p.legacyMagic, p.version, codecName(p.compressor.codec))
}

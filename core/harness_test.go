package core_test

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// harness drives a core.Broker with no process, socket or file: storage
// effects are executed against an in-memory list of batches, and their
// completions are held until the test delivers them, so a test controls
// exactly what has been written or synced.
type harness struct {
	t           *testing.T
	b           *core.Broker
	now         core.Instant
	seq         uint64
	logs        map[core.TopicPartition][][]byte
	held        []core.Event // completions not yet delivered
	resps       []core.Respond
	closes      []core.CloseConn
	effects     []core.Effect
	failAppends bool
	coord       *kio.ZTree // the coordination store, with the broker's session
	session     int64
	failCoord   bool
	coordLoss   bool // coordination ops happen, but report connection loss
	lifecycles  []core.Lifecycle
	auths       []core.Authenticated
	authFails   []core.AuthFailed
	denials     []core.AuthzDenied
	throttles   []core.Throttle
	// recoveryCheckpoints counts the CheckpointRecovery effects.
	recoveryCheckpoints int
	peerSends           []core.PeerSend
	retains             []core.Retain
	// retainStart is the log start a Retain of a partition reports
	// (none: 0), as if retention had deleted the segments below it.
	retainStart map[core.TopicPartition]core.Offset
	// filesDueMs is what the next Retained reports as FilesDueMs (then
	// 0 again): a deletion of removed segments' files due then.
	filesDueMs int64
	truncates  []core.Truncate
	cleans     []core.Clean
	scrubs     []core.Scrub
	coordOps   []core.CoordOp // every coordination operation, in order
	cleanRan   bool           // what Cleaned says
	cleanErr   error          // what Cleaned says

	// peerAnswer, when set, answers the requests sent to other brokers
	// (the token is filled in); by default they fail.
	peerAnswer func(core.PeerSend) core.PeerResponse
	// truncEpochs, when set, gives the epochs a truncated log keeps (what
	// Truncated reports); by default none.
	truncEpochs func(core.Truncate) []core.EpochStart
}

func newHarness(t *testing.T, props map[string]string) *harness {
	t.Helper()
	if props == nil {
		props = map[string]string{}
	}
	cfg, err := core.ParseProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	return newHarnessFrom(t, cfg, core.Recovered{})
}

// newHarnessFrom starts a broker on what rec recovered, with a
// coordination store holding rec's znodes and a session of its own.
func newHarnessFrom(t *testing.T, cfg core.Config, rec core.Recovered) *harness {
	return newHarnessOn(t, cfg, rec, restoredTree(t, rec.Znodes))
}

// restoredTree is a coordination store holding znodes.
func restoredTree(t *testing.T, znodes []core.Znode) *kio.ZTree {
	t.Helper()
	tree := kio.NewZTree()
	var saved []kio.SavedZnode
	for _, z := range znodes {
		saved = append(saved, kio.SavedZnode{Path: z.Path, Data: z.Data})
	}
	if err := tree.Restore(saved); err != nil {
		t.Fatal(err)
	}
	return tree
}

// newHarnessOn starts a broker on what rec recovered, with the
// coordination store tree (rec's znodes are not added) and a session of
// its own.
func newHarnessOn(t *testing.T, cfg core.Config, rec core.Recovered, tree *kio.ZTree) *harness {
	rec.CoordSession = tree.OpenSession()
	b, err := core.New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, b: b, now: 1e12, logs: map[core.TopicPartition][][]byte{}, coord: tree, session: rec.CoordSession}
	h.exec(b.Startup(nil))
	h.deliverAll()
	h.step(core.Tick{Now: h.now})
	h.deliverAll() // it registers, is elected controller and leads its partitions
	return h
}

func (h *harness) step(ev core.Event) {
	h.effects = h.b.Step(h.effects[:0], ev)
	h.exec(h.effects)
}

func (h *harness) exec(effects []core.Effect) {
	for _, e := range effects {
		switch e := e.(type) {
		case core.Respond:
			h.resps = append(h.resps, e)
		case core.CloseConn:
			h.closes = append(h.closes, e)
		case core.CreateLog:
			if h.logs[e.Partition] == nil {
				h.logs[e.Partition] = [][]byte{}
			}
		case core.DeleteLog:
			delete(h.logs, e.Partition)
		case core.Append:
			if h.failAppends {
				h.held = append(h.held, core.Appended{Token: e.Token, Err: errDisk})
				continue
			}
			h.logs[e.Partition] = append(h.logs[e.Partition], append([]byte(nil), e.Data...))
			h.held = append(h.held, core.Appended{Token: e.Token})
		case core.Sync:
			h.held = append(h.held, core.Synced{Token: e.Token})
		case core.Read:
			h.held = append(h.held, core.ReadDone{Token: e.Token, Data: h.read(e)})
		case core.FindTime:
			h.held = append(h.held, core.TimeFound{Token: e.Token})
		case core.Truncate:
			// the store keeps nothing of the log: the test checks the
			// offset asked for
			h.truncates = append(h.truncates, e)
			var epochs []core.EpochStart
			if h.truncEpochs != nil {
				epochs = h.truncEpochs(e)
			}
			h.held = append(h.held, core.Truncated{Token: e.Token, LogEnd: e.Offset, Epochs: epochs})
		case core.Measure:
			var n int64
			for _, b := range h.logs[e.Partition] {
				n += int64(len(b))
			}
			h.held = append(h.held, core.Measured{Token: e.Token, Bytes: n})
		case core.Retain:
			h.retains = append(h.retains, e)
			h.held = append(h.held, core.Retained{Token: e.Token, LogStartOffset: max(h.retainStart[e.Partition], e.StartAtLeast), FilesDueMs: h.filesDueMs})
			h.filesDueMs = 0
		case core.Scrub:
			// the store holds no bytes to verify: a pass is done at once
			h.scrubs = append(h.scrubs, e)
			h.held = append(h.held, core.Scrubbed{Token: e.Token, PassDone: true})
		case core.Clean:
			h.cleans = append(h.cleans, e)
			h.held = append(h.held, core.Cleaned{Token: e.Token, Ran: h.cleanRan, Err: h.cleanErr})
		case core.CoordOp:
			h.coordOps = append(h.coordOps, e)
			if h.failCoord {
				h.held = append(h.held, core.CoordResult{Token: e.Token, Err: errDisk})
				continue
			}
			res, fired := h.coord.Apply(h.session, e)
			if h.coordLoss {
				res = core.CoordResult{Token: e.Token, Err: core.ErrCoordConnectionLoss}
			}
			h.held = append(h.held, res)
			h.deliverWatches(fired)
		case core.Lifecycle:
			h.lifecycles = append(h.lifecycles, e)
		case core.Authenticated:
			h.auths = append(h.auths, e)
		case core.AuthFailed:
			h.authFails = append(h.authFails, e)
		case core.AuthzDenied:
			h.denials = append(h.denials, e)
		case core.Throttle:
			h.throttles = append(h.throttles, e)
		case core.CheckpointRecovery:
			h.recoveryCheckpoints++
		case core.PeerSend:
			// no other broker runs here: the controller's requests to
			// the peers a test registers fail, and are sent again
			h.peerSends = append(h.peerSends, e)
			if h.peerAnswer != nil {
				r := h.peerAnswer(e)
				r.Token = e.Token
				h.held = append(h.held, r)
				continue
			}
			h.held = append(h.held, core.PeerResponse{Token: e.Token, Err: errDisk})
		default:
			h.t.Fatalf("unexpected effect %T", e)
		}
	}
}

type diskErr struct{}

func (diskErr) Error() string { return "injected disk error" }

var errDisk = diskErr{}

func (h *harness) read(r core.Read) []byte {
	var out []byte
	for _, b := range h.logs[r.Partition] {
		hd, err := core.ParseBatchHeader(b)
		if err != nil {
			h.t.Fatal(err)
		}
		if hd.LastOffset() < r.Offset || hd.BaseOffset >= r.Below {
			continue
		}
		if len(out)+len(b) > int(r.MaxBytes) && !(r.MinOne && len(out) == 0) {
			break
		}
		out = append(out, b...)
	}
	return out
}

// deliver delivers held completions of the given kinds, in order.
func (h *harness) deliver(keep func(core.Event) bool) int {
	n := 0
	for {
		i := -1
		for j, ev := range h.held {
			if keep(ev) {
				i = j
				break
			}
		}
		if i < 0 {
			return n
		}
		ev := h.held[i]
		h.held = append(h.held[:i], h.held[i+1:]...)
		h.step(ev)
		n++
	}
}

func (h *harness) deliverAll() { h.deliver(func(core.Event) bool { return true }) }

func notSynced(ev core.Event) bool { _, ok := ev.(core.Synced); return !ok }

func (h *harness) tick(ms int64) {
	h.now += core.Instant(ms * 1e6)
	h.step(core.Tick{Now: h.now})
}

// send issues a request at version v on conn and returns its seq.
func (h *harness) send(conn core.ConnID, v int16, req kmsg.Request) uint64 {
	req.SetVersion(v)
	h.seq++
	h.step(core.Request{Conn: conn, Seq: h.seq, Header: core.RequestHeader{Key: req.Key(), Version: v, CorrelationID: int32(h.seq)}, Body: req,
		Listener: core.ProtocolPlaintext, Principal: core.PrincipalAnonymous})
	return h.seq
}

// response returns and removes the response to seq, or nil if none yet.
func (h *harness) response(seq uint64) kmsg.Response {
	for i, r := range h.resps {
		if r.Seq == seq {
			h.resps = append(h.resps[:i], h.resps[i+1:]...)
			if r.Body == nil {
				return nilResponse{}
			}
			return r.Body
		}
	}
	return nil
}

// nilResponse marks an answered request that had no response body.
type nilResponse struct{ kmsg.Response }

func (h *harness) mustResponse(seq uint64) kmsg.Response {
	h.t.Helper()
	r := h.response(seq)
	if r == nil {
		h.t.Fatalf("request %d has no response", seq)
	}
	return r
}

func (h *harness) createTopic(name string, parts int32, configs map[string]string) {
	h.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	seq := h.send(1, 5, req)
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.CreateTopicsResponse)
	if code := resp.Topics[0].ErrorCode; code != 0 {
		h.t.Fatalf("create topic %s: error %d", name, code)
	}
}

type batchOpts struct {
	pid     int64
	epoch   int16
	seq     int32
	records int
	maxTime int64
	badCRC  bool
	key     string // every record's key; "" leaves them without one
}

func makeBatch(o batchOpts) []byte {
	if o.records == 0 {
		o.records = 1
	}
	if o.pid == 0 {
		o.pid, o.epoch, o.seq = -1, -1, -1
	}
	rb := kmsg.NewRecordBatch()
	rb.Magic, rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = 2, o.pid, o.epoch, o.seq
	rb.NumRecords, rb.LastOffsetDelta = int32(o.records), int32(o.records-1)
	rb.FirstTimestamp, rb.MaxTimestamp = o.maxTime, o.maxTime
	for i := 0; i < o.records; i++ {
		r := kmsg.NewRecord()
		r.OffsetDelta = int32(i)
		r.Value = []byte{byte(i)}
		if o.key != "" {
			r.Key = []byte(o.key)
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the body after a one-byte zero length
		rb.Records = r.AppendTo(rb.Records)
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if o.badCRC {
		b[len(b)-1] ^= 0xff
	}
	return b
}

func produceReq(topic string, part int32, acks int16, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = part, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func fetchReq(topic string, part int32, offset int64, maxWaitMs, minBytes int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = maxWaitMs, minBytes, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = part, offset, 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produce sends one batch and delivers every completion; it returns the
// partition response.
func (h *harness) produce(topic string, part int32, o batchOpts) kmsg.ProduceResponseTopicPartition {
	h.t.Helper()
	seq := h.send(1, 9, produceReq(topic, part, -1, makeBatch(o)))
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// deliverWatches holds the notifications of the broker's session.
func (h *harness) deliverWatches(fired []kio.WatchFired) {
	for _, f := range fired {
		if f.Session == h.session {
			h.held = append(h.held, core.CoordWatchFired{Path: f.Path, Type: f.Type})
		}
	}
}

// coordWrites returns the coordination store's persistent znodes, sorted
// by path: what a restart recovers.
func (h *harness) coordWrites() []core.Znode { return h.coord.Persistent() }

// Package driver runs a core.Broker over the kio ports.
package driver

import (
	"encoding/binary"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
	"cloudkafka/io/segment"
)

// Transport is where the driver sends what the core says to clients. Its
// methods run inside Handle and must not call Handle again. After Close,
// the transport's owner reports the connection gone with a ConnClosed event
// once the connection is really closed.
type Transport interface {
	// Respond delivers the response to request seq of conn; a frame
	// without parts means the request has no response but releases its
	// place in order. The frame's parts are the transport's from here.
	Respond(conn core.ConnID, seq uint64, frame kio.Frame)
	// Throttle throttles conn for a client over its quota: once the
	// response to seq is written, no request of conn is handed to the
	// broker for ms; with hold, the response itself waits ms first (the
	// connection is held back meanwhile). It comes before that Respond;
	// a request may be throttled twice (the longer counts).
	Throttle(conn core.ConnID, seq uint64, ms int32, hold bool)
	// Close closes conn once the responses to every request before seq
	// are written.
	Close(conn core.ConnID, seq uint64, reason string)
	// Lifecycle reports the broker's own state: registered, a fatal
	// condition that must stop it, how its controlled shutdown goes.
	Lifecycle(l core.Lifecycle)
	// Send sends an inter-broker request to another broker, in order per
	// broker; its PeerResponse comes back to Handle.
	Send(s core.PeerSend)
	// Authenticated says conn authenticated: after a SaslHandshake v0's
	// bare tokens, Kafka requests follow again. The driver has logged it.
	Authenticated(a core.Authenticated)
}

// Driver runs one broker core over the ports: it feeds events to Step and
// executes the effects, feeding their completions back in. The realio
// event loop and the simulator are its only callers.
//
//	for each event ev:
//	    queue = [ev]
//	    loop:
//	        while queue not empty:
//	            effects = broker.Step(effects[:0], queue.pop())
//	            execute effects in order; completions join the queue
//	        if syncs were requested: sync each partition once (group
//	            commit) and queue the Synced completions; continue loop
//
// Storage effects complete synchronously here; Sync effects are gathered
// until the queue is empty, so one fsync per partition covers every
// append of the burst. With IO set (the production runtime), storage
// effects instead leave, per partition and in order, as work for IO
// workers once the queue is empty, and their completions come back
// through Finish; the simulator's Defer is the deterministic counterpart.
type Driver struct {
	broker    *core.Broker
	fs        kio.FS
	dir       string
	coord     kio.Coordinator
	transport Transport
	logs      map[core.TopicPartition]*segment.Log
	defaults  core.LogConfig
	// points is the log directory's recovery point checkpoint
	// (checkpoint.go); pointsUnknown says its last rewrite and the
	// removal that followed both failed, so that what it vouches for on
	// disk is unknown.
	points        *segment.RecoveryPoints
	pointsUnknown bool

	queue   []core.Event
	effects []core.Effect
	syncs   map[core.TopicPartition][]core.Token

	// Logf reports what the driver decided on its own (recovery results,
	// storage errors, closed connections).
	Logf func(format string, args ...any)

	// Hold, when set, sees every completion of an effect the driver
	// executed (Appended, Synced, ReadDone, TimeFound, Retained, Cleaned,
	// CoordResult) and may keep it: the operation has happened, but the
	// core learns of it only when the caller passes the event to Handle.
	// The simulator uses it to delay, reorder and fail completions and to
	// crash between an operation and its acknowledgement.
	Hold func(core.Event) bool

	// Defer, when set, may take a storage effect (CreateLog, DeleteLog,
	// Append, Sync, Read, FindTime, Retain, Clean) instead of executing it now,
	// by returning true. Whoever takes it must execute it later with
	// Perform, keeping each partition's effects in the order they were
	// taken (an Append may run before a Sync taken earlier: a sync that
	// covers more is still correct), and pass the completion to Handle.
	// The simulator uses it to make storage truly asynchronous: the write
	// and the fsync themselves happen late, not just their news.
	Defer func(core.Effect) bool

	// IO, when set, runs storage work off the caller's goroutine, so that
	// an fsync, a cold read or a long clean of one partition never stalls
	// the others: every storage effect (CreateLog, DeleteLog, Append,
	// Sync, Read, FindTime, Retain, Truncate, Measure, Clean, Scrub) goes, in
	// emission order, into work for its partition, which IO must run on
	// another goroutine, passing what work returns to Finish on the
	// caller's. A partition has at most one work in flight; its effects
	// emitted meanwhile wait and form its next work, in which one fsync
	// covers every Sync (per-partition group commit). The work touches
	// nothing of the driver's but that partition's log and Logf. Not
	// used with Defer.
	IO func(work func() Finished)
	// Coordinate, when set, takes every coordination operation instead
	// of the coordinator's Apply: the runtime performs it off the loop
	// (a ZooKeeper round trip never blocks it), in the order taken, and
	// passes each CoordResult to Handle.
	Coordinate func(core.CoordOp)
	// RequestCost, when set, measures the handling of a request: it runs
	// step (the request's Step) and returns how long it took, which the
	// broker then hears (RequestTimed) for request_percentage quotas.
	RequestCost func(r core.Request, step func()) int64
	// Buffers, when set, supplies the buffers that response frames are
	// encoded into and that reads are read into, and takes back a fetch
	// response's record buffers once they are copied into its frame
	// (nothing refers to them after: the core is done with a fetch once
	// it answered). The transport owns a frame and the buffers it lists
	// from Respond on (the runtime recycles them once written). Set it
	// before the first Handle.
	Buffers Buffers
	// Nonce makes the stand-ins of record sets in an encoded fetch
	// response (kio.EncodeResponse) unlikely to occur in its other bytes;
	// the runtime draws it at random.
	Nonce [8]byte
	// Responded, when set, sees every response before the transport
	// gets it (the runtime counts requests and error codes with it).
	Responded func(core.Respond)
	// busy holds the partitions with IO work in flight, and the storage
	// effects that wait behind it; ready the effects of partitions
	// without work in flight, dispatched once the queue is drained.
	busy, ready map[core.TopicPartition][]core.Effect
	// store performs storage effects on logs; IO work uses it off the
	// caller's goroutine, so it holds nothing mutable.
	store store

	coverage *cover.Counts
	// appendsTaken and appendsDone count, per partition, the Appends
	// emitted and the Appends executed; syncMarks holds appendsTaken at
	// each Sync's emission, so that Perform can tell a sync that covers
	// appends issued after it (a coverage point).
	appendsTaken, appendsDone map[core.TopicPartition]int
	syncMarks                 map[core.Token]int
}

// Open recovers the coordination store and every partition log under dir
// and builds the broker.
func Open(cfg core.Config, fs kio.FS, dir string, coord kio.Coordinator, t Transport, logf func(string, ...any)) (*Driver, error) {
	cfg.Log.Coverage, cfg.Log.ProducersMax = cfg.Coverage, cfg.ProducersPerPartMax
	d := &Driver{fs: fs, dir: dir, coord: coord, transport: t, logs: map[core.TopicPartition]*segment.Log{},
		defaults: cfg.Log, syncs: map[core.TopicPartition][]core.Token{}, Logf: logf, coverage: cfg.Coverage,
		appendsTaken: map[core.TopicPartition]int{}, appendsDone: map[core.TopicPartition]int{},
		syncMarks: map[core.Token]int{}, busy: map[core.TopicPartition][]core.Effect{},
		ready: map[core.TopicPartition][]core.Effect{}}
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	d.store = store{fs: fs, dir: dir, logf: func(format string, args ...any) { d.Logf(format, args...) }, buffers: &d.Buffers}
	znodes, err := coord.Load()
	if err != nil {
		return nil, fmt.Errorf("load coordination store: %w", err)
	}
	rec := core.Recovered{Znodes: znodes, CoordSession: coord.Session()}
	known := core.KnownPartitions(znodes, cfg.BrokerID)
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	if err := d.openLogs(cfg, known, &rec); err != nil {
		return nil, err
	}
	d.broker, err = core.New(cfg, rec)
	if err != nil {
		return nil, err
	}
	d.execute(d.broker.Startup(nil))
	d.drain()
	return d, nil
}

// Broker exposes the core, for tests and metrics.
func (d *Driver) Broker() *core.Broker { return d.broker }

// LogSize reports the bytes and segments of a partition's log, for
// metrics; ok is false when the log is missing or IO work holds it (it
// is the work's until it finishes). Call it
// where Handle is called.
func (d *Driver) LogSize(tp core.TopicPartition) (bytes int64, segments int, ok bool) {
	l := d.logs[tp]
	if _, busy := d.busy[tp]; l == nil || busy {
		return 0, 0, false
	}
	return l.Size(), l.Segments(), true
}

// partitionDir names a partition's directory as Kafka does: topic-N.
func partitionDir(tp core.TopicPartition) string {
	return tp.Topic + "-" + strconv.Itoa(int(tp.Partition))
}

func parsePartitionDir(name string) (core.TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return core.TopicPartition{}, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return core.TopicPartition{}, false
	}
	return core.TopicPartition{Topic: name[:i], Partition: int32(n)}, true
}

// Handle processes one event and everything it sets off.
func (d *Driver) Handle(ev core.Event) {
	d.queue = append(d.queue, ev)
	d.drain()
}

// HandleBurst processes several events that arrived together (requests
// read from sockets in one wakeup) before the group commit, so that one
// fsync per partition covers the appends of all of them.
func (d *Driver) HandleBurst(evs []core.Event) {
	d.queue = append(d.queue, evs...)
	d.drain()
}

func (d *Driver) drain() {
	for {
		for len(d.queue) > 0 {
			ev := d.queue[0]
			d.queue = d.queue[1:]
			if r, ok := ev.(core.Request); ok && d.RequestCost != nil {
				var effects []core.Effect
				nanos := d.RequestCost(r, func() { effects = d.broker.Step(d.effects[:0], ev) })
				d.effects = d.broker.Step(effects, core.RequestTimed{Request: r, Nanos: nanos})
			} else {
				d.effects = d.broker.Step(d.effects[:0], ev)
			}
			d.execute(d.effects)
		}
		if len(d.syncs) == 0 {
			d.dispatchReady()
			return
		}
		d.groupCommit()
	}
}

// groupCommit syncs every partition with a requested Sync once, in
// partition order, and completes all of its tokens.
func (d *Driver) groupCommit() {
	tps := make([]core.TopicPartition, 0, len(d.syncs))
	// order-independent: collected, then sorted
	for tp := range d.syncs {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].Less(tps[j]) })
	for _, tp := range tps {
		d.syncNow(tp)
	}
}

// syncNow syncs tp's log and completes the Syncs gathered for it.
func (d *Driver) syncNow(tp core.TopicPartition) {
	var err error
	if l := d.logs[tp]; l == nil {
		err = fmt.Errorf("sync %s: no such log", tp)
	} else if err = l.Sync(); err != nil {
		d.Logf("sync %s failed: %v", tp, err)
	}
	for _, tok := range d.syncs[tp] {
		d.complete(core.Synced{Token: tok, Err: err})
	}
	delete(d.syncs, tp)
}

func (d *Driver) execute(effects []core.Effect) {
	// Throttles first: each applies to a response its Step may have
	// emitted before it, which must not be written unthrottled.
	for _, e := range effects {
		if t, ok := e.(core.Throttle); ok {
			d.transport.Throttle(t.Conn, t.Seq, t.Ms, t.Hold)
		}
	}
	for _, e := range effects {
		if _, ok := e.(core.Throttle); ok {
			continue
		}
		if a, ok := e.(core.Append); ok && a.Frame != nil {
			a.Frame.Hold() // released once the write is done (store.perform)
		}
		if d.pointsUnknown && d.refuseUnvouched(e) {
			continue
		}
		if tp, ok := storagePartition(e); ok && d.IO != nil {
			if waiting, busy := d.busy[tp]; busy {
				d.busy[tp] = append(waiting, e)
			} else {
				d.ready[tp] = append(d.ready[tp], e)
			}
			continue
		}
		switch e := e.(type) {
		case core.Respond:
			if d.Responded != nil {
				d.Responded(e)
			}
			var frame kio.Frame
			if e.Raw {
				frame = kio.BytesFrame(rawToken(e.Body))
			} else if e.Body != nil {
				frame = kio.EncodeResponse(d.newFrame, e.CorrelationID, e.Body, d.Nonce, e.Records)
				if len(frame.Parts) > 1 {
					d.coverage.Hit(cover.FetchRecordsSpliced)
				}
				if len(e.Records) > 0 {
					d.coverage.Hit(cover.FetchRecordsByRef)
				}
				d.recycleRecords(e.Body)
			}
			d.transport.Respond(e.Conn, e.Seq, frame)
		case core.Authenticated:
			d.logAuthenticated(e)
			d.transport.Authenticated(e)
		case core.AuthFailed:
			d.logAuthFailed(e)
		case core.AuthzDenied:
			d.logAuthzDenied(e)
		case core.CloseConn:
			d.Logf("closing connection %d: %s", e.Conn, e.Reason)
			d.transport.Close(e.Conn, e.Seq, e.Reason)
		case core.Sync:
			if d.Defer != nil {
				d.syncMarks[e.Token] = d.appendsTaken[e.Partition]
				if d.Defer(e) {
					continue
				}
				delete(d.syncMarks, e.Token)
			}
			d.syncs[e.Partition] = append(d.syncs[e.Partition], e.Token)
		case core.Lifecycle:
			if e.Fatal != "" {
				d.Logf("fatal: %s", e.Fatal)
			}
			if e.Warning != "" {
				d.Logf("warning: %s", e.Warning)
			}
			if u := e.ConfigUpdated; u != nil {
				d.Logf("%s", u)
				continue
			}
			d.transport.Lifecycle(e)
		case core.PeerSend:
			d.transport.Send(e)
		case core.CheckpointRecovery:
			d.checkpointRecovery(e)
		case core.CoordOp:
			if d.Coordinate != nil {
				d.Coordinate(e)
				continue
			}
			res := d.coord.Apply(e)
			// ZooKeeper delivers the notifications an operation fired
			// before the operation's own answer.
			for _, w := range d.coord.TakeWatches() {
				d.complete(w)
			}
			d.complete(res)
		default:
			if a, ok := e.(core.Append); ok && d.Defer != nil {
				d.appendsTaken[a.Partition]++
			}
			if d.Defer != nil && d.Defer(e) {
				continue
			}
			if ev := d.Perform(e); ev != nil {
				d.complete(ev)
			}
		}
	}
}

// Buffers is a pool of byte buffers (see Driver.Buffers).
type Buffers interface {
	// Get returns an empty buffer with room for at least n bytes.
	Get(n int) []byte
	// Put takes back b, which nothing uses any more; it may drop it.
	Put(b []byte)
}

// newFrame is an empty buffer with room for n bytes, from Buffers if set.
func (d *Driver) newFrame(n int) []byte {
	if d.Buffers != nil {
		return d.Buffers.Get(n)
	}
	return make([]byte, 0, n)
}

// recycleRecords gives a fetch response's record buffers copied into
// its frame back to Buffers (the larger ones are parts of the frame, and
// their stand-ins are in the body now). A buffer the pool did not hand
// out (down-converted records, an empty set, a stand-in) is dropped by
// Put.
func (d *Driver) recycleRecords(body kmsg.Response) {
	f, ok := body.(*kmsg.FetchResponse)
	if !ok || d.Buffers == nil {
		return
	}
	for i := range f.Topics {
		for j := range f.Topics[i].Partitions {
			p := &f.Topics[i].Partitions[j]
			d.Buffers.Put(p.RecordBatches)
			p.RecordBatches = nil
		}
	}
}

// Perform executes one storage effect now and returns its completion
// (nil for CreateLog and DeleteLog, which have none). Handle calls it for
// the effects Defer did not take; Defer's taker calls it for the others.
func (d *Driver) Perform(e core.Effect) core.Event {
	switch e := e.(type) {
	case core.Sync:
		return d.performSync(e)
	case core.Append:
		if d.Defer != nil {
			d.appendsDone[e.Partition]++
		}
	}
	return d.executeStorage(e)
}

// performSync syncs one partition's log for a Sync that Defer took.
func (d *Driver) performSync(e core.Sync) core.Event {
	if d.appendsDone[e.Partition] > d.syncMarks[e.Token] {
		d.coverage.Hit(cover.SyncCoveredLaterAppends)
	}
	delete(d.syncMarks, e.Token)
	return d.executeStorage(e)
}

// executeStorage performs a storage effect on the caller's goroutine.
func (d *Driver) executeStorage(e core.Effect) core.Event {
	tp, _ := storagePartition(e)
	l, ev := d.store.perform(d.logs[tp], e)
	if l != nil {
		d.logs[tp] = l
	} else {
		delete(d.logs, tp)
	}
	return ev
}

// store performs storage effects on partition logs. It holds nothing
// mutable, so IO work may use it on any goroutine, one partition's log
// at a time.
type store struct {
	fs      kio.FS
	dir     string
	logf    func(string, ...any)
	buffers *Buffers // the driver's, set before IO work starts
}

// readBuf is the allocator reads use: Buffers' if set.
func (st store) readBuf() func(int) []byte {
	if *st.buffers == nil {
		return nil
	}
	return (*st.buffers).Get
}

// perform executes one storage effect on l, the partition's log (nil:
// none), and returns the log after it (created or deleted) and the
// effect's completion (nil for CreateLog and DeleteLog).
func (st store) perform(l *segment.Log, e core.Effect) (*segment.Log, core.Event) {
	tp, _ := storagePartition(e)
	noLog := func() error {
		if l == nil {
			return fmt.Errorf("no log for %s", tp)
		}
		return nil
	}
	switch e := e.(type) {
	case core.CreateLog:
		if l != nil {
			return l, nil
		}
		nl, err := segment.Open(st.fs, path.Join(st.dir, partitionDir(e.Partition)), e.Config)
		if err != nil {
			st.logf("create log %s failed: %v", e.Partition, err)
			return nil, nil // appends to it fail and take the partition offline
		}
		return nl, nil
	case core.DeleteLog:
		if l != nil {
			if err := l.Delete(); err != nil {
				st.logf("delete log %s: %v", e.Partition, err)
			}
		}
		return nil, nil
	case core.Sync:
		err := noLog()
		if err == nil {
			if err = l.Sync(); err != nil {
				st.logf("sync %s failed: %v", e.Partition, err)
			}
		}
		return l, core.Synced{Token: e.Token, Err: err}
	case core.Append:
		err := noLog()
		if err == nil {
			if e.Replica {
				err = l.AppendReplica(e.Data, e.Base, e.Last, e.MaxTime, e.Now.Millis(), e.Config)
			} else {
				err = l.Append(e.Data, e.Base, e.Last, e.MaxTime, e.Now.Millis(), e.Config)
			}
		}
		if e.Frame != nil {
			e.Frame.Release()
		}
		if err != nil {
			st.logf("append to %s failed: %v", e.Partition, err)
		}
		return l, core.Appended{Token: e.Token, Err: err}
	case core.Read:
		rd := core.ReadDone{Token: e.Token, Err: noLog()}
		switch {
		case rd.Err != nil:
		case e.ByRef:
			rd.Ref, rd.Err = l.ReadSpans(e.Offset, e.Below, e.MaxBytes, e.MinOne)
		default:
			rd.Data, rd.Err = l.ReadInto(st.readBuf(), e.Offset, e.Below, e.MaxBytes, e.MinOne)
		}
		if rd.Err != nil {
			st.logf("read of %s at offset %d refused: %v", e.Partition, e.Offset, rd.Err)
		}
		return l, rd
	case core.FindTime:
		tf := core.TimeFound{Token: e.Token, Err: noLog()}
		if tf.Err == nil {
			if e.Max {
				tf.Offset, tf.Timestamp, tf.Found, tf.Err = l.FindMaxTime(e.From, e.Below)
			} else {
				tf.Offset, tf.Timestamp, tf.Found, tf.Err = l.FindTime(e.Timestamp, e.From, e.Below)
			}
		}
		return l, tf
	case core.Retain:
		r := core.Retained{Token: e.Token, Err: noLog()}
		if r.Err == nil && e.FilesOnly {
			r.Err = l.DeleteDue(e.Now.Millis(), e.Config)
			r.LogStartOffset, r.FilesDueMs = l.LogStartOffset(), filesDueMs(l)
			return l, r
		}
		if r.Err == nil && e.StartAtLeast > 0 {
			r.Err = l.AdvanceStart(e.StartAtLeast)
		}
		if r.Err == nil {
			r.LogStartOffset, r.Err = l.Retain(e.Now.Millis(), e.HighWatermark, e.Config)
			r.FilesDueMs = filesDueMs(l)
		}
		return l, r
	case core.Truncate:
		return l, st.truncate(l, e, noLog())
	case core.Measure:
		m := core.Measured{Token: e.Token, Err: noLog()}
		if m.Err == nil {
			m.Bytes = l.Size()
		}
		return l, m
	case core.Scrub:
		return l, scrubLog(l, e, st.logf)
	case core.Clean:
		if err := noLog(); err != nil {
			st.logf("clean of %s failed: %v", e.Partition, err)
			return l, core.Cleaned{Token: e.Token, Err: err}
		}
		return l, cleanLog(l, e, st.logf)
	default:
		panic(fmt.Sprintf("driver: unknown effect %T", e))
	}
}

// truncate runs a Truncate on l; err is the log's absence.
func (st store) truncate(l *segment.Log, e core.Truncate, err error) core.Truncated {
	t := core.Truncated{Token: e.Token, Err: err}
	if t.Err == nil {
		if e.RestartAt {
			t.Err = l.RestartAt(e.Offset, e.Producers, e.Now.Millis(), e.Config)
		} else {
			t.Err = l.TruncateTo(e.Offset, e.Now.Millis(), e.Config)
		}
		t.FilesDueMs = filesDueMs(l)
		if t.Err == nil {
			rec := l.Recovered()
			t.LogEnd, t.Epochs, t.Producers = rec.LogEndOffset, rec.Epochs, rec.Producers
		}
	}
	if t.Err != nil {
		st.logf("truncate of %s to %d failed: %v", e.Partition, e.Offset, t.Err)
	} else {
		st.logf("truncated %s to %d", e.Partition, t.LogEnd)
	}
	return t
}

// run performs one IO work's effects on l in order, with one fsync for
// all of its Syncs, placed at the last of them: a sync that covers
// appends made after an earlier Sync was emitted is still correct. The
// earlier Syncs complete with the last.
func (st store) run(l *segment.Log, effects []core.Effect) (*segment.Log, []core.Event) {
	lastSync := -1
	for i, e := range effects {
		if _, ok := e.(core.Sync); ok {
			lastSync = i
		}
	}
	evs := make([]core.Event, 0, len(effects))
	var synced []core.Token
	for i, e := range effects {
		if s, ok := e.(core.Sync); ok && i < lastSync {
			synced = append(synced, s.Token)
			continue
		}
		var ev core.Event
		l, ev = st.perform(l, e)
		if s, ok := ev.(core.Synced); ok {
			for _, tok := range synced {
				evs = append(evs, core.Synced{Token: tok, Err: s.Err})
			}
		}
		if ev != nil {
			evs = append(evs, ev)
		}
	}
	return l, evs
}

// cleanLog runs one Clean on l. It touches nothing of the driver's but
// l and logf, so it may run on an IO worker.
func cleanLog(l *segment.Log, e core.Clean, logf func(string, ...any)) core.Cleaned {
	c := core.Cleaned{Token: e.Token}
	st, err := l.Clean(e.Now.Millis(), e.FirstUncleanable, e.Config)
	c.Ran, c.FirstDirty, c.TombstonesRemoved, c.Err = st.Ran, st.FirstDirty, st.TombstonesRemoved, err
	c.FilesDueMs = filesDueMs(l)
	if st.Ran {
		logf("cleaned %s up to offset %d: %d bytes into %d, %d records and %d tombstones removed",
			e.Partition, st.FirstDirty, st.BytesBefore, st.BytesAfter, st.RecordsRemoved, st.TombstonesRemoved)
	}
	if err != nil {
		logf("clean of %s failed: %v", e.Partition, err)
	}
	return c
}

// filesDueMs is when l's next delayed file deletion is due, 0 if none
// waits (see core.Retained).
func filesDueMs(l *segment.Log) int64 {
	if due, ok := l.DeletionDueMs(); ok {
		return max(due, 1)
	}
	return 0
}

// Finished is the outcome of one partition's IO work.
type Finished struct {
	partition core.TopicPartition
	log       *segment.Log // the partition's log after the work; nil: none
	evs       []core.Event
}

// Partition is the partition the work was for.
func (f Finished) Partition() core.TopicPartition { return f.partition }

// Events are the completions the work produced, in order.
func (f Finished) Events() []core.Event { return f.evs }

// dispatchReady hands each partition's ready effects to IO as one work,
// in partition order.
func (d *Driver) dispatchReady() {
	if len(d.ready) == 0 {
		return
	}
	tps := make([]core.TopicPartition, 0, len(d.ready))
	// order-independent: collected, then sorted
	for tp := range d.ready {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].Less(tps[j]) })
	for _, tp := range tps {
		effects, l, st := d.ready[tp], d.logs[tp], d.store
		delete(d.ready, tp)
		d.busy[tp] = nil
		d.IO(func() Finished {
			l, evs := st.run(l, effects)
			return Finished{partition: tp, log: l, evs: evs}
		})
	}
}

// Settle takes the outcome of IO work that finished after the runtime
// stopped driving the core: only the log it created or deleted is kept
// track of, so that Close syncs and closes the right logs.
func (d *Driver) Settle(f Finished) {
	if f.log != nil {
		d.logs[f.partition] = f.log
	} else {
		delete(d.logs, f.partition)
	}
}

// Finish takes the outcome of IO work on the caller's goroutine: the
// core learns of it, and the partition's waiting effects form its next
// work.
func (d *Driver) Finish(f Finished) {
	d.Settle(f)
	if waiting := d.busy[f.partition]; len(waiting) > 0 {
		d.ready[f.partition] = waiting
	}
	delete(d.busy, f.partition)
	for _, ev := range f.evs {
		d.complete(ev)
	}
	d.drain()
}

// Busy says how many partitions have IO work in flight.
func (d *Driver) Busy() int { return len(d.busy) }

// storagePartition names the partition of a storage effect.
func storagePartition(e core.Effect) (core.TopicPartition, bool) {
	switch e := e.(type) {
	case core.CreateLog:
		return e.Partition, true
	case core.DeleteLog:
		return e.Partition, true
	case core.Append:
		return e.Partition, true
	case core.Sync:
		return e.Partition, true
	case core.Read:
		return e.Partition, true
	case core.FindTime:
		return e.Partition, true
	case core.Retain:
		return e.Partition, true
	case core.Clean:
		return e.Partition, true
	case core.Truncate:
		return e.Partition, true
	case core.Measure:
		return e.Partition, true
	case core.Scrub:
		return e.Partition, true
	}
	return core.TopicPartition{}, false
}

// complete queues a completion for the core unless Hold keeps it.
func (d *Driver) complete(ev core.Event) {
	if d.Hold != nil && d.Hold(ev) {
		return
	}
	d.queue = append(d.queue, ev)
}

// Close syncs and closes every log and, when all of them closed
// cleanly, checkpoints their recovery points and marks the shutdown
// clean (checkpoint.go); the broker must not be used after.
func (d *Driver) Close() error { return d.closeLogs() }

// rawToken frames a SASL token as a v0 handshake's client expects it:
// a 4-byte size and the bytes, no response header.
func rawToken(body kmsg.Response) []byte {
	tok := body.(*kmsg.SASLAuthenticateResponse).SASLAuthBytes
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(tok)), uint32(len(tok))), tok...)
}

// The audit trail: one structured line (logfmt after "audit") per
// authentication result and per authorization denial. The core bounds
// the failures and denials reported; never a secret.

func (d *Driver) logAuthenticated(a core.Authenticated) {
	if a.Unlogged {
		return
	}
	d.audit("authentication", "success", "principal", a.Principal, "mechanism", a.Mechanism, "listener", a.Listener,
		"client", a.ClientHost, "connection", a.Conn, "reauthentication", a.Reauthenticated,
		"session_lifetime_ms", a.SessionLifetimeMs, "bare_tokens", a.BareTokens, "suppressed", a.Suppressed)
}

func (d *Driver) logAuthFailed(f core.AuthFailed) {
	d.audit("authentication", "failure", "user", strconv.Quote(f.User), "mechanism", f.Mechanism, "listener", f.Listener,
		"client", f.ClientHost, "connection", f.Conn, "reauthentication", f.Reauthentication,
		"reason", f.Reason, "suppressed", f.Suppressed)
}

func (d *Driver) logAuthzDenied(z core.AuthzDenied) {
	d.audit("authorization", "denied", "principal", z.Principal, "client", z.ClientHost, "listener", z.Listener,
		"api", z.API, "operation", z.Operation, "resource", z.Resource, "connection", z.Conn, "suppressed", z.Suppressed)
}

// audit logs one audit line: event, result and the key-value pairs.
func (d *Driver) audit(event, result string, kv ...any) {
	var b strings.Builder
	b.WriteString("audit event=" + event + " result=" + result)
	for i := 0; i+1 < len(kv); i += 2 {
		v := fmt.Sprint(kv[i+1])
		if _, quoted := kv[i+1].(string); !quoted || !strings.HasPrefix(v, `"`) {
			v = logfmtValue(v)
		}
		fmt.Fprintf(&b, " %s=%s", kv[i], v)
	}
	d.Logf("%s", b.String())
}

// logfmtValue quotes a value that is empty or holds a space, a quote,
// an equals sign or a control character.
func logfmtValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"=\\") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(v)
	}
	return v
}

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The unclean-truncation scenario (runUncleanTruncation) is run once
// per client: the consumers under test are pluggable truncationReaders,
// franz-go's here and librdkafka's in e2e_truncation_librdkafka_test.go.

// truncationReader is a consumer under test: it reads partition 0 of a
// topic from offset 0 in the background and keeps what it read and the
// truncations its client reported.
type truncationReader interface {
	snapshot() readerView
	// stop ends the reading and waits for it; it may be called twice.
	stop()
}

// readerView is what a reader read and was told, so far.
type readerView struct {
	reads   []readAt           // in the order the client returned them
	reports []truncationReport // in the order the client reported them
	errs    []error            // other errors, which the client retries; for the log
}

// truncationReport is a truncation the client reported (KIP-320): the
// position it had consumed to, and where it said its log and the new
// leader's diverged, from which it reads on.
type truncationReport struct {
	text       string // the client's own words
	topic      string
	partition  int32
	consumedTo int64
	divergedAt int64
	before     int // records read before the report
}

// readerUnderTest is one client in the scenario.
type readerUnderTest struct {
	name string
	// start starts a reader of topic that bootstraps from bootstrap and
	// calls itself clientID.
	start func(t *testing.T, bootstrap, topic, clientID string) truncationReader
	// tells: the client reports a detected truncation to the application
	// (franz-go always, as kgo.ErrDataLoss; librdkafka only with
	// auto.offset.reset=error). One that does not must resume where the
	// logs diverged all the same.
	tells bool
}

// partitionConsumer reads one partition with franz-go in the background
// and keeps, in order, the records it returned and the data losses it
// reported (KIP-320: after a change of leader epoch franz-go validates
// its position with OffsetForLeaderEpoch and reports kgo.ErrDataLoss
// when the new leader's log ends below it).
type partitionConsumer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	view readerView
}

func startFranzReader(t *testing.T, bootstrap, topic string, opts ...kgo.Opt) *partitionConsumer {
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.MetadataMaxAge(2 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("creating a franz-go consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &partitionConsumer{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer cl.Close()
		for ctx.Err() == nil {
			c.record(cl.PollFetches(ctx))
		}
	}()
	t.Cleanup(c.stop)
	return c
}

// record keeps what one poll returned.
func (c *partitionConsumer) record(fs kgo.Fetches) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fe := range fs.Errors() {
		var dl *kgo.ErrDataLoss
		switch {
		case errors.As(fe.Err, &dl):
			c.view.reports = append(c.view.reports, truncationReport{text: dl.Error(), topic: dl.Topic, partition: dl.Partition,
				consumedTo: dl.ConsumedTo, divergedAt: dl.ResetTo, before: len(c.view.reads)})
		case !errors.Is(fe.Err, context.Canceled):
			c.view.errs = append(c.view.errs, fmt.Errorf("%s-%d: %w", fe.Topic, fe.Partition, fe.Err))
		}
	}
	fs.EachRecord(func(r *kgo.Record) { c.view.reads = append(c.view.reads, readAt{r.Offset, string(r.Value)}) })
}

func (c *partitionConsumer) stop() {
	c.cancel()
	<-c.done
}

func (c *partitionConsumer) snapshot() readerView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return readerView{slices.Clone(c.view.reads), slices.Clone(c.view.reports), slices.Clone(c.view.errs)}
}

// readAt says what a record read was: its offset and value.
type readAt struct {
	offset int64
	value  string
}

// seqReads are the reads of tag's sequence numbers 0..n-1 from offset
// first on.
func seqReads(tag string, n int, first int64) []readAt {
	out := []readAt{}
	for i := 0; i < n; i++ {
		out = append(out, readAt{first + int64(i), seqValue(tag, i)})
	}
	return out
}

// produceAcks1 writes tag's sequence numbers 0..n-1 to partition 0 of
// topic with acks=1 (no idempotence: it needs acks=all) and wants each
// at its offset from first on.
func produceAcks1(t *testing.T, seed *broker, topic, tag string, n int, first int64) {
	t.Helper()
	cl := newClient(t, seed, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(60*time.Second))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := 0; i < n; i++ { // one at a time, so that the offsets are in order
		r := seqRecord(tag, i)
		r.Partition = 0
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("producing %s %d with acks=1: %v", tag, i, err)
		}
		if r.Offset != first+int64(i) {
			t.Fatalf("%s %d acknowledged at offset %d; want %d", tag, i, r.Offset, first+int64(i))
		}
	}
}

// clientGate stands in front of one broker, as the address the broker
// advertises, and forwards connections to it, except that while it is
// closed it drops those of the clients whose client id starts with
// prefix: the consumers under test cut off from that broker, while the
// other brokers and the test's own clients reach it. It tells a client
// by the client id in the first request on a connection (ApiVersions,
// or any request: every request header from version 1 on has one). It
// cuts no connection it forwards already. A connection it forwards to a
// dead broker fails as the broker's own would.
type clientGate struct {
	ln      net.Listener
	backend string // the broker's listener
	prefix  string
	closed  atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open on either side; closed at cleanup
	wg    sync.WaitGroup
}

// gateRequestBytesMax bounds the first request a gate reads to tell its
// client; a client's first request is small (ApiVersions).
const gateRequestBytesMax = 1 << 20

func startClientGate(t *testing.T, backend, prefix string) *clientGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for a gate in front of %s: %v", backend, err)
	}
	g := &clientGate{ln: ln, backend: backend, prefix: prefix, conns: map[net.Conn]struct{}{}}
	g.wg.Add(1)
	go g.accept()
	t.Cleanup(g.shut)
	return g
}

func (g *clientGate) addr() string { return g.ln.Addr().String() }

func (g *clientGate) accept() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return // shut
		}
		g.wg.Add(1)
		go g.serve(c)
	}
}

// track keeps c to close at shutdown; false once the gate is shut.
func (g *clientGate) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns == nil {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *clientGate) shut() {
	g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.conns = nil
	g.mu.Unlock()
	g.wg.Wait()
}

// serve reads the client's first request, drops the connection if the
// gate is closed to that client, and otherwise forwards both ways.
func (g *clientGate) serve(client net.Conn) {
	defer g.wg.Done()
	defer client.Close()
	if !g.track(client) {
		return
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, clientID, err := readFirstRequest(client)
	if err != nil || g.closed.Load() && strings.HasPrefix(clientID, g.prefix) {
		return
	}
	client.SetReadDeadline(time.Time{})
	server, err := net.DialTimeout("tcp", g.backend, 5*time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	if !g.track(server) {
		return
	}
	if _, err := server.Write(first); err != nil {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		io.Copy(client, server)
		client.Close()
	}()
	io.Copy(server, client)
	server.Close()
}

// readFirstRequest reads one size-delimited request and returns its
// bytes and the client id in its header (api key, version and
// correlation id come first).
func readFirstRequest(r io.Reader) ([]byte, string, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, "", err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 10 || n > gateRequestBytesMax {
		return nil, "", fmt.Errorf("a request of %d bytes", n)
	}
	buf := make([]byte, 4+n)
	copy(buf, size[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, "", err
	}
	idLen := int16(binary.BigEndian.Uint16(buf[12:14]))
	if idLen < 0 || 14+int(idLen) > len(buf) {
		return buf, "", nil // a null client id, or a malformed one for the broker to refuse
	}
	return buf, string(buf[14 : 14+int(idLen)]), nil
}

// readerClientIDPrefix begins the client id of every reader under test:
// B's gate drops their connections while the scenario cuts them off.
const readerClientIDPrefix = "truncation-reader-"

// truncationCluster is the scenario's cluster: three brokers, each behind
// a gate, and a topic with replication factor 2 led by A, followed by B;
// the third broker runs throughout and clients start from it.
type truncationCluster struct {
	topic      string
	a, b, seed *broker
	idA, idB   int32
	gateB      *clientGate
}

func startTruncationCluster(t *testing.T, sessionMs int, topic string) *truncationCluster {
	gates := map[int]*clientGate{}
	c := startClusterWith(t, sessionMs, func(id int, addr string) []string {
		gates[id] = startClientGate(t, addr, readerClientIDPrefix)
		return []string{"advertised.listeners=PLAINTEXT://" + gates[id].addr()}
	}, "replica.lag.time.max.ms=2000")
	adm := kadm.NewClient(newClient(t, c.brokers[0]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, 1, 2, map[string]*string{"unclean.leader.election.enable": kmsg.StringPtr("true")}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("creating %s: %v %v", topic, err, resp.Err)
	}
	var st partitionState
	waitFor(t, 15*time.Second, topic+"-0 led with two in-sync replicas", func() bool {
		st = partitionStates(t, c.brokers[0], topic)[0]
		return st.leader >= 0 && len(st.isr) == 2
	})
	tc := &truncationCluster{topic: topic, idA: st.leader, idB: st.isr[0]}
	if tc.idB == tc.idA {
		tc.idB = st.isr[1]
	}
	tc.a, tc.b, tc.gateB = c.brokers[tc.idA-1], c.brokers[tc.idB-1], gates[int(tc.idB)]
	for i, br := range c.brokers {
		if id := int32(i + 1); id != tc.idA && id != tc.idB {
			tc.seed = br
		}
	}
	t.Logf("%s-0: leader A = broker %d, follower B = broker %d", topic, tc.idA, tc.idB)
	return tc
}

func (tc *truncationCluster) state(t *testing.T) partitionState {
	return partitionStates(t, tc.seed, tc.topic)[0]
}

// waitReads waits, bounded, until every reader has read n records.
func waitReads(t *testing.T, readers []truncationReader, n int, what string) {
	t.Helper()
	waitFor(t, 60*time.Second, what, func() bool {
		for _, r := range readers {
			if len(r.snapshot().reads) < n {
				return false
			}
		}
		return true
	})
}

// runUncleanTruncation: a topic with replication factor 2 and
// unclean.leader.election.enable=true. Its follower B dies and leaves
// the ISR; the leader A takes records with acks=1 that B never gets, and
// the readers under test read them. A dies; B returns and is elected
// uncleanly (a new leader epoch; its log is shorter) and takes new
// records at the offsets A's lost records had, and past them: the
// readers cannot reach B until then (its gate drops them), so that their
// position is inside B's log when they ask. They validate their
// position against B with OffsetForLeaderEpoch (KIP-320): B answers that
// the epoch they read at ends, in its log, where its own log diverged,
// so each reads on from exactly there (not from its reset offset, which
// is the log start here) and reads B's new records, none of the old
// ones again; one that tells the application reports the truncation
// once, from offset 20 to 10. A broker answering with its log end
// instead would have the readers read on from offset 20 and miss B's
// first new records. When A returns it truncates its log by leader epoch
// to B's and rejoins the ISR; led by A again, the partition holds B's
// history.
func runUncleanTruncation(t *testing.T, under ...readerUnderTest) {
	const sessionMs = 3000
	failover := time.Duration(sessionMs)*time.Millisecond + 20*time.Second
	tc := startTruncationCluster(t, sessionMs, "trunc")
	produceSeqs(t, tc.seed, tc.topic, "old", 0, 10) // acks=all: on A and B, offsets 0-9
	readers := []truncationReader{}
	for i, u := range under {
		readers = append(readers, u.start(t, tc.seed.addr, tc.topic, fmt.Sprintf("%s%d", readerClientIDPrefix, i)))
	}
	waitReads(t, readers, 10, "the readers to read old 0-9")

	tc.b.Kill()
	waitFor(t, failover, "the ISR to shrink to A", func() bool {
		s := tc.state(t)
		return s.leader == tc.idA && slices.Equal(s.isr, []int32{tc.idA})
	})
	produceAcks1(t, tc.seed, tc.topic, "lost", 10, 10) // only on A: offsets 10-19
	waitReads(t, readers, 20, "the readers to read lost 0-9 from A")

	tc.a.Kill()
	waitFor(t, failover, tc.topic+"-0 to have no leader once A died", func() bool {
		return tc.state(t).leader == -1
	})
	tc.gateB.closed.Store(true) // B is dead: no reader holds a connection to it
	tc.b.Restart()
	waitServing(t, tc.b)
	waitFor(t, 30*time.Second, "B to be elected uncleanly", func() bool {
		s := tc.state(t)
		return s.leader == tc.idB && slices.Equal(s.isr, []int32{tc.idB})
	})
	produceAcks1(t, tc.seed, tc.topic, "new", 15, 10) // B's log ended at 10: 10-24
	for i, r := range readers {
		if v := r.snapshot(); len(v.reads) != 20 || len(v.reports) != 0 {
			t.Fatalf("%s cut off from B: read %d records, reported %d truncations; want 20, none yet", under[i].name, len(v.reads), len(v.reports))
		}
	}
	tc.gateB.closed.Store(false)

	// Wait, bounded, for B's 15 new records; a reader that missed the
	// truncation reads fewer, and the checks below say what it read.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if allRead(readers, 35) {
			break
		}
	}
	time.Sleep(time.Second) // anything more they would read (old records again) comes now
	for i, r := range readers {
		r.stop()
		checkTruncationReads(t, tc.topic, under[i], r.snapshot())
	}
	tc.rejoin(t, failover)
}

func allRead(readers []truncationReader, n int) bool {
	for _, r := range readers {
		if len(r.snapshot().reads) < n {
			return false
		}
	}
	return true
}

// checkTruncationReads checks what one reader read and was told: old
// 0-9 and lost 0-9 from A, then B's new records from where the logs
// diverged (offset 10), nothing again; and, from a client that tells,
// one report of that truncation between the two.
func checkTruncationReads(t *testing.T, topic string, u readerUnderTest, v readerView) {
	t.Helper()
	t.Logf("%s: other errors the client saw (retried): %v", u.name, v.errs)
	for _, rep := range v.reports {
		t.Logf("%s reported: %s", u.name, rep.text)
	}
	want := slices.Concat(seqReads("old", 10, 0), seqReads("lost", 10, 10), seqReads("new", 15, 10))
	if !slices.Equal(v.reads, want) {
		t.Errorf("%s read %v; want %v (old 0-9 and lost 0-9 from A, then B's new records from offset 10, nothing again)", u.name, v.reads, want)
	}
	wantReports := 0
	if u.tells {
		wantReports = 1
	}
	if len(v.reports) != wantReports {
		t.Errorf("%s reported %d truncations: %v; want %d", u.name, len(v.reports), v.reports, wantReports)
		return
	}
	for _, rep := range v.reports {
		if rep.topic != topic || rep.partition != 0 || rep.consumedTo != 20 || rep.divergedAt != 10 || rep.before != 20 {
			t.Errorf("%s reported %s-%d, consumed to %d, diverged at %d, after %d records; want %s-0, 20, 10 (where B's log diverged from A's), after 20",
				u.name, rep.topic, rep.partition, rep.consumedTo, rep.divergedAt, rep.before, topic)
		}
	}
}

// rejoin: A returns; it truncates its log to B's by leader epoch and
// rejoins; led by A alone afterwards, the partition holds B's history.
func (tc *truncationCluster) rejoin(t *testing.T, failover time.Duration) {
	tc.a.Restart()
	waitServing(t, tc.a)
	waitFor(t, 60*time.Second, "A back in the ISR", func() bool {
		return len(tc.state(t).isr) == 2
	})
	tc.b.Kill()
	waitFor(t, failover, "A to lead alone", func() bool {
		s := tc.state(t)
		return s.leader == tc.idA && slices.Equal(s.isr, []int32{tc.idA})
	})
	again := startFranzReader(t, tc.seed.addr, tc.topic)
	want := append(seqReads("old", 10, 0), seqReads("new", 15, 10)...)
	waitFor(t, 60*time.Second, "a new consumer to read A's log", func() bool {
		return len(again.snapshot().reads) >= len(want)
	})
	time.Sleep(time.Second)
	if got := again.snapshot().reads; !slices.Equal(got, want) {
		t.Errorf("A's log after it rejoined and B died: %v; want %v (old 0-9, then B's new records)", got, want)
	}
}

// TestUncleanTruncationDetected runs the scenario with franz-go, which
// reports the truncation as kgo.ErrDataLoss and reads on from where the
// logs diverged.
func TestUncleanTruncationDetected(t *testing.T) {
	runUncleanTruncation(t, readerUnderTest{
		name:  "franz-go",
		tells: true,
		start: func(t *testing.T, bootstrap, topic, clientID string) truncationReader {
			return startFranzReader(t, bootstrap, topic, kgo.ClientID(clientID), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		},
	})
}

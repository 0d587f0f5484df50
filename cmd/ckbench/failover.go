package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The failover suite (Cloud Kafka only) measures how long the partitions
// a crashed broker led stay unwritable. It starts ZooKeeper and three
// brokers (cluster.go) with zookeeper.session.timeout.ms set to
// -failover-session-ms, creates a topic of six partitions with
// replication factor 3 and min.insync.replicas=2, and lets a franz-go
// idempotent acks=all producer stream 100 B records to it, one to every
// partition each failoverTick, for the whole suite. Each of
// -failover-rounds rounds then
//
//  1. waits until every broker reports every partition with a leader and
//     all three replicas in its ISR, and the producer has had a record
//     acknowledged on every partition;
//  2. picks partition 0's leader and SIGKILLs its process;
//  3. times, from the SIGKILL, until every partition the killed broker
//     led has acknowledged a record produced after the process was gone
//     (the failover time), and until every partition has (a leader's
//     acks=all produce waits for a dead follower until the controller
//     takes it out of the ISR, which it does when it learns of the death:
//     the same moment);
//  4. waits until the killed broker's registration is gone, starts it
//     again as itself (same broker.id, address and log.dirs) and times
//     until it is back in every ISR.
//
// A killed broker's ZooKeeper session ends only when ZooKeeper expires
// it, zookeeper.session.timeout.ms after the broker last spoke, and only
// then does the controller elect new leaders; so the failover time is
// about the session timeout plus ZooKeeper's delay in expiring it (it
// expires sessions in rounds of its tickTime, up to 2 s late with
// zooKeeperConfig's) and the time to elect, tell the brokers and for the
// producer to find the new leaders. The producer looks for them
// every failoverClientPoll (franz-go's default backoff would add up to
// 5 s of its own). The median as a ratio to the session timeout is the
// machine-independent view: 1.0 would be a failover that adds nothing to
// the session expiry.

const (
	suiteFailover = "failover"

	failoverPartitions  = 6
	failoverRecordBytes = 100
	// failoverTick paces the producer: one record to every partition
	// each tick (600 records/s in all).
	failoverTick = 10 * time.Millisecond
	// failoverBufferedMax bounds the producer's buffer: 100,000 records
	// at 600/s last 166 s, longer than a round may take to recover.
	failoverBufferedMax = 100_000
	// failoverClientPoll is the producer's and the admin client's retry
	// backoff and metadata minimum age.
	failoverClientPoll = 100 * time.Millisecond
	// failoverPoll spaces the suite's own checks; the times measured
	// come from acknowledgement callbacks, not from these checks.
	failoverPoll = 20 * time.Millisecond
	// failoverSlack is added to the session timeout to bound a round's
	// recovery, the end of the killed broker's registration and its
	// return to every ISR.
	failoverSlack = 60 * time.Second
	// failoverSteadyTimeout bounds the wait, before a kill, for every
	// partition to acknowledge a record.
	failoverSteadyTimeout = 30 * time.Second
	// failoverFlushTimeout bounds the producer's last flush.
	failoverFlushTimeout = 30 * time.Second
	// A ZooKeeper server with zooKeeperConfig's tickTime of 2000 ms
	// grants sessions of 2 to 20 ticks, whatever a broker asks for.
	failoverSessionMsMin     = 4000
	failoverSessionMsMax     = 40000
	failoverSessionMsDefault = 18000 // Kafka's zookeeper.session.timeout.ms
)

// failoverRound is what one round measured.
type failoverRound struct {
	killed int32 // the broker killed: partition 0's leader
	// controller says whether the killed broker was also the active
	// controller, whose successor is elected only once its session
	// expires too, and must load the cluster's state before it acts.
	controller bool
	led        []int32 // the partitions it led, ascending
	// recovery is from the SIGKILL until every partition in led had
	// acknowledged a record produced after the process was gone;
	// recoveryAll is until every partition of the topic had.
	recovery, recoveryAll time.Duration
	// rejoin is from starting the killed broker again until every broker
	// reported it in every partition's ISR.
	rejoin time.Duration
}

// failoverCell is the topic's shape, for waitReplicated.
var failoverCell = cell{size: failoverRecordBytes, acks: "all", partitions: failoverPartitions,
	replicas: replicationFactor, minISR: replicationMinISR}

// failoverSession is the session timeout the suite gives the brokers.
func (o options) failoverSession() time.Duration {
	return time.Duration(o.failoverSessionMs) * time.Millisecond
}

// runFailoverSuite starts the cluster, the topic and the producer, and
// runs the rounds. It returns the rounds completed, also on error.
func runFailoverSuite(ctx context.Context, o options) ([]failoverRound, error) {
	fmt.Fprintf(os.Stderr, "ckbench: failover: starting ZooKeeper and three brokers (zookeeper.session.timeout.ms=%d) ...\n", o.failoverSessionMs)
	c, err := startCluster(ctx, o, []string{"zookeeper.session.timeout.ms=" + strconv.Itoa(o.failoverSessionMs)})
	if err != nil {
		return nil, fmt.Errorf("starting the cluster: %w", err)
	}
	defer c.stop()
	adm, err := kgo.NewClient(kgo.SeedBrokers(c.addrs...), kgo.MetadataMinAge(failoverClientPoll),
		kgo.RetryBackoffFn(func(int) time.Duration { return failoverClientPoll }))
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	topic := fmt.Sprintf("ckbench-failover-%d", time.Now().UnixNano())
	if err := createFailoverTopic(ctx, adm, topic); err != nil {
		return nil, err
	}
	st, err := startStream(ctx, c.addrs, topic)
	if err != nil {
		return nil, err
	}
	var rounds []failoverRound
	for i := 1; i <= o.failoverRounds; i++ {
		rd, err := runFailoverRound(ctx, c, adm, topic, st, o)
		if err == nil {
			err = st.clock.failure()
		}
		if err != nil {
			st.close()
			return rounds, fmt.Errorf("round %d: %w", i, err)
		}
		fmt.Fprintf(os.Stderr, "ckbench: failover round %d/%d: broker %d (controller: %s; partitions %s) killed; failover %v, every partition %v; back in every ISR %v after its restart\n",
			i, o.failoverRounds, rd.killed, yesNo(rd.controller), partitionList(rd.led), roundSeconds(rd.recovery), roundSeconds(rd.recoveryAll), roundSeconds(rd.rejoin))
		rounds = append(rounds, rd)
	}
	if err := st.stop(); err != nil {
		return rounds, err
	}
	// Deleted, as runCell deletes its topics, so that the brokers stop
	// at once: the last of them to stop would otherwise retry its
	// controlled shutdown while it leads partitions no other live
	// broker can take (controlled.shutdown.max.retries).
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kadm.NewClient(adm).DeleteTopic(dctx, topic) // best effort: the cluster is discarded anyway
	return rounds, nil
}

// createFailoverTopic creates topic as failoverCell and waits, within
// failoverSlack, until every broker reports it fully replicated.
func createFailoverTopic(ctx context.Context, adm *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, failoverSlack)
	defer cancel()
	configs := map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(replicationMinISR))}
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, failoverPartitions, replicationFactor, configs, topic); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	return waitReplicated(ctx, adm, topic, failoverCell)
}

// runFailoverRound runs one round (steps 1-4 of the suite's comment).
func runFailoverRound(ctx context.Context, c *cluster, adm *kgo.Client, topic string, st *stream, o options) (failoverRound, error) {
	var rd failoverRound
	if err := waitSteady(ctx, adm, topic, st); err != nil {
		return rd, err
	}
	leaders, controller, err := topicLeaders(ctx, adm, topic)
	if err != nil {
		return rd, err
	}
	rd.killed = leaders[0]
	rd.controller = controller == rd.killed
	rd.led = ledBy(leaders, rd.killed)
	bound := o.failoverSession() + failoverSlack
	killedAt := time.Now()
	c.kill(int(rd.killed))
	st.clock.setMark(time.Now())
	all := allPartitions(failoverPartitions)
	err = waitFor(ctx, bound, func() (bool, string) {
		acks := st.clock.firstAcks()
		if _, ok := lastFirstAck(acks, all); ok {
			return true, ""
		}
		return false, fmt.Sprintf("after killing broker %d (which led partitions %s), partitions %s acknowledged a record produced after the kill, and partitions %s did not",
			rd.killed, partitionList(rd.led), partitionList(ackedOf(acks, all)), partitionList(missingOf(acks, all)))
	})
	if err != nil {
		return rd, fmt.Errorf("not recovered within zookeeper.session.timeout.ms %d + %v: %w", o.failoverSessionMs, failoverSlack, err)
	}
	acks := st.clock.firstAcks()
	ledAt, _ := lastFirstAck(acks, rd.led)
	allAt, _ := lastFirstAck(acks, all)
	rd.recovery, rd.recoveryAll = ledAt.Sub(killedAt), allAt.Sub(killedAt)
	rd.rejoin, err = restartKilled(ctx, c, adm, topic, rd.killed, bound)
	return rd, err
}

// waitSteady waits until every broker reports every partition fully
// replicated and the producer has had a record acknowledged on every
// partition since the wait began.
func waitSteady(ctx context.Context, adm *kgo.Client, topic string, st *stream) error {
	wctx, cancel := context.WithTimeout(ctx, failoverSteadyTimeout)
	defer cancel()
	if err := waitReplicated(wctx, adm, topic, failoverCell); err != nil {
		return err
	}
	st.clock.setMark(time.Now())
	all := allPartitions(failoverPartitions)
	return waitFor(ctx, failoverSteadyTimeout, func() (bool, string) {
		acks := st.clock.firstAcks()
		_, ok := lastFirstAck(acks, all)
		return ok, "before the kill, partitions " + partitionList(missingOf(acks, all)) + " acknowledged no record"
	})
}

// restartKilled waits until broker id's registration is gone (Metadata
// no longer lists it: a broker cannot register while its old session
// lasts), starts it again and returns how long it took from the start
// until every broker reported it in every ISR. Each wait is bounded.
func restartKilled(ctx context.Context, c *cluster, adm *kgo.Client, topic string, id int32, bound time.Duration) (time.Duration, error) {
	err := waitFor(ctx, bound, func() (bool, string) {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, adm)
		if err != nil {
			return false, err.Error()
		}
		for _, b := range resp.Brokers {
			if b.NodeID == id {
				return false, fmt.Sprintf("Metadata still lists killed broker %d", id)
			}
		}
		return true, ""
	})
	if err != nil {
		return 0, err
	}
	restartedAt := time.Now()
	if err := c.restart(int(id)); err != nil {
		return 0, fmt.Errorf("restarting broker %d: %w", id, err)
	}
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if err := waitReplicated(wctx, adm, topic, failoverCell); err != nil {
		return 0, fmt.Errorf("broker %d restarted: %w", id, err)
	}
	return time.Since(restartedAt), nil
}

// waitFor calls cond every failoverPoll until it reports true, and fails
// after timeout (or when ctx ends) with cond's last reason.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (ok bool, why string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("waited %v: %s", timeout, why)
			}
			return fmt.Errorf("interrupted while waiting: %s: %w", why, ctx.Err())
		case <-time.After(failoverPoll):
		}
	}
}

// topicLeaders asks for topic's partition leaders and the active
// controller.
func topicLeaders(ctx context.Context, adm *kgo.Client, topic string) (map[int32]int32, int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, adm)
	if err != nil {
		return nil, 0, err
	}
	leaders, err := leadersOf(resp, failoverPartitions)
	return leaders, resp.ControllerID, err
}

// leadersOf reads partition → leader from a Metadata answer about one
// topic, which must show partitions 0 to n-1, each with a leader.
func leadersOf(resp *kmsg.MetadataResponse, n int) (map[int32]int32, error) {
	if len(resp.Topics) != 1 {
		return nil, fmt.Errorf("metadata: %d topics; want 1", len(resp.Topics))
	}
	t := resp.Topics[0]
	if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	leaders := map[int32]int32{}
	for _, p := range t.Partitions {
		if p.Leader < 0 {
			return nil, fmt.Errorf("metadata: partition %d has no leader", p.Partition)
		}
		leaders[p.Partition] = p.Leader
	}
	for p := range int32(n) {
		if _, ok := leaders[p]; !ok {
			return nil, fmt.Errorf("metadata: partition %d missing", p)
		}
	}
	return leaders, nil
}

// ledBy lists, ascending, the partitions whose leader is id.
func ledBy(leaders map[int32]int32, id int32) []int32 {
	var ps []int32
	for p, l := range leaders {
		if l == id {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// allPartitions is 0 to n-1.
func allPartitions(n int) []int32 {
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// lastFirstAck is the latest of the first acknowledgements of ps, and
// whether every partition of ps has one.
func lastFirstAck(acks map[int32]time.Time, ps []int32) (time.Time, bool) {
	var last time.Time
	for _, p := range ps {
		at, ok := acks[p]
		if !ok {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, true
}

// ackedOf and missingOf list the partitions of ps with and without a
// first acknowledgement.
func ackedOf(acks map[int32]time.Time, ps []int32) []int32 {
	return slices.DeleteFunc(slices.Clone(ps), func(p int32) bool { _, ok := acks[p]; return !ok })
}

func missingOf(acks map[int32]time.Time, ps []int32) []int32 {
	return slices.DeleteFunc(slices.Clone(ps), func(p int32) bool { _, ok := acks[p]; return ok })
}

// partitionList is ps as "0,3", or "none".
func partitionList(ps []int32) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// median is the median of xs (the mean of the middle two for an even
// count); 0 with none.
func median[T ~int64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// roundSeconds rounds d to 10 ms for printing.
func roundSeconds(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// failoverSummary is the rounds' median failover time and its ratio to
// the session timeout.
func failoverSummary(rounds []failoverRound, session time.Duration) (time.Duration, float64) {
	ds := make([]time.Duration, len(rounds))
	for i, rd := range rounds {
		ds[i] = rd.recovery
	}
	m := median(ds)
	return m, m.Seconds() / session.Seconds()
}

// printFailoverTable prints one row per round and the median.
func printFailoverTable(w io.Writer, rounds []failoverRound, o options) {
	if len(rounds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfailover: ZooKeeper and three brokers, %d partitions, rf=%d, min.insync.replicas=%d, zookeeper.session.timeout.ms=%d; "+
		"an idempotent acks=all producer streams %d B records, one to every partition each %v; partition 0's leader is SIGKILLed each round\n",
		failoverPartitions, replicationFactor, replicationMinISR, o.failoverSessionMs, failoverRecordBytes, failoverTick)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tkilled broker\twas controller\tits partitions\tfailover\tevery partition\tback in every ISR\t")
	for i, rd := range rounds {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%v\t%v\t%v\t\n", i+1, rd.killed, yesNo(rd.controller), partitionList(rd.led),
			roundSeconds(rd.recovery), roundSeconds(rd.recoveryAll), roundSeconds(rd.rejoin))
	}
	tw.Flush()
	median, ratio := failoverSummary(rounds, o.failoverSession())
	fmt.Fprintf(w, "failover median %v over %d rounds; median / zookeeper.session.timeout.ms (%v) = %.3f\n",
		roundSeconds(median), len(rounds), o.failoverSession(), ratio)
}

// ackClock records, per partition, when a record produced after a mark
// was first acknowledged, and the records that failed.
type ackClock struct {
	mu       sync.Mutex
	mark     time.Time
	firstAck map[int32]time.Time // partition → first acknowledgement of a record produced after mark
	closing  bool                // failures no longer count: the producer is being closed
	failed   int
	firstErr error
}

// setMark forgets the acknowledgements seen and counts only records
// produced after mark from now on.
func (a *ackClock) setMark(mark time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mark, a.firstAck = mark, map[int32]time.Time{}
}

// acked is a record's promise: the record went to partition p, was
// produced at sent, and was acknowledged (err == nil) or failed now.
func (a *ackClock) acked(p int32, sent time.Time, err error) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err != nil && !a.closing:
		a.failed++
		if a.firstErr == nil {
			a.firstErr = fmt.Errorf("partition %d: %w", p, err)
		}
	case err != nil:
	case sent.After(a.mark):
		if _, ok := a.firstAck[p]; !ok {
			a.firstAck[p] = now
		}
	}
}

// firstAcks is a copy of the first acknowledgements since the mark.
func (a *ackClock) firstAcks() map[int32]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.firstAck)
}

// failure says how many records failed, and the first's error.
func (a *ackClock) failure() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed == 0 {
		return nil
	}
	return fmt.Errorf("the producer had %d records fail; first: %w", a.failed, a.firstErr)
}

// stream is the producer: one record to every partition each
// failoverTick until stopped.
type stream struct {
	cl     *kgo.Client
	clock  *ackClock
	quit   chan struct{} // closed to stop producing
	done   chan struct{} // closed when the producing goroutine returns
	cancel func()        // cancels the records' context: fails what is buffered
}

// startStream starts the producer on topic.
func startStream(ctx context.Context, seeds []string, topic string) (*stream, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent, franz-go's default
		kgo.MaxBufferedRecords(failoverBufferedMax),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MetadataMinAge(failoverClientPoll),
		kgo.RetryBackoffFn(func(int) time.Duration { return failoverClientPoll }),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{cl: cl, clock: &ackClock{firstAck: map[int32]time.Time{}}, quit: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	value := make([]byte, failoverRecordBytes)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(failoverTick)
		defer tick.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for p := range int32(failoverPartitions) {
				sent := time.Now()
				cl.Produce(ctx, &kgo.Record{Partition: p, Value: value}, func(_ *kgo.Record, err error) { s.clock.acked(p, sent, err) })
			}
		}
	}()
	return s, nil
}

// stop stops producing, waits (bounded) until every record buffered is
// acknowledged, and closes the client. It fails if a record failed or
// the flush did not finish.
func (s *stream) stop() error {
	close(s.quit)
	ctx, cancel := context.WithTimeout(context.Background(), failoverFlushTimeout)
	defer cancel()
	flushErr := s.cl.Flush(ctx)
	err := s.clock.failure() // before close, whose cancellation fails what is left
	s.close()
	if err == nil && flushErr != nil {
		err = fmt.Errorf("the producer's last records were not acknowledged within %v: %w", failoverFlushTimeout, flushErr)
	}
	return err
}

// close closes the producer without waiting for its records.
func (s *stream) close() {
	s.clock.mu.Lock()
	s.clock.closing = true
	s.clock.mu.Unlock()
	s.cancel()
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
	s.cl.Close()
}

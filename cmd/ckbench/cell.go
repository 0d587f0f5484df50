package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// cell is one point of the matrix.
type cell struct {
	size       int    // record value bytes
	acks       string // "1" or "all"
	partitions int
	records    int
	// client pins the clients to an old Kafka's versions ("0.9" or
	// "0.10": message formats 0 and 1); "" lets them pick the newest.
	client string
	codec  string // "" or "none": uncompressed; "snappy"
	// replicas is the topic's replication factor (0: 1), and minISR its
	// min.insync.replicas (0: the broker's default).
	replicas int
	minISR   int
	// clients is how many franz-go clients produce, and then consume,
	// at once (0: one); client j owns the partitions p with
	// p % clients == j (clientPartitions).
	clients int
	// rate bounds the produce rate, in records a second across the
	// clients (0: no bound).
	rate float64
}

func (c cell) String() string {
	s := fmt.Sprintf("size=%dB acks=%s partitions=%d records=%d", c.size, c.acks, c.partitions, c.records)
	if c.client != "" {
		s += " client=" + c.client
	}
	if c.codec != "" {
		s += " codec=" + c.codec
	}
	if c.replicas > 1 {
		s += fmt.Sprintf(" rf=%d", c.replicas)
	}
	if c.minISR > 0 {
		s += fmt.Sprintf(" min.insync=%d", c.minISR)
	}
	if c.clients > 1 {
		s += fmt.Sprintf(" clients=%d", c.clients)
	}
	if c.rate > 0 {
		s += fmt.Sprintf(" rate=%.0f/s", c.rate)
	}
	return s
}

// clientOpts pins a legacy cell's clients to the old Kafka's versions.
func (c cell) clientOpts() []kgo.Opt {
	switch c.client {
	case "0.9":
		return []kgo.Opt{kgo.MaxVersions(kversion.V0_9_0())}
	case "0.10":
		return []kgo.Opt{kgo.MaxVersions(kversion.V0_10_0())}
	}
	return nil
}

// result is what one cell measured on one target.
type result struct {
	target         string
	cell           cell
	produceElapsed time.Duration
	latencyP50     time.Duration
	latencyP99     time.Duration
	consumeElapsed time.Duration
	// brokerCPU is the CPU time the broker process used during the cell
	// (creating the topic, producing, consuming, deleting it); 0 when
	// unknown (kfake shares ckbench's process).
	brokerCPU time.Duration
	// rssPeakBytes is the broker process's peak resident set during the
	// cell; 0 when unknown.
	rssPeakBytes int64
}

// cpuPerGB is the broker's CPU-seconds per GB moved: the records' values
// produced plus consumed.
func (r result) cpuPerGB() float64 {
	return r.brokerCPU.Seconds() / (2 * float64(r.cell.records) * float64(r.cell.size) / 1e9)
}

func (r result) produceRate() float64 { return float64(r.cell.records) / r.produceElapsed.Seconds() }
func (r result) produceMBps() float64 {
	return float64(r.cell.records) * float64(r.cell.size) / r.produceElapsed.Seconds() / 1e6
}
func (r result) consumeRate() float64 { return float64(r.cell.records) / r.consumeElapsed.Seconds() }

var topicSeq atomic.Int64

// runCell creates a topic, produces and consumes c.records records, and
// deletes the topic again. The whole cell is bounded by o.deadline.
func runCell(ctx context.Context, seeds []string, c cell, o options) (result, error) {
	r := result{cell: c}
	ctx, cancel := context.WithTimeout(ctx, o.deadline)
	defer cancel()
	topic := fmt.Sprintf("ckbench-%d-%s-%d-%d-%d", c.size, c.acks, c.partitions, time.Now().UnixNano(), topicSeq.Add(1))
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return r, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)
	var configs map[string]*string
	if c.minISR > 0 {
		configs = map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(c.minISR))}
	}
	if _, err := admin.CreateTopic(ctx, int32(c.partitions), int16(max(c.replicas, 1)), configs, topic); err != nil {
		return r, fmt.Errorf("creating topic %s: %w", topic, err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		admin.DeleteTopic(dctx, topic) // best effort: the target is discarded anyway
	}()
	if c.replicas > 1 {
		if err := waitReplicated(ctx, adm, topic, c); err != nil {
			return r, err
		}
	}
	if err := produce(ctx, seeds, topic, c, o, &r); err != nil {
		return r, err
	}
	if err := consume(ctx, seeds, topic, c, &r); err != nil {
		return r, err
	}
	return r, nil
}

// waitReplicated polls Metadata until every broker says that every
// partition of topic has a leader and an ISR of all c.replicas replicas,
// so that the produce timing starts with a topic the cluster has finished
// setting up. Every broker is asked because each learns of the topic from
// the controller in its own time, and a producer whose first Metadata
// answer lacks the topic asks again only after its metadata minimum age
// (franz-go's default: 5 s).
func waitReplicated(ctx context.Context, cl *kgo.Client, topic string, c cell) error {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	last := "no answer"
	for ctx.Err() == nil {
		ok, why := everyBrokerReplicated(ctx, cl, req, c)
		if ok {
			return nil
		}
		last = why
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("waiting for topic %s to have leaders and %d in-sync replicas: %w (last: %s)", topic, c.replicas, ctx.Err(), last)
}

// everyBrokerReplicated asks each broker that Metadata lists for its own
// view of req's topic; why says which broker is not ready and why.
func everyBrokerReplicated(ctx context.Context, cl *kgo.Client, req *kmsg.MetadataRequest, c cell) (ok bool, why string) {
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return false, err.Error()
	}
	if len(resp.Brokers) == 0 {
		return false, "Metadata lists no brokers"
	}
	for _, br := range resp.Brokers {
		own, err := req.RequestWith(ctx, cl.Broker(int(br.NodeID)))
		if err != nil {
			return false, fmt.Sprintf("broker %d: %v", br.NodeID, err)
		}
		if ok, why := replicated(own, c); !ok {
			return false, fmt.Sprintf("broker %d: %s", br.NodeID, why)
		}
	}
	return true, ""
}

// replicated reports whether resp shows c.partitions partitions of one
// topic, each with a leader and c.replicas replicas in sync; why says
// what is missing.
func replicated(resp *kmsg.MetadataResponse, c cell) (ok bool, why string) {
	if len(resp.Topics) != 1 {
		return false, fmt.Sprintf("%d topics in Metadata", len(resp.Topics))
	}
	t := resp.Topics[0]
	if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
		return false, err.Error()
	}
	if len(t.Partitions) != c.partitions {
		return false, fmt.Sprintf("%d of %d partitions", len(t.Partitions), c.partitions)
	}
	for _, p := range t.Partitions {
		if p.Leader < 0 || len(p.ISR) != c.replicas {
			return false, fmt.Sprintf("partition %d: leader %d, ISR %v", p.Partition, p.Leader, p.ISR)
		}
	}
	return true, ""
}

func producerOpts(seeds []string, topic string, c cell, o options) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(max(1, o.inflight/c.clientCount())),
		// produceShare sets each record's partition, round robin over
		// its client's share.
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}
	if c.codec == "snappy" {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	}
	if c.rate > 0 {
		// A paced cell measures latency: each record goes at once,
		// rather than after franz-go's default linger (10 ms) for a
		// fuller batch, so that its latency is the broker's and the
		// network's, not the client's wait.
		opts = append(opts, kgo.ProducerLinger(0))
	}
	if c.acks == "1" || c.client != "" {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	return append(opts, c.clientOpts()...)
}

// clientCount is how many clients produce and consume c: c.clients, at
// least one and at most one a partition.
func (c cell) clientCount() int { return max(1, min(c.clients, c.partitions)) }

// clientPartitions are the partitions client j of n owns: p with
// p % n == j, in order.
func clientPartitions(partitions, n, j int) []int32 {
	var ps []int32
	for p := j; p < partitions; p += n {
		ps = append(ps, int32(p))
	}
	return ps
}

// clientRecords splits records among n clients as evenly as it can, the
// first records % n clients taking one more.
func clientRecords(records, n int) []int {
	shares := make([]int, n)
	for j := range shares {
		shares[j] = records / n
		if j < records%n {
			shares[j]++
		}
	}
	return shares
}

// produceErrs collects the clients' failures.
type produceErrs struct {
	mu     sync.Mutex
	failed int   // records whose promise reported an error
	first  error // the first of those
	flush  error // the first Flush that did not finish
}

func (e *produceErrs) record(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failed++
	if e.first == nil {
		e.first = err
	}
}

// produce sends c.records records from c.clientCount() clients at once,
// each its share (clientRecords) to its partitions (clientPartitions),
// and fills r's produce fields: the elapsed time runs until the last
// client has flushed, and the latencies are every record's, from its
// Produce call to its promise. Produce blocks while a client holds its
// share of o.inflight records, which bounds memory. With c.rate, the
// clients together produce at most c.rate records a second (pace).
// extra adds to the clients' options, such as TLS and SASL settings.
func produce(ctx context.Context, seeds []string, topic string, c cell, o options, r *result, extra ...kgo.Opt) error {
	n := c.clientCount()
	clients := make([]*kgo.Client, 0, n)
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	for range n {
		cl, err := kgo.NewClient(append(producerOpts(seeds, topic, c, o), extra...)...)
		if err != nil {
			return err
		}
		clients = append(clients, cl)
	}
	latencies := make([]time.Duration, c.records)
	value := make([]byte, c.size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var errs produceErrs
	var wg sync.WaitGroup
	start, from := time.Now(), 0
	for j, share := range clientRecords(c.records, n) {
		lat := latencies[from : from+share]
		from += share
		wg.Add(1)
		go func() {
			defer wg.Done()
			produceShare(ctx, clients[j], clientPartitions(c.partitions, n, j), lat, value, c.rate/float64(n), &errs)
		}()
	}
	wg.Wait()
	r.produceElapsed = time.Since(start)
	if errs.flush != nil {
		return fmt.Errorf("producing: deadline of %v exceeded: %w", o.deadline, errs.flush)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("producing: deadline of %v exceeded: %w", o.deadline, ctx.Err())
	}
	if errs.failed > 0 {
		return fmt.Errorf("producing: %d of %d records failed; first: %w", errs.failed, c.records, errs.first)
	}
	r.latencyP50, r.latencyP99 = percentiles(latencies)
	return nil
}

// produceShare produces len(latencies) records of value from cl round
// robin to parts, at most rate a second if rate > 0, records each
// record's latency, and flushes.
func produceShare(ctx context.Context, cl *kgo.Client, parts []int32, latencies []time.Duration, value []byte, rate float64, errs *produceErrs) {
	start := time.Now()
	for i := 0; i < len(latencies) && ctx.Err() == nil; i++ {
		if rate > 0 {
			pace(ctx, start, i, rate)
		}
		sent := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: value, Partition: parts[i%len(parts)]}, func(_ *kgo.Record, err error) {
			latencies[i] = time.Since(sent)
			errs.record(err)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		errs.mu.Lock()
		if errs.flush == nil {
			errs.flush = err
		}
		errs.mu.Unlock()
	}
}

// paceStepMin is the shortest wait pace makes: records due sooner go
// at once, so a paced producer sends bursts of up to a millisecond's
// records rather than waking for each.
const paceStepMin = time.Millisecond

// pace waits, unless ctx ends, until record i (from 0) is due at rate
// records a second from start.
func pace(ctx context.Context, start time.Time, i int, rate float64) {
	due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
	d := time.Until(due)
	if d < paceStepMin {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// consume reads every partition from the start, with c.clientCount()
// clients at once, each its own partitions (clientPartitions), until
// each has its share of c.records (clientRecords: what produce sent
// there), and fills r's consume fields: the elapsed time runs until the
// last client is done.
func consume(ctx context.Context, seeds []string, topic string, c cell, r *result) error {
	n := c.clientCount()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for j, share := range clientRecords(c.records, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[j] = consumeShare(ctx, seeds, topic, c, clientPartitions(c.partitions, n, j), share)
		}()
	}
	wg.Wait()
	r.consumeElapsed = time.Since(start)
	return errors.Join(errs...)
}

// consumeShare reads parts of topic from the start until want records
// have arrived.
func consumeShare(ctx context.Context, seeds []string, topic string, c cell, parts []int32, want int) error {
	assign := map[int32]kgo.Offset{}
	for _, p := range parts {
		assign[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
	}, c.clientOpts()...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	got := 0
	for got < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("consuming: deadline exceeded after %d of %d records", got, want)
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("consuming partition %d: %w", fe.Partition, fe.Err)
			}
		}
		got += fetches.NumRecords()
	}
	if got != want {
		return fmt.Errorf("consuming: got %d records; want %d", got, want)
	}
	return nil
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)*50/100], s[len(s)*99/100]
}

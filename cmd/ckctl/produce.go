package main

import (
	"bufio"
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lineBytesMax bounds one input line, and so one record value.
const lineBytesMax = 16 << 20

// produceResults gathers delivery outcomes; promises run on kgo's goroutines.
type produceResults struct {
	mu       sync.Mutex
	verbose  bool
	out      *bufio.Writer
	acked    int
	failed   int
	firstErr error
}

func (r *produceResults) promise(rec *kgo.Record, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.acked++
	if r.verbose {
		fmt.Fprintf(r.out, "partition %d offset %d\n", rec.Partition, rec.Offset)
	}
}

func produceCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("produce", &e.g)
	key := fs.String("k", "", "key for every record (empty: no key)")
	partition := fs.Int("p", -1, "partition for every record (-1: the default partitioner)")
	verbose := fs.Bool("v", false, "print the partition and offset of each acknowledged record")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := exactArgs("produce", pos, 1); err != nil {
		return err
	}
	if *partition < -1 || *partition > 1<<31-1 {
		return fmt.Errorf("%w: -p %d: partition out of range", errUsage, *partition)
	}
	topic := pos[0]
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RecordDeliveryTimeout(e.g.timeout),
		kgo.ProducerBatchMaxBytes(lineBytesMax + 1<<10),
	}
	if *partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := e.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	res := &produceResults{verbose: *verbose, out: out}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 64<<10), lineBytesMax)
	sent := 0
	for sc.Scan() {
		rec := &kgo.Record{Value: append([]byte(nil), sc.Bytes()...)}
		if *key != "" {
			rec.Key = []byte(*key)
		}
		if *partition >= 0 {
			rec.Partition = int32(*partition)
		}
		cl.Produce(ctx, rec, res.promise)
		sent++
	}
	scanErr := sc.Err()
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("flushing records to %q: %w", topic, err)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if scanErr != nil {
		return fmt.Errorf("reading standard input after %d lines: %w", sent, scanErr)
	}
	if res.failed > 0 {
		return fmt.Errorf("producing to %q: %d of %d records failed; first error: %w",
			topic, res.failed, sent, res.firstErr)
	}
	return nil
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// idleDefault ends a consume with no -n after this long without records.
const idleDefault = 2 * time.Second

func consumeCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("consume", &e.g)
	offset := fs.String("o", "earliest", "start offset: earliest, latest or a number")
	count := fs.Int("n", 0, "stop after this many records (0: stop when idle)")
	partition := fs.Int("p", -1, "consume only this partition (-1: all)")
	idle := fs.Duration("idle", idleDefault, "stop after this long without records (0: never)")
	verbose := fs.Bool("v", false, "print partition and offset before each value")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := exactArgs("consume", pos, 1); err != nil {
		return err
	}
	if *count < 0 {
		return fmt.Errorf("%w: -n %d: count must not be negative", errUsage, *count)
	}
	start, err := parseStartOffset(*offset)
	if err != nil {
		return err
	}
	// With a count, wait for it unless -idle was given explicitly.
	if *count > 0 && !flagGiven(fs, "idle") {
		*idle = 0
	}
	topic := pos[0]
	partitions, err := e.topicPartitions(ctx, topic)
	if err != nil {
		return err
	}
	if *partition >= 0 {
		if !containsPartition(partitions, int32(*partition)) {
			return fmt.Errorf("topic %q has no partition %d (it has %d)", topic, *partition, len(partitions))
		}
		partitions = []int32{int32(*partition)}
	}
	assign := map[int32]kgo.Offset{}
	for _, p := range partitions {
		assign[p] = start
	}
	cl, err := e.newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}))
	if err != nil {
		return err
	}
	defer cl.Close()
	return consumeLoop(ctx, cl, e, *count, *idle, *verbose)
}

// consumeLoop prints records until count is reached, idle passes without a
// record, or ctx ends.
func consumeLoop(ctx context.Context, cl *kgo.Client, e *env, count int, idle time.Duration, verbose bool) error {
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	got := 0
	for count == 0 || got < count {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if idle > 0 {
			pctx, cancel = context.WithTimeout(ctx, idle)
		}
		max := 0
		if count > 0 {
			max = count - got
		}
		fetches := cl.PollRecords(pctx, max)
		cancel()
		if err := fetchError(fetches); err != nil {
			return err
		}
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			if verbose {
				fmt.Fprintf(out, "%d\t%d\t", r.Partition, r.Offset)
			}
			out.Write(r.Value)
			out.WriteByte('\n')
		})
		got += n
		if err := out.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		if ctx.Err() != nil {
			if count > 0 && got < count {
				return fmt.Errorf("interrupted after %d of %d records", got, count)
			}
			return nil
		}
		if n == 0 && pctx.Err() != nil {
			if count > 0 {
				return fmt.Errorf("no record for %v after %d of %d records", idle, got, count)
			}
			return nil // idle: done
		}
	}
	return nil
}

// fetchError returns the first fetch error that is not the end of a poll.
func fetchError(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) ||
			errors.Is(fe.Err, kgo.ErrClientClosed) {
			continue
		}
		return fmt.Errorf("fetching %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

func parseStartOffset(s string) (kgo.Offset, error) {
	switch s {
	case "earliest", "start", "beginning", "oldest":
		return kgo.NewOffset().AtStart(), nil
	case "latest", "end", "newest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("%w: -o %q: want earliest, latest or an offset >= 0", errUsage, s)
	}
	return kgo.NewOffset().At(n), nil
}

// topicPartitions returns the sorted partition ids of topic, or an error if
// the topic does not exist.
func (e *env) topicPartitions(ctx context.Context, topic string) ([]int32, error) {
	adm, err := e.newAdmin()
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	actx, cancel := e.adminContext(ctx)
	defer cancel()
	topics, err := adm.ListTopics(actx, topic)
	if err != nil {
		return nil, fmt.Errorf("looking up topic %q: %w", topic, err)
	}
	t, ok := topics[topic]
	if !ok {
		return nil, fmt.Errorf("looking up topic %q: not in the metadata response", topic)
	}
	if t.Err != nil {
		return nil, fmt.Errorf("looking up topic %q: %w", topic, t.Err)
	}
	var ps []int32
	for _, p := range t.Partitions.Sorted() {
		ps = append(ps, p.Partition)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("topic %q has no partitions", topic)
	}
	return ps, nil
}

func containsPartition(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

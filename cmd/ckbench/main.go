// Command ckbench measures produce and consume throughput and produce
// latency against a Cloud Kafka broker and, in the same run, against
// franz-go's in-memory kfake cluster as a reference peer.
//
// The matrix is record size (100 B, 1 KiB) x acks (1, all) x partitions
// (1, 6). For each cell ckbench creates a topic, produces N records
// asynchronously with at most -inflight records buffered, records each
// record's latency from the Produce call to its promise, then consumes the
// partitions directly (no consumer group) from the start until all N records
// are back. Every cell is bounded by -deadline.
//
// Unless -brokers is given, ckbench builds ./cmd/cloudkafka into a temporary
// directory and runs it on a free 127.0.0.1 port with a temporary log.dirs,
// stopping it at the end.
//
//	go run ./cmd/ckbench                       # both targets, full matrix
//	go run ./cmd/ckbench -targets kfake        # the reference peer only
//	go run ./cmd/ckbench -brokers host:9092    # an already running broker
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	brokers      string
	targets      []string
	records      int // records per 100 B cell; 1 KiB cells produce a quarter
	inflight     int // records buffered in the producer at most
	deadline     time.Duration
	brokerBin    string
	brokerArgs   string
	sizes        []int
	partitions   []int
	acks         []string
	brokerLogOut bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ckbench: %v\n", err)
		os.Exit(2)
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "ckbench: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("ckbench", flag.ContinueOnError)
	fs.StringVar(&o.brokers, "brokers", "", "benchmark this running broker (host:port,...) instead of starting one")
	targets := fs.String("targets", "cloudkafka,kfake", "comma-separated targets: cloudkafka, kfake")
	fs.IntVar(&o.records, "records", 6000000, "records per 100 B cell (1 KiB cells produce a quarter as many)")
	fs.IntVar(&o.inflight, "inflight", 10000, "records buffered in the producer at most")
	fs.DurationVar(&o.deadline, "deadline", 60*time.Second, "bound on each cell (produce plus consume)")
	fs.StringVar(&o.brokerBin, "broker-bin", "", "prebuilt broker binary (default: build ./cmd/cloudkafka)")
	fs.StringVar(&o.brokerArgs, "broker-overrides", "", "extra broker overrides key=value,key=value")
	fs.BoolVar(&o.brokerLogOut, "broker-log", false, "copy the broker's log to stderr")
	sizes := fs.String("sizes", "100,1024", "record value sizes in bytes")
	parts := fs.String("partitions", "1,6", "partition counts")
	acks := fs.String("acks", "1,all", "acks settings: 1, all")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.targets = splitList(*targets)
	o.acks = splitList(*acks)
	var err error
	if o.sizes, err = parseInts("sizes", *sizes, 1, 1<<20); err != nil {
		return o, err
	}
	if o.partitions, err = parseInts("partitions", *parts, 1, 1000); err != nil {
		return o, err
	}
	return o, validate(o)
}

func validate(o options) error {
	if o.records < 4 || o.records > 100_000_000 {
		return fmt.Errorf("-records %d: want 4 to 100000000", o.records)
	}
	if o.inflight < 1 || o.inflight > 1_000_000 {
		return fmt.Errorf("-inflight %d: want 1 to 1000000", o.inflight)
	}
	if o.deadline <= 0 {
		return fmt.Errorf("-deadline %v: want a positive duration", o.deadline)
	}
	for _, t := range o.targets {
		if t != targetCloudKafka && t != targetKfake {
			return fmt.Errorf("-targets: unknown target %q; want %s or %s", t, targetCloudKafka, targetKfake)
		}
	}
	if len(o.targets) == 0 {
		return fmt.Errorf("-targets: none given")
	}
	for _, a := range o.acks {
		if a != "1" && a != "all" {
			return fmt.Errorf("-acks: unknown setting %q; want 1 or all", a)
		}
	}
	return nil
}

const (
	targetCloudKafka = "cloudkafka"
	targetKfake      = "kfake"
)

func run(ctx context.Context, o options) error {
	fmt.Printf("ckbench: GOMAXPROCS=%d, %d records per 100 B cell, inflight %d, deadline %v per cell\n",
		runtime.GOMAXPROCS(0), o.records, o.inflight, o.deadline)
	var results []result
	for _, target := range o.targets {
		rs, err := runTarget(ctx, o, target)
		results = append(results, rs...)
		if err != nil {
			printTable(os.Stdout, results)
			return fmt.Errorf("target %s: %w", target, err)
		}
	}
	printTable(os.Stdout, results)
	return nil
}

// runTarget starts (or connects to) one target and runs the whole matrix.
func runTarget(ctx context.Context, o options, target string) ([]result, error) {
	seeds, cleanup, err := startTarget(ctx, o, target)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	name := target
	if target == targetCloudKafka && o.brokers != "" {
		name = "cloudkafka@" + o.brokers
	}
	var results []result
	for _, c := range matrix(o) {
		fmt.Fprintf(os.Stderr, "ckbench: %s %s ...\n", name, c)
		r, err := runCell(ctx, seeds, c, o)
		r.target = name
		if err != nil {
			return results, fmt.Errorf("cell %s: %w", c, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// matrix lists the cells in a fixed order.
func matrix(o options) []cell {
	var cells []cell
	for _, size := range o.sizes {
		n := o.records
		if size >= 1024 {
			n = o.records / 4
		}
		for _, acks := range o.acks {
			for _, p := range o.partitions {
				cells = append(cells, cell{size: size, acks: acks, partitions: p, records: n})
			}
		}
	}
	return cells
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(name, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("-%s: %q is not a number from %d to %d", name, f, lo, hi)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s: none given", name)
	}
	return out, nil
}

// Command cksim runs Cloud Kafka's deterministic simulator: one seed
// (-seed N) or many (-seeds K [-from N]), -parallel worlds at a time
// (each world is single-threaded and deterministic; running several at
// once changes nothing in any of them). Each run prints SEED=<n> and its
// trace hash first, then a summary; a failing seed prints its failures and
// the command that replays it. Output is in seed order. The last lines
// sum the batch: seeds, failures, operations checked, simulated seconds
// per wall second, and how often each fault kind fired. The exit status
// is 1 if any seed failed. A failing seed's report is also written to
// -viz DIR as seed-N.txt, next to the porcupine visualizations
// (seed-N-partition-P.html) of partitions that failed the
// linearizability check.
//
// With -compare REF, cksim also builds the cksim of git revision REF and
// runs it over the same seeds and flags, then lists the seeds whose trace
// differs from the reference and sums them: a change planted on purpose
// is either not exercised (same traces), exercised but not caught
// (differing traces that pass) or caught (differing traces that fail).
// See compare.go. A failed build or run of the reference exits 2.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"cloudkafka/core/cover"
	"cloudkafka/sim"
)

func main() {
	seed := flag.Uint64("seed", 0, "run this one seed")
	seeds := flag.Int("seeds", 0, "run this many seeds, from -from")
	from := flag.Uint64("from", 0, "first seed of -seeds (default: derived from the clock, printed)")
	duration := flag.Duration("duration", 30*time.Second, "simulated time with workload and faults (a drain phase follows)")
	producers := flag.Int("producers", 0, "producers (0: drawn from the seed)")
	consumers := flag.Int("consumers", 0, "consumers (0: drawn from the seed)")
	clients := flag.Int("clients", 0, "producers plus consumers, split half and half (0: drawn; overrides -producers and -consumers)")
	brokers := flag.Int("brokers", 1, "brokers in the simulated cluster: 1 keeps its metadata in the embedded coordinator, more share a simulated ZooKeeper ensemble")
	faults := flag.Bool("faults", true, "inject the seed's fault mix")
	sasl := flag.Bool("sasl", false, "clients authenticate with SASL PLAIN on a SASL_PLAINTEXT listener, and the brokers enforce ACLs that change during traffic")
	parallel := flag.Int("parallel", runtime.GOMAXPROCS(0), "worlds simulated at once")
	verbose := flag.Bool("v", false, "print the broker's and the world's log lines (use with -parallel 1)")
	viz := flag.String("viz", filepath.Join(os.TempDir(), "cksim"),
		"directory for failing seeds' reports (seed-N.txt) and linearizability visualizations (seed-N-partition-P.html); empty: none")
	directed := flag.String("directed", "", "steer each seed's draws toward a rare path: segment-gap, forgotten-producer, synced-flip or producer-bound")
	compareRef := flag.String("compare", "", "git revision (commit, branch, tag, HEAD) whose cksim runs the same seeds; lists the seeds whose trace differs")
	flag.Parse()
	if *brokers < 1 || *brokers > 9 {
		fmt.Fprintf(os.Stderr, "cksim: -brokers %d: the simulator runs 1 to 9 brokers\n", *brokers)
		os.Exit(2)
	}

	switch {
	case *clients == 1:
		fmt.Fprintln(os.Stderr, "cksim: -clients needs at least 2 (a producer and a consumer)")
		os.Exit(2)
	case *clients > 1:
		*producers = (*clients + 1) / 2
		*consumers = *clients - *producers
	}

	list, err := seedList(*seed, *seeds, *from)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cksim: %v\n", err)
		os.Exit(2)
	}
	var ref *reference
	if *compareRef != "" {
		if ref, err = buildReference(*compareRef); err != nil {
			fmt.Fprintf(os.Stderr, "cksim: -compare %s: %v\n", *compareRef, err)
			os.Exit(2)
		}
		defer ref.remove()
	}

	dir, err := sim.ParseDirective(*directed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cksim: -directed: %v\n", err)
		os.Exit(2)
	}
	cfgs := make([]sim.Config, len(list))
	for i, s := range list {
		cfgs[i] = sim.Config{Seed: s, Duration: *duration, Producers: *producers, Consumers: *consumers,
			Brokers: *brokers, Faults: *faults, VizDir: *viz, Directed: dir, SASL: *sasl}
		if *verbose {
			cfgs[i].Logf = func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }
		}
	}
	if os.Getenv("GOGC") == "" {
		// A world's heap is mostly file bytes and history; collecting
		// less often buys about a third more simulated time per second.
		debug.SetGCPercent(400)
	}
	sums := tally{faults: map[string]int{}, outcomes: map[uint64]outcome{}}
	start := time.Now()
	runOrdered(cfgs, *parallel, func(r sim.Result, cfg sim.Config) {
		report(r, cfg, *viz)
		sums.add(r)
	})
	sums.print(time.Since(start), *parallel)
	code := 0
	if sums.failed > 0 {
		code = 1
	}
	if ref != nil {
		if err := ref.compare(list, referenceFlags(cfgs[0], *parallel), sums.outcomes); err != nil {
			fmt.Fprintf(os.Stderr, "cksim: -compare %s: %v\n", *compareRef, err)
			code = 2
		}
		ref.remove() // os.Exit skips the deferred call
	}
	os.Exit(code)
}

// tally sums a batch's results for its last lines, and keeps each seed's
// outcome for -compare.
type tally struct {
	seeds, failed, ops, linearized int
	simSeconds                     float64
	linearizeWall                  time.Duration
	faults                         map[string]int // firings by fault kind
	outcomes                       map[uint64]outcome
	coverage                       cover.Counts // coverage points over the batch
}

func (t *tally) add(r sim.Result) {
	t.seeds++
	if r.Failed() {
		t.failed++
	}
	t.ops += r.Ops.Total()
	t.linearized += r.Linearized
	t.simSeconds += r.SimSeconds
	t.linearizeWall += r.LinearizeWall
	for _, f := range r.Faults {
		t.faults[f.Name] += f.Count
	}
	t.outcomes[r.Seed] = outcome{trace: r.TraceHash, failed: r.Failed()}
	t.coverage.Add(&r.Coverage)
}

// print writes the batch's last lines: the faults that fired, by kind in
// name order, then the totals.
func (t *tally) print(wall time.Duration, parallel int) {
	names := make([]string, 0, len(t.faults))
	for name := range t.faults {
		names = append(names, name)
	}
	sort.Strings(names)
	var fired []string
	for _, name := range names {
		fired = append(fired, fmt.Sprintf("%s=%d", name, t.faults[name]))
	}
	fmt.Printf("faults: %s\n", strings.Join(fired, " "))
	fmt.Printf("coverage: %s\n", sim.FormatCoverage(&t.coverage))
	fmt.Printf("seeds=%d failed=%d ops_checked=%d linearized_ops=%d linearize_seconds=%.1f sim_seconds=%.1f wall_seconds=%.1f sim_per_wall=%.1f parallel=%d\n",
		t.seeds, t.failed, t.ops, t.linearized, t.linearizeWall.Seconds(), t.simSeconds, wall.Seconds(), t.simSeconds/wall.Seconds(), parallel)
}

// seedList returns the seeds to run: the one -seed, or -seeds of them
// from -from (or from a clock-derived start, printed so it can be replayed).
func seedList(seed uint64, seeds int, from uint64) ([]uint64, error) {
	var list []uint64
	switch {
	case seeds > 0:
		start := from
		if !isFlagSet("from") {
			// A fresh range each time; printed so that it can be replayed.
			start = uint64(time.Now().UnixNano()) % 1_000_000_000
		}
		for i := 0; i < seeds; i++ {
			list = append(list, start+uint64(i))
		}
		fmt.Printf("cksim: seeds %d..%d (replay the range with -seeds %d -from %d)\n", start, start+uint64(seeds)-1, seeds, start)
	case isFlagSet("seed"):
		list = []uint64{seed}
	default:
		return nil, fmt.Errorf("give -seed N or -seeds K [-from N]")
	}
	return list, nil
}

// runOrdered runs the worlds, parallel at a time, and hands each result
// to emit in the order of cfgs, as soon as it and all before it are done.
func runOrdered(cfgs []sim.Config, parallel int, emit func(sim.Result, sim.Config)) {
	results := make([]chan sim.Result, len(cfgs))
	for i := range results {
		results[i] = make(chan sim.Result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := sim.Run(cfgs[i])
				r.History = nil // a batch must not hold every seed's history
				results[i] <- r
			}
		}()
	}
	go func() {
		for i := range cfgs {
			next <- i
		}
		close(next)
	}()
	for i := range cfgs {
		emit(<-results[i], cfgs[i])
	}
	wg.Wait()
}

func report(r sim.Result, cfg sim.Config, dir string) {
	fmt.Printf("SEED=%d trace=%016x\n", r.Seed, r.TraceHash)
	status := "ok"
	if r.Failed() {
		status = "FAIL"
	}
	faults := ""
	for _, f := range r.Faults {
		faults += fmt.Sprintf(" %s=%d", f.Name, f.Count)
	}
	fmt.Printf("  %s sim=%.1fs produces=%d (ok %d, indefinite %d, failed %d) fetches=%d records_read=%d list_offsets=%d admin=%d timeouts=%d linearized=%d in %v faults:%s | %s\n",
		status, r.SimSeconds, r.Ops.Produces, r.Ops.ProducesOK, r.Ops.ProducesIndefinite, r.Ops.ProducesFailed,
		r.Ops.Fetches, r.Ops.RecordsRead, r.Ops.ListOffsets, r.Ops.Admin, r.Timeouts,
		r.Linearized, r.LinearizeWall.Round(time.Millisecond), faults, r.Mix)
	if !r.Failed() {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SEED=%d trace=%016x (%d records)\n%s\n", r.Seed, r.TraceHash, r.TraceRecords, r.Mix)
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "FAILURE %s\n", f)
	}
	directed := ""
	if cfg.Directed != sim.DirectNone {
		directed = " -directed " + cfg.Directed.String()
	}
	if cfg.SASL {
		directed += " -sasl"
	}
	fmt.Fprintf(&b, "replay: go run ./cmd/cksim -seed %d -duration %s -producers %d -consumers %d -brokers %d -faults=%v%s\n",
		r.Seed, cfg.Duration, cfg.Producers, cfg.Consumers, max(1, cfg.Brokers), cfg.Faults, directed)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")[2:] {
		fmt.Printf("  %s\n", line)
	}
	if dir == "" {
		return
	}
	// The sim keeps a hash of the trace, not the trace: the report (and
	// the replay command, which regenerates everything) is what is kept.
	path := filepath.Join(dir, fmt.Sprintf("seed-%d.txt", r.Seed))
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(b.String()), 0o644)
	}
	if err != nil {
		fmt.Printf("  report not written: %v\n", err)
		return
	}
	fmt.Printf("  report: %s\n", path)
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

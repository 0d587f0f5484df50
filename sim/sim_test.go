package sim

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The CI batch: `make test` runs the defaults; a quicker local run can pass
// for example -sim.seeds=20 -sim.duration=30s.
var (
	simSeeds       = flag.Int("sim.seeds", 200, "seeds TestSeeds runs, with faults")
	simFrom        = flag.Uint64("sim.from", 1, "first seed of TestSeeds")
	simDuration    = flag.Duration("sim.duration", 2*time.Minute, "simulated fault phase per seed in TestSeeds")
	simParallel    = flag.Int("sim.parallel", runtime.GOMAXPROCS(0), "worlds simulated at once (each is one goroutine)")
	simRepeatEvery = flag.Int("sim.repeat-every", 10, "TestSeeds reruns every n-th seed and compares trace hashes")
	simDirected    = flag.Int("sim.directed", 4, "seeds TestSeeds adds per directive (see sim.Directive)")
	simClusters    = flag.Int("sim.clusters", 40, "seeds TestSeeds adds as clusters of 3 to 5 brokers")
	simSecured     = flag.Int("sim.secured", 8, "seeds TestSeeds adds with SASL clients and the ACL change, one broker or three")
)

// faultKinds are the fault counters a batch of seeds must all see fire.
// segment-gap is not among them: it cannot fire while the broker syncs
// every append (see the package doc).
var faultKinds = []string{
	"crash", "crash-at-io", "io-error", "disk-full", "slow-disk", "bit-flip",
	"header-flip", "header-tear", "stale-batch", "segment-gap",
	"conn-reset", "partition", "latency-spike", "clock-jump-forward", "clock-jump-back", "pause",
	"zk-session-expiry", "peer-churn", "zk-partition", "broker-partition", "peer-stop", "synced-flip",
	"clean-restart",
}

// replay is the command that reruns a seed, for failure messages.
func replay(cfg Config) string {
	directed := ""
	if cfg.Directed != DirectNone {
		directed = " -directed " + cfg.Directed.String()
	}
	if cfg.SASL {
		directed += " -sasl"
	}
	return fmt.Sprintf("go run ./cmd/cksim -seed %d -duration %s -producers %d -consumers %d -brokers %d -faults=%v%s",
		cfg.Seed, cfg.Duration, cfg.Producers, cfg.Consumers, max(1, cfg.Brokers), cfg.Faults, directed)
}

// runAll simulates the configurations, parallel worlds at a time, and
// returns their results in order. Histories are dropped: a batch would
// otherwise hold every operation of every seed.
func runAll(cfgs []Config, parallel int) []Result {
	// A world's heap is mostly file bytes and history; collecting less
	// often buys about a third more simulated time per second.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	out := make([]Result, len(cfgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := Run(cfgs[i])
				r.History = nil
				out[i] = r
			}
		}()
	}
	for i := range cfgs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// TestDeterminism runs seeds twice: equal seeds give equal traces, and
// different seeds different ones.
func TestDeterminism(t *testing.T) {
	var cfgs []Config
	for seed := uint64(100); seed < 106; seed++ {
		cfg := Config{Seed: seed, Duration: 3 * time.Second, Faults: true}
		cfgs = append(cfgs, cfg, cfg)
	}
	sasl := Config{Seed: 106, Duration: 3 * time.Second, Faults: true, SASL: true}
	cfgs = append(cfgs, sasl, sasl)
	rs := runAll(cfgs, *simParallel)
	seen := map[uint64]uint64{}
	records := 0
	for i := 0; i < len(rs); i += 2 {
		a, b, cfg := rs[i], rs[i+1], cfgs[i]
		if a.TraceHash != b.TraceHash || a.TraceRecords != b.TraceRecords {
			t.Errorf("seed %d: trace %016x (%d records) then %016x (%d records); want equal\nreplay: %s",
				cfg.Seed, a.TraceHash, a.TraceRecords, b.TraceHash, b.TraceRecords, replay(cfg))
		}
		records += a.TraceRecords
		if other, dup := seen[a.TraceHash]; dup {
			t.Errorf("seeds %d and %d have the same trace %016x", other, cfg.Seed, a.TraceHash)
		}
		seen[a.TraceHash] = cfg.Seed
	}
	// A seed may draw a light workload; the batch as a whole may not.
	if records < 1000*len(rs)/2 {
		t.Errorf("%d trace records over %d seeds; the runs did almost nothing", records, len(rs)/2)
	}
}

// TestSeeds is the CI batch: -sim.seeds seeds from -sim.from, each with
// its fault mix for -sim.duration, every check passing; every fault kind
// fires somewhere in the batch; and every -sim.repeat-every-th seed runs
// again with an equal trace hash (the determinism check at full length).
func TestSeeds(t *testing.T) {
	var cfgs []Config
	for i := 0; i < *simSeeds; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true})
	}
	// Directed seeds reach paths random draws reach too rarely to count on
	// in one batch (a break between segments at recovery).
	for i := 0; i < *simDirected; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Directed: DirectSegmentGap})
	}
	// Media damage at run time needs a broker nothing restarts, which few
	// random mixes draw: these seeds meet it (scrub-found-damage).
	for i := 0; i < *simDirected; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Directed: DirectSyncedFlip})
	}
	// A producer the broker no longer remembers (unknown-producer-id)
	// needs max.producers.per.partition below the producers writing.
	for i := 0; i < *simDirected; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Directed: DirectProducerBound})
	}
	// A follower that starts over with its leader's producer windows
	// needs to fall behind its leader's log start while a slow producer's
	// batches lie below it: about every other seed gets there, so this
	// directive gets twice the seeds.
	for i := 0; i < 2**simDirected; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Brokers: 3, Directed: DirectForgottenProducer})
	}
	// Secured seeds: authenticated clients, and an ACL removed during
	// traffic (acl.go).
	for i := 0; i < *simSecured; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Brokers: 1 + 2*(i%2), SASL: true})
	}
	// Cluster seeds: brokers share a simulated ensemble.
	for i := 0; i < *simClusters; i++ {
		cfgs = append(cfgs, Config{Seed: *simFrom + uint64(i), Duration: *simDuration, Faults: true, Brokers: 3 + i%3})
	}
	start := time.Now()
	rs := runAll(cfgs, *simParallel)
	wall := time.Since(start)
	faults := map[string]int{}
	var coverage cover.Counts
	ops, simSeconds, failed := 0, 0.0, 0
	linOps, linWall := 0, make([]time.Duration, 0, len(rs))
	spread, clusters := 0, 0
	offsetsCreated, offsetsRF3 := 0, 0
	for i, r := range rs {
		if cfgs[i].Brokers > 1 {
			clusters++
			if r.ProducedVia > 1 {
				spread++
			}
			if r.OffsetsRF > 0 {
				offsetsCreated++
			}
			if r.OffsetsRF == 3 {
				offsetsRF3++
			}
		}
		linOps += r.Linearized
		linWall = append(linWall, r.LinearizeWall)
		for _, f := range r.Faults {
			faults[f.Name] += f.Count
		}
		coverage.Add(&r.Coverage)
		ops += r.Ops.Total()
		simSeconds += r.SimSeconds
		if r.Failed() {
			failed++
			t.Errorf("SEED=%d failed (%s):\n  %s\nreplay: %s", r.Seed, r.Mix, strings.Join(r.Failures, "\n  "), replay(cfgs[i]))
		}
		if r.Ops.ProducesOK == 0 || r.Ops.RecordsRead == 0 {
			t.Errorf("SEED=%d made no progress: %+v", r.Seed, r.Ops)
		}
	}
	// Clients route by metadata: most cluster seeds have partitions on
	// several brokers, and their produces acknowledged by each.
	if clusters >= 10 && spread < clusters/2 {
		t.Errorf("only %d of %d cluster seeds had produces acknowledged by more than one broker", spread, clusters)
	}
	// Group coordinators move with their offsets: most cluster seeds
	// (three brokers or more) replicate __consumer_offsets three times.
	if clusters >= 10 && offsetsRF3 < offsetsCreated/2+1 {
		t.Errorf("only %d of the %d cluster seeds that created %s gave it 3 replicas", offsetsRF3, offsetsCreated, core.OffsetsTopic)
	}
	if len(rs) >= 100 {
		for _, name := range faultKinds {
			if faults[name] == 0 {
				t.Errorf("no %s fault fired in %d seeds", name, len(rs))
			}
		}
		// Coverage that fails when silent: every point must fire.
		for _, p := range cover.Points() {
			if coverage.Of(p) == 0 {
				t.Errorf("coverage point %s fired in none of %d seeds", p, len(rs))
			}
		}
	}
	t.Logf("coverage: %s", FormatCoverage(&coverage))
	t.Logf("%d seeds (%d failed), %d operations checked, %.0f simulated seconds in %.1fs wall (%.0fx on %d workers); faults %v",
		len(rs), failed, ops, simSeconds, wall.Seconds(), simSeconds/wall.Seconds(), *simParallel, faults)
	if len(linWall) > 0 {
		slices.Sort(linWall)
		var sum time.Duration
		for _, d := range linWall {
			sum += d
		}
		q := func(f float64) time.Duration { return linWall[int(f*float64(len(linWall)-1))].Round(time.Millisecond) }
		t.Logf("linearizability: %d operations checked in %.1fs of checks; per seed mean %v, median %v, p90 %v, max %v",
			linOps, sum.Seconds(), (sum / time.Duration(len(linWall))).Round(time.Millisecond), q(0.5), q(0.9), q(1))
	}

	var again []Config
	var first []Result
	for i := 0; *simRepeatEvery > 0 && i < len(cfgs); i += *simRepeatEvery {
		again, first = append(again, cfgs[i]), append(first, rs[i])
	}
	for i, r := range runAll(again, *simParallel) {
		if r.TraceHash != first[i].TraceHash || r.TraceRecords != first[i].TraceRecords {
			t.Errorf("seed %d: trace %016x (%d records) then %016x (%d records); want equal\nreplay: %s",
				r.Seed, first[i].TraceHash, first[i].TraceRecords, r.TraceHash, r.TraceRecords, replay(again[i]))
		}
	}
}

// TestRegressions replays every seed in testdata/regressions.txt: seeds
// that once failed, each line
// "<seed> [<duration> [brokers=<n>] [directed=<directive>]] # why".
func TestRegressions(t *testing.T) {
	f, err := os.Open("testdata/regressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cfgs []Config
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		seed, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			t.Fatalf("regressions.txt:%d: seed %q: %v", line, fields[0], err)
		}
		cfg := Config{Seed: seed, Duration: 2 * time.Minute, Faults: true}
		if len(fields) > 1 {
			if cfg.Duration, err = time.ParseDuration(fields[1]); err != nil {
				t.Fatalf("regressions.txt:%d: duration %q: %v", line, fields[1], err)
			}
		}
		for _, field := range fields[min(len(fields), 2):] {
			key, value, _ := strings.Cut(field, "=")
			switch key {
			case "brokers":
				cfg.Brokers, err = strconv.Atoi(value)
			case "directed":
				cfg.Directed, err = ParseDirective(value)
			case "sasl":
				cfg.SASL, err = strconv.ParseBool(value)
			default:
				err = fmt.Errorf("want brokers=<n>, directed=<directive> or sasl=<bool>")
			}
			if err != nil {
				t.Fatalf("regressions.txt:%d: %q: %v", line, field, err)
			}
		}
		cfgs = append(cfgs, cfg)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for i, r := range runAll(cfgs, *simParallel) {
		if r.Failed() {
			t.Errorf("regression SEED=%d failed (%s):\n  %s\nreplay: %s", r.Seed, r.Mix, strings.Join(r.Failures, "\n  "), replay(cfgs[i]))
		}
	}
}

// TestCanaries plants bugs the checks must catch within a stated number
// of seeds. A checker that cannot fail proves nothing.
func TestCanaries(t *testing.T) {
	cases := []struct {
		canary   canary
		name     string
		seedsMax uint64
		want     []string // failure kinds, any of which counts
	}{
		{canaryLyingSync, "lying-sync", 5, []string{"lost-write", "inconsistent-offset", "hwm-regress", "stale-read", "fetch-error", "wrong-value"}},
		{canaryMisrecordRead, "misrecord-read", 3, []string{"gap", "inconsistent-offset", "wrong-value", "lost-write"}},
		{canaryStallConsumer, "stall-consumer", 3, []string{"slow-delivery"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= tc.seedsMax; seed++ {
				r := Run(Config{Seed: seed, Duration: 10 * time.Second, canary: tc.canary})
				for _, f := range r.Failures {
					for _, kind := range tc.want {
						if strings.HasPrefix(f, kind+":") {
							t.Logf("caught at seed %d: %s", seed, f)
							return
						}
					}
				}
			}
			t.Fatalf("canary %s not caught within %d seeds", tc.name, tc.seedsMax)
		})
	}
}

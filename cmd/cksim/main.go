// Command cksim runs Cloud Kafka's deterministic simulator: one seed
// (-seed N) or many (-seeds K [-from N]). Each run prints SEED=<n> and its
// trace hash first, then a summary; a failing seed prints its failures and
// the command that replays it. The exit status is 1 if any seed failed.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"cloudkafka/sim"
)

func main() {
	seed := flag.Uint64("seed", 0, "run this one seed")
	seeds := flag.Int("seeds", 0, "run this many seeds, from -from")
	from := flag.Uint64("from", 0, "first seed of -seeds (default: derived from the clock, printed)")
	duration := flag.Duration("duration", 30*time.Second, "simulated time with workload and faults (a drain phase follows)")
	producers := flag.Int("producers", 0, "producers (0: drawn from the seed)")
	consumers := flag.Int("consumers", 0, "consumers (0: drawn from the seed)")
	faults := flag.Bool("faults", true, "inject the seed's fault mix")
	verbose := flag.Bool("v", false, "print the broker's and the world's log lines")
	flag.Parse()

	var list []uint64
	switch {
	case *seeds > 0:
		start := *from
		if !isFlagSet("from") {
			// A fresh range each time; printed so that it can be replayed.
			start = uint64(time.Now().UnixNano()) % 1_000_000_000
		}
		for i := 0; i < *seeds; i++ {
			list = append(list, start+uint64(i))
		}
		fmt.Printf("cksim: seeds %d..%d (replay the range with -seeds %d -from %d)\n", start, start+uint64(*seeds)-1, *seeds, start)
	case isFlagSet("seed"):
		list = []uint64{*seed}
	default:
		fmt.Fprintln(os.Stderr, "cksim: give -seed N or -seeds K [-from N]")
		os.Exit(2)
	}

	var simSeconds float64
	var ops, failed int
	start := time.Now()
	for _, s := range list {
		cfg := sim.Config{Seed: s, Duration: *duration, Producers: *producers, Consumers: *consumers, Faults: *faults}
		if *verbose {
			cfg.Logf = func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }
		}
		r := sim.Run(cfg)
		simSeconds += r.SimSeconds
		ops += r.Ops.Total()
		report(r, cfg)
		if r.Failed() {
			failed++
		}
	}
	wall := time.Since(start).Seconds()
	fmt.Printf("seeds=%d failed=%d ops_checked=%d sim_seconds=%.1f wall_seconds=%.1f sim_per_wall=%.1f\n",
		len(list), failed, ops, simSeconds, wall, simSeconds/wall)
	if failed > 0 {
		os.Exit(1)
	}
}

func report(r sim.Result, cfg sim.Config) {
	fmt.Printf("SEED=%d trace=%016x\n", r.Seed, r.TraceHash)
	status := "ok"
	if r.Failed() {
		status = "FAIL"
	}
	faults := ""
	for _, f := range r.Faults {
		faults += fmt.Sprintf(" %s=%d", f.Name, f.Count)
	}
	fmt.Printf("  %s sim=%.1fs produces=%d (ok %d, indefinite %d, failed %d) fetches=%d records_read=%d faults:%s | %s\n",
		status, r.SimSeconds, r.Ops.Produces, r.Ops.ProducesOK, r.Ops.ProducesIndefinite, r.Ops.ProducesFailed,
		r.Ops.Fetches, r.Ops.RecordsRead, faults, r.Mix)
	if !r.Failed() {
		return
	}
	for _, f := range r.Failures {
		fmt.Printf("  FAILURE %s\n", f)
	}
	fmt.Printf("  replay: go run ./cmd/cksim -seed %d -duration %s -producers %d -consumers %d -faults=%v\n",
		r.Seed, cfg.Duration, cfg.Producers, cfg.Consumers, cfg.Faults)
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

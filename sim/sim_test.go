package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// replay is the command that reruns a seed, for failure messages.
func replay(cfg Config) string {
	return fmt.Sprintf("go run ./cmd/cksim -seed %d -duration %s -producers %d -consumers %d -faults=%v",
		cfg.Seed, cfg.Duration, cfg.Producers, cfg.Consumers, cfg.Faults)
}

// TestDeterminism runs seeds twice: equal seeds give equal traces, and
// different seeds different ones.
func TestDeterminism(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(100); seed < 105; seed++ {
		cfg := Config{Seed: seed, Duration: 3 * time.Second, Faults: true}
		a, b := Run(cfg), Run(cfg)
		if a.TraceHash != b.TraceHash || a.TraceRecords != b.TraceRecords {
			t.Errorf("seed %d: trace %016x (%d records) then %016x (%d records); want equal\nreplay: %s",
				seed, a.TraceHash, a.TraceRecords, b.TraceHash, b.TraceRecords, replay(cfg))
		}
		if a.TraceRecords < 1000 {
			t.Errorf("seed %d: only %d trace records; the run did almost nothing", seed, a.TraceRecords)
		}
		if other, dup := seen[a.TraceHash]; dup {
			t.Errorf("seeds %d and %d have the same trace %016x", other, seed, a.TraceHash)
		}
		seen[a.TraceHash] = seed
	}
}

// TestSeeds runs a batch of seeds with their fault mixes and requires
// every check to pass and the batch to have exercised crashes.
func TestSeeds(t *testing.T) {
	n, dur := 20, 30*time.Second
	if testing.Short() {
		n, dur = 5, 3*time.Second
	}
	faults := map[string]int{}
	ops := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		cfg := Config{Seed: seed, Duration: dur, Faults: true}
		r := Run(cfg)
		for _, f := range r.Faults {
			faults[f.Name] += f.Count
		}
		ops += r.Ops.Total()
		if r.Failed() {
			t.Errorf("SEED=%d failed (%s):\n  %s\nreplay: %s", seed, r.Mix, strings.Join(r.Failures, "\n  "), replay(cfg))
		}
		if r.Ops.ProducesOK == 0 || r.Ops.RecordsRead == 0 {
			t.Errorf("SEED=%d made no progress: %+v", seed, r.Ops)
		}
	}
	for _, name := range []string{"crash", "crash-at-io", "io-error", "conn-reset", "latency-spike"} {
		if faults[name] == 0 {
			t.Errorf("no %s fault fired in %d seeds", name, n)
		}
	}
	t.Logf("%d seeds, %d operations checked, faults %v", n, ops, faults)
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

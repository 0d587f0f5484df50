package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudkafka/sim"
)

// TestReportWritesFailure checks that a failing seed's report lands in
// the -viz directory as seed-N.txt, with its failures and replay command.
func TestReportWritesFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viz")
	cfg := sim.Config{Seed: 7, Duration: time.Second, Faults: true}
	r := sim.Result{Seed: 7, Mix: "mix", Failures: []string{"linearizability: partition 0: Illegal (visualization: " + dir + "/seed-7-partition-0.html)"}}
	report(r, cfg, dir)
	b, err := os.ReadFile(filepath.Join(dir, "seed-7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SEED=7", "FAILURE linearizability: partition 0", "seed-7-partition-0.html", "replay: go run ./cmd/cksim -seed 7 -duration 1s"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
}

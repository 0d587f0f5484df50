package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLinearizableRuns checks recorded histories of faulty runs (crashes,
// partitions, acks=0 and plain producers' retries make many indefinite
// produces) against the partition-log model: they pass, decisively.
// Seeds that compact their topic are passed over: the model leaves
// compacted partitions out (see compaction.go).
func TestLinearizableRuns(t *testing.T) {
	for seed, checked := uint64(1), 0; checked < 6; seed++ {
		r := Run(Config{Seed: seed, Duration: 30 * time.Second, Faults: true})
		if r.History.Compacted {
			continue
		}
		checked++
		failures, ops := CheckLinearizable(r.History, seed, "")
		if len(failures) > 0 || ops == 0 {
			t.Fatalf("seed %d: %d ops checked, failures %v; want a linearizable history", seed, ops, failures)
		}
		if r.Linearized != ops {
			t.Fatalf("seed %d: Run checked %d ops, CheckLinearizable %d", seed, r.Linearized, ops)
		}
		t.Logf("seed %d: %d ops checked in %v (%d produces, %d indefinite)", seed, ops, r.LinearizeWall, r.Ops.Produces, r.Ops.ProducesIndefinite)
	}
}

// TestLinearizableCatchesChangedValue changes one read record's value in a
// faulty run's history: the check fails on that partition and writes a
// visualization that shows the changed value, named in the failure.
func TestLinearizableCatchesChangedValue(t *testing.T) {
	const seed = 4
	r := Run(Config{Seed: seed, Duration: 10 * time.Second, Faults: true})
	if r.Failed() {
		t.Fatalf("seed %d failed before the change: %v", seed, r.Failures)
	}
	mutated := false
	for _, op := range r.History.Ops {
		for i := range op.Fetches {
			if recs := op.Fetches[i].Records; len(recs) > 0 && !mutated {
				recs[0].Value += "-changed"
				mutated = true
			}
		}
	}
	if !mutated {
		t.Fatalf("seed %d read no records to change", seed)
	}
	dir := t.TempDir()
	failures, _ := CheckLinearizable(r.History, seed, dir)
	if len(failures) != 1 || !strings.Contains(failures[0], "Illegal") {
		t.Fatalf("got failures %v; want one Illegal partition", failures)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.html"))
	if len(paths) != 1 || !strings.Contains(failures[0], paths[0]) {
		t.Fatalf("got visualizations %v for failures %v; want one, named in the failure", paths, failures)
	}
	if b, err := os.ReadFile(paths[0]); err != nil || !strings.Contains(string(b), "-changed") {
		t.Fatalf("visualization does not show the changed value (err %v)", err)
	}
}

// TestLinearizableUnknownFails gives porcupine no time on a big history:
// the undecided check must be reported as a failure, not a pass.
func TestLinearizableUnknownFails(t *testing.T) {
	r := Run(Config{Seed: 5, Duration: 30 * time.Second, Faults: true})
	defer func(d time.Duration) { linearizeTimeout = d }(linearizeTimeout)
	linearizeTimeout = time.Nanosecond
	failures, ops := CheckLinearizable(r.History, 5, "")
	if len(failures) == 0 || ops < 1000 {
		t.Fatalf("%d ops checked in a nanosecond with failures %v; want a failure", ops, failures)
	}
	for _, f := range failures {
		if !strings.Contains(f, "Unknown") || !strings.Contains(f, "inconclusive") {
			t.Fatalf("failure %q; want an inconclusive (Unknown) verdict", f)
		}
	}
}

package main

import (
	"context"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloudkafka/sim"
)

// TestParseSeeds reads SEED= lines and the status line under each, and
// refuses output it cannot read rather than guess.
func TestParseSeeds(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want map[uint64]outcome
		err  string // substring of the error; "" for none
	}{
		{name: "empty", out: "", want: map[uint64]outcome{}},
		{name: "ok and FAIL", out: `cksim: seeds 41..42 (replay the range with -seeds 2 -from 41)
SEED=41 trace=00000000000000ff
  ok sim=10.6s produces=221 | mix
SEED=42 trace=c9d0be670e51bd0a
  FAIL sim=31.0s produces=9 | mix
  FAILURE lost record: SEED=7 trace=0000000000000001
  replay: go run ./cmd/cksim -seed 42 -duration 30s -producers 0 -consumers 0 -faults=true
faults: crash=1
seeds=2 failed=1
`, want: map[uint64]outcome{41: {trace: 0xff}, 42: {trace: 0xc9d0be670e51bd0a, failed: true}}},
		{name: "no status line", out: "SEED=1 trace=0000000000000001\n", err: "no ok or FAIL"},
		{name: "status line of another kind", out: "SEED=1 trace=0000000000000001\nfaults: crash=1\n", err: "no ok or FAIL"},
		{name: "no trace", out: "SEED=1\n  ok\n", err: "want SEED=<n> trace=<hex>"},
		{name: "bad seed", out: "SEED=x trace=01\n  ok\n", err: "want SEED=<n> trace=<hex>"},
		{name: "bad trace", out: "SEED=1 trace=zz\n  ok\n", err: "trace"},
		{name: "seed twice", out: "SEED=1 trace=01\n  ok\nSEED=1 trace=01\n  ok\n", err: "seed 1 twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSeeds(tt.out)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v; want one containing %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatalf("error %v; want none", err)
			case tt.err == "" && !maps.Equal(got, tt.want):
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestClassify sorts seeds into same trace, differs and fails here
// (caught), differs and passes here (exercised but not caught), and
// counts status changes apart from trace changes.
func TestClassify(t *testing.T) {
	okA, okB := outcome{trace: 0xa}, outcome{trace: 0xb}
	failA, failB := outcome{trace: 0xa, failed: true}, outcome{trace: 0xb, failed: true}
	tests := []struct {
		name         string
		ours, theirs map[uint64]outcome
		want         comparison
		err          string // substring of the error; "" for none
	}{
		{name: "same traces", ours: map[uint64]outcome{1: okA, 2: failA}, theirs: map[uint64]outcome{1: okA, 2: failA},
			want: comparison{}},
		{name: "caught", ours: map[uint64]outcome{1: failB, 2: okA}, theirs: map[uint64]outcome{1: okA, 2: okA},
			want: comparison{differ: []uint64{1}, differFail: 1, failHere: 1}},
		{name: "exercised but not caught", ours: map[uint64]outcome{1: okA, 2: okB}, theirs: map[uint64]outcome{1: okA, 2: okA},
			want: comparison{differ: []uint64{2}, differPass: 1}},
		{name: "fails in both, traces differ", ours: map[uint64]outcome{1: failB, 2: okA}, theirs: map[uint64]outcome{1: failA, 2: okA},
			want: comparison{differ: []uint64{1}, differFail: 1}},
		{name: "checker change: same trace, fails here only", ours: map[uint64]outcome{1: failA, 2: okA}, theirs: map[uint64]outcome{1: okA, 2: okA},
			want: comparison{failHere: 1}},
		{name: "fixed here", ours: map[uint64]outcome{1: okB, 2: okA}, theirs: map[uint64]outcome{1: failA, 2: okA},
			want: comparison{differ: []uint64{1}, differPass: 1, failRefOnly: 1}},
		{name: "seed order kept", ours: map[uint64]outcome{1: okB, 2: failB}, theirs: map[uint64]outcome{1: okA, 2: okA},
			want: comparison{differ: []uint64{1, 2}, differFail: 1, differPass: 1, failHere: 1}},
		{name: "seed missing in reference", ours: map[uint64]outcome{1: okA, 2: okA}, theirs: map[uint64]outcome{1: okA},
			err: "seed 2: not in the reference"},
		{name: "seed missing here", ours: map[uint64]outcome{2: okA}, theirs: map[uint64]outcome{1: okA, 2: okA},
			err: "seed 1: no outcome of our own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := classify([]uint64{1, 2}, tt.ours, tt.theirs)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v; want one containing %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatalf("error %v; want none", err)
			case tt.err == "" && !reflect.DeepEqual(got, tt.want):
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestCompareHEADSameTraces runs cksim -compare HEAD end to end: the
// reference is built from HEAD in a temporary worktree and must give seed
// 1 the same trace as this build. It assumes that the simulated code in
// the working tree is HEAD's; uncommitted changes to it show up here as
// differing traces, which is what -compare is for.
func TestCompareHEADSameTraces(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "cksim")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-seed", "1", "-duration", "2s", "-viz", "", "-compare", "HEAD")
	cmd.Dir = strings.TrimSpace(string(top))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	want := "compare: 0 of 1 seeds differ from HEAD ("
	if !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q (with uncommitted changes to simulated code, see git status):\n%s", want, out)
	}
	if strings.Contains(string(out), "DIFF ") {
		t.Errorf("output has a DIFF line; want none:\n%s", out)
	}
}

// TestReferenceFlags: the reference run gets every flag that shapes a
// world: a cluster's brokers, a directive and SASL included, so that it
// simulates the same worlds.
func TestReferenceFlags(t *testing.T) {
	got := strings.Join(referenceFlags(sim.Config{Duration: 30 * time.Second, Brokers: 3, Directed: sim.DirectForgottenProducer, SASL: true, Faults: true}, 2), " ")
	for _, want := range []string{"-duration 30s", "-brokers 3", "-directed forgotten-producer", "-sasl", "-faults=true", "-parallel 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("reference flags %q lack %q", got, want)
		}
	}
	if got := strings.Join(referenceFlags(sim.Config{Duration: time.Second}, 1), " "); strings.Contains(got, "-directed") || strings.Contains(got, "-sasl") || !strings.Contains(got, "-brokers 1") {
		t.Errorf("reference flags of a plain one-broker world: %q", got)
	}
}

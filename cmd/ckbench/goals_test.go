package main

import (
	"strings"
	"testing"
	"time"
)

// goalNamed is the goal whose name starts with prefix.
func goalNamed(t *testing.T, gs []goal, prefix string) goal {
	t.Helper()
	for _, g := range gs {
		if strings.HasPrefix(g.name, prefix) {
			return g
		}
	}
	t.Fatalf("no goal named %q... among %d", prefix, len(gs))
	return goal{}
}

func TestGoals(t *testing.T) {
	c := cell{size: 1024, acks: "all", partitions: 6, records: 1000}
	m := cell{size: 1024, acks: "all", partitions: 1000, clients: 100, records: 1000}
	ck := runOf(c, 1000, 1000) // 1000 records/s each way
	ck.brokerCPU = 1536 * time.Microsecond
	ckMany := runOf(m, 2000, 1000) // produce 0.5 of the 6-partition row, consume 1.0
	ckMany.rssPeakBytes = 600 << 20
	rep := &benchReport{
		cells: []cellRuns{
			{cell: c, kinds: []string{targetCloudKafka, targetDurable, targetKfake, targetSink}, labels: []string{"c", "d", "k", "s"},
				results: [][]result{{ck}, {runOf(c, 4000, 1000)}, {runOf(c, 2000, 2000)}, {runOf(c, 1000, 500)}}},
			{cell: m, kinds: []string{targetCloudKafka}, labels: []string{"c"}, results: [][]result{{ckMany}}},
		},
		replication: []replicationRound{roundOf(1500)},
		floor:       kernelFloor{write: []float64{0.3}, receive: []float64{0.1}, sendfile: []float64{0.2}},
	}
	gs := goals(rep, options{rssCapMiB: 512})
	for _, tc := range []struct{ prefix, measured, verdict string }{
		{"broker CPU-s/GB, 1024 B", "0.75 (kernel floor 0.30)", verdictMiss}, // 1.536 ms for 2 MB moved
		{"produce vs kfake", "2.00", verdictPass},
		{"consume vs sink", "0.50", verdictMiss},
		{"durable produce vs default", "0.25", verdictMiss},
		{"durable produce p99 at half load", notMeasuredThisRun, verdictNotMeasured},
		{"produce vs 6 partitions", "0.50", verdictMiss},
		{"consume vs 6 partitions", "1.00", verdictPass},
		{"broker peak RSS MiB", "600", verdictMiss},
		{"RF=3", "0.67", verdictPass},
		{"restart", notMeasuredThisRun, verdictNotMeasured},
	} {
		g := goalNamed(t, gs, tc.prefix)
		if g.measured != tc.measured || g.verdict != tc.verdict {
			t.Errorf("goal %q: measured %q, %s; want %q, %s", g.name, g.measured, g.verdict, tc.measured, tc.verdict)
		}
	}
}

// TestGoalsOfNothing: a run that measured nothing lists every aim as
// not measured.
func TestGoalsOfNothing(t *testing.T) {
	gs := goals(&benchReport{}, options{rssCapMiB: 512})
	if len(gs) < 7 {
		t.Errorf("goals of an empty report: %d; want each aim listed", len(gs))
	}
	for _, g := range gs {
		if g.verdict != verdictNotMeasured {
			t.Errorf("goal %q of an empty report: %s; want %s", g.name, g.verdict, verdictNotMeasured)
		}
	}
}

// TestRestartGoals: the restart after SIGTERM against its aim in
// seconds, and each restart after SIGKILL against what was written since
// the recovery points.
func TestRestartGoals(t *testing.T) {
	r := restartReport{size: 10e9, partitions: 500, rounds: []restartRound{
		{name: "after SIGTERM, no data yet (baseline)", elapsed: 200 * time.Millisecond},
		{name: restartAfterTerm, elapsed: 6 * time.Second},
		{name: "after SIGKILL", elapsed: time.Second, killed: true, stats: loadStats{checked: 1 << 20}},
		{name: "after SIGKILL, 0.50 GB just written", elapsed: 2 * time.Second, killed: true, writtenSince: 500e6, stats: loadStats{checked: 700e6}},
	}}
	gs := restartGoals(r)
	if len(gs) != 3 {
		t.Fatalf("goals: %v; want the SIGTERM restart and two SIGKILL ones", gs)
	}
	for i, want := range []struct{ measured, verdict string }{{"6.00", verdictMiss}, {"0.00 GB", verdictPass}, {"0.70 GB", verdictMiss}} {
		if gs[i].measured != want.measured || gs[i].verdict != want.verdict {
			t.Errorf("goal %q: %q, %s; want %q, %s", gs[i].name, gs[i].measured, gs[i].verdict, want.measured, want.verdict)
		}
	}
	if !strings.Contains(gs[0].name, "10.00 GB in 500 partitions") {
		t.Errorf("goal %q does not name the data size", gs[0].name)
	}
	r.rounds[1].elapsed = 4 * time.Second
	if g := restartGoals(r)[0]; g.verdict != verdictPass {
		t.Errorf("a restart after SIGTERM in 4 s: %s; want %s", g.verdict, verdictPass)
	}
}

// TestGoalValueNearTheAim: a value that two places would round onto the
// aim is shown to three, so that 0.6985 reads as a MISS against 0.70.
func TestGoalValueNearTheAim(t *testing.T) {
	for _, tc := range []struct {
		g    goal
		want string
	}{
		{atLeast("a", 0.6985, 0.7), "0.699 " + verdictMiss},
		{atLeast("a", 0.7, 0.7), "0.70 " + verdictPass},
		{atLeast("a", 0.7021, 0.7), "0.702 " + verdictPass},
		{atLeast("a", 0.66, 0.7), "0.66 " + verdictMiss},
		{atMost("a", 0.5041, 0.5), "0.504 " + verdictMiss},
		{atMost("a", 0.42, 0.5), "0.42 " + verdictPass},
	} {
		if got := tc.g.measured + " " + tc.g.verdict; got != tc.want {
			t.Errorf("got %q; want %q", got, tc.want)
		}
	}
}

package main

import (
	"fmt"
	"io"
)

// The goals table (-summary) sets what one run measured against the aims
// of the performance issue (issue 13), one line an aim and cell: the
// value, the aim, and PASS or MISS; "-" where this run did not measure
// it (a suite or target left out, or no suite measures it yet). The
// aims, as the issue states them:
//   - the broker's CPU: at most 0.5 CPU-seconds per GB moved (produce
//     plus consume) with 1 KiB records, at most 1.0 with 100 B (here:
//     cells of at least 1 KiB, and smaller ones);
//   - throughput at least 1.5 times kfake's, produce and consume, and
//     within 10% of the client's ceiling (the sink): at least 0.9 of it;
//   - durable mode at least 0.5 of the default policy's produce rate,
//     and its produce p99 at half load at most 3 times RTT + fdatasync;
//   - the many cell at least 0.7 of the 6-partition row, produce and
//     consume, with the broker's peak RSS under the cap;
//   - replication factor 3 at least 0.5 of one broker's produce rate;
//   - restart time independent of the data kept: under 5 s after a clean
//     shutdown, and after SIGKILL only what was written since the
//     recovery points checked (restart.go).

const (
	cpuPerGBAim1KiB    = 0.5
	cpuPerGBAimSmall   = 1.0
	vsKfakeAim         = 1.5
	vsSinkAim          = 0.9
	restartAimSeconds  = 5
	verdictPass        = "PASS"
	verdictMiss        = "MISS"
	verdictNotMeasured = "-"
	notMeasuredThisRun = "not measured in this run"
)

// goal is one aim and where the run stands against it.
type goal struct {
	name     string // the aim and the cell it was measured in
	measured string // the value, or why there is none
	aim      string // as "≥ 1.50" or "≤ 0.50"
	verdict  string // verdictPass, verdictMiss or verdictNotMeasured
}

// goalValue is v to two places, or to three where two would read as the
// aim itself (0.6985 against 0.70), so that the verdict beside it never
// seems to contradict it.
func goalValue(v, aim float64) string {
	if s := fmt.Sprintf("%.2f", v); s != fmt.Sprintf("%.2f", aim) || v == aim {
		return s
	}
	return fmt.Sprintf("%.3f", v)
}

func atLeast(name string, v, aim float64) goal {
	g := goal{name: name, measured: goalValue(v, aim), aim: fmt.Sprintf("≥ %.2f", aim), verdict: verdictMiss}
	if v >= aim {
		g.verdict = verdictPass
	}
	return g
}

func atMost(name string, v, aim float64) goal {
	g := goal{name: name, measured: goalValue(v, aim), aim: fmt.Sprintf("≤ %.2f", aim), verdict: verdictMiss}
	if v <= aim {
		g.verdict = verdictPass
	}
	return g
}

func notMeasured(name, aim, why string) goal {
	return goal{name: name, measured: why, aim: aim, verdict: verdictNotMeasured}
}

// goals lists the aims against what rep measured, in the order.
func goals(rep *benchReport, o options) []goal {
	var rows []row
	for _, cr := range rep.cells {
		rows = append(rows, summarize(cr)...)
	}
	var gs []goal
	gs = append(gs, cpuGoals(rows, rep.floor.perGBMoved())...)
	gs = append(gs, throughputGoals(rows)...)
	gs = append(gs, durableGoals(rows, rep.halfLoad)...)
	gs = append(gs, manyGoals(rows, o)...)
	if len(rep.replication) > 0 {
		gs = append(gs, atLeast("RF=3 produce vs one broker (median of rounds)", medianRatio(rep.replication), replicationRatioAim))
	} else {
		gs = append(gs, notMeasured("RF=3 produce vs one broker", fmt.Sprintf("≥ %.2f", replicationRatioAim), notMeasuredThisRun))
	}
	gs = append(gs, restartGoals(rep.restart)...)
	return gs
}

// restartGoals: the restart after SIGTERM within restartAimSeconds, and
// each restart after SIGKILL checking no more than was written since the
// recovery points (with 10% and 64 MiB of slack for batch framing and
// the indexes the broker wrote).
func restartGoals(r restartReport) []goal {
	var term *restartRound
	for i := range r.rounds {
		if r.rounds[i].name == restartAfterTerm {
			term = &r.rounds[i]
		}
	}
	if term == nil {
		return []goal{notMeasured("restart after a clean shutdown", fmt.Sprintf("< %d s", restartAimSeconds), notMeasuredThisRun)}
	}
	shape := fmt.Sprintf("%.2f GB in %d partitions", float64(r.size)/1e9, r.partitions)
	g := atMost("restart after a clean shutdown (s), "+shape, term.elapsed.Seconds(), restartAimSeconds)
	gs := []goal{g}
	for _, rd := range r.rounds {
		if rd.killed {
			aim := float64(rd.writtenSince)*1.1 + 64<<20
			g := goal{name: "bytes checked by the restart " + rd.name + ", " + shape,
				measured: fmt.Sprintf("%.2f GB", float64(rd.stats.checked)/1e9),
				aim:      fmt.Sprintf("≤ %.2f GB (written since the recovery points, + 10%% + 64 MiB)", aim/1e9), verdict: verdictMiss}
			if float64(rd.stats.checked) <= aim {
				g.verdict = verdictPass
			}
			gs = append(gs, g)
		}
	}
	return gs
}

// cpuGoals: cloudkafka's CPU-seconds per GB in each matrix cell, with
// the kernel floor under it (floor.go) when measured.
func cpuGoals(rows []row, floor float64) []goal {
	var gs []goal
	for _, r := range rows {
		if r.kind != targetCloudKafka || isManyCell(r.cell) {
			continue
		}
		aim := cpuPerGBAimSmall
		if r.cell.size >= 1024 {
			aim = cpuPerGBAim1KiB
		}
		name := "broker CPU-s/GB, " + cellShape(r.cell)
		if r.cpuPerGB == 0 {
			gs = append(gs, notMeasured(name, fmt.Sprintf("≤ %.2f", aim), "unknown: not a broker ckbench started"))
			continue
		}
		g := atMost(name, r.cpuPerGB, aim)
		if floor > 0 {
			g.measured += fmt.Sprintf(" (kernel floor %.2f)", floor)
		}
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		gs = append(gs, notMeasured("broker CPU-s/GB", fmt.Sprintf("≤ %.2f (1 KiB), ≤ %.2f (100 B)", cpuPerGBAim1KiB, cpuPerGBAimSmall), notMeasuredThisRun))
	}
	return gs
}

// throughputGoals: cloudkafka against kfake and against the sink, in
// each matrix cell.
func throughputGoals(rows []row) []goal {
	var gs []goal
	for _, r := range rows {
		if r.kind != targetCloudKafka || isManyCell(r.cell) {
			continue
		}
		for _, ref := range []struct {
			kind string
			aim  float64
		}{{targetKfake, vsKfakeAim}, {targetSink, vsSinkAim}} {
			v, ok := r.vs[ref.kind]
			if !ok {
				gs = append(gs, notMeasured(fmt.Sprintf("produce and consume vs %s, %s", ref.kind, cellShape(r.cell)),
					fmt.Sprintf("≥ %.2f", ref.aim), "target "+ref.kind+" not run"))
				continue
			}
			gs = append(gs, atLeast(fmt.Sprintf("produce vs %s, %s", ref.kind, cellShape(r.cell)), v.produce, ref.aim),
				atLeast(fmt.Sprintf("consume vs %s, %s", ref.kind, cellShape(r.cell)), v.consume, ref.aim))
		}
	}
	if len(gs) == 0 {
		gs = append(gs, notMeasured("produce and consume vs kfake; vs the sink", fmt.Sprintf("≥ %.2f; ≥ %.2f", vsKfakeAim, vsSinkAim), notMeasuredThisRun))
	}
	return gs
}

// durableGoals: durable's produce rate over cloudkafka's in each cell,
// and the half-load latency ratio.
func durableGoals(rows []row, h halfLoadReport) []goal {
	var gs []goal
	for _, r := range rows {
		if v, ok := r.vs[targetCloudKafka]; ok && r.kind == targetDurable {
			gs = append(gs, atLeast("durable produce vs default flush policy, "+cellShape(r.cell), v.produce, durableRatioAim))
		}
	}
	if len(gs) == 0 {
		gs = append(gs, notMeasured("durable produce vs default flush policy", fmt.Sprintf("≥ %.2f", durableRatioAim), notMeasuredThisRun))
	}
	name := "durable produce p99 at half load / (loopback RTT + fdatasync)"
	if len(h.rounds) == 0 {
		return append(gs, notMeasured(name, fmt.Sprintf("≤ %.2f", halfLoadRatioAim), notMeasuredThisRun))
	}
	_, _, _, ratio := h.medians()
	return append(gs, atMost(name+", "+cellShape(h.cell), ratio, halfLoadRatioAim))
}

// manyGoals: cloudkafka's many cell against its 6-partition row, and
// its peak RSS against the cap.
func manyGoals(rows []row, o options) []goal {
	var gs []goal
	for _, m := range rows {
		if m.kind != targetCloudKafka || !isManyCell(m.cell) {
			continue
		}
		shape := cellShape(m.cell)
		if v, ok := manyRatios(rows, m); ok {
			gs = append(gs, atLeast(fmt.Sprintf("produce vs %d partitions, %s", manyRefPartitions, shape), v.produce, manyRatioAim),
				atLeast(fmt.Sprintf("consume vs %d partitions, %s", manyRefPartitions, shape), v.consume, manyRatioAim))
		} else {
			gs = append(gs, notMeasured(fmt.Sprintf("produce and consume vs %d partitions, %s", manyRefPartitions, shape),
				fmt.Sprintf("≥ %.2f", manyRatioAim), fmt.Sprintf("no %d-partition row to compare with", manyRefPartitions)))
		}
		name := "broker peak RSS MiB, " + shape
		if m.rssPeakBytes == 0 {
			gs = append(gs, notMeasured(name, fmt.Sprintf("≤ %d", o.rssCapMiB), "unknown: not a broker ckbench started"))
			continue
		}
		g := atMost(name, float64(m.rssPeakBytes>>20), float64(o.rssCapMiB))
		g.measured, g.aim = fmt.Sprint(m.rssPeakBytes>>20), fmt.Sprintf("≤ %d", o.rssCapMiB)
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		gs = append(gs, notMeasured("many partitions and connections vs 6 partitions", fmt.Sprintf("≥ %.2f", manyRatioAim), notMeasuredThisRun))
	}
	return gs
}

// goalsTable is the goals as a table.
func goalsTable(gs []goal) table {
	t := table{header: []string{"goal (issue 13)", "measured", "aim", "verdict"}}
	for _, g := range gs {
		t.add(g.name, g.measured, g.aim, g.verdict)
	}
	return t
}

// printGoals prints the goals table with a count of each verdict.
func printGoals(w io.Writer, gs []goal) {
	pass, miss := 0, 0
	for _, g := range gs {
		switch g.verdict {
		case verdictPass:
			pass++
		case verdictMiss:
			miss++
		}
	}
	fmt.Fprintf(w, "\ngoals: %d pass, %d miss, %d not measured\n", pass, miss, len(gs)-pass-miss)
	goalsTable(gs).text(w)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// The produce suite runs every cell of the matrix -runs times on every
// target, with all the targets up at once. The targets take turns run
// by run within a cell (cell A: cloudkafka, kfake, sink, cloudkafka,
// kfake, sink, ...; then cell B), so that a slow minute of the shared
// machine falls on every target alike rather than on one. Each row of
// the table is one target's medians over its runs of one cell, and its
// ratios to the reference targets (kfake, the peer; the sink, the
// client's ceiling) are the medians of the per-run ratios: each run's
// rate over the reference's in the same run, a few seconds apart, not
// the ratio of two medians taken minutes apart.
//
// Between two steps ckbench collects its own garbage (runtime.GC), so
// that what kfake and the sink (both inside ckbench's process) left
// behind is not collected during the next target's run.

// step is one run of one cell on one target.
type step struct {
	cell   int // index into the cells
	run    int // from 0
	target int // index into the targets
}

// schedule lists the produce suite's steps in the order they run: cell
// by cell; within a cell, run by run; within a run, the targets in the
// order given.
func schedule(cells, runs, targets int) []step {
	steps := make([]step, 0, cells*runs*targets)
	for c := range cells {
		for r := range runs {
			for t := range targets {
				steps = append(steps, step{cell: c, run: r, target: t})
			}
		}
	}
	return steps
}

// cellRuns is what the runs of one cell measured.
type cellRuns struct {
	cell    cell
	kinds   []string   // the targets' kinds, as ordered in results
	labels  []string   // the targets' labels, likewise
	results [][]result // results[t][r]: target t's run r, in run order
}

// runProduceSuite runs the matrix on the targets as schedule orders it
// and returns what each cell measured, also the runs done before an
// error.
func runProduceSuite(ctx context.Context, o options, ts []*benchTarget, floor *kernelFloor) ([]cellRuns, error) {
	cells := matrix(o)
	all := make([]cellRuns, len(cells))
	for i, c := range cells {
		all[i] = cellRuns{cell: c, results: make([][]result, len(ts))}
		for _, t := range ts {
			all[i].kinds = append(all[i].kinds, t.kind)
			all[i].labels = append(all[i].labels, t.label)
		}
	}
	for _, st := range schedule(len(cells), o.runsPerCell, len(ts)) {
		c, t := cells[st.cell], ts[st.target]
		if !runsCell(t.kind, c) {
			continue
		}
		fmt.Fprintf(os.Stderr, "ckbench: run %d/%d: %s %s ...\n", st.run+1, o.runsPerCell, t.label, c)
		runtime.GC()
		r, err := runTargetCell(ctx, t, c, o)
		if err != nil {
			return all, fmt.Errorf("run %d, %s, cell %s: %w", st.run+1, t.label, c, err)
		}
		fmt.Fprintf(os.Stderr, "ckbench:   %.0f records/s produced (p99 %v), %.0f records/s consumed\n",
			r.produceRate(), roundLatency(r.latencyP99), r.consumeRate())
		all[st.cell].results[st.target] = append(all[st.cell].results[st.target], r)
		if t.kind == targetCloudKafka && o.floorMiB > 0 {
			dir := t.dir
			if dir == "" {
				dir = os.TempDir() // -brokers: the broker's file system is not known
			}
			if err := floor.measure(dir, int64(o.floorMiB)<<20); err != nil {
				return all, fmt.Errorf("kernel floor: %w", err)
			}
		}
	}
	return all, nil
}

// runTargetCell runs c once on t, with the CPU time t's process spent
// meanwhile when it is known.
func runTargetCell(ctx context.Context, t *benchTarget, c cell, o options) (result, error) {
	var before time.Duration
	var err error
	if t.cpu != nil {
		if before, err = t.cpu(); err != nil {
			return result{}, fmt.Errorf("the broker's CPU time: %w", err)
		}
	}
	if t.proc != nil && !t.rssResetFailed {
		if err := t.proc.resetPeakRSS(); err != nil {
			fmt.Fprintf(os.Stderr, "ckbench: %s: resetting the peak RSS: %v; its peaks are since it started\n", t.label, err)
			t.rssResetFailed = true
		}
	}
	r, err := runCell(ctx, t.seeds, c, o)
	r.target = t.label
	if err != nil {
		return r, err
	}
	if t.proc != nil {
		if r.rssPeakBytes, err = t.proc.peakRSS(); err != nil {
			return r, fmt.Errorf("the broker's peak RSS: %w", err)
		}
	}
	if t.cpu != nil {
		after, err := t.cpu()
		if err != nil {
			return r, fmt.Errorf("the broker's CPU time: %w", err)
		}
		r.brokerCPU = after - before
	}
	return r, nil
}

// row is one target's medians over its runs of one cell.
type row struct {
	kind, label string
	cell        cell
	runs        int
	produceRate float64 // records/s
	consumeRate float64 // records/s
	cpuPerGB    float64 // broker CPU-seconds per GB moved; 0: unknown
	// rssPeakBytes is the largest of the runs' peak RSS; 0: unknown.
	rssPeakBytes int64
	p50, p99     time.Duration
	// vs holds, by the kind of another target of the cell, the medians
	// of this target's per-run rates over that target's in the same
	// run.
	vs map[string]ratios
}

// ratios are a target's produce and consume rates over another's.
type ratios struct{ produce, consume float64 }

func (r row) produceMBps() float64 { return r.produceRate * float64(r.cell.size) / 1e6 }

// summarize makes cr's rows, one a target that completed a run, in the
// targets' order.
func summarize(cr cellRuns) []row {
	var rows []row
	for t, rs := range cr.results {
		if len(rs) == 0 {
			continue
		}
		var prod, cons, cpu []float64
		var p50, p99 []time.Duration
		for _, r := range rs {
			prod, cons = append(prod, r.produceRate()), append(cons, r.consumeRate())
			p50, p99 = append(p50, r.latencyP50), append(p99, r.latencyP99)
			if r.brokerCPU > 0 {
				cpu = append(cpu, r.cpuPerGB())
			}
		}
		rw := row{kind: cr.kinds[t], label: cr.labels[t], cell: cr.cell, runs: len(rs),
			produceRate: median(prod), consumeRate: median(cons), cpuPerGB: median(cpu),
			p50: median(p50), p99: median(p99), rssPeakBytes: peakRSS(rs), vs: map[string]ratios{}}
		for ref, refs := range cr.results {
			if ref == t || len(refs) == 0 {
				continue
			}
			rw.vs[cr.kinds[ref]] = pairedRatios(rs, refs)
		}
		rows = append(rows, rw)
	}
	return rows
}

// pairedRatios are the medians of rs[i]'s rates over refs[i]'s, over
// the runs both have.
func pairedRatios(rs, refs []result) ratios {
	var prod, cons []float64
	for i := range min(len(rs), len(refs)) {
		prod = append(prod, rs[i].produceRate()/refs[i].produceRate())
		cons = append(cons, rs[i].consumeRate()/refs[i].consumeRate())
	}
	return ratios{produce: median(prod), consume: median(cons)}
}

// produceTable is the produce suite's table: a row per target and cell,
// with the ratios to kfake and to the sink where they ran.
func produceTable(rows []row) table {
	t := table{header: []string{"target", "size", "acks", "partitions", "clients", "runs", "records/s", "MB/s",
		"consume rec/s", "broker CPU-s/GB", "peak RSS MiB", "p50", "p99",
		"produce vs kfake", "consume vs kfake", "produce vs sink", "consume vs sink"}}
	for _, r := range rows {
		cpu := "-"
		if r.cpuPerGB > 0 {
			cpu = fmt.Sprintf("%.2f", r.cpuPerGB)
		}
		rss := "-"
		if r.rssPeakBytes > 0 {
			rss = fmt.Sprint(r.rssPeakBytes >> 20)
		}
		vsK, vsKc := ratioCells(r, targetKfake)
		vsS, vsSc := ratioCells(r, targetSink)
		t.add(r.label, fmt.Sprintf("%d B", r.cell.size), r.cell.acks, fmt.Sprint(r.cell.partitions),
			fmt.Sprint(r.cell.clientCount()), fmt.Sprint(r.runs),
			fmt.Sprintf("%.0f", r.produceRate), fmt.Sprintf("%.1f", r.produceMBps()), fmt.Sprintf("%.0f", r.consumeRate),
			cpu, rss, roundLatency(r.p50).String(), roundLatency(r.p99).String(), vsK, vsKc, vsS, vsSc)
	}
	return t
}

// ratioCells are r's produce and consume ratios to the target of kind
// ref, or "-" where ref did not run (or r is ref).
func ratioCells(r row, ref string) (produce, consume string) {
	v, ok := r.vs[ref]
	if !ok {
		return "-", "-"
	}
	return fmt.Sprintf("%.2f", v.produce), fmt.Sprintf("%.2f", v.consume)
}

// printProduceTable prints the produce suite's rows, cell by cell.
func printProduceTable(w io.Writer, cells []cellRuns, o options) {
	var rows []row
	for _, cr := range cells {
		rows = append(rows, summarize(cr)...)
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nproduce and consume: medians of %d runs a cell, the targets in turns; ratios are medians of each run's ratio to the reference's run\n", o.runsPerCell)
	produceTable(rows).text(w)
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// The durable target is a second Cloud Kafka broker, started with
// log.flush.interval.messages=1: every append is synced before it is
// acknowledged, and appends waiting for one sync share it (group
// commit). It runs every cell of the matrix in the same turns as the
// others, so its produce rate over cloudkafka's (the default flush
// policy, syncing left to the operating system) in the same run is what
// durability costs; the aim is at least durableRatioAim.
//
// After the matrix, the half-load measurement asks what durability costs
// a record's latency when the broker is not saturated. Each of -runs
// rounds measures, one after the other:
//   - the loopback round trip: rttRounds round trips of rttMessageBytes
//     over a TCP connection on 127.0.0.1, p50;
//   - a sync: fsyncRounds appends of fsyncWriteBytes to a temporary file
//     in the durable broker's directory (the file system of its
//     log.dirs), each followed by fdatasync, p50 of write and sync;
//   - the durable broker's produce p99 with the producer held to half of
//     durable's median produce rate in the reference cell (the first
//     cell of the matrix), producing half the cell's records, so the
//     round takes about as long as a run at full speed; the paced
//     producer does not linger (producerOpts);
//   - the same paced cell against the sink, when it runs: the client's
//     own p99 at that pace, which no broker can beat here.
//
// A round's ratio is its p99 over (RTT p50 + sync p50): the least a
// synced acknowledgement can take is one round trip and one sync. The
// aim is at most halfLoadRatioAim; the median of the rounds' ratios is
// reported.

const (
	targetDurable = "durable"

	durableRatioAim  = 0.5
	halfLoadRatioAim = 3.0

	rttRounds       = 2000
	rttMessageBytes = 64
	fsyncRounds     = 200
	fsyncWriteBytes = 4096
	// probeTimeout bounds each of the RTT and sync measurements.
	probeTimeout = 10 * time.Second
)

// durableOverrides make a broker sync every append before acknowledging
// it.
var durableOverrides = []string{"log.flush.interval.messages=1"}

// halfLoadRound is one round of the half-load measurement.
type halfLoadRound struct {
	rttP50, syncP50 time.Duration
	produce         result // the paced run; its latencyP99 is the one compared
	// sinkP99 is the sink's produce p99 at the same pace: the client's
	// own; 0 when the sink did not run.
	sinkP99 time.Duration
	// floorP99 is an ideal group commit's p99 at the same pace on the
	// broker's disk (syncFloor): the disk's own share.
	floorP99 time.Duration
}

// ratio is the round's produce p99 over (RTT p50 + sync p50).
func (h halfLoadRound) ratio() float64 {
	return float64(h.produce.latencyP99) / float64(h.rttP50+h.syncP50)
}

// halfLoadReport is the half-load measurement.
type halfLoadReport struct {
	cell     cell    // the paced cell: the reference cell at half of peakRate
	peakRate float64 // durable's median produce rate in the reference cell, records/s
	rounds   []halfLoadRound
}

// medians are the rounds' median RTT, sync, p99 and ratio.
func (h halfLoadReport) medians() (rtt, sync, p99 time.Duration, ratio float64) {
	var rtts, syncs, p99s []time.Duration
	var ratios []float64
	for _, r := range h.rounds {
		rtts, syncs, p99s = append(rtts, r.rttP50), append(syncs, r.syncP50), append(p99s, r.produce.latencyP99)
		ratios = append(ratios, r.ratio())
	}
	return median(rtts), median(syncs), median(p99s), median(ratios)
}

// sinkP99 is the rounds' median sink p99; 0 when the sink did not run.
func (h halfLoadReport) sinkP99() time.Duration {
	return h.medianOf(func(r halfLoadRound) time.Duration { return r.sinkP99 })
}

// floorP99 is the rounds' median ideal group commit p99.
func (h halfLoadReport) floorP99() time.Duration {
	return h.medianOf(func(r halfLoadRound) time.Duration { return r.floorP99 })
}

// medianOf is the median of what of the rounds that measured it.
func (h halfLoadReport) medianOf(what func(halfLoadRound) time.Duration) time.Duration {
	var ds []time.Duration
	for _, r := range h.rounds {
		if d := what(r); d > 0 {
			ds = append(ds, d)
		}
	}
	return median(ds)
}

// halfLoadCell is the reference cell (the first that durable ran) paced
// at half of durable's median produce rate in it, with half its
// records; ok is false when durable ran no cell.
func halfLoadCell(cells []cellRuns) (c cell, peak float64, ok bool) {
	for _, cr := range cells {
		for _, r := range summarize(cr) {
			if r.kind == targetDurable {
				c = cr.cell
				c.rate, c.records = r.produceRate/2, max(4, c.records/2)
				return c, r.produceRate, true
			}
		}
	}
	return cell{}, 0, false
}

// runHalfLoad runs the half-load rounds on t, the durable broker, into
// rep, also when one fails. With sink non-nil each round also paces the
// same cell to the sink: the client's own p99 at that pace, a floor no
// broker can go under on this machine.
func runHalfLoad(ctx context.Context, o options, t, sink *benchTarget, cells []cellRuns, rep *halfLoadReport) error {
	c, peak, ok := halfLoadCell(cells)
	if t == nil || !ok {
		return nil
	}
	rep.cell, rep.peakRate = c, peak
	for i := range o.runsPerCell {
		fmt.Fprintf(os.Stderr, "ckbench: half load %d/%d: RTT, fdatasync, %s %s ...\n", i+1, o.runsPerCell, t.label, c)
		var h halfLoadRound
		var err error
		if h.rttP50, err = loopbackRTT(rttRounds); err != nil {
			return fmt.Errorf("loopback RTT: %w", err)
		}
		if h.syncP50, err = syncLatency(t.dir, fsyncRounds); err != nil {
			return fmt.Errorf("fdatasync in %s: %w", t.dir, err)
		}
		d := min(syncFloorMax, time.Duration(float64(c.records)/c.rate*float64(time.Second)))
		if h.floorP99, err = syncFloor(t.dir, c.partitions, c.size, c.rate, d); err != nil {
			return fmt.Errorf("ideal group commit in %s: %w", t.dir, err)
		}
		if h.produce, err = runProduceOnly(ctx, t.seeds[0], t.seeds[0], c, o, nil); err != nil {
			return fmt.Errorf("round %d, %s, cell %s: %w", i+1, t.label, c, err)
		}
		h.produce.target = t.label
		if sink != nil {
			r, err := runProduceOnly(ctx, sink.seeds[0], sink.seeds[0], c, o, nil)
			if err != nil {
				return fmt.Errorf("round %d, %s, cell %s: %w", i+1, sink.label, c, err)
			}
			h.sinkP99 = r.latencyP99
		}
		rep.rounds = append(rep.rounds, h)
	}
	return nil
}

// loopbackRTT is the median of up to n round trips of rttMessageBytes
// over one TCP connection on 127.0.0.1, within probeTimeout.
func loopbackRTT(n int) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client closes
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), probeTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	deadline := time.Now().Add(probeTimeout)
	c.SetDeadline(deadline)
	msg, back := make([]byte, rttMessageBytes), make([]byte, rttMessageBytes)
	ds := make([]time.Duration, 0, n)
	for len(ds) < n && time.Now().Before(deadline) {
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	if len(ds) == 0 {
		return 0, fmt.Errorf("no round within %v", probeTimeout)
	}
	return median(ds), nil
}

// syncLatency is the median time of up to n appends of fsyncWriteBytes,
// each followed by fdatasync, to a temporary file in dir, within
// probeTimeout.
func syncLatency(dir string, n int) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "ckbench-fdatasync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, fsyncWriteBytes)
	deadline := time.Now().Add(probeTimeout)
	ds := make([]time.Duration, 0, n)
	for len(ds) < n && time.Now().Before(deadline) {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	if len(ds) == 0 {
		return 0, fmt.Errorf("no round within %v", probeTimeout)
	}
	return median(ds), nil
}

// durableNotes are sentences on durable's produce rate over
// cloudkafka's in each cell it ran, and on the half-load measurement.
func durableNotes(cells []cellRuns, h halfLoadReport) []string {
	var notes []string
	for _, cr := range cells {
		for _, r := range summarize(cr) {
			if v, ok := r.vs[targetCloudKafka]; ok && r.kind == targetDurable {
				notes = append(notes, fmt.Sprintf("durable (cloudkafka with %s: a sync before each acknowledgement, group-committed), %s: produce %.2f of cloudkafka's in the same runs (median of the per-run ratios; aim at least %.2f)",
					durableOverrides[0], cellShape(cr.cell), v.produce, durableRatioAim))
			}
		}
	}
	if len(h.rounds) == 0 {
		return notes
	}
	rtt, sync, p99, ratio := h.medians()
	floor := ""
	if sp := h.sinkP99(); sp > 0 {
		floor = fmt.Sprintf("; the sink's p99 at the same pace, the client's own: %v", roundLatency(sp))
	}
	if fp := h.floorP99(); fp > 0 {
		floor += fmt.Sprintf("; an ideal group commit at the same pace on the same disk (each partition's due records written at once and fdatasynced, no broker): p99 %v, so the broker's p99 is %.1f× the disk's own", roundLatency(fp), float64(p99)/float64(fp))
	}
	return append(notes, fmt.Sprintf("durable at half load, %s, paced at %.0f records/s (half of durable's %.0f), without linger; medians of %d rounds: produce p99 %v, loopback RTT p50 %v, %d-byte write+fdatasync p50 %v in the broker's file system; p99 / (RTT + fdatasync) = %.2f (median of the rounds' ratios; aim at most %.1f)%s",
		cellShape(h.cell), h.cell.rate, h.peakRate, len(h.rounds), roundLatency(p99), roundLatency(rtt), fsyncWriteBytes, roundLatency(sync), ratio, halfLoadRatioAim, floor))
}

// printNotes prints notes after a blank line, one a line.
func printNotes(w io.Writer, notes []string) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

// cellShape names a cell by what the tables vary: size, acks,
// partitions and clients.
func cellShape(c cell) string {
	s := fmt.Sprintf("%d B, acks=%s, %d partitions", c.size, c.acks, c.partitions)
	if c.clientCount() > 1 {
		s += fmt.Sprintf(", %d clients", c.clientCount())
	}
	return s
}

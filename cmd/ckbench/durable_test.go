package main

import (
	"testing"
	"time"
)

// TestHalfLoadCell: the first cell durable ran, at half its median
// produce rate there, with half the records.
func TestHalfLoadCell(t *testing.T) {
	a := cell{size: 1024, acks: "all", partitions: 6, records: 1000}
	b := cell{size: 100, acks: "all", partitions: 6, records: 4000}
	cells := []cellRuns{
		{cell: a, kinds: []string{targetCloudKafka, targetDurable}, labels: []string{"c", "d"},
			results: [][]result{{runOf(a, 1000, 1000)}, {runOf(a, 2000, 1000), runOf(a, 4000, 1000), runOf(a, 500, 1000)}}},
		{cell: b, kinds: []string{targetDurable}, labels: []string{"d"}, results: [][]result{{runOf(b, 1000, 1000)}}},
	}
	c, peak, ok := halfLoadCell(cells)
	want := a
	want.rate, want.records = 250, 500
	if !ok || peak != 500 || c != want {
		t.Errorf("halfLoadCell = %+v, %v, %v; want %+v, 500, true", c, peak, ok, want)
	}
	if _, _, ok := halfLoadCell(cells[:0]); ok {
		t.Errorf("halfLoadCell of no cells: ok; want not ok")
	}
}

func TestHalfLoadMedians(t *testing.T) {
	round := func(rttUs, syncUs, p99Us int) halfLoadRound {
		return halfLoadRound{rttP50: time.Duration(rttUs) * time.Microsecond, syncP50: time.Duration(syncUs) * time.Microsecond,
			produce: result{latencyP99: time.Duration(p99Us) * time.Microsecond}}
	}
	h := halfLoadReport{rounds: []halfLoadRound{round(10, 90, 200), round(50, 950, 9000), round(20, 180, 1000)}}
	rtt, sync, p99, ratio := h.medians()
	// ratios 2, 9, 5: median 5
	if rtt != 20*time.Microsecond || sync != 180*time.Microsecond || p99 != time.Millisecond || ratio != 5 {
		t.Errorf("medians = %v, %v, %v, %v; want 20µs, 180µs, 1ms, 5", rtt, sync, p99, ratio)
	}
	if got := h.sinkP99(); got != 0 {
		t.Errorf("sinkP99 without the sink = %v; want 0", got)
	}
	h.rounds[0].sinkP99, h.rounds[2].sinkP99 = time.Millisecond, 3*time.Millisecond
	if got := h.sinkP99(); got != 2*time.Millisecond {
		t.Errorf("sinkP99 of two rounds with the sink = %v; want 2ms, the median of those two", got)
	}
}

// TestProbes: the RTT and sync probes measure something, without error.
func TestProbes(t *testing.T) {
	if d, err := loopbackRTT(20); err != nil || d <= 0 {
		t.Errorf("loopbackRTT(20) = %v, %v; want a positive duration", d, err)
	}
	if d, err := syncLatency(t.TempDir(), 3); err != nil || d <= 0 {
		t.Errorf("syncLatency(3) = %v, %v; want a positive duration", d, err)
	}
}

// TestSyncFloor runs the ideal group commit briefly: every record that
// fell due is written and synced, so it reports a latency, and bad shapes
// are refused.
func TestSyncFloor(t *testing.T) {
	p99, err := syncFloor(t.TempDir(), 3, 1024, 3000, 200*time.Millisecond)
	if err != nil || p99 <= 0 {
		t.Fatalf("syncFloor = %v, %v; want a positive p99", p99, err)
	}
	if _, err := syncFloor(t.TempDir(), 0, 1024, 3000, time.Second); err == nil {
		t.Errorf("syncFloor of no partitions: no error")
	}
}

package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestClientShares: the clients' partitions cover each partition once,
// and their records add up to the cell's.
func TestClientShares(t *testing.T) {
	for _, tc := range []struct{ partitions, clients, records int }{
		{6, 1, 10}, {6, 4, 10}, {1000, 100, 250000}, {7, 3, 2},
	} {
		c := cell{partitions: tc.partitions, clients: tc.clients, records: tc.records}
		n := c.clientCount()
		seen := make([]int, tc.partitions)
		for j := range n {
			for _, p := range clientPartitions(tc.partitions, n, j) {
				seen[p]++
			}
		}
		if i := slices.IndexFunc(seen, func(k int) bool { return k != 1 }); i >= 0 {
			t.Errorf("%+v: partition %d owned by %d clients; want 1", tc, i, seen[i])
		}
		shares := clientRecords(tc.records, n)
		sum := 0
		for _, s := range shares {
			sum += s
		}
		if len(shares) != n || sum != tc.records || slices.Max(shares)-slices.Min(shares) > 1 {
			t.Errorf("%+v: clientRecords = %v; want %d shares within one of each other, adding up to %d", tc, shares, n, tc.records)
		}
	}
	if got := (cell{partitions: 2, clients: 5}).clientCount(); got != 2 {
		t.Errorf("clientCount of 5 clients on 2 partitions = %d; want 2", got)
	}
}

// TestRunCellManyClients: a cell of several clients, each producing to
// and consuming its own partitions, paced, against the sink.
func TestRunCellManyClients(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	c := cell{size: 100, acks: "all", partitions: 8, clients: 3, records: 90, rate: 100000}
	r, err := runCell(context.Background(), []string{s.addr()}, c, options{inflight: 100, deadline: 30 * time.Second})
	if err != nil {
		t.Fatalf("runCell(%s): %v", c, err)
	}
	if r.produceElapsed <= 0 || r.consumeElapsed <= 0 || r.latencyP99 < r.latencyP50 {
		t.Errorf("runCell(%s): produce %v, consume %v, p50 %v, p99 %v; want positive times and p50 <= p99",
			c, r.produceElapsed, r.consumeElapsed, r.latencyP50, r.latencyP99)
	}
}

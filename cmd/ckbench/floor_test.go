package main

import (
	"math"
	"os"
	"strings"
	"testing"
)

// TestPageCacheWriteCost writes 8 MiB and checks that the cost is a
// finite, non-negative number of CPU-seconds per GB (the thread's CPU
// time is counted in scheduler ticks: so small a write may show none)
// and that the file is gone after.
func TestPageCacheWriteCost(t *testing.T) {
	dir := t.TempDir()
	cost, err := pageCacheWriteCost(dir, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if cost < 0 || math.IsInf(cost, 0) || math.IsNaN(cost) {
		t.Fatalf("page-cache write cost of 8 MiB: got %v CPU-s/GB; want a finite number, at least 0", cost)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("after the measurement: %d files left in %s; want none", len(left), dir)
	}
	note := floorNote([]float64{0.4, cost, 0.2}, 8<<20)
	if len(note) != 1 || !strings.Contains(note[0], "8 MiB") || !strings.Contains(note[0], "median of 3") {
		t.Fatalf("floor note: got %q; want the size and the count of measurements", note)
	}
	if floorNote(nil, 8<<20) != nil {
		t.Fatalf("floor note without measurements: got one; want none")
	}
}

package main

import (
	"math"
	"os"
	"strings"
	"testing"
)

// TestKernelFloor measures each part of the kernel floor on 8 MiB and
// checks that each cost is a finite, non-negative number of CPU-seconds
// per GB (a thread's CPU time is counted in scheduler ticks: so little
// work may show none) and that no file is left behind.
func TestKernelFloor(t *testing.T) {
	dir := t.TempDir()
	var f kernelFloor
	for range 2 {
		if err := f.measure(dir, 8<<20); err != nil {
			t.Fatal(err)
		}
	}
	for name, costs := range map[string][]float64{"write": f.write, "receive": f.receive, "sendfile": f.sendfile} {
		if len(costs) != 2 {
			t.Fatalf("%s: %d measurements; want 2", name, len(costs))
		}
		for _, c := range costs {
			if c < 0 || math.IsInf(c, 0) || math.IsNaN(c) {
				t.Fatalf("%s cost of 8 MiB: got %v CPU-s/GB; want a finite number, at least 0", name, c)
			}
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("after the measurements: %d files left in %s; want none", len(left), dir)
	}
}

// TestSendfileCostSendsEverything: the sendfile part sends every byte
// even when n is not a multiple of its file, and its reader checks the
// count.
func TestSendfileCostSendsEverything(t *testing.T) {
	if _, err := sendfileCost(t.TempDir(), sendfileFileBytes+3<<20+5); err != nil {
		t.Fatal(err)
	}
}

// TestKernelFloorPerGBMoved: half the sum of the parts' medians, and a
// note naming the size, the count and each part.
func TestKernelFloorPerGBMoved(t *testing.T) {
	f := kernelFloor{write: []float64{0.9, 0.2, 0.4}, receive: []float64{0.1, 0.3, 0.2}, sendfile: []float64{0.2, 0.2, 0.6}}
	if got, want := f.perGBMoved(), (0.4+0.2+0.2)/2; math.Abs(got-want) > 1e-9 {
		t.Fatalf("perGBMoved = %v; want %v", got, want)
	}
	note := floorNote(f, 8<<20)
	if len(note) != 1 || !strings.Contains(note[0], "8 MiB") || !strings.Contains(note[0], "medians of 3") ||
		!strings.Contains(note[0], "0.40 CPU-s/GB, receiving from a loopback socket 0.20, sendfile to a loopback socket 0.20") ||
		!strings.HasSuffix(note[0], "0.40 of the CPU-s/GB column") {
		t.Fatalf("floor note: got %q", note)
	}
	if floorNote(kernelFloor{}, 8<<20) != nil || (kernelFloor{}).perGBMoved() != 0 {
		t.Fatalf("a floor without measurements: a note or a value; want none")
	}
}

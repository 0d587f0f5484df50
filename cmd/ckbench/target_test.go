package main

import (
	"testing"
	"time"
)

// TestProcCPU: utime and stime of a /proc/<pid>/stat line, whose command
// name may hold spaces and parentheses, in clock ticks of 10 ms.
func TestProcCPU(t *testing.T) {
	line := "4242 (cloud kafka (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 75 0 0 20 0 12 0 100 1000 200 18446744073709551615"
	got, err := procCPU(line)
	if err != nil || got != 3250*time.Millisecond {
		t.Errorf("procCPU: got %v, %v; want 3.25s (250+75 ticks)", got, err)
	}
	if _, err := procCPU("4242 (short) S 1 2"); err == nil {
		t.Errorf("procCPU of a truncated line: got no error; want one")
	}
}

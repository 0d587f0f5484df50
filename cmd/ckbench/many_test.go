package main

import (
	"slices"
	"testing"
)

func TestManyCellInMatrix(t *testing.T) {
	o := options{records: 4000, sizes: []int{1024, 100}, acks: []string{"all"}, partitions: []int{6}, manyPartitions: 1000, manyClients: 100}
	cells := matrix(o)
	want := []cell{
		{size: 1024, acks: "all", partitions: 6, records: 1000},
		{size: 100, acks: "all", partitions: 6, records: 4000},
		{size: 1024, acks: "all", partitions: 1000, clients: 100, records: 1000},
	}
	if !slices.Equal(cells, want) {
		t.Errorf("matrix:\ngot  %+v\nwant %+v", cells, want)
	}
	if runsCell(targetDurable, cells[2]) || !runsCell(targetDurable, cells[0]) || !runsCell(targetCloudKafka, cells[2]) {
		t.Errorf("runsCell: want durable to skip only the many cell")
	}
	o.manyPartitions = 0
	if got := matrix(o); len(got) != 2 {
		t.Errorf("matrix with -many-partitions 0: %d cells; want 2", len(got))
	}
}

func TestManyRatios(t *testing.T) {
	six := row{kind: targetCloudKafka, cell: cell{size: 1024, acks: "all", partitions: 6}, produceRate: 1000, consumeRate: 2000}
	small := row{kind: targetCloudKafka, cell: cell{size: 100, acks: "all", partitions: 6}, produceRate: 9000, consumeRate: 9000}
	other := row{kind: targetKfake, cell: six.cell, produceRate: 5, consumeRate: 5}
	many := row{kind: targetCloudKafka, cell: cell{size: 1024, acks: "all", partitions: 1000, clients: 100}, produceRate: 800, consumeRate: 500}
	got, ok := manyRatios([]row{small, other, six, many}, many)
	if !ok || got.produce != 0.8 || got.consume != 0.25 {
		t.Errorf("manyRatios = %+v, %v; want produce 0.8, consume 0.25", got, ok)
	}
	if _, ok := manyRatios([]row{small, other, many}, many); ok {
		t.Errorf("manyRatios without a 6-partition 1 KiB row of the target: ok; want not ok")
	}
}

func TestProcStatusBytes(t *testing.T) {
	status := "Name:\tcloudkafka\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
	if got, err := procStatusBytes(status, "VmHWM"); err != nil || got != 20480<<10 {
		t.Errorf("procStatusBytes(VmHWM) = %d, %v; want %d", got, err, 20480<<10)
	}
	if _, err := procStatusBytes(status, "VmSwap"); err == nil {
		t.Errorf("procStatusBytes of a missing line: got no error; want one")
	}
	if _, err := procStatusBytes("VmHWM:\t12 pages\n", "VmHWM"); err == nil {
		t.Errorf("procStatusBytes of a line not in kB: got no error; want one")
	}
}

// TestOverrideStatus: the lines cmd/cloudkafka logs at start.
func TestOverrideStatus(t *testing.T) {
	const name = "queued.max.request.bytes"
	for _, tc := range []struct{ log, want string }{
		{"cloudkafka 12:00:00 queued.max.request.bytes: supplied but not a known config, ignored (as Kafka ignores it)\n", "not a known config, ignored"},
		{"cloudkafka 12:00:00 queued.max.request.bytes=1024: accepted, no effect\n", "accepted, no effect"},
		{"cloudkafka 12:00:00 num.io.threads=8: accepted, no effect\ncloudkafka 12:00:01 listening\n", "accepted"},
	} {
		if got := overrideStatus(tc.log, name); got != tc.want {
			t.Errorf("overrideStatus(%q) = %q; want %q", tc.log, got, tc.want)
		}
	}
}

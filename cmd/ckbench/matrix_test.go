package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSchedule: cell by cell; within a cell the targets take turns run
// by run.
func TestSchedule(t *testing.T) {
	var got []string
	for _, st := range schedule(2, 2, 3) {
		got = append(got, fmt.Sprintf("c%d r%d t%d", st.cell, st.run, st.target))
	}
	want := []string{
		"c0 r0 t0", "c0 r0 t1", "c0 r0 t2", "c0 r1 t0", "c0 r1 t1", "c0 r1 t2",
		"c1 r0 t0", "c1 r0 t1", "c1 r0 t2", "c1 r1 t0", "c1 r1 t1", "c1 r1 t2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("schedule(2 cells, 2 runs, 3 targets):\ngot  %v\nwant %v", got, want)
	}
}

// runOf is a run of c that produced in produceMs and consumed in
// consumeMs milliseconds.
func runOf(c cell, produceMs, consumeMs int) result {
	return result{cell: c, produceElapsed: time.Duration(produceMs) * time.Millisecond,
		consumeElapsed: time.Duration(consumeMs) * time.Millisecond,
		latencyP50:     time.Duration(produceMs) * time.Microsecond, latencyP99: time.Duration(produceMs) * time.Millisecond}
}

// TestSummarize: each metric is the median of the target's runs, and a
// ratio is the median of the per-run ratios, not the ratio of the
// medians.
func TestSummarize(t *testing.T) {
	c := cell{size: 1000, acks: "all", partitions: 6, records: 1000}
	cr := cellRuns{cell: c, kinds: []string{targetCloudKafka, targetKfake}, labels: []string{"ck", "kf"},
		results: [][]result{
			{runOf(c, 1000, 500), runOf(c, 4000, 500), runOf(c, 2000, 2000)},  // 1000, 250, 500 rec/s
			{runOf(c, 500, 1000), runOf(c, 1000, 1000), runOf(c, 8000, 1000)}, // 2000, 1000, 125 rec/s
		}}
	rows := summarize(cr)
	if len(rows) != 2 {
		t.Fatalf("summarize: %d rows; want 2", len(rows))
	}
	ck := rows[0]
	if ck.label != "ck" || ck.runs != 3 || ck.produceRate != 500 || ck.consumeRate != 2000 || ck.p99 != 2*time.Second {
		t.Errorf("cloudkafka row: label %q, %d runs, produce %v, consume %v, p99 %v; want ck, 3, 500, 2000, 2s",
			ck.label, ck.runs, ck.produceRate, ck.consumeRate, ck.p99)
	}
	// per-run produce ratios 0.5, 0.25, 4: median 0.5 (the ratio of the
	// medians would be 500/1000).
	if got := ck.vs[targetKfake]; got.produce != 0.5 || got.consume != 2 {
		t.Errorf("cloudkafka vs kfake = %+v; want produce 0.5, consume 2", got)
	}
	if _, ok := ck.vs[targetSink]; ok {
		t.Errorf("cloudkafka has a ratio to the sink, which did not run")
	}
	if got := rows[1].vs[targetCloudKafka].produce; got != 2 {
		t.Errorf("kfake vs cloudkafka produce = %v; want 2", got)
	}
	tab := produceTable(rows)
	if len(tab.rows) != 2 || len(tab.rows[0]) != len(tab.header) {
		t.Fatalf("produceTable: %d rows of %d cells; want 2 of %d", len(tab.rows), len(tab.rows[0]), len(tab.header))
	}
	if got := strings.Join(tab.rows[0][13:], " "); got != "0.50 2.00 - -" {
		t.Errorf("cloudkafka's ratio cells = %q; want 0.50 2.00 - -", got)
	}
}

func TestTargetKinds(t *testing.T) {
	all := []string{targetCloudKafka, targetKfake, targetSink}
	for _, tc := range []struct {
		suites []string
		want   []string
	}{
		{[]string{suiteProduce}, all},
		{[]string{suiteGroup}, []string{targetCloudKafka, targetKfake}},
		{[]string{suiteLegacy}, []string{targetCloudKafka}},
		{[]string{suiteSecurity}, nil},
	} {
		if got := targetKinds(options{targets: all, suites: tc.suites}); !slices.Equal(got, tc.want) {
			t.Errorf("targetKinds(suites %v) = %v; want %v", tc.suites, got, tc.want)
		}
	}
}

func TestParseProduceFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.summary || o.readme != "" {
		t.Errorf("defaults: summary %v, readme %q; want the summary and no README", o.summary, o.readme)
	}
	if o.manyPartitions != 1000 || o.manyClients != 100 || o.queuedMaxRequestBytes != 100<<20 {
		t.Errorf("defaults: many partitions %d, many clients %d, queued.max.request.bytes %d; want 1000, 100, 100 MiB",
			o.manyPartitions, o.manyClients, o.queuedMaxRequestBytes)
	}
	if o.runsPerCell != 5 || !slices.Equal(o.sizes, []int{1024, 100}) || !slices.Equal(o.acks, []string{"all"}) ||
		!slices.Equal(o.partitions, []int{6}) || !slices.Contains(o.targets, targetSink) {
		t.Errorf("defaults: runs %d, sizes %v, acks %v, partitions %v, targets %v; want 5, [1024 100], [all], [6], the sink among the targets",
			o.runsPerCell, o.sizes, o.acks, o.partitions, o.targets)
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-runs", "1", "-sizes", "100", "-acks", "1,all", "-partitions", "1,6"}, true},
		{[]string{"-runs", "0"}, false},
		{[]string{"-runs", "101"}, false},
		{[]string{"-targets", "sink,nope"}, false},
		{[]string{"-many-partitions", "0"}, true},
		{[]string{"-many-partitions", "10", "-many-clients", "11"}, false},
		{[]string{"-many-clients", "1"}, false},
		{[]string{"-rss-cap-mib", "0"}, false},
	} {
		if _, err := parseFlags(tc.args); (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err = %v; want ok = %v", tc.args, err, tc.ok)
		}
	}
}

package main

import (
	"strings"
	"testing"
	"time"
)

// TestRewriteSection: the text between the markers is replaced, and
// everything else, the markers included, is kept byte for byte.
func TestRewriteSection(t *testing.T) {
	doc := "# Title\n\nbefore\n" + readmeBegin + "\nold table\nold goals\n" + readmeEnd + "\nafter\n\n## Next\n"
	got, err := rewriteSection(doc, "new body\n")
	want := "# Title\n\nbefore\n" + readmeBegin + "\nnew body\n" + readmeEnd + "\nafter\n\n## Next\n"
	if err != nil || got != want {
		t.Fatalf("rewriteSection:\ngot  %q, %v\nwant %q", got, err, want)
	}
	again, err := rewriteSection(got, "new body")
	if err != nil || again != want {
		t.Errorf("rewriteSection twice:\ngot  %q, %v\nwant %q", again, err, want)
	}
	for name, bad := range map[string]string{
		"no markers":       "# Title\n",
		"no end":           readmeBegin + "\n",
		"two begins":       readmeBegin + readmeBegin + readmeEnd,
		"end before begin": readmeEnd + "\n" + readmeBegin + "\n",
	} {
		if _, err := rewriteSection(bad, "x"); err == nil {
			t.Errorf("rewriteSection of a document with %s: got no error; want one", name)
		}
	}
}

func TestCPUInfo(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if model, n := cpuInfo(info); model != "AMD EPYC 7B13" || n != 2 {
		t.Errorf("cpuInfo = %q, %d; want AMD EPYC 7B13, 2", model, n)
	}
	if model, n := cpuInfo("processor : 0\n"); model != "unknown CPU" || n != 1 {
		t.Errorf("cpuInfo without a model name = %q, %d; want unknown CPU, 1", model, n)
	}
}

// TestReadmeSection: the section names the machine and the run, and
// holds the produce table and the goals table in Markdown.
func TestReadmeSection(t *testing.T) {
	c := cell{size: 1024, acks: "all", partitions: 6, records: 1000}
	rep := &benchReport{cells: []cellRuns{{cell: c, kinds: []string{targetCloudKafka, targetKfake}, labels: []string{"cloudkafka", "kfake"},
		results: [][]result{{runOf(c, 1000, 1000)}, {runOf(c, 2000, 2000)}}}}}
	m := machine{cpuModel: "Test CPU", cpus: 2, memBytes: 4 << 30, kernel: "6.1", goVersion: "go1.26", date: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	s := readmeSection(rep, options{runsPerCell: 5, records: 4000, inflight: 10, rssCapMiB: 512}, m, []string{"-runs", "5"})
	for _, want := range []string{
		"2026-12-01 10:00 UTC", "Test CPU, 2 CPUs, 4.0 GiB memory, Linux 6.1, go1.26",
		"`go run ./cmd/ckbench -runs 5`", "| target | size |", "| cloudkafka | 1024 B | all | 6 |",
		"| goal (issue 13) | measured | aim | verdict |", "| produce vs kfake, 1024 B, acks=all, 6 partitions | 2.00 | ≥ 1.50 | PASS |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("readmeSection lacks %q; got\n%s", want, s)
		}
	}
	if strings.Contains(s, readmeBegin) || strings.Contains(s, readmeEnd) {
		t.Errorf("readmeSection holds a marker, which would break the next rewrite")
	}
}

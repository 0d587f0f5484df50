package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// -readme FILE rewrites the section of FILE between readmeBegin and
// readmeEnd with what the run measured, in Markdown: the machine, the
// settings, the produce table with its notes, and the goals table.
// Everything outside the markers is kept byte for byte. The file is
// rewritten only after a run in which every suite asked for completed
// and the produce suite ran, so that a failed or partial run leaves the
// last full section in place.

const (
	readmeBegin = "<!-- bench:begin -->"
	readmeEnd   = "<!-- bench:end -->"
)

// rewriteSection returns doc with what lies between its one readmeBegin
// line and its one readmeEnd line replaced by body; the marker lines
// and everything outside them stay as they were.
func rewriteSection(doc, body string) (string, error) {
	if strings.Count(doc, readmeBegin) != 1 || strings.Count(doc, readmeEnd) != 1 {
		return "", fmt.Errorf("want exactly one %s and one %s; found %d and %d",
			readmeBegin, readmeEnd, strings.Count(doc, readmeBegin), strings.Count(doc, readmeEnd))
	}
	b := strings.Index(doc, readmeBegin) + len(readmeBegin)
	e := strings.Index(doc, readmeEnd)
	if e < b {
		return "", fmt.Errorf("%s comes before %s", readmeEnd, readmeBegin)
	}
	body = strings.TrimSuffix(body, "\n")
	return doc[:b] + "\n" + body + "\n" + doc[e:], nil
}

// machine describes the computer a run measured.
type machine struct {
	cpuModel  string
	cpus      int
	memBytes  int64 // 0: unknown
	kernel    string
	goVersion string
	date      time.Time
}

// describeMachine reads the machine from /proc; what it cannot read it
// leaves unknown rather than failing the run.
func describeMachine(now time.Time) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version(), date: now.UTC(), cpuModel: "unknown CPU", kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if model, n := cpuInfo(string(b)); n > 0 {
			m.cpuModel, m.cpus = model, n
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.memBytes, _ = procStatusBytes(string(b), "MemTotal")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	return m
}

// cpuInfo is the first "model name" of /proc/cpuinfo and the number of
// "processor" entries.
func cpuInfo(cpuinfo string) (model string, n int) {
	for _, line := range strings.Split(cpuinfo, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "processor":
			n++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(value)
			}
		}
	}
	if model == "" {
		model = "unknown CPU"
	}
	return model, n
}

func (m machine) String() string {
	mem := "unknown memory"
	if m.memBytes > 0 {
		mem = fmt.Sprintf("%.1f GiB memory", float64(m.memBytes)/(1<<30))
	}
	return fmt.Sprintf("%s, %d CPUs, %s, Linux %s, %s, GOMAXPROCS=%d", m.cpuModel, m.cpus, mem, m.kernel, m.goVersion, runtime.GOMAXPROCS(0))
}

// readmeSection is the Markdown that -readme writes between the
// markers. args are ckbench's arguments, as given.
func readmeSection(rep *benchReport, o options, m machine, args []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "_Written by `make bench` (ckbench `-readme`) on %s; the next run rewrites everything between the markers._\n\n",
		m.date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s.\n\n", m)
	fmt.Fprintf(&b, "Run: `go run ./cmd/ckbench %s`: %d runs a cell on each target, the targets in turns, %d records a 100 B cell (a quarter as many of 1 KiB), at most %d buffered in the producer. Every value is a median of the runs; every ratio to kfake or to the sink is the median of the per-run ratios.\n\n",
		strings.Join(args, " "), o.runsPerCell, o.records, o.inflight)
	var rows []row
	for _, cr := range rep.cells {
		rows = append(rows, summarize(cr)...)
	}
	produceTable(rows).markdown(&b)
	notes := append(floorNote(rep.floor, int64(o.floorMiB)<<20), durableNotes(rep.cells, rep.halfLoad)...)
	notes = append(notes, manyNotes(rep.cells, o, rep.queuedStatus)...)
	if len(rep.replication) > 0 {
		notes = append(notes, fmt.Sprintf("RF=3 (three brokers and ZooKeeper, min.insync.replicas=2), %d B, acks=all, %d partitions: produce %.2f of one broker's (median of %d rounds; aim at least %.2f)",
			replicationRecordBytes, replicationPartitions, medianRatio(rep.replication), len(rep.replication), replicationRatioAim))
	}
	notes = append(notes, restartNotes(rep.restart)...)
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\nGoals of the performance issue (issue 13):\n\n")
	goalsTable(goals(rep, o)).markdown(&b)
	return b.String()
}

// writeReadme rewrites the section of the file at path.
func writeReadme(path string, rep *benchReport, o options, args []string) error {
	if len(rep.cells) == 0 {
		return errors.New("the produce suite did not run: nothing to write")
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := rewriteSection(string(doc), readmeSection(rep, o, describeMachine(time.Now()), args))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The many cell asks whether the broker keeps its throughput, and its
// memory, when the load is spread thin: -many-partitions partitions
// (default 1,000) and -many-clients franz-go clients (default 100)
// producing at once, then as many consuming at once, 1 KiB records with
// acks=all. Each client is a kgo.Client of its own, so each has its own
// TCP connections (franz-go opens one for metadata and one for produce,
// or fetch, per broker): about twice -many-clients connections in each
// phase. Client j produces to, and then consumes, the partitions p with
// p % clients == j (clientPartitions), so every partition has one
// writer and one reader, and the record counts per client are known.
//
// The cell runs in the produce suite's turns on every target but
// durable (its cost is the durable rows' question, and a sync per
// partition per append would only make this cell long). Its rates are
// compared with the same target's 6-partition row of the same record
// size and acks, as ratios of the medians (the two cells do not run in
// the same turns); the aim is at least manyRatioAim. For the brokers
// ckbench started, the table shows the process's peak resident set
// (VmHWM, reset before each run through /proc/<pid>/clear_refs), which
// the many cell's must keep under -rss-cap-mib. ckbench passes
// -queued-max-request-bytes to the brokers as queued.max.request.bytes,
// Kafka's bound on the bytes of requests queued, and reports what the
// broker said of it at start.

const (
	manyRecordBytes   = 1024
	manyRefPartitions = 6
	manyRatioAim      = 0.7
)

// manyCell is the many cell of o, and false when -many-partitions is 0.
func manyCell(o options) (cell, bool) {
	if o.manyPartitions == 0 {
		return cell{}, false
	}
	return cell{size: manyRecordBytes, acks: "all", partitions: o.manyPartitions, clients: o.manyClients, records: o.records / 4}, true
}

// isManyCell tells the many cell from the matrix's: it alone has
// several clients.
func isManyCell(c cell) bool { return c.clientCount() > 1 }

// runsCell says whether the target of kind runs c: every target runs
// every cell, but durable not the many cell.
func runsCell(kind string, c cell) bool { return !(kind == targetDurable && isManyCell(c)) }

// manyRatios are, for each row of the many cell, its produce and
// consume rates over the same target's row of manyRefPartitions
// partitions, one client and the same size and acks; false where there
// is none.
func manyRatios(rows []row, many row) (ratios, bool) {
	for _, r := range rows {
		if r.kind == many.kind && r.cell.partitions == manyRefPartitions && !isManyCell(r.cell) &&
			r.cell.size == many.cell.size && r.cell.acks == many.cell.acks {
			return ratios{produce: many.produceRate / r.produceRate, consume: many.consumeRate / r.consumeRate}, true
		}
	}
	return ratios{}, false
}

// peakRSS is the largest peak RSS of rs, in bytes; 0 when unknown.
func peakRSS(rs []result) int64 {
	var peak int64
	for _, r := range rs {
		peak = max(peak, r.rssPeakBytes)
	}
	return peak
}

// resetPeakRSS makes the broker's peak resident set (VmHWM) its current
// one (Linux 4.0 and later).
func (p *brokerProc) resetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0)
}

// peakRSS is the broker's peak resident set (VmHWM) in bytes.
func (p *brokerProc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return procStatusBytes(string(b), "VmHWM")
}

// procStatusBytes reads a "Name:   1234 kB" line of /proc/<pid>/status.
func procStatusBytes(status, name string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status line %q: want a number of kB", line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc status line %q: %v", line, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("/proc status: no %s line", name)
}

// overrideStatus is what a broker's log says of the property name: the
// broker logs at start each property it does not know and each it
// accepts without effect (cmd/cloudkafka), and nothing of the others.
func overrideStatus(log, name string) string {
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(line, name+": supplied but not a known config"):
			return "not a known config, ignored"
		case strings.Contains(line, name+"=") && strings.Contains(line, ": accepted, no effect"):
			return "accepted, no effect"
		}
	}
	return "accepted"
}

// manyNotes are sentences on the many cell's ratios, peak RSS and cap,
// and on the queued.max.request.bytes the brokers were given.
func manyNotes(cells []cellRuns, o options, queuedStatus string) []string {
	var rows, many []row
	for _, cr := range cells {
		rs := summarize(cr)
		rows = append(rows, rs...)
		if isManyCell(cr.cell) {
			many = rs
		}
	}
	if len(many) == 0 {
		return nil
	}
	notes := []string{fmt.Sprintf("many partitions and connections, %s: each client a franz-go client with its own connections, client j producing to and then consuming the partitions p with p mod %d = j; compared with the same target's %d-partition row (ratio of the medians; aim at least %.1f)",
		cellShape(many[0].cell), many[0].cell.clientCount(), manyRefPartitions, manyRatioAim)}
	for _, m := range many {
		n := fmt.Sprintf("many, %s: ", m.label)
		if v, ok := manyRatios(rows, m); ok {
			n += fmt.Sprintf("produce %.2f, consume %.2f of its %d-partition rates", v.produce, v.consume, manyRefPartitions)
		} else {
			n += fmt.Sprintf("no %d-partition row of %d B, acks=%s to compare with", manyRefPartitions, m.cell.size, m.cell.acks)
		}
		if m.rssPeakBytes > 0 {
			n += fmt.Sprintf("; peak RSS %d MiB, cap %d MiB", m.rssPeakBytes>>20, o.rssCapMiB)
		}
		notes = append(notes, n)
	}
	if o.queuedMaxRequestBytes > 0 && queuedStatus != "" {
		notes = append(notes, fmt.Sprintf("queued.max.request.bytes=%d passed to the brokers: %s", o.queuedMaxRequestBytes, queuedStatus))
	}
	return notes
}

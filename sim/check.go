package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"cloudkafka/core"
)

// checker collects failures, at most failuresPerKindMax of each kind, so
// that one systematic bug does not bury the others.
type checker struct {
	failures []string
	perKind  map[string]int
}

const failuresPerKindMax = 5

func (c *checker) fail(kind, format string, args ...any) {
	if c.perKind == nil {
		c.perKind = map[string]int{}
	}
	c.perKind[kind]++
	if c.perKind[kind] == failuresPerKindMax+1 {
		c.failures = append(c.failures, kind+": further failures of this kind omitted")
	}
	if c.perKind[kind] > failuresPerKindMax {
		return
	}
	c.failures = append(c.failures, kind+": "+fmt.Sprintf(format, args...))
}

// readAt is who read what at one offset first.
type readAt struct {
	value string
	op    *Op
}

// CheckHistory runs the queue checks over a history and returns one line
// per failure. complete says the run converged (every acknowledged write
// had time to be read); without it, lost-write checks are skipped because
// the run reports a liveness failure anyway.
//
// The checks, each able to fail (see check_test.go):
//   - produced values are unique (the workload's own invariant);
//   - inconsistent-offset: one (partition, offset) read with two values;
//   - phantom: a value read that no produce carried, or in another partition;
//   - aborted-read: a value read whose produce failed definitely (a
//     definite error must mean "not written": the broker may answer only
//     retriable errors or KAFKA_STORAGE_ERROR, both indefinite, for a
//     write that may have reached the log);
//   - duplicate-assignment: two acknowledged produces claim one offset;
//   - lost-write / wrong-value: an acknowledged record not read at its
//     acknowledged offset with its value;
//   - gap: a fetch whose records do not start at the fetch offset or skip
//     an offset (offsets are contiguous: no compaction, no transactions);
//   - duplicate: a value of an idempotent producer read at two offsets;
//   - reorder: an idempotent producer's records out of order in a partition;
//   - nonmonotonic-send / nonmonotonic-poll: a client's later produce
//     landing below its earlier acknowledged one, or a consumer's fetch not
//     starting where its previous one left off (monotonic.go);
//   - hwm-regress / stale-read: a fetch that began after another ended saw
//     a lower high watermark than that one saw or read, or than an
//     acknowledged produce that ended before it had reached;
//   - hwm-regress / stale-read also for ListOffsets latest answers;
//   - fetch-error / produce-error / list-offsets-error: a non-retriable
//     error code (OFFSET_OUT_OF_RANGE included unless retention runs: a
//     position reached by reading never falls out of range otherwise; a
//     consumer that skipped a damaged range may be at its end before the
//     log is, see History.pastDamage).
//
// Media damage (History.Damaged, scrub.go) destroys acknowledged records
// on a partition's only replica: those in a damaged range are not lost for
// never being read.
//
// Retention (History.Retention) may delete acknowledged records: one below
// the highest log start offset the broker reported (ListOffsets earliest,
// Fetch v5+) is not lost for never being read. Whether retention was
// allowed to delete it is checked when the broker reveals the log start
// (world.checkLogStart), and the log start's monotonicity by the
// linearizability model.
func CheckHistory(h *History, complete bool) []string {
	var c checker
	produced := c.indexProduced(h)
	reads := c.indexReads(h, produced)
	var facts *compactFacts
	if h.Compacted {
		facts = newCompactFacts(h, reads)
	}
	c.checkAcked(h, reads, logStarts(h), complete, facts)
	c.checkContiguous(h)
	c.checkIdempotent(h, produced)
	c.checkRealTime(h)
	c.checkListed(h)
	c.checkTimeLookups(h, reads, produced)
	c.checkMonotonic(h)
	c.checkACL(h)
	if facts != nil {
		c.checkCompaction(h, facts, complete)
	}
	return c.failures
}

// checkListed checks that no ListOffsets partition answers a
// non-retriable error.
func (c *checker) checkListed(h *History) {
	for _, op := range h.Ops {
		if op.Kind != OpListOffsets || op.Outcome != OK {
			continue
		}
		for _, lo := range op.Listed {
			if lo.ErrorCode != 0 && !indefiniteCode(lo.ErrorCode) {
				c.fail("list-offsets-error", "op %d (%s) partition %d got %s", op.ID, op.Client, lo.Partition, errName(lo.ErrorCode))
			}
		}
	}
}

// logStarts returns, per partition, the highest log start offset any
// answer reported.
func logStarts(h *History) map[int32]core.Offset {
	out := map[int32]core.Offset{}
	for _, op := range h.Ops {
		if op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			if fp.ErrorCode == 0 && fp.LogStart > out[fp.Partition] {
				out[fp.Partition] = fp.LogStart
			}
		}
		for _, lo := range op.Listed {
			if lo.ErrorCode == 0 && lo.Timestamp == -2 && lo.Offset > out[lo.Partition] {
				out[lo.Partition] = lo.Offset
			}
		}
	}
	return out
}

// indefiniteCode says an error code leaves a write's outcome open: a
// retriable error (the write may have happened, KAFKA-13574) or
// KAFKA_STORAGE_ERROR (the log went offline after the data may have
// reached the disk).
func indefiniteCode(code int16) bool {
	err := kerr.ErrorForCode(code)
	return kerr.IsRetriable(err) || err == kerr.KafkaStorageError
}

func (c *checker) indexProduced(h *History) map[string]*Op {
	produced := map[string]*Op{}
	for _, op := range h.Ops {
		if op.Kind != OpProduce {
			continue
		}
		for _, v := range op.Values {
			if prev := produced[v]; prev != nil {
				c.fail("workload", "value %q produced by ops %d and %d", v, prev.ID, op.ID)
			}
			produced[v] = op
		}
		if h.aclSubject(op) && op.ErrorCode == kerr.TopicAuthorizationFailed.Code {
			continue // refused for want of an ACL: expected (acl.go)
		}
		if op.Outcome == Failed || (op.ErrorCode != 0 && !indefiniteCode(op.ErrorCode)) {
			c.fail("produce-error", "op %d (%s) to partition %d ended with error %s", op.ID, op.Client, op.Partition, errName(op.ErrorCode))
		}
	}
	return produced
}

// indexReads builds, per partition, offset -> first read, and checks every
// read against it and against the produced values.
func (c *checker) indexReads(h *History, produced map[string]*Op) map[int32]map[core.Offset]readAt {
	reads := map[int32]map[core.Offset]readAt{}
	for _, op := range h.Ops {
		if op.Kind != OpFetch {
			continue
		}
		for _, fp := range op.Fetches {
			outOfRange := fp.ErrorCode == kerr.OffsetOutOfRange.Code && (h.Retention || h.pastDamage(fp.Partition, fp.From))
			if fp.ErrorCode != 0 && !indefiniteCode(fp.ErrorCode) && !outOfRange {
				c.fail("fetch-error", "op %d (%s) partition %d at offset %d got %s", op.ID, op.Client, fp.Partition, fp.From, errName(fp.ErrorCode))
			}
			m := reads[fp.Partition]
			if m == nil {
				m = map[core.Offset]readAt{}
				reads[fp.Partition] = m
			}
			for _, r := range fp.Records {
				c.checkRead(op, fp.Partition, r, produced)
				if prev, ok := m[r.Offset]; ok {
					if prev.value != r.Value {
						c.fail("inconsistent-offset", "partition %d offset %d read as %q (op %d) and %q (op %d)", fp.Partition, r.Offset, prev.value, prev.op.ID, r.Value, op.ID)
					}
					continue
				}
				m[r.Offset] = readAt{value: r.Value, op: op}
			}
		}
	}
	return reads
}

func (c *checker) checkRead(op *Op, partition int32, r ReadRecord, produced map[string]*Op) {
	p := produced[r.Value]
	switch {
	case p == nil:
		c.fail("phantom", "op %d read %q at partition %d offset %d, which was never produced", op.ID, r.Value, partition, r.Offset)
	case p.Partition != partition:
		c.fail("phantom", "op %d read %q in partition %d; it was produced to partition %d", op.ID, r.Value, partition, p.Partition)
	case p.Outcome == Failed:
		c.fail("aborted-read", "op %d read %q at partition %d offset %d; its produce (op %d) failed definitely", op.ID, r.Value, partition, r.Offset, p.ID)
	}
}

// checkAcked: with facts (a compacted topic), a record never read is not
// lost when the cleaner may have removed it (compaction.go).
func (c *checker) checkAcked(h *History, reads map[int32]map[core.Offset]readAt, starts map[int32]core.Offset, complete bool, facts *compactFacts) {
	owner := map[int32]map[core.Offset]*Op{}
	for _, op := range h.Ops {
		if op.Kind != OpProduce || op.Outcome != OK {
			continue
		}
		if owner[op.Partition] == nil {
			owner[op.Partition] = map[core.Offset]*Op{}
		}
		for i, v := range op.Values {
			off := op.Offset + core.Offset(i)
			if prev := owner[op.Partition][off]; prev != nil {
				c.fail("duplicate-assignment", "partition %d offset %d acknowledged to op %d and op %d", op.Partition, off, prev.ID, op.ID)
			}
			owner[op.Partition][off] = op
			got, ok := reads[op.Partition][off]
			switch {
			case ok && got.value != v:
				c.fail("wrong-value", "op %d acknowledged %q at partition %d offset %d; read there: %q", op.ID, v, op.Partition, off, got.value)
			case !ok && complete && off >= starts[op.Partition] && (facts == nil || !facts.mayBeGone(op.Partition, recordRef{op, i}, off)) && !h.damaged(op.Partition, off):
				c.fail("lost-write", "op %d acknowledged %q at partition %d offset %d at %s; never read", op.ID, v, op.Partition, off, fmtInstant(op.Return))
			}
		}
	}
}

// checkContiguous checks every answered fetch: records start at the fetch
// offset and go up by one; in a compacted topic, where the cleaner leaves
// gaps, they start at or past it and go up.
func (c *checker) checkContiguous(h *History) {
	for _, op := range h.Ops {
		if op.Kind != OpFetch || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			next := fp.From
			for _, r := range fp.Records {
				if h.Compacted && r.Offset > next {
					next = r.Offset
				}
				if r.Offset != next {
					c.fail("gap", "op %d (%s) partition %d: expected offset %d, read %d", op.ID, op.Client, fp.Partition, next, r.Offset)
					break
				}
				next++
			}
		}
	}
}

// checkIdempotent checks idempotent producers' records: each value at one
// offset, and per partition in the order the producer made them.
//
// Retention does not excuse a duplicate: as in Kafka, a producer's state
// outlives its deleted batches (the store's producer snapshot).
func (c *checker) checkIdempotent(h *History, produced map[string]*Op) {
	seenAt := map[string]core.Offset{}
	type key struct {
		client    string
		partition int32
	}
	last := map[key]struct {
		n      int
		offset core.Offset
	}{}
	for _, rs := range sortedReads(h) {
		p := produced[rs.Value]
		if p == nil || !p.Idempotent {
			continue
		}
		if off, ok := seenAt[rs.Value]; ok {
			if off != rs.Offset {
				c.fail("duplicate", "idempotent value %q read at offsets %d and %d of partition %d", rs.Value, off, rs.Offset, rs.partition)
			}
			continue
		}
		seenAt[rs.Value] = rs.Offset
		n := valueNumber(rs.Value)
		k := key{p.Client, rs.partition}
		if prev, ok := last[k]; ok && n <= prev.n {
			c.fail("reorder", "%s's record %d at partition %d offset %d follows its record %d at offset %d", p.Client, n, rs.partition, rs.Offset, prev.n, prev.offset)
		}
		last[k] = struct {
			n      int
			offset core.Offset
		}{n, rs.Offset}
	}
}

type partitionRead struct {
	partition int32
	ReadRecord
}

// sortedReads lists the distinct (partition, offset) reads in order.
func sortedReads(h *History) []partitionRead {
	seen := map[partitionRead]bool{}
	var out []partitionRead
	for _, op := range h.Ops {
		if op.Kind != OpFetch {
			continue
		}
		for _, fp := range op.Fetches {
			for _, r := range fp.Records {
				pr := partitionRead{fp.Partition, r}
				if !seen[pr] {
					seen[pr] = true
					out = append(out, pr)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].partition != out[j].partition {
			return out[i].partition < out[j].partition
		}
		if out[i].Offset != out[j].Offset {
			return out[i].Offset < out[j].Offset
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// valueNumber returns n of a value "<client>#<n>".
func valueNumber(v string) int {
	i := strings.LastIndexByte(v, '#')
	n, err := strconv.Atoi(v[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
}

// checkRealTime checks, per partition, that a fetch which began after
// other operations ended saw at least what they established: the high
// watermark they saw, past the records they read, and past the records
// acknowledged to producers.
func (c *checker) checkRealTime(h *History) {
	type mark struct {
		at    core.Instant // when it became known (an op's Return)
		floor core.Offset  // a later fetch's high watermark must be >= floor
		op    *Op
		why   string
	}
	marks := map[int32][]mark{}
	type probe struct {
		op        *Op
		partition int32
		hwm       core.Offset // the high watermark (or latest offset) it saw
	}
	var probes []probe
	for _, op := range h.Ops {
		switch {
		case op.Kind == OpProduce && op.Outcome == OK:
			end := op.Offset + core.Offset(len(op.Values))
			marks[op.Partition] = append(marks[op.Partition], mark{op.Return, end, op, "acknowledged produce"})
		case op.Kind == OpFetch && op.Outcome == OK:
			for i := range op.Fetches {
				fp := &op.Fetches[i]
				if fp.ErrorCode != 0 {
					continue
				}
				floor := fp.HighWatermark
				marks[fp.Partition] = append(marks[fp.Partition], mark{op.Return, floor, op, "fetch"})
				probes = append(probes, probe{op, fp.Partition, fp.HighWatermark})
			}
		case op.Kind == OpListOffsets && op.Outcome == OK:
			for _, lo := range op.Listed {
				if lo.ErrorCode != 0 || lo.Timestamp != -1 {
					continue
				}
				marks[lo.Partition] = append(marks[lo.Partition], mark{op.Return, lo.Offset, op, "list-offsets latest"})
				probes = append(probes, probe{op, lo.Partition, lo.Offset})
			}
		}
	}
	// order-independent: sorts each partition independently
	for p := range marks {
		ms := marks[p]
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].at < ms[j].at })
	}
	sort.SliceStable(probes, func(i, j int) bool { return probes[i].op.Call < probes[j].op.Call })
	type best struct {
		i     int
		floor core.Offset
		m     *mark
	}
	state := map[int32]*best{}
	for _, pr := range probes {
		ms := marks[pr.partition]
		b := state[pr.partition]
		if b == nil {
			b = &best{floor: -1}
			state[pr.partition] = b
		}
		for ; b.i < len(ms) && ms[b.i].at < pr.op.Call; b.i++ {
			if ms[b.i].floor > b.floor {
				b.floor, b.m = ms[b.i].floor, &ms[b.i]
			}
		}
		if b.m != nil && pr.hwm < b.floor {
			kind := "hwm-regress"
			if b.m.why == "acknowledged produce" {
				kind = "stale-read"
			}
			c.fail(kind, "%s op %d (%s) began at %s and saw partition %d high watermark %d; %s op %d ended at %s having reached %d",
				pr.op.Kind, pr.op.ID, pr.op.Client, fmtInstant(pr.op.Call), pr.partition, pr.hwm, b.m.why, b.m.op.ID, fmtInstant(b.m.at), b.floor)
		}
	}
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if err := kerr.ErrorForCode(code); err != nil {
		return err.Error()
	}
	return "error " + strconv.Itoa(int(code))
}

// fmtInstant prints a virtual instant as seconds since the sim's start.
func fmtInstant(t core.Instant) string {
	return fmt.Sprintf("%.6fs", float64(t-epoch)/1e9)
}

// checkTimeLookups checks ListOffsets by timestamp T against the history:
// the answered record's timestamp is >= T and, with CreateTime (each
// batch stamped with its produce's Call instant), equals the timestamp of
// the record read at that offset; and no record read at a lower offset,
// still retained when the lookup ran, has a timestamp >= T. Retained is
// judged from the log start the first operation after the lookup saw:
// the log start only grows, so it bounds the one the lookup met.
func (c *checker) checkTimeLookups(h *History, reads map[int32]map[core.Offset]readAt, produced map[string]*Op) {
	ops := append([]*Op(nil), h.Ops...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	stamps := map[int32][]int64{} // per partition, by offset: the record's timestamp, -1 unknown
	stampsOf := func(part int32) []int64 {
		if st, ok := stamps[part]; ok {
			return st
		}
		var st []int64
		// order-independent: fills a slice indexed by offset
		for off, r := range reads[part] {
			p := produced[r.value]
			if p == nil || off < 0 {
				continue
			}
			for int64(len(st)) <= int64(off) {
				st = append(st, -1)
			}
			st[off] = p.Call.Millis()
			if p.NoTimestamp {
				st[off] = -1 // never at or after a target, and not compared
			}
		}
		stamps[part] = st
		return st
	}
	for _, op := range h.Ops {
		if op.Kind != OpListOffsets || op.Outcome != OK {
			continue
		}
		for _, lo := range op.Listed {
			if lo.Timestamp < 0 || lo.ErrorCode != 0 || lo.Offset < 0 {
				continue
			}
			if lo.Answered < lo.Timestamp {
				c.fail("time-lookup", "op %d partition %d: time %d answered offset %d with earlier timestamp %d", op.ID, lo.Partition, lo.Timestamp, lo.Offset, lo.Answered)
				continue
			}
			if h.LogAppendTime {
				continue
			}
			st := stampsOf(lo.Partition)
			if lo.Offset < core.Offset(len(st)) && st[lo.Offset] >= 0 && st[lo.Offset] != lo.Answered {
				c.fail("time-lookup", "op %d partition %d: offset %d answered with timestamp %d; its record has %d", op.ID, lo.Partition, lo.Offset, lo.Answered, st[lo.Offset])
			}
			// In a compacted topic a record read earlier may be gone by
			// the lookup: skipping it proves nothing.
			start, ok := logStartAfter(ops, op.Return, lo.Partition)
			for off := start; ok && !h.Compacted && off < lo.Offset && off < core.Offset(len(st)); off++ {
				if st[off] >= lo.Timestamp {
					c.fail("time-lookup", "op %d partition %d: time %d answered offset %d, but offset %d has timestamp %d", op.ID, lo.Partition, lo.Timestamp, lo.Offset, off, st[off])
					break
				}
			}
		}
	}
}

// logStartAfter returns the log start reported by the first operation
// (in call order) that began after instant t, if any.
func logStartAfter(ops []*Op, t core.Instant, part int32) (core.Offset, bool) {
	for _, op := range ops {
		if op.Call <= t || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			if fp.Partition == part && fp.ErrorCode == 0 && fp.LogStart >= 0 {
				return fp.LogStart, true
			}
		}
		for _, lo := range op.Listed {
			if lo.Partition == part && lo.ErrorCode == 0 && lo.Timestamp == -2 {
				return lo.Offset, true
			}
		}
	}
	return 0, false
}

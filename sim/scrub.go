package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"

	"cloudkafka/core"
)

// Media damage at run time and the log scrubber.
//
// The synced-flip fault flips one bit of a stored batch of the workload
// topic while the broker runs, in what its file has made durable and its
// producer had acknowledged: damage on the medium, which no crash or
// recovery is involved in. The bit lies in the batch's CRC or records,
// bytes no header walker parses (the broker's position lookups, the
// checks' own disk view), so that only a CRC check shows it. Damage to
// parsed header fields is what the crash-time kinds (corrupt.go) aim at.
//
// With one replica this is data loss Kafka does not protect against
// either: the damaged batch's records are gone, and once the scrubber
// found the damage the broker refuses the rest of the batch's segment
// too. The checks hold the broker to what it owes instead:
//
//   - scrub-missed: the scrubber (log.scrub.bytes.per.second) must report
//     the damage within scrubBound of the flip: two passes over every
//     log the broker holds at the configured rate, plus slack, counted
//     from the flip or from the end of the last stretch of faults that
//     disturbed the broker's timing (a pause stops its ticks). A segment
//     deleted meanwhile owes nothing.
//   - corrupt-read: a consumer's own CRC check (as a client with
//     check.crcs) catching a damaged batch in a fetch answer is the
//     broker's failure only if the fetch was sent after the scrubber
//     reported the damage, or past the bound. Before, it is what a
//     broker that sends stored bytes without checking them may serve
//     (one that checks refuses it with KAFKA_STORAGE_ERROR).
//   - scrub-report, scrub-false-damage: what the broker reports must be
//     the flip: its segment, the damaged batch's position and offset, and
//     the segment's end, from which on reads are refused; damage where no
//     flip was made is a failure.
//
// Once the broker reported it, a consumer refused with
// KAFKA_STORAGE_ERROR inside the refused range seeks past it, as its
// operator would after reading the broker's log; the records of the
// damaged batch, and those the refusal covers, are not lost writes
// (History.Damaged). Until the report, a consumer stuck there retries.
//
// The fault is drawn only where nothing restarts the broker: recovery
// verifies every batch and would cut the log at the damage, taking every
// later acknowledged record with it (TestSyncedBitFlipRestart shows
// that); a clean restart loads the log without verifying it and forgets
// what the scrubber marked, so the broker would serve the damage again
// until the scrubber found it anew. So: one broker, no crash-class faults,
// no clean restarts, no compaction (a damaged batch fails the cleaner,
// which takes the partition offline).

// scrubStream seeds the scrubber draws' own random source, so that the
// seed's other draws are as they were without them.
const scrubStream = 0x7363727562 // "scrub"

// drawScrub picks the brokers' scrub rate and, where it may run, the
// synced-flip fault (always for DirectSyncedFlip).
func (w *world) drawScrub() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, scrubStream))
	rates := []int64{1 << 20, 4 << 20, 16 << 20}
	flips := hasFault(w.faults, faultSyncedFlip)
	if !flips && w.cfg.Faults && w.flipsAllowed() && r.IntN(2) == 0 {
		w.faults = append(w.faults, &syncedFlipFault{meanInterval: core.Instant(1e9 + r.Int64N(15e9))})
		flips = true
	}
	rate := rates[r.IntN(len(rates))]
	if !flips && r.IntN(10) == 0 {
		rate = 0 // the scrubber off
	}
	if w.cfg.scrubRate != "" {
		rate, _ = strconv.ParseInt(w.cfg.scrubRate, 10, 64)
	}
	w.brokerProps["log.scrub.bytes.per.second"] = strconv.FormatInt(rate, 10)
	w.mix = append(w.mix, fmt.Sprintf("scrub=%d/s", rate))
}

// directSyncedFlip applies DirectSyncedFlip: the seed's faults without
// those that restart the broker (and the crash-time damage that rides on
// them), and the synced-flip fault (compaction is not drawn).
func (w *world) directSyncedFlip() {
	w.mix = append(w.mix, "directed=synced-flip")
	if w.ens != nil || !w.cfg.Faults {
		return
	}
	w.faults = slices.DeleteFunc(w.faults, func(f fault) bool {
		_, corrupt := f.(*corruptFault)
		return corrupt || causesCrashes([]fault{f}) || f.name() == "bit-flip" || f.name() == faultCleanRestart
	})
	w.broker.bitFlipProb = 0
	w.faults = append(w.faults, &syncedFlipFault{meanInterval: 2e9})
}

// flipsAllowed says whether the seed may flip synced bits: nothing
// restarts its one broker, and its topic is not compacted.
func (w *world) flipsAllowed() bool {
	return w.ens == nil && !causesCrashes(w.faults) && !hasFault(w.faults, faultCleanRestart) && !w.policy.compact && w.cfg.canary == canaryNone
}

const faultSyncedFlip = "synced-flip"

// syncedFlipFault flips a synced bit now and then (see the top of the
// file).
type syncedFlipFault struct{ meanInterval core.Instant }

func (f *syncedFlipFault) name() string { return faultSyncedFlip }
func (f *syncedFlipFault) describe() string {
	return fmt.Sprintf("%s(every~%s)", faultSyncedFlip, fmtDur(f.meanInterval))
}

func (f *syncedFlipFault) arm(w *world) {
	w.window(f.meanInterval, func() {
		if w.broker.up {
			w.broker.flipSyncedBatch()
		}
	})
}

// syncedFlip is one bit the fault flipped, and what became of it.
type syncedFlip struct {
	n      *node
	part   int32
	file   string
	fileID uint64      // the file under that name (memfs ID)
	pos    int64       // the damaged batch's position in the file
	base   core.Offset // the damaged batch's offsets, [base, last]
	last   core.Offset
	at     core.Instant
	// reported: the broker reported the damage at reportedAt; reads of
	// [base, refusedEnd), to the segment's end, are refused from then on.
	reported   bool
	reportedAt core.Instant
	refusedEnd core.Offset
	missed     bool // scrub-missed was reported
}

// DamagedRange is a range of a partition's offsets [From, To) whose
// records media damage destroyed, or that the broker refuses to serve
// since it found the damage (see sim/scrub.go).
type DamagedRange struct {
	Partition int32
	From, To  core.Offset
}

// damaged says whether offset off of partition part lies in a damaged
// range.
func (h *History) damaged(part int32, off core.Offset) bool {
	for _, d := range h.Damaged {
		if d.Partition == part && off >= d.From && off < d.To {
			return true
		}
	}
	return false
}

// pastDamage says whether off is where a damaged range of partition part
// ends: a consumer refused there skips to that end (consumer.skipDamage),
// which the scrubber took from the segment file, and the file may hold an
// append the broker has not finished yet. Until it has, the log ends
// below, and a fetch there is rightly answered OFFSET_OUT_OF_RANGE.
func (h *History) pastDamage(part int32, off core.Offset) bool {
	for _, d := range h.Damaged {
		if d.Partition == part && off == d.To {
			return true
		}
	}
	return false
}

// flipCandidate is a batch the fault may damage.
type flipCandidate struct {
	file    string
	part    int32
	b       span
	h       core.BatchHeader
	fileLen int64
}

// flipCandidates lists the batches of the workload topic's segments on
// n's disk that lie wholly in their file's synced image and were
// acknowledged, in segments no earlier flip damaged.
func (n *node) flipCandidates() []flipCandidate {
	w := n.w
	var out []flipCandidate
	for _, name := range n.fs.Files() {
		part, ok := workloadPartition(w, name)
		if !ok || !strings.HasSuffix(name, ".log") || w.flippedFile(n, name) {
			continue
		}
		synced, err := n.fs.SyncedSize(name)
		img, err2 := n.fs.ReadFile(name)
		if err != nil || err2 != nil {
			continue
		}
		for _, b := range batchSpans(img) {
			h, err := core.ParseBatchHeader(img[b.pos:])
			if err != nil || b.end() > synced || h.LastOffset() >= w.ackedEnd[part] || b.size <= core.BatchHeaderSize {
				continue
			}
			out = append(out, flipCandidate{file: name, part: part, b: b, h: h, fileLen: int64(len(img))})
		}
	}
	return out
}

// workloadPartition parses the workload topic's partition from the path
// of one of its files.
func workloadPartition(w *world, name string) (int32, bool) {
	dir := path.Base(path.Dir(name))
	rest, ok := strings.CutPrefix(dir, w.topic+"-")
	if !ok || path.Dir(path.Dir(name)) != dataDir {
		return 0, false
	}
	p, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || p < 0 || int(p) >= len(w.ackedEnd) {
		return 0, false
	}
	return int32(p), true
}

// flippedFile says whether a flip damaged the file now under name.
func (w *world) flippedFile(n *node, name string) bool {
	id := n.fs.ID(name, false)
	return slices.ContainsFunc(w.flips, func(f *syncedFlip) bool { return f.n == n && f.file == name && f.fileID == id })
}

// flipSyncedBatch flips one bit of a batch flipCandidates offers, in its
// CRC or its records, and returns the flip (nil: no batch qualifies).
func (n *node) flipSyncedBatch() *syncedFlip {
	w := n.w
	cands := n.flipCandidates()
	if len(cands) == 0 {
		return nil
	}
	c := cands[w.rng.IntN(len(cands))]
	// CRC bytes [17, 21), then the records [61, size): four plus the
	// records' bytes to choose from.
	u := w.rng.Int64N(4 + c.b.size - core.BatchHeaderSize)
	off := 17 + u
	if u >= 4 {
		off = core.BatchHeaderSize + u - 4
	}
	if err := n.fs.Flip(c.file, c.b.pos+off, 1<<w.rng.IntN(8)); err != nil {
		panic(err)
	}
	f := &syncedFlip{n: n, part: c.part, file: c.file, fileID: n.fs.ID(c.file, false), pos: c.b.pos,
		base: c.h.BaseOffset, last: c.h.LastOffset(), at: w.now}
	w.flips = append(w.flips, f)
	w.hist.Damaged = append(w.hist.Damaged, DamagedRange{Partition: f.part, From: f.base, To: f.last + 1})
	w.count(faultSyncedFlip)
	due := w.scrubDue(f)
	// Consumers stuck at the damage wait for the scrubber's report.
	w.clientDisturbedUntil = max(w.clientDisturbedUntil, due+clientSettle)
	w.logf("%s: a bit of the batch at %d of %s (offsets %d..%d, byte %d) flipped on the medium; the scrubber owes a report by %s",
		faultSyncedFlip, f.pos, f.file, f.base, f.last, f.pos+off, fmtInstant(due))
	w.schedule(due, func() { w.checkScrubbed(f) })
	return f
}

// scrubBound is how long the scrubber of n may take to find damage: two
// cycles over every log n holds (a cycle reads every byte once at the
// rate and spends at least a tick, or the wait for a Scrub's minimum
// credit, on each partition), plus two seconds. A broker running without
// the scrubber is held to the default rate: the checks owe it no excuse.
func (n *node) scrubBound() core.Instant {
	rate := n.brokerCfg.ScrubBytesPerSec
	if rate <= 0 {
		rate = 16 << 20
	}
	var bytes int64
	dirs := map[string]bool{}
	for _, name := range n.fs.Files() {
		if strings.HasSuffix(name, ".log") {
			size, _ := n.fs.WrittenSize(name)
			bytes += size
			dirs[path.Dir(name)] = true
		}
	}
	perPart := max(tickInterval, core.Instant(int64(64<<10)*1e9/rate))
	cycle := core.Instant(bytes*1e9/rate) + core.Instant(len(dirs)+1)*perPart
	return 2*cycle + 2e9
}

// scrubDue is when f must be reported: its bound after the flip, or
// after the last stretch of faults that disturbed the broker since.
func (w *world) scrubDue(f *syncedFlip) core.Instant {
	return max(f.at, w.disturbedUntil) + f.n.scrubBound()
}

// checkScrubbed fails an unreported flip whose bound passed; one whose
// bound moved on (the logs grew, a fault stalled the broker) is checked
// again then.
func (w *world) checkScrubbed(f *syncedFlip) {
	if f.reported || f.missed || f.n.fs.ID(f.file, false) != f.fileID {
		return // reported (or failed already), or the segment is gone
	}
	if due := w.scrubDue(f); due > w.now {
		w.schedule(due, func() { w.checkScrubbed(f) })
		return
	}
	w.failf("scrub-missed", "the batch at %d of %s (offsets %d..%d) damaged at %s is not reported by %s: the scrubber at %s bytes/s had time to find it",
		f.pos, f.file, f.base, f.last, fmtInstant(f.at), fmtInstant(w.now), w.brokerProps["log.scrub.bytes.per.second"])
	f.missed = true
}

// checkScrubbedAtEnd applies checkScrubbed to the flips still unreported
// when the run ends.
func (w *world) checkScrubbedAtEnd() {
	for _, f := range w.flips {
		if !f.reported && !f.missed && w.scrubDue(f) <= w.now {
			w.checkScrubbed(f)
		}
	}
}

// scrubReported takes the damage broker n reported in partition tp:
// it must be a flip's (see the top of the file).
func (w *world) scrubReported(n *node, tp core.TopicPartition, d core.ScrubDamage) {
	w.logf("node %d reports damage in %s: %+v", n.id, tp, d)
	for _, f := range w.flips {
		if f.n != n || f.file != d.Segment || f.reported || n.fs.ID(f.file, false) != f.fileID {
			continue
		}
		end := segmentEnd(n, f.file)
		if d.Position != f.pos || d.Offset != f.base || d.End != end || tp.Topic != w.topic || tp.Partition != f.part {
			w.failf("scrub-report", "node %d reports damage in %s %+v; the flip damaged the batch at %d (offset %d) of partition %d, in a segment ending at offset %d",
				n.id, tp, d, f.pos, f.base, f.part, end)
		}
		f.reported, f.reportedAt, f.refusedEnd = true, w.now, end
		w.hist.Damaged = append(w.hist.Damaged, DamagedRange{Partition: f.part, From: f.base, To: end})
		w.clientDisturbedUntil = max(w.clientDisturbedUntil, w.now+clientSettle) // consumers skip the damage from now on
		return
	}
	w.failf("scrub-false-damage", "node %d reports damage in %s that the simulator did not make: %+v", n.id, tp, d)
}

// segmentEnd is the offset after the last batch of the segment file name
// in n's written image.
func segmentEnd(n *node, name string) core.Offset {
	img, err := n.fs.ReadFile(name)
	if err != nil {
		return -1
	}
	end, _ := segmentBase(name)
	for _, b := range batchSpans(img) {
		if h, err := core.ParseBatchHeader(img[b.pos:]); err == nil {
			end = h.LastOffset() + 1
		}
	}
	return end
}

// skipDamage is where a consumer refused with KAFKA_STORAGE_ERROR at pos
// of partition part goes: past a reported damaged range holding pos.
func (w *world) skipDamage(part int32, pos core.Offset) (core.Offset, bool) {
	for _, f := range w.flips {
		if f.reported && f.refusedEnd > 0 && f.part == part && pos >= f.base && pos < f.refusedEnd {
			return f.refusedEnd, true
		}
	}
	return 0, false
}

// corruptRead judges a fetch answer (sent at call) whose batches failed
// the consumer's own checks (err, from decodeBatches).
func (w *world) corruptRead(who string, part int32, from core.Offset, call core.Instant, err error) {
	var be *batchError
	if errors.As(err, &be) {
		for _, f := range w.flips {
			if f.part != part || f.base != be.base {
				continue // (a base offset names one batch: nothing truncates these seeds' logs)
			}
			switch {
			case f.reported && call > f.reportedAt:
				w.failf("corrupt-read", "%s: partition %d: the damaged batch at offset %d was served to a fetch sent at %s, after the scrubber reported it at %s",
					who, part, f.base, fmtInstant(call), fmtInstant(f.reportedAt))
			case !f.reported && (f.missed || call > w.scrubDue(f)):
				w.failf("corrupt-read", "%s: partition %d: the damaged batch at offset %d was served to a fetch sent at %s, past the scrub bound",
					who, part, f.base, fmtInstant(call))
			default:
				w.logf("%s: partition %d: the consumer's CRC check caught the damaged batch at offset %d before the scrubber reported it", who, part, f.base)
			}
			return
		}
	}
	w.failf("corrupt-read", "%s: partition %d at offset %d: %v", who, part, from, err)
}

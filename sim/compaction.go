package sim

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"cloudkafka/core"
)

// Compaction in the simulator. Some seeds compact the workload's topic
// (policy.go: cleanup.policy compact or compact,delete, few keys, some
// tombstones, small segments, cleaner settings that reach its rare
// paths). The cleaner then removes records that a later record of the
// same key supersedes, and tombstones once delete.retention.ms has passed
// since their first cleaning; offsets never change. What that changes in
// the checks, and what it adds:
//
//   - lost-write: an acknowledged record never read is lost only if
//     nothing may have superseded it: no other record of its key lies, or
//     may lie, at a higher offset (an acknowledged or read one, or one of
//     an indefinite produce, or a retry's copy), and it is not a
//     tombstone (whose removal tombstone-early judges).
//   - gap: reads of a compacted log skip offsets; within a fetch they
//     must still go up.
//   - time lookups: a record read earlier may have been cleaned away by
//     the time of a lookup, so a lookup skipping it proves nothing.
//   - retention (durable.go): cleaning lowers a batch's max timestamp
//     when it removes its newest records, so the time rule is not judged.
//   - linearizability: the porcupine model is a contiguous log, and a
//     compacted partition's fetches legitimately skip offsets, so
//     compacted partitions are left out of it (linearize.go). The queue
//     checks above and the ones below judge them.
//
// Added, over the history and a final read: once the faults stop, a final
// reader reads every partition from its log start to the end, and the
// cleaner checkpoint of each (its own reading of the disk) is noted first.
//
//   - compaction-lost: in the final read, every key has a record at or
//     past the offset of its latest acknowledged record, unless that
//     record is a tombstone (gone after its horizon, perhaps after the
//     final reader read an older value), or the key is gone and a later
//     tombstone of it may have removed it (an indefinite one, read or
//     not), or retention deleted it;
//   - compaction-stale: below the noted cleaner checkpoint (and above
//     the last log start the final reader was told of), no key appears
//     twice in the final read (the cleaner keeps one record per key
//     below it);
//   - tombstone-early: a tombstone that is its key's last possible record
//     was skipped by a fetch that read past it before the broker's clock
//     could reach delete.retention.ms after any clean that first saw it;
//   - wrong-value: a tombstone read as a value or the reverse.

// finalReader names the final reader's client.
const finalReader = "final"

// startFinalRead starts the final reader of a compacted topic, at the
// start of the drain, after noting each partition's cleaner checkpoint.
func (w *world) startFinalRead() {
	w.hist.CleanedTo = map[int32]core.Offset{}
	for part := int32(0); part < w.partitions; part++ {
		w.hist.CleanedTo[part] = w.hostOf(part).checkpointOffset(part, "cleaner-offset-checkpoint", false)
		w.hist.Hosts = append(w.hist.Hosts, w.hostOf(part).id)
	}
	c := newConsumer(w, finalReader, true)
	c.maxPollRecords, c.seekProb, c.probeProb = 0, 0, 0
	w.final = c
	c.start()
}

// recordRef is one record of a produce: op.Values[i].
type recordRef struct {
	op *Op
	i  int
}

func (r recordRef) key() string { return r.op.Keys[r.i] }

func (r recordRef) tombstone() bool { return r.op.Tombstones[r.i] }

// compactFacts indexes a compacted history by key: where each key's
// records are known to be, and which may be anywhere.
type compactFacts struct {
	byValue map[string]recordRef
	// placed: per partition and key, the offsets of records known to be
	// in the log (acknowledged or read), in no order.
	placed map[int32]map[string][]core.Offset
	// unplaced: per partition and key, records that may be in the log at
	// an offset nobody saw: of indefinite or pending produces never read,
	// and extra copies a plain producer's retries may have appended.
	unplaced map[int32]map[string][]recordRef
	// readAt: per partition, the records reads saw, by offset.
	readAt map[int32]map[core.Offset]recordRef
}

func newCompactFacts(h *History, reads map[int32]map[core.Offset]readAt) *compactFacts {
	f := &compactFacts{byValue: map[string]recordRef{}, placed: map[int32]map[string][]core.Offset{},
		unplaced: map[int32]map[string][]recordRef{}, readAt: map[int32]map[core.Offset]recordRef{}}
	readValues := map[string]bool{}
	// order-independent: fills a set
	for _, m := range reads {
		// order-independent: fills a set
		for _, r := range m {
			readValues[r.value] = true
		}
	}
	for _, op := range h.Ops {
		if op.Kind != OpProduce || op.Keys == nil {
			continue
		}
		for i, v := range op.Values {
			ref := recordRef{op, i}
			f.byValue[v] = ref
			if op.Keys[i] == "" {
				continue
			}
			switch {
			case op.Outcome == OK:
				f.place(op.Partition, op.Keys[i], op.Offset+core.Offset(i))
			case op.Outcome != Failed && !readValues[v]:
				f.addUnplaced(op.Partition, ref)
			}
			if !op.Idempotent && op.Attempts > 1 && op.Outcome != Failed {
				f.addUnplaced(op.Partition, ref) // a retry may have appended a copy
			}
		}
	}
	// order-independent: fills per-key lists that are only searched
	for part, m := range reads {
		// order-independent: as above
		for off, r := range m {
			if ref, ok := f.byValue[r.value]; ok && ref.key() != "" {
				f.place(part, ref.key(), off)
				if f.readAt[part] == nil {
					f.readAt[part] = map[core.Offset]recordRef{}
				}
				f.readAt[part][off] = ref
			}
		}
	}
	return f
}

func (f *compactFacts) place(part int32, key string, off core.Offset) {
	if f.placed[part] == nil {
		f.placed[part] = map[string][]core.Offset{}
	}
	f.placed[part][key] = append(f.placed[part][key], off)
}

func (f *compactFacts) addUnplaced(part int32, ref recordRef) {
	if f.unplaced[part] == nil {
		f.unplaced[part] = map[string][]recordRef{}
	}
	f.unplaced[part][ref.key()] = append(f.unplaced[part][ref.key()], ref)
}

// mayBeSuperseded says whether a record of key other than the one at off
// is, or may be, at a higher offset of the partition. In a converged run
// only an unplaced tombstone can be such a record unseen: a value that
// landed is in the final read, or the cleaner removed it for a later
// record of the key, and so on up to a record the final read holds
// (placed) or a tombstone that went.
func (f *compactFacts) mayBeSuperseded(part int32, key string, off core.Offset, complete bool) bool {
	if key == "" {
		return false
	}
	for _, o := range f.placed[part][key] {
		if o > off {
			return true
		}
	}
	if complete {
		return f.unplacedTombstone(part, key)
	}
	return len(f.unplaced[part][key]) > 0
}

// mayBeGone says whether the cleaner may have removed the acknowledged
// record ref at off in a converged run: a tombstone, or a superseded
// record.
func (f *compactFacts) mayBeGone(part int32, ref recordRef, off core.Offset) bool {
	return ref.tombstone() || f.mayBeSuperseded(part, ref.key(), off, true)
}

// checkCompaction runs the compaction checks of a compacted history
// (see the top of this file); the final-read ones only when the run
// converged.
func (c *checker) checkCompaction(h *History, f *compactFacts, complete bool) {
	for _, op := range h.Ops {
		if op.Kind != OpFetch || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			for _, r := range fp.Records {
				if ref, ok := f.byValue[r.Value]; ok && ref.op.Tombstones != nil && ref.tombstone() != r.Tombstone {
					c.fail("wrong-value", "op %d read %q at partition %d offset %d as a tombstone=%v; it was produced as tombstone=%v",
						op.ID, r.Value, fp.Partition, r.Offset, r.Tombstone, ref.tombstone())
				}
			}
		}
	}
	c.checkTombstonesKept(h, f, complete)
	if !complete {
		return
	}
	for _, part := range sortedParts(f.placed) {
		final, start := finalRead(h, part)
		c.checkLatestKept(h, f, part, final, start)
		c.checkDeduplicated(h, f, part, final, start)
	}
}

// finalRead returns the records the final reader read of part, in offset
// order, and the highest log start its answers reported.
func finalRead(h *History, part int32) ([]ReadRecord, core.Offset) {
	seen := map[core.Offset]bool{}
	var out []ReadRecord
	start := core.Offset(0)
	for _, op := range h.Ops {
		if op.Client != finalReader || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			if fp.Partition != part || fp.ErrorCode != 0 {
				continue
			}
			start = max(start, fp.LogStart)
			for _, r := range fp.Records {
				if !seen[r.Offset] {
					seen[r.Offset] = true
					out = append(out, r)
				}
			}
		}
		for _, lo := range op.Listed {
			if lo.Partition == part && lo.ErrorCode == 0 && lo.Timestamp == -2 {
				start = max(start, lo.Offset)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out, start
}

// checkLatestKept is compaction-lost: every key's latest acknowledged
// record, or a later record of the key, is in the final read.
func (c *checker) checkLatestKept(h *History, f *compactFacts, part int32, final []ReadRecord, start core.Offset) {
	latest := map[string]core.Offset{}
	isTomb := map[string]bool{}
	for _, op := range h.Ops {
		if op.Kind != OpProduce || op.Outcome != OK || op.Partition != part || op.Keys == nil {
			continue
		}
		for i, k := range op.Keys {
			if off := op.Offset + core.Offset(i); k != "" && (latestMissing(latest, k) || off > latest[k]) {
				latest[k], isTomb[k] = off, op.Tombstones[i]
			}
		}
	}
	byKey := map[string][]core.Offset{}
	for _, r := range final {
		if ref, ok := f.byValue[r.Value]; ok && ref.key() != "" {
			byKey[ref.key()] = append(byKey[ref.key()], r.Offset)
		}
	}
	for _, k := range sortedKeys(latest) {
		l := latest[k]
		if l < start || maxOffset(byKey[k]) >= l {
			continue
		}
		if isTomb[k] && (len(byKey[k]) == 0 || slowFinalRead(h, part, maxOffset(byKey[k]), l)) {
			// The tombstone went after its horizon (tombstone-early judges
			// when). An older value may remain in the final read only if
			// it was read before the clean that removed it, and the
			// tombstone missed more than delete.retention.ms later: the
			// final reader reads while the cleaner runs, and a reader
			// slower than that may see an old value and miss the
			// tombstone, as in Kafka.
			continue
		}
		if f.unplacedTombstone(part, k) {
			continue // an indefinite tombstone may have superseded it and gone itself
		}
		if len(byKey[k]) == 0 && f.readTombstoneAbove(part, k, l) {
			continue // a tombstone read later superseded it, then went after its horizon
		}
		c.fail("compaction-lost", "partition %d key %s: its latest acknowledged record (offset %d, tombstone=%v) is missing from the final read, which holds the key at offsets %v",
			part, k, l, isTomb[k], byKey[k])
	}
}

// slowFinalRead says whether the final reader's read of part at old and
// its first read past tomb could lie more than delete.retention.ms apart
// on the broker's clock. Each answer's clock bounds its read from above;
// a long poll may have read up to consumerWaitMax before its answer.
func slowFinalRead(h *History, part int32, old, tomb core.Offset) bool {
	oldAt, pastAt := core.Instant(-1), core.Instant(-1)
	for _, op := range h.Ops {
		if op.Client != finalReader || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			if fp.Partition != part || fp.ErrorCode != 0 || len(fp.Records) == 0 {
				continue
			}
			if oldAt < 0 && hasOffset(fp.Records, old) {
				oldAt = op.BrokerClock
			}
			if pastAt < 0 && fp.Records[len(fp.Records)-1].Offset > tomb {
				pastAt = op.BrokerClock
			}
		}
	}
	retention := core.Instant(min(h.DeleteRetentionMs, math.MaxInt64/1_000_000)) * 1_000_000
	return oldAt >= 0 && pastAt >= 0 && pastAt-(oldAt-consumerWaitMax) > retention
}

func latestMissing(m map[string]core.Offset, k string) bool { _, ok := m[k]; return !ok }

func maxOffset(offs []core.Offset) core.Offset {
	m := core.Offset(-1)
	for _, o := range offs {
		m = max(m, o)
	}
	return m
}

// readTombstoneAbove says whether a read saw a tombstone of key above off.
func (f *compactFacts) readTombstoneAbove(part int32, key string, off core.Offset) bool {
	// order-independent: an existence test
	for o, ref := range f.readAt[part] {
		if o > off && ref.key() == key && ref.tombstone() {
			return true
		}
	}
	return false
}

func (f *compactFacts) unplacedTombstone(part int32, key string) bool {
	for _, ref := range f.unplaced[part][key] {
		if ref.tombstone() {
			return true
		}
	}
	return false
}

// checkDeduplicated is compaction-stale: below the cleaner checkpoint
// noted when the final reader began, the final read holds each key once,
// from the highest log start it was told of: the cleaner starts at the
// store's log start, which retention may have moved before the broker
// reported it, and below it the segments await deletion, not cleaning.
func (c *checker) checkDeduplicated(h *History, f *compactFacts, part int32, final []ReadRecord, start core.Offset) {
	cleaned := h.CleanedTo[part]
	first := map[string]core.Offset{}
	for _, r := range final {
		if r.Offset < start {
			continue
		}
		if r.Offset >= cleaned {
			break
		}
		ref, ok := f.byValue[r.Value]
		if !ok || ref.key() == "" {
			continue
		}
		if prev, dup := first[ref.key()]; dup {
			c.fail("compaction-stale", "partition %d key %s: the final read holds it at offsets %d and %d, both below the cleaner checkpoint %d",
				part, ref.key(), prev, r.Offset, cleaned)
			continue
		}
		first[ref.key()] = r.Offset
	}
}

// checkTombstonesKept is tombstone-early. A tombstone first cleaned at
// broker time T gets the horizon T + delete.retention.ms, and T is at
// least the broker's clock when the tombstone's produce began (the
// running incarnation's, or the first clock of any incarnation started
// since): a fetch answered before the broker's clock reached that plus
// delete.retention.ms cannot have skipped it, unless a later record of
// its key superseded it.
func (c *checker) checkTombstonesKept(h *History, f *compactFacts, complete bool) {
	type tomb struct {
		off     core.Offset
		horizon core.Instant // a lower bound on its delete horizon
		value   string
	}
	tombs := map[int32][]tomb{}
	for _, op := range h.Ops {
		if op.Kind != OpProduce || op.Outcome != OK || op.Tombstones == nil {
			continue
		}
		for i, isTomb := range op.Tombstones {
			off := op.Offset + core.Offset(i)
			if !isTomb || f.mayBeSuperseded(op.Partition, op.Keys[i], off, complete) {
				continue
			}
			hz := addInstant(horizonFloor(h, op), core.Instant(min(h.DeleteRetentionMs, math.MaxInt64/1_000_000))*1_000_000)
			tombs[op.Partition] = append(tombs[op.Partition], tomb{off, hz, op.Values[i]})
		}
	}
	for _, op := range h.Ops {
		if op.Kind != OpFetch || op.Outcome != OK {
			continue
		}
		for _, fp := range op.Fetches {
			if fp.ErrorCode != 0 || len(fp.Records) == 0 {
				continue
			}
			last := fp.Records[len(fp.Records)-1].Offset
			for _, t := range tombs[fp.Partition] {
				if t.off < fp.From || t.off >= last || op.BrokerClock >= t.horizon || hasOffset(fp.Records, t.off) {
					continue
				}
				c.fail("tombstone-early", "op %d (%s) read partition %d from %d to %d without the tombstone %q at %d; the broker's clock %d had not reached its earliest delete horizon %d",
					op.ID, op.Client, fp.Partition, fp.From, last, t.value, t.off, op.BrokerClock.Millis(), t.horizon.Millis())
			}
		}
	}
}

// horizonFloor bounds from below the broker time of any clean after op
// began: the running incarnation's clock then, and the first clock of
// every incarnation started later.
func horizonFloor(h *History, op *Op) core.Instant {
	floor := core.Instant(math.MaxInt64)
	if op.ClockAtCall >= 0 {
		floor = op.ClockAtCall
	}
	for _, inc := range h.Incarnations {
		if inc.At >= op.Call && h.hostedBy(op.Partition, inc.Broker) {
			floor = min(floor, inc.FirstTick)
		}
	}
	return floor
}

func addInstant(a, b core.Instant) core.Instant {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func hasOffset(rs []ReadRecord, off core.Offset) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Offset >= off })
	return i < len(rs) && rs[i].Offset == off
}

func sortedParts[V any](m map[int32]V) []int32 {
	out := make([]int32, 0, len(m))
	// order-independent: collected, then sorted
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sortedKeys lists a map's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	// order-independent: collected, then sorted
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

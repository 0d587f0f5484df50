package sim

import (
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// Targeted corruption: damage a crash may leave in what a segment file
// had not made durable, aimed at the checks of recovery that random torn
// tails and single bit flips almost never reach (io/segment's recovery
// cuts at a bad length, magic, CRC or offset, and drops segments after a
// break in their base offsets).
//
// Every kind is confined to a file's unsynced tail, the bytes written
// after its last fsync: the broker runs with
// log.flush.interval.messages=1, so nothing acknowledged lies there and
// no kind can make an acknowledged record unreadable. The confinement
// does not lean on the flush policy: under any policy these kinds damage
// only what a crash may lose anyway.
//
//   - header-flip: bits of one header field that the CRC does not cover
//     (base offset, batch length, partition leader epoch, magic, the CRC
//     itself) flip in a batch of the tail, and the crash keeps the tail
//     through that batch.
//   - header-tear: the crash keeps the tail up to a place strictly inside
//     the 61-byte header of one of its batches.
//   - stale-batch: after the crash, a copy of an older CRC-valid batch of
//     the file lies past its surviving end, where the lost tail was (a
//     stale write replayed); recovery must see the offsets go backwards.
//   - segment-gap: the file system committed a partition directory's
//     names on its own (as a journal commit may) and the crash then lost
//     the whole unsynced tail of a segment that a later segment follows;
//     recovery must see the break in base offsets. A segment other than
//     the active one has an unsynced tail only when appends queued behind
//     a Sync roll the segment before it runs, which random draws rarely
//     meet at a crash: directed seeds (DirectSegmentGap) crash at exactly
//     that sync.
const (
	faultHeaderFlip = "header-flip"
	faultHeaderTear = "header-tear"
	faultStaleBatch = "stale-batch"
	faultSegmentGap = "segment-gap"
)

// corruptKinds are the targeted kinds, in the order seeds draw them.
var corruptKinds = []string{faultHeaderFlip, faultHeaderTear, faultStaleBatch, faultSegmentGap}

// corruptFault marks in the mix that this seed's crashes may damage the
// disk in one targeted way, each crash with probability prob; the crash
// path does the damage (world.crashDisk), as for bitFlipMarker.
type corruptFault struct {
	kind string
	prob float64
}

func (f *corruptFault) name() string     { return f.kind }
func (f *corruptFault) describe() string { return fmt.Sprintf("%s(p=%.2f)", f.kind, f.prob) }
func (f *corruptFault) arm(*world)       {}

// drawCorruption picks the seed's targeted kinds (swarm: each on or off
// by itself) and how often a crash applies each. They are drawn from a
// stream split off w.rng with one draw, so that adding or retuning a kind
// moves none of the draws that follow in the seed's setup: the short
// seeds of TestDeterminism, for one, must keep doing enough work.
func drawCorruption(w *world) []fault {
	r := rand.New(rand.NewPCG(w.rng.Uint64(), pcgStream))
	var out []fault
	for _, kind := range corruptKinds {
		if r.Float64() < 0.5 {
			out = append(out, &corruptFault{kind: kind, prob: 0.5 + r.Float64()*0.5})
		}
	}
	return out
}

// span is one batch of a file image: its position and size in bytes.
type span struct{ pos, size int64 }

func (s span) end() int64 { return s.pos + s.size }

// tail is a segment file's unsynced tail as a crash finds it: the written
// bytes [synced, written), and the whole batches of the written image
// that start at or after synced.
type tail struct {
	name            string
	synced, written int64
	batches         []span
}

// batchSpans walks img from position 0 by batch headers (no CRC check)
// and returns the batches up to the first that does not parse or runs
// past the end of img.
func batchSpans(img []byte) []span {
	var out []span
	for pos := int64(0); pos+core.BatchHeaderSize <= int64(len(img)); {
		h, err := core.ParseBatchHeader(img[pos:])
		if err != nil || pos+int64(h.Size()) > int64(len(img)) {
			break
		}
		out = append(out, span{pos, int64(h.Size())})
		pos += int64(h.Size())
	}
	return out
}

// readTail returns name's unsynced tail; ok is false when it has none.
func readTail(fsys *memfs.FS, name string) (t tail, ok bool) {
	synced, err1 := fsys.SyncedSize(name)
	written, err2 := fsys.WrittenSize(name)
	if err1 != nil || err2 != nil || written <= synced {
		return tail{}, false
	}
	img, err := fsys.ReadFile(name)
	if err != nil {
		panic(err)
	}
	t = tail{name: name, synced: synced, written: written}
	for _, b := range batchSpans(img) {
		if b.pos >= synced {
			t.batches = append(t.batches, b)
		}
	}
	return t, true
}

// unsyncedTails lists the segment files that have an unsynced tail, in
// name order.
func (n *node) unsyncedTails() []tail {
	var out []tail
	for _, name := range n.fs.Files() {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		if t, ok := readTail(n.fs.FS, name); ok {
			out = append(out, t)
		}
	}
	return out
}

// headerField is a field of the batch header outside the CRC's cover
// (see core.BatchHeader): bytes [off, off+size) of the batch. A crash
// damages it in shares of weight, of the fields' total.
type headerField struct {
	name      string
	off, size int64
	weight    int
}

// uncoveredFields gives the length two shares: its damage shows three
// ways (a length too small, a batch past the end of the file, a CRC over
// the wrong bytes) where the others show one.
var uncoveredFields = []headerField{
	{"base-offset", 0, 8, 1},
	{"batch-length", 8, 4, 2},
	{"leader-epoch", 12, 4, 1},
	{"magic", 16, 1, 1},
	{"crc", 17, 4, 1},
}

// drawField picks a field by weight.
func drawField(rng *rand.Rand) headerField {
	total := 0
	for _, f := range uncoveredFields {
		total += f.weight
	}
	n := rng.IntN(total)
	for _, f := range uncoveredFields {
		if n -= f.weight; n < 0 {
			return f
		}
	}
	panic("sim: field weights")
}

// flipMask draws the bits to flip in a field whose bytes are now field,
// in one of three shapes, as often each: one bit (a length then changes a
// little and recovery checks the CRC over the wrong bytes), random bytes
// (garbage: a length mostly becomes huge or negative), or every set bit
// (the zeros of a sector the write never reached). The mask is never
// zero: a field already zero gets one bit.
func flipMask(rng *rand.Rand, field []byte) []byte {
	mask := make([]byte, len(field))
	switch rng.IntN(3) {
	case 1:
		for j := range mask {
			mask[j] = byte(rng.Uint32())
		}
	case 2:
		copy(mask, field)
	}
	if !slices.ContainsFunc(mask, func(b byte) bool { return b != 0 }) {
		mask[rng.IntN(len(mask))] = 1 << rng.IntN(8)
	}
	return mask
}

// flipField XORs field f of batch i of t with a flipMask and pins the
// crash to keep t through that batch and through a random number of the
// whole batches after it, so the damage survives. Every byte it touches
// is in the tail. It returns the kept length.
func flipField(fsys *memfs.FS, rng *rand.Rand, t tail, i int, f headerField) (keep int64, err error) {
	img, err := fsys.ReadFile(t.name)
	if err != nil {
		return 0, err
	}
	b := t.batches[i]
	for j, m := range flipMask(rng, img[b.pos+f.off:b.pos+f.off+f.size]) {
		if off := b.pos + f.off + int64(j); m != 0 {
			if off < t.synced {
				panic(fmt.Sprintf("sim: header flip at %d of %s, below its synced length %d", off, t.name, t.synced))
			}
			if err := fsys.Flip(t.name, off, m); err != nil {
				return 0, err
			}
		}
	}
	keep = t.batches[i+rng.IntN(len(t.batches)-i)].end()
	return keep, fsys.KeepOnCrash(t.name, keep)
}

// tearAt pins the crash to keep t up to k bytes into the header of its
// batch i, 0 < k < BatchHeaderSize.
func tearAt(fsys *memfs.FS, t tail, i int, k int64) (keep int64, err error) {
	if k <= 0 || k >= core.BatchHeaderSize {
		panic(fmt.Sprintf("sim: tear %d bytes into a header", k))
	}
	keep = t.batches[i].pos + k
	return keep, fsys.KeepOnCrash(t.name, keep)
}

// openGap commits the names of t's directory (so that the segment after
// t's file survives the crash) and pins the crash to drop t's whole
// unsynced tail.
func openGap(fsys *memfs.FS, t tail) error {
	if err := fsys.CommitNames(path.Dir(t.name)); err != nil {
		return err
	}
	return fsys.KeepOnCrash(t.name, t.synced)
}

// validBatches walks img from position 0 as recovery would accept it:
// CRC-valid batches with contiguous offsets. It returns them and the
// offset after the last (the file's surviving end in offsets).
func validBatches(img []byte) (out []span, next core.Offset) {
	for _, b := range batchSpans(img) {
		h, err := core.CheckBatch(img[b.pos:b.end()])
		if err != nil || (len(out) > 0 && h.BaseOffset != next) {
			break
		}
		out, next = append(out, b), h.LastOffset()+1
	}
	return out, next
}

// appendStale copies one of name's CRC-valid batches of at most room
// bytes past the end of the file (which must have just crashed, so that
// its images are equal). The copy's base offset lies below the file's
// surviving end, so recovery cuts there. ok is false when no batch fits.
func appendStale(fsys *memfs.FS, rng *rand.Rand, name string, room int64) (copied span, ok bool, err error) {
	img, err := fsys.ReadFile(name)
	if err != nil {
		return span{}, false, err
	}
	valid, next := validBatches(img)
	var fit []span
	for _, b := range valid {
		if b.size <= room {
			fit = append(fit, b)
		}
	}
	if len(fit) == 0 {
		return span{}, false, nil
	}
	copied = fit[rng.IntN(len(fit))]
	if h, _ := core.ParseBatchHeader(img[copied.pos:]); h.BaseOffset >= next {
		panic(fmt.Sprintf("sim: stale batch at offset %d is not below the surviving end %d of %s", h.BaseOffset, next, name))
	}
	return copied, true, fsys.Extend(name, img[copied.pos:copied.end()])
}

// planned is damage set up before a crash; it counts only if the crash
// leaves it in place.
type planned struct {
	kind, name string
	keep       int64  // the length the crash must leave name with
	later      string // segment-gap: the segment that must survive after name
	what       string // for the log
}

// crashDisk is the disk's side of a crash: in the fault phase, the seed's
// damage to unsynced tails first, then the power loss (memfs Crash), then
// the damage that lies in what survived.
func (n *node) crashDisk() {
	w := n.w
	if !w.faulting() {
		n.fs.Crash(w.rng)
		return
	}
	if n.bitFlipProb > 0 && w.rng.Float64() < n.bitFlipProb {
		n.flipUnsyncedBit()
	}
	kinds := w.corruptFaults()
	if len(kinds) == 0 {
		n.fs.Crash(w.rng)
		return
	}
	tails := n.unsyncedTails()
	var plans []planned
	for _, f := range kinds {
		if f.kind == faultStaleBatch || w.rng.Float64() >= f.prob {
			continue
		}
		if p, ok := n.planDamage(f.kind, tails, plans); ok {
			plans = append(plans, p)
		}
	}
	n.fs.Crash(w.rng)
	for _, p := range plans {
		if size, err := n.fs.WrittenSize(p.name); err == nil && size == p.keep && (p.later == "" || n.fs.Exists(p.later)) {
			w.count(p.kind)
			w.logf("%s: %s", p.kind, p.what)
		}
	}
	for _, f := range kinds {
		if f.kind == faultStaleBatch && w.rng.Float64() < f.prob {
			n.replayStale(tails)
		}
	}
}

// corruptFaults returns the seed's targeted kinds, in mix order.
func (w *world) corruptFaults() []*corruptFault {
	var out []*corruptFault
	for _, f := range w.faults {
		if cf, ok := f.(*corruptFault); ok {
			out = append(out, cf)
		}
	}
	return out
}

// planDamage applies one pre-crash kind to a random tail that no other
// plan of this crash has pinned; ok is false when none qualifies.
func (n *node) planDamage(kind string, tails []tail, plans []planned) (p planned, ok bool) {
	w := n.w
	files := n.fs.Files()
	var cands []tail
	var laters []string
	for _, t := range tails {
		later := nextSegment(files, t.name)
		if len(t.batches) == 0 || isPinned(plans, t.name) || (kind == faultSegmentGap && later == "") {
			continue
		}
		cands, laters = append(cands, t), append(laters, later)
	}
	if len(cands) == 0 {
		return planned{}, false
	}
	c := w.rng.IntN(len(cands))
	t, i := cands[c], w.rng.IntN(len(cands[c].batches))
	p = planned{kind: kind, name: t.name}
	var err error
	switch kind {
	case faultHeaderFlip:
		f := drawField(w.rng)
		p.keep, err = flipField(n.fs.FS, w.rng, t, i, f)
		if f.name == "leader-epoch" {
			// No check can tell a stamped epoch from a damaged one: the
			// replica comparison leaves this file's epochs out.
			if n.epochFlipped == nil {
				n.epochFlipped = map[string]bool{}
			}
			n.epochFlipped[path.Dir(t.name)] = true
		}
		p.what = fmt.Sprintf("%s of the batch at %d of %s damaged; kept through %d (unsynced %d..%d)", f.name, t.batches[i].pos, t.name, p.keep, t.synced, t.written)
	case faultHeaderTear:
		k := 1 + w.rng.Int64N(core.BatchHeaderSize-1)
		p.keep, err = tearAt(n.fs.FS, t, i, k)
		p.what = fmt.Sprintf("%s torn %d bytes into the header at %d (unsynced %d..%d)", t.name, k, t.batches[i].pos, t.synced, t.written)
	case faultSegmentGap:
		p.keep, p.later = t.synced, laters[c]
		err = openGap(n.fs.FS, t)
		p.what = fmt.Sprintf("names of %s committed; %s lost its tail %d..%d before %s", path.Dir(t.name), t.name, t.synced, t.written, p.later)
	default:
		panic("sim: unknown pre-crash damage " + kind)
	}
	if err != nil {
		panic(err)
	}
	return p, true
}

func isPinned(plans []planned, name string) bool {
	for _, p := range plans {
		if p.name == name {
			return true
		}
	}
	return false
}

// nextSegment returns the .log file that follows name in its directory
// (files sorted), or "".
func nextSegment(files []string, name string) string {
	for _, f := range files {
		if f > name && path.Dir(f) == path.Dir(name) && strings.HasSuffix(f, ".log") {
			return f
		}
	}
	return ""
}

// replayStale appends a stale batch to one file that had an unsynced tail
// before the crash, within the bytes the crash lost, so that it only
// stands where lost data stood (see appendStale).
func (n *node) replayStale(tails []tail) {
	w := n.w
	var cands []tail
	var rooms []int64
	for _, t := range tails {
		// A crash keeps at least the synced image: a file shorter than
		// that is another file under the same name (its creation was
		// never made durable), whose end is not where a tail was lost.
		if size, err := n.fs.WrittenSize(t.name); err == nil && size >= t.synced && size < t.written {
			cands, rooms = append(cands, t), append(rooms, t.written-size)
		}
	}
	for k, start := 0, w.rng.IntN(max(1, len(cands))); k < len(cands); k++ {
		c := (start + k) % len(cands)
		copied, ok, err := appendStale(n.fs.FS, w.rng, cands[c].name, rooms[c])
		if err != nil {
			panic(err)
		}
		if ok {
			w.count(faultStaleBatch)
			w.logf("%s: the batch at %d of %s replayed past its end (%d bytes lost there)", faultStaleBatch, copied.pos, cands[c].name, rooms[c])
			return
		}
	}
}

package segment

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	"cloudkafka/io/memfs"
)

// rec is one keyed record of a test batch; a nil value is a tombstone.
type rec struct {
	key   string
	value []byte
}

// kbatch describes a keyed test batch.
type kbatch struct {
	base   core.Offset
	recs   []rec
	ts     int64
	codec  int
	pid    core.ProducerID // 0: none
	pepoch int16
	seq    int32
	epoch  core.LeaderEpoch
}

// testCodecs keeps the codecs of the test batches' builder (tests of this
// package run one at a time): a gzip writer per batch would dominate them.
var testCodecs core.RecordCodecs

// makeKeyed builds a valid keyed batch, compressed with b.codec, with the
// core's own batch builder.
func makeKeyed(t tb, b kbatch) []byte {
	t.Helper()
	h := core.BatchHeader{BaseOffset: b.base, PartitionLeaderEpoch: b.epoch, Magic: 2,
		Attributes: int16(b.codec), LastOffsetDelta: int32(len(b.recs) - 1), BaseTimestamp: b.ts,
		MaxTimestamp: b.ts, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	if b.pid != 0 {
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = b.pid, b.pepoch, b.seq
	}
	rs := make([]kmsg.Record, len(b.recs))
	for i, r := range b.recs {
		rs[i] = kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Key: []byte(r.key), Value: r.value}
	}
	out, err := testCodecs.Rebuild(h, rs, -1, false)
	if err != nil {
		t.Fatalf("building a test batch: %v", err)
	}
	if _, err := core.CheckBatch(out); err != nil {
		t.Fatalf("test batch invalid: %v", err)
	}
	return out
}

// appendKeyed appends b at the log end and returns its records' offsets.
func appendKeyed(t tb, l *Log, cfg core.LogConfig, b kbatch, nowMs int64) {
	t.Helper()
	b.base = l.LogEndOffset()
	data := makeKeyed(t, b)
	last := b.base + core.Offset(len(b.recs)-1)
	if err := l.Append(data, b.base, last, b.ts, nowMs, cfg); err != nil {
		t.Fatalf("Append at %d: %v", b.base, err)
	}
}

// readRec is a record as read back from the log.
type readRec struct {
	offset core.Offset
	key    string
	value  []byte // nil: tombstone
}

// readRecords reads the whole log from its start and decodes every record,
// checking that batches and records go up.
func readRecords(t tb, l *Log) ([]readRec, []core.BatchHeader) {
	t.Helper()
	data := readAll(t, l, l.LogStartOffset())
	var out []readRec
	var hs []core.BatchHeader
	prev := core.Offset(-1)
	err := core.SplitBatches(data, func(batch []byte, h core.BatchHeader) error {
		if _, err := core.CheckStoredBatch(batch); err != nil {
			return err
		}
		if h.BaseOffset <= prev {
			return fmt.Errorf("batch at %d after offset %d", h.BaseOffset, prev)
		}
		hs = append(hs, h)
		recs, err := core.BatchRecords(batch, h, 1<<24)
		if err != nil {
			return err
		}
		for _, r := range recs {
			off := h.BaseOffset + core.Offset(r.OffsetDelta)
			if off <= prev {
				return fmt.Errorf("record at %d after offset %d", off, prev)
			}
			prev = off
			out = append(out, readRec{off, string(r.Key), r.Value})
		}
		prev = max(prev, h.LastOffset())
		return nil
	})
	if err != nil {
		t.Fatalf("reading the log back: %v", err)
	}
	return out, hs
}

// compactCfg is a small compacted log: 600-byte segments, nothing
// retained by age or size, every dirty byte cleanable, a roomy map.
func compactCfg() core.LogConfig {
	cfg := testCfg()
	cfg.SegmentBytes = 600
	cfg.Compact = true
	cfg.DeleteRetentionMs = 1000
	cfg.MinCleanableRatio = 0
	cfg.MaxCompactionLagMs = math.MaxInt64
	cfg.MaxMessageBytes = 1 << 20
	cfg.DedupeBufferBytes = 1 << 20
	cfg.DedupeLoadFactor = 0.9
	cfg.CleanerIOBufferBytes = 1 << 10
	return cfg
}

func val(s string) []byte { return []byte(s) }

// TestCleanKeepsLatestPerKey writes many updates of few keys over several
// segments (every codec) and cleans: below the cleaned point each key has
// exactly its latest record, at its original offset, and batches keep
// their base and last offsets.
func TestCleanKeepsLatestPerKey(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	var cov cover.Counts
	cfg.Coverage = &cov
	l := openLog(t, fsys, cfg)
	latest := map[string]core.Offset{}
	for i := range 60 {
		k := fmt.Sprintf("k%d", i%5)
		if i >= 45 { // the other keys' latest values lie in cleanable segments
			k = "z"
		}
		latest[k] = l.LogEndOffset()
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{k, val(fmt.Sprintf("v%d", i))}}, ts: int64(1000 + i), codec: i % 5}, 1000)
	}
	before, beforeHs := readRecords(t, l)
	st, err := l.Clean(2000, l.LogEndOffset(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ran || st.FirstDirty != l.active().base {
		t.Fatalf("Clean: got %+v; want a clean up to the active segment at %d", st, l.active().base)
	}
	after, afterHs := readRecords(t, l)
	seen := map[string]int{}
	for _, r := range after {
		if r.offset < st.FirstDirty {
			seen[r.key]++
			if r.offset != latest[r.key] && r.offset < st.FirstDirty {
				// An older value may stay only if its key's latest lies at or past the cleaned point.
				if latest[r.key] < st.FirstDirty {
					t.Errorf("offset %d holds an old value of %s; its latest is at %d", r.offset, r.key, latest[r.key])
				}
			}
		}
		if i := slices.IndexFunc(before, func(b readRec) bool { return b.offset == r.offset }); i < 0 || !bytes.Equal(before[i].value, r.value) || before[i].key != r.key {
			t.Errorf("offset %d after cleaning holds %s=%q, not what was written there", r.offset, r.key, r.value)
		}
	}
	for k, off := range latest {
		if !slices.ContainsFunc(after, func(r readRec) bool { return r.offset == off }) {
			t.Errorf("latest record of %s at %d lost", k, off)
		}
		if seen[k] > 1 {
			t.Errorf("key %s appears %d times below the cleaned point %d", k, seen[k], st.FirstDirty)
		}
	}
	for _, h := range afterHs {
		if !slices.ContainsFunc(beforeHs, func(b core.BatchHeader) bool { return b.BaseOffset == h.BaseOffset && b.LastOffset() == h.LastOffset() }) {
			t.Errorf("batch %d..%d after cleaning matches no original batch", h.BaseOffset, h.LastOffset())
		}
	}
	if cov.Of(cover.CleanerRan) != 1 {
		t.Errorf("cleaner-ran fired %d times; want 1", cov.Of(cover.CleanerRan))
	}
	if st.BytesAfter >= st.BytesBefore {
		t.Errorf("cleaning rewrote %d bytes into %d; want fewer", st.BytesBefore, st.BytesAfter)
	}
	// Reopening finds the same records: the gaps are legal below the bound.
	l.Close()
	l = openLog(t, fsys, cfg)
	if again, _ := readRecords(t, l); !slices.EqualFunc(again, after, recEqual) {
		t.Fatalf("after reopening: got %d records; want the %d cleaning left", len(again), len(after))
	}
}

func recEqual(a, b readRec) bool {
	return a.offset == b.offset && a.key == b.key && bytes.Equal(a.value, b.value) && (a.value == nil) == (b.value == nil)
}

// TestCleanTombstoneHorizon: a tombstone that is its key's latest record
// stays for delete.retention.ms after the clean that first saw it, then
// goes; the older value of its key goes at once.
func TestCleanTombstoneHorizon(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	var cov cover.Counts
	cfg.Coverage = &cov
	l := openLog(t, fsys, cfg)
	appendKeyed(t, l, cfg, kbatch{recs: []rec{{"a", val("1")}, {"b", val("1")}}, ts: 10}, 10)
	appendKeyed(t, l, cfg, kbatch{recs: []rec{{"a", nil}}, ts: 11}, 11)
	for i := range 30 { // fill segments so that the tombstone's is not active
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"c", val(fmt.Sprint(i))}}, ts: 12}, 12)
	}
	has := func(key string, tomb bool) bool {
		rs, _ := readRecords(t, l)
		return slices.ContainsFunc(rs, func(r readRec) bool { return r.key == key && (r.value == nil) == tomb })
	}
	clean := func(now int64) {
		t.Helper()
		if _, err := l.Clean(now, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	clean(5000)
	if has("a", false) || !has("a", true) {
		t.Fatalf("after the first clean: the old value of a must go and its tombstone stay")
	}
	appendKeyed(t, l, cfg, kbatch{recs: []rec{{"d", val("x")}}, ts: 13}, 13)
	clean(5000 + cfg.DeleteRetentionMs - 1)
	if !has("a", true) {
		t.Fatalf("the tombstone went before delete.retention.ms had passed since its first clean")
	}
	for i := range 10 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"c", val(fmt.Sprint(i))}}, ts: 14}, 14)
	}
	clean(5000 + cfg.DeleteRetentionMs)
	if has("a", true) || has("a", false) {
		t.Fatalf("the tombstone stayed after its delete horizon")
	}
	if cov.Of(cover.CleanerRemovedTombstone) == 0 {
		t.Errorf("cleaner-removed-tombstone did not fire")
	}
	if !has("b", false) {
		t.Fatalf("b's only value went")
	}
}

// TestCleanHorizonStartsWhenMapped: a prefix clean (the map filled) that
// rewrites a tombstone's batch past the map's end gives it no delete
// horizon; the clean that maps it removes its key's older values and
// starts its delete.retention.ms then, so that a reader who saw an old
// value still meets the tombstone within that time.
func TestCleanHorizonStartsWhenMapped(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	cfg.DedupeBufferBytes = 5 * offsetMapEntry // 4 keys
	l := openLog(t, fsys, cfg)
	appendKeyed(t, l, cfg, kbatch{recs: []rec{{"a", val("old")}}, ts: 10}, 10)
	for i := range 4 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{fmt.Sprintf("k%d", i), val("x")}}, ts: 10}, 10)
	}
	appendKeyed(t, l, cfg, kbatch{recs: []rec{{"a", nil}}, ts: 11}, 11)
	for i := range 30 { // later segments, so that the first is not active
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"c", val(fmt.Sprint(i))}}, ts: 12}, 12)
	}
	st, err := l.Clean(5000, l.LogEndOffset(), cfg)
	if err != nil || !st.MapFull || st.FirstDirty > 5 {
		t.Fatalf("first clean: %+v, %v; want a prefix clean that stops before the tombstone at 5", st, err)
	}
	_, hs := readRecords(t, l)
	for _, h := range hs {
		if hz, ok := h.DeleteHorizon(); ok && h.BaseOffset <= 5 && h.LastOffset() >= 5 {
			t.Fatalf("the tombstone's batch got delete horizon %d from a clean whose map ended before it", hz)
		}
	}
	// Cleans until the map holds the tombstone, all at a time when a
	// horizon set by the first clean would have passed.
	now := 5000 + cfg.DeleteRetentionMs
	for range 20 {
		if _, err := l.Clean(now, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	rs, _ := readRecords(t, l)
	oldGone := !slices.ContainsFunc(rs, func(r readRec) bool { return r.key == "a" && r.value != nil })
	tomb := slices.ContainsFunc(rs, func(r readRec) bool { return r.key == "a" && r.value == nil })
	if !oldGone || !tomb {
		t.Fatalf("after the clean that mapped the tombstone: old value gone %v, tombstone kept %v; want both", oldGone, tomb)
	}
}

// TestCleanDedupeBufferFull: a map that holds 4 keys cleans a prefix of
// the dirty section per clean; repeated cleans reach the end and leave
// each key once.
func TestCleanDedupeBufferFull(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	cfg.DedupeBufferBytes = 5 * offsetMapEntry
	cfg.DedupeLoadFactor = 0.9
	l := openLog(t, fsys, cfg)
	for i := range 80 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{fmt.Sprintf("k%d", i%12), val(fmt.Sprint(i))}}, ts: 1}, 1)
	}
	end := l.active().base
	fulls := 0
	for round := 0; round < 100; round++ {
		st, err := l.Clean(1, l.LogEndOffset(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.MapFull {
			fulls++
		}
		if !st.Ran {
			break
		}
		if st.FirstDirty >= end {
			break
		}
	}
	if fulls == 0 {
		t.Fatalf("the 4-entry map never filled")
	}
	cfg.DedupeBufferBytes = 1 << 20
	if _, err := l.Clean(1, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	rs, _ := readRecords(t, l)
	count := map[string]int{}
	for _, r := range rs {
		if r.offset < end {
			count[r.key]++
		}
	}
	for k, n := range count {
		if n > 1 {
			t.Errorf("key %s appears %d times below %d after cleaning to the end", k, n, end)
		}
	}
}

// TestCleanEligibility: min.cleanable.dirty.ratio, min.compaction.lag.ms
// and max.compaction.lag.ms decide whether and how far a clean goes.
func TestCleanEligibility(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	l := openLog(t, fsys, cfg)
	for i := range 40 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"k", val(fmt.Sprint(i))}}, ts: int64(100 + i)}, int64(100+i))
	}
	cfg.MinCleanableRatio = 1 // a ratio can never exceed 1
	if st, _ := l.Clean(200, l.LogEndOffset(), cfg); st.Ran {
		t.Fatalf("cleaned with min.cleanable.dirty.ratio=1")
	}
	cfg.MaxCompactionLagMs = 50 // the first batch is 100 ms old at 200
	cfg.MinCompactionLagMs = 1 << 40
	if st, _ := l.Clean(200, l.LogEndOffset(), cfg); st.Ran {
		t.Fatalf("cleaned segments younger than min.compaction.lag.ms")
	}
	cfg.MinCompactionLagMs = 0
	st, err := l.Clean(200, l.LogEndOffset(), cfg)
	if err != nil || !st.Ran {
		t.Fatalf("max.compaction.lag.ms did not force a clean: %+v %v", st, err)
	}
	if st, _ := l.Clean(200, 0, cfg); st.Ran {
		t.Fatalf("cleaned with the first uncleanable offset at 0")
	}
}

// TestCleanKeepsProducerState: batches of an idempotent producer whose
// records all went keep their headers while they are in the producer's
// window, so the windows recovery rebuilds equal those before.
func TestCleanKeepsProducerState(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	l := openLog(t, fsys, cfg)
	for i := range 30 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"k", val(fmt.Sprint(i))}}, ts: 1, pid: 7, seq: int32(i)}, 1)
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"k", val(fmt.Sprint(i))}}, ts: 1}, 1)
	}
	want := l.Recovered().Producers
	if _, err := l.Clean(1, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, fsys, cfg)
	if got := l.Recovered().Producers; !slices.Equal(got, want) {
		t.Fatalf("producer windows after cleaning and reopening:\n got %v\nwant %v", got, want)
	}
}

// TestCleanKeepsWindowACrashMayRestore cleans while a producer's newest
// batches are not yet synced, then loses them in a power loss: the window
// a full recovery rebuilds from the batch headers must be the one the log
// had as of its synced end. The cleaner emptied the producer's older
// batches (a later batch without a producer took their key), and it may
// drop the header of none that is in that window, although the window it
// holds, as of the log end, has moved past them.
func TestCleanKeepsWindowACrashMayRestore(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	l := openLog(t, fsys, cfg)
	for i := range 10 {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"k", val(fmt.Sprint(i))}}, ts: 1, pid: 7, seq: int32(i)}, 1)
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"k", val(fmt.Sprint(i))}}, ts: 1}, 1)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	synced := l.LogEndOffset()
	want := l.Recovered().Producers
	if len(want) != ProducerWindow || want[0].FirstSeq != 10-ProducerWindow {
		t.Fatalf("window before the unsynced appends: %v; want sequences %d to 9", want, 10-ProducerWindow)
	}
	for i := 10; i < 10+ProducerWindow; i++ {
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"u", val(fmt.Sprint(i))}}, ts: 1, pid: 7, seq: int32(i)}, 1)
	}
	st, err := l.Clean(1, synced, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ran || st.RecordsRemoved == 0 {
		t.Fatalf("the clean below the synced end %d: %+v; want records removed", synced, st)
	}
	fsys.Crash(rand.New(rand.NewPCG(1, 2)))
	l = openLog(t, fsys, cfg)
	if end := l.LogEndOffset(); end != synced {
		t.Fatalf("after the power loss the log ends at %d; want the synced end %d", end, synced)
	}
	if got := l.Recovered().Producers; !slices.Equal(got, want) {
		t.Fatalf("producer window rebuilt after cleaning and a power loss:\n got %v\nwant %v", got, want)
	}
}

// crashAt is the panic an Inject hook throws at the chosen operation.
type crashAt struct{ op, path string }

// TestCleanCrashAtEveryOperation crashes a clean before each of its file
// operations in turn, as a power loss (unsynced bytes and names lost or
// torn) or a process crash (nothing lost), reopens the log, and checks
// that recovery leaves a valid log whose records sit at their original
// offsets with every key's latest value, and that cleaning it again gives
// what an uninterrupted clean gives; with file.delete.delay.ms 0 and
// with the replaced segments renamed aside (deletion.go).
func TestCleanCrashAtEveryOperation(t *testing.T) {
	for _, delay := range []int64{0, 1000} {
		t.Run(fmt.Sprintf("delay=%d", delay), func(t *testing.T) { testCleanCrashAtEveryOperation(t, delay) })
	}
}

func testCleanCrashAtEveryOperation(t *testing.T, delayMs int64) {
	cfg := compactCfg()
	cfg.FileDeleteDelayMs = delayMs
	build := func() (*memfs.FS, *Log, map[string]core.Offset) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 0.7, GarbageProb: 0.5, GarbageBytesMax: 64}
		l := openLog(t, fsys, cfg)
		latest := map[string]core.Offset{}
		write := func(from, to int) {
			for i := from; i < to; i++ {
				k := fmt.Sprintf("k%d", i%6)
				var v []byte
				if i%7 != 3 {
					v = val(fmt.Sprint(i))
				}
				latest[k] = l.LogEndOffset()
				appendKeyed(t, l, cfg, kbatch{recs: []rec{{k, v}}, ts: 1, codec: i % 5, pid: core.ProducerID(1 + i%2), seq: int32(i / 2)}, 1)
			}
		}
		// A first clean shrinks the segments, so that the clean under
		// test merges several into one group.
		write(0, 30)
		if _, err := l.Clean(50, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
		write(30, 55)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		return fsys, l, latest
	}
	// The reference: an uninterrupted clean, and how many operations it does.
	fsys, l, latest := build()
	ops := 0
	fsys.Inject = func(string, string) error { ops++; return nil }
	if _, err := l.Clean(100, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	fsys.Inject = nil
	want, _ := readRecords(t, l)
	if aside := deletedNames(fsys, testDir); (len(aside) > 0) != (delayMs > 0) {
		t.Fatalf("with file.delete.delay.ms %d the clean left .deleted files %v", delayMs, aside)
	}
	t.Logf("the clean does %d file operations", ops)
	if ops < 10 {
		t.Fatalf("the reference clean did only %d file operations", ops)
	}
	var cov cover.Counts
	for k := 0; k < ops; k++ {
		for _, power := range []bool{true, false} {
			fsys, l, _ := build()
			original, _ := readRecords(t, l)
			n := 0
			fsys.Inject = func(op, path string) error {
				if n++; n == k+1 {
					panic(crashAt{op, path})
				}
				return nil
			}
			var hit crashAt
			func() {
				defer func() {
					if r := recover(); r != nil {
						hit = r.(crashAt)
					}
				}()
				l.Clean(100, l.LogEndOffset(), cfg)
			}()
			fsys.Inject = nil
			if power {
				fsys.Crash(rand.New(rand.NewPCG(uint64(k), 9)))
			} else {
				fsys.ProcessCrash()
			}
			c := cfg
			c.Coverage = &cov
			l2, err := Open(fsys, testDir, c)
			if err != nil {
				t.Fatalf("crash before op %d (%s %s, power loss %v): reopen: %v", k, hit.op, hit.path, power, err)
			}
			got, _ := readRecords(t, l2)
			checkSubset(t, fmt.Sprintf("crash before op %d (%s %s, power loss %v)", k, hit.op, hit.path, power), got, original, latest)
			if l2.LogEndOffset() != l.LogEndOffset() {
				t.Fatalf("crash before op %d: log end %d; want %d", k, l2.LogEndOffset(), l.LogEndOffset())
			}
			if _, err := l2.Clean(100, l2.LogEndOffset(), cfg); err != nil {
				t.Fatal(err)
			}
			if again, _ := readRecords(t, l2); !slices.EqualFunc(again, want, recEqual) {
				t.Fatalf("crash before op %d (%s %s): cleaning again gives %v; want %v", k, hit.op, hit.path, again, want)
			}
			l2.Close()
		}
	}
	if cov.Of(cover.CleanerSwapCompleted) == 0 || cov.Of(cover.CleanerLeftoverDiscarded) == 0 {
		t.Errorf("recovery never completed a swap (%d) or discarded a leftover (%d)",
			cov.Of(cover.CleanerSwapCompleted), cov.Of(cover.CleanerLeftoverDiscarded))
	}
}

// checkSubset checks a recovered log against the original records: each
// record sits at an original offset with the original key and value, and
// every key's latest record is there.
func checkSubset(t *testing.T, what string, got, original []readRec, latest map[string]core.Offset) {
	t.Helper()
	for _, r := range got {
		i := slices.IndexFunc(original, func(o readRec) bool { return o.offset == r.offset })
		if i < 0 || !recEqual(original[i], r) {
			t.Fatalf("%s: offset %d holds %s=%q, not what was written there", what, r.offset, r.key, r.value)
		}
	}
	for k, off := range latest {
		if !slices.ContainsFunc(got, func(r readRec) bool { return r.offset == off }) {
			t.Fatalf("%s: the latest record of %s at %d is gone", what, k, off)
		}
	}
}

// TestCleanMatchesModel is a property test: random keyed appends (few
// keys, tombstones, idempotent batches, every codec), cleans at random
// times with random settings (small dedupe buffers included), syncs,
// reopens, crashes, and crashes in the middle of a clean. After every
// step: records sit at the offsets they were written at with their
// values; every key's latest record is there unless it is a tombstone
// whose delete horizon may have passed; below the cleaner checkpoint no
// key appears twice.
func TestCleanMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 0.7, GarbageProb: 0.5, GarbageBytesMax: 64}
		cfg := compactCfg()
		cfg.SegmentBytes = rapid.Int64Range(200, 2000).Draw(t, "segmentBytes")
		cfg.DeleteRetentionMs = rapid.Int64Range(0, 200).Draw(t, "deleteRetentionMs")
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := &cleanModel{latest: map[string]core.Offset{}, firstClean: map[core.Offset]int64{}}
		now := int64(1000)
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			now += rapid.Int64Range(0, 50).Draw(t, "tick")
			switch rapid.IntRange(0, 8).Draw(t, "op") {
			case 0, 1, 2, 3:
				m.append(t, l, cfg, now)
			case 8: // retention that deletes nothing must keep the log start
				if _, err := l.Retain(now, l.LogEndOffset(), cfg); err != nil {
					t.Fatal(err)
				}
			case 4, 5:
				l = m.clean(t, fsys, l, cfg, now)
			case 6:
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = m.reopen(t, fsys, cfg)
			default:
				fsys.Crash(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "crashSeed"), 0)))
				l = m.reopen(t, fsys, cfg)
			}
			m.check(t, l, now, cfg)
		}
	})
}

// cleanModel is what the property test knows: every record appended (all
// synced at once), each key's latest offset, and for each tombstone the
// time of the first clean that ran after it was appended.
type cleanModel struct {
	recs       []readRec
	latest     map[string]core.Offset
	firstClean map[core.Offset]int64 // tombstone offset -> first clean's time
	cleanedTo  core.Offset
}

func (m *cleanModel) append(t *rapid.T, l *Log, cfg core.LogConfig, now int64) {
	n := rapid.IntRange(1, 4).Draw(t, "records")
	b := kbatch{ts: now, codec: rapid.IntRange(0, 4).Draw(t, "codec")}
	if rapid.Bool().Draw(t, "idempotent") {
		b.pid, b.seq = 3, int32(len(m.recs))
	}
	base := l.LogEndOffset()
	for i := range n {
		k := fmt.Sprintf("k%d", rapid.IntRange(0, 4).Draw(t, "key"))
		var v []byte
		if rapid.IntRange(0, 4).Draw(t, "tombstone") > 0 {
			v = val(strings.Repeat("v", rapid.IntRange(0, 40).Draw(t, "valueBytes")))
		}
		b.recs = append(b.recs, rec{k, v})
		m.recs = append(m.recs, readRec{base + core.Offset(i), k, v})
		m.latest[k] = base + core.Offset(i)
	}
	appendKeyed(t, l, cfg, b, now)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
}

// clean cleans, sometimes with a tiny map, and sometimes crashes before
// one of the clean's file operations.
func (m *cleanModel) clean(t *rapid.T, fsys *memfs.FS, l *Log, cfg core.LogConfig, now int64) *Log {
	cfg.DedupeBufferBytes = rapid.SampledFrom([]int64{2 * offsetMapEntry, 4 * offsetMapEntry, 1 << 20}).Draw(t, "dedupe")
	cfg.MinCleanableRatio = rapid.SampledFrom([]float64{0, 0.5}).Draw(t, "ratio")
	crashOp := rapid.IntRange(-1, 40).Draw(t, "crashOp")
	n := 0
	if crashOp >= 0 {
		fsys.Inject = func(op, path string) error {
			if n++; n == crashOp+1 {
				panic(crashAt{op, path})
			}
			return nil
		}
	}
	crashed := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(crashAt); !ok {
					panic(r)
				}
				crashed = true
			}
		}()
		st, err := l.Clean(now, l.LogEndOffset(), cfg)
		if err != nil {
			t.Fatalf("Clean: %v", err)
		}
		m.noteClean(st, now)
	}()
	fsys.Inject = nil
	if !crashed {
		return l
	}
	// A crashed clean may have committed groups: their tombstones may
	// have their horizons from now.
	m.noteClean(CleanStats{Ran: true, FirstDirty: m.cleanedTo}, now)
	if rapid.Bool().Draw(t, "powerLoss") {
		fsys.Crash(rand.New(rand.NewPCG(uint64(now), 1)))
	} else {
		fsys.ProcessCrash()
	}
	return m.reopen(t, fsys, cfg)
}

func (m *cleanModel) noteClean(st CleanStats, now int64) {
	if !st.Ran {
		return
	}
	for _, r := range m.recs {
		if _, ok := m.firstClean[r.offset]; !ok && r.value == nil {
			m.firstClean[r.offset] = now
		}
	}
	m.cleanedTo = max(m.cleanedTo, st.FirstDirty)
}

func (m *cleanModel) reopen(t *rapid.T, fsys *memfs.FS, cfg core.LogConfig) *Log {
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	return l
}

func (m *cleanModel) check(t *rapid.T, l *Log, now int64, cfg core.LogConfig) {
	if l.LogStartOffset() != 0 {
		t.Fatalf("log start %d; nothing was deleted", l.LogStartOffset())
	}
	got, _ := readRecords(t, l)
	if len(m.recs) > 0 && l.LogEndOffset() != m.recs[len(m.recs)-1].offset+1 {
		t.Fatalf("log end %d; want %d", l.LogEndOffset(), m.recs[len(m.recs)-1].offset+1)
	}
	byOffset := map[core.Offset]readRec{}
	for _, r := range m.recs {
		byOffset[r.offset] = r
	}
	below := map[string]int{}
	for _, r := range got {
		if w, ok := byOffset[r.offset]; !ok || !recEqual(w, r) {
			t.Fatalf("offset %d holds %s=%q; written there: %+v", r.offset, r.key, r.value, w)
		}
		if r.offset < l.cleanedTo {
			if below[r.key]++; below[r.key] > 1 {
				t.Fatalf("key %s appears twice below the cleaner checkpoint %d", r.key, l.cleanedTo)
			}
		}
	}
	for k, off := range m.latest {
		if slices.ContainsFunc(got, func(r readRec) bool { return r.offset == off }) {
			continue
		}
		first, cleaned := m.firstClean[off]
		if byOffset[off].value != nil || !cleaned || now < first+cfg.DeleteRetentionMs {
			t.Fatalf("the latest record of %s at %d is gone (tombstone %v, first cleaned at %d, now %d)", k, off, byOffset[off].value == nil, first, now)
		}
	}
}

// TestCleanEmptiedSegmentKeepsLogStart: a clean that empties the first
// segment leaves it in place; retention that deletes nothing must not
// take it for a segment below the log start, or the log start would move
// at the next restart.
func TestCleanEmptiedSegmentKeepsLogStart(t *testing.T) {
	fsys := memfs.New()
	cfg := compactCfg()
	l := openLog(t, fsys, cfg)
	for i := range 40 { // no leader epoch: no header stays for an epoch start
		appendKeyed(t, l, cfg, kbatch{recs: []rec{{"a", val(fmt.Sprint(i))}}, ts: 1, epoch: -1}, 1)
	}
	if _, err := l.Clean(1, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if l.segs[0].size != 0 || l.segs[0].base != 0 {
		t.Fatalf("the first segment after cleaning: base %d, %d bytes; want an empty segment at 0", l.segs[0].base, l.segs[0].size)
	}
	if _, err := l.Retain(1, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, fsys, cfg)
	if l.LogStartOffset() != 0 {
		t.Fatalf("log start after retention and a restart: got %d; want 0", l.LogStartOffset())
	}
}

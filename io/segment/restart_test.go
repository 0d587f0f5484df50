package segment

import (
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// testRoot is testDir's log directory, where the marker and the recovery
// point checkpoint live.
var testRoot = path.Dir(testDir)

// countingFS counts the bytes read from .log files: a load that trusts
// the files reads a bounded amount of each, whatever it holds.
type countingFS struct {
	kio.FS
	logBytes *int64
}

func (c countingFS) OpenFile(name string, create bool) (kio.File, error) {
	f, err := c.FS.OpenFile(name, create)
	if err != nil || !strings.HasSuffix(name, logExt) {
		return f, err
	}
	return countingFile{File: f, n: c.logBytes}, nil
}

type countingFile struct {
	kio.File
	n *int64
}

func (f countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	*f.n += int64(n)
	return n, err
}

// closeCleanly closes l as the driver's Close does: the recovery point
// checkpoint, then the marker.
func closeCleanly(t tb, fsys kio.FS, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkpoint(t, fsys, l)
	if err := MarkCleanShutdown(fsys, testRoot); err != nil {
		t.Fatalf("%v", err)
	}
}

// startLog opens testDir as the driver's start does: the marker is read
// and removed, the checkpoint read, the log opened with what they allow,
// and the checkpoint written again.
func startLog(t tb, fsys kio.FS, cfg core.LogConfig) *Log {
	t.Helper()
	clean := HadCleanShutdown(fsys, testRoot)
	if err := RemoveCleanShutdown(fsys, testRoot); err != nil {
		t.Fatalf("%v", err)
	}
	rp, _ := ReadRecoveryPoints(fsys, testRoot)
	opts := OpenOptions{CleanShutdown: clean, RecoveryPoint: -1}
	if off, ok := rp.Of(testPartition); ok {
		opts.RecoveryPoint = off
	}
	l, err := OpenWith(fsys, testDir, cfg, opts)
	if err != nil {
		t.Fatalf("OpenWith(%+v): %v", opts, err)
	}
	checkpoint(t, fsys, l)
	return l
}

// testPartition is testDir's partition.
var testPartition = partitionOf(path.Base(testDir))

// checkpoint writes the recovery point checkpoint with l's recovery
// point, or, with l nil, without the partition (as the runtime does
// before a truncation).
func checkpoint(t tb, fsys kio.FS, l *Log) {
	t.Helper()
	points := map[core.TopicPartition]core.Offset{}
	if l != nil {
		points[testPartition] = l.RecoveryPoint()
	}
	rp, _ := ReadRecoveryPoints(fsys, testRoot)
	if err := rp.Write(points); err != nil {
		t.Fatalf("%v", err)
	}
}

// fullSummary recovers a copy of fsys fully and returns its summary.
func fullSummary(t tb, fsys *memfs.FS, cfg core.LogConfig) string {
	t.Helper()
	l, err := Open(fsys.Clone(), testDir, cfg)
	if err != nil {
		t.Fatalf("full recovery of a copy: %v", err)
	}
	return l.Summary()
}

// restartAndCompare starts the log as the driver does and checks that it
// derived what a full recovery of the same files derives.
func restartAndCompare(t tb, fsys *memfs.FS, cfg core.LogConfig) *Log {
	t.Helper()
	want := fullSummary(t, fsys, cfg)
	l := startLog(t, fsys, cfg)
	if got := l.Summary(); got != want {
		t.Fatalf("%s (%+v):\n%s\nwant what a full recovery finds:\n%s", l.Loaded().Mode, l.Loaded(), got, want)
	}
	return l
}

// appendProduced appends n batches of 1 to 4 records at the log end,
// from producer pid (0: none) with sequence numbers from *seq.
func appendProduced(t tb, l *Log, cfg core.LogConfig, n int, ts int64, epoch core.LeaderEpoch, pid core.ProducerID, seq *int32) {
	t.Helper()
	for i := range n {
		base := l.LogEndOffset()
		records := 1 + i%4
		b := makeBatch(spec{base: base, records: records, maxTs: ts + int64(i%7), epoch: epoch, pid: pid, seq: *seq, valueBytes: 40})
		if err := l.Append(b, base, base+core.Offset(records-1), 0, ts, cfg); err != nil {
			t.Fatalf("Append: %v", err)
		}
		*seq += int32(records)
	}
}

// TestCleanShutdownLoadReadsNoBatches: after a clean shutdown a log is
// loaded without reading its batches: what it reads of the .log files is
// bounded by segments times (index interval + a batch), not by the data.
func TestCleanShutdownLoadReadsNoBatches(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes = 64 << 10
	l := startLog(t, fsys, cfg)
	var seq int32
	appendProduced(t, l, cfg, 3000, 1000, 2, 7, &seq)
	total, segments := l.Size(), l.Segments()
	closeCleanly(t, fsys, l)

	var read int64
	want := fullSummary(t, fsys, cfg)
	l = startLog(t, countingFS{FS: fsys, logBytes: &read}, cfg)
	if got := l.Loaded(); got.Mode != LoadedClean || got.TrustedSegments != segments || got.CheckedBytes != 0 {
		t.Fatalf("Loaded: got %+v; want every one of %d segments trusted, nothing checked", got, segments)
	}
	// Per segment: its first header, and the headers after its last index
	// entry (the scan window is 4 KiB).
	if bound := int64(segments) * (2*scanWindowBytes + core.BatchHeaderSize); read > bound {
		t.Fatalf("read %d bytes of .log files for %d bytes in %d segments; want at most %d", read, total, segments, bound)
	}
	if got := l.Summary(); got != want {
		t.Fatalf("got\n%s\nwant what a full recovery finds:\n%s", got, want)
	}
	t.Logf("read %d of %d bytes in %d segments", read, total, segments)
}

// TestRecoveryPointPartialScan: after a crash, the segments before the
// one holding the recovery point are trusted, that one is read headers
// only below it, and a tail torn inside a batch past it is cut at the
// last whole batch.
func TestRecoveryPointPartialScan(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	cfg.SegmentBytes = 8 << 10
	l := startLog(t, fsys, cfg)
	var seq int32
	appendProduced(t, l, cfg, 400, 1000, 1, 3, &seq)
	for l.active().size > cfg.SegmentBytes-2000 { // room for the tail below, without a roll
		appendProduced(t, l, cfg, 1, 1000, 1, 3, &seq)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	checkpoint(t, fsys, l)
	synced, active := l.LogEndOffset(), l.active().name
	appendProduced(t, l, cfg, 5, 2000, 2, 3, &seq) // unsynced
	activeSize, _ := fsys.WrittenSize(active)
	syncedSize, _ := fsys.SyncedSize(active)
	if activeSize-syncedSize < 100 {
		t.Fatalf("the unsynced tail is %d bytes; want several batches", activeSize-syncedSize)
	}
	if err := fsys.KeepOnCrash(active, syncedSize+(activeSize-syncedSize)/2+1); err != nil {
		t.Fatal(err)
	}
	fsys.Crash(rand.New(rand.NewPCG(1, 2)))

	l = restartAndCompare(t, fsys, cfg)
	ld := l.Loaded()
	if ld.Mode != LoadedFromRecoveryPoint || ld.TrustedSegments == 0 || ld.CheckedBytes == 0 || ld.TrustedBytes <= ld.CheckedBytes {
		t.Fatalf("Loaded: got %+v; want trusted segments and bytes, and the tail checked", ld)
	}
	if got := l.LogEndOffset(); got <= synced || got >= synced+14 {
		t.Fatalf("log end after the torn tail: got %d; want past the recovery point %d, short of the 5 batches written after it", got, synced)
	}
	if size, _ := fsys.WrittenSize(active); size != l.active().size {
		t.Fatalf("active segment: %d bytes on disk; want truncated to its %d bytes of whole batches", size, l.active().size)
	}
}

// TestRecoveryPointCheckpointGarbled: a checkpoint that does not parse
// (or a missing one) means every log recovers fully; one that vouches
// past what the log holds makes that log recover fully.
func TestRecoveryPointCheckpointGarbled(t *testing.T) {
	for _, c := range []struct{ name, content string }{
		{"count", "0\n2\ntopic 7 5\n"},
		{"version", "1\n1\ntopic 7 5\n"},
		{"offset", "0\n1\ntopic 7 five\n"},
		{"negative", "0\n1\ntopic 7 -5\n"},
		{"torn", "0\n1\ntop"},
		{"empty", ""},
	} {
		if _, err := parseRecoveryPoints([]byte(c.content)); err == nil {
			t.Errorf("%s: parsed %q; want an error", c.name, c.content)
		}
	}
	fsys := memfs.New()
	cfg := testCfg()
	l := startLog(t, fsys, cfg)
	var seq int32
	appendProduced(t, l, cfg, 50, 1000, 0, 0, &seq)
	closeCleanly(t, fsys, l)
	if err := RemoveCleanShutdown(fsys, testRoot); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.OpenFile(path.Join(testRoot, RecoveryPointFile), false)
	if err == nil {
		_, err = f.WriteAt([]byte("0\n9\n"), 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rp, why := ReadRecoveryPoints(fsys, testRoot); why == "" || rp.Len() != 0 {
		t.Fatalf("garbled checkpoint: got %d entries, reason %q; want none and a reason", rp.Len(), why)
	}
	l = restartAndCompare(t, fsys, cfg)
	if ld := l.Loaded(); ld.Mode != RecoveredFully || ld.FellBack != "" || ld.CheckedBytes != l.Size() {
		t.Fatalf("Loaded: got %+v; want a full recovery, every byte checked", ld)
	}

	// A stale checkpoint: it vouches past the log end (its data went
	// after it was written).
	leo := l.LogEndOffset()
	closeCleanly(t, fsys, l)
	if err := RemoveCleanShutdown(fsys, testRoot); err != nil {
		t.Fatal(err)
	}
	rp := &RecoveryPoints{fs: fsys, root: testRoot}
	if err := rp.Write(map[core.TopicPartition]core.Offset{testPartition: leo + 100}); err != nil {
		t.Fatal(err)
	}
	l = restartAndCompare(t, fsys, cfg)
	if ld := l.Loaded(); ld.Mode != RecoveredFully || !strings.Contains(ld.FellBack, "past the recovered log end") {
		t.Fatalf("Loaded with a recovery point past the log: got %+v; want a full recovery saying why", ld)
	}
}

// TestIndexSanityFailureRecoversFully: a trusted segment whose indexes
// fail the sanity check makes the log recover fully (and report why).
func TestIndexSanityFailureRecoversFully(t *testing.T) {
	damage := []struct {
		name, ext, want string
		do              func(f kio.File, size int64) error
	}{
		{"partial entry", indexExt, "whole number", func(f kio.File, size int64) error { return f.Truncate(size - 3) }},
		{"offsets back", indexExt, "does not follow", func(f kio.File, size int64) error {
			_, err := f.WriteAt([]byte{0, 0, 0, 0}, size-offsetEntrySize)
			return err
		}},
		{"position past the log", indexExt, "does not follow", func(f kio.File, size int64) error {
			_, err := f.WriteAt([]byte{0x7f, 0, 0, 0}, size-4)
			return err
		}},
		{"entry off a batch", indexExt, "last offset index entry", func(f kio.File, size int64) error {
			b := make([]byte, 4)
			if _, err := f.ReadAt(b, size-8); err != nil {
				return err
			}
			b[3]++ // the last entry's offset, one more: no batch ends there
			_, err := f.WriteAt(b, size-8)
			return err
		}},
		{"time going back", timeIndexExt, "time index entry", func(f kio.File, size int64) error {
			_, err := f.WriteAt(make([]byte, 8), size-timeEntrySize)
			return err
		}},
		{"time entry off a batch", timeIndexExt, "names no batch", func(f kio.File, size int64) error {
			b := make([]byte, 8)
			if _, err := f.ReadAt(b, size-timeEntrySize); err != nil {
				return err
			}
			b[7]--
			_, err := f.WriteAt(b, size-timeEntrySize)
			return err
		}},
		{"missing", indexExt, "missing", nil},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			fsys := memfs.New()
			cfg := testCfg()
			l := startLog(t, fsys, cfg)
			var seq int32
			appendProduced(t, l, cfg, 60, 1000, 0, 0, &seq)
			if l.Segments() < 3 {
				t.Fatalf("%d segments; want at least 3", l.Segments())
			}
			name := fileName(testDir, l.segs[1].base, d.ext)
			closeCleanly(t, fsys, l)
			var err error
			if d.do == nil {
				err = fsys.Remove(name)
			} else {
				var f kio.File
				if f, err = fsys.OpenFile(name, false); err == nil {
					size, _ := f.Size()
					err = d.do(f, size)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			l = restartAndCompare(t, fsys, cfg)
			if ld := l.Loaded(); ld.Mode != RecoveredFully || !strings.Contains(ld.FellBack, d.want) {
				t.Fatalf("Loaded: got %+v; want a full recovery because of %q", ld, d.want)
			}
		})
	}
}

// TestRebuildCrashLeavesNoHalfIndexes: a start that rebuilds a segment's
// indexes (here because its offset index fails the sanity check) and
// crashes at any of its writes of the time index must not leave indexes
// that a later start trusts and reads differently from a full
// recovery: an offset index rebuilt whole beside a time index cut short
// hides the newest timestamp of the batches between them.
func TestRebuildCrashLeavesNoHalfIndexes(t *testing.T) {
	for k := 0; ; k++ {
		fsys := memfs.New()
		cfg := testCfg()
		l := startLog(t, fsys, cfg)
		var seq int32
		appendProduced(t, l, cfg, 60, 1000, 0, 0, &seq)
		base := l.segs[1].base
		closeCleanly(t, fsys, l)
		f, err := fsys.OpenFile(fileName(testDir, base, indexExt), false)
		if err == nil {
			_, err = f.WriteAt([]byte{0x7f, 0, 0, 0}, 4) // the first entry's position: past the log
		}
		if err != nil {
			t.Fatal(err)
		}
		timeIndex := fileName(testDir, base, timeIndexExt)
		writes, crashed := 0, false
		fsys.Inject = func(op, name string) error {
			if op == memfs.OpWrite && strings.HasPrefix(name, timeIndex) {
				if writes == k {
					crashed = true
					panic(crashAt{op, name})
				}
				writes++
			}
			return nil
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(crashAt); !ok {
						panic(r)
					}
				}
			}()
			startLog(t, fsys, cfg)
		}()
		fsys.Inject = nil
		if !crashed {
			if k == 0 {
				t.Fatalf("the start wrote no time index of segment %d; want it rebuilt", base)
			}
			return
		}
		fsys.ProcessCrash()
		restartAndCompare(t, fsys, cfg)
	}
}

// TestTrustedRestartMatchesFullRecovery drives a log through random
// appends (several producers and leader epochs), syncs, checkpoints,
// truncations, retention, moves of the log start, restarts of the log
// at a later offset and rolls, and
// restarts it after clean shutdowns, process crashes and power losses
// (torn tails, garbage): every restart must derive what a full recovery
// of the same files derives, and keep every synced batch.
func TestTrustedRestartMatchesFullRecovery(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := memfs.New()
		fsys.Policy = memfs.CrashPolicy{TornTailProb: 0.7, GarbageProb: 0.5, GarbageBytesMax: 64}
		cfg := drawCfg(t)
		l := startLog(t, fsys, cfg)
		seqs := map[core.ProducerID]*int32{1: new(int32), 2: new(int32), 3: new(int32)}
		epoch, now := core.LeaderEpoch(0), int64(1000)
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			now += rapid.Int64Range(0, 40).Draw(t, "tick")
			switch rapid.IntRange(0, 13).Draw(t, "op") {
			case 0, 1, 2, 3:
				pid := core.ProducerID(rapid.IntRange(0, 3).Draw(t, "pid"))
				var none int32
				seq := &none
				if pid != 0 {
					seq = seqs[pid]
				}
				appendProduced(t, l, cfg, rapid.IntRange(1, 6).Draw(t, "batches"), now, epoch, pid, seq)
			case 4:
				epoch += core.LeaderEpoch(rapid.IntRange(0, 2).Draw(t, "epochStep"))
			case 5:
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			case 6:
				checkpoint(t, fsys, l)
			case 7:
				if l.LogStartOffset() > l.LogEndOffset() {
					continue // a truncation cut the batch holding the log start
				}
				off := core.Offset(rapid.Int64Range(int64(l.LogStartOffset()), int64(l.LogEndOffset())).Draw(t, "truncateTo"))
				checkpoint(t, fsys, nil) // as the core asks before a Truncate
				if err := l.TruncateTo(off, 0, cfg); err != nil {
					t.Fatal(err)
				}
			case 8:
				rc := cfg
				rc.RetentionBytes = rapid.SampledFrom([]int64{-1, 0, 500}).Draw(t, "retentionBytes")
				rc.RetentionMs = rapid.SampledFrom([]int64{-1, 0, 100}).Draw(t, "retentionMs")
				if _, err := l.Retain(now, l.LogEndOffset(), rc); err != nil {
					t.Fatal(err)
				}
			case 9:
				closeCleanly(t, fsys, l)
				l = restartAndCompare(t, fsys, cfg)
			case 10:
				fsys.ProcessCrash() // kill -9: the page cache keeps everything
				l = restartAndCompare(t, fsys, cfg)
			case 12:
				// with the windows a leader would send: the log's own
				// and a producer of the batch right below the restart
				off := l.LogEndOffset() + core.Offset(rapid.IntRange(1, 50).Draw(t, "restartAt"))
				producers := append(l.Recovered().Producers, core.ProducerBatch{ProducerID: 900, BaseOffset: off - 1, LastOffset: off - 1, Timestamp: now})
				if err := l.RestartAt(off, producers, 0, cfg); err != nil {
					t.Fatal(err)
				}
			case 13:
				if l.LogStartOffset() > l.LogEndOffset() {
					continue
				}
				off := core.Offset(rapid.Int64Range(int64(l.LogStartOffset()), int64(l.LogEndOffset())).Draw(t, "advanceStart"))
				if err := l.AdvanceStart(off); err != nil {
					t.Fatal(err)
				}
			case 11:
				synced := l.syncedEnd
				fsys.Crash(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "crashSeed"), 0)))
				l = restartAndCompare(t, fsys, cfg)
				if l.LogEndOffset() < synced {
					t.Fatalf("a power loss took synced batches: log end %d; synced up to %d", l.LogEndOffset(), synced)
				}
			}
		}
	})
}

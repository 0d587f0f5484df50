package segment

import (
	"errors"
	"math/rand/v2"
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// The log start may lie inside a segment, above the batch that holds the
// segment's largest timestamp (maxTs). A time lookup from the log start
// must then look past that segment instead of calling it corrupt.

// findTimeCfg rolls a segment every segmentBatches batches of
// appendTimes.
func findTimeCfg(segmentBatches int) core.LogConfig {
	cfg := testCfg()
	cfg.SegmentBytes = int64(segmentBatches * len(makeBatch(spec{valueBytes: 20})))
	return cfg
}

// appendTimes appends one single-record batch per timestamp.
func appendTimes(t *testing.T, l *Log, cfg core.LogConfig, tss ...int64) {
	t.Helper()
	for _, ts := range tss {
		base := l.LogEndOffset()
		b := makeBatch(spec{base: base, maxTs: ts, valueBytes: 20})
		if err := l.Append(b, base, base, ts, ts, cfg); err != nil {
			t.Fatalf("Append at %d: %v", base, err)
		}
	}
}

func TestFindTimeFromInsideSegment(t *testing.T) {
	tests := []struct {
		name   string
		tss    []int64 // one batch each, offsets 0, 1, ...; 4 batches a segment
		start  core.Offset
		ts     int64
		wantOk bool
		wantO  core.Offset
		wantTs int64
	}{
		{"max timestamp below the start, nothing later reaches it",
			[]int64{900, 901, 900, 900}, 2, 901, false, 0, 0},
		{"max timestamp below the start, a later segment reaches it",
			[]int64{900, 901, 900, 900, 900, 902}, 2, 901, true, 5, 902},
		{"max timestamp below the start and again above it",
			[]int64{901, 900, 901, 900}, 1, 901, true, 2, 901},
		{"max timestamp in the batch at the start",
			[]int64{900, 901, 900, 900}, 1, 901, true, 1, 901},
		{"the start's segment reaches a lower timestamp",
			[]int64{900, 902, 901, 900, 905}, 2, 901, true, 2, 901},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := findTimeCfg(4)
			l := openLog(t, memfs.New(), cfg)
			appendTimes(t, l, cfg, tc.tss...)
			if got, want := l.Segments(), (len(tc.tss)+3)/4; got != want {
				t.Fatalf("got %d segments; want %d", got, want)
			}
			if err := l.AdvanceStart(tc.start); err != nil {
				t.Fatal(err)
			}
			off, ts, ok, err := l.FindTime(tc.ts, l.LogStartOffset(), l.LogEndOffset())
			if err != nil {
				t.Fatalf("FindTime(%d) from %d: %v", tc.ts, tc.start, err)
			}
			if off != tc.wantO || ts != tc.wantTs || ok != tc.wantOk {
				t.Fatalf("FindTime(%d) from %d: got %d %d %v; want %d %d %v",
					tc.ts, tc.start, off, ts, ok, tc.wantO, tc.wantTs, tc.wantOk)
			}
		})
	}
}

// TestFindTimeAfterCrashLostStartTail: retention checkpoints a log start
// at the second segment's base, then a crash loses that segment and the
// first one's unsynced tail, so recovery puts the log start at the end of
// the first segment, above its max timestamp batch.
func TestFindTimeAfterCrashLostStartTail(t *testing.T) {
	fsys := memfs.New() // the zero crash policy drops every unsynced byte
	cfg := findTimeCfg(4)
	l := openLog(t, fsys, cfg)
	appendTimes(t, l, cfg, 900, 901)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	appendTimes(t, l, cfg, 900, 900, 900) // offset 4 starts a segment
	rc := cfg
	rc.RetentionBytes = 0
	if start, err := l.Retain(2000, l.LogEndOffset(), rc); err != nil || start != 4 {
		t.Fatalf("Retain: got start %d, %v; want 4", start, err)
	}
	fsys.Crash(rand.New(rand.NewPCG(0, 0)))
	l = openLog(t, fsys, cfg)
	if got := l.LogStartOffset(); got != 2 || l.segs[0].base != 0 {
		t.Fatalf("recovered log start %d in segments %v; want 2 in [0]", got, segmentBasesOf(l))
	}
	appendTimes(t, l, cfg, 900)
	off, ts, ok, err := l.FindTime(901, l.LogStartOffset(), l.LogEndOffset())
	if err != nil || ok {
		t.Fatalf("FindTime(901): got %d %d %v, %v; want not found", off, ts, ok, err)
	}
	off, ts, ok, err = l.FindTime(900, l.LogStartOffset(), l.LogEndOffset())
	if err != nil || !ok || off != 2 || ts != 900 {
		t.Fatalf("FindTime(900): got %d %d %v, %v; want 2 900 true", off, ts, ok, err)
	}
}

// TestFindTimeMaxTimestampChangedAtStart: when the batch holding a
// segment's max timestamp lies at or past from, a lookup that finds no
// batch reaching it still reports the segment corrupt.
func TestFindTimeMaxTimestampChangedAtStart(t *testing.T) {
	fsys := memfs.New()
	cfg := findTimeCfg(4)
	l := openLog(t, fsys, cfg)
	appendTimes(t, l, cfg, 900, 901, 900)
	if err := l.AdvanceStart(1); err != nil {
		t.Fatal(err)
	}
	// MaxTimestamp is bytes 35..42 of a header (see core.BatchHeader):
	// flipping the low bit of batch 1's makes 901 read as 900.
	at := int64(len(makeBatch(spec{valueBytes: 20}))) + 42
	if err := fsys.Corrupt(fileName(testDir, 0, logExt), at); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := l.FindTime(901, l.LogStartOffset(), l.LogEndOffset()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("FindTime(901): got %v; want ErrCorrupt", err)
	}
}

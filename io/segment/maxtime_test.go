package segment

import (
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// TestFindMaxTime compares FindMaxTime over many segments with a scan of
// the batches appended, for every range [from, below) on batch
// boundaries and inside batches.
func TestFindMaxTime(t *testing.T) {
	fsys := memfs.New()
	cfg := testCfg()
	l := openLog(t, fsys, cfg)
	// Timestamps rise and fall, with repeats, across segments of about
	// six batches.
	tss := []int64{50, 10, 70, 70, 20, 90, 30, 90, 40, 60, 85, 10, 5, 95, 95, 1, 2, 3, 80, 20, 95, 7, 8, 9}
	var bases []core.Offset
	for _, ts := range tss {
		base := l.LogEndOffset()
		bases = append(bases, base)
		if err := l.Append(makeBatch(spec{base: base, records: 2, maxTs: ts, valueBytes: 60}), base, base+1, ts, 0, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.segs) < 3 {
		t.Fatalf("got %d segments; want several", len(l.segs))
	}
	end := l.LogEndOffset()
	for from := core.Offset(0); from <= end; from++ {
		for below := from; below <= end+1; below++ {
			wantOff, wantTs, wantFound := core.Offset(0), int64(-1), false
			for i, ts := range tss {
				if bases[i]+1 >= from && bases[i] < below && ts > wantTs {
					wantOff, wantTs, wantFound = bases[i], ts, true
				}
			}
			off, ts, found, err := l.FindMaxTime(from, below)
			if err != nil {
				t.Fatal(err)
			}
			if found != wantFound || found && (off != wantOff || ts != wantTs) {
				t.Fatalf("FindMaxTime(%d, %d): got %d ts %d found %v; want %d ts %d found %v", from, below, off, ts, found, wantOff, wantTs, wantFound)
			}
		}
	}
}

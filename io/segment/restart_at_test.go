package segment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
)

// TestRestartAtKeepsLeaderProducers: a log restarted at its leader's log
// start takes the leader's windows of the batches below it (and only
// those), and keeps them through a close and a power loss, as it keeps the
// windows of batches retention deleted. A crash before any file operation
// of the restart leaves either the new log with the windows, or the old
// one (whole or emptied), below the leader's log start, so that the
// follower restarts it again.
func TestRestartAtKeepsLeaderProducers(t *testing.T) {
	cfg := testCfg()
	leader := []core.ProducerBatch{
		{ProducerID: 7, ProducerEpoch: 0, FirstSeq: 0, LastSeq: 2, BaseOffset: 40, LastOffset: 42, Timestamp: 5},
		{ProducerID: 9, ProducerEpoch: 3, FirstSeq: 10, LastSeq: 10, BaseOffset: 60, LastOffset: 60, Timestamp: 6},
		{ProducerID: 7, ProducerEpoch: 0, FirstSeq: 3, LastSeq: 4, BaseOffset: 98, LastOffset: 99, Timestamp: 7},
		{ProducerID: 11, ProducerEpoch: 0, FirstSeq: 0, LastSeq: 0, BaseOffset: 100, LastOffset: 100, Timestamp: 8}, // at the restart: not below it
	}
	want := leader[:3]
	build := func() (*memfs.FS, *Log) {
		fsys := memfs.New()
		l := openLog(t, fsys, cfg)
		for i := range 4 {
			base := l.LogEndOffset()
			b := makeBatch(spec{base: base, records: 2, pid: 5, seq: int32(2 * i), maxTs: 10, valueBytes: 300})
			if err := l.Append(b, base, base+1, 10, 10, cfg); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		return fsys, l
	}
	fsys, l := build()
	oldEnd := l.LogEndOffset()
	ops := 0
	fsys.Inject = func(string, string) error { ops++; return nil }
	if err := l.RestartAt(100, leader, 0, core.LogConfig{}); err != nil {
		t.Fatal(err)
	}
	fsys.Inject = nil
	if got := l.Recovered().Producers; !slices.Equal(got, want) {
		t.Fatalf("after RestartAt(100): producers %v; want %v", got, want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fsys.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := openLog(t, fsys, cfg).Recovered().Producers; !slices.Equal(got, want) {
		t.Fatalf("reopened after a power loss: producers %v; want %v", got, want)
	}
	if ops < 4 {
		t.Fatalf("RestartAt did only %d file operations", ops)
	}
	for k := 0; k < ops; k++ {
		for _, power := range []bool{true, false} {
			what := fmt.Sprintf("crash before op %d of %d (power loss %v)", k, ops, power)
			fsys, l := build()
			n := 0
			fsys.Inject = func(op, path string) error {
				if n++; n == k+1 {
					panic(crashAt{op, path})
				}
				return nil
			}
			func() {
				defer func() { _ = recover() }()
				_ = l.RestartAt(100, leader, 0, core.LogConfig{})
			}()
			fsys.Inject = nil
			if power {
				fsys.Crash(rand.New(rand.NewPCG(uint64(k), 3)))
			} else {
				fsys.ProcessCrash()
			}
			rec := openLog(t, fsys, cfg).Recovered()
			switch {
			case rec.LogStartOffset == 100:
				if rec.LogEndOffset != 100 || !slices.Equal(rec.Producers, want) {
					t.Fatalf("%s: the restarted log ends at %d with producers %v; want 100 and %v", what, rec.LogEndOffset, rec.Producers, want)
				}
			case rec.LogEndOffset == oldEnd && (rec.LogStartOffset == 0 || rec.LogStartOffset == oldEnd):
				// the old log, or the old log emptied (the new start
				// was checkpointed before the new segment was made):
				// the follower fetches below its leader's start again
			default:
				t.Fatalf("%s: log [%d, %d); want [100, 100) (the new log) or the old one, [0, %d) or emptied", what, rec.LogStartOffset, rec.LogEndOffset, oldEnd)
			}
		}
	}
}

package driver

import (
	"errors"
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
	"cloudkafka/io/segment"
)

// TestCheckpointNeverOutvouchesATruncation: the core asks for the
// recovery point checkpoint without a partition right before it cuts the
// partition's log. When that rewrite fails (a full disk), the checkpoint
// on disk still vouches for the partition up to its old recovery point,
// past the cut: the driver removes it, and a restart recovers every log
// fully. When the removal fails too, truncations and new logs are refused
// until a removal succeeds. (A simulator seed once cut a log to 62 under
// a checkpoint that said 101 after its rewrite hit a full disk.)
func TestCheckpointNeverOutvouchesATruncation(t *testing.T) {
	const dir = "/data"
	tp := core.TopicPartition{Topic: "t", Partition: 0}
	name := path.Join(dir, segment.RecoveryPointFile)
	var failWrites, failDirOps bool
	fs := memfs.New()
	fs.Inject = func(op, p string) error {
		switch {
		case failWrites && op == memfs.OpWrite:
			return errors.New("no space left on device")
		case failDirOps && (op == memfs.OpRemove || op == memfs.OpSyncDir):
			return errors.New("input/output error")
		}
		return nil
	}
	if err := fs.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	points, _ := segment.ReadRecoveryPoints(fs, dir)
	if err := points.Write(map[core.TopicPartition]core.Offset{tp: 101}); err != nil {
		t.Fatal(err)
	}
	var logged []string
	d := &Driver{fs: fs, dir: dir, logs: map[core.TopicPartition]*segment.Log{}, points: points,
		busy: map[core.TopicPartition][]core.Effect{}, Logf: func(f string, args ...any) { logged = append(logged, f) }}

	// The rewrite without tp fails: the checkpoint goes, durably.
	failWrites = true
	d.checkpointRecovery(core.CheckpointRecovery{})
	fs.Crash(rand.New(rand.NewPCG(1, 2)))
	if fs.Exists(name) || d.pointsUnknown {
		t.Fatalf("after a failed rewrite: got checkpoint on disk %v, unknown %v; want it removed\n%s",
			fs.Exists(name), d.pointsUnknown, strings.Join(logged, "\n"))
	}
	if d.refuseUnvouched(core.Truncate{Partition: tp, Offset: 62}) {
		t.Fatalf("a truncation after the checkpoint was removed: got refused; want it to go on")
	}

	// The rewrite and the removal fail: what the checkpoint says is
	// unknown, and logs are neither cut nor started afresh.
	failWrites = false
	if err := points.Write(map[core.TopicPartition]core.Offset{tp: 101}); err != nil {
		t.Fatal(err)
	}
	failWrites, failDirOps = true, true
	d.checkpointRecovery(core.CheckpointRecovery{})
	if !d.pointsUnknown {
		t.Fatalf("after a failed rewrite and removal: got the checkpoint known; want it unknown")
	}
	if !d.refuseUnvouched(core.Truncate{Token: 7, Partition: tp, Offset: 62}) {
		t.Errorf("a truncation under an unknown checkpoint: got it going on; want it refused")
	}
	if len(d.queue) != 1 {
		t.Fatalf("a refused truncation: got completions %v; want one Truncated", d.queue)
	}
	if tr, ok := d.queue[0].(core.Truncated); !ok || tr.Token != 7 || tr.Err == nil {
		t.Errorf("a refused truncation: got %+v; want Truncated of token 7 with an error", d.queue[0])
	}
	if !d.refuseUnvouched(core.CreateLog{Partition: tp}) {
		t.Errorf("a new log under an unknown checkpoint: got it created; want it refused")
	}
	if d.refuseUnvouched(core.Append{Partition: tp}) {
		t.Errorf("an append under an unknown checkpoint: got it refused; want it to go on")
	}

	// Once the removal works again, so do truncations.
	failDirOps = false
	if d.refuseUnvouched(core.Truncate{Token: 8, Partition: tp, Offset: 62}) || d.pointsUnknown || fs.Exists(name) {
		t.Errorf("a truncation once the checkpoint can be removed: got it refused, or the checkpoint kept; want it removed and the truncation to go on")
	}
}

package sim

import (
	"path"
	"strings"
	"testing"

	"cloudkafka/io/segment"
)

// TestCleanShutdownMarkerCheck drives the clean-shutdown-marker check
// through the file operations a start and a stop make, with power losses
// between them. The marker's removal is not a change of the logs: a start
// that crashed before its removal of the marker was durable leaves the
// marker and the logs as the clean stop left them, and the next start may
// trust them (seed 39 of forgotten-producer with 3 brokers once failed
// here: a crash point at the start's sync of the log directory).
func TestCleanShutdownMarkerCheck(t *testing.T) {
	marker := path.Join(dataDir, segment.CleanShutdownFile)
	segmentFile := path.Join(dataDir, "sim-0", "00000000000000000000.log")
	cases := []struct {
		name  string
		start func(t *testing.T, n *node) // what happens between the clean stop and the crash
		fail  bool
	}{
		{"removal lost", func(t *testing.T, n *node) {
			ok(t, n.fs.Remove(marker))
		}, false},
		{"removal durable", func(t *testing.T, n *node) {
			ok(t, segment.RemoveCleanShutdown(n.fs, dataDir))
			writeFile(t, n, segmentFile, "batch")
		}, false},
		{"log written before the removal was durable", func(t *testing.T, n *node) {
			ok(t, n.fs.Remove(marker))
			writeFile(t, n, segmentFile, "batch")
		}, true},
		{"log written, marker kept", func(t *testing.T, n *node) {
			writeFile(t, n, segmentFile, "batch")
		}, true},
		{"log written, then stopped cleanly again", func(t *testing.T, n *node) {
			ok(t, segment.RemoveCleanShutdown(n.fs, dataDir))
			writeFile(t, n, segmentFile, "batch")
			ok(t, segment.MarkCleanShutdown(n.fs, dataDir))
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(Config{Seed: 1})
			n := w.broker
			ok(t, n.fs.MkdirAll(path.Join(dataDir, "sim-0")))
			writeFile(t, n, segmentFile, "")
			ok(t, n.fs.SyncDir(path.Join(dataDir, "sim-0")))
			ok(t, segment.MarkCleanShutdown(n.fs, dataDir))
			c.start(t, n)
			n.fs.Crash(w.rng)
			n.checkCleanShutdownMarker()
			failed := len(w.failures) > 0 && strings.HasPrefix(w.failures[0], "clean-shutdown-marker:")
			if failed != c.fail || len(w.failures) > 1 {
				t.Errorf("got failures %q (marker on disk: %v); want a clean-shutdown-marker failure: %v",
					w.failures, n.fs.Exists(marker), c.fail)
			}
		})
	}
}

// writeFile writes data to name through the node's file system and
// syncs it (the file's bytes, not its directory entry).
func writeFile(t *testing.T, n *node, name, data string) {
	t.Helper()
	f, err := n.fs.OpenFile(name, true)
	ok(t, err)
	_, err = f.WriteAt([]byte(data), 0)
	ok(t, err)
	ok(t, f.Sync())
	ok(t, f.Close())
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package realio

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOffsetsTopicStaysBounded: __consumer_offsets is compacted, as Kafka
// creates it (cleanup.policy=compact), so a group committing the same
// partitions over and over keeps about one record per key once the
// cleaner has run, not one per commit, while it goes on committing; and
// what remains replays to the latest offsets after a restart.
func TestOffsetsTopicStaysBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	props := map[string]string{"log.dirs": dir, "offsets.topic.num.partitions": "1",
		"offsets.topic.segment.bytes": "16384", "log.cleaner.backoff.ms": "20"}
	b, c := groupBroker(t, props)
	createTopic(t, c, groupTopic, 3, nil)
	logBytes := func() int64 {
		var n int64
		files, _ := filepath.Glob(filepath.Join(dir, "__consumer_offsets-0", "*.log"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	// Written without compaction, 3000 commits take about 3000 batches of
	// three records (over 400 KB); compacted, the old segments keep the
	// last record of each key and the active one at most a segment. The
	// group goes on committing while the log is measured: the cleaner
	// must keep up with a group that never stops, not only tidy up
	// after it.
	const (
		bound      = 48 << 10
		minCommits = 3000
		maxCommits = 60000
	)
	var last []tpo
	commit := func(i int64) {
		last = []tpo{{groupTopic, 0, i, -1, "", 0}, {groupTopic, 1, i, -1, "", 0}, {groupTopic, 2, i, -1, "", 0}}
		mustCommit(t, c, "steady", -1, "", last...)
	}
	var deadline time.Time
	var i, held int64
	for i = 1; ; i++ {
		commit(i)
		if i == minCommits {
			deadline = time.Now().Add(30 * time.Second)
		}
		if i < minCommits || i%50 != 0 {
			continue
		}
		if n := logBytes(); n <= bound {
			held = n
			break
		}
		if i >= maxCommits || time.Now().After(deadline) {
			t.Fatalf("__consumer_offsets-0 holds %d bytes after %d commits of the same 3 partitions, the group still committing; want at most %d once compacted", logBytes(), i, bound)
		}
	}
	t.Logf("__consumer_offsets-0 held %d bytes after %d commits, the group still committing", held, i)
	// And once the group stops, whatever it wrote last is compacted too.
	commit(i + 1)
	for deadline = time.Now().Add(20 * time.Second); logBytes() > bound && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := logBytes(); n > bound {
		t.Fatalf("__consumer_offsets-0 holds %d bytes after the group stopped; want at most %d once compacted", n, bound)
	}
	checkCommitted(t, c, "steady", last...)
	b.shutdown(t)

	_, c2 := groupBroker(t, props)
	waitLoaded(t, c2, []string{"steady"})
	checkCommitted(t, c2, "steady", last...)
}

package segment

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// epochEntry says that leader epoch Epoch wrote from offset Start.
type epochEntry struct {
	Epoch core.LeaderEpoch
	Start core.Offset
}

// epochCache is the leader epoch cache derived from batch headers.
// Invariant: epochs and start offsets strictly increase.
type epochCache struct {
	entries []epochEntry
	dirty   bool // changed since the checkpoint file was written
}

// note records batch h's epoch if it is newer than every earlier one.
func (c *epochCache) note(h core.BatchHeader) {
	if h.PartitionLeaderEpoch < 0 {
		return
	}
	if n := len(c.entries); n > 0 && h.PartitionLeaderEpoch <= c.entries[n-1].Epoch {
		return
	}
	c.entries = append(c.entries, epochEntry{h.PartitionLeaderEpoch, h.BaseOffset})
	c.dirty = true
}

// starts says whether an entry starts at offset o: the cleaner keeps the
// header of such a batch when it removes its records, so that the cache
// rebuilt from headers after a restart is the same.
func (c *epochCache) starts(o core.Offset) bool {
	for _, e := range c.entries {
		if e.Start == o {
			return true
		}
	}
	return false
}

// latest returns the newest epoch, or -1 if there is none.
func (c *epochCache) latest() core.LeaderEpoch {
	if len(c.entries) == 0 {
		return noLeaderEpoch
	}
	return c.entries[len(c.entries)-1].Epoch
}

// list returns the entries, oldest first.
func (c *epochCache) list() []core.EpochStart {
	out := make([]core.EpochStart, len(c.entries))
	for i, e := range c.entries {
		out[i] = core.EpochStart{Epoch: e.Epoch, Start: e.Start}
	}
	return out
}

// truncateFromStart drops entries wholly below start and moves the first
// kept one to start, as Kafka's LeaderEpochFileCache.truncateFromStart.
func (c *epochCache) truncateFromStart(start core.Offset) {
	i := -1
	for j, e := range c.entries {
		if e.Start <= start {
			i = j
		}
	}
	if i < 0 || (i == 0 && c.entries[0].Start == start) {
		return
	}
	c.entries = c.entries[i:]
	c.entries[0].Start = start
	c.dirty = true
}

// encode renders Kafka's checkpoint text: version 0, the count, then one
// "epoch startOffset" line per entry.
func (c *epochCache) encode() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.Start)
	}
	return []byte(b.String())
}

// matchesFile reports whether dir's checkpoint file already holds exactly
// the cache, so that reopening a log does not rewrite it.
func (c *epochCache) matchesFile(fsys kio.FS, dir string) bool {
	name := path.Join(dir, epochFile)
	if !fsys.Exists(name) {
		return len(c.entries) == 0
	}
	f, err := fsys.OpenFile(name, false)
	if err != nil {
		return false
	}
	defer f.Close()
	want := c.encode()
	got := make([]byte, len(want)+1)
	n, _ := f.ReadAt(got, 0)
	return bytes.Equal(got[:n], want)
}

// writeCheckpoint replaces dir's leader-epoch-checkpoint atomically: write
// and fsync a temporary file, then rename it. The caller syncs dir.
func (c *epochCache) writeCheckpoint(fsys kio.FS, dir string) error {
	if err := writeFileAtomic(fsys, path.Join(dir, epochFile), c.encode()); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// readEpochFile parses dir's leader-epoch-checkpoint: its entries,
// whether the file exists, and why it does not parse (nil if it does).
// Epochs and start offsets must strictly increase.
func readEpochFile(fsys kio.FS, dir string) (entries []epochEntry, present bool, bad error) {
	name := path.Join(dir, epochFile)
	if !fsys.Exists(name) {
		return nil, false, nil
	}
	data := readSmallFile(fsys, name, 64<<20)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if data == nil || len(lines) < 2 || lines[0] != "0" {
		return nil, true, fmt.Errorf("%s: no version 0 header", epochFile)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, true, fmt.Errorf("%s: count %q does not match %d entries", epochFile, lines[1], len(lines)-2)
	}
	for _, line := range lines[2:] {
		var e, o int64
		f := strings.Fields(line)
		if len(f) == 2 {
			e, err = strconv.ParseInt(f[0], 10, 32)
			if err == nil {
				o, err = strconv.ParseInt(f[1], 10, 64)
			}
		}
		entry := epochEntry{core.LeaderEpoch(e), core.Offset(o)}
		if len(f) != 2 || err != nil || e < 0 || o < 0 ||
			(len(entries) > 0 && (entry.Epoch <= entries[len(entries)-1].Epoch || entry.Start <= entries[len(entries)-1].Start)) {
			return nil, true, fmt.Errorf("%s: entry %q does not parse or does not follow", epochFile, line)
		}
		entries = append(entries, entry)
	}
	return entries, true, nil
}

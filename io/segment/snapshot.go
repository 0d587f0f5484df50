package segment

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// The producer snapshot keeps the idempotence windows that retention would
// otherwise take with the segments it deletes: as in Kafka, a producer's
// state outlives its batches (until max.producers.per.partition pushes it
// out), so a retry of a deleted batch is still recognized after a
// restart. It also spares a restart that trusts segments without reading
// them (see the package doc, "Restart") from reading their headers: the
// windows as of an offset (asOf) are the windows of every batch below it.
// Retention writes it durably before it deletes segments, Sync after a
// roll, Close, TruncateTo and RestartAt; recovery reads it first and then
// the segments' own headers.
//
// Format (text), version 1: "1", the offset the windows are as of, the
// count, then one line per batch:
//
//	<producer id> <epoch> <first seq> <last seq> <base offset> <last offset> <max timestamp>
//
// Version 0 (written before restarts trusted segments) lacks the second
// line; it is read, its asOf unknown (-1). Part of the format; do not
// change.

// producerSnapshot is a parsed snapshot.
type producerSnapshot struct {
	asOf    core.Offset // -1: unknown (version 0, or no snapshot)
	batches []core.ProducerBatch
}

func writeProducers(fsys kio.FS, dir string, asOf core.Offset, batches []core.ProducerBatch) error {
	var b strings.Builder
	fmt.Fprintf(&b, "1\n%d\n%d\n", asOf, len(batches))
	for _, pb := range batches {
		fmt.Fprintf(&b, "%d %d %d %d %d %d %d\n", pb.ProducerID, pb.ProducerEpoch, pb.FirstSeq, pb.LastSeq, pb.BaseOffset, pb.LastOffset, pb.Timestamp)
	}
	return writeFileDurably(fsys, path.Join(dir, producersFile), []byte(b.String()))
}

// readProducers returns the snapshot, its batches in file order, or an
// empty one of unknown asOf when it is missing or does not parse (the
// segments then rebuild what they still hold).
func readProducers(fsys kio.FS, dir string) producerSnapshot {
	none := producerSnapshot{asOf: -1}
	data := readSmallFile(fsys, path.Join(dir, producersFile), 16<<20)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	asOf := core.Offset(-1)
	switch {
	case len(lines) >= 3 && lines[0] == "1":
		n, err := strconv.ParseInt(lines[1], 10, 64)
		if err != nil || n < 0 {
			return none
		}
		asOf, lines = core.Offset(n), lines[2:]
	case len(lines) >= 2 && lines[0] == "0":
		lines = lines[1:]
	default:
		return none
	}
	n, err := strconv.Atoi(lines[0])
	if err != nil || n != len(lines)-1 {
		return none
	}
	out := make([]core.ProducerBatch, 0, n)
	for _, line := range lines[1:] {
		var v [7]int64
		f := strings.Fields(line)
		if len(f) != 7 {
			return none
		}
		for i := range v {
			if v[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return none
			}
		}
		out = append(out, core.ProducerBatch{ProducerID: core.ProducerID(v[0]), ProducerEpoch: int16(v[1]),
			FirstSeq: int32(v[2]), LastSeq: int32(v[3]), BaseOffset: core.Offset(v[4]), LastOffset: core.Offset(v[5]), Timestamp: v[6]})
	}
	return producerSnapshot{asOf: asOf, batches: out}
}

// readSmallFile returns up to max bytes of name, or nil if it is absent
// or unreadable.
func readSmallFile(fsys kio.FS, name string, max int64) []byte {
	if !fsys.Exists(name) {
		return nil
	}
	f, err := fsys.OpenFile(name, false)
	if err != nil {
		return nil
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil || size > max {
		return nil
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil
	}
	return buf
}

// writeFileDurably replaces name atomically and durably: writeFileAtomic,
// then fsync the directory.
func writeFileDurably(fsys kio.FS, name string, data []byte) error {
	if err := writeFileAtomic(fsys, name, data); err != nil {
		return err
	}
	if err := fsys.SyncDir(path.Dir(name)); err != nil {
		return fmt.Errorf("segment: sync dir %s: %w", path.Dir(name), err)
	}
	return nil
}

// writeFileAtomic replaces name atomically: write and fsync a temporary
// file, then rename it. The rename is durable once the directory is
// synced.
func writeFileAtomic(fsys kio.FS, name string, data []byte) error {
	tmp := name + tmpExt
	if err := kio.WriteSynced(fsys, tmp, data); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return fmt.Errorf("segment: rename %s: %w", tmp, err)
	}
	return nil
}

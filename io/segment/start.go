package segment

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// The log start offset checkpoint. Retention adopts a new log start in
// two steps, as Kafka does: the new start is made durable here (and
// reported to the broker) before any segment below it is deleted, and the
// segments wholly below it are deleted by the next retention pass. So a
// reader never meets a deleted segment above the log start the broker
// advertises, and a crash never brings the log start back: recovery takes
// the larger of the checkpoint and the first segment's base.
//
// Format (Kafka's checkpoint text, one entry for this partition):
//
//	0
//	1
//	<topic> <partition> <log start offset>
//
// Part of the format; do not change.

// readStart returns the checkpointed log start of the log in dir, or -1
// when there is none or it does not parse (a torn checkpoint is ignored:
// the segments' own bases then bound the log start).
func readStart(fsys kio.FS, dir string) core.Offset { return readCheckpoint(fsys, dir, startFile) }

// readCheckpoint returns the offset of the one-entry checkpoint file name
// in dir (the format above), or -1 when there is none or it does not
// parse.
func readCheckpoint(fsys kio.FS, dir, name string) core.Offset {
	data := readSmallFile(fsys, path.Join(dir, name), 512)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 || lines[0] != "0" || lines[1] != "1" {
		return -1
	}
	fields := strings.Fields(lines[2])
	if len(fields) != 3 {
		return -1
	}
	off, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || off < 0 {
		return -1
	}
	return core.Offset(off)
}

// writeStart replaces dir's log start checkpoint atomically and durably:
// write and fsync a temporary file, rename it, fsync the directory.
func writeStart(fsys kio.FS, dir string, start core.Offset) error {
	return writeCheckpoint(fsys, dir, startFile, start)
}

// writeCheckpoint replaces the one-entry checkpoint file name in dir
// atomically and durably.
func writeCheckpoint(fsys kio.FS, dir, name string, off core.Offset) error {
	tp := partitionOf(path.Base(dir))
	data := fmt.Sprintf("0\n1\n%s %d %d\n", tp.Topic, tp.Partition, off)
	return writeFileDurably(fsys, path.Join(dir, name), []byte(data))
}

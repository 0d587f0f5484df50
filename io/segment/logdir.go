package segment

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// The log directory's own files, beside the partition directories (see
// the package doc, "Restart"):
//
//	<log dir>/
//	  .kafka_cleanshutdown                 the clean-shutdown marker
//	  recovery-point-offset-checkpoint     every log's recovery point
//
// Both names and the checkpoint's format are Kafka's; part of the
// format, do not change.
const (
	CleanShutdownFile    = ".kafka_cleanshutdown"
	RecoveryPointFile    = "recovery-point-offset-checkpoint"
	recoveryPointsMax    = 1 << 24 // entries a checkpoint may hold (max.partitions.per.broker's bound)
	recoveryFileBytesMax = 512 << 20
)

// cleanShutdownContent is what Kafka 3.8 writes into the marker; a
// broker epoch of -1 says it is not recorded (Kafka reads the marker's
// presence and ignores an epoch it cannot parse).
const cleanShutdownContent = `{"version":0,"brokerEpoch":-1}`

// HadCleanShutdown reports whether root holds the clean-shutdown marker.
func HadCleanShutdown(fsys kio.FS, root string) bool {
	return fsys.Exists(path.Join(root, CleanShutdownFile))
}

// RemoveCleanShutdown deletes the clean-shutdown marker and makes the
// deletion durable, so that a crash from here on is never taken for a
// clean shutdown. It must run before anything in root is written.
func RemoveCleanShutdown(fsys kio.FS, root string) error {
	name := path.Join(root, CleanShutdownFile)
	if !fsys.Exists(name) {
		return nil
	}
	if bugOn(BugCleanShutdownKept) {
		return nil // BUG SITE (simbugs): BugCleanShutdownKept leaves the marker for the next start.
	}
	if err := fsys.Remove(name); err != nil {
		return fmt.Errorf("segment: remove %s: %w", name, err)
	}
	if err := fsys.SyncDir(root); err != nil {
		return fmt.Errorf("segment: sync dir %s: %w", root, err)
	}
	return nil
}

// MarkCleanShutdown writes the clean-shutdown marker durably. Call it
// only once every log of root is synced and closed and the recovery
// points are checkpointed: the marker says the next start may trust
// every file as it is.
func MarkCleanShutdown(fsys kio.FS, root string) error {
	return writeFileDurably(fsys, path.Join(root, CleanShutdownFile), []byte(cleanShutdownContent))
}

// RecoveryPoints is a log directory's recovery-point-offset-checkpoint
// as last written: for each partition, an offset below which its log is
// durable (see Log.RecoveryPoint). Its owner (the runtime's loop) writes
// it; the Logs never touch it, so it holds no lock. Whatever changes data
// below a recovery point it lists must first write it without that
// partition (the core asks for that before every Truncate and
// DeleteLog: see core.CheckpointRecovery).
//
// Format (Kafka's checkpoint text, version 0, one line per partition,
// sorted by topic and partition here):
//
//	0
//	<count>
//	<topic> <partition> <recovery point>
type RecoveryPoints struct {
	fs      kio.FS
	root    string
	written map[core.TopicPartition]core.Offset // as in the file
}

// ReadRecoveryPoints reads root's recovery-point-offset-checkpoint. A
// missing or unparsable file gives an empty set and the reason, which
// the caller logs: every log then recovers fully.
func ReadRecoveryPoints(fsys kio.FS, root string) (*RecoveryPoints, string) {
	rp := &RecoveryPoints{fs: fsys, root: root, written: map[core.TopicPartition]core.Offset{}}
	name := path.Join(root, RecoveryPointFile)
	if !fsys.Exists(name) {
		return rp, "no " + RecoveryPointFile
	}
	data := readSmallFile(fsys, name, recoveryFileBytesMax)
	points, err := parseRecoveryPoints(data)
	if err != nil {
		return rp, fmt.Sprintf("%s unreadable: %v", RecoveryPointFile, err)
	}
	rp.written = points
	return rp, ""
}

// parseRecoveryPoints parses the checkpoint text.
func parseRecoveryPoints(data []byte) (map[core.TopicPartition]core.Offset, error) {
	if data == nil {
		return nil, fmt.Errorf("cannot read it")
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("no version 0 header")
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n < 0 || n > recoveryPointsMax || n != len(lines)-2 {
		return nil, fmt.Errorf("count %q does not match %d entries", lines[1], len(lines)-2)
	}
	out := make(map[core.TopicPartition]core.Offset, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("entry %q is not <topic> <partition> <offset>", line)
		}
		p, perr := strconv.ParseInt(f[1], 10, 32)
		off, oerr := strconv.ParseInt(f[2], 10, 64)
		if perr != nil || oerr != nil || p < 0 || off < 0 {
			return nil, fmt.Errorf("entry %q does not parse", line)
		}
		out[core.TopicPartition{Topic: f[0], Partition: int32(p)}] = core.Offset(off)
	}
	return out, nil
}

// Of returns the recovery point of tp as last written, and whether there
// is one.
func (rp *RecoveryPoints) Of(tp core.TopicPartition) (core.Offset, bool) {
	off, ok := rp.written[tp]
	return off, ok
}

// Len is the number of entries as last written.
func (rp *RecoveryPoints) Len() int { return len(rp.written) }

// Write replaces the checkpoint with points, atomically and durably
// (write and fsync a temporary file, rename it, fsync the directory).
// Partitions not among points leave it.
func (rp *RecoveryPoints) Write(points map[core.TopicPartition]core.Offset) error {
	if err := writeFileDurably(rp.fs, path.Join(rp.root, RecoveryPointFile), encodeRecoveryPoints(points)); err != nil {
		return err
	}
	rp.written = points
	return nil
}

// Remove deletes the checkpoint durably and forgets what it held: a
// restart then recovers every log fully. The runtime removes a
// checkpoint it could not rewrite rather than leave one that may vouch
// for more of a log than a truncation about to run leaves of it.
func (rp *RecoveryPoints) Remove() error {
	name := path.Join(rp.root, RecoveryPointFile)
	if rp.fs.Exists(name) {
		if err := rp.fs.Remove(name); err != nil {
			return fmt.Errorf("segment: remove %s: %w", name, err)
		}
	}
	if err := rp.fs.SyncDir(rp.root); err != nil {
		return fmt.Errorf("segment: sync dir %s: %w", rp.root, err)
	}
	rp.written = map[core.TopicPartition]core.Offset{}
	return nil
}

// encodeRecoveryPoints renders the checkpoint, entries sorted.
func encodeRecoveryPoints(points map[core.TopicPartition]core.Offset) []byte {
	tps := make([]core.TopicPartition, 0, len(points))
	// order-independent: collected, then sorted
	for tp := range points {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b core.TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, points[tp])
	}
	return []byte(b.String())
}

package driver

import (
	"fmt"
	"path"
	"sort"

	"cloudkafka/core"
	"cloudkafka/io/segment"
)

// Restart after a clean shutdown or a crash (see io/segment's package
// doc, "Restart"). The log directory holds two files of Kafka's beside
// the partition directories:
//
//   - .kafka_cleanshutdown, written by Close once every log is synced and
//     closed and the recovery points are checkpointed; Open deletes it
//     (durably) before it opens any log, so that a crash after the start
//     is never taken for a clean shutdown. With it, Open loads every log
//     without reading its batches.
//   - recovery-point-offset-checkpoint, every log's recovery point:
//     written by Open once the logs are loaded, by Close, and every
//     log.flush.offset.checkpoint.interval.ms (the core's
//     CheckpointRecovery). Without the marker, Open trusts each log below
//     its recovery point and checks the rest.
//
// The checkpoint (segment.RecoveryPoints) lives on the loop: only the
// driver reads the logs' recovery points into it, and only of logs no
// storage work holds (a log's state is its IO work's while it runs).
// The core asks for it without a partition right before that
// partition's Truncate or DeleteLog (core.CheckpointRecovery), so no
// checkpoint vouches for what a truncation rewrites or for a log created
// again under a deleted one's name.
//
// A rewrite that fails (a full disk) leaves the previous checkpoint in
// place, which may list the very partition about to be cut: the driver
// then removes the checkpoint, and a restart recovers every log fully.
// Should the removal fail too, what the checkpoint vouches for is
// unknown, and the driver refuses every Truncate and CreateLog until a
// removal succeeds (refuseUnvouched): a log that may be vouched for is
// neither cut nor started afresh.

// openLogs opens every partition directory of a known partition under
// dir (removing the others), as the marker and the recovery point
// checkpoint allow, and writes the checkpoint again once they are
// loaded.
func (d *Driver) openLogs(cfg core.Config, known map[core.TopicPartition]bool, rec *core.Recovered) error {
	fs, dir := d.fs, d.dir
	clean := segment.HadCleanShutdown(fs, dir)
	if err := segment.RemoveCleanShutdown(fs, dir); err != nil {
		return fmt.Errorf("remove the clean shutdown marker: %w", err)
	}
	points, why := segment.ReadRecoveryPoints(fs, dir)
	d.points = points
	for _, stray := range []string{segment.RecoveryPointFile + ".tmp", segment.CleanShutdownFile + ".tmp"} {
		if name := path.Join(dir, stray); fs.Exists(name) {
			if err := fs.Remove(name); err != nil {
				return fmt.Errorf("remove %s: %w", name, err)
			}
		}
	}
	names, err := fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list log dir: %w", err)
	}
	switch {
	case clean:
		d.Logf("log dir %s: clean shutdown marker found: loading logs without recovery", dir)
	case why != "":
		d.Logf("log dir %s: no clean shutdown marker and %s: recovering every log fully", dir, why)
	default:
		d.Logf("log dir %s: no clean shutdown marker: recovering logs from their recovery points (%d checkpointed)", dir, points.Len())
	}
	for _, name := range names {
		tp, ok := parsePartitionDir(name)
		if !ok {
			continue
		}
		if !known[tp] {
			d.Logf("removing orphaned partition directory %s", name)
			if err := fs.RemoveAll(path.Join(dir, name)); err != nil {
				return fmt.Errorf("remove orphaned %s: %w", name, err)
			}
			continue
		}
		opts := segment.OpenOptions{CleanShutdown: clean, RecoveryPoint: -1}
		if off, ok := points.Of(tp); ok {
			opts.RecoveryPoint = off
		}
		l, err := segment.OpenWith(fs, path.Join(dir, name), cfg.Log, opts)
		if err != nil {
			return fmt.Errorf("recover %s: %w", name, err)
		}
		d.logs[tp] = l
		rp := l.Recovered()
		rp.Partition = tp
		rec.Partitions = append(rec.Partitions, rp)
		d.logLoaded(tp, l, rp)
	}
	if err := points.Write(recoveryPoints(d.sortedLogs())); err != nil {
		return fmt.Errorf("checkpoint recovery points: %w", err)
	}
	return nil
}

// recoveryPoints maps each log's partition to its recovery point.
func recoveryPoints(logs []*segment.Log) map[core.TopicPartition]core.Offset {
	out := make(map[core.TopicPartition]core.Offset, len(logs))
	for _, l := range logs {
		out[l.Partition()] = l.RecoveryPoint()
	}
	return out
}

// logLoaded reports how a log was loaded.
func (d *Driver) logLoaded(tp core.TopicPartition, l *segment.Log, rp core.RecoveredPartition) {
	ld := l.Loaded()
	d.Logf("recovered %s: log start %d, log end %d (%s: %d segments trusted, %d bytes trusted, %d bytes checked)",
		tp, rp.LogStartOffset, rp.LogEndOffset, ld.Mode, ld.TrustedSegments, ld.TrustedBytes, ld.CheckedBytes)
	if ld.FellBack != "" {
		d.Logf("recovered %s fully: its files failed a check (%s)", tp, ld.FellBack)
	}
}

// sortedLogs lists the open logs in partition order.
func (d *Driver) sortedLogs() []*segment.Log {
	tps := make([]core.TopicPartition, 0, len(d.logs))
	// order-independent: collected, then sorted
	for tp := range d.logs {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].Less(tps[j]) })
	logs := make([]*segment.Log, len(tps))
	for i, tp := range tps {
		logs[i] = d.logs[tp]
	}
	return logs
}

// checkpointRecovery executes CheckpointRecovery: it rewrites the
// checkpoint with exactly the partitions the core lists, each with its
// log's recovery point, or, for a log storage work holds, its entry as
// last written. If that fails, the checkpoint is removed (see above).
func (d *Driver) checkpointRecovery(e core.CheckpointRecovery) {
	points := make(map[core.TopicPartition]core.Offset, len(e.Partitions))
	for _, tp := range e.Partitions {
		_, busy := d.busy[tp]
		if l := d.logs[tp]; l != nil && !busy {
			points[tp] = l.RecoveryPoint()
		} else if off, ok := d.points.Of(tp); ok {
			points[tp] = off
		}
	}
	err := d.points.Write(points)
	if err == nil {
		d.pointsUnknown = false
		return
	}
	d.Logf("checkpointing recovery points failed: %v", err)
	d.removePoints()
}

// removePoints removes the checkpoint after a failed rewrite, and notes
// whether what it vouches for is now unknown.
func (d *Driver) removePoints() {
	if err := d.points.Remove(); err != nil {
		d.pointsUnknown = true
		d.Logf("removing the recovery point checkpoint failed: %v; truncations and new logs are refused until it is gone", err)
		return
	}
	d.pointsUnknown = false
	d.Logf("removed the recovery point checkpoint: a restart recovers every log fully")
}

// refuseUnvouched runs while what the checkpoint vouches for is unknown.
// A Truncate or CreateLog is refused, unless a new try removes the
// checkpoint: the Truncate completes with the error (the core takes the
// partition offline, as after a failed write), the CreateLog creates
// nothing (appends to the partition fail the same way). It says whether
// e was refused.
func (d *Driver) refuseUnvouched(e core.Effect) bool {
	switch e.(type) {
	case core.Truncate, core.CreateLog:
	default:
		return false
	}
	d.removePoints()
	if !d.pointsUnknown {
		return false
	}
	err := fmt.Errorf("the recovery point checkpoint could not be rewritten or removed")
	switch e := e.(type) {
	case core.Truncate:
		d.Logf("truncate of %s to %d refused: %v", e.Partition, e.Offset, err)
		d.complete(core.Truncated{Token: e.Token, Err: err})
	case core.CreateLog:
		d.Logf("create log %s refused: %v", e.Partition, err)
	}
	return true
}

// closeLogs syncs and closes every log, then, if all went well, writes
// the recovery points and the clean shutdown marker. The runtime calls
// it once no IO work runs (work that finished after the loop stopped was
// handed to Settle).
func (d *Driver) closeLogs() error {
	logs := d.sortedLogs()
	var first error
	for _, l := range logs {
		tp := l.Partition()
		if err := l.Sync(); err != nil && first == nil {
			first = fmt.Errorf("sync %s: %w", tp, err)
		}
		if err := l.Close(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", tp, err)
		}
	}
	if first != nil {
		d.Logf("shutdown: not marked clean: %v", first)
		return first
	}
	if err := d.points.Write(recoveryPoints(logs)); err != nil {
		return fmt.Errorf("checkpoint recovery points: %w", err)
	}
	if err := segment.MarkCleanShutdown(d.fs, d.dir); err != nil {
		return fmt.Errorf("write the clean shutdown marker: %w", err)
	}
	d.Logf("shutdown: %d logs synced and closed, recovery points checkpointed, clean shutdown marked", len(logs))
	return nil
}

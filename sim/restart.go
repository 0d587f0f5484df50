package sim

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"

	"cloudkafka/core"
	"cloudkafka/io/memfs"
	"cloudkafka/io/segment"
)

// Restarts that trust what they load (io/segment's "Restart"): a log
// loaded after a clean shutdown, or from its recovery point, must be the
// log a full recovery of the same files finds. checkRestart holds every
// start of every node to that (failure kind recovery-shortcut): before
// the driver opens the disk, it copies it twice, loads each partition on
// one copy as the driver will (the clean-shutdown marker, the
// checkpointed recovery point) and recovers it fully on the other, and
// compares what the two derived (segment.Log.Summary: log start and end,
// epochs, producer windows, each segment's size, end and timestamps).
// The copies carry no hooks: nothing of this reaches the trace or the
// coverage counts.
//
// clean-restart is the fault that makes the marker matter: the workload
// broker asked to stop, stopped once ready with the driver's Close (which
// syncs and closes every log, checkpoints the recovery points and writes
// the marker), and started again.

// Two invariants of what the disk says at any time back the trust:
//
//   - checkCleanShutdownMarker (kind clean-shutdown-marker): a start
//     finds the marker only if the last process closed its driver
//     cleanly, or was writing the marker when it died (the driver writes
//     it last, once every log is closed): a crash is never taken for a
//     clean shutdown;
//   - checkRecoveryPoints (kind recovery-point): whenever a process
//     stops, the recovery point the checkpoint's durable image holds for
//     each workload partition lies within the partition's durable log (a
//     power loss now would leave every offset below it).

// checkCleanShutdownMarker runs before n starts.
func (n *node) checkCleanShutdownMarker() {
	w := n.w
	if n.fs.Exists(path.Join(dataDir, segment.CleanShutdownFile)) && !n.cleanStop {
		w.failf("clean-shutdown-marker", "node %d starts with the clean shutdown marker, but its logs changed after the last clean stop", n.id)
	}
}

// noteCleanState follows, operation by operation (as the file system's
// hook sees them, once a crash point let them through), whether n's logs
// are as its last clean stop left them: a write of the marker says so
// (the driver writes it last), any change to a partition directory or
// the recovery point checkpoint says no longer.
//
// The marker's removal changes no log, so it says nothing: a start that
// removed the marker and crashed before the removal was durable finds
// it again, rightly, over logs nothing touched. A start that wrote to a
// log before its removal was durable (a power loss then brings back the
// marker over a changed log) is what this check exists to catch, and it
// is caught by that write.
func (n *node) noteCleanState(op, name string) {
	rel, ok := strings.CutPrefix(name, dataDir+"/")
	if !ok {
		return
	}
	first, _, nested := strings.Cut(rel, "/")
	switch {
	case strings.HasPrefix(rel, segment.CleanShutdownFile):
		if op != memfs.OpRemove {
			n.cleanStop = true
		}
	case op == memfs.OpRead || op == memfs.OpReadDir || op == memfs.OpSize || op == memfs.OpClose:
	case nested || strings.HasPrefix(first, segment.RecoveryPointFile):
		if _, isPart := partitionDirName(first); isPart || !nested {
			n.cleanStop = false
		}
	}
}

// checkRecoveryPoints runs as n's process stops.
func (n *node) checkRecoveryPoints() {
	w := n.w
	data := n.fs.DurableData(path.Join(dataDir, segment.RecoveryPointFile))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, line := range lines[min(2, len(lines)):] {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != w.topic {
			continue
		}
		part, perr := strconv.ParseInt(f[1], 10, 32)
		off, oerr := strconv.ParseInt(f[2], 10, 64)
		if perr != nil || oerr != nil || part >= int64(w.partitions) {
			continue
		}
		if end := n.logEnd(int32(part), true); core.Offset(off) > end {
			w.failf("recovery-point", "node %d: the checkpoint on disk says partition %d is durable below offset %d; its durable log ends at %d", n.id, part, off, end)
		}
	}
}

// restartOracle is the copy of the disk a start is checked against.
type restartOracle struct {
	disk *memfs.FS
	cfg  core.LogConfig
}

// newRestartOracle copies n's disk as the driver is about to find it.
func (n *node) newRestartOracle(cfg core.Config) restartOracle {
	lc := cfg.Log
	lc.Coverage, lc.ProducersMax = nil, cfg.ProducersPerPartMax
	return restartOracle{disk: n.fs.FS.Clone(), cfg: lc}
}

// check loads every partition directory of the copy both ways and
// reports a log whose trusted load differs from its full recovery.
func (o restartOracle) check(n *node) {
	w := n.w
	trusting, full := o.disk, o.disk.Clone()
	clean := segment.HadCleanShutdown(trusting, dataDir)
	points, _ := segment.ReadRecoveryPoints(trusting, dataDir)
	names, err := trusting.ReadDir(dataDir)
	if err != nil {
		return
	}
	for _, name := range names {
		tp, ok := partitionDirName(name)
		if !ok {
			continue
		}
		opts := segment.OpenOptions{CleanShutdown: clean, RecoveryPoint: -1}
		if off, ok := points.Of(tp); ok {
			opts.RecoveryPoint = off
		}
		dir := path.Join(dataDir, name)
		loaded, lerr := segment.OpenWith(trusting, dir, o.cfg, opts)
		recovered, rerr := segment.Open(full, dir, o.cfg)
		switch {
		case lerr != nil || rerr != nil:
			if (lerr == nil) != (rerr == nil) {
				w.failf("recovery-shortcut", "node %d, %s: the trusted load said %v, the full recovery %v", n.id, name, lerr, rerr)
			}
		case loaded.Loaded().Mode == segment.RecoveredFully:
		case comparable(loaded.Summary(), w.epochFlipped(dir)) != comparable(recovered.Summary(), w.epochFlipped(dir)):
			w.failf("recovery-shortcut", "node %d, %s %s (%+v) differs from a full recovery:\n%s\nfull recovery:\n%s",
				n.id, name, loaded.Loaded().Mode, loaded.Loaded(), loaded.Summary(), recovered.Summary())
		}
	}
}

// comparable is a log summary as the check compares it: without its
// leader epochs when a header-flip damaged a batch's leader epoch in the
// partition on some broker (replication copies the damage). No check
// can see such damage; the epoch cache a broker kept, and the one a full
// recovery derives from the batches retention left, both carry it, but
// differently.
func comparable(summary string, epochFlipped bool) string {
	if !epochFlipped {
		return summary
	}
	var keep []string
	for _, line := range strings.Split(summary, "\n") {
		if !strings.HasPrefix(line, "epochs ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// epochFlipped says a header-flip damaged a leader epoch in the
// partition directory dir of some broker.
func (w *world) epochFlipped(dir string) bool {
	for _, n := range w.nodes {
		if n.epochFlipped[dir] {
			return true
		}
	}
	return false
}

// partitionDirName parses Kafka's "<topic>-<partition>" directory name.
func partitionDirName(name string) (core.TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return core.TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return core.TopicPartition{}, false
	}
	return core.TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// cleanRestartStream seeds clean-restart's draw, so that adding it left
// every other draw of a seed as it was.
const cleanRestartStream = 0x636c65616e // "clean"

// cleanRestartFault stops the workload broker cleanly now and then (an
// operator's SIGTERM) and starts it again after up to downMax.
type cleanRestartFault struct {
	meanInterval, downMax core.Instant
	stopping              int // the incarnation being stopped, 0 if none
}

// drawCleanRestart draws clean-restart from its own stream: about two
// seeds in five.
func (w *world) drawCleanRestart() []fault {
	r := rand.New(rand.NewPCG(w.cfg.Seed, cleanRestartStream))
	if r.Float64() >= 0.4 {
		return nil
	}
	return []fault{&cleanRestartFault{meanInterval: core.Instant(1e9 + r.Int64N(10e9)), downMax: core.Instant(1e6 + r.Int64N(1e9))}}
}

const faultCleanRestart = "clean-restart"

func (f *cleanRestartFault) name() string { return faultCleanRestart }
func (f *cleanRestartFault) describe() string {
	return fmt.Sprintf("clean-restart(every~%s,down<%s)", fmtDur(f.meanInterval), fmtDur(f.downMax))
}

func (f *cleanRestartFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		if n := w.broker; n.up && f.stopping != n.incarnation {
			w.count(f.name())
			f.stopping = n.incarnation
			f.stop(n)
		}
		f.arm(w)
	})
}

// stop asks n to prepare, then stops it cleanly once it is ready (as
// SIGTERM does: the clean shutdown marker written) and restarts it.
func (f *cleanRestartFault) stop(n *node) {
	n.stopWhenReady(f.downMax, func() bool {
		if !n.closeCleanly() {
			return false
		}
		n.halt(true)
		return true
	})
}

// drawRecoveryCheckpoint draws log.flush.offset.checkpoint.interval.ms
// from its own stream: Kafka's minute (at most once or twice a run),
// seconds, or every tick, so that crashes find checkpoints of every age.
func (w *world) drawRecoveryCheckpoint() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, cleanRestartStream+1))
	switch x := r.Float64(); {
	case x < 0.2:
	case x < 0.4:
		w.brokerProps["log.flush.offset.checkpoint.interval.ms"] = "0"
	default:
		w.brokerProps["log.flush.offset.checkpoint.interval.ms"] = strconv.FormatInt(50+r.Int64N(5000), 10)
	}
}

// closeCleanly closes n's driver as a clean shutdown does, under the
// crash-point guard; false when a crash point fired instead (the crash
// took n down and scheduled its restart).
func (n *node) closeCleanly() (closed bool) {
	w := n.w
	w.logf("node %d: stopping cleanly", n.id)
	inc := n.incarnation
	defer n.recoverBroker()
	n.inBroker = true
	if err := n.drv.Close(); err != nil {
		w.logf("node %d: close: %v", n.id, err)
	}
	n.inBroker = false
	return n.up && n.incarnation == inc
}

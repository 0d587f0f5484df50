package sim

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"cloudkafka/linearizability"
)

// Linearizability bounds: each partition's check is cut to a prefix of at
// most LinearizeOpsMax operations (see linearizability.Cut), and porcupine
// gets LinearizeTimeout per partition. An undecided check is a failure.
// Narrowed histories of faulty runs check in milliseconds; the timeout
// only bounds a pathological one.
const (
	LinearizeOpsMax  = 1000
	LinearizeTimeout = 10 * time.Second
)

// linearizeTimeout is LinearizeTimeout; tests shorten it.
var linearizeTimeout = LinearizeTimeout

// partitionHistories translates a run's history into one porcupine history
// per partition, in partition order. Pending and indefinite produces may or
// may not have taken effect; a plain producer's retries may have appended
// its batch more than once; only fetches answered without error count.
//
// A compacted topic's partitions are left out: the model is a contiguous
// log, and a compacted partition's fetches legitimately skip the offsets
// of records the cleaner removed (compaction.go checks them instead).
func partitionHistories(h *History) []linearizability.PartitionHistory {
	if h.Compacted {
		return nil
	}
	byPart := map[int32]*linearizability.PartitionHistory{}
	get := func(p int32) *linearizability.PartitionHistory {
		if byPart[p] == nil {
			byPart[p] = &linearizability.PartitionHistory{Partition: p}
		}
		return byPart[p]
	}
	for _, op := range h.Ops {
		switch op.Kind {
		case OpProduce:
			get(op.Partition).Produces = append(get(op.Partition).Produces, linearizeProduce(op))
		case OpFetch:
			for _, fp := range op.Fetches {
				f := linearizability.Fetch{Call: int64(op.Call), Return: int64(op.Return), From: int64(fp.From),
					HighWatermark: int64(fp.HighWatermark), OK: op.Outcome == OK && fp.ErrorCode == 0,
					Label: fmt.Sprintf("op %d %s", op.ID, op.Client), Source: int32(op.Broker)}
				for _, r := range fp.Records {
					f.Records = append(f.Records, linearizability.Record{Offset: int64(r.Offset), Value: r.Value})
				}
				get(fp.Partition).Fetches = append(get(fp.Partition).Fetches, f)
			}
		case OpListOffsets:
			if op.Outcome != OK {
				continue
			}
			for _, lo := range op.Listed {
				if lo.ErrorCode != 0 || (lo.Timestamp != -1 && lo.Timestamp != -2) {
					continue
				}
				get(lo.Partition).Lists = append(get(lo.Partition).Lists, linearizability.ListOffsets{
					Call: int64(op.Call), Return: int64(op.Return), Latest: lo.Timestamp == -1,
					Offset: int64(lo.Offset), Label: fmt.Sprintf("op %d %s", op.ID, op.Client), Source: int32(op.Broker)})
			}
		}
	}
	parts := make([]int32, 0, len(byPart))
	// order-independent: keys collected, then sorted
	for p := range byPart {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	out := make([]linearizability.PartitionHistory, 0, len(parts))
	for _, p := range parts {
		out = append(out, *byPart[p])
	}
	return out
}

func linearizeProduce(op *Op) linearizability.Produce {
	p := linearizability.Produce{Call: int64(op.Call), Return: int64(op.Return), Values: op.Values,
		Offset: int64(op.Offset), Label: fmt.Sprintf("op %d %s", op.ID, op.Client)}
	switch op.Outcome {
	case OK:
		p.Outcome = linearizability.OK
	case Failed:
		p.Outcome = linearizability.Failed
	default:
		p.Outcome = linearizability.Unknown
	}
	if !op.Idempotent && op.Attempts > 1 {
		p.Duplicates = op.Attempts - 1
	}
	return p
}

// CheckLinearizable checks every partition's history against the
// partition-log model and returns one line per failing partition and the
// number of operations checked. Each partition's history is bounded with
// linearizability.Cut to LinearizeOpsMax operations (the rest of the run
// still narrows indefinite produces) and its check to LinearizeTimeout;
// a check that times out is a failure. When vizDir is not empty, each
// failing partition's porcupine visualization is written there as
// seed-<seed>-partition-<p>.html, with the partition's history beside it
// as seed-<seed>-partition-<p>.json, and their paths are part of the
// failure.
func CheckLinearizable(h *History, seed uint64, vizDir string) ([]string, int) {
	failures, checked, _ := checkLinearizable(h, seed, vizDir)
	return failures, checked
}

// checkLinearizable is CheckLinearizable that also returns the wall-clock
// time the checks took (the simulator itself never reads the clock).
func checkLinearizable(h *History, seed uint64, vizDir string) ([]string, int, time.Duration) {
	var failures []string
	checked := 0
	var took time.Duration
	for _, ph := range partitionHistories(h) {
		r := linearizability.CheckPartition(linearizability.Cut(ph, LinearizeOpsMax), linearizeTimeout)
		checked += r.Ops
		took += r.Elapsed
		if r.Passed() {
			continue
		}
		msg := fmt.Sprintf("linearizability: partition %d: %s", ph.Partition, r)
		if r.Verdict == porcupine.Unknown {
			msg += " (inconclusive: the check timed out)"
		}
		if vizDir != "" {
			path := filepath.Join(vizDir, fmt.Sprintf("seed-%d-partition-%d.html", seed, ph.Partition))
			if err := linearizability.WriteVisualization(path, ph, r); err != nil {
				msg += fmt.Sprintf(" (visualization not written: %v)", err)
			} else {
				msg += " (visualization: " + path + ")"
			}
			// the history itself, to replay the check in a unit test
			hpath := filepath.Join(vizDir, fmt.Sprintf("seed-%d-partition-%d.json", seed, ph.Partition))
			if err := linearizability.WriteHistory(hpath, ph); err != nil {
				msg += fmt.Sprintf(" (history not written: %v)", err)
			} else {
				msg += " (history: " + hpath + ")"
			}
		}
		failures = append(failures, msg)
	}
	return failures, checked, took
}

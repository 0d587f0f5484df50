package sim

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"cloudkafka/linearizability"
)

// Linearizability bounds: each partition's history is cut to its first
// LinearizeOpsMax operations (a sound prefix), and porcupine gets
// LinearizeTimeout per partition. An undecided check is a failure.
const (
	LinearizeOpsMax  = 1000
	LinearizeTimeout = 10 * time.Second
)

// partitionHistories translates a run's history into one porcupine history
// per partition, in partition order. Pending and indefinite produces may or
// may not have taken effect; a plain producer's retries may have appended
// its batch more than once; only fetches answered without error count.
func partitionHistories(h *History) []linearizability.PartitionHistory {
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
					Label: fmt.Sprintf("op %d %s", op.ID, op.Client)}
				for _, r := range fp.Records {
					f.Records = append(f.Records, linearizability.Record{Offset: int64(r.Offset), Value: r.Value})
				}
				get(fp.Partition).Fetches = append(get(fp.Partition).Fetches, f)
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
// partition-log model. When vizDir is not empty, each failing partition's
// porcupine visualization is written there as an HTML file named by seed
// and partition, and its path is part of the failure.
func CheckLinearizable(h *History, seed uint64, vizDir string) ([]string, int) {
	var failures []string
	checked := 0
	for _, ph := range partitionHistories(h) {
		ph = linearizability.Cut(ph, LinearizeOpsMax)
		r := linearizability.CheckPartition(ph, LinearizeTimeout)
		checked += r.Ops
		if r.Passed() {
			continue
		}
		msg := fmt.Sprintf("linearizability: partition %d: %s", ph.Partition, r)
		if vizDir != "" {
			path := filepath.Join(vizDir, fmt.Sprintf("seed-%d-partition-%d.html", seed, ph.Partition))
			if err := linearizability.WriteVisualization(path, ph, r); err != nil {
				msg += fmt.Sprintf(" (visualization not written: %v)", err)
			} else {
				msg += " (visualization: " + path + ")"
			}
		}
		failures = append(failures, msg)
	}
	return failures, checked
}

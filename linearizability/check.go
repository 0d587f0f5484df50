package linearizability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// Result is the outcome of checking one partition.
type Result struct {
	// Verdict is porcupine.Ok, porcupine.Illegal, or porcupine.Unknown
	// when the timeout expired. Unknown must be reported as a failure.
	Verdict porcupine.CheckResult
	Ops     int           // operations checked (after narrowing and cutting)
	Total   int           // operations of the whole history, narrowed, before cutting
	CutAt   int64         // the offset the check was cut at (see Cut), or -1
	Elapsed time.Duration // wall-clock time of the check
	// Info holds the linearization (Ok) or the longest partial
	// linearizations (Illegal, Unknown), for WriteVisualization.
	Info porcupine.LinearizationInfo

	built built
}

// Passed reports whether the history was proven linearizable. Illegal and
// Unknown (timed out: inconclusive) both fail.
func (r Result) Passed() bool { return r.Verdict == porcupine.Ok }

func (r Result) String() string {
	cut := ""
	if r.CutAt >= 0 {
		cut = fmt.Sprintf(" of %d, cut at offset %d", r.Total, r.CutAt)
	}
	return fmt.Sprintf("%s (%d ops%s in %v)", r.Verdict, r.Ops, cut, r.Elapsed.Round(time.Millisecond))
}

// CheckPartition checks that h is linearizable with respect to the
// committed-log specification described in the package documentation.
// timeout bounds the search; timeout <= 0 means no bound, which callers
// should avoid (the problem is NP-complete). Bound h with Cut first.
func CheckPartition(h PartitionHistory, timeout time.Duration) Result {
	if timeout < 0 {
		timeout = 0
	}
	start := time.Now()
	b := build(h)
	verdict, info := porcupine.CheckOperationsVerbose(b.model, b.ops, timeout)
	return Result{
		Verdict: verdict,
		Ops:     len(b.ops),
		Total:   b.total,
		CutAt:   b.cutAt,
		Elapsed: time.Since(start),
		Info:    info,
		built:   b,
	}
}

// WriteVisualization writes porcupine's interactive HTML view of the
// check r of h to path: one lane per concurrent slot, each operation
// described with its offsets and values, and the (partial) linearization
// with the log's tail after each step. Indefinite produces the checker
// proved invisible appear as "not checked" annotations. r must come from
// CheckPartition(h, ...). The directory of path is created if missing.
func WriteVisualization(path string, h PartitionHistory, r Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b := r.built
	if b.model.Init == nil {
		b = build(h)
	}
	info := r.Info
	var first int64
	if len(b.ops) > 0 {
		first = b.ops[0].Call
	}
	details := r.String()
	if b.cutAt >= 0 {
		details += fmt.Sprintf("; only operations below offset %d are shown and checked", b.cutAt)
	}
	info.AddAnnotations(append([]porcupine.Annotation{{
		Tag:         "checker",
		Start:       first,
		Description: fmt.Sprintf("partition %d: %s", h.Partition, r.Verdict),
		Details:     details,
	}}, b.dropped...))
	return porcupine.VisualizePath(b.model, info, path)
}

// WriteHistory writes h as JSON to path, the form the package's
// regression tests read back to replay a check.
func WriteHistory(path string, h PartitionHistory) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

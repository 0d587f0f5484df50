package linearizability

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// Result is the outcome of checking one partition.
type Result struct {
	// Verdict is porcupine.Ok, porcupine.Illegal, or porcupine.Unknown
	// when the timeout expired. Unknown must be reported as a failure.
	Verdict porcupine.CheckResult
	Ops     int           // operations checked
	Elapsed time.Duration // wall-clock time of the check
	// Info holds the linearization (Ok) or the longest partial
	// linearizations (Illegal, Unknown), for WriteVisualization.
	Info porcupine.LinearizationInfo

	model porcupine.Model
}

// Passed reports whether the history was proven linearizable. Illegal and
// Unknown (timed out: inconclusive) both fail.
func (r Result) Passed() bool { return r.Verdict == porcupine.Ok }

func (r Result) String() string {
	return fmt.Sprintf("%s (%d ops in %v)", r.Verdict, r.Ops, r.Elapsed.Round(time.Millisecond))
}

// CheckPartition checks that h is linearizable with respect to the
// committed-log specification described in the package documentation.
// timeout bounds the search; timeout <= 0 means no bound, which callers
// should avoid (the problem is NP-complete). Bound h with Cut first.
func CheckPartition(h PartitionHistory, timeout time.Duration) Result {
	ops, model, _ := build(h)
	if timeout < 0 {
		timeout = 0
	}
	start := time.Now()
	verdict, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	return Result{
		Verdict: verdict,
		Ops:     len(ops),
		Elapsed: time.Since(start),
		Info:    info,
		model:   model,
	}
}

// WriteVisualization writes porcupine's interactive HTML view of the
// check r of h to path: one lane per concurrent slot, each operation
// described with its offsets and values, and the (partial) linearization
// with the log's tail after each step. Indefinite produces the checker
// proved invisible appear as "not checked" annotations. r must come from
// CheckPartition(h, ...).
func WriteVisualization(path string, h PartitionHistory, r Result) error {
	ops, model, dropped := build(h)
	if r.model.Init != nil {
		model = r.model
	}
	info := r.Info
	var first int64
	if len(ops) > 0 {
		first = ops[0].Call
	}
	info.AddAnnotations(append([]porcupine.Annotation{{
		Tag:         "checker",
		Start:       first,
		Description: fmt.Sprintf("partition %d: %s", h.Partition, r.Verdict),
		Details:     r.String(),
	}}, dropped...))
	return porcupine.VisualizePath(model, info, path)
}

package linearizability

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// A committed offset is a register: commits write it, offset fetches read
// it, and it starts empty (-1). One register per (group, topic,
// partition); CheckCommits checks one.

// Commit is one OffsetCommit of one partition. Outcome OK: acknowledged,
// it wrote Offset; Unknown: it may or may not have (a lost connection, a
// coordinator error after the write may have happened). Definite
// failures are not commits and are left out. Return is ignored for
// Unknown.
type Commit struct {
	Call, Return int64
	Offset       int64
	Outcome      Outcome
	Label        string
}

// OffsetRead is one answered OffsetFetch of the partition: it saw Offset
// (-1: none committed).
type OffsetRead struct {
	Call, Return int64
	Offset       int64
	Label        string
}

// CommitHistory is the history of one committed offset.
type CommitHistory struct {
	Key     string
	Commits []Commit
	Reads   []OffsetRead
}

type regOp struct {
	write bool
	maybe bool // an Unknown commit: writes or not
	value int64
	label string
}

// CheckCommits checks h against the register, within timeout; an Unknown
// verdict (the timeout) is a failure, as for partitions.
func CheckCommits(h CommitHistory, timeout time.Duration) Result {
	var ops []porcupine.Operation
	var last int64
	for _, c := range h.Commits {
		last = max(last, c.Call, c.Return)
	}
	for _, r := range h.Reads {
		last = max(last, r.Return)
	}
	for _, c := range h.Commits {
		ret := c.Return
		if c.Outcome != OK {
			ret = last + 1 // may take effect any time after its call
		}
		ops = append(ops, porcupine.Operation{ClientId: len(ops), Call: c.Call, Return: ret,
			Input: regOp{write: true, maybe: c.Outcome != OK, value: c.Offset, label: c.Label}})
	}
	for _, r := range h.Reads {
		ops = append(ops, porcupine.Operation{ClientId: len(ops), Call: r.Call, Return: r.Return,
			Input: regOp{value: r.Offset, label: r.Label}})
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{int64(-1)} },
		Step: func(s, in, _ any) []any {
			o := in.(regOp)
			switch {
			case o.write && o.maybe:
				return []any{s, o.value}
			case o.write:
				return []any{o.value}
			case s.(int64) == o.value:
				return []any{s}
			}
			return nil
		},
		Equal: func(a, b any) bool { return a.(int64) == b.(int64) },
		DescribeOperation: func(in, _ any) string {
			o := in.(regOp)
			switch {
			case o.write && o.maybe:
				return fmt.Sprintf("commit %d (outcome unknown) %s", o.value, o.label)
			case o.write:
				return fmt.Sprintf("commit %d %s", o.value, o.label)
			}
			return fmt.Sprintf("fetch → %d %s", o.value, o.label)
		},
	}
	model := nm.ToModel()
	start := time.Now()
	verdict, _ := porcupine.CheckOperationsVerbose(model, ops, timeout)
	return Result{Verdict: verdict, Ops: len(ops), Total: len(ops), Elapsed: time.Since(start), CutAt: -1}
}

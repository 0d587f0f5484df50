package linearizability

import "sort"

// Outcome is what a producer learned about one produce.
type Outcome uint8

const (
	// Unknown: the produce may or may not have taken effect (an
	// indefinite error, or still pending when the run ended). The zero
	// value, so that an unset outcome is never mistaken for a definite one.
	Unknown Outcome = iota
	// OK: acknowledged; Produce.Offset is the batch's base offset.
	OK
	// Failed: definitely had no effect. The checker ignores it.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Unknown:
		return "unknown"
	case OK:
		return "ok"
	case Failed:
		return "failed"
	}
	return "outcome?"
}

// Produce is one record batch sent to the partition. Call and Return are
// virtual (or wall-clock) nanoseconds; the batch took effect, if at all,
// somewhere in [Call, Return]. Return is ignored unless Outcome is OK.
type Produce struct {
	Call, Return int64
	Values       []string // record values, in batch order
	Outcome      Outcome
	Offset       int64 // base offset, when Outcome is OK
	// Duplicates is how many extra copies of the batch may have been
	// appended: a non-idempotent producer that sent the batch n times
	// sets n-1. Each copy is an Unknown produce of the same values that
	// may take effect any time after Call. Idempotent producers set 0.
	Duplicates int
	// Label is shown in the visualization (client, operation id...).
	Label string
}

// Record is one record a fetch returned.
type Record struct {
	Offset int64
	Value  string
}

// Fetch is one partition's answer within a Fetch request: asked at From,
// the broker answered HighWatermark and Records. OK is false when the
// partition answered an error or the request got no answer; such fetches
// observed nothing and are ignored.
type Fetch struct {
	Call, Return  int64
	From          int64
	HighWatermark int64
	// Records in offset order. Records below From (the rest of the batch
	// holding From) are dropped before checking; the remaining ones must
	// sit at From, From+1, ... with no gap.
	Records []Record
	OK      bool
	Label   string
}

// ListOffsets is one answered ListOffsets for the partition: the latest
// offset (the high watermark, i.e. the committed log length) when Latest,
// otherwise the earliest (the log start offset, always 0 in this model).
// Pass only answered requests.
type ListOffsets struct {
	Call, Return int64
	Latest       bool
	Offset       int64
	Label        string
}

// PartitionHistory is everything recorded against one partition. The
// order of the slices does not matter.
type PartitionHistory struct {
	Partition int32
	Produces  []Produce
	Fetches   []Fetch
	Lists     []ListOffsets
}

// Len is the number of operations the checker will consider: produces
// that did not fail (each possible duplicate counts), answered fetches
// and list-offsets.
func (h PartitionHistory) Len() int {
	n := len(h.Lists)
	for _, p := range h.Produces {
		if p.Outcome != Failed {
			n += 1 + max(p.Duplicates, 0)
		}
	}
	for _, f := range h.Fetches {
		if f.OK {
			n++
		}
	}
	return n
}

// Cut returns the prefix of h up to a time boundary T, holding at most
// maxOps operations (counted as by Len), so that the check stays
// tractable: porcupine is exponential in concurrency and histories of
// about 1,000 operations per partition are the practical bound.
//
// T is chosen just before the call of the first operation that does not
// fit. Whole operations are kept: operations called after T are dropped;
// operations called before T but returning after it are cut as if still
// pending at T: a produce becomes Unknown (its acknowledgement is
// forgotten), a fetch or list-offsets is dropped (a pending read has no
// effect). The prefix of a linearizable history is linearizable, so a
// violation found in the cut history is a violation of h; the cut only
// loses what happened after T.
//
// Checking later windows would need the log's state at the window's start,
// which a history does not determine. The cut also loses the final reads,
// which are what lets the checker narrow indefinite produces (an
// indefinite produce nobody read is then cheap), so a cut history with many
// indefinite produces is slower to refute. Callers wanting full coverage
// should keep runs short enough not to need cutting.
func Cut(h PartitionHistory, maxOps int) PartitionHistory {
	if h.Len() <= maxOps {
		return h
	}
	type call struct {
		at int64
		n  int
	}
	var calls []call
	for _, p := range h.Produces {
		if p.Outcome != Failed {
			calls = append(calls, call{p.Call, 1 + max(p.Duplicates, 0)})
		}
	}
	for _, f := range h.Fetches {
		if f.OK {
			calls = append(calls, call{f.Call, 1})
		}
	}
	for _, l := range h.Lists {
		calls = append(calls, call{l.Call, 1})
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].at < calls[j].at })
	// T: the largest boundary such that the operations called at or
	// before it number at most maxOps.
	kept, i := 0, 0
	var t int64
	first := true
	for i < len(calls) {
		j, n := i, 0
		for j < len(calls) && calls[j].at == calls[i].at {
			n += calls[j].n
			j++
		}
		if kept+n > maxOps {
			break
		}
		kept += n
		t, first = calls[i].at, false
		i = j
	}
	out := PartitionHistory{Partition: h.Partition}
	if first {
		return out
	}
	for _, p := range h.Produces {
		if p.Outcome == Failed || p.Call > t {
			continue
		}
		if p.Outcome == OK && p.Return > t {
			p.Outcome, p.Offset, p.Return = Unknown, 0, 0
		}
		out.Produces = append(out.Produces, p)
	}
	for _, f := range h.Fetches {
		if f.OK && f.Call <= t && f.Return <= t {
			out.Fetches = append(out.Fetches, f)
		}
	}
	for _, l := range h.Lists {
		if l.Call <= t && l.Return <= t {
			out.Lists = append(out.Lists, l)
		}
	}
	return out
}

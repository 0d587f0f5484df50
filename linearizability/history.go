package linearizability

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
	Source  int32 // the broker that answered (-1: unknown); see ListOffsets
}

// ListOffsets is one answered ListOffsets for the partition: the latest
// offset (the high watermark, i.e. the committed log length) when Latest,
// otherwise the earliest (the log start offset). Source is the broker
// that answered (-1: unknown): each broker's log start only moves
// forward, but another broker may answer a lower one (a new leader that
// had not yet taken its predecessor's retention). Pass only answered
// requests.
type ListOffsets struct {
	Call, Return int64
	Latest       bool
	Offset       int64
	Label        string
	Source       int32
}

// PartitionHistory is everything recorded against one partition. The
// order of the slices does not matter.
type PartitionHistory struct {
	Partition int32
	Produces  []Produce
	Fetches   []Fetch
	Lists     []ListOffsets

	maxOps int // set by Cut: the check's bound, 0 for none
}

// Len is the number of operations in h the checker considers before
// narrowing and cutting: produces that did not fail (each possible
// duplicate counts), answered fetches and list-offsets.
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

// Cut bounds the check of h to a prefix of at most maxOps operations,
// so that it stays tractable: porcupine is exponential in concurrency and
// histories of about 1,000 operations per partition are the practical
// bound. The returned history still holds every operation of h: the ones
// outside the prefix are used only to narrow the ones inside it (see
// reduce.go), which is what keeps indefinite produces cheap: their fate
// is usually decided by reads made much later, such as a run's final
// reads of the whole log.
//
// The prefix is cut at a log offset K rather than at an instant: after
// narrowing, it holds the appends that can have landed below K and the
// reads and latest offsets that observed a log length of at most K (and
// every earliest offset). In a linearization of h, these are the
// operations before the first append at or above K, less some reads: a
// valid sequential history whose real-time order is h's. So the prefix of
// a linearizable history is linearizable, and a violation found in it is
// a violation of h; the cut only loses the reads of longer logs. K is the
// largest offset that keeps at most maxOps operations, and at most a few
// (maybeMax) narrowed indefinite produces that may or may not have
// appended: those are what porcupine's search is exponential in, and they
// gather where nobody read the log, typically at its very end. Result.Ops counts
// the operations checked; [PartitionHistory.Len] those of the whole
// history.
func Cut(h PartitionHistory, maxOps int) PartitionHistory {
	h.maxOps = max(maxOps, 0)
	return h
}

package linearizability

import "slices"

// logState is one immutable version of the committed log: a chain of
// batches from the newest back to an empty root. Appending allocates one
// node and shares the whole prefix, so porcupine can keep thousands of
// states in its cache cheaply. Nodes are never mutated after creation,
// which keeps the model's Step pure.
//
// Each node carries a jump pointer to an ancestor (Myers' skew-binary
// scheme), so finding the batch that holds an offset takes O(log batches)
// steps, and a cumulative hash of every value in the log, so unequal
// states are told apart in O(1) in almost all cases.
type logState struct {
	parent *logState
	jump   *logState
	depth  int32
	base   int64 // offset of vals[0]
	end    int64 // log length: base + len(vals)
	// start is the log start offset each source (the broker that
	// answered) told: its retention deleted everything below it there.
	// See startSlot.
	start [startSlots]int64
	vals  []string // the batch; shared with the operation, never written
	hash  uint64   // hash of every value in the log, in order
	// done counts, per chain of interchangeable unread copies (see
	// chainCopies), the members linearized so far; shared, never
	// written. Not a property of the log but of the search: it is the
	// same in every state reached through one set of operations.
	done []int32
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// newRoot returns the empty log, with chains chains of interchangeable copies
// (see chainCopies), none of their members linearized.
func newRoot(chains int) *logState {
	r := &logState{hash: fnvOffset, done: make([]int32, chains)}
	r.jump = r
	return r
}

// appendBatch returns the log with vals appended. An empty batch leaves
// the log unchanged.
func (s *logState) appendBatch(vals []string) *logState {
	if len(vals) == 0 {
		return s
	}
	h := s.hash
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			h ^= uint64(v[i])
			h *= fnvPrime
		}
		// a separator byte outside UTF-8's single bytes, so that
		// ["ab"] and ["a", "b"] hash differently
		h ^= 0xff
		h *= fnvPrime
	}
	jump := s
	if j1 := s.jump; s.depth-j1.depth == j1.depth-j1.jump.depth {
		jump = j1.jump
	}
	return &logState{
		parent: s,
		jump:   jump,
		depth:  s.depth + 1,
		base:   s.end,
		end:    s.end + int64(len(vals)),
		start:  s.start,
		vals:   vals,
		hash:   h,
		done:   s.done,
	}
}

// withStart returns the log with the log start offset of source slot
// moved to start (retention deleted what lies below there); the values
// stay shared.
func (s *logState) withStart(slot int, start int64) *logState {
	n := *s
	n.start[slot] = start
	return &n
}

// startSlots bounds the sources whose log starts the model keeps apart:
// broker ids 0 to startSlots-2 each have their own, higher ones share
// the last slot, and an unknown source (-1) counts as broker 0. Sharing
// a slot only makes the check stricter.
const startSlots = 8

// startSlot is the slot of source's log start.
func startSlot(source int32) int {
	return int(min(max(source, 0), startSlots-1))
}

// withDone returns the log with one more member of chain c (1-based)
// counted as linearized.
func (s *logState) withDone(c int32) *logState {
	n := *s
	n.done = slices.Clone(s.done)
	n.done[c-1]++
	return &n
}

// find returns the batch holding offset off; 0 <= off < s.end.
func (s *logState) find(off int64) *logState {
	x := s
	for x.base > off {
		if x.jump.base > off {
			x = x.jump
		} else {
			x = x.parent
		}
	}
	return x
}

// matches reports whether vals equal log[from : from+len(vals)]; the
// caller has checked that the range lies inside the log.
func (s *logState) matches(from int64, vals []string) bool {
	if len(vals) == 0 {
		return true
	}
	x := s.find(from + int64(len(vals)) - 1)
	for i := len(vals) - 1; i >= 0; i-- {
		off := from + int64(i)
		for off < x.base {
			x = x.parent
		}
		if x.vals[off-x.base] != vals[i] {
			return false
		}
	}
	return true
}

// equalLog reports whether two logs hold the same values (and the same
// start and chain counts). They are compared value by value from the
// end, whatever batches hold them: logs that differ only in how their
// values were batched are one state to porcupine, which matters for the
// placeholder runs of unread copies appended in different orders (see
// chainCopies). Logs reached through different orders of one set of
// operations share their common prefix, so the walk stops at the first
// node both hold at the same offset.
func equalLog(a, b *logState) bool {
	if a == b {
		return true
	}
	if a.end != b.end || a.hash != b.hash || a.start != b.start || !slices.Equal(a.done, b.done) {
		return false
	}
	x, y := a, b
	for i := a.end; i > 0; { // [i, end) compared
		for x.base >= i {
			x = x.parent
		}
		for y.base >= i {
			y = y.parent
		}
		if x == y {
			return true
		}
		lo := max(x.base, y.base)
		if x.base == y.base && x.end == y.end && &x.vals[0] == &y.vals[0] {
			// one batch, in nodes copied by withStart or withDone
		} else {
			for j := i - 1; j >= lo; j-- {
				if x.vals[j-x.base] != y.vals[j-y.base] {
					return false
				}
			}
		}
		i = lo
	}
	return true
}

// hashLog is porcupine's state hash: equal logs hash equally.
func hashLog(s *logState) uint64 {
	h := s.hash ^ uint64(s.end)*0x9e3779b97f4a7c15
	for _, st := range s.start {
		h = (h ^ uint64(st)) * 0xbf58476d1ce4e5b9
	}
	for _, d := range s.done {
		h = (h ^ uint64(d)) * fnvPrime
	}
	return h
}

// tail returns up to n of the log's last values, oldest first.
func (s *logState) tail(n int) []string {
	if int64(n) > s.end {
		n = int(s.end)
	}
	out := make([]string, n)
	x := s
	for i := n - 1; i >= 0; i-- {
		off := s.end - int64(n-i)
		for off < x.base {
			x = x.parent
		}
		out[i] = x.vals[off-x.base]
	}
	return out
}

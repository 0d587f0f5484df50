package linearizability

import (
	"fmt"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// unreadValue stands in the model's log for every produced value that no
// fetch returned.
const unreadValue = "\x00unread"

// narrowIndefinite enables the narrowing of indefinite produces (proven
// ones get a return time; unread ones are bounded or dropped). Tests turn
// it off to compare verdicts against the plain encoding.
var narrowIndefinite = true

type opKind uint8

const (
	opProduce      opKind = iota // acknowledged: appends at offset
	opProduceMaybe               // indefinite: appends or not
	opFetch
	opListLatest
	opListEarliest
)

// op is one porcupine operation's input; the output is always nil, all
// that was observed is here, normalized once so that Step stays cheap.
type op struct {
	kind opKind
	vals []string // produce: the batch
	// logVals is what the produce appends: vals, with every value that
	// no fetch returned replaced by unreadValue (see build).
	logVals []string
	offset  int64 // produce: base offset; list: the answer
	// must: an indefinite produce one of whose values was read and
	// carried by no other produce, so it did take effect.
	must bool
	dup  bool // an extra copy of a non-idempotent produce

	from, hwm int64
	recs      []string // fetch: values at from, from+1, ...
	// bad: why no state can explain this fetch (its records skip an
	// offset, or it asked a negative offset); empty if none.
	bad string

	label string
}

// step applies o to s and returns the possible next states (zero, one or
// two of them).
func step(s *logState, o *op) (a, b *logState, n int) {
	switch o.kind {
	case opProduce:
		if s.end != o.offset {
			return nil, nil, 0
		}
		return s.appendBatch(o.logVals), nil, 1
	case opProduceMaybe:
		if o.must {
			return s.appendBatch(o.logVals), nil, 1
		}
		return s, s.appendBatch(o.logVals), 2
	case opFetch:
		if o.bad != "" || s.end != o.hwm {
			return nil, nil, 0
		}
		if o.from > o.hwm {
			if len(o.recs) != 0 {
				return nil, nil, 0
			}
			return s, nil, 1
		}
		if o.from+int64(len(o.recs)) > o.hwm || !s.matches(o.from, o.recs) {
			return nil, nil, 0
		}
		return s, nil, 1
	case opListLatest:
		if s.end != o.offset {
			return nil, nil, 0
		}
		return s, nil, 1
	case opListEarliest:
		if o.offset != 0 {
			return nil, nil, 0
		}
		return s, nil, 1
	}
	return nil, nil, 0
}

// build turns a history into porcupine operations and the model to check
// them with: a deterministic model when no produce is indefinite, else a
// nondeterministic one (porcupine's power-set construction, whose state is
// the set of logs the history so far allows).
//
// dropped lists the indefinite produces left out because they cannot have
// had a visible effect (see unseenBounds), as annotations for the
// visualization.
func build(h PartitionHistory) (ops []porcupine.Operation, model porcupine.Model, dropped []porcupine.Annotation) {
	// carriers counts, per value, the produces (and copies) carrying it;
	// read marks values some fetch returned.
	carriers := map[string]int{}
	for _, p := range h.Produces {
		if p.Outcome == Failed {
			continue
		}
		for _, v := range p.Values {
			carriers[v] += 1 + max(p.Duplicates, 0)
		}
	}
	// readBy: per value, the earliest return of a fetch that read it.
	readBy := map[string]int64{}
	for _, f := range h.Fetches {
		if f.OK {
			for _, r := range f.Records {
				if t, seen := readBy[r.Value]; !seen || f.Return < t {
					readBy[r.Value] = f.Return
				}
			}
		}
	}
	// proven: when an indefinite produce surely took effect, by when.
	// A value carried by one produce only and read by a fetch proves
	// the produce appended before that fetch returned. Bounding the
	// return keeps the produce from being concurrent with the rest of
	// the history, which is what makes indefinite produces expensive.
	proven := func(vals []string) (int64, bool) {
		by, ok := int64(0), false
		for _, v := range vals {
			if t, seen := readBy[v]; seen && carriers[v] == 1 && (!ok || t < by) {
				by, ok = t, true
			}
		}
		return by, ok
	}

	unseen := newUnseenBounds(h, readBy)

	// A value no fetch returned is never compared with anything that
	// matches it, so replacing it by a value no fetch returned either
	// changes no step's outcome; it makes logs that differ only in which
	// unread produce filled a slot equal, which collapses porcupine's
	// search over indefinite produces.
	_, substitute := readBy[unreadValue]
	substitute = !substitute && narrowIndefinite
	produceOp := func(kind opKind, p Produce) *op {
		o := &op{kind: kind, vals: p.Values, logVals: p.Values, offset: p.Offset, label: p.Label}
		if !substitute {
			return o
		}
		copied := false
		for i, v := range p.Values {
			if _, read := readBy[v]; !read {
				if !copied {
					o.logVals, copied = append([]string(nil), p.Values...), true
				}
				o.logVals[i] = unreadValue
			}
		}
		return o
	}
	mustOp := func(p Produce) *op {
		o := produceOp(opProduceMaybe, p)
		o.must = true
		return o
	}
	dupOp := func(p Produce) *op {
		o := produceOp(opProduceMaybe, p)
		o.dup = true
		return o
	}

	type timed struct {
		call, ret int64 // ret < 0: never returns
		in        *op
	}
	var timedOps []timed
	var last int64
	note := func(t int64) {
		if t > last {
			last = t
		}
	}
	nondet := false
	for _, p := range h.Produces {
		switch p.Outcome {
		case OK:
			timedOps = append(timedOps, timed{p.Call, p.Return, produceOp(opProduce, p)})
			note(p.Return)
		case Unknown:
			if by, ok := proven(p.Values); ok && narrowIndefinite {
				// read before it was sent: keep porcupine's interval
				// well-formed; the read then cannot be explained
				by = max(by, p.Call)
				timedOps = append(timedOps, timed{p.Call, by, mustOp(p)})
				note(by)
			} else if len(p.Values) == 0 {
				continue
			} else if by, bounded, drop := unseen.bound(p.Values, carriers); drop && narrowIndefinite {
				dropped = append(dropped, porcupine.Annotation{
					Tag:         "not checked",
					Start:       p.Call,
					Description: "indefinite produce " + quoteList(p.Values),
					Details:     "never read and no offset left for it below what was observed: treated as having no effect. " + p.Label,
				})
				continue
			} else if bounded && narrowIndefinite {
				by = max(by, p.Call)
				nondet = true
				timedOps = append(timedOps, timed{p.Call, by, produceOp(opProduceMaybe, p)})
				note(by)
			} else {
				nondet = true
				timedOps = append(timedOps, timed{p.Call, -1, produceOp(opProduceMaybe, p)})
			}
		default:
			continue
		}
		note(p.Call)
		for range max(p.Duplicates, 0) {
			nondet = true
			timedOps = append(timedOps, timed{p.Call, -1, dupOp(p)})
		}
	}
	for _, f := range h.Fetches {
		if !f.OK {
			continue
		}
		o := &op{kind: opFetch, from: f.From, hwm: f.HighWatermark, label: f.Label}
		if f.From < 0 {
			o.bad = fmt.Sprintf("negative fetch offset %d", f.From)
		}
		next := f.From
		for _, r := range f.Records {
			if r.Offset < f.From {
				continue
			}
			if r.Offset != next && o.bad == "" {
				o.bad = fmt.Sprintf("expected offset %d, got %d", next, r.Offset)
			}
			o.recs = append(o.recs, r.Value)
			next = r.Offset + 1
		}
		timedOps = append(timedOps, timed{f.Call, f.Return, o})
		note(f.Call)
		note(f.Return)
	}
	for _, l := range h.Lists {
		k := opListEarliest
		if l.Latest {
			k = opListLatest
		}
		timedOps = append(timedOps, timed{l.Call, l.Return, &op{kind: k, offset: l.Offset, label: l.Label}})
		note(l.Call)
		note(l.Return)
	}

	// Operations that never return end after everything else. Lanes for
	// the visualization: greedy interval colouring (a client may have
	// several requests in flight, so client names do not make lanes).
	never := last + 1
	sort.SliceStable(timedOps, func(i, j int) bool { return timedOps[i].call < timedOps[j].call })
	var laneEnd []int64
	ops = make([]porcupine.Operation, len(timedOps))
	for i, t := range timedOps {
		ret := t.ret
		if ret < 0 {
			ret = never
		}
		lane := -1
		for l, e := range laneEnd {
			if e < t.call {
				lane = l
				break
			}
		}
		if lane < 0 {
			lane = len(laneEnd)
			laneEnd = append(laneEnd, 0)
		}
		laneEnd[lane] = ret
		ops[i] = porcupine.Operation{ClientId: lane, Input: t.in, Call: t.call, Return: ret, Metadata: t.in.label}
	}
	return ops, newModel(nondet), dropped
}

func newModel(nondet bool) porcupine.Model {
	root := newRoot()
	equal := func(a, b any) bool { return equalLog(a.(*logState), b.(*logState)) }
	hash := func(s any) uint64 { return hashLog(s.(*logState)) }
	describeState := func(s any) string { return describeLog(s.(*logState)) }
	describeMeta := func(m any) string {
		if s, _ := m.(string); s != "" {
			return s
		}
		return ""
	}
	if !nondet {
		return porcupine.Model{
			Init: func() any { return root },
			Step: func(s, in, _ any) (bool, any) {
				a, _, n := step(s.(*logState), in.(*op))
				if n == 0 {
					return false, s
				}
				return true, a
			},
			Equal:                     equal,
			Hash:                      hash,
			DescribeOperation:         describeOp,
			DescribeState:             describeState,
			DescribeOperationMetadata: describeMeta,
		}
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{root} },
		Step: func(s, in, _ any) []any {
			a, b, n := step(s.(*logState), in.(*op))
			switch n {
			case 1:
				return []any{a}
			case 2:
				return []any{a, b}
			}
			return nil
		},
		Equal:                     equal,
		Hash:                      hash,
		DescribeOperation:         describeOp,
		DescribeState:             describeState,
		DescribeOperationMetadata: describeMeta,
	}
	return nm.ToModel()
}

const describeMax = 8 // values shown per operation or state

func quoteList(vals []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vals {
		if i == describeMax && len(vals) > describeMax+1 {
			fmt.Fprintf(&b, " …%d more", len(vals)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fmt.Sprintf("%q", v))
	}
	b.WriteByte(']')
	return b.String()
}

func describeOp(in, _ any) string {
	o := in.(*op)
	switch o.kind {
	case opProduce:
		return fmt.Sprintf("produce %s → offset %d..%d", quoteList(o.vals), o.offset, o.offset+int64(len(o.vals))-1)
	case opProduceMaybe:
		switch {
		case o.dup:
			return fmt.Sprintf("possible duplicate of produce %s (appended or not)", quoteList(o.vals))
		case o.must:
			return fmt.Sprintf("indefinite produce %s (read, so appended)", quoteList(o.vals))
		}
		return fmt.Sprintf("indefinite produce %s (appended or not)", quoteList(o.vals))
	case opFetch:
		var b strings.Builder
		fmt.Fprintf(&b, "fetch from %d → hw %d, ", o.from, o.hwm)
		if len(o.recs) == 0 {
			b.WriteString("no records")
		} else {
			fmt.Fprintf(&b, "%d..%d = ", o.from, o.from+int64(len(o.recs))-1)
			b.WriteString(quoteList(o.recs))
		}
		if o.bad != "" {
			b.WriteString(" (" + o.bad + ")")
		}
		return b.String()
	case opListLatest:
		return fmt.Sprintf("list latest → %d", o.offset)
	case opListEarliest:
		return fmt.Sprintf("list earliest → %d", o.offset)
	}
	return "?"
}

func describeLog(s *logState) string {
	if s.end == 0 {
		return "log empty"
	}
	t := s.tail(describeMax)
	first := s.end - int64(len(t))
	var b strings.Builder
	fmt.Fprintf(&b, "log length %d: ", s.end)
	if first > 0 {
		b.WriteString("… ")
	}
	for i, v := range t {
		if i > 0 {
			b.WriteByte(' ')
		}
		if v == unreadValue {
			fmt.Fprintf(&b, "%d:(unread)", first+int64(i))
			continue
		}
		fmt.Fprintf(&b, "%d:%q", first+int64(i), v)
	}
	return b.String()
}

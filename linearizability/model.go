package linearizability

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// unreadValue stands in the model's log for every produced value that no
// fetch returned.
const unreadValue = "\x00unread"

// narrowIndefinite enables the narrowings of reduce.go (read copies
// placed at their offsets, appends bounded by observation, unread copies
// bounded or dropped, unread values collapsed). Tests turn it off to
// compare verdicts against the plain encoding.
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
	// placed: a copy of an indefinite produce (or a duplicate of any
	// produce) that a read placed at offset; it appends exactly there.
	placed bool
	dup    bool // an extra copy of a non-idempotent produce
	// at: for a narrowed unread indefinite copy, the [lo, hi] ranges of
	// base offsets it can have appended at (see unseenBounds.offsets); at
	// any other log length it had no effect. nil: anywhere.
	at [][2]int64
	// chain, rank: for an unread copy interchangeable with others (see
	// chainCopies), its chain (1-based; 0: none) and its rank in it; it
	// linearizes only after the members ranked before it.
	chain, rank int32

	from, hwm int64
	recs      []string // fetch: values at from, from+1, ...
	// src: a fetch's or list's source slot (startSlot of the broker
	// that answered).
	src int
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
		if o.chain > 0 {
			if s.done[o.chain-1] != o.rank {
				return nil, nil, 0
			}
			s = s.withDone(o.chain)
		}
		if o.at != nil && !inRanges(o.at, s.end) {
			return s, nil, 1
		}
		return s, s.appendBatch(o.logVals), 2
	case opFetch:
		// A fetch below the log start its broker told is refused
		// (OFFSET_OUT_OF_RANGE), never answered with records.
		if o.bad != "" || s.end != o.hwm || o.from < s.start[o.src] {
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
		// Retention only ever moves a broker's log start forward, and
		// never past the log end. Another broker may tell a lower one:
		// a new leader that had not yet taken its predecessor's
		// retention still holds what lies below (Kafka's followers take
		// the log start from their fetches).
		switch {
		case o.offset < s.start[o.src] || o.offset > s.end:
			return nil, nil, 0
		case o.offset == s.start[o.src]:
			return s, nil, 1
		}
		return s.withStart(o.src, o.offset), nil, 1
	}
	return nil, nil, 0
}

// candidate is one operation of the whole history, narrowed, before the
// cut: its interval (ret < 0: never returns), its input, and its cut key.
type candidate struct {
	call, ret int64
	in        *op
	fetch     *Fetch // a fetch's op is made after the cut: in is nil
	// key decides whether the cut at offset K keeps the operation. An
	// append is kept when key < K (the lowest offset it can append at),
	// or always when key < 0 (its offset is unknown); a read when
	// key <= K (the log length it observed).
	key int64
}

func (c candidate) append() bool {
	return c.fetch == nil && (c.in.kind == opProduce || c.in.kind == opProduceMaybe)
}

// fetchOp is the porcupine input of an answered fetch.
func fetchOp(f *Fetch) *op {
	o := &op{kind: opFetch, from: f.From, hwm: f.HighWatermark, label: f.Label, src: startSlot(f.Source)}
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
	return o
}

// maybeMax bounds, in a cut history, the narrowed indefinite appends that
// may or may not have happened (unread copies with a free offset left for
// them): each doubles the ways porcupine must consider, and a burst of
// them at the unread end of a run's log (records appended after the last
// acknowledged one, which the final reads need not reach) is the one
// shape of history that stays slow after narrowing.
const maybeMax = 8

// built is a history ready for porcupine.
type built struct {
	ops     []porcupine.Operation
	model   porcupine.Model
	dropped []porcupine.Annotation // indefinite produces left out, for the visualization
	total   int                    // operations before the cut
	cutAt   int64                  // the cut's offset K, or -1 if nothing was cut
}

// build turns a history into porcupine operations and the model to check
// them with: a deterministic model when no operation may or may not
// append, else a nondeterministic one (porcupine's power-set construction,
// whose state is the set of logs the history so far allows). The
// narrowings are argued in reduce.go; the cut in [Cut].
func build(h PartitionHistory) built {
	// Per value: how many produces carry it (a batch carrying it twice
	// counts twice) and the distinct offsets fetches returned it at.
	type valueInfo struct {
		carriers int
		readAt   []int64
	}
	index := make(map[string]int32, len(h.Produces)*4)
	infos := make([]valueInfo, 1, 1+len(h.Produces)*4) // infos[0]: a value seen nowhere
	info := func(v string) *valueInfo {
		i, ok := index[v]
		if !ok {
			i = int32(len(infos))
			index[v] = i
			infos = append(infos, valueInfo{})
		}
		return &infos[i]
	}
	lookup := func(v string) *valueInfo { return &infos[index[v]] }
	for _, p := range h.Produces {
		if p.Outcome == Failed {
			continue
		}
		for _, v := range p.Values {
			info(v).carriers++
		}
	}
	for _, f := range h.Fetches {
		if !f.OK {
			continue
		}
		for _, r := range f.Records {
			if r.Offset < f.From {
				continue
			}
			if vi := info(r.Value); !slices.Contains(vi.readAt, r.Offset) {
				vi.readAt = append(vi.readAt, r.Offset)
			}
		}
	}
	read := func(v string) bool { return len(lookup(v).readAt) > 0 }
	unique := func(vals []string) bool {
		for _, v := range vals {
			if lookup(v).carriers != 1 {
				return false
			}
		}
		return true
	}
	obs := newObservations(h)

	substitute := narrowIndefinite && !read(unreadValue)
	produceOp := func(kind opKind, p Produce) *op {
		o := &op{kind: kind, vals: p.Values, logVals: p.Values, offset: p.Offset, label: p.Label}
		if !substitute {
			return o
		}
		copied := false
		for i, v := range p.Values {
			if !read(v) {
				if !copied {
					o.logVals, copied = append([]string(nil), p.Values...), true
				}
				o.logVals[i] = unreadValue
			}
		}
		return o
	}

	var cands []candidate
	var dropped []porcupine.Annotation
	var last int64
	note := func(t int64) { last = max(last, t) }
	add := func(call, ret int64, in *op, key int64) {
		cands = append(cands, candidate{call: call, ret: ret, in: in, key: key})
		note(call)
		note(ret)
	}
	// bounded shortens an append at offset off to end by the earliest
	// observation of a longer log; it never ends before its call.
	bounded := func(call, ret, off int64) int64 {
		if by, ok := obs.observedBy(off); ok && (ret < 0 || by < ret) {
			ret = by
		}
		if ret >= 0 {
			ret = max(ret, call)
		}
		return ret
	}

	// Narrowed produces: place read copies, collect unplaced ones.
	type unplaced struct {
		p   Produce
		dup bool
	}
	var rest []unplaced
	var occupied [][2]int64
	var placedAt []lengthAt
	for _, p := range h.Produces {
		if p.Outcome == Failed || !narrowIndefinite || !unique(p.Values) {
			continue
		}
		copies := 1 + max(p.Duplicates, 0)
		n := int64(len(p.Values))
		var bases []int64
		for i, v := range p.Values {
			for _, o := range lookup(v).readAt {
				if b := o - int64(i); !slices.Contains(bases, b) {
					bases = append(bases, b)
				}
			}
		}
		slices.Sort(bases)
		if p.Outcome == OK {
			in := produceOp(opProduce, p)
			add(p.Call, bounded(p.Call, p.Return, p.Offset), in, p.Offset)
			occupied = append(occupied, [2]int64{p.Offset, p.Offset + n})
			copies--
			bases = slices.DeleteFunc(bases, func(b int64) bool { return b == p.Offset })
		}
		for _, b := range bases {
			if copies == 0 {
				break // more copies read than sent: the surplus reads stay unexplained
			}
			in := produceOp(opProduce, p)
			in.offset, in.placed, in.dup = b, true, p.Outcome == OK
			add(p.Call, bounded(p.Call, -1, b), in, b)
			occupied = append(occupied, [2]int64{max(b, 0), b + n})
			placedAt = append(placedAt, lengthAt{b, p.Call})
			copies--
		}
		for i := range copies {
			if n > 0 {
				rest = append(rest, unplaced{p, p.Outcome == OK || i > 0})
			}
		}
	}
	unseen := newUnseenBounds(h, obs, occupied, placedAt)
	for _, u := range rest {
		in := produceOp(opProduceMaybe, u.p)
		in.dup = u.dup
		if substitute {
			// no fetch compares anything with it (see chainCopies)
			in.logVals = slices.Repeat([]string{unreadValue}, len(u.p.Values))
		}
		by, isBounded, oMin, drop := unseen.bound(int64(len(u.p.Values)))
		in.at = unseen.offsets(int64(len(u.p.Values)))
		what := "indefinite produce "
		if u.dup {
			what = "possible duplicate of produce "
		}
		// it has an effect only after T (unseenBounds.notBefore)
		call := u.p.Call
		t, late := unseen.notBefore(oMin)
		switch {
		case drop:
		case late && isBounded && t > by:
			dropped = append(dropped, porcupine.Annotation{
				Tag:         "not checked",
				Start:       u.p.Call,
				Description: what + quoteList(u.p.Values),
				Details:     "never read, and the free offsets left for it were observed taken before the log reached them: treated as having no effect. " + u.p.Label,
			})
			continue
		case late && t > call && (!isBounded || t < by):
			call = t
		}
		switch {
		case drop:
			dropped = append(dropped, porcupine.Annotation{
				Tag:         "not checked",
				Start:       u.p.Call,
				Description: what + quoteList(u.p.Values),
				Details:     "never read and no offset left for it below what was observed: treated as having no effect. " + u.p.Label,
			})
		case isBounded && by <= u.p.Call:
			dropped = append(dropped, porcupine.Annotation{
				Tag:         "not checked",
				Start:       u.p.Call,
				Description: what + quoteList(u.p.Values),
				Details:     "never read, and the free offsets left for it were observed taken before it was sent: treated as having no effect. " + u.p.Label,
			})
		case isBounded:
			add(call, max(by, call), in, oMin)
		default:
			add(call, -1, in, oMin)
		}
	}

	// Produces left as they are (narrowing off, or values not unique).
	for _, p := range h.Produces {
		if p.Outcome == Failed || (narrowIndefinite && unique(p.Values)) {
			continue
		}
		switch p.Outcome {
		case OK:
			add(p.Call, p.Return, produceOp(opProduce, p), p.Offset)
		case Unknown:
			if len(p.Values) > 0 {
				add(p.Call, -1, produceOp(opProduceMaybe, p), -1)
			}
		}
		for range max(p.Duplicates, 0) {
			in := produceOp(opProduceMaybe, p)
			in.dup = true
			add(p.Call, -1, in, -1)
		}
	}

	for i := range h.Fetches {
		f := &h.Fetches[i]
		if !f.OK {
			continue
		}
		// the op is made only if the cut keeps it (fetchOp)
		key := f.HighWatermark
		for _, r := range f.Records {
			key = max(key, r.Offset+1)
		}
		cands = append(cands, candidate{call: f.Call, ret: f.Return, fetch: f, key: key})
		note(f.Call)
		note(f.Return)
	}
	for _, l := range h.Lists {
		if l.Latest {
			add(l.Call, l.Return, &op{kind: opListLatest, offset: l.Offset, label: l.Label}, l.Offset)
		} else {
			add(l.Call, l.Return, &op{kind: opListEarliest, offset: l.Offset, label: l.Label, src: startSlot(l.Source)}, l.Offset)
		}
	}

	b := built{dropped: dropped, total: len(cands), cutAt: -1}
	maybes := 0
	for _, c := range cands {
		if c.key >= 0 && c.append() && c.in.kind == opProduceMaybe {
			maybes++
		}
	}
	if h.maxOps > 0 && (len(cands) > h.maxOps || maybes > maybeMax) {
		k := cutOffset(cands, h.maxOps, maybeMax)
		b.cutAt = k
		kept := cands[:0]
		for _, c := range cands {
			if c.append() && (c.key < 0 || c.key < k) || !c.append() && c.key <= k {
				kept = append(kept, c)
			}
		}
		cands = kept
		// annotate only the dropped produces sent while kept operations ran
		var lastCall int64
		for _, c := range cands {
			lastCall = max(lastCall, c.call)
		}
		b.dropped = slices.DeleteFunc(b.dropped, func(a porcupine.Annotation) bool { return a.Start > lastCall })
	}

	// Operations that never return end after everything else. Lanes for
	// the visualization: greedy interval colouring (a client may have
	// several requests in flight, so client names do not make lanes).
	never := last + 1
	nondet := false
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(a.call, b.call) })
	var laneEnd []int64
	b.ops = make([]porcupine.Operation, len(cands))
	for i, t := range cands {
		if t.fetch != nil {
			t.in = fetchOp(t.fetch)
		}
		if t.in.kind == opProduceMaybe {
			nondet = true
		}
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
		b.ops[i] = porcupine.Operation{ClientId: lane, Input: t.in, Call: t.call, Return: ret, Metadata: t.in.label}
	}
	b.model = newModel(nondet, chainCopies(b.ops, substitute))
	return b
}

// cutOffset returns the largest offset K at which the cut keeps at most
// maxOps of cands and at most maybeMax of the narrowed appends that may or
// may not have happened (or the smallest K considered, if none does).
func cutOffset(cands []candidate, maxOps, maybeMax int) int64 {
	var appendKeys, maybeKeys, readKeys []int64
	always := 0
	for _, c := range cands {
		switch {
		case !c.append():
			readKeys = append(readKeys, c.key)
		case c.key < 0:
			always++
		default:
			appendKeys = append(appendKeys, c.key)
			if c.in.kind == opProduceMaybe {
				maybeKeys = append(maybeKeys, c.key)
			}
		}
	}
	slices.Sort(appendKeys)
	slices.Sort(maybeKeys)
	slices.Sort(readKeys)
	tooMany := func(k int64) bool {
		a, _ := slices.BinarySearch(appendKeys, k) // keys < k
		m, _ := slices.BinarySearch(maybeKeys, k)
		r, _ := slices.BinarySearch(readKeys, k+1) // keys <= k
		return always+a+r > maxOps || m > maybeMax
	}
	ks := append(slices.Clone(readKeys), appendKeys...)
	for i := range appendKeys {
		ks = append(ks, appendKeys[i]+1)
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	// tooMany is monotone in k: the largest k that is not
	i := sort.Search(len(ks), func(i int) bool { return tooMany(ks[i]) })
	if i == 0 {
		if len(ks) == 0 {
			return 0
		}
		return min(ks[0], 0)
	}
	return ks[i-1]
}

func newModel(nondet bool, chains int) porcupine.Model {
	root := newRoot(chains)
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
		at := fmt.Sprintf("offset %d..%d", o.offset, o.offset+int64(len(o.vals))-1)
		switch {
		case o.placed && o.dup:
			return fmt.Sprintf("duplicate of produce %s, read at %s", quoteList(o.vals), at)
		case o.placed:
			return fmt.Sprintf("indefinite produce %s, read at %s", quoteList(o.vals), at)
		}
		return fmt.Sprintf("produce %s → %s", quoteList(o.vals), at)
	case opProduceMaybe:
		if o.dup {
			return fmt.Sprintf("possible duplicate of produce %s (appended or not)", quoteList(o.vals))
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

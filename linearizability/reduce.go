package linearizability

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/anishathalye/porcupine"
)

// Narrowing. Porcupine is exponential in the number of operations that
// are concurrent with one another, and an indefinite produce is the worst
// kind: it may append or not and never returns, so it is concurrent with
// everything after its call. Faults make many of them (lost connections,
// crashes, acks=0, a plain producer's retries). The narrowings below turn
// them into cheap operations using what the whole history observed,
// including the reads after the checked prefix (see [Cut]).
//
// Every narrowing only removes linearizations: it fixes an indefinite
// produce's offset, chooses its no-effect branch, or shortens an
// interval. So none can make an illegal history legal; a violation the
// narrowed check finds is a violation of the history. Each is argued
// below to keep every legal history legal, assuming the produce's values
// are carried by no other produce (unique values). Produces whose values
// are not unique are not narrowed. TestNarrowingKeepsVerdicts compares
// verdicts with and without narrowing.
//
// Placing read copies. A copy of a produce P (P itself, or one of its
// possible duplicates) that appended at base offset b put P's values at
// b, b+1, ...; offsets never change, so a fetch that returned P's i-th
// value at offset o proves that some copy of P appended at base o-i. Each
// distinct base so proven needs its own copy. An acknowledged P's own copy
// sits at its acknowledged offset; the other proven bases are given to
// its remaining copies as appends at exactly that base. In a legal
// history these are exactly the copies that appended at those bases, so
// fixing their offsets removes no legal linearization. (More proven bases
// than copies cannot be legal; the surplus reads are then unexplained and
// the check fails.)
//
// Bounding appends by observation. An append at offset o happened before
// any operation observed a log length above o: a fetch whose high
// watermark exceeds o or that returned a record at o or above, an
// acknowledged produce at a higher offset (or ending above o), a latest
// offset above o. So the append linearized before the earliest return of
// those (observedBy), and its interval can end there.
//
// Unread copies. Every copy not placed by a read is handled by
// unseenBounds: dropped (no effect) when no offset below everything
// observed is free for it, else bounded.
//
// Values nobody read. A value no fetch returned is never compared with
// anything that matches it, so replacing it in the model's log by one
// common placeholder changes no step's outcome; it makes logs that differ
// only in which unread produce filled a slot equal, which collapses
// porcupine's search.

// observations indexes what the history observed of the log's length:
// each entry says "the log held at least length records before ret".
type observations struct {
	byLength []obs // by length descending
	minRet   []int64
	m        int64 // the largest length observed
}

type obs struct {
	length int64
	ret    int64
}

func newObservations(h PartitionHistory) *observations {
	var os []obs
	for _, f := range h.Fetches {
		if !f.OK {
			continue
		}
		// the high watermark, or a record returned above it (an
		// illegal fetch)
		length := f.HighWatermark
		for _, r := range f.Records {
			if r.Offset >= f.From {
				length = max(length, r.Offset+1)
			}
		}
		os = append(os, obs{length, f.Return})
	}
	for _, p := range h.Produces {
		if p.Outcome == OK {
			// at its point the length was Offset, after it the end
			os = append(os, obs{p.Offset + int64(len(p.Values)), p.Return})
		}
	}
	for _, l := range h.Lists {
		if l.Latest {
			os = append(os, obs{l.Offset, l.Return})
		}
	}
	slices.SortFunc(os, func(a, b obs) int { return cmp.Compare(b.length, a.length) })
	o := &observations{byLength: os, minRet: make([]int64, len(os))}
	for i, x := range os {
		o.minRet[i] = x.ret
		if i > 0 {
			o.minRet[i] = min(o.minRet[i-1], x.ret)
		}
	}
	if len(os) > 0 {
		o.m = max(os[0].length, 0)
	}
	return o
}

// observedBy returns the earliest return of an operation that observed a
// length above off, if any did.
func (o *observations) observedBy(off int64) (int64, bool) {
	// entries with length > off form a prefix of byLength
	n := sort.Search(len(o.byLength), func(i int) bool { return o.byLength[i].length <= off })
	if n == 0 {
		return 0, false
	}
	return o.minRet[n-1], true
}

// unseenBounds narrows the copies of produces that no read placed. Let U
// be such a copy of b values, carried by no other produce. If U appended
// at offset o, then no fetch returned a record in [o, o+b) (it would have
// returned one of U's values, which would have placed a copy there), and
// no acknowledged or placed copy owns an offset there. Let M be the
// largest log length anything observed. Then either
//   - o >= M: every operation that observes the log's length or content
//     linearized before U, and every append whose offset is fixed is
//     below M, so U may as well have had no effect; or
//   - o < M and [o, min(o+b, M)) is free: no returned, acknowledged or
//     placed record. Take the largest such o, oMax: every operation that
//     observed a length > oMax did so after U appended, so U linearized
//     before the earliest return among them.
//
// Hence: no such o < M means U is dropped; otherwise U's return is that
// earliest return (and it still may or may not have appended), and the
// smallest such o, oMin, is the lowest offset it can hold (which [Cut]
// uses). When that earliest return is not after U's call, U cannot have
// appended below M at all (it would have linearized before it was sent),
// so it is dropped too.
type unseenBounds struct {
	obs  *observations
	gaps [][2]int64 // [start, end) within [0, m) with no returned, acknowledged or placed record, highest first
	// short indexes the operations whose linearization point saw a
	// known log length: by that length ascending, with the running
	// maximum of their calls (see notBefore).
	short    []int64 // lengths, ascending
	shortMax []int64 // shortMax[i]: the latest call among short[:i+1]
}

// lengthAt is an operation that, in any legal linearization, saw the log
// at exactly length at its linearization point, which is not before
// call: an answered fetch (its high watermark), a latest offset, an
// acknowledged produce or a placed copy (its base offset).
type lengthAt struct {
	length, call int64
}

// newUnseenBounds indexes the free offsets below everything observed;
// occupied holds the [start, end) ranges of placed copies, placedAt their
// base offsets and calls.
func newUnseenBounds(h PartitionHistory, o *observations, occupied [][2]int64, placedAt []lengthAt) *unseenBounds {
	u := &unseenBounds{obs: o}
	ranges := slices.Clone(occupied)
	seen := slices.Clone(placedAt)
	for _, p := range h.Produces {
		if p.Outcome == OK {
			seen = append(seen, lengthAt{p.Offset, p.Call})
		}
	}
	for _, l := range h.Lists {
		if l.Latest {
			seen = append(seen, lengthAt{l.Offset, l.Call})
		}
	}
	for _, f := range h.Fetches {
		if !f.OK {
			continue
		}
		seen = append(seen, lengthAt{f.HighWatermark, f.Call})
		start, end := int64(-1), int64(-1)
		for _, r := range f.Records {
			if r.Offset < f.From || r.Offset < 0 {
				continue
			}
			if r.Offset != end {
				if start >= 0 {
					ranges = append(ranges, [2]int64{start, end})
				}
				start = r.Offset
			}
			end = r.Offset + 1
		}
		if start >= 0 {
			ranges = append(ranges, [2]int64{start, end})
		}
	}
	for _, p := range h.Produces {
		if p.Outcome == OK && len(p.Values) > 0 && p.Offset >= 0 {
			ranges = append(ranges, [2]int64{p.Offset, p.Offset + int64(len(p.Values))})
		}
	}
	slices.SortFunc(ranges, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	m := o.m
	var cur int64
	for _, r := range ranges {
		if r[0] > cur && cur < m {
			u.gaps = append(u.gaps, [2]int64{cur, min(r[0], m)})
		}
		cur = max(cur, r[1])
	}
	if cur < m {
		u.gaps = append(u.gaps, [2]int64{cur, m})
	}
	slices.Reverse(u.gaps)
	slices.SortFunc(seen, func(a, b lengthAt) int { return cmp.Compare(a.length, b.length) })
	for i, x := range seen {
		u.short = append(u.short, x.length)
		u.shortMax = append(u.shortMax, x.call)
		if i > 0 {
			u.shortMax[i] = max(u.shortMax[i], u.shortMax[i-1])
		}
	}
	return u
}

// notBefore returns the latest call of an operation whose linearization
// point saw a log length of at most oMin, the lowest offset an unplaced
// copy can have appended at (see bound), if any: the copy can have had an
// effect only when linearized after that instant.
//
// Sound: let U be an unplaced copy whose allowed offsets (offsets) are
// all >= oMin, and X an operation that saw length λ <= oMin at its point
// (a fetch's high watermark, a latest offset, an acknowledged produce's
// or placed copy's base offset: in a legal linearization each saw exactly
// that length). If U appended, it did so at a length ℓ >= oMin and left
// the log at ℓ+b > λ; lengths only grow, so X, which saw λ, is before U,
// and U's point is after X's, which is not before X's call. So in a
// legal linearization where U's point is at or before T, the latest such
// call, U took its no-effect branch. That branch leaves the log as it is
// and is open to U at every point of its interval (step), so moving U's
// point anywhere in (T, U's return] gives a legal linearization with
// every other operation where it was. Hence starting U's interval at T
// (when T is before its return; else U never appended and is dropped)
// removes only linearizations that have an equivalent one left. Without
// this, the copies of a burst of unread produces sent long before the
// log reached the offsets left for them (records after the last one
// read) are concurrent, as no-ops, with everything since they were sent,
// and porcupine's search tries each subset of them consumed early, each
// refuted only when the final reads show the log full.
func (u *unseenBounds) notBefore(oMin int64) (int64, bool) {
	n := sort.Search(len(u.short), func(i int) bool { return u.short[i] > oMin })
	if n == 0 {
		return 0, false
	}
	return u.shortMax[n-1], true
}

// bound returns, for an unplaced copy of b values, the latest instant it
// can have appended by (bounded) and the lowest offset it can have
// appended at (oMin), or drop when it cannot have appended before
// anything observed the log.
func (u *unseenBounds) bound(b int64) (by int64, bounded bool, oMin int64, drop bool) {
	m := u.obs.m
	fits := func(g [2]int64) (lo, hi int64, ok bool) {
		if g[1] == m {
			// the copy may run past M
			return g[0], m - 1, true
		}
		if g[1]-b >= g[0] {
			return g[0], g[1] - b, true
		}
		return 0, 0, false
	}
	oMax := int64(-1)
	for _, g := range u.gaps {
		if _, hi, ok := fits(g); ok {
			oMax = hi
			break
		}
	}
	if oMax < 0 {
		return 0, false, 0, true
	}
	for i := len(u.gaps) - 1; i >= 0; i-- {
		if lo, _, ok := fits(u.gaps[i]); ok {
			oMin = lo
			break
		}
	}
	by, bounded = u.obs.observedBy(oMax)
	return by, bounded, oMin, false
}

// offsets returns the base offsets at which an unplaced copy of b values
// can have appended, as [lo, hi] ranges in ascending order: the offsets o
// of a gap with [o, min(o+b, M)) free, and every o >= M. The copy's op
// appends only when the log's length is in one of them (step), and
// otherwise has no effect.
//
// Sound: by the argument above (unseenBounds), in a legal linearization
// the copy, if it appended at o, found [o, min(o+b, M)) free, since a
// returned, acknowledged or placed record there would sit on the same
// offset as one of its values (offsets never change; two appends never
// share an offset; a fetch that returned a record at p in [o, o+b)
// linearized after the copy appended, as it saw a length above p >= o, so
// it would have returned the copy's value, which nobody read). So o is
// in one of these ranges, and the linearizations removed, those in which
// the copy appended at another offset, cannot explain the history.
// Without this, an unread copy may append early in porcupine's search in
// the slot of an acknowledged produce not yet linearized, a branch only
// refuted when that produce returns, much later: with a few such copies
// the search is exponential in the produces pending meanwhile.
func (u *unseenBounds) offsets(b int64) [][2]int64 {
	m := u.obs.m
	out := [][2]int64{{m, math.MaxInt64}}
	for _, g := range u.gaps { // highest first
		switch {
		case g[1] == m:
			out[0][0] = g[0] // the copy may run past M
		case g[1]-b >= g[0]:
			out = append(out, [2]int64{g[0], g[1] - b})
		}
	}
	slices.Reverse(out)
	return out
}

// inRanges reports whether x lies in one of the [lo, hi] ranges rs.
func inRanges(rs [][2]int64, x int64) bool {
	for _, r := range rs {
		if r[0] <= x && x <= r[1] {
			return true
		}
	}
	return false
}

// chainCopies orders interchangeable unread copies and returns how many
// chains it made. Unread copies are what porcupine's search is
// exponential in: a burst of a plain producer's retried batches leaves
// one possible duplicate per batch, all unread, and after narrowing
// often with the very same interval (unseenBounds.notBefore and bound
// give every copy of b values the same ones, unless its own call or
// return is tighter). Porcupine then tries every subset of them
// linearized early, though it only matters how many of each size were.
//
// An unplaced copy of b values appends only at offsets in its at ranges
// (unseenBounds.offsets), where no fetch returned a record, so no step
// ever compares its values with anything, and build stores them all as
// the placeholder. So two unplaced copies of b values are the same
// operation but for their intervals. A chain is a set of them whose
// calls and returns are sorted alike (c1 <= c2 <= ... and r1 <= r2 <=
// ...); its members are ranked in that order, and each linearizes only
// after those ranked before it (step checks the count in the state).
//
// Sound: take a legal linearization and the points p1 < ... < pk the
// members of a chain take in it. Give the i-th point, with the effect
// the member there had (append, or none), to the member ranked i. Member
// i's interval holds p_i: by the exchange argument for intervals sorted
// alike, if member j > i holds p_i and member i holds p_l with l > i,
// then c_i <= c_j <= p_i < p_l <= r_i <= r_j, so each holds the other's
// point, and swapping them keeps every point inside its interval. The
// logs after each step are unchanged (the members carry the same values
// and the same at ranges), so every other operation sees what it saw. So
// a legal linearization with the members in rank order remains, and the
// ordering only removes linearizations. Every chain is one more counter
// in the state, which is a function of the set of operations linearized,
// so porcupine's cache loses nothing by it.
func chainCopies(ops []porcupine.Operation, substitute bool) int {
	if !substitute {
		return 0
	}
	type chain struct {
		id   int32
		size int
		at   [][2]int64
		last int64 // the return of its last member
		n    int32
	}
	var chains []*chain
	for i := range ops { // by call, ascending
		o := ops[i].Input.(*op)
		if o.kind != opProduceMaybe || o.at == nil {
			continue
		}
		var c *chain
		for _, x := range chains {
			if x.size == len(o.logVals) && slices.Equal(x.at, o.at) && x.last <= ops[i].Return {
				c = x
				break
			}
		}
		if c == nil {
			c = &chain{id: int32(len(chains) + 1), size: len(o.logVals), at: o.at}
			chains = append(chains, c)
		}
		o.chain, o.rank = c.id, c.n
		c.n++
		c.last = ops[i].Return
	}
	return len(chains)
}

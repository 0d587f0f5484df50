package linearizability

import (
	"slices"
	"sort"
)

// unseenBounds narrows indefinite produces that nobody read. Such a
// produce is the expensive kind for porcupine: it may append or not, and
// it never returns, so it is concurrent with everything after its call.
//
// Both narrowings below only remove linearizations (a shorter interval,
// or the no-effect branch chosen outright), so they can never turn an
// illegal history into a legal one. They keep every legal history legal,
// by this argument. Let U be an indefinite produce of b values, none of
// them read and none carried by another produce. If U appended at offset
// o, then no fetch returned a record in [o, o+b) (it would have read one
// of U's values) and no acknowledged produce owns an offset there. Let M
// be the largest log length anything observed (a high watermark, an
// acknowledged produce's end, a latest offset, a returned record). Then
// either
//   - o >= M: every operation that observes the log's length or content
//     linearized before U, so U may as well have had no effect; or
//   - o < M and [o, min(o+b, M)) holds no returned or acknowledged
//     record. Take the largest such o: every operation that observed a
//     length > o did so after U appended (offset o is U's), so U
//     linearized before the earliest return among them.
//
// Hence: no such o < M means U is dropped; otherwise U's return is that
// earliest return (and it still may or may not have appended).
type unseenBounds struct {
	m    int64
	gaps [][2]int64 // [start, end) within [0, m) with no returned record and no acknowledged one, highest first
	obs  []obs      // observed lengths, by length descending
}

type obs struct {
	length int64
	ret    int64
}

func newUnseenBounds(h PartitionHistory, readBy map[string]int64) *unseenBounds {
	u := &unseenBounds{}
	see := func(length, ret int64) {
		u.obs = append(u.obs, obs{length, ret})
		u.m = max(u.m, length)
	}
	var ranges [][2]int64
	for _, f := range h.Fetches {
		if !f.OK {
			continue
		}
		see(f.HighWatermark, f.Return)
		start, end := int64(-1), int64(-1)
		for _, r := range f.Records {
			if r.Offset < f.From || r.Offset < 0 {
				continue
			}
			see(r.Offset+1, f.Return)
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
		if p.Outcome == OK {
			// at its point the length was Offset; after it, the end
			see(p.Offset, p.Return)
			u.m = max(u.m, p.Offset+int64(len(p.Values)))
			if len(p.Values) > 0 && p.Offset >= 0 {
				ranges = append(ranges, [2]int64{p.Offset, p.Offset + int64(len(p.Values))})
			}
		}
	}
	for _, l := range h.Lists {
		if l.Latest {
			see(l.Offset, l.Return)
		}
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	var cur int64
	for _, r := range ranges {
		if r[0] > cur && cur < u.m {
			u.gaps = append(u.gaps, [2]int64{cur, min(r[0], u.m)})
		}
		cur = max(cur, r[1])
	}
	if cur < u.m {
		u.gaps = append(u.gaps, [2]int64{cur, u.m})
	}
	slices.Reverse(u.gaps)
	sort.Slice(u.obs, func(i, j int) bool { return u.obs[i].length > u.obs[j].length })
	return u
}

// bound returns, for an indefinite produce of vals that was not read, the
// latest instant it can have appended by (bounded), or drop when it
// cannot have appended before anything observed the log. Produces whose
// values other produces also carry are left alone (neither).
func (u *unseenBounds) bound(vals []string, carriers map[string]int) (by int64, bounded, drop bool) {
	for _, v := range vals {
		if carriers[v] != 1 {
			return 0, false, false
		}
	}
	b := int64(len(vals))
	oMax := int64(-1)
	for _, g := range u.gaps {
		switch {
		case g[1] == u.m:
			oMax = u.m - 1
		case g[1]-b >= g[0]:
			oMax = g[1] - b
		default:
			continue
		}
		break
	}
	if oMax < 0 {
		return 0, false, true
	}
	by, found := int64(0), false
	for _, o := range u.obs {
		if o.length <= oMax {
			break
		}
		if !found || o.ret < by {
			by, found = o.ret, true
		}
	}
	return by, found, false
}

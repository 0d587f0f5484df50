package linearizability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const testTimeout = 10 * time.Second

func ok(call, ret int64, offset int64, vals ...string) Produce {
	return Produce{Call: call, Return: ret, Values: vals, Outcome: OK, Offset: offset}
}

func maybe(call int64, vals ...string) Produce {
	return Produce{Call: call, Values: vals, Outcome: Unknown}
}

// fetch builds an answered fetch whose records sit at from, from+1, ...
func fetch(call, ret, from, hw int64, vals ...string) Fetch {
	f := Fetch{Call: call, Return: ret, From: from, HighWatermark: hw, OK: true}
	for i, v := range vals {
		f.Records = append(f.Records, Record{Offset: from + int64(i), Value: v})
	}
	return f
}

func TestHandBuilt(t *testing.T) {
	cases := []struct {
		name string
		want porcupine.CheckResult
		h    PartitionHistory
	}{
		{"empty", porcupine.Ok, PartitionHistory{}},
		{"concurrent produces, ack order follows call order", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a"), ok(5, 15, 1, "b", "c")},
			Fetches:  []Fetch{fetch(20, 30, 0, 3, "a", "b", "c")},
		}},
		{"concurrent produces, later call gets the lower offset", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 1, "a"), ok(5, 15, 0, "b")},
			Fetches:  []Fetch{fetch(20, 30, 0, 2, "b", "a")},
		}},
		{"fetches overlapping a produce see before and after", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 100, 0, "a")},
			Fetches: []Fetch{
				fetch(10, 20, 0, 1, "a"),
				fetch(5, 90, 0, 0), // may have linearized before the append
				fetch(30, 40, 1, 1),
			},
		}},
		{"fetch returns a prefix (size limit) and records before From", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Fetches: []Fetch{
				fetch(20, 30, 1, 3, "b"),
				{Call: 40, Return: 50, From: 1, HighWatermark: 3, OK: true,
					Records: []Record{{0, "a"}, {1, "b"}, {2, "c"}}},
				{Call: 40, Return: 50, From: 0, HighWatermark: 7, OK: false}, // error: ignored
			},
		}},
		{"indefinite produce that happened (read)", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(20, 30, 1, "a")},
			Fetches:  []Fetch{fetch(40, 50, 0, 2, "x", "a")},
		}},
		{"indefinite produce that happened (offsets imply it)", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(20, 30, 1, "a")},
		}},
		{"indefinite produce that did not happen", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(20, 30, 0, "a")},
			Fetches:  []Fetch{fetch(40, 50, 0, 1, "a")},
		}},
		{"indefinite produce applied after its neighbours", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(20, 30, 0, "a")},
			Fetches:  []Fetch{fetch(40, 50, 0, 1, "a"), fetch(60, 70, 0, 2, "a", "x")},
		}},
		{"failed produce is ignored", porcupine.Ok, PartitionHistory{
			Produces: []Produce{{Call: 0, Return: 5, Values: []string{"f"}, Outcome: Failed}, ok(10, 20, 0, "a")},
			Fetches:  []Fetch{fetch(40, 50, 0, 1, "a")},
		}},
		{"list offsets", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b")},
			Lists: []ListOffsets{
				{Call: 20, Return: 30, Latest: true, Offset: 2},
				{Call: 1, Return: 9, Latest: true, Offset: 0},
				{Call: 1, Return: 9, Latest: false, Offset: 0},
			},
		}},
		{"non-idempotent retry appended twice", porcupine.Ok, PartitionHistory{
			Produces: []Produce{{Call: 0, Return: 10, Values: []string{"a"}, Outcome: OK, Offset: 1, Duplicates: 1}},
			Fetches:  []Fetch{fetch(20, 30, 0, 2, "a", "a")},
		}},
		{"fetch past the high watermark reads nothing", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a")},
			Fetches:  []Fetch{fetch(20, 30, 5, 1)},
		}},

		{"unread indefinite produce fills a gap below an acknowledged one", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(30, 40, 1, "b")},
			Fetches:  []Fetch{fetch(10, 20, 0, 0), fetch(50, 60, 1, 2, "b")},
		}},
		{"unread indefinite produce with an unread acknowledged one", porcupine.Ok, PartitionHistory{
			Produces: []Produce{maybe(0, "x", "y"), ok(30, 40, 0, "b"), maybe(35, "z")},
			Fetches:  []Fetch{fetch(50, 60, 3, 3), fetch(70, 80, 1, 4, "x", "y")},
		}},
		{"stale read with an unread indefinite produce", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{maybe(0, "x"), ok(30, 40, 1, "b")},
			Fetches:  []Fetch{fetch(10, 20, 0, 0), fetch(50, 60, 2, 1)},
		}},

		{"lost acknowledged write", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a"), maybe(0, "c")},
			Fetches:  []Fetch{fetch(20, 30, 0, 1, "c")},
		}},
		{"lost acknowledged write under a later one", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a"), ok(20, 30, 1, "b")},
			Fetches:  []Fetch{fetch(40, 50, 0, 2, "b")},
		}},
		{"read of a value never produced", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a")},
			Fetches:  []Fetch{fetch(20, 30, 0, 1, "ghost")},
		}},
		{"two values at one offset (reads)", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{maybe(0, "a"), maybe(0, "b")},
			Fetches:  []Fetch{fetch(10, 20, 0, 1, "a"), fetch(30, 40, 0, 1, "b")},
		}},
		{"two values at one offset (acks)", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a"), ok(5, 15, 0, "b")},
		}},
		{"high watermark goes backwards", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a"), ok(0, 10, 1, "b")},
			Fetches:  []Fetch{fetch(20, 30, 2, 2), fetch(40, 50, 0, 1, "a")},
		}},
		{"high watermark goes backwards (list offsets)", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{maybe(0, "a")},
			Lists:    []ListOffsets{{Call: 10, Return: 20, Latest: true, Offset: 1}, {Call: 30, Return: 40, Latest: true, Offset: 0}},
		}},
		{"stale read", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a")},
			Fetches:  []Fetch{fetch(20, 30, 0, 0)},
		}},
		{"records skip an offset", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Fetches: []Fetch{{Call: 20, Return: 30, From: 0, HighWatermark: 3, OK: true,
				Records: []Record{{0, "a"}, {2, "c"}}}},
		}},
		{"records past the high watermark", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b")},
			Fetches:  []Fetch{fetch(5, 30, 0, 1, "a", "b")},
		}},
		{"indefinite produce read before its call", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{maybe(100, "x")},
			Fetches:  []Fetch{fetch(10, 20, 0, 1, "x")},
		}},
		{"indefinite produce read at two offsets", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{maybe(0, "a"), ok(5, 10, 1, "b")},
			Fetches:  []Fetch{fetch(20, 30, 0, 3, "a", "b", "a")},
		}},
		{"retries read at two offsets, one not read", porcupine.Ok, PartitionHistory{
			Produces: []Produce{{Call: 0, Values: []string{"a", "b"}, Outcome: Unknown, Duplicates: 2}, ok(5, 10, 2, "c")},
			Fetches:  []Fetch{fetch(20, 30, 0, 5, "a", "b", "c", "a", "b")},
		}},
		{"retry read before the acknowledged copy", porcupine.Ok, PartitionHistory{
			Produces: []Produce{{Call: 0, Return: 50, Values: []string{"a"}, Outcome: OK, Offset: 1, Duplicates: 1}},
			Fetches:  []Fetch{fetch(10, 20, 0, 1, "a"), fetch(60, 70, 0, 2, "a", "a")},
		}},
		{"retry read where the acknowledged copy should be", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{{Call: 0, Return: 50, Values: []string{"a"}, Outcome: OK, Offset: 1, Duplicates: 1}, ok(0, 50, 0, "b")},
			Fetches:  []Fetch{fetch(60, 70, 0, 2, "a", "b")},
		}},
		{"retry duplicate without Duplicates", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 1, "a")},
			Fetches:  []Fetch{fetch(20, 30, 0, 2, "a", "a")},
		}},
		{"earliest offset past the log end", porcupine.Illegal, PartitionHistory{
			Lists: []ListOffsets{{Call: 0, Return: 1, Offset: 3}},
		}},
		{"retention moves the log start forward", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Lists:    []ListOffsets{{Call: 20, Return: 30, Offset: 1}, {Call: 40, Return: 50, Offset: 2}},
			Fetches:  []Fetch{fetch(60, 70, 2, 3, "c")},
		}},
		{"log start moves back", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Lists:    []ListOffsets{{Call: 20, Return: 30, Offset: 2}, {Call: 40, Return: 50, Offset: 1}},
		}},
		{"another broker tells a lower log start and serves below the first's", porcupine.Ok, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Lists:    []ListOffsets{{Call: 20, Return: 30, Offset: 2, Source: 1}, {Call: 40, Return: 50, Offset: 1, Source: 2}},
			Fetches:  []Fetch{{Call: 60, Return: 70, From: 1, HighWatermark: 3, OK: true, Source: 2, Records: []Record{{1, "b"}, {2, "c"}}}},
		}},
		{"a broker's log start moves back", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Lists:    []ListOffsets{{Call: 20, Return: 30, Offset: 2, Source: 1}, {Call: 35, Return: 38, Offset: 1, Source: 2}, {Call: 40, Return: 50, Offset: 1, Source: 1}},
		}},
		{"fetch answered below the log start", porcupine.Illegal, PartitionHistory{
			Produces: []Produce{ok(0, 10, 0, "a", "b", "c")},
			Lists:    []ListOffsets{{Call: 20, Return: 30, Offset: 2}},
			Fetches:  []Fetch{fetch(40, 50, 1, 3, "b", "c")},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := CheckPartition(c.h, testTimeout)
			if r.Verdict != c.want {
				t.Fatalf("got %v, want %v", r, c.want)
			}
			if r.Passed() != (c.want == porcupine.Ok) {
				t.Fatalf("Passed() = %v for %v", r.Passed(), r.Verdict)
			}
		})
	}
}

func TestLogState(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	root := newRoot(0)
	var flat []string
	s := root
	for i := 0; i < 2000; i++ {
		var b []string
		for range 1 + rng.IntN(4) {
			b = append(b, fmt.Sprintf("v%d", len(flat)+len(b)))
		}
		s = s.appendBatch(b)
		flat = append(flat, b...)
		if s.end != int64(len(flat)) {
			t.Fatalf("end %d, want %d", s.end, len(flat))
		}
		from := rng.IntN(len(flat))
		n := rng.IntN(len(flat) - from + 1)
		if !s.matches(int64(from), flat[from:from+n]) {
			t.Fatalf("log does not match itself at %d+%d", from, n)
		}
		if n > 0 {
			bad := append([]string(nil), flat[from:from+n]...)
			bad[rng.IntN(n)] = "x"
			if s.matches(int64(from), bad) {
				t.Fatalf("log matches a wrong value at %d+%d", from, n)
			}
		}
	}
	// the same values appended through a different node chain
	u := root
	for i := 0; i < len(flat); {
		n := min(1+i%3, len(flat)-i)
		u = u.appendBatch(flat[i : i+n])
		i += n
	}
	if u.hash != s.hash || u.end != s.end {
		t.Fatal("equal logs hash differently")
	}
	if !equalLog(s, s) || equalLog(s, s.parent) {
		t.Fatal("equalLog")
	}
	// batched differently, the same values: one state
	if !equalLog(s, u) || !equalLog(u, s) {
		t.Fatal("equalLog tells apart logs that differ only in batching")
	}
	// one value changed halfway, after the same values batched the
	// same way: a different state, even with the hash forced equal
	v := root
	half := len(flat) / 2
	v = v.appendBatch(flat[:half])
	v = v.appendBatch(append([]string{"x"}, flat[half+1:]...))
	v.hash = s.hash
	if equalLog(s, v) || equalLog(v, s) {
		t.Fatal("equalLog: logs with a different value compare equal")
	}
	if got := s.tail(3); strings.Join(got, ",") != strings.Join(flat[len(flat)-3:], ",") {
		t.Fatalf("tail %v", got)
	}
}

// genHistory produces a history from a sequential log: clients issue
// operations one after another, every operation takes effect at a random
// instant inside its interval, and outputs come from the log at that
// instant. It is linearizable by construction.
//
// Produces are indefinite with probability pUnknown, and retried by a
// plain producer (possibly appended twice) with probability pDup.
//
// With finalRead, a last fetch reads the whole log after everything else,
// as the simulator's final polls do.
func genHistory(rng *rand.Rand, clients, opsPerClient int, pUnknown, pDup float64, finalRead bool) PartitionHistory {
	type ev struct {
		at     int64
		client int
		call   int64
		ret    int64
		kind   int // 0 produce, 1 fetch, 2 list latest, 3 list earliest, 4 a produce's retry
		vals   []string
		apply  bool
		unsure bool
		dups   int
	}
	var evs []ev
	for c := 0; c < clients; c++ {
		t := int64(rng.IntN(50))
		seq := 0
		for range opsPerClient {
			call := t + int64(rng.IntN(40))
			ret := call + 1 + int64(rng.IntN(200))
			e := ev{client: c, call: call, ret: ret, at: call + rng.Int64N(ret-call+1), apply: true}
			switch x := rng.IntN(20); {
			case x < 9:
				e.kind = 0
				for range 1 + rng.IntN(3) {
					e.vals = append(e.vals, fmt.Sprintf("c%d#%d", c, seq))
					seq++
				}
				if rng.Float64() < pUnknown {
					e.unsure = true
					e.apply = rng.IntN(2) == 0
					// an indefinite produce may take effect long after
					e.at = call + rng.Int64N(1000)
				}
				if rng.Float64() < pDup {
					// a plain producer's retry, which may append
					// the batch once more, any time later
					e.dups = 1
					evs = append(evs, ev{kind: 4, vals: e.vals, at: call + rng.Int64N(1000), apply: rng.IntN(2) == 0})
				}
			case x < 18:
				e.kind = 1
			case x < 19:
				e.kind = 2
			default:
				e.kind = 3
			}
			evs = append(evs, e)
			t = ret
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	var h PartitionHistory
	var log []string
	for _, e := range evs {
		n := int64(len(log))
		switch e.kind {
		case 0:
			if e.unsure {
				h.Produces = append(h.Produces, maybe(e.call, e.vals...))
			} else {
				h.Produces = append(h.Produces, ok(e.call, e.ret, n, e.vals...))
			}
			h.Produces[len(h.Produces)-1].Duplicates = e.dups
			if e.apply {
				log = append(log, e.vals...)
			}
		case 4:
			if e.apply {
				log = append(log, e.vals...)
			}
		case 1:
			from := max(n-int64(rng.IntN(8)), 0)
			if rng.IntN(10) == 0 {
				from = rng.Int64N(n + 1)
			}
			k := rng.Int64N(min(n-from, 6) + 1)
			h.Fetches = append(h.Fetches, fetch(e.call, e.ret, from, n, log[from:from+k]...))
		case 2:
			h.Lists = append(h.Lists, ListOffsets{Call: e.call, Return: e.ret, Latest: true, Offset: n})
		case 3:
			h.Lists = append(h.Lists, ListOffsets{Call: e.call, Return: e.ret, Offset: 0})
		}
	}
	if finalRead {
		end := int64(0)
		for _, e := range evs {
			end = max(end, e.ret, e.at)
		}
		h.Fetches = append(h.Fetches, fetch(end+1, end+2, 0, int64(len(log)), log...))
	}
	return h
}

// mutateRecord changes one read value to one never produced.
func mutateRecord(rng *rand.Rand, h PartitionHistory) (PartitionHistory, bool) {
	var with []int
	for i, f := range h.Fetches {
		if len(f.Records) > 0 {
			with = append(with, i)
		}
	}
	if len(with) == 0 {
		return h, false
	}
	i := with[rng.IntN(len(with))]
	fs := append([]Fetch(nil), h.Fetches...)
	recs := append([]Record(nil), fs[i].Records...)
	recs[rng.IntN(len(recs))].Value = "mutant"
	fs[i].Records = recs
	h.Fetches = fs
	return h, true
}

func TestRandomized(t *testing.T) {
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		pUnknown := 0.0
		if seed%2 == 1 {
			pUnknown = 0.05
		}
		h := genHistory(rng, 2+int(seed%4), 25+int(seed%50), pUnknown, pUnknown, seed%3 == 0)
		r := CheckPartition(h, testTimeout)
		if r.Verdict != porcupine.Ok {
			t.Fatalf("seed %d: legal history of %d ops: %v", seed, h.Len(), r)
		}
		m, changed := mutateRecord(rng, h)
		if !changed {
			continue
		}
		if r := CheckPartition(m, testTimeout); r.Verdict != porcupine.Illegal {
			t.Fatalf("seed %d: mutated history: %v, want Illegal", seed, r)
		}
	}
}

func TestCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := genHistory(rng, 4, 200, 0.02, 0.02, false)
	c := Cut(h, 300)
	r := CheckPartition(c, testTimeout)
	if r.Verdict != porcupine.Ok {
		t.Fatalf("cut history: %v", r)
	}
	if r.Ops > 300 || r.Ops < 250 || r.CutAt < 0 {
		t.Fatalf("cut to %v, want about 300 ops", r)
	}
	if r := CheckPartition(Cut(h, h.Len()), testTimeout); r.CutAt >= 0 || r.Ops != r.Total {
		t.Fatalf("Cut shortened a history that fits: %v", r)
	}
	// a mutation below the cut is caught, one above it is not seen
	small := PartitionHistory{
		Produces: []Produce{ok(0, 10, 0, "a"), ok(20, 30, 1, "b"), ok(40, 50, 2, "c")},
		Fetches:  []Fetch{fetch(12, 18, 0, 1, "a"), fetch(32, 38, 0, 2, "a", "b"), fetch(52, 58, 0, 3, "a", "b", "x")},
	}
	if r := CheckPartition(Cut(small, 4), testTimeout); r.Verdict != porcupine.Ok || r.CutAt != 2 || r.Ops != 4 {
		t.Fatalf("cut small history: %v", r)
	}
	if r := CheckPartition(small, testTimeout); r.Verdict != porcupine.Illegal {
		t.Fatalf("uncut small history: %v", r)
	}
	small.Fetches[1].Records[1].Value = "y"
	if r := CheckPartition(Cut(small, 4), testTimeout); r.Verdict != porcupine.Illegal {
		t.Fatalf("cut small history with a bad read below the cut: %v", r)
	}
}

func TestVisualization(t *testing.T) {
	h := PartitionHistory{
		Partition: 3,
		Produces:  []Produce{ok(0, 10, 0, "apple", "pear"), maybe(5, "plum")},
		Fetches:   []Fetch{fetch(20, 30, 0, 2, "apple", "banana")},
	}
	r := CheckPartition(h, testTimeout)
	if r.Verdict != porcupine.Illegal {
		t.Fatalf("got %v", r)
	}
	path := filepath.Join(t.TempDir(), "partition-3.html")
	if err := WriteVisualization(path, h, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"banana", "apple", "plum", "not checked"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("visualization does not mention %q", want)
		}
	}

	// a nondeterministic model (an indefinite produce that may or may
	// not have appended), legal
	rng := rand.New(rand.NewPCG(5, 5))
	h = genHistory(rng, 3, 30, 0.1, 0.1, false)
	r = CheckPartition(h, testTimeout)
	if r.Verdict != porcupine.Ok {
		t.Fatalf("got %v", r)
	}
	path = filepath.Join(t.TempDir(), "random.html")
	if err := WriteVisualization(path, h, r); err != nil {
		t.Fatal(err)
	}
	if b, err = os.ReadFile(path); err != nil || !strings.Contains(string(b), h.Produces[0].Values[0]) {
		t.Fatalf("visualization %s: %v", path, err)
	}
}

// TestThroughput checks histories of 1,000 operations from 4 concurrent
// clients and logs the rate.
func TestThroughput(t *testing.T) {
	for _, c := range []struct {
		pUnknown, pDup float64
		finalRead      bool
	}{{0, 0, false}, {0.01, 0.01, false}, {0.01, 0.01, true}, {0.05, 0.05, true}, {0.3, 0.3, true}} {
		pUnknown := c.pUnknown
		var ops int
		var took time.Duration
		for seed := uint64(0); seed < 5; seed++ {
			rng := rand.New(rand.NewPCG(seed, 11))
			h := genHistory(rng, 4, 250, pUnknown, c.pDup, c.finalRead)
			r := CheckPartition(h, testTimeout)
			if r.Verdict != porcupine.Ok {
				t.Fatalf("seed %d: %v", seed, r)
			}
			ops += r.Ops
			took += r.Elapsed
		}
		t.Logf("indefinite %.0f%%, retried %.0f%%, final read %v: %d ops in %v: %.0f ops/s", pUnknown*100, c.pDup*100, c.finalRead, ops, took, float64(ops)/took.Seconds())
	}
}

func BenchmarkCheck1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 11))
	h := genHistory(rng, 4, 250, 0.01, 0.01, false)
	b.ResetTimer()
	for b.Loop() {
		if r := CheckPartition(h, testTimeout); r.Verdict != porcupine.Ok {
			b.Fatal(r)
		}
	}
	b.ReportMetric(float64(h.Len()*b.N)/b.Elapsed().Seconds(), "ops/s")
}

// TestNarrowingKeepsVerdicts compares verdicts with and without the
// narrowing of indefinite produces on small histories, legal and mutated
// in several ways.
func TestNarrowingKeepsVerdicts(t *testing.T) {
	defer func() { narrowIndefinite = true }()
	const plainTimeout = 500 * time.Millisecond
	counts := map[porcupine.CheckResult]int{}
	undecided, chained := 0, 0
	for seed := uint64(0); seed < 1000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		pDup := 0.05
		if seed%3 == 2 {
			// many retried batches: unread copies of one size, chained
			pDup = 0.15
		}
		h := genHistory(rng, 3, 5+int(seed%8), 0.2, pDup, seed%4 == 0)
		switch seed % 5 {
		case 1:
			h, _ = mutateRecord(rng, h)
		case 2: // a fetch's high watermark off by one
			if len(h.Fetches) > 0 {
				fs := append([]Fetch(nil), h.Fetches...)
				i := rng.IntN(len(fs))
				fs[i].HighWatermark += int64(1 - 2*rng.IntN(2))
				h.Fetches = fs
			}
		case 3: // an acknowledged offset off by one
			ps := append([]Produce(nil), h.Produces...)
			for i := range ps {
				if ps[i].Outcome == OK {
					ps[i].Offset += int64(1 - 2*rng.IntN(2))
					break
				}
			}
			h.Produces = ps
		case 4: // a read record dropped from the middle of a fetch
			for i, f := range h.Fetches {
				if len(f.Records) >= 3 {
					fs := append([]Fetch(nil), h.Fetches...)
					fs[i].Records = append(append([]Record(nil), f.Records[:1]...), f.Records[2:]...)
					h.Fetches = fs
					break
				}
			}
		}
		narrowIndefinite = true
		if longestChain(build(h)) >= 2 {
			chained++
		}
		a := CheckPartition(h, testTimeout)
		c := CheckPartition(Cut(h, h.Len()/2), testTimeout)
		narrowIndefinite = false
		b := CheckPartition(h, plainTimeout)
		if b.Verdict == porcupine.Unknown {
			// the plain encoding is exponential in the indefinite
			// produces of an illegal history; too slow to compare
			undecided++
			continue
		}
		if a.Verdict != b.Verdict {
			t.Fatalf("seed %d: narrowed %v, plain %v", seed, a, b)
		}
		// a prefix fails only if the whole history does, and passes
		// if it does
		if c.Verdict == porcupine.Unknown || c.Verdict == porcupine.Illegal && b.Verdict != porcupine.Illegal ||
			b.Verdict == porcupine.Ok && c.Verdict != porcupine.Ok {
			t.Fatalf("seed %d: cut narrowed %v, plain %v", seed, c, b)
		}
		counts[a.Verdict]++
	}
	t.Logf("verdicts: %v; plain encoding undecided within %v: %d; histories with chained copies: %d", counts, plainTimeout, undecided, chained)
	if counts[porcupine.Ok] < 200 || counts[porcupine.Illegal] < 200 || undecided > 20 {
		t.Fatalf("unbalanced verdicts %v, %d undecided", counts, undecided)
	}
	if chained < 50 {
		t.Fatalf("only %d histories ordered interchangeable copies (chainCopies); the comparison does not cover it", chained)
	}
}

// longestChain is the most members a chain of interchangeable copies
// has in b (see chainCopies).
func longestChain(b built) int {
	n := map[int32]int{}
	best := 0
	for _, o := range b.ops {
		if in := o.Input.(*op); in.chain > 0 {
			n[in.chain]++
			best = max(best, n[in.chain])
		}
	}
	return best
}

// TestUnknownIsFailure gives porcupine no time: the verdict is Unknown,
// which does not pass.
func TestUnknownIsFailure(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	h := genHistory(rng, 4, 250, 0.05, 0.05, true)
	r := CheckPartition(h, time.Nanosecond)
	if r.Verdict != porcupine.Unknown || r.Passed() {
		t.Fatalf("got %v (passed %v) with a nanosecond to check %d ops; want Unknown, not passed", r, r.Passed(), r.Ops)
	}
}

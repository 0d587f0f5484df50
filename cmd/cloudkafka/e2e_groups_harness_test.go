package main

// Helpers for the consumer-group end-to-end tests: broker settings for quick
// rebalances, a bounded wait, what a group consumed, who owned which
// partition when, and the checks over them.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sys/unix"
)

// groupOverrides make rebalances quick: no initial rebalance delay, and
// session timeouts from one second up.
var groupOverrides = []string{
	"group.initial.rebalance.delay.ms=0",
	"group.min.session.timeout.ms=1000",
}

// Client settings for every group test: a member notices a rebalance
// within a heartbeat, and a member that vanished is dropped within a
// session timeout.
const (
	groupSessionTimeout   = 4 * time.Second
	groupHeartbeat        = 250 * time.Millisecond
	groupRebalanceTimeout = 10 * time.Second
	groupFetchMaxWait     = 250 * time.Millisecond
	// groupWait bounds every wait for a group to settle or catch up.
	groupWait = 30 * time.Second
)

// waitFor polls cond every 20 ms until it holds, failing the test with what
// it waited for once timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// produceSeqs produces sequence numbers first..first+n-1 of tag to topic,
// keyed so that they spread over the partitions, and returns where each was
// acknowledged. The batches are uncompressed, so that every client reads
// them without codec libraries (kafka-python needs python3-snappy for
// franz-go's default snappy).
func produceSeqs(t *testing.T, b *broker, topic, tag string, first, n int) map[int]pos {
	t.Helper()
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	acks := newAckLog()
	for seq := first; seq < first+n; seq++ {
		cl.Produce(ctx, seqRecord(tag, seq), acks.promise(seq))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("producing %d records to %s: flush: %v", n, topic, err)
	}
	acked, err := acks.result()
	if err != nil {
		t.Fatalf("producing %d records to %s: %v", n, topic, err)
	}
	if len(acked) != n {
		t.Fatalf("producing to %s: got %d acknowledgements; want %d", topic, len(acked), n)
	}
	return acked
}

func seqRecord(tag string, seq int) *kgo.Record {
	return &kgo.Record{Key: []byte("k" + strconv.Itoa(seq)), Value: []byte(seqValue(tag, seq))}
}

// ackLog collects a producer's acknowledgements.
type ackLog struct {
	mu       sync.Mutex
	acked    map[int]pos
	firstErr error
}

func newAckLog() *ackLog { return &ackLog{acked: map[int]pos{}} }

func (a *ackLog) promise(seq int) func(*kgo.Record, error) {
	return func(r *kgo.Record, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if err != nil {
			if a.firstErr == nil {
				a.firstErr = fmt.Errorf("seq %d: %w", seq, err)
			}
			return
		}
		a.acked[seq] = pos{r.Partition, r.Offset}
	}
}

func (a *ackLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

func (a *ackLog) result() (map[int]pos, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]pos, len(a.acked))
	for k, v := range a.acked {
		out[k] = v
	}
	return out, a.firstErr
}

// mergeAcked returns the union of acknowledgement maps.
func mergeAcked(ms ...map[int]pos) map[int]pos {
	out := map[int]pos{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// consumed is what the members of one group consumed, in arrival order.
type consumed struct {
	mu   sync.Mutex
	recs []seen
	at   []time.Time     // at[i]: when the client handed recs[i] to the application
	next map[int32]int64 // per partition, one past the highest offset consumed
}

func newConsumed() *consumed { return &consumed{next: map[int32]int64{}} }

// add records r as handed to the application now.
func (c *consumed) add(r seen) { c.addAt(r, time.Now()) }

// addAt records r as handed to the application at instant at (a client
// in another process says when, on the monotonic clock: see monoTime).
func (c *consumed) addAt(r seen, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	c.at = append(c.at, at)
	if r.offset+1 > c.next[r.partition] {
		c.next[r.partition] = r.offset + 1
	}
}

// reached reports whether every partition was consumed up to ends.
func (c *consumed) reached(ends map[int32]int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return caughtUp(c.next, ends)
}

func (c *consumed) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

func (c *consumed) progress() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d records, next offsets %v", len(c.recs), c.next)
}

func (c *consumed) records() []seen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seen(nil), c.recs...)
}

// since returns the records handed to the application at or after t.
func (c *consumed) since(t time.Time) []seen {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []seen
	for i, r := range c.recs {
		if !c.at[i].Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// monoBase pairs a time.Time with the CLOCK_MONOTONIC reading taken with
// it, so that instants another process reads from CLOCK_MONOTONIC (Python's
// time.monotonic_ns) convert to times comparable with this process's
// time.Now: Go's monotonic clock is CLOCK_MONOTONIC too, so the two differ
// only by the nanoseconds between the two readings.
var monoBase = func() (b struct {
	t  time.Time
	ns int64
}) {
	// time.Now first: the reading is then at or after it, and a
	// converted instant is never later than the one it converts (a
	// microsecond or so early), so no record is placed after a kill it
	// preceded.
	b.t = time.Now()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(fmt.Sprintf("clock_gettime(CLOCK_MONOTONIC): %v", err))
	}
	b.ns = ts.Nano()
	return b
}()

// monoTime converts a CLOCK_MONOTONIC reading in nanoseconds to a time
// comparable with time.Now.
func monoTime(ns int64) time.Time { return monoBase.t.Add(time.Duration(ns - monoBase.ns)) }

// checkResumed checks what a group consumed after its coordinator's
// broker was SIGKILLed and restarted against the offsets the group had
// committed just before the kill: on every partition, nothing below the
// committed offset (the members resumed at or after what was committed,
// not earlier). after holds only records handed to the application after
// the kill; a record handed over then was fetched from the member's
// position, which is never below what it committed, or from the committed
// offset of a new assignment, which only grows.
func checkResumed(t testing.TB, what string, after []seen, committed map[int32]int64) {
	t.Helper()
	p := &problems{t: t}
	for _, r := range after {
		if c, ok := committed[r.partition]; ok && r.offset < c {
			p.add("%s: partition %d offset %d consumed again after the restart; want nothing below the offset %d committed before the kill",
				what, r.partition, r.offset, c)
		}
	}
	p.done(what)
}

// checkNotBehind checks that committed offsets did not go backwards: on
// every partition of before, later is at least as far.
func checkNotBehind(t testing.TB, what string, before, later map[int32]int64) {
	t.Helper()
	for _, part := range sortedParts(before) {
		if got, ok := later[part]; !ok || got < before[part] {
			t.Errorf("%s: partition %d: committed offset %d (present %v); want at least the %d committed before the kill",
				what, part, got, ok, before[part])
		}
	}
}

// checkConsumed checks a group's consumption of tag's records: every offset
// in [from, ends) of every partition consumed at least once, with the value
// its producer was acknowledged for there, and nothing outside that range
// (a group that starts earlier than its committed offsets re-reads what it
// committed; one that starts later skips records). It returns the number of
// records consumed more than once.
func checkConsumed(t testing.TB, what string, got []seen, tag string, acked map[int]pos, from, ends map[int32]int64) int {
	t.Helper()
	p := &problems{t: t}
	seqAt := make(map[pos]int, len(acked))
	for seq, at := range acked {
		seqAt[at] = seq
	}
	times := map[pos]int{}
	for _, r := range got {
		at := pos{r.partition, r.offset}
		end, ok := ends[r.partition]
		if !ok || r.offset < from[r.partition] || r.offset >= end {
			p.add("%s: got partition %d offset %d; want only offsets in [%d, %d)", what, r.partition, r.offset, from[r.partition], end)
			continue
		}
		seq, ok := seqAt[at]
		if !ok {
			p.add("%s: partition %d offset %d: got %.60q; no acknowledged record is there", what, r.partition, r.offset, r.value)
		} else if want := seqValue(tag, seq); string(r.value) != want {
			p.add("%s: partition %d offset %d: got value %.60q; want %q", what, r.partition, r.offset, r.value, want)
		}
		times[at]++
	}
	dups := 0
	for _, part := range sortedParts(ends) {
		for o := from[part]; o < ends[part]; o++ {
			switch n := times[pos{part, o}]; {
			case n == 0:
				p.add("%s: partition %d offset %d: never consumed; want every offset in [%d, %d)", what, part, o, from[part], ends[part])
			case n > 1:
				dups += n - 1
			}
		}
	}
	p.done(what)
	return dups
}

func sortedParts(m map[int32]int64) []int32 {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// committedOffsets returns group's committed offsets of topic (kadm
// FetchOffsets), by partition.
func committedOffsets(t *testing.T, b *broker, group, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resps, err := adm.FetchOffsets(ctx, group)
	for err != nil && kerr.IsRetriable(err) && ctx.Err() == nil {
		// a coordinator moving or loading: retried, as Kafka's admin
		// client retries it
		time.Sleep(100 * time.Millisecond)
		resps, err = adm.FetchOffsets(ctx, group)
	}
	if err != nil {
		t.Fatalf("OffsetFetch %s: %v", group, err)
	}
	out := map[int32]int64{}
	var firstErr error
	resps.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s/%d: %w", o.Topic, o.Partition, o.Err)
		}
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	if firstErr != nil {
		t.Fatalf("OffsetFetch %s: partition error %v", group, firstErr)
	}
	return out
}

// checkCommitted checks that group's committed offsets of topic are want,
// partition by partition.
func checkCommitted(t *testing.T, what string, b *broker, group, topic string, want map[int32]int64) {
	t.Helper()
	got := committedOffsets(t, b, group, topic)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: committed offsets of group %s: got %v; want %v (what was consumed)", what, group, got, want)
	}
}

// ownership records, from a client's assignment callbacks, which member
// owned which partition when. Members in this process stamp their events
// with time.Now; members in other processes with their own reading of the
// same monotonic clock (monoTime), or with when their line was read, so
// all the timestamps are comparable.
type ownership struct {
	mu         sync.Mutex
	open       map[string]map[int32]time.Time // member → partition → owned since
	spans      []span
	assigns    map[string][]time.Time // member → the instants of its assignments, in order
	deliveries []delivery
	log        []string // every callback, for failure reports
	bad        []string // records consumed outside the member's ownership
	lost       int      // partitions reported lost
	start      time.Time
}

type span struct {
	member    string
	partition int32
	from, to  time.Time
}

// delivery is a record a client handed to its application, checked once
// every member closed (see delivered).
type delivery struct {
	member    string
	partition int32
	offset    int64
	at        time.Time
}

func newOwnership() *ownership {
	return &ownership{open: map[string]map[int32]time.Time{}, assigns: map[string][]time.Time{}, start: time.Now()}
}

func (o *ownership) assigned(member string, ps []int32) { o.assignedAt(member, ps, time.Now()) }

// assignedAt opens member's spans of ps at instant at.
func (o *ownership) assignedAt(member string, ps []int32, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.open[member] == nil {
		o.open[member] = map[int32]time.Time{}
	}
	for _, p := range ps {
		if _, ok := o.open[member][p]; ok {
			o.bad = append(o.bad, fmt.Sprintf("%s assigned partition %d again without a revoke", member, p))
			continue
		}
		o.open[member][p] = at
	}
	o.assigns[member] = append(o.assigns[member], at)
	o.log = append(o.log, fmt.Sprintf("%8.3fs %s assigned %v", at.Sub(o.start).Seconds(), member, ps))
}

// ended closes member's spans of ps: how is "revoked" or "lost".
func (o *ownership) ended(member string, ps []int32, how string) {
	o.endedAt(member, ps, how, time.Now())
}

// endedAt closes member's spans of ps at instant at.
func (o *ownership) endedAt(member string, ps []int32, how string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.endLocked(member, ps, how, at)
}

// endAll closes every span member has open at instant at: for a client
// that says only that its generation ended, and for a process that died
// (a dead process owns nothing).
func (o *ownership) endAll(member, how string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ps := make([]int32, 0, len(o.open[member]))
	for p := range o.open[member] {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	o.endLocked(member, ps, how, at)
}

func (o *ownership) endLocked(member string, ps []int32, how string, at time.Time) {
	for _, p := range ps {
		from, ok := o.open[member][p]
		if !ok {
			continue // eager revokes list everything, owned or not
		}
		delete(o.open[member], p)
		o.spans = append(o.spans, span{member, p, from, at})
	}
	if how == "lost" {
		o.lost += len(ps)
	}
	o.log = append(o.log, fmt.Sprintf("%8.3fs %s %s %v", at.Sub(o.start).Seconds(), member, how, ps))
}

// polled checks that member owned partition p at instant at, when a poll
// returned one of its records.
func (o *ownership) polled(member string, p int32, offset int64, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if since, ok := o.open[member][p]; ok && !at.Before(since) {
		return
	}
	o.bad = append(o.bad, fmt.Sprintf("%s polled partition %d offset %d at %.3fs without owning it",
		member, p, offset, at.Sub(o.start).Seconds()))
}

// delivered notes a record of partition p that member's client handed to
// the application at instant at, for a client that buffers what it
// fetched and may hand it over after its ownership ended (kafka-go's
// Reader drops a buffered record only once its next assignment starts).
// check requires p to be in member's latest assignment at or before at.
func (o *ownership) delivered(member string, p int32, offset int64, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, delivery{member, p, offset, at})
}

// ownedFrom reports whether member's span of p opened at instant from.
func (o *ownership) ownedFrom(member string, p int32, from time.Time) bool {
	if since, ok := o.open[member][p]; ok && since.Equal(from) {
		return true
	}
	for _, s := range o.spans {
		if s.member == member && s.partition == p && s.from.Equal(from) {
			return true
		}
	}
	return false
}

// checkDeliveries reports each delivery whose partition was not in its
// member's latest assignment at or before it.
func (o *ownership) checkDeliveries(p *problems) {
	for _, d := range o.deliveries {
		var latest time.Time
		found := false
		for _, a := range o.assigns[d.member] {
			if !a.After(d.at) && (!found || a.After(latest)) {
				latest, found = a, true
			}
		}
		if !found || !o.ownedFrom(d.member, d.partition, latest) {
			p.add("ownership: %s handed over partition %d offset %d at %.3fs; its latest assignment before then did not hold the partition",
				d.member, d.partition, d.offset, d.at.Sub(o.start).Seconds())
		}
	}
}

// owners returns, per partition, the members that own it now.
func (o *ownership) owners() map[int32][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int32][]string{}
	for m, ps := range o.open {
		for p := range ps {
			out[p] = append(out[p], m)
		}
	}
	return out
}

// settled reports whether exactly members own partitions 0..partitions-1,
// each partition one member, each member at least one partition.
func (o *ownership) settled(partitions int32, members ...string) bool {
	owners := o.owners()
	has := map[string]bool{}
	for p := int32(0); p < partitions; p++ {
		if len(owners[p]) != 1 {
			return false
		}
		has[owners[p][0]] = true
	}
	if len(has) != len(members) {
		return false
	}
	for _, m := range members {
		if !has[m] {
			return false
		}
	}
	return len(owners) == int(partitions)
}

// check reports two members owning one partition at the same time, records
// polled outside ownership, records delivered from a partition not in
// their member's latest assignment, and lost partitions. Every member must
// have been closed (its spans ended).
func (o *ownership) check(t testing.TB) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	p := &problems{t: t}
	for m, ps := range o.open {
		if len(ps) > 0 {
			p.add("ownership: %s still owns %d partitions after every member closed", m, len(ps))
		}
	}
	byPart := map[int32][]span{}
	for _, s := range o.spans {
		byPart[s.partition] = append(byPart[s.partition], s)
	}
	for part, spans := range byPart {
		sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
		for i := 1; i < len(spans); i++ {
			prev, cur := spans[i-1], spans[i]
			if cur.from.Before(prev.to) {
				p.add("ownership: partition %d: %s owned it from %.3fs while %s owned it until %.3fs; want one owner at a time",
					part, cur.member, cur.from.Sub(o.start).Seconds(), prev.member, prev.to.Sub(o.start).Seconds())
			}
		}
	}
	for _, b := range o.bad {
		p.add("ownership: %s", b)
	}
	o.checkDeliveries(p)
	if o.lost > 0 {
		p.add("ownership: %d partitions were lost (session expiry or a fatal group error); want only revokes", o.lost)
	}
	if p.count > 0 || testing.Verbose() {
		t.Logf("assignment callbacks:\n%s", strings.Join(o.log, "\n"))
	}
	p.done("ownership")
}

// checkAssigned checks that each of members reported an assignment that
// held a partition: a client whose callbacks never reached the tracker
// would leave check nothing to find fault with.
func (o *ownership) checkAssigned(t testing.TB, members ...string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	held := map[string]bool{}
	for _, s := range o.spans {
		held[s.member] = true
	}
	for m, ps := range o.open {
		if len(ps) > 0 {
			held[m] = true
		}
	}
	for _, m := range members {
		if !held[m] {
			t.Errorf("ownership: %s reported no assignment holding a partition; want every member's assignments tracked", m)
		}
	}
}

// checkGroupEmpty checks, once every member has closed, that the group is
// Empty with no members: each client's LeaveGroup removed its member at
// once, without waiting for the session timeout. DescribeGroups and
// ListGroups must agree.
func checkGroupEmpty(t *testing.T, what string, b *broker, group string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), groupSessionTimeout/2)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("%s: DescribeGroups %s: %v", what, group, err)
	}
	d := described[group]
	if d.Err != nil || d.State != "Empty" || len(d.Members) != 0 || d.ProtocolType != "consumer" {
		var ids []string
		for _, m := range d.Members {
			ids = append(ids, m.MemberID+" ("+m.ClientID+")")
		}
		t.Errorf("%s: DescribeGroups %s: got state %q, protocol type %q, error %v, members %q; want Empty, consumer, no error, no members",
			what, group, d.State, d.ProtocolType, d.Err, ids)
	}
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("%s: ListGroups: %v", what, err)
	}
	if l, ok := listed[group]; !ok || l.State != "Empty" || l.ProtocolType != "consumer" {
		t.Errorf("%s: ListGroups: got %+v (listed %v); want %s Empty, protocol type consumer", what, l, ok, group)
	}
}

// TestGroupCheckersCatchFaults is the canary for checkConsumed and
// ownership.check: each planted fault must be reported, and the clean
// cases must not be.
func TestGroupCheckersCatchFaults(t *testing.T) {
	const tag = "canary"
	rec := func(p int32, o int64, seq int) seen {
		return seen{partition: p, offset: o, value: []byte(seqValue(tag, seq))}
	}
	acked := map[int]pos{0: {0, 0}, 1: {1, 0}, 2: {0, 1}, 3: {1, 1}}
	ends := map[int32]int64{0: 2, 1: 2}
	clean := []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 2), rec(1, 1, 3)}
	consumedCases := []struct {
		name string
		log  []seen
		from map[int32]int64
		want string // a fragment of the expected report; empty: no report
	}{
		{"clean", clean, nil, ""},
		{"clean with a duplicate", append(append([]seen{}, clean...), rec(0, 1, 2)), nil, ""},
		{"clean from committed offsets", []seen{rec(0, 1, 2), rec(1, 1, 3)}, map[int32]int64{0: 1, 1: 1}, ""},
		{"skipped record", []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 2)}, nil, "partition 1 offset 1: never consumed"},
		{"started before the committed offset", clean, map[int32]int64{0: 1, 1: 1}, "want only offsets in [1, 2)"},
		{"past the end", append(append([]seen{}, clean...), rec(1, 2, 4)), nil, "want only offsets in [0, 2)"},
		{"wrong value", []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 3), rec(1, 1, 3)}, nil, "want \"canary 000000002\""},
	}
	for _, tt := range consumedCases {
		t.Run("consumed/"+tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkConsumed(r, tt.name, tt.log, tag, acked, tt.from, ends)
			expectReport(t, r, tt.want)
		})
	}

	ownershipCases := []struct {
		name string
		run  func(o *ownership)
		want string
	}{
		{"clean handover", func(o *ownership) {
			o.assigned("a", []int32{0})
			o.polled("a", 0, 0, time.Now())
			o.ended("a", []int32{0}, "revoked")
			o.assigned("b", []int32{0})
			o.ended("b", []int32{0}, "revoked")
		}, ""},
		{"two owners at once", func(o *ownership) {
			o.assigned("a", []int32{0})
			time.Sleep(time.Millisecond) // distinct instants
			o.assigned("b", []int32{0})
			time.Sleep(time.Millisecond)
			o.ended("a", []int32{0}, "revoked")
			o.ended("b", []int32{0}, "revoked")
		}, "want one owner at a time"},
		{"polled without owning", func(o *ownership) {
			o.assigned("a", []int32{0})
			o.ended("a", []int32{0}, "revoked")
			o.polled("a", 0, 7, time.Now())
		}, "a polled partition 0 offset 7"},
		{"lost", func(o *ownership) {
			o.assigned("a", []int32{0})
			o.ended("a", []int32{0}, "lost")
		}, "were lost"},
		{"never revoked", func(o *ownership) { o.assigned("a", []int32{0}) }, "still owns 1 partitions"},
		{"delivered from a buffer after the revoke", func(o *ownership) {
			o.assigned("a", []int32{0, 1})
			o.ended("a", []int32{0, 1}, "revoked")
			o.delivered("a", 0, 3, time.Now())
			o.assigned("b", []int32{0})
			o.endAll("b", "revoked", time.Now())
		}, ""},
		{"delivered after a later assignment without the partition", func(o *ownership) {
			o.assigned("a", []int32{0, 1})
			o.ended("a", []int32{0, 1}, "revoked")
			o.assigned("a", []int32{1})
			o.delivered("a", 0, 3, time.Now())
			o.endAll("a", "revoked", time.Now())
		}, "a handed over partition 0 offset 3"},
		{"delivered before any assignment", func(o *ownership) {
			o.delivered("a", 0, 3, time.Now())
		}, "a handed over partition 0 offset 3"},
		{"two owners at once, stamped by another process", func(o *ownership) {
			at := o.start.Add(time.Second)
			o.assignedAt("a", []int32{0}, at)
			o.assignedAt("b", []int32{0}, at.Add(time.Millisecond))
			o.endedAt("a", []int32{0}, "revoked", at.Add(2*time.Millisecond))
			o.endAll("b", "exited", at.Add(3*time.Millisecond))
		}, "want one owner at a time"},
	}
	for _, tt := range ownershipCases {
		t.Run("ownership/"+tt.name, func(t *testing.T) {
			o := newOwnership()
			tt.run(o)
			r := &errorRecorder{TB: t}
			o.check(r)
			expectReport(t, r, tt.want)
		})
	}
}

// TestResumeCheckersCatchFaults is the canary for checkResumed and
// checkNotBehind, the checks that a group resumed from the offsets it
// committed before its broker was killed.
func TestResumeCheckersCatchFaults(t *testing.T) {
	committed := map[int32]int64{0: 5, 1: 7}
	rec := func(p int32, o int64) seen { return seen{partition: p, offset: o} }
	resumedCases := []struct {
		name  string
		after []seen
		want  string
	}{
		{"clean", []seen{rec(0, 5), rec(1, 7), rec(0, 6), rec(2, 0)}, ""},
		{"re-read below the committed offset", []seen{rec(0, 5), rec(1, 6)}, "partition 1 offset 6 consumed again"},
	}
	for _, tt := range resumedCases {
		t.Run("resumed/"+tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkResumed(r, tt.name, tt.after, committed)
			expectReport(t, r, tt.want)
		})
	}
	behindCases := []struct {
		name  string
		later map[int32]int64
		want  string
	}{
		{"clean", map[int32]int64{0: 5, 1: 9}, ""},
		{"went backwards", map[int32]int64{0: 4, 1: 9}, "partition 0: committed offset 4"},
		{"vanished", map[int32]int64{0: 5}, "partition 1: committed offset 0 (present false)"},
	}
	for _, tt := range behindCases {
		t.Run("not behind/"+tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkNotBehind(r, tt.name, committed, tt.later)
			expectReport(t, r, tt.want)
		})
	}
	t.Run("monoTime", func(t *testing.T) {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(monoTime(ts.Nano())); d < 0 || d > time.Second {
			t.Errorf("monoTime(now) is %v before time.Now; want between 0 and 1s", d)
		}
	})
}

func expectReport(t *testing.T, r *errorRecorder, want string) {
	t.Helper()
	report := strings.Join(r.errs, "\n")
	switch {
	case want == "" && report != "":
		t.Errorf("on a clean case: got report %q; want none", report)
	case want != "" && !strings.Contains(report, want):
		t.Errorf("got report %q; want one containing %q", report, want)
	}
}

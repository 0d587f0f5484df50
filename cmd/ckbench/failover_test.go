package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMedianDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", []time.Duration{3 * time.Second}, 3 * time.Second},
		{"odd count takes the middle", []time.Duration{19 * time.Second, 18 * time.Second, 25 * time.Second}, 19 * time.Second},
		{"even count averages the middle two", []time.Duration{4, 1, 2, 5}, 3},
	} {
		in := slices.Clone(tc.ds)
		if got := median(tc.ds); got != tc.want {
			t.Errorf("%s: median(%v) = %v; want %v", tc.name, tc.ds, got, tc.want)
		}
		if !slices.Equal(in, tc.ds) {
			t.Errorf("%s: medianDuration reordered its argument: got %v; want %v", tc.name, tc.ds, in)
		}
	}
}

func TestFailoverSummary(t *testing.T) {
	rounds := []failoverRound{{recovery: 20 * time.Second}, {recovery: 18 * time.Second}, {recovery: 19800 * time.Millisecond}}
	median, ratio := failoverSummary(rounds, 18*time.Second)
	if median != 19800*time.Millisecond || ratio != 1.1 {
		t.Errorf("failoverSummary = %v, %v; want 19.8s, 1.1", median, ratio)
	}
}

func TestLastFirstAck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	acks := map[int32]time.Time{0: t0.Add(3 * time.Second), 3: t0.Add(time.Second), 4: t0.Add(5 * time.Second)}
	for _, tc := range []struct {
		name   string
		ps     []int32
		want   time.Time
		wantOK bool
	}{
		{"no partitions", nil, time.Time{}, true},
		{"one", []int32{3}, t0.Add(time.Second), true},
		{"the latest of several", []int32{0, 3, 4}, t0.Add(5 * time.Second), true},
		{"one not acknowledged", []int32{0, 1}, time.Time{}, false},
	} {
		got, ok := lastFirstAck(acks, tc.ps)
		if !got.Equal(tc.want) || ok != tc.wantOK {
			t.Errorf("%s: lastFirstAck(%v) = %v, %v; want %v, %v", tc.name, tc.ps, got, ok, tc.want, tc.wantOK)
		}
	}
	all := allPartitions(6)
	if got, want := partitionList(ackedOf(acks, all)), "0,3,4"; got != want {
		t.Errorf("ackedOf = %s; want %s", got, want)
	}
	if got, want := partitionList(missingOf(acks, all)), "1,2,5"; got != want {
		t.Errorf("missingOf = %s; want %s", got, want)
	}
	if got, want := partitionList(nil), "none"; got != want {
		t.Errorf("partitionList(nil) = %s; want %s", got, want)
	}
}

func TestLeadersOf(t *testing.T) {
	md := func(errCode int16, leaders ...int32) *kmsg.MetadataResponse {
		resp := kmsg.NewPtrMetadataResponse()
		tp := kmsg.NewMetadataResponseTopic()
		tp.ErrorCode = errCode
		for p, l := range leaders {
			mp := kmsg.NewMetadataResponseTopicPartition()
			mp.Partition, mp.Leader = int32(p), l
			tp.Partitions = append(tp.Partitions, mp)
		}
		resp.Topics = append(resp.Topics, tp)
		return resp
	}
	for _, tc := range []struct {
		name    string
		resp    *kmsg.MetadataResponse
		wantErr string // "" for none
		wantLed string // partitions led by broker 2
	}{
		{"no topics", kmsg.NewPtrMetadataResponse(), "0 topics", ""},
		{"unknown topic", md(3), "UNKNOWN_TOPIC_OR_PARTITION", ""},
		{"a partition missing", md(0, 1, 2, 3), "partition 3 missing", ""},
		{"a partition without a leader", md(0, 1, 2, -1, 1), "partition 2 has no leader", ""},
		{"leaders", md(0, 2, 3, 1, 2), "", "0,3"},
		{"broker 2 leads none", md(0, 1, 3, 1, 3), "", "none"},
	} {
		leaders, err := leadersOf(tc.resp, 4)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: leadersOf: got error %v; want none", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: leadersOf: got error %v; want one saying %q", tc.name, err, tc.wantErr)
		case err == nil:
			if got := partitionList(ledBy(leaders, 2)); got != tc.wantLed {
				t.Errorf("%s: ledBy(2) = %s; want %s", tc.name, got, tc.wantLed)
			}
		}
	}
}

func TestAckClock(t *testing.T) {
	a := &ackClock{firstAck: map[int32]time.Time{}}
	mark := time.Now()
	a.setMark(mark)
	a.acked(0, mark.Add(-time.Millisecond), nil) // produced before the mark
	a.acked(1, mark.Add(time.Millisecond), nil)
	first := a.firstAcks()[1]
	a.acked(1, mark.Add(2*time.Millisecond), nil) // a later one keeps the first
	acks := a.firstAcks()
	if _, ok := acks[0]; ok || len(acks) != 1 || !acks[1].Equal(first) {
		t.Errorf("firstAcks = %v; want only partition 1, at its first acknowledgement %v", acks, first)
	}
	if err := a.failure(); err != nil {
		t.Errorf("failure() = %v; want nil", err)
	}
	boom := errors.New("boom")
	a.acked(2, mark.Add(time.Millisecond), boom)
	a.acked(3, mark.Add(time.Millisecond), errors.New("later"))
	err := a.failure()
	if err == nil || !errors.Is(err, boom) || !strings.Contains(err.Error(), "2 records fail") || !strings.Contains(err.Error(), "partition 2") {
		t.Errorf("failure() = %v; want 2 records failed, the first partition 2's boom", err)
	}
	a.closing = true
	a.acked(4, mark.Add(time.Millisecond), errors.New("closed"))
	if got := a.failed; got != 2 {
		t.Errorf("failed = %d after a failure while closing; want 2", got)
	}
	a.setMark(mark.Add(time.Second))
	if got := a.firstAcks(); len(got) != 0 {
		t.Errorf("firstAcks after setMark = %v; want none", got)
	}
}

func TestWaitForGivesUpWithItsReason(t *testing.T) {
	if err := waitFor(context.Background(), time.Minute, func() (bool, string) { return true, "" }); err != nil {
		t.Errorf("waitFor(true) = %v; want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := waitFor(ctx, time.Minute, func() (bool, string) { return false, "partition 3 silent" })
	if err == nil || !strings.Contains(err.Error(), "partition 3 silent") {
		t.Errorf("waitFor(false) = %v; want an error saying partition 3 silent", err)
	}
}

func TestParseFailoverFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.runs(suiteFailover) || o.failoverRounds != 5 || o.failoverSessionMs != 18000 || o.failoverSession() != 18*time.Second {
		t.Errorf("defaults: suites %v, rounds %d, session %d ms; want failover among the suites, 5, 18000",
			o.suites, o.failoverRounds, o.failoverSessionMs)
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-suites", "failover", "-failover-rounds", "1", "-failover-session-ms", "6000"}, true},
		{[]string{"-failover-session-ms", "4000"}, true},
		{[]string{"-failover-session-ms", "40000"}, true},
		{[]string{"-failover-session-ms", "3999"}, false},
		{[]string{"-failover-session-ms", "40001"}, false},
		{[]string{"-failover-rounds", "0"}, false},
		{[]string{"-failover-rounds", "101"}, false},
	} {
		if _, err := parseFlags(tc.args); (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err = %v; want ok = %v", tc.args, err, tc.ok)
		}
	}
}

func TestPrintFailoverTable(t *testing.T) {
	var buf bytes.Buffer
	o := options{failoverSessionMs: 18000}
	printFailoverTable(&buf, nil, o)
	if buf.Len() != 0 {
		t.Errorf("no rounds: printed %q; want nothing", buf.String())
	}
	printFailoverTable(&buf, []failoverRound{
		{killed: 2, controller: true, led: []int32{0, 3}, recovery: 19 * time.Second, recoveryAll: 19 * time.Second, rejoin: time.Second},
		{killed: 1, led: []int32{0, 1, 4}, recovery: 21 * time.Second, recoveryAll: 21 * time.Second, rejoin: 2 * time.Second},
	}, o)
	out := buf.String()
	for _, want := range []string{"zookeeper.session.timeout.ms=18000", "0,1,4", "was controller", "  yes  ", "  no  ", "failover median 20s over 2 rounds",
		"median / zookeeper.session.timeout.ms (18s) = 1.111"} {
		if !strings.Contains(out, want) {
			t.Errorf("printFailoverTable: got\n%s\nwant it to contain %q", out, want)
		}
	}
}

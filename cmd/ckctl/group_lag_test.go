package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupLag: group lag shows, for each partition a group committed,
// the committed offset, the high watermark and their difference (never
// below 0), and each group's total, as a table and as JSON; an unknown
// group fails; --watch repeats it, one JSON line per refresh.
func TestGroupLag(t *testing.T) {
	b := groupBroker(t)
	mustCkctl(t, b, "", "topic", "create", "lagged", "-p", "3")
	const produced0, produced1 = 10, 4
	const committed0, committed1 = 3, 4
	produceKgo(t, b, "lagged", 0, produced0)
	produceKgo(t, b, "lagged", 1, produced1)
	// billing commits partitions 0 and 1, not 2; ahead commits beyond the
	// high watermark of partition 0, which lags by 0, not below.
	commitOffsets(t, b, "billing", map[string]map[int32]int64{"lagged": {0: committed0, 1: committed1}})
	commitOffsets(t, b, "ahead", map[string]map[int32]int64{"lagged": {0: produced0 + 5}})
	const lagTotal = produced0 - committed0 + produced1 - committed1

	out := mustCkctl(t, b, "", "group", "lag", "billing", "ahead")
	wantLines(t, "group lag billing ahead", out,
		[]string{"GROUP", "TOPIC", "PARTITION", "COMMITTED-OFFSET", "END-OFFSET", "LAG"},
		[]string{"billing", "lagged", "0", "3", "10", "7"},
		[]string{"billing", "lagged", "1", "4", "4", "0"},
		[]string{"billing", "(total)", "-", "-", "-", "7"},
		[]string{"ahead", "lagged", "0", "15", "10", "0"},
		[]string{"ahead", "(total)", "-", "-", "-", "0"})
	if hasLinePrefixFields(out, "billing", "lagged", "2") {
		t.Errorf("group lag billing: got\n%s\nwant no row for partition 2, which billing never committed", out)
	}

	var groups []struct {
		Group      string `json:"group"`
		TotalLag   int64  `json:"totalLag"`
		Partitions []struct {
			Topic           string `json:"topic"`
			Partition       int32  `json:"partition"`
			CommittedOffset int64  `json:"committedOffset"`
			EndOffset       *int64 `json:"endOffset"`
			Lag             *int64 `json:"lag"`
		} `json:"partitions"`
	}
	out = mustCkctl(t, b, "", "group", "lag", "billing", "ahead", "-o", "json")
	if err := json.Unmarshal([]byte(out), &groups); err != nil {
		t.Fatalf("group lag -o json: %v in %q", err, out)
	}
	if len(groups) != 2 || groups[0].Group != "billing" || groups[1].Group != "ahead" {
		t.Fatalf("group lag billing ahead -o json: got %q; want billing then ahead", out)
	}
	if g := groups[0]; g.TotalLag != lagTotal || len(g.Partitions) != 2 {
		t.Errorf("billing: got total lag %d over %d partitions; want %d over 2 (%s)", g.TotalLag, len(g.Partitions), lagTotal, out)
	}
	for i, want := range []struct{ committed, end, lag int64 }{{committed0, produced0, produced0 - committed0}, {committed1, produced1, 0}} {
		p := groups[0].Partitions[i]
		if p.Topic != "lagged" || p.Partition != int32(i) || p.CommittedOffset != want.committed ||
			p.EndOffset == nil || *p.EndOffset != want.end || p.Lag == nil || *p.Lag != want.lag {
			t.Errorf("billing partition %d: got %+v; want committed %d, end %d, lag %d", i, p, want.committed, want.end, want.lag)
		}
	}
	if g := groups[1]; g.TotalLag != 0 || len(g.Partitions) != 1 || *g.Partitions[0].Lag != 0 {
		t.Errorf("ahead: got %+v; want one partition with lag 0 (committed beyond the high watermark)", g)
	}

	code, _, errOut := ckctl(t, b, "", "group", "lag", "billing", "nope")
	if code != 1 || !strings.Contains(errOut, "no such group: nope") {
		t.Errorf("group lag with an unknown group: got exit %d, stderr %q; want 1 and \"no such group: nope\"", code, errOut)
	}

	out = mustCkctl(t, b, "", "group", "lag", "billing", "--watch", "--count", "2", "--interval", "100ms", "-o", "json")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("group lag --watch --count 2 -o json: got %d lines %q; want 2", len(lines), out)
	}
	for i, line := range lines {
		var refresh struct {
			Time   string `json:"time"`
			Groups []struct {
				Group    string `json:"group"`
				TotalLag int64  `json:"totalLag"`
			} `json:"groups"`
		}
		if err := json.Unmarshal([]byte(line), &refresh); err != nil {
			t.Fatalf("--watch line %d: %v in %q", i, err, line)
		}
		if _, err := time.Parse(time.RFC3339, refresh.Time); err != nil {
			t.Errorf("--watch line %d: time %q: %v", i, refresh.Time, err)
		}
		if len(refresh.Groups) != 1 || refresh.Groups[0].Group != "billing" || refresh.Groups[0].TotalLag != lagTotal {
			t.Errorf("--watch line %d: got %q; want billing with total lag %d", i, line, lagTotal)
		}
	}

	out = mustCkctl(t, b, "", "group", "lag", "billing", "--watch", "--count", "2", "--interval", "100ms")
	if n := strings.Count(out, "(total)"); n != 2 {
		t.Errorf("group lag --watch --count 2: got %d tables in\n%s\nwant 2", n, out)
	}
	stamps := 0
	for _, line := range strings.Split(out, "\n") {
		if _, err := time.Parse(time.RFC3339, line); err == nil {
			stamps++
		}
	}
	if stamps != 2 {
		t.Errorf("group lag --watch --count 2: got %d timestamp lines in\n%s\nwant 2", stamps, out)
	}

	for _, args := range [][]string{
		{"group", "lag"},
		{"group", "lag", "billing", "--count", "2"},
		{"group", "lag", "billing", "--watch", "--interval", "0s"},
		{"group", "lag", "billing", "-o", "yaml"},
	} {
		if code, _, errOut := ckctl(t, b, "", args...); code != 2 {
			t.Errorf("ckctl %q: got exit %d, stderr %q; want 2", args, code, head(errOut))
		}
	}
}

// TestGroupLagWatchInterrupted: --watch without --count refreshes until
// its context ends (as SIGINT ends main's), then exits 0.
func TestGroupLagWatchInterrupted(t *testing.T) {
	b := groupBroker(t)
	mustCkctl(t, b, "", "topic", "create", "watched", "-p", "1")
	produceKgo(t, b, "watched", 0, 3)
	commitOffsets(t, b, "reader", map[string]map[int32]int64{"watched": {0: 1}})
	const watchFor = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), watchFor)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"-b", b, "group", "lag", "reader", "--watch", "--interval", "100ms", "-o", "json"}
	if code := run(ctx, args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("group lag --watch until the context ends: exit %d; want 0; stderr %q", code, errOut.String())
	}
	if n := strings.Count(out.String(), "\n"); n < 2 {
		t.Errorf("group lag --watch for %v every 100ms: got %d lines %q; want at least 2", watchFor, n, out.String())
	}
	if !strings.Contains(out.String(), `"totalLag":2`) {
		t.Errorf("group lag --watch: got %q; want lines with \"totalLag\":2", out.String())
	}
}

// produceKgo appends n records to one partition with a franz-go producer.
func produceKgo(t *testing.T, b, topic string, partition int32, n int) {
	t.Helper()
	cl := testClient(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := bounded(t, 15*time.Second)
	for i := 0; i < n; i++ {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(fmt.Sprint(i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("producing record %d of %d to %s partition %d: %v", i, n, topic, partition, err)
		}
	}
}

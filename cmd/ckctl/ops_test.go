package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"cloudkafka/internal/zktest"
)

// eventually runs ckctl until ok accepts its output or 30 s pass, and
// returns the last output.
func eventually(t *testing.T, b string, ok func(code int, out string) bool, args ...string) string {
	t.Helper()
	var out string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, o, errOut := ckctl(t, b, "", args...)
		out = o + errOut
		if ok(code, o) || time.Now().After(deadline) {
			return out
		}
	}
}

// waitRegistered runs `ckctl cluster` against b until it lists every
// broker of addrs (broker ids 1 and on, in order) at its address, and
// fails the test if that takes 30 s. A broker accepts TCP connections
// before it has registered: its start alone does not put it in the
// cluster.
func waitRegistered(t *testing.T, b string, addrs []string) {
	t.Helper()
	listed := func(out string) bool {
		for i, addr := range addrs {
			host, port, _ := strings.Cut(addr, ":")
			id := fmt.Sprint(i + 1)
			if !hasLinePrefixFields(out, id, host, port) && !hasLinePrefixFields(out, id+"*", host, port) {
				return false
			}
		}
		return true
	}
	if out := eventually(t, b, func(code int, out string) bool { return code == 0 && listed(out) }, "cluster"); !listed(out) {
		t.Fatalf("ckctl cluster: got %q; want the %d brokers at %v registered", out, len(addrs), addrs)
	}
}

// TestOperationsCommands: against three brokers of one ensemble, `topic
// reassign` moves a partition (and `--list` shows it until it is done),
// refuses an unknown broker and a cancel with nothing under way;
// `elect-leaders` reports each partition; `log-dirs` shows the replicas'
// sizes; once a broker dies, `topic describe` marks the partitions it
// held as under-replicated and `--under-replicated` shows only those.
func TestOperationsCommands(t *testing.T) {
	zk := zktest.Start(t)
	addrs := make([]string, 3)
	stops := make([]func(), 3)
	for i := range addrs {
		addrs[i], stops[i] = startBrokerStoppable(t, "zookeeper.connect="+zk.Addr, fmt.Sprintf("broker.id=%d", i+1))
	}
	b := addrs[0]
	waitRegistered(t, b, addrs)
	mustCkctl(t, b, "", "topic", "create", "moves", "-p", "2", "-r", "2")
	out := eventually(t, b, func(code int, out string) bool {
		return code == 0 && strings.Count(out, " no ") >= 2 // both partitions led, ISR full
	}, "topic", "describe", "moves")
	if !strings.Contains(out, "UNDER-REPLICATED") {
		t.Fatalf("describe output: got %q; want an UNDER-REPLICATED column", out)
	}

	out = mustCkctl(t, b, "", "topic", "reassign", "moves", "0", "3,2")
	if !strings.Contains(out, "moves-0: reassignment started") {
		t.Errorf("reassign output: got %q; want \"moves-0: reassignment started\"", out)
	}
	out = eventually(t, b, func(code int, out string) bool {
		return code == 0 && strings.Count(out, "\n") == 1
	}, "topic", "reassign", "--list")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "ADDING") {
		t.Errorf("reassign --list after the move: got %q; want the header alone", out)
	}
	// the preferred replica, 3, leads (it may already: the move elects
	// a leader only when the old one goes)
	out = mustCkctl(t, b, "", "elect-leaders", "moves", "0")
	if !strings.Contains(out, "moves-0: elected") && !strings.Contains(out, "moves-0: no election needed") {
		t.Errorf("elect-leaders moves 0: got %q; want elected or no election needed", out)
	}
	moved := func(out string) bool {
		return hasLinePrefixFields(out, "0", "3") && (strings.Contains(out, "[3 2]     [2 3]  no") || strings.Contains(out, "[3 2]     [3 2]  no"))
	}
	out = eventually(t, b, func(code int, out string) bool { return code == 0 && moved(out) }, "topic", "describe", "moves")
	if !moved(out) {
		t.Errorf("describe after the move: got %q; want partition 0 on [3 2], in sync, led by 3", out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"topic", "reassign", "moves", "1", "9"}, 1, "INVALID_REPLICA_ASSIGNMENT"},
		{[]string{"topic", "reassign", "--cancel", "moves", "1"}, 1, "NO_REASSIGNMENT_IN_PROGRESS"},
		{[]string{"topic", "reassign", "moves", "1"}, 2, "usage"},
		{[]string{"elect-leaders", "--type", "sideways"}, 2, "usage"},
		{[]string{"elect-leaders", "nope", "0"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
	} {
		code, o, e := ckctl(t, b, "", tc.args...)
		if code != tc.code || !strings.Contains(o+e, tc.want) {
			t.Errorf("ckctl %q: exit %d, output %q %q; want exit %d mentioning %s", tc.args, code, o, e, tc.code, tc.want)
		}
	}
	out = mustCkctl(t, b, "", "elect-leaders", "--type", "preferred", "moves")
	for p := 0; p < 2; p++ {
		if !strings.Contains(out, fmt.Sprintf("moves-%d: ", p)) {
			t.Errorf("elect-leaders output: got %q; want a line for moves-%d", out, p)
		}
	}
	out = mustCkctl(t, b, "", "log-dirs", "moves")
	for _, broker := range []string{"3", "2"} {
		if !hasLinePrefixFields(out, broker) || !strings.Contains(out, "moves") {
			t.Errorf("log-dirs output: got %q; want broker %s's replica of moves-0", out, broker)
		}
	}

	stops[1]() // broker 2 dies: its partitions' ISR shrinks to the others
	out = eventually(t, b, func(code int, out string) bool { return code == 0 && strings.Contains(out, " yes ") },
		"topic", "describe", "moves")
	if !strings.Contains(out, " yes ") {
		t.Errorf("describe once broker 2 died: got %q; want under-replicated partitions marked yes", out)
	}
	out = mustCkctl(t, b, "", "topic", "describe", "--under-replicated")
	if !hasLinePrefixFields(out, "moves") {
		t.Errorf("describe --under-replicated: got %q; want the partitions of moves broker 2 held", out)
	}
}

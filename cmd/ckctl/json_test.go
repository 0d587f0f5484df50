package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Tests of -o json: every listing and describing command prints one
// JSON document with the documented field names and the broker's values,
// an empty list as [], and refuses a format other than text or json with
// a usage error.

// mustJSON runs ckctl with args and -o json and decodes its output, which
// must be exactly one JSON document, into a generic value.
func mustJSON(t *testing.T, b string, args ...string) any {
	t.Helper()
	out := mustCkctl(t, b, "", append(args, "-o", "json")...)
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("ckctl %q -o json: %v; output %q", args, err, out)
	}
	return v
}

// jget walks v by object keys (string) and array indexes (int) and
// fails the test when a step is missing.
func jget(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("JSON path %v: step %d: got %T; want an object with %q", path, i, v, s)
			}
			if v, ok = m[s]; !ok {
				t.Fatalf("JSON path %v: step %d: object %v has no field %q", path, i, m, s)
			}
		case int:
			a, ok := v.([]any)
			if !ok || s >= len(a) {
				t.Fatalf("JSON path %v: step %d: got %v; want an array with element %d", path, i, v, s)
			}
			v = a[s]
		}
	}
	return v
}

// jarray is jget of an array.
func jarray(t *testing.T, v any, path ...any) []any {
	t.Helper()
	a, ok := jget(t, v, path...).([]any)
	if !ok {
		t.Fatalf("JSON path %v: got %v; want an array", path, jget(t, v, path...))
	}
	return a
}

// jfind is the element of the array at path whose field key equals want.
func jfind(t *testing.T, v any, key string, want any, path ...any) any {
	t.Helper()
	for _, el := range jarray(t, v, path...) {
		if m, ok := el.(map[string]any); ok && fmt.Sprint(m[key]) == fmt.Sprint(want) {
			return el
		}
	}
	t.Fatalf("JSON path %v: got %v; want an element with %s = %v", path, jget(t, v, path...), key, want)
	return nil
}

// jeq checks the value at path, compared as printed (JSON numbers decode
// as float64).
func jeq(t *testing.T, v any, want any, path ...any) {
	t.Helper()
	if got := jget(t, v, path...); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("JSON path %v: got %v; want %v", path, got, want)
	}
}

// TestJSONOutput runs every listing and describing command with -o json
// against one broker with an authorizer (ckctl is the super user
// ANONYMOUS) and checks what it created appears with its values.
func TestJSONOutput(t *testing.T) {
	b := startBroker(t, aclAuthorizer, "super.users=User:ANONYMOUS", "group.initial.rebalance.delay.ms=0")
	_, port, _ := strings.Cut(b, ":")

	cluster := mustJSON(t, b, "cluster")
	if n := len(jarray(t, cluster, "brokers")); n != 1 {
		t.Errorf("cluster -o json: got %d brokers %v; want 1", n, cluster)
	}
	jeq(t, cluster, port, "brokers", 0, "port")
	jeq(t, cluster, true, "brokers", 0, "controller")
	jeq(t, cluster, jget(t, cluster, "brokers", 0, "nodeId"), "controller")
	jeq(t, cluster, nil, "brokers", 0, "rack")

	mustCkctl(t, b, "", "topic", "create", "orders", "-p", "3", "-c", "retention.ms=60000")
	mustCkctl(t, b, "", "topic", "create", "audit", "-p", "1")
	topics := mustJSON(t, b, "topic", "list")
	if n := len(jarray(t, topics)); n != 2 {
		t.Errorf("topic list -o json: got %d topics %v; want 2", n, topics)
	}
	jeq(t, topics, "audit", 0, "name") // sorted, as the table
	jeq(t, topics, "orders", 1, "name")
	jeq(t, topics, 3, 1, "partitionCount")
	jeq(t, topics, 1, 1, "replicationFactor")

	produceN(t, b, "orders", 1, 5, "json")
	topic := mustJSON(t, b, "topic", "describe", "orders")
	jeq(t, topic, "orders", "name")
	jeq(t, topic, 3, "partitionCount")
	jeq(t, topic, false, "internal")
	for p := 0; p < 3; p++ {
		jeq(t, topic, p, "partitions", p, "partition")
		jeq(t, topic, "[0]", "partitions", p, "replicas")
		jeq(t, topic, "[0]", "partitions", p, "isr")
		jeq(t, topic, false, "partitions", p, "underReplicated")
		jeq(t, topic, 0, "partitions", p, "logStartOffset")
	}
	jeq(t, topic, 5, "partitions", 1, "highWatermark")
	jeq(t, topic, 0, "partitions", 2, "highWatermark")
	retention := jfind(t, topic, "name", "retention.ms", "configs")
	jeq(t, retention, "60000", "value")
	jeq(t, retention, "DYNAMIC_TOPIC_CONFIG", "source")

	// Empty lists are [], not null.
	for _, args := range [][]string{
		{"topic", "describe", "--under-replicated"},
		{"topic", "reassign", "--list"},
		{"group", "list"},
		{"user", "list"},
		{"acl", "list"},
		{"quota", "describe"},
	} {
		if out := mustCkctl(t, b, "", append(args, "-o", "json")...); strings.TrimSpace(out) != "[]" {
			t.Errorf("ckctl %q -o json with nothing to list: got %q; want []", args, out)
		}
	}

	dirs := mustJSON(t, b, "log-dirs", "orders")
	if n := len(jarray(t, dirs)); n != 1 {
		t.Errorf("log-dirs orders -o json: got %d directories %v; want 1", n, dirs)
	}
	if len(jarray(t, dirs, 0, "partitions")) != 3 {
		t.Errorf("log-dirs orders -o json: got %v; want the 3 partitions of orders", dirs)
	}
	jeq(t, dirs, "orders", 0, "partitions", 1, "topic")
	jeq(t, dirs, 1, 0, "partitions", 1, "partition")
	if size, _ := jget(t, dirs, 0, "partitions", 1, "sizeBytes").(float64); size <= 0 {
		t.Errorf("log-dirs orders -o json: partition 1 holds 5 records; got sizeBytes %v", size)
	}

	commitOffsets(t, b, "billing", map[string]map[int32]int64{"orders": {1: 2}})
	groups := mustJSON(t, b, "group", "list")
	jeq(t, jfind(t, groups, "group", "billing"), "Empty", "state")
	jeq(t, jfind(t, groups, "group", "billing"), "", "protocolType")
	group := mustJSON(t, b, "group", "describe", "billing")
	jeq(t, group, "billing", 0, "group")
	jeq(t, group, "Empty", 0, "state")
	jeq(t, group, "[]", 0, "members")
	jeq(t, group, 3, 0, "totalLag") // 5 produced, 2 committed; the others are empty
	part := jfind(t, group, "partition", 1, 0, "partitions")
	jeq(t, part, 2, "committedOffset")
	jeq(t, part, 5, "endOffset")
	jeq(t, part, 3, "lag")
	jeq(t, part, nil, "memberId")

	mustCkctl(t, b, "", "user", "create", "alice", "--password", "secret", "--iterations", "8192")
	users := mustJSON(t, b, "user", "list")
	jeq(t, users, "alice", 0, "user")
	jeq(t, users, "SCRAM-SHA-256", 0, "credentials", 0, "mechanism")
	jeq(t, users, 8192, 0, "credentials", 0, "iterations")

	mustCkctl(t, b, "", "acl", "create", "--allow-principal", "alice", "--operation", "read", "--topic", "orders")
	mustCkctl(t, b, "", "acl", "create", "--deny-principal", "bob", "--deny-host", "10.0.0.1", "--operation", "write", "--group", "billing")
	acls := mustJSON(t, b, "acl", "list")
	want := []string{
		"map[host:* operation:READ patternType:LITERAL permission:ALLOW principal:User:alice resourceName:orders resourceType:TOPIC]",
		"map[host:10.0.0.1 operation:WRITE patternType:LITERAL permission:DENY principal:User:bob resourceName:billing resourceType:GROUP]",
	}
	if got := jarray(t, acls); len(got) != 2 || fmt.Sprint(got[0]) != want[0] || fmt.Sprint(got[1]) != want[1] {
		t.Errorf("acl list -o json: got %v; want %v", got, want)
	}

	mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--default-client-id", "--add", "producer_byte_rate=1048576")
	quotas := mustJSON(t, b, "quota", "describe")
	jeq(t, quotas, "user=alice,client-id=<default>", 0, "name")
	jeq(t, quotas, "map[name:alice type:user]", 0, "entity", 0)
	jeq(t, quotas, "map[name:<nil> type:client-id]", 0, "entity", 1)
	jeq(t, quotas, "[map[key:producer_byte_rate value:1.048576e+06]]", 0, "quotas")

	config := mustJSON(t, b, "config", "get", "--topic", "orders", "retention.ms")
	jeq(t, config, "[map[name:retention.ms source:DYNAMIC_TOPIC_CONFIG value:60000]]")
}

// TestOutputFlagUsage: -o takes text or json on every listing and
// describing command; anything else is a usage error (exit 2), before
// any request. The broker address is never dialled.
func TestOutputFlagUsage(t *testing.T) {
	const nowhere = "127.0.0.1:1"
	for _, args := range [][]string{
		{"cluster"},
		{"topic", "list"},
		{"topic", "describe", "orders"},
		{"topic", "describe", "--under-replicated"},
		{"topic", "reassign", "--list"},
		{"log-dirs"},
		{"group", "list"},
		{"group", "describe", "g"},
		{"group", "lag", "g"},
		{"user", "list"},
		{"acl", "list"},
		{"quota", "describe"},
		{"config", "get", "--cluster"},
	} {
		code, out, errOut := ckctl(t, nowhere, "", append(args, "-o", "yaml")...)
		if code != 2 || out != "" || !strings.Contains(errOut, "want text or json") {
			t.Errorf("ckctl %q -o yaml: got exit %d, stdout %q, stderr %q; want exit 2 and \"want text or json\"", args, code, out, head(errOut))
		}
	}
	code, _, errOut := ckctl(t, nowhere, "", "topic", "reassign", "t", "0", "1", "-o", "json")
	if code != 2 || !strings.Contains(errOut, "is for --list") {
		t.Errorf("topic reassign without --list -o json: got exit %d, stderr %q; want exit 2", code, head(errOut))
	}
}

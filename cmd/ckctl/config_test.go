package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// configValue runs config get for one name as JSON and returns its value
// and source.
func configValue(t *testing.T, b string, target []string, name string) (string, string) {
	t.Helper()
	out := mustCkctl(t, b, "", append(append([]string{"config", "get"}, target...), name, "-o", "json")...)
	var rows []configRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("config get %v %s -o json: %v in %q", target, name, err, out)
	}
	if len(rows) != 1 || rows[0].Name != name || rows[0].Value == nil {
		t.Fatalf("config get %v %s -o json: got %q; want that one config with a value", target, name, out)
	}
	return *rows[0].Value, rows[0].Source
}

// TestConfigCommands: config set, delete and get on a topic, a broker and
// the cluster-wide defaults, through IncrementalAlterConfigs and
// DescribeConfigs; list appends and removals; --dry-run stores nothing;
// the broker's refusals exit 1 with its message, usage mistakes 2.
func TestConfigCommands(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "cfg", "-p", "1", "-r", "1")
	topic := []string{"--topic", "cfg"}

	out := mustCkctl(t, b, "", "config", "set", "--topic", "cfg", "retention.ms=60000", "segment.bytes=1048576")
	if want := "altered the configuration of topic cfg: set retention.ms=60000, segment.bytes=1048576"; strings.TrimSpace(out) != want {
		t.Errorf("config set: got %q; want %q", out, want)
	}
	if v, src := configValue(t, b, topic, "retention.ms"); v != "60000" || src != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("retention.ms: got %s from %s; want 60000 from DYNAMIC_TOPIC_CONFIG", v, src)
	}
	mustCkctl(t, b, "", "config", "set", "--topic", "cfg", "cleanup.policy+=compact")
	if v, _ := configValue(t, b, topic, "cleanup.policy"); v != "delete,compact" {
		t.Errorf("cleanup.policy after +=compact: got %s; want delete,compact", v)
	}
	mustCkctl(t, b, "", "config", "set", "--topic", "cfg", "cleanup.policy-=delete")
	if v, _ := configValue(t, b, topic, "cleanup.policy"); v != "compact" {
		t.Errorf("cleanup.policy after -=delete: got %s; want compact", v)
	}
	out = mustCkctl(t, b, "", "config", "set", "--topic", "cfg", "retention.ms=1000", "--dry-run")
	if !strings.Contains(out, "dry run") {
		t.Errorf("config set --dry-run: got %q; want it to say dry run", out)
	}
	if v, _ := configValue(t, b, topic, "retention.ms"); v != "60000" {
		t.Errorf("retention.ms after a dry run: got %s; want 60000", v)
	}
	mustCkctl(t, b, "", "config", "delete", "--topic", "cfg", "retention.ms")
	if v, src := configValue(t, b, topic, "retention.ms"); v != "604800000" || src != "DEFAULT_CONFIG" {
		t.Errorf("retention.ms deleted: got %s from %s; want 604800000 from DEFAULT_CONFIG", v, src)
	}

	// The cluster-wide default, then the broker's own value over it.
	mustCkctl(t, b, "", "config", "set", "--cluster", "log.retention.bytes=5000000")
	if v, src := configValue(t, b, topic, "retention.bytes"); v != "5000000" || src != "DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("cfg retention.bytes: got %s from %s; want 5000000 from DYNAMIC_DEFAULT_BROKER_CONFIG", v, src)
	}
	mustCkctl(t, b, "", "config", "set", "--broker", "0", "log.retention.bytes=6000000")
	if v, src := configValue(t, b, []string{"--broker", "0"}, "log.retention.bytes"); v != "6000000" || src != "DYNAMIC_BROKER_CONFIG" {
		t.Errorf("broker 0 log.retention.bytes: got %s from %s; want 6000000 from DYNAMIC_BROKER_CONFIG", v, src)
	}
	out = mustCkctl(t, b, "", "config", "get", "--broker", "0", "log.retention.bytes", "--synonyms")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"NAME VALUE SOURCE", "log.retention.bytes 6000000 DYNAMIC_BROKER_CONFIG",
		"log.retention.bytes 6000000 DYNAMIC_BROKER_CONFIG", "log.retention.bytes 5000000 DYNAMIC_DEFAULT_BROKER_CONFIG",
		"log.retention.bytes -1 DEFAULT_CONFIG"}
	for i := range lines {
		lines[i] = strings.Join(strings.Fields(lines[i]), " ")
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("config get --synonyms: got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	out = mustCkctl(t, b, "", "config", "get", "--cluster")
	if !strings.Contains(out, "log.retention.bytes") || strings.Contains(out, "log.segment.bytes") {
		t.Errorf("config get --cluster: got %q; want only the cluster-wide dynamic values", out)
	}

	for _, bad := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"config", "set", "--topic", "cfg", "no.such.config=1"}, 1, "INVALID_CONFIG"},
		{[]string{"config", "set", "--topic", "cfg", "retention.ms=soon"}, 1, "INVALID_CONFIG"},
		{[]string{"config", "set", "--broker", "0", "broker.id=4"}, 1, "Cannot update these configs dynamically"},
		{[]string{"config", "set", "--topic", "nope", "retention.ms=1"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"config", "get", "--topic", "cfg", "no.such.config"}, 1, "no config named"},
		{[]string{"config", "set", "--topic", "cfg", "retention.ms"}, 2, "not KEY=VALUE"},
		{[]string{"config", "set", "--topic", "cfg", "--cluster", "retention.ms=1"}, 2, "exactly one"},
		{[]string{"config", "set", "--topic", "cfg", "a=1", "a=2"}, 2, "twice"},
		{[]string{"config", "get", "--broker", "x"}, 2, "not a broker id"},
	} {
		code, _, errOut := ckctl(t, b, "", bad.args...)
		if code != bad.code || !strings.Contains(errOut, bad.msg) {
			t.Errorf("ckctl %q: got exit %d, stderr %q; want exit %d mentioning %q", bad.args, code, errOut, bad.code, bad.msg)
		}
	}
	if v, src := configValue(t, b, topic, "segment.bytes"); v != "1048576" || src != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("segment.bytes after refused changes: got %s from %s; want 1048576 from DYNAMIC_TOPIC_CONFIG", v, src)
	}
}

package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestParseProperties: each file is one java.util.Properties.load reads
// (Kafka's loader for server.properties), with the pairs Java gets.
func TestParseProperties(t *testing.T) {
	tests := []struct {
		name, src string
		want      map[string]string
	}{
		{"equals", "a=1\nb = 2\n", map[string]string{"a": "1", "b": "2"}},
		{"colon", "a:1\nb : 2", map[string]string{"a": "1", "b": "2"}},
		{"whitespace separator", "a 1\nb\t2\nc   =   3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"one separator only", "a==1\nb :=2", map[string]string{"a": "=1", "b": "=2"}},
		{"comments and blank lines", "# c\n  ! c\n\n   \na=1", map[string]string{"a": "1"}},
		{"leading whitespace", "   a=1\n\t\fb=2", map[string]string{"a": "1", "b": "2"}},
		{"trailing whitespace kept", "a=1  ", map[string]string{"a": "1  "}},
		{"key without value", "a\nb=\nc:", map[string]string{"a": "", "b": "", "c": ""}},
		{"continuation", "listeners=PLAINTEXT://\\\n    127.0.0.1:9092\nb=2", map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092", "b": "2"}},
		{"continued over a comment-like line", "a=1,\\\n#2\n", map[string]string{"a": "1,#2"}},
		{"even backslashes do not continue", "a=x\\\\\nb=2", map[string]string{"a": `x\`, "b": "2"}},
		{"continuation at the end", "a=1\\", map[string]string{"a": "1"}},
		{"comment ending in a backslash", "# c \\\na=1", map[string]string{"a": "1"}},
		{"escaped separators in a key", `a\=b\:c\ d=1`, map[string]string{"a=b:c d": "1"}},
		{"escapes", `a=\t\u0041\z\\`, map[string]string{"a": "\tAz\\"}},
		{"CR and CRLF line ends", "a=1\rb=2\r\nc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"later wins", "a=1\na=2", map[string]string{"a": "2"}},
	}
	for _, tt := range tests {
		got, err := parseProperties(tt.src)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if got, err := parseProperties(`a=\u00zz`); err == nil {
		t.Errorf(`malformed \u escape: got %q; want an error, as Java's "Malformed \uxxxx encoding"`, got)
	}
}

// TestConfigureReadsJavaProperties: a server.properties in a syntax Kafka
// accepts (whitespace separators, a continued line) configures the broker,
// and --override wins over the file.
func TestConfigureReadsJavaProperties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.properties")
	src := "# sample\nlisteners PLAINTEXT://127.0.0.1:\\\n    19092\nnum.partitions : 3\nlog.dirs=" + t.TempDir() + "\nlog.retention.hours 24\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configure([]string{path, "--override", "num.partitions=5"})
	if err != nil {
		t.Fatalf("configure: got %v; want the file accepted", err)
	}
	if cfg.Listeners[0].Port != 19092 || cfg.NumPartitions != 5 || cfg.Log.RetentionMs != 24*3600000 {
		t.Errorf("got port %d, num.partitions %d, retention %d ms; want 19092, 5 (the override), %d", cfg.Listeners[0].Port, cfg.NumPartitions, cfg.Log.RetentionMs, 24*3600000)
	}
}

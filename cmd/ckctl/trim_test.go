package main

import (
	"strings"
	"testing"
)

// TestTopicTrim: topic trim deletes a partition's records below an
// offset (a consumer from the earliest offset starts there), -1 trims
// every partition to its high watermark, and the broker's refusals exit
// non-zero.
func TestTopicTrim(t *testing.T) {
	b := newCluster(t)
	mustCkctl(t, b, "", "topic", "create", "trimmed", "-p", "2")
	mustCkctl(t, b, "a\nb\nc\nd\n", "produce", "trimmed", "-p", "0")
	mustCkctl(t, b, "x\ny\n", "produce", "trimmed", "-p", "1")

	out := mustCkctl(t, b, "", "topic", "trim", "trimmed", "--partition", "0", "--offset", "2")
	if want := "trimmed partition 0: log start 2\n"; out != want {
		t.Errorf("trim partition 0 to 2: got %q; want %q", out, want)
	}
	out = mustCkctl(t, b, "", "consume", "trimmed", "-p", "0", "-o", "earliest", "-n", "2")
	if want := "c\nd\n"; out != want {
		t.Errorf("consume from the earliest offset after the trim: got %q; want %q", out, want)
	}

	out = mustCkctl(t, b, "", "topic", "trim", "trimmed")
	if want := "trimmed partition 0: log start 4\ntrimmed partition 1: log start 2\n"; out != want {
		t.Errorf("trim every partition to its high watermark: got %q; want %q", out, want)
	}
	out = mustCkctl(t, b, "", "consume", "trimmed", "-o", "earliest", "-idle", "500ms")
	if out != "" {
		t.Errorf("consume after trimming everything: got %q; want nothing", out)
	}

	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"beyond the high watermark", []string{"topic", "trim", "trimmed", "-p", "1", "-o", "9"}, 1, "OFFSET_OUT_OF_RANGE"},
		{"unknown topic", []string{"topic", "trim", "nope"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"unknown partition", []string{"topic", "trim", "trimmed", "-p", "7", "-o", "0"}, 1, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"bad offset", []string{"topic", "trim", "trimmed", "-o", "-2"}, 2, "want an offset or -1"},
		{"no topic", []string{"topic", "trim"}, 2, "takes 1 argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckctl(t, b, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
}

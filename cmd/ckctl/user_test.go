package main

import (
	"strings"
	"testing"
)

// TestUserCommands: ckctl user create stores a SCRAM credential (the
// password from standard input), list shows mechanisms and iterations,
// delete removes it; the broker's refusals are reported.
func TestUserCommands(t *testing.T) {
	b := newCluster(t)
	if out := mustCkctl(t, b, "alice-secret\n", "user", "create", "alice", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192"); !strings.Contains(out, "created SCRAM credential of user alice") {
		t.Fatalf("create: got %q", out)
	}
	mustCkctl(t, b, "", "user", "create", "bob", "--password", "bob-secret")
	out := mustCkctl(t, b, "", "user", "list")
	if !hasLineFields(out, "alice", "SCRAM-SHA-512", "8192") || !hasLineFields(out, "bob", "SCRAM-SHA-256", "4096") {
		t.Fatalf("list: got\n%s", out)
	}
	if strings.Contains(out, "secret") {
		t.Fatalf("list shows a secret:\n%s", out)
	}
	if code, _, errOut := ckctl(t, b, "x\n", "user", "create", "carol", "--iterations", "100"); code != 1 || !strings.Contains(errOut, "4096 to 16384") {
		t.Fatalf("too few iterations: got exit %d, %q", code, errOut)
	}
	mustCkctl(t, b, "", "user", "delete", "bob")
	if code, _, errOut := ckctl(t, b, "", "user", "delete", "bob"); code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("deleting again: got exit %d, %q", code, errOut)
	}
	if code, _, errOut := ckctl(t, b, "", "user", "list", "bob"); code != 1 || !strings.Contains(errOut, "RESOURCE_NOT_FOUND") {
		t.Fatalf("listing a deleted user: got exit %d, %q", code, errOut)
	}
	if code, _, _ := ckctl(t, b, "", "user", "create", "dave", "--mechanism", "MD5", "--password", "p"); code != 2 {
		t.Fatalf("unknown mechanism: got exit %d; want 2", code)
	}
}

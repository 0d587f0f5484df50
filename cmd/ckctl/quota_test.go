package main

import (
	"slices"
	"strings"
	"testing"
)

// quotaRows is a quota table's rows after its header, fields one space
// apart; it fails the test when the header is not quota describe's.
func quotaRows(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "ENTITY KEY VALUE" {
		t.Fatalf("quota describe: got header %q; want \"ENTITY KEY VALUE\" (output %q)", got, out)
	}
	rows := []string{}
	for _, l := range lines[1:] {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	return rows
}

// checkQuotas runs quota describe with args and compares its rows, in
// order, with want.
func checkQuotas(t *testing.T, b string, args []string, want ...string) {
	t.Helper()
	out := mustCkctl(t, b, "", append([]string{"quota", "describe"}, args...)...)
	if got := quotaRows(t, out); !slices.Equal(got, want) {
		t.Errorf("quota describe %q: got rows\n%s\nwant\n%s", args, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestQuotaCommands: quota alter sets client quotas on users, client ids,
// both, and the default entities, through AlterClientQuotas; quota
// describe reads them back through DescribeClientQuotas, filtered by
// name, default or any, strictly or not; --delete removes a key (the last
// one the entity); --dry-run stores nothing; the broker's INVALID_REQUEST
// is reported with its message and exit code 1, command-line mistakes
// with exit code 2.
func TestQuotaCommands(t *testing.T) {
	b := newCluster(t)
	checkQuotas(t, b, nil) // none yet

	out := mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--client-id", "app",
		"--add", "producer_byte_rate=1048576", "--add", "consumer_byte_rate=2097152")
	if want := "altered quotas of user=alice,client-id=app: set producer_byte_rate=1048576, set consumer_byte_rate=2097152"; strings.TrimSpace(out) != want {
		t.Errorf("alter: got %q; want %q", out, want)
	}
	mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--add", "request_percentage=50.5")
	mustCkctl(t, b, "", "quota", "alter", "--default-user", "--add", "producer_byte_rate=100000")
	mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--default-client-id", "--add", "producer_byte_rate=300000")
	mustCkctl(t, b, "", "quota", "alter", "--default-client-id", "--add", "consumer_byte_rate=4096")
	mustCkctl(t, b, "", "quota", "alter", "--client-id", "app", "--add", "producer_byte_rate=65536")
	// A name the store must sanitize comes back as given.
	mustCkctl(t, b, "", "quota", "alter", "--user", "CN=svc,O=Acme/x", "--add", "controller_mutation_rate=2.5")

	all := []string{
		"client-id=<default> consumer_byte_rate 4096",
		"client-id=app producer_byte_rate 65536",
		"user=<default> producer_byte_rate 100000",
		"user=CN=svc,O=Acme/x controller_mutation_rate 2.5",
		"user=alice request_percentage 50.5",
		"user=alice,client-id=<default> producer_byte_rate 300000",
		"user=alice,client-id=app consumer_byte_rate 2097152",
		"user=alice,client-id=app producer_byte_rate 1048576",
	}
	checkQuotas(t, b, nil, all...)
	checkQuotas(t, b, []string{"--user", "alice"}, all[4:]...)
	checkQuotas(t, b, []string{"--user", "alice", "--strict"}, all[4])
	checkQuotas(t, b, []string{"--default-user"}, all[2])
	checkQuotas(t, b, []string{"--any-user", "--strict"}, all[2], all[3], all[4])
	checkQuotas(t, b, []string{"--client-id", "app", "--strict"}, all[1])
	checkQuotas(t, b, []string{"--default-client-id"}, all[0], all[5])
	checkQuotas(t, b, []string{"--user", "alice", "--any-client-id"}, all[5:]...)
	checkQuotas(t, b, []string{"--user", "bob"})

	// --delete removes one key; deleting the last one removes the entity.
	out = mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--client-id", "app", "--delete", "consumer_byte_rate")
	if want := "altered quotas of user=alice,client-id=app: deleted consumer_byte_rate"; strings.TrimSpace(out) != want {
		t.Errorf("alter --delete: got %q; want %q", out, want)
	}
	checkQuotas(t, b, []string{"--user", "alice", "--client-id", "app"}, all[7])
	mustCkctl(t, b, "", "quota", "alter", "--default-user", "--delete", "producer_byte_rate")
	checkQuotas(t, b, []string{"--any-user", "--strict"}, all[3], all[4])
	// Setting and deleting in one alter.
	mustCkctl(t, b, "", "quota", "alter", "--user", "alice", "--add", "producer_byte_rate=5000", "--delete", "request_percentage")
	checkQuotas(t, b, []string{"--user", "alice", "--strict"}, "user=alice producer_byte_rate 5000")

	// --dry-run: validated, not stored; and the broker still refuses what
	// it would refuse.
	out = mustCkctl(t, b, "", "quota", "alter", "--client-id", "dry", "--add", "producer_byte_rate=5", "--dry-run")
	if !strings.Contains(out, "validated (dry run, nothing stored)") {
		t.Errorf("alter --dry-run: got %q; want it to say nothing was stored", out)
	}
	checkQuotas(t, b, []string{"--client-id", "dry"})

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown key", []string{"quota", "alter", "--user", "alice", "--add", "bogus_rate=10"}, 1, "INVALID_REQUEST: Invalid configuration key bogus_rate"},
		{"unknown key, dry run", []string{"quota", "alter", "--user", "alice", "--add", "bogus_rate=10", "--dry-run"}, 1, "Invalid configuration key bogus_rate"},
		{"fraction of a byte rate", []string{"quota", "alter", "--client-id", "x", "--add", "producer_byte_rate=1.5"}, 1, "producer_byte_rate must be a LONG value"},
		{"value not above 0", []string{"quota", "alter", "--client-id", "x", "--add", "consumer_byte_rate=-5"}, 1, "must be greater than 0"},
		{"empty user name", []string{"quota", "alter", "--user", "", "--add", "producer_byte_rate=5"}, 1, "Empty user not supported"},
		{"no entity", []string{"quota", "alter", "--add", "producer_byte_rate=5"}, 2, "needs an entity"},
		{"user and default user", []string{"quota", "alter", "--user", "a", "--default-user", "--add", "producer_byte_rate=5"}, 2, "exclude each other"},
		{"no operation", []string{"quota", "alter", "--user", "a"}, 2, "needs --add KEY=VALUE or --delete KEY"},
		{"add without a value", []string{"quota", "alter", "--user", "a", "--add", "producer_byte_rate"}, 2, "not KEY=VALUE"},
		{"add a word", []string{"quota", "alter", "--user", "a", "--add", "producer_byte_rate=fast"}, 2, "is not a number"},
		{"a key twice", []string{"quota", "alter", "--user", "a", "--add", "producer_byte_rate=5", "--delete", "producer_byte_rate"}, 2, "given twice"},
		{"describe a name and any", []string{"quota", "describe", "--client-id", "a", "--any-client-id"}, 2, "exclude each other"},
		{"describe with an argument", []string{"quota", "describe", "alice"}, 2, "takes 0 argument"},
		{"unknown subcommand", []string{"quota", "set"}, 2, "unknown quota subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckctl(t, b, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
	// Nothing of the refused alters was stored.
	checkQuotas(t, b, nil,
		"client-id=<default> consumer_byte_rate 4096",
		"client-id=app producer_byte_rate 65536",
		"user=CN=svc,O=Acme/x controller_mutation_rate 2.5",
		"user=alice producer_byte_rate 5000",
		"user=alice,client-id=<default> producer_byte_rate 300000",
		"user=alice,client-id=app producer_byte_rate 1048576",
	)
}

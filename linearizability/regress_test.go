package linearizability

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestUnreadIndefiniteKeptToFreeOffsets checks partition 4 of simulator
// seed 482428809 (cksim -duration 30s): two acks=0 producers left 40
// indefinite produces, 36 of them read (placed) and four never read, which
// can only fill the six offsets after the last record read. Before
// unread copies were restricted to the offsets left free for them
// (unseenBounds.offsets), each could append, in porcupine's search, in the
// slot of an acknowledged produce not yet linearized, a branch refuted
// only seconds of history later, and the check timed out on 185 ops.
func TestUnreadIndefiniteKeptToFreeOffsets(t *testing.T) {
	checkRecorded(t, "testdata/seed-482428809-partition-4.json")
}

// TestUnreadIndefiniteStartWhenLogReachesThem checks partition 4 of
// simulator seed 482437230 (cksim -duration 30s): an acks=0 producer left
// eight indefinite produces (13 records) that nobody read, sent between
// 25.9s and 28.9s of virtual time, and only offsets 80..92, which the log
// reached at about 37.9s, left free for them. Each could still be
// linearized, as a no-op, anywhere since it was sent, concurrently with
// 26 acknowledged produces pending for 9s; porcupine tried every subset
// of them consumed early, each refuted only by the final read of a
// 93-record log, and the check timed out on 118 ops (Ok in 40s without a
// timeout). Their intervals now start when the log can have reached the
// offsets left for them (unseenBounds.notBefore).
func TestUnreadIndefiniteStartWhenLogReachesThem(t *testing.T) {
	checkRecorded(t, "testdata/seed-482437230-partition-4.json")
}

// checkRecorded checks a recorded partition history, cut and timed as the
// simulator does, and requires an Ok verdict.
func checkRecorded(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h PartitionHistory
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	r := CheckPartition(Cut(h, 1000), 10*time.Second)
	if r.Verdict != porcupine.Ok {
		t.Fatalf("%s: got %v; want Ok", path, r)
	}
	t.Log(r)
}

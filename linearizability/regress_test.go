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
	b, err := os.ReadFile("testdata/seed-482428809-partition-4.json")
	if err != nil {
		t.Fatal(err)
	}
	var h PartitionHistory
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	r := CheckPartition(Cut(h, 1000), 10*time.Second)
	if r.Verdict != porcupine.Ok {
		t.Fatalf("got %v, want Ok", r)
	}
	t.Log(r)
}

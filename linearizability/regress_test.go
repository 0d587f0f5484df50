package linearizability

import (
	"encoding/json"
	"fmt"
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

// TestUnreadCopiesOfOneSizeChained checks partition 5 of simulator seed
// 425632965 (cksim -duration 30s): a plain producer retried eight
// acknowledged batches (sizes 2, 3, 2, 2, 3, 2, 1, 3) whose extra copies
// nobody read; they can only have filled offsets 26..34 and 42..50,
// which retention deleted unread, and after narrowing all eight share one
// interval. Porcupine tried every subset of them linearized early, and
// the check of 102 ops timed out (Ok in 14s without a timeout). Copies of
// one size now linearize in rank order (chainCopies: 2ms), and logs
// compare by value (equalLog: 40ms without the ranks).
func TestUnreadCopiesOfOneSizeChained(t *testing.T) {
	checkRecorded(t, "testdata/seed-425632965-partition-5.json")
}

// TestUnreadCopiesCompareByValue checks partition 1 of simulator seed
// 425631033 (cksim -duration 30s): eight unread extra copies of sizes 1
// to 7 can only have tiled the 31 unread offsets 228..258. Every order
// of them gave the same log, but logs were compared batch by batch, so
// each order was a new state to porcupine, and the check timed out (still
// Unknown after 60s). Logs are now compared value by value (equalLog).
func TestUnreadCopiesCompareByValue(t *testing.T) {
	checkRecorded(t, "testdata/seed-425631033-partition-1.json")
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

// TestRetriedBurstChained checks the shape chainCopies is for, built by
// hand: a plain producer sends n one-record batches at once; the first
// attempt of each appended but its answer was lost, and its retry
// appended again and was acknowledged at offset n+i. A final read sees
// the acknowledged records and nobody the first copies, which can only
// have filled offsets 0..n-1, before every acknowledged one. Ordering
// the interchangeable copies leaves porcupine n+1 ways to have
// linearized some of them, where it had 2^n subsets.
func TestRetriedBurstChained(t *testing.T) {
	const n = 22
	var h PartitionHistory
	var read []string
	for i := range n {
		v := fmt.Sprintf("b%d", i)
		p := ok(int64(i), 1000, n+int64(i), v)
		p.Duplicates = 1
		h.Produces = append(h.Produces, p)
		read = append(read, v)
	}
	h.Fetches = append(h.Fetches, fetch(1001, 1002, n, 2*n, read...))
	if got := longestChain(build(h)); got != n {
		t.Fatalf("longest chain of copies: %d, want %d", got, n)
	}
	r := CheckPartition(h, testTimeout)
	if r.Verdict != porcupine.Ok {
		t.Fatalf("got %v; want Ok", r)
	}
	t.Log(r)
}

package realio

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestScrubRefusesDamage: a bit flipped on disk in a stored batch (after
// it was produced and read) is found by the scrubber on the IO workers,
// logged, and from then on reads of it and of the rest of its segment
// answer KAFKA_STORAGE_ERROR, while the batches before it and the next
// segment still read.
func TestScrubRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, map[string]string{"log.dirs": dir})
	c := b.dial(t)
	id := createTopic(t, c, "scrubbed", 1, map[string]string{"segment.bytes": "1024"})
	var bases []int64
	for i := range 14 {
		bases = append(bases, mustProduce(t, c, 9, "scrubbed", 0, plainBatch(fmt.Sprintf("s%d", i), 2).bytes()))
	}
	if rp := fetchPart(t, c, 12, "scrubbed", id, 0, bases[1]); rp.ErrorCode != 0 || len(rp.RecordBatches) == 0 {
		t.Fatalf("fetch before the damage: got %s, %d bytes; want records", errName(rp.ErrorCode), len(rp.RecordBatches))
	}
	segs := segmentFiles(t, filepath.Join(dir, "scrubbed-0"))
	if len(segs) < 2 {
		t.Fatalf("segments %v; want at least two", segs)
	}
	raw, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	first := int(binary.BigEndian.Uint32(raw[8:])) + 12
	second := int(binary.BigEndian.Uint32(raw[first+8:])) + 12
	// the last byte of the second batch's records, flipped in place (a
	// rewrite of the whole file would show the scrubber a file cut short)
	at := first + second - 1
	from := b.logLines()
	f, err := os.OpenFile(segs[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{raw[at] ^ 1}, int64(at)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b.waitLog(t, from, "log scrubber: scrubbed-0 is damaged")

	if rp := fetchPart(t, c, 12, "scrubbed", id, 0, bases[0]); rp.ErrorCode != 0 || len(rp.RecordBatches) != first {
		t.Errorf("fetch before the damage: got %s, %d bytes; want the first batch alone (%d bytes)", errName(rp.ErrorCode), len(rp.RecordBatches), first)
	}
	next := segmentBase(t, segs[1])
	for _, o := range bases[1:] {
		rp := fetchPart(t, c, 12, "scrubbed", id, 0, o)
		want := kerr.KafkaStorageError.Code
		if o >= next {
			want = 0
		}
		if rp.ErrorCode != want || (want != 0 && len(rp.RecordBatches) > 0) {
			t.Errorf("fetch at %d (next segment at %d): got %s with %d bytes; want %s", o, next, errName(rp.ErrorCode), len(rp.RecordBatches), errName(want))
		}
	}
}

// segmentFiles lists a partition directory's .log files in offset order.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func segmentBase(t *testing.T, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(name), ".log"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

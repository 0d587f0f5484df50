package realio

import (
	"fmt"
	"testing"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// BenchmarkFileCoordinatorCreate1000OnDisk creates a topic's 1,000
// partition state znodes (each with its parent) in a new embedded
// coordinator on the disk of the test's temporary directory: every
// write fsynced, as the broker does.
func BenchmarkFileCoordinatorCreate1000OnDisk(b *testing.B) {
	for b.Loop() {
		c, err := kio.OpenFileCoordinator(OSFS{}, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		for p := range 1000 {
			op := core.CoordOp{Kind: core.CoordCreate, Path: fmt.Sprintf("/brokers/topics/bench/partitions/%d/state", p),
				Data: []byte(`{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}`), Parents: true}
			if res := c.Apply(op); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

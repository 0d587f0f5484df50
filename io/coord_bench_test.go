package kio_test

import (
	"fmt"
	"testing"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// BenchmarkFileCoordinatorCreate1000 creates a topic's 1,000 partition
// state znodes (each with its parent, as the controller does) in a new
// embedded coordinator over the in-memory file system: the coordinator's
// own cost per topic, without the disk's fsync latency (realio's
// BenchmarkFileCoordinatorCreate1000OnDisk has that).
func BenchmarkFileCoordinatorCreate1000(b *testing.B) {
	ops := partitionStateCreates(1000)
	for b.Loop() {
		fs := memfs.New()
		if err := fs.MkdirAll("/data"); err != nil { // as the driver does
			b.Fatal(err)
		}
		c, err := kio.OpenFileCoordinator(fs, "/data")
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range ops {
			if res := c.Apply(op); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

func partitionStateCreates(n int) []core.CoordOp {
	ops := make([]core.CoordOp, n)
	for p := range ops {
		ops[p] = core.CoordOp{Kind: core.CoordCreate, Path: fmt.Sprintf("/brokers/topics/bench/partitions/%d/state", p),
			Data: []byte(`{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}`), Parents: true}
	}
	return ops
}

package sim

import (
	"fmt"
	"testing"
	"time"
)

func TestZZDump(t *testing.T) {
	r := Run(Config{Seed: 103, Duration: 20 * time.Second, Faults: true, Brokers: 3, Logf: func(f string, a ...any) {
		s := fmt.Sprintf(f, a...)
		if len(s) > 0 { fmt.Println(s) }
	}})
	for _, op := range r.History.Ops {
		if op.ID == 88 || op.ID == 307 || (op.Kind == OpProduce && op.Partition == 0 && op.Offset >= 8 && op.Offset <= 12) {
			fmt.Printf("op %d %s %v call=%v ret=%v broker=%d part=%d off=%d\n", op.ID, op.Client, op.Kind, fmtInstant(op.Call), fmtInstant(op.Return), op.Broker, op.Partition, op.Offset)
		}
	}
}

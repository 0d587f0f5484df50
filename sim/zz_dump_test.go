package sim

import (
	"fmt"
	"testing"
	"time"
)

func TestZZDump(t *testing.T) {
	r := Run(Config{Seed: 218, Duration: 2 * time.Minute, Brokers: 4, Faults: true})
	for _, op := range r.History.Ops {
		if op.ID == 1875 || op.ID == 1895 || op.ID == 2300 || op.ID == 2835 {
			fmt.Printf("%d %s %v b%d %v-%v off %d n %d out %v err %d att %d\n", op.ID, op.Client, op.Kind, op.Broker, fmtInstant(op.Call), fmtInstant(op.Return), op.Offset, len(op.Values), op.Outcome, op.ErrorCode, op.Attempts)
			for _, f := range op.Fetches {
				if f.Partition == 0 {
					fmt.Printf("   fetch p0 from %d hwm %d recs %d err %d\n", f.From, f.HighWatermark, len(f.Records), f.ErrorCode)
				}
			}
		}
	}
}

package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSASLClients: with Config.SASL the workload's clients authenticate
// with PLAIN on the brokers' SASL_PLAINTEXT listener before anything else,
// through crashes, partitions and (in a cluster) ZooKeeper session
// expiry, and every check still passes.
func TestSASLClients(t *testing.T) {
	for _, brokers := range []int{1, 3} {
		for seed := uint64(1); seed <= 3; seed++ {
			auths := 0 // Logf runs on the world's one goroutine
			cfg := Config{Seed: seed, Duration: 15 * time.Second, Faults: true, Brokers: brokers, SASL: true}
			cfg.Logf = func(format string, args ...any) {
				if strings.Contains(fmt.Sprintf(format, args...), "result=success principal=User:sim mechanism=PLAIN ") {
					auths++
				}
			}
			r := Run(cfg)
			if len(r.Failures) > 0 {
				t.Errorf("SEED=%d brokers=%d failed:\n  %s\nreplay: %s", seed, brokers, strings.Join(r.Failures, "\n  "), replay(cfg))
			}
			if auths == 0 {
				t.Errorf("SEED=%d brokers=%d: no client authenticated", seed, brokers)
			}
		}
	}
}

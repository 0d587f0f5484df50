//go:build simbugs

package sim

import (
	"strings"
	"testing"
)

// linearizeBugs are the deliberate bugs the linearizability check must
// catch by itself, with an Illegal verdict (not a timeout) on some
// partition, within seedsMax seeds of bugRunDuration. The bounds are
// several times the first seed measured to catch each bug.
// First catching seeds measured (with group members and compacted
// topics among the draws): OffsetOffByOne 2, AckBeforeSync 11,
// SkipDirSync 11, ForgetProducerWindow 23 (about one seed in 30 catches
// it: a retried batch must find its window gone after a restart).
var linearizeBugs = map[string]uint64{
	"OffsetOffByOne":       10,
	"AckBeforeSync":        40,
	"SkipDirSync":          40,
	"ForgetProducerWindow": 80,
}

// TestLinearizableCatchesBugs proves the linearizability check can fail:
// with a deliberate bug switched on, some seed's history is Illegal on
// some partition, independently of the queue checks (CheckHistory), and
// its visualization is written; the catching seed's history passes the
// check with the bug switched off.
//
//	go test -tags simbugs -run Linear -count=1 ./sim
func TestLinearizableCatchesBugs(t *testing.T) {
	for _, bug := range deliberateBugs {
		seedsMax, ok := linearizeBugs[bug.name]
		if !ok {
			continue
		}
		t.Run(bug.name, func(t *testing.T) {
			bug.set(true)
			t.Cleanup(func() { bug.set(false) })
			dir := t.TempDir()
			for seed := uint64(1); seed <= seedsMax; seed++ {
				r := Run(Config{Seed: seed, Duration: bugRunDuration, Faults: true, VizDir: dir})
				for _, f := range r.Failures {
					if strings.HasPrefix(f, "linearizability:") && strings.Contains(f, "Illegal") {
						if !strings.Contains(f, "visualization: "+dir) {
							t.Fatalf("no visualization written: %s", f)
						}
						t.Logf("%s caught by the linearizability check at seed %d of at most %d: %s", bug.name, seed, seedsMax, f)
						bug.set(false)
						clean := Run(Config{Seed: seed, Duration: bugRunDuration, Faults: true})
						if lin, _ := CheckLinearizable(clean.History, seed, ""); len(lin) > 0 {
							t.Errorf("SEED=%d fails the check with %s switched off: %v", seed, bug.name, lin)
						}
						return
					}
				}
			}
			t.Fatalf("%s not caught by the linearizability check within %d seeds of %s", bug.name, seedsMax, bugRunDuration)
		})
	}
}

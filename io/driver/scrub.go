package driver

import (
	"cloudkafka/core"
	"cloudkafka/io/segment"
)

// scrubLog runs one Scrub on l (nil: the partition has no log, so nothing
// is stored to verify, and its pass is done). It touches nothing of the
// driver's but l and logf, so it may run on an IO worker. The core logs
// the damage found; an IO error is logged here.
func scrubLog(l *segment.Log, e core.Scrub, logf func(string, ...any)) core.Scrubbed {
	if l == nil {
		return core.Scrubbed{Token: e.Token, PassDone: true}
	}
	rep, err := l.Scrub(e.MaxBytes)
	if err != nil {
		logf("scrub of %s failed: %v", e.Partition, err)
	}
	return core.Scrubbed{Token: e.Token, Checked: rep.Checked, PassDone: rep.PassDone, Damaged: rep.Damaged, Err: err}
}

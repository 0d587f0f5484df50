//go:build simbugs

package sim

import (
	"strings"
	"testing"
	"time"

	"cloudkafka/core"
	"cloudkafka/io/segment"
)

// deliberateBug is one planted defect of the broker or its storage and
// how soon the checks must catch it.
type deliberateBug struct {
	name string
	set  func(on bool)
	// seedsMax is the stated bound: some seed in 1..seedsMax must fail
	// with one of the wanted kinds. It is several times the first seed
	// measured to catch the bug and large against the share of seeds that
	// catch it (noted per bug below), so that changes to what the seeds
	// draw do not make the test flaky.
	seedsMax uint64
	want     []string // failure kinds, any of which counts as caught
	brokers  int      // the cluster's size (0: one broker)
	sasl     bool     // authenticated clients and the ACL change (acl.go)
}

// bugRunDuration is the simulated fault phase of each run: long enough
// for several crashes and segment rolls, short enough that the whole test
// stays within seconds.
const bugRunDuration = 20 * time.Second

// deliberateBugs lists the bugs behind the simbugs build tag (core.Bug,
// segment.Bug). The comment on each states what catches it.
var deliberateBugs = []deliberateBug{
	// Acknowledgements go out before their sync; when the sync fails
	// (io-error) the restart drops the unsynced tail: acknowledged records
	// are lost and their offsets reassigned. About one seed in four.
	{"AckBeforeSync", func(on bool) { core.SetBug(core.BugAckBeforeSync, on) }, 40,
		[]string{"lost-write", "wrong-value", "inconsistent-offset", "duplicate-assignment", "stale-read", "hwm-regress"}, 0, false},
	// Every batch of more than one record is acknowledged one offset too
	// high. Every seed.
	{"OffsetOffByOne", func(on bool) { core.SetBug(core.BugOffsetOffByOne, on) }, 10,
		[]string{"wrong-value", "duplicate-assignment"}, 0, false},
	// A torn batch survives recovery, padded with zeros; reads refuse it
	// (Log.Read checks CRCs) with KAFKA_STORAGE_ERROR for ever, so the
	// consumers never catch up: a liveness failure. A trusted garbage
	// header can instead expose offsets never written (visibility) or
	// take the broker down on offsets outside its segment (panic). Five
	// of seeds 1-40, the first at seed 11.
	{"SkipRecoveryCRC", func(on bool) { segment.SetBug(segment.BugSkipRecoveryCRC, on) }, 40,
		[]string{"liveness", "corrupt-read", "phantom", "inconsistent-offset", "wrong-value", "visibility", "panic"}, 0, false},
	// An idempotent producer retries, across a crash, a batch that was
	// written but whose acknowledgement was lost: it is appended again.
	// About one seed in two.
	{"ForgetProducerWindow", func(on bool) { core.SetBug(core.BugForgetProducerWindow, on) }, 20,
		[]string{"duplicate"}, 0, false},
	// A rolled segment's name is not durable: a crash loses it and the
	// acknowledged batches in it. About one seed in two.
	{"SkipDirSync", func(on bool) { segment.SetBug(segment.BugSkipDirSync, on) }, 20,
		[]string{"lost-write", "wrong-value", "inconsistent-offset", "duplicate-assignment", "stale-read", "hwm-regress", "fetch-error"}, 0, false},
	// The high watermark covers written but unsynced records: the next
	// fetch answer exposes offsets the disk does not hold durably
	// (any flush policy bounds it). First caught at seed 1.
	{"HighWatermarkAtWrite", func(on bool) { core.SetBug(core.BugHighWatermarkAtWrite, on) }, 10,
		[]string{"durability"}, 0, false},
	// Fetches read past the high watermark whenever an append is written
	// but not yet committed. First caught at seed 1.
	{"FetchPastHighWatermark", func(on bool) { core.SetBug(core.BugFetchPastHighWatermark, on) }, 10,
		[]string{"read-past-hwm", "visibility", "durability"}, 0, false},
	// Retention deletes a segment whose newest batch is younger than
	// retention.ms (seeds with retention.ms alone). First caught at seed 1.
	{"RetentionByOldest", func(on bool) { segment.SetBug(segment.BugRetentionByOldest, on) }, 15,
		[]string{"retention"}, 0, false},
	// Down-converted wrappers carry their first inner offset: a magic 1
	// consumer reads every compressed record at an offset below its own
	// (seeds with a legacy consumer and compressed data). First caught at seed 12.
	{"LegacyWrapperAtFirst", func(on bool) { core.SetBug(core.BugLegacyWrapperAtFirst, on) }, 60,
		[]string{"wrong-value", "nonmonotonic-poll", "duplicate", "phantom", "inconsistent-offset"}, 0, false},
	// A legacy produce of several messages is stored without its last:
	// acknowledged records are never read (seeds with a legacy producer).
	// First caught at seed 5.
	{"LegacyDropsLastMessage", func(on bool) { core.SetBug(core.BugLegacyDropsLastMessage, on) }, 60,
		[]string{"lost-write", "wrong-value", "inconsistent-offset", "duplicate-assignment"}, 0, false},
	// The cleaner drops the latest value of every key it maps (it compares
	// offsets with <= for <): the final read lacks a key's latest
	// acknowledged value (compaction-lost), or no consumer read an
	// acknowledged record that nothing superseded (lost-write). Seeds
	// that compact their topic and rewrite a cold key's latest value:
	// 12 of seeds 1-60, the first at seed 1.
	{"CleanerDropsLatest", func(on bool) { segment.SetBug(segment.BugCleanerDropsLatest, on) }, 30,
		[]string{"compaction-lost", "lost-write"}, 0, false},
	// The cleaner removes a key's latest tombstone at its first cleaning,
	// ignoring delete.retention.ms: a read skips it before its earliest
	// delete horizon (tombstone-early). Seeds with a long
	// delete.retention.ms whose cleaner rewrites a cold key's final
	// tombstone, and whose reads come at the right time: the first at
	// seed 63 (the draws of the offsets topic's writes moved it).
	{"CleanerEarlyTombstone", func(on bool) { segment.SetBug(segment.BugCleanerEarlyTombstone, on) }, 120,
		[]string{"tombstone-early", "compaction-lost"}, 0, false},
	// A parked fetch waits its full MaxWaitMs though data arrived.
	// First caught at seed 1.
	{"LongPollNotWoken", func(on bool) { core.SetBug(core.BugLongPollNotWoken, on) }, 10,
		[]string{"slow-fetch"}, 0, false},
	// The coordinator accepts a commit whose generation is not the
	// group's: a group member's commit sent with its previous generation
	// after it synced a new one is acknowledged. First caught at seed 6.
	{"StaleGenerationCommit", func(on bool) { core.SetBug(core.BugStaleGenerationCommit, on) }, 40,
		[]string{"stale-commit"}, 0, false},
	// A broker ignores its new coordination session after an expiry: it
	// stays unregistered (seeds with zk-session-expiry and no restart
	// after the last expiry), so the run never converges (liveness: the
	// drain waits for the registration, and for the admin's final
	// Metadata to list the registered brokers).
	{"IgnoreNewSession", func(on bool) { core.SetBug(core.BugIgnoreNewSession, on) }, 40,
		[]string{"registration", "liveness"}, 0, false},
	// The same in a three-broker cluster, where sessions also expire
	// when a broker is cut off from the ensemble (zk-partition).
	{"IgnoreNewSession/cluster", func(on bool) { core.SetBug(core.BugIgnoreNewSession, on) }, 40,
		[]string{"registration", "liveness"}, 3, false},
	// Brokers list /brokers/ids without a watch: brokers that register
	// or go later are never listed, and the admin's final Metadata never
	// shows the registered brokers (three-broker seeds where the
	// workload's broker last listed while a peer was down). First caught
	// at seed 26.
	{"BrokerListUnwatched", func(on bool) { core.SetBug(core.BugBrokerListUnwatched, on) }, 80,
		[]string{"liveness"}, 3, false},
	// A controller campaigns on the current controller epoch instead of
	// taking the next: its epoch is one a controller before it won (seeds
	// where another broker or an earlier incarnation was controller).
	{"ControllerStaleEpoch", func(on bool) { core.SetBug(core.BugControllerStaleEpoch, on) }, 40,
		[]string{"controller-epoch"}, 0, false},
	{"ControllerStaleEpoch/cluster", func(on bool) { core.SetBug(core.BugControllerStaleEpoch, on) }, 40,
		[]string{"controller-epoch"}, 3, false},
	// A broker keeps leading a partition after a LeaderAndIsr moved it to
	// another broker (a controlled shutdown's handover, a failover it
	// outlived): both answer, and reads and writes of the two diverge.
	// Leaderships move off live brokers only in controlled shutdowns so
	// far, and the window before the old leader stops is short: first
	// caught at seed 161.
	{"ServeAfterMove/cluster", func(on bool) { core.SetBug(core.BugServeAfterMove, on) }, 400,
		[]string{"stale-read", "hwm-regress", "inconsistent-offset", "duplicate-assignment", "wrong-value", "lost-write", "linearizability", "leader-epoch", "idempotence", "produce-error"}, 3, false},
	// A follower repairs its log by truncating to its high watermark
	// instead of by leader epoch: it cuts committed records above it,
	// and, elected before it fetched them again, loses them. It needs a
	// follower elected before it caught up, which leader changes by an
	// operator or the rebalance often prevent: rare (no catch in seeds
	// 1-400 of the current draws; first caught at seed 451, at 81 before
	// the trimmer and the dynamic configuration actor joined the draws).
	{"TruncateToHighWatermark/cluster", func(on bool) { core.SetBug(core.BugTruncateToHighWatermark, on) }, 600,
		[]string{"inconsistent-offset", "duplicate-assignment", "wrong-value", "lost-write", "linearizability", "stale-read", "hwm-regress"}, 3, false},
	// A leader acknowledges acks=all once it holds the record itself: a
	// leader that fails before its followers fetched it loses it (seeds
	// with replication factor 3 and acks=all), or readers that start
	// after the acknowledgement do not see it. First caught at seed 21.
	{"AckBeforeISR/cluster", func(on bool) { core.SetBug(core.BugAckBeforeISR, on) }, 80,
		[]string{"stale-read", "lost-write", "inconsistent-offset", "duplicate-assignment", "wrong-value", "linearizability", "hwm-regress"}, 3, false},
	// The controller elects a live replica outside the ISR though
	// unclean election is off: the simulator sees the state written with
	// a leader outside the ISR before it (unclean-election), and what
	// only the ISR had is lost. First caught at seed 4.
	{"ElectOutsideISR/cluster", func(on bool) { core.SetBug(core.BugElectOutsideISR, on) }, 40,
		[]string{"unclean-election", "lost-write", "inconsistent-offset", "duplicate-assignment", "wrong-value", "linearizability", "hwm-regress", "stale-read"}, 3, false},
	// A leader takes an ISR shrink whose conditional write failed: cut
	// off, or replaced, it advances its high watermark alone and
	// acknowledges writes the new leader lacks. First caught at seed
	// 113.
	// A follower never truncates when it follows a new leader: it keeps
	// records of its own where the leader has others, joins the ISR all
	// the same, and the replicas' logs differ below the high watermark
	// (replica-diverged, the comparison of the in-sync replicas' files
	// after the run). First caught at seed 20.
	{"FollowerSkipsRepair/cluster", func(on bool) { core.SetBug(core.BugFollowerSkipsRepair, on) }, 60,
		[]string{"replica-diverged"}, 3, false},
	{"ZombieAdvancesHWM/cluster", func(on bool) { core.SetBug(core.BugZombieAdvancesHWM, on) }, 300,
		[]string{"lost-write", "inconsistent-offset", "duplicate-assignment", "wrong-value", "linearizability", "hwm-regress", "stale-read"}, 3, false},
	// Brokers ignore the ACL change notifications: the removal reaches
	// only the broker that made it (and those that start a new session),
	// so the others never show it gone (liveness) or keep taking the
	// victim's writes.
	// A group's lag is computed as if its committed offset were the last
	// record read: one record too few whenever there is lag, which the
	// running metrics check (metrics.go) compares with the snapshot's
	// high watermark less the committed offset. First caught at seed 1.
	{"LagPastCommit", func(on bool) { core.SetBug(core.BugLagPastCommit, on) }, 10,
		[]string{"metrics"}, 0, false},
	{"ACLChangesIgnored/cluster", func(on bool) { core.SetBug(core.BugACLChangesIgnored, on) }, 20,
		[]string{"liveness", "acl-write-after-removal"}, 3, true},
	// A broker that ignores configuration change notifications never
	// shows another broker's change (until a new session rereads
	// everything): the drain waits for every broker to show it
	// (dynconfig.go), and the liveness bound fails the run.
	{"ConfigChangesIgnored/cluster", func(on bool) { core.SetBug(core.BugConfigChangesIgnored, on) }, 20,
		[]string{"liveness"}, 3, false},
	// A DeleteRecords moves the leader's log start in memory only: the
	// trim is acknowledged, and after a restart the trimmer's earliest
	// offset (or a fetch below the acknowledged low watermark) shows the
	// trimmed records again (trim.go). First caught at seed 2.
	{"TrimInMemory", func(on bool) { core.SetBug(core.BugTrimInMemory, on) }, 20,
		[]string{"trim-regress", "trim-visible"}, 0, false},
	// The start leaves the clean-shutdown marker: after a clean restart
	// (clean-restart), the next start after a crash finds it and trusts
	// files no shutdown settled (clean-shutdown-marker; what it loads may
	// differ from a full recovery, recovery-shortcut, and vouch for
	// unsynced batches, recovery-point). Seeds with clean-restart and
	// crashes: 12 of seeds 1-60, the first at seed 13.
	{"CleanShutdownKept", func(on bool) { segment.SetBug(segment.BugCleanShutdownKept, on) }, 60,
		[]string{"clean-shutdown-marker", "recovery-shortcut", "recovery-point"}, 0, false},
	// A log's recovery point is its log end, not the end its last Sync
	// made durable: the checkpoint on disk vouches for unsynced batches
	// (recovery-point, checked whenever a process stops). A restart does
	// not go wrong for it as often: the batches read from the recovery
	// point's segment must still parse, and a recovery point past the
	// log recovered makes the log recover fully. 17 of seeds 1-60, the
	// first at seed 1.
	{"RecoveryPointAtLogEnd", func(on bool) { segment.SetBug(segment.BugRecoveryPointAtLogEnd, on) }, 20,
		[]string{"recovery-point", "recovery-shortcut"}, 0, false},
	// A fetch session keeps the fetch offset it was opened with: an
	// incremental fetch that moves a partition on reads from where the
	// consumer was, until the batches there hold nothing past its
	// position, and the consumer stops (liveness), or lags (slow-delivery,
	// lost-write). Seeds whose consumers fetch through sessions: 11 of
	// seeds 1-40, the first at seed 2.
	{"SessionKeepsFetchOffset", func(on bool) { core.SetBug(core.BugSessionKeepsFetchOffset, on) }, 20,
		[]string{"lost-write", "liveness", "slow-delivery", "gap", "nonmonotonic-poll", "stale-read", "hwm-regress"}, 0, false},
	// An incremental answer leaves out a partition whose high watermark
	// moved without records to show (the response limit left them no
	// room): the consumer records the session's last high watermark,
	// below one an earlier operation saw (hwm-regress, stale-read,
	// linearizability). 10 of seeds 1-40, the first at seed 2.
	{"SessionHidesHighWatermark", func(on bool) { core.SetBug(core.BugSessionHidesHighWatermark, on) }, 20,
		[]string{"stale-read", "hwm-regress", "linearizability"}, 0, false},
	// The coordinator hands every member the leader's own assignment:
	// two members own the same partitions in one generation, and each
	// received what the leader did not send it (ownership). Seeds whose
	// group has two members in a generation: 13 of seeds 1-30, the
	// first at seed 2.
	{"SyncHandsLeaderAssignment", func(on bool) { core.SetBug(core.BugSyncHandsLeaderAssignment, on) }, 10,
		[]string{"ownership"}, 0, false},
	// The coordinator answers the SyncGroups but never enters Stable:
	// commits are refused with REBALANCE_IN_PROGRESS, the members rejoin
	// again and again, and the group never settles (liveness: the drain
	// waits for every member to be in one generation that assigns every
	// partition, with everything acknowledged committed). A broker
	// restart after the last rebalance hides it (a loaded group is
	// Stable): 15 of seeds 1-30, the first at seed 5.
	{"RebalanceLeftOpen", func(on bool) { core.SetBug(core.BugRebalanceLeftOpen, on) }, 15,
		[]string{"liveness"}, 0, false},
}

// directedBug is a deliberate bug that only the seeds of a directive,
// or runs without the fault mix, reach often enough for a small bound.
type directedBug struct {
	deliberateBug
	directed Directive
	// quiet runs without the seed's fault mix (the workload's own
	// churn, such as the group members' leaves, crashes and stalls,
	// still runs): for checks that faults of the broker often excuse.
	quiet bool
}

// directedBugs are run like deliberateBugs, with their directive.
var directedBugs = []directedBug{
	// Sessions never expire: a member stalled past its session timeout
	// has its next heartbeat accepted (session-timeout). The check
	// judges only a stall that nothing excused: no rebalance meanwhile,
	// and no restart, pause or clock step of the coordinator, which the
	// fault mix brings to most seeds (4 of seeds 1-120 with faults, the
	// first at seed 8); quiet, 6 of seeds 1-30, the first at seed 9.
	{deliberateBug{"SessionNeverExpires", func(on bool) { core.SetBug(core.BugSessionNeverExpires, on) }, 30,
		[]string{"session-timeout"}, 0, false}, DirectNone, true},
	// The scrubber passes over damage on the medium without marking or
	// reporting it: the synced-flip fault's damage goes unreported past
	// its bound (scrub-missed); a consumer that reaches the damaged batch
	// stays refused (liveness), or, where reads do not check CRCs, is
	// served it (corrupt-read). 16 of seeds 1-20, the first at seed 2 (a
	// seed whose flush policy syncs little offers few batches to damage).
	{deliberateBug{"ScrubSkipsDamage", func(on bool) { segment.SetBug(segment.BugScrubSkipsDamage, on) }, 10,
		[]string{"scrub-missed", "corrupt-read", "liveness"}, 0, false}, DirectSyncedFlip, false},
}

// TestDeliberateBugs proves the checks can fail: each deliberate bug,
// switched on, must be caught by a failure of a wanted kind within its
// stated number of seeds, and the catching seed must pass with the bug
// switched off (so it was the bug, not the seed, that failed).
//
//	go test -tags simbugs -run TestDeliberateBugs -count=1 ./sim
func TestDeliberateBugs(t *testing.T) {
	bugs := directedBugs
	for _, b := range deliberateBugs {
		bugs = append(bugs, directedBug{deliberateBug: b})
	}
	for _, bug := range bugs {
		t.Run(bug.name, func(t *testing.T) {
			bug.set(true)
			t.Cleanup(func() { bug.set(false) })
			cfg, r, ok := catchBug(bug)
			if !ok {
				t.Fatalf("%s not caught within %d seeds of %s (want a failure of kind %s)",
					bug.name, bug.seedsMax, bugRunDuration, strings.Join(bug.want, ", "))
			}
			t.Logf("%s caught at seed %d of at most %d (%s):\n  %s", bug.name, cfg.Seed, bug.seedsMax, r.Mix, strings.Join(r.Failures, "\n  "))
			bug.set(false)
			if clean := Run(cfg); clean.Failed() {
				t.Errorf("SEED=%d fails with %s switched off, so it does not show the bug:\n  %s\nreplay: %s",
					cfg.Seed, bug.name, strings.Join(clean.Failures, "\n  "), replay(cfg))
			}
		})
	}
}

// catchBug runs seeds 1..seedsMax, with faults unless quiet, until one
// fails with a wanted kind.
func catchBug(bug directedBug) (Config, Result, bool) {
	for seed := uint64(1); seed <= bug.seedsMax; seed++ {
		cfg := Config{Seed: seed, Duration: bugRunDuration, Faults: !bug.quiet, Brokers: bug.brokers, SASL: bug.sasl, Directed: bug.directed}
		r := Run(cfg)
		if hasFailureKind(r.Failures, bug.want) {
			return cfg, r, true
		}
	}
	return Config{}, Result{}, false
}

func hasFailureKind(failures, kinds []string) bool {
	for _, f := range failures {
		for _, kind := range kinds {
			if strings.HasPrefix(f, kind+":") {
				return true
			}
		}
	}
	return false
}

// Package cover counts coverage points: named places in the broker core
// and the storage code that the simulator must reach. A point that fires
// in none of a batch of seeds shows a path the simulator claims to prove
// but never runs (FoundationDB's "sometimes" probes); the simulator's CI
// test fails then.
//
// Counts belong to one broker world, never to the process: the core and
// the segment store get a *Counts through their configuration, and a nil
// *Counts counts nothing, as in production. The core stays deterministic:
// counting changes no behaviour.
package cover

// Point is one named coverage point.
type Point uint8

// The points. Add a point here and to names; the simulator's coverage
// test requires each to fire in the CI seeds.
const (
	pointNone Point = iota
	// RetentionDeletedSegment: retention deleted at least one segment.
	RetentionDeletedSegment
	// TimestampLookup: ListOffsets by timestamp answered an offset.
	TimestampLookup
	// MidBatchRead: a fetch started inside a batch (not at its base).
	MidBatchRead
	// RecoveryCutShort: recovery cut at a batch that ends past the file.
	RecoveryCutShort
	// RecoveryCutLength: recovery cut at a length field out of range.
	RecoveryCutLength
	// RecoveryCutMagic: recovery cut at a magic byte that is not 2.
	RecoveryCutMagic
	// RecoveryCutCRC: recovery cut at a batch whose CRC does not match.
	RecoveryCutCRC
	// RecoveryCutOffsets: recovery cut at a CRC-valid batch whose base
	// offset does not follow its predecessor (the base offset is outside
	// the CRC; stale batches past the tail look like this too).
	RecoveryCutOffsets
	// RecoveryCutSegment: recovery dropped segments after a break in
	// their base offsets.
	RecoveryCutSegment
	// DedupWindow1..5: a retried idempotent batch was found in its
	// producer's window, n batches from the newest (1 is the newest).
	DedupWindow1
	DedupWindow2
	DedupWindow3
	DedupWindow4
	DedupWindow5
	// ListOffsetsDuringAppend: ListOffsets answered while an append to
	// the partition was in flight (past the high watermark).
	ListOffsetsDuringAppend
	// SyncCoveredLaterAppends: one sync made durable appends issued after
	// the Sync that asked for it.
	SyncCoveredLaterAppends
	// CompressedBatchAppended: a compressed batch was appended.
	CompressedBatchAppended
	// LargeBatchAppended: a batch over 64 KiB was appended.
	LargeBatchAppended
	// SegmentRolledByTime: a segment rolled because of segment.ms.
	SegmentRolledByTime
	// SegmentRolledBySize: a segment rolled because of segment.bytes.
	SegmentRolledBySize
	// TimedFlush: flush.ms made the core sync a partition.
	TimedFlush
	// LogAppendTimeBatch: a batch was stamped with the broker's time.
	LogAppendTimeBatch
	// FetchWokenByData: a parked fetch was woken by new data.
	FetchWokenByData
	// FetchExpired: a parked fetch was answered at its MaxWaitMs.
	FetchExpired
	// FetchBelowLogStart: a fetch below the log start was refused with
	// OFFSET_OUT_OF_RANGE.
	FetchBelowLogStart
	// GroupMemberIDRequired: a JoinGroup (v4+) was answered
	// MEMBER_ID_REQUIRED with the member's new id.
	GroupMemberIDRequired
	// GroupRebalanceCompleted: a group's rebalance ended in a new
	// generation with members.
	GroupRebalanceCompleted
	// GroupSessionExpired: a member was removed when its session timed
	// out.
	GroupSessionExpired
	// GroupStaticMemberReplaced: a group.instance.id rejoined under a new
	// member id, fencing the old one.
	GroupStaticMemberReplaced
	// GroupStaleCommitRejected: an OffsetCommit from another generation
	// was refused with ILLEGAL_GENERATION.
	GroupStaleCommitRejected
	// GroupOffsetsReplayed: loading a __consumer_offsets partition
	// replayed records.
	GroupOffsetsReplayed
	// CleanerRan: the cleaner rewrote segments of a compacted log.
	CleanerRan
	// CleanerRemovedTombstone: the cleaner removed a tombstone whose
	// delete horizon (delete.retention.ms after its first cleaning) had
	// passed.
	CleanerRemovedTombstone
	// CleanerDedupeBufferFull: the cleaner's key map
	// (log.cleaner.dedupe.buffer.size) filled, so it cleaned a prefix of
	// the dirty section.
	CleanerDedupeBufferFull
	// CleanerKeptEmptyBatch: every record of a batch went, and its header
	// stayed for its producer's sequence or its leader epoch.
	CleanerKeptEmptyBatch
	// CleanerSwapCompleted: recovery completed a cleaner's committed
	// output (.log.swap) left by a crash.
	CleanerSwapCompleted
	// CleanerLeftoverDiscarded: recovery removed an uncommitted cleaner
	// output (.log.cleaned) left by a crash.
	CleanerLeftoverDiscarded
	// LegacyProduceConverted: a Produce v0-2 message set (magic 0 or 1)
	// was converted to a record batch and appended.
	LegacyProduceConverted
	// LegacyCompressedProduceConverted: as LegacyProduceConverted, from a
	// compressed wrapper message.
	LegacyCompressedProduceConverted
	// LegacyFetchConverted: a Fetch v0-3 got record batches converted
	// down to magic 0 or 1.
	LegacyFetchConverted
	// LegacyCompressedFetchConverted: as LegacyFetchConverted, for a
	// compressed batch (recompressed as a wrapper message).
	LegacyCompressedFetchConverted
	// BrokerRegistered: the broker registered its ephemeral
	// /brokers/ids/<id> znode (at every start).
	BrokerRegistered
	// BrokerReregistered: the coordination session expired after the
	// broker had begun registering, and it registered anew.
	BrokerReregistered
	// BrokerListWatched: the watch on /brokers/ids fired and the broker
	// listed the live brokers again.
	BrokerListWatched
	// ControllerElected: the broker won a controller epoch and
	// /controller.
	ControllerElected
	// ControllerLost: the broker's /controller went (its session expired,
	// or the node was deleted) and it stopped being the controller.
	ControllerLost
	// LeaderElected: a LeaderAndIsr made the broker the leader of a
	// partition it did not lead.
	LeaderElected
	// LeaderResigned: a LeaderAndIsr (or StopReplica) took the leadership
	// of a partition away from the broker.
	LeaderResigned
	// LeaderMoved: the controller elected a new leader (leader epoch
	// above 0) for a partition whose leader was not live.
	LeaderMoved
	// PartitionOffline: the controller found no live replica to lead a
	// partition and left it without a leader.
	PartitionOffline
	// TopicDeleted: the controller finished a topic's deletion.
	TopicDeleted
	// ReplicaDeleted: a StopReplica deleted a replica of this broker (its
	// topic being deleted).
	ReplicaDeleted
	// ControllerSendRetried: a controller request failed or was refused
	// (its receiver had not seen the controller yet) and is sent again.
	ControllerSendRetried
	// ControlledShutdown: the controller accepted a broker's controlled
	// shutdown (it leads nothing new until it stops or registers anew).
	ControlledShutdown
	// FollowerStarted: a LeaderAndIsr made the broker follow a leader.
	FollowerStarted
	// FollowerTruncated: a follower cut its log back to where its
	// leader's agrees, by leader epoch.
	FollowerTruncated
	// FollowerAppended: a follower appended batches fetched from its
	// leader.
	FollowerAppended
	// IsrExpanded: a leader added a caught-up follower to the ISR.
	IsrExpanded
	// IsrShrunk: a leader dropped followers that fell behind for
	// replica.lag.time.max.ms from the ISR.
	IsrShrunk
	// LeaderHandedOver: the controller moved a partition's leadership
	// off a live broker that is shutting down.
	LeaderHandedOver
	// UncleanElection: with unclean.leader.election.enable, the
	// controller elected a replica outside the ISR.
	UncleanElection
	// FollowerRestarted: a follower whose log ended below its leader's log
	// start emptied it and started over there.
	FollowerRestarted
	// GroupCoordinatorMoved: a broker loaded committed offsets from an
	// offsets partition that another broker led before it: the groups'
	// coordinator moved with their offsets.
	GroupCoordinatorMoved
	// PreferredLeaderElected: an ElectLeaders request (preferred) moved a
	// partition's leadership to its preferred replica.
	PreferredLeaderElected
	// AutoLeaderRebalanced: the automatic preferred leader rebalance
	// (auto.leader.rebalance.enable) moved a leadership back to its
	// preferred replica.
	AutoLeaderRebalanced
	// ReassignmentStarted: an AlterPartitionReassignments request began
	// (or replaced) a partition's reassignment.
	ReassignmentStarted
	// ReassignmentCancelled: an AlterPartitionReassignments request
	// cancelled a reassignment under way.
	ReassignmentCancelled
	// ReassignedReplicaRemoved: a broker deleted a replica that a
	// reassignment took off it (the controller's StopReplica was taken).
	ReassignedReplicaRemoved
	// ReassignmentCompleted: the controller wrote a reassigned partition's
	// final assignment.
	ReassignmentCompleted
	// LogDirsDescribed: DescribeLogDirs answered with a partition's size
	// as the store measured it.
	LogDirsDescribed
	// UnknownProducerID: a produce from a producer the partition has no
	// state of, at a sequence other than 0, on a partition that may have
	// forgotten producers, was answered UNKNOWN_PRODUCER_ID.
	UnknownProducerID
	// ACLChangeNotified: a broker read an ACL change notification and
	// reread the resource it names.
	ACLChangeNotified
	// ACLDenied: the authorizer refused an action a request named.
	ACLDenied
	// QuotaThrottled: a client over its byte-rate quota was throttled.
	QuotaThrottled
	// DynamicConfigAltered: a topic's or a broker's dynamic
	// configuration was stored by AlterConfigs or IncrementalAlterConfigs.
	DynamicConfigAltered
	// DynamicConfigPropagated: a broker applied a configuration another
	// broker changed, through a /config/changes notification.
	DynamicConfigPropagated
	// RecordsDeleted: a DeleteRecords moved a leader's log start up.
	RecordsDeleted
	// TrimAcknowledged: a DeleteRecords partition was answered once its
	// low watermark reached the offset.
	TrimAcknowledged
	// ProducersDescribed: DescribeProducers listed an active producer.
	ProducersDescribed
	// MaxTimestampLookup: ListOffsets by max timestamp (-3) answered a
	// record.
	MaxTimestampLookup
	// GroupLagComputed: a metrics snapshot computed a coordinated
	// group's lag on a partition from its committed offset.
	GroupLagComputed
	// FetchRecordsSpliced: a fetch response's frame carried a record set
	// as a part of its own, not copied into the encoded bytes.
	FetchRecordsSpliced
	// FetchSessionCreated: a full fetch opened a fetch session (KIP-227).
	FetchSessionCreated
	// FetchSessionIncremental: an incremental fetch's answer left out a
	// partition of its session that had not changed.
	FetchSessionIncremental
	// FetchSessionForgot: an incremental fetch removed partitions from
	// its session (ForgottenTopics).
	FetchSessionForgot
	// FetchSessionEvicted: a new fetch session took the slot of another.
	FetchSessionEvicted
	// FetchSessionEpochError: a fetch was answered
	// INVALID_FETCH_SESSION_EPOCH.
	FetchSessionEpochError
	// FetchSessionNotFound: an incremental fetch named a session the
	// broker does not have (FETCH_SESSION_ID_NOT_FOUND).
	FetchSessionNotFound
	// FetchRecordsByRef: a fetch response carried a record set read by
	// reference, sent from the segment files.
	FetchRecordsByRef
	// FetchRecordsCut: a fetch response's record set read by reference
	// was cut short of what was read, to fit the response's byte limit
	// (its last batch possibly partial).
	FetchRecordsCut
	// RecoveryLoadedClean: after a clean shutdown a log was loaded
	// without reading its batches.
	RecoveryLoadedClean
	// RecoveryFromPoint: after an unclean stop a log was recovered from
	// its recovery point, trusting what lay below it (whole segments, or
	// batch headers without their CRCs).
	RecoveryFromPoint
	// RecoveryFellBack: a log whose files a clean shutdown or the
	// recovery point vouched for failed a sanity check and was
	// recovered fully.
	RecoveryFellBack
	// ScrubFoundDamage: the log scrubber found a stored batch that no
	// longer verifies (damage on the medium after it was stored).
	ScrubFoundDamage
	// ScrubPassCompleted: the log scrubber verified a partition's log to
	// its end and started over.
	ScrubPassCompleted
	// FollowerTookProducers: a follower that started over at its
	// leader's log start took the leader's producer windows of the
	// batches below it.
	FollowerTookProducers
	// SegmentDeletionDelayed: the segment store deleted the files of a
	// removed segment once file.delete.delay.ms had passed.
	SegmentDeletionDelayed
	pointCount
)

var names = [pointCount]string{
	RetentionDeletedSegment:          "retention-deleted-segment",
	TimestampLookup:                  "timestamp-lookup",
	MidBatchRead:                     "mid-batch-read",
	RecoveryCutShort:                 "recovery-cut-short",
	RecoveryCutLength:                "recovery-cut-length",
	RecoveryCutMagic:                 "recovery-cut-magic",
	RecoveryCutCRC:                   "recovery-cut-crc",
	RecoveryCutOffsets:               "recovery-cut-offsets",
	RecoveryCutSegment:               "recovery-cut-segment",
	DedupWindow1:                     "dedup-window-1",
	DedupWindow2:                     "dedup-window-2",
	DedupWindow3:                     "dedup-window-3",
	DedupWindow4:                     "dedup-window-4",
	DedupWindow5:                     "dedup-window-5",
	ListOffsetsDuringAppend:          "list-offsets-during-append",
	SyncCoveredLaterAppends:          "sync-covered-later-appends",
	CompressedBatchAppended:          "compressed-batch-appended",
	LargeBatchAppended:               "large-batch-appended",
	SegmentRolledByTime:              "segment-rolled-by-time",
	SegmentRolledBySize:              "segment-rolled-by-size",
	TimedFlush:                       "timed-flush",
	LogAppendTimeBatch:               "log-append-time-batch",
	FetchWokenByData:                 "fetch-woken-by-data",
	FetchExpired:                     "fetch-expired",
	FetchBelowLogStart:               "fetch-below-log-start",
	GroupMemberIDRequired:            "group-member-id-required",
	GroupRebalanceCompleted:          "group-rebalance-completed",
	GroupSessionExpired:              "group-session-expired",
	GroupStaticMemberReplaced:        "group-static-member-replaced",
	GroupStaleCommitRejected:         "group-stale-commit-rejected",
	GroupOffsetsReplayed:             "group-offsets-replayed",
	CleanerRan:                       "cleaner-ran",
	CleanerRemovedTombstone:          "cleaner-removed-tombstone",
	CleanerDedupeBufferFull:          "cleaner-dedupe-buffer-full",
	CleanerKeptEmptyBatch:            "cleaner-kept-empty-batch",
	CleanerSwapCompleted:             "cleaner-swap-completed",
	CleanerLeftoverDiscarded:         "cleaner-leftover-discarded",
	LegacyProduceConverted:           "legacy-produce-converted",
	LegacyCompressedProduceConverted: "legacy-compressed-produce-converted",
	LegacyFetchConverted:             "legacy-fetch-converted",
	LegacyCompressedFetchConverted:   "legacy-compressed-fetch-converted",
	BrokerRegistered:                 "broker-registered",
	BrokerReregistered:               "broker-reregistered",
	BrokerListWatched:                "broker-list-watched",
	ControllerElected:                "controller-elected",
	ControllerLost:                   "controller-lost",
	LeaderElected:                    "leader-elected",
	LeaderResigned:                   "leader-resigned",
	LeaderMoved:                      "leader-moved",
	PartitionOffline:                 "partition-offline",
	TopicDeleted:                     "topic-deleted",
	ReplicaDeleted:                   "replica-deleted",
	ControllerSendRetried:            "controller-send-retried",
	ControlledShutdown:               "controlled-shutdown",
	FollowerStarted:                  "follower-started",
	FollowerTruncated:                "follower-truncated",
	FollowerAppended:                 "follower-appended",
	IsrExpanded:                      "isr-expanded",
	IsrShrunk:                        "isr-shrunk",
	LeaderHandedOver:                 "leader-handed-over",
	UncleanElection:                  "unclean-election",
	FollowerRestarted:                "follower-restarted",
	GroupCoordinatorMoved:            "group-coordinator-moved",
	PreferredLeaderElected:           "preferred-leader-elected",
	AutoLeaderRebalanced:             "auto-leader-rebalanced",
	ReassignmentStarted:              "reassignment-started",
	ReassignmentCancelled:            "reassignment-cancelled",
	ReassignedReplicaRemoved:         "reassigned-replica-removed",
	ReassignmentCompleted:            "reassignment-completed",
	UnknownProducerID:                "unknown-producer-id",
	LogDirsDescribed:                 "log-dirs-described",
	ACLChangeNotified:                "acl-change-notified",
	ACLDenied:                        "acl-denied",
	QuotaThrottled:                   "quota-throttled",
	DynamicConfigAltered:             "dynamic-config-altered",
	DynamicConfigPropagated:          "dynamic-config-propagated",
	RecordsDeleted:                   "records-deleted",
	TrimAcknowledged:                 "trim-acknowledged",
	ProducersDescribed:               "producers-described",
	MaxTimestampLookup:               "max-timestamp-lookup",
	FetchRecordsSpliced:              "fetch-records-spliced",
	GroupLagComputed:                 "group-lag-computed",
	FetchSessionCreated:              "fetch-session-created",
	FetchSessionIncremental:          "fetch-session-incremental",
	FetchSessionForgot:               "fetch-session-forgot",
	FetchSessionEvicted:              "fetch-session-evicted",
	FetchSessionEpochError:           "fetch-session-epoch-error",
	FetchSessionNotFound:             "fetch-session-not-found",
	FetchRecordsByRef:                "fetch-records-by-reference",
	FetchRecordsCut:                  "fetch-records-cut",
	RecoveryLoadedClean:              "recovery-loaded-clean",
	RecoveryFromPoint:                "recovery-from-point",
	RecoveryFellBack:                 "recovery-fell-back",
	ScrubFoundDamage:                 "scrub-found-damage",
	ScrubPassCompleted:               "scrub-pass-completed",
	FollowerTookProducers:            "follower-took-producers",
	SegmentDeletionDelayed:           "segment-deletion-delayed",
}

func (p Point) String() string {
	if p > pointNone && p < pointCount {
		return names[p]
	}
	return "unknown"
}

// Points lists every point, in declaration order.
func Points() []Point {
	out := make([]Point, 0, pointCount-1)
	for p := pointNone + 1; p < pointCount; p++ {
		out = append(out, p)
	}
	return out
}

// Counts holds how often each point fired in one world. The zero value is
// ready; a nil *Counts ignores hits.
type Counts struct{ n [pointCount]uint64 }

// Hit counts one firing of p.
func (c *Counts) Hit(p Point) {
	if c != nil {
		c.n[p]++
	}
}

// Of returns how often p fired.
func (c *Counts) Of(p Point) uint64 {
	if c == nil {
		return 0
	}
	return c.n[p]
}

// Add adds o's counts to c.
func (c *Counts) Add(o *Counts) {
	if o == nil {
		return
	}
	for i := range c.n {
		c.n[i] += o.n[i]
	}
}

// DedupDepth returns the DedupWindow point of depth d (1 = newest).
func DedupDepth(d int) Point {
	if d < 1 || d > 5 {
		panic("cover: dedup depth outside the window")
	}
	return DedupWindow1 + Point(d-1)
}

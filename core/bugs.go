package core

// Bug names a deliberate defect that the simulator's checks must catch (a
// checker that cannot fail proves nothing; see DESIGN.md "Simulation and
// checking"). Each bug site is one or two lines marked
// "// BUG SITE (simbugs): ...", guarded by bugOn(b). Without the simbugs
// build tag bugOn is the constant false (bugs_off.go), so production builds
// compile every site away and nothing can switch a bug on; with the tag
// (bugs_on.go) tests switch bugs with SetBug.
type Bug uint8

const (
	bugNone Bug = iota
	// BugAckBeforeSync acknowledges a produce (and advances the high
	// watermark over it) once its append is written, without waiting for
	// the Sync that log.flush.interval.messages demands. A crash or a
	// failed sync then loses acknowledged records.
	BugAckBeforeSync
	// BugOffsetOffByOne reports base offset + 1 in the produce response for
	// batches of more than one record: the client learns wrong offsets.
	BugOffsetOffByOne
	// BugForgetProducerWindow drops the idempotence windows recovery
	// rebuilt from the log, as if the producers had been evicted, so a
	// producer's retry of a batch written before a crash is appended again
	// as a new batch.
	BugForgetProducerWindow
	// BugHighWatermarkAtWrite advances the high watermark over an append
	// once it is written, without waiting for the sync the flush policy
	// demands (the acknowledgement still waits): consumers see records a
	// crash may lose.
	BugHighWatermarkAtWrite
	// BugFetchPastHighWatermark lets a fetch read up to the written end
	// instead of the high watermark.
	BugFetchPastHighWatermark
	// BugLongPollNotWoken leaves parked fetches parked when new data
	// arrives: they wait their full MaxWaitMs.
	BugLongPollNotWoken
	// BugStaleGenerationCommit accepts an OffsetCommit from a member of
	// the group whose generation is not the group's: a member that missed
	// a rebalance overwrites the offsets of a partition it no longer owns.
	BugStaleGenerationCommit
	// BugLegacyWrapperAtFirst gives a down-converted wrapper message the
	// offset of its first inner message instead of its last: magic 1
	// consumers, which count inner offsets back from the wrapper's, read
	// every compressed record at a wrong offset.
	BugLegacyWrapperAtFirst
	// BugLegacyDropsLastMessage converts a legacy message set of several
	// messages without its last one: its producer is told every offset,
	// and one acknowledged record is never stored.
	BugLegacyDropsLastMessage
	// BugIgnoreNewSession ignores a change of coordination session, so a
	// broker whose session expired stays unregistered.
	BugIgnoreNewSession
	// BugBrokerListUnwatched lists /brokers/ids without leaving a watch,
	// so brokers that register or go later are never seen.
	BugBrokerListUnwatched
	// BugControllerStaleEpoch campaigns without taking a new controller
	// epoch: a controller acts on the epoch of the one before it.
	BugControllerStaleEpoch
	// BugTruncateToHighWatermark makes a follower repair its log by
	// truncating to its high watermark instead of by leader epoch.
	BugTruncateToHighWatermark
	// BugServeAfterMove keeps a broker leading a partition after a
	// LeaderAndIsr gave it to another broker: it goes on answering
	// produces and fetches.
	BugServeAfterMove
	// BugAckBeforeISR acknowledges an acks=all produce once the leader
	// holds it durably, without waiting for the ISR to have it: a leader
	// that fails before its followers fetched it loses it.
	BugAckBeforeISR
	// BugElectOutsideISR lets the controller elect any live replica when
	// no ISR member is live, though unclean.leader.election.enable is
	// false: what the ISR had and the new leader lacks is lost.
	BugElectOutsideISR
	// BugZombieAdvancesHWM makes a leader take the ISR it wrote even when
	// the conditional write failed (the controller moved the partition
	// meanwhile, or the leader is cut off from the ensemble): a replaced
	// leader drops its followers and advances its high watermark alone,
	// acknowledging acks=all writes the new leader never has.
	BugZombieAdvancesHWM
	// BugFollowerSkipsRepair makes a follower take its log as agreeing
	// with its new leader's: it never truncates, and keeps records of
	// its own where the leader has others.
	BugFollowerSkipsRepair
	// BugACLChangesIgnored makes a broker read ACL change notifications
	// without rereading the resources they name: another broker's
	// changes reach it only when it loads every ACL again (a new
	// session).
	BugACLChangesIgnored
	// BugConfigChangesIgnored makes a broker list configuration change
	// notifications without rereading the entities they name: another
	// broker's changes reach it only at its next registration.
	BugConfigChangesIgnored
	// BugTrimInMemory makes a DeleteRecords move the leader's log start
	// in memory only, without the store's durable checkpoint: the trim
	// is acknowledged, and a restart brings the trimmed records back.
	BugTrimInMemory
	// BugLagPastCommit computes a group's lag as if its committed
	// offset were the last record it read rather than the next one to
	// read: the lag shows one record too few.
	BugLagPastCommit
	// BugSessionKeepsFetchOffset makes a fetch session keep a
	// partition's fetch offset when an incremental fetch lists the
	// partition at a new one: the broker reads from where the consumer
	// was, not where it is.
	BugSessionKeepsFetchOffset
	// BugSessionHidesHighWatermark makes an incremental fetch's answer
	// leave out a partition whose high watermark changed since the
	// session last told it, unless records or an error come with it:
	// the consumer goes on believing the old one.
	BugSessionHidesHighWatermark
	// BugSyncHandsLeaderAssignment gives every member of a generation,
	// when the leader's SyncGroup is stored, the leader's own assignment
	// instead of the one the leader sent for it: members own the same
	// partitions, and the others' partitions nobody.
	BugSyncHandsLeaderAssignment
	// BugSessionNeverExpires ignores a member's session deadline: a
	// member that stopped heartbeating stays in the group, owning its
	// partitions, and its next heartbeat is accepted.
	BugSessionNeverExpires
	// BugRebalanceLeftOpen answers the SyncGroups once the leader's
	// assignment is stored but leaves the group CompletingRebalance: its
	// members' commits are refused with REBALANCE_IN_PROGRESS, they
	// rejoin, and the group never settles.
	BugRebalanceLeftOpen
	bugCount
)

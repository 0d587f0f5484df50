// Package segment is the partition log: Kafka's on-disk format over the
// kio.FS port, deterministic (no clock, no goroutines, no os), shared by the
// production runtime and the simulator.
//
// # Directory
//
//	<partition dir>/                      e.g. orders-3/
//	  00000000000000000000.log            record batches, back to back
//	  00000000000000000000.index          sparse offset index
//	  00000000000000000000.timeindex      sparse time index
//	  00000000000000004711.log            next segment: base offset 4711
//	  00000000000000004711.index
//	  00000000000000004711.timeindex
//	  leader-epoch-checkpoint             epoch -> start offset, text
//	  log-start-offset-checkpoint         see start.go
//	  producer-snapshot                   see snapshot.go
//	  00000000000000000000.index.tmp      a clean's new index being written
//	  cleaner-offset-checkpoint           compaction: see clean.go, swap.go
//	  cleaner-rewrite-offset-checkpoint
//	  00000000000000000000.log.cleaned    a clean's output being written
//	  00000000000000000000.log.swap       a clean's output, committed
//
// A segment is named by its base offset, 20 decimal digits, zero padded.
// The last segment is the active one; only it is appended to. Segments are
// contiguous: each segment's base offset is the previous segment's next
// offset (last offset + 1), because a roll always starts the new segment at
// the log end offset. Every segment but the active one holds at least one
// batch. The log start offset is the first segment's base offset (only
// whole segments are ever deleted), or past it where retention moved it.
//
// Compaction (clean.go) rewrites segments below the cleaner rewrite bound,
// keeping records at their offsets, so there these rules relax: batches
// may skip offsets, a segment may end before the next one begins (its last
// records removed) and may be empty. Offsets still only go up, and a batch
// keeps its base and last offsets, so it may hold fewer records than its
// offsets span (RecordCount <= LastOffsetDelta+1).
//
// # .log
//
//	┌──────────────┬──────────────┬─────┬──────────────┐
//	│ batch (v2)   │ batch (v2)   │ ... │ batch (v2)   │
//	└──────────────┴──────────────┴─────┴──────────────┘
//
// Each batch is exactly as on the wire (see core.BatchHeader). Within a
// segment base offsets strictly increase and every offset o satisfies
// 0 <= o - segment base <= MaxInt32; a segment is below 2 GiB so that file
// positions fit the index's int32.
//
// # .index (8-byte entries, big endian)
//
//	┌─────────────────────────┬─────────────────────────┐
//	│ relative offset  uint32 │ file position    uint32 │  ... repeated
//	└─────────────────────────┴─────────────────────────┘
//
// An entry (rel, pos) says that the batch whose last offset is base+rel
// starts at pos. Entries are added per batch, as Kafka's LogSegment.recover
// does: for the batch at position pos, when pos - (position of the previous
// entry, or 0) > IndexIntervalBytes. Both offsets and positions strictly
// increase. To find offset o: take the last entry with rel <= o - base (or
// position 0) and read batch headers forward.
//
// # .timeindex (12-byte entries, big endian)
//
//	┌──────────────────────────┬─────────────────────────┐
//	│ timestamp ms      int64  │ relative offset  uint32 │  ... repeated
//	└──────────────────────────┴─────────────────────────┘
//
// An entry (ts, rel) says that ts is the largest batch MaxTimestamp in the
// segment up to the batch whose last offset is base+rel. An entry is added
// when an offset index entry is added and the running maximum exceeds the
// last entry's timestamp, and once more when a segment stops being active.
// Timestamps strictly increase. To find the first batch with MaxTimestamp >=
// ts: take the last entry with timestamp < ts, look its offset up in the
// offset index and read headers forward from there.
//
// Kafka preallocates index files to segment.index.bytes and trims them on
// roll; this package keeps them exactly sized (append only), which Kafka's
// own loader accepts. The two index files are a cache that recovery
// rebuilds from the .log; a restart trusts them only where the recovery
// point or a clean shutdown vouches for them (see "Restart"), so Sync
// fsyncs a segment's indexes once, after the segment is sealed, and Close
// fsyncs them all. SegmentIndexBytes still bounds them: a segment rolls
// when either index would exceed it.
//
// # leader-epoch-checkpoint (Kafka's text format)
//
//	0                 version
//	2                 number of entries
//	0 0               epoch start-offset
//	3 1200
//
// The leader epoch cache is derived from the PartitionLeaderEpoch of the
// batches: an entry (e, o) for the first batch with epoch e > every earlier
// epoch. Retention moves the first entry's start up to the log start
// offset, as Kafka's truncateFromStart does. The file is rewritten (tmp +
// rename) by Sync when the cache changed, and by Open when what it
// loaded differs. A full recovery rebuilds the cache from the batches
// and does not trust the file; a restart that trusts segments takes
// their entries from it (see "Restart").
//
// # Recovery (Open)
//
// Open lists the .log files in base-offset order and scans every segment
// from position 0, reading headers through a bounded buffer and seeking by
// batch length. Every batch of every segment is checked: a full 61-byte
// header, length within the file, magic 2, CRC-32C, codec, record counts,
// base offset above the previous batch's last offset and at or above the
// segment base, relative offsets within int32, and the segment's base equal
// to the previous segment's next offset. At the first failure the segment
// is truncated there and synced, and every later segment is deleted (then
// the directory is synced). So any prefix of valid batches followed by any
// bytes recovers to exactly that prefix. Index files without a .log and
// leftover .tmp/.deleted files are removed; the indexes of every kept
// segment are rebuilt from its .log, and the producer windows and leader
// epoch cache from its batch headers.
//
// Before the scan, recovery finishes what a crash left of a clean: an
// uncommitted output (.log.cleaned) is deleted, a committed one
// (.log.swap) completed (swap.go), and the indexes of the segment it
// replaces deleted. Segments below the cleaner rewrite
// bound are checked with the relaxed offset rules above (each batch's
// offsets past the previous batch's and below the next segment's base);
// the log end is at least the bound, since every offset below it was
// assigned before.
//
// # Restart (OpenWith)
//
// Restart time does not grow with the data kept: as Kafka's LogLoader,
// OpenWith reads only what no durable record vouches for. Two files in
// the log directory's root, written by the runtime (io/driver), vouch
// (logdir.go):
//
//	<log dir>/.kafka_cleanshutdown               every log was synced and
//	                                             closed (Close), nothing
//	                                             written since
//	<log dir>/recovery-point-offset-checkpoint   per partition, an offset
//	                                             below which its log is
//	                                             durable (RecoveryPoint)
//
// The runtime deletes the marker, durably, before it opens any log, and
// writes the checkpoint after loading, every
// log.flush.offset.checkpoint.interval.ms, and at shutdown before the
// marker.
//
//	                  marker?
//	          yes ┌──────┴──────┐ no
//	every segment trusted    recovery point R checkpointed?
//	                     yes ┌─────┴─────┐ no, or unreadable
//	      segments before the one        every segment checked
//	      holding R trusted; that one    (Recovery, above)
//	      read from its start: below R
//	      headers only, from R on (and
//	      every later segment) checked
//
// A trusted segment is opened without reading its batches: its size is
// the file's, its next offset found by reading the headers after its
// last offset index entry, its newest timestamp from the last time index
// entry and those headers. It must pass a sanity check first (the index
// files exist and hold whole entries, increasing; the last offset index
// entry names a batch that starts there and ends at its offset; the
// headers from there run exactly to the file's end; segments follow one
// another, see loadSegment). The leader epoch cache comes from
// leader-epoch-checkpoint (its entries below the first segment read) and
// the producer windows from the producer snapshot, when it is as of an
// offset the batches read reach (else from the trusted segments'
// headers). If any check fails, or R lies past the log end recovered,
// the log is recovered fully and the reason reported (Loaded).
//
// What makes the trust sound:
//
//   - RecoveryPoint is the log end as of the last Sync that completed,
//     lowered to the base of the first sealed segment whose indexes
//     changed since their fsync: Sync fsyncs the .log files, then the
//     indexes of the segments sealed since (once each), the epoch
//     checkpoint and, after a roll, a producer snapshot. Open leaves
//     everything it kept durable (recovered segments and their sealed
//     indexes, the epoch checkpoint, a producer snapshot) before its
//     recovery point is the log end.
//   - A recovery rebuilds a segment's indexes under temporary names and
//     renames them into place once whole, the time index first, and
//     every sync writes the time index before the offset index: a crash
//     never leaves an offset index that reaches past the batches the
//     time index covers, which would hide their timestamps from a load
//     that trusts the two (a time index ahead is harmless: its last
//     entry names a batch found from any offset index entry before it).
//   - Whatever changes data below a checkpointed recovery point removes
//     the partition from the checkpoint first: the core asks the runtime
//     to write the checkpoint without it right before a TruncateTo or a
//     Delete (a log created under the same name must not inherit its
//     entry), and leaves it out until the truncation completed, when
//     TruncateTo has lowered its own recovery point to the base of the
//     segment it cut. RestartAt needs nothing: its new segments all lie
//     past the old recovery point.
//   - The cleaner rewrites segments below the recovery point, so its
//     swap keeps every crash state trustworthy: the replaced segment's
//     indexes are deleted (durably) before its new .log is renamed into
//     place, and the new indexes are written under .tmp names, fsynced
//     and renamed in. A segment without indexes fails the sanity check.
//   - A clean shutdown's Close syncs everything, writes a producer
//     snapshot as of the log end and fsyncs every index.
//
// What a restart does not do that a full recovery does: check the CRCs
// of trusted batches. Damage the medium does to synced data is then
// found by reads, which check every batch they hand out (see Reads).
//
// # Log start offset: per partition, not Kafka's root file
//
// Kafka checkpoints every log's start offset in one root file,
// log-start-offset-checkpoint, every
// log.flush.start.offset.checkpoint.interval.ms, so a crash may bring a
// log start back (and records DeleteRecords removed). Here each
// partition keeps its own one-entry file of Kafka's format (start.go),
// written durably before a new log start is reported, so a log start the
// broker advertised or a DeleteRecords acknowledged is never undone. A
// root file would have to be rewritten, with two fsyncs, for every
// partition's every move, and shared by every partition's IO; the
// per-partition file costs one small read per log at restart. The
// interval property is accepted and has no effect.
//
// # Reads (Read)
//
// A read locates its first batch, then copies once. The position comes
// from the segment's read hint when the offset is where the previous read
// of the segment stopped (a consumer's next fetch), else from the offset
// index and a forward scan of 61-byte headers through a 4 KiB window the
// Log reuses. Then one ReadAt copies [start, start+maxBytes) (bounded by
// the segment's size) straight into the result, which is allocated once,
// and the batch headers are walked in those bytes: the walk cuts at
// maxBytes and at the below offset and verifies the CRC of every batch it
// keeps, so the bytes checked are the bytes returned. Only with minOne and
// a first batch larger than what was read does a second ReadAt follow.
//
// # Deleting removed segments (file.delete.delay.ms)
//
// A segment that retention, TruncateTo, RestartAt or the cleaner's swap
// removes leaves the log at once. With LogConfig.FileDeleteDelayMs > 0
// its files are renamed <name>.deleted and stay open, so that spans
// handed out before are still served, until a Retain at or past the
// removal's clock plus the delay deletes them (deletion.go); Close and
// Delete delete them at once, and Open removes any a crash left.
//
// # Scrubbing (Scrub)
//
// Scrub re-verifies stored batches from a cursor that walks the segments
// over and over, a bounded number of bytes per call (scrub.go). A batch
// that fails marks its segment damaged from its position: reads refuse
// the segment from there on, and the next append rolls a damaged active
// segment. The mark lives in memory; recovery finds the damage again.
//
// # Segment age (segment.ms)
//
// A segment's age base is the nowMs of the Append that wrote its first
// batch; after a restart it is the MaxTimestamp of its first batch, as
// Kafka's rollingBasedTimestamp. A segment rolls when it is non-empty and
// nowMs - base > SegmentMs (SegmentMs <= 0 disables age rolling).
//
// # Durability
//
// Append writes; Sync fsyncs every .log written since the last Sync, in
// offset order, then the indexes of the segments sealed since, then the
// directory if names changed (see "Restart" for what else it writes). Retain and the
// deletions of recovery sync the directory before they return; TruncateTo
// ends with a Sync. A failed write or sync
// poisons the Log: every later call returns ErrFailed wrapping the cause,
// and the owner must reopen it (recovery repairs whatever the failure
// left), the way Kafka takes a log directory offline.
//
// A Log is not safe for concurrent use.
package segment

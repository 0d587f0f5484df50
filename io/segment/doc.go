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
// own loader accepts. The two index files are a cache: Open rebuilds them
// from the .log of every segment, so Sync does not fsync them (Close does).
// SegmentIndexBytes still bounds them: a segment rolls when either index
// would exceed it.
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
// rename) by Sync when the cache changed; Open rebuilds the cache from the
// batches and does not trust the file (it only compares it, to avoid a
// rewrite when nothing changed).
//
// No recovery-point checkpoint is written: Open verifies every segment.
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
// (.log.swap) completed (swap.go). Segments below the cleaner rewrite
// bound are checked with the relaxed offset rules above (each batch's
// offsets past the previous batch's and below the next segment's base);
// the log end is at least the bound, since every offset below it was
// assigned before.
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
// offset order, then the directory if names changed. Retain and the
// deletions of recovery sync the directory before they return; TruncateTo
// ends with a Sync. A failed write or sync
// poisons the Log: every later call returns ErrFailed wrapping the cause,
// and the owner must reopen it (recovery repairs whatever the failure
// left), the way Kafka takes a log directory offline.
//
// A Log is not safe for concurrent use.
package segment

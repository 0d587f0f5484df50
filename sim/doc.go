// Package sim is Cloud Kafka's deterministic simulator: one broker, its
// disk, a network and Kafka clients in one goroutine, driven by one event
// queue in virtual time, with every random choice drawn from one seeded
// PRNG. A run is a function of its seed; Run returns a hash of everything
// that happened (the trace) and the failures of the checks.
//
// # The world
//
//	           sendToBroker (latency, in order)          driver.Handle
//	clients ──────────────────────────────────▶ conn ───────────────▶ core.Broker
//	(admin,  ◀────────────────────────────────── conn ◀─────────────── (io/driver over
//	producers, sendToClient (in request order)      Transport.Respond   memfs + FileCoordinator)
//	consumers)
//
// Events are closures ordered by (virtual instant, sequence number). The
// broker runs the production driver (io/driver) over the crashable memfs,
// so the real segment store and recovery run under the sim's crashes.
// Storage effects run synchronously inside one Handle; their completions
// pass the driver's Hold hook, through which a slow disk delivers them
// late (so a crash can fall between a write and its acknowledgement).
// Crash points (fault crash-at-io) crash the broker just before a chosen
// file operation, inside Handle, by unwinding it with a panic that
// world.handle recovers.
//
// # Faults (swarm: each seed draws a subset and its rates)
//
//   - crash: power loss; unsynced data lost or torn per the seed's memfs
//     crash policy; restart with recovery.
//   - crash-at-io: crash just before a chosen file operation.
//   - clean-restart: the broker is stopped as SIGTERM stops it (the
//     driver's Close syncs and closes every log, checkpoints the recovery
//     points and writes the clean shutdown marker) and started again,
//     which loads its logs without reading them (restart.go).
//   - bit-flip: before a crash, a bit flips in a segment's unsynced tail
//     (a flip in synced data is media damage one replica cannot survive:
//     TestSyncedBitFlipRestart shows recovery truncates there instead of
//     serving it).
//   - synced-flip: while the broker runs, a bit flips in a stored,
//     synced, acknowledged batch (media damage); the log scrubber must
//     find and report it within a bound, and from then on no read serves
//     it (scrub.go). Only where nothing restarts the broker.
//   - header-flip: before a crash, bits flip in one header field of a
//     batch in a segment's unsynced tail, a field the CRC does not cover
//     (base offset, batch length, partition leader epoch, magic, the CRC
//     itself), and the crash keeps the tail through that batch. Recovery
//     cuts there, except for a damaged leader epoch, which no check can
//     see (Kafka's recovery does not either).
//   - header-tear: a crash cuts a segment's unsynced tail at a place
//     inside the 61-byte header of one of its batches.
//   - stale-batch: after a crash, a copy of an older CRC-valid batch of a
//     segment lies past the segment's surviving end, where its lost tail
//     was (an old write replayed); recovery cuts at the offsets going
//     backwards, and nothing stale is ever served.
//   - segment-gap: before a crash the file system commits a partition
//     directory's names on its own (as a journal commit may), and the
//     crash loses the unsynced tail of a segment that a later segment
//     follows; recovery drops the later segments at the break. It cannot
//     fire while log.flush.interval.messages=1: the driver syncs every
//     append before another can roll the segment, so only the active
//     segment ever has an unsynced tail.
//   - io-error: a segment write or fsync fails (EIO); the partition goes
//     offline with KAFKA_STORAGE_ERROR until the broker is restarted.
//   - disk-full: for a window every segment write fails with ENOSPC; when
//     space is freed the broker is restarted.
//   - slow-disk: for a window a share of storage and coordination
//     completions reach the broker late, possibly reordered.
//   - pause: the broker process stops (SIGSTOP, GC); events queue and are
//     handled in order when it resumes.
//   - clock-jump-forward / clock-jump-back: the broker's clock moves; the
//     core keeps its own time monotonic.
//   - partition: frames between the broker and one client (or all) stall,
//     in one direction or both; clients time out (request.timeout),
//     reconnect, and their in-flight operations become indefinite.
//   - conn-reset, latency-spike: a connection breaks; a frame is late.
//
// The targeted kinds (header-flip, header-tear, stale-batch, segment-gap;
// corrupt.go) touch only bytes written after a file's last fsync, and
// stale-batch only where the crash lost such bytes: nothing the disk had
// made durable is damaged, whatever the flush policy, so (acknowledged
// implying synced) nothing acknowledged is. synced-flip is the one fault
// that damages durable, acknowledged data, and the checks excuse what it
// destroys (History.Damaged).
//
// # Clients
//
// Idempotent producers (retries, up to five batches in flight per
// partition), plain producers with acks 0, 1 or all, each with its
// compression codec (none, gzip, snappy raw or framed, lz4, zstd) and now
// and then a batch over 64 KiB; consumers that resolve positions with
// ListOffsets (earliest or latest) at start, after OFFSET_OUT_OF_RANGE and
// after restarts, seek (mid-batch too), keep max.poll.records of a fetch
// so that the next one resumes mid-batch, and probe ListOffsets for
// earliest, latest and by timestamp; and an admin that creates the
// topic, adds partitions and creates topics during the run and checks
// Metadata for every acknowledged change. Timeouts and lost connections
// are indefinite outcomes, never failures; so are retriable errors and
// KAFKA_STORAGE_ERROR.
//
// # A run
//
//  1. Setup: the seed draws the broker's segment and index sizes, the disk's
//     crash policy (torn tails, garbage), latency, the clients and the
//     fault mix. The admin creates the topic.
//  2. Faults: clients run while faults fire, for Config.Duration of
//     virtual time.
//  3. Drain (liveness): faults stop; a probe producer writes one batch to
//     every partition and must be acknowledged (every partition writable),
//     the admin's Metadata must show every acknowledged change, and every
//     consumer must read every acknowledged record. It fails after a
//     minute without consumer progress or five minutes in all.
//  4. Check: CheckHistory runs the queue checks over the recorded history
//     (check.go, monotonic.go), and CheckLinearizable checks each
//     partition's history against a porcupine model of a partition log
//     (linearize.go, package linearizability): about the first 1,000
//     operations per partition, with a timeout whose expiry is a failure.
//     A failing partition's porcupine visualization is written as HTML
//     when Config.VizDir is set (cksim -viz).
//
// Each seed draws the topic's flush policy (policy.go), and about a third
// compact the topic (compaction.go: keyed records over few keys,
// tombstones, small segments; a final reader after the faults, and checks
// of what the cleaner keeps, in place of the contiguous-log ones). Under
// flush.messages=1 an acknowledgement implies the data was synced, so no
// acknowledged record may be lost by a power loss; under a policy that
// acknowledges before fsync, crashes are process crashes (the page cache
// survives), as Kafka promises nothing more. Either way every answer is
// held against the disk's durable image when it is sent (durable.go).
// Storage may be asynchronous (storage.go) and requests may arrive in
// bursts.
//
// Every start is checked where it trusts the disk (restart.go): each log
// loaded as the start loads it (after a clean shutdown, or from its
// recovery point) must be what a full recovery of a copy of the same disk
// finds (recovery-shortcut); a start finds the clean shutdown marker only
// if no log changed since the clean stop that wrote it
// (clean-shutdown-marker); and whenever a process stops, the recovery
// points on disk lie within the durable logs (recovery-point).
//
// # Determinism
//
// Nothing reads a clock, starts a goroutine or lets map order reach
// behaviour; the trace hash (see tracer) covers every request, response,
// tick, connection event, file operation and fault, and a test runs seeds
// twice to compare it.
package sim

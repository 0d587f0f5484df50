// Package linearizability checks recorded histories of one Cloud Kafka
// partition against a sequential specification of a committed log, with
// porcupine (github.com/anishathalye/porcupine).
//
// The package does not depend on the simulator: callers (the simulator,
// real-cluster tests) translate what they recorded into a
// [PartitionHistory] and call [CheckPartition], then, on failure or when
// asked, [WriteVisualization].
//
// # Sequential specification
//
// The state is the committed log of the partition: the sequence of record
// values at offsets 0, 1, 2, ..., and the log start offset each broker
// told (the Source of a fetch or list), which its retention moves
// forward, never back and never past the log end. Another broker may
// tell a lower one: a new leader that had not yet taken its
// predecessor's retention still holds what lies below, and serves it, as
// Kafka's does. (No compaction, no transactions.) Every acknowledged
// record is committed (one replica, or acks=all). Operations:
//
//   - Produce OK (values, base offset b): appends the values as one batch;
//     legal only if the log length is b at the linearization point.
//   - Produce Unknown (indefinite or pending): either appends the values
//     somewhere after its call, at whatever offset the log has reached, or
//     has no effect at all. It never returns: it is concurrent with every
//     operation that begins after its call. Left like that, a few dozen
//     of them make porcupine's search exponential, so they are narrowed
//     using what the whole history observed (reduce.go argues each step;
//     none can make an illegal history legal, and a test compares
//     verdicts with and without them): a copy whose values some fetch
//     returned appends exactly at the offset they were read at, before
//     the first observation of a longer log; one nobody read appends
//     only at an offset left free for it (no read, acknowledged or
//     placed record there), starts no earlier than the last operation
//     that saw the log short of every such offset, is bounded by the
//     first observation that leaves it no free offset, or dropped
//     when no offset below everything observed is free for it (as when a
//     run ends by reading the whole log); values nobody read are all the
//     same value in the model's log.
//   - Produce Failed: definitely no effect; left out of the history.
//   - Fetch OK (From, HighWatermark, Records): legal iff the log length is
//     HighWatermark at the linearization point and Records are a
//     contiguous prefix of log[From:HighWatermark] (empty allowed: a fetch
//     may return fewer records than are available). Records below From
//     (the rest of the batch that contains From) are dropped before
//     checking. A From above HighWatermark must come with no records, and
//     a From below the log start its broker told is never answered with
//     records. Failed or unanswered fetches read nothing and are left
//     out.
//   - ListOffsets latest: the returned offset is the log length; earliest:
//     the returned offset is its broker's log start, which it may move
//     forward (retention moved it) up to the log end, never back.
//
// # Soundness assumptions
//
//   - One partition is one porcupine history. Reads are served by the
//     partition leader and validated against its epoch; a deposed leader's
//     or a follower's answers must not be passed in (Kafka does not
//     promise they are linearizable).
//   - The high watermark reported by a fetch is the committed length at
//     one instant inside the fetch's interval, and the broker exposes only
//     committed records.
//   - Values are compared as strings. Workloads should make them unique
//     (the checker stays sound if they are not, it only loses the
//     narrowings, below).
//   - A non-idempotent producer that sent a batch more than once may have
//     appended it more than once: set [Produce.Duplicates] and each extra
//     send becomes an Unknown append of the same values (narrowed like
//     the others: placed where read, else usually dropped).
//   - The narrowings rely on unique values; produces carrying a value
//     another produce carries are checked with the plain encoding (every
//     indefinite copy may append anywhere after its call, and is kept by
//     any cut), which is sound but slow.
//   - Checks must be bounded: porcupine is exponential in concurrency.
//     Bound each partition's check to about 1,000 operations ([Cut]
//     checks a sound prefix, by log offset, and still narrows with the
//     whole history) and always pass a timeout.
//
// # Verdicts
//
// [Result.Verdict] is porcupine.Ok, porcupine.Illegal, or porcupine.Unknown
// when the timeout expired first. Unknown proves nothing: callers must
// report it as a failure (inconclusive check), never as a pass; see
// [Result.Passed].
package linearizability

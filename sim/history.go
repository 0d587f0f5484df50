package sim

import "cloudkafka/core"

// OpKind is the kind of a recorded client operation.
type OpKind uint8

const (
	OpProduce     OpKind = iota + 1 // one record batch to one partition
	OpFetch                         // one Fetch request over some partitions
	OpListOffsets                   // one ListOffsets request over some partitions
	OpAdmin                         // one CreateTopics, CreatePartitions or Metadata request
	OpSeek                          // a consumer moved its position (Partition, Offset) itself
	OpSync                          // a group member's SyncGroup: its assignment for a generation
	OpCommit                        // a group member's OffsetCommit of one partition (Partition, Offset)
	OpOffsetFetch                   // a group member's OffsetFetch (Committed)
)

func (k OpKind) String() string {
	switch k {
	case OpProduce:
		return "produce"
	case OpFetch:
		return "fetch"
	case OpListOffsets:
		return "list-offsets"
	case OpAdmin:
		return "admin"
	case OpSeek:
		return "seek"
	case OpSync:
		return "sync-group"
	case OpCommit:
		return "offset-commit"
	case OpOffsetFetch:
		return "offset-fetch"
	}
	return "unknown"
}

// Outcome is what the client knows about an operation when it ends.
type Outcome uint8

const (
	// Pending: the operation had not completed when the run ended.
	// Checkers treat it as indefinite.
	Pending Outcome = iota
	// OK: acknowledged (produce) or answered (fetch).
	OK
	// Failed: definitely had no effect.
	Failed
	// Indefinite: may or may not have taken effect (lost connection,
	// retries exhausted after an ambiguous attempt).
	Indefinite
)

func (o Outcome) String() string {
	return [...]string{"pending", "ok", "failed", "indefinite"}[o]
}

// Op is one client operation in the history. Call and Return are virtual
// instants: the operation took effect, if at all, somewhere in
// [Call, Return]. Return is zero while Pending.
type Op struct {
	ID     int
	Client string
	Kind   OpKind
	// Broker answered the operation (a produce: the last attempt's).
	Broker  core.BrokerID
	Call    core.Instant
	Return  core.Instant
	Outcome Outcome

	// Produce: Values were produced as one batch to Partition; when OK
	// they sit at Offset, Offset+1, ... Idempotent says the producer used
	// a producer id and sequence numbers. ErrorCode is the last Kafka
	// error seen (0 if none). Attempts counts sends.
	Partition  int32
	Values     []string
	Offset     core.Offset
	Idempotent bool
	ErrorCode  int16
	Attempts   int
	// LastSent is when the last attempt was sent.
	LastSent core.Instant
	// Keys and Tombstones, in a compacted topic only, parallel Values:
	// each record's key ("" for a key that no other record shares, such
	// as a large batch's random bytes) and whether it is a tombstone (a
	// null value; its identity, Values[i], travels in an "id" header).
	// ClockAtCall is the broker's clock when the produce began (the
	// largest tick its running incarnation had seen; a bound from below
	// on any delete horizon its tombstones get), or -1 if it was down.
	Keys        []string
	Tombstones  []bool
	ClockAtCall core.Instant
	// NoTimestamp: a legacy produce of magic 0, whose records carry no
	// timestamp (-1) unless the topic stamps them with LogAppendTime.
	NoTimestamp bool

	// BrokerClock, for answered operations in a compacted topic, is the
	// largest clock any broker incarnation had been given when the
	// answer arrived: nothing the answer reflects happened at a later
	// broker time.
	BrokerClock core.Instant

	// Fetch: one entry per partition asked for.
	Fetches []FetchPart

	// ListOffsets: one entry per partition asked for.
	Listed []ListedOffset

	// Admin: what was asked (for example "create-partitions sim 3") and,
	// for Metadata, the partition count seen per topic.
	Admin string
	Seen  map[string]int32

	// Group operations (the group simGroup): the Member id and the
	// Generation the request carried. Sync: the partitions the member
	// was Assigned and, from the leader, the assignment it Sent. Commit:
	// Partition and Offset, with ErrorCode. OffsetFetch: what was
	// Committed.
	Member   string
	Instance string // a static member's group.instance.id, or ""
	// Earlier: a static member's earlier member ids (its instance
	// rejoined under new ones), newest last.
	Earlier    []string
	Generation int32
	Assigned   []int32
	Sent       map[string][]int32
	Committed  []CommittedOffset
}

// CommittedOffset is one partition's committed offset as an OffsetFetch
// answered it (-1: none).
type CommittedOffset struct {
	Partition int32
	Offset    core.Offset
}

// ListedOffset is one partition of a ListOffsets: asked for Timestamp
// (-2 earliest, -1 latest, else a time in ms), answered ErrorCode, Offset
// and, by timestamp, the record's Answered timestamp.
type ListedOffset struct {
	Partition int32
	Timestamp int64
	ErrorCode int16
	Offset    core.Offset
	Answered  int64
}

// FetchPart is one partition of a fetch: asked at From, the broker
// answered ErrorCode and HighWatermark and these records (only records at
// or past From; a fetch returns whole batches).
type FetchPart struct {
	Partition     int32
	From          core.Offset
	ErrorCode     int16
	HighWatermark core.Offset
	LogStart      core.Offset // the log start offset answered (Fetch v5+), else -1
	Records       []ReadRecord
	// Next is where the consumer's position went: past the last record
	// it kept, or, when it kept every record returned, past the last
	// batch returned (a compacted batch may end after its last record).
	Next core.Offset
}

// ReadRecord is one record a consumer read. Value is the record's
// identity: its value, or for a tombstone (Tombstone) its "id" header.
type ReadRecord struct {
	Offset    core.Offset
	Value     string
	Tombstone bool
}

// History is every operation of a run, in invocation order.
type History struct {
	Ops []*Op
	// Retention says the workload topic has retention.ms or
	// retention.bytes small enough to delete records during the run:
	// records below a log start the broker reported may be gone, and a
	// consumer below it gets OFFSET_OUT_OF_RANGE.
	Retention bool
	// LogAppendTime says records carry the broker's append time, not the
	// producer's (the workload stamps each batch with its Call instant).
	LogAppendTime bool
	// Compacted says the topic's cleanup.policy includes compact: reads
	// skip the offsets of records the cleaner removed (see compaction.go
	// for the checks this changes and the ones it adds).
	Compacted bool
	// DeleteRetentionMs is the compacted topic's delete.retention.ms.
	DeleteRetentionMs int64
	// Incarnations lists, in order, when each broker incarnation began
	// and the first clock it was given (compaction.go bounds delete
	// horizons with them).
	Incarnations []Incarnation
	// CleanedTo holds each partition's cleaner checkpoint (on disk) when
	// the final reader began: the reader, client finalReader, starts once
	// the faults stop and reads every partition from its log start to the
	// end.
	CleanedTo map[int32]core.Offset
	// Hosts names, per partition of a compacted topic, the broker that
	// holds it (its only replica), noted with CleanedTo.
	Hosts []core.BrokerID
	// ACL is what became of the victim's ACL (acl.go).
	ACL ACLHistory
	// Damaged lists the offsets whose records media damage destroyed on
	// the partition's only replica, or that its broker refuses since its
	// scrubber found the damage (scrub.go): not lost writes.
	Damaged []DamagedRange
}

// hostedBy says broker id holds partition part (every partition, when
// the hosts were not noted).
func (h *History) hostedBy(part int32, id core.BrokerID) bool {
	return int(part) >= len(h.Hosts) || h.Hosts[part] == id
}

// Incarnation is one run of the broker process.
type Incarnation struct {
	Broker    core.BrokerID
	At        core.Instant // virtual time it started
	FirstTick core.Instant // the first clock it was given
}

func (h *History) begin(op *Op) *Op {
	op.ID = len(h.Ops)
	h.Ops = append(h.Ops, op)
	return op
}

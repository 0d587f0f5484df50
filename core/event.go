package core

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Event is the closed set of inputs to Broker.Step.
type Event interface{ isEvent() }

// Effect is the closed set of outputs of Broker.Step. The runtime executes
// effects in the order they were emitted.
type Effect interface{ isEffect() }

// RequestHeader is the decoded Kafka request header.
type RequestHeader struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
}

// Request is one decoded request on a connection. Seq numbers the requests
// of one connection from 0, so that the runtime can write responses in
// request order whatever order they complete in. Body is nil when the
// runtime could not decode a body of that version (only ever for
// ApiVersions, which must still be answered).
type Request struct {
	Conn   ConnID
	Seq    uint64
	Header RequestHeader
	Body   kmsg.Request
	// ClientHost is the client's address as Kafka shows it ("/" and the
	// IP), for DescribeGroups.
	ClientHost string
	// Listener is the name of the listener the connection came in on:
	// Metadata, FindCoordinator and DescribeCluster answer with the
	// brokers' endpoints on it.
	Listener string
	// Principal is who the connection authenticated as, Kafka's way
	// ("User:CN=app,OU=eng" from a TLS client certificate through
	// ssl.principal.mapping.rules; PrincipalAnonymous otherwise).
	Principal string
	// Size is the request's size in bytes as received (0: not known),
	// which a produce counts against its quota.
	Size int
	// Frame is the runtime's hold on the buffer the request was read
	// into, when it recycles such buffers (nil: none): the Appends that
	// write bytes of the request carry it on.
	Frame FrameRef
}

// FrameRef is a runtime's hold on a request's frame buffer, whose bytes
// (a produce's records) an Append writes. The runtime takes the buffer
// back only once the response is written and every Append carrying the
// hold has run: the executor calls Hold when it takes such an Append and
// Release once the write is done (whether it failed or not).
type FrameRef interface {
	Hold()
	Release()
}

// Tick carries the runtime clock's current instant. Ticks drive timeouts
// (fetch long polls), time-based rolling, retention and flushing. Mono is
// a monotonic clock's reading (0: Now serves), which wall-clock steps do
// not move: leadership leases run on it (lease.go).
type Tick struct{ Now, Mono Instant }

// Appended completes an Append effect.
type Appended struct {
	Token Token
	Err   error
}

// Synced completes a Sync effect: everything appended to the partition
// before the Sync was emitted is durable unless Err is set.
type Synced struct {
	Token Token
	Err   error
}

// ReadDone completes a Read effect with whole batches.
type ReadDone struct {
	Token Token
	Data  []byte
	Ref   *RecordsRef // instead of Data for a Read ByRef; nil: nothing read
	Err   error
}

// TimeFound completes a FindTime effect. Found is false when no batch has
// a timestamp at or after the one asked for.
type TimeFound struct {
	Token     Token
	Offset    Offset
	Timestamp int64
	Found     bool
	Err       error
}

// Retained completes a Retain effect with the partition's new log start.
// A Retain also deletes the files of removed segments whose
// file.delete.delay.ms has passed.
type Retained struct {
	Token          Token
	LogStartOffset Offset
	// FilesDueMs is when, by the broker's clock in ms, the store next
	// deletes the files of segments removed with file.delete.delay.ms;
	// the broker asks for a Retain then. 0: none wait (a due time is a
	// removal's clock plus a positive delay).
	FilesDueMs int64
	Err        error
}

// Cleaned completes a Clean effect. Ran says the cleaner rewrote
// segments; FirstDirty is the cleaner checkpoint afterwards. Offsets,
// the log start and the log end never change by cleaning.
type Cleaned struct {
	Token             Token
	Ran               bool
	FirstDirty        Offset
	TombstonesRemoved int64
	FilesDueMs        int64 // as in Retained
	Err               error
}

// Truncated completes a Truncate with what the log holds afterwards: its
// end offset, leader epochs and producers' last batches (as in
// RecoveredPartition).
type Truncated struct {
	Token     Token
	LogEnd    Offset
	Epochs    []EpochStart
	Producers []ProducerBatch
	// FilesDueMs is when, by the broker's clock in ms, the store next
	// deletes the files of segments removed with file.delete.delay.ms;
	// as in Retained.
	FilesDueMs int64
	Err        error
}

// Measured completes a Measure with the bytes of the partition's log
// files (segments wholly below the log start, awaiting deletion, not
// counted).
type Measured struct {
	Token Token
	Bytes int64
	Err   error
}

// Scrubbed completes a Scrub: Checked is how many bytes of whole batches
// were verified; PassDone says the scrubber reached the log end (and
// starts again at its first segment); Damaged lists what failed
// verification, each place once. Err is an IO error: what was checked
// before it is reported all the same.
type Scrubbed struct {
	Token    Token
	Checked  int64
	PassDone bool
	Damaged  []ScrubDamage
	Err      error
}

// ScrubDamage is a place of a partition's log that failed verification
// after it was stored (damage on the medium): the batch at Position of the
// segment file Segment, whose base offset is SegmentBase. From then on the
// store refuses every read of that segment from Position on: the offsets
// [Offset, End) are unreadable, where Offset is the end of the last sound
// batch before Position (the damaged batch's own header may be what is
// damaged) and End the segment's end.
type ScrubDamage struct {
	Segment     string
	SegmentBase Offset
	Position    int64
	Offset      Offset
	End         Offset
	Reason      string // what the verification found, for the log
}

// CoordResult completes a CoordOp. Err is nil, one of the ErrCoord
// errors (wrapped: the store's verdicts, or ErrCoordConnectionLoss when
// the outcome is unknown), or the embedded store's storage error (the
// write did not happen).
type CoordResult struct {
	Token    Token
	Err      error
	Data     []byte    // CoordGet
	Stat     CoordStat // CoordCreate, CoordSet, CoordGet, CoordExists, CoordChildren
	Children []string  // CoordChildren, sorted
	Path     string    // CoordCreate: the node created (with its sequence number)
}

// CoordStat is a znode's metadata, as ZooKeeper's Stat.
type CoordStat struct {
	Version        int32 // data version: 0 at creation, +1 per set
	CVersion       int32 // child version: +1 per child created or deleted
	EphemeralOwner int64 // the owning session, 0 for a persistent node
	NumChildren    int32
	// Czxid is the id of the transaction that created the node: a
	// broker's registration's is its broker epoch (KIP-380).
	Czxid int64
}

// CoordWatchType is what a fired watch reports (ZooKeeper's event types).
type CoordWatchType int8

const (
	WatchNodeCreated CoordWatchType = iota + 1
	WatchNodeDeleted
	WatchNodeDataChanged
	WatchNodeChildrenChanged
)

func (w CoordWatchType) String() string {
	switch w {
	case WatchNodeCreated:
		return "NodeCreated"
	case WatchNodeDeleted:
		return "NodeDeleted"
	case WatchNodeDataChanged:
		return "NodeDataChanged"
	case WatchNodeChildrenChanged:
		return "NodeChildrenChanged"
	}
	return fmt.Sprintf("CoordWatchType(%d)", int8(w))
}

// The coordination store's verdicts (ZooKeeper's error codes).
var (
	ErrCoordNoNode                  = errors.New("znode does not exist")
	ErrCoordNodeExists              = errors.New("znode exists")
	ErrCoordBadVersion              = errors.New("znode version mismatch")
	ErrCoordNotEmpty                = errors.New("znode has children")
	ErrCoordNoChildrenForEphemerals = errors.New("ephemeral znodes cannot have children")
	ErrCoordSessionExpired          = errors.New("coordination session expired")
	ErrCoordConnectionLoss          = errors.New("coordination connection lost")
	ErrCoordBadArguments            = errors.New("invalid coordination operation")
)

// CoordNewSession says the coordination store session changed: the old
// one expired (its ephemeral znodes and watches are gone), and later
// operations run on Session.
type CoordNewSession struct{ Session int64 }

// CoordWatchFired is a watch notification of the broker's session: the
// watch a CoordOp left on Path fired (once; it is spent).
type CoordWatchFired struct {
	Path string
	Type CoordWatchType
}

// ConnClosed says a connection is gone; parked requests on it are dropped.
type ConnClosed struct{ Conn ConnID }

// ShutdownRequested says the process was asked to stop (SIGTERM or
// SIGINT). The broker prepares: in a cluster, with
// controlled.shutdown.enable, it asks the controller for a controlled
// shutdown first (see shutdown.go). It goes on serving meanwhile, and
// reports a Lifecycle whose Shutdown is Done once the process may stop.
type ShutdownRequested struct{}

func (Request) isEvent()           {}
func (Tick) isEvent()              {}
func (Appended) isEvent()          {}
func (Synced) isEvent()            {}
func (ReadDone) isEvent()          {}
func (TimeFound) isEvent()         {}
func (Retained) isEvent()          {}
func (Cleaned) isEvent()           {}
func (Truncated) isEvent()         {}
func (Measured) isEvent()          {}
func (Scrubbed) isEvent()          {}
func (CoordResult) isEvent()       {}
func (CoordNewSession) isEvent()   {}
func (CoordWatchFired) isEvent()   {}
func (ConnClosed) isEvent()        {}
func (RequestTimed) isEvent()      {}
func (ShutdownRequested) isEvent() {}
func (PeerResponse) isEvent()      {}

// Respond answers request Seq on Conn. A nil Body means the request gets no
// response bytes (acks=0 produce) but still releases its place in order.
type Respond struct {
	Conn          ConnID
	Seq           uint64
	CorrelationID int32
	Body          kmsg.Response
	// Records are the record sets of a fetch response Body that were
	// read by reference, in the order of its partitions.
	Records []RecordsAt
	// Raw: Body is a SaslAuthenticateResponse to a bare token (after a
	// SaslHandshake v0), written as its bare size-prefixed auth bytes,
	// without a response header.
	Raw bool
}

// Throttle throttles a connection whose client is over a quota
// (quota.go): once the response to request Seq is written, the runtime
// hands no request of Conn to the broker for Ms; with Hold (a client
// that does not read throttle_time_ms, before KIP-219) the response
// itself waits Ms first. A Step emits it before or after that Respond;
// the runtime applies it before writing the response.
type Throttle struct {
	Conn ConnID
	Seq  uint64
	Ms   int32
	Hold bool
}

// RequestTimed tells the broker how long handling Request took (the
// Step that took it, in the runtime's measure), which its client's
// request_percentage quota counts (quota.go). A runtime that measures
// nothing sends none.
type RequestTimed struct {
	Request Request
	Nanos   int64
}

// Authenticated says a connection of a SASL listener authenticated (or
// re-authenticated) as Principal. The runtime reads Kafka requests on it
// again after a v0 handshake's bare tokens, and logs it.
type Authenticated struct {
	Conn              ConnID
	ClientHost        string
	Listener          string
	Mechanism         string
	Principal         string
	Reauthenticated   bool
	SessionLifetimeMs int64 // 0: the session does not expire
	// BareTokens: the exchange used a SaslHandshake v0's bare tokens.
	BareTokens bool
	// Unlogged: over sasl.authentication.log.max for this principal and
	// address in the interval, the audit log leaves it out; Suppressed
	// counts those left out since the last one logged.
	Unlogged   bool
	Suppressed int64
}

// AuthFailed reports a failed SASL authentication, for the log: never a
// secret. Suppressed counts the failures from the same address not
// reported since the last report (over the per-address bound).
type AuthFailed struct {
	Conn             ConnID
	ClientHost       string
	Listener         string
	Mechanism        string
	User             string
	Reason           string
	Suppressed       int64
	Reauthentication bool
}

// AuthzDenied reports, for the audit log, an action a request named
// that the authorizer refused: who (Principal, from ClientHost on
// Listener), what (Operation on Resource, "<Type>:LITERAL:<name>") and
// in which request (API). Suppressed counts the denials of the same
// principal and address not reported since the last report.
type AuthzDenied struct {
	Conn       ConnID
	Principal  string
	ClientHost string
	Listener   string
	API        string
	Resource   string
	Operation  string
	Suppressed int64
}

// CloseConn closes a connection once the responses to every request
// before Seq (the request that caused the close) are written.
type CloseConn struct {
	Conn   ConnID
	Seq    uint64
	Reason string
}

// CreateLog creates an empty partition log (idempotent if it exists).
type CreateLog struct {
	Partition TopicPartition
	Config    LogConfig
}

// DeleteLog removes a partition log and its files.
type DeleteLog struct{ Partition TopicPartition }

// Append writes whole, already validated batches at the log end. Data's
// first batch has base offset Base; the store rolls segments as Config says
// using Now for segment age.
type Append struct {
	Token     Token
	Partition TopicPartition
	Data      []byte
	Base      Offset
	Last      Offset
	MaxTime   int64 // largest batch MaxTimestamp in Data, ms
	Now       Instant
	Config    LogConfig
	// Replica says Data are a follower's copy of its leader's batches:
	// their offsets may skip where the leader's cleaner removed records.
	Replica bool
	// Frame, when not nil, holds the request frame that Data may lie in
	// (Request.Frame): the executor holds it until the write is done.
	Frame FrameRef
}

// Sync makes everything appended to the partition before it durable. The
// core emits an acknowledgement that depends on durability only after the
// matching Synced event, so an acknowledgement cannot overtake its data
// however the runtime delays, reorders or fails completions.
type Sync struct {
	Token     Token
	Partition TopicPartition
}

// Read returns whole batches starting with the batch holding Offset, up to
// MaxBytes (but at least one batch when MinOne), never including a batch
// whose base offset is at or past Below.
//
// ByRef asks for the batches by reference (ReadDone.Ref) instead: the
// log's bytes from that first batch up to Below, cut at MaxBytes as
// Kafka cuts a fetch (the last batch may be partial, which clients drop),
// left where they lie for the response's writer to send from storage.
// The core then knows only their extent, and the storage does not check
// their CRCs on the way out (see the README's Durability section).
type Read struct {
	Token     Token
	Partition TopicPartition
	Offset    Offset
	Below     Offset
	MaxBytes  int32
	MinOne    bool
	ByRef     bool
}

// RecordsRef is a record set read by reference: Len bytes of the log
// beginning with a whole batch of FirstSize bytes whose base offset is
// FirstBase. Handle is the storage's own reference to the bytes; the
// core only passes it on, in Respond.Records.
type RecordsRef struct {
	Len       int64
	FirstSize int32
	FirstBase Offset
	Handle    any
}

// RecordsAt is the record set of a partition of a fetch response left by
// reference: Body's partition Partition of the topic Topic (v12 and
// before) or TopicID (v13 on) answers with an empty RecordBatches, whose
// place Ref's first Len bytes take when the response is written. A
// Respond lists them in the order of the body's partitions.
type RecordsAt struct {
	Topic     string
	TopicID   [16]byte
	Partition int32
	Ref       RecordsRef
}

// FindTime looks up the first batch at or past From (the log start the
// broker advertises) whose timestamp is >= Timestamp, below Below.
type FindTime struct {
	Token     Token
	Partition TopicPartition
	Timestamp int64
	From      Offset
	Below     Offset
	// Max, when set, ignores Timestamp and looks up the batch with the
	// largest MaxTimestamp at or past From, below Below, the first of
	// equals (ListOffsets by max timestamp).
	Max bool
}

// Retain applies the retention policy in Config, deleting whole segments
// that are older than RetentionMs or beyond RetentionBytes; the active
// segment is never deleted.
type Retain struct {
	Token         Token
	Partition     TopicPartition
	Now           Instant
	HighWatermark Offset // only segments wholly below it may expire
	// StartAtLeast, when above the log start (and at most the log end),
	// becomes the log start: a follower takes its leader's.
	StartAtLeast Offset
	// FilesOnly asks only for the deletion of the files of removed
	// segments that are due (file.delete.delay.ms, see Retained): no
	// retention, and the log start stays.
	FilesOnly bool
	Config    LogConfig
}

// Clean compacts the partition's log once if its cleanup.policy includes
// compact and the store finds it eligible (Config's dirty ratio and
// compaction lags): below FirstUncleanable (the high watermark; the store
// never cleans the active segment either) only the last record of every
// key stays, at its offset. Now decides compaction lags and tombstones'
// delete horizons.
type Clean struct {
	Token            Token
	Partition        TopicPartition
	Now              Instant
	FirstUncleanable Offset
	Config           LogConfig
}

// Truncate cuts the partition's log back to a batch boundary at or below
// Offset (every batch whose last offset is >= Offset goes), as a follower
// repairs a log that diverged from its leader's; what stays is durable
// when Truncated comes back. No Append of the partition is outstanding
// when the core emits one.
type Truncate struct {
	Token     Token
	Partition TopicPartition
	Offset    Offset
	// RestartAt, when true, empties the log and starts it at Offset, which
	// lies past its end (a follower behind its leader's log start).
	RestartAt bool
	// Producers, with RestartAt, are the idempotence windows as of
	// Offset (the leader's, of the batches below its log start), in
	// offset order: the store keeps them as a retention-deleted log's
	// (producer_transfer.go).
	Producers []ProducerBatch
	// Now is the broker's clock: files the truncation removes are due
	// for deletion file.delete.delay.ms after it.
	Now    Instant
	Config LogConfig
}

// Measure asks how many bytes the partition's log holds on disk
// (DescribeLogDirs); like a Read, it need not wait for writes queued
// before it.
type Measure struct {
	Token     Token
	Partition TopicPartition
}

// CheckpointRecovery asks the runtime to rewrite the log directory's
// recovery-point-offset-checkpoint with the recovery points of exactly
// Partitions, as Kafka's LogManager does every
// log.flush.offset.checkpoint.interval.ms: a restart after a crash
// trusts what lies below them. The core emits it on that interval and
// right before every Truncate and DeleteLog, whose partition it leaves
// out (and leaves out of every later one until the Truncate completed),
// so that no checkpoint vouches for data a truncation rewrites or for a
// log created again under a deleted one's name. It completes with no
// event; the runtime executes it before the storage effects after it.
type CheckpointRecovery struct {
	Partitions []TopicPartition // in partition order
}

// Scrub re-verifies about MaxBytes of the partition's stored batches
// (never less than one batch), from where its previous Scrub stopped (see
// core/scrub.go): the store marks what fails as damaged and refuses to
// serve it from then on. It only reads; like a Read, it need not wait for
// writes queued before it.
type Scrub struct {
	Token     Token
	Partition TopicPartition
	MaxBytes  int64
}

// CoordOpKind is the kind of a coordination operation: ZooKeeper's, with
// the recursive forms Kafka's ZooKeeper client builds from them.
type CoordOpKind int8

const (
	// CoordCreate creates Path holding Data (Ephemeral: owned by the
	// session; Sequential: named Path plus the parent's next ten-digit
	// sequence number, returned in CoordResult.Path). An existing node
	// fails with ErrCoordNodeExists; a missing parent with ErrCoordNoNode,
	// unless Parents, which creates the missing ancestors empty.
	CoordCreate CoordOpKind = iota + 1
	// CoordSet replaces Path's data when its version is Version
	// (CoordAnyVersion: any), else ErrCoordBadVersion. A missing node
	// fails with ErrCoordNoNode, unless Upsert, which creates it (and its
	// parents).
	CoordSet
	// CoordDelete deletes Path when its version is Version
	// (CoordAnyVersion: any). A node with children fails with
	// ErrCoordNotEmpty, unless Recursive, which deletes them first; a
	// missing node fails with ErrCoordNoNode.
	CoordDelete
	// CoordGet reads Path's data and stat; Watch leaves a data watch
	// (fired when the node changes or is deleted).
	CoordGet
	// CoordExists reads Path's stat, or fails with ErrCoordNoNode; Watch
	// leaves a watch fired when the node is created, changes or is
	// deleted.
	CoordExists
	// CoordChildren lists Path's children, sorted; Watch leaves a child
	// watch (fired when a child is created or deleted, or the node is).
	CoordChildren
)

// CoordAnyVersion matches every version of a znode (ZooKeeper's -1).
const CoordAnyVersion int32 = -1

// CoordOp is one operation on the coordination store (ZooKeeper's
// model and Kafka's layout, see zk.go). Guard, when set, makes the
// operation conditional on another znode's version, atomically (a
// ZooKeeper multi of a check and the operation): the controller fences
// its writes with /controller_epoch this way.
type CoordOp struct {
	Token   Token
	Kind    CoordOpKind
	Path    string
	Data    []byte
	Version int32 // CoordSet, CoordDelete: the version expected, or CoordAnyVersion

	Ephemeral, Sequential, Parents bool // CoordCreate
	Upsert                         bool // CoordSet
	Recursive                      bool // CoordDelete
	Watch                          bool // CoordGet, CoordExists, CoordChildren

	Guard *CoordGuard
}

// CoordGuard is the condition of a guarded CoordOp: Path exists at
// Version, else the operation fails with ErrCoordBadVersion (or
// ErrCoordNoNode) and changes nothing.
type CoordGuard struct {
	Path    string
	Version int32
}

// PeerSend sends an inter-broker request (the controller's LeaderAndIsr,
// UpdateMetadata and StopReplica; a stopping broker's ControlledShutdown
// to the controller; a follower's replica fetch) to another broker at
// Host:Port, its endpoint on Listener (inter.broker.listener.name, whose
// security protocol the runtime speaks); the runtime answers with a
// PeerResponse carrying Token. Requests to one broker are sent and
// answered in order. A broker without that listener has no Host (and
// Port -1): the send fails.
type PeerSend struct {
	Token    Token
	Broker   BrokerID
	Listener string
	Host     string
	Port     int32
	Request  kmsg.Request
}

// PeerResponse completes a PeerSend: the response, or the error that
// kept it from coming (the connection failed or closed; the request may
// or may not have been handled).
type PeerResponse struct {
	Token    Token
	Response kmsg.Response
	Err      error
}

// Lifecycle tells the runtime about the broker itself: it registered in
// the coordination store (Registered), or it cannot go on and the
// process must stop (Fatal, the reason to report).
type Lifecycle struct {
	Registered bool
	Fatal      string
	// Warning is a condition the operator should hear of (logged), such
	// as an internal topic created with fewer replicas than configured.
	Warning string
	// Elected says the broker became the controller, with
	// ControllerEpoch.
	Elected         bool
	ControllerEpoch int32
	// Leading names a partition this broker leads from LeaderEpoch on,
	// as a LeaderAndIsr made it (reported at each such LeaderAndIsr).
	Leading     TopicPartition
	LeaderEpoch int32
	// Ready says the broker has the controller's metadata and serves
	// clients (once per start).
	Ready bool
	// Shutdown reports on this broker's preparation to stop, after a
	// ShutdownRequested: a controlled shutdown attempt that failed, or,
	// Done, that the process may stop now. Nil: no news.
	Shutdown *ShutdownReport
	// ShutdownAccepted reports, from the controller, a broker whose
	// controlled shutdown it accepted. Nil: no news.
	ShutdownAccepted *ShutdownAccepted
	// UncleanElection reports, from the controller, a partition it gave
	// to a replica outside its ISR (unclean.leader.election.enable):
	// what only the ISR had may be lost. Nil: no news.
	UncleanElection *UncleanElection
	// ConfigUpdated reports an entity's new dynamic configuration, as
	// this broker now applies it. Nil: no news.
	ConfigUpdated *ConfigUpdate
	// Damaged names a partition whose log the scrubber found damaged on
	// the medium, with what it found (Damage); the Warning says it in
	// words. Reads of the damaged range are refused from then on.
	Damaged TopicPartition
	Damage  ScrubDamage
}

// ConfigUpdate is a dynamic configuration a broker applies: a topic's
// overrides ("topics/<t>") or a broker's dynamic properties
// ("brokers/<id>", "brokers/<default>"). NoEffect lists the names that
// are accepted and stored but change nothing here.
type ConfigUpdate struct {
	Entity   string
	Config   map[string]string
	NoEffect []string
}

// String renders the update for the broker's log; secrets never reach
// it (they are not dynamic here).
func (u ConfigUpdate) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dynamic configuration of %s:", u.Entity)
	if len(u.Config) == 0 {
		b.WriteString(" none")
	}
	for _, k := range sortedKeys(u.Config) {
		fmt.Fprintf(&b, " %s=%s", k, u.Config[k])
	}
	if len(u.NoEffect) > 0 {
		fmt.Fprintf(&b, " (accepted, no effect here: %s)", strings.Join(u.NoEffect, ", "))
	}
	return b.String()
}

// UncleanElection is a leader the controller elected outside the ISR.
type UncleanElection struct {
	Partition   TopicPartition
	Leader      BrokerID
	LeaderEpoch int32
	ISR         []BrokerID // the ISR it was not in
}

// ShutdownReport is how a broker's controlled shutdown goes (Kafka's
// KafkaServer.controlledShutdown).
type ShutdownReport struct {
	// Attempt counts the ControlledShutdown requests made so far, of
	// Attempts at most (controlled.shutdown.max.retries).
	Attempt, Attempts int
	// Failure says why the last attempt failed ("": it did not).
	Failure string
	// RetryMs is how long the broker waits before the next attempt, when
	// one follows (not Done).
	RetryMs int64
	// Done says the broker may stop now; Succeeded that the controller
	// took its controlled shutdown with no partition left to move.
	Done, Succeeded bool
	// Skipped, when set, says why no controlled shutdown was due (a
	// single broker, controlled.shutdown.enable=false, not registered).
	Skipped string
}

// ShutdownAccepted is a controlled shutdown the controller accepted:
// Broker is shutting down, and still leads Remaining partitions that
// another replica could lead.
type ShutdownAccepted struct {
	Broker    BrokerID
	Remaining int
}

func (Lifecycle) isEffect()          {}
func (PeerSend) isEffect()           {}
func (Respond) isEffect()            {}
func (Throttle) isEffect()           {}
func (Authenticated) isEffect()      {}
func (AuthFailed) isEffect()         {}
func (AuthzDenied) isEffect()        {}
func (CloseConn) isEffect()          {}
func (CreateLog) isEffect()          {}
func (DeleteLog) isEffect()          {}
func (Append) isEffect()             {}
func (Sync) isEffect()               {}
func (Read) isEffect()               {}
func (FindTime) isEffect()           {}
func (Retain) isEffect()             {}
func (Clean) isEffect()              {}
func (Truncate) isEffect()           {}
func (Measure) isEffect()            {}
func (Scrub) isEffect()              {}
func (CheckpointRecovery) isEffect() {}
func (CoordOp) isEffect()            {}

// LogConfig is the part of a topic's configuration the segment store
// needs. Values are resolved (topic override or broker default).
type LogConfig struct {
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	RetentionMs        int64 // retention.ms; -1 keeps forever
	RetentionBytes     int64 // retention.bytes; -1 keeps any size
	IndexIntervalBytes int32 // index.interval.bytes
	SegmentIndexBytes  int32 // segment.index.bytes
	// FileDeleteDelayMs is file.delete.delay.ms (>= 0): how long the
	// files of a segment removed from the log stay, renamed .deleted and
	// open, before they are deleted; 0 deletes them at once.
	FileDeleteDelayMs int64
	// ProducersMax bounds the producers whose windows the store keeps
	// once their batches are deleted (max.producers.per.partition).
	ProducersMax int
	// MaxMessageBytes is max.message.bytes; it bounds the decompressed
	// records of a batch the cleaner decodes.
	MaxMessageBytes int64
	// Compaction (cleanup.policy including compact); see Clean.
	Compact            bool
	DeleteRetentionMs  int64   // delete.retention.ms
	MinCleanableRatio  float64 // min.cleanable.dirty.ratio, in [0, 1]
	MinCompactionLagMs int64   // min.compaction.lag.ms
	MaxCompactionLagMs int64   // max.compaction.lag.ms
	// The cleaner's memory for one clean: the key-to-offset map
	// (log.cleaner.dedupe.buffer.size, shared by log.cleaner.threads
	// cleans), how full it may get (log.cleaner.io.buffer.load.factor),
	// and its read and write buffers (log.cleaner.io.buffer.size, shared
	// likewise; a larger batch grows them to its size).
	DedupeBufferBytes    int64
	DedupeLoadFactor     float64
	CleanerIOBufferBytes int64
	// Coverage counts the segment store's coverage points; nil counts
	// nothing. It is the broker's Config.Coverage, not a topic setting.
	Coverage *cover.Counts
}

// Znode is one node of the coordination store as recovered at startup.
type Znode struct {
	Path string
	Data []byte
}

// ProducerBatch is what the idempotence window remembers of one batch.
type ProducerBatch struct {
	ProducerID    ProducerID
	ProducerEpoch int16
	FirstSeq      int32
	LastSeq       int32
	BaseOffset    Offset
	LastOffset    Offset
	Timestamp     int64
}

// RecoveredPartition summarizes a partition log after recovery.
type RecoveredPartition struct {
	Partition      TopicPartition
	LogStartOffset Offset
	LogEndOffset   Offset
	LeaderEpoch    LeaderEpoch
	// Epochs lists, oldest first, each leader epoch that wrote to the log
	// and the offset its first batch has (Kafka's leader-epoch-checkpoint).
	Epochs []EpochStart
	// Producers holds, in offset order, the last batches written by each
	// idempotent producer (at most the window per producer), so that
	// deduplication survives restarts.
	Producers []ProducerBatch
}

// EpochStart says leader epoch Epoch wrote from offset Start on.
type EpochStart struct {
	Epoch LeaderEpoch
	Start Offset
}

// Recovered is everything the runtime recovered from disk, handed to New.
type Recovered struct {
	Znodes     []Znode
	Partitions []RecoveredPartition
	// CoordSession is the coordination store session the broker starts
	// on: the owner its ephemeral znodes show.
	CoordSession int64
}

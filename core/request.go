package core

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiRange is one API key the broker implements and the versions it
// advertises. Every advertised version is handled and tested.
type apiRange struct {
	key      int16
	min, max int16
	handle   func(b *Broker, r Request)
}

// apis is sorted by key. ApiVersions lists exactly these.
var apis []apiRange

func init() { apis = apiTable() }

func apiTable() []apiRange {
	return []apiRange{
		{key: 0, min: 0, max: 11, handle: (*Broker).handleProduce},
		{key: 1, min: 0, max: 16, handle: (*Broker).handleFetch},
		{key: 2, min: 0, max: 9, handle: (*Broker).handleListOffsets},
		{key: 3, min: 0, max: 12, handle: (*Broker).handleMetadata},
		{key: 4, min: leaderAndIsrVersion, max: leaderAndIsrVersion, handle: (*Broker).handleLeaderAndIsr},
		{key: 5, min: stopReplicaVersion, max: stopReplicaVersion, handle: (*Broker).handleStopReplica},
		{key: 6, min: updateMetadataVersion, max: updateMetadataVersion, handle: (*Broker).handleUpdateMetadata},
		{key: 7, min: 2, max: controlledShutdownVersion, handle: (*Broker).handleControlledShutdown},
		{key: 8, min: 0, max: 9, handle: (*Broker).handleOffsetCommit},
		{key: 9, min: 0, max: 9, handle: (*Broker).handleOffsetFetch},
		{key: 10, min: 0, max: 6, handle: (*Broker).handleFindCoordinator},
		{key: 11, min: 0, max: 9, handle: (*Broker).handleJoinGroup},
		{key: 12, min: 0, max: 4, handle: (*Broker).handleHeartbeat},
		{key: 13, min: 0, max: 5, handle: (*Broker).handleLeaveGroup},
		{key: 14, min: 0, max: 5, handle: (*Broker).handleSyncGroup},
		{key: 15, min: 0, max: 5, handle: (*Broker).handleDescribeGroups},
		{key: 16, min: 0, max: 5, handle: (*Broker).handleListGroups},
		{key: 17, min: 0, max: 1, handle: (*Broker).handleSaslHandshake},
		{key: 18, min: 0, max: 3, handle: (*Broker).handleApiVersions},
		{key: 19, min: 2, max: 7, handle: (*Broker).handleCreateTopics},
		{key: 20, min: 1, max: 6, handle: (*Broker).handleDeleteTopics},
		{key: 21, min: 0, max: 2, handle: (*Broker).handleDeleteRecords},
		{key: 22, min: 0, max: 4, handle: (*Broker).handleInitProducerID},
		{key: 23, min: 0, max: 4, handle: (*Broker).handleOffsetForLeaderEpoch},
		{key: 29, min: 0, max: 3, handle: (*Broker).handleDescribeAcls},
		{key: 30, min: 0, max: 3, handle: (*Broker).handleCreateAcls},
		{key: 31, min: 0, max: 3, handle: (*Broker).handleDeleteAcls},
		{key: 32, min: 1, max: 4, handle: (*Broker).handleDescribeConfigs},
		{key: 33, min: 0, max: 2, handle: (*Broker).handleAlterConfigs},
		{key: 35, min: 0, max: 4, handle: (*Broker).handleDescribeLogDirs},
		{key: 36, min: 0, max: 2, handle: (*Broker).handleSaslAuthenticate},
		{key: 37, min: 0, max: 3, handle: (*Broker).handleCreatePartitions},
		{key: 42, min: 0, max: 2, handle: (*Broker).handleDeleteGroups},
		{key: 43, min: 0, max: 2, handle: (*Broker).handleElectLeaders},
		{key: 44, min: 0, max: 1, handle: (*Broker).handleIncrementalAlterConfigs},
		{key: 45, min: 0, max: 0, handle: (*Broker).handleAlterPartitionReassignments},
		{key: 46, min: 0, max: 0, handle: (*Broker).handleListPartitionReassignments},
		{key: 47, min: 0, max: 0, handle: (*Broker).handleOffsetDelete},
		{key: 48, min: 0, max: 1, handle: (*Broker).handleDescribeClientQuotas},
		{key: 49, min: 0, max: 1, handle: (*Broker).handleAlterClientQuotas},
		{key: 50, min: 0, max: 0, handle: (*Broker).handleDescribeUserScramCredentials},
		{key: 51, min: 0, max: 0, handle: (*Broker).handleAlterUserScramCredentials},
		{key: 60, min: 0, max: 1, handle: (*Broker).handleDescribeCluster},
		{key: 61, min: 0, max: 0, handle: (*Broker).handleDescribeProducers},
	}
}

// SupportedAPIs returns the advertised (key, min, max) triples.
func SupportedAPIs() []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for _, a := range apis {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		out = append(out, k)
	}
	return out
}

func findAPI(key int16) (apiRange, bool) {
	for _, a := range apis {
		if a.key == key {
			return a, true
		}
	}
	return apiRange{}, false
}

func (b *Broker) handleRequest(r Request) {
	if b.saslGate(&r) {
		return
	}
	a, ok := findAPI(r.Header.Key)
	if !ok {
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("unsupported API key %d", r.Header.Key)})
		return
	}
	if r.Header.Key == 18 { // ApiVersions answers even versions it does not know
		a.handle(b, r)
		return
	}
	v := r.Header.Version
	if v < a.min || v > a.max || r.Body == nil {
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("unsupported version %d of API key %d (supported %d-%d)", v, r.Header.Key, a.min, a.max)})
		return
	}
	if r.Body.Key() != r.Header.Key || r.Body.GetVersion() != v {
		panic(fmt.Sprintf("core: request body %d v%d under header %d v%d", r.Body.Key(), r.Body.GetVersion(), r.Header.Key, v))
	}
	if !b.ready && !interBroker(r.Header.Key) && !fromReplica(r) && !oneWay(r) && len(b.early) < b.cfg.QueuedMaxRequests {
		b.early = append(b.early, r)
		return
	}
	// (beyond queued.max.requests, a request nobody waits for, or a
	// follower's, it is answered from what the broker knows so far)
	a.handle(b, r)
}

// oneWay says whether r is a request without a response (an acks=0
// produce): no client waits for it, so it is not held.
func oneWay(r Request) bool {
	p, ok := r.Body.(*kmsg.ProduceRequest)
	return ok && p.Acks == 0
}

// interBroker says whether key is an inter-broker request: one of the
// controller's, or a stopping broker's ControlledShutdown to it.
func interBroker(key int16) bool { return key >= 4 && key <= 7 }

// fromReplica says whether r is a follower's request to its leader: a
// Fetch or an OffsetForLeaderEpoch with a replica id. A broker that is
// not ready never holds one: a follower's requests share the link to
// this broker with the controller's (PeerSend: sent and answered in
// order), so one held here would hold the controller's UpdateMetadata
// behind it, the very request that makes this broker ready.
func fromReplica(r Request) bool {
	switch body := r.Body.(type) {
	case *kmsg.FetchRequest:
		if r.Header.Version >= 15 {
			return body.ReplicaState.ID >= 0
		}
		return body.ReplicaID >= 0
	case *kmsg.OffsetForLeaderEpochRequest:
		return body.ReplicaID >= 0
	}
	return false
}

// becomeReady serves the requests that waited for the controller's
// first metadata.
func (b *Broker) becomeReady() {
	if b.ready {
		return
	}
	b.ready = true
	b.emit(Lifecycle{Ready: true})
	early := b.early
	b.early = nil
	for _, r := range early {
		b.handleRequest(r)
	}
}

// gather answers a request once every piece of work it waits on is done:
// the handler adds one per asynchronous piece and calls done for each, and
// once more itself when it has issued them all, so a piece that completes
// at once cannot answer early.
type gather struct {
	b       *Broker
	r       Request
	resp    kmsg.Response
	pending int
}

func (b *Broker) gather(r Request, resp kmsg.Response) *gather {
	return &gather{b: b, r: r, resp: resp, pending: 1}
}

func (g *gather) add() { g.pending++ }

func (g *gather) done() {
	if g.pending--; g.pending == 0 {
		g.b.respond(g.r, g.resp)
	}
}

// errMsg returns a pointer to msg, for the optional ErrorMessage fields.
func errMsg(msg string) *string { return &msg }

var (
	errNone                         = int16(0)
	errOffsetOutOfRange             = kerr.OffsetOutOfRange.Code
	errCorruptMessage               = kerr.CorruptMessage.Code
	errUnknownTopic                 = kerr.UnknownTopicOrPartition.Code
	errLeaderNotAvailable           = kerr.LeaderNotAvailable.Code
	errOffsetNotAvailable           = kerr.OffsetNotAvailable.Code
	errMessageTooLarge              = kerr.MessageTooLarge.Code
	errInvalidTopic                 = kerr.InvalidTopicException.Code
	errRecordListTooLarge           = kerr.RecordListTooLarge.Code
	errInvalidRequiredAcks          = kerr.InvalidRequiredAcks.Code
	errUnsupportedVersion           = kerr.UnsupportedVersion.Code
	errTopicExists                  = kerr.TopicAlreadyExists.Code
	errInvalidPartitions            = kerr.InvalidPartitions.Code
	errInvalidReplication           = kerr.InvalidReplicationFactor.Code
	errInvalidAssignment            = kerr.InvalidReplicaAssignment.Code
	errInvalidConfig                = kerr.InvalidConfig.Code
	errInvalidRequest               = kerr.InvalidRequest.Code
	errOutOfOrderSequence           = kerr.OutOfOrderSequenceNumber.Code
	errInvalidProducerEpoch         = kerr.InvalidProducerEpoch.Code
	errUnknownProducerID            = kerr.UnknownProducerID.Code
	errStorage                      = kerr.KafkaStorageError.Code
	errFencedLeaderEpoch            = kerr.FencedLeaderEpoch.Code
	errUnknownLeaderEpoch           = kerr.UnknownLeaderEpoch.Code
	errFetchSessionNotFound         = kerr.FetchSessionIDNotFound.Code
	errUnknownTopicID               = kerr.UnknownTopicID.Code
	errInvalidRecord                = kerr.InvalidRecord.Code
	errUnknownServer                = kerr.UnknownServerError.Code
	errInvalidTimestamp             = kerr.InvalidTimestamp.Code
	errUnsupportedCompression       = kerr.UnsupportedCompressionType.Code
	errTxnalIDAuth                  = kerr.TransactionalIDAuthorizationFailed.Code
	errTopicAuth                    = kerr.TopicAuthorizationFailed.Code
	errGroupAuth                    = kerr.GroupAuthorizationFailed.Code
	errClusterAuth                  = kerr.ClusterAuthorizationFailed.Code
	errRequestTimedOut              = kerr.RequestTimedOut.Code
	errCoordinatorNotAvailable      = kerr.CoordinatorNotAvailable.Code
	errListenerNotFound             = kerr.ListenerNotFound.Code
	errNotEnoughReplicas            = kerr.NotEnoughReplicas.Code
	errNotEnoughReplicasAfterAppend = kerr.NotEnoughReplicasAfterAppend.Code
	errTopicDeletionDisabled        = kerr.TopicDeletionDisabled.Code
)

// leaderCode is the error a request that only p's leader answers gets
// before anything else, in Kafka's order (ReplicaManager's
// getPartitionOrError, then Partition.getLocalLog): a broker that hosts
// no replica of p answers NOT_LEADER_OR_FOLLOWER and an offline log
// KAFKA_STORAGE_ERROR; then CurrentLeaderEpoch is checked, before
// leadership, so that a follower fences a stale epoch as the leader
// would (FENCED_LEADER_EPOCH sends the client to refresh its metadata,
// UNKNOWN_LEADER_EPOCH to retry); a follower at the epoch named is
// NOT_LEADER_OR_FOLLOWER.
func leaderCode(p *partition, current int32) int16 {
	switch {
	case !p.hosted():
		return errNotLeader
	case p.offline:
		return errStorage
	}
	if code := checkEpoch(p, current); code != errNone {
		return code
	}
	if !p.leading {
		return errNotLeader
	}
	return errNone
}

// checkEpoch validates a client's CurrentLeaderEpoch (-1 = not given).
func checkEpoch(p *partition, current int32) int16 {
	switch {
	case current < 0 || LeaderEpoch(current) == p.epoch:
		return errNone
	case LeaderEpoch(current) < p.epoch:
		return errFencedLeaderEpoch
	default:
		return errUnknownLeaderEpoch
	}
}

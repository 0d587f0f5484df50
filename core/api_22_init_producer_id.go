package core

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-4
//
// Behavior:
//   - An idempotent producer needs IdempotentWrite on the cluster or
//     Write on some topic (acl.go, KIP-679): else
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Idempotent producers (null TransactionalID) always get a fresh
//     producer id with epoch 0, as Kafka gives non-transactional producers.
//   - Producer ids are allocated in blocks of pidBlockSize claimed in
//     /latest_producer_id_block before any id of the block is handed out,
//     as Kafka's ZooKeeper-era brokers do: read the latest block, write
//     the next one conditionally on the version read, and read again when
//     another broker claimed one meanwhile. Ids stay unique across
//     brokers and restarts.
//   - A block znode that does not parse refuses every request, as does a
//     failed write: ids are never guessed.
//   - If persisting a new block fails, waiting requests get the retriable
//     COORDINATOR_NOT_AVAILABLE and the next request tries again.
//   - A transactional id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
//     transactions are not offered.

const pidBlockSize = 1000

// pidAllocator hands out producer ids from the persisted block.
type pidAllocator struct {
	next, end  ProducerID // next id to give; end is one past the block
	allocating bool
	waiting    []Request
	hasBlock   bool
}

func (b *Broker) handleInitProducerID(r Request) {
	req := r.Body.(*kmsg.InitProducerIDRequest)
	if req.TransactionalID != nil {
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = errTxnalIDAuth, -1, -1
		b.respond(r, resp)
		return
	}
	if !b.authorizedQuietly(r, kmsg.ACLOperationIdempotentWrite, kmsg.ACLResourceTypeCluster, clusterResource) &&
		!b.authorizedAny(r, kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic) {
		b.auditDenied(r, kmsg.ACLOperationIdempotentWrite, kmsg.ACLResourceTypeCluster, clusterResource)
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = errClusterAuth, -1, -1
		b.respond(r, resp)
		return
	}
	b.pids.waiting = append(b.pids.waiting, r)
	b.servePIDs()
}

func (b *Broker) servePIDs() {
	a := &b.pids
	for len(a.waiting) > 0 && a.hasBlock && a.next < a.end {
		r := a.waiting[0]
		a.waiting = a.waiting[1:]
		resp := r.Body.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = int64(a.next), 0
		a.next++
		b.respond(r, resp)
	}
	if len(a.waiting) == 0 || a.allocating {
		return
	}
	a.allocating = true
	b.claimPIDBlock()
}

// claimPIDBlock claims the block after the latest one in the coordination
// store, then serves the waiting requests from it.
func (b *Broker) claimPIDBlock() {
	a := &b.pids
	b.coordRead(CoordOp{Kind: CoordGet, Path: zkProducerID}, func(r CoordResult) {
		start, write := ProducerID(0), createOp(zkProducerID, nil)
		switch {
		case r.Err == nil:
			write = CoordOp{Kind: CoordSet, Path: zkProducerID, Version: r.Stat.Version}
			if len(r.Data) > 0 {
				var z producerIDZnode
				end, err := int64(0), json.Unmarshal(r.Data, &z)
				if err == nil {
					end, err = strconv.ParseInt(z.BlockEnd, 10, 64)
				}
				if err != nil {
					// Refused until an operator fixes it: guessing
					// the next block could hand out ids twice.
					b.failPIDWaiters()
					return
				}
				start = ProducerID(end + 1)
			}
		case !errors.Is(r.Err, ErrCoordNoNode):
			b.failPIDWaiters()
			return
		}
		end := start + pidBlockSize
		write.Data = mustJSON(producerIDZnode{Version: 1, Broker: int32(b.cfg.BrokerID),
			BlockStart: strconv.FormatInt(int64(start), 10), BlockEnd: strconv.FormatInt(int64(end-1), 10)})
		b.coordWrite(write, func(err error) {
			switch {
			case err == nil:
				a.allocating = false
				a.next, a.end, a.hasBlock = start, end, true
				b.servePIDs()
			case errors.Is(err, ErrCoordBadVersion), errors.Is(err, ErrCoordNodeExists):
				b.claimPIDBlock() // another broker claimed a block first
			default:
				b.failPIDWaiters()
			}
		})
	})
}

// failPIDWaiters answers the waiting requests with the retriable
// COORDINATOR_NOT_AVAILABLE, as Kafka's producer gets while a coordinator
// is unavailable; the next request tries to claim a block again.
func (b *Broker) failPIDWaiters() {
	a := &b.pids
	a.allocating = false
	for _, r := range a.waiting {
		resp := r.Body.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = errCoordinatorNotAvailable, -1, -1
		b.respond(r, resp)
	}
	a.waiting = nil
}

package core

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-4
//
// Behavior:
//   - Idempotent producers (null TransactionalID) always get a fresh
//     producer id with epoch 0, as Kafka gives non-transactional producers.
//   - Producer ids are allocated in blocks of pidBlockSize recorded in
//     /latest_producer_id_block before any id of the block is handed out,
//     so ids stay unique across restarts.
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
	start := a.end
	end := start + pidBlockSize
	a.allocating = true
	z := producerIDZnode{Version: 1, Broker: int32(b.cfg.BrokerID),
		BlockStart: strconv.FormatInt(int64(start), 10), BlockEnd: strconv.FormatInt(int64(end-1), 10)}
	b.coordWrite(upsertOp(zkProducerID, mustJSON(z)), func(err error) {
		a.allocating = false
		if err != nil {
			for _, r := range a.waiting {
				resp := r.Body.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
				// Retriable: the producer tries again, as it would
				// while a coordinator is unavailable.
				resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = errCoordinatorNotAvailable, -1, -1
				b.respond(r, resp)
			}
			a.waiting = nil
			return
		}
		a.next, a.end, a.hasBlock = start, end, true
		b.servePIDs()
	})
}

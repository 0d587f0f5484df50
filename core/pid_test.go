package core_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

const pidBlockPath = "/latest_producer_id_block"

// claimBlock writes /latest_producer_id_block as another broker claiming
// the block [start, end] would.
func (h *harness) claimBlock(start, end int64) {
	h.t.Helper()
	data := fmt.Sprintf(`{"version":1,"broker":7,"block_start":"%d","block_end":"%d"}`, start, end)
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordSet, Path: pidBlockPath, Data: []byte(data), Version: core.CoordAnyVersion, Upsert: true})
	if res.Err != nil {
		h.t.Fatal(res.Err)
	}
}

func (h *harness) initProducerID() *kmsg.InitProducerIDResponse {
	h.t.Helper()
	seq := h.send(1, 4, kmsg.NewPtrInitProducerIDRequest())
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.InitProducerIDResponse)
}

func (h *harness) pidBlock() (start, end string, broker int32) {
	h.t.Helper()
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: pidBlockPath})
	var z struct {
		Broker     int32  `json:"broker"`
		BlockStart string `json:"block_start"`
		BlockEnd   string `json:"block_end"`
	}
	if err := json.Unmarshal(res.Data, &z); err != nil {
		h.t.Fatalf("%s: %v (%q)", pidBlockPath, err, res.Data)
	}
	return z.BlockStart, z.BlockEnd, z.Broker
}

// Producer ids come from the block after the latest one in the store,
// whoever claimed it: brokers sharing a store never hand out one id twice.
func TestProducerIDBlockFollowsTheStore(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.initProducerID(); r.ErrorCode != 0 || r.ProducerID != 0 {
		t.Fatalf("first id: %d (%s), want 0", r.ProducerID, kerr.ErrorForCode(r.ErrorCode))
	}
	if start, end, broker := h.pidBlock(); start != "0" || end != "999" || broker != 0 {
		t.Fatalf("block %s-%s by %d, want 0-999 by broker 0", start, end, broker)
	}
	if r := h.initProducerID(); r.ProducerID != 1 {
		t.Fatalf("second id %d, want 1 from the block held", r.ProducerID)
	}
	// Another broker claims blocks meanwhile; once this block runs out
	// the next is claimed after theirs.
	h.claimBlock(1000, 4999)
	for i := int64(2); i < 1000; i++ {
		if r := h.initProducerID(); r.ProducerID != i {
			t.Fatalf("id %d, want %d", r.ProducerID, i)
		}
	}
	if r := h.initProducerID(); r.ProducerID != 5000 {
		t.Fatalf("id after the block %d, want 5000 (the block after another broker's 1000-4999)", r.ProducerID)
	}
	if start, end, _ := h.pidBlock(); start != "5000" || end != "5999" {
		t.Fatalf("block %s-%s, want 5000-5999", start, end)
	}
}

// A block claimed by another broker between this broker's read and its
// write fails the write's version check: it reads again and claims the
// block after.
func TestProducerIDBlockClaimRace(t *testing.T) {
	h := newHarness(t, nil)
	h.claimBlock(0, 999)
	seq := h.send(1, 4, kmsg.NewPtrInitProducerIDRequest())
	// The read was applied (its answer is held): another broker claims
	// the next block before this one writes.
	h.claimBlock(1000, 1999)
	h.deliverAll()
	r := h.mustResponse(seq).(*kmsg.InitProducerIDResponse)
	if r.ErrorCode != 0 || r.ProducerID != 2000 {
		t.Fatalf("id %d (%s), want 2000", r.ProducerID, kerr.ErrorForCode(r.ErrorCode))
	}
	if start, _, broker := h.pidBlock(); start != "2000" || broker != 0 {
		t.Fatalf("block from %s by %d, want 2000 by broker 0", start, broker)
	}
}

// A block znode that does not parse hands out nothing: the request is
// answered with a retriable error, and ids follow once it is fixed.
func TestProducerIDBlockMalformed(t *testing.T) {
	h := newHarness(t, nil)
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordSet, Path: pidBlockPath, Data: []byte("{oops"), Version: core.CoordAnyVersion, Upsert: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if r := h.initProducerID(); r.ErrorCode != kerr.CoordinatorNotAvailable.Code || r.ProducerID != -1 {
		t.Fatalf("malformed block: id %d, error %s; want COORDINATOR_NOT_AVAILABLE", r.ProducerID, kerr.ErrorForCode(r.ErrorCode))
	}
	h.claimBlock(0, 2999)
	if r := h.initProducerID(); r.ErrorCode != 0 || r.ProducerID != 3000 {
		t.Fatalf("after the fix: id %d (%s), want 3000", r.ProducerID, kerr.ErrorForCode(r.ErrorCode))
	}
}

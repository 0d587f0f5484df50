package core_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchSessionIDAndEpoch checks every kind of (SessionID, SessionEpoch)
// pair against what Kafka's FetchManager.newContext answers when it holds
// no session: epoch 0 or -1 is a full fetch whatever the id (Kafka closes
// the named session and, for -1, opens none), any other epoch asks for a
// session that does not exist.
func TestFetchSessionIDAndEpoch(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	if p := h.produce("t", 0, batchOpts{records: 2}); p.ErrorCode != 0 {
		t.Fatalf("produce: got error %d; want 0", p.ErrorCode)
	}
	const stale = 12345 // an id no session has here
	tests := []struct {
		version   int16
		sessionID int32
		epoch     int32
		want      int16 // top-level error code; 0: the records come back
	}{
		// Epoch -1 (FINAL): a sessionless full fetch.
		{11, -1, -1, 0}, // segmentio/kafka-go's Client.Fetch
		{11, 0, -1, 0},
		{11, stale, -1, 0},
		{12, stale, -1, 0},
		// Epoch 0 (INITIAL): a full fetch that may open a session; none is.
		{11, 0, 0, 0},
		{11, -1, 0, 0},
		{11, stale, 0, 0},
		// Any other epoch continues a session that does not exist.
		{11, stale, 1, kerr.FetchSessionIDNotFound.Code},
		{11, 0, 1, kerr.FetchSessionIDNotFound.Code},
		{11, -1, 1, kerr.FetchSessionIDNotFound.Code},
		{11, stale, -2, kerr.FetchSessionIDNotFound.Code},
		{11, 0, math.MaxInt32, kerr.FetchSessionIDNotFound.Code},
		{12, stale, 5, kerr.FetchSessionIDNotFound.Code},
		// Before v7 the fields do not exist on the wire: always full.
		{6, stale, 5, 0},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("v%d id %d epoch %d", tt.version, tt.sessionID, tt.epoch)
		req := fetchReq("t", 0, 0, 0, 0)
		req.SessionID, req.SessionEpoch = tt.sessionID, tt.epoch
		seq := h.send(1, tt.version, req)
		h.deliverAll()
		resp := h.mustResponse(seq).(*kmsg.FetchResponse)
		if resp.ErrorCode != tt.want {
			t.Errorf("%s: got error %d; want %d", name, resp.ErrorCode, tt.want)
			continue
		}
		if resp.SessionID != 0 {
			t.Errorf("%s: got SessionID %d; want 0 (no session)", name, resp.SessionID)
		}
		if tt.want != 0 {
			if len(resp.Topics) != 0 {
				t.Errorf("%s: got %d topics with the session error; want none", name, len(resp.Topics))
			}
			continue
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Errorf("%s: got topics %+v; want topic t with partition 0", name, resp.Topics)
			continue
		}
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 2 || len(p.RecordBatches) == 0 {
			t.Errorf("%s: got partition error %d, high watermark %d, %d bytes; want 0, 2, the batch", name, p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
		}
	}
}

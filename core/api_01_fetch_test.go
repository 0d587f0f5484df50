package core_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchSessionIDAndEpoch checks every kind of (SessionID, SessionEpoch)
// pair with no session held, against what Kafka's FetchManager.newContext
// answers: epoch 0 or -1 is a full fetch whatever the id (Kafka closes the
// named session; epoch 0 opens a new one, -1 none), any other epoch asks
// for a session that does not exist.
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
		session   bool  // the answer opens a session
	}{
		// Epoch -1 (FINAL): a sessionless full fetch.
		{11, -1, -1, 0, false}, // segmentio/kafka-go's Client.Fetch
		{11, 0, -1, 0, false},
		{11, stale, -1, 0, false},
		{12, stale, -1, 0, false},
		// Epoch 0 (INITIAL): a full fetch that opens a session.
		{11, 0, 0, 0, true},
		{11, -1, 0, 0, true},
		{11, stale, 0, 0, true},
		// Any other epoch continues a session that does not exist.
		{11, stale, 1, kerr.FetchSessionIDNotFound.Code, false},
		{11, 0, 1, kerr.FetchSessionIDNotFound.Code, false},
		{11, -1, 1, kerr.FetchSessionIDNotFound.Code, false},
		{11, stale, -2, kerr.FetchSessionIDNotFound.Code, false},
		{11, 0, math.MaxInt32, kerr.FetchSessionIDNotFound.Code, false},
		{12, stale, 5, kerr.FetchSessionIDNotFound.Code, false},
		// Before v7 the fields do not exist on the wire: always full,
		// never a session.
		{6, stale, 5, 0, false},
		{6, 0, 0, 0, false},
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
		if (resp.SessionID != 0) != tt.session {
			t.Errorf("%s: got SessionID %d; want a session: %v", name, resp.SessionID, tt.session)
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

package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeleteThenRecreate: DeleteTopics answers once the deletion is
// over (its mark gone), so the name can be created again at once, under
// a new id and empty.
func TestDeleteThenRecreate(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("d", 2, nil)
	h.produce("d", 0, batchOpts{records: 3})
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 10000
	del.TopicNames = []string{"d"}
	seq := h.send(1, 5, del)
	h.deliverAll()
	if code := h.mustResponse(seq).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("delete d: got error %d; want 0", code)
	}
	h.createTopic("d", 1, nil)
	if p := h.produce("d", 0, batchOpts{records: 1}); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce to the re-created d: got error %d at %d; want 0 at 0", p.ErrorCode, p.BaseOffset)
	}
}

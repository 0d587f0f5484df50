package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// TestBrokerConfigStaleReadIgnored: a read of the broker documents that
// a change notification started, answered only after the broker applied
// its own AlterConfigs of the cluster-wide document (coordination answers
// may come back late), does not undo the newer configuration.
func TestBrokerConfigStaleReadIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.asPeer(core.CoordOp{Kind: core.CoordSet, Path: "/config/brokers/<default>", Data: []byte(`{"version":1,"config":{"log.segment.bytes":"4096"}}`),
		Version: core.CoordAnyVersion, Upsert: true})
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: "/config/changes/config_change_", Data: []byte(`{"version":2,"entity_path":"brokers/<default>"}`),
		Sequential: true, Parents: true})
	// The notification's reads of the broker documents are answered, but
	// the answers are held back.
	stale := map[core.Token]bool{}
	holdStale := func(ev core.Event) bool {
		if r, ok := ev.(core.CoordResult); ok && (h.readOf(r.Token, "/config/brokers/<default>") || h.readOf(r.Token, "/config/brokers/0")) {
			stale[r.Token] = true
			return false
		}
		return true
	}
	h.deliver(holdStale)
	if len(stale) != 2 {
		t.Fatalf("the notification read %d broker documents; want 2", len(stale))
	}
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, ""
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "log.segment.bytes", kmsg.StringPtr("8192")
	res.Configs = append(res.Configs, c)
	alter.Resources = append(alter.Resources, res)
	seq := h.send(1, 1, alter)
	h.deliver(func(ev core.Event) bool { r, ok := ev.(core.CoordResult); return !ok || !stale[r.Token] })
	if code := h.mustResponse(seq).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; code != 0 {
		t.Fatalf("IncrementalAlterConfigs: got error %d; want 0", code)
	}
	h.deliverAll() // the late answers, with the older document
	describe := kmsg.NewPtrDescribeConfigsRequest()
	dres := kmsg.NewDescribeConfigsRequestResource()
	dres.ResourceType, dres.ResourceName, dres.ConfigNames = kmsg.ConfigResourceTypeBroker, "0", []string{"log.segment.bytes"}
	describe.Resources = append(describe.Resources, dres)
	seq = h.send(1, 3, describe)
	got := h.mustResponse(seq).(*kmsg.DescribeConfigsResponse).Resources[0].Configs
	if len(got) != 1 || got[0].Value == nil || *got[0].Value != "8192" {
		t.Fatalf("log.segment.bytes after the late answers: got %+v; want 8192", got)
	}
}

// TestTopicConfigStaleReadIgnored: as for the broker documents, a read of
// a topic's overrides that a change notification started, answered only
// after the broker applied its own AlterConfigs of the topic, does not
// undo the newer overrides.
func TestTopicConfigStaleReadIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.createTopic("t", 1, nil)
	h.asPeer(core.CoordOp{Kind: core.CoordSet, Path: "/config/topics/t", Data: []byte(`{"version":1,"config":{"retention.ms":"1000"}}`),
		Version: core.CoordAnyVersion, Upsert: true})
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: "/config/changes/config_change_", Data: []byte(`{"version":2,"entity_path":"topics/t"}`),
		Sequential: true, Parents: true})
	// The notification's read of the topic's overrides is answered, but
	// the answer is held back.
	stale := map[core.Token]bool{}
	h.deliver(func(ev core.Event) bool {
		if r, ok := ev.(core.CoordResult); ok && h.readOf(r.Token, "/config/topics/t") {
			stale[r.Token] = true
			return false
		}
		return true
	})
	if len(stale) != 1 {
		t.Fatalf("the notification read the topic's overrides %d times; want 1", len(stale))
	}
	alter := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "retention.ms", kmsg.StringPtr("2000")
	res.Configs = append(res.Configs, c)
	alter.Resources = append(alter.Resources, res)
	mark := len(h.coordOps)
	seq := h.send(1, 1, alter)
	// The alter completes; the reads its own change notification starts
	// are held too, so that the late answer comes before them.
	h.deliver(func(ev core.Event) bool {
		r, ok := ev.(core.CoordResult)
		return !ok || !stale[r.Token] && !h.readAfterWrite(mark, r.Token, "/config/topics/t")
	})
	if code := h.mustResponse(seq).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; code != 0 {
		t.Fatalf("IncrementalAlterConfigs: got error %d; want 0", code)
	}
	// the late answer alone, with the older overrides (before the reads
	// the broker's own change notification starts)
	h.deliver(func(ev core.Event) bool { r, ok := ev.(core.CoordResult); return ok && stale[r.Token] })
	describe := kmsg.NewPtrDescribeConfigsRequest()
	dres := kmsg.NewDescribeConfigsRequestResource()
	dres.ResourceType, dres.ResourceName, dres.ConfigNames = kmsg.ConfigResourceTypeTopic, "t", []string{"retention.ms"}
	describe.Resources = append(describe.Resources, dres)
	seq = h.send(1, 3, describe)
	got := h.mustResponse(seq).(*kmsg.DescribeConfigsResponse).Resources[0].Configs
	if len(got) != 1 || got[0].Value == nil || *got[0].Value != "2000" {
		v := "none"
		if len(got) == 1 && got[0].Value != nil {
			v = *got[0].Value
		}
		t.Fatalf("retention.ms after the late answer: got %s; want 2000", v)
	}
}

// readOf says the coordination operation of tok was a read of path.
func (h *harness) readOf(tok core.Token, path string) bool {
	for _, op := range h.coordOps {
		if op.Token == tok && op.Kind == core.CoordGet && op.Path == path {
			return true
		}
	}
	return false
}

// readAfterWrite says the coordination operation of tok was a read of
// path issued after a write of it, both among the operations from the
// mark'th on.
func (h *harness) readAfterWrite(mark int, tok core.Token, path string) bool {
	written := false
	for _, op := range h.coordOps[mark:] {
		switch {
		case op.Path == path && (op.Kind == core.CoordSet || op.Kind == core.CoordCreate):
			written = true
		case op.Token == tok:
			return written && op.Kind == core.CoordGet && op.Path == path
		}
	}
	return false
}

package core_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// TestScrubProperty: log.scrub.bytes.per.second defaults to 16 MiB/s, 0
// disables the scrubber, and negative or absurd rates are refused.
func TestScrubProperty(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  int64
		ok    bool
	}{
		{"", 16 << 20, true},
		{"0", 0, true},
		{"1", 1, true},
		{"1099511627776", 1 << 40, true},
		{"1099511627777", 0, false},
		{"-1", 0, false},
		{"fast", 0, false},
	} {
		props := map[string]string{}
		if tt.value != "" {
			props["log.scrub.bytes.per.second"] = tt.value
		}
		cfg, err := core.ParseProperties(props)
		switch {
		case tt.ok && err != nil:
			t.Errorf("log.scrub.bytes.per.second=%q: got %v; want accepted", tt.value, err)
		case !tt.ok && err == nil:
			t.Errorf("log.scrub.bytes.per.second=%q: accepted; want refused", tt.value)
		case tt.ok && cfg.ScrubBytesPerSec != tt.want:
			t.Errorf("log.scrub.bytes.per.second=%q: got %d; want %d", tt.value, cfg.ScrubBytesPerSec, tt.want)
		}
	}
}

// scrubHarness is a harness whose broker scrubs at rate bytes a second,
// with coverage counted, and hosts topics a (two partitions) and b (one).
func scrubHarness(t *testing.T, rate string) (*harness, *cover.Counts) {
	t.Helper()
	cfg, err := core.ParseProperties(map[string]string{"log.scrub.bytes.per.second": rate})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	cov := &cover.Counts{}
	cfg.Coverage = cov
	h := newHarnessFrom(t, cfg, core.Recovered{})
	h.createTopic("b", 1, nil)
	h.createTopic("a", 2, nil)
	h.takeScrubs()
	return h, cov
}

// takeScrubs returns the Scrubs emitted since the last call and drops
// their held completions: the test answers them itself.
func (h *harness) takeScrubs() []core.Scrub {
	out := h.scrubs
	h.scrubs = nil
	h.held = slices.DeleteFunc(h.held, func(ev core.Event) bool { _, ok := ev.(core.Scrubbed); return ok })
	return out
}

// oneScrub ticks ms and returns the one Scrub that tick emitted.
func (h *harness) oneScrub(ms int64) core.Scrub {
	h.t.Helper()
	h.tick(ms)
	got := h.takeScrubs()
	if len(got) != 1 {
		h.t.Fatalf("a tick of %d ms emitted Scrubs %+v; want one", ms, got)
	}
	return got[0]
}

// TestScrubSchedule: one Scrub at a time, of the rate's credit (capped),
// each partition until its pass is done, in topic and partition order,
// round and round.
func TestScrubSchedule(t *testing.T) {
	h, cov := scrubHarness(t, "1048576") // 1 MiB/s
	h.tick(50)
	if got := h.takeScrubs(); len(got) != 0 {
		t.Fatalf("50 ms gave 52428 bytes of credit, below 64 KiB; got Scrubs %+v", got)
	}
	a0, a1, b0 := core.TopicPartition{Topic: "a", Partition: 0}, core.TopicPartition{Topic: "a", Partition: 1}, core.TopicPartition{Topic: "b", Partition: 0}
	s := h.oneScrub(50)
	if s.Partition != a0 || s.MaxBytes != 2*52428 {
		t.Fatalf("got %+v; want a-0 for two ticks' credit (2 × 52428 bytes)", s)
	}
	h.tick(100)
	if got := h.takeScrubs(); len(got) != 0 {
		t.Fatalf("a second Scrub went out while the first was in flight: %+v", got)
	}
	h.step(core.Scrubbed{Token: s.Token, Checked: 60000})
	s = h.oneScrub(100)
	if want := int64(2*52428 + 2*104857 - 60000); s.Partition != a0 || s.MaxBytes != want {
		t.Fatalf("got %+v; want a-0 again (its pass goes on) for %d bytes", s, want)
	}
	var order []core.TopicPartition
	for range 4 {
		h.step(core.Scrubbed{Token: s.Token, Checked: 100, PassDone: true})
		s = h.oneScrub(100)
		order = append(order, s.Partition)
	}
	if want := []core.TopicPartition{a1, b0, a0, a1}; !slices.Equal(order, want) {
		t.Fatalf("after each completed pass the scrubber went to %v; want %v", order, want)
	}
	h.step(core.Scrubbed{Token: s.Token, Checked: 100, PassDone: true})
	if s = h.oneScrub(3600_000); s.MaxBytes != 4<<20 {
		t.Fatalf("after an hour: got %d bytes; want the cap, %d", s.MaxBytes, 4<<20)
	}
	if got := cov.Of(cover.ScrubPassCompleted); got != 5 {
		t.Errorf("scrub-pass-completed fired %d times; want 5", got)
	}
	if st := h.b.Stats(); st.ScrubBytes != 60000+100*5 {
		t.Errorf("Stats.ScrubBytes = %d; want %d", st.ScrubBytes, 60000+100*5)
	}
}

// TestScrubDisabled: at rate 0 nothing is scrubbed.
func TestScrubDisabled(t *testing.T) {
	h, _ := scrubHarness(t, "0")
	for range 10 {
		h.tick(1000)
	}
	if got := h.takeScrubs(); len(got) != 0 {
		t.Fatalf("log.scrub.bytes.per.second=0 emitted %+v", got)
	}
}

// TestScrubDamageReported: damage is logged with the partition, counted
// and covered; an IO error takes the partition offline.
func TestScrubDamageReported(t *testing.T) {
	h, cov := scrubHarness(t, "16777216")
	s := h.oneScrub(10)
	d := core.ScrubDamage{Segment: "/data/a-0/00000000000000000000.log", Position: 4096, Offset: 40, End: 55, Reason: "record batch CRC mismatch"}
	h.lifecycles = nil
	h.step(core.Scrubbed{Token: s.Token, Checked: 4096, Damaged: []core.ScrubDamage{d}})
	var warned *core.Lifecycle
	for i, l := range h.lifecycles {
		if l.Damaged == s.Partition {
			warned = &h.lifecycles[i]
		}
	}
	if warned == nil || warned.Damage != d || !strings.Contains(warned.Warning, "offsets 40 to 54") || !strings.Contains(warned.Warning, d.Segment) {
		t.Fatalf("got lifecycles %+v; want a warning of the damage to %s at offsets 40 to 54", h.lifecycles, s.Partition)
	}
	if st := h.b.Stats(); st.ScrubDamagedBatches != 1 {
		t.Errorf("Stats.ScrubDamagedBatches = %d; want 1", st.ScrubDamagedBatches)
	}
	if cov.Of(cover.ScrubFoundDamage) != 1 {
		t.Errorf("scrub-found-damage fired %d times; want 1", cov.Of(cover.ScrubFoundDamage))
	}
	// the same partition again (its pass went on), then an IO error
	if s = h.oneScrub(10); s.Partition != (core.TopicPartition{Topic: "a", Partition: 0}) {
		t.Fatalf("got %+v; want a-0 again", s)
	}
	h.step(core.Scrubbed{Token: s.Token, Err: errors.New("read: input/output error")})
	if r := h.produce("a", 0, batchOpts{}); r.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("produce after a scrub's IO error: got error %d; want KAFKA_STORAGE_ERROR", r.ErrorCode)
	}
	if s = h.oneScrub(10); s.Partition != (core.TopicPartition{Topic: "a", Partition: 1}) {
		t.Fatalf("got %+v; want a-1: a-0 is offline", s)
	}
}

// TestScrubRateDynamic: log.scrub.bytes.per.second changes at run time
// (IncrementalAlterConfigs for the broker): 0 stops the scrubber, a rate
// starts it again.
func TestScrubRateDynamic(t *testing.T) {
	h, _ := scrubHarness(t, "16777216")
	set := func(v string) {
		t.Helper()
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "log.scrub.bytes.per.second", kmsg.StringPtr(v)
		res.Configs = append(res.Configs, c)
		req.Resources = append(req.Resources, res)
		seq := h.send(1, 1, req)
		h.deliver(func(ev core.Event) bool { _, ok := ev.(core.Scrubbed); return !ok })
		if code := h.mustResponse(seq).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; code != 0 {
			t.Fatalf("setting log.scrub.bytes.per.second=%s: got error %d; want 0", v, code)
		}
	}
	s := h.oneScrub(10)
	h.step(core.Scrubbed{Token: s.Token, Checked: 1000})
	set("0")
	for range 5 {
		h.tick(1000)
	}
	if got := h.takeScrubs(); len(got) != 0 {
		t.Fatalf("after setting the rate to 0: got Scrubs %+v", got)
	}
	set("1048576")
	h.tick(1000)
	if got := h.takeScrubs(); len(got) != 1 || got[0].MaxBytes != 1048576 {
		t.Fatalf("a second at 1 MiB/s after the rate came back: got %+v; want one Scrub of 1048576 bytes", got)
	}
}

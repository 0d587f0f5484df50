package core_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The stopping broker's side of a controlled shutdown (the harness helpers
// are in api_07_controlled_shutdown_test.go).

// shutdownReports are the reports on this broker's controlled shutdown.
func (h *harness) shutdownReports() []core.ShutdownReport {
	var out []core.ShutdownReport
	for _, l := range h.lifecycles {
		if l.Shutdown != nil {
			out = append(out, *l.Shutdown)
		}
	}
	return out
}

// shutdownSends are the ControlledShutdown requests sent to other brokers.
func (h *harness) shutdownSends() []core.PeerSend {
	var out []core.PeerSend
	for _, ps := range h.peerSends {
		if ps.Request.Key() == 7 {
			out = append(out, ps)
		}
	}
	return out
}

// TestShutdownSkipped: no controlled shutdown for a single broker, with
// controlled.shutdown.enable=false, or with no attempt allowed (then it
// failed, as Kafka says); the broker may stop at once.
func TestShutdownSkipped(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  core.ShutdownReport
	}{
		{map[string]string{"broker.id": "1"}, core.ShutdownReport{Attempts: 3, Done: true, Skipped: "a single broker with its embedded coordinator"}},
		{map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181", "controlled.shutdown.enable": "false"},
			core.ShutdownReport{Attempts: 3, Done: true, Skipped: "controlled.shutdown.enable=false"}},
		{map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181", "controlled.shutdown.max.retries": "0"},
			core.ShutdownReport{Attempts: 0, Done: true}},
	} {
		h := newHarness(t, tc.props)
		h.deliverAll()
		if h.b.ReadyToStop() {
			t.Fatalf("%v: ready to stop before being asked", tc.props)
		}
		h.step(core.ShutdownRequested{})
		h.deliverAll()
		if got := h.shutdownReports(); len(got) != 1 || got[0] != tc.want || !h.b.ReadyToStop() {
			t.Errorf("%v: reports %+v, ready %v; want [%+v], ready", tc.props, got, h.b.ReadyToStop(), tc.want)
		}
		if n := len(h.shutdownSends()); n != 0 {
			t.Errorf("%v: %d ControlledShutdown requests sent; want none", tc.props, n)
		}
	}
}

// TestShutdownAsksItself: the controller's own controlled shutdown is
// judged where it runs, and succeeds at the first attempt.
func TestShutdownAsksItself(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	h.step(core.ShutdownRequested{})
	h.deliverAll()
	want := core.ShutdownReport{Attempt: 1, Attempts: 3, Done: true, Succeeded: true}
	if got := h.shutdownReports(); len(got) != 1 || got[0] != want || !h.b.ReadyToStop() {
		t.Errorf("reports %+v, ready %v; want [%+v], ready", got, h.b.ReadyToStop(), want)
	}
	if counts.Of(cover.ControlledShutdown) != 1 || len(h.shutdownSends()) != 0 {
		t.Errorf("controlled-shutdown fired %d times, %d requests sent; want once, none", counts.Of(cover.ControlledShutdown), len(h.shutdownSends()))
	}
	h.step(core.ShutdownRequested{}) // asked again: nothing more happens
	h.deliverAll()
	if n := len(h.shutdownReports()); n != 1 {
		t.Errorf("after a second ShutdownRequested: %d reports; want still 1", n)
	}
}

// TestShutdownRetries: the broker asks the controller (another broker,
// at the address it registered), at its own broker epoch; a failed
// send, a refusal and partitions left to move each fail an attempt, and
// the next comes controlled.shutdown.retry.backoff.ms later; the fourth
// succeeds.
func TestShutdownRetries(t *testing.T) {
	h, _ := clusterHarness(t, map[string]string{"controlled.shutdown.max.retries": "4", "controlled.shutdown.retry.backoff.ms": "1000"})
	h.followController(9)
	answers := []func(*kmsg.ControlledShutdownResponse) error{
		func(*kmsg.ControlledShutdownResponse) error { return errors.New("connection refused") },
		func(r *kmsg.ControlledShutdownResponse) error { r.ErrorCode = kerr.NotController.Code; return nil },
		func(r *kmsg.ControlledShutdownResponse) error {
			rp := kmsg.NewControlledShutdownResponsePartitionsRemaining()
			rp.Topic = "t"
			r.PartitionsRemaining = append(r.PartitionsRemaining, rp)
			return nil
		},
		func(*kmsg.ControlledShutdownResponse) error { return nil },
	}
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		if ps.Request.Key() != 7 {
			return core.PeerResponse{Err: errDisk}
		}
		resp := ps.Request.ResponseKind().(*kmsg.ControlledShutdownResponse)
		if err := answers[len(h.shutdownSends())-1](resp); err != nil {
			return core.PeerResponse{Err: err}
		}
		return core.PeerResponse{Response: resp}
	}
	epoch := h.epochOf(1)
	h.step(core.ShutdownRequested{})
	h.deliverAll()
	for attempt := 1; attempt <= 3; attempt++ {
		if n := len(h.shutdownSends()); n != attempt {
			t.Fatalf("before attempt %d's backoff ran out: %d requests sent; want %d", attempt, n, attempt)
		}
		h.tick(999)
		h.deliverAll()
		if n := len(h.shutdownSends()); n != attempt {
			t.Fatalf("999 ms after attempt %d failed: %d requests sent; want still %d", attempt, n, attempt)
		}
		h.tick(1)
		h.deliverAll()
	}
	for i, ps := range h.shutdownSends() {
		req := ps.Request.(*kmsg.ControlledShutdownRequest)
		if ps.Broker != 9 || ps.Host != "peer-9" || ps.Port != 9009 || req.GetVersion() != 3 || req.BrokerID != 1 || req.BrokerEpoch != epoch {
			t.Errorf("request %d: to broker %d at %s:%d, v%d, broker %d, epoch %d; want to 9 at peer-9:9009, v3, broker 1, epoch %d",
				i+1, ps.Broker, ps.Host, ps.Port, req.GetVersion(), req.BrokerID, req.BrokerEpoch, epoch)
		}
	}
	got := h.shutdownReports()
	if len(got) != 4 || !got[3].Done || !got[3].Succeeded || got[3].Attempt != 4 || !h.b.ReadyToStop() {
		t.Fatalf("reports %+v, ready %v; want three failures, then Done and Succeeded at attempt 4", got, h.b.ReadyToStop())
	}
	for i, why := range []string{"connection refused", "NOT_CONTROLLER", "left 1 partitions"} {
		if r := got[i]; r.Done || r.Attempt != i+1 || r.Attempts != 4 || r.RetryMs != 1000 || !strings.Contains(r.Failure, why) {
			t.Errorf("report %d: got %+v; want attempt %d of 4 failed (%q), retry in 1000 ms", i+1, r, i+1, why)
		}
	}
}

// TestShutdownGivesUp: after controlled.shutdown.max.retries failed
// attempts the broker may stop anyway, and asks no more.
func TestShutdownGivesUp(t *testing.T) {
	h, _ := clusterHarness(t, map[string]string{"controlled.shutdown.max.retries": "2", "controlled.shutdown.retry.backoff.ms": "10"})
	h.followController(9)
	h.step(core.ShutdownRequested{})
	h.deliverAll()
	for i := 0; i < 100; i++ {
		h.tick(10)
		h.deliverAll()
	}
	got := h.shutdownReports()
	if n := len(h.shutdownSends()); n != 2 {
		t.Errorf("%d ControlledShutdown requests sent; want 2", n)
	}
	if len(got) != 2 || !got[1].Done || got[1].Succeeded || got[1].Attempt != 2 || !strings.Contains(got[1].Failure, "injected disk error") || !h.b.ReadyToStop() {
		t.Errorf("reports %+v, ready %v; want one failure, then Done after attempt 2 with its failure", got, h.b.ReadyToStop())
	}
}

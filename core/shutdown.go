package core

import (
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A broker's controlled shutdown (Kafka's KafkaServer.controlledShutdown).
// When its process is asked to stop (ShutdownRequested), a broker of a
// cluster asks the active controller, with ControlledShutdown, to stop
// electing it and to take its leaderships away (api_07). An attempt
// fails when no controller is known, when the request fails or is
// refused, or when the answer lists partitions the broker still leads;
// the broker tries again controlled.shutdown.retry.backoff.ms later, up
// to controlled.shutdown.max.retries attempts in all, and then stops
// anyway, as Kafka does. It serves clients throughout. Every attempt is
// reported (Lifecycle.Shutdown), and the last report is Done: the
// runtime stops the process then.
//
//	ShutdownRequested ──▶ attempt ──PeerSend──▶ controller (or itself)
//	                        ▲                        │
//	      tick after backoff│◀── failed, attempts left ┤
//	                                                 ▼
//	              Done (Succeeded, or failed after the last attempt)
//
// No attempt is made (Done at once, Skipped saying why) by a single
// broker, whose embedded coordinator has no other broker to hand over
// to; with controlled.shutdown.enable=false; or before the broker
// registered, when no controller knows it (Kafka's startupComplete).
//
// The transport answers every PeerSend, within its own bound (realio's
// peer timeout, as Kafka's request.timeout.ms), so every attempt ends;
// the runtime bounds the whole wait as well.

// shutdownState is a broker's controlled shutdown. Attempts run one at a
// time: the next is due only after the last was answered.
type shutdownState struct {
	requested bool    // ShutdownRequested came
	done      bool    // reported Done: the process may stop
	attempt   int     // attempts made so far
	retrying  bool    // another attempt is due at retryAt
	retryAt   Instant // (the backoff after the last attempt)
	failure   string  // why the last attempt failed ("": it did not)
}

// requestShutdown begins the broker's preparation to stop (once).
func (b *Broker) requestShutdown() {
	s := &b.shutdown
	if s.requested {
		return
	}
	s.requested = true
	switch {
	case b.cfg.ZookeeperConnect == "":
		b.shutdownDone(false, "a single broker with its embedded coordinator")
	case !b.cfg.ControlledShutdown.Enable:
		b.shutdownDone(false, "controlled.shutdown.enable=false")
	case b.brokerEpoch == 0:
		b.shutdownDone(false, "the broker never registered")
	default:
		b.shutdownAttempt()
	}
}

// shutdownAttempts is how many attempts controlled.shutdown.max.retries
// allows.
func (b *Broker) shutdownAttempts() int { return int(max(b.cfg.ControlledShutdown.MaxRetries, 0)) }

// shutdownAttempt asks the controller once, or ends the controlled
// shutdown when no attempt is left.
func (b *Broker) shutdownAttempt() {
	s := &b.shutdown
	if s.attempt >= b.shutdownAttempts() {
		b.shutdownDone(false, "")
		return
	}
	s.attempt++
	attempt := s.attempt
	req := kmsg.NewPtrControlledShutdownRequest()
	req.SetVersion(controlledShutdownVersion)
	req.BrokerID, req.BrokerEpoch = int32(b.cfg.BrokerID), b.brokerEpoch
	ctl := b.ctl.active
	lb, registered := b.live[ctl]
	switch {
	case ctl < 0:
		b.shutdownFailed(attempt, "no controller is known")
	case ctl == b.cfg.BrokerID:
		b.ctlControlledShutdown(req, func(resp *kmsg.ControlledShutdownResponse) { b.shutdownAnswered(attempt, resp, nil) })
	case !registered:
		b.shutdownFailed(attempt, fmt.Sprintf("the controller, broker %d, is not among the registered brokers", ctl))
	default:
		tok := awaitFor(b.step, func(r PeerResponse) {
			resp, ok := r.Response.(*kmsg.ControlledShutdownResponse)
			if r.Err == nil && !ok {
				panic(fmt.Sprintf("core: a %T answers ControlledShutdown", r.Response))
			}
			err := r.Err
			if err != nil {
				err = fmt.Errorf("sending to the controller, broker %d: %w", ctl, err)
			}
			b.shutdownAnswered(attempt, resp, err)
		})
		b.emit(b.peerSendTo(tok, lb, req))
	}
}

// shutdownAnswered takes the controller's answer to an attempt (or the
// error that kept it from coming).
func (b *Broker) shutdownAnswered(attempt int, resp *kmsg.ControlledShutdownResponse, err error) {
	s := &b.shutdown
	if s.done || attempt != s.attempt {
		panic(fmt.Sprintf("core: an answer to controlled shutdown attempt %d of %d (done %v)", attempt, s.attempt, s.done))
	}
	switch {
	case err != nil:
		b.shutdownFailed(attempt, err.Error())
	case resp.ErrorCode != errNone:
		b.shutdownFailed(attempt, "the controller answered "+kerr.TypedErrorForCode(resp.ErrorCode).Message)
	case len(resp.PartitionsRemaining) > 0:
		b.shutdownFailed(attempt, fmt.Sprintf("the controller left %d partitions led here", len(resp.PartitionsRemaining)))
	default:
		s.failure = ""
		b.shutdownDone(true, "")
	}
}

// shutdownFailed records a failed attempt: the next is due after the
// backoff, or, with none left, the broker stops anyway.
func (b *Broker) shutdownFailed(attempt int, why string) {
	s := &b.shutdown
	s.failure = why
	if attempt >= b.shutdownAttempts() {
		b.shutdownDone(false, "")
		return
	}
	backoffMs := b.cfg.ControlledShutdown.RetryBackoffMs
	s.retrying = true
	s.retryAt = b.now + Instant(min(backoffMs, (math.MaxInt64-int64(b.now))/1e6)*1e6)
	b.emit(Lifecycle{Shutdown: &ShutdownReport{Attempt: attempt, Attempts: b.shutdownAttempts(), Failure: why, RetryMs: backoffMs}})
}

// shutdownTick makes the next attempt once its backoff has passed.
func (b *Broker) shutdownTick() {
	s := &b.shutdown
	if s.retrying && b.now >= s.retryAt {
		s.retrying = false
		b.shutdownAttempt()
	}
}

// shutdownDone reports that the process may stop: after the controlled
// shutdown succeeded, or failed for good, or without one (skipped, the
// reason).
func (b *Broker) shutdownDone(succeeded bool, skipped string) {
	s := &b.shutdown
	s.done = true
	b.emit(Lifecycle{Shutdown: &ShutdownReport{Attempt: s.attempt, Attempts: b.shutdownAttempts(), Failure: s.failure,
		Done: true, Succeeded: succeeded, Skipped: skipped}})
}

// ReadyToStop says whether the broker, asked to stop, has finished
// preparing: the runtime may stop it now.
func (b *Broker) ReadyToStop() bool { return b.shutdown.done }

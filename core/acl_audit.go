package core

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The audit trail of authorization: each denial of an action a request
// names is reported (AuthzDenied) for a structured log line, at most
// authorizer.denied.log.max per principal and client address per
// authorizer.denied.log.interval.ms; beyond it denials are counted and
// the count goes with the next one reported.

// auditState bounds the denial reports.
type auditState struct {
	denials reportBudget
}

// auditDenied reports a denial within the bound.
func (b *Broker) auditDenied(r Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) {
	cfg := b.cfg.ACL
	ok, suppressed := b.acl.audit.denials.take(r.Principal+" "+r.ClientHost, b.now, cfg.DeniedLogIntervalMs, cfg.DeniedLogMax, cfg.AuditKeysMax)
	if !ok {
		return
	}
	res := aclResource{Type: typ, Pattern: kmsg.ACLResourcePatternTypeLiteral, Name: name}
	b.emit(AuthzDenied{Conn: r.Conn, Principal: r.Principal, ClientHost: r.ClientHost, Listener: r.Listener,
		API: apiName(r.Header.Key), Resource: res.String(), Operation: pascalCase(op.String()), Suppressed: suppressed})
}

// reportBudget bounds reports per key: max per interval, the ones over
// it counted as suppressed; at most keysMax keys are tracked (a report
// for a new key beyond it is dropped, once the keys whose interval is
// over are forgotten).
type reportBudget struct {
	counts map[string]*failureCount
}

// failureCount counts one key's reports in its current interval.
type failureCount struct {
	since      Instant
	reported   int64
	suppressed int64
}

// take says whether a report for key may go out now and how many were
// suppressed before it (then reset).
func (rb *reportBudget) take(key string, now Instant, intervalMs, max int64, keysMax int) (bool, int64) {
	fc := rb.counts[key]
	interval := Instant(intervalMs) * 1e6
	if fc == nil || now-fc.since >= interval {
		if fc == nil && len(rb.counts) >= keysMax {
			rb.prune(now, interval)
		}
		if fc == nil && len(rb.counts) >= keysMax {
			return false, 0 // too many keys at once: not reported
		}
		old := fc
		fc = &failureCount{since: now}
		if old != nil {
			fc.suppressed = old.suppressed
		}
		if rb.counts == nil {
			rb.counts = map[string]*failureCount{}
		}
		rb.counts[key] = fc
	}
	if fc.reported >= max {
		fc.suppressed++
		return false, 0
	}
	fc.reported++
	s := fc.suppressed
	fc.suppressed = 0
	return true, s
}

// prune forgets the keys whose interval is over.
func (rb *reportBudget) prune(now, interval Instant) {
	// order-independent: deletes by a per-entry test
	for key, fc := range rb.counts {
		if now-fc.since >= interval && fc.suppressed == 0 {
			delete(rb.counts, key)
		}
	}
}

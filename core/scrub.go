package core

import (
	"fmt"

	"cloudkafka/core/cover"
)

// The log scrubber's scheduling; the verification itself is the segment
// store's (io/segment/scrub.go). Batches are verified when stored and when
// recovery scans the log, and fetches may send segment bytes without
// reading them; the scrubber re-verifies what is stored at
// log.scrub.bytes.per.second, so that damage on the medium is found within
// one pass over the logs and refused from then on.
//
// One partition at a time, in topic and partition order, each until the
// store reports its pass done, then the next, round and round. At most one
// Scrub is in flight on the broker. The rate is a credit on the monotonic
// clock: each tick adds rate × elapsed time, at most scrubEffectBytesMax
// (a paused broker does not follow with a burst), and a Scrub asks for the
// credit there is, spending what it checked; a tick emits one once the
// credit reaches scrubEffectBytesMin (or the rate, if lower), so that a
// slow rate makes few small effects. 0 disables the scrubber.
//
// Damage found is logged (a Lifecycle warning naming the partition, the
// segment and the offsets now refused) and counted; an IO error takes the
// partition offline, as for Clean and Retain.

const (
	// scrubEffectBytesMax bounds the bytes one Scrub asks for, and so
	// the credit the scrubber may save up.
	scrubEffectBytesMax = 4 << 20
	// scrubEffectBytesMin is the credit a Scrub waits for (or the rate,
	// if lower).
	scrubEffectBytesMin = 64 << 10
	// scrubBytesPerSecMax bounds log.scrub.bytes.per.second, so that
	// rate × an hour in ms fits an int64.
	scrubBytesPerSecMax = 1 << 40
	// scrubAccrualMsMax bounds the time credited at once: an hour's
	// credit exceeds scrubEffectBytesMax at any rate that is not 0.
	scrubAccrualMsMax = 3600_000
)

// scrubState is the broker's side of the scrubber.
type scrubState struct {
	inflight bool // a Scrub is out
	// cursor is the partition being scrubbed (valid once started); its
	// pass goes on until the store reports it done (passDone), and the
	// next partition in order follows.
	cursor   TopicPartition
	started  bool
	passDone bool
	// credit is the bytes the rate allows now: at most
	// scrubEffectBytesMax, below 0 after a batch larger than asked for.
	// accrued is the monotonic instant it was accrued to (0: no tick
	// yet).
	credit  int64
	accrued Instant
	// bytes and damaged count the bytes verified and the damaged places
	// found since the broker started (metrics).
	bytes, damaged uint64
}

// scheduleScrub accrues the scrubber's credit and emits a Scrub when one
// is due.
func (b *Broker) scheduleScrub() {
	sc := &b.scrub
	rate := b.cfg.ScrubBytesPerSec
	b.accrueScrubCredit(rate)
	if rate <= 0 || sc.inflight || sc.credit < min(rate, scrubEffectBytesMin) {
		return
	}
	if p := b.scrubTarget(); p != nil {
		b.scrubPartition(p, min(sc.credit, scrubEffectBytesMax))
	}
}

// accrueScrubCredit adds rate × the monotonic time since the last accrual
// to the credit, within its cap. A rate of 0 keeps no credit.
func (b *Broker) accrueScrubCredit(rate int64) {
	sc := &b.scrub
	if sc.accrued == 0 || rate <= 0 {
		sc.accrued = b.mono
		sc.credit = min(sc.credit, 0)
		return
	}
	ms := (b.mono - sc.accrued).Millis()
	if ms <= 0 {
		return
	}
	if ms > scrubAccrualMsMax {
		ms, sc.accrued = scrubAccrualMsMax, b.mono
	} else {
		sc.accrued += Instant(ms) * 1e6 // what is left of a millisecond counts at the next tick
	}
	sc.credit = min(sc.credit+rate*ms/1000, scrubEffectBytesMax)
}

// scrubTarget returns the partition to scrub next: the cursor's while its
// pass goes on, else the next hosted online partition in order after it
// (wrapping around), which becomes the cursor. Nil: none.
func (b *Broker) scrubTarget() *partition {
	sc := &b.scrub
	var first, next *partition
	for _, name := range b.topicNames() {
		t := b.topics[name]
		if t.unlisted {
			continue // being deleted
		}
		for _, p := range t.parts {
			if !p.hosted() || p.offline || p.deleted {
				continue
			}
			if sc.started && p.tp == sc.cursor && !sc.passDone {
				return p
			}
			if first == nil {
				first = p
			}
			if next == nil && sc.started && sc.cursor.Less(p.tp) {
				next = p
			}
		}
	}
	if next == nil {
		next = first
	}
	if next != nil {
		sc.cursor, sc.started, sc.passDone = next.tp, true, false
	}
	return next
}

// scrubPartition emits one Scrub of p for up to maxBytes.
func (b *Broker) scrubPartition(p *partition, maxBytes int64) {
	sc := &b.scrub
	sc.inflight = true
	tok := awaitFor(b.step, func(r Scrubbed) {
		sc.inflight = false
		sc.credit -= r.Checked
		sc.bytes += uint64(max(r.Checked, 0))
		for _, d := range r.Damaged {
			b.scrubFoundDamage(p, d)
		}
		if r.PassDone {
			b.cover(cover.ScrubPassCompleted)
		}
		if r.PassDone || r.Err != nil {
			sc.passDone = true
		}
		if r.Err != nil && !p.deleted {
			b.takeOffline(p, r.Err)
		}
	})
	b.emit(Scrub{Token: tok, Partition: p.tp, MaxBytes: maxBytes})
}

// scrubFoundDamage reports damage the scrubber found in p's log.
func (b *Broker) scrubFoundDamage(p *partition, d ScrubDamage) {
	b.scrub.damaged++
	b.cover(cover.ScrubFoundDamage)
	b.emit(Lifecycle{Damaged: p.tp, Damage: d, Warning: fmt.Sprintf(
		"log scrubber: %s is damaged on the medium: the batch at position %d of %s failed verification (%s); "+
			"reads of offsets %d to %d are refused from now on (this replica's copy of them is lost; a restart cuts the log there)",
		p.tp, d.Position, d.Segment, d.Reason, d.Offset, d.End-1)})
}

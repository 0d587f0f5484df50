package core

import "math"

// The cleaner's scheduling (log compaction; the cleaning itself is the
// segment store's, see io/segment/clean.go). Kafka's cleaner threads each
// pick the dirtiest eligible log, clean it, and sleep
// log.cleaner.backoff.ms when none is eligible. Here, on every tick, the
// broker offers a Clean to compacted partitions that are due, in a
// rotating order, while fewer than log.cleaner.threads cleans are
// outstanding (one per partition at most); the store decides
// eligibility. A partition whose clean ran is due again at once, one
// whose clean found nothing to do after log.cleaner.backoff.ms, so an
// idle cleaner costs one cheap Clean per partition per backoff. A storage
// error takes the partition offline, as for Retain.

// cleanerState is the broker's side of the cleaner.
type cleanerState struct {
	outstanding int // Clean effects not yet completed; <= Cleaner.Threads
	cursor      int // rotates where the next scan of partitions starts
}

// compactedPartitions lists the partitions of topics whose cleanup.policy
// includes compact, in topic-name and partition order.
func (b *Broker) compactedPartitions() []*partition {
	var out []*partition
	for _, name := range b.topicNames() {
		t := b.topics[name]
		if b.cfg.settingsOf(t).compacts && !t.unlisted {
			for _, p := range t.parts {
				if p.hosted() {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func (b *Broker) scheduleCleaning() {
	c := b.cfg.Cleaner
	if !c.Enable || b.cleaner.outstanding >= c.Threads {
		return
	}
	parts := b.compactedPartitions()
	for i := range parts {
		if b.cleaner.outstanding >= c.Threads {
			break
		}
		p := parts[(b.cleaner.cursor+i)%len(parts)]
		if p.offline || p.cleaning || b.now < p.cleanDue {
			continue
		}
		b.clean(p)
	}
	if len(parts) > 0 {
		b.cleaner.cursor = (b.cleaner.cursor + 1) % len(parts)
	}
}

// clean emits one Clean for p.
func (b *Broker) clean(p *partition) {
	p.cleaning = true
	b.cleaner.outstanding++
	tok := awaitFor(b.step, func(r Cleaned) {
		p.cleaning = false
		b.cleaner.outstanding--
		if r.Err != nil {
			b.takeOffline(p, r.Err)
			return
		}
		p.filesDueMs = r.FilesDueMs
		p.cleanDue = b.now
		if !r.Ran {
			p.cleanDue = b.now + Instant(min(b.cfg.Cleaner.BackoffMs, math.MaxInt64/1_000_000))*1e6
		}
	})
	b.emit(Clean{Token: tok, Partition: p.tp, Now: b.now, FirstUncleanable: p.hwm, Config: b.cfg.logConfig(p.topic)})
}

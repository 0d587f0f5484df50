package segment

import (
	"cmp"
	"math"
	"slices"

	"cloudkafka/core"
)

// producerState is the idempotence window per producer, rebuilt from batch
// headers: for each producer id, its last ProducerWindow batches of its
// current epoch, in offset order. Bound: one entry per producer id with a
// batch in the log, each holding at most ProducerWindow batches.
type producerState struct {
	windows map[core.ProducerID]*window
}

type window struct {
	epoch   int16
	batches []core.ProducerBatch // offset order, len <= ProducerWindow
}

// note records batch h if it is an idempotent data batch. A new producer
// epoch starts a new window, as Kafka clears the batch metadata then.
func (p *producerState) note(h core.BatchHeader) {
	if h.ProducerID < 0 || h.BaseSequence < 0 || h.Attributes&core.AttrControl != 0 {
		return
	}
	p.remember(core.ProducerBatch{
		ProducerID:    h.ProducerID,
		ProducerEpoch: h.ProducerEpoch,
		FirstSeq:      h.BaseSequence,
		LastSeq:       incrementSequence(h.BaseSequence, h.LastOffsetDelta),
		BaseOffset:    h.BaseOffset,
		LastOffset:    h.LastOffset(),
		Timestamp:     h.MaxTimestamp,
	})
}

// mayHold says whether batch h is, or may be after a crash, in its
// producer's window: the cleaner keeps the header of such a batch when it
// removes its records, so that the window rebuilt from headers after a
// restart is the one the producer snapshot and the batches after it give.
// The window held is as of the log end, but a crash may take the batches
// from syncedEnd on, and the window as of where the log then ends reaches
// further back. So a batch is kept when its window holds it, or when that
// window holds a batch at or past syncedEnd: then the window as of
// syncedEnd is not known, and may hold any of the producer's batches
// before.
func (p *producerState) mayHold(h core.BatchHeader, syncedEnd core.Offset) bool {
	if h.ProducerID < 0 || h.BaseSequence < 0 {
		return false
	}
	w := p.windows[h.ProducerID]
	if w == nil || w.epoch != h.ProducerEpoch {
		return false
	}
	for _, b := range w.batches {
		if b.BaseOffset == h.BaseOffset || b.BaseOffset >= syncedEnd {
			return true
		}
	}
	return false
}

// incrementSequence adds d to a sequence number, wrapping past MaxInt32 to
// 0 as Kafka's DefaultRecordBatch.incrementSequence does.
func incrementSequence(seq, d int32) int32 {
	if seq > math.MaxInt32-d {
		return d - (math.MaxInt32 - seq) - 1
	}
	return seq + d
}

// list returns every remembered batch, ordered by base offset.
func (p *producerState) list() []core.ProducerBatch {
	var out []core.ProducerBatch
	// order-independent: collected, then sorted
	for _, w := range p.windows {
		out = append(out, w.batches...)
	}
	slices.SortFunc(out, func(a, b core.ProducerBatch) int { return cmp.Compare(a.BaseOffset, b.BaseOffset) })
	return out
}

// remember adds a batch to its producer's window in offset order, or
// skips it when the window already holds it or a later batch.
func (p *producerState) remember(b core.ProducerBatch) {
	if p.windows == nil {
		p.windows = map[core.ProducerID]*window{}
	}
	w := p.windows[b.ProducerID]
	if w == nil || w.epoch != b.ProducerEpoch {
		w = &window{epoch: b.ProducerEpoch}
		p.windows[b.ProducerID] = w
	}
	if n := len(w.batches); n > 0 && w.batches[n-1].BaseOffset >= b.BaseOffset {
		return
	}
	if len(w.batches) == ProducerWindow {
		w.batches = slices.Delete(w.batches, 0, 1)
	}
	w.batches = append(w.batches, b)
}

// trim keeps the max producers that wrote last, as the broker bounds the
// producers it remembers (max.producers.per.partition).
func (p *producerState) trim(max int) {
	if max <= 0 || len(p.windows) <= max {
		return
	}
	type last struct {
		id  core.ProducerID
		off core.Offset
	}
	var all []last
	// order-independent: collected, then sorted
	for id, w := range p.windows {
		all = append(all, last{id, w.batches[len(w.batches)-1].LastOffset})
	}
	slices.SortFunc(all, func(a, b last) int { return cmp.Or(cmp.Compare(b.off, a.off), cmp.Compare(a.id, b.id)) })
	for _, l := range all[max:] {
		delete(p.windows, l.id)
	}
}

// withSnapshot merges the windows rebuilt from the segments with the
// snapshot's batches that lie below base, the first segment's base (the
// deleted ones; the segments describe everything from base on, and a
// crash may have cut batches the snapshot still lists above it).
func (p *producerState) withSnapshot(snap []core.ProducerBatch, base core.Offset) producerState {
	var out producerState
	for _, b := range snap {
		if b.LastOffset < base {
			out.remember(b)
		}
	}
	for _, b := range p.list() {
		out.remember(b)
	}
	return out
}
